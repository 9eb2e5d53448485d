/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The documented call order, with the denylist on the watched mount:
 *   fanguard_new -> fanguard_watch(DIR) -> fanguard_deny_sha256_file(LIST)
 *   -> fanguard_start
 * Before marks went in at start, the denylist read waited forever on a mark
 * nobody answered. Then a child opens CLEAN (allowed) and EVIL (denied).
 * Usage: fg-order DIR LIST CLEAN EVIL; exit 0 when all of that holds. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fanguard.h"

extern char **environ;

static int cat_status(const char *path)
{
	char *argv[] = {(char *) "cat", (char *) path, NULL};
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&pid, "/bin/cat", &fa, NULL, argv, environ) != 0)
		return -1;
	posix_spawn_file_actions_destroy(&fa);
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

int main(int argc, char **argv)
{
	struct fanguard *fg;
	unsigned line = 0;
	int r, ok = 1;

	if (argc != 5) {
		fprintf(stderr, "usage: fg-order DIR LIST CLEAN EVIL\n");
		return 2;
	}
	if ((r = fanguard_new(NULL, &fg)) < 0 || (r = fanguard_watch(fg, argv[1], 0)) < 0) {
		fprintf(stderr, "fg-order: new/watch: %s\n", strerror(-r));
		return 1;
	}
	r = fanguard_deny_sha256_file(fg, argv[2], &line);
	if (r < 1) {
		fprintf(stderr, "fg-order: denylist: %d (line %u)\n", r, line);
		return 1;
	}
	r = fanguard_start(fg);
	if (r < 0) {
		fprintf(stderr, "fg-order: start: %s\n", strerror(-r));
		return 1;
	}
	if (cat_status(argv[3]) != 0) {
		fprintf(stderr, "fg-order: clean file not readable\n");
		ok = 0;
	}
	if (cat_status(argv[4]) == 0) {
		fprintf(stderr, "fg-order: denylisted file readable: not watched?\n");
		ok = 0;
	}
	r = fanguard_stop(fg, 2000);
	fanguard_free(fg);
	if (r < 0) {
		fprintf(stderr, "fg-order: stop: %s\n", strerror(-r));
		return 1;
	}
	return ok ? 0 : 1;
}
