/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include "private-dir.h"

int private_owner_check(const char *what, const struct stat *st, uid_t uid, char *why, size_t len)
{
	if (st->st_uid == uid && (st->st_mode & 077) == 0)
		return 0;
	(void) snprintf(why, len,
			"%s is owned by uid %u with mode %04o: refusing it (it must be owned by "
			"uid %u and closed to group and others, e.g. mode 0700/0600)",
			what, (unsigned) st->st_uid, (unsigned) (st->st_mode & 07777),
			(unsigned) uid);
	return -EPERM;
}

int private_file_check(int dfd, const char *name, uid_t uid, char *why, size_t len)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISREG(st.st_mode)) {
		(void) snprintf(why, len, "%s is not a regular file: refusing it", name);
		return -EPERM;
	}
	return private_owner_check(name, &st, uid, why, len);
}
