//! Owned descriptors, one newtype per kernel object kind. Drop closes.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

macro_rules! fd_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug)]
        pub struct $name(OwnedFd);

        impl $name {
            /// Wraps an owned descriptor of this kind.
            pub fn from_owned(fd: OwnedFd) -> Self {
                $name(fd)
            }

            /// Borrows the descriptor.
            pub fn as_fd(&self) -> BorrowedFd<'_> {
                self.0.as_fd()
            }

            /// The raw number, for attr fields and fd arrays (stays owned by `self`).
            pub fn raw(&self) -> RawFd {
                self.0.as_raw_fd()
            }

            /// Duplicates the descriptor (`F_DUPFD_CLOEXEC`).
            pub fn try_clone(&self) -> crate::Result<Self> {
                self.0
                    .try_clone()
                    .map($name)
                    .map_err(|e| crate::Error::io("dup", e))
            }

            /// Unwraps into the inner `OwnedFd`.
            pub fn into_owned(self) -> OwnedFd {
                self.0
            }

            /// Takes ownership of a descriptor the kernel just returned.
            pub(crate) fn from_raw_checked(call: &'static str, ret: i64) -> crate::Result<Self> {
                if ret < 0 {
                    return Err(crate::Error::last(call));
                }
                // SAFETY: the kernel returned a new descriptor that nothing else owns.
                Ok($name(unsafe { OwnedFd::from_raw_fd(ret as RawFd) }))
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.0.as_fd()
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.0.as_raw_fd()
            }
        }

        impl IntoRawFd for $name {
            fn into_raw_fd(self) -> RawFd {
                self.0.into_raw_fd()
            }
        }

        impl From<$name> for OwnedFd {
            fn from(v: $name) -> OwnedFd {
                v.0
            }
        }
    };
}

fd_type!(
    /// A BPF map.
    MapFd
);
fd_type!(
    /// A loaded BPF program.
    ProgFd
);
fd_type!(
    /// A BPF link.
    LinkFd
);
fd_type!(
    /// A BTF object loaded into the kernel.
    BtfFd
);
fd_type!(
    /// A perf event.
    PerfEventFd
);
fd_type!(
    /// An epoll instance.
    EpollFd
);
