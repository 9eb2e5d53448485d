/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A domain's lifetime: references, thread accounting, freeing. Lifecycle
 * operations (start, stop, marks) are domain.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/fsuid.h>
#include <syslog.h>
#include <unistd.h>
#include "answer-internal.h"
#include "domain-state-internal.h"
#include "fanops-internal.h"
#include "fg-internal.h"
#include "macro.h"

void domain_ref(struct domain *d)
{
	atomic_fetch_add(&d->refs, 1);
}

static void domain_free(struct domain *d)
{
	struct fanguard *fg = d->fg;
	struct fg_event *ev;

	/* No thread runs any more, so the queue is empty: workers drain it
	 * before they exit, and readers only fill it while they run. Should an
	 * event be left all the same, closing the group below allows it. */
	if (d->queue.cap > 0) {
		queue_close(&d->queue);
		while (queue_pop(&d->queue, &ev) >= 0) {
			d->ops->close_event_fd(d->ops_userdata, ev->fd);
			free(ev);
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
	/* The last thread to leave dropped its reference under d->lock
	 * (domain_thread_exit()) and may still be returning from the unlock:
	 * take the lock once, so that the unlock is over before the destroy. */
	pthread_mutex_lock(&d->lock);
	pthread_mutex_unlock(&d->lock);
	queue_done(&d->queue);
	inflight_done(&d->inflight);
	pthread_mutex_destroy(&d->lock);
	pthread_rwlock_destroy(&d->fan_fd_lock);
	pthread_cond_destroy(&d->keeper_cond);
	pthread_cond_destroy(&d->exit_cond);
	free(d->mark_path);
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

void domain_take_fs_ids(struct domain *d, bool *taken)
{
	if (*taken || !atomic_load_explicit(&d->fs_ids, memory_order_acquire))
		return;
	/* Group first: CAP_SETGID stays; the uid change drops only the
	 * capabilities of file access, not CAP_SYS_ADMIN (fuse's
	 * allow_sys_admin_access). */
	(void) setfsgid(d->fs_gid);
	(void) setfsuid(d->fs_uid);
	*taken = true;
}

void domain_thread_exit(struct domain *d)
{
	bool last;

	budget_put(&d->fg->budget, d->cls == FANGUARD_MOUNT_LOCAL, d->owner, 1);
	/* The reference goes with the announcement, under the lock: a stopper
	 * waiting for the threads (it holds a reference) then drops the last
	 * one itself and frees the domain, and the listener with it, on its
	 * own thread. Dropped after the announcement, it could be this
	 * detached thread's, freeing the listener (and libcrypto's objects)
	 * while the process that stopped it already exits (TSan saw that). A
	 * thread is the last only where nobody waits: a domain released while
	 * this thread was stuck in I/O. */
	pthread_mutex_lock(&d->lock);
	d->n_running_threads--;
	last = atomic_fetch_sub(&d->refs, 1) == 1;
	pthread_cond_broadcast(&d->exit_cond);
	pthread_mutex_unlock(&d->lock);
	if (last)
		domain_free(d);
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
