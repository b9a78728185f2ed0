// SPDX-License-Identifier: Apache-2.0
/*
 * bpfload.c - loader of the modern_ebpf source (driver/bpf/) through
 * libbpf: open the object, size its maps for this machine, load it (the
 * kernel verifies every program; libbpf relocates CO-RE accesses against
 * the running kernel's BTF), fill the schema tables, create and map one
 * ring buffer per group of CPUs, map the controls and the counters, and
 * attach or detach the programs of each hook.
 *
 * Everything libbpf prints while opening and loading is kept in memory;
 * on a load failure it is written to the caller's log file (the verifier
 * log of a rejected program is part of it).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fprobe_abi.h"
#include "fprobe_events.h"
#include "fprobe_syscalls.h"
#include "fprobe_bpf.h"
#include "fsrc.h"
#include "fsrc_bpf.h"
#include "prefilter.h"

#define LOG_CAP (4U << 20)

/* libbpf's print callback has no context: one capture at a time. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char *log_buf;
static size_t log_len;

static int log_print(enum libbpf_print_level level, const char *fmt,
		     va_list ap)
{
	int n;

	if (level == LIBBPF_DEBUG || !log_buf || log_len + 1 >= LOG_CAP)
		return 0;
	n = vsnprintf(log_buf + log_len, LOG_CAP - log_len, fmt, ap);
	if (n > 0)
		log_len += (size_t)n < LOG_CAP - log_len ? (size_t)n :
			   LOG_CAP - log_len - 1;
	return 0;
}

static void log_begin(void)
{
	pthread_mutex_lock(&log_lock);
	log_buf = malloc(LOG_CAP);
	log_len = 0;
	if (log_buf)
		log_buf[0] = '\0';
	libbpf_set_print(log_print);
}

/* Stop capturing; write what was captured to @path when it is set. */
static void log_end(const char *path)
{
	FILE *f;

	libbpf_set_print(NULL);
	if (path && path[0] && log_buf) {
		f = fopen(path, "w");
		if (f) {
			fwrite(log_buf, 1, log_len, f);
			fclose(f);
		}
	}
	free(log_buf);
	log_buf = NULL;
	log_len = 0;
	pthread_mutex_unlock(&log_lock);
}

/* Width of a numeric parameter type (0: variable size). */
static unsigned int type_width(unsigned int type)
{
	switch (type) {
	case PT_INT8: case PT_UINT8: case PT_FLAGS8: case PT_ENUMFLAGS8:
	case PT_SIGTYPE: case PT_L4PROTO: case PT_SOCKFAMILY:
		return 1;
	case PT_INT16: case PT_UINT16: case PT_FLAGS16: case PT_ENUMFLAGS16:
	case PT_PORT: case PT_SYSCALLID:
		return 2;
	case PT_INT32: case PT_UINT32: case PT_FLAGS32: case PT_ENUMFLAGS32:
	case PT_UID: case PT_GID: case PT_MODE: case PT_BOOL:
	case PT_IPV4ADDR: case PT_FD32: case PT_PID32: case PT_SIGSET:
		return 4;
	case PT_INT64: case PT_UINT64: case PT_ERRNO: case PT_FD: case PT_PID:
	case PT_RELTIME: case PT_ABSTIME: case PT_DOUBLE:
		return 8;
	default:
		return 0;
	}
}

static const char *const prog_names[FPROBE_TP_MAX] = {
	[FPROBE_TP_SYS_ENTER] = FBPF_PROG_SYS_ENTER,
	[FPROBE_TP_SYS_EXIT] = FBPF_PROG_SYS_EXIT,
	[FPROBE_TP_SCHED_PROC_EXIT] = FBPF_PROG_SCHED_PROC_EXIT,
	[FPROBE_TP_SCHED_PROC_FORK] = FBPF_PROG_SCHED_PROC_FORK,
	[FPROBE_TP_SCHED_PROC_EXEC] = FBPF_PROG_SCHED_PROC_EXEC,
};

struct fsrc_bpf {
	struct bpf_object *obj;
	struct bpf_link *links[FPROBE_TP_MAX];
	int ncpus;
	int nrings;
	int cpus_per_ring;
	uint64_t ring_bytes;
	long page;
	int *ring_fd;
	void **ring_cons;
	void **ring_prod;
	struct fbpf_config *cfg;
	size_t cfg_len;
	struct fbpf_counters *stats;
	size_t stats_len;
};

int fsrc_bpf_probe_ringbuf(void)
{
	return libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL);
}

int fsrc_bpf_possible_cpus(void)
{
	return libbpf_num_possible_cpus();
}

