/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fill_file.h - fillers of file and file descriptor syscalls (the same
 * parameters as driver/fill_file.c)
 */
#ifndef _FBPF_FILL_FILE_H
#define _FBPF_FILL_FILE_H

#include "fbpf_path.h"

static __always_inline __u32 fbpf_open_flags(__u64 flags)
{
	__u32 res = 0;

	switch (flags & K_O_ACCMODE) {
	case K_O_RDONLY:
		res |= PPM_O_RDONLY;
		break;
	case K_O_WRONLY:
		res |= PPM_O_WRONLY;
		break;
	case K_O_RDWR:
		res |= PPM_O_RDWR;
		break;
	}
	if (flags & K_O_CREAT)
		res |= PPM_O_CREAT;
	if (flags & K_O_APPEND)
		res |= PPM_O_APPEND;
	if (flags & K_O_DSYNC)
		res |= PPM_O_DSYNC;
	if (flags & K_O_EXCL)
		res |= PPM_O_EXCL;
	if (flags & K_O_NONBLOCK)
		res |= PPM_O_NONBLOCK;
	if ((flags & K___O_SYNC) && (flags & K_O_DSYNC))
		res |= PPM_O_SYNC;
	if (flags & K_O_TRUNC)
		res |= PPM_O_TRUNC;
	if (flags & K_O_DIRECT)
		res |= PPM_O_DIRECT;
	if (flags & K___O_TMPFILE)
		res |= PPM_O_TMPFILE;
	else if (flags & K_O_DIRECTORY)
		res |= PPM_O_DIRECTORY;
	if (flags & K_O_LARGEFILE)
		res |= PPM_O_LARGEFILE;
	if (flags & K_O_CLOEXEC)
		res |= PPM_O_CLOEXEC;
	return res;
}

/* fd creation flags (dup3, pipe2, userfaultfd) without an access mode */
static __always_inline __u32 fbpf_fd_flags(__u64 flags)
{
	__u32 res = 0;

	if (flags & K_O_CLOEXEC)
		res |= PPM_O_CLOEXEC;
	if (flags & K_O_NONBLOCK)
		res |= PPM_O_NONBLOCK;
	if (flags & K_O_DIRECT)
		res |= PPM_O_DIRECT;
	return res;
}

/* the mode argument of open: meaningful only when a file may be created */
static __always_inline __u32 fbpf_open_mode(__u64 flags, __u64 mode)
{
	if (!(flags & K_O_CREAT) && (flags & K___O_TMPFILE) != K___O_TMPFILE)
		return 0;
	return mode & 07777;
}

/* dev and ino of an fd of current (zeros when it is not one) */
static __always_inline void fbpf_push_dev_ino(struct fbpf_state *st, long fd)
{
	struct file *f = fbpf_fget(fd);
	struct inode *inode = f ? fbpf_file_inode(f) : NULL;
	__u32 dev = 0;
	__u64 ino = 0;

	if (inode) {
		dev = fbpf_encode_dev(BPF_CORE_READ(inode, i_sb, s_dev));
		ino = BPF_CORE_READ(inode, i_ino);
	}
	fbpf_push_num(st, dev);
	fbpf_push_num(st, ino);
}

/* PPM_O_F_CREATED and the overlayfs layer of the file an open returned */
static __always_inline __u32 fbpf_opened_flags(long fd)
{
	struct file *f = fbpf_fget(fd);
	__u32 res = 0;

	if (f) {
		if (BPF_CORE_READ(f, f_mode) & K_FMODE_CREATED)
			res = PPM_O_F_CREATED;
		res |= fbpf_ovl_layer(fbpf_file_inode(f), PPM_FD_UPPER_LAYER,
				      PPM_FD_LOWER_LAYER);
	}
	return res;
}

static __always_inline __u32 fbpf_creat_layer(long fd)
{
	struct file *f = fbpf_fget(fd);

	if (!f)
		return 0;
	return fbpf_ovl_layer(fbpf_file_inode(f), PPM_FD_UPPER_LAYER_CREAT,
			      PPM_FD_LOWER_LAYER_CREAT);
}

static __always_inline __u32 fbpf_at_flags(__u64 flags)
{
	return flags & (K_AT_SYMLINK_NOFOLLOW | K_AT_REMOVEDIR |
			K_AT_SYMLINK_FOLLOW | K_AT_NO_AUTOMOUNT |
			K_AT_EMPTY_PATH);
}

