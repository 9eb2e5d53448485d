/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The on-deny hook (hook.h).
 *
 * Daemon side: hook_deny() runs on the library's log thread, after the
 * answer; it formats the facts as "FANGUARD_KEY=value" strings and sends
 * them in one SOCK_SEQPACKET message with MSG_DONTWAIT: a helper that is
 * behind costs a dropped run (counted, logged), never a wait.
 *
 * Helper side (a child forked while the daemon had one thread): reads one
 * message at a time, runs the program with exactly those variables plus
 * PATH (argv is the program alone: no shell, no word splitting of a file
 * name), in a process group of its own, kills the group at the timeout,
 * and reaps it. At most per_minute runs a minute; the rest are dropped and
 * counted. Exits when the daemon closes its end (or dies). It is not the
 * daemon's child (forked twice), so the sandboxed daemon never has to
 * reap it: its parent is then systemd (or the nearest subreaper).
 *
 * The program runs as hs->uid/gid (OnDenyUser=, "nobody" by default) with
 * no supplementary groups, no capabilities (effective, permitted,
 * inheritable, ambient and bounding sets emptied, so not even a setuid-root
 * binary or uid 0 regains any), PR_SET_NO_NEW_PRIVS, no fd but stdio, and
 * an environment of the facts plus PATH: the facts come from the file a
 * user chose (its name), and the program is an administrator's script that
 * has no business holding the daemon's powers. The helper itself stays
 * root: it must kill the program's process group at the timeout.
 *
 * Must never: let the helper hold a fanotify group (it closes every fd but
 * its socket: a passed or inherited group would keep opens waiting), block
 * the daemon, or leave a zombie. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "hook.h"
#include "log.h"
#include "procfs.h"
#include "time-util.h"

#define HOOK_MSG_MAX 16384
#define HOOK_VARS_MAX 16

static int hook_fd = -EBADF;
static _Atomic unsigned long hook_dropped;

/* --- helper ------------------------------------------------------------------ */

/* In the child, before execve(): become hs->uid with nothing else. Any
 * failure is fatal for this run (the caller _exit()s): never exec with more
 * than asked. */
static int drop_privileges(const struct hook_settings *hs)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3] = {};

	/* The bounding set first: dropping needs CAP_SETPCAP, gone after
	 * setresuid(). EINVAL marks the end of the caps this kernel knows.
	 * Without CAP_SETPCAP (a unit's CapabilityBoundingSet= without it) a
	 * cap stays in the set, harmlessly: with no_new_privs and an empty
	 * permitted set, execve() grants nothing, root's included (the
	 * gained caps are intersected with the old permitted set,
	 * cap_bprm_creds_from_file()). */
	for (int cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EPERM) {
			if (errno == EINVAL)
				break;
			return -errno;
		}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	if (setgroups(0, NULL) < 0)
		return -errno;
	if (setresgid(hs->gid, hs->gid, hs->gid) < 0)
		return -errno;
	if (setresuid(hs->uid, hs->uid, hs->uid) < 0)
		return -errno;
	/* A non-zero uid cleared them already; uid 0 (only if configured) did not. */
	if (syscall(SYS_capset, &h, none) < 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

static void run_one(const struct hook_settings *hs, char *msg, size_t len)
{
	char *envp[HOOK_VARS_MAX + 2];
	char *argv[] = {(char *) hs->program, NULL};
	size_t n = 0;
	usec_t deadline;
	pid_t pid;
	int pidfd, st;

	envp[n++] = (char *) "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (char *p = msg; p < msg + len && n < HOOK_VARS_MAX + 1; p += strlen(p) + 1)
		if (strncmp(p, "FANGUARD_", 9) == 0 && strchr(p, '='))
			envp[n++] = p;
	envp[n] = NULL;

	pid = fork();
	if (pid < 0) {
		log_warning_errno(errno, "on-deny hook: fork failed, run dropped: %m");
		return;
	}
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		(void) sigprocmask(SIG_SETMASK, &none, NULL);
		(void) setpgid(0, 0);
		(void) syscall(SYS_close_range, 3, ~0U, 0);
		if (drop_privileges(hs) < 0)
			_exit(126);
		execve(hs->program, argv, envp);
		_exit(127);
	}
	(void) setpgid(pid, pid); /* either side may win the race */
	deadline = deadline_after((usec_t) hs->timeout_ms * USEC_PER_MSEC);
	pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
	for (;;) {
		usec_t now = now_usec();
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		int ms = now >= deadline ? 0 : (int) ((deadline - now + 999) / 1000);

		if (waitpid(pid, &st, WNOHANG) == pid) {
			if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
				log_warning("on-deny hook '%s' exited with status %d", hs->program,
					    WEXITSTATUS(st));
			else if (WIFSIGNALED(st))
				log_warning("on-deny hook '%s' killed by signal %d", hs->program,
					    WTERMSIG(st));
			break;
		}
		if (ms == 0) {
			log_warning("on-deny hook '%s' still running after %u ms: killed",
				    hs->program, hs->timeout_ms);
			(void) kill(-pid, SIGKILL);
			(void) kill(pid, SIGKILL);
			(void) waitpid(pid, &st, 0);
			break;
		}
		if (pidfd >= 0)
			(void) poll(&p, 1, ms);
		else
			(void) usleep(ms < 10 ? (useconds_t) ms * 1000 : 10000);
	}
	if (pidfd >= 0)
		(void) close(pidfd);
}

