// SPDX-License-Identifier: GPL-2.0
/*
 * fill_proc.c - fillers of process events: exec, clone family, exit,
 * credentials and namespaces
 *
 * Everything runs with preemption disabled: task fields are read under
 * RCU or the spinlocks that protect them, user memory without faulting.
 * String lists (args, env, cgroups) are assembled in the session's one
 * page scratch area and truncated to it.
 */
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/mm.h>
#include <linux/sched/task_stack.h>
#include <linux/compat.h>
#include <linux/binfmts.h>
#include <linux/fs_struct.h>
#include <linux/dcache.h>
#include <linux/cgroup.h>
#include <linux/pid_namespace.h>
#include <linux/cred.h>
#include <linux/tty.h>
#include <linux/audit.h>
#include <linux/ptrace.h>
#include <linux/uaccess.h>
#include <linux/capability.h>
#include <asm/syscall.h>

#include "compat.h"
#include "fprobe.h"

#define A(i) (r->args[i])
#define IA(i) ((s64)(int)r->args[i])

/* Copy [start, end) of current's user memory into scratch; length or 0. */
static u32 fprobe_copy_area(struct fprobe_rec *r, unsigned long start,
			    unsigned long end)
{
	unsigned long len;

	if (!start || end <= start)
		return 0;
	len = min_t(unsigned long, end - start, FPROBE_STR_STORAGE - 1);
	if (copy_from_user_nofault(r->s->scratch,
				   (const void __user *)start, len))
		return 0;
	if (r->s->scratch[len - 1] != '\0')
		r->s->scratch[len++] = '\0';
	return len;
}

/* exe (argv[0]) and args (the rest, each NUL terminated) */
static void fprobe_push_exe_args(struct fprobe_rec *r, struct mm_struct *mm)
{
	u32 len = mm ? fprobe_copy_area(r, mm->arg_start, mm->arg_end) : 0;
	u32 first;

	if (!len) {
		fprobe_push_empty(r);
		fprobe_push_empty(r);
		return;
	}
	first = strnlen(r->s->scratch, len) + 1;
	fprobe_push_bytes(r, r->s->scratch, first);
	fprobe_push_bytes(r, r->s->scratch + first, len - first);
}

static void fprobe_push_env(struct fprobe_rec *r, struct mm_struct *mm)
{
	u32 len = mm ? fprobe_copy_area(r, mm->env_start, mm->env_end) : 0;

	fprobe_push_bytes(r, r->s->scratch, len);
}

static void fprobe_push_path(struct fprobe_rec *r, const struct path *path)
{
	char *p = d_path(path, r->s->scratch, FPROBE_STR_STORAGE);

	if (IS_ERR(p))
		fprobe_push_empty(r);
	else
		fprobe_push_kstr(r, p);
}

static void fprobe_push_cwd(struct fprobe_rec *r, struct task_struct *t)
{
	struct fs_struct *fs = t->fs;

	if (!fs) {
		fprobe_push_empty(r);
		return;
	}
	/* fs->lock keeps pwd (and its references) stable during d_path. */
	spin_lock(&fs->lock);
	fprobe_push_path(r, &fs->pwd);
	spin_unlock(&fs->lock);
}

/* "subsys=path\0" for every cgroup subsystem of @t */
static void fprobe_push_cgroups(struct fprobe_rec *r, struct task_struct *t)
{
	char *buf = r->s->scratch;
	u32 used = 0;
	int id, n;

	rcu_read_lock();
	for (id = 0; id < CGROUP_SUBSYS_COUNT; id++) {
		struct cgroup_subsys_state *css = task_css(t, id);
		const char *name;

		if (!css || !css->ss || !css->cgroup)
			continue;
		name = css->ss->legacy_name ? css->ss->legacy_name : css->ss->name;
		n = snprintf(buf + used, FPROBE_STR_STORAGE - used, "%s=", name);
		if (n < 0 || used + n >= FPROBE_STR_STORAGE - 2)
			break;
		n = cgroup_path(css->cgroup, buf + used + n,
				FPROBE_STR_STORAGE - used - n) >= 0 ? n : -1;
		if (n < 0)
			break;
		n = strnlen(buf + used, FPROBE_STR_STORAGE - used);
		if (used + n + 1 >= FPROBE_STR_STORAGE)
			break;
		used += n + 1;
	}
	rcu_read_unlock();
	fprobe_push_bytes(r, buf, used);
}

