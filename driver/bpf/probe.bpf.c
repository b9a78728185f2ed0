// SPDX-License-Identifier: GPL-2.0
/*
 * probe.bpf.c - the modern_ebpf capture source: BPF programs emitting the
 * events of falco_probe
 *
 * Five programs are attached (tp_btf), one per hook the module has:
 * sys_enter and sys_exit dispatchers, sched_process_exit/fork/exec.  A
 * dispatcher applies the module's selection (the syscall mask and the
 * rules that hand successful execs and forked children to the scheduler
 * hooks), starts the event on the CPU's state, then calls the filler of
 * the event code: a global function per group of events, which the
 * verifier checks once on its own, so the hooks stay small.  An event
 * code without a filler is finished by the dispatcher (the generic event,
 * or empty parameters).  No program arrays and no tail calls: their
 * teardown in the kernel can leak the array when another process looks
 * the map up by id at that moment (prog_array_map_clear()).
 */
#include "fill_file.h"
#include "fill_net.h"
#include "fill_proc.h"
#include "fbpf_prefilter.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * The fillers: global functions, each verified once on its own (with a
 * state and a config of the right size, maybe NULL), called by the hooks.
 */
#define FBPF_FILLER(name, fill)						\
__noinline int name(struct fbpf_state *st, struct fbpf_config *cfg)	\
{									\
	if (!st || !cfg)						\
		return 0;						\
	fill;								\
	return 0;							\
}

FBPF_FILLER(fbpf_g_open, fbpf_fill_open(st))
FBPF_FILLER(fbpf_g_file, fbpf_fill_file(st, cfg))
FBPF_FILLER(fbpf_g_sock, fbpf_fill_sock(st))
FBPF_FILLER(fbpf_g_connect, fbpf_fill_connect(st))
FBPF_FILLER(fbpf_g_io, fbpf_fill_io(st, cfg))
FBPF_FILLER(fbpf_g_exec, fbpf_fill_exec(st))
FBPF_FILLER(fbpf_g_clone, fbpf_fill_clone(st))
FBPF_FILLER(fbpf_g_procexit, fbpf_fill_procexit(st))
FBPF_FILLER(fbpf_g_misc, fbpf_fill_misc(st))

static __always_inline int fbpf_tp_enabled(struct fbpf_config *cfg,
					   unsigned int tp)
{
	return cfg->tp_mask & (1U << tp);
}

static __always_inline int fbpf_is_clone(long nr)
{
	return nr == FBPF_NR_CLONE || nr == FBPF_NR_CLONE3 ||
	       nr == FBPF_NR_FORK || nr == FBPF_NR_VFORK;
}

static __always_inline void fbpf_fill_generic(struct fbpf_state *st)
{
	struct fbpf_syscall *ent;
	__u32 key;

	if (st->type != PPME_GENERIC_X || st->nr < 0)
		return;
	key = st->nr;
	ent = bpf_map_lookup_elem(&fbpf_syscalls, &key);
	fbpf_push_num(st, ent ? ent->ppm_sc : 0);
	fbpf_push_num(st, st->nr);
}

