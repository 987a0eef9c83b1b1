//! Networking attachments of a [`Program`]: explicit targets (an interface, a cgroup, a
//! socket, a network namespace, a netfilter hook), since the section name carries none.

use std::os::fd::AsFd;
use std::path::Path;

use oxbpf_attach::cgroup::{self, CgroupAttach};
use oxbpf_attach::netfilter::{self, NetfilterHook};
use oxbpf_attach::tc::{self, TcDirection, TcOptions};
use oxbpf_attach::xdp::{self, XdpMode, XdpOptions};
use oxbpf_attach::{Link, netns, sock};
use oxbpf_obj::{AttachPoint, ProgramType, SectionDef};

use super::Program;
use crate::error::{Error, Result};

/// Why [`Program::attach`] cannot attach a networking program by itself, naming the
/// method to call instead; `None` if the section is not a networking hook.
pub(super) fn explicit_attach_reason(def: &SectionDef) -> Option<String> {
    let method = match def.attach {
        AttachPoint::Xdp => "XDP needs an interface: call Program::attach_xdp(ifindex, XdpMode)",
        AttachPoint::Tc => {
            "TC needs an interface and direction: call Program::attach_tc(ifindex, TcDirection)"
        }
        AttachPoint::CgroupSkb { .. } | AttachPoint::Cgroup { .. } => {
            "cgroup programs need a cgroup: call Program::attach_cgroup(path)"
        }
        AttachPoint::SocketFilter => {
            "socket filters need a socket: call Program::attach_socket(&socket)"
        }
        _ if def.prog_type == ProgramType::SK_LOOKUP => {
            "sk_lookup needs a network namespace: call Program::attach_sk_lookup(&netns_fd)"
        }
        _ if def.prog_type == ProgramType::NETFILTER => {
            "netfilter programs need a hook: call Program::attach_netfilter(&NetfilterHook)"
        }
        _ => return None,
    };
    Some(method.to_owned())
}

impl Program {
    fn attach_err(&self) -> impl Fn(oxbpf_attach::Error) -> Error + '_ {
        move |source| Error::Attach {
            program: self.name.clone(),
            source,
        }
    }

    /// Attaches this XDP program to interface `ifindex` (a `bpf_link`, or netlink on
    /// kernels without XDP links).
    pub fn attach_xdp(&self, ifindex: u32, mode: XdpMode) -> Result<Link> {
        xdp::attach(self.fd.as_fd(), ifindex, mode).map_err(self.attach_err())
    }

    /// Attaches this XDP program with explicit options (mechanism, replace).
    pub fn attach_xdp_with(&self, ifindex: u32, opts: &XdpOptions) -> Result<Link> {
        xdp::attach_with(self.fd.as_fd(), ifindex, opts).map_err(self.attach_err())
    }

    /// Attaches this TC classifier to `ifindex` in `direction` (TCX, or clsact + cls_bpf).
    pub fn attach_tc(&self, ifindex: u32, direction: TcDirection) -> Result<Link> {
        tc::attach(self.fd.as_fd(), ifindex, direction).map_err(self.attach_err())
    }

    /// Attaches this TC classifier with explicit options (mechanism, order, handle/priority).
    pub fn attach_tc_with(
        &self,
        ifindex: u32,
        direction: TcDirection,
        opts: &TcOptions<'_>,
    ) -> Result<Link> {
        tc::attach_with(self.fd.as_fd(), ifindex, direction, opts).map_err(self.attach_err())
    }

    /// Attaches this cgroup program to the cgroup directory `path` at the hook its section
    /// names (a `bpf_link`, or `BPF_PROG_ATTACH` with `BPF_F_ALLOW_MULTI`).
    pub fn attach_cgroup(&self, path: impl AsRef<Path>) -> Result<Link> {
        self.attach_cgroup_with(path, CgroupAttach::Auto)
    }

    /// As [`attach_cgroup`](Self::attach_cgroup) with an explicit mechanism.
    pub fn attach_cgroup_with(
        &self,
        path: impl AsRef<Path>,
        mechanism: CgroupAttach,
    ) -> Result<Link> {
        let Some(attach_type) = self.def.expected_attach_type else {
            return Err(self.cannot(
                "the section names no cgroup attach type (use e.g. SEC(\"cgroup_skb/egress\"))",
            ));
        };
        cgroup::attach_with(self.fd.as_fd(), path.as_ref(), attach_type.0, mechanism)
            .map_err(self.attach_err())
    }

    /// Attaches this socket filter to `socket` (`SO_ATTACH_BPF`).
    pub fn attach_socket(&self, socket: &impl AsFd) -> Result<Link> {
        sock::attach_filter(self.fd.as_fd(), socket).map_err(self.attach_err())
    }

    /// Attaches this sk_lookup program to the network namespace `netns` (an fd of
    /// `/proc/self/ns/net` or `/run/netns/<name>`).
    pub fn attach_sk_lookup(&self, netns: &impl AsFd) -> Result<Link> {
        netns::attach_sk_lookup(self.fd.as_fd(), netns).map_err(self.attach_err())
    }

    /// Attaches this netfilter program to `hook` in the caller's network namespace.
    pub fn attach_netfilter(&self, hook: &NetfilterHook) -> Result<Link> {
        netfilter::attach(self.fd.as_fd(), hook).map_err(self.attach_err())
    }
}
