/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fill_proc.h - fillers of process events: exec, the clone family, exit,
 * credentials and namespaces (the same parameters as driver/fill_proc.c)
 */
#ifndef _FBPF_FILL_PROC_H
#define _FBPF_FILL_PROC_H

#include "fbpf_path.h"

/* Deepest pid namespace nesting (MAX_PID_NS_LEVEL) */
#define FBPF_PIDNS_MAX 32
/* Threads and ancestors walked when looking for a reaper */
#define FBPF_THREADS_MAX 64
#define FBPF_ANCESTORS_MAX 64
/* Supplementary groups searched (binary search steps) */
#define FBPF_GROUPS_STEPS 17
/* Cgroup subsystems walked */
#define FBPF_SUBSYS_MAX 16

/* 6.1's memory counters (before percpu_counter, 6.2) */
struct mm_rss_stat___old {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___old {
	struct mm_rss_stat___old rss_stat;
} __attribute__((preserve_access_index));

/* inode times: timespec64 fields before 6.6, __i_* in 6.6-6.10 */
struct inode___ts {
	struct timespec64 i_ctime;
	struct timespec64 i_mtime;
} __attribute__((preserve_access_index));

struct inode___ts66 {
	struct timespec64 __i_ctime;
	struct timespec64 __i_mtime;
} __attribute__((preserve_access_index));

static __always_inline struct task_struct *fbpf_current(void)
{
	return (void *)bpf_get_current_task();
}

/* Copy [start, end) of current's memory at the next parameter; length. */
static __always_inline __u32 fbpf_copy_area(struct fbpf_state *st,
					    __u64 start, __u64 end)
{
	__u8 *dst = fbpf_dst(st);
	__u32 len;

	if (!start || end <= start)
		return 0;
	len = end - start > FBPF_MAX_STR - 1 ? FBPF_MAX_STR - 1 : end - start;
	if (fbpf_room(st) < FBPF_MAX_STR)
		return 0;
	if (bpf_probe_read_user(dst, FBPF_MASK(len, FBPF_MAX_STR - 1), (void *)start))
		return 0;
	if (dst[FBPF_MASK(len - 1, FBPF_MAX_STR - 1)] != 0) {
		dst[FBPF_MASK(len, FBPF_MAX_STR - 1)] = 0;
		len++;
	}
	return len;
}

/* exe (argv[0]) and args (the rest, each NUL terminated) */
static __always_inline void fbpf_push_exe_args(struct fbpf_state *st,
					       struct mm_struct *mm)
{
	__u32 len, first;
	long n;

	if (!fbpf_can_push(st))
		return;
	len = mm ? fbpf_copy_area(st, BPF_CORE_READ(mm, arg_start),
				  BPF_CORE_READ(mm, arg_end)) : 0;
	if (!len) {
		fbpf_push_empty(st);
		fbpf_push_empty(st);
		return;
	}
	/* strnlen() + 1 of argv[0], through a copy into the scratch area */
	n = bpf_probe_read_kernel_str(st->tmp, FBPF_MASK(len, 2 * FBPF_MAX_STR - 1),
				      fbpf_dst(st));
	first = n < 1 ? len : n;
	if (first > len)
		first = len;
	fbpf_commit(st, first);
	fbpf_commit(st, len - first);
}

static __always_inline void fbpf_push_env(struct fbpf_state *st,
					  struct mm_struct *mm)
{
	if (!fbpf_can_push(st))
		return;
	fbpf_commit(st, mm ? fbpf_copy_area(st, BPF_CORE_READ(mm, env_start),
					    BPF_CORE_READ(mm, env_end)) : 0);
}

static __always_inline void fbpf_push_cwd(struct fbpf_state *st,
					  struct task_struct *t)
{
	struct fs_struct *fs = BPF_CORE_READ(t, fs);

