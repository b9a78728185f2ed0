/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fbpf_path.h - kernel object lookups of the fillers: files of an fd,
 * paths of dentries (what d_path() prints) and of cgroups (what
 * cgroup_path() prints), device numbers
 */
#ifndef _FBPF_PATH_H
#define _FBPF_PATH_H

#include "fbpf.h"

/* Deepest path walked (dentries plus mount crossings). */
#define FBPF_PATH_DEPTH 96
/* Longest file name component (NAME_MAX). */
#define FBPF_NAME_MAX 255

/* Kernel dev_t to the userspace encoding (new_encode_dev). */
static __always_inline __u32 fbpf_encode_dev(__u32 dev)
{
	__u32 major = dev >> K_MINORBITS;
	__u32 minor = dev & K_MINORMASK;

	return (minor & 0xff) | (major << 8) | ((minor & ~0xffU) << 12);
}

/* struct file of fd @fd of the current task, or NULL. */
static __always_inline struct file *fbpf_fget(long fd)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct files_struct *files;
	struct fdtable *fdt;
	struct file **fds;
	struct file *f = NULL;
	unsigned int max;

	if (fd < 0 || fd > 0x7fffffff)
		return NULL;
	files = BPF_CORE_READ(task, files);
	if (!files)
		return NULL;
	fdt = BPF_CORE_READ(files, fdt);
	max = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned long)fd >= max)
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]))
		return NULL;
	return f;
}

static __always_inline struct inode *fbpf_file_inode(struct file *f)
{
	return BPF_CORE_READ(f, f_inode);
}

/*
 * Overlayfs layer of @inode: the overlay inode embeds the VFS inode,
 * immediately followed by the upper dentry pointer (set once the file
 * exists in the upper layer).  Returns @upper, @lower, or 0 when @inode is
 * not on overlayfs.
 */
static __always_inline __u32 fbpf_ovl_layer(struct inode *inode, __u32 upper,
					    __u32 lower)
{
	void *up = NULL;

	if (!inode ||
	    BPF_CORE_READ(inode, i_sb, s_magic) != K_OVERLAYFS_SUPER_MAGIC)
		return 0;
	bpf_probe_read_kernel(&up, sizeof(up),
			      (char *)inode + bpf_core_type_size(struct inode));
	return up ? upper : lower;
}

/* struct mount embeds the vfsmount (real_mount()). */
static __always_inline struct mount *fbpf_real_mount(struct vfsmount *m)
{
	return (void *)((char *)m - bpf_core_field_offset(struct mount, mnt));
}

struct fbpf_dpath_ctx {
	struct fbpf_state *st;
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	struct dentry *root_dentry;
	struct vfsmount *root_mnt;
	int pos;
	int start;
	int done;	/* 1: complete, -1: cannot be printed */
};

/* One step of the walk towards the root (a name, or a mount crossing). */
static long fbpf_dpath_step(__u32 i, void *data)
{
	struct fbpf_dpath_ctx *c = data;
	struct fbpf_state *st = c->st;
	struct dentry *dentry = c->dentry, *parent, *mnt_root;
	struct vfsmount *vfsmnt = c->vfsmnt;
	struct mount *mnt = c->mnt, *mparent;
	const unsigned char *name;
	__u32 len;
	int pos = c->pos;

	if (dentry == c->root_dentry && vfsmnt == c->root_mnt) {
		c->done = 1;
		return 1;
	}
	parent = BPF_CORE_READ(dentry, d_parent);
	mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	if (dentry == mnt_root) {
		mparent = BPF_CORE_READ(mnt, mnt_parent);
		if (mparent == mnt) {
			/* the global root, or a detached mount */
			c->done = 1;
			return 1;
		}
		c->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		c->mnt = mparent;
		c->vfsmnt = (void *)((char *)mparent +
				     bpf_core_field_offset(struct mount, mnt));
		return 0;
	}
	if (dentry == parent) {
		/* escaped the root: d_path() prints "/" */
		c->pos = c->start;
		c->done = 1;
		return 1;
	}
	len = BPF_CORE_READ(dentry, d_name.len);
	name = BPF_CORE_READ(dentry, d_name.name);
	if (len > FBPF_NAME_MAX || pos < (int)len + 2) {
		c->done = -1;
		return 1;
	}
	pos -= len;
	if (bpf_probe_read_kernel(&st->tmp[FBPF_MASK(pos, FBPF_TMP_MASK)],
				  FBPF_MASK(len, FBPF_NAME_MAX), name)) {
		c->done = -1;
		return 1;
	}
	pos -= 1;
	st->tmp[FBPF_MASK(pos, FBPF_TMP_MASK)] = '/';
	c->pos = pos;
	c->dentry = parent;
	return 0;
}

/*
 * fbpf_d_path() - build the path of (@dentry, @vfsmnt) as d_path() prints
 * it for the current task: right to left at the end of st->tmp.
 *
 * Returns the offset of the first byte in st->tmp (the string runs to
 * FBPF_TMP_SIZE, NUL included), or -1 when the path cannot be printed
 * (too long, too deep, or a pseudo file system's d_dname name).
 */
