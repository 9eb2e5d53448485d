/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test helper: proves fanguardd's seccomp filter refuses what it must.
 *   seccomp-probe kill|errno
 * For each forbidden call (execve, an AF_INET socket, mount, unshare,
 * setuid), a child loads exactly the daemon's filter (sandbox_seccomp_install(),
 * the same static library) and tries it: with "kill" the child must die of
 * SIGSYS, with "errno" the call must fail with EPERM. A child that loads the
 * filter and does allowed things (open, read, write, a thread-free getpid)
 * must exit normally. Prints one line per case; exits 0 if all hold.
 * Never runs a forbidden call without the filter: the arguments are harmless
 * on their own (exec of /bin/false, mount of nothing). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "sandbox.h"

#define REFUSED 42 /* the call failed with EPERM */
#define ALLOWED 43 /* the call went through */

static int try_call(const char *what)
{
	int r = 0;

	if (strcmp(what, "execve") == 0) {
		char *argv[] = {(char *) "/bin/false", NULL};

		r = execve("/bin/false", argv, NULL);
	} else if (strcmp(what, "socket-inet") == 0) {
		r = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (r >= 0)
			r = 0;
	} else if (strcmp(what, "mount") == 0) {
		r = mount(NULL, "/nonexistent-fg-probe", NULL, MS_REMOUNT, NULL);
		if (r < 0 && errno != EPERM)
			r = 0; /* ENOENT etc.: the kernel saw the call */
	} else if (strcmp(what, "unshare") == 0)
		r = unshare(0);
	else if (strcmp(what, "setuid") == 0)
		r = setuid(getuid());
	else if (strcmp(what, "allowed") == 0) {
		char buf[16];
		int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

		if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0 || getpid() <= 0 ||
		    write(STDOUT_FILENO, "", 0) < 0)
			return 1;
		close(fd);
		return ALLOWED;
	}
	return r < 0 && errno == EPERM ? REFUSED : ALLOWED;
}

static int run_case(int mode, const char *what)
{
	int status, r;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		r = sandbox_seccomp_install(mode, 0);
		if (r < 0)
			_exit(3);
		_exit(try_call(what));
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (WIFSIGNALED(status)) {
		printf("%-12s %s: killed by %s\n", what, seccomp_mode_to_string(mode),
		       strsignal(WTERMSIG(status)));
		return WTERMSIG(status) == SIGSYS ? 0 : 1;
	}
	printf("%-12s %s: %s\n", what, seccomp_mode_to_string(mode),
	       WEXITSTATUS(status) == REFUSED	? "refused with EPERM"
	       : WEXITSTATUS(status) == ALLOWED ? "allowed"
	       : WEXITSTATUS(status) == 3	? "filter failed to load"
						: "exited");
	return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	static const char *const forbidden[] = {"execve", "socket-inet", "mount", "unshare",
						"setuid"};
	int mode, fails = 0, r;

	if (argc != 2 || (mode = seccomp_mode_from_string(argv[1])) < 0 ||
	    (mode != FG_SECCOMP_KILL && mode != FG_SECCOMP_ERRNO)) {
		fprintf(stderr, "usage: seccomp-probe kill|errno\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
		r = run_case(mode, forbidden[i]);
		/* kill: run_case() returns 0 only for SIGSYS; errno: REFUSED. */
		if (mode == FG_SECCOMP_KILL ? r != 0 : r != REFUSED)
			fails++;
	}
	if (run_case(mode, "allowed") != ALLOWED)
		fails++;
	printf("%s\n", fails ? "FAIL" : "ok");
	return fails ? 1 : 0;
}
