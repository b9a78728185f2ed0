// SPDX-License-Identifier: Apache-2.0
/*
 * scan.c - walk the event blocks of a .scap capture held in memory
 *
 * A block is {u32 type, u32 total_length, body, u32 total_length}.  Event
 * block bodies are u16 cpu, (EVF only) u32 flags, then the event: a v1
 * header (22 bytes, no nparams) in EV/EVF blocks, a v2 header (26 bytes)
 * in the _V2 forms.  Other blocks are left to Python.
 *
 * Events are filtered here the way the live module filters them: by code
 * (the wanted bitmap), then by the prefilter program (prefilter.c), whose
 * task-name tests read the names comms.c keeps in step with the events
 * delivered.
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

#define PR_SET_NAME 15

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

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* One event block, parsed. */
struct blk {
	uint32_t btl;		/* block length */
	uint32_t evoff;		/* event offset in the block */
	uint32_t hdrlen;
	uint32_t elen;
	uint16_t type;
	uint16_t cpu;
	int large;
	const uint8_t *e;
};

#define BLK_OK 0

/* Parse the block at @p; FSRC_SCAN_* on anything but a whole event block. */
static int parse_block(const uint8_t *buf, uint64_t len, uint64_t p,
		       struct blk *b)
{
	uint32_t bt, body_len;
	int v2, evf;

	if (len - p < 8)
		return FSRC_SCAN_MORE;
	bt = rd32(buf + p);
	b->btl = rd32(buf + p + 4);
	v2 = bt == BT_EV_V2 || bt == BT_EVF_V2 ||
	     bt == BT_EV_V2_LARGE || bt == BT_EVF_V2_LARGE;
	evf = bt == BT_EVF || bt == BT_EVF_V2 || bt == BT_EVF_V2_LARGE;
	b->large = bt == BT_EV_V2_LARGE || bt == BT_EVF_V2_LARGE;
	if (!v2 && !evf && bt != BT_EV && bt != BT_EV_INT)
		return FSRC_SCAN_OTHER;
	if (b->btl < 12)
		return FSRC_SCAN_CORRUPT;
	if (len - p < b->btl)
		return FSRC_SCAN_MORE;
	if (rd32(buf + p + b->btl - 4) != b->btl)
		return FSRC_SCAN_CORRUPT;
	body_len = b->btl - 12;
	b->evoff = 2 + (evf ? 4 : 0);
	b->hdrlen = v2 ? HDR_V2 : HDR_V1;
	if (body_len < b->evoff + b->hdrlen)
		return FSRC_SCAN_CORRUPT;
	b->e = buf + p + 8 + b->evoff;
	b->elen = rd32(b->e + 16);
	b->type = rd16(b->e + 20);
	b->cpu = rd16(buf + p + 8);
	if (b->elen < b->hdrlen || b->elen > body_len - b->evoff)
		return FSRC_SCAN_CORRUPT;
	return BLK_OK;
}

/*
 * fsrc_event_view - describe one event for fprobe_pf_eval()
 * @evt, @len: the event, header included
 * @hdrlen: 26 or 22
 * @nparams: the header's count (v2); ignored for v1 events
 * @comm: the thread's name or NULL
 *
 * Returns 0, or -1 when the parameter lengths do not fit in the event.
 */
int fsrc_event_view(const uint8_t *evt, uint32_t len, uint32_t hdrlen,
		    uint32_t nparams, const char *comm,
		    struct fprobe_pf_event *out)
{
	uint16_t type = rd16(evt + 20);
	uint64_t lens;
	int n;

	if (type >= PPM_EVENT_MAX || len < hdrlen)
		return -1;
	if (hdrlen == HDR_V1) {
		n = fsrc_v1_nparams(evt, len);
		if (n < 0)
			return -1;
		nparams = (uint32_t)n;
	}
	out->lensize = fprobe_event_table[type].flags & EF_LARGE_PAYLOAD ?
		4 : 2;
	lens = (uint64_t)nparams * out->lensize;
	if (nparams > PPM_MAX_EVENT_PARAMS || hdrlen + lens > len)
		return -1;
	out->lens = evt + hdrlen;
	out->data = evt + hdrlen + lens;
	out->nparams = nparams;
	out->datalen = (uint32_t)(len - hdrlen - lens);
	out->type = type;
	out->comm = comm;
	out->fdtype = NULL;	/* a capture does not say what an fd was */
	out->fdtype_ctx = NULL;
	out->source = FPROBE_PF_SOURCE_CAPTURE;
	return 0;
}

