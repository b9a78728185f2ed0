// SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note OR MIT
/*
 * prefilter.c - validate and evaluate prefilter programs
 *
 * Shared by the module (probe context: no sleeping, no allocation, every
 * loop bounded by a constant of the format) and the userspace capture
 * scanner, so a live source and a replay filter the same events.  The
 * format and its semantics: uapi/fprobe_prefilter.h and
 * docs/ARCHITECTURE.md.
 */
#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/types.h>
#else
#include <errno.h>
#include <stddef.h>
#include <string.h>
#endif

#include "uapi/fprobe_events.h"
#include "prefilter.h"

/* Outcome of one test. */
#define PF_FALSE 0
#define PF_TRUE 1
#define PF_ERROR 2

/* One byte per file type, the operand of FPROBE_PF_ARG_FDTYPE tests. */
static const __u8 pf_nibbles[16] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
};

/* Longest string constant CONTAINS accepts. */
#define PF_MAX_NEEDLE 32
/* Bytes of a task name, NUL included. */
#define PF_COMM_LEN 16

static __u32 pf_rd(const __u8 *p, __u32 n)
{
	__u32 v = 0;

	while (n--)
		v = (v << 8) | p[n];
	return v;
}

static const struct fprobe_pf_header *pf_hdr(const void *prog)
{
	return (const struct fprobe_pf_header *)prog;
}

static const struct fprobe_pf_insn *pf_insns(const void *prog)
{
	return (const struct fprobe_pf_insn *)
		((const __u8 *)prog + sizeof(struct fprobe_pf_header));
}

static const __u8 *pf_strtab(const void *prog)
{
	return (const __u8 *)pf_insns(prog) + pf_hdr(prog)->n_insns *
		sizeof(struct fprobe_pf_insn);
}

static int pf_is_target(__u32 t, __u32 after, __u32 n_insns)
{
	return t == FPROBE_PF_PASS || t == FPROBE_PF_DROP ||
	       (t > after && t < n_insns);
}

static int pf_is_fdtype(__u8 arg)
{
	return arg >= FPROBE_PF_ARG_FDTYPE &&
	       arg < FPROBE_PF_ARG_FDTYPE + FPROBE_PF_MAX_PARAMS;
}

static int pf_is_int_op(__u8 op)
{
	return op == FPROBE_PF_OP_EQ || op == FPROBE_PF_OP_LT ||
	       op == FPROBE_PF_OP_GT || op == FPROBE_PF_OP_MASK;
}

static int pf_is_str_op(__u8 op)
{
	return op == FPROBE_PF_OP_STR_EQ || op == FPROBE_PF_OP_STR_PREFIX ||
	       op == FPROBE_PF_OP_STR_SUFFIX ||
	       op == FPROBE_PF_OP_STR_CONTAINS || op == FPROBE_PF_OP_PATH_DIR;
}

/* Parts of a structured parameter an integer test may read. */
static int pf_int_sub(__u8 sub)
{
	return sub == FPROBE_PF_SUB_NONE || sub == FPROBE_PF_SUB_FAMILY ||
	       sub == FPROBE_PF_SUB_SA_ADDR || sub == FPROBE_PF_SUB_SA_PORT ||
	       sub == FPROBE_PF_SUB_TU_SADDR || sub == FPROBE_PF_SUB_TU_SPORT ||
	       sub == FPROBE_PF_SUB_TU_DADDR || sub == FPROBE_PF_SUB_TU_DPORT;
}

/* Parts a string test may read. */
static int pf_str_sub(__u8 sub)
{
	return sub == FPROBE_PF_SUB_NONE || sub == FPROBE_PF_SUB_SA_ADDR ||
	       sub == FPROBE_PF_SUB_SA_PATH || sub == FPROBE_PF_SUB_TU_SADDR ||
	       sub == FPROBE_PF_SUB_TU_DADDR || sub == FPROBE_PF_SUB_TU_PATH;
}

