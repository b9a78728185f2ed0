/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fbpf_kconst.h - kernel ABI numbers the BPF programs translate
 *
 * vmlinux.h carries types, not macros: the x86_64 values of the kernel's
 * flags and numbers used by the fillers are spelled out here (they are
 * part of the stable syscall ABI).
 */
#ifndef _FBPF_KCONST_H
#define _FBPF_KCONST_H

/* x86_64 syscall numbers the dispatchers single out */
#define FBPF_NR_CLONE 56
#define FBPF_NR_FORK 57
#define FBPF_NR_VFORK 58
#define FBPF_NR_EXECVE 59
#define FBPF_NR_EXECVEAT 322
#define FBPF_NR_CLONE3 435

/* thread_info.status: the task is in an ia32 syscall */
#define FBPF_TS_COMPAT 0x0002

/* task_struct.flags */
#define FBPF_PF_EXITING 0x00000004
#define FBPF_PF_KTHREAD 0x00200000

/* open(2) flags (asm-generic/fcntl.h, x86) */
#define K_O_ACCMODE 00000003
#define K_O_RDONLY 00000000
#define K_O_WRONLY 00000001
#define K_O_RDWR 00000002
#define K_O_CREAT 00000100
#define K_O_EXCL 00000200
#define K_O_TRUNC 00001000
#define K_O_APPEND 00002000
#define K_O_NONBLOCK 00004000
#define K_O_DSYNC 00010000
#define K_O_DIRECT 00040000
#define K_O_LARGEFILE 00100000
#define K_O_DIRECTORY 00200000
#define K_O_CLOEXEC 02000000
#define K___O_SYNC 04000000
#define K___O_TMPFILE 020000000

/* f_mode bit set when an open created the file */
#define K_FMODE_CREATED 0x100000

/* *at() flags */
#define K_AT_SYMLINK_NOFOLLOW 0x100
#define K_AT_REMOVEDIR 0x200
#define K_AT_SYMLINK_FOLLOW 0x400
#define K_AT_NO_AUTOMOUNT 0x800
#define K_AT_EMPTY_PATH 0x1000

/* fcntl commands */
#define K_F_DUPFD 0
#define K_F_GETFD 1
#define K_F_SETFD 2
#define K_F_GETFL 3
#define K_F_SETFL 4
#define K_F_GETLK 5
#define K_F_SETLK 6
#define K_F_SETLKW 7
#define K_F_SETOWN 8
#define K_F_GETOWN 9
#define K_F_SETSIG 10
#define K_F_GETSIG 11
#define K_F_SETOWN_EX 15
#define K_F_GETOWN_EX 16
#define K_F_OFD_GETLK 36
#define K_F_OFD_SETLK 37
#define K_F_OFD_SETLKW 38
#define K_F_SETLEASE 1024
#define K_F_GETLEASE 1025
#define K_F_NOTIFY 1026
#define K_F_CANCELLK 1029
#define K_F_DUPFD_CLOEXEC 1030
#define K_F_SETPIPE_SZ 1031
#define K_F_GETPIPE_SZ 1032

/* openat2 resolve flags */
#define K_RESOLVE_NO_XDEV 0x01
#define K_RESOLVE_NO_MAGICLINKS 0x02
#define K_RESOLVE_NO_SYMLINKS 0x04
#define K_RESOLVE_BENEATH 0x08
#define K_RESOLVE_IN_ROOT 0x10
#define K_RESOLVE_CACHED 0x20

