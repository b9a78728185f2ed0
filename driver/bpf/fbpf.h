/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fbpf.h - maps, per-CPU event state and parameter encoders of the BPF
 * programs (the modern_ebpf source)
 *
 * An event is assembled in the CPU's struct fbpf_state (an array map
 * value, indexed by CPU): prefix, 26-byte header, nparams u16 lengths,
 * parameter bytes, exactly as falco_probe lays it out in its rings; then
 * one bpf_ringbuf_output() copies it into the ring buffer of the CPU's
 * group.  Numeric parameters take their width from the event table
 * (FBPF_MAP_EVENTS, filled by userspace from event_table.c), so the
 * fillers never repeat the schema.
 *
 * Offsets into the record are masked with FBPF_REC_MAX - 1 after a bounds
 * check: rec[] is twice FBPF_REC_MAX long, so the verifier can prove every
 * access of at most FBPF_REC_MAX bytes stays inside the map value.
 */
#ifndef _FBPF_H
#define _FBPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "../uapi/fprobe_abi.h"
#include "../uapi/fprobe_events.h"
#include "../uapi/fprobe_syscalls.h"
#include "../uapi/fprobe_bpf.h"
#include "fbpf_kconst.h"

#define FBPF_REC_MASK (FBPF_REC_MAX - 1)

/*
 * @x & @m, kept by the compiler even when it can prove the mask redundant:
 * the verifier needs to see the bound.
 */
#define FBPF_MASK(x, m) ({				\
	__u64 __v = (x);				\
	asm volatile("" : "+r"(__v));			\
	__v & (m);					\
})
/* Where the lengths and the parameters start in the record. */
#define FBPF_LENS_OFF (FBPF_PREFIX_SIZE + FPROBE_EVT_HDR_SIZE)
/* Longest string parameter read from memory (PATH_MAX, like the module) */
#define FBPF_MAX_STR 4096
/* Scratch area for paths and string lists: one page plus a name's room */
#define FBPF_TMP_SIZE 8192
#define FBPF_TMP_MASK (FBPF_TMP_SIZE - 1)

/* Why an event is lost (the counter it lands in). */
enum fbpf_fail {
	FBPF_OK = 0,
	FBPF_FAIL_FULL,
	FBPF_FAIL_PF,
};

/**
 * struct fbpf_state - the event under construction on one CPU
 * @busy: an event is being built (re-entrancy gate)
 * @fail: enum fbpf_fail, first failure
 * @type: PPME_* code
 * @nparams: parameters of the event
 * @cur: parameters pushed so far
 * @pos: bytes of the record written (prefix, header, lengths, params)
 * @nr: native syscall number, -1 for scheduler events
 * @ret: syscall return value (exit events)
 * @args: the six syscall arguments
 * @task: task the event describes (current, or the child of a fork)
 * @bprm: exec binprm for sched_process_exec, else 0
 * @width: byte width of each numeric parameter of @type
 * @rec: the record
 * @tmp: scratch for paths and string lists
 */
struct fbpf_state {
	__u32 busy;
	__u32 fail;
	__u16 type;
	__u16 nparams;
	__u32 cur;
	__u32 pos;
	__s32 nr;
	__s64 ret;
	__u64 args[6];
	__u64 task;
	__u64 bprm;
	__u8 width[FBPF_MAX_PARAMS];
	/* the prefilter's view of the event: parameters, thread name */
	__u32 pf_off[FBPF_MAX_PARAMS];
	__u16 pf_len[FBPF_MAX_PARAMS];
	char pf_comm[16];
	__u32 pf_comm_len;
	__u32 pf_pad;
	__u8 rec[2 * FBPF_REC_MAX];
	__u8 tmp[FBPF_TMP_SIZE + 512];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);	/* set to the number of possible CPUs */
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_RINGBUF);
		__uint(max_entries, 4096);	/* set by userspace */
	});
} fbpf_rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct fbpf_config);
} fbpf_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);	/* set to the number of possible CPUs */
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct fbpf_counters);
} fbpf_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);	/* set to the number of possible CPUs */
	__type(key, __u32);
	__type(value, struct fbpf_state);
} fbpf_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PPM_EVENT_MAX);
	__type(key, __u32);
	__type(value, struct fbpf_event_info);
} fbpf_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FPROBE_SYSCALL_TABLE_SIZE);
	__type(key, __u32);
	__type(value, struct fbpf_syscall);
} fbpf_syscalls SEC(".maps");

static __always_inline struct fbpf_config *fbpf_cfg(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&fbpf_config, &zero);
}

static __always_inline struct fbpf_counters *fbpf_counters_of(__u32 cpu)
{
	return bpf_map_lookup_elem(&fbpf_stats, &cpu);
}

