/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a process holds: its open files, its cwd, its UDP sockets (see
 * procfs.h). held_fd_kind() and arg_abs_paths() are pure and take any input;
 * the readers only readlink and read /proc: they never touch a file on a
 * FUSE mount, so a hung daemon cannot block them. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "fd-util.h"
#include "macro.h"
#include "procfs.h"

enum held_fd_kind held_fd_kind(const char *link, const struct proc_fdinfo *fi)
{
	static const char deleted[] = " (deleted)";
	size_t l;

	if (!link || link[0] != '/' || strncmp(link, "/dev/", 5) == 0)
		return HELD_FD_OTHER;
	/* An unlinked file holds nothing anyone else could open. */
	l = strlen(link);
	if (l >= sizeof(deleted) - 1 && strcmp(link + l - (sizeof(deleted) - 1), deleted) == 0)
		return HELD_FD_OTHER;
	if (fi && fi->has_flags && (fi->flags & O_ACCMODE) == O_WRONLY)
		return HELD_FD_WRITE_ONLY;
	return HELD_FD_READABLE;
}

void arg_abs_paths(const char *arg, void (*fn)(const char *path, void *ud), void *ud)
{
	_cleanup_free_ char *copy = NULL;
	char *save = NULL;

	if (!arg || !fn)
		return;
	copy = strdup(arg);
	if (!copy)
		return;
	/* Separators of option lists (",", "="), path lists (":") and
	 * mergerfs's branch modes ("/a=RW"). A path with one of these in it is
	 * cut; argv is a hint, and a cut path names nothing we rely on. */
	for (char *tok = strtok_r(copy, ",=:", &save); tok; tok = strtok_r(NULL, ",=:", &save))
		if (tok[0] == '/' && strlen(tok) < PATH_MAX)
			fn(tok, ud);
}

static int read_link(const char *path, char **ret)
{
	_cleanup_free_ char *buf = malloc(PATH_MAX);
	ssize_t l;

	if (!buf)
		return -ENOMEM;
	l = readlink(path, buf, PATH_MAX - 1);
	if (l < 0)
		return -errno;
	buf[l] = '\0';
	*ret = TAKE_PTR(buf);
	return 0;
}

int proc_read_cwd(pid_t pid, char **ret)
{
	char path[64];

	(void) snprintf(path, sizeof(path), "/proc/%d/cwd", (int) pid);
	return read_link(path, ret);
}

int proc_read_fd_link(pid_t pid, int fd, char **ret)
{
	char path[64];

	(void) snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int) pid, fd);
	return read_link(path, ret);
}
