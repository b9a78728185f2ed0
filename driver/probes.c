// SPDX-License-Identifier: GPL-2.0
/*
 * probes.c - tracepoint lookup, attach/detach and the probe handlers
 *
 * Tracepoints are found once at load with for_each_kernel_tracepoint()
 * (raw_syscalls are not exported symbols) and registered only while at
 * least one open device has them enabled.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/tracepoint.h>
#include <linux/sched.h>
#include <linux/binfmts.h>
#include <linux/compat.h>
#include <asm/syscall.h>

#include "fprobe.h"

static void fprobe_sys_enter_probe(void *data, struct pt_regs *regs, long id);
static void fprobe_sys_exit_probe(void *data, struct pt_regs *regs, long ret);
static void fprobe_proc_exit_probe(void *data, struct task_struct *p);
static void fprobe_proc_fork_probe(void *data, struct task_struct *parent,
				   struct task_struct *child);
static void fprobe_proc_exec_probe(void *data, struct task_struct *p,
				   pid_t old_pid, struct linux_binprm *bprm);

/**
 * struct fprobe_tp - one hook point
 * @name: kernel tracepoint name
 * @probe: our handler
 * @tp: the tracepoint, found at load
 * @refs: open devices that enabled it (under fprobe_ctl_mutex)
 */
struct fprobe_tp {
	const char *name;
	void *probe;
	struct tracepoint *tp;
	unsigned int refs;
};

static struct fprobe_tp fprobe_tps[FPROBE_TP_MAX] = {
	[FPROBE_TP_SYS_ENTER] = { "sys_enter", fprobe_sys_enter_probe },
	[FPROBE_TP_SYS_EXIT] = { "sys_exit", fprobe_sys_exit_probe },
	[FPROBE_TP_SCHED_PROC_EXIT] = { "sched_process_exit",
					fprobe_proc_exit_probe },
	[FPROBE_TP_SCHED_PROC_FORK] = { "sched_process_fork",
					fprobe_proc_fork_probe },
	[FPROBE_TP_SCHED_PROC_EXEC] = { "sched_process_exec",
					fprobe_proc_exec_probe },
};

static inline void fprobe_count(u64 *counter)
{
	WRITE_ONCE(*counter, READ_ONCE(*counter) + 1);
}

/* Session of this CPU if it wants events of tracepoint @tp. */
static struct fprobe_session *fprobe_want(unsigned int tp)
{
	struct fprobe_session *s = fprobe_session_of(smp_processor_id());

	if (!s || !test_bit(tp, &s->tp_mask))
		return NULL;
	fprobe_count(&s->info->n_tracepoint_hit);
	return s;
}

/*
 * Record one event through the re-entrancy gate; r is pre-filled.  With a
 * prefilter program the filled event is judged before it is published; an
 * event that finds the ring full is filled aside and judged too, so events
 * the program drops never count as drops.
 */
static void fprobe_emit(struct fprobe_session *s, struct fprobe_rec *r,
			u16 type)
{
	const struct fprobe_pf *pf;
	bool ok;

	if (atomic_inc_return(&s->preempt) != 1) {
		fprobe_count(&s->info->n_evts);
		fprobe_count(&s->info->n_preemptions);
		goto out;
	}
	pf = rcu_dereference_sched(s->pf);
	ok = fprobe_rec_begin(r, s, type);
	if (!ok && pf && r->fail == FPROBE_FAIL_FULL) {
		fprobe_rec_aside(r);
		ok = r->fail == FPROBE_OK;
	}
	if (ok) {
		fprobe_fill(r);
		if (pf && r->fail == FPROBE_FAIL_FULL && !r->aside) {
			fprobe_rec_aside(r);
			if (r->fail == FPROBE_OK)
				fprobe_fill(r);
		}
		if (pf && r->fail == FPROBE_OK)
			fprobe_rec_filter(r, pf);
	}
	fprobe_rec_end(r);
out:
	atomic_dec(&s->preempt);
}

static bool fprobe_is_clone(int nr)
{
	return nr == __NR_clone || nr == __NR_clone3 || nr == __NR_fork ||
	       nr == __NR_vfork;
}

