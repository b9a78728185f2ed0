/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - kernel API differences across the supported kernels
 *
 * Every LINUX_VERSION_CODE test of the module lives here.
 */
#ifndef _FPROBE_COMPAT_H
#define _FPROBE_COMPAT_H

#include <linux/version.h>
#include <linux/device.h>

#ifndef CONFIG_HAVE_SYSCALL_TRACEPOINTS
#error "falco_probe needs CONFIG_HAVE_SYSCALL_TRACEPOINTS"
#endif

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
#define fprobe_class_create(name) class_create(name)
#else
#define fprobe_class_create(name) class_create(THIS_MODULE, name)
#endif

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define FPROBE_DEVNODE_CONST const
#else
#define FPROBE_DEVNODE_CONST
#endif

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define fprobe_vm_flags_set(vma, flags) vm_flags_set(vma, flags)
#define fprobe_vm_flags_clear(vma, flags) vm_flags_clear(vma, flags)
#else
#define fprobe_vm_flags_set(vma, flags) ((vma)->vm_flags |= (flags))
#define fprobe_vm_flags_clear(vma, flags) ((vma)->vm_flags &= ~(flags))
#endif

#include <linux/capability.h>
#include <linux/fs.h>

/* kernel_cap_t became a plain u64 in 6.3. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define fprobe_cap_u64(c) ((c).val)
#else
#define fprobe_cap_u64(c) ((u64)(c).cap[0] | ((u64)(c).cap[1] << 32))
#endif

/* inode timestamps moved behind accessors in 6.6/6.7. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
#define fprobe_inode_ctime(i) inode_get_ctime(i)
#define fprobe_inode_mtime(i) inode_get_mtime(i)
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
#define fprobe_inode_ctime(i) inode_get_ctime(i)
#define fprobe_inode_mtime(i) ((i)->i_mtime)
#else
#define fprobe_inode_ctime(i) ((i)->i_ctime)
#define fprobe_inode_mtime(i) ((i)->i_mtime)
#endif

#endif /* _FPROBE_COMPAT_H */
