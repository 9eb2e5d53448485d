/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Uncovered mounts (coverage-internal.h). The list is small (mounts that
 * failed), keyed by mount id. Logging is bounded: a mount is logged once
 * per cause while it stays uncovered, and at most COVERAGE_BURST mounts per
 * cause per COVERAGE_WINDOW; the rest is counted and summarised in one line
 * (coverage_summarise()). 300 mounts hitting the group limit give a handful
 * of lines, not one per mount per rescan. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include "coverage-internal.h"
#include "fg-internal.h"
#include "macro.h"
#include "mounts.h"
#include "time-util.h"

#define COVERAGE_BURST 5
#define COVERAGE_WINDOW (10 * USEC_PER_SEC)

void coverage_init(struct coverage *c)
{
	*c = (struct coverage){};
	pthread_mutex_init(&c->lock, NULL);
}

void coverage_done(struct coverage *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].mount_point);
	free(c->v);
	c->v = NULL;
	c->n = c->cap = 0;
	pthread_mutex_destroy(&c->lock);
}

enum uncovered_cause uncovered_cause_of_errno(int err)
{
	switch (err < 0 ? -err : err) {
	case EMFILE:
		return UNCOVERED_GROUP_LIMIT;
	case ENOSPC:
		return UNCOVERED_MARK_LIMIT;
	case EACCES:
	case EPERM:
		return UNCOVERED_PERMISSION;
	case EUSERS:
		return UNCOVERED_THREAD_BUDGET;
	default:
		return UNCOVERED_MARK_ERROR;
	}
}

const char *uncovered_cause_to_string(enum uncovered_cause c)
{
	static const char *const s[_UNCOVERED_CAUSE_MAX] = {
		[UNCOVERED_GROUP_LIMIT] = "group-limit",
		[UNCOVERED_MARK_LIMIT] = "mark-limit",
		[UNCOVERED_PERMISSION] = "permission",
		[UNCOVERED_NAMESPACE] = "namespace",
		[UNCOVERED_HUNG_DAEMON] = "hung-daemon",
		[UNCOVERED_THREAD_BUDGET] = "thread-budget",
		[UNCOVERED_MARK_ERROR] = "mark-error",
	};

	return (unsigned) c < _UNCOVERED_CAUSE_MAX ? s[c] : "?";
}

const char *uncovered_cause_hint(enum uncovered_cause c)
{
	switch (c) {
	case UNCOVERED_GROUP_LIMIT:
		return "no fanotify group left for this user: raise the sysctl "
		       "fs.fanotify.max_user_groups, or lower max-groups so FUSE mounts share "
		       "groups";
	case UNCOVERED_MARK_LIMIT:
		return "no fanotify mark left for this user: raise the sysctl "
		       "fs.fanotify.max_user_marks (or run with CAP_SYS_ADMIN for unlimited marks)";
	case UNCOVERED_PERMISSION:
		return "closed to root: a FUSE mount without allow_other can only be scanned with "
		       "/sys/module/fuse/parameters/allow_sys_admin_access set to Y";
	case UNCOVERED_NAMESPACE:
		return "in another mount namespace, closed to root: a user's FUSE mount made in "
		       "their user namespace opens to root only with "
		       "/sys/module/fuse/parameters/allow_sys_admin_access set to Y";
	case UNCOVERED_HUNG_DAEMON:
		return "its daemon hung in a shared group and no group of its own could be made";
	case UNCOVERED_THREAD_BUDGET:
		return "its group's threads do not fit the thread budget: raise max-threads";
	default:
		return "the mark could not be placed";
	}
}

static struct coverage_entry *find_locked(struct coverage *c, uint64_t mnt_id)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].mnt_id == mnt_id)
			return &c->v[i];
	return NULL;
}

static void window_roll_locked(struct coverage *c, uint64_t now)
{
	if (now - c->window_start < COVERAGE_WINDOW)
		return;
	c->window_start = now;
	memset(c->logged, 0, sizeof(c->logged));
}

void coverage_report_uncovered(struct fanguard *fg, uint64_t mnt_id, const char *mount_point,
			       enum uncovered_cause cause, int err)
{
	struct coverage *c = &fg->coverage;
	struct coverage_entry *e;
	uint64_t now = now_usec();
	bool log = false;
	size_t total;

	if ((unsigned) cause >= _UNCOVERED_CAUSE_MAX)
		cause = UNCOVERED_MARK_ERROR;
	err = err < 0 ? -err : err;
	atomic_fetch_add_explicit(&c->reports[cause], 1, memory_order_relaxed);
	pthread_mutex_lock(&c->lock);
	e = find_locked(c, mnt_id);
	if (e && e->cause == cause && e->err == err) {
		pthread_mutex_unlock(&c->lock);
		return; /* known: said once */
	}
	if (!e) {
		if (c->n == c->cap) {
			size_t cap = c->cap ? 2 * c->cap : 16;
			struct coverage_entry *n = realloc(c->v, cap * sizeof(*n));

			if (!n) {
				pthread_mutex_unlock(&c->lock);
				fg_log(fg, LOG_ERR, "mount %llu '%s' is NOT covered (%s): %s",
				       (unsigned long long) mnt_id, mount_point,
				       uncovered_cause_to_string(cause), strerror(err));
				return;
			}
			c->v = n;
			c->cap = cap;
		}
		e = &c->v[c->n++];
		*e = (struct coverage_entry){.mnt_id = mnt_id, .since = now};
	}
	free(e->mount_point);
	e->mount_point = strdup(mount_point ? mount_point : "?");
	e->cause = cause;
	e->err = err;
	total = c->n;
	window_roll_locked(c, now);
	if (c->logged[cause] < COVERAGE_BURST) {
		c->logged[cause]++;
		log = true;
	} else
		c->suppressed[cause]++;
	pthread_mutex_unlock(&c->lock);
	if (log)
		fg_log(fg, LOG_ERR,
		       "mount %llu '%s' is NOT covered (cause: %s%s%s): %s; %zu mount%s uncovered "
		       "now",
		       (unsigned long long) mnt_id, mount_point ? mount_point : "?",
		       uncovered_cause_to_string(cause), err ? ", " : "", err ? strerror(err) : "",
		       uncovered_cause_hint(cause), total, total == 1 ? "" : "s");
}

