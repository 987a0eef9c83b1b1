//! rtnetlink over a `NETLINK_ROUTE` socket, for the attachments that predate `bpf_link`:
//! XDP through `IFLA_XDP` (RTM_SETLINK), and TC through a `clsact` qdisc plus a `cls_bpf`
//! filter (RTM_NEWQDISC / RTM_NEWTFILTER / RTM_DELTFILTER).
//!
//! Messages are built and parsed by hand: a [`MsgBuilder`] appends attributes with their
//! 4-byte alignment, [`Attrs`] walks received attributes with a bounds check per header,
//! and every request asks for an ACK, decoded into an errno plus the kernel's extended-ack
//! message (`NLMSGERR_ATTR_MSG`) when it sends one.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::{Errno, Error, Result};

/// `struct nlmsghdr` size.
const NLMSG_HDRLEN: usize = 16;
/// `NLMSG_ERROR`.
const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`.
const NLMSG_DONE: u16 = 3;

/// Request flags (`NLM_F_*`).
#[allow(missing_docs)]
pub mod flags {
    pub const REQUEST: u16 = 0x1;
    pub const ACK: u16 = 0x4;
    pub const ECHO: u16 = 0x8;
    pub const REPLACE: u16 = 0x100;
    pub const EXCL: u16 = 0x200;
    pub const CREATE: u16 = 0x400;
    pub const DUMP: u16 = 0x300;
    /// In an error message: the original request was not copied back.
    pub const CAPPED: u16 = 0x100;
    /// In an error message: extended-ack attributes follow.
    pub const ACK_TLVS: u16 = 0x200;
}

/// rtnetlink message types used here.
#[allow(missing_docs)]
pub mod rtm {
    pub const NEWLINK: u16 = 16;
    pub const DELLINK: u16 = 17;
    pub const GETLINK: u16 = 18;
    pub const SETLINK: u16 = 19;
    pub const NEWQDISC: u16 = 36;
    pub const DELQDISC: u16 = 37;
    pub const NEWTFILTER: u16 = 44;
    pub const DELTFILTER: u16 = 45;
    pub const GETTFILTER: u16 = 46;
}

/// `NLA_F_NESTED`.
pub const NLA_F_NESTED: u16 = 1 << 15;
/// The type bits of an attribute header (without `NLA_F_NESTED` / `NLA_F_NET_BYTEORDER`).
pub const NLA_TYPE_MASK: u16 = 0x3fff;

/// `IFLA_XDP` and its nested attributes.
#[allow(missing_docs)]
pub mod ifla {
    pub const XDP: u16 = 43;
    pub const XDP_FD: u16 = 1;
    pub const XDP_ATTACHED: u16 = 2;
    pub const XDP_FLAGS: u16 = 3;
    pub const XDP_PROG_ID: u16 = 4;
    pub const XDP_EXPECTED_FD: u16 = 8;
}

/// `XDP_FLAGS_*` (netlink and `BPF_LINK_CREATE` flags of XDP).
#[allow(missing_docs)]
pub mod xdp_flags {
    pub const UPDATE_IF_NOEXIST: u32 = 1 << 0;
    pub const SKB_MODE: u32 = 1 << 1;
    pub const DRV_MODE: u32 = 1 << 2;
    pub const HW_MODE: u32 = 1 << 3;
    pub const REPLACE: u32 = 1 << 4;
    pub const MODES: u32 = SKB_MODE | DRV_MODE | HW_MODE;
}

/// TC handles and attributes (`TC_H_*`, `TCA_*`, `TCA_BPF_*`).
#[allow(missing_docs)]
pub mod tc {
    pub const H_CLSACT: u32 = 0xFFFF_FFF1;
    pub const H_MIN_INGRESS: u32 = 0xFFF2;
    pub const H_MIN_EGRESS: u32 = 0xFFF3;
    /// Parent of ingress filters under clsact (`TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)`).
    pub const PARENT_INGRESS: u32 = 0xFFFF_FFF2;
    /// Parent of egress filters under clsact.
    pub const PARENT_EGRESS: u32 = 0xFFFF_FFF3;
    /// The clsact qdisc's handle (`TC_H_MAKE(TC_H_CLSACT, 0)`).
    pub const CLSACT_HANDLE: u32 = 0xFFFF_0000;
    pub const TCA_KIND: u16 = 1;
    pub const TCA_OPTIONS: u16 = 2;
    pub const TCA_BPF_FD: u16 = 6;
    pub const TCA_BPF_NAME: u16 = 7;
    pub const TCA_BPF_FLAGS: u16 = 8;
    pub const TCA_BPF_ID: u16 = 11;
    pub const BPF_FLAG_ACT_DIRECT: u32 = 1;
    /// `ETH_P_ALL` in network byte order, as `tcm_info` carries it.
    pub const ETH_P_ALL_BE: u16 = 0x0003u16.to_be();
}

const NETLINK_ROUTE: i32 = 0;
const SOL_NETLINK: i32 = 270;
const NETLINK_CAP_ACK: i32 = 10;
const NETLINK_EXT_ACK: i32 = 11;
const NLMSGERR_ATTR_MSG: u16 = 1;

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Builds one netlink request: header, fixed family header, attributes (nested too).
#[derive(Debug, Clone)]
pub struct MsgBuilder {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

impl MsgBuilder {
    /// A message of type `ty` with `flags` (REQUEST is added) and the fixed header `family`
    /// (`struct ifinfomsg`, `struct tcmsg`, ...).
    pub fn new(ty: u16, flags: u16, family: &[u8]) -> Self {
        let mut buf = vec![0u8; NLMSG_HDRLEN];
        buf[4..6].copy_from_slice(&ty.to_ne_bytes());
        buf[6..8].copy_from_slice(&(flags | flags::REQUEST).to_ne_bytes());
        buf.extend_from_slice(family);
        buf.resize(align4(buf.len()), 0);
        MsgBuilder {
            buf,
            nests: Vec::new(),
        }
    }

    /// Appends attribute `ty` with payload `data` (padded to 4 bytes).
    pub fn attr(&mut self, ty: u16, data: &[u8]) -> &mut Self {
        let len = (4 + data.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.buf.resize(align4(self.buf.len()), 0);
        self
    }

    /// Appends a `u32` attribute (native byte order).
    pub fn attr_u32(&mut self, ty: u16, v: u32) -> &mut Self {
        self.attr(ty, &v.to_ne_bytes())
    }

    /// Appends an `i32` attribute (native byte order).
    pub fn attr_i32(&mut self, ty: u16, v: i32) -> &mut Self {
        self.attr(ty, &v.to_ne_bytes())
    }

    /// Appends a NUL-terminated string attribute.
    pub fn attr_str(&mut self, ty: u16, s: &str) -> &mut Self {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.attr(ty, &b)
    }

    /// Opens a nested attribute `ty` (`NLA_F_NESTED` is set); close it with [`end_nested`](Self::end_nested).
    pub fn begin_nested(&mut self, ty: u16) -> &mut Self {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&[0, 0]);
        self.buf
            .extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        self
    }

    /// Closes the innermost nested attribute, writing its length.
    pub fn end_nested(&mut self) -> &mut Self {
        if let Some(start) = self.nests.pop() {
            let len = (self.buf.len() - start) as u16;
            self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        }
        self
    }

    /// The finished message with sequence number `seq` (open nests are closed).
    pub fn finish(mut self, seq: u32) -> Vec<u8> {
        while !self.nests.is_empty() {
            self.end_nested();
        }
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        self.buf
    }
}

/// Iterates over netlink attributes (`struct nlattr` + payload, 4-byte aligned); a header
/// that does not fit ends iteration with an error naming the byte offset.
#[derive(Debug, Clone)]
pub struct Attrs<'a> {
    data: &'a [u8],
    off: usize,
}

impl<'a> Attrs<'a> {
    /// Attributes in `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Attrs { data, off: 0 }
    }

    /// The payload of the first attribute of type `ty` (flags masked off).
    pub fn find(data: &'a [u8], ty: u16) -> Result<Option<&'a [u8]>> {
        for a in Attrs::new(data) {
            let (t, p) = a?;
            if t == ty {
                return Ok(Some(p));
            }
        }
        Ok(None)
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<(u16, &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.data.get(self.off..)?;
        if rest.is_empty() {
            return None;
        }
        if rest.len() < 4 {
            let off = self.off;
            self.off = self.data.len();
            return Some(Err(Error::Invalid(format!(
                "netlink attribute at byte {off}: truncated header ({} bytes)",
                rest.len()
            ))));
        }
        let len = u16::from_ne_bytes([rest[0], rest[1]]) as usize;
        let ty = u16::from_ne_bytes([rest[2], rest[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > rest.len() {
            let off = self.off;
            self.off = self.data.len();
            return Some(Err(Error::Invalid(format!(
                "netlink attribute at byte {off}: length {len} outside the {} bytes left",
                rest.len()
            ))));
        }
        let payload = &rest[4..len];
        self.off += align4(len).min(rest.len());
        Some(Ok((ty, payload)))
    }
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

/// Decodes the payload of an `NLMSG_ERROR` message (after the 16-byte header) with the
/// message's flags: `Ok(())` for an ACK, else the errno and the extended-ack text.
pub fn decode_error(
    msg_flags: u16,
    payload: &[u8],
) -> std::result::Result<(), (Errno, Option<String>)> {
    let Some(code) = u32_at(payload, 0).map(|c| c as i32) else {
        return Err((
            Errno::EBADMSG,
            Some("truncated netlink error message".into()),
        ));
    };
    if code == 0 {
        return Ok(());
    }
    let errno = Errno(code.checked_neg().unwrap_or(libc::EINVAL));
    let mut msg = None;
    if msg_flags & flags::ACK_TLVS != 0 {
        // The echoed request header, then (unless CAPPED) its payload, then the TLVs.
        let inner_len = u32_at(payload, 4).unwrap_or(0) as usize;
        let skip = if msg_flags & flags::CAPPED != 0 {
            4 + NLMSG_HDRLEN
        } else {
            4 + align4(inner_len.max(NLMSG_HDRLEN))
        };
        if let Some(tlvs) = payload.get(skip..)
            && let Ok(Some(m)) = Attrs::find(tlvs, NLMSGERR_ATTR_MSG)
        {
            let end = m.iter().position(|&b| b == 0).unwrap_or(m.len());
            let text = String::from_utf8_lossy(&m[..end]).trim().to_owned();
            if !text.is_empty() {
                msg = Some(text);
            }
        }
    }
    Err((errno, msg))
}

/// A `NETLINK_ROUTE` socket with extended ACKs on.
#[derive(Debug)]
pub struct Netlink {
    fd: OwnedFd,
    seq: u32,
}

impl Netlink {
    /// Opens and binds a rtnetlink socket.
    pub fn open() -> Result<Self> {
        // SAFETY: plain socket(2) call with constant arguments; no pointers.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return Err(Error::last("socket(AF_NETLINK)"));
        }
        // SAFETY: the kernel just returned this descriptor; nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: sockaddr_nl is plain integers; zeroed is a valid value (pid 0 = kernel
        // assigns, groups 0).
        let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as u16;
        // SAFETY: `sa` is a live sockaddr_nl and the length passed is its size.
        let r = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sa as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            )
        };
        if r < 0 {
            return Err(Error::last("bind(AF_NETLINK)"));
        }
        let one: i32 = 1;
        for opt in [NETLINK_EXT_ACK, NETLINK_CAP_ACK] {
            // SAFETY: `one` is a live i32 and the length passed is its size. Failure only
            // means an older kernel without extended acks, which we tolerate.
            unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    SOL_NETLINK,
                    opt,
                    (&one as *const i32).cast(),
                    4,
                );
            }
        }
        Ok(Netlink { fd, seq: 1 })
    }

    /// Sends `msg` (built with ACK requested) and collects every reply of its sequence
    /// until the ACK or `NLMSG_DONE`: each reply as (type, payload after the 16-byte header).
    pub fn request(&mut self, call: &'static str, msg: MsgBuilder) -> Result<Vec<(u16, Vec<u8>)>> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let bytes = msg.finish(seq);
        // SAFETY: `bytes` is a live buffer of the length passed; the socket is ours.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), 0) };
        if n < 0 {
            return Err(Error::last(call));
        }
        let mut replies = Vec::new();
        let mut buf = vec![0u8; 65536];
        loop {
            // SAFETY: `buf` is a live, writable buffer of the length passed.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                let e = Errno::last();
                if e == Errno::EINTR {
                    continue;
                }
                return Err(Error::Syscall { call, errno: e });
            }
            let data = &buf[..n as usize];
            let mut off = 0;
            while off + NLMSG_HDRLEN <= data.len() {
                let hdr = &data[off..];
                let len = u32_at(hdr, 0).unwrap_or(0) as usize;
                if len < NLMSG_HDRLEN || len > hdr.len() {
                    return Err(Error::Invalid(format!(
                        "{call}: netlink reply at byte {off} has length {len} outside the {} bytes received",
                        hdr.len()
                    )));
                }
                let ty = u16::from_ne_bytes([hdr[4], hdr[5]]);
                let fl = u16::from_ne_bytes([hdr[6], hdr[7]]);
                let mseq = u32_at(hdr, 8).unwrap_or(0);
                let payload = &hdr[NLMSG_HDRLEN..len];
                off += align4(len);
                if mseq != seq {
                    continue;
                }
                match ty {
                    NLMSG_ERROR => {
                        return match decode_error(fl, payload) {
                            Ok(()) => Ok(replies),
                            Err((errno, message)) => Err(Error::Netlink {
                                call,
                                errno,
                                message,
                            }),
                        };
                    }
                    NLMSG_DONE => return Ok(replies),
                    _ => replies.push((ty, payload.to_vec())),
                }
            }
        }
    }
}