static int pf_check_insn(const struct fprobe_pf_insn *in, __u32 i,
			 __u32 n_insns, const __u8 *strtab, __u32 strtab_len)
{
	__u32 w = in->width & FPROBE_PF_W_MASK;
	__u32 off = (__u32)in->imm;
	__u32 len = (__u32)(in->imm >> 32);

	if (in->op == FPROBE_PF_OP_INVALID || in->op >= FPROBE_PF_OP_MAX)
		return -EINVAL;
	if (in->arg >= FPROBE_PF_MAX_PARAMS && in->arg != FPROBE_PF_ARG_COMM &&
	    in->arg != FPROBE_PF_ARG_SOURCE && !pf_is_fdtype(in->arg))
		return -EINVAL;
	if (in->arg == FPROBE_PF_ARG_SOURCE &&
	    (!pf_is_int_op(in->op) || in->sub || in->width != 1))
		return -EINVAL;
	if (pf_is_fdtype(in->arg) && (!pf_is_int_op(in->op) || in->sub ||
				      in->width != 1))
		return -EINVAL;
	if (in->sub >= FPROBE_PF_SUB_MAX)
		return -EINVAL;
	if (in->arg == FPROBE_PF_ARG_COMM && in->sub != FPROBE_PF_SUB_NONE)
		return -EINVAL;
	if (!pf_is_target(in->jt, i, n_insns) ||
	    !pf_is_target(in->jf, i, n_insns))
		return -EINVAL;
	if (pf_is_int_op(in->op)) {
		if (in->width & ~(FPROBE_PF_W_MASK | FPROBE_PF_W_SIGNED))
			return -EINVAL;
		if (w != 1 && w != 2 && w != 4 && w != 8)
			return -EINVAL;
		if (in->arg == FPROBE_PF_ARG_COMM || !pf_int_sub(in->sub))
			return -EINVAL;
		if (in->op == FPROBE_PF_OP_MASK && w > 4)
			return -EINVAL;
		return 0;
	}
	if (in->op == FPROBE_PF_OP_PRESENT) {
		if (in->sub != FPROBE_PF_SUB_NONE || in->imm)
			return -EINVAL;
		if (w != in->width || (w && w != 1 && w != 2 && w != 4 &&
					w != 8))
			return -EINVAL;
		if (w && in->arg == FPROBE_PF_ARG_COMM)
			return -EINVAL;
		return 0;
	}
	if (in->width)
		return -EINVAL;
	if (in->op == FPROBE_PF_OP_LEN) {
		if (in->sub != FPROBE_PF_SUB_NONE ||
		    in->arg == FPROBE_PF_ARG_COMM ||
		    (__u32)in->imm > (__u32)(in->imm >> 32))
			return -EINVAL;
		return 0;
	}
	if (in->op == FPROBE_PF_OP_PATH_CLEAN) {
		if (in->sub != FPROBE_PF_SUB_NONE || in->imm == 0 ||
		    in->imm > FPROBE_PF_MAX_PATH)
			return -EINVAL;
		return 0;
	}
	if (!pf_is_str_op(in->op) || !pf_str_sub(in->sub))
		return -EINVAL;
	if (len > FPROBE_PF_MAX_STR || off > strtab_len ||
	    len > strtab_len - off)
		return -EINVAL;
	if (in->op == FPROBE_PF_OP_STR_CONTAINS && len > PF_MAX_NEEDLE)
		return -EINVAL;
	if (in->op == FPROBE_PF_OP_PATH_DIR &&
	    (len == 0 || strtab[off + len - 1] != '/'))
		return -EINVAL;
	return 0;
}

/**
 * fprobe_pf_validate() - check that a blob is a well-formed program
 * @prog: the blob
 * @size: its size in bytes
 *
 * Every field is checked: nothing a caller could put in the blob makes
 * fprobe_pf_eval() read outside it or loop.
 * Context: any; no allocation.
 * Return: 0, or -EINVAL.
 */
