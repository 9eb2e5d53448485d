/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The event mask of a FUSE-backed domain (emask-internal.h): chosen from
 * the configuration (fanguard_set_fuse_event_mask()), a hint from the
 * daemon's argv, or the daemon's behaviour, and switched open -> access at
 * most once per domain, never back: nothing here removes scanning, an
 * access-mask mount is scanned at its first read() and at exec.
 *
 * Why: the kernel opens an event's file inside our read() of the group
 * (create_fd()). Under FAN_OPEN_PERM that is a second open of a file its
 * creator is still opening; rclone with --vfs-cache-mode off refuses it
 * after its own 5 s timeout, the read() fails (ENOENT) and the kernel
 * denies the create (DESIGN.md §2; tests/matrix/rclone-mask.sh). Under
 * FAN_ACCESS_PERM the kernel's open happens at the first read(), after the
 * creator's open completed.
 *
 * Must never: switch a local domain, remove a mark's old events before its
 * new ones are in place, or block a reader past the mount point open's
 * deadline (1 s). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <syslog.h>
#include "domain-state-internal.h"
#include "emask-internal.h"
#include "fanops-internal.h"
#include "fd-util.h"
#include "fg-internal.h"
#include "macro.h"
#include "mark-internal.h"
#include "procfs.h"

uint64_t emask_fan_mask(const struct fanguard *fg, bool access)
{
	uint64_t m = fan_mask_for(fg);

	if (access && (m & FAN_OPEN_PERM))
		m = (m & ~(uint64_t) FAN_OPEN_PERM) | FAN_ACCESS_PERM;
	return m;
}

enum fanguard_fuse_event_mask emask_configured(struct fanguard *fg, const char *mount_point)
{
	for (size_t i = 0; mount_point && i < fg->n_emask_mounts; i++)
		if (strcmp(fg->emask_mounts[i].mount_point, mount_point) == 0)
			return fg->emask_mounts[i].mask;
	return fg->emask_default;
}

int fanguard_set_fuse_event_mask(struct fanguard *fg, const char *mount_point,
				 enum fanguard_fuse_event_mask mask)
{
	struct fg_emask_mount *n;
	char *p;

	if (!fg || (mount_point && mount_point[0] != '/') ||
	    (mask != FANGUARD_FUSE_EVENT_MASK_AUTO && mask != FANGUARD_FUSE_EVENT_MASK_OPEN &&
	     mask != FANGUARD_FUSE_EVENT_MASK_ACCESS))
		return -EINVAL;
	pthread_mutex_lock(&fg->lock);
	if (!mount_point) {
		fg->emask_default = mask;
		pthread_mutex_unlock(&fg->lock);
		return 0;
	}
	for (size_t i = 0; i < fg->n_emask_mounts; i++)
		if (strcmp(fg->emask_mounts[i].mount_point, mount_point) == 0) {
			fg->emask_mounts[i].mask = mask;
			pthread_mutex_unlock(&fg->lock);
			return 0;
		}
	p = strdup(mount_point);
	n = p ? realloc(fg->emask_mounts, (fg->n_emask_mounts + 1) * sizeof(*n)) : NULL;
	if (n) {
		n[fg->n_emask_mounts++] = (struct fg_emask_mount){.mount_point = p, .mask = mask};
		fg->emask_mounts = n;
	} else
		free(p);
	pthread_mutex_unlock(&fg->lock);
	return n ? 0 : -ENOMEM;
}

void emask_domain_init(struct domain *d, const char *mount_point)
{
	struct fanguard *fg = d->fg;
	enum fanguard_fuse_event_mask m;

	atomic_store(&d->emask, fan_mask_for(fg));
	if (d->cls == FANGUARD_MOUNT_LOCAL)
		return;
	/* Called with fg->lock held (watch_place(), the registry). */
	m = emask_configured(fg, mount_point);
	d->emask_auto = m == FANGUARD_FUSE_EVENT_MASK_AUTO && mount_point;
	if (m == FANGUARD_FUSE_EVENT_MASK_ACCESS) {
		(void) snprintf(d->emask_why[1], sizeof(d->emask_why[1]), "configured%s",
				mount_point ? "" : " (shared group: the default)");
		atomic_store(&d->emask, emask_fan_mask(fg, true));
		atomic_store(&d->emask_access, true);
		return;
	}
	(void) snprintf(d->emask_why[0], sizeof(d->emask_why[0]), "%s",
			m == FANGUARD_FUSE_EVENT_MASK_OPEN ? "configured"
			: mount_point			   ? "auto: the default until the daemon "
							     "refuses our opens"
							   : "shared group: auto switching off");
}

