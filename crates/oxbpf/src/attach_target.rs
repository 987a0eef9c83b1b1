//! The `attach_btf_id` of BTF-attached programs (tp_btf, fentry, fexit, fmod_ret, LSM,
//! iterators): the target named by the section, looked up in vmlinux BTF.

use oxbpf_btf::Kind;
use oxbpf_obj::{AttachPoint, AttachType, ProgramSpec, ProgramType};

use crate::error::{Error, Result};

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
    if name.contains(':') {
        return Err(cannot(format!(
            "{hook} target {name:?} is in a module: module targets are not supported yet"
        )));
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