/* Fill the syscall event started on @st (generic: its syscall's ids). */
static __always_inline void fbpf_fill(struct fbpf_state *st,
				      struct fbpf_config *cfg)
{
	switch (st->type) {
	case PPME_SYSCALL_OPEN_E:
	case PPME_SYSCALL_OPEN_X:
	case PPME_SYSCALL_OPENAT_2_E:
	case PPME_SYSCALL_OPENAT_2_X:
	case PPME_SYSCALL_OPENAT2_E:
	case PPME_SYSCALL_OPENAT2_X:
	case PPME_SYSCALL_CREAT_E:
	case PPME_SYSCALL_CREAT_X:
		fbpf_g_open(st, cfg);
		break;
	case PPME_SYSCALL_CLOSE_X:
	case PPME_SYSCALL_FCHDIR_X:
	case PPME_SYSCALL_READ_X:
	case PPME_SYSCALL_PREAD_X:
	case PPME_SYSCALL_WRITE_X:
	case PPME_SYSCALL_PWRITE_X:
	case PPME_SYSCALL_CHDIR_X:
	case PPME_SYSCALL_RMDIR_2_X:
	case PPME_SYSCALL_UNLINK_2_X:
	case PPME_SYSCALL_CHROOT_X:
	case PPME_SYSCALL_MKDIR_2_X:
	case PPME_SYSCALL_CHMOD_X:
	case PPME_SYSCALL_FCHMOD_X:
	case PPME_SYSCALL_MKDIRAT_X:
	case PPME_SYSCALL_FCHMODAT_X:
	case PPME_SYSCALL_UNLINKAT_2_X:
	case PPME_SYSCALL_RENAME_X:
	case PPME_SYSCALL_LINK_2_X:
	case PPME_SYSCALL_SYMLINK_X:
	case PPME_SYSCALL_RENAMEAT_X:
	case PPME_SYSCALL_RENAMEAT2_X:
	case PPME_SYSCALL_LINKAT_2_X:
	case PPME_SYSCALL_SYMLINKAT_X:
	case PPME_SYSCALL_DUP_1_X:
	case PPME_SYSCALL_DUP2_X:
	case PPME_SYSCALL_DUP3_X:
	case PPME_SYSCALL_FCNTL_X:
	case PPME_SYSCALL_PIPE_X:
	case PPME_SYSCALL_PIPE2_X:
	case PPME_SYSCALL_INIT_MODULE_X:
	case PPME_SYSCALL_FINIT_MODULE_X:
	case PPME_SYSCALL_USERFAULTFD_X:
	case PPME_SYSCALL_MEMFD_CREATE_X:
	case PPME_SYSCALL_UMOUNT2_X:
	case PPME_SYSCALL_MOUNT_X:
		fbpf_g_file(st, cfg);
		break;
	case PPME_SOCKET_SOCKET_X:
	case PPME_SOCKET_SOCKETPAIR_X:
	case PPME_SOCKET_ACCEPT_5_X:
	case PPME_SOCKET_ACCEPT4_6_X:
	case PPME_SOCKET_BIND_X:
	case PPME_SOCKET_LISTEN_X:
	case PPME_SOCKET_SHUTDOWN_X:
		fbpf_g_sock(st, cfg);
		break;
	case PPME_SOCKET_CONNECT_E:
	case PPME_SOCKET_CONNECT_X:
		fbpf_g_connect(st, cfg);
		break;
	case PPME_SOCKET_SENDTO_X:
	case PPME_SOCKET_RECVFROM_X:
	case PPME_SOCKET_SENDMSG_X:
	case PPME_SOCKET_RECVMSG_X:
		fbpf_g_io(st, cfg);
		break;
	case PPME_SYSCALL_EXECVE_19_X:
	case PPME_SYSCALL_EXECVEAT_X:
		fbpf_g_exec(st, cfg);
		break;
	case PPME_SYSCALL_CLONE_20_X:
	case PPME_SYSCALL_CLONE3_X:
	case PPME_SYSCALL_FORK_20_X:
	case PPME_SYSCALL_VFORK_20_X:
		fbpf_g_clone(st, cfg);
		break;
	case PPME_SYSCALL_SETUID_X:
	case PPME_SYSCALL_SETGID_X:
	case PPME_SYSCALL_SETREUID_X:
	case PPME_SYSCALL_SETREGID_X:
	case PPME_SYSCALL_SETRESUID_X:
	case PPME_SYSCALL_SETRESGID_X:
	case PPME_SYSCALL_GETUID_X:
	case PPME_SYSCALL_GETEUID_X:
	case PPME_SYSCALL_GETGID_X:
	case PPME_SYSCALL_GETEGID_X:
	case PPME_SYSCALL_UNSHARE_X:
	case PPME_SYSCALL_SETNS_X:
	case PPME_SYSCALL_PTRACE_X:
	case PPME_SYSCALL_BPF_2_X:
	case PPME_SYSCALL_KILL_X:
	case PPME_SYSCALL_SETSID_X:
	case PPME_SYSCALL_SETPGID_X:
		fbpf_g_misc(st, cfg);
		break;
	default:
		/* no filler: the generic event, or empty parameters */
		fbpf_fill_generic(st);
	}
}

static __always_inline void fbpf_fill_enter(struct fbpf_state *st,
					    struct fbpf_config *cfg)
{
	if (st->type == PPME_SOCKET_CONNECT_E)
		fbpf_g_connect(st, cfg);
	else
		fbpf_g_open(st, cfg);
}

