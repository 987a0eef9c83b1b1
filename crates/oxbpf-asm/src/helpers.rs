//! The kernel's helper functions: ids and names in `___BPF_FUNC_MAPPER` order
//! (`include/uapi/linux/bpf.h`; the list is frozen at id 211, new kernel functions are
//! kfuncs). Shared by the assembler (`call bpf_map_lookup_elem`), the disassembler's
//! helper-name option and the builder.

/// Helper names without the `bpf_` prefix, indexed by id (`BPF_FUNC_*`); id 0 is
/// `unspec`, which is not a helper.
const NAMES: [&str; 212] = [
    "unspec",
    "map_lookup_elem",
    "map_update_elem",
    "map_delete_elem",
    "probe_read",
    "ktime_get_ns",
    "trace_printk",
    "get_prandom_u32",
    "get_smp_processor_id",
    "skb_store_bytes",
    "l3_csum_replace",
    "l4_csum_replace",
    "tail_call",
    "clone_redirect",
    "get_current_pid_tgid",
    "get_current_uid_gid",
    "get_current_comm",
    "get_cgroup_classid",
    "skb_vlan_push",
    "skb_vlan_pop",
    "skb_get_tunnel_key",
    "skb_set_tunnel_key",
    "perf_event_read",
    "redirect",
    "get_route_realm",
    "perf_event_output",
    "skb_load_bytes",
    "get_stackid",
    "csum_diff",
    "skb_get_tunnel_opt",
    "skb_set_tunnel_opt",
    "skb_change_proto",
    "skb_change_type",
    "skb_under_cgroup",
    "get_hash_recalc",
    "get_current_task",
    "probe_write_user",
    "current_task_under_cgroup",
    "skb_change_tail",
    "skb_pull_data",
    "csum_update",
    "set_hash_invalid",
    "get_numa_node_id",
    "skb_change_head",
    "xdp_adjust_head",
    "probe_read_str",
    "get_socket_cookie",
    "get_socket_uid",
    "set_hash",
    "setsockopt",
    "skb_adjust_room",
    "redirect_map",
    "sk_redirect_map",
    "sock_map_update",
    "xdp_adjust_meta",
    "perf_event_read_value",
    "perf_prog_read_value",
    "getsockopt",
    "override_return",
    "sock_ops_cb_flags_set",
    "msg_redirect_map",
    "msg_apply_bytes",
    "msg_cork_bytes",
    "msg_pull_data",
    "bind",
    "xdp_adjust_tail",
    "skb_get_xfrm_state",
    "get_stack",
    "skb_load_bytes_relative",
    "fib_lookup",
    "sock_hash_update",
    "msg_redirect_hash",
    "sk_redirect_hash",
    "lwt_push_encap",
    "lwt_seg6_store_bytes",
    "lwt_seg6_adjust_srh",
    "lwt_seg6_action",
    "rc_repeat",
    "rc_keydown",
    "skb_cgroup_id",
    "get_current_cgroup_id",
    "get_local_storage",
    "sk_select_reuseport",
    "skb_ancestor_cgroup_id",
    "sk_lookup_tcp",
    "sk_lookup_udp",
    "sk_release",
    "map_push_elem",
    "map_pop_elem",
    "map_peek_elem",
    "msg_push_data",
    "msg_pop_data",
    "rc_pointer_rel",
    "spin_lock",
    "spin_unlock",
    "sk_fullsock",
    "tcp_sock",
    "skb_ecn_set_ce",
    "get_listener_sock",
    "skc_lookup_tcp",
    "tcp_check_syncookie",
    "sysctl_get_name",
    "sysctl_get_current_value",
    "sysctl_get_new_value",
    "sysctl_set_new_value",
    "strtol",
    "strtoul",
    "sk_storage_get",
    "sk_storage_delete",
    "send_signal",
    "tcp_gen_syncookie",
    "skb_output",
    "probe_read_user",
    "probe_read_kernel",
    "probe_read_user_str",
    "probe_read_kernel_str",
    "tcp_send_ack",
    "send_signal_thread",
    "jiffies64",
    "read_branch_records",
    "get_ns_current_pid_tgid",
    "xdp_output",
    "get_netns_cookie",
    "get_current_ancestor_cgroup_id",
    "sk_assign",
    "ktime_get_boot_ns",
    "seq_printf",
    "seq_write",
    "sk_cgroup_id",
    "sk_ancestor_cgroup_id",
    "ringbuf_output",
    "ringbuf_reserve",
    "ringbuf_submit",
    "ringbuf_discard",
    "ringbuf_query",
    "csum_level",
    "skc_to_tcp6_sock",
    "skc_to_tcp_sock",
    "skc_to_tcp_timewait_sock",
    "skc_to_tcp_request_sock",
    "skc_to_udp6_sock",
    "get_task_stack",
    "load_hdr_opt",
    "store_hdr_opt",
    "reserve_hdr_opt",
    "inode_storage_get",
    "inode_storage_delete",
    "d_path",
    "copy_from_user",
    "snprintf_btf",
    "seq_printf_btf",
    "skb_cgroup_classid",
    "redirect_neigh",
    "per_cpu_ptr",
    "this_cpu_ptr",
    "redirect_peer",
    "task_storage_get",
    "task_storage_delete",
    "get_current_task_btf",
    "bprm_opts_set",
    "ktime_get_coarse_ns",
    "ima_inode_hash",
    "sock_from_file",
    "check_mtu",
    "for_each_map_elem",
    "snprintf",
    "sys_bpf",
    "btf_find_by_name_kind",
    "sys_close",
    "timer_init",
    "timer_set_callback",
    "timer_start",
    "timer_cancel",
    "get_func_ip",
    "get_attach_cookie",
    "task_pt_regs",
    "get_branch_snapshot",
    "trace_vprintk",
    "skc_to_unix_sock",
    "kallsyms_lookup_name",
    "find_vma",
    "loop",
    "strncmp",
    "get_func_arg",
    "get_func_ret",
    "get_func_arg_cnt",
    "get_retval",
    "set_retval",
    "xdp_get_buff_len",
    "xdp_load_bytes",
    "xdp_store_bytes",
    "copy_from_user_task",
    "skb_set_tstamp",
    "ima_file_hash",
    "kptr_xchg",
    "map_lookup_percpu_elem",
    "skc_to_mptcp_sock",
    "dynptr_from_mem",
    "ringbuf_reserve_dynptr",
    "ringbuf_submit_dynptr",
    "ringbuf_discard_dynptr",
    "dynptr_read",
    "dynptr_write",
    "dynptr_data",
    "tcp_raw_gen_syncookie_ipv4",
    "tcp_raw_gen_syncookie_ipv6",
    "tcp_raw_check_syncookie_ipv4",
    "tcp_raw_check_syncookie_ipv6",
    "ktime_get_tai_ns",
    "user_ringbuf_drain",
    "cgrp_storage_get",
    "cgrp_storage_delete",
];

