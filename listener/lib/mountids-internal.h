/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The unique (never reused) ids of our namespace's mounts, by their old
 * (reusable) mountinfo ids (mountids.c): listmount(2) and statmount(2),
 * Linux 6.8. Old ids and anonymous device numbers (tmpfs) are reused at
 * once, so (old id, device) cannot tell a mount from its successor at the
 * same place: the unique id can. */
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
/* The unique id of the mount with this old id now, or 0. */
uint64_t mount_ids_unique_of(const struct mount_ids *m, uint64_t old);