static __always_inline struct fbpf_state *fbpf_state_of(__u32 cpu)
{
	return bpf_map_lookup_elem(&fbpf_state, &cpu);
}

/*
 * fbpf_begin() - start an event of type @type on this CPU
 *
 * Counts it in n_evts; a CPU already building one (re-entered) loses it
 * as a preemption.  Returns the state, or NULL when nothing is to be done.
 */
static __always_inline struct fbpf_state *
fbpf_begin(__u32 cpu, struct fbpf_counters *cnt, __u16 type)
{
	struct fbpf_event_info *ev;
	struct fbpf_state *st;
	__u32 key = type;

	st = fbpf_state_of(cpu);
	ev = bpf_map_lookup_elem(&fbpf_events, &key);
	if (!st || !ev)
		return NULL;
	cnt->n_evts++;
	if (st->busy) {
		cnt->n_preemptions++;
		return NULL;
	}
	st->busy = 1;
	st->fail = FBPF_OK;
	st->type = type;
	st->nparams = ev->nparams > FBPF_MAX_PARAMS ? FBPF_MAX_PARAMS :
						     ev->nparams;
	st->cur = 0;
	st->pos = FBPF_LENS_OFF + 2 * st->nparams;
	st->nr = -1;
	st->ret = 0;
	st->task = 0;
	st->bprm = 0;
	__builtin_memcpy(st->width, ev->width, FBPF_MAX_PARAMS);
	return st;
}

static __always_inline int fbpf_can_push(struct fbpf_state *st)
{
	return st->fail == FBPF_OK && st->cur < st->nparams;
}

/* Record @len bytes written at st->pos as the next parameter. */
static __always_inline void fbpf_commit(struct fbpf_state *st, __u32 len)
{
	__u32 cur = st->cur;

	if (!fbpf_can_push(st))
		return;
	*(__u16 *)&st->rec[FBPF_LENS_OFF + 2 * FBPF_MASK(cur, FBPF_MAX_PARAMS - 1)] =
		(__u16)len;
	st->pos += len;
	st->cur = cur + 1;
}

static __always_inline void fbpf_push_empty(struct fbpf_state *st)
{
	fbpf_commit(st, 0);
}

/* Room left for one parameter (lengths are u16, like the module's). */
static __always_inline __u32 fbpf_room(struct fbpf_state *st)
{
	__u32 left = st->pos >= FBPF_REC_MAX ? 0 : FBPF_REC_MAX - st->pos;

	return left > 0xffff ? 0xffff : left;
}

/* Where the next parameter's bytes go; st->pos is below FBPF_REC_MAX. */
static __always_inline __u8 *fbpf_dst(struct fbpf_state *st)
{
	return &st->rec[FBPF_MASK(st->pos, FBPF_REC_MASK)];
}

/* Push a number with the width the event table gives the parameter. */
static __always_inline void fbpf_push_num(struct fbpf_state *st, __u64 val)
{
	__u32 w;

	if (!fbpf_can_push(st))
		return;
	w = st->width[FBPF_MASK(st->cur, FBPF_MAX_PARAMS - 1)];
	if (!w) {
		fbpf_push_empty(st);
		return;
	}
	if (fbpf_room(st) < 8) {
		st->fail = FBPF_FAIL_FULL;
		return;
	}
	/* little endian: the low @w bytes come first */
	*(__u64 *)fbpf_dst(st) = val;
	fbpf_commit(st, w);
}

/* Push @len bytes of kernel memory (len <= FBPF_MAX_STR). */
static __always_inline void fbpf_push_kbytes(struct fbpf_state *st,
					     const void *src, __u32 len)
{
	if (!fbpf_can_push(st))
		return;
	if (len > FBPF_MAX_STR || len > fbpf_room(st)) {
		st->fail = FBPF_FAIL_FULL;
		return;
	}
	if (len && bpf_probe_read_kernel(fbpf_dst(st), FBPF_MASK(len, FBPF_MAX_STR * 2 - 1),
					 src)) {
		st->fail = FBPF_FAIL_PF;
		return;
	}
	fbpf_commit(st, len);
}

/* Push a NUL-terminated kernel string (0: empty parameter). */
static __always_inline void fbpf_push_kstr(struct fbpf_state *st, __u64 ptr)
{
	long n;

	if (!fbpf_can_push(st))
		return;
	if (!ptr) {
		fbpf_push_empty(st);
		return;
	}
	if (fbpf_room(st) < FBPF_MAX_STR) {
		st->fail = FBPF_FAIL_FULL;
		return;
	}
	n = bpf_probe_read_kernel_str(fbpf_dst(st), FBPF_MAX_STR, (void *)ptr);
	if (n < 0) {
		fbpf_push_empty(st);
		return;
	}
	fbpf_commit(st, n);
}