static u32 fprobe_tty(struct task_struct *t)
{
	struct tty_struct *tty;
	u32 dev = 0;

	/* only exec events need it and they describe current */
	if (t != current)
		return 0;
	tty = get_current_tty();
	if (tty) {
		dev = new_encode_dev(tty_devnum(tty));
		tty_kref_put(tty);
	}
	return dev;
}

static void fprobe_push_vm(struct fprobe_rec *r, struct mm_struct *mm)
{
	const int shift = PAGE_SHIFT - 10;

	fprobe_push_u64(r, mm ? mm->total_vm << shift : 0);
	fprobe_push_u64(r, mm ? get_mm_rss(mm) << shift : 0);
	fprobe_push_u64(r, mm ? get_mm_counter(mm, MM_SWAPENTS) << shift : 0);
}

static u32 fprobe_clone_flags(unsigned long f)
{
	static const struct { unsigned long k; u32 p; } map[] = {
		{ CLONE_FILES, PPM_CL_CLONE_FILES },
		{ CLONE_FS, PPM_CL_CLONE_FS },
		{ CLONE_IO, PPM_CL_CLONE_IO },
		{ CLONE_NEWIPC, PPM_CL_CLONE_NEWIPC },
		{ CLONE_NEWNET, PPM_CL_CLONE_NEWNET },
		{ CLONE_NEWNS, PPM_CL_CLONE_NEWNS },
		{ CLONE_NEWPID, PPM_CL_CLONE_NEWPID },
		{ CLONE_NEWUTS, PPM_CL_CLONE_NEWUTS },
		{ CLONE_PARENT, PPM_CL_CLONE_PARENT },
		{ CLONE_PARENT_SETTID, PPM_CL_CLONE_PARENT_SETTID },
		{ CLONE_PTRACE, PPM_CL_CLONE_PTRACE },
		{ CLONE_SIGHAND, PPM_CL_CLONE_SIGHAND },
		{ CLONE_SYSVSEM, PPM_CL_CLONE_SYSVSEM },
		{ CLONE_THREAD, PPM_CL_CLONE_THREAD },
		{ CLONE_UNTRACED, PPM_CL_CLONE_UNTRACED },
		{ CLONE_VM, PPM_CL_CLONE_VM },
		{ CLONE_NEWUSER, PPM_CL_CLONE_NEWUSER },
		{ CLONE_CHILD_CLEARTID, PPM_CL_CLONE_CHILD_CLEARTID },
		{ CLONE_CHILD_SETTID, PPM_CL_CLONE_CHILD_SETTID },
		{ CLONE_SETTLS, PPM_CL_CLONE_SETTLS },
		{ CLONE_VFORK, PPM_CL_CLONE_VFORK },
		{ CLONE_NEWCGROUP, PPM_CL_CLONE_NEWCGROUP },
	};
	u32 res = 0;
	int i;

	for (i = 0; i < ARRAY_SIZE(map); i++)
		if (f & map[i].k)
			res |= map[i].p;
	return res;
}

/* What @child shares with @parent, as clone flags. */
static unsigned long fprobe_shared_flags(struct task_struct *child,
					 struct task_struct *parent)
{
	unsigned long f = 0;

