//! Program-type, map-type, helper and capability probes against the running kernel (the
//! 6.18 host of /work/shared/HOST.md, and the 5.10/6.1/6.12 kernel matrix), and the
//! per-process cache. What depends only on the release is expected exactly from
//! `features::min_kernel` (which checks that table too); what also depends on the kernel's
//! configuration must at least be answered.

mod common;

use oxbpf::asm::Helper;
use oxbpf::features::{
    self, Capability, Feature, HelperSupport, ProbeError, Support, capability_supported,
    helper_support, helper_supported, map_type_supported, prog_type_supported, support_of,
};
use oxbpf::obj::{MapType, ProgramType};

/// `(feature, answer, expected)` of every answer that differs from its first release.
fn release_mismatches<T: std::fmt::Display>(
    answers: impl IntoIterator<Item = (T, Result<bool, ProbeError>, Feature)>,
) -> Vec<String> {
    answers
        .into_iter()
        .filter_map(|(what, got, f)| {
            let since = features::min_kernel(f);
            let want = common::release_at_least(since);
            (got != Ok(want)).then(|| format!("{what}: got {got:?}, since {since} so want {want}"))
        })
        .collect()
}

#[test]
fn everyday_program_types_are_supported_from_their_first_release() {
    if !common::have_bpf() {
        return;
    }
    let bad = release_mismatches(
        [
            ProgramType::SOCKET_FILTER,
            ProgramType::TRACEPOINT,
            ProgramType::XDP,
            ProgramType::SCHED_CLS,
            ProgramType::CGROUP_SKB,
            // These need an expected_attach_type / sleepable flag to load at all.
            ProgramType::CGROUP_SOCK_ADDR,
            ProgramType::CGROUP_SOCKOPT,
            ProgramType::SK_LOOKUP,
            ProgramType::NETFILTER,
            ProgramType::SYSCALL,
            // Probed against a wrong attach target (ENOTSUPP proves the type).
            ProgramType::STRUCT_OPS,
        ]
        .map(|pt| (pt, prog_type_supported(pt), Feature::ProgramType(pt))),
    );
    assert!(
        bad.is_empty(),
        "on {:?}: {bad:#?}",
        common::kernel_release()
    );
}

#[test]
fn made_up_types_are_unsupported_not_errors() {
    if !common::have_bpf() {
        return;
    }
    assert_eq!(prog_type_supported(ProgramType(200)), Ok(false));
    assert_eq!(map_type_supported(MapType(200)), Ok(false));
    assert_eq!(
        helper_support(ProgramType(200), Helper::MapLookupElem),
        Ok(HelperSupport::Unavailable)
    );
}