/* CLOCK_REALTIME - CLOCK_BOOTTIME, from the tightest of a few samples */
static uint64_t boot_time_ns(void)
{
	uint64_t best = 0, best_gap = UINT64_MAX;
	struct timespec a, b, c;
	int i;

	for (i = 0; i < 8; i++) {
		uint64_t ra, bb, rc;

		clock_gettime(CLOCK_REALTIME, &a);
		clock_gettime(CLOCK_BOOTTIME, &b);
		clock_gettime(CLOCK_REALTIME, &c);
		ra = a.tv_sec * 1000000000ULL + a.tv_nsec;
		bb = b.tv_sec * 1000000000ULL + b.tv_nsec;
		rc = c.tv_sec * 1000000000ULL + c.tv_nsec;
		if (rc - ra < best_gap) {
			best_gap = rc - ra;
			best = ra + (rc - ra) / 2 - bb;
		}
	}
	return best;
}

static int map_fd(struct fsrc_bpf *b, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(b->obj, name);

	return m ? bpf_map__fd(m) : -ENOENT;
}

static int fill_tables(struct fsrc_bpf *b)
{
	int efd = map_fd(b, FBPF_MAP_EVENTS);
	int sfd = map_fd(b, FBPF_MAP_SYSCALLS);
	__u32 i, j;

	if (efd < 0 || sfd < 0)
		return -ENOENT;
	for (i = 0; i < PPM_EVENT_MAX; i++) {
		const struct fprobe_event_info *ev = &fprobe_event_table[i];
		struct fbpf_event_info info;

		memset(&info, 0, sizeof(info));
		info.nparams = ev->nparams;
		for (j = 0; j < ev->nparams && j < FBPF_MAX_PARAMS; j++)
			info.width[j] = type_width(ev->params[j].type);
		if (bpf_map_update_elem(efd, &i, &info, BPF_ANY))
			return -errno;
	}
	for (i = 0; i < FPROBE_SYSCALL_TABLE_SIZE; i++) {
		const struct fprobe_syscall_entry *e = &fprobe_syscall_table[i];
		struct fbpf_syscall sc;

		memset(&sc, 0, sizeof(sc));
		sc.enter_event = e->enter_event;
		sc.exit_event = e->exit_event;
		sc.flags = e->flags;
		sc.ppm_sc = e->ppm_sc;
		if (bpf_map_update_elem(sfd, &i, &sc, BPF_ANY))
			return -errno;
	}
	return 0;
}

static void *map_array(int fd, size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static size_t page_round(size_t len, long page)
{
	return (len + page - 1) / page * page;
}

/* One ring buffer per group of CPUs, each CPU's slot pointing at it. */
static int make_rings(struct fsrc_bpf *b)
{
	int outer = map_fd(b, FBPF_MAP_RINGS);
	int i, cpu;

	if (outer < 0)
		return -ENOENT;
	b->ring_fd = calloc(b->nrings, sizeof(int));
	b->ring_cons = calloc(b->nrings, sizeof(void *));
	b->ring_prod = calloc(b->nrings, sizeof(void *));
	if (!b->ring_fd || !b->ring_cons || !b->ring_prod)
		return -ENOMEM;
	for (i = 0; i < b->nrings; i++)
		b->ring_fd[i] = -1;
	for (i = 0; i < b->nrings; i++) {
		int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "fbpf_ring", 0, 0,
					b->ring_bytes, NULL);

		if (fd < 0)
			return -errno;
		b->ring_fd[i] = fd;
		b->ring_cons[i] = mmap(NULL, b->page, PROT_READ | PROT_WRITE,
				       MAP_SHARED, fd, 0);
		if (b->ring_cons[i] == MAP_FAILED) {
			b->ring_cons[i] = NULL;
			return -errno;
		}
		b->ring_prod[i] = mmap(NULL, b->page + 2 * b->ring_bytes,
				       PROT_READ, MAP_SHARED, fd, b->page);
		if (b->ring_prod[i] == MAP_FAILED) {
			b->ring_prod[i] = NULL;
			return -errno;
		}
	}
	for (cpu = 0; cpu < b->ncpus; cpu++) {
		__u32 key = cpu;
		int ring = b->cpus_per_ring ? cpu / b->cpus_per_ring : 0;

		if (bpf_map_update_elem(outer, &key, &b->ring_fd[ring], BPF_ANY))
			return -errno;
	}
	return 0;
}

