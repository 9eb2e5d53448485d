/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The unique (never reused) ids of our namespace's mounts, by their old
 * (reusable) mountinfo ids (mountids.c): listmount(2) and statmount(2),
 * Linux 6.8. Old ids and anonymous device numbers (tmpfs) are reused at
 * once, so (old id, device) cannot tell a mount from its successor at the
 * same place: the unique id can. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mount_ids {
	uint64_t *old, *unique; /* sorted by old */
	size_t n;
};

/* 0, or -ENOSYS/-EINVAL/... where the kernel has no listmount/statmount:
 * the caller then goes by (old id, device). */
int mount_ids_load(struct mount_ids *ret);
void mount_ids_done(struct mount_ids *m);
/* Adds a mount (kept sorted by old id); 0 or -ENOMEM. */
int mount_ids_add(struct mount_ids *m, uint64_t old, uint64_t unique);
/* Removes the mount with this unique id; its old id in *ret_old. */
bool mount_ids_remove_unique(struct mount_ids *m, uint64_t unique, uint64_t *ret_old);

struct mount_entry;
/* One mount of our namespace, by unique id, as mountinfo would show it
 * (statmount(2): device, ids, root, mount point, "fuse.SUBTYPE", source,
 * the filesystem's options), unclassified. -ENOENT once it is gone;
 * -EOPNOTSUPP where statmount lacks the string fields (before 6.11). */
int mount_entry_statmount(uint64_t unique, struct mount_entry *ret);

/* The unique id of the mount with this old id now, or 0. */
uint64_t mount_ids_unique_of(const struct mount_ids *m, uint64_t old);
