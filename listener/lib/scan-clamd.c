/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The clamd scanner. Endpoints are tried in the order they were added; the
 * first that answers decides (a transport failure moves on to the next).
 *
 *   - a local clamd (unix socket): FILDES. The event fd itself is passed
 *     (SCM_RIGHTS), so clamd scans exactly the file that was opened, through
 *     an fd with FMODE_NONOTIFY (its reads raise no events), never a path
 *     that may have been swapped since;
 *   - a remote clamd (TCP): INSTREAM. We read the content through the event
 *     fd and stream it in chunks.
 *
 * Connections are persistent IDSESSION sessions kept in a small pool per
 * endpoint (a connect per event is cheap on a unix socket but costs a
 * handshake on TCP, and clamd replies in a session carry the command's
 * number, so a reply is never taken for another's). A connection is taken
 * out of the pool for exactly one command and goes back only after a clean
 * or FOUND reply with the expected number; after a timeout, an error or
 * anything unexpected it is closed, so no late reply can be read by the
 * next event. A pooled session clamd closed (IdleTimeout, restart) is seen
 * as readable before use, or fails before any reply: then one fresh
 * connection is tried. The pool's mutex is held only to take or return a
 * connection, never across I/O.
 *
 * Every connect, send and receive is nonblocking and polled against the
 * event's deadline: a stalled (SIGSTOPped) or dead clamd costs at most the
 * deadline, then the dispatcher gives the default verdict.
 *
 * Never loop back: clamd's own file accesses (temporary files, a database
 * reload) raise events on watched mounts, and they must not wait on a
 * listener that waits on clamd. After the first answer on each new unix
 * connection, the process that accepted it is excluded: the one holding the
 * connection's peer socket (common/sockpeer.h), with its start time (pid
 * reuse). Never SO_PEERCRED's pid: that is whoever called listen(), PID 1
 * under socket activation. A remote clamd cannot loop back. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include "fanguard-internal.h"
#include "macro.h"
#include "scan-clamd.h"
#include "scanstate-internal.h"
#include "sock-util.h"
#include "sockpeer.h"

#define CLAMD_MAX_ENDPOINTS 8
#define CLAMD_POOL_MAX 16
/* INSTREAM chunk: clamd's default StreamMaxLength is 25 MiB; chunks are
 * bounded by the worker's buffer. */

struct clamd_conn {
	int fd;
	unsigned long next_id; /* IDSESSION command number of the next command */
};

struct clamd_endpoint {
	bool local; /* unix socket: FILDES; else INSTREAM */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char label[112];
	pthread_mutex_t lock; /* protects idle[], n_idle; never held across I/O */
	struct clamd_conn idle[CLAMD_POOL_MAX];
	unsigned n_idle;
	_Atomic pid_t excluded_pid;
	char version[128]; /* the last VERSION reply (scanstate.c's thread only) */
};

struct clamd_scanner {
	struct scanner s; /* first: the dispatcher's handle */
	struct clamd_endpoint *_Atomic ep[CLAMD_MAX_ENDPOINTS];
	_Atomic unsigned n_ep;
};

/* Why a transport attempt failed; kept for the verdict detail. */
static void set_detail(struct scan_result *res, const struct clamd_endpoint *ep, const char *what,
		       int err)
{
	scan_detail(res, "%s: %s%s%s", ep->label, what, err ? ": " : "", err ? strerror(err) : "");
}

/* Excludes the clamd serving this endpoint, once per clamd process (a
 * restarted clamd is a new pid; fanguard_exclude_pid() records its start
 * time, so a later process given the old number is not excluded). Called
 * once clamd answered on fd, so it has accepted it: the process holding the
 * peer socket is clamd itself, whoever listen()ed (systemd under socket
 * activation: SO_PEERCRED names it). Nothing is excluded if that process
 * cannot be told for sure. */
