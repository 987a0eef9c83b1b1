//! Kernel tests of the raw commands. They need root (CAP_BPF); without it they print why
//! and return.

use oxbpf_sys::bpf::{self, MapCreate, ProgLoad};
use oxbpf_sys::ringbuf::{Next, RingBufMemory};
use oxbpf_sys::{Errno, Error};

fn have_bpf() -> bool {
    // Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK (64 KiB by default, and
    // freed objects stay charged for a while): the facade raises it, these lower-layer
    // tests do it themselves as a user of this crate must (refused on newer hosts: fine).
    let _ = oxbpf_sys::raise_memlock_rlimit();
    match bpf::map_create(&MapCreate::new(2, 4, 4, 1)) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("skipping: bpf() unavailable here: {e}");
            false
        }
    }
}

#[test]
fn hash_map_elements_round_trip() {
    if !have_bpf() {
        return;
    }
    let m = bpf::map_create(&MapCreate {
        map_name: bpf::object_name("t_hash"),
        ..MapCreate::new(1, 4, 8, 8)
    })
    .unwrap();
    for k in 0u32..3 {
        bpf::map_update_elem(
            m.as_fd(),
            &k.to_ne_bytes(),
            &(u64::from(k) * 10).to_ne_bytes(),
            0,
        )
        .unwrap();
    }
    let mut v = [0u8; 8];
    assert!(bpf::map_lookup_elem(m.as_fd(), &2u32.to_ne_bytes(), &mut v, 0).unwrap());
    assert_eq!(u64::from_ne_bytes(v), 20);
    assert!(!bpf::map_lookup_elem(m.as_fd(), &9u32.to_ne_bytes(), &mut v, 0).unwrap());
    let err = bpf::map_update_elem(m.as_fd(), &1u32.to_ne_bytes(), &v, bpf::elem_flags::NOEXIST)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Syscall {
                call: "BPF_MAP_UPDATE_ELEM",
                errno: Errno::EEXIST
            }
        ),
        "{err}"
    );
    let mut keys = Vec::new();
    let mut next = [0u8; 4];
    let mut cur: Option<[u8; 4]> = None;
    while bpf::map_get_next_key(m.as_fd(), cur.as_ref().map(|k| &k[..]), &mut next).unwrap() {
        keys.push(u32::from_ne_bytes(next));
        cur = Some(next);
    }
    keys.sort();
    assert_eq!(keys, [0, 1, 2]);
    assert!(bpf::map_delete_elem(m.as_fd(), &1u32.to_ne_bytes()).unwrap());
    assert!(!bpf::map_delete_elem(m.as_fd(), &1u32.to_ne_bytes()).unwrap());
    let info = bpf::map_info(m.as_fd()).unwrap();
    assert_eq!(
        (
            info.map_type,
            info.key_size,
            info.value_size,
            info.max_entries
        ),
        (1, 4, 8, 8)
    );
    assert_eq!(&info.name[..7], b"t_hash\0");
}

#[test]
fn frozen_map_rejects_user_writes() {
    if !have_bpf() {
        return;
    }
    let m = bpf::map_create(&MapCreate::new(2, 4, 8, 1)).unwrap();
    bpf::map_freeze(m.as_fd()).unwrap();
    let err = bpf::map_update_elem(m.as_fd(), &0u32.to_ne_bytes(), &[0; 8], 0).unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EPERM), "{err}");
}

#[test]
fn prog_load_returns_log_on_rejection_and_fd_on_success() {
    if !have_bpf() {
        return;
    }
    // r0 = 0; exit  — as a socket filter.
    let ok: Vec<u8> = [[0xb7u8, 0, 0, 0, 0, 0, 0, 0], [0x95, 0, 0, 0, 0, 0, 0, 0]].concat();
    let mut log = vec![0u8; 64 * 1024];
    let p = ProgLoad {
        prog_type: 1,
        insns: &ok,
        license: "GPL",
        name: "t_ok",
        ..Default::default()
    };
    let out = bpf::prog_load(&p, 1, &mut log);
    let fd = out.result.unwrap();
    assert_eq!(bpf::prog_info(fd.as_fd()).unwrap().prog_type, 1);
    // exit without setting r0: "R0 !read_ok".
    let bad = [0x95u8, 0, 0, 0, 0, 0, 0, 0];
    let p = ProgLoad { insns: &bad, ..p };
    let out = bpf::prog_load(&p, 1, &mut log);
    assert_eq!(out.result.unwrap_err().errno(), Some(Errno::EACCES));
    let text = String::from_utf8_lossy(&log[..out.log_len]);
    assert!(text.contains("R0 !read_ok"), "log: {text}");
    // log_true_size exists since 6.4; older kernels leave it 0.
    assert!(out.log_true_size == 0 || out.log_true_size as usize >= out.log_len);
}

