/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The scanners' state watch. Clean verdicts are cached in the kernel (ignore
 * marks, cache.c) and the kernel answers those opens without asking us, so a
 * signature update would never be noticed by the permission path while the
 * cache is warm. One thread asks every SCANSTATE_POLL_MSEC each scanner that
 * has a state() hook what its verdicts depend on (clamd: the VERSION reply,
 * which carries the signature database's version); when a state changes,
 * every cached clean verdict is dropped (cache_invalidate()) and the change
 * is logged. A scanner that cannot tell now (clamd unreachable) keeps its
 * last state: no flush for a restart with the same signatures.
 *
 * Not on the permission path: its queries have their own deadline and take
 * pooled connections like any scan. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include "cache-internal.h"
#include "fg-internal.h"
#include "scan-internal.h"
#include "scanstate-internal.h"
#include "thread-internal.h"

/* Called with fg->lock held. */
static bool any_stateful_locked(struct fanguard *fg)
{
	for (struct scanner *s = atomic_load_explicit(&fg->scanners, memory_order_acquire); s;
	     s = atomic_load_explicit(&s->next, memory_order_acquire))
		if (s->state)
			return true;
	return false;
}

static void poll_once(struct fanguard *fg)
{
	for (struct scanner *s = atomic_load_explicit(&fg->scanners, memory_order_acquire); s;
	     s = atomic_load_explicit(&s->next, memory_order_acquire)) {
		char now[SCANNER_STATE_MAX];

		if (!s->state || s->state(s, now, sizeof(now)) < 0)
			continue;
		if (!s->state_known) {
			memcpy(s->last_state, now, sizeof(now));
			s->state_known = true;
			continue;
		}
		if (strcmp(now, s->last_state) == 0)
			continue;
		fg_log(fg, LOG_NOTICE,
		       "%s: scanner state changed (%s -> %s): cached verdicts flushed", s->name,
		       s->last_state, now);
		memcpy(s->last_state, now, sizeof(now));
		cache_invalidate(fg);
	}
}

static void *scanstate_main(void *userdata)
{
	struct fanguard *fg = userdata;

	do
		poll_once(fg);
	while (fg_bg_thread_wait(&fg->state_thread, -1, 0, SCANSTATE_POLL_MSEC, NULL) >= 0);
	return NULL;
}

int scanstate_ensure_locked(struct fanguard *fg)
{
	if (!fg->started || fg->stopped || fg->state_thread.running || !any_stateful_locked(fg))
		return 0;
	return fg_bg_thread_start(&fg->state_thread, "fg-scanstate", scanstate_main, fg);
}

void scanstate_stop(struct fanguard *fg)
{
	/* Called from fanguard_stop() only, after fg->stopped is set under
	 * fg->lock: no new start races with it. */
	fg_bg_thread_stop(&fg->state_thread);
}
