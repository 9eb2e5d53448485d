/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* In-flight coalescing of per-read events (flight-internal.h).
 *
 * What a waiter gets is the verdict of a scan that read the file's content
 * while the waiter's event was pending: the scan began before the waiter's
 * read() and ends after it. With the same change attributes on both sides,
 * that is the content the waiter's read sees, unless a FUSE daemon changes
 * it behind the kernel's back (no attribute change) during that one scan:
 * the same bound as dedup.c's ignore marks (at most a scan's duration here,
 * DEDUP_TTL_USEC there).
 *
 * Ownership: a waiter's holder (who closes its fd and frees it) is the
 * flight's leader from the moment it joins. The leader's worker may be
 * stuck in a FUSE read past every deadline: its waiters are then answered
 * by the keeper at their own deadlines (they stay in the deadline heap),
 * and released when the worker comes back. */
#include <errno.h>
#include <string.h>
#include <sys/fanotify.h>
#include "cache-internal.h"
#include "domain-state-internal.h"
#include "flight-internal.h"
#include "overload-internal.h"
#include "queue-internal.h"

static bool coalescible(const struct domain *d, const struct fg_event *ev)
{
	return d->cls != FANGUARD_MOUNT_LOCAL &&
	       atomic_load_explicit(&d->emask_access, memory_order_acquire) &&
	       (ev->mask & FAN_ACCESS_PERM) && !(ev->mask & (FAN_OPEN_EXEC_PERM | FAN_OPEN_PERM)) &&
	       ev->attrs_valid && !ev->flight_alone;
}

bool flight_join_or_lead_locked(struct domain *d, struct worker *w, struct fg_event *ev)
{
	struct flight *f = &w->flight;

	if (!coalescible(d, ev))
		return false;
	/* A scan past its own event's deadline (its worker stuck in a FUSE
	 * read, abandoned) takes no more waiters: each later read is scanned
	 * on its own (a daemon may stall one read and serve the next). */
	for (struct flight *o = d->flights; o; o = o->next)
		if (cache_attrs_same(&o->key, &ev->attrs) && now_usec() < o->deadline) {
			ev->flight_next = o->waiters;
			o->waiters = ev;
			o->n_waiters++;
			return true;
		}
	*f = (struct flight){.key = ev->attrs,
			     .deadline = ev->deadline_usec,
			     .next = d->flights,
			     .listed = true};
	d->flights = f;
	return false;
}

static enum fanguard_verdict waiter_verdict(const struct domain *d, const struct fg_event *ev,
					    const struct scan_result *res,
					    enum fanguard_reason *ret_why)
{
	*ret_why = res->reason;
	if (res->reason == FANGUARD_REASON_SCANNED)
		return res->verdict;
	/* Not concluded (error, too large, ...): its own default. */
	return domain_fallback(d, ev->mask);
}

void flight_land(struct domain *d, struct worker *w, const struct scan_result *res,
		 struct thread_slot *slot)
{
	struct flight *f = &w->flight;
	struct fg_event *waiters;
	bool requeue;

	pthread_mutex_lock(&d->lock);
	if (!f->listed) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	for (struct flight **p = &d->flights; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	f->listed = false;
	waiters = f->waiters;
	f->waiters = NULL;
	f->n_waiters = 0;
	pthread_mutex_unlock(&d->lock);

	/* A clean verdict a scanner said not to keep (an embedder's callback
	 * may decide per subject): each waiter gets a scan of its own, queued
	 * again, never coalesced again. */
	requeue = res->reason == FANGUARD_REASON_SCANNED && res->verdict == FANGUARD_ALLOW &&
		  res->no_cache;
	while (waiters) {
		struct fg_event *ev = waiters;
		enum fanguard_reason why;
		enum fanguard_verdict v = waiter_verdict(d, ev, res, &why);
		int r;

		waiters = ev->flight_next;
		ev->flight_next = NULL;
		if (requeue) {
			ev->flight_alone = true;
			r = queue_push(&d->queue, ev);
			if (r >= 0)
				continue;
			/* As reader.c's enqueue(): full, or stopping. */
			why = r == -ENOBUFS ? FANGUARD_REASON_QUEUE_FULL : FANGUARD_REASON_SHUTDOWN;
			v = domain_untrusted_exec(d, ev->mask) ? FANGUARD_DENY
							       : domain_verdict_for(d, why);
			(void) event_answer(d, ev, v, why, NULL);
			event_release(d, ev, slot, true);
			continue;
		}
		/* Lost if the keeper answered it at its deadline first. */
		if (event_answer(d, ev, v, why, res))
			stat_inc(&d->stats.coalesced);
		event_release(d, ev, slot, true);
	}
}
