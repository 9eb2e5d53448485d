/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The registry of domains (registry.c): find-or-create, start, stop and
 * release, all in one place. Domains are refcounted: the registry holds one
 * reference while a domain is listed, each watch record one, each thread
 * one; the last reference frees it. */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "fanguard.h"
#include "time-util.h"

struct fanguard;
struct domain;

/* Called with fg->lock held: the domain for a mount of class cls (local
 * mounts share one; others are keyed by mount id and device, since ids are
 * reused at once), created (and started if the listener runs) if needed.
 * Groups are planned: while fewer than fg->max_groups exist (less one
 * shared group per depth kept in reserve), a FUSE or network mount gets
 * its own; beyond that, or when the kernel refuses a new group (EMFILE:
 * fs.fanotify.max_user_groups) or the owner's thread share is used up
 * (EUSERS), it shares the group of its FUSE nesting
 * depth (depth: 1 for FUSE and network mounts, 2 for an overlay or other
 * mount backed by FUSE, so a mount never shares with its own lower layer).
 * Returns a new reference. */
int registry_get_locked(struct fanguard *fg, enum fanguard_mount_class cls, uint64_t mnt_id,
			unsigned dev_major, unsigned dev_minor, uid_t owner, unsigned depth,
			struct domain **ret, bool *ret_created);
/* Called with fg->lock held: a new group of its own for one mount, outside
 * the plan (a mount moved out of a shared group because its daemon hung).
 * Returns a new reference. */
int registry_new_own_locked(struct fanguard *fg, enum fanguard_mount_class cls, uint64_t mnt_id,
			    unsigned dev_major, unsigned dev_minor, uid_t owner,
			    struct domain **ret);
/* The FUSE nesting depth of a mount of mount_class (enum mount_class). */
unsigned registry_depth_of(int mount_class);
/* Called with fg->lock held: starts every domain (and places their marks). */
int registry_start_locked(struct fanguard *fg);
/* Takes d out of the registry at once (a new mount with the same id gets a
 * new domain), stops it, and drops the registry's reference. Idempotent. */
void registry_release(struct fanguard *fg, struct domain *d);
/* Stops every domain, waits for their threads together until deadline;
 * true if all exited. */
bool registry_stop_all(struct fanguard *fg, usec_t deadline);
/* After stop: drops the registry's references. */
void registry_clear(struct fanguard *fg);