void fsrc_bpf_close(struct fsrc_bpf *b)
{
	int i;

	if (!b)
		return;
	for (i = 0; i < FPROBE_TP_MAX; i++)
		if (b->links[i])
			bpf_link__destroy(b->links[i]);
	for (i = 0; b->ring_fd && i < b->nrings; i++) {
		if (b->ring_prod && b->ring_prod[i])
			munmap(b->ring_prod[i], b->page + 2 * b->ring_bytes);
		if (b->ring_cons && b->ring_cons[i])
			munmap(b->ring_cons[i], b->page);
		if (b->ring_fd[i] >= 0)
			close(b->ring_fd[i]);
	}
	free(b->ring_fd);
	free(b->ring_cons);
	free(b->ring_prod);
	if (b->cfg)
		munmap(b->cfg, b->cfg_len);
	if (b->stats)
		munmap(b->stats, b->stats_len);
	if (b->obj)
		bpf_object__close(b->obj);
	free(b);
}

static int set_entries(struct fsrc_bpf *b, const char *name, __u32 n)
{
	struct bpf_map *m = bpf_object__find_map_by_name(b->obj, name);

	return m ? bpf_map__set_max_entries(m, n) : -ENOENT;
}

struct fsrc_bpf *fsrc_bpf_open(const char *path, int cpus_per_ring,
			       uint64_t ring_bytes, const char *log_path,
			       int *err, char *stage, int stagelen)
{
	struct fsrc_bpf *b;
	int rc = 0;

	*err = 0;
	snprintf(stage, stagelen, "setup");
	b = calloc(1, sizeof(*b));
	if (!b) {
		*err = -ENOMEM;
		return NULL;
	}
	b->page = sysconf(_SC_PAGESIZE);
	b->ncpus = libbpf_num_possible_cpus();
	if (b->ncpus <= 0) {
		rc = b->ncpus ? b->ncpus : -EINVAL;
		goto fail;
	}
	if (cpus_per_ring < 0 || ring_bytes < (uint64_t)b->page ||
	    (ring_bytes & (ring_bytes - 1))) {
		rc = -EINVAL;
		goto fail;
	}
	b->cpus_per_ring = cpus_per_ring > b->ncpus ? b->ncpus : cpus_per_ring;
	b->nrings = b->cpus_per_ring ?
		    (b->ncpus + b->cpus_per_ring - 1) / b->cpus_per_ring : 1;
	if (b->nrings > FSRC_MAX_RINGS) {
		rc = -E2BIG;
		goto fail;
	}
	b->ring_bytes = ring_bytes;

	log_begin();
	snprintf(stage, stagelen, "open");
	b->obj = bpf_object__open_file(path, NULL);
	if (!b->obj) {
		rc = -errno;
		log_end(NULL);
		goto fail;
	}
	snprintf(stage, stagelen, "size");
	rc = set_entries(b, FBPF_MAP_RINGS, b->ncpus);
	if (!rc)
		rc = set_entries(b, FBPF_MAP_STATS, b->ncpus);
	if (!rc)
		rc = set_entries(b, FBPF_MAP_STATE, b->ncpus);
	/*
	 * The inner map template keeps its declared size: ring buffers are
	 * not compared by size when one is put in the outer map.
	 */
	if (rc) {
		log_end(NULL);
		goto fail;
	}
	snprintf(stage, stagelen, "load");
	rc = bpf_object__load(b->obj);
	log_end(rc ? log_path : NULL);
	if (rc)
		goto fail;

	snprintf(stage, stagelen, "tables");
	rc = fill_tables(b);
	if (rc)
		goto fail;
	snprintf(stage, stagelen, "maps");
	b->cfg_len = page_round(sizeof(struct fbpf_config), b->page);
	b->cfg = map_array(map_fd(b, FBPF_MAP_CONFIG), b->cfg_len,
			   PROT_READ | PROT_WRITE);
	b->stats_len = page_round(sizeof(struct fbpf_counters) * b->ncpus,
				  b->page);
	b->stats = map_array(map_fd(b, FBPF_MAP_STATS), b->stats_len,
			     PROT_READ);
	if (!b->cfg || !b->stats) {
		rc = -errno ? -errno : -EINVAL;
		goto fail;
	}
	b->cfg->boot_time = boot_time_ns();
	b->cfg->snaplen = FPROBE_SNAPLEN_DEFAULT;
	b->cfg->tp_mask = 0;
	memset(b->cfg->syscalls, 0, sizeof(b->cfg->syscalls));
	snprintf(stage, stagelen, "rings");
	rc = make_rings(b);
	if (rc)
		goto fail;
	snprintf(stage, stagelen, "ready");
	return b;

fail:
	*err = rc < 0 ? rc : -EINVAL;
	fsrc_bpf_close(b);
	return NULL;
}