/// A kernel helper function (`enum bpf_func_id`), named as in `BPF_FUNC_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(i32)]
#[non_exhaustive]
pub enum Helper {
    /// `bpf_map_lookup_elem` (id 1).
    MapLookupElem = 1,
    /// `bpf_map_update_elem` (id 2).
    MapUpdateElem = 2,
    /// `bpf_map_delete_elem` (id 3).
    MapDeleteElem = 3,
    /// `bpf_probe_read` (id 4).
    ProbeRead = 4,
    /// `bpf_ktime_get_ns` (id 5).
    KtimeGetNs = 5,
    /// `bpf_trace_printk` (id 6).
    TracePrintk = 6,
    /// `bpf_get_prandom_u32` (id 7).
    GetPrandomU32 = 7,
    /// `bpf_get_smp_processor_id` (id 8).
    GetSmpProcessorId = 8,
    /// `bpf_skb_store_bytes` (id 9).
    SkbStoreBytes = 9,
    /// `bpf_l3_csum_replace` (id 10).
    L3CsumReplace = 10,
    /// `bpf_l4_csum_replace` (id 11).
    L4CsumReplace = 11,
    /// `bpf_tail_call` (id 12).
    TailCall = 12,
    /// `bpf_clone_redirect` (id 13).
    CloneRedirect = 13,
    /// `bpf_get_current_pid_tgid` (id 14).
    GetCurrentPidTgid = 14,
    /// `bpf_get_current_uid_gid` (id 15).
    GetCurrentUidGid = 15,
    /// `bpf_get_current_comm` (id 16).
    GetCurrentComm = 16,
    /// `bpf_get_cgroup_classid` (id 17).
    GetCgroupClassid = 17,
    /// `bpf_skb_vlan_push` (id 18).
    SkbVlanPush = 18,
    /// `bpf_skb_vlan_pop` (id 19).
    SkbVlanPop = 19,
    /// `bpf_skb_get_tunnel_key` (id 20).
    SkbGetTunnelKey = 20,
    /// `bpf_skb_set_tunnel_key` (id 21).
    SkbSetTunnelKey = 21,
    /// `bpf_perf_event_read` (id 22).
    PerfEventRead = 22,
    /// `bpf_redirect` (id 23).
    Redirect = 23,
    /// `bpf_get_route_realm` (id 24).
    GetRouteRealm = 24,
    /// `bpf_perf_event_output` (id 25).
    PerfEventOutput = 25,
    /// `bpf_skb_load_bytes` (id 26).
    SkbLoadBytes = 26,
    /// `bpf_get_stackid` (id 27).
    GetStackid = 27,
    /// `bpf_csum_diff` (id 28).
    CsumDiff = 28,
    /// `bpf_skb_get_tunnel_opt` (id 29).
    SkbGetTunnelOpt = 29,
    /// `bpf_skb_set_tunnel_opt` (id 30).
    SkbSetTunnelOpt = 30,
    /// `bpf_skb_change_proto` (id 31).
    SkbChangeProto = 31,
    /// `bpf_skb_change_type` (id 32).
    SkbChangeType = 32,
    /// `bpf_skb_under_cgroup` (id 33).
    SkbUnderCgroup = 33,
    /// `bpf_get_hash_recalc` (id 34).
    GetHashRecalc = 34,
    /// `bpf_get_current_task` (id 35).
    GetCurrentTask = 35,
    /// `bpf_probe_write_user` (id 36).
    ProbeWriteUser = 36,
    /// `bpf_current_task_under_cgroup` (id 37).
    CurrentTaskUnderCgroup = 37,
    /// `bpf_skb_change_tail` (id 38).
    SkbChangeTail = 38,
    /// `bpf_skb_pull_data` (id 39).
    SkbPullData = 39,
    /// `bpf_csum_update` (id 40).
    CsumUpdate = 40,
    /// `bpf_set_hash_invalid` (id 41).
    SetHashInvalid = 41,
    /// `bpf_get_numa_node_id` (id 42).
    GetNumaNodeId = 42,
    /// `bpf_skb_change_head` (id 43).
    SkbChangeHead = 43,
    /// `bpf_xdp_adjust_head` (id 44).
    XdpAdjustHead = 44,
    /// `bpf_probe_read_str` (id 45).
    ProbeReadStr = 45,
    /// `bpf_get_socket_cookie` (id 46).
    GetSocketCookie = 46,
    /// `bpf_get_socket_uid` (id 47).
    GetSocketUid = 47,
    /// `bpf_set_hash` (id 48).
    SetHash = 48,
    /// `bpf_setsockopt` (id 49).
    Setsockopt = 49,
    /// `bpf_skb_adjust_room` (id 50).
    SkbAdjustRoom = 50,
    /// `bpf_redirect_map` (id 51).
    RedirectMap = 51,
    /// `bpf_sk_redirect_map` (id 52).
    SkRedirectMap = 52,
    /// `bpf_sock_map_update` (id 53).
    SockMapUpdate = 53,
    /// `bpf_xdp_adjust_meta` (id 54).
    XdpAdjustMeta = 54,
    /// `bpf_perf_event_read_value` (id 55).
    PerfEventReadValue = 55,
    /// `bpf_perf_prog_read_value` (id 56).
    PerfProgReadValue = 56,
    /// `bpf_getsockopt` (id 57).
    Getsockopt = 57,
    /// `bpf_override_return` (id 58).
    OverrideReturn = 58,
    /// `bpf_sock_ops_cb_flags_set` (id 59).
    SockOpsCbFlagsSet = 59,
    /// `bpf_msg_redirect_map` (id 60).
    MsgRedirectMap = 60,
    /// `bpf_msg_apply_bytes` (id 61).
    MsgApplyBytes = 61,
    /// `bpf_msg_cork_bytes` (id 62).
    MsgCorkBytes = 62,
    /// `bpf_msg_pull_data` (id 63).
    MsgPullData = 63,
    /// `bpf_bind` (id 64).
    Bind = 64,
    /// `bpf_xdp_adjust_tail` (id 65).
    XdpAdjustTail = 65,
    /// `bpf_skb_get_xfrm_state` (id 66).
    SkbGetXfrmState = 66,
    /// `bpf_get_stack` (id 67).
    GetStack = 67,
    /// `bpf_skb_load_bytes_relative` (id 68).
    SkbLoadBytesRelative = 68,
    /// `bpf_fib_lookup` (id 69).
    FibLookup = 69,
    /// `bpf_sock_hash_update` (id 70).
    SockHashUpdate = 70,
    /// `bpf_msg_redirect_hash` (id 71).
    MsgRedirectHash = 71,
    /// `bpf_sk_redirect_hash` (id 72).
    SkRedirectHash = 72,
    /// `bpf_lwt_push_encap` (id 73).
    LwtPushEncap = 73,
    /// `bpf_lwt_seg6_store_bytes` (id 74).
    LwtSeg6StoreBytes = 74,
    /// `bpf_lwt_seg6_adjust_srh` (id 75).
    LwtSeg6AdjustSrh = 75,
    /// `bpf_lwt_seg6_action` (id 76).
    LwtSeg6Action = 76,
    /// `bpf_rc_repeat` (id 77).
    RcRepeat = 77,
    /// `bpf_rc_keydown` (id 78).
    RcKeydown = 78,
    /// `bpf_skb_cgroup_id` (id 79).
    SkbCgroupId = 79,
    /// `bpf_get_current_cgroup_id` (id 80).
    GetCurrentCgroupId = 80,
    /// `bpf_get_local_storage` (id 81).
    GetLocalStorage = 81,
    /// `bpf_sk_select_reuseport` (id 82).
    SkSelectReuseport = 82,
    /// `bpf_skb_ancestor_cgroup_id` (id 83).
    SkbAncestorCgroupId = 83,
    /// `bpf_sk_lookup_tcp` (id 84).
    SkLookupTcp = 84,
    /// `bpf_sk_lookup_udp` (id 85).
    SkLookupUdp = 85,
    /// `bpf_sk_release` (id 86).
    SkRelease = 86,
    /// `bpf_map_push_elem` (id 87).
    MapPushElem = 87,
    /// `bpf_map_pop_elem` (id 88).
    MapPopElem = 88,
    /// `bpf_map_peek_elem` (id 89).
    MapPeekElem = 89,
    /// `bpf_msg_push_data` (id 90).
    MsgPushData = 90,
    /// `bpf_msg_pop_data` (id 91).
    MsgPopData = 91,
    /// `bpf_rc_pointer_rel` (id 92).
    RcPointerRel = 92,
    /// `bpf_spin_lock` (id 93).
    SpinLock = 93,
    /// `bpf_spin_unlock` (id 94).
    SpinUnlock = 94,
    /// `bpf_sk_fullsock` (id 95).
    SkFullsock = 95,
    /// `bpf_tcp_sock` (id 96).
    TcpSock = 96,
    /// `bpf_skb_ecn_set_ce` (id 97).
    SkbEcnSetCe = 97,
    /// `bpf_get_listener_sock` (id 98).
    GetListenerSock = 98,
    /// `bpf_skc_lookup_tcp` (id 99).
    SkcLookupTcp = 99,
    /// `bpf_tcp_check_syncookie` (id 100).
    TcpCheckSyncookie = 100,
    /// `bpf_sysctl_get_name` (id 101).
    SysctlGetName = 101,
    /// `bpf_sysctl_get_current_value` (id 102).
    SysctlGetCurrentValue = 102,
    /// `bpf_sysctl_get_new_value` (id 103).
    SysctlGetNewValue = 103,
    /// `bpf_sysctl_set_new_value` (id 104).
    SysctlSetNewValue = 104,
    /// `bpf_strtol` (id 105).
    Strtol = 105,
    /// `bpf_strtoul` (id 106).
    Strtoul = 106,
    /// `bpf_sk_storage_get` (id 107).
    SkStorageGet = 107,
    /// `bpf_sk_storage_delete` (id 108).
    SkStorageDelete = 108,
    /// `bpf_send_signal` (id 109).
    SendSignal = 109,
    /// `bpf_tcp_gen_syncookie` (id 110).
    TcpGenSyncookie = 110,
    /// `bpf_skb_output` (id 111).
    SkbOutput = 111,
    /// `bpf_probe_read_user` (id 112).
    ProbeReadUser = 112,
    /// `bpf_probe_read_kernel` (id 113).
    ProbeReadKernel = 113,
    /// `bpf_probe_read_user_str` (id 114).
    ProbeReadUserStr = 114,
    /// `bpf_probe_read_kernel_str` (id 115).
    ProbeReadKernelStr = 115,
    /// `bpf_tcp_send_ack` (id 116).
    TcpSendAck = 116,
    /// `bpf_send_signal_thread` (id 117).
    SendSignalThread = 117,
    /// `bpf_jiffies64` (id 118).
    Jiffies64 = 118,
    /// `bpf_read_branch_records` (id 119).
    ReadBranchRecords = 119,
    /// `bpf_get_ns_current_pid_tgid` (id 120).
    GetNsCurrentPidTgid = 120,
    /// `bpf_xdp_output` (id 121).
    XdpOutput = 121,
    /// `bpf_get_netns_cookie` (id 122).
    GetNetnsCookie = 122,
    /// `bpf_get_current_ancestor_cgroup_id` (id 123).
    GetCurrentAncestorCgroupId = 123,
    /// `bpf_sk_assign` (id 124).
    SkAssign = 124,
    /// `bpf_ktime_get_boot_ns` (id 125).
    KtimeGetBootNs = 125,
    /// `bpf_seq_printf` (id 126).
    SeqPrintf = 126,
    /// `bpf_seq_write` (id 127).
    SeqWrite = 127,
    /// `bpf_sk_cgroup_id` (id 128).
    SkCgroupId = 128,
    /// `bpf_sk_ancestor_cgroup_id` (id 129).
    SkAncestorCgroupId = 129,
    /// `bpf_ringbuf_output` (id 130).
    RingbufOutput = 130,
    /// `bpf_ringbuf_reserve` (id 131).
    RingbufReserve = 131,
    /// `bpf_ringbuf_submit` (id 132).
    RingbufSubmit = 132,
    /// `bpf_ringbuf_discard` (id 133).
    RingbufDiscard = 133,
    /// `bpf_ringbuf_query` (id 134).
    RingbufQuery = 134,
    /// `bpf_csum_level` (id 135).
    CsumLevel = 135,
    /// `bpf_skc_to_tcp6_sock` (id 136).
    SkcToTcp6Sock = 136,
    /// `bpf_skc_to_tcp_sock` (id 137).
    SkcToTcpSock = 137,
    /// `bpf_skc_to_tcp_timewait_sock` (id 138).
    SkcToTcpTimewaitSock = 138,
    /// `bpf_skc_to_tcp_request_sock` (id 139).
    SkcToTcpRequestSock = 139,
    /// `bpf_skc_to_udp6_sock` (id 140).
    SkcToUdp6Sock = 140,
    /// `bpf_get_task_stack` (id 141).
    GetTaskStack = 141,
    /// `bpf_load_hdr_opt` (id 142).
    LoadHdrOpt = 142,
    /// `bpf_store_hdr_opt` (id 143).
    StoreHdrOpt = 143,
    /// `bpf_reserve_hdr_opt` (id 144).
    ReserveHdrOpt = 144,
    /// `bpf_inode_storage_get` (id 145).
    InodeStorageGet = 145,
    /// `bpf_inode_storage_delete` (id 146).
    InodeStorageDelete = 146,
    /// `bpf_d_path` (id 147).
    DPath = 147,
    /// `bpf_copy_from_user` (id 148).
    CopyFromUser = 148,
    /// `bpf_snprintf_btf` (id 149).
    SnprintfBtf = 149,
    /// `bpf_seq_printf_btf` (id 150).
    SeqPrintfBtf = 150,
    /// `bpf_skb_cgroup_classid` (id 151).
    SkbCgroupClassid = 151,
    /// `bpf_redirect_neigh` (id 152).
    RedirectNeigh = 152,
    /// `bpf_per_cpu_ptr` (id 153).
    PerCpuPtr = 153,
    /// `bpf_this_cpu_ptr` (id 154).
    ThisCpuPtr = 154,
    /// `bpf_redirect_peer` (id 155).
    RedirectPeer = 155,
    /// `bpf_task_storage_get` (id 156).
    TaskStorageGet = 156,
    /// `bpf_task_storage_delete` (id 157).
    TaskStorageDelete = 157,
    /// `bpf_get_current_task_btf` (id 158).
    GetCurrentTaskBtf = 158,
    /// `bpf_bprm_opts_set` (id 159).
    BprmOptsSet = 159,
    /// `bpf_ktime_get_coarse_ns` (id 160).
    KtimeGetCoarseNs = 160,
    /// `bpf_ima_inode_hash` (id 161).
    ImaInodeHash = 161,
    /// `bpf_sock_from_file` (id 162).
    SockFromFile = 162,
    /// `bpf_check_mtu` (id 163).
    CheckMtu = 163,
    /// `bpf_for_each_map_elem` (id 164).
    ForEachMapElem = 164,
    /// `bpf_snprintf` (id 165).
    Snprintf = 165,
    /// `bpf_sys_bpf` (id 166).
    SysBpf = 166,
    /// `bpf_btf_find_by_name_kind` (id 167).
    BtfFindByNameKind = 167,
    /// `bpf_sys_close` (id 168).
    SysClose = 168,
    /// `bpf_timer_init` (id 169).
    TimerInit = 169,
    /// `bpf_timer_set_callback` (id 170).
    TimerSetCallback = 170,
    /// `bpf_timer_start` (id 171).
    TimerStart = 171,
    /// `bpf_timer_cancel` (id 172).
    TimerCancel = 172,
    /// `bpf_get_func_ip` (id 173).
    GetFuncIp = 173,
    /// `bpf_get_attach_cookie` (id 174).
    GetAttachCookie = 174,
    /// `bpf_task_pt_regs` (id 175).
    TaskPtRegs = 175,
    /// `bpf_get_branch_snapshot` (id 176).
    GetBranchSnapshot = 176,
    /// `bpf_trace_vprintk` (id 177).
    TraceVprintk = 177,
    /// `bpf_skc_to_unix_sock` (id 178).
    SkcToUnixSock = 178,
    /// `bpf_kallsyms_lookup_name` (id 179).
    KallsymsLookupName = 179,
    /// `bpf_find_vma` (id 180).
    FindVma = 180,
    /// `bpf_loop` (id 181).
    Loop = 181,
    /// `bpf_strncmp` (id 182).
    Strncmp = 182,
    /// `bpf_get_func_arg` (id 183).
    GetFuncArg = 183,
    /// `bpf_get_func_ret` (id 184).
    GetFuncRet = 184,
    /// `bpf_get_func_arg_cnt` (id 185).
    GetFuncArgCnt = 185,
    /// `bpf_get_retval` (id 186).
    GetRetval = 186,
    /// `bpf_set_retval` (id 187).
    SetRetval = 187,
    /// `bpf_xdp_get_buff_len` (id 188).
    XdpGetBuffLen = 188,
    /// `bpf_xdp_load_bytes` (id 189).
    XdpLoadBytes = 189,
    /// `bpf_xdp_store_bytes` (id 190).
    XdpStoreBytes = 190,
    /// `bpf_copy_from_user_task` (id 191).
    CopyFromUserTask = 191,
    /// `bpf_skb_set_tstamp` (id 192).
    SkbSetTstamp = 192,
    /// `bpf_ima_file_hash` (id 193).
    ImaFileHash = 193,
    /// `bpf_kptr_xchg` (id 194).
    KptrXchg = 194,
    /// `bpf_map_lookup_percpu_elem` (id 195).
    MapLookupPercpuElem = 195,
    /// `bpf_skc_to_mptcp_sock` (id 196).
    SkcToMptcpSock = 196,
    /// `bpf_dynptr_from_mem` (id 197).
    DynptrFromMem = 197,
    /// `bpf_ringbuf_reserve_dynptr` (id 198).
    RingbufReserveDynptr = 198,
    /// `bpf_ringbuf_submit_dynptr` (id 199).
    RingbufSubmitDynptr = 199,
    /// `bpf_ringbuf_discard_dynptr` (id 200).
    RingbufDiscardDynptr = 200,
    /// `bpf_dynptr_read` (id 201).
    DynptrRead = 201,
    /// `bpf_dynptr_write` (id 202).
    DynptrWrite = 202,
    /// `bpf_dynptr_data` (id 203).
    DynptrData = 203,
    /// `bpf_tcp_raw_gen_syncookie_ipv4` (id 204).
    TcpRawGenSyncookieIpv4 = 204,
    /// `bpf_tcp_raw_gen_syncookie_ipv6` (id 205).
    TcpRawGenSyncookieIpv6 = 205,
    /// `bpf_tcp_raw_check_syncookie_ipv4` (id 206).
    TcpRawCheckSyncookieIpv4 = 206,
    /// `bpf_tcp_raw_check_syncookie_ipv6` (id 207).
    TcpRawCheckSyncookieIpv6 = 207,
    /// `bpf_ktime_get_tai_ns` (id 208).
    KtimeGetTaiNs = 208,
    /// `bpf_user_ringbuf_drain` (id 209).
    UserRingbufDrain = 209,
    /// `bpf_cgrp_storage_get` (id 210).
    CgrpStorageGet = 210,
    /// `bpf_cgrp_storage_delete` (id 211).
    CgrpStorageDelete = 211,
}

