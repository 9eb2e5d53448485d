/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pre-warm pass (fanguard_prewarm()): its lifecycle and its one
 * background thread, which walks the configured directories
 * (prewarm-walk.c) and caches their clean files before anyone opens them,
 * so a file's first open after a start raises no event at all.
 *
 * Must never run on a reader or worker, or at the caller's priority: the
 * thread takes IOPRIO_CLASS_IDLE and nice 19 for itself first.
 *
 * Stopping: fanguard_stop() (and a new pass) ask the thread to stop; the
 * walk checks between entries, so a stop waits at most for one file's scan,
 * bounded by the local class's deadline. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>
#include "domain-state-internal.h"
#include "fg-internal.h"
#include "macro.h"
#include "prewarm-internal.h"
#include "scan-internal.h"

/* linux/ioprio.h (not in every libc's headers) */
#define FG_IOPRIO_WHO_PROCESS 1
#define FG_IOPRIO_CLASS_IDLE 3
#define FG_IOPRIO_CLASS_SHIFT 13

#define PREWARM_MAX_PATHS 256
#define PREWARM_NICE 19

static const char *const state_names[_PREWARM_STATE_MAX] = {
	[PREWARM_OFF] = "off",
	[PREWARM_RUNNING] = "running",
	[PREWARM_DONE] = "done",
	[PREWARM_STOPPED] = "stopped",
};

static const char *const skip_names[_PREWARM_SKIP_MAX] = {
	[PREWARM_SKIP_NOT_REGULAR] = "not-regular", [PREWARM_SKIP_TOO_LARGE] = "too-large",
	[PREWARM_SKIP_OTHER_FS] = "other-fs",	    [PREWARM_SKIP_BUDGET] = "budget",
	[PREWARM_SKIP_CHANGED] = "changed",	    [PREWARM_SKIP_ERROR] = "error",
};

const char *prewarm_state_to_string(int state)
{
	return state >= 0 && state < _PREWARM_STATE_MAX ? state_names[state] : "?";
}

const char *prewarm_skip_to_string(int skip)
{
	return skip >= 0 && skip < _PREWARM_SKIP_MAX ? skip_names[skip] : "?";
}

void prewarm_init(struct fg_prewarm *pw)
{
	pthread_mutex_init(&pw->lock, NULL);
}

