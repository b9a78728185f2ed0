/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note OR MIT */
/*
 * fprobe_prefilter.h - the prefilter program format, version 1
 *
 * A prefilter program says, per event code, whether an event may leave the
 * kernel: userspace compiles it from the rules (a sound over-approximation
 * of "some enabled rule could match, or the state needs this event"), the
 * module validates and evaluates it before an event is published, and the
 * capture scanner evaluates the same program on replays.  Semantics in
 * docs/ARCHITECTURE.md ("Prefilter programs"); the evaluator every side
 * shares is driver/prefilter.c.
 *
 * Layout of a program (little endian, no pointers, no implicit padding):
 *   struct fprobe_pf_header
 *   struct fprobe_pf_insn insns[header.n_insns]
 *   __u8 strtab[header.strtab_len]
 * and nothing else: the blob size is exactly the sum.
 *
 * Evaluation of an event with code C:
 *  - pc = entry[C] (codes >= FPROBE_PF_NCODES: FPROBE_PF_PASS);
 *  - while pc is an instruction index: run its test; true -> pc = jt,
 *    false -> pc = jf; a test that cannot be evaluated (missing parameter,
 *    unexpected length, unknown task name) ends the evaluation with PASS;
 *  - pc == FPROBE_PF_PASS: the event goes on; FPROBE_PF_DROP: filtered.
 * Jumps only go forward (jt, jf > pc), so an evaluation runs at most
 * n_insns tests: there are no loops.
 */
#ifndef _UAPI_FPROBE_PREFILTER_H
#define _UAPI_FPROBE_PREFILTER_H

#if defined(__KERNEL__) || defined(__linux__)
#include <linux/types.h>
#elif defined(__bpf__)
/* BPF programs (driver/bpf/): vmlinux.h, included first, has the types */
#else
#include <stdint.h>
typedef uint8_t __u8;
typedef uint16_t __u16;
typedef uint32_t __u32;
typedef uint64_t __u64;
#endif

#define FPROBE_PF_MAGIC 0x31465046U	/* FPF1 in ASCII, little endian */
#define FPROBE_PF_VERSION 1

/* Limits (a program over any of them is refused with -EINVAL). */
#define FPROBE_PF_NCODES 512		/* entry slots (>= PPM_EVENT_MAX) */
#define FPROBE_PF_MAX_INSNS 8192
#define FPROBE_PF_MAX_STRTAB 32768	/* bytes of string constants */
#define FPROBE_PF_MAX_STR 256		/* longest string constant */
#define FPROBE_PF_MAX_PARAMS 32		/* parameter indexes 0..31 */
#define FPROBE_PF_MAX_CONTAINS 256	/* longest value CONTAINS scans */
#define FPROBE_PF_MAX_PATH 4096		/* longest value PATH_* scan */
#define FPROBE_PF_MAX_SIZE (sizeof(struct fprobe_pf_header) + \
	FPROBE_PF_MAX_INSNS * sizeof(struct fprobe_pf_insn) + \
	FPROBE_PF_MAX_STRTAB)

/* Terminal targets of entry[], jt and jf. */
#define FPROBE_PF_PASS 0xffff
#define FPROBE_PF_DROP 0xfffe

/*
 * Operand sources (insn.arg): 0..FPROBE_PF_MAX_PARAMS-1 is the index of an
 * event parameter; FPROBE_PF_ARG_COMM is the name (comm, at most 15 bytes)
 * of the thread the event is about, after the event itself took effect;
 * FPROBE_PF_ARG_FDTYPE + i is the type of the file that fd parameter i
 * names in the thread's fd table when the event is judged (sys_enter for
 * enter events, sys_exit for exit events): (i_mode & S_IFMT) >> 12 as an
 * integer of width 1 (FPROBE_PF_FDTYPE_*).  Only the module can evaluate
 * it: the capture scanner cannot (the event does not carry it).
 */
#define FPROBE_PF_ARG_COMM 0x80
#define FPROBE_PF_ARG_FDTYPE 0x40
/*
 * FPROBE_PF_ARG_SOURCE: where the program runs, an integer of width 1:
 * FPROBE_PF_SOURCE_MODULE in the kernel (a live source), _CAPTURE in the
 * capture scanner.  Clauses that only a live source needs (state the
 * capture replay finds in the capture itself) test it.
 */
#define FPROBE_PF_ARG_SOURCE 0x81
#define FPROBE_PF_SOURCE_MODULE 1
#define FPROBE_PF_SOURCE_CAPTURE 2
#define FPROBE_PF_FDTYPE_FIFO 0x1
#define FPROBE_PF_FDTYPE_CHR 0x2
#define FPROBE_PF_FDTYPE_DIR 0x4
#define FPROBE_PF_FDTYPE_REG 0x8
#define FPROBE_PF_FDTYPE_SOCK 0xc

/*
 * Parts of a parameter (insn.sub).  FPROBE_PF_SUB_NONE is the whole
 * parameter.  The others read a PT_SOCKADDR (SA_*) or PT_SOCKTUPLE (TU_*)
 * parameter laid out as in the event ABI: family byte, then for AF_INET
 * addresses 4 bytes and ports 2, for AF_INET6 addresses 16 bytes; unix
 * paths run to the first NUL.  A part the family does not have, or that
 * does not fit in the parameter, cannot be evaluated.
 */
