//! The kernel's BTF: vmlinux and module BTF from `/sys/kernel/btf`, mmap'd once per process
//! and shared; external BTF files (BTFHub style) for kernels without it; BTF objects by id.
//!
//! [`vmlinux`] maps `/sys/kernel/btf/vmlinux` on first use (a read-only private mapping of
//! the kernel's own pages where the kernel allows it, else one read into memory) and parses
//! it once; later calls return the same `&'static Btf`. [`module`] does the same per module,
//! split on vmlinux, loaded on first request. [`target`] is what CO-RE relocates against:
//! the external file of [`LoadOptions::kernel_btf`] if set, else vmlinux.
//!
//! ```no_run
//! use oxbpf::btf::Kind;
//! let vmlinux = oxbpf::kernel_btf::vmlinux()?;
//! let task = vmlinux.find_by_name("task_struct", Kind::Struct)?.expect("task_struct");
//! println!("task_struct is {} bytes", vmlinux.resolve_size(task)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use oxbpf_btf::Btf;
use oxbpf_sys::filemap::FileMap;

use crate::LoadOptions;

/// Where the running kernel exposes its BTF.
pub const SYSFS_BTF_DIR: &str = "/sys/kernel/btf";
/// The running kernel's own BTF.
pub const VMLINUX_PATH: &str = "/sys/kernel/btf/vmlinux";

/// Errors getting kernel or external BTF; each names the file or object id.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `/sys/kernel/btf/vmlinux` does not exist.
    #[error(
        "{VMLINUX_PATH} not found: kernel built without CONFIG_DEBUG_INFO_BTF? pass an external BTF file (LoadOptions::kernel_btf)"
    )]
    NoVmlinux,
    /// The kernel has no BTF for this module (not loaded, or built without BTF).
    #[error("{path}: no BTF for module {module:?} (not loaded, or built without BTF)")]
    NoModule {
        /// The module name.
        module: String,
        /// The file that was looked for.
        path: PathBuf,
    },
    /// A module name that cannot be a file under /sys/kernel/btf.
    #[error("{0:?} is not a module name")]
    BadModuleName(String),
    /// Reading or mapping a BTF file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: oxbpf_sys::Error,
    },
    /// A BTF file or object is malformed.
    #[error("{what}: {source}")]
    Parse {
        /// The file or object ("BTF object id 7 (\"nf_tables\")").
        what: String,
        /// What is wrong, where.
        #[source]
        source: oxbpf_btf::Error,
    },
    /// A `bpf()` command on a BTF object failed.
    #[error("BTF object id {id}: {source}")]
    Kernel {
        /// The object's id.
        id: u32,
        /// The failed command.
        #[source]
        source: oxbpf_sys::Error,
    },
}

/// Result alias of this module.
pub type Result<T> = std::result::Result<T, Error>;

static VMLINUX_MAP: OnceLock<FileMap> = OnceLock::new();
static VMLINUX: OnceLock<Btf<'static>> = OnceLock::new();
/// Held while vmlinux is being mapped and parsed, so a second thread waits for that parse
/// instead of doing its own.
static VMLINUX_PARSING: Mutex<()> = Mutex::new(());

/// Parsed BTF kept for the rest of the process (modules, external files), by key.
type Cache = Mutex<HashMap<PathBuf, &'static Btf<'static>>>;
static MODULES: OnceLock<Cache> = OnceLock::new();
static EXTERNAL: OnceLock<Cache> = OnceLock::new();

fn open(path: &Path) -> Result<FileMap> {
    FileMap::open(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}

fn parse_error(path: &Path) -> impl FnOnce(oxbpf_btf::Error) -> Error + '_ {
    move |source| Error::Parse {
        what: path.display().to_string(),
        source,
    }
}

/// The running kernel's BTF (`/sys/kernel/btf/vmlinux`), mapped and parsed once per process.
pub fn vmlinux() -> Result<&'static Btf<'static>> {
    vmlinux_parsed(false)
}

/// [`vmlinux`]; when this call parses it, the offset table is built in the validating
/// walk ([`Btf::parse_with_offsets`]) — for callers that read types by id (CO-RE).
fn vmlinux_parsed(with_offsets: bool) -> Result<&'static Btf<'static>> {
    vmlinux_parsed_with(|bytes| {
        if with_offsets {
            Btf::parse_with_offsets(bytes).map(|b| (b, ()))
        } else {
            Btf::parse(bytes).map(|b| (b, ()))
        }
    })
    .map(|(b, _)| b)
}