static __always_inline __u32 fbpf_fcntl_cmd(__u64 cmd)
{
	switch (cmd) {
	case K_F_DUPFD: return PPM_FCNTL_F_DUPFD;
	case K_F_GETFD: return PPM_FCNTL_F_GETFD;
	case K_F_SETFD: return PPM_FCNTL_F_SETFD;
	case K_F_GETFL: return PPM_FCNTL_F_GETFL;
	case K_F_SETFL: return PPM_FCNTL_F_SETFL;
	case K_F_GETLK: return PPM_FCNTL_F_GETLK;
	case K_F_SETLK: return PPM_FCNTL_F_SETLK;
	case K_F_SETLKW: return PPM_FCNTL_F_SETLKW;
	case K_F_SETOWN: return PPM_FCNTL_F_SETOWN;
	case K_F_GETOWN: return PPM_FCNTL_F_GETOWN;
	case K_F_SETSIG: return PPM_FCNTL_F_SETSIG;
	case K_F_GETSIG: return PPM_FCNTL_F_GETSIG;
	case K_F_SETOWN_EX: return PPM_FCNTL_F_SETOWN_EX;
	case K_F_GETOWN_EX: return PPM_FCNTL_F_GETOWN_EX;
	case K_F_SETLEASE: return PPM_FCNTL_F_SETLEASE;
	case K_F_GETLEASE: return PPM_FCNTL_F_GETLEASE;
	case K_F_CANCELLK: return PPM_FCNTL_F_CANCELLK;
	case K_F_DUPFD_CLOEXEC: return PPM_FCNTL_F_DUPFD_CLOEXEC;
	case K_F_NOTIFY: return PPM_FCNTL_F_NOTIFY;
	case K_F_SETPIPE_SZ: return PPM_FCNTL_F_SETPIPE_SZ;
	case K_F_GETPIPE_SZ: return PPM_FCNTL_F_GETPIPE_SZ;
	case K_F_OFD_GETLK: return PPM_FCNTL_F_OFD_GETLK;
	case K_F_OFD_SETLK: return PPM_FCNTL_F_OFD_SETLK;
	case K_F_OFD_SETLKW: return PPM_FCNTL_F_OFD_SETLKW;
	default: return PPM_FCNTL_UNKNOWN;
	}
}

static __always_inline __u32 fbpf_resolve_flags(__u64 resolve)
{
	__u32 res = 0;

	if (resolve & K_RESOLVE_BENEATH)
		res |= PPM_RESOLVE_BENEATH;
	if (resolve & K_RESOLVE_IN_ROOT)
		res |= PPM_RESOLVE_IN_ROOT;
	if (resolve & K_RESOLVE_NO_MAGICLINKS)
		res |= PPM_RESOLVE_NO_MAGICLINKS;
	if (resolve & K_RESOLVE_NO_SYMLINKS)
		res |= PPM_RESOLVE_NO_SYMLINKS;
	if (resolve & K_RESOLVE_NO_XDEV)
		res |= PPM_RESOLVE_NO_XDEV;
	if (resolve & K_RESOLVE_CACHED)
		res |= PPM_RESOLVE_CACHED;
	return res;
}

/* fd1, fd2 from a user int[2] (pipe, socketpair); -1 when unreadable */
static __always_inline void fbpf_push_fd_pair(struct fbpf_state *st,
					      __u64 uptr, int *fds)
{
	fds[0] = -1;
	fds[1] = -1;
	if (st->ret >= 0 &&
	    bpf_probe_read_user(fds, 2 * sizeof(int), (void *)uptr)) {
		fds[0] = -1;
		fds[1] = -1;
	}
	fbpf_push_num(st, (__s64)fds[0]);
	fbpf_push_num(st, (__s64)fds[1]);
}

static __always_inline void fbpf_fill_pipe(struct fbpf_state *st, int with_flags)
{
	struct file *f;
	int fds[2];
	__u64 ino = 0;

	fbpf_push_num(st, st->ret);
	fbpf_push_fd_pair(st, A(0), fds);
	f = fbpf_fget(fds[0]);
	if (f)
		ino = BPF_CORE_READ(f, f_inode, i_ino);
	fbpf_push_num(st, ino);
	if (with_flags)
		fbpf_push_num(st, fbpf_fd_flags(A(1)));
}

