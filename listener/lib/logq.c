/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The library's log path. Threads on the permission path push a copy of the
 * message into a bounded ring and go on; one log thread hands them to the
 * caller's callbacks. A full ring drops the message and counts it: logging
 * must never hold up an answer (fapolicyd once deadlocked on journald). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include "escape.h"
#include "logq-internal.h"
#include "thread-internal.h"

struct logmsg {
	int prio;
	bool is_verdict;
	struct fanguard_verdict_info info; /* strings point into text */
	char text[];
};

struct logq {
	const struct fanguard_options *opts;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct logmsg **ring; /* protected by lock */
	size_t cap, head, len;
	bool stopping, running;
	pthread_t thread;
	_Atomic uint64_t dropped;
};

static void logq_push(struct logq *q, struct logmsg *m)
{
	pthread_mutex_lock(&q->lock);
	if (q->len == q->cap || q->stopping) {
		pthread_mutex_unlock(&q->lock);
		atomic_fetch_add_explicit(&q->dropped, 1, memory_order_relaxed);
		free(m);
		return;
	}
	q->ring[(q->head + q->len) % q->cap] = m;
	q->len++;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

void logq_log(struct logq *q, int prio, const char *fmt, ...)
{
	struct logmsg *m;
	va_list ap;
	char raw[2048], buf[2048];
	int saved = errno, n;

	if (!q || !q->opts->log_fn)
		return;
	va_start(ap, fmt);
	errno = saved;
	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* Messages quote names a user picked: the callback gets one line,
	 * escaped (common/escape.h), whatever they hold. */
	(void) escape_str(buf, sizeof(buf), raw);
	m = malloc(sizeof(*m) + strlen(buf) + 1);
	if (!m) {
		atomic_fetch_add_explicit(&q->dropped, 1, memory_order_relaxed);
		return;
	}
	m->prio = prio;
	m->is_verdict = false;
	strcpy(m->text, buf);
	logq_push(q, m);
	errno = saved;
}

void logq_verdict(struct logq *q, const struct fanguard_verdict_info *info)
{
	const char *comm = info->comm ? info->comm : "", *exe = info->exe ? info->exe : "";
	size_t lp = strlen(info->path) + 1, ls = strlen(info->scanner) + 1,
	       ld = strlen(info->detail) + 1, lc = strlen(comm) + 1, le = strlen(exe) + 1;
	struct logmsg *m;

	if (!q)
		return;
	m = malloc(sizeof(*m) + lp + ls + ld + lc + le);
	if (!m) {
		atomic_fetch_add_explicit(&q->dropped, 1, memory_order_relaxed);
		return;
	}
	m->prio = info->verdict == FANGUARD_DENY || info->would_deny ? LOG_NOTICE : LOG_DEBUG;
	m->is_verdict = true;
	m->info = *info;
	memcpy(m->text, info->path, lp);
	memcpy(m->text + lp, info->scanner, ls);
	memcpy(m->text + lp + ls, info->detail, ld);
	m->info.path = m->text;
	m->info.scanner = m->text + lp;
	m->info.detail = m->text + lp + ls;
	memcpy(m->text + lp + ls + ld, comm, lc);
	memcpy(m->text + lp + ls + ld + lc, exe, le);
	m->info.comm = m->text + lp + ls + ld;
	m->info.exe = m->text + lp + ls + ld + lc;
	logq_push(q, m);
}

static void deliver(struct logq *q, struct logmsg *m)
{
	const struct fanguard_options *o = q->opts;

	if (m->is_verdict) {
		if (o->verdict_fn)
			o->verdict_fn(o->userdata, &m->info);
	} else if (o->log_fn)
		o->log_fn(o->userdata, m->prio, m->text);
	free(m);
}

static void *logq_main(void *userdata)
{
	struct logq *q = userdata;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		struct logmsg *m;

		while (q->len == 0 && !q->stopping)
			pthread_cond_wait(&q->cond, &q->lock);
		if (q->len == 0)
			break;
		m = q->ring[q->head];
		q->head = (q->head + 1) % q->cap;
		q->len--;
		pthread_mutex_unlock(&q->lock);
		deliver(q, m);
		pthread_mutex_lock(&q->lock);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int logq_new(const struct fanguard_options *opts, size_t cap, struct logq **ret)
{
	struct logq *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	q->ring = calloc(cap, sizeof(*q->ring));
	if (!q->ring) {
		free(q);
		return -ENOMEM;
	}
	q->opts = opts;
	q->cap = cap;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	*ret = q;
	return 0;
}

int logq_start(struct logq *q)
{
	int r = 0;

	/* Under the lock: fanguard_start() and a YARA load may race here. */
	pthread_mutex_lock(&q->lock);
	if (!q->running && !q->stopping) {
		r = fg_thread_start(&q->thread, "fg-log", logq_main, q, /* detached= */ false);
		q->running = r >= 0;
	}
	pthread_mutex_unlock(&q->lock);
	return r;
}

void logq_stop(struct logq *q)
{
	bool running;

	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	running = q->running;
	q->running = false;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	if (running)
		(void) pthread_join(q->thread, NULL);
}

uint64_t logq_dropped(struct logq *q)
{
	return q ? atomic_load(&q->dropped) : 0;
}

struct logq *logq_free(struct logq *q)
{
	if (!q)
		return NULL;
	logq_stop(q);
	while (q->len > 0) {
		free(q->ring[q->head]);
		q->head = (q->head + 1) % q->cap;
		q->len--;
	}
	free(q->ring);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
	free(q);
	return NULL;
}
