//! Networking attachments of a [`Program`]: explicit targets (an interface, a cgroup, a
//! socket, a sockmap, a network namespace, a netfilter hook), since the section name
//! carries none.

use std::os::fd::AsFd;
use std::path::Path;

use oxbpf_attach::cgroup::{self, CgroupAttach};
use oxbpf_attach::netfilter::{self, NetfilterHook};
use oxbpf_attach::netkit::{self, NetkitSide};
use oxbpf_attach::sockmap::{self, SockmapAttach};
use oxbpf_attach::tc::{self, TcDirection, TcOptions};
use oxbpf_attach::xdp::{self, XdpMode, XdpOptions};
use oxbpf_attach::{Link, netns, sock};
use oxbpf_obj::{AttachPoint, AttachType, ProgramType, SectionDef};

use super::Program;
use crate::error::{Error, Result};

/// Why [`Program::attach`] cannot attach a networking program by itself, naming the
/// method to call instead; `None` if the section is not a networking hook.
pub(super) fn explicit_attach_reason(def: &SectionDef) -> Option<String> {
    let method = match def.attach {
        _ if matches!(
            def.expected_attach_type,
            Some(AttachType::NETKIT_PRIMARY | AttachType::NETKIT_PEER)
        ) =>
        {
            "netkit programs need the pair's primary device: call \
             Program::attach_netkit(ifindex, NetkitSide)"
        }
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
        _ if def.prog_type == ProgramType::SK_MSG || def.prog_type == ProgramType::SK_SKB => {
            "sk_msg and sk_skb programs run on the sockets of a sockmap: call \
             Program::attach_to_sockmap(&map), then add the sockets to the map"
        }
        _ if def.prog_type == ProgramType::FLOW_DISSECTOR => {
            "flow dissectors need a network namespace: call \
             Program::attach_flow_dissector(&netns_fd)"
        }
        _ if def.prog_type == ProgramType::SK_REUSEPORT => {
            "sk_reuseport programs need a SO_REUSEPORT socket: call \
             Program::attach_reuseport(&socket)"
        }
        _ if matches!(
            def.prog_type,
            ProgramType::LWT_IN
                | ProgramType::LWT_OUT
                | ProgramType::LWT_XMIT
                | ProgramType::LWT_SEG6LOCAL
        ) =>
        {
            "lwt programs run as a route's encapsulation, which oxbpf does not create: \
             add the route with iproute2 (ip route add ... encap bpf in|out|xmit obj ...)"
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

    /// Attaches this sk_msg or sk_skb program to the sockmap or sockhash `map` at the hook
    /// its section names (`sk_msg`, `sk_skb/stream_parser`, `sk_skb/stream_verdict`,
    /// `sk_skb/verdict`): a sockmap `bpf_link` (6.10+) or `BPF_PROG_ATTACH`. Sockets added
    /// to the map afterwards run it.
    pub fn attach_to_sockmap(&self, map: &oxbpf_maps::Map) -> Result<Link> {
        self.attach_to_sockmap_with(map, SockmapAttach::Auto)
    }

    /// As [`attach_to_sockmap`](Self::attach_to_sockmap) with an explicit mechanism.
    pub fn attach_to_sockmap_with(
        &self,
        map: &oxbpf_maps::Map,
        mechanism: SockmapAttach,
    ) -> Result<Link> {
        let attach_type = match self.def.expected_attach_type {
            Some(
                t @ (AttachType::SK_MSG_VERDICT
                | AttachType::SK_SKB_STREAM_PARSER
                | AttachType::SK_SKB_STREAM_VERDICT
                | AttachType::SK_SKB_VERDICT),
            ) => t.0,
            _ => {
                return Err(self.cannot(
                    "the section names no sockmap hook (use SEC(\"sk_msg\"), \
                     SEC(\"sk_skb/stream_parser\"), SEC(\"sk_skb/stream_verdict\") or \
                     SEC(\"sk_skb/verdict\"))",
                ));
            }
        };
        sockmap::attach_with(self.fd.as_fd(), map.fd(), attach_type, mechanism)
            .map_err(self.attach_err())
    }

    /// Attaches this flow dissector to the network namespace `netns` (an fd of
    /// `/proc/self/ns/net` or `/run/netns/<name>`).
    pub fn attach_flow_dissector(&self, netns: &impl AsFd) -> Result<Link> {
        netns::attach_flow_dissector(self.fd.as_fd(), netns).map_err(self.attach_err())
    }

    /// Attaches this sk_reuseport program to the reuseport group of `socket` (bound, with
    /// `SO_REUSEPORT`).
    pub fn attach_reuseport(&self, socket: &impl AsFd) -> Result<Link> {
        sock::attach_reuseport(self.fd.as_fd(), socket).map_err(self.attach_err())
    }

    /// Attaches this netkit program to `side` of the netkit pair whose primary device is
    /// `ifindex` (appended after the programs there).
    pub fn attach_netkit(&self, ifindex: u32, side: NetkitSide) -> Result<Link> {
        netkit::attach(self.fd.as_fd(), ifindex, side, Default::default())
            .map_err(self.attach_err())
    }
}
