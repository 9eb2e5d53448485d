/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* listmount(2)/statmount(2) (mountids-internal.h). Debian 12's headers
 * (6.1) have neither: numbers and structs from include/uapi/linux/mount.h,
 * defined here, support detected at run time (ENOSYS). One listmount of the
 * whole namespace (LSMT_ROOT lists every mount, recursively, on the kernels
 * that have it), then a statmount per mount for its old id: a few
 * microseconds each, no text parsing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "mountids-internal.h"

#ifndef __NR_statmount
#define __NR_statmount 457
#endif
#ifndef __NR_listmount
#define __NR_listmount 458
#endif
#define FG_LSMT_ROOT 0xffffffffffffffffULL
#define FG_STATMOUNT_MNT_BASIC 0x00000002U

struct fg_mnt_id_req {
	uint32_t size;
	uint32_t spare;
	uint64_t mnt_id;
	uint64_t param;
};

/* The fixed head of struct statmount, up to the fields we read. */
struct fg_statmount {
	uint32_t size;
	uint32_t mnt_opts;
	uint64_t mask;
	uint32_t sb_dev_major, sb_dev_minor;
	uint64_t sb_magic;
	uint32_t sb_flags, fs_type;
	uint64_t mnt_id, mnt_parent_id;
	uint32_t mnt_id_old, mnt_parent_id_old;
	uint64_t rest[64];
};

#define BATCH 512

void mount_ids_done(struct mount_ids *m)
{
	free(m->old);
	free(m->unique);
	*m = (struct mount_ids){};
}

static void sort_by_old(struct mount_ids *m)
{
	/* Insertion sort: a few hundred entries, mostly in order already. */
	for (size_t i = 1; i < m->n; i++) {
		uint64_t o = m->old[i], u = m->unique[i];
		size_t k = i;

		for (; k > 0 && m->old[k - 1] > o; k--) {
			m->old[k] = m->old[k - 1];
			m->unique[k] = m->unique[k - 1];
		}
		m->old[k] = o;
		m->unique[k] = u;
	}
}

int mount_ids_load(struct mount_ids *ret)
{
	struct mount_ids m = {};
	size_t cap = 0;
	uint64_t last = 0;

	for (;;) {
		struct fg_mnt_id_req req = {
			.size = sizeof(req), .mnt_id = FG_LSMT_ROOT, .param = last};
		uint64_t ids[BATCH];
		long n = syscall(__NR_listmount, &req, ids, (size_t) BATCH, 0);

		if (n < 0) {
			int r = -errno;

			mount_ids_done(&m);
			return r;
		}
		for (long i = 0; i < n; i++) {
			struct fg_mnt_id_req sreq = {.size = sizeof(sreq),
						     .mnt_id = ids[i],
						     .param = FG_STATMOUNT_MNT_BASIC};
			struct fg_statmount sm = {};

			if (syscall(__NR_statmount, &sreq, &sm, sizeof(sm), 0) < 0 ||
			    !(sm.mask & FG_STATMOUNT_MNT_BASIC))
				continue; /* gone since */
			if (m.n == cap) {
				size_t c = cap ? 2 * cap : 64;
				uint64_t *o = realloc(m.old, c * sizeof(*o)), *u;

				if (o)
					m.old = o;
				u = o ? realloc(m.unique, c * sizeof(*u)) : NULL;
				if (!u) {
					mount_ids_done(&m);
					return -ENOMEM;
				}
				m.unique = u;
				cap = c;
			}
			m.old[m.n] = sm.mnt_id_old;
			m.unique[m.n++] = sm.mnt_id;
		}
		if (n < BATCH)
			break;
		last = ids[n - 1];
	}
	sort_by_old(&m);
	*ret = m;
	return 0;
}

uint64_t mount_ids_unique_of(const struct mount_ids *m, uint64_t old)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->old[mid] < old)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->n && m->old[lo] == old ? m->unique[lo] : 0;
}
