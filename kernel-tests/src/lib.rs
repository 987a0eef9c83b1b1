//! The kernel matrix: boots pinned Debian cloud kernels under qemu (TCG, qboot) and runs
//! oxbpf's `kernel_*` integration tests inside each, then prints a test × kernel table.
//!
//! It owns `kernels.lock` (pins + resolver), kernel preparation (the `.deb` → ELF
//! vmlinux, BTF, modules), the initramfs (a newc cpio written here), the qemu launcher
//! and the report. It does not own the tests (they live in their crates) nor the guest's
//! `/init` (crate `oxbpf-vminit`, which also defines the serial protocol).
//!
//! ```
//! use kernel_tests::lock;
//! let pins = lock::parse(
//!     "6.1 bookworm linux-image-6.1.0-57-cloud-amd64-unsigned 6.1.192-3 \
//!      e31a28be852fe1faec3cdbb0d19a25818f3b951d15dc13e331aeca4f991c52fe\n",
//! )
//! .unwrap();
//! assert_eq!(pins[0].series, "6.1");
//! ```

#![forbid(unsafe_code)]

pub mod apt;
pub mod bzimage;
pub mod cpio;
pub mod guest;
pub mod kernel;
pub mod lock;
pub mod qemu;
pub mod report;
pub mod vmload;
