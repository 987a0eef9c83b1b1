//! The `attach_btf_id` of BTF-attached programs (tp_btf, fentry, fexit, fmod_ret, LSM,
//! iterators): the target named by the section, looked up in vmlinux BTF, or in a
//! module's BTF for `fentry/<module>:<func>` (the load then passes the module's BTF
//! object as `attach_btf_obj_fd`); and the target of `freplace` programs given before
//! the load ([`LoadOptions::set_attach_target`]): a function of an already loaded program.

use std::collections::HashMap;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex, OnceLock};

use oxbpf_btf::Kind;
use oxbpf_obj::{AttachPoint, AttachType, ProgramSpec, ProgramType};
use oxbpf_sys::BtfFd;

use crate::collection::LoadOptions;
use crate::error::{Error, Result};

/// The target of an `freplace` program of the object being loaded: global function
/// `func` of an already loaded program (held by a duplicate of its fd).
#[derive(Debug, Clone)]
pub struct ExtTarget {
    /// The freplace program of the object (its function name).
    pub program: String,
    /// The loaded program whose function it replaces.
    pub target: Arc<OwnedFd>,
    /// The global function of `target` replaced.
    pub func: String,
}

impl LoadOptions {
    /// Loads the freplace program `program` of the object against global function
    /// `func` of the already loaded `target` (its BTF must have the function): what
    /// libbpf's `bpf_program__set_attach_target` does. A later call for the same program
    /// replaces the earlier one.
    pub fn set_attach_target(
        &mut self,
        program: &str,
        target: BorrowedFd<'_>,
        func: &str,
    ) -> Result<&mut Self> {
        let dup = target
            .try_clone_to_owned()
            .map_err(|e| Error::CannotAttach {
                program: program.to_owned(),
                section: String::new(),
                reason: format!("duplicating the target program's fd: {e}"),
            })?;
        self.attach_targets.retain(|t| t.program != program);
        self.attach_targets.push(ExtTarget {
            program: program.to_owned(),
            target: Arc::new(dup),
            func: func.to_owned(),
        });
        Ok(self)
    }
}

/// The attach target given for program `p` in `opts`, if any.
fn ext_target<'o>(p: &ProgramSpec, opts: &'o LoadOptions) -> Option<&'o ExtTarget> {
    opts.attach_targets.iter().find(|t| t.program == p.name)
}

/// `attach_btf_id` of `p`: a target given in `opts` (freplace of a loaded program), else
/// the section's target in vmlinux or module BTF ([`attach_btf_id`]).
pub(crate) fn attach_btf_id_with(p: &ProgramSpec, opts: &LoadOptions) -> Result<u32> {
    if let Some(t) = ext_target(p, opts) {
        use std::os::fd::AsFd;
        return oxbpf_attach::freplace::target_btf_id(t.target.as_fd(), &t.func).map_err(
            |source| Error::Attach {
                program: p.name.clone(),
                source,
            },
        );
    }
    attach_btf_id(p)
}

/// `attach_prog_fd` / `attach_btf_obj_fd` of `p` when no program of the object is its
/// target: the loaded program given in `opts`, or the BTF object of the module its
/// section names (`fentry/<module>:<func>`).
pub(crate) fn attach_fd<'o>(p: &ProgramSpec, opts: &'o LoadOptions) -> Option<BorrowedFd<'o>> {
    use std::os::fd::AsFd;
    if let Some(t) = ext_target(p, opts) {
        return Some(t.target.as_fd());
    }
    let (_, name, _) = btf_target(p)?;
    let (module, _) = name.split_once(':')?;
    module_btf_fd(module).map(|fd| fd.as_fd())
}

type ModuleFds = Mutex<HashMap<String, &'static BtfFd>>;
static MODULE_FDS: OnceLock<ModuleFds> = OnceLock::new();

