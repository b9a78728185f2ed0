/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fprobe.h - internal declarations of the falco_probe module
 */
#ifndef _FPROBE_H
#define _FPROBE_H

#include <linux/types.h>
#include <linux/atomic.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/rcupdate.h>

#include "uapi/fprobe_abi.h"
#include "uapi/fprobe_events.h"
#include "uapi/fprobe_syscalls.h"
#include "prefilter.h"

#define FPROBE_NAME "falco_probe"

/*
 * Maximum bytes of one string parameter assembled in a scratch area
 * (args, env, cgroups).  One page like upstream.
 */
#define FPROBE_STR_STORAGE PAGE_SIZE

/*
 * Room for one event filled aside when the ring is full, so the prefilter
 * still tells a drop from an event it would have filtered.  Larger events
 * count as drops.
 */
#define FPROBE_PF_SCRATCH (4 * PAGE_SIZE)

/**
 * struct fprobe_pf - an installed prefilter program
 * @rcu: freed after a grace period once replaced
 * @size: bytes of @prog
 * @prog: the validated program blob
 */
struct fprobe_pf {
	struct rcu_head rcu;
	u32 size;
	u8 prog[];
};

/**
 * struct fprobe_session - one open /dev/falco<N>: its ring and controls
 * @cpu: CPU of the ring
 * @info: the info page shared with userspace
 * @pages: the data pages, @npages of them
 * @data: kernel mapping of the data area, mapped twice back to back
 * @size: data area size in bytes (power of two)
 * @head: producer position (kernel copy, never read back from userspace)
 * @preempt: re-entrancy gate of the producer
 * @tp_mask: FPROBE_TP_* bits enabled on this device
 * @snaplen: bytes of I/O buffers captured
 * @syscalls: capture mask by native syscall number
 * @scratch: one page for assembling args/env/cgroups (producer only)
 * @pf: the prefilter program, NULL for none (RCU: written under
 *	fprobe_ctl_mutex, read by the probes)
 * @pf_scratch: FPROBE_PF_SCRATCH bytes to fill an event that finds the
 *	ring full (producer only)
 *
 * Controls are written under fprobe_ctl_mutex and read locklessly by the
 * probes with READ_ONCE/test_bit.  The producer fields are touched only by
 * the probe running on @cpu with preemption disabled.
 */
struct fprobe_session {
	unsigned int cpu;
	struct fprobe_ring_info *info;
	struct page **pages;
	unsigned long npages;
	char *data;
	u64 size;
	u64 head;
	atomic_t preempt;
	unsigned long tp_mask;
	u32 snaplen;
	DECLARE_BITMAP(syscalls, FPROBE_SYSCALL_TABLE_SIZE);
	char *scratch;
	struct fprobe_pf __rcu *pf;
	char *pf_scratch;
};

/* Why a record failed; the matching info page counter is incremented. */
enum fprobe_fail {
	FPROBE_OK = 0,
	FPROBE_FAIL_FULL,
	FPROBE_FAIL_PF,
	FPROBE_SKIP,
	FPROBE_FILTERED,
};

/**
 * struct fprobe_rec - an event being written into a ring
 * @s: the session (ring) written to
 * @base: start of the event in the kernel mapping of the data area
 * @room: bytes available for this event
 * @pos: bytes written so far (header and length slots included)
 * @type: PPME_* event code
 * @nparams: parameters the event table declares
 * @cur: parameters pushed so far
 * @fail: first failure, FPROBE_OK while all is well
 * @regs: registers of the syscall, NULL for scheduler events
 * @nr: native syscall number or -1
 * @ret: syscall return value (exit events)
 * @args: the six syscall arguments
 * @task: task the event describes (current, or the child of a fork)
 * @bprm: exec binprm for sched_process_exec, else NULL
 * @aside: the event is being filled in the session's pf_scratch, not in
 *	the ring (which is full): it can only be filtered or dropped
 */
struct fprobe_rec {
	struct fprobe_session *s;
	char *base;
	u32 room;
	u32 pos;
	u16 type;
	u16 nparams;
	u16 cur;
	enum fprobe_fail fail;
	struct pt_regs *regs;
	int nr;
	long ret;
	unsigned long args[6];
	struct task_struct *task;
	struct linux_binprm *bprm;
	bool aside;
};

/* main.c */
extern unsigned long fprobe_buffer_bytes;

/* dev.c */
extern struct mutex fprobe_ctl_mutex;
int fprobe_dev_init(void);
void fprobe_dev_exit(void);
struct fprobe_session *fprobe_session_of(unsigned int cpu);

/* ring.c */
struct fprobe_session *fprobe_session_alloc(unsigned int cpu, u64 size);
void fprobe_session_free(struct fprobe_session *s);
struct page *fprobe_session_page(struct fprobe_session *s, unsigned long pgoff);
bool fprobe_rec_begin(struct fprobe_rec *r, struct fprobe_session *s, u16 type);
void fprobe_rec_aside(struct fprobe_rec *r);
void fprobe_rec_filter(struct fprobe_rec *r, const struct fprobe_pf *pf);
void fprobe_rec_end(struct fprobe_rec *r);
void fprobe_pf_free(struct fprobe_session *s);

/* probes.c */
int fprobe_probes_init(void);
void fprobe_probes_exit(void);
int fprobe_tp_enable(struct fprobe_session *s, unsigned int tp);
int fprobe_tp_disable(struct fprobe_session *s, unsigned int tp);
void fprobe_tp_disable_all(struct fprobe_session *s);

struct inode;

/* fill.c: parameter encoders and shared helpers */
void fprobe_push_empty(struct fprobe_rec *r);
void fprobe_push_u64(struct fprobe_rec *r, u64 val);
void fprobe_push_bytes(struct fprobe_rec *r, const void *p, u32 len);
void fprobe_push_kstr(struct fprobe_rec *r, const char *str);
void fprobe_push_ustr(struct fprobe_rec *r, unsigned long uptr);
void fprobe_push_ubuf(struct fprobe_rec *r, unsigned long uptr, u64 len);
u32 fprobe_room_left(struct fprobe_rec *r);
char *fprobe_param_begin(struct fprobe_rec *r);
void fprobe_param_commit(struct fprobe_rec *r, u32 len);
int fprobe_fill(struct fprobe_rec *r);
u32 fprobe_ovl_layer(struct inode *inode, u32 upper, u32 lower);

/* fill_*.c: event specific fillers */
u32 fprobe_open_flags(unsigned long flags);
u32 fprobe_fd_flags(unsigned long flags);
void fprobe_push_dev_ino(struct fprobe_rec *r, int fd);
int fprobe_fd_type(const void *ctx, long long fd);
void fprobe_push_fd_pair(struct fprobe_rec *r, unsigned long uptr, int *fds);
int fprobe_fill_file(struct fprobe_rec *r);
int fprobe_fill_net(struct fprobe_rec *r);
int fprobe_fill_proc(struct fprobe_rec *r);

#endif /* _FPROBE_H */
