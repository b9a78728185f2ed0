/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note OR MIT */
/*
 * fprobe_syscalls.h - native (x86_64) syscall table shared with userspace
 *
 * fprobe_syscall_table[nr] says which events a native syscall number
 * produces.  Userspace uses it to turn event names into the syscall
 * numbers it passes to FPROBE_IOCTL_ENABLE_SYSCALL.  A syscall without
 * FPROBE_SC_USED produces PPME_GENERIC_X {ID = ppm_sc, nativeID = nr}.
 */
#ifndef _UAPI_FPROBE_SYSCALLS_H
#define _UAPI_FPROBE_SYSCALLS_H

#include "fprobe_abi.h"

/* The exit event is a real one with a filler. */
#define FPROBE_SC_USED 0x1
/* sys_enter also produces an enter event (TOCTOU: open family, connect). */
#define FPROBE_SC_ENTER_EVENT 0x2
/* The event keeps state consistent: never sample it away. */
#define FPROBE_SC_NEVER_DROP 0x4
/*
 * sys_enter produces the enter event only while a prefilter program is
 * installed that does not drop that code outright (close: the program can
 * tell a socket from a file while the fd is still open).
 */
#define FPROBE_SC_ENTER_PREFILTER 0x8

#define FPROBE_SC_NAME_LEN 32

/**
 * struct fprobe_syscall_entry - events of one native syscall number
 * @enter_event: PPME_* enter code (PPME_GENERIC_E when none)
 * @exit_event: PPME_* exit code (PPME_GENERIC_X when not USED)
 * @flags: FPROBE_SC_* bits
 * @ppm_sc: PPM_SC_* code of the syscall (PPM_SC_UNKNOWN if none)
 * @name: kernel name of the syscall, "" for an unused number
 */
struct fprobe_syscall_entry {
	__u16 enter_event;
	__u16 exit_event;
	__u32 flags;
	__u32 ppm_sc;
	char name[FPROBE_SC_NAME_LEN];
};

extern const struct fprobe_syscall_entry
	fprobe_syscall_table[FPROBE_SYSCALL_TABLE_SIZE];

#endif /* _UAPI_FPROBE_SYSCALLS_H */