	if (!fs) {
		fbpf_push_empty(st);
		return;
	}
	fbpf_push_path(st, BPF_CORE_READ(fs, pwd.dentry),
		       BPF_CORE_READ(fs, pwd.mnt));
}

struct fbpf_cg_ctx {
	struct fbpf_state *st;
	struct css_set *cset;
	__u32 used;
};

/* "name=path\0" of cgroup subsystem @id at the parameter's end */
static long fbpf_cg_step(__u32 id, void *data)
{
	struct fbpf_cg_ctx *c = data;
	struct fbpf_state *st = c->st;
	struct css_set *cset = c->cset;
	struct cgroup_subsys_state *css;
	struct cgroup_subsys *ss;
	struct cgroup *cgrp;
	const char *name;
	__u32 used = c->used, plen;
	int pos;
	long n;

	css = BPF_CORE_READ(cset, subsys[FBPF_MASK(id, FBPF_SUBSYS_MAX - 1)]);
	if (!css)
		return 0;
	ss = BPF_CORE_READ(css, ss);
	cgrp = BPF_CORE_READ(css, cgroup);
	if (!ss || !cgrp)
		return 0;
	name = BPF_CORE_READ(ss, legacy_name);
	if (!name)
		name = BPF_CORE_READ(ss, name);
	/* the path, right to left, at the end of st->tmp */
	pos = fbpf_kn_path(st, BPF_CORE_READ(cgrp, kn), FBPF_TMP_SIZE);
	if (pos < 0 || pos > FBPF_TMP_SIZE)
		return 1;
	plen = FBPF_TMP_SIZE - pos;
	n = bpf_probe_read_kernel_str(&st->rec[FBPF_MASK(st->pos + used,
							 FBPF_REC_MASK)],
				      64, name);
	if (n < 1 || used + n + plen + 1 >= FBPF_MAX_STR)
		return 1;
	used += n - 1;
	st->rec[FBPF_MASK(st->pos + used, FBPF_REC_MASK)] = '=';
	used += 1;
	bpf_probe_read_kernel(&st->rec[FBPF_MASK(st->pos + used, FBPF_REC_MASK)],
			      FBPF_MASK(plen, FBPF_MAX_STR - 1),
			      &st->tmp[FBPF_MASK(pos, FBPF_TMP_MASK)]);
	used += plen;
	st->rec[FBPF_MASK(st->pos + used, FBPF_REC_MASK)] = 0;
	c->used = used + 1;
	return 0;
}

/* "subsys=path\0" for every cgroup subsystem of @t */
static __always_inline void fbpf_push_cgroups(struct fbpf_state *st,
					      struct task_struct *t)
{
	struct fbpf_cg_ctx c = { .st = st };
	__u32 count;

	if (!fbpf_can_push(st))
		return;
	if (fbpf_room(st) < FBPF_MAX_STR) {
		st->fail = FBPF_FAIL_FULL;
		return;
	}
	count = bpf_core_enum_value(enum cgroup_subsys_id, CGROUP_SUBSYS_COUNT);
	c.cset = BPF_CORE_READ(t, cgroups);
	if (c.cset)
		bpf_loop(count < FBPF_SUBSYS_MAX ? count : FBPF_SUBSYS_MAX,
			 fbpf_cg_step, &c, 0);
	fbpf_commit(st, c.used);
}

/* controlling tty of current (exec events describe current) */
static __always_inline __u32 fbpf_tty(struct task_struct *t)
{
	struct tty_struct *tty;
	struct tty_driver *drv;
	__u32 major, minor;

	if (t != fbpf_current())
		return 0;
	tty = BPF_CORE_READ(t, signal, tty);
	if (!tty)
		return 0;
	drv = BPF_CORE_READ(tty, driver);
	if (!drv)
		return 0;
	major = BPF_CORE_READ(drv, major);
	minor = BPF_CORE_READ(drv, minor_start) + BPF_CORE_READ(tty, index);
	return fbpf_encode_dev((major << K_MINORBITS) + minor);
}

/* get_mm_counter(): 6.2+ percpu_counter's count, 6.1's atomic */
static __always_inline __u64 fbpf_mm_counter(struct mm_struct *mm, int member)
{
	long v = 0;

	if (bpf_core_field_exists(struct mm_struct___old, rss_stat.count)) {
		struct mm_struct___old *old = (void *)mm;

		if (member == 0)
			v = BPF_CORE_READ(old, rss_stat.count[0].counter);
		else if (member == 1)
			v = BPF_CORE_READ(old, rss_stat.count[1].counter);
		else if (member == 2)
			v = BPF_CORE_READ(old, rss_stat.count[2].counter);
		else
			v = BPF_CORE_READ(old, rss_stat.count[3].counter);
	} else {
		if (member == 0)
			v = BPF_CORE_READ(mm, rss_stat[0].count);
		else if (member == 1)
			v = BPF_CORE_READ(mm, rss_stat[1].count);
		else if (member == 2)
			v = BPF_CORE_READ(mm, rss_stat[2].count);
		else
			v = BPF_CORE_READ(mm, rss_stat[3].count);
	}
	return v < 0 ? 0 : v;
}

static __always_inline void fbpf_push_vm(struct fbpf_state *st,
					 struct mm_struct *mm)
{
	const int shift = K_PAGE_SHIFT - 10;
	/* MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES */
	const int file = 0, anon = 1, swap = 2, shm = 3;
	__u64 rss;