static void exclude_peer(struct fanguard *fg, struct clamd_endpoint *ep, int fd)
{
	struct ucred cred = {0};
	socklen_t l = sizeof(cred);
	pid_t pid = 0, known = atomic_load(&ep->excluded_pid);
	uint64_t peer;
	int r;

	(void) getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &l);
	r = unix_peer_ino(fd, &peer);
	if (r >= 0)
		r = proc_fd_holder(peer, known > 0 ? known : cred.pid, &pid);
	if (r < 0) {
		fg_log(fg, LOG_WARNING,
		       "clamd %s: cannot tell which process accepted the connection (%s); "
		       "its own file accesses are scanned",
		       ep->label, strerror(-r));
		return;
	}
	if (atomic_exchange(&ep->excluded_pid, pid) == pid)
		return;
	(void) fanguard_exclude_pid(fg, pid);
	if (pid == cred.pid)
		fg_log(fg, LOG_INFO, "clamd %s: excluding its process %d from scanning", ep->label,
		       (int) pid);
	else
		fg_log(fg, LOG_INFO,
		       "clamd %s: excluding its process %d from scanning (the socket was "
		       "listen()ed by pid %d, e.g. socket activation: not excluded)",
		       ep->label, (int) pid, (int) cred.pid);
}

static int conn_open(struct fanguard *fg, struct clamd_endpoint *ep, usec_t deadline,
		     struct clamd_conn *ret)
{
	_cleanup_close_ int fd = -EBADF;
	int r, err = 0;
	socklen_t l = sizeof(err);

	fd = socket(ep->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *) &ep->addr, ep->addrlen) < 0) {
		if (errno != EINPROGRESS && errno != EAGAIN)
			return -errno;
		/* A unix connect returns EAGAIN when the backlog is full
		 * (a stalled clamd): no point waiting, fail now. */
		if (errno == EAGAIN)
			return -EAGAIN;
		r = sock_wait(fd, POLLOUT, deadline);
		if (r < 0)
			return r;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
			return -errno;
		if (err)
			return -err;
	}
	r = sock_send_all(fd, "zIDSESSION", sizeof("zIDSESSION"), deadline, false);
	if (r < 0)
		return r;
	*ret = (struct clamd_conn){.fd = TAKE_FD(fd), .next_id = 1};
	return 0;
}

/* A pooled connection, or -ENOENT. One whose peer closed (or sent
 * something unasked) reads as ready: closed here. */
static int pool_take(struct clamd_endpoint *ep, struct clamd_conn *ret)
{
	for (;;) {
		struct clamd_conn c;
		struct pollfd p;

		pthread_mutex_lock(&ep->lock);
		if (ep->n_idle == 0) {
			pthread_mutex_unlock(&ep->lock);
			return -ENOENT;
		}
		c = ep->idle[--ep->n_idle];
		pthread_mutex_unlock(&ep->lock);
		p = (struct pollfd){.fd = c.fd, .events = POLLIN};
		if (poll(&p, 1, 0) == 0) {
			*ret = c;
			return 0;
		}
		safe_close(c.fd);
	}
}

static void pool_put(struct clamd_endpoint *ep, struct clamd_conn *c)
{
	pthread_mutex_lock(&ep->lock);
	if (ep->n_idle < CLAMD_POOL_MAX) {
		ep->idle[ep->n_idle++] = *c;
		c->fd = -EBADF;
	}
	pthread_mutex_unlock(&ep->lock);
	c->fd = safe_close(c->fd);
}

/* Sends the command for this event. FILDES only for files on local mounts:
 * clamd may map the file it is given, and a page fault on a FUSE file takes
 * the page lock and waits on the daemon; if the daemon never answers, the
 * opener we answered at the deadline would then block in its own open on
 * that page (the reason scan.c reads FUSE files with O_DIRECT). FUSE and
 * network files are streamed (INSTREAM over the same socket), read by us
 * with O_DIRECT, within the deadline. */
static int send_request(struct clamd_endpoint *ep, struct clamd_conn *c, const struct scan_ctx *ctx,
			struct scan_result *res)
{
	uint64_t off = 0;
	int r;

