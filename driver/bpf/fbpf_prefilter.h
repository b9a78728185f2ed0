/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fbpf_prefilter.h - the prefilter program (driver/uapi/fprobe_prefilter.h)
 * evaluated in BPF on the event built on this CPU, before it is written to
 * its ring: the same semantics as driver/prefilter.c (the module's and the
 * capture scanner's evaluator), checked against it by the kernel tests.
 *
 * The program is the value of a one-entry array map that userspace
 * creates, fills and puts in FBPF_MAP_PREFILTER (an array of maps): an
 * update replaces the whole map, and the kernel frees the old one only
 * after every program that looked it up is done with it.  Userspace
 * validates the program first (fprobe_pf_validate()); the evaluator still
 * bounds every read, so a program it did not see validated cannot make it
 * read outside the map value or loop.
 *
 * Every loop runs under bpf_loop(): at most FPROBE_PF_MAX_INSNS tests, and
 * per test at most FPROBE_PF_MAX_PATH bytes scanned.
 */
#ifndef _FBPF_PREFILTER_H
#define _FBPF_PREFILTER_H

#include "fbpf.h"

#define FBPF_PF_HDR ((__u32)sizeof(struct fprobe_pf_header))
#define FBPF_PF_INSN ((__u32)sizeof(struct fprobe_pf_insn))
#define FBPF_PF_ERROR 2
#define FBPF_PF_NEEDLE 32
#define FBPF_COMM_LEN 16

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_ARRAY);
		__uint(max_entries, 1);
		__uint(key_size, sizeof(__u32));
		__uint(value_size, FPROBE_PF_MAX_SIZE);
	});
} fbpf_prefilter SEC(".maps");

/* What one test works on: the operand's place in the record and length. */
struct fbpf_pf_ctx {
	struct fbpf_state *st;
	const __u8 *prog;
	__u32 n_insns;
	__u32 strtab;		/* offset of the string table in prog */
	__u32 pc;
	__u32 verdict;
	/* operand and constant of the test in hand */
	__u32 off;		/* in st->rec, or FBPF_PF_COMM: st->pf_comm */
	__u32 len;
	__u32 soff;		/* in prog */
	__u32 slen;
	__u32 at;		/* scan position */
	__u32 result;
};

#define FBPF_PF_COMM 0xffffffffU

/* Byte @i of the operand. */
static __always_inline __u8 fbpf_pf_byte(struct fbpf_pf_ctx *c, __u32 i)
{
	struct fbpf_state *st = c->st;

	if (c->off == FBPF_PF_COMM)
		return st->pf_comm[FBPF_MASK(i, FBPF_COMM_LEN - 1)];
	return st->rec[FBPF_MASK(c->off + i, FBPF_REC_MASK)];
}

/* Byte @i of the constant. */
static __always_inline __u8 fbpf_pf_sbyte(struct fbpf_pf_ctx *c, __u32 i)
{
	__u32 at = c->soff + i;

	if (at >= FPROBE_PF_MAX_SIZE)
		return 0;
	return c->prog[at];
}

/* memcmp of the operand from c->at with the constant: 1 equal, 0 not */
static long fbpf_pf_cmp_step(__u32 i, void *data)
{
	struct fbpf_pf_ctx *c = data;

	if (fbpf_pf_byte(c, c->at + i) != fbpf_pf_sbyte(c, i)) {
		c->result = 0;
		return 1;
	}
	return 0;
}

static __always_inline int fbpf_pf_cmp(struct fbpf_pf_ctx *c, __u32 at)
{
	c->at = at;
	c->result = 1;
	bpf_loop(c->slen > FPROBE_PF_MAX_STR ? FPROBE_PF_MAX_STR : c->slen,
		 fbpf_pf_cmp_step, c, 0);
	return c->result;
}

/* CONTAINS: the constant at any position of the operand */
static long fbpf_pf_contains_step(__u32 i, void *data)
{
	struct fbpf_pf_ctx *c = data;
	__u32 j, n = c->slen;

	for (j = 0; j < FBPF_PF_NEEDLE; j++) {
		if (j >= n) {
			c->result = 1;
			return 1;
		}
		if (fbpf_pf_byte(c, i + j) != fbpf_pf_sbyte(c, j))
			return 0;
	}
	c->result = 1;
	return 1;
}

/* PATH_CLEAN: no "//" and no "/." among bytes [0, len - 1) */
static long fbpf_pf_clean_step(__u32 i, void *data)
{
	struct fbpf_pf_ctx *c = data;
	__u8 next;

	if (fbpf_pf_byte(c, i) != '/')
		return 0;
	next = fbpf_pf_byte(c, i + 1);
	if (next == '/' || next == '.') {
		c->result = 0;
		return 1;
	}
	return 0;
}

