/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Workers: pop an event, scan it until its deadline, answer (if the keeper
 * did not first), then release it. A worker stuck in a FUSE read or close
 * is abandoned by the keeper and replaced; when it comes back it rejoins
 * the pool, or leaves if the pool is full.
 *
 * Runs on the permission path: never logs synchronously, never opens paths. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <openssl/crypto.h>
#include "answer-internal.h"
#include "cache-internal.h"
#include "domain-state-internal.h"
#include "emask-internal.h"
#include "fg-internal.h"
#include "flight-internal.h"
#include "macro.h"
#include "pool-internal.h"
#include "quarantine-internal.h"
#include "scan-internal.h"
#include "subject-internal.h"

#define SCAN_BUF_SIZE (256 * 1024)

/* Called with d->lock held, after w came back from I/O: true if it leaves. */
static bool worker_back_locked(struct domain *d, struct worker *w, bool *counted)
{
	if (!w->abandoned)
		return false;
	/* Back from a read or close that outlived its welcome. */
	w->abandoned = false;
	d->n_stuck_workers--;
	if (!d->stopping && d->n_active_workers < d->n_workers) {
		d->n_active_workers++;
		return false;
	}
	*counted = false;
	return true;
}

static void *worker_main(void *userdata)
{
	struct worker *w = userdata;
	struct domain *d = w->d;
	struct fanguard *fg = d->fg;
	_cleanup_free_ uint8_t *buf = malloc(SCAN_BUF_SIZE);
	bool counted = true; /* in d->n_active_workers */
	bool fs_ids = false;

	for (;;) {
		struct scan_result res;
		struct subject subj;
		struct fg_event *ev;
		bool leave, quar, joined;
		uint64_t gen;

		slot_set(&w->slot, WHERE_IDLE);
		if (queue_pop(&d->queue, &ev) < 0)
			break;
		domain_take_fs_ids(d, &fs_ids);
		slot_set(&w->slot, WHERE_BUSY);
		joined = false;
		pthread_mutex_lock(&d->lock);
		/* A read of a file whose scan runs now waits for that scan
		 * (flight.c): its holder is that scan's worker from here on. */
		if (atomic_load(&ev->state) == EVENT_PENDING &&
		    !(joined = flight_join_or_lead_locked(d, w, ev)))
			ev->worker = w;
		pthread_mutex_unlock(&d->lock);
		if (joined)
			continue;

		if (ev->worker) {
			gen = cache_gen(fg); /* before the scan looks at the denylist */
			slot_set(&w->slot, WHERE_READ);
			if (buf)
				scan_event(d, ev, buf, SCAN_BUF_SIZE, false, &res);
			else
				res = (struct scan_result){.verdict = domain_fallback(d, ev->mask),
							   .reason = FANGUARD_REASON_ERROR,
							   .detail = "out of memory"};
			slot_set(&w->slot, WHERE_BUSY);
			pthread_mutex_lock(&d->lock);
			ev->worker = NULL;
			leave = worker_back_locked(d, w, &counted);
			pthread_mutex_unlock(&d->lock);

			/* Access-mask FUSE groups: an ignore mark for the next
			 * reads of this open session before the answer, so
			 * the reader's next read() finds it (dedup.c). */
			if (res.verdict == FANGUARD_ALLOW &&
			    res.reason == FANGUARD_REASON_SCANNED && !res.no_cache &&
			    d->cls != FANGUARD_MOUNT_LOCAL)
				dedup_note_clean(d, ev, gen);
			quar = quarantine_wanted(fg, &res);
			if (quar) /* who opened it, before a denied opener exits */
				quarantine_subject(ev, &subj);
			/* After the answer (the opener never waits on either),
			 * while ev->fd still names the file; nothing if the
			 * keeper answered first. */
			if (event_answer_subject(d, ev, res.verdict, res.reason, &res,
						 quar ? &subj : NULL)) {
				if (res.verdict == FANGUARD_ALLOW &&
				    res.reason == FANGUARD_REASON_SCANNED && !res.no_cache)
					cache_note_clean(d, ev, gen);
				else if (quar)
					quarantine_event(d, ev, &res, &subj, buf, SCAN_BUF_SIZE);
			}
			/* The reads that waited for this scan, answered after
			 * its own (whoever answered it). */
			flight_land(d, w, &res, &w->slot);
		} else
			leave = false; /* the keeper answered it while it was queued */
		event_release(d, ev, &w->slot, true);
		pthread_mutex_lock(&d->lock);
		leave = worker_back_locked(d, w, &counted) || leave;
		pthread_mutex_unlock(&d->lock);
		if (leave)
			break;
	}

	/* Free libcrypto's per-thread state now: the thread is detached, and
	 * once it announces its exit the process may be gone before the
	 * thread-exit handlers would run (LeakSanitizer saw that). */
	OPENSSL_thread_stop();
	pthread_mutex_lock(&d->lock);
	for (struct worker **p = &d->workers; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	if (counted && !w->abandoned)
		d->n_active_workers--;
	if (w->abandoned)
		d->n_stuck_workers--;
	pthread_mutex_unlock(&d->lock);
	free(w);
	domain_thread_exit(d);
	return NULL;
}

int pool_spawn_locked(struct domain *d)
{
	static _Atomic unsigned next_id;
	struct worker *w = calloc(1, sizeof(*w));
	char name[16];
	int r;

	if (!w)
		return -ENOMEM;
	w->d = d;
	w->id = atomic_fetch_add(&next_id, 1);
	(void) snprintf(name, sizeof(name), "fg-work/%u", w->id);
	r = domain_thread_spawn_locked(d, &w->thread, name, worker_main, w);
	if (r < 0) {
		free(w);
		if (r != -EUSERS)
			fg_log(d->fg, LOG_ERR, "%s: cannot start a worker: %s", d->name,
			       strerror(-r));
		return r;
	}
	w->next = d->workers;
	d->workers = w;
	d->n_active_workers++;
	return 0;
}

/* Scans wait in the local queue while every worker waits on an engine that
 * runs more at once than we have workers (want: struct scan_plan's
 * parallel, clamd's threads): one worker more, up to that many, so that as many scans are in
 * flight as the engine can take. The workers stay (a thread waiting on the
 * queue costs nothing). Only the local pool: a FUSE pool is one mount's,
 * bounded by its daemon. */
#define POOL_PARALLEL_MAX 64

void pool_grow(struct domain *d, unsigned want)
{
	struct fanguard *fg = d->fg;

	if (d->cls != FANGUARD_MOUNT_LOCAL || want == 0)
		return;
	want = want < POOL_PARALLEL_MAX ? want : POOL_PARALLEL_MAX;
	pthread_mutex_lock(&d->lock);
	if (!d->stopping && d->n_workers < want && d->n_active_workers >= d->n_workers) {
		d->n_workers++;
		if (pool_spawn_locked(d) < 0)
			d->n_workers--;
		else {
			stat_inc(&d->stats.workers_grown);
			if (d->n_workers == want)
				fg_log(fg, LOG_INFO,
				       "%s: %u workers, as many scans in flight as the "
				       "scanner runs at once",
				       d->name, want);
		}
	}
	pthread_mutex_unlock(&d->lock);
}

void pool_abandon_locked(struct domain *d, struct worker *w, enum abandon_why why)
{
	int r;

	if (w->abandoned)
		return;
	w->abandoned = true;
	d->n_active_workers--;
	d->n_stuck_workers++;
	/* At stop, a worker still scanning is not stuck: it is let go. */
	if (why != ABANDON_STOP)
		stat_inc(why == ABANDON_DEADLINE ? &d->stats.abandoned : &d->stats.close_stuck);
	if (d->stopping)
		return;
	if (d->n_stuck_workers > d->max_abandoned) {
		fg_log(d->fg, LOG_ERR, "%s: %u workers stuck, at the mount's cap: not replacing %u",
		       d->name, d->n_stuck_workers, w->id);
		return;
	}
	r = pool_spawn_locked(d);
	if (r >= 0)
		stat_inc(&d->stats.replaced);
	else if (r == -EUSERS)
		fg_log(d->fg, LOG_ERR,
		       "%s: thread budget exhausted: not replacing stuck worker %u (owner uid %u)",
		       d->name, w->id, (unsigned) d->owner);
}
