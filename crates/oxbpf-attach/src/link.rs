//! `Link`: one attachment, detached on drop.

use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicBool, Ordering};

use oxbpf_sys::{LinkFd, PerfEventFd};

/// How an attachment is held in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkMechanism {
    /// A `bpf_link` (BPF_LINK_CREATE); closing the link fd detaches.
    BpfLink,
    /// A perf event with the program set by `PERF_EVENT_IOC_SET_BPF` (kernels before 5.15).
    PerfEventIoctl,
    /// rtnetlink: XDP through `IFLA_XDP`, or a clsact `cls_bpf` filter.
    Netlink,
    /// `BPF_PROG_ATTACH` (cgroups before 5.7); `BPF_PROG_DETACH` on drop.
    ProgAttach,
    /// `setsockopt(SO_ATTACH_BPF)` on a socket; `SO_DETACH_BPF` on drop.
    SocketOption,
    /// The value of a struct_ops map written with `BPF_MAP_UPDATE_ELEM` (a `.struct_ops`
    /// map without `BPF_F_LINK`); the element is deleted on drop.
    StructOpsMap,
}

#[derive(Debug)]
enum Inner {
    /// A bpf_link on a perf event: the link must be dropped before the event.
    PerfLink { link: LinkFd, _event: PerfEventFd },
    /// The legacy perf-event attachment.
    PerfIoctl { event: PerfEventFd },
    /// A networking attachment (XDP, TC, cgroup, socket, netns, netfilter).
    Net(crate::net::NetHold),
    /// A plain `bpf_link` (raw_tp, BTF-attached tracing, kprobe.multi, uprobe.multi, iter).
    Fd { link: LinkFd },
    /// An attachment on a probe event made in tracefs (legacy kprobe/uprobe): the event is
    /// closed first, then `remove` is written to `events_file` to delete the probe.
    Tracefs {
        inner: Box<Inner>,
        events_file: std::path::PathBuf,
        remove: String,
    },
    /// Several attachments undone together (a perf_event program on every CPU).
    Many(Vec<Inner>),
    /// A struct_ops table registered by its map value; unregistered on release.
    StructOps(crate::struct_ops::StructOps),
}

/// One attachment of a program to a hook. Dropping it detaches.
///
/// A `bpf_link` is detached with `BPF_LINK_DETACH` before its fd is closed, so the
/// program comes off the hook even while another process still holds the fd (a child
/// between `fork` and `exec` has a copy of every fd, close-on-exec or not; a forked
/// child that never execs keeps it for good). Link types the kernel cannot detach that
/// way (perf_event, raw_tp, tracing, kprobe.multi, uprobe.multi, iter) detach when the
/// last fd closes. A link pinned with [`Link::pin`], opened with [`Link::from_pin`] or
/// [`Link::disconnect`]ed is only closed: the attachment stays while the pin exists.
#[derive(Debug)]
pub struct Link {
    inner: Option<Inner>,
    description: String,
    /// Close without `BPF_LINK_DETACH` (pinned, or disconnected by the caller).
    keep: AtomicBool,
}

impl Link {
    fn new(inner: Option<Inner>, description: String) -> Self {
        Link {
            inner,
            description,
            keep: AtomicBool::new(false),
        }
    }

    pub(crate) fn perf_link(link: LinkFd, event: PerfEventFd, description: String) -> Self {
        Link::new(
            Some(Inner::PerfLink {
                link,
                _event: event,
            }),
            description,
        )
    }

    pub(crate) fn perf_ioctl(event: PerfEventFd, description: String) -> Self {
        Link::new(Some(Inner::PerfIoctl { event }), description)
    }

    pub(crate) fn fd(link: LinkFd, description: String) -> Self {
        Link::new(Some(Inner::Fd { link }), description)
    }

    /// Wraps `link` (made on a probe event this crate created in tracefs) so that dropping
    /// it also writes `remove` to `events_file`.
    pub(crate) fn with_tracefs_cleanup(
        mut link: Link,
        events_file: std::path::PathBuf,
        remove: String,
    ) -> Self {
        let description = std::mem::take(&mut link.description);
        let inner = link.inner.take().map(|inner| Inner::Tracefs {
            inner: Box::new(inner),
            events_file,
            remove,
        });
        Link::new(inner, description)
    }

    /// One link holding `links` (detached together, in order).
    pub(crate) fn many(links: Vec<Link>, description: String) -> Self {
        let inner = links
            .into_iter()
            .filter_map(|mut l| l.inner.take())
            .collect();
        Link::new(Some(Inner::Many(inner)), description)
    }

    pub(crate) fn struct_ops(ops: crate::struct_ops::StructOps, description: String) -> Self {
        Link::new(Some(Inner::StructOps(ops)), description)
    }

