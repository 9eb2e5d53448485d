/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The registry of domains. Everything that creates, starts, stops or
 * releases a domain goes through here, under fg->lock (never held across a
 * wait on threads: stops wait with the lock dropped, on references).
 *
 * Mount ids are reused at once: a domain is keyed by (class, mount id,
 * device), and a domain being released leaves the list before it stops, so
 * a watch racing the release either got its reference before (and the
 * domain lives on, stopped, until it drops it) or creates a fresh one. */
#include <errno.h>
#include <stdlib.h>
#include <syslog.h>
#include "domain-internal.h"
#include "fg-internal.h"
#include "registry-internal.h"

int registry_get_locked(struct fanguard *fg, enum fanguard_mount_class cls, uint64_t mnt_id,
			unsigned dev_major, unsigned dev_minor, uid_t owner, struct domain **ret,
			bool *ret_created)
{
	struct domain *d;
	int r;

	*ret_created = false;
	if (fg->stopped)
		return -ESHUTDOWN;
	for (d = fg->domains; d; d = d->next)
		if (d->cls == cls && (cls == FANGUARD_MOUNT_LOCAL ||
				      (d->mnt_id == mnt_id && d->dev_major == dev_major &&
				       d->dev_minor == dev_minor))) {
			domain_ref(d);
			*ret = d;
			return 0;
		}
	if (cls == FANGUARD_MOUNT_LOCAL)
		mnt_id = dev_major = dev_minor = owner = 0;
	r = domain_new(fg, cls, mnt_id, dev_major, dev_minor, owner, &d);
	if (r < 0)
		return r;
	if (fg->started) {
		r = domain_start(d);
		if (r < 0) {
			domain_stop_begin(d);
			(void) domain_stop_finish(d, deadline_after(USEC_PER_SEC));
			/* What it counted (threads refused...) still counts. */
			domain_stats_add(&fg->retired, &d->stats);
			domain_unref(d);
			return r;
		}
	}
	/* The registry's reference, and the caller's. */
	domain_ref(d);
	d->next = fg->domains;
	fg->domains = d;
	fg->n_domains++;
	*ret = d;
	*ret_created = true;
	return 0;
}

int registry_start_locked(struct fanguard *fg)
{
	int r = 0;

	for (struct domain *d = fg->domains; d; d = d->next) {
		int k = domain_start(d);

		if (k < 0 && r == 0)
			r = k;
	}
	return r;
}

static void unlink_locked(struct fanguard *fg, struct domain *d)
{
	for (struct domain **p = &fg->domains; *p; p = &(*p)->next)
		if (*p == d) {
			*p = d->next;
			fg->n_domains--;
			break;
		}
	d->released = true;
}

void registry_release(struct fanguard *fg, struct domain *d)
{
	bool ok;

	pthread_mutex_lock(&fg->lock);
	if (d->released) {
		pthread_mutex_unlock(&fg->lock);
		return;
	}
	unlink_locked(fg, d);
	pthread_mutex_unlock(&fg->lock);

	domain_stop_begin(d);
	ok = domain_stop_finish(d, deadline_after(2 * USEC_PER_SEC));
	pthread_mutex_lock(&fg->lock);
	domain_stats_add(&fg->retired, &d->stats);
	pthread_mutex_unlock(&fg->lock);
	fg_log(fg, LOG_INFO,
	       "%s: released (group closed%s) after %llu events, %llu answered without reading "
	       "content",
	       d->name, ok ? ", threads exited" : "; a thread is stuck and keeps it",
	       (unsigned long long) atomic_load(&d->stats.read),
	       (unsigned long long) (atomic_load(&d->stats.by_reason[FANGUARD_REASON_EXCLUDED]) +
				     atomic_load(&d->stats.by_reason[FANGUARD_REASON_SELF]) +
				     atomic_load(&d->stats.by_reason[FANGUARD_REASON_NOT_REGULAR]) +
				     atomic_load(&d->stats.by_reason[FANGUARD_REASON_NO_SCANNER]) +
				     atomic_load(&d->stats.by_reason[FANGUARD_REASON_POLICY])));
	domain_unref(d);
}

bool registry_stop_all(struct fanguard *fg, usec_t deadline)
{
	struct domain **v;
	size_t n = 0;
	bool all = true;

	/* References, so that a concurrent release cannot free them; the
	 * waits then run without the lock. */
	pthread_mutex_lock(&fg->lock);
	v = calloc(fg->n_domains ? fg->n_domains : 1, sizeof(*v));
	for (struct domain *d = fg->domains; v && d; d = d->next) {
		domain_ref(d);
		v[n++] = d;
	}
	pthread_mutex_unlock(&fg->lock);
	if (!v) {
		/* No memory for the list: stop them one by one under the lock
		 * (stop_begin never blocks on I/O). */
		pthread_mutex_lock(&fg->lock);
		for (struct domain *d = fg->domains; d; d = d->next)
			domain_stop_begin(d);
		pthread_mutex_unlock(&fg->lock);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		domain_stop_begin(v[i]);
	for (size_t i = 0; i < n; i++)
		all = domain_stop_finish(v[i], deadline) && all;
	for (size_t i = 0; i < n; i++)
		domain_unref(v[i]);
	free(v);
	return all;
}

void registry_clear(struct fanguard *fg)
{
	struct domain *d;

	pthread_mutex_lock(&fg->lock);
	while ((d = fg->domains)) {
		unlink_locked(fg, d);
		domain_stats_add(&fg->retired, &d->stats);
		pthread_mutex_unlock(&fg->lock);
		domain_unref(d);
		pthread_mutex_lock(&fg->lock);
	}
	pthread_mutex_unlock(&fg->lock);
}
