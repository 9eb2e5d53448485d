/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The public API of libfanguard: options, watches, exclusions, denylist,
 * start/stop, statistics. No globals, no exit, no signal handlers; logs
 * only through the caller's callback (logq.c). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#include "fanguard-internal.h"
#include "fd-util.h"
#include "macro.h"
#include "mounts.h"
#include "procfs.h"

static const struct fanguard_class_options class_defaults[_FANGUARD_MOUNT_CLASS_MAX] = {
	[FANGUARD_MOUNT_LOCAL] = {.deadline_ms = 5000,
				  .default_verdict = FANGUARD_ALLOW,
				  .n_workers = 0,
				  .max_abandoned = 16,
				  .queue_len = 4096},
	[FANGUARD_MOUNT_FUSE] = {.deadline_ms = 1500,
				 .default_verdict = FANGUARD_ALLOW,
				 .n_workers = 2,
				 .max_abandoned = 16,
				 .queue_len = 1024},
	[FANGUARD_MOUNT_NETWORK] = {.deadline_ms = 3000,
				    .default_verdict = FANGUARD_ALLOW,
				    .n_workers = 2,
				    .max_abandoned = 16,
				    .queue_len = 1024},
};

const char *fanguard_reason_to_string(enum fanguard_reason r)
{
	static const char *const s[_FANGUARD_REASON_MAX] = {
		[FANGUARD_REASON_SCANNED] = "scanned",
		[FANGUARD_REASON_SELF] = "self",
		[FANGUARD_REASON_NOT_REGULAR] = "not-regular",
		[FANGUARD_REASON_EXCLUDED] = "excluded",
		[FANGUARD_REASON_TOO_LARGE] = "too-large",
		[FANGUARD_REASON_DEADLINE] = "deadline",
		[FANGUARD_REASON_QUEUE_FULL] = "queue-full",
		[FANGUARD_REASON_ERROR] = "error",
		[FANGUARD_REASON_SHUTDOWN] = "shutdown",
		[FANGUARD_REASON_NO_SCANNER] = "no-scanner",
	};

	return (unsigned) r < _FANGUARD_REASON_MAX && s[r] ? s[r] : "?";
}

const char *fanguard_mount_class_to_string(enum fanguard_mount_class c)
{
	static const char *const s[_FANGUARD_MOUNT_CLASS_MAX] = {
		[FANGUARD_MOUNT_LOCAL] = "local",
		[FANGUARD_MOUNT_FUSE] = "fuse",
		[FANGUARD_MOUNT_NETWORK] = "network",
	};

	return (unsigned) c < _FANGUARD_MOUNT_CLASS_MAX ? s[c] : "?";
}

struct thread_start {
	void *(*fn)(void *);
	void *arg;
	char name[16];
};

/* A thread names itself (PR_SET_NAME): naming another thread writes
 * /proc/self/task/TID/comm, a write open that fanguardd's seccomp filter
 * forbids once it is loaded (threads also start after that). */
static void *thread_trampoline(void *userdata)
{
	struct thread_start ts = *(struct thread_start *) userdata;

	free(userdata);
	(void) pthread_setname_np(pthread_self(), ts.name);
	return ts.fn(ts.arg);
}