    pub(crate) fn net(hold: crate::net::NetHold, description: String) -> Self {
        Link::new(Some(Inner::Net(hold)), description)
    }

    pub(crate) fn net_hold(&self) -> Option<&crate::net::NetHold> {
        match &self.inner {
            Some(Inner::Net(h)) => Some(h),
            _ => None,
        }
    }

    pub(crate) fn net_hold_mut(&mut self) -> Option<&mut crate::net::NetHold> {
        match &mut self.inner {
            Some(Inner::Net(h)) => Some(h),
            _ => None,
        }
    }

    /// What is attached where (`tracepoint sched/sched_process_exec`).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The mechanism in use.
    pub fn mechanism(&self) -> LinkMechanism {
        fn of(i: &Inner) -> LinkMechanism {
            match i {
                Inner::PerfIoctl { .. } => LinkMechanism::PerfEventIoctl,
                Inner::StructOps(_) => LinkMechanism::StructOpsMap,
                Inner::Net(h) => h.mechanism(),
                Inner::Tracefs { inner, .. } => of(inner),
                Inner::Many(v) => v.first().map_or(LinkMechanism::BpfLink, of),
                _ => LinkMechanism::BpfLink,
            }
        }
        self.inner.as_ref().map_or(LinkMechanism::BpfLink, of)
    }

    /// True if the attachment is on a probe event this link created in tracefs (the legacy
    /// `kprobe_events`/`uprobe_events` path), removed again on detach.
    pub fn uses_tracefs_event(&self) -> bool {
        matches!(self.inner, Some(Inner::Tracefs { .. }))
    }

    /// The `bpf_link` fd, if this attachment has one (for pinning and link info).
    pub fn link_fd(&self) -> Option<BorrowedFd<'_>> {
        fn of(i: &Inner) -> Option<BorrowedFd<'_>> {
            match i {
                Inner::PerfLink { link, .. } | Inner::Fd { link } => Some(link.as_fd()),
                Inner::Tracefs { inner, .. } => of(inner),
                Inner::Net(h) => h.link_fd(),
                _ => None,
            }
        }
        self.inner.as_ref().and_then(of)
    }

    /// Pins the `bpf_link` at `path` on a bpffs: the attachment then outlives this process
    /// (until the pin is removed and every fd is closed). Attachments without a `bpf_link`
    /// (legacy perf ioctl, netlink, `BPF_PROG_ATTACH`, socket options) cannot be pinned.
    pub fn pin(&self, path: impl AsRef<std::path::Path>) -> crate::Result<()> {
        let path = path.as_ref();
        let fd = self.link_fd().ok_or_else(|| crate::Error::Unsupported {
            what: format!("pinning {}", self.description),
            reason: format!(
                "the attachment is held by {:?}, not a bpf_link; only bpf_links can be pinned",
                self.mechanism()
            ),
        })?;
        oxbpf_sys::bpf::obj_pin(fd, path).map_err(|source| crate::Error::Kernel {
            what: format!("pinning {} at {}", self.description, path.display()),
            source,
        })?;
        self.disconnect();
        Ok(())
    }

    /// Makes dropping this link (alone or in [`Links`]) only close its fd, without
    /// `BPF_LINK_DETACH`: for a link pinned or handed to another process by other means,
    /// whose attachment must outlive this handle.
    pub fn disconnect(&self) {
        self.keep.store(true, Ordering::Relaxed);
    }

    /// Opens the link pinned at `path`. Dropping the returned `Link` closes this fd only:
    /// the attachment stays while the pin exists (remove the file to detach).
    pub fn from_pin(path: impl AsRef<std::path::Path>) -> crate::Result<Self> {
        let path = path.as_ref();
        let fd = oxbpf_sys::bpf::obj_get(path).map_err(|source| crate::Error::Kernel {
            what: format!("opening the link pinned at {}", path.display()),
            source,
        })?;
        let link = LinkFd::from_owned(fd);
        let description = match crate::link_info::info_by_fd(link.as_fd()) {
            Ok(i) => format!("{} link {} ({})", i.link_type.name(), i.id, i.target()),
            Err(e) => {
                return Err(crate::Error::Binary {
                    path: path.display().to_string(),
                    reason: format!("not a bpf_link pin: {e}"),
                });
            }
        };
        let link = Link::fd(link, description);
        link.disconnect();
        Ok(link)
    }

    /// Replaces the attached program with `prog` atomically (`BPF_LINK_UPDATE`): no event
    /// runs neither program. The new program must have the same type and attach type.
    pub fn update(&self, prog: BorrowedFd<'_>) -> crate::Result<()> {
        let fd = self.link_fd().ok_or_else(|| crate::Error::Unsupported {
            what: format!("updating {}", self.description),
            reason: format!(
                "the attachment is held by {:?}, not a bpf_link; detach and attach again",
                self.mechanism()
            ),
        })?;
        oxbpf_sys::bpf::link_update(fd, prog, None).map_err(|source| {
            let hint = match source.errno() {
                Some(oxbpf_sys::Errno::EINVAL) => {
                    "the new program must have the same program type and attach type"
                }
                Some(oxbpf_sys::Errno::ENOTSUP) => {
                    "this link type cannot change its program (raw_tp, tracing, perf_event, \
                     kprobe.multi and uprobe.multi links)"
                }
                _ => "check the program fd",
            };
            crate::Error::Rejected {
                what: format!("the new program on {}", self.description),
                source,
                hint: hint.into(),
            }
        })
    }

    /// The kernel's info about the `bpf_link` (`BPF_OBJ_GET_INFO_BY_FD`).
    pub fn info(&self) -> crate::Result<crate::link_info::LinkInfo> {
        let fd = self.link_fd().ok_or_else(|| crate::Error::Unsupported {
            what: format!("link info of {}", self.description),
            reason: format!(
                "the attachment is held by {:?}, not a bpf_link",
                self.mechanism()
            ),
        })?;
        crate::link_info::info_by_fd(fd)
    }

    /// Detaches now, pinned or not (`BPF_LINK_DETACH`: a pin left behind holds a defunct
    /// link), reporting a failure to detach the `bpf_link` or disable a legacy perf event
    /// (the fd is closed either way). Dropping a pinned link only closes it.
    pub fn detach(mut self) -> crate::Result<()> {
        self.release(true)
    }

    fn release(&mut self, force: bool) -> crate::Result<()> {
        match self.inner.take() {
            Some(inner) => release(inner, &self.description, force),
            None => Ok(()),
        }
    }
}

