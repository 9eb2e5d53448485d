/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* In-flight coalescing on access-mask FUSE groups (flight.c). Every read()
 * of a file on such a mount raises FAN_ACCESS_PERM; a read event for a file
 * whose scan a worker is running waits for that scan's verdict instead of
 * a scan of its own. The file is the key: its superblock's device, inode,
 * size, mtime and ctime at receipt (statx, the cached attributes), all
 * equal. Never for an exec or an open event, never on a local or open-mask
 * group. Every waiter keeps its own deadline (the keeper answers it then,
 * as any queued event) and gets exactly one answer (event_answer()). */
#include <stdbool.h>
#include <stddef.h>
#include "answer-internal.h"

struct domain;
struct worker;
struct thread_slot;

struct flight {
	struct fg_change_attrs key;
	usec_t deadline;	  /* the leader's: a scan past it takes no more waiters */
	struct fg_event *waiters; /* chained by ev->flight_next */
	size_t n_waiters;
	struct flight *next; /* in d->flights */
	bool listed;
};

/* Called with d->lock held by worker w, which popped ev (still PENDING,
 * not yet its ev->worker). true: ev now waits for the scan in flight of
 * the same file, whose worker answers and releases it; w must not touch ev
 * again. false: w scans ev itself, and leads a flight for it if ev may be
 * coalesced with (w's flight listed in d->flights). */
bool flight_join_or_lead_locked(struct domain *d, struct worker *w, struct fg_event *ev);

/* After w answered its own event with res: unlists w's flight, answers each
 * waiter from res (a clean scan allows, a deny denies; any other result
 * gives each waiter its own default verdict, domain_fallback()), counts
 * them (coalesced), and releases them. A clean verdict a scanner said not
 * to keep (no_cache) answers no waiter: each is queued again for a scan of
 * its own. No-op if w leads no flight. */
void flight_land(struct domain *d, struct worker *w, const struct scan_result *res,
		 struct thread_slot *slot);
