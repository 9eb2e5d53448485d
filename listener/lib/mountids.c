/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* listmount(2)/statmount(2) (mountids-internal.h). Debian 12's headers
 * (6.1) have neither: numbers and structs from include/uapi/linux/mount.h,
 * defined here, support detected at run time (ENOSYS). One listmount of the
 * whole namespace (LSMT_ROOT lists every mount, recursively, on the kernels
 * that have it), then a statmount per mount for its old id: a few
 * microseconds each, no text parsing. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "macro.h"
#include "mountids-internal.h"
#include "mounts.h"

#ifndef __NR_statmount
#define __NR_statmount 457
#endif
#ifndef __NR_listmount
#define __NR_listmount 458
#endif
#define FG_LSMT_ROOT 0xffffffffffffffffULL
#define FG_STATMOUNT_SB_BASIC 0x00000001U
#define FG_STATMOUNT_MNT_BASIC 0x00000002U
#define FG_STATMOUNT_MNT_ROOT 0x00000008U
#define FG_STATMOUNT_MNT_POINT 0x00000010U
#define FG_STATMOUNT_FS_TYPE 0x00000020U
#define FG_STATMOUNT_MNT_OPTS 0x00000080U
#define FG_STATMOUNT_FS_SUBTYPE 0x00000100U
#define FG_STATMOUNT_SB_SOURCE 0x00000200U

struct fg_mnt_id_req {
	uint32_t size;
	uint32_t spare;
	uint64_t mnt_id;
	uint64_t param;
};

/* struct statmount of include/uapi/linux/mount.h (6.18), whole: the
 * string fields are offsets into str[]. */