int fg_thread_start(pthread_t *ret, const char *name, void *(*fn)(void *), void *arg, bool detached)
{
	struct thread_start *ts = calloc(1, sizeof(*ts));
	sigset_t all, old;
	pthread_attr_t attr;
	int r;

	if (!ts)
		return -ENOMEM;
	ts->fn = fn;
	ts->arg = arg;
	(void) snprintf(ts->name, sizeof(ts->name), "%s", name);
	/* The embedding program's signal handlers must never run on our
	 * threads, and a signal must never interrupt our syscalls. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_attr_init(&attr);
	if (detached)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = -pthread_create(ret, &attr, thread_trampoline, ts);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		free(ts);
	return r;
}

static void fg_destroy(struct fanguard *fg)
{
	struct domain *d;

	logq_stop(fg->logq);
	mountwatch_free(fg);
	while ((d = fg->domains)) {
		fg->domains = d->next;
		domain_free(d);
	}
	for (size_t i = 0; i < fg->n_excluded_paths; i++)
		free(fg->excluded_paths[i]);
	free(fg->excluded_paths);
	free(fg->excluded_pids);
	free(fg->excluded_pid_starts);
	free(fg->excluded_uids);
	for (size_t i = 0; i < fg->n_excluded_exes; i++)
		free(fg->excluded_exes[i]);
	free(fg->excluded_exes);
	denylist_slot_done(&fg->deny);
	scanners_free(fg);
	while (fg->watches) {
		struct fg_watch *w = fg->watches;

		fg->watches = w->next;
		watch_record_free(w);
	}
	logq_free(fg->logq);
	pthread_rwlock_destroy(&fg->cfg_lock);
	cache_done(&fg->cache);
	pthread_mutex_destroy(&fg->lock);
	free(fg);
}

void fg_ref(struct fanguard *fg)
{
	atomic_fetch_add(&fg->refs, 1);
}

void fg_unref(struct fanguard *fg)
{
	if (atomic_fetch_sub(&fg->refs, 1) == 1)
		fg_destroy(fg);
}

static int options_fill(const struct fanguard_options *in, struct fanguard_options *o)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	memset(o, 0, sizeof(*o));
	if (in) {
		/* Older callers pass a shorter struct: take what they know. */
		if (in->size < offsetof(struct fanguard_options, cls) || in->size > 4096)
			return -EINVAL;
		memcpy(o, in, in->size < sizeof(*o) ? in->size : sizeof(*o));
		if (in->size > sizeof(*o)) {
			/* A newer caller: its extra fields must be zero. */
			for (size_t i = sizeof(*o); i < in->size; i++)
				if (((const uint8_t *) in)[i] != 0)
					return -E2BIG;
		}
	}
	o->size = sizeof(*o);
	if (o->events == 0)
		o->events = FANGUARD_EVENT_OPEN | FANGUARD_EVENT_EXEC;
	if (o->events & ~(FANGUARD_EVENT_OPEN | FANGUARD_EVENT_EXEC | FANGUARD_EVENT_ACCESS))
		return -EINVAL;
	for (int c = 0; c < _FANGUARD_MOUNT_CLASS_MAX; c++) {
		struct fanguard_class_options *co = &o->cls[c];
		const struct fanguard_class_options *def = &class_defaults[c];

		if (co->deadline_ms == 0)
			co->deadline_ms = def->deadline_ms;
		if (co->deadline_ms > 3600 * 1000)
			return -EINVAL;
		if (co->default_verdict == 0)
			co->default_verdict = def->default_verdict;
		if (co->default_verdict != FANGUARD_ALLOW && co->default_verdict != FANGUARD_DENY)
			return -EINVAL;
		if (co->n_workers == 0)
			co->n_workers =
				def->n_workers ? def->n_workers : (unsigned) (ncpu < 2 ? 2 : ncpu);
		if (co->n_workers > 1024)
			return -EINVAL;
		if (co->max_abandoned == 0)
			co->max_abandoned = def->max_abandoned;
		if (co->queue_len == 0)
			co->queue_len = def->queue_len;
		if (co->queue_len > (1u << 24))
			return -EINVAL;
	}
	if (o->max_scan_bytes == 0)
		o->max_scan_bytes = 256ULL << 20;
	if (o->deny_errno == 0)
		o->deny_errno = EPERM;
	if (o->deny_errno < 0 || o->deny_errno > 255)
		return -EINVAL;
	if (o->log_max_priority == 0)
		o->log_max_priority = LOG_INFO;
	if (o->log_queue_len == 0)
		o->log_queue_len = 8192;
	if (o->loopback_policy > FANGUARD_LOOPBACK_THROUGH)
		return -EINVAL;
	return 0;
}

