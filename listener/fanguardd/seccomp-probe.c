/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test helper: proves fanguardd's sandbox refuses what it must.
 *   seccomp-probe kill|errno
 *   seccomp-probe sandbox WRITABLE_DIR TCP_PORT   (see sandbox_main())
 * For each forbidden call (execve, an AF_INET socket, mount, unshare,
 * setuid, a write open of an existing file), a child loads exactly the daemon's filter (sandbox_seccomp_install(),
 * the same static library) and tries it: with "kill" the child must die of
 * SIGSYS, with "errno" the call must fail with EPERM. A child that loads the
 * filter and does allowed things (open, read, write, a thread-free getpid)
 * must exit normally. Prints one line per case; exits 0 if all hold.
 * Never runs a forbidden call without the filter: the arguments are harmless
 * on their own (exec of /bin/false, mount of nothing).
 *
 * "sandbox DIR TCP_PORT" applies the daemon's whole sandbox in children
 * (capabilities, Landlock allowing writes in DIR and TCP connects to
 * TCP_PORT, then also the seccomp filter in errno mode) and tries each
 * escape: a write open of /proc/PPID/mem and /proc/1/mem, a connect to an
 * abstract socket the parent listens on, TCP connects to TCP_PORT + 1 and
 * TCP_PORT (refused by the peer, not by Landlock), files and directories
 * outside DIR, exec, clone3, a fork-like clone; and what must still work:
 * files in DIR, a thread. A baseline shows the escapes work unsandboxed. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "sandbox.h"

/* As in seccomp.c: sanitizer builds leave clone unfiltered (LeakSanitizer). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FG_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FG_SANITIZED 1
#endif
#endif

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
	else if (strcmp(what, "open-write") == 0) {
		char path[64];

		/* An existing file for writing: the parent's memory. */
		(void) snprintf(path, sizeof(path), "/proc/%d/mem", (int) getppid());
		r = open(path, O_RDWR | O_CLOEXEC);
		if (r >= 0)
			r = 0;
	} else if (strcmp(what, "allowed") == 0) {
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

/* --- the whole sandbox ----------------------------------------------------- */

enum layers { LANDLOCK_ONLY, FULL };

/* want_errno: 0 for success, -1 for any failure, else that errno. */
static int expect(const char *what, const char *layers, int r, int want_errno)
{
	bool ok = want_errno == 0 ? r >= 0 : r < 0 && (want_errno < 0 || errno == want_errno);

	printf("%-26s %-9s %s (%s)\n", what, layers, r >= 0 ? "succeeded" : strerror(errno),
	       ok ? "as expected" : "WRONG");
	return ok ? 0 : 1;
}

static int tcp_connect(uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return -1;
	r = connect(fd, (struct sockaddr *) &sa, sizeof(sa));
	if (r < 0) {
		int e = errno;

		close(fd);
		errno = e;
	} else
		close(fd);
	return r;
}

static int unix_connect(const struct sockaddr_un *sa, socklen_t len)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return -1;
	r = connect(fd, (const struct sockaddr *) sa, len);
	if (r < 0) {
		int e = errno;

		close(fd);
		errno = e;
	} else
		close(fd);
	return r;
}

static void *thread_main(void *arg)
{
	return arg;
}

/* In a child: the daemon's capabilities, Landlock domain and (FULL) its
 * seccomp filter in errno mode, then every escape the issue names. */
