/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Per-superblock facts, kept per reader by unique mount id (sbinfo-internal.h).
 * Measured: a verdict-store hit made fstatfs(), FS_IOC_GETFSUUID,
 * name_to_handle_at() and, after the answer, fstatfs() again per event; the
 * first two and the last are per filesystem, not per file.
 *
 * Must never: trust a mount id that may be reused (STATX_MNT_ID, without
 * _UNIQUE, is recycled after an unmount): such facts are looked up again. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include "sbinfo-internal.h"

/* FS_IOC_GETFSUUID (6.5): Debian 12's headers (6.1) lack it. */
struct sbinfo_fsuuid2 {
	uint8_t len;
	uint8_t uuid[16];
};
#ifndef FS_IOC_GETFSUUID
#define FS_IOC_GETFSUUID _IOR(0x15, 0, struct sbinfo_fsuuid2)
#endif

int sbinfo_fs_uuid(int fd, uint8_t uuid[SBINFO_UUID_LEN])
{
	struct sbinfo_fsuuid2 u = {};

	if (ioctl(fd, FS_IOC_GETFSUUID, &u) < 0 || u.len != SBINFO_UUID_LEN)
		return -EOPNOTSUPP;
	memcpy(uuid, u.uuid, SBINFO_UUID_LEN);
	return 0;
}

static bool unique_id(const struct statx *stx)
{
	return stx && (stx->stx_mask & STATX_MNT_ID_UNIQUE) && stx->stx_mnt_id != 0;
}

const struct sbinfo *sbinfo_get(struct sbinfo *c, int fd, const struct statx *stx, bool want_uuid)
{
	bool unique = unique_id(stx);
	struct statfs sfs;

	if (unique && c->mnt_id == stx->stx_mnt_id)
		return c;
	c->mnt_id = 0;
	if (fstatfs(fd, &sfs) < 0)
		return NULL;
	c->f_type = sfs.f_type;
	/* Kept by unique id: worth the ioctl once per mount. */
	c->uuid_ok = (unique || want_uuid) && sbinfo_fs_uuid(fd, c->uuid) >= 0;
	if (unique)
		c->mnt_id = stx->stx_mnt_id;
	return c;
}

long sbinfo_type_hint(struct sbinfo *c, int fd, const struct statx *stx)
{
	uint64_t dev;
	struct statfs sfs;

	if (unique_id(stx)) {
		const struct sbinfo *sb = sbinfo_get(c, fd, stx, false);

		return sb ? sb->f_type : 0;
	}
	/* Before 6.8: as before sbinfo.c, by device number. */
	dev = stx ? (uint64_t) stx->stx_dev_major << 32 | stx->stx_dev_minor : 0;
	if (stx && c->hint_type != 0 && c->hint_dev == dev)
		return c->hint_type;
	if (fstatfs(fd, &sfs) < 0)
		return 0;
	c->hint_dev = dev;
	c->hint_type = stx ? sfs.f_type : 0;
	return sfs.f_type;
}