/* The first three u64 of the user's struct open_how (zeros if short). */
static __always_inline void fbpf_open_how(struct fbpf_state *st, __u64 *how)
{
	how[0] = 0;
	how[1] = 0;
	how[2] = 0;
	if (A(3) < 24 || bpf_probe_read_user(how, 24, (void *)A(2))) {
		how[0] = 0;
		how[1] = 0;
		how[2] = 0;
	}
}

/* Open family: enter and exit events. */
static __always_inline void fbpf_fill_open(struct fbpf_state *st)
{
	__u64 how[3];
	int x = st->type & 1;

	switch (st->type) {
	case PPME_SYSCALL_OPEN_E:
		fbpf_push_ustr(st, A(0));
		fbpf_push_num(st, fbpf_open_flags(A(1)));
		fbpf_push_num(st, fbpf_open_mode(A(1), A(2)));
		break;
	case PPME_SYSCALL_OPEN_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_ustr(st, A(0));
		fbpf_push_num(st, fbpf_open_flags(A(1)) |
				  fbpf_opened_flags(st->ret));
		fbpf_push_num(st, fbpf_open_mode(A(1), A(2)));
		fbpf_push_dev_ino(st, st->ret);
		break;
	case PPME_SYSCALL_OPENAT_2_E:
		fbpf_push_num(st, IA(0));
		fbpf_push_ustr(st, A(1));
		fbpf_push_num(st, fbpf_open_flags(A(2)));
		fbpf_push_num(st, fbpf_open_mode(A(2), A(3)));
		break;
	case PPME_SYSCALL_OPENAT_2_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_num(st, IA(0));
		fbpf_push_ustr(st, A(1));
		fbpf_push_num(st, fbpf_open_flags(A(2)) |
				  fbpf_opened_flags(st->ret));
		fbpf_push_num(st, fbpf_open_mode(A(2), A(3)));
		fbpf_push_dev_ino(st, st->ret);
		break;
	case PPME_SYSCALL_OPENAT2_E:
	case PPME_SYSCALL_OPENAT2_X:
		fbpf_open_how(st, how);
		if (x)
			fbpf_push_num(st, st->ret);
		fbpf_push_num(st, IA(0));
		fbpf_push_ustr(st, A(1));
		fbpf_push_num(st, fbpf_open_flags(how[0]) |
				  (x ? fbpf_opened_flags(st->ret) : 0));
		fbpf_push_num(st, fbpf_open_mode(how[0], how[1]));
		fbpf_push_num(st, fbpf_resolve_flags(how[2]));
		if (x)
			fbpf_push_dev_ino(st, st->ret);
		break;
	case PPME_SYSCALL_CREAT_E:
		fbpf_push_ustr(st, A(0));
		fbpf_push_num(st, A(1) & 07777);
		break;
	case PPME_SYSCALL_CREAT_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_ustr(st, A(0));
		fbpf_push_num(st, A(1) & 07777);
		fbpf_push_dev_ino(st, st->ret);
		fbpf_push_num(st, fbpf_creat_layer(st->ret));
		break;
	}
}

