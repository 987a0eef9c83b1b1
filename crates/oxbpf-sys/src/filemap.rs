//! Read-only views of whole files: mmap'd where the file allows it, read into memory
//! where it does not.
//!
//! `/sys/kernel/btf/vmlinux` is a sysfs binary attribute; kernels since 6.16 let it be
//! mmap'd (read-only, `MAP_PRIVATE`, the kernel's own pages, so it costs no RSS), older
//! kernels and module BTF files (`/sys/kernel/btf/<module>`) refuse with `ENODEV`/`EINVAL`
//! (or `EACCES` for a shared mapping). [`FileMap`] hides the difference: the same API over a
//! mapping or a `Vec<u8>`.

use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::ptr::NonNull;

use crate::{Errno, Error, Result};

/// The bytes of a whole file, mmap'd read-only (`MAP_PRIVATE`) or read into memory when
/// the file cannot be mapped. Unmapped on drop.
pub struct FileMap {
    inner: Inner,
}

enum Inner {
    /// A zero-length file: nothing mapped, nothing allocated.
    Empty,
    /// A live mapping of `len` (> 0) bytes at `ptr`.
    Mapped { ptr: NonNull<u8>, len: usize },
    /// The file's bytes, read because mmap was refused.
    Read(Vec<u8>),
}

// SAFETY: the mapping is read-only (PROT_READ, MAP_PRIVATE) and never written through;
// sharing `&[u8]` views of it across threads is as safe as sharing a `&[u8]`, and munmap
// may run on any thread.
unsafe impl Send for FileMap {}
// SAFETY: as above; `&FileMap` only hands out shared immutable byte views.
unsafe impl Sync for FileMap {}

impl std::fmt::Debug for FileMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileMap")
            .field("len", &self.len())
            .field("mapped", &self.is_mapped())
            .finish()
    }
}

/// Errors of mmap that mean "this file does not support mapping", not "something is wrong".
fn mmap_unsupported(e: Errno) -> bool {
    e == Errno::ENODEV || e == Errno::EINVAL || e == Errno::EACCES || e == Errno::ENOTSUP
}

impl FileMap {
    /// Maps the whole file at `path` read-only; falls back to reading it when the file
    /// refuses mmap (`ENODEV`, `EINVAL`, `EACCES`, `EOPNOTSUPP`) or reports size 0 (pseudo
    /// files whose size is unknown are read to their end).
    pub fn open(path: impl AsRef<Path>) -> Result<FileMap> {
        let path = path.as_ref();
        let file =
            File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        let meta = file
            .metadata()
            .map_err(|e| Error::io(format!("stat of {}", path.display()), e))?;
        let len = usize::try_from(meta.len()).map_err(|_| {
            Error::Invalid(format!(
                "{}: size {} does not fit in memory",
                path.display(),
                meta.len()
            ))
        })?;
        if len == 0 {
            return Self::read_all(file, path, 0);
        }
        // SAFETY: addr NULL lets the kernel choose a fresh range that aliases no Rust
        // object; `file` is open for the duration of the call; PROT_READ + MAP_PRIVATE
        // means no one can write through this mapping; the result is checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            let errno = Errno::last();
            if mmap_unsupported(errno) {
                return Self::read_all(file, path, len);
            }
            return Err(Error::io(
                format!("mmap of {}", path.display()),
                std::io::Error::from_raw_os_error(errno.0),
            ));
        }
        let ptr = NonNull::new(ptr.cast::<u8>())
            .ok_or_else(|| Error::Invalid(format!("mmap of {} returned NULL", path.display())))?;
        Ok(FileMap {
            inner: Inner::Mapped { ptr, len },
        })
    }

    /// Reads `file` to its end (`hint` is the expected size).
    fn read_all(mut file: File, path: &Path, hint: usize) -> Result<FileMap> {
        let mut buf = Vec::with_capacity(hint);
        file.read_to_end(&mut buf)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        Ok(FileMap {
            inner: if buf.is_empty() {
                Inner::Empty
            } else {
                Inner::Read(buf)
            },
        })
    }

    /// Wraps bytes already in memory (for callers that got them some other way).
    pub fn from_vec(bytes: Vec<u8>) -> FileMap {
        FileMap {
            inner: if bytes.is_empty() {
                Inner::Empty
            } else {
                Inner::Read(bytes)
            },
        }
    }

    /// The file's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.inner {
            Inner::Empty => &[],
            // SAFETY: `ptr` is a live PROT_READ mapping of exactly `len` bytes that stays
            // mapped until `self` drops; the returned slice borrows `self`. MAP_PRIVATE of a
            // file we never write keeps the bytes stable for this process (a concurrent
            // writer to a regular file could change them, like any shared file; sysfs BTF
            // is immutable).
            Inner::Mapped { ptr, len } => unsafe { std::slice::from_raw_parts(ptr.as_ptr(), *len) },
            Inner::Read(v) => v,
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        match &self.inner {
            Inner::Empty => 0,
            Inner::Mapped { len, .. } => *len,
            Inner::Read(v) => v.len(),
        }
    }

    /// True for a zero-length file.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True if the bytes are a live mapping (false when they were read into memory).
    pub fn is_mapped(&self) -> bool {
        matches!(self.inner, Inner::Mapped { .. })
    }
}

impl AsRef<[u8]> for FileMap {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Drop for FileMap {
    fn drop(&mut self) {
        if let Inner::Mapped { ptr, len } = self.inner {
            // SAFETY: `ptr`/`len` are exactly the mapping created in `open`, unmapped only
            // here; no view outlives `self` (they borrow it).
            unsafe {
                libc::munmap(ptr.as_ptr().cast(), len);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str, data: &[u8]) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("oxbpf-filemap-{}-{name}", std::process::id()));
        std::fs::write(&p, data).unwrap();
        p
    }

    #[test]
    fn maps_a_regular_file_and_returns_its_bytes() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        let p = temp_file("regular", &data);
        let m = FileMap::open(&p).unwrap();
        assert!(m.is_mapped());
        assert_eq!(m.as_bytes(), &data[..]);
        assert_eq!(m.len(), data.len());
        drop(m);
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn zero_length_file_is_empty_without_mapping() {
        let p = temp_file("empty", b"");
        let m = FileMap::open(&p).unwrap();
        assert!(!m.is_mapped());
        assert!(m.is_empty());
        assert_eq!(m.as_bytes(), b"");
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn pseudo_file_of_unknown_size_is_read() {
        // procfs reports size 0 and cannot be mmap'd: the bytes still come back.
        let m = FileMap::open("/proc/self/stat").unwrap();
        assert!(!m.is_mapped());
        assert!(
            m.as_bytes()
                .starts_with(std::process::id().to_string().as_bytes())
        );
    }

    #[test]
    fn missing_file_error_names_the_path() {
        let e = FileMap::open("/nonexistent/oxbpf-filemap").unwrap_err();
        assert!(e.to_string().contains("/nonexistent/oxbpf-filemap"), "{e}");
        assert_eq!(e.errno(), Some(Errno::ENOENT));
    }

    #[test]
    fn sysfs_vmlinux_btf_opens_with_btf_magic() {
        let path = "/sys/kernel/btf/vmlinux";
        if !Path::new(path).exists() {
            eprintln!("skipping: {path} absent (kernel without CONFIG_DEBUG_INFO_BTF)");
            return;
        }
        let m = FileMap::open(path).unwrap();
        assert_eq!(m.len() as u64, std::fs::metadata(path).unwrap().len());
        assert_eq!(&m.as_bytes()[..2], &0xeb9fu16.to_ne_bytes());
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<FileMap>();
    }
}