static void remove_at_locked(struct coverage *c, size_t i)
{
	free(c->v[i].mount_point);
	c->v[i] = c->v[--c->n];
}

void coverage_report_covered(struct fanguard *fg, uint64_t mnt_id)
{
	struct coverage *c = &fg->coverage;
	struct coverage_entry *e;
	_cleanup_free_ char *mp = NULL;
	enum uncovered_cause cause = UNCOVERED_MARK_ERROR;

	pthread_mutex_lock(&c->lock);
	e = find_locked(c, mnt_id);
	if (e) {
		mp = TAKE_PTR(e->mount_point);
		cause = e->cause;
		remove_at_locked(c, (size_t) (e - c->v));
	}
	pthread_mutex_unlock(&c->lock);
	if (mp)
		fg_log(fg, LOG_NOTICE, "mount %llu '%s' is covered now (was uncovered: %s)",
		       (unsigned long long) mnt_id, mp, uncovered_cause_to_string(cause));
}

void coverage_prune(struct fanguard *fg, const struct mount_table *t)
{
	struct coverage *c = &fg->coverage;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n;) {
		const struct mount_entry *m = mount_table_find_id(t, c->v[i].mnt_id);

		/* Another namespace's (fusens.c), in no table of ours. */
		if (c->v[i].mount_point && strncmp(c->v[i].mount_point, "/proc/", 6) == 0)
			i++;
		else if (m && m->mount_point && c->v[i].mount_point &&
			 strcmp(m->mount_point, c->v[i].mount_point) == 0)
			i++;
		else
			remove_at_locked(c, i);
	}
	pthread_mutex_unlock(&c->lock);
}

void coverage_forget(struct fanguard *fg, uint64_t mnt_id)
{
	struct coverage *c = &fg->coverage;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n;)
		if (c->v[i].mnt_id == mnt_id)
			remove_at_locked(c, i);
		else
			i++;
	pthread_mutex_unlock(&c->lock);
}

void coverage_summarise(struct fanguard *fg)
{
	struct coverage *c = &fg->coverage;
	unsigned sup[_UNCOVERED_CAUSE_MAX];
	uint64_t n[_UNCOVERED_CAUSE_MAX];
	unsigned any = 0;
	uint64_t total;

	pthread_mutex_lock(&c->lock);
	memcpy(sup, c->suppressed, sizeof(sup));
	memset(c->suppressed, 0, sizeof(c->suppressed));
	pthread_mutex_unlock(&c->lock);
	for (int i = 0; i < _UNCOVERED_CAUSE_MAX; i++)
		any += sup[i];
	if (any == 0)
		return;
	total = coverage_count(fg, n);
	fg_log(fg, LOG_ERR,
	       "%u more mounts are NOT covered (not logged one by one); uncovered now: %llu "
	       "(group-limit %llu, mark-limit %llu, permission %llu, namespace %llu, hung-daemon "
	       "%llu, thread-budget %llu, mark-error %llu); see fanguardctl mounts",
	       any, (unsigned long long) total, (unsigned long long) n[UNCOVERED_GROUP_LIMIT],
	       (unsigned long long) n[UNCOVERED_MARK_LIMIT],
	       (unsigned long long) n[UNCOVERED_PERMISSION],
	       (unsigned long long) n[UNCOVERED_NAMESPACE],
	       (unsigned long long) n[UNCOVERED_HUNG_DAEMON],
	       (unsigned long long) n[UNCOVERED_THREAD_BUDGET],
	       (unsigned long long) n[UNCOVERED_MARK_ERROR]);
}

uint64_t coverage_count(struct fanguard *fg, uint64_t n[_UNCOVERED_CAUSE_MAX])
{
	struct coverage *c = &fg->coverage;
	uint64_t total;

	memset(n, 0, sizeof(uint64_t) * _UNCOVERED_CAUSE_MAX);
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n; i++)
		n[c->v[i].cause]++;
	total = c->n;
	pthread_mutex_unlock(&c->lock);
	return total;
}

int fanguard_foreach_uncovered(struct fanguard *fg, fanguard_uncovered_fn fn, void *userdata)
{
	struct coverage *c;
	int r = 0;

	if (!fg || !fn)
		return -EINVAL;
	c = &fg->coverage;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n && r >= 0; i++) {
		const struct coverage_entry *e = &c->v[i];
		struct fanguard_uncovered_info info = {
			.size = sizeof(info),
			.mnt_id = e->mnt_id,
			.mount_point = e->mount_point ? e->mount_point : "?",
			.cause = uncovered_cause_to_string(e->cause),
			.error = e->err,
			.hint = uncovered_cause_hint(e->cause),
			.since_usec = e->since,
		};

		r = fn(userdata, &info);
	}
	pthread_mutex_unlock(&c->lock);
	return r < 0 ? r : 0;
}
