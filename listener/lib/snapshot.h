/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Config swaps that never stall the permission path.
 *
 * A snapshot is an immutable, refcounted object. Writers build the new one
 * off to the side, then publish it with one pointer swap; readers take a
 * reference without ever waiting on a writer (two atomic increments and a
 * decrement; no lock). The old object is freed when its last reader puts
 * it. Usage:
 *
 *   struct my_cfg { struct snapshot s; ...immutable fields... };
 *
 *   reader:  struct snapshot *s = snapshot_get(&slot);
 *            const struct my_cfg *c = container_of(s, ...); ...use c...
 *            snapshot_put(s);
 *   writer:  snapshot_write_lock(&slot);            (writers take turns)
 *            old = snapshot_get(&slot); build fresh from old; snapshot_put(old);
 *            snapshot_publish(&slot, &fresh->s);     (takes fresh's reference)
 *            snapshot_write_unlock(&slot);
 *
 * How a reader is safe without a lock: it announces itself in the counter
 * of the current epoch (and announces again if the epoch moved meanwhile),
 * loads the pointer, takes a reference, and leaves the counter. A writer swaps the pointer first, then flips the epoch, then
 * waits (spinning: the window is a few instructions) until the old epoch's
 * counter is zero before it drops the slot's reference on the old object.
 * A reader that announced itself after that check loads the new pointer.
 * The writer may wait on readers; readers never wait on writers. */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

struct snapshot {
	_Atomic unsigned long refs;
	void (*free_fn)(struct snapshot *s);
};

struct snapshot_slot {
	struct snapshot *_Atomic cur;
	_Atomic unsigned epoch;
	_Atomic unsigned long active[2];
	pthread_mutex_t writer;
};

/* refs = 1 (the caller's); free_fn frees the containing object. */
void snapshot_init(struct snapshot *s, void (*free_fn)(struct snapshot *s));
/* Takes initial's reference (initial must not be NULL). */
void snapshot_slot_init(struct snapshot_slot *slot, struct snapshot *initial);
void snapshot_slot_done(struct snapshot_slot *slot);

/* A new reference to the current snapshot; never NULL. */
struct snapshot *snapshot_get(struct snapshot_slot *slot);
struct snapshot *snapshot_ref(struct snapshot *s);
/* NULL-safe. */
void snapshot_put(struct snapshot *s);

void snapshot_write_lock(struct snapshot_slot *slot);
void snapshot_write_unlock(struct snapshot_slot *slot);
/* With the write lock held: makes s current (takes its reference). */
void snapshot_publish(struct snapshot_slot *slot, struct snapshot *s);

#define snapshot_container(ptr, type) ((type *) ((char *) (ptr) -offsetof(type, s)))
