/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The control socket's transport: every client in one epoll set, nothing
 * ever waited on. A client has CONTROL_CLIENT_TIMEOUT_USEC from accept to
 * the last byte of its answer; an idle or slow one only holds its own slot,
 * and when every slot is taken the longest-waiting client is dropped to make
 * room. Requests are capped at CONTROL_REQUEST_MAX bytes, replies at
 * CONTROL_REPLY_MAX. Runs on fanguardd's main thread only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "control.h"
#include "fd-util.h"
#include "log.h"
#include "macro.h"
#include "time-util.h"

/* How long a client waits for its reload before it is dropped. */
#define CONTROL_RELOAD_TIMEOUT_USEC (120 * USEC_PER_SEC)

struct control_client {
	uint64_t id; /* epoll's data: never a pointer that may be freed in a batch */
	int fd;
	pid_t pid; /* SO_PEERCRED, for the scan session's log */
	usec_t deadline;
	size_t in_len;
	char in[CONTROL_REQUEST_MAX];
	char *out; /* the whole answer, once known */
	size_t out_len, out_off;
	uint64_t reload_gen; /* waiting for this reload to end, or 0 */
};

struct control_server {
	int listen_fd; /* not owned */
	int epfd;
	struct control_ctx *ctx;
	struct control_client *clients[CONTROL_MAX_CLIENTS];
	size_t n;
	uint64_t next_id; /* 0 is the listener */
};

int control_server_new(int listen_fd, struct control_ctx *ctx, struct control_server **ret)
{
	struct control_server *s = calloc(1, sizeof(*s));
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};

	if (!s)
		return -ENOMEM;
	s->listen_fd = listen_fd;
	s->ctx = ctx;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, listen_fd, &ev) < 0) {
		int r = -errno;

		safe_close(s->epfd);
		free(s);
		return r;
	}
	*ret = s;
	return 0;
}

/* Reads and discards what a client sent beyond its request, without
 * waiting: closing an AF_UNIX socket with unread data makes the peer's
 * recv() fail with ECONNRESET, and the answer would be lost. Bounded. */
static void drain(int fd)
{
	char junk[4096];

	for (int i = 0; i < 16; i++)
		if (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) <= 0)
			break;
}

static void client_drop(struct control_server *s, size_t i)
{
	struct control_client *c = s->clients[i];

	if (c->fd >= 0)
		drain(c->fd);
	/* Closing removes it from the epoll set. */
	safe_close(c->fd);
	free(c->out);
	free(c);
	s->clients[i] = s->clients[--s->n];
	s->clients[s->n] = NULL;
}

struct control_server *control_server_free(struct control_server *s)
{
	if (!s)
		return NULL;
	while (s->n > 0)
		client_drop(s, s->n - 1);
	safe_close(s->epfd);
	free(s);
	return NULL;
}

int control_server_fd(const struct control_server *s)
{
	return s->epfd;
}

int control_server_timeout_ms(const struct control_server *s)
{
	usec_t now = now_usec(), first = USEC_INFINITY;

	for (size_t i = 0; i < s->n; i++)
		if (s->clients[i]->deadline < first)
			first = s->clients[i]->deadline;
	if (first == USEC_INFINITY)
		return -1;
	return first <= now ? 0 : (int) ((first - now) / USEC_PER_MSEC) + 1;
}

static size_t client_index(const struct control_server *s, uint64_t id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->clients[i]->id == id)
			return i;
	return s->n;
}

/* Sends as much as the socket takes; true once everything is out (or the
 * client is gone): then it is dropped. */
static bool client_flush(struct control_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return false;
			log_debug_errno(errno, "Control client went away: %m");
			return true;
		}
		c->out_off += (size_t) n;
	}
	return true;
}

static int set_answer(struct control_client *c, int r, const char *payload)
{
	size_t plen = payload ? strlen(payload) : 0;
	bool nl = plen > 0 && payload[plen - 1] != '\n';

	free(c->out);
	c->out = NULL;
	if (r >= 0 && plen + 4 > CONTROL_REPLY_MAX) {
		r = -EMSGSIZE;
		payload = "reply too large";
	}
	if (r < 0) {
		if (asprintf(&c->out, "ERR %s\n", payload ? payload : strerror(-r)) < 0)
			return -ENOMEM;
	} else if (asprintf(&c->out, "OK\n%s%s", payload ? payload : "", nl ? "\n" : "") < 0)
		return -ENOMEM;
	c->out_len = strlen(c->out);
	c->out_off = 0;
	return 0;
}

static void reload_answer(struct control_client *c, int r, const char *why)
{
	char msg[1200];

	if (r >= 0) {
		(void) set_answer(c, 0, NULL);
		return;
	}
	(void) snprintf(msg, sizeof(msg), "reload failed, the old configuration stays in force: %s",
			why ? why : "see the log");
	(void) set_answer(c, r, msg);
}