int fanguard_new(const struct fanguard_options *opts, struct fanguard **ret)
{
	struct fanguard *fg;
	struct scanner *sha256;
	int r;

	if (!ret)
		return -EINVAL;
	fg = calloc(1, sizeof(*fg));
	if (!fg)
		return -ENOMEM;
	r = options_fill(opts, &fg->opts);
	if (r < 0) {
		free(fg);
		return r;
	}
	fg->self_pid = getpid();
	atomic_store(&fg->refs, 1);
	pthread_mutex_init(&fg->lock, NULL);
	pthread_rwlock_init(&fg->cfg_lock, NULL);
	denylist_slot_init(&fg->deny);
	cache_init(&fg->cache);
	r = logq_new(fg, fg->opts.log_queue_len, &fg->logq);
	if (r < 0) {
		fg_destroy(fg);
		return r;
	}
	/* The built-in scanner; clamd and YARA are added by their calls. */
	r = scan_sha256_new(fg, &sha256);
	if (r < 0) {
		fg_destroy(fg);
		return r;
	}
	scanner_append(fg, sha256);
	*ret = fg;
	return 0;
}

struct fanguard *fanguard_free(struct fanguard *fg)
{
	if (!fg)
		return NULL;
	(void) fanguard_stop(fg, 2000);
	fg_unref(fg);
	return NULL;
}

void watch_record_free(struct fg_watch *w)
{
	if (!w)
		return;
	free(w->path);
	free(w->mount_point);
	free(w->fstype);
	free(w->evidence);
	free(w->origin);
	free(w->backing_mnt_ids);
	free(w);
}

/* NULL on OOM: the watch still works, it is only missing from the list. */
struct fg_watch *watch_record_new(const char *path, const struct mount_entry *me,
				  enum fanguard_mount_class cls, uint32_t flags)
{
	struct fg_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->path = strdup(path);
	w->mount_point = strdup(me->mount_point ? me->mount_point : "?");
	w->fstype = strdup(me->fstype ? me->fstype : "?");
	w->evidence = strdup(me->class_reason ? me->class_reason : "");
	w->mount_class = mount_class_to_string(me->class);
	w->domain_class = cls;
	w->mnt_id = me->mnt_id;
	w->flags = flags;
	if (!w->path || !w->mount_point || !w->fstype || !w->evidence) {
		watch_record_free(w);
		return NULL;
	}
	return w;
}

void watch_record_append_locked(struct fanguard *fg, struct fg_watch *w)
{
	w->next = NULL;
	if (fg->watches_tail)
		fg->watches_tail->next = w;
	else
		fg->watches = w;
	fg->watches_tail = w;
}

int domain_class_of(enum mount_class c, enum fanguard_mount_class *ret)
{
	switch (c) {
	case MOUNT_CLASS_LOCAL:
		*ret = FANGUARD_MOUNT_LOCAL;
		return 0;
	case MOUNT_CLASS_FUSE:
	case MOUNT_CLASS_FUSE_BACKED:
		*ret = FANGUARD_MOUNT_FUSE;
		return 0;
	case MOUNT_CLASS_NETWORK:
		*ret = FANGUARD_MOUNT_NETWORK;
		return 0;
	default:
		return -EINVAL; /* pseudo filesystems are never watched */
	}
}

int domain_get_locked(struct fanguard *fg, enum fanguard_mount_class cls, uint64_t mnt_id,
		      struct domain **ret, bool *ret_created)
{
	/* Local mounts share a group; each FUSE-backed or network mount has its
	 * own, keyed by its mount id. */
	uint64_t key = cls == FANGUARD_MOUNT_LOCAL ? 0 : mnt_id;
	struct domain *d;
	char label[48];
	int r;