	if (ep->local && ctx->d->cls == FANGUARD_MOUNT_LOCAL) {
		r = sock_send_all(c->fd, "zFILDES", sizeof("zFILDES"), ctx->deadline, false);
		if (r < 0)
			return r;
		/* A separate message: clamd takes the fd from the data
		 * after the command (sent together it refuses it). */
		return sock_send_fd(c->fd, ctx->fd, '\0', ctx->deadline);
	}
	r = sock_send_all(c->fd, "zINSTREAM", sizeof("zINSTREAM"), ctx->deadline, true);
	if (r < 0)
		return r;
	for (;;) {
		uint32_t be;
		int n = scan_read_at(ctx, ctx->buf, ctx->buflen, off, res);

		if (n < 0)
			return -ECANCELED; /* res says why; not a transport error */
		off += (uint64_t) n;
		if (off > ctx->fg->opts.max_scan_bytes) {
			res->reason = FANGUARD_REASON_TOO_LARGE;
			return -ECANCELED;
		}
		be = htonl((uint32_t) n);
		r = sock_send_all(c->fd, &be, sizeof(be), ctx->deadline, n > 0);
		if (r < 0)
			return r;
		if (n == 0)
			break;
		r = sock_send_all(c->fd, ctx->buf, (size_t) n, ctx->deadline, true);
		if (r < 0)
			return r;
	}
	atomic_fetch_add_explicit(&ctx->d->stats.bytes_scanned, off, memory_order_relaxed);
	return 0;
}

/* One command on one endpoint. 1: decided (res set), 0: transport failure
 * (res->detail says what; try the next endpoint), -ECANCELED: res set and
 * final (deadline, read error, too large). */
static int scan_endpoint(struct fanguard *fg, struct clamd_endpoint *ep, const struct scan_ctx *ctx,
			 struct scan_result *res)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		struct clamd_conn c = {.fd = -EBADF};
		char buf[CLAMD_REPLY_MAX + 1];
		struct clamd_reply reply;
		bool pooled = pool_take(ep, &c) == 0;
		unsigned long id;
		size_t len = 0;
		int r;

		if (!pooled) {
			r = conn_open(fg, ep, ctx->deadline, &c);
			if (r < 0) {
				if (r == -ETIMEDOUT)
					goto timeout;
				set_detail(res, ep, "connect", -r);
				return 0;
			}
		}
		id = c.next_id++;
		r = send_request(ep, &c, ctx, res);
		if (r == -ECANCELED) {
			safe_close(c.fd);
			return -ECANCELED;
		}
		if (r == -ETIMEDOUT) {
			safe_close(c.fd);
			goto timeout;
		}
		/* clamd may have answered and closed early (a size limit):
		 * read what it said even if the send failed. */
		r = sock_recv_nul(c.fd, buf, sizeof(buf) - 1, &len, ctx->deadline);
		if (r == -ETIMEDOUT) {
			safe_close(c.fd);
			goto timeout;
		}
		if (r == -ECONNRESET || (r < 0 && r != -EPROTO)) {
			c.fd = safe_close(c.fd);
			if (pooled)
				continue; /* a session clamd had closed: once more, fresh */
			set_detail(res, ep, "no reply", r == -ECONNRESET ? 0 : -r);
			return 0;
		}
		if (r == -EPROTO || clamd_parse_reply(buf, len, &reply) < 0) {
			safe_close(c.fd);
			set_detail(res, ep, "garbled reply", 0);
			return 0;
		}
		if (!reply.has_id || reply.id != id) {
			safe_close(c.fd);
			set_detail(res, ep, "reply to another command", 0);
			return 0;
		}
		/* clamd answered: it has accepted this connection. */
		if (!pooled && ep->local)
			exclude_peer(fg, ep, c.fd);
		switch (reply.status) {
		case CLAMD_CLEAN:
			res->reason = FANGUARD_REASON_SCANNED;
			res->verdict = FANGUARD_ALLOW;
			res->detail[0] = '\0';
			pool_put(ep, &c);
			return 1;
		case CLAMD_FOUND:
			res->reason = FANGUARD_REASON_SCANNED;
			res->verdict = FANGUARD_DENY;
			scan_detail(res, "%s", reply.text);
			pool_put(ep, &c);
			return 1;
		case CLAMD_ERROR:
		default:
			/* clamd looked and could not decide (size limit,
			 * unreadable fd): that is its answer. */
			safe_close(c.fd);
			res->reason = FANGUARD_REASON_ERROR;
			scan_detail(res, "clamd: %s", reply.text);
			return 1;
		}
	}
	set_detail(res, ep, "connection closed", 0);
	return 0;

timeout:
	res->reason = FANGUARD_REASON_DEADLINE;
	scan_detail(res, "%s: no answer by the deadline", ep->label);
	return -ECANCELED;
}

