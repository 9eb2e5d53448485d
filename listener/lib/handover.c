/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Adopting fanotify groups a previous listener handed over (restart
 * without a gap): fanguard_adopt_group() checks and keeps them until the
 * domain of their name is created (domain_new() takes it), and
 * fanguard_start() closes those no domain took. The other half,
 * fanguard_handover(), is the stop in fanguard.c.
 *
 * Why a group can be kept at all: a group lives as long as any fd of it.
 * Events queued in it while no process reads wait (permission waits never
 * time out, DESIGN.md §2) and are read by whoever reads it next. Events a
 * dead process had read but not answered are not: they stay on the group's
 * list until it is released. So a group may only ever be handed over by a
 * listener that answered everything it read (fanguard_handover() checks),
 * never kept across a crash.
 *
 * Must never: keep a group nobody will read (it blocks every open on its
 * marks), or trust a cached clean verdict of the previous configuration. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <syslog.h>
#include <unistd.h>
#include "fanops-internal.h"
#include "fd-util.h"
#include "fg-internal.h"
#include "handover-internal.h"
#include "macro.h"

#define FAN_CLASS_BITS (FAN_CLASS_NOTIF | FAN_CLASS_CONTENT | FAN_CLASS_PRE_CONTENT)

static bool group_name_valid(const char *name)
{
	size_t n = 0;

	/* What systemd's FDNAME= takes, and our domain names' size. */
	for (const char *p = name; *p; p++, n++)
		if (*p <= ' ' || *p > '~' || *p == ':')
			return false;
	return n > 0 && n < sizeof(((struct adopted_group *) 0)->name);
}

/* The fanotify_init() flags of a group fd, from its fdinfo:
 * "fanotify flags:%x event-flags:%x" (fs/notify/fdinfo.c). -EINVAL if fd
 * is not a fanotify group. */
static int group_flags(int fd, unsigned *ret)
{
	char path[64], buf[4096];
	_cleanup_close_ int ifd = -EBADF;
	const char *p;
	ssize_t n;

	(void) snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	ifd = open(path, O_RDONLY | O_CLOEXEC);
	if (ifd < 0)
		return errno == ENOENT ? -EBADF : -errno;
	n = read(ifd, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	p = strstr(buf, "fanotify flags:");
	if (!p || sscanf(p, "fanotify flags:%x", ret) != 1)
		return -EINVAL;
	return 0;
}

int fanguard_adopt_group(struct fanguard *fg, int fd, const char *name)
{
	struct adopted_group *g;
	unsigned flags;
	int fl, r;

	if (!fg || fd < 0 || !name || !group_name_valid(name))
		return -EINVAL;
	r = group_flags(fd, &flags);
	if (r < 0)
		return r;
	/* Only what domain_new() makes: a content class group with an
	 * unlimited queue (a bounded one allows what overflows, unseen). */
	if ((flags & FAN_CLASS_BITS) != FAN_CLASS_CONTENT || !(flags & FAN_UNLIMITED_QUEUE))
		return -EINVAL;
	/* Readers poll: the open file description must not block. */
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->init_flags = flags;
	(void) snprintf(g->name, sizeof(g->name), "%s", name);

	pthread_mutex_lock(&fg->lock);
	if (fg->started || fg->stopped || fg->domains || fg->watches)
		r = -EBUSY;
	for (struct adopted_group *a = fg->adopted; a && r == 0; a = a->next)
		if (strcmp(a->name, name) == 0)
			r = -EEXIST;
	if (r == 0) {
		/* Its cached verdicts were made under the old configuration:
		 * drop the inode marks (FAN_MARK_FLUSH without MOUNT or
		 * FILESYSTEM leaves the watches' marks, cache.c). */
		(void) fg->ops->mark(fg->ops_userdata, fd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL);
		g->fd = fd;
		g->next = fg->adopted;
		fg->adopted = g;
	}
	pthread_mutex_unlock(&fg->lock);
	if (r < 0) {
		free(g);
		return r;
	}
	fg_log(fg, LOG_INFO, "%s: adopted a fanotify group (flags 0x%x) from a previous listener",
	       name, flags);
	return 0;
}

struct adopted_group *handover_take_locked(struct fanguard *fg, const char *name)
{
	for (struct adopted_group **p = &fg->adopted; *p; p = &(*p)->next)
		if (strcmp((*p)->name, name) == 0) {
			struct adopted_group *g = *p;

			*p = g->next;
			g->next = NULL;
			return g;
		}
	return NULL;
}

/* A group a watcher may create after start, with this very name: one of
 * its own per mount ("fuse/53"), named by the mount's id, which the same
 * mount keeps for its life, or a group shared by FUSE mounts beyond the
 * group budget ("fuse/shared-1", named by its nesting depth). Not "local"
 * (the watches claim it before start). */
static bool watcher_may_claim(const char *name)
{
	const char *slash = strchr(name, '/'), *id;

	if (!slash || (strncmp(name, "fuse/", 5) != 0 && strncmp(name, "network/", 8) != 0))
		return false;
	id = strncmp(slash + 1, "shared-", 7) == 0 ? slash + 8 : slash + 1;
	return id[0] >= '0' && id[0] <= '9' && strspn(id, "0123456789") == strlen(id);
}

static void close_group(struct fanguard *fg, struct adopted_group *g)
{
	/* Closing the last fd releases the group: the kernel allows
	 * whatever it still queues (fanotify_release()). */
	fg_log(fg, LOG_NOTICE,
	       "%s: adopted group not claimed by any watch; closed (its queued events "
	       "are allowed)",
	       g->name);
	safe_close(g->fd);
	free(g);
}

void handover_start_done_locked(struct fanguard *fg, unsigned n_watchers)
{
	unsigned kept = 0;

	fg->handover_passes_pending = n_watchers;
	for (struct adopted_group **p = &fg->adopted; *p;) {
		struct adopted_group *g = *p;

		if (n_watchers > 0 && watcher_may_claim(g->name)) {
			kept++;
			p = &g->next;
			continue;
		}
		*p = g->next;
		close_group(fg, g);
	}
	/* Its events wait until then: a first pass marks with deadlines. */
	if (kept > 0)
		fg_log(fg, LOG_INFO,
		       "%u adopted groups wait for the mount watchers' first pass to claim them",
		       kept);
	if (!fg->adopted)
		fg->handover_passes_pending = 0;
}

void handover_first_pass_done(struct fanguard *fg, bool *armed)
{
	pthread_mutex_lock(&fg->lock);
	if (*armed && fg->handover_passes_pending > 0 && --fg->handover_passes_pending == 0)
		handover_close_unclaimed_locked(fg);
	*armed = false;
	pthread_mutex_unlock(&fg->lock);
}

void handover_close_unclaimed_locked(struct fanguard *fg)
{
	struct adopted_group *g;

	fg->handover_passes_pending = 0;
	while ((g = fg->adopted)) {
		fg->adopted = g->next;
		close_group(fg, g);
	}
}