	*ret_created = false;
	for (d = fg->domains; d; d = d->next)
		if (d->cls == cls && (cls == FANGUARD_MOUNT_LOCAL || d->fuse_mnt_id == key)) {
			*ret = d;
			return 0;
		}
	if (cls == FANGUARD_MOUNT_LOCAL)
		(void) snprintf(label, sizeof(label), "local");
	else
		(void) snprintf(label, sizeof(label), "%s/%llu",
				fanguard_mount_class_to_string(cls), (unsigned long long) key);
	r = domain_new(fg, cls, key, label, &d);
	if (r < 0)
		return r;
	if (fg->started) {
		r = domain_start(d);
		if (r < 0) {
			domain_stop_begin(d);
			(void) domain_stop_finish(d, deadline_after(USEC_PER_SEC));
			domain_free(d);
			return r;
		}
	}
	d->next = fg->domains;
	fg->domains = d;
	fg->n_domains++;
	*ret = d;
	*ret_created = true;
	return 0;
}

int fanguard_watch(struct fanguard *fg, const char *path, uint32_t flags)
{
	_cleanup_close_ int fd = -EBADF;
	struct mount_table *table = NULL;
	const struct mount_entry *me;
	enum fanguard_mount_class cls;
	struct domain *d;
	struct fg_watch *w = NULL;
	uint64_t mnt_id;
	bool created;
	int r;

	if (!fg || !path || (flags & ~FANGUARD_WATCH_FILESYSTEM))
		return -EINVAL;
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = fd_mount_entry(fd, &table, &me);
	if (r < 0)
		return r;
	if (domain_class_of(me->class, &cls) < 0) {
		fg_log(fg, LOG_ERR, "'%s' is on a pseudo filesystem (%s): not watching it", path,
		       me->fstype);
		mount_table_free(table);
		return -EINVAL;
	}
	fg_log(fg, LOG_INFO, "watching '%s': mount %llu '%s' (%s) is %s: %s", path,
	       (unsigned long long) me->mnt_id, me->mount_point, me->fstype,
	       mount_class_to_string(me->class), me->class_reason ? me->class_reason : "");
	mnt_id = me->mnt_id;
	w = watch_record_new(path, me, cls, flags);
	if (w)
		watch_origin_fill(fg, w, table, me);
	mount_table_free(table); /* me points into it */

	pthread_mutex_lock(&fg->lock);
	if (fg->stopped) {
		r = -ESHUTDOWN;
		goto out;
	}
	r = domain_get_locked(fg, cls, mnt_id, &d, &created);
	if (r < 0)
		goto out;
	r = domain_mark(d, fd, flags);
	if (r >= 0)
		fg->n_watches++;
	if (r >= 0 && w) {
		w->d = d;
		watch_policy_apply_locked(fg, w, d);
		watch_record_append_locked(fg, TAKE_PTR(w));
	}
out:
	pthread_mutex_unlock(&fg->lock);
	watch_record_free(w);
	return r;
}

/* Appends a copy of an absolute path to one of the exclusion lists, under
 * the config write lock. */
static int exclusion_add(struct fanguard *fg, char ***list, size_t *n_list, const char *path)
{
	char *copy, **n;

	if (!fg || !path || path[0] != '/')
		return -EINVAL;
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	pthread_rwlock_wrlock(&fg->cfg_lock);
	n = realloc(*list, (*n_list + 1) * sizeof(*n));
	if (!n) {
		pthread_rwlock_unlock(&fg->cfg_lock);
		free(copy);
		return -ENOMEM;
	}
	n[(*n_list)++] = copy;
	*list = n;
	pthread_rwlock_unlock(&fg->cfg_lock);
	return 0;
}

int fanguard_exclude_path(struct fanguard *fg, const char *prefix)
{
	if (!fg)
		return -EINVAL;
	return exclusion_add(fg, &fg->excluded_paths, &fg->n_excluded_paths, prefix);
}