/// `BPF_LINK_DETACH` on `link` before it is closed; link types without a detach operation
/// (`EOPNOTSUPP`) and kernels before 5.9 (`EINVAL`) detach at close instead.
pub(crate) fn force_detach(link: BorrowedFd<'_>, description: &str) -> crate::Result<()> {
    match oxbpf_sys::bpf::link_detach(link) {
        Err(e)
            if matches!(
                e.errno(),
                Some(oxbpf_sys::Errno::ENOTSUP | oxbpf_sys::Errno::EINVAL)
            ) =>
        {
            Ok(())
        }
        r => r.map_err(|source| crate::Error::Kernel {
            what: format!("detaching {description}"),
            source,
        }),
    }
}

/// Releases one attachment; `force`: detach `bpf_link`s with `BPF_LINK_DETACH` first.
fn release(inner: Inner, description: &str, force: bool) -> crate::Result<()> {
    match inner {
        // Dropping the link fd first detaches the program, then the event closes. Perf
        // links have no detach operation: closing the last fd is the only way.
        Inner::PerfLink { link, _event } => {
            drop(link);
            drop(_event);
            Ok(())
        }
        Inner::PerfIoctl { event } => {
            let r = oxbpf_sys::perf::disable(event.as_fd());
            drop(event);
            r.map_err(|source| crate::Error::Kernel {
                what: format!("detaching {description}"),
                source,
            })
        }
        Inner::Fd { link } => {
            let r = if force {
                force_detach(link.as_fd(), description)
            } else {
                Ok(())
            };
            drop(link);
            r
        }
        Inner::Net(h) => h.release(description, force),
        Inner::StructOps(ops) => ops.unregister(),
        Inner::Tracefs {
            inner,
            events_file,
            remove,
        } => {
            // The probe can only be deleted once no perf event uses it.
            let first = release(*inner, description, force);
            let removed = crate::probe_events::remove(&events_file, &remove);
            first.and(removed)
        }
        Inner::Many(v) => {
            let mut result = Ok(());
            for i in v {
                let r = release(i, description, force);
                if result.is_ok() {
                    result = r;
                }
            }
            result
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // Closing the event detaches even if disabling failed; nothing more to do.
        let force = !self.keep.load(Ordering::Relaxed);
        let _ = self.release(force);
    }
}

/// Most threads [`Links`] uses to detach at once.
const MAX_DETACH_THREADS: usize = 128;

/// Many attachments detached together, without making the caller wait one RCU grace
/// period per link.
///
/// Detaching a perf-event attachment (tracepoint, kprobe, uprobe) waits for RCU grace
/// periods in the kernel, in the `close()` of the thread that drops it, each under a
/// global mutex: closing the link runs `perf_event_detach_bpf_prog`
/// (`synchronize_rcu_tasks_trace` under `bpf_event_mutex`), and closing the last perf
/// event of a tracepoint runs `perf_trace_destroy` (`tracepoint_synchronize_unregister`
/// under `event_mutex`). Dropping 100 tracepoint links one after another takes ~7 s on
/// a 6.18 host. Because the two waits hold different mutexes, closing from many threads
/// at once overlaps one link's second wait with the next link's first: half the time.
///
/// [`Links::detach`] hands every attachment to a background thread that releases them
/// from many threads at once and returns at once with a [`Teardown`] to wait on;
/// [`Links::detach_and_wait`] waits. Dropping a `Links` is `detach` without waiting.
/// Attachments still held when the process exits are closed by the kernel at exit.
#[derive(Debug, Default)]
pub struct Links {
    links: Vec<Link>,
}

/// The background detaching that [`Links::detach`] started.
#[derive(Debug)]
pub struct Teardown {
    handle: Option<std::thread::JoinHandle<crate::Result<()>>>,
}

impl Teardown {
    /// Waits until every link is detached (tracefs probe events removed too); the first
    /// failure.
    pub fn wait(mut self) -> crate::Result<()> {
        match self.handle.take() {
            Some(h) => h.join().unwrap_or(Ok(())),
            None => Ok(()),
        }
    }

    /// True if every link is detached.
    pub fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(|h| h.is_finished())
    }
}