/// The index of network interface `name` in the caller's network namespace.
pub fn ifindex(name: &str) -> Result<u32> {
    let c = std::ffi::CString::new(name)
        .map_err(|_| Error::Invalid(format!("interface name {name:?} contains a NUL byte")))?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 {
        return Err(Error::Syscall {
            call: "if_nametoindex",
            errno: Errno::last(),
        });
    }
    Ok(idx)
}

/// The name of interface `ifindex`, if it exists.
pub fn ifname(ifindex: u32) -> Option<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `buf` is IF_NAMESIZE bytes, the size if_indextoname writes at most.
    let p = unsafe { libc::if_indextoname(ifindex, buf.as_mut_ptr()) };
    if p.is_null() {
        return None;
    }
    let bytes: Vec<u8> = buf
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

fn ifinfomsg(ifindex: u32) -> [u8; 16] {
    let mut m = [0u8; 16];
    m[0] = libc::AF_UNSPEC as u8;
    m[4..8].copy_from_slice(&(ifindex as i32).to_ne_bytes());
    m
}

fn tcmsg(ifindex: u32, handle: u32, parent: u32, info: u32) -> [u8; 20] {
    let mut m = [0u8; 20];
    m[0] = libc::AF_UNSPEC as u8;
    m[4..8].copy_from_slice(&(ifindex as i32).to_ne_bytes());
    m[8..12].copy_from_slice(&handle.to_ne_bytes());
    m[12..16].copy_from_slice(&parent.to_ne_bytes());
    m[16..20].copy_from_slice(&info.to_ne_bytes());
    m
}