static void clamd_scan(struct scanner *s, const struct scan_ctx *ctx, struct scan_result *res)
{
	struct clamd_scanner *cs = (struct clamd_scanner *) s;
	unsigned n = atomic_load_explicit(&cs->n_ep, memory_order_acquire);
	struct stat st;

	/* An empty local file has no content for a signature to match: no
	 * round trip (tar -x opens every file it creates while it is empty,
	 * and that was half of the clamd round trips of an extraction). Its
	 * size now, not at receipt: it may have been written since. */
	if (ctx->size == 0 && ctx->d->cls == FANGUARD_MOUNT_LOCAL && fstat(ctx->fd, &st) == 0 &&
	    S_ISREG(st.st_mode) && st.st_size == 0) {
		res->reason = FANGUARD_REASON_SCANNED;
		res->verdict = FANGUARD_ALLOW;
		return;
	}
	res->reason = FANGUARD_REASON_ERROR;
	for (unsigned i = 0; i < n; i++) {
		struct clamd_endpoint *ep = atomic_load_explicit(&cs->ep[i], memory_order_acquire);

		if (scan_endpoint(s->fg, ep, ctx, res) != 0)
			return;
	}
	/* Every endpoint failed: res->detail holds the last one's failure. */
	res->reason = FANGUARD_REASON_ERROR;
}

/* clamd's VERSION reply, "ClamAV 1.4.6/27103/Thu Dec  3 08:00:00 2026": the
 * engine, then the signature database's version and date, which change
 * when clamd loads new signatures (freshclam, RELOAD, SelfCheck). Its STATS
 * reply says how many scans it runs at once. Over a pooled session like any
 * scan, within a second. */
#define CLAMD_STATE_TIMEOUT_USEC (1 * USEC_PER_SEC)
#define CLAMD_STATS_MAX 4096

/* One command in a session; the reply after its "<id>: " into out. */
static int query(struct fanguard *fg, struct clamd_endpoint *ep, const char *cmd, char *out,
		 size_t size)
{
	usec_t deadline = deadline_after(CLAMD_STATE_TIMEOUT_USEC);

	for (int attempt = 0; attempt < 2; attempt++) {
		struct clamd_conn c = {.fd = -EBADF};
		char buf[CLAMD_STATS_MAX], *end;
		bool pooled = pool_take(ep, &c) == 0;
		unsigned long id;
		size_t len = 0;
		int r;

		if (!pooled) {
			r = conn_open(fg, ep, deadline, &c);
			if (r < 0)
				return r;
		}
		id = c.next_id++;
		r = sock_send_all(c.fd, cmd, strlen(cmd) + 1, deadline, false);
		if (r >= 0)
			r = sock_recv_nul(c.fd, buf, sizeof(buf) - 1, &len, deadline);
		if (r < 0) {
			safe_close(c.fd);
			if (pooled && r != -ETIMEDOUT)
				continue; /* a session clamd had closed: once more, fresh */
			return r;
		}
		/* "<id>: ..." */
		errno = 0;
		if (strtoul(buf, &end, 10) != id || errno || end[0] != ':' || end[1] != ' ') {
			safe_close(c.fd);
			return -EPROTO;
		}
		if (!pooled && ep->local)
			exclude_peer(fg, ep, c.fd);
		pool_put(ep, &c);
		(void) snprintf(out, size, "%s", end + 2);
		return 0;
	}
	return -ECONNRESET;
}

/* The scanner's state (scanstate.c): every endpoint's VERSION reply. One
 * that does not answer now counts with its last reply. Also how many scans
 * the first endpoint that answers runs at once (the pool grows to it). */
static int clamd_state(struct scanner *s, char *buf, size_t len)
{
	struct clamd_scanner *cs = (struct clamd_scanner *) s;
	unsigned n = atomic_load_explicit(&cs->n_ep, memory_order_acquire);
	bool parallel_known = false;
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		struct clamd_endpoint *ep = atomic_load_explicit(&cs->ep[i], memory_order_acquire);
		char v[sizeof(ep->version)], stats[CLAMD_STATS_MAX];
		unsigned threads;

		if (query(s->fg, ep, "zVERSION", v, sizeof(v)) >= 0)
			memcpy(ep->version, v, sizeof(v));
		if (!parallel_known && query(s->fg, ep, "zSTATS", stats, sizeof(stats)) >= 0 &&
		    clamd_parse_max_threads(stats, strlen(stats), &threads) >= 0) {
			atomic_store_explicit(&s->parallel, threads, memory_order_relaxed);
			parallel_known = true;
		}
		if (!ep->version[0])
			return -EAGAIN; /* never answered yet: nothing to compare */
		used += (size_t) snprintf(buf + used, len - used, "%s%s", i ? "; " : "",
					  ep->version);
		if (used >= len)
			return -ENOBUFS;
	}
	return 0;
}

