/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note OR MIT */
/*
 * fprobe_abi.h - userspace <-> falco_probe contract
 *
 * The only header (besides fprobe_events.h and fprobe_syscalls.h) that
 * userspace compiles: event header, info page layout, mmap offsets, ioctls
 * and the two version numbers.  See driver/README.VERSION.md for when each
 * version is bumped.
 *
 * Ring protocol (one ring per possible CPU, /dev/falco<N>):
 *  - mmap(FPROBE_MMAP_OFF_INFO, page size, PROT_READ|PROT_WRITE) gives the
 *    struct fprobe_ring_info below.
 *  - mmap(FPROBE_MMAP_OFF_DATA, 2 * info->buffer_size, PROT_READ) gives the
 *    data area mapped twice back to back, so an event starting at
 *    (tail % buffer_size) is always contiguous.  PROT_WRITE is refused.
 *  - head and tail are free-running byte counters (they never wrap in
 *    practice); bytes ready = head - tail, offset in the area =
 *    tail & (buffer_size - 1).  The kernel stores head with release
 *    semantics after the event bytes; the reader loads head with acquire
 *    semantics, consumes, then stores tail with release semantics.  The
 *    kernel never writes tail.
 *  - Every event the probes decide to record (syscall in the mask,
 *    tracepoint enabled) increments n_evts first; it is then either
 *    delivered or counted in exactly one of n_filtered (the prefilter
 *    program dropped it), n_drops_buffer, n_drops_pf, n_preemptions.  So
 *    n_evts == delivered + n_filtered + all three drop counters.  An event
 *    that finds the buffer full is still run through the prefilter: it
 *    counts as a drop only if the program would have let it through.
 *  - Events are packed back to back with no padding: a struct fprobe_evt_hdr,
 *    nparams __u16 parameter lengths, then the parameter bytes.
 *  - Controls (ioctls) apply to the device they are issued on: a capture of
 *    every CPU opens and configures every /dev/falco<N>.  All controls are
 *    off when a device is opened.
 */
#ifndef _UAPI_FPROBE_ABI_H
#define _UAPI_FPROBE_ABI_H

#if defined(__KERNEL__) || defined(__linux__)
#include <linux/types.h>
#include <linux/ioctl.h>
#elif defined(__bpf__)
/* BPF programs (driver/bpf/): vmlinux.h, included first, has the types */
#else
/* Non-Linux userspace fallback (e.g. parsing tools): same layout. */
#include <stdint.h>
typedef uint8_t __u8;
typedef uint16_t __u16;
typedef uint32_t __u32;
typedef uint64_t __u64;
typedef int64_t __s64;
#define _IOC(dir, type, nr, size) \
	(((dir) << 30) | ((type) << 8) | (nr) | ((size) << 16))
#define _IOR(type, nr, t) _IOC(2U, (type), (nr), sizeof(t))
#define _IOW(type, nr, t) _IOC(1U, (type), (nr), sizeof(t))
#define _IO(type, nr) _IOC(0U, (type), (nr), 0)
#endif

#include "fprobe_prefilter.h"

/* Versions: major bits 44-62, minor bits 24-43, patch bits 0-23. */
#define FPROBE_VERSION_PACK(major, minor, patch) \
	((((__u64)(major) & 0x7ffffULL) << 44) | \
	 (((__u64)(minor) & 0xfffffULL) << 24) | \
	 ((__u64)(patch) & 0xffffffULL))
#define FPROBE_VERSION_MAJOR(v) (((__u64)(v) >> 44) & 0x7ffffULL)
#define FPROBE_VERSION_MINOR(v) (((__u64)(v) >> 24) & 0xfffffULL)
#define FPROBE_VERSION_PATCH(v) ((__u64)(v) & 0xffffffULL)

#define FPROBE_API_VERSION_MAJOR 1
#define FPROBE_API_VERSION_MINOR 1
#define FPROBE_API_VERSION_PATCH 0
#define FPROBE_SCHEMA_VERSION_MAJOR 1
#define FPROBE_SCHEMA_VERSION_MINOR 0
#define FPROBE_SCHEMA_VERSION_PATCH 0

#define FPROBE_API_VERSION \
	FPROBE_VERSION_PACK(FPROBE_API_VERSION_MAJOR, \
			    FPROBE_API_VERSION_MINOR, \
			    FPROBE_API_VERSION_PATCH)
#define FPROBE_SCHEMA_VERSION \
	FPROBE_VERSION_PACK(FPROBE_SCHEMA_VERSION_MAJOR, \
			    FPROBE_SCHEMA_VERSION_MINOR, \
			    FPROBE_SCHEMA_VERSION_PATCH)

/* Device nodes are FPROBE_DEVICE_PREFIX<cpu>, one per possible CPU. */
#define FPROBE_DEVICE_PREFIX "/dev/falco"

/**
 * struct fprobe_evt_hdr - header of every event in a ring (26 bytes)
 * @ts: CLOCK_REALTIME timestamp, ns since the epoch
 * @tid: thread id (host pid namespace) the event is about
 * @len: total length of the event, header included
 * @type: PPME_* event code (fprobe_events.h)
 * @nparams: number of parameters; nparams __u16 lengths follow
 */
struct fprobe_evt_hdr {
	__u64 ts;
	__u64 tid;
	__u32 len;
	__u16 type;
	__u32 nparams;
} __attribute__((packed));

#define FPROBE_EVT_HDR_SIZE 26

