/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* A domain's worker pool (pool.c): workers pop events, scan them, answer. */
#include <stdbool.h>

struct domain;
struct worker;

/* Called with d->lock held: starts one worker (within the thread budget). */
int pool_spawn_locked(struct domain *d);
/* Events wait in d's queue: a worker more if the scanners run more scans
 * at once (want) than d has workers (pool.c). Takes d->lock. */
void pool_grow(struct domain *d, unsigned want);
/* Called with d->lock held: w is stuck (in a FUSE read past the deadline,
 * or in close()) and cannot be cancelled: count it out and start a
 * replacement while the mount's share (max_abandoned) and the budget allow. */
enum abandon_why { ABANDON_DEADLINE, ABANDON_CLOSE, ABANDON_STOP };
void pool_abandon_locked(struct domain *d, struct worker *w, enum abandon_why why);
