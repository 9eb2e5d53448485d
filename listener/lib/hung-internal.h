/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Hung daemons in shared groups (hung.c). A reader cannot choose which
 * event it dequeues, and the kernel opens the event's file inside read():
 * in a group shared by several FUSE mounts, a hung daemon traps every
 * reader that takes one of its events. The mount watcher calls
 * hung_check() every HUNG_TICK_MS: a FUSE mount in a shared group whose
 * connection has had requests waiting (/sys/fs/fuse/connections/N/waiting)
 * for HUNG_LIMIT_MS while a reader of that group is stuck in the kernel's
 * open is moved out to a group of its own; if it cannot get one, its mark
 * leaves the shared group and it is reported uncovered (hung-daemon).
 * Other mounts of its filesystem in that group (binds: one superblock, one
 * group, watch_place()) go with it, to the same group or uncovered too. */

#define HUNG_TICK_MS 250
#define HUNG_LIMIT_MS 1000

struct fanguard;

/* Called on the mount watcher's thread with its scan lock held. */
void hung_check(struct fanguard *fg);