/**
 * struct fprobe_ring_info - the info page of one ring
 * @head: bytes ever produced (kernel writes, release)
 * @tail: bytes ever consumed (userspace writes, release)
 * @n_evts: events seen (delivered + every drop below)
 * @n_drops_buffer: events lost because the buffer was full
 * @n_drops_pf: events lost because user memory faulted
 * @n_preemptions: events lost because the probe was re-entered on this CPU
 * @n_compat: 32-bit (ia32) syscalls skipped; not part of n_evts
 * @buffer_size: size in bytes of the data area (a power of two)
 * @n_tracepoint_hit: probe invocations on this CPU (any event)
 * @n_filtered: events the prefilter program dropped (not drops)
 * @reserved: zero, room for growth without changing the layout
 */
struct fprobe_ring_info {
	__u64 head;
	__u64 tail;
	__u64 n_evts;
	__u64 n_drops_buffer;
	__u64 n_drops_pf;
	__u64 n_preemptions;
	__u64 n_compat;
	__u64 buffer_size;
	__u64 n_tracepoint_hit;
	__u64 n_filtered;
	__u64 reserved[6];
};

/**
 * struct fprobe_stats - counters returned by FPROBE_IOCTL_GET_STATS
 *
 * Same meaning as the info page fields, read atomically with respect to
 * the control path (not to the producer).
 */
struct fprobe_stats {
	__u64 n_evts;
	__u64 n_drops_buffer;
	__u64 n_drops_pf;
	__u64 n_preemptions;
	__u64 n_compat;
	__u64 n_tracepoint_hit;
	__u64 head;
	__u64 tail;
};

/**
 * struct fprobe_stats2 - counters returned by FPROBE_IOCTL_GET_STATS2
 *
 * struct fprobe_stats plus n_filtered (API 1.1); the same meanings as the
 * info page fields.
 */
struct fprobe_stats2 {
	__u64 n_evts;
	__u64 n_drops_buffer;
	__u64 n_drops_pf;
	__u64 n_preemptions;
	__u64 n_compat;
	__u64 n_tracepoint_hit;
	__u64 head;
	__u64 tail;
	__u64 n_filtered;
	__u64 reserved[7];
};

/* mmap offsets (page aligned for any page size up to 1 MiB). */
#define FPROBE_MMAP_OFF_INFO 0x0ULL
#define FPROBE_MMAP_OFF_DATA 0x100000ULL

/* Default and minimum data area sizes (module parameter buffer_bytes). */
#define FPROBE_DEFAULT_BUFFER_BYTES 8388608 /* 8 MiB */

/* Tracepoint indexes (same numbering as falcosecurity KMOD_PROG_*). */
#define FPROBE_TP_SYS_ENTER 0
#define FPROBE_TP_SYS_EXIT 1
#define FPROBE_TP_SCHED_PROC_EXIT 2
/* 3-6: sched_switch, page faults, signal_deliver: not provided */
#define FPROBE_TP_SCHED_PROC_FORK 7
#define FPROBE_TP_SCHED_PROC_EXEC 8
#define FPROBE_TP_MAX 9

/* Snaplen: bytes of I/O buffers captured. */
#define FPROBE_SNAPLEN_DEFAULT 80
#define FPROBE_SNAPLEN_MAX 65000

/* Size of the per-device syscall mask (native syscall numbers). */
#define FPROBE_SYSCALL_TABLE_SIZE 512

#define FPROBE_IOC_MAGIC 0xF7

/* Packed FPROBE_API_VERSION of the module. */
#define FPROBE_IOCTL_GET_API_VERSION _IOR(FPROBE_IOC_MAGIC, 0, __u64)
/* Packed FPROBE_SCHEMA_VERSION of the module. */
#define FPROBE_IOCTL_GET_SCHEMA_VERSION _IOR(FPROBE_IOC_MAGIC, 1, __u64)
/* Add a native syscall number to this device's capture mask. */
#define FPROBE_IOCTL_ENABLE_SYSCALL _IOW(FPROBE_IOC_MAGIC, 2, __u32)
/* Remove a native syscall number from this device's capture mask. */
#define FPROBE_IOCTL_DISABLE_SYSCALL _IOW(FPROBE_IOC_MAGIC, 3, __u32)
/* Attach a tracepoint (FPROBE_TP_*) for this device. */
#define FPROBE_IOCTL_ENABLE_TP _IOW(FPROBE_IOC_MAGIC, 4, __u32)
/* Detach a tracepoint (FPROBE_TP_*) for this device. */
#define FPROBE_IOCTL_DISABLE_TP _IOW(FPROBE_IOC_MAGIC, 5, __u32)
/* Set the snaplen (1..FPROBE_SNAPLEN_MAX). */
#define FPROBE_IOCTL_SET_SNAPLEN _IOW(FPROBE_IOC_MAGIC, 6, __u32)
/* Copy this device's counters to a struct fprobe_stats. */
#define FPROBE_IOCTL_GET_STATS _IOR(FPROBE_IOC_MAGIC, 7, struct fprobe_stats)
/* Clear the whole syscall mask of this device. */
#define FPROBE_IOCTL_DISABLE_ALL_SYSCALLS _IO(FPROBE_IOC_MAGIC, 8)
/*
 * Install a prefilter program (uapi/fprobe_prefilter.h) on this device,
 * replacing the current one at once; -EINVAL for a program the module
 * refuses, of any size (nothing changes then).
 */
#define FPROBE_IOCTL_SET_PREFILTER \
	_IOW(FPROBE_IOC_MAGIC, 9, struct fprobe_pf_load)
/* Remove this device's prefilter program: every event passes again. */
#define FPROBE_IOCTL_CLEAR_PREFILTER _IO(FPROBE_IOC_MAGIC, 10)
/* Copy this device's counters to a struct fprobe_stats2. */
#define FPROBE_IOCTL_GET_STATS2 \
	_IOR(FPROBE_IOC_MAGIC, 11, struct fprobe_stats2)

#endif /* _UAPI_FPROBE_ABI_H */
