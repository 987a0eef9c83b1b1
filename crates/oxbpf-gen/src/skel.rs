//! The typed skeleton: builder with typed `.rodata`, named maps and programs, typed views
//! of the mmap'd data sections.

use std::fmt::Write as _;

use oxbpf_obj::ObjectSpec;
use oxbpf_obj::{DataSection, MapKind};

use crate::error::Result;
use crate::types::{TypeGen, camel, ident, snake};

/// One data section with named variables.
pub(crate) struct Section {
    /// The map (section) name: `.bss`.
    pub(crate) map: String,
    /// The struct name: `Bss`.
    pub(crate) ty: String,
    /// The accessor name: `bss`.
    pub(crate) method: String,
    /// Read-only after load (`.rodata`).
    pub(crate) rodata: bool,
    /// (field identifier, Rust type) of each variable.
    pub(crate) vars: Vec<(String, String, String)>,
}

/// Emits the section structs (with assertions) and returns their descriptions.
pub(crate) fn sections(spec: &ObjectSpec, g: &mut TypeGen<'_, '_>) -> Result<Vec<Section>> {
    let mut out = Vec::new();
    for (i, m) in spec.maps.iter().enumerate() {
        let MapKind::Data(kind) = m.kind else {
            continue;
        };
        let vars: Vec<_> = spec
            .globals
            .iter()
            .filter(|v| v.map == i)
            .map(|v| (v.name.clone(), v.btf_type, v.offset, v.size))
            .collect();
        if vars.is_empty() {
            continue;
        }
        let (plan, typed) = g.plan_section(m.value_size, &vars)?;
        let ty = camel(&m.name);
        let doc = format!(
            "The variables of section `{}` ({} bytes in the object), at their offsets.",
            m.name, m.value_size
        );
        let s = g.render_struct(&ty, &doc, &plan);
        g.out.push_str(&s);
        g.out.push('\n');
        let names: Vec<_> = vars.iter().map(|v| v.0.clone()).collect();
        out.push(Section {
            map: m.name.clone(),
            ty,
            method: snake(&m.name),
            rodata: kind == DataSection::Rodata,
            vars: typed
                .into_iter()
                .zip(names)
                .map(|((f, t), c)| (f, t, c))
                .collect(),
        });
    }
    Ok(out)
}

/// A map key or value whose generated type the skeleton re-checks against the object it
/// opens (bindings checked in with `oxbpf gen` can go stale when the object is rebuilt).
pub(crate) struct SizeCheck {
    /// The map.
    pub(crate) map: String,
    /// `key` or `value`.
    pub(crate) what: &'static str,
    /// The generated Rust type.
    pub(crate) ty: String,
    /// Whether the object records a size to compare (ring buffers record 0).
    pub(crate) verify: bool,
}

