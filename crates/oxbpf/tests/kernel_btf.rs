//! The kernel's BTF through the facade: vmlinux, modules, external files, BTF by id.

mod common;

use oxbpf::btf::{Kind, Type};
use oxbpf::kernel_btf::{self, Error};
use oxbpf::sys::bpf;

fn have_vmlinux() -> bool {
    let ok = std::path::Path::new(kernel_btf::VMLINUX_PATH).exists();
    if !ok {
        eprintln!("skipping: no {}", kernel_btf::VMLINUX_PATH);
    }
    ok
}

#[test]
fn vmlinux_is_parsed_once_and_has_task_struct() {
    if !have_vmlinux() {
        return;
    }
    let a = kernel_btf::vmlinux().unwrap();
    let b = kernel_btf::vmlinux().unwrap();
    assert!(std::ptr::eq(a, b), "the same Btf for the whole process");
    let id = a
        .find_by_name("task_struct", Kind::Struct)
        .unwrap()
        .unwrap();
    let Type::Struct(s) = a.type_by_id(id).unwrap() else {
        panic!("task_struct is not a struct")
    };
    assert!(s.members().any(|m| m.unwrap().name == "pid"));
    assert!(a.resolve_size(id).unwrap() > 1024);
    // target() without an external file is vmlinux itself.
    let t = kernel_btf::target(&oxbpf::LoadOptions::default()).unwrap();
    assert!(std::ptr::eq(t, a));
}

#[test]
fn a_module_splits_on_vmlinux_or_is_reported_missing() {
    if !have_vmlinux() {
        return;
    }
    match kernel_btf::module_names().first() {
        Some(name) => {
            let m = kernel_btf::module(name).unwrap();
            let again = kernel_btf::module(name).unwrap();
            assert!(std::ptr::eq(m, again), "cached");
            let vmlinux = kernel_btf::vmlinux().unwrap();
            assert_eq!(m.start_id() as usize, vmlinux.len());
            assert!(std::ptr::eq(m.base().unwrap(), vmlinux));
            // A vmlinux name resolves through the module's view too.
            assert_eq!(
                m.find_by_name("task_struct", Kind::Struct).unwrap(),
                vmlinux.find_by_name("task_struct", Kind::Struct).unwrap()
            );
        }
        None => eprintln!("no module BTF on this host: only the missing-module error is tested"),
    }
    let e = kernel_btf::module("oxbpf_no_such_module").unwrap_err();
    assert!(matches!(e, Error::NoModule { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("/sys/kernel/btf/oxbpf_no_such_module"),
        "{e}"
    );
}

#[test]
fn external_file_copied_from_vmlinux_is_a_usable_target() {
    if !have_vmlinux() {
        return;
    }
    let path = std::env::temp_dir().join(format!("oxbpf-vmlinux-copy-{}", std::process::id()));
    std::fs::copy(kernel_btf::VMLINUX_PATH, &path).unwrap();
    let owned = kernel_btf::from_file(&path).unwrap();
    assert_eq!(
        owned.bytes(),
        std::fs::read(kernel_btf::VMLINUX_PATH).unwrap()
    );
    let btf = owned.btf().unwrap();
    let vmlinux = kernel_btf::vmlinux().unwrap();
    assert_eq!(
        btf.find_by_name("task_struct", Kind::Struct).unwrap(),
        vmlinux.find_by_name("task_struct", Kind::Struct).unwrap()
    );
    let opts = oxbpf::LoadOptions {
        kernel_btf: Some(path.clone()),
        ..Default::default()
    };
    let t = kernel_btf::target(&opts).unwrap();
    assert!(!std::ptr::eq(t, vmlinux), "the external file, not vmlinux");
    assert_eq!(t.len(), vmlinux.len());
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn missing_external_file_names_the_path() {
    let e = kernel_btf::from_file("/nonexistent/oxbpf/vmlinux.btf").unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    assert!(
        e.to_string().contains("/nonexistent/oxbpf/vmlinux.btf"),
        "{e}"
    );
}

#[test]
fn loaded_program_btf_reads_back_by_id() {
    if !common::have_bpf() {
        return;
    }
    let coll = common::load("counter.bpf.o");
    let prog = coll.program("count_getpid").unwrap();
    let info = bpf::prog_info(prog.fd().as_fd()).unwrap();
    assert_ne!(info.btf_id, 0, "the program was loaded with BTF");
    let owned = kernel_btf::by_id(info.btf_id).unwrap();
    assert_eq!(owned.id(), Some(info.btf_id));
    assert!(owned.base().is_none(), "an object's BTF is not split");
    let btf = owned.btf().unwrap();
    // The object's own types are there: its program function and its map's key type.
    let func = btf.find_by_name("count_getpid", Kind::Func).unwrap();
    assert!(func.is_some(), "FUNC count_getpid in the loaded BTF");
    // The bytes are what the facade loaded.
    assert_eq!(Some(owned.bytes()), coll.btf().map(|b| b.bytes()));
}

#[test]
fn vmlinux_by_id_is_kernel_btf_equal_to_sysfs() {
    if !common::have_bpf() || !have_vmlinux() {
        return;
    }
    if common::kernel_release() < (5, 11) {
        eprintln!(
            "skipping: vmlinux BTF has an id only since Linux 5.11 (this is {:?})",
            common::kernel_release()
        );
        return;
    }
    let sysfs = std::fs::read(kernel_btf::VMLINUX_PATH).unwrap();
    let mut cur = 0;
    while let Some(id) = bpf::btf_get_next_id(cur).unwrap() {
        cur = id;
        let Ok(owned) = kernel_btf::by_id(id) else {
            continue; // freed between the two calls
        };
        if owned.name() == "vmlinux" {
            assert!(owned.base().is_none());
            assert_eq!(owned.bytes(), sysfs);
            return;
        }
    }
    panic!("no BTF object named vmlinux");
}

#[test]
fn missing_btf_id_is_a_kernel_error_naming_it() {
    if !common::have_bpf() {
        return;
    }
    let e = kernel_btf::by_id(i32::MAX as u32 - 3).unwrap_err();
    assert!(matches!(e, Error::Kernel { .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with(&format!("BTF object id {}", i32::MAX - 3)),
        "{e}"
    );
}
