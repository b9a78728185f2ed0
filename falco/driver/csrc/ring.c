// SPDX-License-Identifier: Apache-2.0
/*
 * ring.c - consumer of the falco_probe per-CPU rings (and of the fake ring)
 *
 * Protocol (driver/uapi/fprobe_abi.h): head and tail are free-running byte
 * counters; the kernel publishes head with release semantics after writing
 * the event bytes, we load it with acquire semantics, consume, and publish
 * tail with release semantics.  The data area is mapped twice back to back
 * so an event is always contiguous at data + (cursor & (size - 1)).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "fprobe_abi.h"
#include "fprobe_events.h"
#include "fsrc.h"

static inline uint64_t load_acquire(const volatile __u64 *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void store_release(volatile __u64 *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline struct fprobe_ring_info *ring_info(const struct fsrc_ring *r)
{
	return (struct fprobe_ring_info *)r->info;
}

int fsrc_dev_open(struct fsrc_ring *r, const char *path, int cpu)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->cpu = cpu;
	r->fd = open(path, O_RDWR | O_CLOEXEC);
	if (r->fd < 0)
		return -errno;
	return 0;
}

int fsrc_dev_map(struct fsrc_ring *r)
{
	long page = sysconf(_SC_PAGESIZE);
	struct fprobe_ring_info *info;
	void *data;
	uint64_t size;

	info = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED,
		    r->fd, (off_t)FPROBE_MMAP_OFF_INFO);
	if (info == MAP_FAILED)
		return -errno;
	size = __atomic_load_n(&info->buffer_size, __ATOMIC_RELAXED);
	if (size == 0 || (size & (size - 1)) != 0) {
		munmap(info, (size_t)page);
		return -EPROTO;
	}
	data = mmap(NULL, (size_t)(2 * size), PROT_READ, MAP_SHARED, r->fd,
		    (off_t)FPROBE_MMAP_OFF_DATA);
	if (data == MAP_FAILED) {
		int err = -errno;

		munmap(info, (size_t)page);
		return err;
	}
	r->map_info = info;
	r->map_data = data;
	r->map_data_len = (size_t)(2 * size);
	fsrc_ring_attach(r, info, data, size, r->cpu);
	return 0;
}

void fsrc_dev_close(struct fsrc_ring *r)
{
	if (r->map_data)
		munmap(r->map_data, r->map_data_len);
	if (r->map_info)
		munmap(r->map_info, (size_t)sysconf(_SC_PAGESIZE));
	if (r->fd >= 0)
		close(r->fd);
	r->map_data = NULL;
	r->map_info = NULL;
	r->info = NULL;
	r->data = NULL;
	r->fd = -1;
}

int fsrc_ioctl_get_u64(int fd, unsigned long req, uint64_t *out)
{
	return ioctl(fd, req, out) < 0 ? -errno : 0;
}

int fsrc_ioctl_set_u32(int fd, unsigned long req, uint32_t val)
{
	return ioctl(fd, req, &val) < 0 ? -errno : 0;
}

int fsrc_ioctl_none(int fd, unsigned long req)
{
	return ioctl(fd, req, 0) < 0 ? -errno : 0;
}

int fsrc_ioctl_stats(int fd, void *stats)
{
	return ioctl(fd, FPROBE_IOCTL_GET_STATS, stats) < 0 ? -errno : 0;
}

/*
 * fsrc_ioctl_prefilter - install @prog (@size bytes) on a device, or
 * remove its program when @prog is NULL
 */
int fsrc_ioctl_prefilter(int fd, const void *prog, uint32_t size)
{
	struct fprobe_pf_load load;

	if (!prog)
		return ioctl(fd, FPROBE_IOCTL_CLEAR_PREFILTER, 0) < 0 ? -errno : 0;
	memset(&load, 0, sizeof(load));
	load.prog = (uint64_t)(uintptr_t)prog;
	load.size = size;
	return ioctl(fd, FPROBE_IOCTL_SET_PREFILTER, &load) < 0 ? -errno : 0;
}

void fsrc_ring_attach(struct fsrc_ring *r, void *info, const uint8_t *data,
		      uint64_t size, int cpu)
{
	struct fprobe_ring_info *ri = info;

	r->info = info;
	r->data = data;
	r->size = size;
	r->cpu = cpu;
	r->cursor = __atomic_load_n(&ri->tail, __ATOMIC_RELAXED);
	r->end = r->cursor;
}

