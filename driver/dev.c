// SPDX-License-Identifier: GPL-2.0
/*
 * dev.c - /dev/falco<N> character devices: open, release, ioctl, mmap
 *
 * One device per possible CPU; an open device owns a struct fprobe_session
 * (ring + controls) published to the probes through fprobe_cur_session.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/fs.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <linux/tracepoint.h>

#include "compat.h"
#include "fprobe.h"

/*
 * fprobe_ctl_mutex protects open/release, every ioctl, the tracepoint
 * reference counts (probes.c) and the buffer_bytes parameter.  It is the
 * outermost lock of the module; the kernel's tracepoints_mutex nests inside
 * it (tracepoint_probe_register()).
 */
DEFINE_MUTEX(fprobe_ctl_mutex);

/* Session of each CPU's device; RCU-sched readers are the probes. */
static DEFINE_PER_CPU(struct fprobe_session __rcu *, fprobe_cur_session);

static dev_t fprobe_devt;
static unsigned int fprobe_nr_minors;
static struct cdev fprobe_cdev;
static struct class *fprobe_class;

/**
 * fprobe_session_of() - the open session of a CPU's device
 * @cpu: the CPU
 *
 * Context: probe (preemption disabled) or under fprobe_ctl_mutex.
 * Return: the session or NULL when the device is not open.
 */
struct fprobe_session *fprobe_session_of(unsigned int cpu)
{
	return rcu_dereference_sched(per_cpu(fprobe_cur_session, cpu));
}

static int fprobe_open(struct inode *inode, struct file *filp)
{
	unsigned int cpu = iminor(inode);
	struct fprobe_session *s;
	int ret;

	if (cpu >= nr_cpu_ids || !cpu_possible(cpu))
		return -ENODEV;
	ret = mutex_lock_killable(&fprobe_ctl_mutex);
	if (ret)
		return ret;
	if (rcu_access_pointer(per_cpu(fprobe_cur_session, cpu))) {
		ret = -EBUSY;
		goto out_unlock;
	}
	s = fprobe_session_alloc(cpu, fprobe_buffer_bytes);
	if (!s) {
		ret = -ENOMEM;
		goto out_unlock;
	}
	filp->private_data = s;
	rcu_assign_pointer(per_cpu(fprobe_cur_session, cpu), s);
	ret = 0;
out_unlock:
	mutex_unlock(&fprobe_ctl_mutex);
	return ret;
}

static int fprobe_release(struct inode *inode, struct file *filp)
{
	struct fprobe_session *s = filp->private_data;

	mutex_lock(&fprobe_ctl_mutex);
	fprobe_tp_disable_all(s);
	RCU_INIT_POINTER(per_cpu(fprobe_cur_session, s->cpu), NULL);
	mutex_unlock(&fprobe_ctl_mutex);
	/* No probe may still be writing into the ring we free. */
	tracepoint_synchronize_unregister();
	fprobe_session_free(s);
	return 0;
}

static void fprobe_get_stats2(struct fprobe_session *s,
			      struct fprobe_stats2 *st)
{
	const struct fprobe_ring_info *info = s->info;

	memset(st, 0, sizeof(*st));
	st->n_evts = READ_ONCE(info->n_evts);
	st->n_drops_buffer = READ_ONCE(info->n_drops_buffer);
	st->n_drops_pf = READ_ONCE(info->n_drops_pf);
	st->n_preemptions = READ_ONCE(info->n_preemptions);
	st->n_compat = READ_ONCE(info->n_compat);
	st->n_tracepoint_hit = READ_ONCE(info->n_tracepoint_hit);
	st->n_filtered = READ_ONCE(info->n_filtered);
	/* Pairs with the producer's release store of head. */
	st->head = smp_load_acquire(&info->head);
	st->tail = READ_ONCE(info->tail);
}

/*
 * Install the program userspace passes (validated first: a refused one
 * changes nothing), then wait until no probe still runs the old one.
 */
static long fprobe_set_prefilter(struct fprobe_session *s,
				 void __user *uarg)
{
	struct fprobe_pf_load load;
	struct fprobe_pf *pf, *old;

	if (copy_from_user(&load, uarg, sizeof(load)))
		return -EFAULT;
	if (load.reserved || load.size == 0 ||
	    load.size > FPROBE_PF_MAX_SIZE)
		return -EINVAL;
	pf = kvmalloc(struct_size(pf, prog, load.size), GFP_KERNEL);
	if (!pf)
		return -ENOMEM;
	pf->size = load.size;
	if (copy_from_user(pf->prog, u64_to_user_ptr(load.prog), load.size)) {
		kvfree(pf);
		return -EFAULT;
	}
	if (fprobe_pf_validate(pf->prog, pf->size)) {
		kvfree(pf);
		return -EINVAL;
	}
	old = rcu_replace_pointer(s->pf, pf,
				  lockdep_is_held(&fprobe_ctl_mutex));
	/*
	 * Also without an old program: once the ioctl returns, every event is
	 * judged by the new one (none is still on its way under the old).
	 */
	synchronize_rcu();
	kvfree(old);
	return 0;
}

