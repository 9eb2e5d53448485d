/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Overload accounting of a domain: the opens answered unscanned (deadline,
 * full queue, error, too large, shutdown) are counted per reason by the
 * domain's stats (by_reason); here they are also summed per 10 s window,
 * and the keeper writes one summary line per reason and window ("N opens
 * allowed unscanned in the last 10 s on fuse/53: queue full"), never one
 * line per event. The "overload" gauge is set while a deadline or a full
 * queue gave a default verdict within the last window.
 *
 * Hot path: overload_note() is a few relaxed atomics; the first event of a
 * window takes the domain lock once to wake the keeper. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "fanguard.h"
#include "time-util.h"

struct domain;

#define OVERLOAD_WINDOW_USEC (10 * USEC_PER_SEC)

struct overload {
	/* [reason][verdict == DENY] since the window opened */
	_Atomic uint64_t n[_FANGUARD_REASON_MAX][2];
	_Atomic usec_t window_start; /* 0: no window open */
	_Atomic usec_t last_usec;    /* last deadline or queue-full default verdict */
};

/* Whether an answer for this reason is a default verdict (nothing scanned). */
static inline bool reason_is_unscanned(enum fanguard_reason why)
{
	return why == FANGUARD_REASON_DEADLINE || why == FANGUARD_REASON_QUEUE_FULL ||
	       why == FANGUARD_REASON_ERROR || why == FANGUARD_REASON_TOO_LARGE ||
	       why == FANGUARD_REASON_SHUTDOWN;
}

/* The verdict the domain's policy gives for an unscanned answer of reason
 * why (fanguard_class_options: on_deadline, on_queue_full, default_verdict). */
enum fanguard_verdict domain_verdict_for(const struct domain *d, enum fanguard_reason why);

/* Counts one answer given without a scan; opens a window if none is. */
void overload_note(struct domain *d, enum fanguard_verdict v, enum fanguard_reason why);

/* Called by the keeper with d->lock held: logs the window's summary if it
 * is over (or if force), and returns when the keeper must wake for the
 * current one (USEC_INFINITY if none is open). */
usec_t overload_flush_locked(struct domain *d, usec_t now, bool force);

/* Whether d is overloaded now (a deadline or full queue within the window). */
bool overload_active(struct domain *d, usec_t now);