int fanguard_exclude_pid(struct fanguard *fg, pid_t pid)
{
	uint64_t start = 0, *starts;
	pid_t *n;

	if (!fg || pid <= 0)
		return -EINVAL;
	if (proc_read_starttime(pid, &start) < 0)
		start = 0;
	pthread_rwlock_wrlock(&fg->cfg_lock);
	n = realloc(fg->excluded_pids, (fg->n_excluded_pids + 1) * sizeof(*n));
	if (!n) {
		pthread_rwlock_unlock(&fg->cfg_lock);
		return -ENOMEM;
	}
	fg->excluded_pids = n;
	/* Its start time, so that a later process with the same pid is not
	 * excluded too (domain.c pid_excluded()). */
	starts = realloc(fg->excluded_pid_starts, (fg->n_excluded_pids + 1) * sizeof(*starts));
	if (!starts) {
		pthread_rwlock_unlock(&fg->cfg_lock);
		return -ENOMEM;
	}
	fg->excluded_pid_starts = starts;
	starts[fg->n_excluded_pids] = start;
	n[fg->n_excluded_pids++] = pid;
	pthread_rwlock_unlock(&fg->cfg_lock);
	return 0;
}

int fanguard_start(struct fanguard *fg)
{
	int r = 0;

	if (!fg)
		return -EINVAL;
	pthread_mutex_lock(&fg->lock);
	if (fg->stopped) {
		r = -ESHUTDOWN;
		goto out;
	}
	if (fg->started)
		goto out;
	r = logq_start(fg->logq);
	if (r < 0)
		goto out;
	for (struct domain *d = fg->domains; d; d = d->next) {
		r = domain_start(d);
		if (r < 0)
			goto out;
	}
	fg->started = true;
	/* New mounts under fanguard_watch_tree() paths. */
	r = mountwatch_start(fg);
out:
	pthread_mutex_unlock(&fg->lock);
	return r;
}

int fanguard_stop(struct fanguard *fg, uint32_t timeout_ms)
{
	usec_t deadline = deadline_after((usec_t) timeout_ms * USEC_PER_MSEC);
	bool all = true;

	if (!fg)
		return -EINVAL;
	pthread_mutex_lock(&fg->lock);
	if (fg->stopped) {
		pthread_mutex_unlock(&fg->lock);
		return 0;
	}
	fg->stopped = true;
	pthread_mutex_unlock(&fg->lock);
	/* After this no domain is added or released (mountwatch.c). */
	mountwatch_stop(fg);
	/* Domains can no longer be added: walk them without the lock, so a
	 * stuck domain's wait does not hold it. */
	for (struct domain *d = fg->domains; d; d = d->next)
		domain_stop_begin(d);
	for (struct domain *d = fg->domains; d; d = d->next)
		all = domain_stop_finish(d, deadline) && all;
	logq_stop(fg->logq);
	return all ? 0 : -ETIMEDOUT;
}