struct fg_statmount {
	uint32_t size;
	uint32_t mnt_opts;
	uint64_t mask;
	uint32_t sb_dev_major, sb_dev_minor;
	uint64_t sb_magic;
	uint32_t sb_flags, fs_type;
	uint64_t mnt_id, mnt_parent_id;
	uint32_t mnt_id_old, mnt_parent_id_old;
	uint64_t mnt_attr, mnt_propagation, mnt_peer_group, mnt_master, propagate_from;
	uint32_t mnt_root, mnt_point;
	uint64_t mnt_ns_id;
	uint32_t fs_subtype, sb_source;
	uint32_t opt_num, opt_array, opt_sec_num, opt_sec_array;
	uint64_t supported_mask;
	uint32_t mnt_uidmap_num, mnt_uidmap, mnt_gidmap_num, mnt_gidmap;
	uint64_t spare2[43];
	char str[];
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
			struct fg_statmount sm = {}; /* its fixed part: no strings asked */

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

static char *sm_str(const struct fg_statmount *sm, size_t len, uint64_t bit, uint32_t off)
{
	size_t max = len - offsetof(struct fg_statmount, str);

	if (!(sm->mask & bit) || off >= max || !memchr(sm->str + off, '\0', max - off))
		return NULL;
	return strdup(sm->str + off);
}

int mount_entry_statmount(uint64_t unique, struct mount_entry *ret)
{
	const uint64_t want = FG_STATMOUNT_SB_BASIC | FG_STATMOUNT_MNT_BASIC |
			      FG_STATMOUNT_MNT_ROOT | FG_STATMOUNT_MNT_POINT |
			      FG_STATMOUNT_FS_TYPE | FG_STATMOUNT_MNT_OPTS |
			      FG_STATMOUNT_FS_SUBTYPE | FG_STATMOUNT_SB_SOURCE;
	const uint64_t STRINGS_MAYBE_EMPTY =
		FG_STATMOUNT_MNT_OPTS | FG_STATMOUNT_FS_SUBTYPE | FG_STATMOUNT_SB_SOURCE;
	struct fg_mnt_id_req req = {.size = sizeof(req), .mnt_id = unique, .param = want};
	_cleanup_free_ struct fg_statmount *sm = NULL;
	struct mount_entry e = {};
	char *type, *sub;
	size_t len = 8192;

	for (;;) {
		free(sm);
		sm = calloc(1, len);
		if (!sm)
			return -ENOMEM;
		if (syscall(__NR_statmount, &req, sm, len, 0) >= 0)
			break;
		if (errno != EOVERFLOW || len >= 1024 * 1024)
			return -errno;
		len *= 4;
	}
	/* An empty string (no options, no subtype) leaves its bit out of the
	 * mask; the basic fields and the paths are always there. A kernel that
	 * does not know a flag fails the call (EINVAL): the caller then
	 * re-reads the table. */
	if ((sm->mask & want & ~STRINGS_MAYBE_EMPTY) != (want & ~STRINGS_MAYBE_EMPTY))
		return -EOPNOTSUPP;
	e.mnt_id = sm->mnt_id_old;
	e.parent_id = sm->mnt_parent_id_old;
	e.major = sm->sb_dev_major;
	e.minor = sm->sb_dev_minor;
	e.root = sm_str(sm, len, FG_STATMOUNT_MNT_ROOT, sm->mnt_root);
	e.mount_point = sm_str(sm, len, FG_STATMOUNT_MNT_POINT, sm->mnt_point);
	type = sm_str(sm, len, FG_STATMOUNT_FS_TYPE, sm->fs_type);
	sub = sm_str(sm, len, FG_STATMOUNT_FS_SUBTYPE, sm->fs_subtype);
	/* mountinfo writes "fuse.sshfs": type and subtype. */
	if (type && sub && sub[0]) {
		if (asprintf(&e.fstype, "%s.%s", type, sub) < 0)
			e.fstype = NULL;
	} else
		e.fstype = type ? strdup(type) : NULL;
	free(type);
	free(sub);
	e.source = sm_str(sm, len, FG_STATMOUNT_SB_SOURCE, sm->sb_source);
	if (!e.source)
		e.source = strdup("none");
	/* The filesystem's own options, escaped as in mountinfo (overlay's
	 * layers, FUSE's user_id=); the classifier splits the raw form. */
	e.super_opts_raw = sm_str(sm, len, FG_STATMOUNT_MNT_OPTS, sm->mnt_opts);
	if (!e.super_opts_raw)
		e.super_opts_raw = strdup("");
	e.super_opts = e.super_opts_raw ? strdup(e.super_opts_raw) : NULL;
	e.mount_opts = strdup("");
	e.optional = strdup("");
	if (!e.root || !e.mount_point || !e.fstype || !e.source || !e.super_opts || !e.mount_opts ||
	    !e.optional) {
		mount_entry_free_fields(&e);
		return -ENOMEM;
	}
	*ret = e;
	return 0;
}

int mount_ids_add(struct mount_ids *m, uint64_t old, uint64_t unique)
{
	uint64_t *o = realloc(m->old, (m->n + 1) * sizeof(*o)), *u;
	size_t k;

	if (!o)
		return -ENOMEM;
	m->old = o;
	u = realloc(m->unique, (m->n + 1) * sizeof(*u));
	if (!u)
		return -ENOMEM;
	m->unique = u;
	for (k = m->n; k > 0 && m->old[k - 1] > old; k--) {
		m->old[k] = m->old[k - 1];
		m->unique[k] = m->unique[k - 1];
	}
	m->old[k] = old;
	m->unique[k] = unique;
	m->n++;
	return 0;
}

bool mount_ids_remove_unique(struct mount_ids *m, uint64_t unique, uint64_t *ret_old)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->unique[i] == unique) {
			*ret_old = m->old[i];
			memmove(&m->old[i], &m->old[i + 1], (m->n - i - 1) * sizeof(*m->old));
			memmove(&m->unique[i], &m->unique[i + 1],
				(m->n - i - 1) * sizeof(*m->unique));
			m->n--;
			return true;
		}
	return false;
}
