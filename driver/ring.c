// SPDX-License-Identifier: GPL-2.0
/*
 * ring.c - per-CPU ring buffers: allocation, reserve and commit
 *
 * The data area is an array of pages mapped twice back to back, in the
 * kernel (vmap) and in userspace (mmap fault handler, dev.c), so an event
 * written at any offset is contiguous for both the producer and the reader.
 * Positions are free-running u64 byte counters masked with the size.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/timekeeping.h>

#include "fprobe.h"

static void fprobe_free_pages(struct page **pages, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++)
		__free_page(pages[i]);
}

/**
 * fprobe_session_alloc() - allocate the ring and controls of one device
 * @cpu: CPU the ring belongs to
 * @size: data area size, a validated power of two multiple of PAGE_SIZE
 *
 * Everything starts disabled: empty syscall mask, no tracepoint.
 * Context: process context, may sleep.
 * Return: the session, or NULL when memory is short.
 */
struct fprobe_session *fprobe_session_alloc(unsigned int cpu, u64 size)
{
	struct fprobe_session *s;
	struct page **map;
	struct page *info_page;
	unsigned long i;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return NULL;
	s->cpu = cpu;
	s->size = size;
	s->npages = size >> PAGE_SHIFT;
	s->snaplen = FPROBE_SNAPLEN_DEFAULT;
	atomic_set(&s->preempt, 0);

	s->scratch = kmalloc(FPROBE_STR_STORAGE, GFP_KERNEL);
	if (!s->scratch)
		goto err_free_session;
	s->pf_scratch = kmalloc(FPROBE_PF_SCRATCH, GFP_KERNEL);
	if (!s->pf_scratch)
		goto err_free_scratch;

	info_page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!info_page)
		goto err_free_pf_scratch;
	s->info = page_address(info_page);
	s->info->buffer_size = size;

	s->pages = kvcalloc(s->npages, sizeof(*s->pages), GFP_KERNEL);
	if (!s->pages)
		goto err_free_info;
	for (i = 0; i < s->npages; i++) {
		s->pages[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!s->pages[i])
			goto err_free_data_pages;
	}

	map = kvcalloc(2 * s->npages, sizeof(*map), GFP_KERNEL);
	if (!map)
		goto err_free_data_pages;
	for (i = 0; i < 2 * s->npages; i++)
		map[i] = s->pages[i % s->npages];
	s->data = vmap(map, 2 * s->npages, VM_MAP, PAGE_KERNEL);
	kvfree(map);
	if (!s->data)
		goto err_free_data_pages;
	return s;

err_free_data_pages:
	fprobe_free_pages(s->pages, i);
	kvfree(s->pages);
err_free_info:
	free_page((unsigned long)s->info);
err_free_pf_scratch:
	kfree(s->pf_scratch);
err_free_scratch:
	kfree(s->scratch);
err_free_session:
	kfree(s);
	return NULL;
}

/**
 * fprobe_pf_free() - free the prefilter program of a session no probe sees
 * @s: the session
 */
void fprobe_pf_free(struct fprobe_session *s)
{
	struct fprobe_pf *pf = rcu_dereference_protected(s->pf, true);

	RCU_INIT_POINTER(s->pf, NULL);
	kvfree(pf);
}

/**
 * fprobe_session_free() - free a session allocated by fprobe_session_alloc()
 * @s: the session; no probe may still see it (callers wait for
 *     tracepoint_synchronize_unregister() after unpublishing it)
 */
void fprobe_session_free(struct fprobe_session *s)
{
	fprobe_pf_free(s);
	vunmap(s->data);
	fprobe_free_pages(s->pages, s->npages);
	kvfree(s->pages);
	free_page((unsigned long)s->info);
	kfree(s->pf_scratch);
	kfree(s->scratch);
	kfree(s);
}

/**
 * fprobe_session_page() - page backing a userspace mapping offset
 * @s: the session
 * @pgoff: page offset inside the mirrored data mapping (0..2*npages-1)
 *
 * Return: the data page, or NULL if @pgoff is out of range.
 */
struct page *fprobe_session_page(struct fprobe_session *s, unsigned long pgoff)
{
	if (pgoff >= 2 * s->npages)
		return NULL;
	return s->pages[pgoff % s->npages];
}

static inline void fprobe_count(u64 *counter)
{
	WRITE_ONCE(*counter, READ_ONCE(*counter) + 1);
}

/**
 * fprobe_rec_begin() - reserve room for an event at the head of a ring
 * @r: record to initialise (syscall context fields already set)
 * @s: the session on this CPU
 * @type: PPME_* code
 *
 * Counts the event in n_evts.  Context: probe, preemption disabled, the
 * caller holds the session's re-entrancy gate.
 * Return: true if the filler may run, false if the event is already lost
 * (r->fail says why; fprobe_rec_end() still has to be called).
 */
