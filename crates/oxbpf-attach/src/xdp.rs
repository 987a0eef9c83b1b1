//! XDP (`SEC("xdp")`): a `bpf_link` (BPF_LINK_CREATE with `BPF_XDP`, Linux 5.9+) on an
//! interface, falling back to rtnetlink `IFLA_XDP` when the kernel has no XDP links; modes
//! generic (skb), native (driver) and offload; replacing the program of an attachment.

use std::os::fd::BorrowedFd;

use oxbpf_sys::netlink::{self, XdpState, xdp_flags};
use oxbpf_sys::{Errno, bpf};

use crate::net::{self, NetHold};
use crate::{Error, Link, Result};

/// `BPF_XDP` attach type.
const ATTACH_TYPE_XDP: u32 = 37;

/// Where XDP runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XdpMode {
    /// Native if the driver supports it, else generic (the kernel decides).
    #[default]
    Auto,
    /// Generic XDP on the skb (`XDP_FLAGS_SKB_MODE`), any device.
    Generic,
    /// In the driver (`XDP_FLAGS_DRV_MODE`).
    Native,
    /// On the NIC (`XDP_FLAGS_HW_MODE`); the program must be loaded for that device.
    Offload,
}

impl XdpMode {
    /// The `XDP_FLAGS_*` mode bit.
    pub fn flags(self) -> u32 {
        match self {
            XdpMode::Auto => 0,
            XdpMode::Generic => xdp_flags::SKB_MODE,
            XdpMode::Native => xdp_flags::DRV_MODE,
            XdpMode::Offload => xdp_flags::HW_MODE,
        }
    }

    fn name(self) -> &'static str {
        match self {
            XdpMode::Auto => "",
            XdpMode::Generic => " (generic)",
            XdpMode::Native => " (native)",
            XdpMode::Offload => " (offload)",
        }
    }
}

/// Which kernel mechanism to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XdpAttach {
    /// A `bpf_link`, or netlink when the kernel has no XDP links.
    #[default]
    Auto,
    /// Only a `bpf_link`.
    Link,
    /// Only rtnetlink `IFLA_XDP` (no link object; survives nothing but this `Link`).
    Netlink,
}

/// Options of [`attach_with`].
#[derive(Debug, Clone, Copy, Default)]
pub struct XdpOptions {
    /// Where XDP runs.
    pub mode: XdpMode,
    /// Which mechanism.
    pub mechanism: XdpAttach,
    /// Netlink only: replace a program attached by someone else instead of failing with
    /// EBUSY (a `bpf_link` never replaces; use [`replace`] on your own link).
    pub replace_existing: bool,
}

/// Attaches `prog` (an XDP program) to interface `ifindex` in `mode`, by link or netlink.
pub fn attach(prog: BorrowedFd<'_>, ifindex: u32, mode: XdpMode) -> Result<Link> {
    attach_with(
        prog,
        ifindex,
        &XdpOptions {
            mode,
            ..Default::default()
        },
    )
}

/// Attaches `prog` to the interface named `name` in the caller's network namespace.
pub fn attach_by_name(prog: BorrowedFd<'_>, name: &str, mode: XdpMode) -> Result<Link> {
    let ifindex = netlink::ifindex(name).map_err(|source| Error::NoAttachPoint {
        what: format!("interface {name}"),
        detail: source.to_string(),
    })?;
    attach(prog, ifindex, mode)
}

fn hint(ifname: &str, mode: XdpMode) -> impl Fn(Errno) -> Option<String> + '_ {
    move |e| match e {
        Errno::EBUSY | Errno::EEXIST => Some(format!(
            "an XDP program is already attached to {ifname}; use replace (xdp::replace on \
             your link, or XdpOptions::replace_existing for netlink), or detach it first"
        )),
        Errno::ENOTSUP | Errno::ENOTSUPP if mode == XdpMode::Native => Some(format!(
            "the driver of {ifname} has no native XDP; use XdpMode::Generic"
        )),
        Errno::ENOTSUP | Errno::ENOTSUPP | Errno::EINVAL if mode == XdpMode::Offload => Some(
            format!("{ifname} cannot offload XDP (the program must be loaded for the device)"),
        ),
        _ => None,
    }
}