/* How an event changes the state's name of its thread (parse_proc.py). */
enum comm_action {
	CA_NONE = 0,
	CA_CLONE,
	CA_EXEC,
	CA_PRCTL,
	CA_EXIT,
};

struct comm_plan {
	uint8_t action;
	int8_t res;		/* parameter indexes, -1 if absent */
	int8_t comm;
	int8_t option;
	int8_t arg2;
};

static struct comm_plan comm_plans[PPM_EVENT_MAX];
static int comm_plans_ready;

static int param_index(const struct fprobe_event_info *info, const char *name)
{
	uint32_t i;

	for (i = 0; i < info->nparams && i < PPM_MAX_EVENT_PARAMS; i++)
		if (!strcmp(info->params[i].name, name))
			return (int)i;
	return -1;
}

static void comm_plans_init(void)
{
	static const char *const clones[] = { "clone", "fork", "vfork",
					       "clone3" };
	uint32_t code, i;

	for (code = 0; code < PPM_EVENT_MAX; code++) {
		const struct fprobe_event_info *info = &fprobe_event_table[code];
		struct comm_plan *cp = &comm_plans[code];

		cp->res = (int8_t)param_index(info, "res");
		cp->comm = (int8_t)param_index(info, "comm");
		cp->option = (int8_t)param_index(info, "option");
		cp->arg2 = (int8_t)param_index(info, "arg2_str");
		if (!PPME_IS_EXIT(code)) {
			if (!strcmp(info->name, "procexit"))
				cp->action = CA_EXIT;
			continue;
		}
		for (i = 0; i < sizeof(clones) / sizeof(clones[0]); i++)
			if (!strcmp(info->name, clones[i]))
				cp->action = CA_CLONE;
		if (!strcmp(info->name, "execve") ||
		    !strcmp(info->name, "execveat"))
			cp->action = CA_EXEC;
		if (!strcmp(info->name, "prctl"))
			cp->action = CA_PRCTL;
	}
	comm_plans_ready = 1;
}

/* Raw bytes of parameter @idx; -1 if the event does not carry it. */
static int param_raw(const struct fprobe_pf_event *ev, int idx,
		     const uint8_t **p, uint32_t *len)
{
	uint64_t off = 0;
	uint32_t i, l = 0;

	if (idx < 0 || (uint32_t)idx >= ev->nparams)
		return -1;
	for (i = 0; i <= (uint32_t)idx; i++) {
		l = ev->lensize == 4 ? rd32(ev->lens + 4 * i) :
			rd16(ev->lens + 2 * i);
		if (i < (uint32_t)idx)
			off += l;
	}
	if (off + l > ev->datalen)
		return -1;
	*p = ev->data + off;
	*len = l;
	return 0;
}

/* A string parameter (its trailing NUL dropped); -1 if absent. */
static int param_bytes(const struct fprobe_pf_event *ev, int idx,
		       const uint8_t **p, uint32_t *len)
{
	if (param_raw(ev, idx, p, len))
		return -1;
	if (*len && (*p)[*len - 1] == '\0')
		(*len)--;
	return 0;
}

/* A signed integer parameter (any width up to 8); -1 if absent/empty. */
static int param_int(const struct fprobe_pf_event *ev, int idx, int64_t *v)
{
	const uint8_t *p;
	uint32_t len, i;
	uint64_t u = 0;

	if (param_raw(ev, idx, &p, &len) || len == 0 || len > 8)
		return -1;
	for (i = len; i--; )
		u = (u << 8) | p[i];
	if (len < 8 && (u >> (8 * len - 1)) & 1)
		u |= ~0ULL << (8 * len);
	*v = (int64_t)u;
	return 0;
}