/* PATH_DIR: no '/' from c->at on */
static long fbpf_pf_slash_step(__u32 i, void *data)
{
	struct fbpf_pf_ctx *c = data;

	if (fbpf_pf_byte(c, c->at + i) == '/') {
		c->result = 0;
		return 1;
	}
	return 0;
}

/* strnlen() of the operand from c->at, at most c->len - c->at bytes */
static long fbpf_pf_nul_step(__u32 i, void *data)
{
	struct fbpf_pf_ctx *c = data;

	if (!fbpf_pf_byte(c, c->at + i)) {
		c->result = i;
		return 1;
	}
	return 0;
}

/* Narrow the operand to part @sub of a sockaddr/socktuple; -1: none. */
static __always_inline int fbpf_pf_sub(struct fbpf_pf_ctx *c, __u8 sub)
{
	__u32 n = c->len, at, size;
	__u8 fam;
	int v4, v6;

	if (n < 1)
		return -1;
	fam = fbpf_pf_byte(c, 0);
	v4 = fam == PPM_AF_INET;
	v6 = fam == PPM_AF_INET6;
	switch (sub) {
	case FPROBE_PF_SUB_FAMILY:
		at = 0;
		size = 1;
		break;
	case FPROBE_PF_SUB_SA_ADDR:
	case FPROBE_PF_SUB_TU_SADDR:
		if (!v4 && !v6)
			return -1;
		at = 1;
		size = v4 ? 4 : 16;
		break;
	case FPROBE_PF_SUB_SA_PORT:
	case FPROBE_PF_SUB_TU_SPORT:
		if (!v4 && !v6)
			return -1;
		at = v4 ? 5 : 17;
		size = 2;
		break;
	case FPROBE_PF_SUB_TU_DADDR:
		if (!v4 && !v6)
			return -1;
		at = v4 ? 7 : 19;
		size = v4 ? 4 : 16;
		break;
	case FPROBE_PF_SUB_TU_DPORT:
		if (!v4 && !v6)
			return -1;
		at = v4 ? 11 : 35;
		size = 2;
		break;
	case FPROBE_PF_SUB_SA_PATH:
	case FPROBE_PF_SUB_TU_PATH:
		if (fam != PPM_AF_UNIX)
			return -1;
		at = sub == FPROBE_PF_SUB_SA_PATH ? 1 : 17;
		if (at > n)
			return -1;
		c->at = at;
		c->result = n - at;
		bpf_loop(n - at > FPROBE_PF_MAX_PATH ? FPROBE_PF_MAX_PATH : n - at,
			 fbpf_pf_nul_step, c, 0);
		size = c->result;
		break;
	default:
		return -1;
	}
	if (at > n || size > n - at)
		return -1;
	c->off += at;
	c->len = size;
	return 0;
}

/* Byte @i of a little-endian integer of @w bytes, in place; 0 past it. */
static __always_inline __u64 fbpf_pf_le(struct fbpf_pf_ctx *c, __u32 w,
					__u32 i)
{
	return i < w ? (__u64)fbpf_pf_byte(c, i) << (8 * i) : 0;
}

/* The integer test @in on @v, an integer of @w bytes (not sign-extended) */
static __always_inline int fbpf_pf_int_value(const struct fprobe_pf_insn *in,
					     __u32 w, __u64 v)
{
	int sgn = in->width & FPROBE_PF_W_SIGNED;
	__u64 imm = in->imm;

	if (sgn && w < 8 && w > 0 && ((v >> (8 * w - 1)) & 1))
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
	return FBPF_PF_ERROR;
}

static __always_inline int fbpf_pf_int(struct fbpf_pf_ctx *c,
				       const struct fprobe_pf_insn *in)
{
	__u32 w = in->width & FPROBE_PF_W_MASK;
	__u64 v;

	if (c->len != w || w > 8)
		return FBPF_PF_ERROR;
	/*
	 * Written out, not a loop: clang lays a loop here out so that its back
	 * edge falls through a plain instruction, which 6.1's verifier refuses.
	 */
	v = fbpf_pf_le(c, w, 0) | fbpf_pf_le(c, w, 1) | fbpf_pf_le(c, w, 2) |
	    fbpf_pf_le(c, w, 3) | fbpf_pf_le(c, w, 4) | fbpf_pf_le(c, w, 5) |
	    fbpf_pf_le(c, w, 6) | fbpf_pf_le(c, w, 7);
	return fbpf_pf_int_value(in, w, v);
}