/* clone flags */
#define K_CLONE_VM 0x00000100
#define K_CLONE_FS 0x00000200
#define K_CLONE_FILES 0x00000400
#define K_CLONE_SIGHAND 0x00000800
#define K_CLONE_PTRACE 0x00002000
#define K_CLONE_VFORK 0x00004000
#define K_CLONE_PARENT 0x00008000
#define K_CLONE_THREAD 0x00010000
#define K_CLONE_NEWNS 0x00020000
#define K_CLONE_SYSVSEM 0x00040000
#define K_CLONE_SETTLS 0x00080000
#define K_CLONE_PARENT_SETTID 0x00100000
#define K_CLONE_CHILD_CLEARTID 0x00200000
#define K_CLONE_UNTRACED 0x00800000
#define K_CLONE_CHILD_SETTID 0x01000000
#define K_CLONE_NEWCGROUP 0x02000000
#define K_CLONE_NEWUTS 0x04000000
#define K_CLONE_NEWIPC 0x08000000
#define K_CLONE_NEWUSER 0x10000000
#define K_CLONE_NEWPID 0x20000000
#define K_CLONE_NEWNET 0x40000000
#define K_CLONE_IO 0x80000000UL

/* socket(2) type flags */
#define K_SOCK_NONBLOCK K_O_NONBLOCK
#define K_SOCK_CLOEXEC K_O_CLOEXEC

/* address families */
#define K_AF_UNIX 1
#define K_AF_INET 2
#define K_AF_INET6 10

/* superblock magics */
#define K_SOCKFS_MAGIC 0x534F434B
#define K_OVERLAYFS_SUPER_MAGIC 0x794c7630

/* superblock flags */
#define K_SB_RDONLY 1

/* inode mode */
#define K_S_IFMT 00170000
#define K_S_IFSOCK 0140000

/* capabilities */
#define K_CAP_DAC_OVERRIDE 1
#define K_CAP_FOWNER 3

#define K_RLIMIT_NOFILE 7
#define K_UNIX_PATH_MAX 108
#define K_PAGE_SHIFT 12

/* ptrace requests */
#define K_PTRACE_TRACEME 0
#define K_PTRACE_PEEKTEXT 1
#define K_PTRACE_PEEKDATA 2
#define K_PTRACE_PEEKUSR 3
#define K_PTRACE_POKETEXT 4
#define K_PTRACE_POKEDATA 5
#define K_PTRACE_POKEUSR 6
#define K_PTRACE_CONT 7
#define K_PTRACE_KILL 8
#define K_PTRACE_SINGLESTEP 9
#define K_PTRACE_GETREGS 12
#define K_PTRACE_SETREGS 13
#define K_PTRACE_GETFPREGS 14
#define K_PTRACE_SETFPREGS 15
#define K_PTRACE_ATTACH 16
#define K_PTRACE_DETACH 17
#define K_PTRACE_GETFPXREGS 18
#define K_PTRACE_SETFPXREGS 19
#define K_PTRACE_SYSCALL 24
#define K_PTRACE_GET_THREAD_AREA 25
#define K_PTRACE_SET_THREAD_AREA 26
#define K_PTRACE_ARCH_PRCTL 30
#define K_PTRACE_SYSEMU 31
#define K_PTRACE_SYSEMU_SINGLESTEP 32
#define K_PTRACE_SINGLEBLOCK 33
#define K_PTRACE_SETOPTIONS 0x4200
#define K_PTRACE_GETEVENTMSG 0x4201
#define K_PTRACE_GETSIGINFO 0x4202
#define K_PTRACE_SETSIGINFO 0x4203
#define K_PTRACE_GETREGSET 0x4204
#define K_PTRACE_SETREGSET 0x4205
#define K_PTRACE_SEIZE 0x4206
#define K_PTRACE_INTERRUPT 0x4207
#define K_PTRACE_LISTEN 0x4208
#define K_PTRACE_PEEKSIGINFO 0x4209
#define K_PTRACE_GETSIGMASK 0x420a
#define K_PTRACE_SETSIGMASK 0x420b

/* device numbers: kernel dev_t is major << 20 | minor */
#define K_MINORBITS 20
#define K_MINORMASK ((1U << K_MINORBITS) - 1)

#endif /* _FBPF_KCONST_H */
