/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note OR MIT */
/*
 * fprobe_bpf.h - userspace <-> BPF programs contract of the modern_ebpf
 * source (driver/bpf/)
 *
 * The BPF programs emit exactly the events of falco_probe (fprobe_abi.h:
 * 26-byte header, nparams u16 lengths, parameter bytes).  What differs is
 * the transport and the controls:
 *
 *  - Transport: BPF ring buffers (BPF_MAP_TYPE_RINGBUF), one per group of
 *    CPUs, held by the array-of-maps FBPF_MAP_RINGS indexed by CPU (CPUs of
 *    a group share the same inner map).  Each ring buffer record is a
 *    struct fbpf_rec_prefix followed by one event; the record length is
 *    FBPF_PREFIX_SIZE + the event's len.  The kernel's ring buffer record
 *    header (8 bytes: u32 length with the BUSY and DISCARD bits, u32 page
 *    offset) precedes each record and records are 8-byte aligned.
 *  - Controls: the one-entry array FBPF_MAP_CONFIG (mmapable) holds a
 *    struct fbpf_config that userspace writes in place: syscall mask,
 *    enabled tracepoints, snaplen, clock offset.  Programs are attached
 *    only for the tracepoints enabled (FPROBE_TP_* numbering).
 *  - Tables: FBPF_MAP_EVENTS (PPM_EVENT_MAX entries of struct
 *    fbpf_event_info: parameter count and widths) and FBPF_MAP_SYSCALLS
 *    (FPROBE_SYSCALL_TABLE_SIZE entries of struct fprobe_syscall_entry's
 *    numbers) are filled by userspace from the tables compiled into it
 *    (event_table.c, syscall_table.c) before the programs run.
 *  - Prefilter: FBPF_MAP_PREFILTER, an array of maps with one slot, holds
 *    a one-entry array map whose value is a prefilter program
 *    (fprobe_prefilter.h, validated by userspace); the programs evaluate
 *    it on each filled event before writing it, as the module does.
 *  - Accounting: the array FBPF_MAP_STATS (mmapable, one struct
 *    fbpf_counters per possible CPU).  As for the module, every event the
 *    programs decide to record counts in n_evts, then is either written to
 *    its ring or counted in exactly one of n_filtered (the prefilter
 *    program dropped it), n_drops_buffer, n_drops_pf, n_preemptions.  So
 *    per CPU: n_evts == records of that CPU read from the rings (the prefix
 *    names the CPU) + pending + n_filtered + the three drops.
 */
#ifndef _UAPI_FPROBE_BPF_H
#define _UAPI_FPROBE_BPF_H

#include "fprobe_abi.h"

/* Map names in the BPF object (bpf_object__find_map_by_name). */
#define FBPF_MAP_RINGS "fbpf_rings"
#define FBPF_MAP_CONFIG "fbpf_config"
#define FBPF_MAP_STATS "fbpf_stats"
#define FBPF_MAP_STATE "fbpf_state"
#define FBPF_MAP_EVENTS "fbpf_events"
#define FBPF_MAP_SYSCALLS "fbpf_syscalls"
#define FBPF_MAP_PREFILTER "fbpf_prefilter"

/* Program names, indexed by FPROBE_TP_* (NULL: no such hook). */
#define FBPF_PROG_SYS_ENTER "fbpf_sys_enter"
#define FBPF_PROG_SYS_EXIT "fbpf_sys_exit"
#define FBPF_PROG_SCHED_PROC_EXIT "fbpf_proc_exit"
#define FBPF_PROG_SCHED_PROC_FORK "fbpf_proc_fork"
#define FBPF_PROG_SCHED_PROC_EXEC "fbpf_proc_exec"

/* Largest record (prefix + event) the programs write. */
#define FBPF_REC_MAX (1U << 17)

/* Maximum parameters per event (PPM_MAX_EVENT_PARAMS). */
#define FBPF_MAX_PARAMS 32

/**
 * struct fbpf_rec_prefix - precedes every event in a ring buffer record
 * @cpu: CPU the event was recorded on
 * @reserved: zero
 */
struct fbpf_rec_prefix {
	__u16 cpu;
	__u16 reserved16;
	__u32 reserved;
};

#define FBPF_PREFIX_SIZE 8

/**
 * struct fbpf_config - controls, written by userspace in place
 * @boot_time: CLOCK_REALTIME - CLOCK_BOOTTIME in ns, added to the BPF
 *	boot clock so that event timestamps are CLOCK_REALTIME like the
 *	module's
 * @tp_mask: FPROBE_TP_* bits of the attached programs
 * @snaplen: bytes of I/O buffers captured (1..FPROBE_SNAPLEN_MAX)
 * @syscalls: 1 for each native syscall number to capture
 */
struct fbpf_config {
	__u64 boot_time;
	__u32 tp_mask;
	__u32 snaplen;
	__u8 syscalls[FPROBE_SYSCALL_TABLE_SIZE];
};

/**
 * struct fbpf_event_info - what the programs need of an event's schema
 * @nparams: parameters of the event
 * @width: byte width of each numeric parameter (0 for variable-size ones)
 */
struct fbpf_event_info {
	__u16 nparams;
	__u8 width[FBPF_MAX_PARAMS];
	__u8 pad[6];
};

/**
 * struct fbpf_syscall - FBPF_MAP_SYSCALLS entry (see fprobe_syscall_entry)
 */
struct fbpf_syscall {
	__u16 enter_event;
	__u16 exit_event;
	__u32 flags;
	__u32 ppm_sc;
	__u32 pad;
};

/**
 * struct fbpf_counters - FBPF_MAP_STATS entry of one CPU; same meaning as
 * the fields of struct fprobe_ring_info
 */
struct fbpf_counters {
	__u64 n_evts;
	__u64 n_drops_buffer;
	__u64 n_drops_pf;
	__u64 n_preemptions;
	__u64 n_compat;
	__u64 n_tracepoint_hit;
	__u64 n_filtered;
	__u64 reserved;
};

#endif /* _UAPI_FPROBE_BPF_H */