static __always_inline int fbpf_d_path(struct fbpf_state *st,
				       struct dentry *dentry,
				       struct vfsmount *vfsmnt)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct fbpf_dpath_ctx c = {};
	const struct dentry_operations *dop;
	struct dentry *parent, *mnt_root;
	struct fs_struct *fs;

	if (!dentry || !vfsmnt)
		return -1;
	parent = BPF_CORE_READ(dentry, d_parent);
	dop = BPF_CORE_READ(dentry, d_op);
	if (dop && BPF_CORE_READ(dop, d_dname)) {
		mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
		if (parent != dentry || dentry != mnt_root)
			return -1;
	}
	fs = BPF_CORE_READ(task, fs);
	c.st = st;
	c.dentry = dentry;
	c.vfsmnt = vfsmnt;
	c.mnt = fbpf_real_mount(vfsmnt);
	c.root_dentry = BPF_CORE_READ(fs, root.dentry);
	c.root_mnt = BPF_CORE_READ(fs, root.mnt);
	/* unlinked (unhashed and not a root): " (deleted)" follows */
	if (!BPF_CORE_READ(dentry, d_hash.pprev) && parent != dentry) {
		c.pos = FBPF_TMP_SIZE - 11;
		__builtin_memcpy(&st->tmp[FBPF_TMP_SIZE - 11], " (deleted)", 11);
	} else {
		c.pos = FBPF_TMP_SIZE - 1;
		st->tmp[FBPF_TMP_SIZE - 1] = 0;
	}
	c.start = c.pos;
	bpf_loop(FBPF_PATH_DEPTH, fbpf_dpath_step, &c, 0);
	if (c.done != 1)
		return -1;
	if (c.pos == c.start) {
		c.pos -= 1;
		st->tmp[FBPF_MASK(c.pos, FBPF_TMP_MASK)] = '/';
	}
	/* d_path() works in a one page buffer */
	if (FBPF_TMP_SIZE - c.pos > 4096)
		return -1;
	return c.pos;
}

/* Push the string built at st->tmp[@pos..FBPF_TMP_SIZE) (-1: empty). */
static __always_inline void fbpf_push_tmp(struct fbpf_state *st, int pos)
{
	__u32 len;

	if (pos < 0 || pos >= FBPF_TMP_SIZE) {
		fbpf_push_empty(st);
		return;
	}
	len = FBPF_TMP_SIZE - pos;
	fbpf_push_kbytes(st, &st->tmp[FBPF_MASK(pos, FBPF_TMP_MASK)], len);
}

/* Push the path of a struct path (d_path()); empty when not printable. */
static __always_inline void fbpf_push_path(struct fbpf_state *st,
					   struct dentry *dentry,
					   struct vfsmount *mnt)
{
	fbpf_push_tmp(st, fbpf_d_path(st, dentry, mnt));
}

/* kernfs node renamed its parent pointer in 6.15 */
struct kernfs_node___old {
	struct kernfs_node___old *parent;
	const char *name;
} __attribute__((preserve_access_index));

static __always_inline struct kernfs_node *fbpf_kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(struct kernfs_node___old, parent))
		return (void *)BPF_CORE_READ((struct kernfs_node___old *)kn,
					     parent);
	return BPF_CORE_READ(kn, __parent);
}

struct fbpf_kn_ctx {
	struct fbpf_state *st;
	struct kernfs_node *kn;
	int pos;
	int done;	/* 1: complete, -1: cannot be printed */
};

static long fbpf_kn_step(__u32 i, void *data)
{
	struct fbpf_kn_ctx *c = data;
	struct fbpf_state *st = c->st;
	struct kernfs_node *kn = c->kn, *parent;
	const char *name;
	int pos = c->pos;
	long n;

	parent = kn ? fbpf_kn_parent(kn) : NULL;
	if (!parent) {
		c->done = 1;
		return 1;
	}
	name = BPF_CORE_READ(kn, name);
	/* the name, NUL included, into a bounce area, then in place */
	n = bpf_probe_read_kernel_str(&st->tmp[FBPF_TMP_SIZE],
				      FBPF_NAME_MAX + 1, name);
	if (n < 1 || pos < n + 1) {
		c->done = -1;
		return 1;
	}
	n -= 1;
	pos -= n;
	if (bpf_probe_read_kernel(&st->tmp[FBPF_MASK(pos, FBPF_TMP_MASK)],
				  FBPF_MASK(n, FBPF_NAME_MAX),
				  &st->tmp[FBPF_TMP_SIZE])) {
		c->done = -1;
		return 1;
	}
	pos -= 1;
	st->tmp[FBPF_MASK(pos, FBPF_TMP_MASK)] = '/';
	c->pos = pos;
	c->kn = parent;
	return 0;
}

/*
 * fbpf_kn_path() - cgroup_path() of a cgroup's kernfs node: its path from
 * the hierarchy's root ("/" for the root), right to left ending at
 * st->tmp[@end] (exclusive).  Returns the offset of its first byte, or -1.
 */
static __always_inline int fbpf_kn_path(struct fbpf_state *st,
					struct kernfs_node *kn, int end)
{
	struct fbpf_kn_ctx c = { .st = st, .kn = kn, .pos = end };

	bpf_loop(FBPF_PATH_DEPTH, fbpf_kn_step, &c, 0);
	if (c.done != 1)
		return -1;
	if (c.pos == end) {
		if (c.pos < 1)
			return -1;
		c.pos -= 1;
		st->tmp[FBPF_MASK(c.pos, FBPF_TMP_MASK)] = '/';
	}
	return c.pos;
}

#endif /* _FBPF_PATH_H */