int fanguard_get_stats(struct fanguard *fg, struct fanguard_stats *st)
{
	struct fanguard_stats s = {0};
	size_t size;

	if (!fg || !st || st->size < offsetof(struct fanguard_stats, events_answered))
		return -EINVAL;
	size = st->size < sizeof(s) ? st->size : sizeof(s);
	pthread_mutex_lock(&fg->lock);
	for (struct domain *d = fg->domains; d; d = d->next) {
		struct domain_stats *ds = &d->stats;

		s.events_read += atomic_load(&ds->read);
		s.events_answered += atomic_load(&ds->answered);
		s.allowed += atomic_load(&ds->allowed);
		s.denied += atomic_load(&ds->denied);
		s.response_errors += atomic_load(&ds->response_errors);
		s.workers_abandoned += atomic_load(&ds->abandoned);
		s.workers_replaced += atomic_load(&ds->replaced);
		s.bytes_scanned += atomic_load(&ds->bytes_scanned);
		s.kernel_open_errors += atomic_load(&ds->open_errors);
		s.readers_added += atomic_load(&ds->readers_added);
		for (int i = 0; i < _FANGUARD_REASON_MAX; i++)
			s.by_reason[i] += atomic_load(&ds->by_reason[i]);
		pthread_mutex_lock(&d->lock);
		s.pending += d->n_inflight;
		pthread_mutex_unlock(&d->lock);
	}
	/* Domains released after their mount went away (mountwatch.c). */
	s.events_read += atomic_load(&fg->retired.read);
	s.events_answered += atomic_load(&fg->retired.answered);
	s.allowed += atomic_load(&fg->retired.allowed);
	s.denied += atomic_load(&fg->retired.denied);
	s.response_errors += atomic_load(&fg->retired.response_errors);
	s.workers_abandoned += atomic_load(&fg->retired.abandoned);
	s.workers_replaced += atomic_load(&fg->retired.replaced);
	s.bytes_scanned += atomic_load(&fg->retired.bytes_scanned);
	s.kernel_open_errors += atomic_load(&fg->retired.open_errors);
	s.readers_added += atomic_load(&fg->retired.readers_added);
	for (int i = 0; i < _FANGUARD_REASON_MAX; i++)
		s.by_reason[i] += atomic_load(&fg->retired.by_reason[i]);
	s.n_groups = fg->n_domains;
	s.n_watches = fg->n_watches;
	pthread_mutex_unlock(&fg->lock);
	s.log_dropped = logq_dropped(fg->logq);
	s.cache_marks_added = atomic_load(&fg->cache.marks_added);
	s.cache_marks_revoked = atomic_load(&fg->cache.marks_revoked);
	s.cache_marks_failed = atomic_load(&fg->cache.marks_failed);
	s.cache_flushes = atomic_load(&fg->cache.flushes);
	s.size = (uint32_t) size;
	memcpy(st, &s, size);
	return 0;
}

/* --- service support: reload, health, enumeration ---------------------------- */

int fanguard_set_exclude_paths(struct fanguard *fg, const char *const *prefixes, size_t n)
{
	char **fresh, **old;
	size_t n_old;

	if (!fg || (n > 0 && !prefixes))
		return -EINVAL;
	fresh = calloc(n ? n : 1, sizeof(*fresh));
	if (!fresh)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!prefixes[i] || prefixes[i][0] != '/' || !(fresh[i] = strdup(prefixes[i]))) {
			int r = prefixes[i] && prefixes[i][0] == '/' ? -ENOMEM : -EINVAL;

			for (size_t j = 0; j < i; j++)
				free(fresh[j]);
			free(fresh);
			return r;
		}
	}
	pthread_rwlock_wrlock(&fg->cfg_lock);
	old = fg->excluded_paths;
	n_old = fg->n_excluded_paths;
	fg->excluded_paths = fresh;
	fg->n_excluded_paths = n;
	pthread_rwlock_unlock(&fg->cfg_lock);
	for (size_t i = 0; i < n_old; i++)
		free(old[i]);
	free(old);
	return 0;
}

int fanguard_exclude_uid(struct fanguard *fg, uid_t uid)
{
	uid_t *n;

	if (!fg || uid == (uid_t) -1)
		return -EINVAL;
	pthread_rwlock_wrlock(&fg->cfg_lock);
	n = realloc(fg->excluded_uids, (fg->n_excluded_uids + 1) * sizeof(*n));
	if (!n) {
		pthread_rwlock_unlock(&fg->cfg_lock);
		return -ENOMEM;
	}
	n[fg->n_excluded_uids++] = uid;
	fg->excluded_uids = n;
	pthread_rwlock_unlock(&fg->cfg_lock);
	return 0;
}

int fanguard_exclude_exe(struct fanguard *fg, const char *path)
{
	if (!fg)
		return -EINVAL;
	return exclusion_add(fg, &fg->excluded_exes, &fg->n_excluded_exes, path);
}