/// [`vmlinux`], parsed by `parse` if this call is the first (which then also returns what
/// `parse` found besides the BTF; `None` if another call parsed it).
fn vmlinux_parsed_with<T>(
    parse: impl FnOnce(&'static [u8]) -> oxbpf_btf::Result<(Btf<'static>, T)>,
) -> Result<(&'static Btf<'static>, Option<T>)> {
    if let Some(btf) = VMLINUX.get() {
        return Ok((btf, None));
    }
    // A poisoned lock only means another thread panicked while parsing: parse again.
    let _parsing = VMLINUX_PARSING.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(btf) = VMLINUX.get() {
        return Ok((btf, None));
    }
    let path = Path::new(VMLINUX_PATH);
    let map = match VMLINUX_MAP.get() {
        Some(m) => m,
        None => {
            let m = match FileMap::open(path) {
                Ok(m) => m,
                Err(e) if e.errno() == Some(oxbpf_sys::Errno::ENOENT) => {
                    return Err(Error::NoVmlinux);
                }
                Err(source) => {
                    return Err(Error::Io {
                        path: path.to_owned(),
                        source,
                    });
                }
            };
            // Another thread may have won the race: use whichever mapping was stored.
            let _ = VMLINUX_MAP.set(m);
            VMLINUX_MAP.get().ok_or(Error::NoVmlinux)?
        }
    };
    let (btf, found) = parse(map.as_bytes()).map_err(parse_error(path))?;
    let _ = VMLINUX.set(btf);
    Ok((VMLINUX.get().ok_or(Error::NoVmlinux)?, Some(found)))
}

/// Parses `bytes` (kept for the rest of the process) with `base`, caching it under `key`.
fn cached(
    cache: &'static OnceLock<Cache>,
    key: &Path,
    load: impl FnOnce() -> Result<&'static Btf<'static>>,
) -> Result<&'static Btf<'static>> {
    let cache = cache.get_or_init(Default::default);
    // A poisoned lock only means another thread panicked mid-insert; the map is intact.
    let mut guard = cache.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(btf) = guard.get(key) {
        return Ok(btf);
    }
    let btf = load()?;
    guard.insert(key.to_owned(), btf);
    Ok(btf)
}

/// Keeps `map` for the rest of the process and parses it (split on `base` if given).
fn leak_parsed(
    map: FileMap,
    base: Option<&'static Btf<'static>>,
    path: &Path,
) -> Result<&'static Btf<'static>> {
    // Validate first, so a malformed file is not kept.
    match base {
        Some(b) => Btf::parse_split(map.as_bytes(), b).map(drop),
        None => Btf::parse(map.as_bytes()).map(drop),
    }
    .map_err(parse_error(path))?;
    let map: &'static FileMap = Box::leak(Box::new(map));
    let btf = match base {
        Some(b) => Btf::parse_split(map.as_bytes(), b),
        None => Btf::parse(map.as_bytes()),
    }
    .map_err(parse_error(path))?;
    Ok(Box::leak(Box::new(btf)))
}

/// The BTF of kernel module `name` (`/sys/kernel/btf/<name>`), split on [`vmlinux`]; loaded on
/// first request and cached for the process.
pub fn module(name: &str) -> Result<&'static Btf<'static>> {
    if name.is_empty() || name == "vmlinux" || name.contains('/') || name.starts_with('.') {
        return Err(Error::BadModuleName(name.to_owned()));
    }
    let path = Path::new(SYSFS_BTF_DIR).join(name);
    cached(&MODULES, &path, || {
        let base = vmlinux()?;
        let map = match FileMap::open(&path) {
            Ok(m) => m,
            Err(e) if e.errno() == Some(oxbpf_sys::Errno::ENOENT) => {
                return Err(Error::NoModule {
                    module: name.to_owned(),
                    path: path.clone(),
                });
            }
            Err(source) => {
                return Err(Error::Io {
                    path: path.clone(),
                    source,
                });
            }
        };
        leak_parsed(map, Some(base), &path)
    })
}

/// The names of the modules with BTF (the files of `/sys/kernel/btf` other than vmlinux),
/// sorted; empty if the directory is absent.
pub fn module_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(SYSFS_BTF_DIR)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n != "vmlinux")
        .collect();
    names.sort();
    names
}

