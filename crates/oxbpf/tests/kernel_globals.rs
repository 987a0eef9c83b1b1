//! globals.bpf.o: .rodata rewritten before load, .data/.bss/.data.custom maps, a
//! bpf-to-bpf call and a bpf_loop callback.

mod common;

use oxbpf::{Collection, LoadOptions, ObjectSpec};

/// Both tests count this process's getpid() calls: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_ne_bytes(b[off..off + 8].try_into().unwrap())
}

#[test]
fn rodata_constants_steer_the_program_and_data_maps_record_it() {
    let _serial = serial();
    if !common::have_bpf() || !common::have(oxbpf::features::Capability::BpfLoop) {
        return;
    }
    let mut spec = ObjectSpec::from_file(common::fixture("globals.bpf.o")).unwrap();
    spec.set_global("target_tgid", &std::process::id().to_ne_bytes())
        .unwrap();
    spec.set_global("step", &5u64.to_ne_bytes()).unwrap();
    assert!(
        spec.set_global("step", &5u32.to_ne_bytes()).is_err(),
        "size mismatch must be refused"
    );
    let coll = Collection::load(&spec, &LoadOptions::default()).unwrap();
    let _links = coll.attach_all().unwrap();
    for _ in 0..3 {
        std::hint::black_box(std::process::id());
    }
    let zero = 0u32.to_ne_bytes();
    let bss = coll.map(".bss").unwrap().lookup(&zero).unwrap().unwrap();
    assert_eq!(u64_at(&bss, 0), 15, "bss_hits = 3 × bump(step 5)");
    assert_eq!(
        u64_at(&bss, 8),
        6,
        "bss_last_sum from the bpf_loop callback"
    );
    let data = coll.map(".data").unwrap().lookup(&zero).unwrap().unwrap();
    assert_eq!(u64_at(&data, 0), 115, "data_counter = 100 + 3 × 5");
    let custom = coll
        .map(".data.custom")
        .unwrap()
        .lookup(&zero)
        .unwrap()
        .unwrap();
    assert_eq!(u32::from_ne_bytes(custom[..4].try_into().unwrap()), 10);

    // .rodata is frozen: user space cannot change it after load.
    let rodata = coll.map(".rodata").unwrap();
    let value = rodata.lookup(&zero).unwrap().unwrap();
    assert_eq!(u64_at(&value, 8), 5);
    assert!(rodata.update(&zero, &value, 0).is_err());
}

#[test]
fn untargeted_process_leaves_data_untouched() {
    let _serial = serial();
    if !common::have_bpf() || !common::have(oxbpf::features::Capability::BpfLoop) {
        return;
    }
    let mut spec = ObjectSpec::from_file(common::fixture("globals.bpf.o")).unwrap();
    spec.set_global("target_tgid", &u32::MAX.to_ne_bytes())
        .unwrap();
    let coll = Collection::load(&spec, &LoadOptions::default()).unwrap();
    let _links = coll.attach_all().unwrap();
    std::hint::black_box(std::process::id());
    let data = coll
        .map(".data")
        .unwrap()
        .lookup(&0u32.to_ne_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(u64_at(&data, 0), 100);
}