static __always_inline int fbpf_pf_str(struct fbpf_pf_ctx *c,
				       const struct fprobe_pf_insn *in)
{
	__u32 len = c->len, n;

	c->soff = c->strtab + (__u32)in->imm;
	c->slen = n = (__u32)(in->imm >> 32);
	if (n > FPROBE_PF_MAX_STR)
		return FBPF_PF_ERROR;
	switch (in->op) {
	case FPROBE_PF_OP_STR_EQ:
		return len == n && fbpf_pf_cmp(c, 0);
	case FPROBE_PF_OP_STR_PREFIX:
		return len >= n && fbpf_pf_cmp(c, 0);
	case FPROBE_PF_OP_STR_SUFFIX:
		return len >= n && fbpf_pf_cmp(c, len - n);
	case FPROBE_PF_OP_STR_CONTAINS:
		if (len > FPROBE_PF_MAX_CONTAINS || n > FBPF_PF_NEEDLE)
			return FBPF_PF_ERROR;
		if (n > len)
			return 0;
		c->result = 0;
		bpf_loop(len - n + 1, fbpf_pf_contains_step, c, 0);
		return c->result;
	case FPROBE_PF_OP_PATH_DIR:
		if (len > FPROBE_PF_MAX_PATH)
			return FBPF_PF_ERROR;
		if (len <= n || !fbpf_pf_cmp(c, 0))
			return 0;
		c->at = n;
		c->result = 1;
		bpf_loop(len - n, fbpf_pf_slash_step, c, 0);
		return c->result;
	}
	return FBPF_PF_ERROR;
}

static __always_inline int fbpf_pf_path_clean(struct fbpf_pf_ctx *c,
					      __u64 max)
{
	__u32 len = c->len;

	if (len > max || len < 1 || fbpf_pf_byte(c, 0) != '/')
		return 0;
	if (len > 1 && fbpf_pf_byte(c, len - 1) == '/')
		return 0;
	c->result = 1;
	bpf_loop(len - 1 > FPROBE_PF_MAX_PATH ? FPROBE_PF_MAX_PATH : len - 1,
		 fbpf_pf_clean_step, c, 0);
	return c->result;
}

struct fbpf_pf_prog {
	__u8 b[FPROBE_PF_MAX_SIZE];
};

/*
 * One test of instruction @pc: 1 true, 0 false, FBPF_PF_ERROR cannot be
 * evaluated.  A global function: verified once, not at each step.
 */
__noinline int fbpf_g_pf_test(struct fbpf_state *st,
			      const struct fbpf_pf_prog *prog, __u32 pc,
			      __u32 strtab)
{
	struct fbpf_pf_ctx cc = {}, *c = &cc;
	const struct fprobe_pf_insn *in;
	__u32 at = FBPF_PF_HDR + pc * FBPF_PF_INSN, arg, len;
	int is_int;

	if (!st || !prog || at > FPROBE_PF_MAX_SIZE - FBPF_PF_INSN)
		return FBPF_PF_ERROR;
	in = (const void *)&prog->b[at];
	c->st = st;
	c->prog = prog->b;
	c->strtab = strtab;
	is_int = in->op == FPROBE_PF_OP_EQ || in->op == FPROBE_PF_OP_LT ||
		 in->op == FPROBE_PF_OP_GT || in->op == FPROBE_PF_OP_MASK;
	arg = in->arg;
	if (in->op == FPROBE_PF_OP_PRESENT) {
		if (arg == FPROBE_PF_ARG_COMM)
			return st->pf_comm_len > 0;
		if (arg >= st->nparams || arg >= FBPF_MAX_PARAMS)
			return 0;
		len = st->pf_len[arg & (FBPF_MAX_PARAMS - 1)];
		/* with a width: exactly that many bytes */
		return len > 0 && (!in->width || len == in->width);
	}
	if (in->op == FPROBE_PF_OP_LEN) {
		if (arg >= st->nparams || arg >= FBPF_MAX_PARAMS)
			return 0;
		len = st->pf_len[arg & (FBPF_MAX_PARAMS - 1)];
		return len >= (__u32)in->imm && len <= (__u32)(in->imm >> 32);
	}
	/* BPF programs are a live source */
	if (arg == FPROBE_PF_ARG_SOURCE)
		return is_int && in->width == 1 ?
		       fbpf_pf_int_value(in, 1, FPROBE_PF_SOURCE_MODULE) :
		       FBPF_PF_ERROR;
	/*
	 * FPROBE_PF_ARG_FDTYPE (the type of an fd's file) is not read here:
	 * an error, so the event passes.
	 */
	if (arg == FPROBE_PF_ARG_COMM) {
		c->off = FBPF_PF_COMM;
		c->len = st->pf_comm_len;
	} else {
		if (arg >= st->nparams || arg >= FBPF_MAX_PARAMS)
			return FBPF_PF_ERROR;
		c->off = st->pf_off[arg & (FBPF_MAX_PARAMS - 1)];
		c->len = st->pf_len[arg & (FBPF_MAX_PARAMS - 1)];
		/* empty: absent for the state, never evaluated */
		if (!c->len)
			return FBPF_PF_ERROR;
		if (in->sub != FPROBE_PF_SUB_NONE) {
			if (fbpf_pf_sub(c, in->sub))
				return FBPF_PF_ERROR;
		} else if (!is_int && !fbpf_pf_byte(c, c->len - 1)) {
			/* a string's trailing NUL is not part of its value */
			c->len--;
		}
	}
	if (is_int)
		return fbpf_pf_int(c, in);
	if (in->op == FPROBE_PF_OP_PATH_CLEAN)
		return fbpf_pf_path_clean(c, in->imm);
	return fbpf_pf_str(c, in);
}