static int helper_main(const struct hook_settings *hs)
{
	static char msg[HOOK_MSG_MAX];
	usec_t window = now_usec();
	unsigned long runs = 0, dropped = 0;

	(void) prctl(PR_SET_NAME, "fanguardd-hook");
	for (;;) {
		ssize_t n = recv(3, msg, sizeof(msg) - 1, 0);

		if (n == 0)
			return 0; /* the daemon closed its end */
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		msg[n] = '\0';
		if (now_usec() - window >= 60 * USEC_PER_SEC) {
			if (dropped > 0)
				log_warning("on-deny hook: %lu runs dropped in the last minute "
					    "(limit %u a minute)",
					    dropped, hs->per_minute);
			window = now_usec();
			runs = dropped = 0;
		}
		if (runs >= hs->per_minute) {
			dropped++;
			continue;
		}
		runs++;
		run_one(hs, msg, (size_t) n);
	}
}

int hook_user(const char *name, uid_t *ret_uid, gid_t *ret_gid)
{
	const char *n = name ?: "nobody";
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(n);
	if (!pw)
		return log_error_errno(errno ?: ENOENT, "OnDenyUser=: no user '%s'", n);
	/* Root only when an administrator wrote its name: still no capabilities. */
	if (pw->pw_uid == 0)
		log_warning("on-deny hook runs as uid 0 (OnDenyUser=%s), without capabilities", n);
	*ret_uid = pw->pw_uid;
	*ret_gid = pw->pw_gid;
	return 0;
}

static bool have_cap(unsigned cap)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {};

	return syscall(SYS_capget, &h, d) == 0 && (d[cap / 32].effective & (1u << (cap % 32)));
}

int hook_start(const struct hook_settings *hs)
{
	int sv[2], st;
	pid_t pid;

	if (!hs->program)
		return 0;
	/* Say it now, not at every deny (the child would exit 126). */
	if ((hs->uid != geteuid() && !have_cap(CAP_SETUID)) ||
	    (hs->gid != getegid() && !have_cap(CAP_SETGID)))
		return log_error_errno(EPERM,
				       "on-deny hook: running it as uid %u gid %u needs CAP_SETUID "
				       "and CAP_SETGID (under systemd: add them to "
				       "CapabilityBoundingSet= in a drop-in)",
				       (unsigned) hs->uid, (unsigned) hs->gid);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int r = -errno;

		(void) close(sv[0]);
		(void) close(sv[1]);
		return r;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);

		/* Only our socket, as fd 3, and stdio: never a fanotify group
		 * passed by systemd (fd store) or anything else. */
		if (devnull >= 0)
			(void) dup2(devnull, 0);
		if (dup2(sv[1], 3) < 0)
			_exit(1);
		(void) syscall(SYS_close_range, 4, ~0U, 0);
		/* Again, so that the daemon never has a child to reap. */
		pid = fork();
		if (pid != 0)
			_exit(pid < 0 ? 1 : 0);
		_exit(helper_main(hs));
	}
	(void) close(sv[1]);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		(void) close(sv[0]);
		return -ECHILD;
	}
	hook_fd = sv[0];
	log_info("on-deny hook '%s' as uid %u gid %u, no capabilities (timeout %u ms, at most %u "
		 "runs a minute)",
		 hs->program, (unsigned) hs->uid, (unsigned) hs->gid, hs->timeout_ms,
		 hs->per_minute);
	return 0;
}

/* --- daemon side --------------------------------------------------------------- */

static void add(char *buf, size_t *len, const char *key, const char *value)
{
	int n = snprintf(buf + *len, HOOK_MSG_MAX - *len, "FANGUARD_%s=%s", key, value);

	if (n < 0 || (size_t) n >= HOOK_MSG_MAX - *len)
		return;		/* does not fit: left out */
	*len += (size_t) n + 1; /* with its NUL */
}

void hook_deny(const struct fanguard_verdict_info *v, const char *comm, const char *exe, uid_t uid)
{
	char buf[HOOK_MSG_MAX], num[32];
	bool would_deny =
		FANGUARD_HAS_FIELD(v, struct fanguard_verdict_info, would_deny) && v->would_deny;
	size_t len = 0;

	if (hook_fd < 0)
		return;
	add(buf, &len, "VERDICT", would_deny ? "would-deny" : "deny");
	add(buf, &len, "PATH", v->path);
	(void) snprintf(num, sizeof(num), "%d", (int) v->pid);
	add(buf, &len, "PID", num);
	/* The library read it before the answer; else try now. */
	if (uid != (uid_t) -1 || proc_read_euid(v->pid, &uid) >= 0) {
		(void) snprintf(num, sizeof(num), "%u", (unsigned) uid);
		add(buf, &len, "UID", num);
	}
	add(buf, &len, "COMM", comm);
	add(buf, &len, "EXE", exe);
	add(buf, &len, "SCANNER", v->scanner);
	add(buf, &len, "DETAIL", v->detail);
	if (strcmp(v->scanner, "sha256") == 0)
		add(buf, &len, "SHA256", v->detail);
	add(buf, &len, "REASON", fanguard_reason_to_string(v->reason));
	add(buf, &len, "MOUNT_CLASS", fanguard_mount_class_to_string(v->mount_class));
	if (send(hook_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		unsigned long d = ++hook_dropped;

		/* 1, 2, 4, 8...: a flood is visible without flooding the log. */
		if ((d & (d - 1)) == 0)
			log_warning_errno(errno,
					  "on-deny hook: %lu runs dropped (helper behind): %m", d);
	}
}

void hook_stop(void)
{
	if (hook_fd >= 0)
		(void) close(hook_fd);
	hook_fd = -EBADF;
}
