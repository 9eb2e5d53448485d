/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Immutable snapshots behind one pointer (snapshot.h). */
#include <sched.h>
#include "snapshot.h"

void snapshot_init(struct snapshot *s, void (*free_fn)(struct snapshot *s))
{
	atomic_init(&s->refs, 1);
	s->free_fn = free_fn;
}

void snapshot_slot_init(struct snapshot_slot *slot, struct snapshot *initial)
{
	atomic_init(&slot->cur, initial);
	atomic_init(&slot->epoch, 0);
	atomic_init(&slot->active[0], 0);
	atomic_init(&slot->active[1], 0);
	pthread_mutex_init(&slot->writer, NULL);
}

void snapshot_slot_done(struct snapshot_slot *slot)
{
	snapshot_put(atomic_exchange(&slot->cur, NULL));
	pthread_mutex_destroy(&slot->writer);
}

struct snapshot *snapshot_ref(struct snapshot *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

struct snapshot *snapshot_get(struct snapshot_slot *slot)
{
	struct snapshot *s;
	unsigned e;

	for (;;) {
		unsigned epoch = atomic_load(&slot->epoch);

		e = epoch & 1;
		atomic_fetch_add(&slot->active[e], 1);
		/* Counted only if the epoch did not move since it was read: a
		 * reader counted in a stale epoch's counter is waited for by
		 * no writer, and two publishes later it could reference a
		 * snapshot already freed (found by ASan in test-core). With
		 * the check, our increment precedes the next writer's epoch
		 * flip, so that writer waits for us; writers take turns, so
		 * no later writer starts before we are done. */
		if (atomic_load(&slot->epoch) == epoch)
			break;
		atomic_fetch_sub(&slot->active[e], 1);
	}
	s = snapshot_ref(atomic_load(&slot->cur));
	atomic_fetch_sub(&slot->active[e], 1);
	return s;
}

void snapshot_put(struct snapshot *s)
{
	if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
		s->free_fn(s);
}

void snapshot_write_lock(struct snapshot_slot *slot)
{
	pthread_mutex_lock(&slot->writer);
}

void snapshot_write_unlock(struct snapshot_slot *slot)
{
	pthread_mutex_unlock(&slot->writer);
}

void snapshot_publish(struct snapshot_slot *slot, struct snapshot *s)
{
	struct snapshot *old = atomic_exchange(&slot->cur, s);
	unsigned e = atomic_fetch_add(&slot->epoch, 1) & 1;

	/* Readers still between their announcement and their reference. */
	while (atomic_load(&slot->active[e]) != 0)
		sched_yield();
	snapshot_put(old);
}