	if (!mm) {
		fbpf_push_num(st, 0);
		fbpf_push_num(st, 0);
		fbpf_push_num(st, 0);
		return;
	}
	rss = fbpf_mm_counter(mm, file) + fbpf_mm_counter(mm, anon) +
	      fbpf_mm_counter(mm, shm);
	fbpf_push_num(st, BPF_CORE_READ(mm, total_vm) << shift);
	fbpf_push_num(st, rss << shift);
	fbpf_push_num(st, fbpf_mm_counter(mm, swap) << shift);
}

static __always_inline __u32 fbpf_clone_flags(__u64 f)
{
	__u32 res = 0;

	if (f & K_CLONE_FILES)
		res |= PPM_CL_CLONE_FILES;
	if (f & K_CLONE_FS)
		res |= PPM_CL_CLONE_FS;
	if (f & K_CLONE_IO)
		res |= PPM_CL_CLONE_IO;
	if (f & K_CLONE_NEWIPC)
		res |= PPM_CL_CLONE_NEWIPC;
	if (f & K_CLONE_NEWNET)
		res |= PPM_CL_CLONE_NEWNET;
	if (f & K_CLONE_NEWNS)
		res |= PPM_CL_CLONE_NEWNS;
	if (f & K_CLONE_NEWPID)
		res |= PPM_CL_CLONE_NEWPID;
	if (f & K_CLONE_NEWUTS)
		res |= PPM_CL_CLONE_NEWUTS;
	if (f & K_CLONE_PARENT)
		res |= PPM_CL_CLONE_PARENT;
	if (f & K_CLONE_PARENT_SETTID)
		res |= PPM_CL_CLONE_PARENT_SETTID;
	if (f & K_CLONE_PTRACE)
		res |= PPM_CL_CLONE_PTRACE;
	if (f & K_CLONE_SIGHAND)
		res |= PPM_CL_CLONE_SIGHAND;
	if (f & K_CLONE_SYSVSEM)
		res |= PPM_CL_CLONE_SYSVSEM;
	if (f & K_CLONE_THREAD)
		res |= PPM_CL_CLONE_THREAD;
	if (f & K_CLONE_UNTRACED)
		res |= PPM_CL_CLONE_UNTRACED;
	if (f & K_CLONE_VM)
		res |= PPM_CL_CLONE_VM;
	if (f & K_CLONE_NEWUSER)
		res |= PPM_CL_CLONE_NEWUSER;
	if (f & K_CLONE_CHILD_CLEARTID)
		res |= PPM_CL_CLONE_CHILD_CLEARTID;
	if (f & K_CLONE_CHILD_SETTID)
		res |= PPM_CL_CLONE_CHILD_SETTID;
	if (f & K_CLONE_SETTLS)
		res |= PPM_CL_CLONE_SETTLS;
	if (f & K_CLONE_VFORK)
		res |= PPM_CL_CLONE_VFORK;
	if (f & K_CLONE_NEWCGROUP)
		res |= PPM_CL_CLONE_NEWCGROUP;
	return res;
}

/* What @child shares with @parent, as clone flags. */
static __always_inline __u64 fbpf_shared_flags(struct task_struct *child,
					       struct task_struct *parent)
{
	__u64 f = 0;

	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		f |= K_CLONE_THREAD;
	if (!parent)
		return f;
	if (BPF_CORE_READ(child, mm) == BPF_CORE_READ(parent, mm))
		f |= K_CLONE_VM;
	if (BPF_CORE_READ(child, files) == BPF_CORE_READ(parent, files))
		f |= K_CLONE_FILES;
	if (BPF_CORE_READ(child, fs) == BPF_CORE_READ(parent, fs))
		f |= K_CLONE_FS;
	if (BPF_CORE_READ(child, sighand) == BPF_CORE_READ(parent, sighand))
		f |= K_CLONE_SIGHAND;
	return f;
}

static __always_inline int fbpf_in_compat(struct task_struct *t)
{
	return BPF_CORE_READ(t, thread_info.status) & FBPF_TS_COMPAT;
}

/*
 * Clone flags of forked @child from sched_process_fork: current is the
 * parent, still inside its clone syscall, so its arguments (and clone3's
 * clone_args) can be read; otherwise what @child shares with current.
 */
static __always_inline __u64 fbpf_parent_clone_flags(struct task_struct *child)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct pt_regs *regs;
	__u64 f3 = 0;
	long nr;

	if ((BPF_CORE_READ(cur, flags) & FBPF_PF_KTHREAD) || fbpf_in_compat(cur))
		return fbpf_shared_flags(child, cur);
	regs = (struct pt_regs *)bpf_task_pt_regs(cur);
	nr = BPF_CORE_READ(regs, orig_ax);
	switch (nr) {
	case FBPF_NR_CLONE:
		return BPF_CORE_READ(regs, di);
	case FBPF_NR_CLONE3:
		f3 = BPF_CORE_READ(regs, di);
		if (f3 && !bpf_probe_read_user(&f3, sizeof(f3), (void *)f3))
			return f3;
		break;
	case FBPF_NR_FORK:
		return 0;
	case FBPF_NR_VFORK:
		return K_CLONE_VM | K_CLONE_VFORK;
	}
	return fbpf_shared_flags(child, cur);
}