/* Every other file syscall (exit events). */
static __always_inline void fbpf_fill_file(struct fbpf_state *st,
					   struct fbpf_config *cfg)
{
	switch (st->type) {
	case PPME_SYSCALL_CLOSE_X:
	case PPME_SYSCALL_FCHDIR_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_num(st, IA(0));
		break;
	case PPME_SYSCALL_READ_X:
	case PPME_SYSCALL_PREAD_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_ubuf(st, cfg, A(1), st->ret);
		fbpf_push_num(st, IA(0));
		fbpf_push_num(st, A(2));
		if (st->type == PPME_SYSCALL_PREAD_X)
			fbpf_push_num(st, A(3));
		break;
	case PPME_SYSCALL_WRITE_X:
	case PPME_SYSCALL_PWRITE_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_ubuf(st, cfg, A(1), A(2));
		fbpf_push_num(st, IA(0));
		fbpf_push_num(st, A(2));
		if (st->type == PPME_SYSCALL_PWRITE_X)
			fbpf_push_num(st, A(3));
		break;
	case PPME_SYSCALL_CHDIR_X:
	case PPME_SYSCALL_RMDIR_2_X:
	case PPME_SYSCALL_UNLINK_2_X:
	case PPME_SYSCALL_CHROOT_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_ustr(st, A(0));
		break;
	case PPME_SYSCALL_MKDIR_2_X:
	case PPME_SYSCALL_CHMOD_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_ustr(st, A(0));
		fbpf_push_num(st, A(1) & 07777);
		break;
	case PPME_SYSCALL_FCHMOD_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_num(st, IA(0));
		fbpf_push_num(st, A(1) & 07777);
		break;
	case PPME_SYSCALL_MKDIRAT_X:
	case PPME_SYSCALL_FCHMODAT_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_num(st, IA(0));
		fbpf_push_ustr(st, A(1));
		fbpf_push_num(st, A(2) & 07777);
		break;
	case PPME_SYSCALL_UNLINKAT_2_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_num(st, IA(0));
		fbpf_push_ustr(st, A(1));
		fbpf_push_num(st, fbpf_at_flags(A(2)));
		break;
	case PPME_SYSCALL_RENAME_X:
	case PPME_SYSCALL_LINK_2_X:
	case PPME_SYSCALL_SYMLINK_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_ustr(st, A(0));
		fbpf_push_ustr(st, A(1));
		break;
	case PPME_SYSCALL_RENAMEAT_X:
	case PPME_SYSCALL_RENAMEAT2_X:
	case PPME_SYSCALL_LINKAT_2_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_num(st, IA(0));
		fbpf_push_ustr(st, A(1));
		fbpf_push_num(st, IA(2));
		fbpf_push_ustr(st, A(3));
		if (st->type == PPME_SYSCALL_RENAMEAT2_X)
			/* PPM_RENAME_* equal RENAME_* */
			fbpf_push_num(st, A(4) & 7);
		else if (st->type == PPME_SYSCALL_LINKAT_2_X)
			fbpf_push_num(st, fbpf_at_flags(A(4)));
		break;
	case PPME_SYSCALL_SYMLINKAT_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_ustr(st, A(0));
		fbpf_push_num(st, IA(1));
		fbpf_push_ustr(st, A(2));
		break;
	case PPME_SYSCALL_DUP_1_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_num(st, IA(0));
		break;
	case PPME_SYSCALL_DUP2_X:
	case PPME_SYSCALL_DUP3_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_num(st, IA(0));
		fbpf_push_num(st, IA(1));
		if (st->type == PPME_SYSCALL_DUP3_X)
			fbpf_push_num(st, fbpf_fd_flags(A(2)));
		break;
	case PPME_SYSCALL_FCNTL_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_num(st, IA(0));
		fbpf_push_num(st, fbpf_fcntl_cmd(A(1)));
		fbpf_push_num(st, A(2));
		break;
	case PPME_SYSCALL_PIPE_X:
		fbpf_fill_pipe(st, 0);
		break;
	case PPME_SYSCALL_PIPE2_X:
		fbpf_fill_pipe(st, 1);
		break;
	case PPME_SYSCALL_INIT_MODULE_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_ubuf(st, cfg, A(0), A(1));
		fbpf_push_num(st, A(1));
		fbpf_push_ustr(st, A(2));
		break;
	case PPME_SYSCALL_FINIT_MODULE_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_num(st, IA(0));
		fbpf_push_ustr(st, A(1));
		/* PPM_MODULE_INIT_* equal MODULE_INIT_* */
		fbpf_push_num(st, A(2) & 7);
		break;
	case PPME_SYSCALL_USERFAULTFD_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_num(st, fbpf_fd_flags(A(0)));
		break;
	case PPME_SYSCALL_MEMFD_CREATE_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_ustr(st, A(0));
		/* PPM_MFD_* equal MFD_* */
		fbpf_push_num(st, A(1) & 7);
		break;
	case PPME_SYSCALL_UMOUNT2_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_ustr(st, A(0));
		/* PPM_MNT_* equal MNT_* */
		fbpf_push_num(st, A(1) & 0xf);
		break;
	case PPME_SYSCALL_MOUNT_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_ustr(st, A(0));
		fbpf_push_ustr(st, A(1));
		fbpf_push_ustr(st, A(2));
		/* PPM_MS_* equal MS_*; the magic number is not a flag */
		if ((A(3) & 0xffff0000UL) == 0xc0ed0000UL)
			fbpf_push_num(st, A(3) & 0xffff);
		else
			fbpf_push_num(st, A(3));
		break;
	}
}

#endif /* _FBPF_FILL_FILE_H */