bool emask_is_refusal(int err, usec_t blocked_usec)
{
	/* What a daemon answers an open it will not serve; not EMFILE and
	 * the like (ours), nor ECONNABORTED (an aborted connection). */
	return blocked_usec >= EMASK_REFUSAL_USEC &&
	       (err == -ENOENT || err == -EIO || err == -EBUSY || err == -ETXTBSY ||
		err == -EAGAIN || err == -ETIMEDOUT || err == -EPERM || err == -EACCES);
}

bool emask_refusal_note(usec_t now, usec_t *first, unsigned *n)
{
	if (*n == 0 || now - *first > EMASK_WINDOW_USEC) {
		*first = now;
		*n = 0;
	}
	return ++*n >= EMASK_REFUSALS;
}

static int mark_how(uint32_t flags)
{
	return (flags & FANGUARD_WATCH_MOUNT) ? FAN_MARK_MOUNT : FAN_MARK_FILESYSTEM;
}

static int group_mark(struct domain *d, unsigned how, uint64_t mask, int path_fd)
{
	char proc[FD_PROC_PATH_MAX];
	int r;

	pthread_rwlock_rdlock(&d->fan_fd_lock);
	r = d->fan_fd < 0 ? -ESHUTDOWN
			  : d->ops->mark(d->ops_userdata, d->fan_fd, how, mask, AT_FDCWD,
					 fd_proc_path(path_fd, proc));
	pthread_rwlock_unlock(&d->fan_fd_lock);
	return r;
}

int domain_emask_to_access(struct domain *d, int path_fd, uint32_t flags, const char *why)
{
	struct fanguard *fg = d->fg;
	uint64_t old, new = emask_fan_mask(fg, true);
	bool started;
	int r = 0;

	if (d->cls == FANGUARD_MOUNT_LOCAL)
		return -EINVAL;
	if (atomic_load(&d->emask_access))
		return 0;
	if (atomic_exchange(&d->emask_switching, true))
		return -EALREADY;
	/* Pending marks (domain_start()) take d->emask when placed. */
	pthread_mutex_lock(&d->lock);
	old = atomic_exchange(&d->emask, new);
	started = d->started;
	pthread_mutex_unlock(&d->lock);
	if (started) {
		/* The new events first: coverage never lapses. */
		r = group_mark(d, FAN_MARK_ADD | mark_how(flags), new, path_fd);
		if (r < 0) {
			atomic_store(&d->emask, old);
			atomic_store(&d->emask_switching, false);
			fg_log(fg, LOG_ERR, "%s: cannot switch to the access event mask (%s): %s",
			       d->name, why, strerror(-r));
			return r;
		}
		if (old & ~new) {
			int k = group_mark(d, FAN_MARK_REMOVE | mark_how(flags), old & ~new,
					   path_fd);

			if (k < 0)
				fg_log(fg, LOG_WARNING,
				       "%s: access events added, but FAN_OPEN_PERM not removed "
				       "(%s): "
				       "creates may still wait on the daemon",
				       d->name, strerror(-k));
		}
	}
	(void) snprintf(d->emask_why[1], sizeof(d->emask_why[1]), "%s", why);
	atomic_store(&d->emask_access, true);
	stat_inc(&d->stats.emask_switches);
	fg_log(fg, LOG_WARNING,
	       "%s: event mask now FAN_ACCESS_PERM | FAN_OPEN_EXEC_PERM (%s): files are scanned "
	       "at their first read() and at exec, not at open; a file mapped and never read() "
	       "is not scanned",
	       d->name, why);
	return 0;
}

/* Switches d to the access mask, marking through its mount point opened
 * afresh (bounded: the daemon may hang). */
static void emask_switch_at_mount(struct domain *d, const char *why)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *path = NULL;
	uint64_t unique;
	uint32_t flags;
	int r;

	pthread_mutex_lock(&d->lock);
	flags = d->mark_flags;
	if (d->mark_path)
		path = strdup(d->mark_path);
	pthread_mutex_unlock(&d->lock);
	r = path ? open_mount_with_deadline(path, d->mnt_id, deadline_after(USEC_PER_SEC), &fd,
					    &unique)
		 : -ENOENT;
	if (r < 0) {
		fg_log(d->fg, LOG_ERR,
		       "%s: %s; its mount point cannot be opened (%s): not switched", d->name, why,
		       strerror(-r));
		return;
	}
	(void) domain_emask_to_access(d, fd, flags, why);
}