/*
 * The name the state gives thread @tid once event @ev took effect, into
 * @buf; *known is 0 when the state's name cannot be told.  @commit
 * records it (for events actually delivered).
 */
static const char *comm_after(struct fsrc_comms *c, uint64_t tid,
			      const struct fprobe_pf_event *ev, int commit,
			      char *buf)
{
	const struct comm_plan *cp = &comm_plans[ev->type];
	const char *cur = fsrc_comms_get(c, tid);
	const uint8_t *p;
	uint32_t len;
	int64_t res, opt;

	switch (cp->action) {
	case CA_CLONE:
		if (param_int(ev, cp->res, &res) || res < 0)
			break;
		if (res > 0) {
			/* caller side: the child gets the parent's name */
			if (commit) {
				const char *child = fsrc_comms_get(c, res);

				if (!cur || (child && strcmp(child, cur)))
					fsrc_comms_set(c, res, NULL, 0);
				else if (!child)
					fsrc_comms_set(c, res, cur,
						       strlen(cur));
			}
			break;
		}
		if (param_bytes(ev, cp->comm, &p, &len) || !len) {
			if (commit)
				fsrc_comms_set(c, tid, NULL, 0);
			return NULL;
		}
		goto set;
	case CA_EXEC:
		if (param_int(ev, cp->res, &res) || res < 0)
			break;
		if (param_bytes(ev, cp->comm, &p, &len) || !len)
			break;
		goto set;
	case CA_PRCTL:
		if (param_int(ev, cp->res, &res) || res < 0 ||
		    param_int(ev, cp->option, &opt) || opt != PR_SET_NAME)
			break;
		if (param_bytes(ev, cp->arg2, &p, &len) || !len)
			break;
		/* the state keeps 15 characters: bytes only when ASCII */
		{
			uint32_t i;

			for (i = 0; i < len && i < FSRC_COMM_LEN; i++)
				if (p[i] & 0x80 || !p[i]) {
					if (commit)
						fsrc_comms_set(c, tid, NULL, 0);
					return NULL;
				}
			if (len > FSRC_COMM_LEN - 1)
				len = FSRC_COMM_LEN - 1;
		}
		goto set;
	case CA_EXIT:
		if (commit)
			fsrc_comms_set(c, tid, NULL, 0);
		break;
	}
	return cur;
set:
	if (len >= FSRC_COMM_LEN || memchr(p, 0, len)) {
		if (commit)
			fsrc_comms_set(c, tid, NULL, 0);
		return NULL;
	}
	memcpy(buf, p, len);
	buf[len] = '\0';
	if (commit)
		fsrc_comms_set(c, tid, buf, len);
	return buf;
}

/* The program's verdict on the event of block @b. */
static int verdict(struct fsrc_scan_filter *f, const struct blk *b,
		   uint64_t tid, int commit)
{
	struct fprobe_pf_event ev;
	char name[FSRC_COMM_LEN];
	const char *comm = NULL;
	int v = FPROBE_PF_PASS;

	if (fsrc_event_view(b->e, b->elen, b->hdrlen,
			    b->hdrlen == HDR_V2 ? rd32(b->e + 22) : 0, NULL,
			    &ev))
		return FPROBE_PF_PASS;
	if (f->comms)
		comm = comm_after(f->comms, tid, &ev, 0, name);
	ev.comm = comm;
	if (f->prog)
		v = fprobe_pf_eval(f->prog, &ev);
	if (v == FPROBE_PF_PASS && commit && f->comms)
		comm_after(f->comms, tid, &ev, 1, name);
	return v;
}

/*
 * Whether a dropped enter event of @tid at @p must still be delivered for
 * its exit: 1 yes, 0 no, -1 the buffer ends first (need more bytes).
 */
