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
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include "domain-internal.h"
#include "fg-internal.h"
#include "mounts.h"
#include "registry-internal.h"

/* Shared groups kept in reserve within the budget: depth 1 and 2. */
#define SHARED_RESERVE 2
#define DEPTH_MAX 2

unsigned registry_depth_of(int mount_class)
{
	return mount_class == MOUNT_CLASS_LOCAL		? 0
	       : mount_class == MOUNT_CLASS_FUSE_BACKED ? 2
							: 1;
}

static struct domain *find_locked(struct fanguard *fg, enum fanguard_mount_class cls,
				  uint64_t mnt_id, unsigned dev_major, unsigned dev_minor,
				  bool shared, unsigned depth)
{
	for (struct domain *d = fg->domains; d; d = d->next) {
		if (d->cls != cls)
			continue;
		if (cls == FANGUARD_MOUNT_LOCAL)
			return d;
		if (shared ? d->shared && d->depth == depth
			   : !d->shared && d->mnt_id == mnt_id && d->dev_major == dev_major &&
				     d->dev_minor == dev_minor)
			return d;
	}
	return NULL;
}

static void log_group_limit(struct fanguard *fg)
{
	FILE *f = fopen("/proc/sys/fs/fanotify/max_user_groups", "re");
	unsigned long lim = 0;
	usec_t now = now_usec();

	if (fg->group_limit_logged && now - fg->group_limit_logged < 60 * USEC_PER_SEC) {
		if (f)
			fclose(f);
		return;
	}
	fg->group_limit_logged = now;
	if (f) {
		if (fscanf(f, "%lu", &lim) != 1)
			lim = 0;
		fclose(f);
	}
	fg_log(fg, LOG_ERR,
	       "cannot make a fanotify group: EMFILE here means this user already has "
	       "fs.fanotify.max_user_groups (%lu) groups (all listeners of the uid count); raise "
	       "that sysctl or lower max-groups",
	       lim);
}

/* Called with fg->lock held: a new domain, started if the listener runs. */
static int create_locked(struct fanguard *fg, enum fanguard_mount_class cls, uint64_t mnt_id,
			 unsigned dev_major, unsigned dev_minor, uid_t owner, bool shared,
			 unsigned depth, struct domain **ret)
{
	char name[sizeof(((struct domain *) 0)->name)];
	struct domain *d;
	int r;

	if (shared)
		(void) snprintf(name, sizeof(name), "%s/shared-%u",
				fanguard_mount_class_to_string(cls), depth);
	r = domain_new(fg, cls, mnt_id, dev_major, dev_minor, owner, shared ? name : NULL, &d);
	if (r < 0)
		return r;
	d->shared = shared;
	d->depth = depth;
	/* A shared group holds mounts of any owner and cannot tell them apart
	 * per event: it is treated as untrusted (an exec whose scan fails or is
	 * late is denied; fuse_user_exec=deny denies its execs). */
	if (shared && cls != FANGUARD_MOUNT_LOCAL)
		d->untrusted = true;
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
	return 0;
}

int registry_new_own_locked(struct fanguard *fg, enum fanguard_mount_class cls, uint64_t mnt_id,
			    unsigned dev_major, unsigned dev_minor, uid_t owner,
			    struct domain **ret)
{
	int r;

	if (fg->stopped)
		return -ESHUTDOWN;
	r = create_locked(fg, cls, mnt_id, dev_major, dev_minor, owner, false, 0, ret);
	if (r == -EMFILE)
		log_group_limit(fg);
	return r;
}

int registry_get_locked(struct fanguard *fg, enum fanguard_mount_class cls, uint64_t mnt_id,
			unsigned dev_major, unsigned dev_minor, uid_t owner, unsigned depth,
			struct domain **ret, bool *ret_created)
{
	struct domain *d;
	unsigned own_budget;
	int r;

	*ret_created = false;
	if (fg->stopped)
		return -ESHUTDOWN;
	if (cls == FANGUARD_MOUNT_LOCAL)
		mnt_id = dev_major = dev_minor = owner = depth = 0;
	depth = depth < 1 ? 1 : depth > DEPTH_MAX ? DEPTH_MAX : depth;
	d = find_locked(fg, cls, mnt_id, dev_major, dev_minor, false, 0);
	if (d) {
		domain_ref(d);
		*ret = d;
		return 0;
	}
	own_budget = fg->max_groups > 1 + SHARED_RESERVE ? fg->max_groups - 1 - SHARED_RESERVE : 0;
	if (cls == FANGUARD_MOUNT_LOCAL || fg->n_domains < own_budget) {
		r = create_locked(fg, cls, mnt_id, dev_major, dev_minor, owner, false, 0, ret);
		if ((r != -EMFILE && r != -EUSERS) || cls == FANGUARD_MOUNT_LOCAL) {
			if (r == -EMFILE)
				log_group_limit(fg);
			*ret_created = r >= 0;
			return r;
		}
		/* No group of its own (the kernel's limit, or its owner's thread
		 * share is used up): covered through the shared group. */
		if (r == -EMFILE)
			log_group_limit(fg);
	}
	/* Over the budget: the shared group of its depth. */
	d = find_locked(fg, cls, 0, 0, 0, true, depth);
	if (d) {
		domain_ref(d);
		*ret = d;
		return 0;
	}
	/* Charged to the listener (owner 0), not to the first mount's owner:
	 * its threads are bounded by the group's own caps. */
	r = create_locked(fg, cls, 0, 0, 0, 0, true, depth, ret);
	if (r >= 0) {
		*ret_created = true;
		fg_log(fg, LOG_NOTICE,
		       "%s: %u groups planned (max-groups): mounts at FUSE depth %u share this "
		       "group from now on",
		       (*ret)->name, fg->max_groups, depth);
	} else if (r == -EMFILE)
		log_group_limit(fg);
	return r;
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