/* Does @r hold at least an event header between cursor and end? */
static inline int has_event(const struct fsrc_ring *r)
{
	return r->info && r->end - r->cursor >= FPROBE_EVT_HDR_SIZE;
}

/*
 * The next event of @r and the bytes it may span (*@avail), or NULL.  BPF
 * ring buffers (FSRC_RING_BPF) frame their events: bpfring.c unwraps them.
 */
static inline const uint8_t *ring_head(struct fsrc_ring *r, uint64_t *avail)
{
	if (r->kind == FSRC_RING_BPF)
		return r->info ? fsrc_bpf_head(r, avail) : NULL;
	if (!has_event(r))
		return NULL;
	*avail = r->end - r->cursor;
	return r->data + (r->cursor & (r->size - 1));
}

/* Step over the event @p of @len bytes (@delivered: 1, 0 skipped, -1). */
static inline void ring_consume(struct fsrc_ring *r, const uint8_t *p,
				uint32_t len, int delivered)
{
	if (r->kind == FSRC_RING_BPF)
		fsrc_bpf_consume(r, p, len, delivered);
	else
		r->cursor += len;
}

/*
 * fsrc_next_batch - merge the rings by timestamp into one batch
 *
 * Snapshots every head, copies up to @maxrecs wanted events (at most
 * @outcap bytes) into @out in timestamp order, skips unwanted ones, then
 * releases each ring's tail up to what was consumed.  Corrupt records
 * (length too small or past head) drop the rest of that ring's snapshot
 * and are counted in ->corrupt.  When nothing was pending and
 * @sleep_when_empty is set, sleeps with exponential back-off.
 *
 * Returns the number of records filled.
 */
int fsrc_next_batch(struct fsrc_devset *ds, uint8_t *out, uint32_t outcap,
		    struct fsrc_rec *recs, int maxrecs, const uint8_t *wanted,
		    int sleep_when_empty)
{
	uint64_t pending = 0;
	uint32_t used = 0;
	uint32_t seq = 0;
	int n = 0;
	int i;

	for (i = 0; i < ds->nrings; i++) {
		struct fsrc_ring *r = &ds->rings[i];

		if (!r->info)
			continue;
		if (r->kind == FSRC_RING_BPF) {
			pending += fsrc_bpf_snapshot(r);
			continue;
		}
		r->end = load_acquire(&ring_info(r)->head);
		if (r->end - r->cursor > r->size) {
			/* head moved backwards or beyond the buffer: resync */
			r->corrupt++;
			r->cursor = r->end;
		} else if (r->end != r->cursor &&
			   r->end - r->cursor < FPROBE_EVT_HDR_SIZE) {
			/* heads only move by whole events: a torn record */
			r->corrupt++;
			r->cursor = r->end;
		}
		pending += r->end - r->cursor;
	}

	while (n < maxrecs) {
		struct fsrc_ring *best = NULL;
		uint64_t best_ts = UINT64_MAX;
		uint64_t avail = 0;
		const uint8_t *p = NULL;
		uint32_t len;
		uint16_t type;

		for (i = 0; i < ds->nrings; i++) {
			struct fsrc_ring *r = &ds->rings[i];
			const uint8_t *head;
			uint64_t ts, span;

			head = ring_head(r, &span);
			if (!head)
				continue;
			memcpy(&ts, head, sizeof(ts));
			if (!best || ts < best_ts) {
				best_ts = ts;
				best = r;
				p = head;
				avail = span;
			}
		}
		if (!best)
			break;
		memcpy(&len, p + 16, sizeof(len));
		memcpy(&type, p + 20, sizeof(type));
		if (len < FPROBE_EVT_HDR_SIZE || len > avail) {
			best->corrupt++;
			best->cursor = best->end;
			continue;
		}
		if (!fsrc_is_wanted(wanted, type)) {
			seq++;
			best->skipped++;
			ring_consume(best, p, len, 0);
			continue;
		}
		if (used + len > outcap) {
			if (n == 0 && len > outcap) {
				/* can never fit: drop it rather than stall */
				best->corrupt++;
				ring_consume(best, p, len, -1);
				continue;
			}
			break;
		}
		seq++;
		memcpy(out + used, p, len);
		recs[n].ts = best_ts;
		memcpy(&recs[n].tid, p + 8, sizeof(uint64_t));
		memcpy(&recs[n].nparams, p + 22, sizeof(uint32_t));
		recs[n].off = used;
		recs[n].len = len;
		recs[n].type = type;
		recs[n].cpu = best->kind == FSRC_RING_BPF ? fsrc_bpf_cpu(p) :
			      (uint16_t)best->cpu;
		recs[n].hdrlen = FPROBE_EVT_HDR_SIZE;
		recs[n].flags = 0;
		recs[n].block_off = 0;
		recs[n].seq = seq;
		used += len;
		ring_consume(best, p, len, 1);
		best->delivered++;
		n++;
	}

	for (i = 0; i < ds->nrings; i++) {
		struct fsrc_ring *r = &ds->rings[i];

		if (r->kind == FSRC_RING_BPF && r->info)
			fsrc_bpf_release(r);
		else if (r->info)
			store_release(&ring_info(r)->tail, r->cursor);
	}
	ds->batch_seen = seq;

	if (pending == 0) {
		if (sleep_when_empty) {
			struct timespec ts = {
				.tv_sec = 0,
				.tv_nsec = (long)ds->wait_us * 1000L,
			};

			nanosleep(&ts, NULL);
			ds->sleeps++;
			ds->wait_us *= 2;
			if (ds->wait_us > FSRC_WAIT_US_MAX)
				ds->wait_us = FSRC_WAIT_US_MAX;
		}
	} else {
		ds->wait_us = FSRC_WAIT_US_START;
	}
	return n;
}