fn raw(fd: BorrowedFd<'_>) -> i32 {
    fd.as_raw_fd()
}

/// Sets (or with `prog` `None`, removes) the XDP program of `ifindex` through `IFLA_XDP`.
/// `flags` are `XDP_FLAGS_*`; `expected` (with `XDP_FLAGS_REPLACE`, added here) makes the
/// change conditional on that program being the one attached.
pub fn xdp_set(
    ifindex: u32,
    prog: Option<BorrowedFd<'_>>,
    flags: u32,
    expected: Option<BorrowedFd<'_>>,
) -> Result<()> {
    let mut m = MsgBuilder::new(rtm::SETLINK, flags::ACK, &ifinfomsg(ifindex));
    let mut fl = flags;
    m.begin_nested(ifla::XDP);
    m.attr_i32(ifla::XDP_FD, prog.map_or(-1, raw));
    if let Some(e) = expected {
        fl |= xdp_flags::REPLACE;
        m.attr_i32(ifla::XDP_EXPECTED_FD, raw(e));
    }
    if fl != 0 {
        m.attr_u32(ifla::XDP_FLAGS, fl);
    }
    m.end_nested();
    Netlink::open()?
        .request("RTM_SETLINK IFLA_XDP", m)
        .map(drop)
}

/// What `IFLA_XDP` reports for an interface.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct XdpState {
    /// `XDP_ATTACHED_*`: 0 none, 1 driver, 2 generic (skb), 3 offload, 4 several.
    pub attached: u8,
    /// Id of the attached program (0 if none, or several).
    pub prog_id: u32,
}