const ALL: [Helper; 211] = [
    Helper::MapLookupElem,
    Helper::MapUpdateElem,
    Helper::MapDeleteElem,
    Helper::ProbeRead,
    Helper::KtimeGetNs,
    Helper::TracePrintk,
    Helper::GetPrandomU32,
    Helper::GetSmpProcessorId,
    Helper::SkbStoreBytes,
    Helper::L3CsumReplace,
    Helper::L4CsumReplace,
    Helper::TailCall,
    Helper::CloneRedirect,
    Helper::GetCurrentPidTgid,
    Helper::GetCurrentUidGid,
    Helper::GetCurrentComm,
    Helper::GetCgroupClassid,
    Helper::SkbVlanPush,
    Helper::SkbVlanPop,
    Helper::SkbGetTunnelKey,
    Helper::SkbSetTunnelKey,
    Helper::PerfEventRead,
    Helper::Redirect,
    Helper::GetRouteRealm,
    Helper::PerfEventOutput,
    Helper::SkbLoadBytes,
    Helper::GetStackid,
    Helper::CsumDiff,
    Helper::SkbGetTunnelOpt,
    Helper::SkbSetTunnelOpt,
    Helper::SkbChangeProto,
    Helper::SkbChangeType,
    Helper::SkbUnderCgroup,
    Helper::GetHashRecalc,
    Helper::GetCurrentTask,
    Helper::ProbeWriteUser,
    Helper::CurrentTaskUnderCgroup,
    Helper::SkbChangeTail,
    Helper::SkbPullData,
    Helper::CsumUpdate,
    Helper::SetHashInvalid,
    Helper::GetNumaNodeId,
    Helper::SkbChangeHead,
    Helper::XdpAdjustHead,
    Helper::ProbeReadStr,
    Helper::GetSocketCookie,
    Helper::GetSocketUid,
    Helper::SetHash,
    Helper::Setsockopt,
    Helper::SkbAdjustRoom,
    Helper::RedirectMap,
    Helper::SkRedirectMap,
    Helper::SockMapUpdate,
    Helper::XdpAdjustMeta,
    Helper::PerfEventReadValue,
    Helper::PerfProgReadValue,
    Helper::Getsockopt,
    Helper::OverrideReturn,
    Helper::SockOpsCbFlagsSet,
    Helper::MsgRedirectMap,
    Helper::MsgApplyBytes,
    Helper::MsgCorkBytes,
    Helper::MsgPullData,
    Helper::Bind,
    Helper::XdpAdjustTail,
    Helper::SkbGetXfrmState,
    Helper::GetStack,
    Helper::SkbLoadBytesRelative,
    Helper::FibLookup,
    Helper::SockHashUpdate,
    Helper::MsgRedirectHash,
    Helper::SkRedirectHash,
    Helper::LwtPushEncap,
    Helper::LwtSeg6StoreBytes,
    Helper::LwtSeg6AdjustSrh,
    Helper::LwtSeg6Action,
    Helper::RcRepeat,
    Helper::RcKeydown,
    Helper::SkbCgroupId,
    Helper::GetCurrentCgroupId,
    Helper::GetLocalStorage,
    Helper::SkSelectReuseport,
    Helper::SkbAncestorCgroupId,
    Helper::SkLookupTcp,
    Helper::SkLookupUdp,
    Helper::SkRelease,
    Helper::MapPushElem,
    Helper::MapPopElem,
    Helper::MapPeekElem,
    Helper::MsgPushData,
    Helper::MsgPopData,
    Helper::RcPointerRel,
    Helper::SpinLock,
    Helper::SpinUnlock,
    Helper::SkFullsock,
    Helper::TcpSock,
    Helper::SkbEcnSetCe,
    Helper::GetListenerSock,
    Helper::SkcLookupTcp,
    Helper::TcpCheckSyncookie,
    Helper::SysctlGetName,
    Helper::SysctlGetCurrentValue,
    Helper::SysctlGetNewValue,
    Helper::SysctlSetNewValue,
    Helper::Strtol,
    Helper::Strtoul,
    Helper::SkStorageGet,
    Helper::SkStorageDelete,
    Helper::SendSignal,
    Helper::TcpGenSyncookie,
    Helper::SkbOutput,
    Helper::ProbeReadUser,
    Helper::ProbeReadKernel,
    Helper::ProbeReadUserStr,
    Helper::ProbeReadKernelStr,
    Helper::TcpSendAck,
    Helper::SendSignalThread,
    Helper::Jiffies64,
    Helper::ReadBranchRecords,
    Helper::GetNsCurrentPidTgid,
    Helper::XdpOutput,
    Helper::GetNetnsCookie,
    Helper::GetCurrentAncestorCgroupId,
    Helper::SkAssign,
    Helper::KtimeGetBootNs,
    Helper::SeqPrintf,
    Helper::SeqWrite,
    Helper::SkCgroupId,
    Helper::SkAncestorCgroupId,
    Helper::RingbufOutput,
    Helper::RingbufReserve,
    Helper::RingbufSubmit,
    Helper::RingbufDiscard,
    Helper::RingbufQuery,
    Helper::CsumLevel,
    Helper::SkcToTcp6Sock,
    Helper::SkcToTcpSock,
    Helper::SkcToTcpTimewaitSock,
    Helper::SkcToTcpRequestSock,
    Helper::SkcToUdp6Sock,
    Helper::GetTaskStack,
    Helper::LoadHdrOpt,
    Helper::StoreHdrOpt,
    Helper::ReserveHdrOpt,
    Helper::InodeStorageGet,
    Helper::InodeStorageDelete,
    Helper::DPath,
    Helper::CopyFromUser,
    Helper::SnprintfBtf,
    Helper::SeqPrintfBtf,
    Helper::SkbCgroupClassid,
    Helper::RedirectNeigh,
    Helper::PerCpuPtr,
    Helper::ThisCpuPtr,
    Helper::RedirectPeer,
    Helper::TaskStorageGet,
    Helper::TaskStorageDelete,
    Helper::GetCurrentTaskBtf,
    Helper::BprmOptsSet,
    Helper::KtimeGetCoarseNs,
    Helper::ImaInodeHash,
    Helper::SockFromFile,
    Helper::CheckMtu,
    Helper::ForEachMapElem,
    Helper::Snprintf,
    Helper::SysBpf,
    Helper::BtfFindByNameKind,
    Helper::SysClose,
    Helper::TimerInit,
    Helper::TimerSetCallback,
    Helper::TimerStart,
    Helper::TimerCancel,
    Helper::GetFuncIp,
    Helper::GetAttachCookie,
    Helper::TaskPtRegs,
    Helper::GetBranchSnapshot,
    Helper::TraceVprintk,
    Helper::SkcToUnixSock,
    Helper::KallsymsLookupName,
    Helper::FindVma,
    Helper::Loop,
    Helper::Strncmp,
    Helper::GetFuncArg,
    Helper::GetFuncRet,
    Helper::GetFuncArgCnt,
    Helper::GetRetval,
    Helper::SetRetval,
    Helper::XdpGetBuffLen,
    Helper::XdpLoadBytes,
    Helper::XdpStoreBytes,
    Helper::CopyFromUserTask,
    Helper::SkbSetTstamp,
    Helper::ImaFileHash,
    Helper::KptrXchg,
    Helper::MapLookupPercpuElem,
    Helper::SkcToMptcpSock,
    Helper::DynptrFromMem,
    Helper::RingbufReserveDynptr,
    Helper::RingbufSubmitDynptr,
    Helper::RingbufDiscardDynptr,
    Helper::DynptrRead,
    Helper::DynptrWrite,
    Helper::DynptrData,
    Helper::TcpRawGenSyncookieIpv4,
    Helper::TcpRawGenSyncookieIpv6,
    Helper::TcpRawCheckSyncookieIpv4,
    Helper::TcpRawCheckSyncookieIpv6,
    Helper::KtimeGetTaiNs,
    Helper::UserRingbufDrain,
    Helper::CgrpStorageGet,
    Helper::CgrpStorageDelete,
];