static void serve(struct control_server *s, struct control_client *c, int verb)
{
	_cleanup_free_ char *payload = NULL;
	struct control_ctx *ctx = s->ctx;
	int r;

	switch (verb) {
	case CONTROL_STATUS:
		r = control_status_text(ctx, &payload);
		break;
	case CONTROL_STATS:
		r = control_stats_json(ctx, &payload);
		break;
	case CONTROL_METRICS:
		r = control_metrics(ctx, &payload);
		break;
	case CONTROL_MOUNTS:
		r = control_mounts_json(ctx, &payload);
		break;
	case CONTROL_RELOAD: {
		int64_t gen = ctx->reload(ctx->userdata);

		if (gen > 0) {
			/* Answered when it ends; meanwhile only errors and
			 * hang-ups are heard from this client. */
			struct epoll_event ev = {.events = 0, .data.u64 = c->id};

			c->reload_gen = (uint64_t) gen;
			/* A reload may take seconds (10M digests: about 2). */
			c->deadline = now_usec() + CONTROL_RELOAD_TIMEOUT_USEC;
			(void) epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
			return;
		}
		r = (int) gen;
		if (r < 0) {
			reload_answer(c, r, ctx->reload_error);
			return;
		}
		break;
	}
	case -EMSGSIZE:
		(void) set_answer(c, verb, "request too long");
		return;
	default:
		(void) set_answer(c, -EINVAL, "unknown command");
		return;
	}
	(void) set_answer(c, r, payload);
}

/* Reads what the client sent; answers once the request is complete.
 * Returns true if the client is done (answered in full, or gone). */
static bool client_read(struct control_server *s, struct control_client *c)
{
	bool eof = false;
	int verb;

	for (;;) {
		ssize_t n;

		if (c->in_len == sizeof(c->in))
			break;
		n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return true;
		}
		if (n == 0) {
			eof = true;
			break;
		}
		c->in_len += (size_t) n;
	}
	verb = control_parse_request(c->in, c->in_len, eof);
	if (verb == -EAGAIN)
		return false;
	if (verb == CONTROL_SCAN) {
		/* A session of its own (control-scan.c), on its own thread with
		 * blocking I/O: the client sends nothing more until the session
		 * says OK, so nothing read here belongs to it. */
		int fd = c->fd;

		(void) epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);
		c->fd = -EBADF;
		if (fd_set_nonblock(fd, false) < 0) {
			safe_close(fd);
			return true;
		}
		(void) control_scan_start(s->ctx, fd, c->pid);
		return true;
	}
	if (verb == -EINVAL && eof && c->in_len == 0)
		return true; /* connected and left without a word */
	if (verb >= 0)
		log_debug("Control request '%s'", control_verb_to_string(verb));
	serve(s, c, verb);
	if (c->reload_gen)
		return false; /* answered when its reload ends */
	if (!c->out)
		return true;
	if (client_flush(c))
		return true;
	/* The rest when the socket has room; no more reading. */
	{
		struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = c->id};

		if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
			return true;
	}
	return false;
}

static void refuse(int fd, const char *msg)
{
	(void) send(fd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL);
	safe_close(fd);
}

static void accept_clients(struct control_server *s)
{
	/* A bounded batch per call: the main loop also has signals to read. */
	for (int k = 0; k < 64; k++) {
		struct epoll_event ev = {.events = EPOLLIN};
		struct control_client *c;
		struct ucred cred;
		socklen_t len = sizeof(cred);
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warning_errno(
					errno, "Failed to accept a control client, ignoring: %m");
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0) {
			refuse(fd, "ERR permission denied: root only\n");
			continue;
		}
		if (s->n == CONTROL_MAX_CLIENTS) {
			/* Make room: drop the client that has waited longest. */
			size_t oldest = 0;

			for (size_t i = 1; i < s->n; i++)
				if (s->clients[i]->deadline < s->clients[oldest]->deadline)
					oldest = i;
			log_debug("Control: %d clients, dropping the oldest", CONTROL_MAX_CLIENTS);
			client_drop(s, oldest);
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			refuse(fd, "ERR out of memory\n");
			continue;
		}
		c->fd = fd;
		c->pid = cred.pid;
		c->id = ++s->next_id;
		c->deadline = now_usec() + CONTROL_CLIENT_TIMEOUT_USEC;
		ev.data.u64 = c->id;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			free(c);
			refuse(fd, "ERR internal error\n");
			continue;
		}
		s->clients[s->n++] = c;
	}
}

void control_server_process(struct control_server *s)
{
	struct epoll_event evs[32];
	usec_t now;
	int n;

	n = epoll_wait(s->epfd, evs, ELEMENTSOF(evs), 0);
	for (int i = 0; i < n; i++) {
		struct control_client *c;
		size_t idx;
		bool done;

		if (evs[i].data.u64 == 0) {
			accept_clients(s);
			continue;
		}
		/* Dropped earlier in this batch (evicted to make room)? */
		idx = client_index(s, evs[i].data.u64);
		if (idx == s->n)
			continue;
		c = s->clients[idx];
		if (c->reload_gen)
			done = evs[i].events & (EPOLLERR | EPOLLHUP);
		else if (c->out)
			done = (evs[i].events & (EPOLLERR | EPOLLHUP)) || client_flush(c);
		else
			done = client_read(s, c);
		if (done)
			client_drop(s, client_index(s, c->id));
	}
	now = now_usec();
	for (size_t i = s->n; i > 0; i--)
		if (s->clients[i - 1]->deadline <= now) {
			log_debug("Control client timed out, dropping it");
			client_drop(s, i - 1);
		}
}

void control_server_reload_done(struct control_server *s, uint64_t gen, int r, const char *msg)
{
	for (size_t i = s->n; i > 0; i--) {
		struct control_client *c = s->clients[i - 1];
		struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = c->id};

		if (!c->reload_gen || c->reload_gen > gen)
			continue;
		c->reload_gen = 0;
		reload_answer(c, r, msg);
		if (!c->out || client_flush(c) || epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
			client_drop(s, i - 1);
	}
}
