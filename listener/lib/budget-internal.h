/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The listener's thread budget: a hard cap on every thread it runs
 * (readers, workers, keepers), with shares, so that users who mount FUSE
 * daemons that hang on purpose cannot use it up:
 *   - the local domain's threads are reserved: FUSE and network domains
 *     never take the last `reserve` threads;
 *   - each mount owner other than root (the FUSE daemon's user, the mount's
 *     user_id=) gets at most `owner_share` threads for all its mounts;
 *   - each mount gets at most its class's max_abandoned replacement workers
 *     and 16 readers (domain.c), the per-mount share.
 * A thread stuck in FUSE (open inside read(), read, close) keeps its slot
 * until it returns; what could not start is counted (budget_refused). */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct budget_owner {
	uid_t uid;
	unsigned n;
};

struct budget {
	pthread_mutex_t lock;
	unsigned max_threads, reserve, owner_share;
	/* protected by lock */
	unsigned n_local, n_other;
	struct budget_owner *owners;
	size_t n_owners;
};

void budget_init(struct budget *b, unsigned max_threads, unsigned reserve, unsigned owner_share);
/* The local domain's reserved share (fanguard_set_class_options() before any
 * watch). */
void budget_set_reserve(struct budget *b, unsigned reserve);
void budget_done(struct budget *b);
/* n threads for a domain of this owner (local: the reserved part).
 * -EUSERS when over the cap or the owner's share, -ENOMEM. */
int budget_take(struct budget *b, bool local, uid_t owner, unsigned n);
void budget_put(struct budget *b, bool local, uid_t owner, unsigned n);
/* Threads running now. */
unsigned budget_used(struct budget *b);