#define FPROBE_PF_SUB_NONE 0
#define FPROBE_PF_SUB_FAMILY 1		/* integer, width 1: family byte */
#define FPROBE_PF_SUB_SA_ADDR 2		/* v4: integer width 4; v6: 16 bytes */
#define FPROBE_PF_SUB_SA_PORT 3		/* integer, width 2 */
#define FPROBE_PF_SUB_SA_PATH 4		/* string (AF_UNIX) */
#define FPROBE_PF_SUB_TU_SADDR 5	/* source address, as SA_ADDR */
#define FPROBE_PF_SUB_TU_SPORT 6	/* integer, width 2 */
#define FPROBE_PF_SUB_TU_DADDR 7	/* destination address */
#define FPROBE_PF_SUB_TU_DPORT 8	/* integer, width 2 */
#define FPROBE_PF_SUB_TU_PATH 9		/* string: AF_UNIX destination path */
#define FPROBE_PF_SUB_MAX 10

/*
 * Integer tests read the operand as an unsigned little endian number of
 * exactly (width & FPROBE_PF_W_MASK) bytes (1, 2, 4 or 8; another length
 * cannot be evaluated), sign-extended to 64 bits when FPROBE_PF_W_SIGNED
 * is set.  String tests read its bytes; a parameter's trailing NUL, if
 * any, is not part of the value.  imm of a string test is
 * (length << 32) | offset of the constant in strtab.
 */
#define FPROBE_PF_W_MASK 0x0f
#define FPROBE_PF_W_SIGNED 0x80

enum fprobe_pf_op {
	FPROBE_PF_OP_INVALID = 0,
	/*
	 * true when the parameter exists and is not empty (with a width: is
	 * exactly that many bytes long); never an error
	 */
	FPROBE_PF_OP_PRESENT = 1,
	/* integers: v == imm; v < imm and v > imm (signed if W_SIGNED) */
	FPROBE_PF_OP_EQ = 2,
	FPROBE_PF_OP_LT = 3,
	FPROBE_PF_OP_GT = 4,
	/* integers: (v & (imm >> 32)) == (imm & 0xffffffff), low 32 bits */
	FPROBE_PF_OP_MASK = 5,
	/* strings against a constant */
	FPROBE_PF_OP_STR_EQ = 6,
	FPROBE_PF_OP_STR_PREFIX = 7,
	FPROBE_PF_OP_STR_SUFFIX = 8,
	/* values longer than FPROBE_PF_MAX_CONTAINS cannot be evaluated */
	FPROBE_PF_OP_STR_CONTAINS = 9,
	/*
	 * A normalised absolute path no longer than imm bytes: starts with
	 * '/', holds no "//" and no "/.", and does not end with '/' unless
	 * it is "/".  (imm <= FPROBE_PF_MAX_PATH; no constant.)
	 */
	FPROBE_PF_OP_PATH_CLEAN = 10,
	/*
	 * The value starts with the constant (which ends with '/') and holds
	 * no '/' after it: the constant minus its '/' is the dirname.
	 */
	FPROBE_PF_OP_PATH_DIR = 11,
	/*
	 * true when the parameter exists and its length is between
	 * (imm & 0xffffffff) and (imm >> 32) bytes; never an error
	 */
	FPROBE_PF_OP_LEN = 12,
	FPROBE_PF_OP_MAX = 13
};

/* header.flags: none defined in version 1 (must be zero). */

/**
 * struct fprobe_pf_header - start of a prefilter program (1056 bytes)
 * @magic: FPROBE_PF_MAGIC
 * @version: FPROBE_PF_VERSION
 * @flags: zero
 * @n_insns: instructions following the header (<= FPROBE_PF_MAX_INSNS)
 * @strtab_len: bytes of string constants after them
 * @reserved: zero
 * @entry: per event code, the first instruction, or FPROBE_PF_PASS /
 *	FPROBE_PF_DROP; slots of codes >= PPM_EVENT_MAX hold FPROBE_PF_PASS
 */
struct fprobe_pf_header {
	__u32 magic;
	__u16 version;
	__u16 flags;
	__u32 n_insns;
	__u32 strtab_len;
	__u32 reserved[4];
	__u16 entry[FPROBE_PF_NCODES];
};

/**
 * struct fprobe_pf_insn - one test (16 bytes)
 * @op: enum fprobe_pf_op
 * @arg: parameter index or FPROBE_PF_ARG_*
 * @sub: FPROBE_PF_SUB_*
 * @width: integer tests: width | FPROBE_PF_W_SIGNED; PRESENT: 0 or a
 *	width; zero otherwise
 * @jt: next instruction when the test holds (> this index), or a terminal
 * @jf: the same when it does not
 * @reserved: zero
 * @imm: integer operand, packed mask, string reference or length limit
 */
struct fprobe_pf_insn {
	__u8 op;
	__u8 arg;
	__u8 sub;
	__u8 width;
	__u16 jt;
	__u16 jf;
	__u64 imm;
};

/**
 * struct fprobe_pf_load - argument of FPROBE_IOCTL_SET_PREFILTER
 * @prog: user address of the program blob
 * @size: its size in bytes (at most FPROBE_PF_MAX_SIZE)
 * @reserved: zero
 */
struct fprobe_pf_load {
	__u64 prog;
	__u32 size;
	__u32 reserved;
};

#endif /* _UAPI_FPROBE_PREFILTER_H */
