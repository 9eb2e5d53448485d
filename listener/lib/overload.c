/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Overload accounting: the per-window summary of answers given without a
 * scan, and the policy that picks their verdict (overload-internal.h).
 *
 * Must never: log per event, block, or take a lock on the hot path beyond
 * the first event of a window. */
#include <syslog.h>
#include "domain-state-internal.h"
#include "fg-internal.h"
#include "overload-internal.h"

enum fanguard_verdict domain_verdict_for(const struct domain *d, enum fanguard_reason why)
{
	if (why == FANGUARD_REASON_DEADLINE)
		return d->on_deadline;
	if (why == FANGUARD_REASON_QUEUE_FULL)
		return d->on_queue_full;
	return d->default_verdict;
}

void overload_note(struct domain *d, enum fanguard_verdict v, enum fanguard_reason why)
{
	struct overload *o = &d->overload;
	usec_t now = 0, zero = 0;

	if ((unsigned) why >= _FANGUARD_REASON_MAX)
		return;
	atomic_fetch_add_explicit(&o->n[why][v == FANGUARD_DENY], 1, memory_order_relaxed);
	if (why == FANGUARD_REASON_DEADLINE || why == FANGUARD_REASON_QUEUE_FULL) {
		now = now_usec();
		atomic_store_explicit(&o->last_usec, now, memory_order_relaxed);
	}
	if (atomic_load_explicit(&o->window_start, memory_order_relaxed) != 0)
		return;
	if (!now)
		now = now_usec();
	if (!atomic_compare_exchange_strong(&o->window_start, &zero, now))
		return;
	/* The first of a window: the keeper may sleep without a deadline. The
	 * keeper itself answers deadlines under no lock of ours but may call
	 * here: it holds no d->lock then (expire_answer()). */
	pthread_mutex_lock(&d->lock);
	if (d->keeper_next > now + OVERLOAD_WINDOW_USEC)
		pthread_cond_signal(&d->keeper_cond);
	pthread_mutex_unlock(&d->lock);
}

static const char *reason_text(enum fanguard_reason why)
{
	switch (why) {
	case FANGUARD_REASON_DEADLINE:
		return "deadline passed";
	case FANGUARD_REASON_QUEUE_FULL:
		return "queue full";
	case FANGUARD_REASON_ERROR:
		return "scan error";
	case FANGUARD_REASON_TOO_LARGE:
		return "file too large";
	case FANGUARD_REASON_SHUTDOWN:
		return "shutting down";
	default:
		return fanguard_reason_to_string(why);
	}
}

usec_t overload_flush_locked(struct domain *d, usec_t now, bool force)
{
	struct overload *o = &d->overload;
	usec_t start = atomic_load_explicit(&o->window_start, memory_order_relaxed);
	unsigned secs;

	if (start == 0)
		return USEC_INFINITY;
	if (!force && now < start + OVERLOAD_WINDOW_USEC)
		return start + OVERLOAD_WINDOW_USEC;
	/* Close the window first: a note that races with the sweep below opens
	 * the next one, and its count lands in this summary or the next. */
	atomic_store_explicit(&o->window_start, 0, memory_order_relaxed);
	secs = (unsigned) ((now - start + USEC_PER_SEC / 2) / USEC_PER_SEC);
	for (int why = 0; why < _FANGUARD_REASON_MAX; why++)
		for (int deny = 0; deny < 2; deny++) {
			uint64_t n =
				atomic_exchange_explicit(&o->n[why][deny], 0, memory_order_relaxed);

			if (n == 0)
				continue;
			fg_log(d->fg,
			       why == FANGUARD_REASON_SHUTDOWN || why == FANGUARD_REASON_TOO_LARGE
				       ? LOG_NOTICE
				       : LOG_WARNING,
			       "%llu opens %s unscanned in the last %u s on %s: %s",
			       (unsigned long long) n, deny ? "denied" : "allowed", secs ? secs : 1,
			       d->name, reason_text(why));
		}
	return USEC_INFINITY;
}

bool overload_active(struct domain *d, usec_t now)
{
	usec_t last = atomic_load_explicit(&d->overload.last_usec, memory_order_relaxed);

	return last != 0 && now - last < OVERLOAD_WINDOW_USEC;
}
