/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Mount events (mountevents-internal.h). Debian 12's headers (6.1) lack
 * these constants: values from include/uapi/linux/fanotify.h (6.15). The
 * group counts against fs.fanotify.max_user_groups like any other (one per
 * listener, inside the headroom registry.c leaves). */
#include <errno.h>
#include <fcntl.h>
#include <sys/fanotify.h>
#include <unistd.h>
#include "macro.h"
#include "mountevents-internal.h"

#ifndef FAN_REPORT_MNT
#define FAN_REPORT_MNT 0x00004000
#endif
#ifndef FAN_MARK_MNTNS
#define FAN_MARK_MNTNS 0x00000110
#endif
#ifndef FAN_MNT_ATTACH
#define FAN_MNT_ATTACH 0x01000000
#endif
#ifndef FAN_MNT_DETACH
#define FAN_MNT_DETACH 0x02000000
#endif

int mount_events_open(void)
{
	int fd = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_MNT | FAN_CLOEXEC | FAN_NONBLOCK,
			       O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_MNTNS, FAN_MNT_ATTACH | FAN_MNT_DETACH,
			  AT_FDCWD, "/proc/self/ns/mnt") < 0) {
		int r = -errno;

		safe_close(fd);
		return r;
	}
	return fd;
}

unsigned mount_events_drain(int fd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	unsigned n = 0;

	for (;;) {
		ssize_t len = read(fd, buf, sizeof(buf));

		if (len <= 0)
			return n;
		for (struct fanotify_event_metadata *m = (void *) buf; FAN_EVENT_OK(m, len);
		     m = FAN_EVENT_NEXT(m, len)) {
			/* FAN_REPORT_MNT events carry no fd (FAN_NOFD). */
			if (m->fd >= 0)
				safe_close(m->fd);
			if (m->mask & (FAN_MNT_ATTACH | FAN_MNT_DETACH))
				n++;
		}
	}
}