void domain_emask_hint(struct domain *d, pid_t daemon)
{
	char why[160];

	if (!d || d->cls == FANGUARD_MOUNT_LOCAL || !d->emask_auto ||
	    atomic_load(&d->emask_access) || !emask_daemon_hint(daemon, why, sizeof(why)))
		return;
	emask_switch_at_mount(d, why);
}

void emask_note_read_error(struct domain *d, int err, usec_t blocked_usec)
{
	char why[160];
	unsigned n;
	bool go;

	if (!emask_is_refusal(err, blocked_usec) || d->cls == FANGUARD_MOUNT_LOCAL)
		return;
	stat_inc(&d->stats.open_refusals);
	if (!d->emask_auto || atomic_load(&d->emask_access))
		return;
	pthread_mutex_lock(&d->lock);
	go = emask_refusal_note(now_usec(), &d->refusal_first, &d->refusals);
	n = d->refusals;
	pthread_mutex_unlock(&d->lock);
	if (!go) {
		fg_log(d->fg, LOG_NOTICE,
		       "%s: the daemon refused the kernel's open of an event's file after %llu ms "
		       "(%s); %u more within %llu s switches this mount to the access event mask",
		       d->name, (unsigned long long) (blocked_usec / USEC_PER_MSEC), strerror(-err),
		       EMASK_REFUSALS - n, (unsigned long long) (EMASK_WINDOW_USEC / USEC_PER_SEC));
		return;
	}
	(void) snprintf(why, sizeof(why),
			"auto: the daemon refused the kernel's open of an event's file %u times "
			"(last: %s after %llu ms)",
			n, strerror(-err), (unsigned long long) (blocked_usec / USEC_PER_MSEC));
	emask_switch_at_mount(d, why);
}

/* The value of NAME in a NUL-separated environment, or NULL. */
static const char *env_get(const char *env, size_t len, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; env && i < len; i += strnlen(env + i, len - i) + 1)
		if (strnlen(env + i, len - i) > n && strncmp(env + i, name, n) == 0 &&
		    env[i + n] == '=')
			return env + i + n + 1;
	return NULL;
}

bool emask_argv_hint(const char *argv, size_t len, const char *env, size_t env_len, char *why,
		     size_t why_len)
{
	const char *a0 = argv, *base, *mode = NULL, *env_mode;
	bool mount = false;
	char how[80];

	if (!argv || len == 0)
		return false;
	base = strrchr(a0, '/');
	base = base ? base + 1 : a0;
	if (strcmp(base, "rclone") != 0)
		return false;
	for (size_t i = strlen(a0) + 1; i < len; i += strlen(argv + i) + 1) {
		const char *a = argv + i;

		if (strcmp(a, "mount") == 0 || strcmp(a, "cmount") == 0 || strcmp(a, "mount2") == 0)
			mount = true;
		else if (strncmp(a, "--vfs-cache-mode=", 17) == 0)
			mode = a + 17;
		else if (strcmp(a, "--vfs-cache-mode") == 0 && i + strlen(a) + 1 < len)
			mode = a + strlen(a) + 1;
	}
	/* rclone takes a flag's default from RCLONE_<FLAG> in its
	 * environment; the command line wins. The environment is only
	 * NUL-terminated if the process left it so: env_get() is bounded. */
	env_mode = mode ? NULL : env_get(env, env_len, "RCLONE_VFS_CACHE_MODE");
	if (env_mode && memchr(env_mode, '\0', env_len - (size_t) (env_mode - env)))
		mode = env_mode;
	/* off (the default) and minimal: files opened for writing only go
	 * straight to the remote, one open at a time. */
	if (!mount || (mode && (strcmp(mode, "writes") == 0 || strcmp(mode, "full") == 0)))
		return false;
	if (mode && mode == env_mode)
		(void) snprintf(how, sizeof(how), "RCLONE_VFS_CACHE_MODE=%.32s in its environment",
				mode);
	else
		(void) snprintf(how, sizeof(how), "--vfs-cache-mode %.32s",
				mode ? mode : "off (default)");
	(void) snprintf(why, why_len,
			"hint: the daemon runs rclone mount with %s (a claim; the access mask only "
			"moves the verdict to the first read)",
			how);
	return true;
}

bool emask_daemon_hint(pid_t daemon, char *why, size_t why_len)
{
	_cleanup_free_ char *argv = NULL, *env = NULL;
	size_t len = 0, env_len = 0;

	if (daemon <= 0 || proc_read_cmdline(daemon, &argv, &len) < 0)
		return false;
	/* Root-readable (ptrace access); without it, the argv alone. */
	if (proc_read_environ(daemon, &env, &env_len) < 0)
		env_len = 0;
	return emask_argv_hint(argv, len, env, env_len, why, why_len);
}