	if (child->pid != child->tgid)
		f |= CLONE_THREAD;
	if (!parent)
		return f;
	if (child->mm == parent->mm)
		f |= CLONE_VM;
	if (child->files == parent->files)
		f |= CLONE_FILES;
	if (child->fs == parent->fs)
		f |= CLONE_FS;
	if (child->sighand == parent->sighand)
		f |= CLONE_SIGHAND;
	return f;
}

/*
 * Clone flags of forked @child, from sched_process_fork: current is the
 * parent, still inside its clone syscall, so its arguments (and clone3's
 * clone_args in its memory) can be read.  Otherwise (a kernel-internal
 * fork, an ia32 caller, unreadable args) what @child shares with current.
 */
static unsigned long fprobe_parent_clone_flags(struct task_struct *child)
{
	struct pt_regs *regs = task_pt_regs(current);
	unsigned long args[6];
	u64 f3;

	if (current->flags & PF_KTHREAD || in_compat_syscall())
		return fprobe_shared_flags(child, current);
	switch (syscall_get_nr(current, regs)) {
	case __NR_clone:
		syscall_get_arguments(current, regs, args);
		return args[0];
	case __NR_clone3:
		syscall_get_arguments(current, regs, args);
		if (args[0] && !copy_from_user_nofault(&f3,
				(const void __user *)args[0], sizeof(f3)))
			return f3;
		break;
	case __NR_fork:
		return 0;
	case __NR_vfork:
		return CLONE_VM | CLONE_VFORK;
	}
	return fprobe_shared_flags(child, current);
}

/* Kernel clone flags of the syscall being recorded (or of a forked child) */
static unsigned long fprobe_raw_clone_flags(struct task_struct *t,
					    struct fprobe_rec *r)
{
	unsigned long f;
	u64 f3;

	switch (r->type) {
	case PPME_SYSCALL_VFORK_20_X:
		return CLONE_VM | CLONE_VFORK;
	case PPME_SYSCALL_FORK_20_X:
		return 0;
	case PPME_SYSCALL_CLONE3_X:
		if (r->regs && r->ret == 0) {
			/*
			 * The child cannot read clone_args: they live in the
			 * parent's memory, maybe already reused.  Say what it
			 * shares with its thread group leader or parent.
			 */
			rcu_read_lock();
			f = fprobe_shared_flags(t, t->pid != t->tgid ?
						t->group_leader :
						rcu_dereference(t->real_parent));
			rcu_read_unlock();
			return f;
		}
		if (A(0) && !copy_from_user_nofault(&f3, (const void __user *)A(0),
						    sizeof(f3)))
			return f3;
		return 0;
	}
	if (!r->regs)	/* sched_process_fork: current is the parent */
		return fprobe_parent_clone_flags(t);
	return A(0);
}

static u32 fprobe_ns_flags(struct task_struct *t)
{
	u32 res = 0;

	if (task_active_pid_ns(t) != &init_pid_ns)
		res |= PPM_CL_CHILD_IN_PIDNS;
	return res;
}

/* start of the pid namespace's init in ns since boot, 0 for the host's */
static u64 fprobe_pidns_start(struct task_struct *t)
{
	struct pid_namespace *ns = task_active_pid_ns(t);

	if (!ns || ns == &init_pid_ns || !ns->child_reaper)
		return 0;
	return ns->child_reaper->start_boottime;
}

static void fprobe_push_ids(struct fprobe_rec *r, struct task_struct *t)
{
	pid_t ptid;

	rcu_read_lock();
	ptid = task_pid_nr(rcu_dereference(t->real_parent));
	rcu_read_unlock();
	fprobe_push_u64(r, (s64)t->pid);
	fprobe_push_u64(r, (s64)t->tgid);
	fprobe_push_u64(r, (s64)ptid);
}

static void fprobe_push_fdlimit(struct fprobe_rec *r, struct task_struct *t)
{
	fprobe_push_u64(r, t->signal ?
			READ_ONCE(t->signal->rlim[RLIMIT_NOFILE].rlim_cur) : 0);
}

