/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The events a domain holds unanswered, ordered by deadline: a binary
 * min-heap, so the keeper always sees the earliest deadline first whatever
 * order events arrived in (deadlines differ per class, and a reader that
 * was stuck in read() enqueues late). Each event knows its index, so a
 * worker that answers removes it in O(log n). Protected by the domain's lock. */
#include <stddef.h>

struct fg_event;

struct inflight {
	struct fg_event **v;
	size_t n, cap;
};

/* -ENOMEM if it cannot grow. */
int inflight_add(struct inflight *h, struct fg_event *ev);
/* No-op if ev is not in the heap. */
void inflight_remove(struct inflight *h, struct fg_event *ev);
/* The event with the earliest deadline, or NULL. */
struct fg_event *inflight_peek(const struct inflight *h);
void inflight_done(struct inflight *h);
