//! `Collection::load`: an [`ObjectSpec`] to maps and loaded programs.

use std::os::fd::BorrowedFd;

use oxbpf_btf::{Btf, BtfFeatures, Kind};
use oxbpf_maps::Map;
use oxbpf_obj::{DataSection, MapKind, MapSpec, MapType, ObjectSpec, ProgramSpec, ProgramType};
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
    /// Threads that load (and so verify) programs at the same time: 0 one per CPU
    /// (of the process's CPU affinity mask) once the loads have taken 2 ms (before that,
    /// and so for most objects, only the caller's thread: a pool costs more than it saves
    /// on short work), 1 one after the other in the caller's thread. A program loaded
    /// against another one of the object waits for it.
    pub jobs: usize,
    /// A kernel config file (plain or gzip) for `__kconfig` externs, read before the
    /// system's (`/boot/config-$(uname -r)`, then `/proc/config.gz`), which fills in the
    /// values it does not set.
    pub kconfig: Option<std::path::PathBuf>,
    /// Targets of `freplace` programs in already loaded programs, set with
    /// [`LoadOptions::set_attach_target`].
    pub attach_targets: Vec<crate::attach_target::ExtTarget>,
    /// `BPF_F_*` load flags ([`oxbpf_obj::section::load_flags`]) added to every program's
    /// own (those its section implies: sleepable, XDP frags).
    pub prog_flags: u32,
    /// Load flags added to one program's, by program name (after [`Self::prog_flags`]).
    pub program_flags: Vec<(String, u32)>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            log_level: 0,
            log_size: 1 << 16,
            load_disabled: false,
            kernel_btf: None,
            pin_root: None,
            jobs: 0,
            kconfig: None,
            attach_targets: Vec::new(),
            prog_flags: 0,
            program_flags: Vec::new(),
        }
    }
}