#[test]
fn empty_ring_buffer_maps_and_reads_empty() {
    if !have_bpf() {
        return;
    }
    let size = 4096 * 4;
    let m = bpf::map_create(&MapCreate::new(27, 0, 0, size)).unwrap();
    let rb = RingBufMemory::map(m.as_fd(), size).unwrap();
    assert_eq!(rb.consumer_pos(), 0);
    assert_eq!(rb.producer_pos(), 0);
    assert_eq!(rb.next(0, rb.producer_pos()).unwrap(), Next::Empty);
    assert!(RingBufMemory::map(m.as_fd(), size + 1).is_err());
}

/// A minimal BTF blob: header, one `int` (4 bytes, signed, 32 bits), strings "\0int\0".
fn tiny_btf() -> Vec<u8> {
    let mut types = Vec::new();
    for v in [1u32, 1 << 24, 4, (1 << 24) | 32] {
        types.extend_from_slice(&v.to_ne_bytes());
    }
    let strs = b"\0int\0";
    let mut b = Vec::new();
    b.extend_from_slice(&0xeb9fu16.to_ne_bytes());
    b.extend_from_slice(&[1, 0]);
    for v in [
        24u32,
        0,
        types.len() as u32,
        types.len() as u32,
        strs.len() as u32,
    ] {
        b.extend_from_slice(&v.to_ne_bytes());
    }
    b.extend_from_slice(&types);
    b.extend_from_slice(strs);
    b
}

#[test]
fn loaded_btf_reads_back_by_id_byte_for_byte() {
    if !have_bpf() {
        return;
    }
    let blob = tiny_btf();
    let fd = bpf::btf_load(&blob, &mut [0u8; 4096]).unwrap();
    let info = bpf::btf_info(fd.as_fd()).unwrap();
    assert_ne!(info.id, 0);
    assert_eq!(info.btf_size as usize, blob.len());
    assert_eq!(info.kernel_btf, 0);

    let by_id = bpf::btf_get_fd_by_id(info.id).unwrap();
    let (info2, data, name) = bpf::btf_data(by_id.as_fd()).unwrap();
    assert_eq!(info2.id, info.id);
    assert_eq!(data, blob);
    assert_eq!(name, "");
}

#[test]
fn btf_ids_enumerate_to_the_loaded_one_and_vmlinux_is_kernel_btf() {
    if !have_bpf() {
        return;
    }
    let fd = bpf::btf_load(&tiny_btf(), &mut []).unwrap();
    let mine = bpf::btf_info(fd.as_fd()).unwrap().id;
    let mut ids = Vec::new();
    let mut cur = 0;
    while let Some(next) = bpf::btf_get_next_id(cur).unwrap() {
        assert!(next > cur, "ids increase: {cur} then {next}");
        ids.push(next);
        cur = next;
    }
    assert!(ids.contains(&mine), "{mine} not in {ids:?}");
    // The end of the list is Ok(None), not an error.
    assert_eq!(bpf::btf_get_next_id(i32::MAX as u32 - 1).unwrap(), None);

    if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
        eprintln!("skipping the vmlinux part: no /sys/kernel/btf/vmlinux");
        return;
    }
    // Linux 5.11 gave vmlinux BTF an id (and BTF info its name and kernel_btf flag).
    let release = kernel_release();
    if release < (5, 11) {
        eprintln!(
            "skipping the vmlinux part: vmlinux BTF has an id only since Linux 5.11 (this is {}.{})",
            release.0, release.1
        );
        return;
    }
    let sysfs = std::fs::read("/sys/kernel/btf/vmlinux").unwrap();
    let vmlinux = ids.iter().find_map(|&id| {
        let fd = bpf::btf_get_fd_by_id(id).ok()?;
        let (info, data, name) = bpf::btf_data(fd.as_fd()).ok()?;
        (name == "vmlinux").then_some((info, data))
    });
    let (info, data) = vmlinux.expect("a BTF object named vmlinux");
    assert_ne!(info.kernel_btf, 0);
    assert_eq!(data, sysfs);
}

/// `major.minor` of the running kernel (`6.1.0-57-cloud-amd64` → `(6, 1)`).
fn kernel_release() -> (u32, u32) {
    let s = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut it = s
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

#[test]
fn btf_get_fd_by_missing_id_is_enoent() {
    if !have_bpf() {
        return;
    }
    let e = bpf::btf_get_fd_by_id(u32::MAX - 1).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Syscall {
                call: "BPF_BTF_GET_FD_BY_ID",
                errno: Errno::ENOENT
            }
        ),
        "{e}"
    );
}
