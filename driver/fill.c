// SPDX-License-Identifier: GPL-2.0
/*
 * fill.c - parameter encoders and the filler dispatch
 *
 * A filler pushes the parameters of one event in table order.  Numeric
 * pushes take their width from the parameter type in fprobe_event_table,
 * so fillers never repeat the schema.  User memory is read without
 * faulting (the probes run with preemption disabled); a fault loses the
 * event and counts it in n_drops_pf.
 */
#include <linux/uaccess.h>
#include <linux/string.h>
#include <linux/fs.h>
#include <linux/magic.h>

#include "fprobe.h"

/* Longest string parameter read from user memory (PATH_MAX). */
#define FPROBE_MAX_USTR 4096

static u32 fprobe_type_size(u32 type)
{
	switch (type) {
	case PT_INT8:
	case PT_UINT8:
	case PT_FLAGS8:
	case PT_ENUMFLAGS8:
	case PT_SIGTYPE:
	case PT_L4PROTO:
	case PT_SOCKFAMILY:
		return 1;
	case PT_INT16:
	case PT_UINT16:
	case PT_FLAGS16:
	case PT_ENUMFLAGS16:
	case PT_PORT:
	case PT_SYSCALLID:
		return 2;
	case PT_INT32:
	case PT_UINT32:
	case PT_FLAGS32:
	case PT_ENUMFLAGS32:
	case PT_UID:
	case PT_GID:
	case PT_MODE:
	case PT_BOOL:
	case PT_IPV4ADDR:
	case PT_FD32:
	case PT_PID32:
	case PT_SIGSET:
		return 4;
	case PT_INT64:
	case PT_UINT64:
	case PT_ERRNO:
	case PT_FD:
	case PT_PID:
	case PT_RELTIME:
	case PT_ABSTIME:
	case PT_DOUBLE:
		return 8;
	default:
		return 0;
	}
}

static bool fprobe_can_push(struct fprobe_rec *r)
{
	return r->fail == FPROBE_OK && r->cur < r->nparams;
}

/**
 * fprobe_room_left() - bytes a parameter may still take
 * @r: the record
 */
u32 fprobe_room_left(struct fprobe_rec *r)
{
	u32 left = r->room - r->pos;

	return left > U16_MAX ? U16_MAX : left;
}

/**
 * fprobe_param_begin() - where the next parameter's bytes go
 * @r: the record
 *
 * Return: the destination, or NULL if nothing may be pushed any more.
 */
char *fprobe_param_begin(struct fprobe_rec *r)
{
	if (!fprobe_can_push(r))
		return NULL;
	return r->base + r->pos;
}

/**
 * fprobe_param_commit() - account for a parameter written in place
 * @r: the record
 * @len: bytes written at fprobe_param_begin(), at most fprobe_room_left()
 */
void fprobe_param_commit(struct fprobe_rec *r, u32 len)
{
	u16 l = len;

	if (!fprobe_can_push(r))
		return;
	memcpy(r->base + FPROBE_EVT_HDR_SIZE + 2 * r->cur, &l, 2);
	r->pos += len;
	r->cur++;
}

/**
 * fprobe_push_empty() - push a zero-length (absent) parameter
 * @r: the record
 */
void fprobe_push_empty(struct fprobe_rec *r)
{
	fprobe_param_commit(r, 0);
}

/**
 * fprobe_push_bytes() - push raw bytes from kernel memory
 * @r: the record
 * @p: the bytes
 * @len: how many
 */
void fprobe_push_bytes(struct fprobe_rec *r, const void *p, u32 len)
{
	char *dst = fprobe_param_begin(r);

	if (!dst)
		return;
	if (len > fprobe_room_left(r)) {
		r->fail = FPROBE_FAIL_FULL;
		return;
	}
	memcpy(dst, p, len);
	fprobe_param_commit(r, len);
}

/**
 * fprobe_push_u64() - push a number with the width of the parameter type
 * @r: the record
 * @val: the value, truncated to the type's width
 */
void fprobe_push_u64(struct fprobe_rec *r, u64 val)
{
	u32 size;

	if (!fprobe_can_push(r))
		return;
	size = fprobe_type_size(fprobe_event_table[r->type].params[r->cur].type);
	if (!size) {
		fprobe_push_empty(r);
		return;
	}
	/* Little endian: the low bytes come first. */
	fprobe_push_bytes(r, &val, size);
}