static long fbpf_pf_step(__u32 i, void *data)
{
	struct fbpf_pf_ctx *c = data;
	const struct fprobe_pf_insn *in;
	__u32 pc = c->pc, at;
	int r;

	if (pc == FPROBE_PF_PASS || pc == FPROBE_PF_DROP) {
		c->verdict = pc;
		return 1;
	}
	at = FBPF_PF_HDR + pc * FBPF_PF_INSN;
	if (pc >= c->n_insns || at > FPROBE_PF_MAX_SIZE - FBPF_PF_INSN) {
		c->verdict = FPROBE_PF_PASS;
		return 1;
	}
	in = (const void *)(c->prog + at);
	r = fbpf_g_pf_test(c->st, (const void *)c->prog, pc, c->strtab);
	if (r == FBPF_PF_ERROR) {
		c->verdict = FPROBE_PF_PASS;
		return 1;
	}
	c->pc = r ? in->jt : in->jf;
	return 0;
}

/*
 * fbpf_g_prefilter() - verdict of the installed program on the event built
 * in @st (lengths padded): FPROBE_PF_PASS (also when none is installed) or
 * FPROBE_PF_DROP.
 */
__noinline int fbpf_g_prefilter(struct fbpf_state *st)
{
	const struct fprobe_pf_header *h;
	struct fbpf_pf_ctx c = {};
	struct task_struct *task;
	__u32 zero = 0, i, off;
	void *inner;
	long n;

	if (!st)
		return FPROBE_PF_PASS;
	inner = bpf_map_lookup_elem(&fbpf_prefilter, &zero);
	if (!inner)
		return FPROBE_PF_PASS;
	c.prog = bpf_map_lookup_elem(inner, &zero);
	if (!c.prog)
		return FPROBE_PF_PASS;
	h = (const void *)c.prog;
	c.pc = h->entry[st->type & (FPROBE_PF_NCODES - 1)];
	if (st->type >= FPROBE_PF_NCODES || c.pc == FPROBE_PF_PASS)
		return FPROBE_PF_PASS;
	if (c.pc == FPROBE_PF_DROP)
		return FPROBE_PF_DROP;
	c.st = st;
	c.n_insns = h->n_insns;
	c.strtab = FBPF_PF_HDR + c.n_insns * FBPF_PF_INSN;
	/* where each parameter starts in the record */
	off = FBPF_LENS_OFF + 2 * st->nparams;
	for (i = 0; i < FBPF_MAX_PARAMS; i++) {
		__u16 len;

		if (i >= st->nparams)
			break;
		len = *(__u16 *)&st->rec[FBPF_LENS_OFF + 2 * i];
		st->pf_off[i] = off;
		st->pf_len[i] = len;
		off += len;
	}
	/* the name of the thread the event is about, as it is now */
	task = (void *)st->task;
	__builtin_memset(st->pf_comm, 0, sizeof(st->pf_comm));
	st->pf_comm_len = 0;
	if (task) {
		n = bpf_probe_read_kernel_str(st->pf_comm, sizeof(st->pf_comm),
					      __builtin_preserve_access_index(&task->comm));
		st->pf_comm_len = n > 0 ? n - 1 : 0;
	}
	c.verdict = FPROBE_PF_PASS;
	bpf_loop(FPROBE_PF_MAX_INSNS + 1, fbpf_pf_step, &c, 0);
	return c.verdict;
}

#endif /* _FBPF_PREFILTER_H */
