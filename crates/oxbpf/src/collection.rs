//! `Collection::load`: an [`ObjectSpec`] to maps and loaded programs.

use oxbpf_btf::{Btf, BtfFeatures};
use oxbpf_maps::Map;
use oxbpf_obj::{DataSection, MapKind, MapSpec, MapType, ObjectSpec};
use oxbpf_reloc::LinkedProgram;
use oxbpf_sys::bpf::{self, MapCreate, ProgLoad, map_flags};
use oxbpf_sys::{BtfFd, Errno};

use crate::error::{Error, Result};
use crate::program::Program;
use crate::verifier::{self, SourceLine, VerifierError};

/// Options of [`Collection::load`].
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Verifier log level for every load (0: a log is taken only when a load fails;
    /// 1: always; 2: verbose, every instruction's state).
    pub log_level: u32,
    /// Initial log buffer size in bytes; grown as needed.
    pub log_size: usize,
    /// Also load programs whose section starts with `?` (autoload off).
    pub load_disabled: bool,
    /// External BTF for kernels without /sys/kernel/btf/vmlinux (BTFHub style); used as
    /// the target of CO-RE (see [`crate::kernel_btf::target`]).
    pub kernel_btf: Option<std::path::PathBuf>,
    /// Directory of maps pinned by name (`__uint(pinning, LIBBPF_PIN_BY_NAME)`); `None`:
    /// the bpffs root (mounted at /sys/fs/bpf on demand). A compatible existing pin is
    /// reused; an incompatible one is an error naming the map, the path and the field.
    pub pin_root: Option<std::path::PathBuf>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            log_level: 0,
            log_size: 1 << 16,
            load_disabled: false,
            kernel_btf: None,
            pin_root: None,
        }
    }
}

/// A loaded object: its maps and programs, alive while this value is.
#[derive(Debug)]
pub struct Collection {
    maps: Vec<Map>,
    pins: Vec<Option<std::path::PathBuf>>,
    globals: Vec<oxbpf_obj::GlobalVar>,
    types: Vec<(Option<u32>, Option<u32>)>,
    programs: Vec<Program>,
    btf: Option<Vec<u8>>,
    _btf_fd: Option<BtfFd>,
    warnings: Vec<String>,
    core: Vec<oxbpf_reloc::ReloExplanation>,
}

impl Collection {
    /// Creates the maps of `spec`, relocates and loads its programs.
    ///
    /// The object's BTF is rewritten for the running kernel first when it lacks BTF kinds
    /// the object uses ([`crate::features::btf_features`]); the unchanged BTF stays
    /// available through [`Collection::btf`].
    pub fn load(spec: &ObjectSpec, opts: &LoadOptions) -> Result<Collection> {
        Self::load_with_btf_features(spec, opts, crate::features::btf_features())
    }