static void fprobe_clear_prefilter(struct fprobe_session *s)
{
	struct fprobe_pf *old;

	old = rcu_replace_pointer(s->pf, NULL,
				  lockdep_is_held(&fprobe_ctl_mutex));
	if (old) {
		synchronize_rcu();
		kvfree(old);
	}
}

static void fprobe_get_stats(struct fprobe_session *s, struct fprobe_stats *st)
{
	const struct fprobe_ring_info *info = s->info;

	memset(st, 0, sizeof(*st));
	st->n_evts = READ_ONCE(info->n_evts);
	st->n_drops_buffer = READ_ONCE(info->n_drops_buffer);
	st->n_drops_pf = READ_ONCE(info->n_drops_pf);
	st->n_preemptions = READ_ONCE(info->n_preemptions);
	st->n_compat = READ_ONCE(info->n_compat);
	st->n_tracepoint_hit = READ_ONCE(info->n_tracepoint_hit);
	/* Pairs with the producer's release store of head. */
	st->head = smp_load_acquire(&info->head);
	st->tail = READ_ONCE(info->tail);
}

static long fprobe_ioctl_locked(struct fprobe_session *s, unsigned int cmd,
				void __user *uarg)
{
	struct fprobe_stats2 st2;
	struct fprobe_stats st;
	u64 ver;
	u32 val;

	switch (cmd) {
	case FPROBE_IOCTL_GET_API_VERSION:
		ver = FPROBE_API_VERSION;
		return copy_to_user(uarg, &ver, sizeof(ver)) ? -EFAULT : 0;
	case FPROBE_IOCTL_GET_SCHEMA_VERSION:
		ver = FPROBE_SCHEMA_VERSION;
		return copy_to_user(uarg, &ver, sizeof(ver)) ? -EFAULT : 0;
	case FPROBE_IOCTL_GET_STATS:
		fprobe_get_stats(s, &st);
		return copy_to_user(uarg, &st, sizeof(st)) ? -EFAULT : 0;
	case FPROBE_IOCTL_GET_STATS2:
		fprobe_get_stats2(s, &st2);
		return copy_to_user(uarg, &st2, sizeof(st2)) ? -EFAULT : 0;
	case FPROBE_IOCTL_DISABLE_ALL_SYSCALLS:
		bitmap_zero(s->syscalls, FPROBE_SYSCALL_TABLE_SIZE);
		return 0;
	case FPROBE_IOCTL_SET_PREFILTER:
		return fprobe_set_prefilter(s, uarg);
	case FPROBE_IOCTL_CLEAR_PREFILTER:
		fprobe_clear_prefilter(s);
		return 0;
	case FPROBE_IOCTL_ENABLE_SYSCALL:
	case FPROBE_IOCTL_DISABLE_SYSCALL:
	case FPROBE_IOCTL_ENABLE_TP:
	case FPROBE_IOCTL_DISABLE_TP:
	case FPROBE_IOCTL_SET_SNAPLEN:
		break;
	default:
		return -ENOTTY;
	}

	if (copy_from_user(&val, uarg, sizeof(val)))
		return -EFAULT;
	switch (cmd) {
	case FPROBE_IOCTL_ENABLE_SYSCALL:
		if (val >= FPROBE_SYSCALL_TABLE_SIZE)
			return -EINVAL;
		set_bit(val, s->syscalls);
		return 0;
	case FPROBE_IOCTL_DISABLE_SYSCALL:
		if (val >= FPROBE_SYSCALL_TABLE_SIZE)
			return -EINVAL;
		clear_bit(val, s->syscalls);
		return 0;
	case FPROBE_IOCTL_ENABLE_TP:
		return fprobe_tp_enable(s, val);
	case FPROBE_IOCTL_DISABLE_TP:
		return fprobe_tp_disable(s, val);
	case FPROBE_IOCTL_SET_SNAPLEN:
		if (val == 0 || val > FPROBE_SNAPLEN_MAX)
			return -EINVAL;
		WRITE_ONCE(s->snaplen, val);
		return 0;
	}
	return -ENOTTY;
}