impl LoadOptions {
    /// The extra load flags of program `name`: [`Self::prog_flags`] and its entries in
    /// [`Self::program_flags`].
    pub fn prog_flags_of(&self, name: &str) -> u32 {
        self.program_flags
            .iter()
            .filter(|(n, _)| n == name)
            .fold(self.prog_flags, |f, (_, v)| f | v)
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
    /// Arena maps mapped into this process (at their `map_extra` address).
    arenas: Vec<oxbpf_maps::Arena>,
    /// struct_ops maps with their values, registered by attaching them.
    struct_ops: Vec<crate::struct_ops::StructOpsMap>,
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
        // CO-RE's target BTF work runs on another thread while the kernel makes the maps.
        let core_prep = crate::kernel_btf::CorePrep::start(spec, opts);
        crate::memlock::ensure();
        // Externs resolved once per load; the `.kconfig` map gets its values here.
        let (spec, externs) = crate::externs::prepare(spec, opts)?;
        let spec: &ObjectSpec = &spec;
        // struct_ops: kernel layouts, and the member index of each struct_ops program.
        let (spec, struct_ops) = crate::struct_ops::prepare(spec)?;
        let spec: &ObjectSpec = &spec;
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
        for (i, m) in spec.maps.iter().enumerate() {
            if m.kind == MapKind::StructOps {
                maps.push(struct_ops.create_map(i, m)?);
                pins.push(None);
                continue;
            }
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
        let arenas = crate::arena::map_arenas(spec, &maps)?;
        crate::map_init::fill_map_slots(spec, &maps)?;

        // The object's BTF and .BTF.ext, read once for linking and relocating all its
        // programs. Linking needs no target BTF: every program is linked while the CO-RE
        // thread still works.
        let linker = oxbpf_reloc::Linker::new(spec);
        let has_core = linker.has_core_relos();
        let mut core = Vec::new();
        let mut linked = Vec::with_capacity(spec.programs.len());
        for (i, p) in spec.programs.iter().enumerate() {
            if !p.def.autoload && !opts.load_disabled {
                continue;
            }
            if p.def.prog_type == oxbpf_obj::ProgramType::UNSPEC {
                return Err(Error::NoProgramType {
                    program: p.name.clone(),
                    section: p.section.clone(),
                });
            }
            let l = linker.link(i).map_err(|source| Error::Reloc {
                program: p.name.clone(),
                source: Box::new(source),
            })?;
            linked.push((i, l));
        }
        // One target set per object: it caches (and narrows) candidates per local type.
        let mut targets = core_prep.finish(|| core_targets(opts).ok());
        let mut prepared = Vec::with_capacity(linked.len());
        for (i, l) in linked {
            let p = &spec.programs[i];
            let mut prog = prepare_program(
                &linker,
                i,
                l,
                &maps,
                btf_fd.as_ref(),
                features,
                has_core,
                &mut targets,
                &mut core,
                opts,
                &externs,
            )?;
            if let Some(id) = struct_ops.attach_btf_id(&p.name) {
                prog.attach_btf_id = id;
            }
            prepared.push(prog);
        }
        link_attach_targets(&mut prepared, parsed.as_ref());
        let programs = load_programs(
            spec,
            &prepared,
            btf_fd.as_ref(),
            parsed.as_ref(),
            &core,
            opts,
            &externs,
        )?;
        crate::map_init::fill_prog_slots(spec, &maps, &programs, &mut warnings)?;
        let struct_ops = struct_ops.register(spec, &maps, &programs)?;
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
            arenas,
            struct_ops,
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

    /// Arena map `name` (`BPF_MAP_TYPE_ARENA`) mapped into this process at the address
    /// the object asked for: its bytes, shared with the programs.
    pub fn arena(&self, name: &str) -> Option<&oxbpf_maps::Arena> {
        self.arenas.iter().find(|a| a.name() == name)
    }

    /// The struct_ops map called `name` (the variable in `.struct_ops` /
    /// `.struct_ops.link`).
    pub fn struct_ops(&self, name: &str) -> Option<&crate::struct_ops::StructOpsMap> {
        self.struct_ops.iter().find(|s| s.name() == name)
    }

    /// All struct_ops maps, in the object's order.
    pub fn struct_ops_maps(&self) -> impl Iterator<Item = &crate::struct_ops::StructOpsMap> {
        self.struct_ops.iter()
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

    /// Attaches every loaded program whose section names its hook and registers every
    /// struct_ops map ([`crate::StructOpsMap::attach`]). All or nothing: if one fails,
    /// the links made so far are dropped (detached) and the error returned.
    pub fn attach_all(&self) -> Result<Vec<oxbpf_attach::Link>> {
        let mut links = Vec::new();
        for p in &self.programs {
            // struct_ops programs run through their map (its expected_attach_type is a
            // member index, not a hook).
            if p.can_attach() && p.def().prog_type != ProgramType::STRUCT_OPS {
                links.push(p.attach()?);
            }
        }
        for s in &self.struct_ops {
            links.push(s.attach()?);
        }
        Ok(links)
    }
}

/// A program relocated for the running kernel, ready for `BPF_PROG_LOAD`.
struct PreparedProgram<'s> {
    /// Its spec.
    spec: &'s ProgramSpec,
    /// The linked and relocated instructions, with their func_info and line_info.
    linked: LinkedProgram,
    /// `linked.insns` as bytes.
    insns: Vec<u8>,
    /// func_info records for the kernel (empty when loaded without BTF).
    func_info: Vec<u8>,
    /// line_info records for the kernel (empty when loaded without BTF).
    line_info: Vec<u8>,
    /// Whether the object's BTF goes with the load.
    with_btf: bool,
    /// `attach_btf_id`.
    attach_btf_id: u32,
    /// Its CO-RE explanations: this range of the collection's list.
    core: std::ops::Range<usize>,
    /// The program of this object it is loaded against (an `freplace` target), an index
    /// into the prepared programs: loaded first, its fd is the load's `attach_prog_fd`.
    attach_prog: Option<usize>,
}

/// Relocates `linked`, program `i` of the linker's object (CO-RE against `targets`, read
/// on first need, explanations appended to `core`; map fds of `maps`; externs):
/// everything up to the load.
#[allow(clippy::too_many_arguments)]
fn prepare_program<'s>(
    linker: &oxbpf_reloc::Linker<'s>,
    i: usize,
    mut linked: oxbpf_reloc::LinkedProgram,
    maps: &[Map],
    btf_fd: Option<&BtfFd>,
    features: &BtfFeatures,
    has_core: bool,
    targets: &mut Option<oxbpf_reloc::Targets<'static, 'static>>,
    core: &mut Vec<oxbpf_reloc::ReloExplanation>,
    opts: &LoadOptions,
    externs: &crate::externs::Externs,
) -> Result<PreparedProgram<'s>> {
    let spec = linker.spec();
    let p = &spec.programs[i];
    let reloc = |source: oxbpf_reloc::Error| Error::Reloc {
        program: p.name.clone(),
        source: Box::new(source),
    };
    let core_start = core.len();
    if has_core {
        if targets.is_none() {
            *targets = Some(core_targets(opts).map_err(|source| Error::CoreTarget {
                program: p.name.clone(),
                source,
            })?);
        }
        if let Some(t) = targets.as_ref() {
            let ex = linker.apply_core(&mut linked, t).map_err(reloc)?;
            core.extend(ex);
        }
    }
    oxbpf_reloc::resolve_maps(&mut linked, &|idx| {
        maps.get(idx).map(|m: &Map| m.map_fd().raw())
    })
    .map_err(reloc)?;
    let kconfig_fd = spec.kconfig_map().and_then(|k| maps.get(k));
    externs.patch(
        spec,
        &p.name,
        &mut linked,
        kconfig_fd.map(|m| m.map_fd().raw()),
    )?;
    // Kernels without BTF_KIND_FUNC take no func_info/line_info (as in libbpf).
    let with_btf = btf_fd.is_some() && features.func && !linked.func_info.is_empty();
    let func_info: Vec<u8> = if with_btf {
        linked
            .func_info
            .iter()
            .flat_map(|f| [f.insn.to_ne_bytes(), f.type_id.to_ne_bytes()].concat())
            .collect()
    } else {
        Vec::new()
    };
    let line_info: Vec<u8> = if with_btf {
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
    Ok(PreparedProgram {
        spec: p,
        attach_btf_id: crate::attach_target::attach_btf_id_with(p, opts)?,
        linked,
        insns,
        func_info,
        line_info,
        with_btf,
        core: core_start..core.len(),
        attach_prog: None,
    })
}

/// The function an `freplace/<function>` section replaces.
fn freplace_target(section: &str) -> Option<&str> {
    section
        .trim_start_matches('?')
        .strip_prefix("freplace/")
        .filter(|f| !f.is_empty())
}

/// Each `freplace` program whose target function is in another program of this object
/// gets that program as its `attach_prog` (loaded before it) and the function's id in the
/// object's BTF as its `attach_btf_id`.
fn link_attach_targets(prepared: &mut [PreparedProgram<'_>], btf: Option<&Btf<'_>>) {
    let Some(btf) = btf else { return };
    for i in 0..prepared.len() {
        let p = prepared[i].spec;
        if p.def.prog_type != ProgramType::EXT {
            continue;
        }
        let Some(func) = freplace_target(&p.section) else {
            continue;
        };
        let others = || prepared.iter().enumerate().filter(|(j, _)| *j != i);
        let owner = others()
            .find(|(_, q)| q.spec.name == func)
            .or_else(|| others().find(|(_, q)| q.linked.functions.iter().any(|(n, _)| n == func)))
            .map(|(j, _)| j);
        if let (Some(j), Ok(Some(id))) = (owner, btf.find_by_name(func, Kind::Func)) {
            prepared[i].attach_prog = Some(j);
            prepared[i].attach_btf_id = id;
        }
    }
}

/// The `BPF_PROG_LOAD` inputs of `p` (`attach_fd`: the program it is loaded against).
fn prog_load_attr<'a>(
    spec: &'a ObjectSpec,
    p: &'a PreparedProgram<'_>,
    btf_fd: Option<&'a BtfFd>,
    attach_fd: Option<BorrowedFd<'a>>,
) -> ProgLoad<'a> {
    ProgLoad {
        prog_type: p.spec.def.prog_type.0,
        insns: &p.insns,
        license: &spec.license,
        name: &p.spec.name,
        expected_attach_type: p.spec.def.expected_attach_type.map_or(0, |a| a.0),
        kern_version: spec.kernel_version.unwrap_or(0),
        prog_flags: p.spec.def.load_flags(&p.spec.section),
        btf_fd: btf_fd.filter(|_| p.with_btf).map(|f| f.as_fd()),
        func_info: &p.func_info,
        func_info_rec_size: 8,
        line_info: &p.line_info,
        line_info_rec_size: 16,
        attach_btf_id: p.attach_btf_id,
        attach_fd,
        ..Default::default()
    }
}