/*
 * Push a NUL-terminated string from user memory (0: empty parameter);
 * longer than PATH_MAX: truncated.  A fault loses the event (n_drops_pf),
 * as in the module.
 */
static __always_inline void fbpf_push_ustr(struct fbpf_state *st, __u64 uptr)
{
	long n;

	if (!fbpf_can_push(st))
		return;
	if (!uptr) {
		fbpf_push_empty(st);
		return;
	}
	if (fbpf_room(st) < FBPF_MAX_STR) {
		st->fail = FBPF_FAIL_FULL;
		return;
	}
	n = bpf_probe_read_user_str(fbpf_dst(st), FBPF_MAX_STR, (void *)uptr);
	if (n < 0) {
		st->fail = FBPF_FAIL_PF;
		return;
	}
	fbpf_commit(st, n);
}

/* Push up to snaplen bytes of a user buffer of @len bytes. */
static __always_inline void fbpf_push_ubuf(struct fbpf_state *st,
					   struct fbpf_config *cfg,
					   __u64 uptr, __u64 len)
{
	__u32 n;

	if (!fbpf_can_push(st))
		return;
	if (!uptr || (__s64)len <= 0) {
		fbpf_push_empty(st);
		return;
	}
	n = cfg->snaplen;
	if (n > FPROBE_SNAPLEN_MAX)
		n = FPROBE_SNAPLEN_MAX;
	if (len < n)
		n = len;
	if (n > fbpf_room(st)) {
		st->fail = FBPF_FAIL_FULL;
		return;
	}
	if (bpf_probe_read_user(fbpf_dst(st), FBPF_MASK(n, 0xffff), (void *)uptr)) {
		st->fail = FBPF_FAIL_PF;
		return;
	}
	fbpf_commit(st, n);
}

/* fbpf_prefilter.h: the prefilter program's verdict on the event */
int fbpf_g_prefilter(struct fbpf_state *st);

/* Current time as CLOCK_REALTIME ns, like the module's timestamps. */
static __always_inline __u64 fbpf_now(struct fbpf_config *cfg)
{
	return bpf_ktime_get_boot_ns() + cfg->boot_time;
}

/*
 * fbpf_finish() - publish the event built on this CPU, or account for its
 * loss or its filtering; parameters not pushed are sent empty.
 */
static __always_inline void fbpf_finish(struct fbpf_state *st,
					struct fbpf_counters *cnt,
					struct fbpf_config *cfg, __u32 cpu)
{
	struct task_struct *task;
	void *ring;
	__u32 i, size;

	if (st->fail == FBPF_FAIL_PF) {
		cnt->n_drops_pf++;
		goto out;
	}
	if (st->fail != FBPF_OK || st->pos > FBPF_REC_MAX) {
		cnt->n_drops_buffer++;
		goto out;
	}
	for (i = 0; i < FBPF_MAX_PARAMS; i++) {
		if (i >= st->nparams)
			break;
		if (i >= st->cur)
			*(__u16 *)&st->rec[FBPF_LENS_OFF + 2 * i] = 0;
	}
	if (fbpf_g_prefilter(st) == FPROBE_PF_DROP) {
		cnt->n_filtered++;
		goto out;
	}
	task = (struct task_struct *)st->task;
	/* prefix, then the header (packed: stored field by field) */
	*(__u64 *)&st->rec[0] = cpu;
	*(__u64 *)&st->rec[FBPF_PREFIX_SIZE] = fbpf_now(cfg);
	*(__u64 *)&st->rec[FBPF_PREFIX_SIZE + 8] =
		task ? BPF_CORE_READ(task, pid) : 0;
	*(__u32 *)&st->rec[FBPF_PREFIX_SIZE + 16] = st->pos - FBPF_PREFIX_SIZE;
	*(__u16 *)&st->rec[FBPF_PREFIX_SIZE + 20] = st->type;
	*(__u32 *)&st->rec[FBPF_PREFIX_SIZE + 22] = st->nparams;
	ring = bpf_map_lookup_elem(&fbpf_rings, &cpu);
	size = st->pos;
	if (!ring || size > FBPF_REC_MAX ||
	    bpf_ringbuf_output(ring, st->rec, FBPF_MASK(size, 2 * FBPF_REC_MAX - 1),
			       BPF_RB_NO_WAKEUP))
		cnt->n_drops_buffer++;
out:
	st->busy = 0;
}

#define A(i) (st->args[(i)])
/* int-typed arguments (fds, dirfds) are sign extended from 32 bits */
#define IA(i) ((__s64)(int)st->args[(i)])

#endif /* _FBPF_H */