static void clamd_free(struct scanner *s)
{
	struct clamd_scanner *cs = (struct clamd_scanner *) s;

	for (unsigned i = 0; i < atomic_load(&cs->n_ep); i++) {
		struct clamd_endpoint *ep = atomic_load(&cs->ep[i]);

		for (unsigned j = 0; j < ep->n_idle; j++)
			safe_close(ep->idle[j].fd);
		pthread_mutex_destroy(&ep->lock);
		free(ep);
	}
	free(cs);
}

static int endpoint_parse(const char *address, struct clamd_endpoint *ep)
{
	const char *path = NULL;

	if (strncmp(address, "unix:", 5) == 0)
		path = address + 5;
	else if (address[0] == '/')
		path = address;
	if (path) {
		struct sockaddr_un *un = (struct sockaddr_un *) &ep->addr;

		if (strlen(path) >= sizeof(un->sun_path) || path[0] != '/')
			return -EINVAL;
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, path);
		ep->addrlen = sizeof(*un);
		ep->local = true;
		(void) snprintf(ep->label, sizeof(ep->label), "%s", path);
		return 0;
	} else {
		/* host:port or [v6]:port, resolved now: never on the
		 * permission path. */
		char host[256];
		const char *colon = strrchr(address, ':'), *h = address;
		size_t hl;
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
		int r;

		if (!colon || colon == address || colon[1] == '\0')
			return -EINVAL;
		hl = (size_t) (colon - address);
		if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
			h++;
			hl -= 2;
		}
		if (hl == 0 || hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, h, hl);
		host[hl] = '\0';
		r = getaddrinfo(host, colon + 1, &hints, &ai);
		if (r != 0)
			return r == EAI_SYSTEM ? -errno : -EADDRNOTAVAIL;
		if (ai->ai_addrlen > sizeof(ep->addr)) {
			freeaddrinfo(ai);
			return -EINVAL;
		}
		memcpy(&ep->addr, ai->ai_addr, ai->ai_addrlen);
		ep->addrlen = ai->ai_addrlen;
		freeaddrinfo(ai);
		(void) snprintf(ep->label, sizeof(ep->label), "%s", address);
		return 0;
	}
}

int fanguard_add_clamd(struct fanguard *fg, const char *address)
{
	struct clamd_scanner *cs;
	struct clamd_endpoint *ep;
	unsigned n;
	int r;

	if (!fg || !address)
		return -EINVAL;
	ep = calloc(1, sizeof(*ep));
	if (!ep)
		return -ENOMEM;
	r = endpoint_parse(address, ep);
	if (r < 0) {
		free(ep);
		return r;
	}
	pthread_mutex_init(&ep->lock, NULL);

	/* Writers are serialised by fg->lock; readers (workers) are lock-free:
	 * an endpoint is complete before the count that shows it. */
	pthread_mutex_lock(&fg->lock);
	cs = (struct clamd_scanner *) scanner_find(fg, "clamd");
	if (!cs) {
		cs = calloc(1, sizeof(*cs));
		if (!cs) {
			pthread_mutex_unlock(&fg->lock);
			pthread_mutex_destroy(&ep->lock);
			free(ep);
			return -ENOMEM;
		}
		cs->s.name = "clamd";
		cs->s.fg = fg;
		cs->s.scan = clamd_scan;
		cs->s.free = clamd_free;
		cs->s.state = clamd_state;
		scanner_append_locked(fg, &cs->s);
	}
	n = atomic_load(&cs->n_ep);
	if (n >= CLAMD_MAX_ENDPOINTS) {
		pthread_mutex_unlock(&fg->lock);
		pthread_mutex_destroy(&ep->lock);
		free(ep);
		return -E2BIG;
	}
	atomic_store_explicit(&cs->ep[n], ep, memory_order_release);
	atomic_store_explicit(&cs->n_ep, n + 1, memory_order_release);
	/* Signature updates flush the cache (scanstate.c); not fatal. */
	(void) scanstate_ensure_locked(fg);
	pthread_mutex_unlock(&fg->lock);
	cache_invalidate(fg);
	return 0;
}
