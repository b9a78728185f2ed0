/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fsrc.h - userspace event source helpers compiled into falco.driver._falco_ffi
 *
 * Two producers feed the same record format:
 *  - the per-CPU rings of falco_probe (or a fake ring with the same layout),
 *    merged by timestamp, header parsing and tail release done per batch;
 *  - capture files, whose event blocks are walked here.
 * In both cases events whose code is not set in the "wanted" bitmap are
 * skipped in C and never reach Python.
 */
#ifndef FSRC_H
#define FSRC_H

#include <stddef.h>
#include <stdint.h>

#include "fprobe_events.h"
#include "prefilter.h"

#define FSRC_MAX_RINGS 1024
#define FSRC_WAIT_US_START 500
#define FSRC_WAIT_US_MAX 30000
#define FSRC_WANTED_BYTES 64 /* >= PPM_EVENT_MAX / 8, rounded up */

/*
 * struct fsrc_rec - one event handed to Python
 * @ts, @tid, @type, @nparams: copied from the event header (nparams is 0
 *	for v1 capture events, whose header has no nparams field)
 * @off: offset of the event header in the batch / capture buffer
 * @len: total event length (header included)
 * @hdrlen: 26 (v2 header) or 22 (v1 header, old captures)
 * @cpu: ring index or capture cpu id
 * @block_off: offset of the capture block holding the event
 * @seq: 1-based position among all events the call looked at, skipped
 *	ones included (so event numbers match sysdig's evt.num)
 */
struct fsrc_rec {
	uint64_t ts;
	uint64_t tid;
	uint32_t off;
	uint32_t len;
	uint32_t nparams;
	uint16_t type;
	uint16_t cpu;
	uint16_t hdrlen;
	uint16_t flags;
	uint32_t block_off;
	uint32_t seq;
};

/*
 * struct fsrc_ring - consumer side of one ring
 * @info: the mapped info page (struct fprobe_ring_info)
 * @data: the data area mapped twice back to back
 * @size: bytes in one copy of the data area (a power of two)
 * @cursor: next byte to read (free-running, like head and tail)
 * @end: head snapshot of the current batch
 * @kind: FSRC_RING_KMOD (module or fake ring) or FSRC_RING_BPF (a BPF ring
 *	buffer of the modern_ebpf source, bpfring.c: @info is its consumer
 *	page, @prod its producer page, @percpu delivered/skipped counters
 *	per recording CPU, @npercpu CPUs)
 */
struct fsrc_ring {
	int fd;
	int cpu;
	void *info;
	const uint8_t *data;
	uint64_t size;
	uint64_t cursor;
	uint64_t end;
	uint64_t delivered;
	uint64_t skipped;
	uint64_t corrupt;
	void *map_info;
	void *map_data;
	size_t map_data_len;
	int kind;
	void *prod;
	uint64_t *percpu;
	uint32_t npercpu;
};

#define FSRC_RING_KMOD 0
#define FSRC_RING_BPF 1

struct fsrc_devset {
	int nrings;
	uint32_t wait_us;
	uint64_t sleeps;
	uint64_t batch_seen;	/* events consumed by the last batch */
	struct fsrc_ring rings[FSRC_MAX_RINGS];
};

/*
 * fsrc_is_wanted - whether event code @type is set in the @wanted bitmap
 * (NULL: every known code); the one test both readers use.
 */
static inline int fsrc_is_wanted(const uint8_t *wanted, uint16_t type)
{
	if (type >= PPM_EVENT_MAX)
		return 0;
	if (!wanted)
		return 1;
	return (wanted[type >> 3] >> (type & 7)) & 1;
}

/* Result codes of fsrc_next_batch (>= 0 is a number of records). */
#define FSRC_EMPTY 0

int fsrc_dev_open(struct fsrc_ring *r, const char *path, int cpu);
int fsrc_dev_map(struct fsrc_ring *r);
void fsrc_dev_close(struct fsrc_ring *r);
int fsrc_ioctl_get_u64(int fd, unsigned long req, uint64_t *out);
int fsrc_ioctl_set_u32(int fd, unsigned long req, uint32_t val);
int fsrc_ioctl_none(int fd, unsigned long req);
int fsrc_ioctl_stats(int fd, void *stats);
int fsrc_ioctl_prefilter(int fd, const void *prog, uint32_t size);

void fsrc_ring_attach(struct fsrc_ring *r, void *info, const uint8_t *data,
		      uint64_t size, int cpu);
int fsrc_next_batch(struct fsrc_devset *ds, uint8_t *out, uint32_t outcap,
		    struct fsrc_rec *recs, int maxrecs, const uint8_t *wanted,
		    int sleep_when_empty);
uint64_t fsrc_pending(const struct fsrc_devset *ds);