/* Kernel clone flags of the syscall recorded (or of a forked child) */
static __always_inline __u64 fbpf_raw_clone_flags(struct fbpf_state *st,
						  struct task_struct *t)
{
	__u64 f3;

	switch (st->type) {
	case PPME_SYSCALL_VFORK_20_X:
		return K_CLONE_VM | K_CLONE_VFORK;
	case PPME_SYSCALL_FORK_20_X:
		return 0;
	case PPME_SYSCALL_CLONE3_X:
		if (st->nr >= 0 && st->ret == 0)
			/* the child: what it shares with its leader or parent */
			return fbpf_shared_flags(t, BPF_CORE_READ(t, pid) !=
						 BPF_CORE_READ(t, tgid) ?
						 BPF_CORE_READ(t, group_leader) :
						 BPF_CORE_READ(t, real_parent));
		if (A(0) && !bpf_probe_read_user(&f3, sizeof(f3), (void *)A(0)))
			return f3;
		return 0;
	}
	if (st->nr < 0)	/* sched_process_fork: current is the parent */
		return fbpf_parent_clone_flags(t);
	return A(0);
}

/* struct pid of @t, and its numbers in the task's active namespace */
static __always_inline struct pid_namespace *fbpf_pid_ns(struct pid *pid)
{
	unsigned int level;

	if (!pid)
		return NULL;
	level = BPF_CORE_READ(pid, level);
	return BPF_CORE_READ(pid, numbers[level & (FBPF_PIDNS_MAX - 1)].ns);
}

static __always_inline struct pid_namespace *fbpf_task_ns(struct task_struct *t)
{
	return fbpf_pid_ns(BPF_CORE_READ(t, thread_pid));
}

/* pid_nr_ns(): the number of @pid in @ns, 0 when not visible there */
static __always_inline __s64 fbpf_pid_nr_ns(struct pid *pid,
					    struct pid_namespace *ns)
{
	unsigned int level;

	if (!pid || !ns)
		return 0;
	level = BPF_CORE_READ(ns, level);
	if (level > BPF_CORE_READ(pid, level))
		return 0;
	level &= FBPF_PIDNS_MAX - 1;
	if (BPF_CORE_READ(pid, numbers[level].ns) != ns)
		return 0;
	return BPF_CORE_READ(pid, numbers[level].nr);
}

/* start of the pid namespace's init in ns since boot, 0 for the host's */
static __always_inline __u64 fbpf_pidns_start(struct task_struct *t)
{
	struct pid_namespace *ns = fbpf_task_ns(t);
	struct task_struct *reaper;

	if (!ns || BPF_CORE_READ(ns, level) == 0)
		return 0;
	reaper = BPF_CORE_READ(ns, child_reaper);
	return reaper ? BPF_CORE_READ(reaper, start_boottime) : 0;
}

static __always_inline void fbpf_push_ids(struct fbpf_state *st,
					  struct task_struct *t)
{
	fbpf_push_num(st, (__s64)BPF_CORE_READ(t, pid));
	fbpf_push_num(st, (__s64)BPF_CORE_READ(t, tgid));
	fbpf_push_num(st, (__s64)BPF_CORE_READ(t, real_parent, pid));
}

static __always_inline void fbpf_push_fdlimit(struct fbpf_state *st,
					      struct task_struct *t)
{
	struct signal_struct *sig = BPF_CORE_READ(t, signal);

	fbpf_push_num(st, sig ? BPF_CORE_READ(sig, rlim[K_RLIMIT_NOFILE].rlim_cur) : 0);
}

/* The parameters clone and exec events share, up to cgroups. */
static __always_inline void fbpf_push_proc_common(struct fbpf_state *st,
						  struct task_struct *t,
						  struct mm_struct *args_mm)
{
	struct mm_struct *mm = BPF_CORE_READ(t, mm);

	fbpf_push_num(st, st->ret);
	fbpf_push_exe_args(st, args_mm);
	fbpf_push_ids(st, t);
	fbpf_push_cwd(st, t);
	fbpf_push_fdlimit(st, t);
	fbpf_push_num(st, BPF_CORE_READ(t, maj_flt));
	fbpf_push_num(st, BPF_CORE_READ(t, min_flt));
	fbpf_push_vm(st, mm);
	fbpf_push_kstr(st, (__u64)__builtin_preserve_access_index(&t->comm));
	fbpf_push_cgroups(st, t);
}