/// An external BTF file (BTFHub style), mapped, parsed and cached for the process.
pub fn external(path: impl AsRef<Path>) -> Result<&'static Btf<'static>> {
    external_btf(path.as_ref())
}

fn external_btf(path: &Path) -> Result<&'static Btf<'static>> {
    cached(&EXTERNAL, path, || leak_parsed(open(path)?, None, path))
}

/// The BTF that CO-RE relocates against: the external file of
/// [`LoadOptions::kernel_btf`] if set, else [`vmlinux`] (parsed with its offset table
/// at once if this is its first use: CO-RE reads types by id).
pub fn target(opts: &LoadOptions) -> Result<&'static Btf<'static>> {
    match &opts.kernel_btf {
        Some(path) => external(path),
        None => vmlinux_parsed(true),
    }
}

/// CO-RE target work started ahead of a load on another thread: the target BTF's parse
/// (with its offset table) and the one-pass candidate search for the object's local
/// types ([`oxbpf_reloc::core_relo::CandidateQueries`]), done while the loader's own
/// thread has the kernel create the object's BTF and maps. For vmlinux that is ~1 ms of
/// memory-bound work taken off the load's critical path.
///
/// The work is claimed by whichever thread comes to it first: a new thread may start
/// running only milliseconds after it was spawned (seen on a 2-CPU VM: 1–2 ms, while
/// the loader's thread made the maps), and then the loader's thread does the work itself
/// in [`CorePrep::finish`] rather than wait for it.
#[derive(Debug)]
pub(crate) struct CorePrep {
    shared: Option<std::sync::Arc<Shared>>,
}

/// What the background thread found: the target BTF and its candidates.
type CoreFound = (
    &'static Btf<'static>,
    oxbpf_reloc::core_relo::MainCandidates,
);

/// The work, until a thread takes it.
type Work = Box<dyn FnOnce() -> Option<CoreFound> + Send>;

/// The work and its result, between the loader's thread and the background one.
struct Shared {
    work: Mutex<Option<Work>>,
    /// `Some` once the background thread that took the work is done with it (`Some(None)`
    /// if it failed or panicked).
    done: Mutex<Option<Option<CoreFound>>>,
    ready: std::sync::Condvar,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Shared {
    /// Takes the work if no thread has yet.
    fn claim(&self) -> Option<Work> {
        self.work.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn publish(&self, found: Option<CoreFound>) {
        *self.done.lock().unwrap_or_else(|p| p.into_inner()) = Some(found);
        self.ready.notify_all();
    }
}

/// Publishes `None` if the background thread unwinds before publishing its result, so
/// that [`CorePrep::finish`] never waits for a result that will not come.
struct PublishOnUnwind<'a>(&'a Shared);

impl Drop for PublishOnUnwind<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.publish(None);
        }
    }
}

impl CorePrep {
    /// Starts the work for `spec` if it has CO-RE records and `opts` allows more than one
    /// thread ([`LoadOptions::jobs`] other than 1, and more than one CPU); else does
    /// nothing (relocation then finds the candidates itself).
    pub(crate) fn start(spec: &oxbpf_obj::ObjectSpec, opts: &LoadOptions) -> CorePrep {
        Self::start_inner(spec, opts, true)
    }

    /// [`CorePrep::start`]; without `spawn` no thread is started (the work is left to
    /// `finish`, as when the thread starts late).
    fn start_inner(spec: &oxbpf_obj::ObjectSpec, opts: &LoadOptions, spawn: bool) -> CorePrep {
        let none = CorePrep { shared: None };
        let threads = match opts.jobs {
            0 => crate::load_pool::usable_cpus(),
            n => n,
        };
        if threads < 2 {
            return none;
        }
        let queries = oxbpf_reloc::core_relo::CandidateQueries::of_object(spec);
        if queries.is_empty() {
            return none;
        }
        let external = opts.kernel_btf.clone();
        let work: Work = Box::new(move || {
            let main = match &external {
                Some(path) => external_btf(path).ok()?,
                None => {
                    // First parse: offsets and candidates in the validating walk.
                    let (main, found) = vmlinux_parsed_with(|bytes| {
                        Btf::parse_finding_essential_names(bytes, &queries.as_queries())
                    })
                    .ok()?;
                    if let Some(lists) = found {
                        return Some((main, queries.answered(lists)));
                    }
                    main
                }
            };
            Some((main, queries.run(main)))
        });
        let shared = std::sync::Arc::new(Shared {
            work: Mutex::new(Some(work)),
            done: Mutex::new(None),
            ready: std::sync::Condvar::new(),
        });
        let theirs = shared.clone();
        if !spawn {
            return CorePrep {
                shared: Some(shared),
            };
        }
        // A thread that cannot start leaves the work to `finish`.
        let _ = std::thread::Builder::new()
            .name("oxbpf-core-prep".into())
            .spawn(move || {
                if let Some(work) = theirs.claim() {
                    let _unwind = PublishOnUnwind(&theirs);
                    let found = work();
                    theirs.publish(found);
                }
            });
        CorePrep {
            shared: Some(shared),
        }
    }