/* BPF ring buffers in the merge (bpfring.c). */
uint64_t fsrc_bpf_snapshot(struct fsrc_ring *r);
const uint8_t *fsrc_bpf_head(struct fsrc_ring *r, uint64_t *avail);
uint16_t fsrc_bpf_cpu(const uint8_t *evt);
void fsrc_bpf_consume(struct fsrc_ring *r, const uint8_t *evt, uint32_t len,
		      int delivered);
void fsrc_bpf_release(struct fsrc_ring *r);
void fsrc_bpf_ring_attach(struct fsrc_ring *r, void *cons, void *prod,
			  const uint8_t *data, uint64_t size, int cpu,
			  uint64_t *percpu, uint32_t npercpu);
/* Fake BPF ring buffer for userspace tests (bpfring.c). */
#define FSRC_BPF_FAKE_BUSY 1
#define FSRC_BPF_FAKE_DISCARD 2
int fsrc_bpf_fake_map(int fd, uint64_t size, void **cons, void **prod);
void fsrc_bpf_fake_unmap(void *cons, void *prod, uint64_t size);
int64_t fsrc_bpf_fake_write(void *cons, void *prod, uint64_t size,
			    const uint8_t *rec, uint32_t len, int flags);
void fsrc_bpf_fake_commit(void *prod, uint64_t size, uint64_t pos);

/* Fake ring: a file with the kernel's layout (info page, then data). */
int fsrc_fake_map(int fd, uint64_t size, int writable, void **info,
		  uint8_t **data);
void fsrc_fake_unmap(void *info, uint8_t *data, uint64_t size);
int fsrc_fake_write(void *info, uint8_t *data, const uint8_t *evts,
		    uint32_t len, uint32_t nevts);

/* Capture block walk: see scan.c. */
#define FSRC_SCAN_MORE 1	/* need more bytes for the next block */
#define FSRC_SCAN_OTHER 2	/* next block is not an event block */
#define FSRC_SCAN_FULL 3	/* record array full */
#define FSRC_SCAN_CORRUPT 4	/* corrupt block at *pos */

int fsrc_scan_events(const uint8_t *buf, uint64_t len, uint64_t *pos,
		     struct fsrc_rec *recs, int maxrecs, int *nrecs,
		     const uint8_t *wanted, uint64_t *skipped,
		     uint64_t *seen);
int fsrc_v1_nparams(const uint8_t *evt, uint32_t len);

/*
 * Task names of a replayed capture (comms.c): what the state knows of each
 * thread's name, kept in step with the events the scanner delivers, so a
 * prefilter program's name tests mean the same as on the live kernel.  A
 * thread without an entry (or marked unknown) has no name: tests on it
 * cannot be evaluated and let the event pass.
 */
#define FSRC_COMM_LEN 16
#define FSRC_COMM_SLOTS 65536	/* a power of two */

struct fsrc_comm_slot {
	uint32_t tid;
	uint8_t state;		/* 0 empty, 1 named, 2 unknown */
	char comm[FSRC_COMM_LEN];
};

struct fsrc_comms {
	uint32_t used;		/* slots not empty */
	uint64_t overflows;	/* names not kept: table full */
	struct fsrc_comm_slot slots[FSRC_COMM_SLOTS];
	struct fsrc_comm_slot spare[FSRC_COMM_SLOTS];
};

void fsrc_comms_reset(struct fsrc_comms *c);
void fsrc_comms_set(struct fsrc_comms *c, uint64_t tid, const char *comm,
		    uint32_t len);
const char *fsrc_comms_get(const struct fsrc_comms *c, uint64_t tid);

/*
 * What the capture scanner lets through: event codes in @wanted, then the
 * prefilter program @prog (NULL: none), with task names from @comms (NULL:
 * names unknown).  An enter event the program drops is still delivered
 * when its exit (the same thread's next event, looked for at most
 * @lookahead events ahead) is: old captures complete exit events with the
 * parameters of their enter event.
 */
struct fsrc_scan_filter {
	const uint8_t *wanted;
	const void *prog;
	struct fsrc_comms *comms;
	uint32_t lookahead;
	uint64_t filtered;	/* events the program dropped */
	uint64_t enters_kept;	/* dropped enter events kept for their exit */
};

int fsrc_scan_filtered(const uint8_t *buf, uint64_t len, uint64_t *pos,
		       int eof, struct fsrc_rec *recs, int maxrecs,
		       int *nrecs, struct fsrc_scan_filter *f,
		       uint64_t *skipped, uint64_t *seen);
int fsrc_event_view(const uint8_t *evt, uint32_t len, uint32_t hdrlen,
		    uint32_t nparams, const char *comm,
		    struct fprobe_pf_event *out);

#endif /* FSRC_H */