int fprobe_pf_validate(const void *prog, __u32 size)
{
	const struct fprobe_pf_header *h = pf_hdr(prog);
	const struct fprobe_pf_insn *insns = pf_insns(prog);
	__u64 want;
	__u32 i;

	if (!prog || size < sizeof(*h) || size > FPROBE_PF_MAX_SIZE)
		return -EINVAL;
	if (h->magic != FPROBE_PF_MAGIC || h->version != FPROBE_PF_VERSION ||
	    h->flags)
		return -EINVAL;
	for (i = 0; i < sizeof(h->reserved) / sizeof(h->reserved[0]); i++)
		if (h->reserved[i])
			return -EINVAL;
	if (h->n_insns > FPROBE_PF_MAX_INSNS ||
	    h->strtab_len > FPROBE_PF_MAX_STRTAB)
		return -EINVAL;
	want = sizeof(*h) + (__u64)h->n_insns * sizeof(*insns) +
	       h->strtab_len;
	if (want != size)
		return -EINVAL;
	for (i = 0; i < FPROBE_PF_NCODES; i++) {
		__u32 e = h->entry[i];

		if (i >= PPM_EVENT_MAX && e != FPROBE_PF_PASS)
			return -EINVAL;
		if (e != FPROBE_PF_PASS && e != FPROBE_PF_DROP &&
		    e >= h->n_insns)
			return -EINVAL;
	}
	for (i = 0; i < h->n_insns; i++)
		if (pf_check_insn(&insns[i], i, h->n_insns, pf_strtab(prog),
				  h->strtab_len))
			return -EINVAL;
	return 0;
}

/* Bytes of parameter @idx, or -1 if the event does not carry it. */
static int pf_param(const struct fprobe_pf_event *ev, __u32 idx,
		    const __u8 **p, __u32 *len)
{
	__u64 off = 0;
	__u32 i, l;

	if (idx >= ev->nparams || idx >= FPROBE_PF_MAX_PARAMS)
		return -1;
	for (i = 0; i < FPROBE_PF_MAX_PARAMS; i++) {
		l = pf_rd(ev->lens + i * ev->lensize, ev->lensize);
		if (i == idx)
			break;
		off += l;
	}
	if (off + l > ev->datalen)
		return -1;
	*p = ev->data + off;
	*len = l;
	return 0;
}

/* Where part @sub of a sockaddr/socktuple starts and how long it is. */
static int pf_sub(__u8 sub, const __u8 **p, __u32 *len)
{
	const __u8 *v = *p;
	__u32 n = *len, at, size;
	int v4, v6;

	if (n < 1)
		return -1;
	v4 = v[0] == PPM_AF_INET;
	v6 = v[0] == PPM_AF_INET6;
	switch (sub) {
	case FPROBE_PF_SUB_FAMILY:
		at = 0;
		size = 1;
		break;
	case FPROBE_PF_SUB_SA_ADDR:
	case FPROBE_PF_SUB_TU_SADDR:
		at = 1;
		size = v4 ? 4 : 16;
		if (!v4 && !v6)
			return -1;
		break;
	case FPROBE_PF_SUB_SA_PORT:
		at = v4 ? 5 : 17;
		size = 2;
		if (!v4 && !v6)
			return -1;
		break;
	case FPROBE_PF_SUB_TU_SPORT:
		at = v4 ? 5 : 17;
		size = 2;
		if (!v4 && !v6)
			return -1;
		break;
	case FPROBE_PF_SUB_TU_DADDR:
		at = v4 ? 7 : 19;
		size = v4 ? 4 : 16;
		if (!v4 && !v6)
			return -1;
		break;
	case FPROBE_PF_SUB_TU_DPORT:
		at = v4 ? 11 : 35;
		size = 2;
		if (!v4 && !v6)
			return -1;
		break;
	case FPROBE_PF_SUB_SA_PATH:
	case FPROBE_PF_SUB_TU_PATH:
		if (v[0] != PPM_AF_UNIX)
			return -1;
		at = sub == FPROBE_PF_SUB_SA_PATH ? 1 : 17;
		if (at > n)
			return -1;
		for (size = 0; at + size < n && v[at + size]; size++)
			;
		break;
	default:
		return -1;
	}
	if (at > n || size > n - at)
		return -1;
	*p = v + at;
	*len = size;
	return 0;
}