#[test]
fn trampoline_types_report_the_platform_eperm_as_a_permission_error() {
    if !common::have_bpf() {
        return;
    }
    // HOST.md: fentry/fexit/LSM loads get EPERM with an empty log on this host. On a kernel
    // that allows them, the wrong-target probe proves the type instead.
    match prog_type_supported(ProgramType::TRACING) {
        Ok(v) => assert_eq!(
            v,
            common::release_at_least(features::min_kernel(Feature::ProgramType(
                ProgramType::TRACING
            ))),
            "BPF_PROG_TYPE_TRACING"
        ),
        Err(ProbeError::Permission { needs, call, .. }) => {
            assert_eq!((call, needs), ("BPF_PROG_LOAD", "CAP_BPF and CAP_PERFMON"));
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn everyday_map_types_are_supported_from_their_first_release() {
    if !common::have_bpf() {
        return;
    }
    let bad = release_mismatches(
        [
            MapType::HASH,
            MapType::ARRAY,
            MapType::RINGBUF,
            MapType::USER_RINGBUF,
            MapType::LPM_TRIE,
            MapType::ARRAY_OF_MAPS,
            MapType::HASH_OF_MAPS,
            MapType::BLOOM_FILTER,
            MapType::QUEUE,
            MapType::CGROUP_STORAGE,
            MapType::SK_STORAGE,
            MapType::TASK_STORAGE,
            MapType::CGRP_STORAGE,
            MapType::STRUCT_OPS,
            MapType::ARENA,
        ]
        .map(|mt| (mt, map_type_supported(mt), Feature::MapType(mt))),
    );
    assert!(
        bad.is_empty(),
        "on {:?}: {bad:#?}",
        common::kernel_release()
    );
}

#[test]
fn helpers_per_program_type_and_license() {
    if !common::have_bpf() {
        return;
    }
    let sf = ProgramType::SOCKET_FILTER;
    assert_eq!(helper_supported(sf, Helper::MapLookupElem), Ok(true));
    assert_eq!(
        helper_support(sf, Helper::MapLookupElem),
        Ok(HelperSupport::Available)
    );
    // bpf_probe_read_kernel is gpl_only. Socket filters reach it through
    // bpf_base_func_proto when the loader has CAP_PERFMON (root here), so a GPL socket
    // filter may call it and a non-GPL one may not.
    let s = helper_support(sf, Helper::ProbeReadKernel).unwrap();
    assert_eq!(s, HelperSupport::GplOnly);
    assert!(!s.for_non_gpl());
    // Not offered to this type at all: XDP-only and tracing-only helpers.
    assert_eq!(helper_supported(sf, Helper::XdpAdjustHead), Ok(false));
    assert_eq!(
        helper_supported(ProgramType::XDP, Helper::XdpAdjustHead),
        Ok(true)
    );
    assert_eq!(helper_supported(sf, Helper::GetFuncIp), Ok(false));
    assert_eq!(
        helper_support(ProgramType::KPROBE, Helper::ProbeReadKernel),
        Ok(HelperSupport::GplOnly)
    );
}

#[test]
fn capabilities_follow_their_first_release_or_the_kernel_config() {
    if !common::have_bpf() {
        return;
    }
    let bad = release_mismatches(
        [
            Capability::BpfLink,
            Capability::PerfLink,
            Capability::Ringbuf,
            Capability::BpfCookie,
            Capability::UprobeMulti,
            Capability::Tcx,
            Capability::Token,
            Capability::BpfLoop,
            Capability::GlobalData,
            Capability::MmapableArray,
            Capability::MemcgAccounting,
        ]
        .map(|c| (c, capability_supported(c), Feature::Capability(c))),
    );
    assert!(
        bad.is_empty(),
        "on {:?}: {bad:#?}",
        common::kernel_release()
    );
    // Also a matter of configuration (CONFIG_FPROBE, CONFIG_NETKIT: the host and the 6.1
    // cloud kernel lack them, the 6.12 one has both): answered either way, and no before
    // the first release.
    for c in [Capability::KprobeMulti, Capability::Netkit] {
        let got = capability_supported(c);
        assert!(got.is_ok(), "{c}: {got:?}");
        if !common::release_at_least(features::min_kernel(Feature::Capability(c))) {
            assert_eq!(got, Ok(false), "{c} before its first release");
        }
    }
    let caps = features::capabilities();
    let ringbuf = common::release_at_least(features::min_kernel(Feature::Capability(
        Capability::Ringbuf,
    )));
    assert_eq!(
        caps.ringbuf,
        if ringbuf { Support::Yes } else { Support::No }
    );
    assert_eq!(
        caps.netkit,
        support_of(capability_supported(Capability::Netkit))
    );
}

#[test]
fn memcg_accounting_probe_is_one_load_and_agrees_with_the_helper_probe() {
    if !common::have_bpf() {
        return;
    }
    // Every load first decides RLIMIT_MEMLOCK through this probe: it must stay cheap.
    let cached = capability_supported(Capability::MemcgAccounting);
    let before = features::probe_calls_on_this_thread();
    let uncached = features::probe_capability(Capability::MemcgAccounting);
    assert_eq!(
        features::probe_calls_on_this_thread(),
        before + 1,
        "one BPF_PROG_LOAD"
    );
    assert_eq!(uncached, cached);
    assert_eq!(
        uncached,
        helper_supported(ProgramType::SOCKET_FILTER, Helper::KtimeGetCoarseNs)
    );
}

#[test]
fn second_answer_comes_from_the_cache() {
    if !common::have_bpf() {
        return;
    }
    // Counted per thread: the other tests of this binary probe on their own threads.
    let pt = ProgramType::LWT_XMIT;
    let h = Helper::SkbChangeHead;
    let before = features::probe_calls_on_this_thread();
    let first = helper_support(pt, h);
    let mid = features::probe_calls_on_this_thread();
    assert!(mid > before, "the first answer was probed");
    for _ in 0..10 {
        assert_eq!(helper_support(pt, h), first);
        assert_eq!(prog_type_supported(pt), Ok(true));
        assert_eq!(
            map_type_supported(MapType::RINGBUF),
            map_type_supported(MapType::RINGBUF)
        );
    }
    let after_ringbuf = features::probe_calls_on_this_thread();
    assert!(after_ringbuf <= mid + 1, "ringbuf probed at most once");
    for _ in 0..10 {
        assert_eq!(map_type_supported(MapType::RINGBUF), Ok(true));
    }
    assert_eq!(features::probe_calls_on_this_thread(), after_ringbuf);
    // The uncached probe does call the kernel again, and agrees.
    let again = features::probe_helper(pt, h, &mut vec![0; 16384]);
    assert_eq!(again, first);
    assert!(features::probe_calls_on_this_thread() > after_ringbuf);
}

#[test]
fn full_report_is_complete_and_cached() {
    if !common::have_bpf() {
        return;
    }
    let r = features::probe_all(2);
    assert_eq!(
        r.program_types.len(),
        features::known_program_types().count()
    );
    assert_eq!(r.map_types.len(), features::known_map_types().count());
    assert_eq!(r.helpers.len(), r.program_types.len());
    let sf = r
        .helpers
        .iter()
        .find(|h| h.program_type == ProgramType::SOCKET_FILTER)
        .unwrap();
    assert!(
        sf.helpers
            .contains(&(Helper::MapLookupElem, HelperSupport::Available))
    );
    assert!(
        sf.helpers
            .contains(&(Helper::ProbeReadKernel, HelperSupport::GplOnly))
    );
    assert!(sf.error.is_none());
    // No time budget here: how fast a full probe is depends on the machine's load (and
    // is many times slower under qemu TCG); speed is measured by benchmarks, not tests.
    // Every conclusive answer is cached now: a second report on this thread only re-asks
    // the probes that failed (EPERM for the trampoline types here), one call each.
    let failed = r
        .program_types
        .iter()
        .filter(|(_, s)| matches!(s, Support::Unknown(_)))
        .count()
        + r.map_types
            .iter()
            .filter(|(_, s)| matches!(s, Support::Unknown(_)))
            .count()
        + r.capabilities
            .iter()
            .filter(|(_, s)| matches!(s, Support::Unknown(_)))
            .count();
    let calls = features::probe_calls_on_this_thread();
    let r2 = features::probe_all(1);
    let unknown: Vec<String> = r
        .program_types
        .iter()
        .map(|(p, s)| (p.to_string(), s))
        .chain(r.map_types.iter().map(|(m, s)| (m.to_string(), s)))
        .chain(r.capabilities.iter().map(|(c, s)| (c.to_string(), s)))
        .filter(|(_, s)| matches!(s, Support::Unknown(_)))
        .map(|(n, s)| format!("{n}: {s:?}"))
        .chain(r.helpers.iter().filter_map(|h| {
            h.error
                .as_ref()
                .map(|e| format!("helpers of {}: {e}", h.program_type))
        }))
        .collect();
    assert_eq!(
        features::probe_calls_on_this_thread() - calls,
        failed as u64,
        "re-probed; the unknown answers: {unknown:#?}"
    );
    assert_eq!(r2.program_types, r.program_types);
    assert_eq!(r2.helpers, r.helpers);
    assert_eq!(r2.capabilities, r.capabilities);
}
