/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Mount events from the kernel (mountevents.c): a FAN_CLASS_NOTIF |
 * FAN_REPORT_MNT group with a FAN_MARK_MNTNS mark on our mount namespace
 * receives FAN_MNT_ATTACH / FAN_MNT_DETACH for every mount and unmount in
 * it (Linux 6.15), detected at run time; the mount watcher falls back to
 * POLLPRI on /proc/self/mountinfo without it. */

/* A non-blocking fd readable when mounts changed, or -errno (EINVAL:
 * the kernel has no mount events). */
int mount_events_open(void);
/* A mount events group marking nothing yet (-errno: no mount events), and
 * a mark on one more mount namespace (ns_path: /proc/PID/ns/mnt). A group
 * may mark several namespaces; a namespace's mark goes with it. */
int mount_events_new(void);
int mount_events_watch_ns(int fd, const char *ns_path);
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What one drain read: the unique ids (statmount's mnt_id) of the mounts
 * attached, as many as fit; lost when some did not fit or the kernel's
 * queue overflowed (FAN_Q_OVERFLOW): ids were then not seen. */
#define MOUNT_EVENTS_MAX_IDS 256
struct mount_event_op {
	uint64_t id;	     /* unique mount id */
	bool attach, detach; /* both: moved (detached, then attached) */
};
struct mount_events_batch {
	uint64_t attached[MOUNT_EVENTS_MAX_IDS];
	size_t n_attached;
	/* Every attach and detach, in the order the kernel queued them. */
	struct mount_event_op ops[MOUNT_EVENTS_MAX_IDS];
	size_t n_ops;
	bool lost;
};

/* Reads every queued event into *b (emptied first); returns how many
 * mount events it read. */
unsigned mount_events_drain(int fd, struct mount_events_batch *b);