impl Helper {
    /// The helper id (`BPF_FUNC_*`), the `imm` of its `call`.
    pub const fn id(self) -> i32 {
        self as i32
    }

    /// The C name with its `bpf_` prefix (`bpf_map_lookup_elem`).
    pub fn name(self) -> &'static str {
        // Every variant's id indexes NAMES (checked by a test); the fallback is unreachable.
        helper_name(self.id()).unwrap_or("bpf_unspec")
    }

    /// The helper with this id, if there is one (`1..=211`).
    pub fn from_id(id: i32) -> Option<Helper> {
        let i = usize::try_from(id).ok()?.checked_sub(1)?;
        ALL.get(i).copied()
    }

    /// The helper named `bpf_NAME` (the `bpf_` prefix is required).
    pub fn from_name(name: &str) -> Option<Helper> {
        Helper::from_id(helper_id(name)?)
    }

    /// Every helper, in id order.
    pub fn all() -> impl Iterator<Item = Helper> {
        ALL.iter().copied()
    }
}

/// Names with the `bpf_` prefix, indexed by id (built once).
fn prefixed() -> &'static [String] {
    static P: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    P.get_or_init(|| NAMES.iter().map(|n| format!("bpf_{n}")).collect())
}

/// The name (`bpf_map_lookup_elem`) of helper `id`, if it is one (`1..=211`).
pub fn helper_name(id: i32) -> Option<&'static str> {
    let i = usize::try_from(id).ok().filter(|&i| i != 0)?;
    prefixed().get(i).map(String::as_str)
}

