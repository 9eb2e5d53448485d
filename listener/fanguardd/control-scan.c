/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `fanguardctl scan`: on-demand scan sessions on the control socket. After
 * "scan\n" the connection belongs to a session thread of its own (a scan
 * takes up to CONTROL_SCAN_DEADLINE_MS; the main loop must never wait on
 * one). The client opened every file itself and passes each fd with
 * SCM_RIGHTS: the daemon never opens a path a user named. Protocol:
 *
 *   client: "scan\n"             daemon: "OK\n" (or "ERR busy...\n")
 *   client: 1 byte + one fd      daemon: "CLEAN\n"
 *                                        "FOUND scanner detail\n"
 *                                        "SKIPPED reason [detail]\n"
 *                                        "ERROR message\n"
 *   ... one fd at a time; the client shuts down writing to end.
 *
 * At most CONTROL_SCAN_MAX_SESSIONS at once; an idle session ends after
 * CONTROL_SCAN_IDLE_SEC. Never touches the permission path: the scanners
 * run on this thread with a deadline of their own. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "control.h"
#include "fd-util.h"
#include "log.h"
#include "macro.h"
#include "time-util.h"

#define CONTROL_SCAN_MAX_SESSIONS 4
#define CONTROL_SCAN_IDLE_SEC 60

static pthread_mutex_t sessions_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sessions_cond = PTHREAD_COND_INITIALIZER;
/* protected by sessions_lock: the sessions' sockets, -1 for a free slot */
static int sessions[CONTROL_SCAN_MAX_SESSIONS] = {-1, -1, -1, -1};
_Static_assert(CONTROL_SCAN_MAX_SESSIONS == 4, "initialise every slot of sessions[] to -1");
static unsigned n_sessions;
static bool stopping;

struct session {
	struct control_ctx *ctx;
	int fd;
	pid_t pid; /* the client, for the log */
};

/* Receives one fd; 0 at the end of the session, or -errno. Extra fds in the
 * same message are closed: one file per request. */
static int recv_fd(int sock, int *ret_fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} control;
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = control.buf,
			    .msg_controllen = sizeof(control.buf)};
	int fd = -EBADF;
	ssize_t n;

	n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd < 0)
				fd = f;
			else
				safe_close(f);
		}
	}
	if (mh.msg_flags & MSG_CTRUNC) {
		safe_close(fd);
		return -EMSGSIZE;
	}
	if (fd < 0)
		return -EBADMSG;
	*ret_fd = fd;
	return 1;
}

/* A detail (a signature or rule name) on one line. */
static void one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char) *s < 0x20 || *s == 0x7f)
			*s = '?';
}

static int scan_one(struct session *s, int fd)
{
	struct fanguard_scan_info info = {.size = sizeof(info)};
	char line[256];
	int r;

	r = fanguard_scan_fd(s->ctx->fg, fd, CONTROL_SCAN_DEADLINE_MS, &info);
	if (r == -EBADFD)
		(void) snprintf(line, sizeof(line), "SKIPPED not-regular\n");
	else if (r < 0)
		(void) snprintf(line, sizeof(line), "ERROR %s\n", strerror(-r));
	else {
		one_line(info.scanner);
		one_line(info.detail);
		if (info.reason == FANGUARD_REASON_SCANNED && info.verdict == FANGUARD_DENY) {
			(void) snprintf(line, sizeof(line), "FOUND %s %s\n",
					info.scanner[0] ? info.scanner : "?",
					info.detail[0] ? info.detail : "-");
			log_notice("On-demand scan for pid %d: found by %s (%s)", (int) s->pid,
				   info.scanner, info.detail);
		} else if (info.reason == FANGUARD_REASON_SCANNED)
			(void) snprintf(line, sizeof(line), "CLEAN\n");
		else
			(void) snprintf(line, sizeof(line), "SKIPPED %s%s%s%s%s\n",
					fanguard_reason_to_string(info.reason),
					info.scanner[0] ? " " : "", info.scanner,
					info.detail[0] ? " " : "", info.detail);
	}
	return loop_write(s->fd, line, strlen(line));
}

