// SPDX-License-Identifier: GPL-2.0
/*
 * fill_file.c - fillers of file and file descriptor syscalls
 */
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/fcntl.h>
#include <linux/kdev_t.h>
#include <linux/openat2.h>
#include <linux/uaccess.h>

#include "fprobe.h"

#define A(i) (r->args[i])
/* int-typed arguments (fds, dirfds) are sign extended from 32 bits */
#define IA(i) ((s64)(int)r->args[i])

/**
 * fprobe_open_flags() - translate O_* open flags to PPM_O_*
 * @flags: kernel flags
 */
u32 fprobe_open_flags(unsigned long flags)
{
	u32 res = 0;

	switch (flags & O_ACCMODE) {
	case O_RDONLY:
		res |= PPM_O_RDONLY;
		break;
	case O_WRONLY:
		res |= PPM_O_WRONLY;
		break;
	case O_RDWR:
		res |= PPM_O_RDWR;
		break;
	}
	if (flags & O_CREAT)
		res |= PPM_O_CREAT;
	if (flags & O_APPEND)
		res |= PPM_O_APPEND;
	if (flags & O_DSYNC)
		res |= PPM_O_DSYNC;
	if (flags & O_EXCL)
		res |= PPM_O_EXCL;
	if (flags & O_NONBLOCK)
		res |= PPM_O_NONBLOCK;
	if ((flags & __O_SYNC) && (flags & O_DSYNC))
		res |= PPM_O_SYNC;
	if (flags & O_TRUNC)
		res |= PPM_O_TRUNC;
	if (flags & O_DIRECT)
		res |= PPM_O_DIRECT;
	if (flags & __O_TMPFILE)
		res |= PPM_O_TMPFILE;
	else if (flags & O_DIRECTORY)
		res |= PPM_O_DIRECTORY;
	if (flags & O_LARGEFILE)
		res |= PPM_O_LARGEFILE;
	if (flags & O_CLOEXEC)
		res |= PPM_O_CLOEXEC;
	return res;
}

/**
 * fprobe_fd_flags() - translate fd creation flags (O_CLOEXEC, O_NONBLOCK,
 * O_DIRECT) to PPM_O_*, without an access mode
 * @flags: kernel flags (dup3, pipe2, userfaultfd)
 */
u32 fprobe_fd_flags(unsigned long flags)
{
	u32 res = 0;

	if (flags & O_CLOEXEC)
		res |= PPM_O_CLOEXEC;
	if (flags & O_NONBLOCK)
		res |= PPM_O_NONBLOCK;
	if (flags & O_DIRECT)
		res |= PPM_O_DIRECT;
	return res;
}

/**
 * fprobe_open_mode() - the mode argument of open, meaningful only when a
 * file may be created (PPM_S_* bits equal the kernel's permission bits)
 * @flags: kernel open flags
 * @mode: kernel mode argument
 */
static u32 fprobe_open_mode(unsigned long flags, unsigned long mode)
{
	if (!(flags & O_CREAT) && (flags & __O_TMPFILE) != __O_TMPFILE)
		return 0;
	return mode & 07777;
}

/* Look up an fd of current without sleeping; caller fput()s. */
static struct file *fprobe_fget(long fd)
{
	if (fd < 0 || fd > INT_MAX)
		return NULL;
	return fget_raw(fd);
}

/**
 * fprobe_fd_type() - the file type of an fd of current, for the prefilter
 * @ctx: unused (struct fprobe_pf_event.fdtype_ctx)
 * @fd: the fd
 *
 * Context: probe; no sleeping.
 * Return: (i_mode & S_IFMT) >> 12, or -1 when @fd is not open.
 */
int fprobe_fd_type(const void *ctx, long long fd)
{
	struct file *f = fprobe_fget(fd);
	int t;

	if (!f)
		return -1;
	t = (file_inode(f)->i_mode & S_IFMT) >> 12;
	fput(f);
	return t;
}

/**
 * fprobe_push_dev_ino() - push dev and ino of an fd of current
 * @r: the record
 * @fd: the fd (a failed open's negative value gives zeros)
 */
void fprobe_push_dev_ino(struct fprobe_rec *r, int fd)
{
	struct file *f = fprobe_fget(fd);
	struct inode *inode;
	u32 dev = 0;
	u64 ino = 0;

	if (f) {
		/*
		 * The inode the fd refers to.  On overlayfs stat() shows a
		 * per-layer pseudo device instead: userspace sees the overlay.
		 */
		inode = file_inode(f);
		dev = new_encode_dev(inode->i_sb->s_dev);
		ino = inode->i_ino;
		fput(f);
	}
	fprobe_push_u64(r, dev);
	fprobe_push_u64(r, ino);
}