/**
 * fprobe_push_kstr() - push a NUL-terminated kernel string
 * @r: the record
 * @str: the string, NULL for an empty parameter
 */
void fprobe_push_kstr(struct fprobe_rec *r, const char *str)
{
	if (!str) {
		fprobe_push_empty(r);
		return;
	}
	fprobe_push_bytes(r, str, strnlen(str, FPROBE_MAX_USTR - 1) + 1);
}

/**
 * fprobe_push_ustr() - push a NUL-terminated string from user memory
 * @r: the record
 * @uptr: user address, 0 for an empty parameter
 *
 * Strings longer than PATH_MAX are truncated.
 */
void fprobe_push_ustr(struct fprobe_rec *r, unsigned long uptr)
{
	char *dst = fprobe_param_begin(r);
	u32 max = fprobe_room_left(r);
	long n;

	if (!dst)
		return;
	if (!uptr) {
		fprobe_push_empty(r);
		return;
	}
	if (max > FPROBE_MAX_USTR)
		max = FPROBE_MAX_USTR;
	if (max < 1) {
		r->fail = FPROBE_FAIL_FULL;
		return;
	}
	/* With page faults disabled a missing page fails instead of sleeping. */
	pagefault_disable();
	n = strncpy_from_user(dst, (const char __user *)uptr, max);
	pagefault_enable();
	if (n < 0) {
		r->fail = FPROBE_FAIL_PF;
		return;
	}
	if (n >= max) {
		if (max < FPROBE_MAX_USTR) {
			r->fail = FPROBE_FAIL_FULL;
			return;
		}
		n = max - 1;
	}
	dst[n] = '\0';
	fprobe_param_commit(r, n + 1);
}

/**
 * fprobe_push_ubuf() - push up to snaplen bytes of a user buffer
 * @r: the record
 * @uptr: user address
 * @len: bytes available at @uptr; negative or zero gives an empty param
 */
void fprobe_push_ubuf(struct fprobe_rec *r, unsigned long uptr, u64 len)
{
	char *dst = fprobe_param_begin(r);
	u32 n;

	if (!dst)
		return;
	if (!uptr || (s64)len <= 0) {
		fprobe_push_empty(r);
		return;
	}
	n = min_t(u64, len, READ_ONCE(r->s->snaplen));
	if (n > fprobe_room_left(r)) {
		r->fail = FPROBE_FAIL_FULL;
		return;
	}
	if (copy_from_user_nofault(dst, (const void __user *)uptr, n)) {
		r->fail = FPROBE_FAIL_PF;
		return;
	}
	fprobe_param_commit(r, n);
}

/**
 * fprobe_fill() - run the filler of r->type
 * @r: record started by fprobe_rec_begin()
 *
 * Return: 0; failures are recorded in r->fail.
 */
int fprobe_fill(struct fprobe_rec *r)
{
	if (fprobe_fill_file(r) != -ENOENT)
		return 0;
	if (fprobe_fill_net(r) != -ENOENT)
		return 0;
	if (fprobe_fill_proc(r) != -ENOENT)
		return 0;
	if (r->type == PPME_GENERIC_X && r->nr >= 0) {
		fprobe_push_u64(r, fprobe_syscall_table[r->nr].ppm_sc);
		fprobe_push_u64(r, r->nr);
	}
	/* Anything not pushed is sent empty by fprobe_rec_end(). */
	return 0;
}

/**
 * fprobe_ovl_layer() - overlayfs layer of an inode
 * @inode: inode of an open file
 * @upper: value for a file of the upper layer
 * @lower: value for a file found only in a lower layer
 *
 * Overlayfs embeds the VFS inode in its own (struct ovl_inode, the same
 * since 4.13), immediately followed by the upper dentry pointer: set once
 * the file exists in the upper layer, created there or copied up.
 *
 * Return: @upper, @lower, or 0 when @inode is not an overlayfs inode.
 */
u32 fprobe_ovl_layer(struct inode *inode, u32 upper, u32 lower)
{
	struct dentry *up;

	if (inode->i_sb->s_magic != OVERLAYFS_SUPER_MAGIC)
		return 0;
	up = READ_ONCE(*(struct dentry **)((char *)inode + sizeof(*inode)));
	return up ? upper : lower;
}
