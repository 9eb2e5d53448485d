/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* A bounded FIFO of events between a domain's readers and its workers. */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct fg_event;

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	struct fg_event **ring; /* protected by lock */
	size_t cap, head, len;	/* protected by lock */
	bool closed;		/* protected by lock */
};

int queue_init(struct queue *q, size_t cap);
void queue_done(struct queue *q);
/* -ENOBUFS when full, -ESHUTDOWN when closed; never blocks. */
int queue_push(struct queue *q, struct fg_event *ev);
/* Blocks until an event or close; -ESHUTDOWN once closed and drained. */
int queue_pop(struct queue *q, struct fg_event **ret);
void queue_close(struct queue *q);