static void fprobe_fill_clone(struct fprobe_rec *r)
{
	struct task_struct *t = r->task;
	struct mm_struct *mm = t->mm;
	const struct cred *cred;
	u32 uid, gid;

	fprobe_push_u64(r, r->ret);
	/* a forked child's user memory is a copy of ours */
	fprobe_push_exe_args(r, current->mm);
	fprobe_push_ids(r, t);
	fprobe_push_cwd(r, t);
	fprobe_push_fdlimit(r, t);
	fprobe_push_u64(r, t->maj_flt);
	fprobe_push_u64(r, t->min_flt);
	fprobe_push_vm(r, mm);
	fprobe_push_kstr(r, t->comm);
	fprobe_push_cgroups(r, t);
	fprobe_push_u64(r, fprobe_clone_flags(fprobe_raw_clone_flags(t, r)) |
			   fprobe_ns_flags(t));
	rcu_read_lock();
	cred = __task_cred(t);
	uid = from_kuid_munged(&init_user_ns, cred->euid);
	gid = from_kgid_munged(&init_user_ns, cred->egid);
	rcu_read_unlock();
	fprobe_push_u64(r, uid);
	fprobe_push_u64(r, gid);
	fprobe_push_u64(r, (s64)task_pid_nr_ns(t, task_active_pid_ns(t)));
	fprobe_push_u64(r, (s64)task_tgid_nr_ns(t, task_active_pid_ns(t)));
	fprobe_push_u64(r, fprobe_pidns_start(t));
}

/* Is @gid among the supplementary groups (kept sorted) of @gi? */
static bool fprobe_in_groups(const struct group_info *gi, kgid_t gid)
{
	unsigned int lo = 0, hi = gi->ngroups, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (gid_gt(gid, gi->gid[mid]))
			lo = mid + 1;
		else if (gid_lt(gid, gi->gid[mid]))
			hi = mid;
		else
			return true;
	}
	return false;
}

/*
 * Could @cred write @inode, or make it writable as its owner?  A lockless
 * reading of inode_permission(MAY_WRITE) || inode_owner_or_capable() for
 * the initial user namespace, without LSM hooks.
 */
static bool fprobe_exe_writable(const struct cred *cred, struct inode *inode)
{
	if (uid_eq(cred->fsuid, inode->i_uid) ||
	    cap_raised(cred->cap_effective, CAP_FOWNER))
		return true;
	if (IS_RDONLY(inode))
		return false;
	if (cap_raised(cred->cap_effective, CAP_DAC_OVERRIDE))
		return true;
	if (gid_eq(cred->fsgid, inode->i_gid) ||
	    fprobe_in_groups(cred->group_info, inode->i_gid))
		return inode->i_mode & 0020;
	return inode->i_mode & 0002;
}

/* PPM_EXE_* flags of executable @exe run by @t; under rcu_read_lock() */
static u32 fprobe_exe_flags(struct task_struct *t, struct file *exe)
{
	struct inode *inode = file_inode(exe);
	const char *name = exe->f_path.dentry->d_name.name;
	u32 flags = fprobe_ovl_layer(inode, PPM_EXE_UPPER_LAYER,
				     PPM_EXE_LOWER_LAYER);

	if (fprobe_exe_writable(__task_cred(t), inode))
		flags |= PPM_EXE_WRITABLE;
	if (!strncmp(name, "memfd:", 6))
		flags |= PPM_EXE_FROM_MEMFD;
	return flags;
}