/*
 * Flags only the kernel knows about the file an open returned: whether the
 * open created it (PPM_O_F_CREATED) and its overlayfs layer.
 */
static u32 fprobe_opened_flags(long fd)
{
	struct file *f = fprobe_fget(fd);
	u32 res = 0;

	if (f) {
		if (f->f_mode & FMODE_CREATED)
			res = PPM_O_F_CREATED;
		res |= fprobe_ovl_layer(file_inode(f), PPM_FD_UPPER_LAYER,
					PPM_FD_LOWER_LAYER);
		fput(f);
	}
	return res;
}

/* overlayfs layer of the file created by creat() as fd @fd */
static u32 fprobe_creat_layer(long fd)
{
	struct file *f = fprobe_fget(fd);
	u32 res = 0;

	if (f) {
		res = fprobe_ovl_layer(file_inode(f), PPM_FD_UPPER_LAYER_CREAT,
				       PPM_FD_LOWER_LAYER_CREAT);
		fput(f);
	}
	return res;
}

static u32 fprobe_at_flags(unsigned long flags)
{
	return flags & (AT_SYMLINK_NOFOLLOW | AT_REMOVEDIR |
			AT_SYMLINK_FOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH);
}

static u32 fprobe_fcntl_cmd(unsigned long cmd)
{
	switch (cmd) {
	case F_DUPFD: return PPM_FCNTL_F_DUPFD;
	case F_GETFD: return PPM_FCNTL_F_GETFD;
	case F_SETFD: return PPM_FCNTL_F_SETFD;
	case F_GETFL: return PPM_FCNTL_F_GETFL;
	case F_SETFL: return PPM_FCNTL_F_SETFL;
	case F_GETLK: return PPM_FCNTL_F_GETLK;
	case F_SETLK: return PPM_FCNTL_F_SETLK;
	case F_SETLKW: return PPM_FCNTL_F_SETLKW;
	case F_SETOWN: return PPM_FCNTL_F_SETOWN;
	case F_GETOWN: return PPM_FCNTL_F_GETOWN;
	case F_SETSIG: return PPM_FCNTL_F_SETSIG;
	case F_GETSIG: return PPM_FCNTL_F_GETSIG;
	case F_SETOWN_EX: return PPM_FCNTL_F_SETOWN_EX;
	case F_GETOWN_EX: return PPM_FCNTL_F_GETOWN_EX;
	case F_SETLEASE: return PPM_FCNTL_F_SETLEASE;
	case F_GETLEASE: return PPM_FCNTL_F_GETLEASE;
	case F_CANCELLK: return PPM_FCNTL_F_CANCELLK;
	case F_DUPFD_CLOEXEC: return PPM_FCNTL_F_DUPFD_CLOEXEC;
	case F_NOTIFY: return PPM_FCNTL_F_NOTIFY;
	case F_SETPIPE_SZ: return PPM_FCNTL_F_SETPIPE_SZ;
	case F_GETPIPE_SZ: return PPM_FCNTL_F_GETPIPE_SZ;
	case F_OFD_GETLK: return PPM_FCNTL_F_OFD_GETLK;
	case F_OFD_SETLK: return PPM_FCNTL_F_OFD_SETLK;
	case F_OFD_SETLKW: return PPM_FCNTL_F_OFD_SETLKW;
	default: return PPM_FCNTL_UNKNOWN;
	}
}

static u32 fprobe_resolve_flags(u64 resolve)
{
	u32 res = 0;

	if (resolve & RESOLVE_BENEATH)
		res |= PPM_RESOLVE_BENEATH;
	if (resolve & RESOLVE_IN_ROOT)
		res |= PPM_RESOLVE_IN_ROOT;
	if (resolve & RESOLVE_NO_MAGICLINKS)
		res |= PPM_RESOLVE_NO_MAGICLINKS;
	if (resolve & RESOLVE_NO_SYMLINKS)
		res |= PPM_RESOLVE_NO_SYMLINKS;
	if (resolve & RESOLVE_NO_XDEV)
		res |= PPM_RESOLVE_NO_XDEV;
	if (resolve & RESOLVE_CACHED)
		res |= PPM_RESOLVE_CACHED;
	return res;
}

/* Read the user's struct open_how (first three u64 of any version). */
static void fprobe_open_how(struct fprobe_rec *r, struct open_how *how)
{
	memset(how, 0, sizeof(*how));
	if (A(3) < sizeof(*how) ||
	    copy_from_user_nofault(how, (const void __user *)A(2), sizeof(*how)))
		memset(how, 0, sizeof(*how));
}