static int enter_needed(struct fsrc_scan_filter *f, const uint8_t *buf,
			uint64_t len, uint64_t p, uint64_t tid, uint16_t type,
			int eof)
{
	struct blk b;
	uint32_t n;
	int rc;

	if (!fsrc_is_wanted(f->wanted, type | 1))
		return 0;
	for (n = 0; n < f->lookahead; n++) {
		rc = parse_block(buf, len, p, &b);
		if (rc == FSRC_SCAN_MORE)
			return eof ? 1 : -1;
		if (rc != BLK_OK)
			return 1;
		p += b.btl;
		if (rd64(b.e + 8) != tid)
			continue;
		if (b.type != (type | 1) || !fsrc_is_wanted(f->wanted, b.type))
			return 0;
		return verdict(f, &b, tid, 0) == FPROBE_PF_PASS;
	}
	return 1;
}

/*
 * fsrc_scan_filtered - collect the events of consecutive event blocks that
 * @f lets through
 * @buf, @len: capture bytes (decompressed)
 * @pos: in: offset of the next block; out: offset of the first block not
 *	consumed
 * @eof: no bytes follow @buf (an enter event's exit cannot come later)
 * @recs, @maxrecs, @nrecs: output records (offsets relative to @buf)
 * @f: the filter; its counters are incremented
 * @skipped, @seen: incremented for unwanted codes / all events
 *
 * Returns FSRC_SCAN_MORE, FSRC_SCAN_OTHER, FSRC_SCAN_FULL or
 * FSRC_SCAN_CORRUPT (then *pos is the offset of the bad block).
 */
int fsrc_scan_filtered(const uint8_t *buf, uint64_t len, uint64_t *pos,
		       int eof, struct fsrc_rec *recs, int maxrecs,
		       int *nrecs, struct fsrc_scan_filter *f,
		       uint64_t *skipped, uint64_t *seen)
{
	uint64_t p = *pos;
	uint64_t seen0 = *seen;
	int n = 0;
	int rc;

	if (!comm_plans_ready)
		comm_plans_init();
	for (;;) {
		struct blk b;
		uint64_t tid;

		rc = parse_block(buf, len, p, &b);
		if (rc != BLK_OK)
			break;
		tid = rd64(b.e + 8);
		if (!fsrc_is_wanted(f->wanted, b.type)) {
			(*seen)++;
			(*skipped)++;
			p += b.btl;
			continue;
		}
		if (n >= maxrecs) {
			rc = FSRC_SCAN_FULL;
			break;
		}
		if ((f->prog || f->comms) &&
		    verdict(f, &b, tid, 1) == FPROBE_PF_DROP) {
			int keep = 0;

			if (PPME_IS_ENTER(b.type) &&
			    fprobe_event_table[b.type].category & EC_SYSCALL) {
				keep = enter_needed(f, buf, len, p + b.btl,
						    tid, b.type, eof);
				if (keep < 0) {
					rc = FSRC_SCAN_MORE;
					break;
				}
			}
			if (!keep) {
				(*seen)++;
				f->filtered++;
				p += b.btl;
				continue;
			}
			f->enters_kept++;
		}
		(*seen)++;
		recs[n].ts = rd64(b.e);
		recs[n].tid = tid;
		recs[n].nparams = b.hdrlen == HDR_V2 ? rd32(b.e + 22) : 0;
		recs[n].off = (uint32_t)(p + 8 + b.evoff);
		recs[n].len = b.elen;
		recs[n].type = b.type;
		recs[n].cpu = b.cpu;
		recs[n].hdrlen = (uint16_t)b.hdrlen;
		recs[n].flags = b.large ? 1 : 0;
		recs[n].block_off = (uint32_t)p;
		recs[n].seq = (uint32_t)(*seen - seen0);
		n++;
		p += b.btl;
	}
	*pos = p;
	*nrecs = n;
	return rc;
}

/*
 * fsrc_scan_events - collect the wanted events of consecutive event blocks
 * (no prefilter program); see fsrc_scan_filtered()
 */
int fsrc_scan_events(const uint8_t *buf, uint64_t len, uint64_t *pos,
		     struct fsrc_rec *recs, int maxrecs, int *nrecs,
		     const uint8_t *wanted, uint64_t *skipped, uint64_t *seen)
{
	struct fsrc_scan_filter f;

	memset(&f, 0, sizeof(f));
	f.wanted = wanted;
	return fsrc_scan_filtered(buf, len, pos, 0, recs, maxrecs, nrecs, &f,
				  skipped, seen);
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