static void fprobe_push_exe_file(struct fprobe_rec *r, struct mm_struct *mm,
				 u64 *caps, u32 uid, u32 gid, pid_t pgid)
{
	struct file *exe = NULL;
	struct inode *inode;
	u64 ino = 0, ctime = 0, mtime = 0;
	u32 flags = 0;

	rcu_read_lock();
	if (r->bprm)
		exe = r->bprm->file;
	else if (mm)
		exe = rcu_dereference(mm->exe_file);
	if (exe) {
		inode = file_inode(exe);
		ino = inode->i_ino;
		ctime = timespec64_to_ns(&fprobe_inode_ctime(inode));
		mtime = timespec64_to_ns(&fprobe_inode_mtime(inode));
		flags = fprobe_exe_flags(r->task, exe);
	}
	fprobe_push_u64(r, flags);
	fprobe_push_u64(r, caps[0]);
	fprobe_push_u64(r, caps[1]);
	fprobe_push_u64(r, caps[2]);
	fprobe_push_u64(r, ino);
	fprobe_push_u64(r, ctime);
	fprobe_push_u64(r, mtime);
	fprobe_push_u64(r, uid);
	if (exe)
		fprobe_push_path(r, &exe->f_path);
	else
		fprobe_push_empty(r);
	rcu_read_unlock();
	fprobe_push_u64(r, (s64)pgid);
	fprobe_push_u64(r, gid);
}

static void fprobe_fill_exec(struct fprobe_rec *r)
{
	struct task_struct *t = r->task;
	struct mm_struct *mm = t->mm;
	const struct cred *cred;
	u64 caps[3];
	u32 uid, gid, loginuid;
	pid_t vpgid, pgid;

	fprobe_push_u64(r, r->ret);
	fprobe_push_exe_args(r, r->ret == 0 ? mm : NULL);
	fprobe_push_ids(r, t);
	fprobe_push_cwd(r, t);
	fprobe_push_fdlimit(r, t);
	fprobe_push_u64(r, t->maj_flt);
	fprobe_push_u64(r, t->min_flt);
	fprobe_push_vm(r, mm);
	fprobe_push_kstr(r, t->comm);
	fprobe_push_cgroups(r, t);
	fprobe_push_env(r, r->ret == 0 ? mm : NULL);
	fprobe_push_u64(r, fprobe_tty(t));
	rcu_read_lock();
	vpgid = task_pgrp_nr_ns(t, task_active_pid_ns(t));
	pgid = task_pgrp_nr_ns(t, &init_pid_ns);
	cred = __task_cred(t);
	uid = from_kuid_munged(&init_user_ns, cred->euid);
	gid = from_kgid_munged(&init_user_ns, cred->egid);
	caps[0] = fprobe_cap_u64(cred->cap_inheritable);
	caps[1] = fprobe_cap_u64(cred->cap_permitted);
	caps[2] = fprobe_cap_u64(cred->cap_effective);
	rcu_read_unlock();
	fprobe_push_u64(r, (s64)vpgid);
	loginuid = from_kuid(&init_user_ns, audit_get_loginuid(t));
	fprobe_push_u64(r, loginuid);
	fprobe_push_exe_file(r, mm, caps, uid, gid, pgid);
	if (r->type == PPME_SYSCALL_EXECVE_19_X) {
		if (r->bprm)
			fprobe_push_kstr(r, r->bprm->filename);
		else
			fprobe_push_ustr(r, r->ret == 0 ? 0 : A(0));
	}
}

/*
 * Who will adopt the children of exiting @p: 0 when it has none, else
 * (as the kernel's find_new_reaper() decides) a live thread of its group,
 * the nearest child-subreaper ancestor, or its pid namespace's init.
 */
static pid_t fprobe_reaper_tid(struct task_struct *p)
{
	struct pid_namespace *ns;
	struct task_struct *t, *init;
	pid_t tid = 0;

	if (list_empty(&p->children))
		return 0;
	rcu_read_lock();
	for_each_thread(p, t) {
		if (t != p && !(t->flags & PF_EXITING)) {
			tid = task_pid_nr(t);
			goto out_unlock;
		}
	}
	ns = task_active_pid_ns(p);
	init = ns ? READ_ONCE(ns->child_reaper) : NULL;
	if (!init || init == p)
		goto out_unlock;
	for (t = rcu_dereference(p->real_parent); t && t != init;
	     t = rcu_dereference(t->real_parent)) {
		if (t->signal->is_child_subreaper && !(t->flags & PF_EXITING)) {
			tid = task_pid_nr(t);
			goto out_unlock;
		}
		if (t == rcu_access_pointer(t->real_parent))
			break;
	}
	tid = task_pid_nr(init);
out_unlock:
	rcu_read_unlock();
	return tid;
}

