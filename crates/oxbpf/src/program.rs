//! A loaded program.

use oxbpf_attach::Link;
use oxbpf_obj::{AttachPoint, SectionDef};
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
        matches!(self.def.attach, AttachPoint::Tracepoint { .. })
    }

    /// Attaches the program where its section says.
    pub fn attach(&self) -> Result<Link> {
        let attach = |source| Error::Attach {
            program: self.name.clone(),
            source,
        };
        if let Some(reason) = net::explicit_attach_reason(&self.def) {
            return Err(self.cannot(&reason));
        }
        match &self.def.attach {
            AttachPoint::Tracepoint { category, name } => {
                oxbpf_attach::tracepoint::attach(self.fd.as_fd(), category, name).map_err(attach)
            }
            AttachPoint::None => Err(self.cannot("the section names no attach point")),
            other => Err(self.cannot(&format!(
                "automatic attach of {other:?} is not supported yet"
            ))),
        }
    }

    fn cannot(&self, reason: &str) -> Error {
        Error::CannotAttach {
            program: self.name.clone(),
            section: self.section.clone(),
            reason: reason.to_owned(),
        }
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