static void fprobe_syscall_event(struct pt_regs *regs, long ret, bool enter)
{
	unsigned int tp = enter ? FPROBE_TP_SYS_ENTER : FPROBE_TP_SYS_EXIT;
	const struct fprobe_syscall_entry *ent;
	struct fprobe_session *s;
	struct fprobe_rec r;
	long nr;

	preempt_disable_notrace();
	s = fprobe_want(tp);
	if (!s)
		goto out;
	if (in_compat_syscall()) {
		/* ia32 numbers and layouts differ: counted, never decoded. */
		if (!enter)
			fprobe_count(&s->info->n_compat);
		goto out;
	}
	nr = syscall_get_nr(current, regs);
	if (nr < 0 || nr >= FPROBE_SYSCALL_TABLE_SIZE ||
	    !test_bit(nr, s->syscalls))
		goto out;
	ent = &fprobe_syscall_table[nr];
	if (enter) {
		if (ent->flags & FPROBE_SC_ENTER_PREFILTER) {
			const struct fprobe_pf *pf = rcu_dereference_sched(s->pf);

			if (!pf || fprobe_pf_entry_is(pf->prog, ent->enter_event,
						      FPROBE_PF_DROP))
				goto out;
		} else if (!(ent->flags & FPROBE_SC_ENTER_EVENT)) {
			goto out;
		}
	} else if (ret == 0) {
		/* Successful execs come from sched_process_exec if enabled. */
		if ((nr == __NR_execve || nr == __NR_execveat) &&
		    test_bit(FPROBE_TP_SCHED_PROC_EXEC, &s->tp_mask))
			goto out;
		/* Likewise the child side of a fork. */
		if (fprobe_is_clone(nr) &&
		    test_bit(FPROBE_TP_SCHED_PROC_FORK, &s->tp_mask))
			goto out;
	}
	memset(&r, 0, sizeof(r));
	r.regs = regs;
	r.nr = nr;
	r.ret = enter ? 0 : ret;
	r.task = current;
	syscall_get_arguments(current, regs, r.args);
	fprobe_emit(s, &r, enter ? ent->enter_event : ent->exit_event);
out:
	preempt_enable_notrace();
}

static void fprobe_sys_enter_probe(void *data, struct pt_regs *regs, long id)
{
	fprobe_syscall_event(regs, 0, true);
}

static void fprobe_sys_exit_probe(void *data, struct pt_regs *regs, long ret)
{
	fprobe_syscall_event(regs, ret, false);
}

static void fprobe_proc_exit_probe(void *data, struct task_struct *p)
{
	struct fprobe_session *s;
	struct fprobe_rec r;

	if (p->flags & PF_KTHREAD)
		return;
	preempt_disable_notrace();
	s = fprobe_want(FPROBE_TP_SCHED_PROC_EXIT);
	if (s) {
		memset(&r, 0, sizeof(r));
		r.nr = -1;
		r.task = p;
		fprobe_emit(s, &r, PPME_PROCEXIT_1_E);
	}
	preempt_enable_notrace();
}

static void fprobe_proc_fork_probe(void *data, struct task_struct *parent,
				   struct task_struct *child)
{
	struct fprobe_session *s;
	struct fprobe_rec r;

	if (child->flags & PF_KTHREAD)
		return;
	preempt_disable_notrace();
	s = fprobe_want(FPROBE_TP_SCHED_PROC_FORK);
	if (s) {
		memset(&r, 0, sizeof(r));
		r.nr = __NR_clone;
		r.ret = 0;
		r.task = child;
		fprobe_emit(s, &r, PPME_SYSCALL_CLONE_20_X);
	}
	preempt_enable_notrace();
}

static void fprobe_proc_exec_probe(void *data, struct task_struct *p,
				   pid_t old_pid, struct linux_binprm *bprm)
{
	struct fprobe_session *s;
	struct fprobe_rec r;

	preempt_disable_notrace();
	s = fprobe_want(FPROBE_TP_SCHED_PROC_EXEC);
	if (s) {
		memset(&r, 0, sizeof(r));
		/*
		 * The ELF loader rewrites orig_ax to __NR_execve (x86
		 * set_personality_64bit()), so execve and execveat cannot be
		 * told apart here: a successful exec is always an execve
		 * event, as upstream's kmod does.
		 */
		r.nr = __NR_execve;
		r.ret = 0;
		r.task = p;
		r.bprm = bprm;
		fprobe_emit(s, &r, PPME_SYSCALL_EXECVE_19_X);
	}
	preempt_enable_notrace();
}