static int sandbox_child(enum layers layers, const char *dir, uint16_t port,
			 const struct sockaddr_un *abs, socklen_t abs_len)
{
	const char *l = layers == FULL ? "full" : "landlock";
	const struct sandbox_landlock ll = {
		.write_dirs = &dir, .n_write_dirs = 1, .tcp_ports = &port, .n_tcp_ports = 1};
	char inside[4096], outside[4096];
	int fails = 0, r, abi;
	pthread_t t;

	if (geteuid() == 0 && sandbox_drop_capabilities(false, false, false) < 0)
		return 3;
	abi = sandbox_landlock_apply(&ll);
	if (abi <= 0) {
		printf("landlock: %s\n", abi == 0 ? "not available" : strerror(-abi));
		return 4;
	}
	if (layers == FULL && sandbox_seccomp_install(FG_SECCOMP_ERRNO, FG_SANDBOX_INET) < 0)
		return 3;
	/* With CAP_SYS_PTRACE kept, these opens work without the sandbox (the
	 * parent's: see the baseline; PID 1's may be refused here by an outer
	 * sandbox, so any failure counts). */
	(void) snprintf(inside, sizeof(inside), "/proc/%d/mem", (int) getppid());
	r = open(inside, O_RDWR | O_CLOEXEC);
	fails += expect("open /proc/PPID/mem rw", l, r, layers == FULL ? EPERM : EACCES);
	if (r >= 0)
		close(r);
	r = open(inside, O_WRONLY | O_CLOEXEC);
	fails += expect("open /proc/PPID/mem w", l, r, layers == FULL ? EPERM : EACCES);
	if (r >= 0)
		close(r);
	r = open("/proc/1/mem", O_RDWR | O_CLOEXEC);
	fails += expect("open /proc/1/mem rw", l, r, -1);
	if (r >= 0)
		close(r);
	/* Scoping came with ABI 6, TCP rules with ABI 4: older kernels let
	 * these through (a documented gap), and the probe says so. */
	fails += expect(abi >= 6 ? "connect abstract socket" : "connect abstract (ABI<6)", l,
			unix_connect(abs, abs_len), abi >= 6 ? EPERM : 0);
	fails += expect(abi >= 4 ? "connect tcp other port" : "connect tcp other (ABI<4)", l,
			tcp_connect((uint16_t) (port + 1)), abi >= 4 ? EACCES : ECONNREFUSED);
	/* Nothing listens there: refused by the peer, i.e. Landlock let it pass. */
	fails += expect("connect tcp clamd port", l, tcp_connect(port), ECONNREFUSED);
	(void) snprintf(inside, sizeof(inside), "%s/probe-%d", dir, (int) getpid());
	(void) snprintf(outside, sizeof(outside), "%s/../probe-outside-%d", dir, (int) getpid());
	r = open(outside, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	fails += expect("create file outside", l, r, EACCES);
	if (r >= 0) {
		close(r);
		(void) unlink(outside);
	}
	r = open(inside, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	fails += expect("create file inside", l, r, 0);
	if (r >= 0) {
		fails += expect("write file inside", l, (int) write(r, "x", 1), 0);
		close(r);
		fails += expect("unlink file inside", l, unlink(inside), 0);
	}
	r = mkdir(outside, 0700);
	fails += expect("mkdir outside", l, r, layers == FULL ? EPERM : EACCES);
	{
		char *argv[] = {(char *) "/bin/true", NULL};

		fails += expect("execve", l, execve("/bin/true", argv, NULL),
				layers == FULL ? EPERM : EACCES);
	}
	if (layers == FULL) {
		fails += expect("clone3", l, (int) syscall(SYS_clone3, NULL, 0), ENOSYS);
		/* fork() is clone(SIGCHLD): not a thread. */
		r = (int) syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, 0);
		if (r == 0)
			_exit(0);
#ifdef FG_SANITIZED
		if (r > 0)
			(void) waitpid(r, NULL, 0);
		fails += expect("clone (fork, sanitizer)", l, r, 0);
#else
		fails += expect("clone (fork)", l, r, EPERM);
#endif
		r = -pthread_create(&t, NULL, thread_main, NULL);
		if (r == 0)
			(void) pthread_join(t, NULL);
		else
			errno = -r;
		fails += expect("pthread_create", l, r, 0);
	}
	return fails ? 1 : 0;
}

static int sandbox_main(const char *dir, const char *port_s)
{
	struct sockaddr_un abs = {.sun_family = AF_UNIX};
	socklen_t abs_len;
	unsigned long port = strtoul(port_s, NULL, 10);
	int lfd, fails = 0, r, status;

	/* An abstract socket made outside the sandbox, listening. */
	r = snprintf(abs.sun_path + 1, sizeof(abs.sun_path) - 1, "fg-probe-%d", (int) getpid());
	abs_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + (size_t) r);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *) &abs, abs_len) < 0 || listen(lfd, 4) < 0) {
		perror("abstract socket");
		return 1;
	}
	/* Baseline: the same calls without a sandbox get through, a write open
	 * of our own /proc/PID/mem too with the capabilities the daemon keeps
	 * (so the checks below can fail). Opened only, never written. */
	r = unix_connect(&abs, abs_len);
	fails += expect("connect abstract socket", "none", r, 0);
	if (geteuid() == 0) {
		pid_t pid = fork();

		if (pid == 0) {
			char path[64];

			if (sandbox_drop_capabilities(false, false, false) < 0)
				_exit(3);
			(void) snprintf(path, sizeof(path), "/proc/%d/mem", (int) getppid());
			r = open(path, O_RDWR | O_CLOEXEC);
			_exit(expect("open /proc/PPID/mem rw", "caps", r, 0));
		}
		if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			fails++;
	}
	for (int layers = LANDLOCK_ONLY; layers <= FULL; layers++) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0)
			_exit(sandbox_child(layers, dir, (uint16_t) port, &abs, abs_len));
		if (waitpid(pid, &status, 0) < 0)
			return 1;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			printf("sandbox child (%s) failed: status %d\n",
			       layers == FULL ? "full" : "landlock", status);
			fails++;
		}
	}
	close(lfd);
	printf("%s\n", fails ? "FAIL" : "ok");
	return fails ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const char *const forbidden[] = {"execve",  "socket-inet", "mount",
						"unshare", "setuid",	  "open-write"};
	int mode, fails = 0, r;

	/* Children leave with _exit(): nothing may wait in a buffer. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && strcmp(argv[1], "sandbox") == 0)
		return sandbox_main(argv[2], argv[3]);
	if (argc != 2 || (mode = seccomp_mode_from_string(argv[1])) < 0 ||
	    (mode != FG_SECCOMP_KILL && mode != FG_SECCOMP_ERRNO)) {
		fprintf(stderr, "usage: seccomp-probe kill|errno | sandbox DIR TCP_PORT\n");
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