/* fd1, fd2 from a user int[2] (pipe, socketpair); -1 when unreadable */
void fprobe_push_fd_pair(struct fprobe_rec *r, unsigned long uptr, int *fds)
{
	fds[0] = -1;
	fds[1] = -1;
	if (r->ret >= 0 &&
	    copy_from_user_nofault(fds, (const void __user *)uptr, 2 * sizeof(int))) {
		fds[0] = -1;
		fds[1] = -1;
	}
	fprobe_push_u64(r, (s64)fds[0]);
	fprobe_push_u64(r, (s64)fds[1]);
}

static void fprobe_fill_pipe(struct fprobe_rec *r, bool with_flags)
{
	struct file *f;
	int fds[2];
	u64 ino = 0;

	fprobe_push_u64(r, r->ret);
	fprobe_push_fd_pair(r, A(0), fds);
	f = fprobe_fget(fds[0]);
	if (f) {
		ino = file_inode(f)->i_ino;
		fput(f);
	}
	fprobe_push_u64(r, ino);
	if (with_flags)
		fprobe_push_u64(r, fprobe_fd_flags(A(1)));
}

/**
 * fprobe_fill_file() - fillers of the file syscalls
 * @r: the record
 *
 * Return: 0 if r->type is a file event, else -ENOENT.
 */