static void *session_main(void *userdata)
{
	struct session *s = userdata;
	unsigned files = 0;
	int r;

	r = loop_write(s->fd, "OK\n", 3);
	while (r >= 0) {
		_cleanup_close_ int fd = -EBADF;

		r = recv_fd(s->fd, &fd);
		if (r == -EMSGSIZE || r == -EBADMSG) {
			const char *m = "ERROR pass exactly one fd per request\n";

			r = loop_write(s->fd, m, strlen(m));
			continue;
		}
		if (r <= 0)
			break;
		r = scan_one(s, fd);
		files++;
	}
	if (r < 0 && r != -EAGAIN)
		log_debug_errno(r, "Scan session of pid %d ended: %m", (int) s->pid);
	log_info("On-demand scan for pid %d: %u files", (int) s->pid, files);

	pthread_mutex_lock(&sessions_lock);
	for (size_t i = 0; i < ELEMENTSOF(sessions); i++)
		if (sessions[i] == s->fd)
			sessions[i] = -1;
	n_sessions--;
	pthread_cond_broadcast(&sessions_cond);
	pthread_mutex_unlock(&sessions_lock);
	safe_close(s->fd);
	free(s);
	return NULL;
}

int control_scan_start(struct control_ctx *ctx, int fd, pid_t pid)
{
	struct timeval idle = {.tv_sec = CONTROL_SCAN_IDLE_SEC}, send = {.tv_sec = 5};
	struct session *s = NULL;
	pthread_attr_t attr;
	pthread_t t;
	int r = -EBUSY;

	pthread_mutex_lock(&sessions_lock);
	if (!stopping && n_sessions < CONTROL_SCAN_MAX_SESSIONS)
		s = calloc(1, sizeof(*s));
	if (s) {
		*s = (struct session){.ctx = ctx, .fd = fd, .pid = pid};
		/* The accept timeouts were for one request; a session waits
		 * for the client's next file, and a scan takes its time. */
		(void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
		(void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send, sizeof(send));
		r = -pthread_attr_init(&attr);
		if (r == 0) {
			(void) pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
			/* Signals stay blocked: the thread inherits main's mask. */
			r = -pthread_create(&t, &attr, session_main, s);
			pthread_attr_destroy(&attr);
		}
		if (r == 0) {
			for (size_t i = 0; i < ELEMENTSOF(sessions); i++)
				if (sessions[i] < 0) {
					sessions[i] = fd;
					break;
				}
			n_sessions++;
		} else
			free(s);
	}
	pthread_mutex_unlock(&sessions_lock);
	if (r < 0) {
		const char *m = r == -EBUSY ? "ERR busy: too many scans at once, try again\n"
					    : "ERR cannot start a scan session\n";

		(void) loop_write(fd, m, strlen(m));
		safe_close(fd);
		if (r != -EBUSY)
			log_warning_errno(r, "Failed to start a scan session, ignoring: %m");
	}
	return r;
}

bool control_scan_stop_all(usec_t timeout)
{
	usec_t deadline = now_usec() + timeout;
	bool done;

	pthread_mutex_lock(&sessions_lock);
	stopping = true;
	/* Wakes a session waiting for its client's next file; one inside a
	 * scan finishes it first (bounded by its deadline). */
	for (size_t i = 0; i < ELEMENTSOF(sessions); i++)
		if (sessions[i] >= 0)
			(void) shutdown(sessions[i], SHUT_RDWR);
	while (n_sessions > 0) {
		struct timespec ts;

		if (now_usec() >= deadline)
			break;
		ts = usec_to_timespec(deadline);
		(void) pthread_cond_clockwait(&sessions_cond, &sessions_lock, CLOCK_MONOTONIC, &ts);
	}
	done = n_sessions == 0;
	pthread_mutex_unlock(&sessions_lock);
	return done;
}