static __always_inline void fbpf_fill_clone(struct fbpf_state *st)
{
	struct task_struct *t = (void *)st->task;
	struct pid_namespace *ns = fbpf_task_ns(t);
	const struct cred *cred = BPF_CORE_READ(t, cred);

	/* a forked child's user memory is a copy of ours */
	fbpf_push_proc_common(st, t, BPF_CORE_READ(fbpf_current(), mm));
	fbpf_push_num(st, fbpf_clone_flags(fbpf_raw_clone_flags(st, t)) |
			  (ns && BPF_CORE_READ(ns, level) ? PPM_CL_CHILD_IN_PIDNS : 0));
	fbpf_push_num(st, BPF_CORE_READ(cred, euid.val));
	fbpf_push_num(st, BPF_CORE_READ(cred, egid.val));
	fbpf_push_num(st, fbpf_pid_nr_ns(BPF_CORE_READ(t, thread_pid), ns));
	fbpf_push_num(st, fbpf_pid_nr_ns(BPF_CORE_READ(t, signal, pids[PIDTYPE_TGID]),
					 ns));
	fbpf_push_num(st, fbpf_pidns_start(t));
}

/* Is @gid among the (sorted) supplementary groups of @cred? */
static __always_inline int fbpf_in_groups(const struct cred *cred, __u32 gid)
{
	struct group_info *gi = BPF_CORE_READ(cred, group_info);
	__u32 lo = 0, hi, mid, g;
	int i;

	if (!gi)
		return 0;
	hi = BPF_CORE_READ(gi, ngroups);
	for (i = 0; i < FBPF_GROUPS_STEPS; i++) {
		if (lo >= hi)
			break;
		mid = lo + (hi - lo) / 2;
		g = BPF_CORE_READ(gi, gid[mid & 0xffff].val);
		if (gid > g)
			lo = mid + 1;
		else if (gid < g)
			hi = mid;
		else
			return 1;
	}
	return 0;
}

/*
 * Could @cred write @inode, or make it writable as its owner?  As the
 * module: permission bits and capabilities of the initial namespace.
 */
static __always_inline int fbpf_exe_writable(const struct cred *cred,
					     struct inode *inode)
{
	__u64 caps = 0;
	__u32 fsuid = BPF_CORE_READ(cred, fsuid.val);
	__u32 fsgid = BPF_CORE_READ(cred, fsgid.val);
	__u32 iuid = BPF_CORE_READ(inode, i_uid.val);
	__u32 igid = BPF_CORE_READ(inode, i_gid.val);
	__u16 mode = BPF_CORE_READ(inode, i_mode);

	bpf_probe_read_kernel(&caps, sizeof(caps),
			      __builtin_preserve_access_index(&cred->cap_effective));
	if (fsuid == iuid || (caps & (1ULL << K_CAP_FOWNER)))
		return 1;
	if (BPF_CORE_READ(inode, i_sb, s_flags) & K_SB_RDONLY)
		return 0;
	if (caps & (1ULL << K_CAP_DAC_OVERRIDE))
		return 1;
	if (fsgid == igid || fbpf_in_groups(cred, igid))
		return (mode & 0020) != 0;
	return (mode & 0002) != 0;
}

/* inode ctime and mtime in ns, across the layouts of struct inode */
static __always_inline void fbpf_inode_times(struct inode *inode, __u64 *ctime,
					     __u64 *mtime)
{
	if (bpf_core_field_exists(struct inode___ts, i_ctime)) {
		struct inode___ts *o = (void *)inode;

		*ctime = BPF_CORE_READ(o, i_ctime.tv_sec) * 1000000000ULL +
			 BPF_CORE_READ(o, i_ctime.tv_nsec);
		*mtime = BPF_CORE_READ(o, i_mtime.tv_sec) * 1000000000ULL +
			 BPF_CORE_READ(o, i_mtime.tv_nsec);
	} else if (bpf_core_field_exists(struct inode___ts66, __i_ctime)) {
		struct inode___ts66 *o = (void *)inode;

		*ctime = BPF_CORE_READ(o, __i_ctime.tv_sec) * 1000000000ULL +
			 BPF_CORE_READ(o, __i_ctime.tv_nsec);
		if (bpf_core_field_exists(struct inode___ts66, __i_mtime))
			*mtime = BPF_CORE_READ(o, __i_mtime.tv_sec) * 1000000000ULL +
				 BPF_CORE_READ(o, __i_mtime.tv_nsec);
		else
			*mtime = BPF_CORE_READ((struct inode___ts *)inode,
					       i_mtime.tv_sec) * 1000000000ULL +
				 BPF_CORE_READ((struct inode___ts *)inode,
					       i_mtime.tv_nsec);
	} else {
		/* bit 31 of the ctime ns flags a queried multigrain ctime */
		*ctime = BPF_CORE_READ(inode, i_ctime_sec) * 1000000000ULL +
			 (BPF_CORE_READ(inode, i_ctime_nsec) & 0x7fffffff);
		*mtime = BPF_CORE_READ(inode, i_mtime_sec) * 1000000000ULL +
			 BPF_CORE_READ(inode, i_mtime_nsec);
	}
}

