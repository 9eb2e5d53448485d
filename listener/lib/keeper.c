/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The deadline keeper of a domain. It sleeps until the earliest deadline in
 * the domain's heap (inflight.c), then answers every event past it with the
 * default verdict, through the one claim/answer primitive. A worker still
 * scanning such an event is stuck (in a FUSE read, say) and cannot be
 * cancelled: it is abandoned and replaced (pool.c). On domains that can
 * hold FUSE files it also wakes every THREAD_STUCK_USEC/2 to spot readers
 * stuck in the kernel's open, and threads stuck in close() (FUSE_FLUSH).
 *
 * Answers are written outside d->lock; an event is claimed under it, so a
 * worker that lost the claim cannot free the event while the keeper still
 * looks at it (the worker takes d->lock before freeing). */
#include <errno.h>
#include <stdlib.h>
#include <syslog.h>
#include "answer-internal.h"
#include "domain-state-internal.h"
#include "emask-internal.h"
#include "fg-internal.h"
#include "keeper-internal.h"
#include "pool-internal.h"
#include "reader-internal.h"

/* Called with d->lock held: claims the earliest events due by `due` (all
 * if due is USEC_INFINITY), takes them out of the heap and abandons their
 * workers. Returns them in *ret (chained through a local array). */
static size_t expire_collect_locked(struct domain *d, usec_t due, enum fanguard_reason why,
				    struct fg_event **out, size_t max)
{
	size_t n = 0;
	struct fg_event *ev;

	while (n < max && (ev = inflight_peek(&d->inflight)) &&
	       (due == USEC_INFINITY || ev->deadline_usec <= due)) {
		inflight_remove(&d->inflight, ev);
		if (!event_claim(ev))
			continue; /* its worker is answering it right now */
		if (ev->worker)
			pool_abandon_locked(d, ev->worker,
					    why == FANGUARD_REASON_DEADLINE ? ABANDON_DEADLINE
									    : ABANDON_STOP);
		out[n++] = ev;
	}
	return n;
}

/* Writes the answers collected (outside d->lock); their holders free them. */
static void expire_answer(struct domain *d, struct fg_event **evs, size_t n,
			  enum fanguard_reason why)
{
	for (size_t i = 0; i < n; i++) {
		struct fg_event *ev = evs[i];

		enum fanguard_verdict v = domain_untrusted_exec(d, ev->mask)
						  ? FANGUARD_DENY
						  : domain_verdict_for(d, why);

		/* Debug only: under a flood this is a line per event; the
		 * summary (overload.c) says it once per 10 s. */
		fg_log(d->fg, LOG_DEBUG, "%s: %s for pid %d after %llu ms: answered %s", d->name,
		       why == FANGUARD_REASON_DEADLINE ? "deadline passed" : "stopping",
		       (int) ev->pid,
		       (unsigned long long) ((now_usec() - ev->received_usec) / USEC_PER_MSEC),
		       v == FANGUARD_DENY ? "deny" : "allow");
		/* ev may be freed by its holder right after this. */
		answer_write(d, ev, v, why, NULL);
	}
}

#define EXPIRE_BATCH 64

void keeper_expire_all(struct domain *d, enum fanguard_reason why)
{
	struct fg_event *evs[EXPIRE_BATCH];
	size_t n;

	do {
		pthread_mutex_lock(&d->lock);
		n = expire_collect_locked(d, USEC_INFINITY, why, evs, EXPIRE_BATCH);
		pthread_mutex_unlock(&d->lock);
		expire_answer(d, evs, n, why);
	} while (n > 0);
}

/* Called with d->lock held: workers stuck in close() of an event fd. */
static void workers_check_locked(struct domain *d)
{
	usec_t now = now_usec();

	for (struct worker *w = d->workers; w; w = w->next) {
		enum thread_where where;

		if (!w->abandoned && slot_stuck(&w->slot, now, &where) && where == WHERE_CLOSE) {
			fg_log(d->fg, LOG_WARNING,
			       "%s: worker %u stuck in close() of a FUSE file (FUSE_FLUSH)",
			       d->name, w->id);
			pool_abandon_locked(d, w, ABANDON_CLOSE);
		}
	}
}

static void *keeper_main(void *userdata)
{
	struct domain *d = userdata;
	bool watch_threads = d->cls != FANGUARD_MOUNT_LOCAL;

	pthread_mutex_lock(&d->lock);
	while (!d->stopping) {
		struct fg_event *evs[EXPIRE_BATCH], *head;
		usec_t now = now_usec(), next, summary;
		struct timespec ts;
		size_t n;

		n = expire_collect_locked(d, now, FANGUARD_REASON_DEADLINE, evs, EXPIRE_BATCH);
		if (n > 0) {
			pthread_mutex_unlock(&d->lock);
			expire_answer(d, evs, n, FANGUARD_REASON_DEADLINE);
			pthread_mutex_lock(&d->lock);
			continue;
		}
		head = inflight_peek(&d->inflight);
		next = head ? head->deadline_usec : USEC_INFINITY;
		summary = overload_flush_locked(d, now, false);
		if (summary < next)
			next = summary;
		if (watch_threads) {
			dedup_tick(d, now);
			readers_check_locked(d);
			workers_check_locked(d);
			if (next > now + THREAD_STUCK_USEC / 2)
				next = now + THREAD_STUCK_USEC / 2;
		}
		d->keeper_next = next;
		if (next == USEC_INFINITY)
			pthread_cond_wait(&d->keeper_cond, &d->lock);
		else {
			ts = usec_to_timespec(next);
			(void) pthread_cond_timedwait(&d->keeper_cond, &d->lock, &ts);
		}
	}
	/* What the last window saw, before the stop's own answers. */
	(void) overload_flush_locked(d, now_usec(), true);
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

int keeper_start_locked(struct domain *d)
{
	int r = budget_take(&d->fg->budget, d->cls == FANGUARD_MOUNT_LOCAL, d->owner, 1);

	if (r < 0) {
		stat_inc(&d->stats.budget_refused);
		return r;
	}
	r = fg_thread_start(&d->keeper, "fg-keeper", keeper_main, d, /* detached= */ false);
	if (r < 0) {
		budget_put(&d->fg->budget, d->cls == FANGUARD_MOUNT_LOCAL, d->owner, 1);
		return r;
	}
	d->keeper_running = true;
	return 0;
}

void keeper_join(struct domain *d)
{
	if (!d->keeper_running)
		return;
	(void) pthread_join(d->keeper, NULL);
	d->keeper_running = false;
	budget_put(&d->fg->budget, d->cls == FANGUARD_MOUNT_LOCAL, d->owner, 1);
}