/// The XDP program attached to `ifindex` (RTM_GETLINK).
pub fn xdp_query(ifindex: u32) -> Result<XdpState> {
    let m = MsgBuilder::new(rtm::GETLINK, flags::ACK, &ifinfomsg(ifindex));
    let replies = Netlink::open()?.request("RTM_GETLINK", m)?;
    for (ty, payload) in replies {
        if ty != rtm::NEWLINK {
            continue;
        }
        let attrs = payload.get(16..).unwrap_or(&[]);
        return parse_xdp_state(attrs);
    }
    Ok(XdpState::default())
}

/// Decodes `IFLA_XDP` out of the attributes of an RTM_NEWLINK message.
pub fn parse_xdp_state(link_attrs: &[u8]) -> Result<XdpState> {
    let mut st = XdpState::default();
    if let Some(xdp) = Attrs::find(link_attrs, ifla::XDP)? {
        for a in Attrs::new(xdp) {
            let (t, p) = a?;
            match t {
                ifla::XDP_ATTACHED => st.attached = p.first().copied().unwrap_or(0),
                ifla::XDP_PROG_ID => st.prog_id = u32_at(p, 0).unwrap_or(0),
                _ => {}
            }
        }
    }
    Ok(st)
}

/// Adds a `clsact` qdisc to `ifindex`; `Ok(true)` if this call created it, `Ok(false)` if
/// one was already there.
pub fn clsact_create(ifindex: u32) -> Result<bool> {
    let mut m = MsgBuilder::new(
        rtm::NEWQDISC,
        flags::ACK | flags::CREATE | flags::EXCL,
        &tcmsg(ifindex, tc::CLSACT_HANDLE, tc::H_CLSACT, 0),
    );
    m.attr_str(tc::TCA_KIND, "clsact");
    match Netlink::open()?.request("RTM_NEWQDISC clsact", m) {
        Ok(_) => Ok(true),
        Err(e) if e.errno() == Some(Errno::EEXIST) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Removes the `clsact` qdisc of `ifindex` (and every filter under it).
pub fn clsact_delete(ifindex: u32) -> Result<()> {
    let mut m = MsgBuilder::new(
        rtm::DELQDISC,
        flags::ACK,
        &tcmsg(ifindex, tc::CLSACT_HANDLE, tc::H_CLSACT, 0),
    );
    m.attr_str(tc::TCA_KIND, "clsact");
    Netlink::open()?.request("RTM_DELQDISC clsact", m).map(drop)
}

/// A `cls_bpf` filter to add under a clsact parent.
#[derive(Debug, Clone, Copy)]
pub struct BpfFilter<'a> {
    /// The program.
    pub prog: BorrowedFd<'a>,
    /// `TCA_BPF_NAME` (shown by `tc filter show`).
    pub name: &'a str,
    /// Filter handle; 0 lets the kernel choose.
    pub handle: u32,
    /// Priority; 0 lets the kernel choose.
    pub priority: u16,
    /// Direct-action mode (the program's return value is the TC verdict).
    pub direct_action: bool,
}

/// Adds `f` under `parent` (`tc::PARENT_INGRESS` / `PARENT_EGRESS`) of `ifindex` without
/// replacing an existing filter; returns the (handle, priority) the filter got.
pub fn tc_filter_add(ifindex: u32, parent: u32, f: &BpfFilter<'_>) -> Result<(u32, u16)> {
    let info = (u32::from(f.priority) << 16) | u32::from(tc::ETH_P_ALL_BE);
    let mut m = MsgBuilder::new(
        rtm::NEWTFILTER,
        flags::ACK | flags::CREATE | flags::EXCL | flags::ECHO,
        &tcmsg(ifindex, f.handle, parent, info),
    );
    m.attr_str(tc::TCA_KIND, "bpf");
    m.begin_nested(tc::TCA_OPTIONS);
    m.attr_u32(tc::TCA_BPF_FD, raw(f.prog) as u32);
    m.attr_str(tc::TCA_BPF_NAME, f.name);
    if f.direct_action {
        m.attr_u32(tc::TCA_BPF_FLAGS, tc::BPF_FLAG_ACT_DIRECT);
    }
    m.end_nested();
    let replies = Netlink::open()?.request("RTM_NEWTFILTER cls_bpf", m)?;
    for (ty, payload) in &replies {
        if *ty == rtm::NEWTFILTER
            && let (Some(h), Some(i)) = (u32_at(payload, 8), u32_at(payload, 16))
        {
            return Ok((h, (i >> 16) as u16));
        }
    }
    if f.handle == 0 || f.priority == 0 {
        return Err(Error::Invalid(format!(
            "RTM_NEWTFILTER on ifindex {ifindex}: the kernel echoed no filter, so the chosen \
             handle/priority are unknown; pass both explicitly"
        )));
    }
    Ok((f.handle, f.priority))
}

/// Deletes the filter (`handle`, `priority`) under `parent` of `ifindex`.
pub fn tc_filter_del(ifindex: u32, parent: u32, handle: u32, priority: u16) -> Result<()> {
    let info = (u32::from(priority) << 16) | u32::from(tc::ETH_P_ALL_BE);
    let mut m = MsgBuilder::new(
        rtm::DELTFILTER,
        flags::ACK,
        &tcmsg(ifindex, handle, parent, info),
    );
    m.attr_str(tc::TCA_KIND, "bpf");
    Netlink::open()?
        .request("RTM_DELTFILTER cls_bpf", m)
        .map(drop)
}

/// How many filters (entries with a non-zero handle) sit under `parent` of `ifindex`.
pub fn tc_filter_count(ifindex: u32, parent: u32) -> Result<usize> {
    let m = MsgBuilder::new(rtm::GETTFILTER, flags::DUMP, &tcmsg(ifindex, 0, parent, 0));
    let replies = Netlink::open()?.request("RTM_GETTFILTER", m)?;
    Ok(replies
        .iter()
        .filter(|(ty, p)| *ty == rtm::NEWTFILTER && u32_at(p, 8).is_some_and(|h| h != 0))
        .count())
}

/// Attributes of `RTM_NEWLINK` used to create devices (`IFLA_*`, `IFLA_INFO_*`,
/// `IFLA_NETKIT_*` of `linux/if_link.h`).
#[allow(missing_docs)]
pub mod link_attr {
    pub const IFNAME: u16 = 3;
    pub const LINKINFO: u16 = 18;
    pub const NET_NS_FD: u16 = 28;
    pub const INFO_KIND: u16 = 1;
    pub const INFO_DATA: u16 = 2;
    pub const NETKIT_PEER_INFO: u16 = 1;
    pub const NETKIT_MODE: u16 = 5;
    /// `NETKIT_L2`: the pair carries Ethernet frames.
    pub const NETKIT_L2: u32 = 0;
    /// `NETKIT_L3` (the kernel's default): the pair carries IP packets, no L2 header.
    pub const NETKIT_L3: u32 = 1;
}

/// The `RTM_NEWLINK` request that creates a netkit pair (built apart for tests).
fn netkit_request(
    primary: &str,
    peer: &str,
    mode: u32,
    peer_netns: Option<BorrowedFd<'_>>,
) -> MsgBuilder {
    use link_attr::*;
    let mut m = MsgBuilder::new(
        rtm::NEWLINK,
        flags::ACK | flags::CREATE | flags::EXCL,
        &ifinfomsg(0),
    );
    m.attr_str(IFNAME, primary);
    m.begin_nested(LINKINFO);
    m.attr_str(INFO_KIND, "netkit");
    m.begin_nested(INFO_DATA);
    m.attr_u32(NETKIT_MODE, mode);
    // The peer: a struct ifinfomsg followed by its own attributes (as veth's peer).
    let mut peer_info = MsgBuilder::new(0, 0, &ifinfomsg(0));
    peer_info.attr_str(IFNAME, peer);
    if let Some(ns) = peer_netns {
        peer_info.attr_i32(NET_NS_FD, raw(ns));
    }
    let peer_bytes = peer_info.finish(0);
    m.attr(NETKIT_PEER_INFO, &peer_bytes[NLMSG_HDRLEN..]);
    m.end_nested();
    m.end_nested();
    m
}

/// Creates a netkit pair (Linux 6.7+, `CONFIG_NETKIT`): device `primary` in the caller's
/// network namespace and `peer` in `peer_netns` (default: the same one), in `mode`
/// (`link_attr::NETKIT_L3` or `NETKIT_L2`). Both start down; programs attach to the
/// primary's ifindex.
pub fn netkit_create(
    primary: &str,
    peer: &str,
    mode: u32,
    peer_netns: Option<BorrowedFd<'_>>,
) -> Result<()> {
    let m = netkit_request(primary, peer, mode, peer_netns);
    Netlink::open()?.request("RTM_NEWLINK netkit", m).map(drop)
}

/// Deletes network device `ifindex` (and the peer of a pair with it).
pub fn link_delete(ifindex: u32) -> Result<()> {
    let m = MsgBuilder::new(rtm::DELLINK, flags::ACK, &ifinfomsg(ifindex));
    Netlink::open()?.request("RTM_DELLINK", m).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_pads_attributes_and_writes_nested_lengths() {
        let mut m = MsgBuilder::new(rtm::SETLINK, flags::ACK, &ifinfomsg(7));
        m.begin_nested(ifla::XDP);
        m.attr_i32(ifla::XDP_FD, -1);
        m.attr_str(99, "ab");
        m.end_nested();
        let b = m.finish(5);
        assert_eq!(b.len(), 16 + 16 + 4 + 8 + 8);
        assert_eq!(u32_at(&b, 0), Some(b.len() as u32));
        assert_eq!(
            u16::from_ne_bytes([b[6], b[7]]),
            flags::ACK | flags::REQUEST
        );
        assert_eq!(u32_at(&b, 8), Some(5));
        assert_eq!(u32_at(&b, 20), Some(7));
        // The nested header covers itself and both children, the last one padded (as libmnl).
        assert_eq!(u16::from_ne_bytes([b[32], b[33]]), 4 + 8 + 8);
        assert_eq!(u16::from_ne_bytes([b[34], b[35]]), ifla::XDP | NLA_F_NESTED);
        let inner: Vec<_> = Attrs::new(&b[36..]).map(|a| a.unwrap()).collect();
        assert_eq!(inner[0], (ifla::XDP_FD, &(-1i32).to_ne_bytes()[..]));
        assert_eq!(inner[1], (99, &b"ab\0"[..]));
    }

    #[test]
    fn netkit_request_nests_the_peer_as_ifinfomsg_plus_attributes() {
        use link_attr::*;
        let b = netkit_request("nk0", "nk1", NETKIT_L3, None).finish(1);
        let top: Vec<_> = Attrs::new(&b[32..]).map(|a| a.unwrap()).collect();
        assert_eq!(top[0], (IFNAME, &b"nk0\0"[..]));
        assert_eq!(top[1].0, LINKINFO);
        let info: Vec<_> = Attrs::new(top[1].1).map(|a| a.unwrap()).collect();
        assert_eq!(info[0], (INFO_KIND, &b"netkit\0"[..]));
        let data: Vec<_> = Attrs::new(info[1].1).map(|a| a.unwrap()).collect();
        assert_eq!(data[0], (NETKIT_MODE, &NETKIT_L3.to_ne_bytes()[..]));
        assert_eq!(data[1].0, NETKIT_PEER_INFO);
        let peer = data[1].1;
        assert_eq!(peer.len(), 16 + 8, "ifinfomsg + IFNAME");
        let peer_attrs: Vec<_> = Attrs::new(&peer[16..]).map(|a| a.unwrap()).collect();
        assert_eq!(peer_attrs, vec![(IFNAME, &b"nk1\0"[..])]);
    }

    #[test]
    fn attrs_reject_length_past_end() {
        let bytes = [20u8, 0, 1, 0, 0, 0, 0, 0];
        let mut it = Attrs::new(&bytes);
        let err = it.next().unwrap().unwrap_err().to_string();
        assert!(err.contains("byte 0") && err.contains("length 20"), "{err}");
        assert!(it.next().is_none());
    }

    #[test]
    fn attrs_reject_truncated_header_and_short_length() {
        assert!(Attrs::new(&[1u8, 2]).next().unwrap().is_err());
        assert!(Attrs::new(&[2u8, 0, 1, 0]).next().unwrap().is_err());
    }

    #[test]
    fn decodes_ack_and_error_with_extack_message() {
        assert_eq!(decode_error(0, &0i32.to_ne_bytes()), Ok(()));
        // error -16 (EBUSY), capped echo of the request header, then NLMSGERR_ATTR_MSG.
        let mut p = (-16i32).to_ne_bytes().to_vec();
        p.extend_from_slice(&[0u8; 16]);
        let text = b"XDP program already attached\0";
        p.extend_from_slice(&((4 + text.len()) as u16).to_ne_bytes());
        p.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
        p.extend_from_slice(text);
        let got = decode_error(flags::CAPPED | flags::ACK_TLVS, &p);
        assert_eq!(
            got,
            Err((Errno::EBUSY, Some("XDP program already attached".into())))
        );
        // Without ACK_TLVS the message is not looked for.
        assert_eq!(decode_error(flags::CAPPED, &p), Err((Errno::EBUSY, None)));
    }

    #[test]
    fn decode_error_survives_garbage() {
        assert!(decode_error(0, &[1, 2]).is_err());
        let mut p = (-1i32).to_ne_bytes().to_vec();
        p.extend_from_slice(&u32::MAX.to_ne_bytes());
        assert_eq!(decode_error(flags::ACK_TLVS, &p), Err((Errno::EPERM, None)));
        assert!(decode_error(flags::ACK_TLVS, &i32::MIN.to_ne_bytes()).is_err());
    }

    #[test]
    fn parses_xdp_state_from_link_attrs() {
        let mut m = MsgBuilder::new(0, 0, &[]);
        m.attr_u32(3, 1500);
        m.begin_nested(ifla::XDP);
        m.attr(ifla::XDP_ATTACHED, &[2]);
        m.attr_u32(ifla::XDP_PROG_ID, 42);
        let b = m.finish(0);
        let st = parse_xdp_state(&b[16..]).unwrap();
        assert_eq!(
            st,
            XdpState {
                attached: 2,
                prog_id: 42
            }
        );
    }

    #[test]
    fn tc_constants_match_the_kernel_encoding() {
        assert_eq!(
            tc::PARENT_INGRESS,
            (tc::H_CLSACT & 0xFFFF_0000) | tc::H_MIN_INGRESS
        );
        assert_eq!(
            tc::PARENT_EGRESS,
            (tc::H_CLSACT & 0xFFFF_0000) | tc::H_MIN_EGRESS
        );
        assert_eq!(tc::ETH_P_ALL_BE.to_ne_bytes(), [0, 3]);
    }
}