    /// [`Collection::load`] as on a kernel with only the BTF `features` (instead of the
    /// probed ones): the BTF given to the kernel is sanitized for them. To check that an
    /// object still loads where newer BTF kinds are missing.
    pub fn load_with_btf_features(
        spec: &ObjectSpec,
        opts: &LoadOptions,
        features: &BtfFeatures,
    ) -> Result<Collection> {
        crate::memlock::ensure();
        let mut warnings = Vec::new();
        warnings.extend(crate::doctor::arch::check_object(spec));
        let btf = spec.btf_for_load()?;
        let btf_fd = match &btf {
            Some(bytes) => match crate::features::sanitize_for(bytes, features)
                .map_err(|e| format!("rewriting it for the kernel's BTF features: {e}"))
                .and_then(|b| load_btf(&b))
            {
                Ok(fd) => Some(fd),
                Err(e) => {
                    warnings.push(format!("object BTF not loaded, continuing without it: {e}"));
                    None
                }
            },
            None => None,
        };
        let parsed = match &btf {
            Some(b) => Some(Btf::parse(b)?),
            None => None,
        };

        let mut maps = Vec::with_capacity(spec.maps.len());
        let mut pins = Vec::with_capacity(spec.maps.len());
        let mut pin_root = opts.pin_root.clone();
        for m in &spec.maps {
            let (map, pin) = create_or_reuse_map(
                m,
                parsed.as_ref(),
                btf_fd.as_ref(),
                &mut pin_root,
                &mut warnings,
            )?;
            maps.push(map);
            pins.push(pin);
        }

        let mut programs = Vec::new();
        let has_core = oxbpf_reloc::core_relo::has_core_relos(spec);
        let mut core = Vec::new();
        // One target set per object: it caches (and narrows) candidates per local type.
        let mut targets = None;
        for (i, p) in spec.programs.iter().enumerate() {
            if !p.def.autoload && !opts.load_disabled {
                continue;
            }
            let reloc = |source: oxbpf_reloc::Error| Error::Reloc {
                program: p.name.clone(),
                source: Box::new(source),
            };
            let mut linked = oxbpf_reloc::link_program(spec, i).map_err(reloc)?;
            let core_start = core.len();
            if has_core {
                if targets.is_none() {
                    targets = Some(core_targets(opts).map_err(|source| Error::CoreTarget {
                        program: p.name.clone(),
                        source,
                    })?);
                }
                if let Some(t) = &targets {
                    let ex = oxbpf_reloc::apply_core(spec, &mut linked, t).map_err(reloc)?;
                    core.extend(ex);
                }
            }
            oxbpf_reloc::resolve_maps(&mut linked, &|idx| {
                maps.get(idx).map(|m: &Map| m.map_fd().raw())
            })
            .map_err(reloc)?;
            // Kernels without BTF_KIND_FUNC take no func_info/line_info (as in libbpf).
            let with_btf = btf_fd
                .as_ref()
                .filter(|_| features.func && !linked.func_info.is_empty());
            let func_info: Vec<u8> = if with_btf.is_some() {
                linked
                    .func_info
                    .iter()
                    .flat_map(|f| [f.insn.to_ne_bytes(), f.type_id.to_ne_bytes()].concat())
                    .collect()
            } else {
                Vec::new()
            };
            let line_info: Vec<u8> = if with_btf.is_some() {
                linked
                    .line_info
                    .iter()
                    .flat_map(|l| {
                        let line_col = (l.line << 10) | (l.col & 0x3ff);
                        [l.insn, l.file_name_off, l.line_off, line_col]
                            .into_iter()
                            .flat_map(u32::to_ne_bytes)
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let insns = oxbpf_asm::insns_to_bytes(&linked.insns);
            let load = ProgLoad {
                prog_type: p.def.prog_type.0,
                insns: &insns,
                license: &spec.license,
                name: &p.name,
                expected_attach_type: p.def.expected_attach_type.map_or(0, |a| a.0),
                kern_version: spec.kernel_version.unwrap_or(0),
                prog_flags: if p.def.sleepable { 1 << 4 } else { 0 },
                btf_fd: with_btf.map(|f| f.as_fd()),
                func_info: &func_info,
                func_info_rec_size: 8,
                line_info: &line_info,
                line_info_rec_size: 16,
                attach_btf_id: crate::attach_target::attach_btf_id(p)?,
                ..Default::default()
            };
            let loaded = verifier::load_with_log(&load, opts.log_level, opts.log_size);
            match loaded.result {
                Ok(fd) => programs.push(Program::new(
                    p.name.clone(),
                    p.section.clone(),
                    p.def.clone(),
                    fd,
                    loaded.log,
                )),
                Err((source, log, truncated)) => {
                    let err = rejection(
                        p.name.clone(),
                        source,
                        log,
                        truncated,
                        &linked,
                        parsed.as_ref(),
                    );
                    return Err(poisoned_rejection(err, &linked, &core[core_start..]));
                }
            }
        }
        let types = spec
            .maps
            .iter()
            .map(|m| match (m.kind, parsed.as_ref()) {
                (MapKind::Data(_), Some(b)) => (
                    None,
                    b.datasec_by_name(&m.section)
                        .ok()
                        .flatten()
                        .map(|(id, _)| id),
                ),
                _ => (m.btf_key_type, m.btf_value_type),
            })
            .collect();
        Ok(Collection {
            maps,
            pins,
            globals: spec.globals.clone(),
            types,
            programs,
            btf,
            _btf_fd: btf_fd,
            warnings,
            core,
        })
    }

    /// The map called `name` (data-section maps are named by their section: `.rodata`).
    pub fn map(&self, name: &str) -> Option<&Map> {
        self.maps.iter().find(|m| m.name() == name)
    }

    /// Where map `name` is pinned, if it was pinned by name (or reused from a pin).
    pub fn pin_path(&self, name: &str) -> Option<&std::path::Path> {
        let i = self.maps.iter().position(|m| m.name() == name)?;
        self.pins.get(i)?.as_deref()
    }

    /// The data section `section` (`.bss`, `.data`, `.rodata`, `.data.custom`) mapped
    /// into this process: its variables are read and written by name
    /// ([`oxbpf_maps::GlobalData::get`] / [`oxbpf_maps::GlobalData::set`], sizes checked
    /// against each variable's BTF size) with no system call. `.rodata` is read-only
    /// (frozen at load; set its constants on the spec before loading).
    pub fn global_data(&self, section: &str) -> Result<oxbpf_maps::GlobalData> {
        let idx = self
            .maps
            .iter()
            .position(|m| m.name() == section)
            .ok_or_else(|| Error::Map {
                map: section.to_owned(),
                source: oxbpf_sys::Error::Invalid(
                    "the object has no data section of this name".into(),
                ),
            })?;
        let vars = self
            .globals
            .iter()
            .filter(|g| g.map == idx)
            .map(|g| oxbpf_maps::GlobalVarInfo {
                name: g.name.clone(),
                offset: g.offset as usize,
                size: g.size as usize,
            })
            .collect();
        Ok(oxbpf_maps::GlobalData::new(&self.maps[idx], vars)?)
    }

    /// All maps, in the object's order.
    pub fn maps(&self) -> impl Iterator<Item = &Map> {
        self.maps.iter()
    }

    /// The loaded program called `name`.
    pub fn program(&self, name: &str) -> Option<&Program> {
        self.programs.iter().find(|p| p.name() == name)
    }

    /// All loaded programs, in the object's order.
    pub fn programs(&self) -> impl Iterator<Item = &Program> {
        self.programs.iter()
    }

    /// The object's BTF after fix-up (before any rewriting for the kernel), to decode keys,
    /// values and records.
    pub fn btf(&self) -> Option<Btf<'_>> {
        self.btf.as_deref().and_then(|b| Btf::parse(b).ok())
    }

    /// The BTF type id of the values of map `name` (for ring buffers: the record type
    /// declared with `__type(value, ...)` in the map definition).
    pub fn map_value_type(&self, name: &str) -> Option<u32> {
        self.map_types(name).1
    }

    /// The BTF type ids of the keys and values of map `name`, where the object has them
    /// (a data-section map's value type is its DATASEC).
    pub fn map_types(&self, name: &str) -> (Option<u32>, Option<u32>) {
        let i = self.maps.iter().position(|m| m.name() == name);
        i.and_then(|i| self.types.get(i).copied())
            .unwrap_or((None, None))
    }

    /// What every CO-RE relocation of the loaded programs did (`oxbpf load --explain-core`).
    pub fn core_relocations(&self) -> &[oxbpf_reloc::ReloExplanation] {
        &self.core
    }

    /// Non-fatal problems met while loading (e.g. BTF the kernel refused).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Attaches every loaded program whose section names its hook. All or nothing: if
    /// one fails, the links made so far are dropped (detached) and the error returned.
    pub fn attach_all(&self) -> Result<Vec<oxbpf_attach::Link>> {
        let mut links = Vec::new();
        for p in &self.programs {
            if p.can_attach() {
                links.push(p.attach()?);
            }
        }
        Ok(links)
    }
}

fn load_btf(bytes: &[u8]) -> std::result::Result<BtfFd, String> {
    let mut log = vec![0u8; 1 << 16];
    bpf::btf_load(bytes, &mut []).or_else(|_| {
        bpf::btf_load(bytes, &mut log).map_err(|e| {
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            let text = String::from_utf8_lossy(&log[..end]);
            let last = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            format!("{e}: {last}")
        })
    })
}

/// `LIBBPF_PIN_BY_NAME`.
const PIN_BY_NAME: u32 = 1;

/// Creates map `m`, or for a map pinned by name reuses a compatible pin (or creates and
/// pins it). Returns the map and its pin path.
fn create_or_reuse_map(
    m: &MapSpec,
    btf: Option<&Btf<'_>>,
    btf_fd: Option<&BtfFd>,
    pin_root: &mut Option<std::path::PathBuf>,
    warnings: &mut Vec<String>,
) -> Result<(Map, Option<std::path::PathBuf>)> {
    let err = |source| Error::Map {
        map: m.name.clone(),
        source,
    };
    match m.pinning {
        0 => return Ok((create_map(m, btf, btf_fd, warnings)?, None)),
        PIN_BY_NAME => {}
        other => {
            return Err(err(oxbpf_sys::Error::Invalid(format!(
                "pinning {other} is not supported (0 none, 1 LIBBPF_PIN_BY_NAME)"
            ))));
        }
    }
    let root = match pin_root {
        Some(r) => r.clone(),
        None => {
            let r = oxbpf_sys::fs::bpffs().map_err(err)?;
            *pin_root = Some(r.clone());
            r
        }
    };
    let path = root.join(&m.name);
    match bpf::obj_get(&path) {
        Ok(fd) => {
            let fd = oxbpf_sys::MapFd::from_owned(fd);
            let info = bpf::map_info(fd.as_fd()).map_err(err)?;
            let want = map_create_attr(m, None, None).map_err(err)?;
            let fields = [
                ("map_type", info.map_type, want.map_type),
                ("key_size", info.key_size, want.key_size),
                ("value_size", info.value_size, want.value_size),
                ("max_entries", info.max_entries, want.max_entries),
                ("map_flags", info.map_flags, want.map_flags),
            ];
            if let Some((field, have, wants)) = fields.iter().find(|(_, h, w)| h != w) {
                return Err(err(oxbpf_sys::Error::Invalid(format!(
                    "the map pinned at {} is incompatible: its {field} is {have}, the object's is {wants}",
                    path.display()
                ))));
            }
            Ok((Map::from_fd(m.name.clone(), fd)?, Some(path)))
        }
        Err(e) if e.errno() == Some(Errno::ENOENT) => {
            let map = create_map(m, btf, btf_fd, warnings)?;
            bpf::obj_pin(map.fd(), &path).map_err(|e| {
                err(oxbpf_sys::Error::Invalid(format!(
                    "pinning at {}: {e}",
                    path.display()
                )))
            })?;
            Ok((map, Some(path)))
        }
        Err(e) => Err(err(oxbpf_sys::Error::Invalid(format!(
            "opening the pin {}: {e}",
            path.display()
        )))),
    }
}

/// The `BPF_MAP_CREATE` attr of `m` (BTF type ids set when `btf` and `btf_fd` are given).
fn map_create_attr(
    m: &MapSpec,
    btf: Option<&Btf<'_>>,
    btf_fd: Option<&BtfFd>,
) -> std::result::Result<MapCreate, oxbpf_sys::Error> {
    let mut attr = MapCreate {
        map_type: m.map_type.0,
        key_size: m.key_size,
        value_size: m.value_size,
        max_entries: m.max_entries,
        map_flags: m.flags,
        map_name: bpf::object_name(&m.name),
        map_extra: m.map_extra,
        numa_node: m.numa_node.unwrap_or(0),
        ..Default::default()
    };
    let mut use_btf = true;
    match m.kind {
        MapKind::Data(section) => {
            attr.map_type = MapType::ARRAY.0;
            attr.key_size = 4;
            attr.max_entries = 1;
            attr.map_flags |= map_flags::MMAPABLE;
            if section == DataSection::Rodata {
                attr.map_flags |= map_flags::RDONLY_PROG;
            }
            if let (Some(b), Some(_)) = (btf, btf_fd) {
                if let Ok(Some((id, _))) = b.datasec_by_name(&m.section) {
                    attr.btf_value_type_id = id;
                }
            }
        }
        _ => {
            if m.map_type == MapType::RINGBUF || m.map_type == MapType::USER_RINGBUF {
                // The value type of a ring buffer is only a record-type annotation.
                attr.key_size = 0;
                attr.value_size = 0;
                use_btf = false;
            }
            if m.map_type == MapType::PERF_EVENT_ARRAY {
                attr.key_size = 4;
                attr.value_size = 4;
                if attr.max_entries == 0 {
                    attr.max_entries = oxbpf_sys::possible_cpus()? as u32;
                }
                use_btf = false;
            }
            if use_btf {
                attr.btf_key_type_id = m.btf_key_type.unwrap_or(0);
                attr.btf_value_type_id = m.btf_value_type.unwrap_or(0);
            }
        }
    }
    if attr.btf_value_type_id != 0 || attr.btf_key_type_id != 0 {
        attr.btf_fd = btf_fd.map_or(0, |f| f.raw() as u32);
        if attr.btf_fd == 0 {
            attr.btf_key_type_id = 0;
            attr.btf_value_type_id = 0;
        }
    }
    Ok(attr)
}

fn create_map(
    m: &MapSpec,
    btf: Option<&Btf<'_>>,
    btf_fd: Option<&BtfFd>,
    warnings: &mut Vec<String>,
) -> Result<Map> {
    let err = |source| Error::Map {
        map: m.name.clone(),
        source,
    };
    let mut attr = map_create_attr(m, btf, btf_fd).map_err(err)?;
    let fd = match bpf::map_create(&attr) {
        Ok(fd) => fd,
        Err(e) if attr.btf_fd != 0 && e.errno() != Some(Errno::EPERM) => {
            // As libbpf: a kernel that refuses the BTF types still gets the map.
            warnings.push(format!(
                "map {:?}: created without BTF types after: {e}",
                m.name
            ));
            attr.btf_fd = 0;
            attr.btf_key_type_id = 0;
            attr.btf_value_type_id = 0;
            bpf::map_create(&attr).map_err(err)?
        }
        Err(e) => return Err(err(e)),
    };
    if let (MapKind::Data(section), Some(data)) = (m.kind, &m.data) {
        if section != DataSection::Bss && data.iter().any(|&b| b != 0) {
            bpf::map_update_elem(fd.as_fd(), &0u32.to_ne_bytes(), data, 0).map_err(err)?;
        }
        if section == DataSection::Rodata {
            bpf::map_freeze(fd.as_fd()).map_err(err)?;
        }
    }
    Ok(Map::from_fd(m.name.clone(), fd)?)
}

/// The target BTF of CO-RE: the external file of `opts`, else vmlinux and, for types
/// vmlinux lacks, module BTF (loaded on first need).
fn core_targets(
    opts: &LoadOptions,
) -> std::result::Result<oxbpf_reloc::Targets<'static, 'static>, crate::kernel_btf::Error> {
    let main = crate::kernel_btf::target(opts)?;
    Ok(match &opts.kernel_btf {
        Some(path) => oxbpf_reloc::Targets::new(path.display().to_string(), main),
        None => oxbpf_reloc::Targets::new("vmlinux", main).with_lazy_modules(|| {
            crate::kernel_btf::module_names()
                .into_iter()
                .filter_map(|n| crate::kernel_btf::module(&n).ok().map(|b| (n, b)))
                .collect()
        }),
    })
}

/// A verifier rejection at an instruction a CO-RE relocation poisoned becomes
/// [`Error::CoreRelocation`] naming that relocation.
fn poisoned_rejection(
    err: Error,
    linked: &LinkedProgram,
    core: &[oxbpf_reloc::ReloExplanation],
) -> Error {
    let Error::Verifier(v) = err else { return err };
    let poisoned = v.insn.and_then(|i| {
        let insn = linked.insns.get(i)?;
        if !oxbpf_reloc::core_relo::is_poisoned(insn) {
            return None;
        }
        // The second slot of a poisoned ld_imm64 is poisoned too.
        core.iter()
            .find(|e| e.result.poison && (e.insn == i || e.insn + 1 == i))
            .or_else(|| core.iter().find(|e| e.insn == i))
    });
    match poisoned {
        Some(e) => Error::CoreRelocation {
            program: v.program.clone(),
            relocation: Box::new(e.clone()),
            verifier: v,
        },
        None => Error::Verifier(v),
    }
}

fn rejection(
    program: String,
    source: oxbpf_sys::Error,
    log: String,
    truncated: bool,
    linked: &LinkedProgram,
    btf: Option<&Btf<'_>>,
) -> Error {
    let not_verifier = log.trim().is_empty() && source.errno() != Some(Errno::EACCES);
    if not_verifier {
        return Error::Load { program, source };
    }
    let insn = verifier::failing_insn(&log);
    let source_line = insn.and_then(|i| source_line(linked, btf?, i));
    let message = verifier::message(&log);
    Error::Verifier(Box::new(VerifierError {
        program,
        source,
        log,
        insn,
        source_line,
        message,
        truncated,
    }))
}

/// The source line of instruction `insn`: the last line_info record at or before it.
fn source_line(linked: &LinkedProgram, btf: &Btf<'_>, insn: usize) -> Option<SourceLine> {
    let rec = linked
        .line_info
        .iter()
        .filter(|l| l.insn as usize <= insn)
        .max_by_key(|l| l.insn)?;
    Some(SourceLine {
        file: btf.str_at(rec.file_name_off).ok()?.to_owned(),
        line: rec.line,
        col: rec.col,
        text: btf.str_at(rec.line_off).ok()?.to_owned(),
    })
}
