//! `Errno`: a small copyable error number with the kernel's names.

use std::fmt;

/// A kernel error number.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

macro_rules! errnos {
    ($($name:ident = $val:expr),* $(,)?) => {
        impl Errno {
            $(
                #[doc = concat!("`", stringify!($name), "`")]
                pub const $name: Errno = Errno($val);
            )*

            /// The symbolic name (`EPERM`), if known.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $(v if v == $val => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

errnos! {
    EPERM = libc::EPERM, ENOENT = libc::ENOENT, ESRCH = libc::ESRCH, EINTR = libc::EINTR,
    EIO = libc::EIO, ENXIO = libc::ENXIO, E2BIG = libc::E2BIG, EBADF = libc::EBADF,
    EAGAIN = libc::EAGAIN, ENOMEM = libc::ENOMEM, EACCES = libc::EACCES, EFAULT = libc::EFAULT,
    EBUSY = libc::EBUSY, EEXIST = libc::EEXIST, ENODEV = libc::ENODEV, ENOTDIR = libc::ENOTDIR,
    EINVAL = libc::EINVAL, EMFILE = libc::EMFILE, ENOSPC = libc::ENOSPC, ERANGE = libc::ERANGE,
    ENOSYS = libc::ENOSYS, ELOOP = libc::ELOOP, ENOTSUP = libc::EOPNOTSUPP, EPROTO = libc::EPROTO,
    EOVERFLOW = libc::EOVERFLOW, ENOTSUPP = 524, EBADMSG = libc::EBADMSG,
}

impl Errno {
    /// The calling thread's current errno.
    pub fn last() -> Errno {
        Errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }

    /// The C library's description ("Operation not permitted").
    pub fn description(self) -> String {
        if self.0 == 524 {
            return "Operation not supported by the kernel".to_owned();
        }
        let s = std::io::Error::from_raw_os_error(self.0).to_string();
        match s.rfind(" (os error") {
            Some(i) => s[..i].to_owned(),
            None => s,
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{} ({n})", self.description()),
            None => write!(f, "{} (errno {})", self.description(), self.0),
        }
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "Errno({})", self.0),
        }
    }
}
