/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Bounded FIFO between a domain's readers and its workers. push never
 * blocks (a reader must never wait on a worker): a full queue is the
 * caller's to answer with the default verdict. */
#include <errno.h>
#include <stdlib.h>
#include "queue-internal.h"

int queue_init(struct queue *q, size_t cap)
{
	q->ring = calloc(cap, sizeof(*q->ring));
	if (!q->ring)
		return -ENOMEM;
	q->cap = cap;
	q->head = q->len = 0;
	q->closed = false;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->nonempty, NULL);
	return 0;
}

void queue_done(struct queue *q)
{
	if (!q->ring)
		return;
	free(q->ring);
	q->ring = NULL;
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->nonempty);
}

int queue_push(struct queue *q, struct fg_event *ev)
{
	int r = 0;

	pthread_mutex_lock(&q->lock);
	if (q->closed)
		r = -ESHUTDOWN;
	else if (q->len == q->cap)
		r = -ENOBUFS;
	else {
		q->ring[(q->head + q->len) % q->cap] = ev;
		q->len++;
		pthread_cond_signal(&q->nonempty);
	}
	pthread_mutex_unlock(&q->lock);
	return r;
}

int queue_pop(struct queue *q, struct fg_event **ret)
{
	int r = 0;

	pthread_mutex_lock(&q->lock);
	while (q->len == 0 && !q->closed)
		pthread_cond_wait(&q->nonempty, &q->lock);
	if (q->len == 0)
		r = -ESHUTDOWN;
	else {
		*ret = q->ring[q->head];
		q->head = (q->head + 1) % q->cap;
		q->len--;
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
