// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - falco_probe module init/exit and validated module parameters
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/log2.h>
#include <linux/mm.h>

#include "fprobe.h"

#define FPROBE_STR1(x) #x
#define FPROBE_STR(x) FPROBE_STR1(x)
#define FPROBE_API_STRING FPROBE_STR(FPROBE_API_VERSION_MAJOR) "." \
	FPROBE_STR(FPROBE_API_VERSION_MINOR) "." \
	FPROBE_STR(FPROBE_API_VERSION_PATCH)
#define FPROBE_SCHEMA_STRING FPROBE_STR(FPROBE_SCHEMA_VERSION_MAJOR) "." \
	FPROBE_STR(FPROBE_SCHEMA_VERSION_MINOR) "." \
	FPROBE_STR(FPROBE_SCHEMA_VERSION_PATCH)

/* Largest accepted ring: 1 GiB per CPU. */
#define FPROBE_MAX_BUFFER_BYTES (1UL << 30)

unsigned long fprobe_buffer_bytes = FPROBE_DEFAULT_BUFFER_BYTES;

static int fprobe_set_buffer_bytes(const char *val,
				   const struct kernel_param *kp)
{
	unsigned long v;
	int ret;

	ret = kstrtoul(val, 0, &v);
	if (ret)
		return ret;
	if (v < 2 * PAGE_SIZE || v > FPROBE_MAX_BUFFER_BYTES ||
	    !is_power_of_2(v) || v % PAGE_SIZE) {
		pr_err("buffer_bytes %lu: need a power of two, multiple of %lu, between %lu and %lu\n",
		       v, PAGE_SIZE, 2 * PAGE_SIZE, FPROBE_MAX_BUFFER_BYTES);
		return -EINVAL;
	}
	/* Takes effect at the next open of a device. */
	mutex_lock(&fprobe_ctl_mutex);
	*(unsigned long *)kp->arg = v;
	mutex_unlock(&fprobe_ctl_mutex);
	return 0;
}

static const struct kernel_param_ops fprobe_buffer_bytes_ops = {
	.set = fprobe_set_buffer_bytes,
	.get = param_get_ulong,
};

module_param_cb(buffer_bytes, &fprobe_buffer_bytes_ops,
		&fprobe_buffer_bytes, 0644);
MODULE_PARM_DESC(buffer_bytes,
		 "Ring size per CPU in bytes: power of two, multiple of the page size (default 8 MiB)");

static int __init fprobe_init(void)
{
	int ret;

	ret = fprobe_probes_init();
	if (ret)
		return ret;
	ret = fprobe_dev_init();
	if (ret)
		goto err_probes;
	pr_info("loaded, api %s schema %s, %lu bytes per ring\n",
		FPROBE_API_STRING, FPROBE_SCHEMA_STRING, fprobe_buffer_bytes);
	return 0;

err_probes:
	fprobe_probes_exit();
	return ret;
}

static void __exit fprobe_exit(void)
{
	fprobe_dev_exit();
	fprobe_probes_exit();
	pr_info("unloaded\n");
}

module_init(fprobe_init);
module_exit(fprobe_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("The falco_probe authors");
MODULE_DESCRIPTION("System call capture for a Falco-like runtime security tool");
MODULE_VERSION("0.1.0");
MODULE_INFO(api_version, FPROBE_API_STRING);
MODULE_INFO(schema_version, FPROBE_SCHEMA_STRING);