    /// The work's result — done here if the background thread has not taken it yet, else
    /// waited for — given to `make()`'s target set (built on the same target BTF); `None`
    /// if nothing was started or it failed (relocation then builds its own target set and
    /// reports any error).
    pub(crate) fn finish(
        self,
        make: impl FnOnce() -> Option<oxbpf_reloc::Targets<'static, 'static>>,
    ) -> Option<oxbpf_reloc::Targets<'static, 'static>> {
        let shared = self.shared?;
        let found = match shared.claim() {
            Some(work) => work(),
            None => {
                let mut done = shared.done.lock().unwrap_or_else(|p| p.into_inner());
                loop {
                    if let Some(found) = done.take() {
                        break found;
                    }
                    done = shared.ready.wait(done).unwrap_or_else(|p| p.into_inner());
                }
            }
        };
        let (main, found) = found?;
        let targets = make()?;
        Some(if std::ptr::eq(targets.main(), main) {
            targets.with_main_candidates(found)
        } else {
            targets
        })
    }
}

/// BTF bytes owned by the caller (a file or a kernel object), validated, handing out
/// [`Btf`] views (split on vmlinux where the bytes are a module's).
#[derive(Debug)]
pub struct OwnedBtf {
    bytes: FileMap,
    base: Option<&'static Btf<'static>>,
    name: String,
    id: Option<u32>,
}

impl OwnedBtf {
    fn new(
        bytes: FileMap,
        base: Option<&'static Btf<'static>>,
        name: String,
        id: Option<u32>,
    ) -> Result<Self> {
        let owned = OwnedBtf {
            bytes,
            base,
            name,
            id,
        };
        owned.btf().map_err(|source| Error::Parse {
            what: owned.describe(),
            source,
        })?;
        Ok(owned)
    }

    fn describe(&self) -> String {
        match self.id {
            Some(id) if self.name.is_empty() => format!("BTF object id {id}"),
            Some(id) => format!("BTF object id {id} ({:?})", self.name),
            None => self.name.clone(),
        }
    }

    /// A parsed view of the bytes (parsing builds the offset table: ~1 ms for vmlinux, so
    /// keep the view rather than calling this per lookup). The bytes were validated when
    /// `self` was made.
    pub fn btf(&self) -> oxbpf_btf::Result<Btf<'_>> {
        match self.base {
            Some(b) => Btf::parse_split(self.bytes.as_bytes(), b),
            None => Btf::parse(self.bytes.as_bytes()),
        }
    }

    /// The raw BTF bytes.
    pub fn bytes(&self) -> &[u8] {
        self.bytes.as_bytes()
    }

    /// The base it is split on (vmlinux for a module's BTF).
    pub fn base(&self) -> Option<&'static Btf<'static>> {
        self.base
    }

    /// The file path, or the kernel object's name ("vmlinux", a module, "" for loaded BTF).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The kernel object id, for BTF read with [`by_id`].
    pub fn id(&self) -> Option<u32> {
        self.id
    }
}

/// An external BTF file (BTFHub style; base BTF), mapped and validated; not cached.
pub fn from_file(path: impl AsRef<Path>) -> Result<OwnedBtf> {
    let path = path.as_ref();
    OwnedBtf::new(open(path)?, None, path.display().to_string(), None)
}