/// What loading one prepared program came to, in the worker thread that loaded it.
enum Attempt {
    /// `BPF_PROG_LOAD` ran (with log capture and retries).
    Loaded(verifier::Loaded),
    /// Not tried: the program it is loaded against failed.
    TargetFailed,
}

/// Loads the prepared programs on [`LoadOptions::jobs`] threads ([`crate::load_pool`]),
/// each after the program it is loaded against. Returns them in the object's order, or
/// every failure: a single one as itself, several as [`Error::Programs`].
fn load_programs(
    spec: &ObjectSpec,
    prepared: &[PreparedProgram<'_>],
    btf_fd: Option<&BtfFd>,
    btf: Option<&Btf<'_>>,
    core: &[oxbpf_reloc::ReloExplanation],
    opts: &LoadOptions,
    externs: &crate::externs::Externs,
) -> Result<Vec<Program>> {
    let fd_array = externs.fd_array();
    let deps: Vec<Vec<usize>> = prepared
        .iter()
        .map(|p| p.attach_prog.into_iter().collect())
        .collect();
    let attempts = crate::load_pool::run(opts.jobs, &deps, |i, inputs: &[&Attempt]| {
        let attach_fd = match inputs.first() {
            None => crate::attach_target::attach_fd(prepared[i].spec, opts),
            Some(Attempt::Loaded(verifier::Loaded { result: Ok(fd), .. })) => Some(fd.as_fd()),
            Some(_) => return Attempt::TargetFailed,
        };
        let mut load = prog_load_attr(spec, &prepared[i], btf_fd, attach_fd);
        load.prog_flags |= opts.prog_flags_of(&prepared[i].spec.name);
        load.fd_array = &fd_array;
        Attempt::Loaded(verifier::load_with_log(
            &load,
            opts.log_level,
            opts.log_size,
        ))
    })
    .map_err(|stuck| {
        let p = stuck.first().and_then(|&i| prepared.get(i));
        Error::CannotAttach {
            program: p.map_or_else(String::new, |p| p.spec.name.clone()),
            section: p.map_or_else(String::new, |p| p.spec.section.clone()),
            reason: "its freplace target depends on it in turn (a cycle)".into(),
        }
    })?;
    let mut programs = Vec::with_capacity(prepared.len());
    let mut failures = Vec::new();
    for (p, attempt) in prepared.iter().zip(attempts) {
        let loaded = match attempt {
            Attempt::Loaded(loaded) => loaded,
            Attempt::TargetFailed => {
                let target = p.attach_prog.map_or("", |j| prepared[j].spec.name.as_str());
                failures.push(Error::CannotAttach {
                    program: p.spec.name.clone(),
                    section: p.spec.section.clone(),
                    reason: format!("its freplace target, program {target:?}, failed to load"),
                });
                continue;
            }
        };
        match loaded.result {
            Ok(fd) => programs.push(Program::new(
                p.spec.name.clone(),
                p.spec.section.clone(),
                p.spec.def.clone(),
                fd,
                loaded.log,
            )),
            Err((source, log, truncated)) => {
                let err = rejection(p.spec.name.clone(), source, log, truncated, &p.linked, btf);
                let explained = core.get(p.core.clone()).unwrap_or(&[]);
                let err = poisoned_rejection(err, &p.linked, explained);
                failures.push(externs.explain_rejection(err, spec, &p.linked));
            }
        }
    }
    match failures.len() {
        0 => Ok(programs),
        1 => Err(failures.remove(0)),
        _ => Err(Error::Programs(failures)),
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

/// The size the kernel takes for a ring buffer declared with `size` bytes: a page size
/// times a power of two. Like libbpf, a size that is not one is rounded up to the next
/// (`256 * 1024 + 1` → 512 KiB); 0 stays 0 (the kernel's error names it) and a size with
/// no such multiple below 4 GiB goes through unchanged for the kernel to refuse.
fn ringbuf_size(size: u32, page: usize) -> u32 {
    let Ok(page) = u32::try_from(page) else {
        return size;
    };
    if size == 0 || page == 0 {
        return size;
    }
    if size % page == 0 && (size / page).is_power_of_two() {
        return size;
    }
    let mut n = page;
    while n <= size {
        match n.checked_mul(2) {
            Some(next) => n = next,
            None => return size,
        }
    }
    n
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
                attr.max_entries = ringbuf_size(attr.max_entries, oxbpf_sys::page_size());
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
    // A map-in-map's inner template: created for its fd, closed once the outer exists.
    let inner = match m.inner.as_deref() {
        Some(inner) => Some(create_map(inner, btf, btf_fd, warnings)?),
        None => None,
    };
    if let Some(inner) = &inner {
        attr.inner_map_fd = inner.map_fd().raw() as u32;
    }
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

#[cfg(test)]
mod ringbuf_size_tests {
    use super::ringbuf_size;

    #[test]
    fn ring_buffer_sizes_round_up_to_a_power_of_two_pages() {
        assert_eq!(ringbuf_size(4096, 4096), 4096);
        assert_eq!(ringbuf_size(1 << 20, 4096), 1 << 20);
        assert_eq!(ringbuf_size(1, 4096), 4096);
        assert_eq!(ringbuf_size(3 * 4096, 4096), 4 * 4096);
        assert_eq!(ringbuf_size(256 * 1024 + 1, 4096), 512 * 1024);
        assert_eq!(ringbuf_size(0, 4096), 0);
        assert_eq!(ringbuf_size(u32::MAX - 5, 4096), u32::MAX - 5);
        assert_eq!(ringbuf_size(1 << 31, 4096), 1 << 31);
    }
}
