/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fgcheck: precise checks for the shell tests (errno, latency, mount ids).
 * The shell owns namespaces, mounts and skips; this owns the measuring.
 *
 *   fgcheck mount-id PATH               print the mount id (mountinfo's) of PATH
 *   fgcheck fanotify-probe              exit 0 if permission events work, 77 if not
 *   fgcheck open PATH [EXPECT] [MS]     open O_RDONLY in a child under a deadline;
 *                                       EXPECT is "ok" or an errno name (EPERM);
 *                                       exit 0 when met, 1 when not, 2 when it hung
 *
 * Never blocks past its deadline itself: a hung open is left to its child,
 * which is killed (it may stay in D state; the test's cleanup aborts FUSE). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "macro.h"
#include "mounts.h"
#include "time-util.h"

static int cmd_mount_id(int argc, char **argv)
{
	uint64_t id, uniq;
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (argc != 3)
		return 2;
	fd = open(argv[2], O_PATH | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "fgcheck: open %s: %m\n", argv[2]);
		return 1;
	}
	r = fd_mount_id(fd, &id, &uniq);
	if (r < 0) {
		fprintf(stderr, "fgcheck: mount id of %s: %s\n", argv[2], strerror(-r));
		return 1;
	}
	printf("%llu\n", (unsigned long long) id);
	return 0;
}

static int cmd_fanotify_probe(void)
{
	int fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_UNLIMITED_QUEUE, O_RDONLY);

	if (fd < 0) {
		fprintf(stderr, "fgcheck: fanotify_init(FAN_CLASS_CONTENT): %m\n");
		return errno == EPERM ? 1 : 77;
	}
	close(fd);
	return 0;
}

static const struct {
	const char *name;
	int value;
} errnos[] = {
	{ "EPERM", EPERM },   { "EACCES", EACCES }, { "ENOENT", ENOENT },
	{ "EIO", EIO },	      { "EBUSY", EBUSY },   { "ECONNABORTED", ECONNABORTED },
	{ "ENOTCONN", ENOTCONN }, { "ETXTBSY", ETXTBSY }, { "EAGAIN", EAGAIN },
};

static const char *errno_name(int e)
{
	for (size_t i = 0; i < ELEMENTSOF(errnos); i++)
		if (errnos[i].value == e)
			return errnos[i].name;
	return "E?";
}

/* Opens in a child so that a hang costs us nothing but a kill. The child
 * reports the errno (0 for success) through a pipe. */
static int cmd_open(int argc, char **argv)
{
	const char *path, *expect = "ok";
	int ms = 5000, p[2], st;
	usec_t t0;
	pid_t pid;
	struct pollfd pfd;
	int err;

	if (argc < 3)
		return 2;
	path = argv[2];
	if (argc > 3)
		expect = argv[3];
	if (argc > 4)
		ms = atoi(argv[4]);
	if (pipe2(p, O_CLOEXEC) < 0)
		return 2;
	t0 = now_usec();
	pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		int e = fd < 0 ? errno : 0;

		(void) !write(p[1], &e, sizeof(e));
		_exit(0);
	}
	close(p[1]);
	pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
	if (poll(&pfd, 1, ms) <= 0) {
		kill(pid, SIGKILL);
		printf("open %s: HUNG after %d ms\n", path, ms);
		close(p[0]);
		return 2;
	}
	if (read(p[0], &err, sizeof(err)) != sizeof(err)) {
		close(p[0]);
		(void) waitpid(pid, &st, 0);
		return 2;
	}
	close(p[0]);
	(void) waitpid(pid, &st, 0);
	printf("open %s: %s (%.3f ms)\n", path, err ? errno_name(err) : "ok",
	       (double) (now_usec() - t0) / 1000.0);
	if (strcmp(expect, "ok") == 0)
		return err == 0 ? 0 : 1;
	return err && strcmp(expect, errno_name(err)) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: fgcheck mount-id|fanotify-probe|open ...\n");
		return 2;
	}
	if (strcmp(argv[1], "mount-id") == 0)
		return cmd_mount_id(argc, argv);
	if (strcmp(argv[1], "fanotify-probe") == 0)
		return cmd_fanotify_probe();
	if (strcmp(argv[1], "open") == 0)
		return cmd_open(argc, argv);
	fprintf(stderr, "fgcheck: unknown command '%s'\n", argv[1]);
	return 2;
}