static void paths_free(char **paths, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

void prewarm_done(struct fg_prewarm *pw)
{
	paths_free(pw->paths, pw->n_paths);
	pw->paths = NULL;
	pw->n_paths = 0;
	fg_bg_thread_done(&pw->thread);
	pthread_mutex_destroy(&pw->lock);
}

usec_t prewarm_elapsed(const struct fg_prewarm *pw)
{
	usec_t start = atomic_load(&pw->started_usec), end = atomic_load(&pw->ended_usec);

	if (!start)
		return 0;
	if (!end)
		end = now_usec();
	return end > start ? end - start : 0;
}

/* The local domain, a new reference; NULL if there is none. */
static struct domain *local_domain(struct fanguard *fg)
{
	struct domain *found = NULL;

	pthread_mutex_lock(&fg->lock);
	for (struct domain *d = fg->domains; d && !found; d = d->next)
		if (d->cls == FANGUARD_MOUNT_LOCAL && !d->released)
			found = d;
	if (found)
		domain_ref(found);
	pthread_mutex_unlock(&fg->lock);
	return found;
}

/* Lower our own thread's priorities: CPU (nice) and I/O (idle class: served
 * only when no one else uses the disk). Both are per thread on Linux. */
static void lower_priority(struct fanguard *fg)
{
	if (setpriority(PRIO_PROCESS, 0, PREWARM_NICE) < 0)
		fg_log(fg, LOG_DEBUG, "Pre-warm: setpriority() failed, ignoring: %m");
	if (syscall(SYS_ioprio_set, FG_IOPRIO_WHO_PROCESS, 0,
		    FG_IOPRIO_CLASS_IDLE << FG_IOPRIO_CLASS_SHIFT) < 0)
		fg_log(fg, LOG_DEBUG, "Pre-warm: ioprio_set() failed, ignoring: %m");
}

static void *prewarm_main(void *userdata)
{
	struct fanguard *fg = userdata;
	struct fg_prewarm *pw = &fg->prewarm;
	struct prewarm_walk w = {.fg = fg, .pw = pw};
	uint64_t skipped = 0;

	lower_priority(fg);
	fg_log(fg, LOG_INFO, "Pre-warm: started over %zu paths", pw->n_paths);
	w.local = local_domain(fg);
	w.buf = malloc(PREWARM_BUF_SIZE);
	w.sd = scan_standin_new(fg, FANGUARD_MOUNT_LOCAL, "prewarm");
	if (!w.local || !w.buf || !w.sd) {
		fg_log(fg, LOG_WARNING, "Pre-warm: %s, not run",
		       w.local ? "out of memory" : "no local filesystem is watched");
		for (size_t i = 0; i < pw->n_paths; i++)
			prewarm_skip_entry(&w,
					   w.local ? PREWARM_SKIP_ERROR : PREWARM_SKIP_OTHER_FS);
	} else {
		for (size_t i = 0; i < pw->n_paths && !prewarm_walk_stopping(&w); i++)
			prewarm_walk_root(&w, pw->paths[i]);
	}
	scan_standin_free(w.sd);
	free(w.buf);
	if (w.local)
		domain_unref(w.local);

	atomic_store(&pw->ended_usec, now_usec());
	atomic_store(&pw->state, prewarm_walk_stopping(&w) ? PREWARM_STOPPED : PREWARM_DONE);
	for (int i = 0; i < _PREWARM_SKIP_MAX; i++)
		skipped += atomic_load(&pw->skipped[i]);
	fg_log(fg, LOG_INFO,
	       "Pre-warm: %s: %llu files seen, %llu cached, %llu dirty, %llu skipped "
	       "(%llu over the cache's budget), %.1f s",
	       prewarm_walk_stopping(&w) ? "stopped" : "done",
	       (unsigned long long) atomic_load(&pw->seen),
	       (unsigned long long) atomic_load(&pw->cached),
	       (unsigned long long) atomic_load(&pw->dirty), (unsigned long long) skipped,
	       (unsigned long long) atomic_load(&pw->skipped[PREWARM_SKIP_BUDGET]),
	       (double) prewarm_elapsed(pw) / USEC_PER_SEC);
	return NULL;
}

/* Called with pw->lock held: ends a running (or finished) pass's thread. */
static void pass_stop_locked(struct fg_prewarm *pw)
{
	fg_bg_thread_stop(&pw->thread);
}

void prewarm_stop(struct fanguard *fg)
{
	/* After fg->stopped is set: no new pass starts once we hold the lock. */
	pthread_mutex_lock(&fg->prewarm.lock);
	pass_stop_locked(&fg->prewarm);
	pthread_mutex_unlock(&fg->prewarm.lock);
}

static int paths_copy(const char *const *paths, size_t n, char ***ret)
{
	char **c;

	for (size_t i = 0; i < n; i++)
		if (!paths[i] || paths[i][0] != '/')
			return -EINVAL;
	c = calloc(n ? n : 1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!(c[i] = strdup(paths[i]))) {
			paths_free(c, i);
			return -ENOMEM;
		}
	*ret = c;
	return 0;
}

int fanguard_prewarm(struct fanguard *fg, const char *const *paths, size_t n)
{
	struct fg_prewarm *pw;
	char **copy = NULL;
	bool started, stopped;
	int r;

	if (!fg || (n > 0 && !paths))
		return -EINVAL;
	if (n > PREWARM_MAX_PATHS)
		return -E2BIG;
	r = paths_copy(paths, n, &copy);
	if (r < 0)
		return r;
	pw = &fg->prewarm;
	pthread_mutex_lock(&pw->lock);
	pthread_mutex_lock(&fg->lock);
	started = fg->started;
	stopped = fg->stopped;
	pthread_mutex_unlock(&fg->lock);
	if (stopped || !started) {
		pthread_mutex_unlock(&pw->lock);
		paths_free(copy, n);
		return stopped ? -ESHUTDOWN : -EAGAIN;
	}
	pass_stop_locked(pw);
	paths_free(pw->paths, pw->n_paths);
	pw->paths = copy;
	pw->n_paths = n;
	atomic_store(&pw->seen, 0);
	atomic_store(&pw->cached, 0);
	atomic_store(&pw->dirty, 0);
	for (int i = 0; i < _PREWARM_SKIP_MAX; i++)
		atomic_store(&pw->skipped[i], 0);
	atomic_store(&pw->ended_usec, 0);
	atomic_store(&pw->started_usec, n ? now_usec() : 0);
	atomic_store(&pw->state, n ? PREWARM_RUNNING : PREWARM_OFF);
	r = 0;
	if (n > 0) {
		r = fg_bg_thread_start(&pw->thread, "fg-prewarm", prewarm_main, fg);
		if (r < 0) {
			atomic_store(&pw->state, PREWARM_OFF);
			atomic_store(&pw->started_usec, 0);
		}
	}
	pthread_mutex_unlock(&pw->lock);
	return r;
}
