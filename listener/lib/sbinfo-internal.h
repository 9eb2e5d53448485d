/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Per-superblock facts a reader needs per event (sbinfo.c): the filesystem
 * type and UUID. They belong to the superblock, and a mount never changes
 * superblock, so a reader keeps the last mount's, keyed by its unique mount
 * id (STATX_MNT_ID_UNIQUE, 6.8: never reused while the system runs). */
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif

#define SBINFO_UUID_LEN 16

struct sbinfo {
	uint64_t mnt_id; /* unique mount id these are for; 0: nothing kept */
	long f_type;	 /* fstatfs() */
	bool uuid_ok;	 /* FS_IOC_GETFSUUID (6.5) gave a 16-byte UUID */
	uint8_t uuid[SBINFO_UUID_LEN];
	/* Without unique mount ids: the type of the last device seen, a hint
	 * only (a device number is reused, and an overlay's files report
	 * their layer's st_dev) */
	uint64_t hint_dev;
	long hint_type; /* 0: none */
};

/* The facts of the superblock behind fd, whose statx() (with
 * STATX_MNT_ID_UNIQUE asked for) is stx: from c if it holds that mount,
 * else looked up (and kept in c when the id is unique; the UUID only if
 * want_uuid). NULL if fstatfs() fails. */
const struct sbinfo *sbinfo_get(struct sbinfo *c, int fd, const struct statx *stx, bool want_uuid);

/* The filesystem type of fd as a hint (whether content is in memory): by
 * unique mount id, else by device number; 0 if unknown. */
long sbinfo_type_hint(struct sbinfo *c, int fd, const struct statx *stx);

/* The filesystem UUID, FS_IOC_GETFSUUID (handled by the VFS, never by the
 * filesystem): 0, or negative errno (-EOPNOTSUPP: none of 16 bytes). */
int sbinfo_fs_uuid(int fd, uint8_t uuid[SBINFO_UUID_LEN]);
