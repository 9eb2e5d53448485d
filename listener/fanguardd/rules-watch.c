/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The YARA rules file, watched. Clean verdicts are cached in the kernel and
 * in the verdict store; a rules file edited on disk would otherwise change
 * nothing until a reload (SIGHUP), and every file found clean by the old
 * rules would stay allowed. The watch is on the file's directory, not the
 * file: editors and package managers replace a file by renaming a new one
 * over it, which a watch on the old inode would miss. Files the rules
 * include are not watched. Once the sandbox is on no new watch can be
 * added: the path given at start is the one watched. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>
#include "macro.h"
#include "rules-watch.h"

struct rules_watch {
	int fd;
	char *name; /* the file's name in the watched directory */
};

int rules_watch_new(const char *path, struct rules_watch **ret)
{
	struct rules_watch *w;
	const char *slash = strrchr(path, '/');
	char *dir;

	if (!slash || !slash[1])
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = -EBADF;
	dir = slash == path ? strdup("/") : strndup(path, (size_t) (slash - path));
	w->name = strdup(slash + 1);
	if (!dir || !w->name) {
		free(dir);
		rules_watch_free(w);
		return -ENOMEM;
	}
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0 ||
	    inotify_add_watch(w->fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ONLYDIR) <
		    0) {
		int r = -errno;

		free(dir);
		rules_watch_free(w);
		return r;
	}
	free(dir);
	*ret = w;
	return 0;
}

struct rules_watch *rules_watch_free(struct rules_watch *w)
{
	if (!w)
		return NULL;
	safe_close(w->fd);
	free(w->name);
	free(w);
	return NULL;
}

int rules_watch_fd(const struct rules_watch *w)
{
	return w ? w->fd : -EBADF;
}

bool rules_watch_changed(struct rules_watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false;
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const void *) p;

			/* IN_CREATE alone: a hard link, or a file still being
			 * written (its IN_CLOSE_WRITE follows). */
			if (e->len && strcmp(e->name, w->name) == 0 &&
			    (e->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE)))
				changed = true;
			if (e->mask & IN_Q_OVERFLOW)
				changed = true;
			p += sizeof(*e) + e->len;
		}
	}
	return changed;
}