static void fprobe_visit_tp(struct tracepoint *tp, void *priv)
{
	unsigned int i;

	for (i = 0; i < FPROBE_TP_MAX; i++)
		if (fprobe_tps[i].name && !strcmp(tp->name, fprobe_tps[i].name))
			fprobe_tps[i].tp = tp;
}

/**
 * fprobe_probes_init() - find every tracepoint we hook
 *
 * Return: 0, or -ENOENT if the kernel lacks one of them.
 */
int fprobe_probes_init(void)
{
	unsigned int i;

	for_each_kernel_tracepoint(fprobe_visit_tp, NULL);
	for (i = 0; i < FPROBE_TP_MAX; i++) {
		if (fprobe_tps[i].name && !fprobe_tps[i].tp) {
			pr_err("tracepoint %s not found\n", fprobe_tps[i].name);
			return -ENOENT;
		}
	}
	return 0;
}

/**
 * fprobe_probes_exit() - detach anything still attached and wait for
 * running probes; called at unload after every device is closed
 */
void fprobe_probes_exit(void)
{
	unsigned int i;

	for (i = 0; i < FPROBE_TP_MAX; i++) {
		if (fprobe_tps[i].refs) {
			tracepoint_probe_unregister(fprobe_tps[i].tp,
						    fprobe_tps[i].probe, NULL);
			fprobe_tps[i].refs = 0;
		}
	}
	tracepoint_synchronize_unregister();
}

/**
 * fprobe_tp_enable() - enable tracepoint @tp for session @s
 * @s: the session
 * @tp: FPROBE_TP_* index
 *
 * Context: fprobe_ctl_mutex held.
 * Return: 0, -EINVAL for an unknown index, or the registration error.
 */
int fprobe_tp_enable(struct fprobe_session *s, unsigned int tp)
{
	struct fprobe_tp *t;
	int ret;

	if (tp >= FPROBE_TP_MAX || !fprobe_tps[tp].name)
		return -EINVAL;
	t = &fprobe_tps[tp];
	if (test_bit(tp, &s->tp_mask))
		return 0;
	if (!t->refs) {
		ret = tracepoint_probe_register(t->tp, t->probe, NULL);
		if (ret)
			return ret;
	}
	t->refs++;
	set_bit(tp, &s->tp_mask);
	return 0;
}

/* Detach @tp from @s; true if running probes must still be waited for. */
static bool fprobe_tp_detach(struct fprobe_session *s, unsigned int tp)
{
	struct fprobe_tp *t = &fprobe_tps[tp];

	if (!test_bit(tp, &s->tp_mask))
		return false;
	clear_bit(tp, &s->tp_mask);
	if (!--t->refs)
		tracepoint_probe_unregister(t->tp, t->probe, NULL);
	return true;
}

/**
 * fprobe_tp_disable() - disable tracepoint @tp for session @s
 * @s: the session
 * @tp: FPROBE_TP_* index
 *
 * When this returns no probe is still recording a @tp event into @s.
 * Context: fprobe_ctl_mutex held.
 * Return: 0 or -EINVAL for an unknown index.
 */
int fprobe_tp_disable(struct fprobe_session *s, unsigned int tp)
{
	if (tp >= FPROBE_TP_MAX || !fprobe_tps[tp].name)
		return -EINVAL;
	if (fprobe_tp_detach(s, tp))
		tracepoint_synchronize_unregister();
	return 0;
}

/**
 * fprobe_tp_disable_all() - disable every tracepoint of a session
 * @s: the session
 *
 * Probes may still be running on return: the caller waits with
 * tracepoint_synchronize_unregister() before freeing the session.
 * Context: fprobe_ctl_mutex held.
 */
void fprobe_tp_disable_all(struct fprobe_session *s)
{
	unsigned int i;

	for (i = 0; i < FPROBE_TP_MAX; i++)
		if (fprobe_tps[i].name)
			fprobe_tp_detach(s, i);
}
