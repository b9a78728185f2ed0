// SPDX-License-Identifier: Apache-2.0
/*
 * bpfring.c - consumer side of the modern_ebpf source's BPF ring buffers,
 * plugged into the k-way merge of ring.c (struct fsrc_ring of kind
 * FSRC_RING_BPF)
 *
 * Kernel ring buffer protocol: consumer_pos (first page, ours to write)
 * and producer_pos (next page, read only) are free-running byte counters;
 * the data area follows the producer page, mapped twice back to back.
 * Each record starts with an 8-byte header: u32 length with the BUSY bit
 * (reserved, not yet committed) and the DISCARD bit, u32 page offset;
 * records are 8-byte aligned.  We load producer_pos and each header's
 * length with acquire semantics and store consumer_pos with release
 * semantics.  A record still BUSY stops that ring until the next batch.
 *
 * Our records (driver/uapi/fprobe_bpf.h) are a struct fbpf_rec_prefix
 * naming the CPU, then one event with the module's layout.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fprobe_abi.h"
#include "fprobe_bpf.h"
#include "fsrc.h"

#define RB_BUSY_BIT (1U << 31)
#define RB_DISCARD_BIT (1U << 30)
#define RB_HDR_SIZE 8

static inline uint64_t rb_record_size(uint32_t len)
{
	return ((uint64_t)len + RB_HDR_SIZE + 7) & ~7ULL;
}

/* producer_pos now; returns the bytes pending between cursor and it */
uint64_t fsrc_bpf_snapshot(struct fsrc_ring *r)
{
	r->end = __atomic_load_n((const uint64_t *)r->prod, __ATOMIC_ACQUIRE);
	if (r->end - r->cursor > r->size) {
		/* producer moved backwards or beyond the buffer: resync */
		r->corrupt++;
		r->cursor = r->end;
	}
	return r->end - r->cursor;
}

/*
 * The next complete event of @r (its first byte), with its length in
 * *@avail, or NULL when the ring holds none committed.  Discarded and
 * malformed records are stepped over (the latter counted as corrupt).
 */
const uint8_t *fsrc_bpf_head(struct fsrc_ring *r, uint64_t *avail)
{
	while (r->end - r->cursor >= RB_HDR_SIZE) {
		const uint8_t *hdr = r->data + (r->cursor & (r->size - 1));
		uint32_t len = __atomic_load_n((const uint32_t *)hdr,
					       __ATOMIC_ACQUIRE);
		uint32_t rec = len & ~(RB_BUSY_BIT | RB_DISCARD_BIT);
		uint64_t total = rb_record_size(rec);
		uint32_t evlen;

		if (len & RB_BUSY_BIT)
			return NULL;
		if (total > r->end - r->cursor) {
			r->corrupt++;
			r->cursor = r->end;
			return NULL;
		}
		if (len & RB_DISCARD_BIT) {
			r->cursor += total;
			continue;
		}
		if (rec < FBPF_PREFIX_SIZE + FPROBE_EVT_HDR_SIZE) {
			r->corrupt++;
			r->cursor += total;
			continue;
		}
		memcpy(&evlen, hdr + RB_HDR_SIZE + FBPF_PREFIX_SIZE + 16,
		       sizeof(evlen));
		if (evlen != rec - FBPF_PREFIX_SIZE) {
			r->corrupt++;
			r->cursor += total;
			continue;
		}
		*avail = evlen;
		return hdr + RB_HDR_SIZE + FBPF_PREFIX_SIZE;
	}
	return NULL;
}

/* CPU that recorded the event at @evt (from its record prefix). */
uint16_t fsrc_bpf_cpu(const uint8_t *evt)
{
	struct fbpf_rec_prefix pre;

	memcpy(&pre, evt - FBPF_PREFIX_SIZE, sizeof(pre));
	return pre.cpu;
}

/*
 * Step over the event at @evt (returned by fsrc_bpf_head, @len bytes),
 * counting it per CPU as delivered or skipped.
 */
void fsrc_bpf_consume(struct fsrc_ring *r, const uint8_t *evt, uint32_t len,
		      int delivered)
{
	uint16_t cpu = fsrc_bpf_cpu(evt);

	if (r->percpu && cpu < r->npercpu)
		r->percpu[2 * cpu + (delivered ? 0 : 1)]++;
	r->cursor += rb_record_size(len + FBPF_PREFIX_SIZE);
}

