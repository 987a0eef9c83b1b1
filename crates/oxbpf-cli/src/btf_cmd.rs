//! `oxbpf btf dump|show|stats`: BTF of a file (raw BTF such as /sys/kernel/btf/vmlinux, or
//! a BPF ELF object) or of a kernel BTF object (`id N`).
//!
//! The C text comes from `oxbpf_btf::dump_c`; the raw format is bpftool's
//! (`[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED`, members indented by a
//! tab); the JSON format is one object per type per line, with bpftool's field names.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use clap::{Subcommand, ValueEnum};
use oxbpf::btf::{Btf, CDumpOptions, Kind, Type, TypeId};
use oxbpf::kernel_btf::{self, OwnedBtf};

/// BTF subcommands.
#[derive(Subcommand, Debug)]
pub enum BtfCmd {
    /// Dump all types of a BTF source.
    Dump {
        /// A file (raw BTF such as /sys/kernel/btf/vmlinux, or a BPF ELF object), or
        /// `id N` for the kernel BTF object with id N.
        #[arg(value_name = "SOURCE", num_args = 1..=2, required = true)]
        source: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Raw)]
        format: Format,
    },
    /// Print the C definition of one named type with the types it needs.
    Show {
        /// SOURCE (a file, or `id N`) then the type's name (`task_struct`, or
        /// `struct task_struct` / `union ...` / `enum ...` / `typedef ...` to pick a kind).
        #[arg(value_name = "SOURCE TYPE", num_args = 2..=4, required = true)]
        args: Vec<String>,
    },
    /// Count the types per kind and give the section sizes.
    Stats {
        /// A file or `id N`.
        #[arg(value_name = "SOURCE", num_args = 1..=2, required = true)]
        source: Vec<String>,
    },
}

/// Output formats of `btf dump`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A compilable C header (like `bpftool btf dump ... format c`).
    C,
    /// One line per type (like `bpftool btf dump ... format raw`).
    Raw,
    /// One JSON object per type per line.
    Json,
}

/// Runs a `btf` subcommand.
pub fn run(cmd: BtfCmd) -> Result<(), Box<dyn std::error::Error>> {
    match cmd {
        BtfCmd::Dump { source, format } => {
            let (src, rest) = parse_source(&source)?;
            if !rest.is_empty() {
                return Err(format!("btf dump: unexpected argument {:?}", rest[0]).into());
            }
            let loaded = load(&src)?;
            let btf = loaded.btf()?;
            let mut out = String::new();
            match format {
                Format::C => oxbpf::btf::dump_c(&btf, &mut out, &CDumpOptions::default())
                    .map_err(|e| format!("{}: {e}", src.describe()))?,
                Format::Raw => {
                    raw(&btf, &mut out).map_err(|e| format!("{}: {e}", src.describe()))?
                }
                Format::Json => {
                    json(&btf, &mut out).map_err(|e| format!("{}: {e}", src.describe()))?
                }
            }
            print(&out)
        }
        BtfCmd::Show { args } => {
            let (src, rest) = parse_source(&args)?;
            let (kind, name) = match rest {
                [name] => (None, name.as_str()),
                [kw, name] => (Some(kind_keyword(kw)?), name.as_str()),
                [] => return Err("btf show: missing the type name after the source".into()),
                _ => return Err(format!("btf show: unexpected argument {:?}", rest[2]).into()),
            };
            let loaded = load(&src)?;
            let btf = loaded.btf()?;
            let id = find_type(&btf, name, kind)?
                .ok_or_else(|| format!("{}: no type named {name:?}", src.describe()))?;
            let mut out = String::new();
            let opts = CDumpOptions {
                header_guard: false,
                preserve_access_index: false,
                type_tags: true,
            };
            oxbpf::btf::dump_c_type(&btf, id, &mut out, &opts)
                .map_err(|e| format!("{}: {e}", src.describe()))?;
            print(&out)
        }
        BtfCmd::Stats { source } => {
            let (src, rest) = parse_source(&source)?;
            if !rest.is_empty() {
                return Err(format!("btf stats: unexpected argument {:?}", rest[0]).into());
            }
            let loaded = load(&src)?;
            let btf = loaded.btf()?;
            let mut out = String::new();
            stats(&btf, &mut out).map_err(|e| format!("{}: {e}", src.describe()))?;
            print(&out)
        }
    }
}

