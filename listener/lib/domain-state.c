/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A domain's lifetime: references, thread accounting, freeing; and the
 * kernel's fan_ops. Lifecycle operations (start, stop, marks) are domain.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <syslog.h>
#include <unistd.h>
#include "answer-internal.h"
#include "domain-state-internal.h"
#include "fanops-internal.h"
#include "fg-internal.h"
#include "macro.h"

static int kernel_init(void *userdata, unsigned flags, unsigned event_f_flags)
{
	int fd = fanotify_init(flags, event_f_flags);

	(void) userdata;
	return fd < 0 ? -errno : fd;
}

static ssize_t kernel_read(void *userdata, int group_fd, void *buf, size_t len)
{
	ssize_t n = read(group_fd, buf, len);

	(void) userdata;
	return n < 0 ? -errno : n;
}

static ssize_t kernel_respond(void *userdata, int group_fd, const struct fanotify_response *resp)
{
	ssize_t n = write(group_fd, resp, sizeof(*resp));

	(void) userdata;
	return n < 0 ? -errno : n;
}

static int kernel_mark(void *userdata, int group_fd, unsigned flags, uint64_t mask, int dirfd,
		       const char *path)
{
	(void) userdata;
	return fanotify_mark(group_fd, flags, mask, dirfd, path) < 0 ? -errno : 0;
}

static void kernel_close(void *userdata, int fd)
{
	(void) userdata;
	(void) close(fd);
}

static void *kernel_alloc(void *userdata, size_t size)
{
	(void) userdata;
	return calloc(1, size);
}

const struct fan_ops fan_ops_kernel = {
	.init = kernel_init,
	.read = kernel_read,
	.respond = kernel_respond,
	.mark = kernel_mark,
	.close_event_fd = kernel_close,
	.alloc_event = kernel_alloc,
};

void domain_ref(struct domain *d)
{
	atomic_fetch_add(&d->refs, 1);
}

static void domain_free(struct domain *d)
{
	struct fanguard *fg = d->fg;
	struct fg_event *ev;

	/* No thread runs any more: release what a stuck worker never took. */
	if (d->queue.ring) {
		queue_close(&d->queue);
		while (queue_pop(&d->queue, &ev) >= 0) {
			if (event_claim(ev))
				answer_write(d, ev, d->default_verdict, FANGUARD_REASON_SHUTDOWN,
					     NULL);
			event_release(d, ev, NULL, true);
		}
	}
	while (d->pending) {
		struct pending_mark *p = d->pending;

		d->pending = p->next;
		safe_close(p->fd);
		free(p);
	}
	safe_close(d->fan_fd);
	safe_close(d->wake_fd);
	queue_done(&d->queue);
	inflight_done(&d->inflight);
	pthread_mutex_destroy(&d->lock);
	pthread_rwlock_destroy(&d->fan_fd_lock);
	pthread_cond_destroy(&d->keeper_cond);
	pthread_cond_destroy(&d->exit_cond);
	free(d);
	fg_unref(fg);
}

void domain_unref(struct domain *d)
{
	if (d && atomic_fetch_sub(&d->refs, 1) == 1)
		domain_free(d);
}

static int domain_thread_enter(struct domain *d)
{
	int r = budget_take(&d->fg->budget, d->cls == FANGUARD_MOUNT_LOCAL, d->owner, 1);

	if (r < 0) {
		stat_inc(&d->stats.budget_refused);
		return r;
	}
	domain_ref(d);
	d->n_running_threads++;
	return 0;
}

void domain_thread_exit(struct domain *d)
{
	budget_put(&d->fg->budget, d->cls == FANGUARD_MOUNT_LOCAL, d->owner, 1);
	pthread_mutex_lock(&d->lock);
	d->n_running_threads--;
	pthread_cond_broadcast(&d->exit_cond);
	pthread_mutex_unlock(&d->lock);
	domain_unref(d);
}

int domain_thread_spawn_locked(struct domain *d, pthread_t *ret, const char *name,
			       void *(*fn)(void *), void *arg)
{
	int r = domain_thread_enter(d);

	if (r < 0)
		return r;
	r = fg_thread_start(ret, name, fn, arg, /* detached= */ true);
	if (r < 0) {
		budget_put(&d->fg->budget, d->cls == FANGUARD_MOUNT_LOCAL, d->owner, 1);
		d->n_running_threads--;
		/* The caller holds a reference: this is never the last. */
		atomic_fetch_sub(&d->refs, 1);
	}
	return r;
}