/* The operand of @in: bytes of a parameter, of a part of one, or comm. */
static int pf_operand(const struct fprobe_pf_insn *in,
		      const struct fprobe_pf_event *ev, const __u8 **p,
		      __u32 *len)
{
	__u32 n;

	if (in->arg == FPROBE_PF_ARG_COMM) {
		if (!ev->comm)
			return -1;
		for (n = 0; n < PF_COMM_LEN - 1 && ev->comm[n]; n++)
			;
		*p = (const __u8 *)ev->comm;
		*len = n;
		return 0;
	}
	/*
	 * An empty parameter is absent for the state, which may take the
	 * value from the paired enter event: never evaluated.
	 */
	if (in->arg == FPROBE_PF_ARG_SOURCE) {
		*p = &ev->source;
		*len = 1;
		return 0;
	}
	if (pf_is_fdtype(in->arg)) {
		__u64 fd = 0;
		__u32 i;
		int t;

		if (!ev->fdtype || pf_param(ev, in->arg - FPROBE_PF_ARG_FDTYPE,
					    p, len))
			return -1;
		if (*len != 8 && *len != 4)
			return -1;
		for (i = *len; i--; )
			fd = (fd << 8) | (*p)[i];
		if (*len == 4)
			fd = (__u64)(long long)(int)(__u32)fd;
		t = ev->fdtype(ev->fdtype_ctx, (long long)fd);
		if (t < 0 || t > 0xf)
			return -1;
		*p = &pf_nibbles[t];
		*len = 1;
		return 0;
	}
	if (pf_param(ev, in->arg, p, len) || !*len)
		return -1;
	if (in->sub != FPROBE_PF_SUB_NONE)
		return pf_sub(in->sub, p, len);
	/* A string's trailing NUL is not part of its value. */
	if (!pf_is_int_op(in->op) && *len && (*p)[*len - 1] == '\0')
		(*len)--;
	return 0;
}

static int pf_int_test(const struct fprobe_pf_insn *in, const __u8 *p,
		       __u32 len)
{
	__u32 w = in->width & FPROBE_PF_W_MASK;
	__u64 v, imm = in->imm;
	int sgn = in->width & FPROBE_PF_W_SIGNED;
	__u32 i;

	if (len != w)
		return PF_ERROR;
	v = 0;
	for (i = w; i--; )
		v = (v << 8) | p[i];
	if (sgn && w < 8 && (v >> (8 * w - 1)) & 1)
		v |= ~0ULL << (8 * w);
	switch (in->op) {
	case FPROBE_PF_OP_EQ:
		return v == imm;
	case FPROBE_PF_OP_LT:
		return sgn ? (__s64)v < (__s64)imm : v < imm;
	case FPROBE_PF_OP_GT:
		return sgn ? (__s64)v > (__s64)imm : v > imm;
	case FPROBE_PF_OP_MASK:
		return ((__u32)v & (__u32)(imm >> 32)) == (__u32)imm;
	}
	return PF_ERROR;
}

static int pf_path_clean(const __u8 *p, __u32 len, __u64 max)
{
	__u32 i;

	if (len > max || len < 1 || p[0] != '/')
		return PF_FALSE;
	if (len > 1 && p[len - 1] == '/')
		return PF_FALSE;
	for (i = 0; i + 1 < len; i++)
		if (p[i] == '/' && (p[i + 1] == '/' || p[i + 1] == '.'))
			return PF_FALSE;
	return PF_TRUE;
}