fn print(text: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        // `oxbpf btf dump ... | head` closes the pipe early: not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}

/// Where the BTF comes from.
enum Source {
    File(String),
    Id(u32),
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Source::File(p) => p.clone(),
            Source::Id(id) => format!("BTF object id {id}"),
        }
    }
}

/// Split `id N` or a path off the front of `args`.
fn parse_source(args: &[String]) -> Result<(Source, &[String]), String> {
    match args {
        [kw, n, rest @ ..] if kw == "id" => {
            let id = n
                .parse::<u32>()
                .map_err(|_| format!("btf: `id {n}`: not a BTF object id (want a number)"))?;
            Ok((Source::Id(id), rest))
        }
        [kw] if kw == "id" => Err("btf: `id` needs a BTF object id after it".into()),
        [path, rest @ ..] => Ok((Source::File(path.clone()), rest)),
        [] => Err("btf: missing SOURCE (a file or `id N`)".into()),
    }
}

/// The bytes of a source, owned or shared.
enum Loaded {
    Owned(OwnedBtf),
    Bytes(Vec<u8>),
    Static(&'static Btf<'static>),
}

impl Loaded {
    fn btf(&self) -> Result<Btf<'_>, Box<dyn std::error::Error>> {
        Ok(match self {
            Loaded::Owned(o) => o.btf()?,
            Loaded::Bytes(b) => Btf::parse(b)?,
            Loaded::Static(b) => match b.base() {
                Some(base) => Btf::parse_split(b.bytes(), base)?,
                None => Btf::parse(b.bytes())?,
            },
        })
    }
}

fn load(src: &Source) -> Result<Loaded, Box<dyn std::error::Error>> {
    let path = match src {
        Source::Id(id) => return Ok(Loaded::Owned(kernel_btf::by_id(*id)?)),
        Source::File(p) => Path::new(p),
    };
    let mut magic = [0u8; 4];
    {
        use std::io::Read as _;
        let mut f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let n = f
            .read(&mut magic)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if n < 4 {
            return Err(format!(
                "{}: {n} bytes: neither raw BTF nor an ELF object",
                path.display()
            )
            .into());
        }
    }
    if magic == *b"\x7fELF" {
        let spec = oxbpf::ObjectSpec::from_file(path)?;
        let bytes = spec
            .btf_for_load()?
            .ok_or_else(|| format!("{}: the object has no .BTF section", path.display()))?;
        return Ok(Loaded::Bytes(bytes));
    }
    // Module BTF under /sys/kernel/btf is split on vmlinux.
    if path.parent() == Some(Path::new("/sys/kernel/btf")) {
        match path.file_name().and_then(|n| n.to_str()) {
            Some("vmlinux") => return Ok(Loaded::Static(kernel_btf::vmlinux()?)),
            Some(module) => return Ok(Loaded::Static(kernel_btf::module(module)?)),
            None => {}
        }
    }
    Ok(Loaded::Owned(kernel_btf::from_file(path)?))
}

fn kind_keyword(kw: &str) -> Result<Kind, String> {
    Ok(match kw {
        "struct" => Kind::Struct,
        "union" => Kind::Union,
        "enum" => Kind::Enum,
        "typedef" => Kind::Typedef,
        other => {
            return Err(format!(
                "btf show: {other:?} is not struct, union, enum or typedef"
            ));
        }
    })
}