int fsrc_bpf_attach(struct fsrc_bpf *b, int tp)
{
	struct bpf_program *prog;
	struct bpf_link *link;

	if (tp < 0 || tp >= FPROBE_TP_MAX || !prog_names[tp])
		return -EINVAL;
	if (b->links[tp])
		return 0;
	prog = bpf_object__find_program_by_name(b->obj, prog_names[tp]);
	if (!prog)
		return -ENOENT;
	/* the bit first: the program must see its hook enabled */
	__atomic_or_fetch(&b->cfg->tp_mask, 1U << tp, __ATOMIC_SEQ_CST);
	link = bpf_program__attach(prog);
	if (!link) {
		int rc = -errno;

		__atomic_and_fetch(&b->cfg->tp_mask, ~(1U << tp),
				   __ATOMIC_SEQ_CST);
		return rc;
	}
	b->links[tp] = link;
	return 0;
}

int fsrc_bpf_detach(struct fsrc_bpf *b, int tp)
{
	if (tp < 0 || tp >= FPROBE_TP_MAX || !prog_names[tp])
		return -EINVAL;
	__atomic_and_fetch(&b->cfg->tp_mask, ~(1U << tp), __ATOMIC_SEQ_CST);
	if (b->links[tp]) {
		bpf_link__destroy(b->links[tp]);
		b->links[tp] = NULL;
	}
	return 0;
}

int fsrc_bpf_has_hook(int tp)
{
	return tp >= 0 && tp < FPROBE_TP_MAX && prog_names[tp];
}

struct fbpf_config *fsrc_bpf_config(struct fsrc_bpf *b)
{
	return b->cfg;
}

const struct fbpf_counters *fsrc_bpf_counters(struct fsrc_bpf *b)
{
	return b->stats;
}

int fsrc_bpf_ncpus(struct fsrc_bpf *b)
{
	return b->ncpus;
}

int fsrc_bpf_nrings(struct fsrc_bpf *b)
{
	return b->nrings;
}

/*
 * Install prefilter program @prog (@size bytes; NULL: remove it) for every
 * hook: validated here, copied into a new one-entry array map that replaces
 * the previous one in FBPF_MAP_PREFILTER (the kernel frees the old map once
 * no running program uses it).  Returns 0, -EINVAL for a malformed program,
 * or the error of the bpf() call that failed.
 */
int fsrc_bpf_set_prefilter(struct fsrc_bpf *b, const void *prog, uint32_t size)
{
	int outer = map_fd(b, FBPF_MAP_PREFILTER);
	__u32 zero = 0;
	void *value;
	int fd, rc;

	if (outer < 0)
		return outer;
	if (!prog) {
		if (bpf_map_delete_elem(outer, &zero) && errno != ENOENT)
			return -errno;
		return 0;
	}
	if (fprobe_pf_validate(prog, size))
		return -EINVAL;
	value = calloc(1, FPROBE_PF_MAX_SIZE);
	if (!value)
		return -ENOMEM;
	memcpy(value, prog, size);
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "fbpf_pf_prog", sizeof(__u32),
			    FPROBE_PF_MAX_SIZE, 1, NULL);
	if (fd < 0) {
		rc = -errno;
		free(value);
		return rc;
	}
	rc = bpf_map_update_elem(fd, &zero, value, BPF_ANY) ? -errno : 0;
	free(value);
	if (!rc && bpf_map_update_elem(outer, &zero, &fd, BPF_ANY))
		rc = -errno;
	close(fd);
	return rc;
}

int fsrc_bpf_ring_fd(struct fsrc_bpf *b, int i)
{
	return i >= 0 && i < b->nrings ? b->ring_fd[i] : -EINVAL;
}

/* Put every ring buffer of @b in the merge of @ds (replacing its rings). */
int fsrc_bpf_attach_rings(struct fsrc_bpf *b, struct fsrc_devset *ds,
			  uint64_t *percpu)
{
	int i;

	if (b->nrings > FSRC_MAX_RINGS)
		return -E2BIG;
	for (i = 0; i < b->nrings; i++)
		fsrc_bpf_ring_attach(&ds->rings[i], b->ring_cons[i],
				     b->ring_prod[i],
				     (const uint8_t *)b->ring_prod[i] + b->page,
				     b->ring_bytes,
				     b->cpus_per_ring ? i * b->cpus_per_ring : 0,
				     percpu, b->ncpus);
	ds->nrings = b->nrings;
	return 0;
}
