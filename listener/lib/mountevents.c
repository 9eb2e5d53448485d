/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Mount events (mountevents-internal.h). Debian 12's headers (6.1) lack
 * these constants: values from include/uapi/linux/fanotify.h (6.15). The
 * group counts against fs.fanotify.max_user_groups like any other (one per
 * listener, inside the headroom registry.c leaves). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
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
#ifndef FAN_EVENT_INFO_TYPE_MNT
#define FAN_EVENT_INFO_TYPE_MNT 7
#endif

/* include/uapi/linux/fanotify.h (6.15) */
struct fg_event_info_mnt {
	struct fanotify_event_info_header hdr;
	uint64_t mnt_id;
};

static void batch_add(struct mount_events_batch *b, const struct fanotify_event_metadata *m)
{
	const char *p = (const char *) m + m->metadata_len, *end = (const char *) m + m->event_len;

	while (p + sizeof(struct fanotify_event_info_header) <= end) {
		const struct fanotify_event_info_header *h = (const void *) p;
		struct fg_event_info_mnt info;

		if (h->len < sizeof(*h) || p + h->len > end)
			break;
		if (h->info_type == FAN_EVENT_INFO_TYPE_MNT && h->len >= sizeof(info)) {
			memcpy(&info, p, sizeof(info));
			if (m->mask & FAN_MNT_ATTACH) {
				if (b->n_attached < MOUNT_EVENTS_MAX_IDS)
					b->attached[b->n_attached++] = info.mnt_id;
				else
					b->lost = true;
			}
			if (b->n_ops < MOUNT_EVENTS_MAX_IDS)
				b->ops[b->n_ops++] =
					(struct mount_event_op){.id = info.mnt_id,
								.attach = m->mask & FAN_MNT_ATTACH,
								.detach = m->mask & FAN_MNT_DETACH};
			else
				b->lost = true;
			return;
		}
		p += h->len;
	}
	b->lost = true; /* an event without its id */
}

int mount_events_new(void)
{
	int fd = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_MNT | FAN_CLOEXEC | FAN_NONBLOCK,
			       O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int mount_events_watch_ns(int fd, const char *ns_path)
{
	if (fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_MNTNS, FAN_MNT_ATTACH | FAN_MNT_DETACH,
			  AT_FDCWD, ns_path) < 0)
		return -errno;
	return 0;
}

int mount_events_open(void)
{
	int fd = mount_events_new(), r;

	if (fd < 0)
		return fd;
	r = mount_events_watch_ns(fd, "/proc/self/ns/mnt");
	if (r < 0) {
		safe_close(fd);
		return r;
	}
	return fd;
}

unsigned mount_events_drain(int fd, struct mount_events_batch *b)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	unsigned n = 0;

	b->n_attached = 0;
	b->n_ops = 0;
	b->lost = false;
	for (;;) {
		ssize_t len = read(fd, buf, sizeof(buf));

		if (len <= 0)
			return n;
		for (struct fanotify_event_metadata *m = (void *) buf; FAN_EVENT_OK(m, len);
		     m = FAN_EVENT_NEXT(m, len)) {
			/* FAN_REPORT_MNT events carry no fd (FAN_NOFD). */
			if (m->fd >= 0)
				safe_close(m->fd);
			if (m->mask & FAN_Q_OVERFLOW)
				b->lost = true;
			if (m->mask & (FAN_MNT_ATTACH | FAN_MNT_DETACH))
				batch_add(b, m);
			if (m->mask & (FAN_MNT_ATTACH | FAN_MNT_DETACH))
				n++;
		}
	}
}