static void fprobe_fill_procexit(struct fprobe_rec *r)
{
	int status = r->task->exit_code;
	int sig = status & 0x7f;

	fprobe_push_u64(r, (s64)status);
	fprobe_push_u64(r, (s64)(sig ? 0 : (status >> 8) & 0xff));
	fprobe_push_u64(r, sig);
	fprobe_push_u64(r, (status & 0x80) ? 1 : 0);
	fprobe_push_u64(r, (s64)fprobe_reaper_tid(r->task));
}

static u32 fprobe_ptrace_request(unsigned long req)
{
	switch (req) {
	case PTRACE_TRACEME: return PPM_PTRACE_TRACEME;
	case PTRACE_PEEKTEXT: return PPM_PTRACE_PEEKTEXT;
	case PTRACE_PEEKDATA: return PPM_PTRACE_PEEKDATA;
	case PTRACE_PEEKUSR: return PPM_PTRACE_PEEKUSR;
	case PTRACE_POKETEXT: return PPM_PTRACE_POKETEXT;
	case PTRACE_POKEDATA: return PPM_PTRACE_POKEDATA;
	case PTRACE_POKEUSR: return PPM_PTRACE_POKEUSR;
	case PTRACE_CONT: return PPM_PTRACE_CONT;
	case PTRACE_KILL: return PPM_PTRACE_KILL;
	case PTRACE_SINGLESTEP: return PPM_PTRACE_SINGLESTEP;
	case PTRACE_ATTACH: return PPM_PTRACE_ATTACH;
	case PTRACE_DETACH: return PPM_PTRACE_DETACH;
	case PTRACE_SYSCALL: return PPM_PTRACE_SYSCALL;
	case PTRACE_SETOPTIONS: return PPM_PTRACE_SETOPTIONS;
	case PTRACE_GETEVENTMSG: return PPM_PTRACE_GETEVENTMSG;
	case PTRACE_GETSIGINFO: return PPM_PTRACE_GETSIGINFO;
	case PTRACE_SETSIGINFO: return PPM_PTRACE_SETSIGINFO;
	case PTRACE_GETREGSET: return PPM_PTRACE_GETREGSET;
	case PTRACE_SETREGSET: return PPM_PTRACE_SETREGSET;
	case PTRACE_SEIZE: return PPM_PTRACE_SEIZE;
	case PTRACE_INTERRUPT: return PPM_PTRACE_INTERRUPT;
	case PTRACE_LISTEN: return PPM_PTRACE_LISTEN;
	case PTRACE_PEEKSIGINFO: return PPM_PTRACE_PEEKSIGINFO;
	case PTRACE_GETSIGMASK: return PPM_PTRACE_GETSIGMASK;
	case PTRACE_SETSIGMASK: return PPM_PTRACE_SETSIGMASK;
	case PTRACE_GETREGS: return PPM_PTRACE_GETREGS;
	case PTRACE_SETREGS: return PPM_PTRACE_SETREGS;
	case PTRACE_GETFPREGS: return PPM_PTRACE_GETFPREGS;
	case PTRACE_SETFPREGS: return PPM_PTRACE_SETFPREGS;
	case PTRACE_GETFPXREGS: return PPM_PTRACE_GETFPXREGS;
	case PTRACE_SETFPXREGS: return PPM_PTRACE_SETFPXREGS;
	case PTRACE_GET_THREAD_AREA: return PPM_PTRACE_GET_THREAD_AREA;
	case PTRACE_SET_THREAD_AREA: return PPM_PTRACE_SET_THREAD_AREA;
	case PTRACE_ARCH_PRCTL: return PPM_PTRACE_ARCH_PRCTL;
	case PTRACE_SYSEMU: return PPM_PTRACE_SYSEMU;
	case PTRACE_SYSEMU_SINGLESTEP: return PPM_PTRACE_SYSEMU_SINGLESTEP;
	case PTRACE_SINGLEBLOCK: return PPM_PTRACE_SINGLEBLOCK;
	default: return PPM_PTRACE_UNKNOWN;
	}
}

