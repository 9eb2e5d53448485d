/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Classifying new mounts off the mount watcher's path (classifier.c). The
 * watcher marks a mount first, with its class's safe defaults (read through
 * the daemon, the FUSE deadlines), and queues it here; the classifier's own
 * thread explains it (loopback.c: /proc walks, up to ~2 s looking for an
 * sshfs chain) and then refines its record (the administrator's
 * scan-at-backing policy). A mount whose classification is slow, or made
 * slow on purpose (a user's fake subtype=sshfs), delays no later mount's
 * marking. */
#include <stdint.h>

struct fanguard;
struct classifier;

struct classifier *classifier_new(void);
struct classifier *classifier_free(struct classifier *cl); /* after stop; NULL-safe */
int classifier_start(struct fanguard *fg, struct classifier *cl);
/* Cancels the classification in progress, drops the queue, joins. */
void classifier_stop(struct classifier *cl);
/* Queues the mount (mountinfo id, device, unique id or 0) whose record the
 * watcher committed; 0, or -ENOMEM / -ENOBUFS (queue full: the mount stays
 * read through, unexplained, and the caller says so). */
int classifier_queue(struct classifier *cl, uint64_t mnt_id, unsigned major, unsigned minor,
		     uint64_t unique);