/// The first type named `name` (of `kind` if given; else a struct, union, enum, typedef
/// or any other named type, in that order of preference).
fn find_type(
    btf: &Btf<'_>,
    name: &str,
    kind: Option<Kind>,
) -> Result<Option<TypeId>, oxbpf::btf::Error> {
    let kinds: &[Kind] = match kind {
        Some(Kind::Enum) => &[Kind::Enum, Kind::Enum64],
        Some(k) => &[k][..],
        None => &[
            Kind::Struct,
            Kind::Union,
            Kind::Enum,
            Kind::Enum64,
            Kind::Typedef,
            Kind::Int,
            Kind::Float,
            Kind::Fwd,
        ],
    };
    for &k in kinds {
        if let Some(id) = btf.find_by_name(name, k)? {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Void => "UNKN",
        Kind::Int => "INT",
        Kind::Ptr => "PTR",
        Kind::Array => "ARRAY",
        Kind::Struct => "STRUCT",
        Kind::Union => "UNION",
        Kind::Enum => "ENUM",
        Kind::Fwd => "FWD",
        Kind::Typedef => "TYPEDEF",
        Kind::Volatile => "VOLATILE",
        Kind::Const => "CONST",
        Kind::Restrict => "RESTRICT",
        Kind::Func => "FUNC",
        Kind::FuncProto => "FUNC_PROTO",
        Kind::Var => "VAR",
        Kind::Datasec => "DATASEC",
        Kind::Float => "FLOAT",
        Kind::DeclTag => "DECL_TAG",
        Kind::TypeTag => "TYPE_TAG",
        Kind::Enum64 => "ENUM64",
    }
}

fn anon(name: &str) -> &str {
    if name.is_empty() { "(anon)" } else { name }
}

fn int_encoding(enc: u8) -> &'static str {
    if enc & oxbpf::btf::INT_SIGNED != 0 {
        "SIGNED"
    } else if enc & oxbpf::btf::INT_CHAR != 0 {
        "CHAR"
    } else if enc & oxbpf::btf::INT_BOOL != 0 {
        "BOOL"
    } else {
        "(none)"
    }
}

fn func_linkage(l: u16) -> &'static str {
    match l {
        oxbpf::btf::LINKAGE_STATIC => "static",
        oxbpf::btf::LINKAGE_GLOBAL => "global",
        oxbpf::btf::LINKAGE_EXTERN => "extern",
        _ => "(unknown)",
    }
}

fn var_linkage(l: u32) -> &'static str {
    match l {
        oxbpf::btf::VAR_STATIC => "static",
        oxbpf::btf::VAR_GLOBAL_ALLOCATED => "global",
        oxbpf::btf::VAR_GLOBAL_EXTERN => "extern",
        _ => "(unknown)",
    }
}

