/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* A domain's lifecycle (domain.c): create, start, mark, stop. The registry
 * (registry.c) is the only caller of new/start/stop. */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "domain-state-internal.h"
#include "fanguard.h"
#include "time-util.h"

struct fanguard;

/* A new domain with one reference (the caller's); no thread runs yet.
 * name: its group's name (a group a previous listener handed over under
 * that name is adopted), or NULL for the default ("local", "fuse/53"). */
int domain_new(struct fanguard *fg, enum fanguard_mount_class cls, uint64_t mnt_id,
	       unsigned dev_major, unsigned dev_minor, uid_t owner, const char *name,
	       struct domain **ret);
/* Starts the threads, then places the marks asked for before. Marks the
 * domain started first, so that a start that fails part way is stopped like
 * any other (domain_stop_begin()). */
int domain_start(struct domain *d);
/* Marks the mount (or filesystem) of path_fd for d: now if d runs, else
 * when it starts (path_fd is duplicated). 0 or -errno. */
int domain_mark(struct domain *d, int path_fd, uint32_t flags);
/* Removes that mark from a running d (a mount moved out of a shared group). */
int domain_unmark(struct domain *d, int path_fd, uint32_t flags);
/* Stops taking events and answers everything held (never blocks on I/O). */
void domain_stop_begin(struct domain *d);
/* Waits for the threads until deadline, then closes the group; true if every
 * thread exited. Call after domain_stop_begin() on every domain, so the
 * waits overlap. */
bool domain_stop_finish(struct domain *d, usec_t deadline);
/* Threads stuck now, by where (enum thread_where), added to counts. */
void domain_stuck_counts(struct domain *d, unsigned counts[_WHERE_MAX]);