/* The dispatcher of both syscall hooks. */
static __always_inline int fbpf_syscall(void *ctx, struct pt_regs *regs,
					long ret, int enter)
{
	unsigned int tp = enter ? FPROBE_TP_SYS_ENTER : FPROBE_TP_SYS_EXIT;
	__u32 cpu = bpf_get_smp_processor_id();
	struct fbpf_counters *cnt = fbpf_counters_of(cpu);
	struct fbpf_config *cfg = fbpf_cfg();
	struct task_struct *task;
	struct fbpf_syscall *ent;
	struct fbpf_state *st;
	__u32 key;
	__u16 type;
	long nr;

	if (!cfg || !cnt || !fbpf_tp_enabled(cfg, tp))
		return 0;
	cnt->n_tracepoint_hit++;
	task = (void *)bpf_get_current_task();
	if (fbpf_in_compat(task)) {
		/* ia32 numbers and layouts differ: counted, never decoded */
		if (!enter)
			cnt->n_compat++;
		return 0;
	}
	nr = BPF_CORE_READ(regs, orig_ax);
	if (nr < 0 || nr >= FPROBE_SYSCALL_TABLE_SIZE || !cfg->syscalls[nr])
		return 0;
	key = nr;
	ent = bpf_map_lookup_elem(&fbpf_syscalls, &key);
	if (!ent)
		return 0;
	if (enter) {
		if (!(ent->flags & FPROBE_SC_ENTER_EVENT))
			return 0;
		type = ent->enter_event;
	} else {
		if (ret == 0) {
			/* successful execs come from sched_process_exec */
			if ((nr == FBPF_NR_EXECVE || nr == FBPF_NR_EXECVEAT) &&
			    fbpf_tp_enabled(cfg, FPROBE_TP_SCHED_PROC_EXEC))
				return 0;
			/* likewise the child side of a fork */
			if (fbpf_is_clone(nr) &&
			    fbpf_tp_enabled(cfg, FPROBE_TP_SCHED_PROC_FORK))
				return 0;
		}
		type = ent->exit_event;
	}
	st = fbpf_begin(cpu, cnt, type);
	if (!st)
		return 0;
	st->nr = nr;
	st->ret = enter ? 0 : ret;
	st->task = (__u64)task;
	st->args[0] = BPF_CORE_READ(regs, di);
	st->args[1] = BPF_CORE_READ(regs, si);
	st->args[2] = BPF_CORE_READ(regs, dx);
	st->args[3] = BPF_CORE_READ(regs, r10);
	st->args[4] = BPF_CORE_READ(regs, r8);
	st->args[5] = BPF_CORE_READ(regs, r9);
	if (enter)	/* only the open family and connect have enter events */
		fbpf_fill_enter(st, cfg);
	else
		fbpf_fill(st, cfg);
	fbpf_finish(st, cnt, cfg, cpu);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(fbpf_sys_enter, struct pt_regs *regs, long id)
{
	return fbpf_syscall(ctx, regs, 0, 1);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(fbpf_sys_exit, struct pt_regs *regs, long ret)
{
	return fbpf_syscall(ctx, regs, ret, 0);
}

/* Start a scheduler event; NULL when the hook is off or the CPU busy. */
static __always_inline struct fbpf_state *
fbpf_sched_begin(unsigned int tp, __u16 type, struct task_struct *task,
		 struct fbpf_counters **cntp, struct fbpf_config **cfgp)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct fbpf_counters *cnt = fbpf_counters_of(cpu);
	struct fbpf_config *cfg = fbpf_cfg();
	struct fbpf_state *st;

	if (!cfg || !cnt || !fbpf_tp_enabled(cfg, tp))
		return NULL;
	cnt->n_tracepoint_hit++;
	st = fbpf_begin(cpu, cnt, type);
	if (!st)
		return NULL;
	st->nr = -1;
	st->ret = 0;
	st->task = (__u64)task;
	*cntp = cnt;
	*cfgp = cfg;
	return st;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(fbpf_proc_exit, struct task_struct *p)
{
	struct fbpf_counters *cnt = NULL;
	struct fbpf_config *cfg = NULL;
	struct fbpf_state *st;

	if (BPF_CORE_READ(p, flags) & FBPF_PF_KTHREAD)
		return 0;
	st = fbpf_sched_begin(FPROBE_TP_SCHED_PROC_EXIT, PPME_PROCEXIT_1_E, p,
			      &cnt, &cfg);
	if (!st || !cnt || !cfg)
		return 0;
	fbpf_g_procexit(st, cfg);
	fbpf_finish(st, cnt, cfg, bpf_get_smp_processor_id());
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(fbpf_proc_fork, struct task_struct *parent,
	     struct task_struct *child)
{
	struct fbpf_counters *cnt = NULL;
	struct fbpf_config *cfg = NULL;
	struct fbpf_state *st;

	if (BPF_CORE_READ(child, flags) & FBPF_PF_KTHREAD)
		return 0;
	st = fbpf_sched_begin(FPROBE_TP_SCHED_PROC_FORK,
			      PPME_SYSCALL_CLONE_20_X, child, &cnt, &cfg);
	if (!st || !cnt || !cfg)
		return 0;
	fbpf_g_clone(st, cfg);
	fbpf_finish(st, cnt, cfg, bpf_get_smp_processor_id());
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(fbpf_proc_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	struct fbpf_counters *cnt = NULL;
	struct fbpf_config *cfg = NULL;
	struct fbpf_state *st;

	/*
	 * The ELF loader rewrites orig_ax to execve, so execve and execveat
	 * cannot be told apart here: a successful exec is an execve event,
	 * as the module does it.
	 */
	st = fbpf_sched_begin(FPROBE_TP_SCHED_PROC_EXEC,
			      PPME_SYSCALL_EXECVE_19_X, p, &cnt, &cfg);
	if (!st || !cnt || !cfg)
		return 0;
	st->bprm = (__u64)bprm;
	fbpf_g_exec(st, cfg);
	fbpf_finish(st, cnt, cfg, bpf_get_smp_processor_id());
	return 0;
}