/* PT_DYN parameter holding a u64 (candidate index PPM_PTRACE_IDX_UINT64) */
static void fprobe_push_dyn_u64(struct fprobe_rec *r, u64 val)
{
	u8 buf[9];

	buf[0] = PPM_PTRACE_IDX_UINT64;
	memcpy(buf + 1, &val, 8);
	fprobe_push_bytes(r, buf, sizeof(buf));
}

/**
 * fprobe_fill_proc() - fillers of the process events
 * @r: the record
 *
 * Return: 0 if r->type is a process event, else -ENOENT.
 */
int fprobe_fill_proc(struct fprobe_rec *r)
{
	switch (r->type) {
	case PPME_SYSCALL_EXECVE_19_X:
	case PPME_SYSCALL_EXECVEAT_X:
		fprobe_fill_exec(r);
		break;
	case PPME_SYSCALL_CLONE_20_X:
	case PPME_SYSCALL_CLONE3_X:
	case PPME_SYSCALL_FORK_20_X:
	case PPME_SYSCALL_VFORK_20_X:
		fprobe_fill_clone(r);
		break;
	case PPME_PROCEXIT_1_E:
		fprobe_fill_procexit(r);
		break;
	case PPME_SYSCALL_SETUID_X:
	case PPME_SYSCALL_SETGID_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_u64(r, (u32)A(0));
		break;
	case PPME_SYSCALL_SETREUID_X:
	case PPME_SYSCALL_SETREGID_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_u64(r, (u32)A(0));
		fprobe_push_u64(r, (u32)A(1));
		break;
	case PPME_SYSCALL_SETRESUID_X:
	case PPME_SYSCALL_SETRESGID_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_u64(r, (u32)A(0));
		fprobe_push_u64(r, (u32)A(1));
		fprobe_push_u64(r, (u32)A(2));
		break;
	case PPME_SYSCALL_GETUID_X:
	case PPME_SYSCALL_GETEUID_X:
	case PPME_SYSCALL_GETGID_X:
	case PPME_SYSCALL_GETEGID_X:
		fprobe_push_u64(r, (u32)r->ret);
		break;
	case PPME_SYSCALL_UNSHARE_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_u64(r, fprobe_clone_flags(A(0)));
		break;
	case PPME_SYSCALL_SETNS_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_u64(r, IA(0));
		fprobe_push_u64(r, fprobe_clone_flags(A(1)));
		break;
	case PPME_SYSCALL_PTRACE_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_dyn_u64(r, A(2));
		fprobe_push_dyn_u64(r, A(3));
		fprobe_push_u64(r, fprobe_ptrace_request(A(0)));
		fprobe_push_u64(r, IA(1));
		break;
	case PPME_SYSCALL_BPF_2_X:
		fprobe_push_u64(r, r->ret);
		/* PPM_BPF_* equal the kernel's bpf commands */
		fprobe_push_u64(r, A(0));
		break;
	case PPME_SYSCALL_KILL_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_u64(r, IA(0));
		fprobe_push_u64(r, A(1) & 0xff);
		break;
	case PPME_SYSCALL_SETSID_X:
		fprobe_push_u64(r, r->ret);
		break;
	case PPME_SYSCALL_SETPGID_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_u64(r, IA(0));
		fprobe_push_u64(r, IA(1));
		break;
	default:
		return -ENOENT;
	}
	return 0;
}