/// Renders the skeleton for object `obj` (CamelCase name) embedding `path`.
pub(crate) fn render(
    spec: &ObjectSpec,
    obj: &str,
    path: &str,
    k: &str,
    sections: &[Section],
    checks: &[SizeCheck],
) -> String {
    let mut s = String::new();
    let skel = format!("{obj}Skel");
    let builder = format!("{obj}Builder");
    let maps_ty = format!("{obj}Maps");
    let progs_ty = format!("{obj}Progs");
    let rodata = sections.iter().find(|s| s.rodata && s.map == ".rodata");
    let _ = writeln!(
        s,
        "/// 8-byte alignment for the embedded ELF (the reader needs aligned headers)."
    );
    let _ = writeln!(s, "#[repr(C)]");
    let _ = writeln!(
        s,
        "struct __OxbpfAligned<B: ?Sized> {{\n    _align: [u64; 0],\n    bytes: B,\n}}"
    );
    let _ = writeln!(
        s,
        "const __OBJECT: &__OxbpfAligned<[u8]> = &__OxbpfAligned {{ _align: [], bytes: *include_bytes!({path:?}) }};"
    );
    let _ = writeln!(
        s,
        "/// The object's bytes, embedded at compile time (8-byte aligned)."
    );
    let _ = writeln!(s, "pub const OBJECT: &[u8] = &__OBJECT.bytes;\n");

    // Builder.
    let _ = writeln!(
        s,
        "/// An opened, not yet loaded object: set `.rodata` constants, then [`{builder}::load`]."
    );
    let _ = writeln!(s, "#[derive(Debug)]");
    let _ = writeln!(s, "pub struct {builder} {{");
    let _ = writeln!(s, "    spec: {k}::ObjectSpec,");
    if let Some(r) = rodata {
        let _ = writeln!(s, "    rodata: {},", r.ty);
    }
    let _ = writeln!(s, "}}\n");
    let _ = writeln!(s, "impl {builder} {{");
    let _ = writeln!(
        s,
        "    /// The parsed object, for changes the skeleton does not type."
    );
    let _ = writeln!(
        s,
        "    pub fn spec_mut(&mut self) -> &mut {k}::ObjectSpec {{\n        &mut self.spec\n    }}"
    );
    if let Some(r) = rodata {
        let _ = writeln!(
            s,
            "    /// The `.rodata` constants, initialised from the object; written into the object at load."
        );
        let _ = writeln!(
            s,
            "    pub fn rodata(&mut self) -> &mut {} {{\n        &mut self.rodata\n    }}",
            r.ty
        );
    }
    let _ = writeln!(s, "    /// Loads with default options.");
    let _ = writeln!(
        s,
        "    pub fn load(self) -> {k}::Result<{skel}> {{\n        self.load_with(&{k}::LoadOptions::default())\n    }}"
    );
    let _ = writeln!(s, "    /// Loads the maps and programs into the kernel.");
    let _ = writeln!(
        s,
        "    pub fn load_with(self, opts: &{k}::LoadOptions) -> {k}::Result<{skel}> {{"
    );
    if rodata.is_some() {
        let _ = writeln!(s, "        let mut spec = self.spec;");
        let _ = writeln!(
            s,
            "        let bytes = {k}::sys::pod::bytes_of(&self.rodata);"
        );
        let _ = writeln!(
            s,
            "        let data = spec.maps.iter_mut().find(|m| m.name == \".rodata\").and_then(|m| m.data.as_mut());"
        );
        let _ = writeln!(s, "        match data {{");
        let _ = writeln!(
            s,
            "            Some(d) if d.len() <= bytes.len() => {{ let n = d.len(); d.copy_from_slice(&bytes[..n]) }}"
        );
        let _ = writeln!(
            s,
            "            _ => return Err({k}::Error::Map {{ map: \".rodata\".into(), source: {k}::sys::Error::Invalid(\"the object's .rodata does not match the generated bindings; regenerate them\".into()) }}),"
        );
        let _ = writeln!(s, "        }}");
        let _ = writeln!(s, "        let coll = {k}::Collection::load(&spec, opts)?;");
    } else {
        let _ = writeln!(
            s,
            "        let coll = {k}::Collection::load(&self.spec, opts)?;"
        );
    }
    let _ = writeln!(s, "        Ok({skel} {{ coll }})\n    }}\n}}\n");

    // Maps and programs.
    let _ = writeln!(s, "/// The object's maps, by name.");
    let _ = writeln!(s, "#[derive(Debug, Clone, Copy)]");
    let _ = writeln!(s, "pub struct {maps_ty}<'a> {{");
    let user_maps: Vec<_> = spec
        .maps
        .iter()
        .filter(|m| !matches!(m.kind, MapKind::Data(_)))
        .collect();
    for m in &user_maps {
        let _ = writeln!(s, "    /// Map `{}` (`{:?}`).", m.name, m.map_type);
        let _ = writeln!(s, "    pub {}: &'a {k}::maps::Map,", ident(&m.name));
    }
    let _ = writeln!(s, "    _skel: ::core::marker::PhantomData<&'a ()>,\n}}\n");
    let ty_of = |map: &str, what: &str| {
        checks
            .iter()
            .find(|c| c.map == map && c.what == what)
            .map(|c| c.ty.clone())
    };
    let mut typed = String::new();
    for m in &user_maps {
        let f = ident(&m.name);
        let bare = f.trim_start_matches("r#");
        let (key, value) = (ty_of(&m.name, "key"), ty_of(&m.name, "value"));
        match (m.map_type.0, key, value) {
            (1 | 9, Some(kt), Some(vt)) => {
                let _ = writeln!(typed, "    /// Map `{}` as a typed hash map.", m.name);
                let _ = writeln!(
                    typed,
                    "    pub fn {bare}_typed(&self) -> {k}::Result<{k}::maps::HashMap<'a, {kt}, {vt}>> {{\n        Ok({k}::maps::HashMap::new(self.{f})?)\n    }}"
                );
            }
            (2, _, Some(vt)) => {
                let _ = writeln!(typed, "    /// Map `{}` as a typed array.", m.name);
                let _ = writeln!(
                    typed,
                    "    pub fn {bare}_typed(&self) -> {k}::Result<{k}::maps::Array<'a, {vt}>> {{\n        Ok({k}::maps::Array::new(self.{f})?)\n    }}"
                );
            }
            (27, _, Some(vt)) => {
                let _ = writeln!(
                    typed,
                    "    /// Map `{}` as a ring buffer; its records are `{vt}` (decode with `{k}::sys::pod::from_bytes::<{vt}>`).",
                    m.name
                );
                let _ = writeln!(
                    typed,
                    "    pub fn {bare}_ring(&self) -> {k}::Result<{k}::maps::RingBuf> {{\n        Ok({k}::maps::RingBuf::new(self.{f})?)\n    }}"
                );
                let _ = writeln!(typed, "    /// Decodes one `{}` record.", m.name);
                let _ = writeln!(
                    typed,
                    "    pub fn {bare}_record(rec: &[u8]) -> Option<{vt}> {{\n        {k}::sys::pod::from_bytes::<{vt}>(rec)\n    }}"
                );
            }
            _ => {}
        }
    }
    if !typed.is_empty() {
        let _ = writeln!(
            s,
            "#[allow(dead_code)]\nimpl<'a> {maps_ty}<'a> {{\n{typed}}}\n"
        );
    }
    let _ = writeln!(s, "/// The object's programs, by name.");
    let _ = writeln!(s, "#[derive(Debug, Clone, Copy)]");
    let _ = writeln!(s, "pub struct {progs_ty}<'a> {{");
    for p in &spec.programs {
        let _ = writeln!(s, "    /// Program `{}` (section `{}`).", p.name, p.section);
        let _ = writeln!(s, "    pub {}: &'a {k}::Program,", ident(&p.name));
    }
    let _ = writeln!(s, "    _skel: ::core::marker::PhantomData<&'a ()>,\n}}\n");

    // Section views.
    for sec in sections {
        let view = format!("{}View", sec.ty);
        let _ = writeln!(
            s,
            "/// Section `{}` mapped into this process (typed, no system call per access).",
            sec.map
        );
        let _ = writeln!(s, "#[derive(Debug)]");
        let _ = writeln!(
            s,
            "pub struct {view} {{\n    data: {k}::maps::GlobalData,\n}}\n"
        );
        let _ = writeln!(s, "#[allow(dead_code)]\nimpl {view} {{");
        let _ = writeln!(s, "    /// The untyped view.");
        let _ = writeln!(
            s,
            "    pub fn global_data(&self) -> &{k}::maps::GlobalData {{\n        &self.data\n    }}"
        );
        let _ = writeln!(s, "    /// A copy of the whole section.");
        let _ = writeln!(s, "    pub fn read(&self) -> {k}::Result<{}> {{", sec.ty);
        let _ = writeln!(s, "        let bytes = self.data.to_vec()?;");
        let _ = writeln!(
            s,
            "        let mut v: {} = {k}::sys::pod::zeroed();",
            sec.ty
        );
        let _ = writeln!(s, "        let out = {k}::sys::pod::bytes_of_mut(&mut v);");
        let _ = writeln!(s, "        let n = bytes.len().min(out.len());");
        let _ = writeln!(s, "        out[..n].copy_from_slice(&bytes[..n]);");
        let _ = writeln!(s, "        Ok(v)\n    }}");
        for (field, ty, cname) in &sec.vars {
            let bare = field.trim_start_matches("r#");
            let _ = writeln!(s, "    /// The current value of `{cname}`.");
            let _ = writeln!(
                s,
                "    pub fn {field}(&self) -> {k}::Result<{ty}> {{\n        Ok(self.data.get::<{ty}>({cname:?})?)\n    }}"
            );
            if !sec.rodata {
                let _ = writeln!(s, "    /// Sets `{cname}`.");
                let _ = writeln!(
                    s,
                    "    pub fn set_{bare}(&self, v: {ty}) -> {k}::Result<()> {{\n        Ok(self.data.set::<{ty}>({cname:?}, &v)?)\n    }}"
                );
            }
        }
        let _ = writeln!(s, "}}\n");
    }

    // Skeleton.
    let _ = writeln!(
        s,
        "/// The loaded object `{obj}`: typed maps, programs and data sections."
    );
    let _ = writeln!(s, "#[derive(Debug)]");
    let _ = writeln!(s, "pub struct {skel} {{\n    coll: {k}::Collection,\n}}\n");
    let _ = writeln!(s, "#[allow(dead_code)]\nimpl {skel} {{");
    let _ = writeln!(s, "    /// Parses the embedded object.");
    let _ = writeln!(s, "    pub fn open() -> {k}::Result<{builder}> {{");
    let _ = writeln!(
        s,
        "        let spec = {k}::ObjectSpec::from_bytes(OBJECT)?;"
    );
    let stale = |map: &str, what: &str| {
        format!(
            "return Err({k}::Error::Map {{ map: {map:?}.into(), source: {k}::sys::Error::Invalid(\"{what} of the embedded object differs from the generated bindings: regenerate them (oxbpf gen)\".into()) }})"
        )
    };
    for c in checks.iter().filter(|c| c.verify) {
        let field = if c.what == "key" {
            "key_size"
        } else {
            "value_size"
        };
        let _ = writeln!(
            s,
            "        if spec.map({:?}).is_none_or(|m| m.{field} as usize != ::core::mem::size_of::<{}>()) {{\n            {};\n        }}",
            c.map,
            c.ty,
            stale(&c.map, &format!("the {} size", c.what))
        );
    }
    for sec in sections {
        for (field, _, cname) in &sec.vars {
            let _ = writeln!(
                s,
                "        if !spec.globals.iter().any(|g| g.name == {cname:?} && spec.maps.get(g.map).is_some_and(|m| m.name == {:?}) && g.offset as usize == ::core::mem::offset_of!({}, {field})) {{\n            {};\n        }}",
                sec.map,
                sec.ty,
                stale(&sec.map, &format!("the offset of {cname}"))
            );
        }
    }
    if let Some(r) = rodata {
        let _ = writeln!(
            s,
            "        let mut rodata: {} = {k}::sys::pod::zeroed();",
            r.ty
        );
        let _ = writeln!(
            s,
            "        if let Some(d) = spec.maps.iter().find(|m| m.name == \".rodata\").and_then(|m| m.data.as_ref()) {{"
        );
        let _ = writeln!(
            s,
            "            let out = {k}::sys::pod::bytes_of_mut(&mut rodata);"
        );
        let _ = writeln!(s, "            let n = d.len().min(out.len());");
        let _ = writeln!(
            s,
            "            out[..n].copy_from_slice(&d[..n]);\n        }}"
        );
        let _ = writeln!(s, "        Ok({builder} {{ spec, rodata }})\n    }}");
    } else {
        let _ = writeln!(s, "        Ok({builder} {{ spec }})\n    }}");
    }
    let _ = writeln!(s, "    /// The underlying collection.");
    let _ = writeln!(
        s,
        "    pub fn collection(&self) -> &{k}::Collection {{\n        &self.coll\n    }}"
    );
    let missing = |what: &str, name: &str| {
        format!(
            "{k}::Error::Map {{ map: {name:?}.into(), source: {k}::sys::Error::Invalid(\"the loaded collection has no {what} of this name\".into()) }}"
        )
    };
    let _ = writeln!(s, "    /// The maps, by name.");
    let _ = writeln!(s, "    pub fn maps(&self) -> {k}::Result<{maps_ty}<'_>> {{");
    let _ = writeln!(s, "        Ok({maps_ty} {{");
    for m in &user_maps {
        let _ = writeln!(
            s,
            "            {}: self.coll.map({:?}).ok_or_else(|| {})?,",
            ident(&m.name),
            m.name,
            missing("map", &m.name)
        );
    }
    let _ = writeln!(
        s,
        "            _skel: ::core::marker::PhantomData,\n        }})\n    }}"
    );
    let _ = writeln!(s, "    /// The programs, by name.");
    let _ = writeln!(
        s,
        "    pub fn progs(&self) -> {k}::Result<{progs_ty}<'_>> {{"
    );
    let _ = writeln!(s, "        Ok({progs_ty} {{");
    for p in &spec.programs {
        let _ = writeln!(
            s,
            "            {}: self.coll.program({:?}).ok_or_else(|| {})?,",
            ident(&p.name),
            p.name,
            missing("program", &p.name)
        );
    }
    let _ = writeln!(
        s,
        "            _skel: ::core::marker::PhantomData,\n        }})\n    }}"
    );
    for sec in sections {
        let _ = writeln!(s, "    /// Section `{}`, mapped.", sec.map);
        let _ = writeln!(
            s,
            "    pub fn {}(&self) -> {k}::Result<{}View> {{\n        Ok({}View {{ data: self.coll.global_data({:?})? }})\n    }}",
            sec.method, sec.ty, sec.ty, sec.map
        );
    }
    let _ = writeln!(
        s,
        "    /// Attaches every program whose section names its hook."
    );
    let _ = writeln!(
        s,
        "    pub fn attach_all(&self) -> {k}::Result<Vec<{k}::attach::Link>> {{\n        self.coll.attach_all()\n    }}"
    );
    let _ = writeln!(s, "}}");
    s
}