int fanguard_set_exclude_subjects(struct fanguard *fg, const uid_t *uids, size_t n_uids,
				  const char *const *exes, size_t n_exes)
{
	_cleanup_free_ uid_t *fresh_uids = NULL;
	char **fresh_exes, **old_exes;
	uid_t *old_uids;
	size_t n_old;

	if (!fg || (n_uids > 0 && !uids) || (n_exes > 0 && !exes))
		return -EINVAL;
	for (size_t i = 0; i < n_uids; i++)
		if (uids[i] == (uid_t) -1)
			return -EINVAL;
	for (size_t i = 0; i < n_exes; i++)
		if (!exes[i] || exes[i][0] != '/')
			return -EINVAL;
	fresh_uids = calloc(n_uids ? n_uids : 1, sizeof(*fresh_uids));
	fresh_exes = calloc(n_exes ? n_exes : 1, sizeof(*fresh_exes));
	if (!fresh_uids || !fresh_exes) {
		free(fresh_exes);
		return -ENOMEM;
	}
	if (n_uids > 0)
		memcpy(fresh_uids, uids, n_uids * sizeof(*uids));
	for (size_t i = 0; i < n_exes; i++) {
		fresh_exes[i] = strdup(exes[i]);
		if (!fresh_exes[i]) {
			for (size_t j = 0; j < i; j++)
				free(fresh_exes[j]);
			free(fresh_exes);
			return -ENOMEM;
		}
	}
	pthread_rwlock_wrlock(&fg->cfg_lock);
	old_uids = fg->excluded_uids;
	fg->excluded_uids = TAKE_PTR(fresh_uids);
	fg->n_excluded_uids = n_uids;
	old_exes = fg->excluded_exes;
	n_old = fg->n_excluded_exes;
	fg->excluded_exes = fresh_exes;
	fg->n_excluded_exes = n_exes;
	pthread_rwlock_unlock(&fg->cfg_lock);
	free(old_uids);
	for (size_t i = 0; i < n_old; i++)
		free(old_exes[i]);
	free(old_exes);
	return 0;
}

int fanguard_check_health(struct fanguard *fg, uint32_t grace_ms)
{
	usec_t now = now_usec(), grace = (usec_t) grace_ms * USEC_PER_MSEC;
	int r = 0;

	if (!fg)
		return -EINVAL;
	pthread_mutex_lock(&fg->lock);
	if (fg->stopped)
		r = -ESHUTDOWN;
	for (struct domain *d = fg->domains; d && r == 0; d = d->next) {
		pthread_mutex_lock(&d->lock);
		if (d->started && !d->stopping) {
			/* The keeper answers the oldest event at its deadline: one
			 * still unanswered well after it means the keeper is stuck. */
			if (d->inflight_head && d->inflight_head->deadline_usec + grace < now)
				r = -ETIME;
			else if (d->n_active_readers == 0 || !d->keeper_running)
				r = -ESRCH;
		}
		pthread_mutex_unlock(&d->lock);
	}
	pthread_mutex_unlock(&fg->lock);
	return r;
}

int fanguard_foreach_watch(struct fanguard *fg, fanguard_watch_fn fn, void *userdata)
{
	int r = 0;

	if (!fg || !fn)
		return -EINVAL;
	pthread_mutex_lock(&fg->lock);
	for (struct fg_watch *w = fg->watches; w && r >= 0; w = w->next) {
		struct fanguard_watch_info info = {
			.size = sizeof(info),
			.path = w->path,
			.mount_point = w->mount_point,
			.fstype = w->fstype,
			.mount_class = w->mount_class,
			.evidence = w->evidence,
			.domain_class = w->domain_class,
			.mnt_id = w->mnt_id,
			.flags = w->flags,
			.loopback = w->loopback,
			.origin = w->origin ? w->origin : "",
			.content_at_backing = w->content_at_backing,
			.from_tree = w->from_tree,
			.group_events_read = w->d ? atomic_load(&w->d->stats.read) : 0,
		};

		r = fn(userdata, &info);
	}
	pthread_mutex_unlock(&fg->lock);
	return r < 0 ? r : 0;
}