/// bpftool's raw format.
fn raw(btf: &Btf<'_>, out: &mut String) -> Result<(), oxbpf::btf::Error> {
    for t in btf.own_types() {
        let (id, t) = t?;
        let _ = write!(out, "[{id}] {} '{}'", kind_name(t.kind()), anon(t.name()));
        match t {
            Type::Void => {}
            Type::Int(i) => {
                let _ = write!(
                    out,
                    " size={} bits_offset={} nr_bits={} encoding={}",
                    i.size,
                    i.bit_offset,
                    i.bits,
                    int_encoding(i.encoding)
                );
            }
            Type::Ptr(r)
            | Type::Typedef(r)
            | Type::Volatile(r)
            | Type::Const(r)
            | Type::Restrict(r)
            | Type::TypeTag(r) => {
                let _ = write!(out, " type_id={}", r.ty);
            }
            Type::Array(a) => {
                let _ = write!(
                    out,
                    " type_id={} index_type_id={} nr_elems={}",
                    a.elem, a.index, a.nelems
                );
            }
            Type::Struct(c) | Type::Union(c) => {
                let _ = write!(out, " size={} vlen={}", c.size, c.vlen());
                for m in c.members() {
                    let m = m?;
                    let _ = write!(
                        out,
                        "\n\t'{}' type_id={} bits_offset={}",
                        anon(m.name),
                        m.ty,
                        m.bit_offset
                    );
                    if m.bitfield_size != 0 {
                        let _ = write!(out, " bitfield_size={}", m.bitfield_size);
                    }
                }
            }
            Type::Enum(e) | Type::Enum64(e) => {
                let enc = if e.signed { "SIGNED" } else { "UNSIGNED" };
                let _ = write!(out, " encoding={enc} size={} vlen={}", e.size, e.vlen());
                for v in e.values() {
                    let (name, val) = v?;
                    let _ = write!(out, "\n\t'{}' val={val}", anon(name));
                    if e.is_enum64() {
                        out.push_str(if e.signed { "LL" } else { "ULL" });
                    }
                }
            }
            Type::Fwd(f) => {
                let _ = write!(
                    out,
                    " fwd_kind={}",
                    if f.is_union { "union" } else { "struct" }
                );
            }
            Type::Func(f) => {
                let _ = write!(
                    out,
                    " type_id={} linkage={}",
                    f.proto,
                    func_linkage(f.linkage)
                );
            }
            Type::FuncProto(p) => {
                let _ = write!(out, " ret_type_id={} vlen={}", p.ret, p.vlen());
                for param in p.params() {
                    let (name, ty) = param?;
                    let _ = write!(out, "\n\t'{}' type_id={ty}", anon(name));
                }
            }
            Type::Var(v) => {
                let _ = write!(out, " type_id={}, linkage={}", v.ty, var_linkage(v.linkage));
            }
            Type::Datasec(d) => {
                let _ = write!(out, " size={} vlen={}", d.size, d.vlen());
                for v in d.vars() {
                    let v = v?;
                    let target = btf.type_by_id(v.ty)?;
                    let _ = write!(
                        out,
                        "\n\ttype_id={} offset={} size={} ({} '{}')",
                        v.ty,
                        v.offset,
                        v.size,
                        kind_name(target.kind()),
                        anon(target.name())
                    );
                }
            }
            Type::Float(f) => {
                let _ = write!(out, " size={}", f.size);
            }
            Type::DeclTag(d) => {
                let _ = write!(out, " type_id={} component_idx={}", d.ty, d.component_idx);
            }
        }
        out.push('\n');
    }
    Ok(())
}