uint64_t fsrc_pending(const struct fsrc_devset *ds)
{
	uint64_t total = 0;
	int i;

	for (i = 0; i < ds->nrings; i++) {
		const struct fsrc_ring *r = &ds->rings[i];

		if (r->info && r->kind == FSRC_RING_BPF)
			total += load_acquire(r->prod) - r->cursor;
		else if (r->info)
			total += load_acquire(&ring_info(r)->head) - r->cursor;
	}
	return total;
}

#define FAKE_INFO_BYTES 4096

int fsrc_fake_map(int fd, uint64_t size, int writable, void **info,
		  uint8_t **data)
{
	int prot = PROT_READ | (writable ? PROT_WRITE : 0);
	uint8_t *base;
	void *a, *b, *in;

	if (size == 0 || (size & (size - 1)) != 0 || size % 4096 != 0)
		return -EINVAL;
	in = mmap(NULL, FAKE_INFO_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED,
		  fd, 0);
	if (in == MAP_FAILED)
		return -errno;
	base = mmap(NULL, (size_t)(2 * size), PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		goto err_unmap_info;
	a = mmap(base, (size_t)size, prot, MAP_SHARED | MAP_FIXED, fd,
		 FAKE_INFO_BYTES);
	if (a == MAP_FAILED)
		goto err_unmap_base;
	b = mmap(base + size, (size_t)size, prot, MAP_SHARED | MAP_FIXED, fd,
		 FAKE_INFO_BYTES);
	if (b == MAP_FAILED)
		goto err_unmap_base;
	*info = in;
	*data = base;
	return 0;

err_unmap_base:
	munmap(base, (size_t)(2 * size));
err_unmap_info:
	munmap(in, FAKE_INFO_BYTES);
	return -ENOMEM;
}

void fsrc_fake_unmap(void *info, uint8_t *data, uint64_t size)
{
	if (data)
		munmap(data, (size_t)(2 * size));
	if (info)
		munmap(info, FAKE_INFO_BYTES);
}

/*
 * fsrc_fake_write - the producer side, as the module does it: append
 * @len bytes holding @nevts whole events, or count them as buffer drops.
 */
int fsrc_fake_write(void *info, uint8_t *data, const uint8_t *evts,
		    uint32_t len, uint32_t nevts)
{
	struct fprobe_ring_info *ri = info;
	uint64_t size = ri->buffer_size;
	uint64_t head = ri->head;
	uint64_t tail = load_acquire(&ri->tail);

	__atomic_fetch_add(&ri->n_evts, nevts, __ATOMIC_RELAXED);
	if (size - (head - tail) < len) {
		__atomic_fetch_add(&ri->n_drops_buffer, nevts,
				   __ATOMIC_RELAXED);
		return -ENOSPC;
	}
	memcpy(data + (head & (size - 1)), evts, len);
	store_release(&ri->head, head + len);
	return 0;
}
