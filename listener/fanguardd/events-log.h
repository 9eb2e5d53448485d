/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* What fanguardd logs about the listener's work, with journal fields and a
 * MESSAGE_ID from message-ids.h: each verdict the library reports, and
 * once per tick a summary of what went wrong since the last one. */
#include <stdint.h>
#include "fanguard.h"

/* The library's verdict callback (its log thread). */
void events_log_verdict(void *userdata, const struct fanguard_verdict_info *v);

/* The counters at the last tick, for the summaries. */
struct events_log_state {
	uint64_t abandoned, queue_full, refused, marks_failed, deadline, errors;
	int primed;
};

/* On the main loop's tick: logs abandoned workers, overload and coverage
 * gaps that appeared since the previous call (one line per kind). */
void events_log_tick(struct fanguard *fg, struct events_log_state *st);
