/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Executable identity: device + inode + uid (exe-id.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "exe-id.h"
#include "macro.h"

int exe_id_from_path(const char *path, uid_t uid, struct exe_id *ret)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	*ret = (struct exe_id){.dev = st.st_dev, .ino = st.st_ino, .uid = uid};
	return 0;
}

static int euid_of(pid_t pid, uid_t *ret)
{
	char path[64], buf[1024];
	unsigned long ruid, euid;
	_cleanup_close_ int fd = -EBADF;
	const char *u;
	ssize_t n;

	(void) snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return n < 0 ? -errno : -EBADMSG;
	buf[n] = '\0';
	u = strstr(buf, "\nUid:");
	if (!u || sscanf(u + 5, "%lu %lu", &ruid, &euid) != 2)
		return -EBADMSG;
	*ret = (uid_t) euid;
	return 0;
}

int exe_id_of_pid(pid_t pid, struct exe_id *ret)
{
	char path[64];
	struct stat st;
	uid_t uid = 0;
	int r;

	if (pid <= 0)
		return -EINVAL;
	(void) snprintf(path, sizeof(path), "/proc/%d/exe", (int) pid);
	/* stat() follows the magic link to the running image itself. */
	if (stat(path, &st) < 0)
		return -errno;
	r = euid_of(pid, &uid);
	if (r < 0)
		return r;
	*ret = (struct exe_id){.dev = st.st_dev, .ino = st.st_ino, .uid = uid};
	return 0;
}

bool exe_id_matches(const struct exe_id *rule, const struct exe_id *subject)
{
	return rule->dev == subject->dev && rule->ino == subject->ino && rule->uid == subject->uid;
}