impl Links {
    /// An empty collection.
    pub fn new() -> Self {
        Links::default()
    }

    /// Adds a link.
    pub fn push(&mut self, link: Link) {
        self.links.push(link);
    }

    /// Number of links held.
    pub fn len(&self) -> usize {
        self.links.len()
    }

    /// True if no link is held.
    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    /// The links held.
    pub fn iter(&self) -> impl Iterator<Item = &Link> {
        self.links.iter()
    }

    /// Starts detaching every link on a background thread (closing from many threads at
    /// once) and returns at once; [`Teardown::wait`] returns when all are detached. Links
    /// pinned or disconnected are only closed, as when each is dropped.
    pub fn detach(mut self) -> Teardown {
        detach_split(std::mem::take(&mut self.links))
    }

    /// Detaches every link, closing from many threads at once, and waits for them all;
    /// the first failure (every link is still released).
    pub fn detach_and_wait(mut self) -> crate::Result<()> {
        detach_split(std::mem::take(&mut self.links)).wait()
    }
}

impl From<Vec<Link>> for Links {
    fn from(links: Vec<Link>) -> Self {
        Links { links }
    }
}

impl Extend<Link> for Links {
    fn extend<T: IntoIterator<Item = Link>>(&mut self, iter: T) {
        self.links.extend(iter);
    }
}

impl FromIterator<Link> for Links {
    fn from_iter<T: IntoIterator<Item = Link>>(iter: T) -> Self {
        Links {
            links: iter.into_iter().collect(),
        }
    }
}

impl Drop for Links {
    fn drop(&mut self) {
        drop(detach_split(std::mem::take(&mut self.links)));
    }
}

/// One attachment handed to the teardown threads: what, its description, `force`.
type Item = (Inner, String, bool);

fn detach_split(links: Vec<Link>) -> Teardown {
    let items: Vec<Item> = links
        .into_iter()
        .filter_map(|mut l| {
            let description = std::mem::take(&mut l.description);
            let force = !l.keep.load(Ordering::Relaxed);
            l.inner.take().map(|i| (i, description, force))
        })
        .collect();
    if items.is_empty() {
        return Teardown { handle: None };
    }
    // A thread that cannot start drops its closure, and with it every attachment: they
    // are then released here, by their `Drop`.
    let handle = std::thread::Builder::new()
        .name("oxbpf-teardown".into())
        .spawn(move || release_parallel(items))
        .ok();
    Teardown { handle }
}

/// Releases `items` from up to 128 scoped threads (round-robin) and waits for them all.
fn release_parallel(items: Vec<Item>) -> crate::Result<()> {
    let threads = items.len().clamp(1, MAX_DETACH_THREADS);
    let mut chunks: Vec<Vec<Item>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, item) in items.into_iter().enumerate() {
        chunks[i % threads].push(item);
    }
    let release_chunk = |chunk: Vec<Item>| -> crate::Result<()> {
        let mut result = Ok(());
        for (inner, description, force) in chunk {
            let r = release(inner, &description, force);
            if result.is_ok() {
                result = r;
            }
        }
        result
    };
    std::thread::scope(|s| {
        let mut handles = Vec::with_capacity(threads);
        for chunk in chunks {
            // A thread that cannot start drops its closure, and with it the chunk: those
            // objects are then closed here, by their `Drop`.
            if let Ok(h) = std::thread::Builder::new()
                .name("oxbpf-detach".into())
                .spawn_scoped(s, move || release_chunk(chunk))
            {
                handles.push(h);
            }
        }
        let mut result = Ok(());
        for h in handles {
            let r = h.join().unwrap_or(Ok(()));
            if result.is_ok() {
                result = r;
            }
        }
        result
    })
}