/// Attaches with explicit options.
pub fn attach_with(prog: BorrowedFd<'_>, ifindex: u32, opts: &XdpOptions) -> Result<Link> {
    let ifname = net::iface(ifindex);
    let what = format!("XDP on {ifname}{}", opts.mode.name());
    let mode = opts.mode.flags();
    if opts.mechanism != XdpAttach::Netlink {
        match bpf::link_create(prog, ifindex, ATTACH_TYPE_XDP, mode, 0) {
            Ok(link) => return Ok(Link::net(NetHold::BpfLink(link), what)),
            Err(e) if opts.mechanism == XdpAttach::Auto && net::link_unsupported(&e) => {
                crate::fallback::note(
                    "xdp",
                    &what,
                    "rtnetlink IFLA_XDP",
                    &format!("XDP links need Linux 5.9 (BPF_LINK_CREATE: {e})"),
                );
            }
            Err(e) => return Err(net::error(&what, e, hint(&ifname, opts.mode))),
        }
    }
    let mut flags = mode;
    if !opts.replace_existing {
        flags |= xdp_flags::UPDATE_IF_NOEXIST;
    }
    netlink::xdp_set(ifindex, Some(prog), flags, None)
        .map_err(|e| net::error(&what, e, hint(&ifname, opts.mode)))?;
    let dup = net::dup_prog(prog, &what)?;
    Ok(Link::net(
        NetHold::XdpNetlink {
            ifindex,
            flags: mode,
            prog: dup,
        },
        what,
    ))
}

/// Replaces the program of XDP attachment `link` (made by this module) with `new_prog`,
/// atomically: `BPF_LINK_UPDATE` for a link, `IFLA_XDP` with `IFLA_XDP_EXPECTED_FD` for
/// netlink (fails with EEXIST if someone else changed the program meanwhile).
pub fn replace(link: &mut Link, new_prog: BorrowedFd<'_>) -> Result<()> {
    let what = format!("replacing the program of {}", link.description());
    match link.net_hold_mut() {
        Some(NetHold::BpfLink(l)) => bpf::link_update(l.as_fd(), new_prog, None)
            .map_err(|source| Error::Kernel { what, source }),
        Some(NetHold::XdpNetlink {
            ifindex,
            flags,
            prog,
        }) => {
            netlink::xdp_set(*ifindex, Some(new_prog), *flags, Some(prog.as_fd())).map_err(
                |e| {
                    net::error(&what, e, |e| {
                        (e == Errno::EEXIST).then(|| {
                            "the attached program is no longer the one this link set".to_owned()
                        })
                    })
                },
            )?;
            *prog = net::dup_prog(new_prog, &what)?;
            Ok(())
        }
        _ => Err(Error::InvalidName {
            what: format!("link {}", link.description()),
            reason: "is not an XDP attachment",
        }),
    }
}

/// What `IFLA_XDP` reports for `ifindex` (attach mode, program id).
pub fn query(ifindex: u32) -> Result<XdpState> {
    netlink::xdp_query(ifindex).map_err(|source| Error::Kernel {
        what: format!("querying XDP on {}", net::iface(ifindex)),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_map_to_xdp_flags() {
        assert_eq!(XdpMode::Auto.flags(), 0);
        assert_eq!(XdpMode::Generic.flags(), 2);
        assert_eq!(XdpMode::Native.flags(), 4);
        assert_eq!(XdpMode::Offload.flags(), 8);
    }

    #[test]
    fn busy_hint_names_the_interface_and_replace() {
        let h = hint("veth0 (ifindex 3)", XdpMode::Auto)(Errno::EBUSY).unwrap();
        assert!(
            h.starts_with("an XDP program is already attached to veth0"),
            "{h}"
        );
        assert!(h.contains("replace"), "{h}");
        assert!(hint("x", XdpMode::Generic)(Errno::ENOTSUP).is_none());
        assert!(
            hint("x", XdpMode::Native)(Errno::ENOTSUP)
                .unwrap()
                .contains("Generic")
        );
    }
}