/// The kernel BTF object with id `id` (vmlinux, a module's — split on [`vmlinux`] — or one
/// loaded with a program or map), read with `BPF_BTF_GET_FD_BY_ID` + `BPF_OBJ_GET_INFO_BY_FD`.
pub fn by_id(id: u32) -> Result<OwnedBtf> {
    let kernel = |source| Error::Kernel { id, source };
    let fd = oxbpf_sys::bpf::btf_get_fd_by_id(id).map_err(kernel)?;
    let (info, data, name) = oxbpf_sys::bpf::btf_data(fd.as_fd()).map_err(kernel)?;
    let base = if info.kernel_btf != 0 && name != "vmlinux" {
        Some(vmlinux()?)
    } else {
        None
    };
    OwnedBtf::new(FileMap::from_vec(data), base, name, Some(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relocations of every program of `spec` against `targets`.
    fn relocate_all(
        spec: &oxbpf_obj::ObjectSpec,
        targets: &oxbpf_reloc::Targets<'_, '_>,
    ) -> Vec<oxbpf_reloc::ReloExplanation> {
        (0..spec.programs.len())
            .flat_map(|i| {
                let mut linked = oxbpf_reloc::link_program(spec, i).unwrap();
                oxbpf_reloc::apply_core(spec, &mut linked, targets).unwrap()
            })
            .collect()
    }

    #[test]
    fn background_core_prep_gives_the_same_relocations() {
        if !Path::new(VMLINUX_PATH).exists() {
            eprintln!("skipping: no {VMLINUX_PATH}");
            return;
        }
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/core_task.bpf.o"
        ))
        .unwrap();
        let spec = oxbpf_obj::ObjectSpec::from_bytes(&bytes).unwrap();
        let opts = LoadOptions {
            jobs: 2,
            ..Default::default()
        };
        let make = || Some(oxbpf_reloc::Targets::new("vmlinux", target(&opts).unwrap()));
        let prepped = CorePrep::start(&spec, &opts)
            .finish(make)
            .expect("prep ran");
        let plain = make().unwrap();
        let (a, b) = (relocate_all(&spec, &prepped), relocate_all(&spec, &plain));
        assert!(!a.is_empty());
        assert_eq!(a, b);
        // The thread never came: the loader's thread does the work in `finish`.
        let inline = CorePrep::start_inner(&spec, &opts, false)
            .finish(make)
            .expect("work done in finish");
        assert_eq!(relocate_all(&spec, &inline), b);
        // One thread only, or no CO-RE: nothing is started.
        let one = LoadOptions {
            jobs: 1,
            ..Default::default()
        };
        assert!(CorePrep::start(&spec, &one).finish(make).is_none());
        let plain_bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/counter.bpf.o"
        ))
        .unwrap();
        let no_core = oxbpf_obj::ObjectSpec::from_bytes(&plain_bytes).unwrap();
        assert!(CorePrep::start(&no_core, &opts).finish(make).is_none());
    }

    #[test]
    fn missing_vmlinux_error_says_what_to_do() {
        let msg = Error::NoVmlinux.to_string();
        assert!(msg.contains("/sys/kernel/btf/vmlinux"), "{msg}");
        assert!(msg.contains("CONFIG_DEBUG_INFO_BTF"), "{msg}");
        assert!(msg.contains("LoadOptions::kernel_btf"), "{msg}");
    }

    #[test]
    fn rejects_module_names_that_are_not_files_of_the_btf_dir() {
        for bad in ["", "vmlinux", "../etc/passwd", "a/b", ".hidden"] {
            assert!(
                matches!(module(bad), Err(Error::BadModuleName(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn missing_external_file_error_names_the_path() {
        let e = from_file("/nonexistent/btf-file").unwrap_err();
        assert!(e.to_string().starts_with("/nonexistent/btf-file: "), "{e}");
        let opts = LoadOptions {
            kernel_btf: Some("/nonexistent/btf-file".into()),
            ..Default::default()
        };
        let e = target(&opts).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/btf-file"), "{e}");
    }

    #[test]
    fn malformed_external_file_is_a_parse_error_naming_it() {
        let p = std::env::temp_dir().join(format!("oxbpf-bad-btf-{}", std::process::id()));
        std::fs::write(&p, b"not btf at all, long enough for a header").unwrap();
        let e = from_file(&p).unwrap_err();
        assert!(matches!(e, Error::Parse { .. }), "{e}");
        assert!(e.to_string().contains(&p.display().to_string()), "{e}");
        assert!(external(&p).is_err());
        std::fs::remove_file(p).unwrap();
    }
}