bool fprobe_rec_begin(struct fprobe_rec *r, struct fprobe_session *s, u16 type)
{
	struct fprobe_ring_info *info = s->info;
	u64 tail, used, room;

	fprobe_count(&info->n_evts);
	r->s = s;
	r->type = type;
	r->nparams = fprobe_event_table[type].nparams;
	r->cur = 0;
	r->fail = FPROBE_OK;
	r->aside = false;

	/* Pairs with the reader's release store of tail. */
	tail = smp_load_acquire(&info->tail);
	used = s->head - tail;
	room = used > s->size ? 0 : s->size - used;
	if (room < FPROBE_EVT_HDR_SIZE + 2 * (u64)r->nparams) {
		r->fail = FPROBE_FAIL_FULL;
		return false;
	}
	r->room = room > U32_MAX ? U32_MAX : (u32)room;
	r->base = s->data + (s->head & (s->size - 1));
	r->pos = FPROBE_EVT_HDR_SIZE + 2 * r->nparams;
	return true;
}

/**
 * fprobe_rec_aside() - fill a record in the session's pf_scratch instead
 * @r: record started with fprobe_rec_begin() that found the ring full
 *
 * The event is filled again from its first parameter, aside, only so the
 * prefilter can judge it: it is then filtered or counted as a drop.
 */
void fprobe_rec_aside(struct fprobe_rec *r)
{
	r->aside = true;
	r->fail = FPROBE_OK;
	r->base = r->s->pf_scratch;
	r->room = FPROBE_PF_SCRATCH;
	r->cur = 0;
	r->pos = FPROBE_EVT_HDR_SIZE + 2 * r->nparams;
	if (r->pos > r->room)
		r->fail = FPROBE_FAIL_FULL;
}

/* Write the parameters the filler did not push as empty ones. */
static void fprobe_rec_pad(struct fprobe_rec *r)
{
	u16 zero = 0;

	while (r->cur < r->nparams) {
		memcpy(r->base + FPROBE_EVT_HDR_SIZE + 2 * r->cur, &zero, 2);
		r->cur++;
	}
}

/**
 * fprobe_rec_filter() - run the prefilter program on a filled record
 * @r: a record whose filler succeeded
 * @pf: the session's program (probe context, RCU-sched read side)
 *
 * A dropped event becomes FPROBE_FILTERED; one filled aside that the
 * program lets through was lost to the full ring: FPROBE_FAIL_FULL.
 */
void fprobe_rec_filter(struct fprobe_rec *r, const struct fprobe_pf *pf)
{
	struct fprobe_pf_event ev;
	char comm[TASK_COMM_LEN];
	u32 lens = 2 * r->nparams;

	fprobe_rec_pad(r);
	if (fprobe_pf_entry_is(pf->prog, r->type, FPROBE_PF_PASS))
		goto pass;
	memcpy(comm, r->task->comm, sizeof(comm));
	comm[sizeof(comm) - 1] = '\0';
	ev.lens = (const u8 *)r->base + FPROBE_EVT_HDR_SIZE;
	ev.data = ev.lens + lens;
	ev.nparams = r->nparams;
	ev.lensize = 2;
	ev.datalen = r->pos - FPROBE_EVT_HDR_SIZE - lens;
	ev.type = r->type;
	ev.comm = comm;
	/* fd tables of other tasks (a fork's child) are not looked into */
	ev.fdtype = r->task == current ? fprobe_fd_type : NULL;
	ev.fdtype_ctx = NULL;
	ev.source = FPROBE_PF_SOURCE_MODULE;
	if (fprobe_pf_eval(pf->prog, &ev) == FPROBE_PF_DROP) {
		r->fail = FPROBE_FILTERED;
		return;
	}
pass:
	if (r->aside)
		r->fail = FPROBE_FAIL_FULL;
}

/**
 * fprobe_rec_end() - publish an event or account for its loss
 * @r: record started with fprobe_rec_begin()
 *
 * Parameters the filler did not push are written empty.  The event bytes
 * are made visible before head with a release store.
 */
void fprobe_rec_end(struct fprobe_rec *r)
{
	struct fprobe_session *s = r->s;
	struct fprobe_evt_hdr hdr;

	switch (r->fail) {
	case FPROBE_OK:
		break;
	case FPROBE_FAIL_FULL:
		fprobe_count(&s->info->n_drops_buffer);
		return;
	case FPROBE_FAIL_PF:
		fprobe_count(&s->info->n_drops_pf);
		return;
	case FPROBE_SKIP:
		/* Decided not to record after all: not an event. */
		WRITE_ONCE(s->info->n_evts, READ_ONCE(s->info->n_evts) - 1);
		return;
	case FPROBE_FILTERED:
		fprobe_count(&s->info->n_filtered);
		return;
	}
	fprobe_rec_pad(r);
	hdr.ts = ktime_get_real_ns();
	hdr.tid = r->task->pid;
	hdr.len = r->pos;
	hdr.type = r->type;
	hdr.nparams = r->nparams;
	memcpy(r->base, &hdr, sizeof(hdr));
	s->head += r->pos;
	/* Pairs with the reader's acquire load of head. */
	smp_store_release(&s->info->head, s->head);
}