int fprobe_fill_file(struct fprobe_rec *r)
{
	struct open_how how;

	switch (r->type) {
	case PPME_SYSCALL_OPEN_E:
		fprobe_push_ustr(r, A(0));
		fprobe_push_u64(r, fprobe_open_flags(A(1)));
		fprobe_push_u64(r, fprobe_open_mode(A(1), A(2)));
		break;
	case PPME_SYSCALL_OPEN_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_ustr(r, A(0));
		fprobe_push_u64(r, fprobe_open_flags(A(1)) |
				   fprobe_opened_flags(r->ret));
		fprobe_push_u64(r, fprobe_open_mode(A(1), A(2)));
		fprobe_push_dev_ino(r, r->ret);
		break;
	case PPME_SYSCALL_OPENAT_2_E:
		fprobe_push_u64(r, IA(0));
		fprobe_push_ustr(r, A(1));
		fprobe_push_u64(r, fprobe_open_flags(A(2)));
		fprobe_push_u64(r, fprobe_open_mode(A(2), A(3)));
		break;
	case PPME_SYSCALL_OPENAT_2_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_u64(r, IA(0));
		fprobe_push_ustr(r, A(1));
		fprobe_push_u64(r, fprobe_open_flags(A(2)) |
				   fprobe_opened_flags(r->ret));
		fprobe_push_u64(r, fprobe_open_mode(A(2), A(3)));
		fprobe_push_dev_ino(r, r->ret);
		break;
	case PPME_SYSCALL_OPENAT2_E:
	case PPME_SYSCALL_OPENAT2_X:
		fprobe_open_how(r, &how);
		if (r->type == PPME_SYSCALL_OPENAT2_X)
			fprobe_push_u64(r, r->ret);
		fprobe_push_u64(r, IA(0));
		fprobe_push_ustr(r, A(1));
		fprobe_push_u64(r, fprobe_open_flags(how.flags) |
				   (r->type == PPME_SYSCALL_OPENAT2_X ?
				    fprobe_opened_flags(r->ret) : 0));
		fprobe_push_u64(r, fprobe_open_mode(how.flags, how.mode));
		fprobe_push_u64(r, fprobe_resolve_flags(how.resolve));
		if (r->type == PPME_SYSCALL_OPENAT2_X)
			fprobe_push_dev_ino(r, r->ret);
		break;
	case PPME_SYSCALL_CREAT_E:
		fprobe_push_ustr(r, A(0));
		fprobe_push_u64(r, A(1) & 07777);
		break;
	case PPME_SYSCALL_CREAT_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_ustr(r, A(0));
		fprobe_push_u64(r, A(1) & 07777);
		fprobe_push_dev_ino(r, r->ret);
		fprobe_push_u64(r, fprobe_creat_layer(r->ret));
		break;
	case PPME_SYSCALL_CLOSE_E:
		fprobe_push_u64(r, IA(0));
		break;
	case PPME_SYSCALL_CLOSE_X:
	case PPME_SYSCALL_FCHDIR_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_u64(r, IA(0));
		break;
	case PPME_SYSCALL_READ_X:
	case PPME_SYSCALL_PREAD_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_ubuf(r, A(1), r->ret);
		fprobe_push_u64(r, IA(0));
		fprobe_push_u64(r, A(2));
		if (r->type == PPME_SYSCALL_PREAD_X)
			fprobe_push_u64(r, A(3));
		break;
	case PPME_SYSCALL_WRITE_X:
	case PPME_SYSCALL_PWRITE_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_ubuf(r, A(1), A(2));
		fprobe_push_u64(r, IA(0));
		fprobe_push_u64(r, A(2));
		if (r->type == PPME_SYSCALL_PWRITE_X)
			fprobe_push_u64(r, A(3));
		break;
	case PPME_SYSCALL_CHDIR_X:
	case PPME_SYSCALL_RMDIR_2_X:
	case PPME_SYSCALL_UNLINK_2_X:
	case PPME_SYSCALL_CHROOT_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_ustr(r, A(0));
		break;
	case PPME_SYSCALL_MKDIR_2_X:
	case PPME_SYSCALL_CHMOD_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_ustr(r, A(0));
		fprobe_push_u64(r, A(1) & 07777);
		break;
	case PPME_SYSCALL_FCHMOD_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_u64(r, IA(0));
		fprobe_push_u64(r, A(1) & 07777);
		break;
	case PPME_SYSCALL_MKDIRAT_X:
	case PPME_SYSCALL_FCHMODAT_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_u64(r, IA(0));
		fprobe_push_ustr(r, A(1));
		fprobe_push_u64(r, A(2) & 07777);
		break;
	case PPME_SYSCALL_UNLINKAT_2_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_u64(r, IA(0));
		fprobe_push_ustr(r, A(1));
		fprobe_push_u64(r, fprobe_at_flags(A(2)));
		break;
	case PPME_SYSCALL_RENAME_X:
	case PPME_SYSCALL_LINK_2_X:
	case PPME_SYSCALL_SYMLINK_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_ustr(r, A(0));
		fprobe_push_ustr(r, A(1));
		break;
	case PPME_SYSCALL_RENAMEAT_X:
	case PPME_SYSCALL_RENAMEAT2_X:
	case PPME_SYSCALL_LINKAT_2_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_u64(r, IA(0));
		fprobe_push_ustr(r, A(1));
		fprobe_push_u64(r, IA(2));
		fprobe_push_ustr(r, A(3));
		if (r->type == PPME_SYSCALL_RENAMEAT2_X)
			/* PPM_RENAME_* equal RENAME_* */
			fprobe_push_u64(r, A(4) & 7);
		else if (r->type == PPME_SYSCALL_LINKAT_2_X)
			fprobe_push_u64(r, fprobe_at_flags(A(4)));
		break;
	case PPME_SYSCALL_SYMLINKAT_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_ustr(r, A(0));
		fprobe_push_u64(r, IA(1));
		fprobe_push_ustr(r, A(2));
		break;
	case PPME_SYSCALL_DUP_1_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_u64(r, IA(0));
		break;
	case PPME_SYSCALL_DUP2_X:
	case PPME_SYSCALL_DUP3_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_u64(r, IA(0));
		fprobe_push_u64(r, IA(1));
		if (r->type == PPME_SYSCALL_DUP3_X)
			fprobe_push_u64(r, fprobe_fd_flags(A(2)));
		break;
	case PPME_SYSCALL_FCNTL_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_u64(r, IA(0));
		fprobe_push_u64(r, fprobe_fcntl_cmd(A(1)));
		fprobe_push_u64(r, A(2));
		break;
	case PPME_SYSCALL_PIPE_X:
		fprobe_fill_pipe(r, false);
		break;
	case PPME_SYSCALL_PIPE2_X:
		fprobe_fill_pipe(r, true);
		break;
	case PPME_SYSCALL_INIT_MODULE_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_ubuf(r, A(0), A(1));
		fprobe_push_u64(r, A(1));
		fprobe_push_ustr(r, A(2));
		break;
	case PPME_SYSCALL_FINIT_MODULE_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_u64(r, IA(0));
		fprobe_push_ustr(r, A(1));
		/* PPM_MODULE_INIT_* equal MODULE_INIT_* */
		fprobe_push_u64(r, A(2) & 7);
		break;
	case PPME_SYSCALL_USERFAULTFD_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_u64(r, fprobe_fd_flags(A(0)));
		break;
	case PPME_SYSCALL_MEMFD_CREATE_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_ustr(r, A(0));
		/* PPM_MFD_* equal MFD_* */
		fprobe_push_u64(r, A(1) & 7);
		break;
	case PPME_SYSCALL_UMOUNT2_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_ustr(r, A(0));
		/* PPM_MNT_* equal MNT_* */
		fprobe_push_u64(r, A(1) & 0xf);
		break;
	case PPME_SYSCALL_MOUNT_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_ustr(r, A(0));
		fprobe_push_ustr(r, A(1));
		fprobe_push_ustr(r, A(2));
		/* PPM_MS_* equal MS_*; the magic number is not a flag */
		if ((A(3) & 0xffff0000UL) == 0xc0ed0000UL)
			fprobe_push_u64(r, A(3) & 0xffff);
		else
			fprobe_push_u64(r, A(3));
		break;
	default:
		return -ENOENT;
	}
	return 0;
}
