// SPDX-License-Identifier: Apache-2.0
/*
 * scan.c - walk the event blocks of a .scap capture held in memory
 *
 * A block is {u32 type, u32 total_length, body, u32 total_length}.  Event
 * block bodies are u16 cpu, (EVF only) u32 flags, then the event: a v1
 * header (22 bytes, no nparams) in EV/EVF blocks, a v2 header (26 bytes)
 * in the _V2 forms.  Other blocks are left to Python.
 */
#include <string.h>

#include "fprobe_events.h"
#include "fsrc.h"

#define BT_EV 0x204
#define BT_EV_INT 0x8010ABCD
#define BT_EVF 0x208
#define BT_EV_V2 0x216
#define BT_EVF_V2 0x217
#define BT_EV_V2_LARGE 0x221
#define BT_EVF_V2_LARGE 0x222

#define HDR_V1 22
#define HDR_V2 26

static inline uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline int is_wanted(const uint8_t *wanted, uint16_t type)
{
	if (type >= PPM_EVENT_MAX)
		return 0;
	if (!wanted)
		return 1;
	return (wanted[type >> 3] >> (type & 7)) & 1;
}

/*
 * fsrc_scan_events - collect the wanted events of consecutive event blocks
 * @buf, @len: capture bytes (decompressed)
 * @pos: in: offset of the next block; out: offset of the first block not
 *	consumed
 * @recs, @maxrecs, @nrecs: output records (offsets relative to @buf)
 * @wanted: bitmap of event codes, NULL for all
 * @skipped, @seen: incremented for unwanted / all events
 *
 * Returns FSRC_SCAN_MORE, FSRC_SCAN_OTHER, FSRC_SCAN_FULL or
 * FSRC_SCAN_CORRUPT (then *pos is the offset of the bad block).
 */
int fsrc_scan_events(const uint8_t *buf, uint64_t len, uint64_t *pos,
		     struct fsrc_rec *recs, int maxrecs, int *nrecs,
		     const uint8_t *wanted, uint64_t *skipped, uint64_t *seen)
{
	uint64_t p = *pos;
	uint64_t seen0 = *seen;
	int n = 0;
	int rc;

	for (;;) {
		uint32_t bt, btl, body_len, evoff, hdrlen, elen;
		uint16_t type;
		int v2, evf, large;
		const uint8_t *e;

		if (len - p < 8) {
			rc = FSRC_SCAN_MORE;
			break;
		}
		bt = rd32(buf + p);
		btl = rd32(buf + p + 4);
		v2 = bt == BT_EV_V2 || bt == BT_EVF_V2 ||
		     bt == BT_EV_V2_LARGE || bt == BT_EVF_V2_LARGE;
		evf = bt == BT_EVF || bt == BT_EVF_V2 || bt == BT_EVF_V2_LARGE;
		large = bt == BT_EV_V2_LARGE || bt == BT_EVF_V2_LARGE;
		if (!v2 && !evf && bt != BT_EV && bt != BT_EV_INT) {
			rc = FSRC_SCAN_OTHER;
			break;
		}
		if (btl < 12) {
			rc = FSRC_SCAN_CORRUPT;
			break;
		}
		if (len - p < btl) {
			rc = FSRC_SCAN_MORE;
			break;
		}
		if (rd32(buf + p + btl - 4) != btl) {
			rc = FSRC_SCAN_CORRUPT;
			break;
		}
		body_len = btl - 12;
		evoff = 2 + (evf ? 4 : 0);
		hdrlen = v2 ? HDR_V2 : HDR_V1;
		if (body_len < evoff + hdrlen) {
			rc = FSRC_SCAN_CORRUPT;
			break;
		}
		e = buf + p + 8 + evoff;
		elen = rd32(e + 16);
		type = rd16(e + 20);
		if (elen < hdrlen || elen > body_len - evoff) {
			rc = FSRC_SCAN_CORRUPT;
			break;
		}
		(*seen)++;
		if (!is_wanted(wanted, type)) {
			(*skipped)++;
			p += btl;
			continue;
		}
		if (n >= maxrecs) {
			(*seen)--;
			rc = FSRC_SCAN_FULL;
			break;
		}
		memcpy(&recs[n].ts, e, sizeof(uint64_t));
		memcpy(&recs[n].tid, e + 8, sizeof(uint64_t));
		recs[n].nparams = v2 ? rd32(e + 22) : 0;
		recs[n].off = (uint32_t)(p + 8 + evoff);
		recs[n].len = elen;
		recs[n].type = type;
		recs[n].cpu = rd16(buf + p + 8);
		recs[n].hdrlen = (uint16_t)hdrlen;
		recs[n].flags = large ? 1 : 0;
		recs[n].block_off = (uint32_t)p;
		recs[n].seq = (uint32_t)(*seen - seen0);
		n++;
		p += btl;
	}
	*pos = p;
	*nrecs = n;
	return rc;
}

/*
 * fsrc_v1_nparams - number of parameters of a v1 (22-byte header) event
 *
 * Old event blocks do not store nparams: it is the count n, at most the
 * table's, for which header + n lengths + the sum of those lengths is the
 * event length.  Returns -1 when no count fits.
 */
int fsrc_v1_nparams(const uint8_t *evt, uint32_t len)
{
	uint16_t type = rd16(evt + 20);
	int n, i;

	if (type >= PPM_EVENT_MAX || len < HDR_V1)
		return -1;
	for (n = (int)fprobe_event_table[type].nparams; n >= 0; n--) {
		uint64_t total = HDR_V1 + 2ULL * (uint64_t)n;

		if (total > len)
			continue;
		for (i = 0; i < n; i++)
			total += rd16(evt + HDR_V1 + 2 * i);
		if (total == len)
			return n;
	}
	return -1;
}
