// SPDX-License-Identifier: Apache-2.0
/*
 * comms.c - task names of a replayed capture, by thread id
 *
 * Open addressing with linear probing.  Entries are never removed, only
 * marked unknown; when three quarters of the slots are used the table is
 * rebuilt without the unknown ones (into the spare array, then copied
 * back), and a name that still does not fit is counted and left unknown,
 * which only makes the prefilter let more events through.
 */
#include <string.h>

#include "fsrc.h"

#define SLOT_EMPTY 0
#define SLOT_NAMED 1
#define SLOT_UNKNOWN 2

static uint32_t comm_hash(uint32_t tid)
{
	return (tid * 2654435761U) & (FSRC_COMM_SLOTS - 1);
}

void fsrc_comms_reset(struct fsrc_comms *c)
{
	memset(c->slots, 0, sizeof(c->slots));
	c->used = 0;
}

static struct fsrc_comm_slot *comm_find(struct fsrc_comm_slot *slots,
					uint32_t tid, int insert)
{
	uint32_t i = comm_hash(tid);
	uint32_t n;

	for (n = 0; n < FSRC_COMM_SLOTS; n++) {
		struct fsrc_comm_slot *s = &slots[i];

		if (s->state == SLOT_EMPTY)
			return insert ? s : NULL;
		if (s->tid == tid)
			return s;
		i = (i + 1) & (FSRC_COMM_SLOTS - 1);
	}
	return NULL;
}

static void comm_rebuild(struct fsrc_comms *c)
{
	uint32_t i;

	memset(c->spare, 0, sizeof(c->spare));
	c->used = 0;
	for (i = 0; i < FSRC_COMM_SLOTS; i++) {
		struct fsrc_comm_slot *s = &c->slots[i];
		struct fsrc_comm_slot *d;

		if (s->state != SLOT_NAMED)
			continue;
		d = comm_find(c->spare, s->tid, 1);
		*d = *s;
		c->used++;
	}
	memcpy(c->slots, c->spare, sizeof(c->slots));
}

/*
 * fsrc_comms_set - record thread @tid's name (@len bytes at @comm), or mark
 * it unknown when @comm is NULL, @len is 0 or the name is longer than a
 * task name can be (the state would keep it whole: no test can agree)
 */
void fsrc_comms_set(struct fsrc_comms *c, uint64_t tid, const char *comm,
		    uint32_t len)
{
	struct fsrc_comm_slot *s;
	int named = comm && len && len < FSRC_COMM_LEN &&
		    !memchr(comm, 0, len);

	if (tid > UINT32_MAX)
		return;		/* never stored, so always unknown */
	s = comm_find(c->slots, (uint32_t)tid, 0);
	if (!s) {
		if (!named)
			return;
		if (c->used >= FSRC_COMM_SLOTS / 4 * 3)
			comm_rebuild(c);
		if (c->used >= FSRC_COMM_SLOTS / 4 * 3) {
			c->overflows++;
			return;
		}
		s = comm_find(c->slots, (uint32_t)tid, 1);
		s->tid = (uint32_t)tid;
		c->used++;
	}
	if (!named) {
		s->state = SLOT_UNKNOWN;
		return;
	}
	memset(s->comm, 0, sizeof(s->comm));
	memcpy(s->comm, comm, len);
	s->state = SLOT_NAMED;
}

/* fsrc_comms_get - the name of @tid, NULL when unknown */
const char *fsrc_comms_get(const struct fsrc_comms *c, uint64_t tid)
{
	const struct fsrc_comm_slot *s;

	if (tid > UINT32_MAX)
		return NULL;
	s = comm_find((struct fsrc_comm_slot *)c->slots, (uint32_t)tid, 0);
	return s && s->state == SLOT_NAMED ? s->comm : NULL;
}
