//! A loaded program.

use oxbpf_attach::btf_tracing::{self, BtfHook};
use oxbpf_attach::{Link, uprobe};
use oxbpf_obj::{AttachPoint, AttachType, ProgramType, SectionDef};
use oxbpf_sys::ProgFd;

use crate::error::{Error, Result};

mod net;

/// A program loaded into the kernel (unloaded when dropped and no link holds it).
#[derive(Debug)]
pub struct Program {
    name: String,
    section: String,
    def: SectionDef,
    fd: ProgFd,
    log: Option<String>,
}

impl Program {
    pub(crate) fn new(
        name: String,
        section: String,
        def: SectionDef,
        fd: ProgFd,
        log: Option<String>,
    ) -> Self {
        Program {
            name,
            section,
            def,
            fd,
            log,
        }
    }

    /// The function name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The ELF section (`SEC()` text).
    pub fn section(&self) -> &str {
        &self.section
    }

    /// What the section name says about the program.
    pub fn def(&self) -> &SectionDef {
        &self.def
    }

    /// The program's fd.
    pub fn fd(&self) -> &ProgFd {
        &self.fd
    }

    /// The verifier log of the load, when a log level was requested.
    pub fn verifier_log(&self) -> Option<&str> {
        self.log.as_deref()
    }

    /// True if the section names a hook that [`Program::attach`] supports.
    pub fn can_attach(&self) -> bool {
        if self.def.prog_type == ProgramType::EXT {
            // Loaded against its target (the load fails without one), attached there.
            return true;
        }
        match &self.def.attach {
            AttachPoint::Tracepoint { .. }
            | AttachPoint::RawTracepoint { .. }
            | AttachPoint::TpBtf { .. }
            | AttachPoint::Fentry { .. }
            | AttachPoint::Fexit { .. }
            | AttachPoint::Kprobe { .. } => true,
            AttachPoint::Lsm { .. } => self.def.expected_attach_type == Some(AttachType::LSM_MAC),
            AttachPoint::Uprobe {
                binary: Some(_),
                func: Some(_),
                ..
            } => true,
            AttachPoint::Other => {
                matches!(
                    self.def.expected_attach_type,
                    Some(
                        AttachType::TRACE_KPROBE_MULTI
                            | AttachType::TRACE_KPROBE_SESSION
                            | AttachType::MODIFY_RETURN
                            | AttachType::TRACE_ITER
                    )
                ) && self.section_target().is_some()
            }
            _ => false,
        }
    }

    /// The text after the section's first `/` (`vfs_*` of `kprobe.multi/vfs_*`).
    fn section_target(&self) -> Option<&str> {
        self.section
            .trim_start_matches('?')
            .split_once('/')
            .map(|(_, t)| t)
            .filter(|t| !t.is_empty())
    }

    /// Attaches the program where its section says.
    pub fn attach(&self) -> Result<Link> {
        let attach = |source| Error::Attach {
            program: self.name.clone(),
            source,
        };
        if self.def.prog_type == ProgramType::EXT {
            return self.attach_freplace();
        }
        if let Some(reason) = net::explicit_attach_reason(&self.def) {
            return Err(self.cannot(&reason));
        }
        let fd = self.fd.as_fd();
        match &self.def.attach {
            AttachPoint::Tracepoint { category, name } => {
                oxbpf_attach::tracepoint::attach(self.fd.as_fd(), category, name).map_err(attach)
            }
            AttachPoint::RawTracepoint { name } => {
                oxbpf_attach::raw_tp::attach(fd, name).map_err(attach)
            }
            AttachPoint::TpBtf { name } => {
                btf_tracing::attach(fd, BtfHook::TpBtf, name, 0).map_err(attach)
            }
            AttachPoint::Fentry { func } => {
                btf_tracing::attach(fd, BtfHook::Fentry, func, 0).map_err(attach)
            }
            AttachPoint::Fexit { func } => {
                btf_tracing::attach(fd, BtfHook::Fexit, func, 0).map_err(attach)
            }
            AttachPoint::Lsm { hook }
                if self.def.expected_attach_type == Some(AttachType::LSM_MAC) =>
            {
                btf_tracing::attach(fd, BtfHook::Lsm, hook, 0).map_err(attach)
            }
            AttachPoint::Kprobe {
                func,
                offset,
                retprobe,
            } => {
                let opts = oxbpf_attach::kprobe::KprobeOptions {
                    offset: *offset,
                    retprobe: *retprobe,
                    ..Default::default()
                };
                oxbpf_attach::kprobe::attach(fd, func, &opts).map_err(attach)
            }
            AttachPoint::Uprobe {
                binary: Some(binary),
                func: Some(func),
                retprobe,
            } => match self.def.expected_attach_type {
                Some(t @ (AttachType::TRACE_UPROBE_MULTI | AttachType::TRACE_UPROBE_SESSION)) => {
                    let opts = uprobe::UprobeMultiOptions {
                        retprobe: *retprobe,
                        session: t == AttachType::TRACE_UPROBE_SESSION,
                        ..Default::default()
                    };
                    uprobe::attach_multi(fd, binary, &[func.as_str()], &opts).map_err(attach)
                }
                _ => {
                    let opts = uprobe::UprobeOptions {
                        retprobe: *retprobe,
                        ..Default::default()
                    };
                    let target = uprobe::UprobeTarget::Symbol(func.clone());
                    uprobe::attach(fd, binary, &target, &opts).map_err(attach)
                }
            },
            AttachPoint::Other if self.can_attach() => {
                let target = self.section_target().unwrap_or_default();
                match self.def.expected_attach_type {
                    Some(
                        t @ (AttachType::TRACE_KPROBE_MULTI | AttachType::TRACE_KPROBE_SESSION),
                    ) => {
                        let opts = oxbpf_attach::kprobe::KprobeMultiOptions {
                            retprobe: self
                                .section
                                .trim_start_matches('?')
                                .starts_with("kretprobe"),
                            session: t == AttachType::TRACE_KPROBE_SESSION,
                            ..Default::default()
                        };
                        oxbpf_attach::kprobe::attach_multi(fd, &[target], &opts).map_err(attach)
                    }
                    Some(AttachType::MODIFY_RETURN) => {
                        btf_tracing::attach(fd, BtfHook::FmodRet, target, 0).map_err(attach)
                    }
                    _ => oxbpf_attach::iter::attach(fd, target, None).map_err(attach),
                }
            }
            AttachPoint::Other if self.section.trim_start_matches('?').starts_with("usdt") => {
                Err(self.cannot(
                    "USDT programs read their arguments through a spec map: attach with \
                     Program::attach_usdt(spec_map, binary, provider, name, options)",
                ))
            }
            AttachPoint::None => Err(self.cannot("the section names no attach point")),
            other => Err(self.cannot(&format!(
                "automatic attach of {other:?} is not supported yet"
            ))),
        }
    }