static long fprobe_ioctl(struct file *filp, unsigned int cmd,
			 unsigned long arg)
{
	struct fprobe_session *s = filp->private_data;
	long ret;

	if (_IOC_TYPE(cmd) != FPROBE_IOC_MAGIC)
		return -ENOTTY;
	ret = mutex_lock_killable(&fprobe_ctl_mutex);
	if (ret)
		return ret;
	ret = fprobe_ioctl_locked(s, cmd, (void __user *)arg);
	mutex_unlock(&fprobe_ctl_mutex);
	return ret;
}

static vm_fault_t fprobe_vm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct fprobe_session *s = vma->vm_private_data;
	unsigned long rel = vmf->pgoff - vma->vm_pgoff;
	struct page *page;

	if (vma->vm_pgoff == (FPROBE_MMAP_OFF_INFO >> PAGE_SHIFT))
		page = rel == 0 ? virt_to_page(s->info) : NULL;
	else
		page = fprobe_session_page(s, rel);
	if (!page)
		return VM_FAULT_SIGBUS;
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct fprobe_vm_ops = {
	.fault = fprobe_vm_fault,
};

static int fprobe_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct fprobe_session *s = filp->private_data;
	unsigned long len = vma->vm_end - vma->vm_start;
	unsigned long off = vma->vm_pgoff << PAGE_SHIFT;

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (off == FPROBE_MMAP_OFF_INFO) {
		if (len != PAGE_SIZE)
			return -EINVAL;
	} else if (off == FPROBE_MMAP_OFF_DATA) {
		if (len != 2 * s->size)
			return -EINVAL;
		/* The data area is the kernel's: read only, for good. */
		if (vma->vm_flags & VM_WRITE)
			return -EPERM;
		fprobe_vm_flags_clear(vma, VM_MAYWRITE);
	} else {
		return -EINVAL;
	}
	fprobe_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP | VM_DONTCOPY);
	vma->vm_private_data = s;
	vma->vm_ops = &fprobe_vm_ops;
	return 0;
}

static const struct file_operations fprobe_fops = {
	.owner = THIS_MODULE,
	.open = fprobe_open,
	.release = fprobe_release,
	.unlocked_ioctl = fprobe_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = fprobe_mmap,
	.llseek = noop_llseek,
};

static char *fprobe_devnode(FPROBE_DEVNODE_CONST struct device *dev,
			    umode_t *mode)
{
	if (mode)
		*mode = 0600;
	return NULL;
}

/**
 * fprobe_dev_init() - create /dev/falco<N> for every possible CPU
 *
 * Return: 0 or a negative errno; nothing is left behind on failure.
 */
int fprobe_dev_init(void)
{
	struct device *dev;
	unsigned int cpu;
	int ret;

	fprobe_nr_minors = nr_cpu_ids;
	ret = alloc_chrdev_region(&fprobe_devt, 0, fprobe_nr_minors, "falco");
	if (ret)
		return ret;
	cdev_init(&fprobe_cdev, &fprobe_fops);
	fprobe_cdev.owner = THIS_MODULE;
	ret = cdev_add(&fprobe_cdev, fprobe_devt, fprobe_nr_minors);
	if (ret)
		goto err_unregister_region;
	fprobe_class = fprobe_class_create("falco");
	if (IS_ERR(fprobe_class)) {
		ret = PTR_ERR(fprobe_class);
		goto err_del_cdev;
	}
	fprobe_class->devnode = fprobe_devnode;
	for_each_possible_cpu(cpu) {
		dev = device_create(fprobe_class, NULL,
				    MKDEV(MAJOR(fprobe_devt), cpu), NULL,
				    "falco%u", cpu);
		if (IS_ERR(dev)) {
			ret = PTR_ERR(dev);
			goto err_destroy_devices;
		}
	}
	return 0;

err_destroy_devices:
	for_each_possible_cpu(cpu)
		device_destroy(fprobe_class, MKDEV(MAJOR(fprobe_devt), cpu));
	class_destroy(fprobe_class);
err_del_cdev:
	cdev_del(&fprobe_cdev);
err_unregister_region:
	unregister_chrdev_region(fprobe_devt, fprobe_nr_minors);
	return ret;
}

/**
 * fprobe_dev_exit() - remove the devices; no device may be open
 */
void fprobe_dev_exit(void)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu)
		device_destroy(fprobe_class, MKDEV(MAJOR(fprobe_devt), cpu));
	class_destroy(fprobe_class);
	cdev_del(&fprobe_cdev);
	unregister_chrdev_region(fprobe_devt, fprobe_nr_minors);
}