static __always_inline int fbpf_has_prefix_memfd(const unsigned char *name)
{
	char buf[8] = {};

	bpf_probe_read_kernel(buf, 6, name);
	return buf[0] == 'm' && buf[1] == 'e' && buf[2] == 'm' &&
	       buf[3] == 'f' && buf[4] == 'd' && buf[5] == ':';
}

/* PPM_EXE_* flags, caps, exe inode, times, euid, exe path, pgid, egid */
static __always_inline void fbpf_push_exe_file(struct fbpf_state *st,
					       struct task_struct *t,
					       struct mm_struct *mm,
					       const struct cred *cred,
					       __s64 pgid)
{
	struct linux_binprm *bprm = (void *)st->bprm;
	struct file *exe = NULL;
	struct inode *inode = NULL;
	__u64 ino = 0, ctime = 0, mtime = 0, caps[3] = {};
	__u32 flags = 0;

	if (bprm)
		exe = BPF_CORE_READ(bprm, file);
	else if (mm)
		exe = BPF_CORE_READ(mm, exe_file);
	if (exe) {
		inode = BPF_CORE_READ(exe, f_inode);
		ino = BPF_CORE_READ(inode, i_ino);
		fbpf_inode_times(inode, &ctime, &mtime);
		flags = fbpf_ovl_layer(inode, PPM_EXE_UPPER_LAYER,
				       PPM_EXE_LOWER_LAYER);
		if (fbpf_exe_writable(cred, inode))
			flags |= PPM_EXE_WRITABLE;
		if (fbpf_has_prefix_memfd(BPF_CORE_READ(exe, f_path.dentry,
							d_name.name)))
			flags |= PPM_EXE_FROM_MEMFD;
	}
	bpf_probe_read_kernel(&caps[0], 8,
			      __builtin_preserve_access_index(&cred->cap_inheritable));
	bpf_probe_read_kernel(&caps[1], 8,
			      __builtin_preserve_access_index(&cred->cap_permitted));
	bpf_probe_read_kernel(&caps[2], 8,
			      __builtin_preserve_access_index(&cred->cap_effective));
	fbpf_push_num(st, flags);
	fbpf_push_num(st, caps[0]);
	fbpf_push_num(st, caps[1]);
	fbpf_push_num(st, caps[2]);
	fbpf_push_num(st, ino);
	fbpf_push_num(st, ctime);
	fbpf_push_num(st, mtime);
	fbpf_push_num(st, BPF_CORE_READ(cred, euid.val));
	if (exe)
		fbpf_push_path(st, BPF_CORE_READ(exe, f_path.dentry),
			       BPF_CORE_READ(exe, f_path.mnt));
	else
		fbpf_push_empty(st);
	fbpf_push_num(st, pgid);
	fbpf_push_num(st, BPF_CORE_READ(cred, egid.val));
}

static __always_inline void fbpf_fill_exec(struct fbpf_state *st)
{
	struct task_struct *t = (void *)st->task;
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	const struct cred *cred = BPF_CORE_READ(t, cred);
	struct pid_namespace *ns = fbpf_task_ns(t);
	struct pid *pgrp = BPF_CORE_READ(t, signal, pids[PIDTYPE_PGID]);
	__s64 vpgid, pgid;
	__u32 loginuid = (__u32)-1;

	fbpf_push_proc_common(st, t, st->ret == 0 ? mm : NULL);
	fbpf_push_env(st, st->ret == 0 ? mm : NULL);
	fbpf_push_num(st, fbpf_tty(t));
	vpgid = fbpf_pid_nr_ns(pgrp, ns);
	pgid = pgrp ? BPF_CORE_READ(pgrp, numbers[0].nr) : 0;
	fbpf_push_num(st, vpgid);
	if (bpf_core_field_exists(t->loginuid))
		loginuid = BPF_CORE_READ(t, loginuid.val);
	fbpf_push_num(st, loginuid);
	fbpf_push_exe_file(st, t, mm, cred, pgid);
	if (st->type == PPME_SYSCALL_EXECVE_19_X) {
		struct linux_binprm *bprm = (void *)st->bprm;

		if (bprm)
			fbpf_push_kstr(st, (__u64)BPF_CORE_READ(bprm, filename));
		else
			fbpf_push_ustr(st, st->ret == 0 ? 0 : A(0));
	}
}

struct fbpf_reaper_ctx {
	struct task_struct *p;
	struct task_struct *t;
	struct list_head *node;
	struct list_head *head;
	struct task_struct *init;
	__s64 tid;
};

/* a live thread of the group other than p */
static long fbpf_reaper_thread(__u32 i, void *data)
{
	struct fbpf_reaper_ctx *c = data;
	struct list_head *node = c->node;
	struct task_struct *t;

	if (!node || node == c->head)
		return 1;
	t = (void *)((char *)node -
		     bpf_core_field_offset(struct task_struct, thread_node));
	if (t != c->p && !(BPF_CORE_READ(t, flags) & FBPF_PF_EXITING)) {
		c->tid = BPF_CORE_READ(t, pid);
		return 1;
	}
	c->node = BPF_CORE_READ(node, next);
	return 0;
}