/// A JSON string literal.
fn js(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// One JSON object per type per line, with bpftool's field names.
fn json(btf: &Btf<'_>, out: &mut String) -> Result<(), oxbpf::btf::Error> {
    for t in btf.own_types() {
        let (id, t) = t?;
        let _ = write!(
            out,
            "{{\"id\":{id},\"kind\":\"{}\",\"name\":",
            kind_name(t.kind())
        );
        js(out, anon(t.name()));
        match t {
            Type::Void => {}
            Type::Int(i) => {
                let _ = write!(
                    out,
                    ",\"size\":{},\"bits_offset\":{},\"nr_bits\":{},\"encoding\":\"{}\"",
                    i.size,
                    i.bit_offset,
                    i.bits,
                    int_encoding(i.encoding)
                );
            }
            Type::Ptr(r)
            | Type::Typedef(r)
            | Type::Volatile(r)
            | Type::Const(r)
            | Type::Restrict(r)
            | Type::TypeTag(r) => {
                let _ = write!(out, ",\"type_id\":{}", r.ty);
            }
            Type::Array(a) => {
                let _ = write!(
                    out,
                    ",\"type_id\":{},\"index_type_id\":{},\"nr_elems\":{}",
                    a.elem, a.index, a.nelems
                );
            }
            Type::Struct(c) | Type::Union(c) => {
                let _ = write!(
                    out,
                    ",\"size\":{},\"vlen\":{},\"members\":[",
                    c.size,
                    c.vlen()
                );
                for (i, m) in c.members().enumerate() {
                    let m = m?;
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str("{\"name\":");
                    js(out, anon(m.name));
                    let _ = write!(
                        out,
                        ",\"type_id\":{},\"bits_offset\":{}",
                        m.ty, m.bit_offset
                    );
                    if m.bitfield_size != 0 {
                        let _ = write!(out, ",\"bitfield_size\":{}", m.bitfield_size);
                    }
                    out.push('}');
                }
                out.push(']');
            }
            Type::Enum(e) | Type::Enum64(e) => {
                let enc = if e.signed { "SIGNED" } else { "UNSIGNED" };
                let _ = write!(
                    out,
                    ",\"encoding\":\"{enc}\",\"size\":{},\"vlen\":{},\"values\":[",
                    e.size,
                    e.vlen()
                );
                for (i, v) in e.values().enumerate() {
                    let (name, val) = v?;
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str("{\"name\":");
                    js(out, name);
                    let _ = write!(out, ",\"val\":{val}}}");
                }
                out.push(']');
            }
            Type::Fwd(f) => {
                let _ = write!(
                    out,
                    ",\"fwd_kind\":\"{}\"",
                    if f.is_union { "union" } else { "struct" }
                );
            }
            Type::Func(f) => {
                let _ = write!(
                    out,
                    ",\"type_id\":{},\"linkage\":\"{}\"",
                    f.proto,
                    func_linkage(f.linkage)
                );
            }
            Type::FuncProto(p) => {
                let _ = write!(
                    out,
                    ",\"ret_type_id\":{},\"vlen\":{},\"params\":[",
                    p.ret,
                    p.vlen()
                );
                for (i, param) in p.params().enumerate() {
                    let (name, ty) = param?;
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str("{\"name\":");
                    js(out, anon(name));
                    let _ = write!(out, ",\"type_id\":{ty}}}");
                }
                out.push(']');
            }
            Type::Var(v) => {
                let _ = write!(
                    out,
                    ",\"type_id\":{},\"linkage\":\"{}\"",
                    v.ty,
                    var_linkage(v.linkage)
                );
            }
            Type::Datasec(d) => {
                let _ = write!(out, ",\"size\":{},\"vlen\":{},\"vars\":[", d.size, d.vlen());
                for (i, v) in d.vars().enumerate() {
                    let v = v?;
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(
                        out,
                        "{{\"type_id\":{},\"offset\":{},\"size\":{}}}",
                        v.ty, v.offset, v.size
                    );
                }
                out.push(']');
            }
            Type::Float(f) => {
                let _ = write!(out, ",\"size\":{}", f.size);
            }
            Type::DeclTag(d) => {
                let _ = write!(
                    out,
                    ",\"type_id\":{},\"component_idx\":{}",
                    d.ty, d.component_idx
                );
            }
        }
        out.push_str("}\n");
    }
    Ok(())
}

/// Counts per kind, string section size, total size.
fn stats(btf: &Btf<'_>, out: &mut String) -> Result<(), oxbpf::btf::Error> {
    let mut counts = [0usize; 20];
    let mut total = 0usize;
    for t in btf.own_types() {
        let (_, t) = t?;
        counts[usize::from(t.kind().to_raw()).min(19)] += 1;
        total += 1;
    }
    let _ = writeln!(out, "types: {total}");
    for (raw, &n) in counts.iter().enumerate() {
        if n == 0 {
            continue;
        }
        if let Some(k) = Kind::from_raw(raw as u8) {
            let _ = writeln!(out, "  {:<11} {n}", kind_name(k));
        }
    }
    let h = btf.header();
    let _ = writeln!(out, "type section: {} bytes", h.type_len);
    let _ = writeln!(out, "string section: {} bytes", h.str_len);
    let _ = writeln!(out, "total: {} bytes", btf.bytes().len());
    Ok(())
}