static int pf_str_test(const struct fprobe_pf_insn *in, const __u8 *strtab,
		       const __u8 *p, __u32 len)
{
	const __u8 *s = strtab + (__u32)in->imm;
	__u32 n = (__u32)(in->imm >> 32);
	__u32 i;

	switch (in->op) {
	case FPROBE_PF_OP_STR_EQ:
		return len == n && !memcmp(p, s, n);
	case FPROBE_PF_OP_STR_PREFIX:
		return len >= n && !memcmp(p, s, n);
	case FPROBE_PF_OP_STR_SUFFIX:
		return len >= n && !memcmp(p + len - n, s, n);
	case FPROBE_PF_OP_STR_CONTAINS:
		if (len > FPROBE_PF_MAX_CONTAINS)
			return PF_ERROR;
		if (n > len)
			return PF_FALSE;
		for (i = 0; i + n <= len; i++)
			if (!memcmp(p + i, s, n))
				return PF_TRUE;
		return PF_FALSE;
	case FPROBE_PF_OP_PATH_DIR:
		if (len > FPROBE_PF_MAX_PATH)
			return PF_ERROR;
		if (len <= n || memcmp(p, s, n))
			return PF_FALSE;
		for (i = n; i < len; i++)
			if (p[i] == '/')
				return PF_FALSE;
		return PF_TRUE;
	}
	return PF_ERROR;
}

static int pf_test(const struct fprobe_pf_insn *in, const __u8 *strtab,
		   const struct fprobe_pf_event *ev)
{
	const __u8 *p;
	__u32 len;

	if (in->op == FPROBE_PF_OP_PRESENT) {
		if (in->arg == FPROBE_PF_ARG_COMM)
			return ev->comm && ev->comm[0];
		if (pf_param(ev, in->arg, &p, &len) || !len)
			return PF_FALSE;
		return !in->width || len == in->width;
	}
	if (in->op == FPROBE_PF_OP_LEN) {
		if (pf_param(ev, in->arg, &p, &len))
			return PF_FALSE;
		return len >= (__u32)in->imm && len <= (__u32)(in->imm >> 32);
	}
	if (pf_operand(in, ev, &p, &len))
		return PF_ERROR;
	if (pf_is_int_op(in->op))
		return pf_int_test(in, p, len);
	if (in->op == FPROBE_PF_OP_PATH_CLEAN)
		return pf_path_clean(p, len, in->imm);
	return pf_str_test(in, strtab, p, len);
}

/**
 * fprobe_pf_eval() - run a validated program on one event
 * @prog: a program fprobe_pf_validate() accepted
 * @ev: the event
 *
 * Context: any (probe context in the module); no allocation, at most
 * n_insns tests.
 * Return: FPROBE_PF_PASS or FPROBE_PF_DROP.
 */
int fprobe_pf_eval(const void *prog, const struct fprobe_pf_event *ev)
{
	const struct fprobe_pf_header *h = pf_hdr(prog);
	const struct fprobe_pf_insn *insns = pf_insns(prog);
	const __u8 *strtab = pf_strtab(prog);
	__u32 pc, steps;
	int r;

	if (ev->type >= FPROBE_PF_NCODES)
		return FPROBE_PF_PASS;
	pc = h->entry[ev->type];
	for (steps = 0; steps < FPROBE_PF_MAX_INSNS; steps++) {
		if (pc == FPROBE_PF_PASS || pc == FPROBE_PF_DROP)
			return pc;
		if (pc >= h->n_insns)
			return FPROBE_PF_PASS;
		r = pf_test(&insns[pc], strtab, ev);
		if (r == PF_ERROR)
			return FPROBE_PF_PASS;
		pc = r ? insns[pc].jt : insns[pc].jf;
	}
	return FPROBE_PF_PASS;
}

/**
 * fprobe_pf_entry_is() - whether every event of a code gets @target
 * @prog: a validated program
 * @type: the event code
 * @target: FPROBE_PF_PASS or FPROBE_PF_DROP
 *
 * Lets a caller skip work for codes the program decides without a test.
 * Return: 1 or 0.
 */
int fprobe_pf_entry_is(const void *prog, __u16 type, __u16 target)
{
	if (type >= FPROBE_PF_NCODES)
		return target == FPROBE_PF_PASS;
	return pf_hdr(prog)->entry[type] == target;
}
