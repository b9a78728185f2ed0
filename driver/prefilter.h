/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note OR MIT */
/*
 * prefilter.h - validation and evaluation of prefilter programs
 *
 * prefilter.c is compiled into the module (probes evaluate the program
 * before an event is published) and into the userspace cffi extension
 * (the capture scanner evaluates the same program on replays, tests
 * fuzz the validator), so both sides share one definition of the format
 * in uapi/fprobe_prefilter.h.
 */
#ifndef _FPROBE_PREFILTER_H
#define _FPROBE_PREFILTER_H

#include "uapi/fprobe_prefilter.h"

/**
 * struct fprobe_pf_event - the event a program is evaluated on
 * @lens: the parameter length array (nparams entries of @lensize bytes)
 * @data: the first parameter byte
 * @nparams: parameters the event carries
 * @lensize: 2, or 4 for EF_LARGE_PAYLOAD events
 * @datalen: bytes from @data to the end of the event
 * @type: the event code
 * @comm: NUL-terminated name of the thread, NULL when unknown
 * @fdtype: the FPROBE_PF_FDTYPE_* of fd @fd of the thread (with @fdtype_ctx),
 *	or -1; NULL when the caller cannot tell (FPROBE_PF_ARG_FDTYPE
 *	operands cannot be evaluated then)
 * @fdtype_ctx: passed to @fdtype
 * @source: FPROBE_PF_SOURCE_* of the caller
 */
struct fprobe_pf_event {
	const __u8 *lens;
	const __u8 *data;
	__u32 nparams;
	__u32 lensize;
	__u32 datalen;
	__u16 type;
	const char *comm;
	int (*fdtype)(const void *fdtype_ctx, long long fd);
	const void *fdtype_ctx;
	__u8 source;
};

int fprobe_pf_validate(const void *prog, __u32 size);
int fprobe_pf_eval(const void *prog, const struct fprobe_pf_event *ev);
int fprobe_pf_entry_is(const void *prog, __u16 type, __u16 target);

#endif /* _FPROBE_PREFILTER_H */