/* the nearest live child-subreaper ancestor below the namespace's init */
static long fbpf_reaper_ancestor(__u32 i, void *data)
{
	struct fbpf_reaper_ctx *c = data;
	struct task_struct *t = c->t, *parent;
	struct signal_struct *sig;

	if (!t || t == c->init)
		return 1;
	sig = BPF_CORE_READ(t, signal);
	if (BPF_CORE_READ_BITFIELD_PROBED(sig, is_child_subreaper) &&
	    !(BPF_CORE_READ(t, flags) & FBPF_PF_EXITING)) {
		c->tid = BPF_CORE_READ(t, pid);
		return 1;
	}
	parent = BPF_CORE_READ(t, real_parent);
	if (parent == t)
		return 1;
	c->t = parent;
	return 0;
}

/*
 * Who will adopt the children of exiting @p: 0 when it has none, else a
 * live thread of its group, the nearest child-subreaper ancestor, or its
 * pid namespace's init (as the kernel's find_new_reaper() decides).
 */
static __always_inline __s64 fbpf_reaper_tid(struct task_struct *p)
{
	struct fbpf_reaper_ctx c = { .p = p };
	struct pid_namespace *ns;
	struct signal_struct *sig;
	struct task_struct *init;

	if (BPF_CORE_READ(p, children.next) ==
	    __builtin_preserve_access_index(&p->children))
		return 0;
	sig = BPF_CORE_READ(p, signal);
	c.head = __builtin_preserve_access_index(&sig->thread_head);
	c.node = BPF_CORE_READ(sig, thread_head.next);
	bpf_loop(FBPF_THREADS_MAX, fbpf_reaper_thread, &c, 0);
	if (c.tid)
		return c.tid;
	ns = fbpf_task_ns(p);
	c.init = ns ? BPF_CORE_READ(ns, child_reaper) : NULL;
	if (!c.init || c.init == p)
		return 0;
	c.t = BPF_CORE_READ(p, real_parent);
	bpf_loop(FBPF_ANCESTORS_MAX, fbpf_reaper_ancestor, &c, 0);
	if (c.tid)
		return c.tid;
	init = c.init;
	return BPF_CORE_READ(init, pid);
}

static __always_inline void fbpf_fill_procexit(struct fbpf_state *st)
{
	struct task_struct *t = (void *)st->task;
	int status = BPF_CORE_READ(t, exit_code);
	int sig = status & 0x7f;

	fbpf_push_num(st, (__s64)status);
	fbpf_push_num(st, (__s64)(sig ? 0 : (status >> 8) & 0xff));
	fbpf_push_num(st, sig);
	fbpf_push_num(st, (status & 0x80) ? 1 : 0);
	fbpf_push_num(st, fbpf_reaper_tid(t));
}

