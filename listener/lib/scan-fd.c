/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* On-demand scans (fanguard_scan_fd()): one file the caller already opened,
 * through the same scanners and composition as a permission event, bounded
 * by the caller's deadline. No fanotify group is involved and nothing is
 * answered or cached: the result goes back to the caller only. The file is
 * never reopened by path (fanguardctl scan passes the fd, so a path a user
 * named is never opened by the daemon). Runs on the caller's thread. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include "domain-state-internal.h"
#include "fg-internal.h"
#include "macro.h"
#include "mounts.h"
#include "scan-internal.h"

#define SCAN_FD_BUF_SIZE (256 * 1024)
#define SCAN_FD_MAX_DEADLINE_MS (10 * 60 * 1000)

/* The mount class as far as the fd shows it: FUSE by its superblock;
 * anything else is scanned like a local file (the class only chooses how
 * clamd gets the content and whether reads bypass the page cache). */
static enum fanguard_mount_class fd_class(int fd)
{
	struct statfs sfs;

	if (fstatfs(fd, &sfs) == 0 && (unsigned long) sfs.f_type == FUSE_SUPER_MAGIC)
		return FANGUARD_MOUNT_FUSE;
	return FANGUARD_MOUNT_LOCAL;
}

int fanguard_scan_fd(struct fanguard *fg, int fd, uint32_t deadline_ms,
		     struct fanguard_scan_info *ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct fanguard_scan_info info = {.size = sizeof(info)};
	struct scan_result res;
	struct fg_event ev;
	struct domain *d;
	struct stat st;
	usec_t start;
	size_t size;
	int fl;

	if (!fg || fd < 0 || !ret || ret->size < offsetof(struct fanguard_scan_info, detail) ||
	    deadline_ms == 0 || deadline_ms > SCAN_FD_MAX_DEADLINE_MS)
		return -EINVAL;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADFD;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	if ((fl & O_ACCMODE) == O_WRONLY || (fl & O_PATH))
		return -EBADF;
	pthread_mutex_lock(&fg->lock);
	if (fg->stopped) {
		pthread_mutex_unlock(&fg->lock);
		return -ESHUTDOWN;
	}
	pthread_mutex_unlock(&fg->lock);
	buf = malloc(SCAN_FD_BUF_SIZE);
	d = scan_standin_new(fg, fd_class(fd), "on-demand");
	if (!buf || !d) {
		scan_standin_free(d);
		return -ENOMEM;
	}

	start = now_usec();
	event_init(&ev, fd, getpid(), 0, start);
	ev.deadline_usec = start + (usec_t) deadline_ms * USEC_PER_MSEC;
	ev.size = (uint64_t) st.st_size;
	if (ev.size > fg->opts.max_scan_bytes)
		res = (struct scan_result){.verdict = FANGUARD_ALLOW,
					   .reason = FANGUARD_REASON_TOO_LARGE,
					   .scanner = ""};
	else
		scan_event(d, &ev, buf, SCAN_FD_BUF_SIZE, false, &res);

	scan_standin_free(d);

	info.verdict = res.verdict;
	info.reason = res.reason;
	info.mount_class = fd_class(fd);
	info.latency_usec = now_usec() - start;
	(void) snprintf(info.scanner, sizeof(info.scanner), "%s", res.scanner ? res.scanner : "");
	(void) snprintf(info.detail, sizeof(info.detail), "%s", res.detail);
	size = ret->size < sizeof(info) ? ret->size : sizeof(info);
	info.size = (uint32_t) size;
	memcpy(ret, &info, size);
	return 0;
}
