/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The queue of events between a domain's readers and its workers, fair per
 * subject uid: events wait in one FIFO per uid (hashed into QUEUE_BUCKETS
 * buckets; uids that collide share one), workers take them round-robin
 * across the uids that have any, and one uid may hold at most its share of
 * the queue (a quarter of it, at least 1). So one uid's flood, however long,
 * delays another uid's open by at most one scan per busy uid instead of the
 * whole backlog, and cannot fill the queue against the others: its surplus
 * gets the queue-full verdict (counted, summarised, "overload").
 * Every operation is O(1). */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct fg_event;

#define QUEUE_BUCKETS 64

struct queue_bucket {
	struct fg_event *head, *tail;
	size_t len;
	struct queue_bucket *next_active; /* in the round-robin list */
	bool active;
};

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	/* protected by lock: */
	struct queue_bucket buckets[QUEUE_BUCKETS];
	struct queue_bucket *active_head, *active_tail;
	size_t cap, share, len;
	bool closed;
};

int queue_init(struct queue *q, size_t cap);
void queue_done(struct queue *q);
/* ev->uid picks its FIFO. The queue's length with ev (>= 1: more than one
 * means events wait for a worker); -ENOBUFS when the queue or the uid's
 * share is full, -ESHUTDOWN when closed; never blocks. */
int queue_push(struct queue *q, struct fg_event *ev);
/* Blocks until an event or close; -ESHUTDOWN once closed and drained. */
int queue_pop(struct queue *q, struct fg_event **ret);
void queue_close(struct queue *q);
/* The most events one uid may hold: cap / 4, at least 1. */
size_t queue_share(size_t cap);