    /// Attaches this `SEC("usdt")` program at every site of USDT `provider:name` in
    /// `binary`, writing the argument specs into `spec_map` (the program's
    /// `oxbpf_usdt_specs`; layout in [`oxbpf_attach::usdt`]).
    pub fn attach_usdt(
        &self,
        spec_map: &oxbpf_maps::Map,
        binary: &str,
        provider: &str,
        name: &str,
        opts: &oxbpf_attach::usdt::UsdtOptions,
    ) -> Result<Link> {
        oxbpf_attach::usdt::attach(self.fd.as_fd(), spec_map.fd(), binary, provider, name, opts)
            .map_err(|source| Error::Attach {
                program: self.name.clone(),
                source,
            })
    }

    /// Attaches this uprobe program at source line `loc` (`probe.c:42`) of `binary`,
    /// found through its DWARF line table.
    pub fn attach_uprobe_line(
        &self,
        binary: &std::path::Path,
        loc: &str,
        opts: &uprobe::UprobeOptions,
    ) -> Result<Link> {
        oxbpf_attach::dwarf::attach_line(self.fd.as_fd(), binary, loc, opts).map_err(|source| {
            Error::Attach {
                program: self.name.clone(),
                source,
            }
        })
    }

    /// Attaches this freplace (EXT) program in place of the function it was loaded against
    /// ([`crate::LoadOptions::set_attach_target`]).
    pub fn attach_freplace(&self) -> Result<Link> {
        let func = self.section_target().unwrap_or(self.name.as_str());
        oxbpf_attach::freplace::attach(self.fd.as_fd(), None, func).map_err(|source| {
            Error::Attach {
                program: self.name.clone(),
                source,
            }
        })
    }

    /// Attaches this freplace (EXT) program in place of global function `func` of the
    /// loaded program `target` (which must have the same signature as the one the
    /// program was loaded against).
    pub fn attach_freplace_to(&self, target: &Program, func: &str) -> Result<Link> {
        oxbpf_attach::freplace::attach(self.fd.as_fd(), Some(target.fd.as_fd()), func).map_err(
            |source| Error::Attach {
                program: self.name.clone(),
                source,
            },
        )
    }

    fn cannot(&self, reason: &str) -> Error {
        Error::CannotAttach {
            program: self.name.clone(),
            section: self.section.clone(),
            reason: reason.to_owned(),
        }
    }

    /// `(run_cnt, run_time_ns)` from the kernel's program info: how often the program ran
    /// and for how long in total. The kernel counts only while statistics are on (a
    /// descriptor from [`oxbpf_sys::bpf::enable_stats`] is held, 5.8+, or the sysctl
    /// `kernel.bpf_stats_enabled` is 1); both stay 0 otherwise.
    pub fn run_stats(&self) -> Result<(u64, u64)> {
        oxbpf_sys::bpf::prog_info(self.fd.as_fd())
            .map(|i| (i.run_cnt, i.run_time_ns))
            .map_err(|source| Error::TestRun {
                program: self.name.clone(),
                source,
            })
    }

    /// Runs the program once with BPF_PROG_TEST_RUN on context `ctx`; returns its return value.
    pub fn test_run(&self, ctx: &mut [u8]) -> Result<u32> {
        oxbpf_sys::bpf::prog_test_run(self.fd.as_fd(), ctx, &[])
            .map(|r| r.retval)
            .map_err(|source| Error::TestRun {
                program: self.name.clone(),
                source,
            })
    }
}