/// The kernel BTF object of module `name`, found by walking the BTF ids on first use and
/// kept open for the process (like the module's parsed BTF in [`crate::kernel_btf`]).
fn module_btf_fd(name: &str) -> Option<&'static BtfFd> {
    let cache = MODULE_FDS.get_or_init(Default::default);
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(fd) = map.get(name) {
        return Some(fd);
    }
    let mut id = 0;
    while let Ok(Some(next)) = oxbpf_sys::bpf::btf_get_next_id(id) {
        id = next;
        let Ok(fd) = oxbpf_sys::bpf::btf_get_fd_by_id(id) else {
            continue;
        };
        if oxbpf_sys::bpf::btf_name(fd.as_fd()).is_ok_and(|(_, n)| n == name) {
            let fd: &'static BtfFd = Box::leak(Box::new(fd));
            map.insert(name.to_owned(), fd);
            return Some(fd);
        }
    }
    None
}

/// The hook and target a program's section names, when it is loaded against BTF:
/// (hook word for messages, vmlinux type name, its kind).
pub(crate) fn btf_target(p: &ProgramSpec) -> Option<(&'static str, String, Kind)> {
    let t = p.def.prog_type;
    if t != ProgramType::TRACING && t != ProgramType::LSM {
        return None;
    }
    // Sections the section parser keeps as `Other` carry their target after the first '/'.
    let tail = || {
        p.section
            .trim_start_matches('?')
            .split_once('/')
            .map(|(_, rest)| rest.to_owned())
    };
    let (hook, name, kind) = match (&p.def.attach, p.def.expected_attach_type) {
        (AttachPoint::TpBtf { name }, _) => ("tp_btf", format!("btf_trace_{name}"), Kind::Typedef),
        (AttachPoint::Fentry { func }, _) => ("fentry", func.clone(), Kind::Func),
        (AttachPoint::Fexit { func }, _) => ("fexit", func.clone(), Kind::Func),
        (AttachPoint::Lsm { hook }, _) => ("lsm", format!("bpf_lsm_{hook}"), Kind::Func),
        (_, Some(AttachType::MODIFY_RETURN)) => ("fmod_ret", tail()?, Kind::Func),
        (_, Some(AttachType::TRACE_ITER)) => ("iter", format!("bpf_iter_{}", tail()?), Kind::Func),
        _ => return None,
    };
    Some((hook, name, kind))
}

/// The vmlinux BTF id of the program's attach target, 0 for programs that need none.
pub(crate) fn attach_btf_id(p: &ProgramSpec) -> Result<u32> {
    let Some((hook, name, kind)) = btf_target(p) else {
        return Ok(0);
    };
    let cannot = |reason: String| Error::CannotAttach {
        program: p.name.clone(),
        section: p.section.clone(),
        reason,
    };
    if let Some((module, func)) = name.split_once(':') {
        let btf = crate::kernel_btf::module(module)
            .map_err(|e| cannot(format!("{hook} target {name:?}: module BTF: {e}")))?;
        if module_btf_fd(module).is_none() {
            return Err(cannot(format!(
                "{hook} target {name:?}: module {module:?} has no BTF object in the kernel \
                 (is it loaded?)"
            )));
        }
        return match btf.find_by_name(func, kind) {
            Ok(Some(id)) => Ok(id),
            Ok(None) => Err(cannot(format!(
                "kernel function {func:?} not found in the BTF of module {module:?} \
                 ({hook} target)"
            ))),
            Err(e) => Err(cannot(format!("looking up {name:?} in module BTF: {e}"))),
        };
    }
    let vmlinux = crate::kernel_btf::vmlinux()
        .map_err(|e| cannot(format!("{hook} needs the kernel's BTF: {e}")))?;
    match vmlinux.find_by_name(&name, kind) {
        Ok(Some(id)) => Ok(id),
        Ok(None) => Err(cannot(match hook {
            "tp_btf" => format!(
                "tracepoint {:?} not found in vmlinux BTF (no typedef {name})",
                name.trim_start_matches("btf_trace_")
            ),
            "lsm" => format!(
                "LSM hook {:?} not found in vmlinux BTF (no function {name})",
                name.trim_start_matches("bpf_lsm_")
            ),
            "iter" => format!(
                "iterator {:?} not found in vmlinux BTF (no function {name})",
                name.trim_start_matches("bpf_iter_")
            ),
            _ => format!("kernel function {name:?} not found in vmlinux BTF ({hook} target)"),
        })),
        Err(e) => Err(cannot(format!("looking up {name:?} in vmlinux BTF: {e}"))),
    }
}