void fsrc_bpf_release(struct fsrc_ring *r)
{
	__atomic_store_n((uint64_t *)r->info, r->cursor, __ATOMIC_RELEASE);
}

void fsrc_bpf_ring_attach(struct fsrc_ring *r, void *cons, void *prod,
			  const uint8_t *data, uint64_t size, int cpu,
			  uint64_t *percpu, uint32_t npercpu)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->kind = FSRC_RING_BPF;
	r->info = cons;
	r->prod = prod;
	r->data = data;
	r->size = size;
	r->cpu = cpu;
	r->percpu = percpu;
	r->npercpu = npercpu;
	r->cursor = __atomic_load_n((const uint64_t *)cons, __ATOMIC_RELAXED);
	r->end = r->cursor;
}

/*
 * Fake BPF ring buffer (userspace tests): a file laid out as the kernel's
 * mapping, consumer page, producer page, data; the data area is mapped
 * twice back to back after the producer page.
 */
int fsrc_bpf_fake_map(int fd, uint64_t size, void **cons, void **prod)
{
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *base;
	void *c, *p, *d;

	if (size == 0 || (size & (size - 1)) || size % page)
		return -EINVAL;
	c = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (c == MAP_FAILED)
		return -errno;
	base = mmap(NULL, page + 2 * size, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		goto err_unmap_cons;
	p = mmap(base, page + size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, page);
	d = mmap(base + page + size, size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, 2 * page);
	if (p == MAP_FAILED || d == MAP_FAILED) {
		munmap(base, page + 2 * size);
		goto err_unmap_cons;
	}
	*cons = c;
	*prod = base;
	return 0;

err_unmap_cons:
	munmap(c, page);
	return -ENOMEM;
}

void fsrc_bpf_fake_unmap(void *cons, void *prod, uint64_t size)
{
	long page = sysconf(_SC_PAGESIZE);

	if (prod)
		munmap(prod, page + 2 * size);
	if (cons)
		munmap(cons, page);
}

/*
 * The kernel's producer side: reserve @len bytes (header with BUSY set),
 * copy @rec, then commit (FSRC_BPF_FAKE_BUSY: leave it reserved; _DISCARD:
 * commit it discarded).  Returns the record's position or -ENOSPC.
 */
int64_t fsrc_bpf_fake_write(void *cons, void *prod, uint64_t size,
			    const uint8_t *rec, uint32_t len, int flags)
{
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *data = (uint8_t *)prod + page;
	uint64_t head = *(volatile uint64_t *)prod;
	uint64_t tail = __atomic_load_n((uint64_t *)cons, __ATOMIC_ACQUIRE);
	uint64_t total = rb_record_size(len);
	uint8_t *hdr;
	uint32_t word;

	if (total > size - (head - tail))
		return -ENOSPC;
	hdr = data + (head & (size - 1));
	word = len | RB_BUSY_BIT;
	memcpy(hdr + 4, &(uint32_t){ 0 }, 4);
	__atomic_store_n((uint32_t *)hdr, word, __ATOMIC_RELAXED);
	__atomic_store_n((uint64_t *)prod, head + total, __ATOMIC_RELEASE);
	memcpy(hdr + RB_HDR_SIZE, rec, len);
	if (!(flags & FSRC_BPF_FAKE_BUSY))
		__atomic_store_n((uint32_t *)hdr,
				 len | ((flags & FSRC_BPF_FAKE_DISCARD) ?
					RB_DISCARD_BIT : 0), __ATOMIC_RELEASE);
	return (int64_t)head;
}

/* Commit a record left reserved by fsrc_bpf_fake_write(). */
void fsrc_bpf_fake_commit(void *prod, uint64_t size, uint64_t pos)
{
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *hdr = (uint8_t *)prod + page + (pos & (size - 1));
	uint32_t word = __atomic_load_n((uint32_t *)hdr, __ATOMIC_RELAXED);

	__atomic_store_n((uint32_t *)hdr, word & ~RB_BUSY_BIT, __ATOMIC_RELEASE);
}