static __always_inline __u32 fbpf_ptrace_request(__u64 req)
{
	switch (req) {
	case K_PTRACE_TRACEME: return PPM_PTRACE_TRACEME;
	case K_PTRACE_PEEKTEXT: return PPM_PTRACE_PEEKTEXT;
	case K_PTRACE_PEEKDATA: return PPM_PTRACE_PEEKDATA;
	case K_PTRACE_PEEKUSR: return PPM_PTRACE_PEEKUSR;
	case K_PTRACE_POKETEXT: return PPM_PTRACE_POKETEXT;
	case K_PTRACE_POKEDATA: return PPM_PTRACE_POKEDATA;
	case K_PTRACE_POKEUSR: return PPM_PTRACE_POKEUSR;
	case K_PTRACE_CONT: return PPM_PTRACE_CONT;
	case K_PTRACE_KILL: return PPM_PTRACE_KILL;
	case K_PTRACE_SINGLESTEP: return PPM_PTRACE_SINGLESTEP;
	case K_PTRACE_ATTACH: return PPM_PTRACE_ATTACH;
	case K_PTRACE_DETACH: return PPM_PTRACE_DETACH;
	case K_PTRACE_SYSCALL: return PPM_PTRACE_SYSCALL;
	case K_PTRACE_SETOPTIONS: return PPM_PTRACE_SETOPTIONS;
	case K_PTRACE_GETEVENTMSG: return PPM_PTRACE_GETEVENTMSG;
	case K_PTRACE_GETSIGINFO: return PPM_PTRACE_GETSIGINFO;
	case K_PTRACE_SETSIGINFO: return PPM_PTRACE_SETSIGINFO;
	case K_PTRACE_GETREGSET: return PPM_PTRACE_GETREGSET;
	case K_PTRACE_SETREGSET: return PPM_PTRACE_SETREGSET;
	case K_PTRACE_SEIZE: return PPM_PTRACE_SEIZE;
	case K_PTRACE_INTERRUPT: return PPM_PTRACE_INTERRUPT;
	case K_PTRACE_LISTEN: return PPM_PTRACE_LISTEN;
	case K_PTRACE_PEEKSIGINFO: return PPM_PTRACE_PEEKSIGINFO;
	case K_PTRACE_GETSIGMASK: return PPM_PTRACE_GETSIGMASK;
	case K_PTRACE_SETSIGMASK: return PPM_PTRACE_SETSIGMASK;
	case K_PTRACE_GETREGS: return PPM_PTRACE_GETREGS;
	case K_PTRACE_SETREGS: return PPM_PTRACE_SETREGS;
	case K_PTRACE_GETFPREGS: return PPM_PTRACE_GETFPREGS;
	case K_PTRACE_SETFPREGS: return PPM_PTRACE_SETFPREGS;
	case K_PTRACE_GETFPXREGS: return PPM_PTRACE_GETFPXREGS;
	case K_PTRACE_SETFPXREGS: return PPM_PTRACE_SETFPXREGS;
	case K_PTRACE_GET_THREAD_AREA: return PPM_PTRACE_GET_THREAD_AREA;
	case K_PTRACE_SET_THREAD_AREA: return PPM_PTRACE_SET_THREAD_AREA;
	case K_PTRACE_ARCH_PRCTL: return PPM_PTRACE_ARCH_PRCTL;
	case K_PTRACE_SYSEMU: return PPM_PTRACE_SYSEMU;
	case K_PTRACE_SYSEMU_SINGLESTEP: return PPM_PTRACE_SYSEMU_SINGLESTEP;
	case K_PTRACE_SINGLEBLOCK: return PPM_PTRACE_SINGLEBLOCK;
	default: return PPM_PTRACE_UNKNOWN;
	}
}

/* PT_DYN parameter holding a u64 (candidate PPM_PTRACE_IDX_UINT64) */
static __always_inline void fbpf_push_dyn_u64(struct fbpf_state *st, __u64 val)
{
	__u8 *dst;

	if (!fbpf_can_push(st))
		return;
	if (fbpf_room(st) < 9) {
		st->fail = FBPF_FAIL_FULL;
		return;
	}
	dst = fbpf_dst(st);
	dst[0] = PPM_PTRACE_IDX_UINT64;
	*(__u64 *)&dst[1] = val;
	fbpf_commit(st, 9);
}

/* Credentials, namespaces, signals and the like (exit events). */
static __always_inline void fbpf_fill_misc(struct fbpf_state *st)
{
	switch (st->type) {
	case PPME_SYSCALL_SETUID_X:
	case PPME_SYSCALL_SETGID_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_num(st, (__u32)A(0));
		break;
	case PPME_SYSCALL_SETREUID_X:
	case PPME_SYSCALL_SETREGID_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_num(st, (__u32)A(0));
		fbpf_push_num(st, (__u32)A(1));
		break;
	case PPME_SYSCALL_SETRESUID_X:
	case PPME_SYSCALL_SETRESGID_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_num(st, (__u32)A(0));
		fbpf_push_num(st, (__u32)A(1));
		fbpf_push_num(st, (__u32)A(2));
		break;
	case PPME_SYSCALL_GETUID_X:
	case PPME_SYSCALL_GETEUID_X:
	case PPME_SYSCALL_GETGID_X:
	case PPME_SYSCALL_GETEGID_X:
		fbpf_push_num(st, (__u32)st->ret);
		break;
	case PPME_SYSCALL_UNSHARE_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_num(st, fbpf_clone_flags(A(0)));
		break;
	case PPME_SYSCALL_SETNS_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_num(st, IA(0));
		fbpf_push_num(st, fbpf_clone_flags(A(1)));
		break;
	case PPME_SYSCALL_PTRACE_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_dyn_u64(st, A(2));
		fbpf_push_dyn_u64(st, A(3));
		fbpf_push_num(st, fbpf_ptrace_request(A(0)));
		fbpf_push_num(st, IA(1));
		break;
	case PPME_SYSCALL_BPF_2_X:
		fbpf_push_num(st, st->ret);
		/* PPM_BPF_* equal the kernel's bpf commands */
		fbpf_push_num(st, A(0));
		break;
	case PPME_SYSCALL_KILL_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_num(st, IA(0));
		fbpf_push_num(st, A(1) & 0xff);
		break;
	case PPME_SYSCALL_SETSID_X:
		fbpf_push_num(st, st->ret);
		break;
	case PPME_SYSCALL_SETPGID_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_num(st, IA(0));
		fbpf_push_num(st, IA(1));
		break;
	}
}

#endif /* _FBPF_FILL_PROC_H */