/// The id of the helper named `bpf_NAME`.
pub fn helper_id(name: &str) -> Option<i32> {
    let bare = name.strip_prefix("bpf_")?;
    let i = NAMES.iter().skip(1).position(|n| *n == bare)?;
    i32::try_from(i + 1).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_the_kernel_numbering() {
        assert_eq!(helper_id("bpf_map_lookup_elem"), Some(1));
        assert_eq!(helper_id("bpf_ktime_get_ns"), Some(5));
        assert_eq!(helper_id("bpf_get_current_pid_tgid"), Some(14));
        assert_eq!(helper_id("bpf_ringbuf_output"), Some(130));
        assert_eq!(helper_id("bpf_user_ringbuf_drain"), Some(209));
        assert_eq!(helper_id("bpf_cgrp_storage_delete"), Some(211));
        assert_eq!(Helper::MapLookupElem.id(), 1);
        assert_eq!(Helper::CgrpStorageDelete.id(), 211);
    }

    #[test]
    fn names_and_ids_are_inverse_for_every_helper() {
        for h in Helper::all() {
            assert_eq!(Helper::from_name(h.name()), Some(h));
            assert_eq!(Helper::from_id(h.id()), Some(h));
        }
        assert_eq!(Helper::all().count(), 211);
    }

    #[test]
    fn unspec_and_unprefixed_names_are_not_helpers() {
        assert_eq!(helper_name(0), None);
        assert_eq!(helper_name(212), None);
        assert_eq!(helper_name(-1), None);
        assert_eq!(helper_id("bpf_unspec"), None);
        assert_eq!(helper_id("map_lookup_elem"), None);
        assert_eq!(Helper::from_id(0), None);
    }
}
