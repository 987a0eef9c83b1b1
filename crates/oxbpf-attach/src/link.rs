//! `Link`: one attachment, detached on drop.

use std::os::fd::BorrowedFd;

use oxbpf_sys::{LinkFd, PerfEventFd};

/// How an attachment is held in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkMechanism {
    /// A `bpf_link` (BPF_LINK_CREATE); closing the link fd detaches.
    BpfLink,
    /// A perf event with the program set by `PERF_EVENT_IOC_SET_BPF` (kernels before 5.15).
    PerfEventIoctl,
}

#[derive(Debug)]
enum Inner {
    /// A bpf_link on a perf event: the link must be dropped before the event.
    PerfLink { link: LinkFd, _event: PerfEventFd },
    /// The legacy perf-event attachment.
    PerfIoctl { event: PerfEventFd },
}

/// One attachment of a program to a hook. Dropping it detaches.
#[derive(Debug)]
pub struct Link {
    inner: Option<Inner>,
    description: String,
}

impl Link {
    pub(crate) fn perf_link(link: LinkFd, event: PerfEventFd, description: String) -> Self {
        Link {
            inner: Some(Inner::PerfLink {
                link,
                _event: event,
            }),
            description,
        }
    }

    pub(crate) fn perf_ioctl(event: PerfEventFd, description: String) -> Self {
        Link {
            inner: Some(Inner::PerfIoctl { event }),
            description,
        }
    }

    /// What is attached where (`tracepoint sched/sched_process_exec`).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The mechanism in use.
    pub fn mechanism(&self) -> LinkMechanism {
        match self.inner {
            Some(Inner::PerfIoctl { .. }) => LinkMechanism::PerfEventIoctl,
            _ => LinkMechanism::BpfLink,
        }
    }

    /// The `bpf_link` fd, if this attachment has one (for pinning and link info).
    pub fn link_fd(&self) -> Option<BorrowedFd<'_>> {
        match &self.inner {
            Some(Inner::PerfLink { link, .. }) => Some(link.as_fd()),
            _ => None,
        }
    }

    /// Detaches now, reporting a failure to disable a legacy perf event.
    pub fn detach(mut self) -> crate::Result<()> {
        self.release()
    }

    fn release(&mut self) -> crate::Result<()> {
        match self.inner.take() {
            // Dropping the link fd first detaches the program, then the event closes.
            Some(Inner::PerfLink { link, _event }) => {
                drop(link);
                drop(_event);
                Ok(())
            }
            Some(Inner::PerfIoctl { event }) => {
                let r = oxbpf_sys::perf::disable(event.as_fd());
                drop(event);
                r.map_err(|source| crate::Error::Kernel {
                    what: format!("detaching {}", self.description),
                    source,
                })
            }
            None => Ok(()),
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // Closing the event detaches even if disabling failed; nothing more to do.
        let _ = self.release();
    }
}
