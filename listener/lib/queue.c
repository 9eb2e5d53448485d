/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fair queue between a domain's readers and its workers
 * (queue-internal.h). push never blocks (a reader must never wait on a
 * worker): a full queue, or a uid at its share, is the caller's to answer
 * with the queue-full verdict. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include "answer-internal.h"
#include "queue-internal.h"

size_t queue_share(size_t cap)
{
	return cap >= 4 ? cap / 4 : 1;
}

int queue_init(struct queue *q, size_t cap)
{
	if (cap == 0 || cap > INT_MAX) /* push returns the length */
		return -EINVAL;
	memset(q->buckets, 0, sizeof(q->buckets));
	q->active_head = q->active_tail = NULL;
	q->cap = cap;
	q->share = queue_share(cap);
	q->len = 0;
	q->closed = false;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->nonempty, NULL);
	return 0;
}

void queue_done(struct queue *q)
{
	if (q->cap == 0)
		return;
	q->cap = 0;
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->nonempty);
}

static struct queue_bucket *bucket_of(struct queue *q, uid_t uid)
{
	/* Fibonacci hashing: consecutive uids land far apart. */
	return &q->buckets[((uint32_t) uid * 2654435761u) >> 26];
}

_Static_assert(QUEUE_BUCKETS == 64, "bucket_of() takes the top 6 bits");

int queue_push(struct queue *q, struct fg_event *ev)
{
	struct queue_bucket *b = bucket_of(q, ev->uid);
	int r = 0;

	pthread_mutex_lock(&q->lock);
	if (q->closed)
		r = -ESHUTDOWN;
	else if (q->len == q->cap || b->len >= q->share)
		r = -ENOBUFS;
	else {
		ev->qnext = NULL;
		if (b->tail)
			b->tail->qnext = ev;
		else
			b->head = ev;
		b->tail = ev;
		b->len++;
		if (!b->active) {
			b->active = true;
			b->next_active = NULL;
			if (q->active_tail)
				q->active_tail->next_active = b;
			else
				q->active_head = b;
			q->active_tail = b;
		}
		r = (int) ++q->len;
	}
	pthread_mutex_unlock(&q->lock);
	/* After the unlock: a worker woken under the lock would block on it
	 * at once (measured: a futex wait and wake per queued event). The
	 * queue lives as long as the domain, which outlives its readers. */
	if (r > 0)
		pthread_cond_signal(&q->nonempty);
	return r;
}

int queue_pop(struct queue *q, struct fg_event **ret)
{
	struct queue_bucket *b;
	int r = 0;

	pthread_mutex_lock(&q->lock);
	while (q->len == 0 && !q->closed)
		pthread_cond_wait(&q->nonempty, &q->lock);
	if (q->len == 0)
		r = -ESHUTDOWN;
	else {
		/* The uid at the head of the round; it goes to the back if it
		 * has more. */
		b = q->active_head;
		*ret = b->head;
		b->head = b->head->qnext;
		if (!b->head)
			b->tail = NULL;
		b->len--;
		q->len--;
		q->active_head = b->next_active;
		if (!q->active_head)
			q->active_tail = NULL;
		b->next_active = NULL;
		if (b->len > 0) {
			if (q->active_tail)
				q->active_tail->next_active = b;
			else
				q->active_head = b;
			q->active_tail = b;
		} else
			b->active = false;
	}
	pthread_mutex_unlock(&q->lock);
	return r;
}

void queue_close(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_cond_broadcast(&q->nonempty);
	pthread_mutex_unlock(&q->lock);
}
