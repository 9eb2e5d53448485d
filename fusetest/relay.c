/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Relay mode: the FUSE daemon forwards every operation to a server process
 * that does the local I/O, like sshfs forwards to sftp-server. Three
 * processes stand in the chain (opener -> FUSE daemon -> server -> backing
 * filesystem), which is the shape of the deadlock in DESIGN.md §1.
 *
 * Protocol, over one SOCK_STREAM socketpair (both ends are this binary, so
 * host byte order and struct layout):
 *
 *   message  = struct relay_hdr, then hdr.len bytes of body
 *   request  : hdr.op = enum fs_op, hdr.id = unique per request (never 0),
 *              body = struct fs_args, path (path_len bytes incl. NUL),
 *              path2 (path2_len bytes), data (data_len bytes)
 *   reply    : hdr.op and hdr.id echoed, hdr.result = >= 0 or -errno,
 *              body = the operation's output (see fusetest-internal.h)
 *   hello    : the server's first message: id 0, op FS_HELLO, result of
 *              opening the backing directory
 *
 * Requests are multiplexed like SFTP's: the daemon's FUSE threads write
 * requests under a lock and wait on their own condition; one reader thread
 * matches replies to waiters by id. The server has one reader that queues
 * requests and a pool of workers (grown on demand up to SERVER_MAX_WORKERS)
 * that run them concurrently and write replies in completion order. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "fusetest-internal.h"
#include "log.h"
#include "macro.h"
#include "time-util.h"

#define SERVER_MAX_WORKERS 64
#define READDIR_CHUNK (64u << 10)
#define MAX_BODY (RELAY_MAX_DATA + sizeof(struct fs_args) + 2 * (PATH_MAX + 1))
#define WAIT_SLICE_USEC (250 * USEC_PER_MSEC)

struct relay_hdr {
	uint32_t len; /* body bytes after this header */
	uint32_t op;
	uint64_t id;
	int32_t result;
	uint32_t reserved;
};

/* --- common ---------------------------------------------------------------- */

static int read_exact(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t) n;
	}
	return 0;
}

static void iov_advance(struct iovec **iov, int *n, size_t done)
{
	while (*n > 0 && done >= (*iov)->iov_len) {
		done -= (*iov)->iov_len;
		(*iov)++;
		(*n)--;
	}
	if (*n > 0) {
		(*iov)->iov_base = (char *) (*iov)->iov_base + done;
		(*iov)->iov_len -= done;
	}
}

/* Sends the whole vector. Blocks; with cancelled set, waits in slices and
 * gives up with -ENOTCONN when it returns true. */
static int send_all(int fd, struct iovec *iov, int n, bool (*cancelled)(void *), void *userdata)
{
	while (n > 0) {
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t) n};
		ssize_t k;

		k = sendmsg(fd, &mh, MSG_NOSIGNAL | (cancelled ? MSG_DONTWAIT : 0));
		if (k < 0) {
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			if (cancelled(userdata))
				return -ENOTCONN;
			(void) poll(&pfd, 1, (int) (WAIT_SLICE_USEC / USEC_PER_MSEC));
			continue;
		}
		iov_advance(&iov, &n, (size_t) k);
	}
	return 0;
}

static void block_all_signals(sigset_t *ret_old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, ret_old);
}

/* Threads of ours never take process signals: libfuse's handlers belong
 * to the main thread, SIGUSR1 to the control thread. */
static int start_thread(pthread_t *ret, void *(*fn)(void *), void *arg, bool detach)
{
	pthread_attr_t attr;
	sigset_t old;
	int r;

	pthread_attr_init(&attr);
	if (detach)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	block_all_signals(&old);
	r = pthread_create(ret, &attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return -r;
}

static void cond_init_monotonic(pthread_cond_t *c)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
}

/* --- server (its own process) ------------------------------------------------ */

struct srv_msg {
	struct srv_msg *next;
	struct relay_hdr hdr;
	char body[];
};

struct server {
	int fd;
	struct local *local;
	pthread_mutex_t write_lock; /* one reply at a time on fd */
	pthread_mutex_t lock;	    /* protects everything below */
	pthread_cond_t cond;
	struct srv_msg *head, *tail;
	unsigned n_workers, n_idle;
	bool stopping;
};

static int server_reply(struct server *s, const struct relay_hdr *req, int result, const void *out,
			size_t out_len)
{
	struct relay_hdr h = {
		.len = (uint32_t) out_len,
		.op = req->op,
		.id = req->id,
		.result = result,
	};
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *) out, out_len}};
	int r;

	pthread_mutex_lock(&s->write_lock);
	r = send_all(s->fd, iov, out_len > 0 ? 2 : 1, NULL, NULL);
	pthread_mutex_unlock(&s->write_lock);
	return r;
}

/* Checks the lengths and NULs of a request body and points req into it. */
static int decode_request(const struct srv_msg *m, struct fs_req *req)
{
	const char *p = m->body, *end = m->body + m->hdr.len;

	if (m->hdr.len < sizeof(struct fs_args))
		return -EBADMSG;
	*req = (struct fs_req){.op = m->hdr.op};
	memcpy(&req->a, p, sizeof(req->a));
	p += sizeof(req->a);
	if ((size_t) (end - p) < (size_t) req->a.path_len + req->a.path2_len + req->a.data_len)
		return -EBADMSG;
	if (req->a.path_len > 0) {
		if (p[req->a.path_len - 1] != '\0')
			return -EBADMSG;
		req->path = p;
		p += req->a.path_len;
	}
	if (req->a.path2_len > 0) {
		if (p[req->a.path2_len - 1] != '\0')
			return -EBADMSG;
		req->path2 = p;
		p += req->a.path2_len;
	}
	req->data = p;
	return 0;
}

static size_t out_size_for(const struct fs_req *req)
{
	switch (req->op) {
	case FS_READ:
		return req->a.size < RELAY_MAX_DATA ? req->a.size : RELAY_MAX_DATA;
	case FS_READDIR:
		return READDIR_CHUNK;
	case FS_READLINK:
		return PATH_MAX;
	default:
		return sizeof(struct fs_stat) + sizeof(struct fs_statvfs);
	}
}

static void server_handle(struct server *s, struct srv_msg *m)
{
	_cleanup_free_ void *out = NULL;
	struct fs_req req;
	size_t out_len = 0, out_size;
	int r;

	r = decode_request(m, &req);
	if (r < 0) {
		log_error("Malformed %s request (id %llu)", fs_op_to_string(m->hdr.op),
			  (unsigned long long) m->hdr.id);
		(void) server_reply(s, &m->hdr, r, NULL, 0);
		return;
	}
	out_size = out_size_for(&req);
	out = malloc(out_size ? out_size : 1);
	if (!out) {
		(void) server_reply(s, &m->hdr, -ENOMEM, NULL, 0);
		return;
	}
	r = local_call(s->local, &req, out, out_size, &out_len);
	(void) server_reply(s, &m->hdr, r, out, r < 0 ? 0 : out_len);
}

static void *server_worker(void *userdata)
{
	struct server *s = userdata;

	for (;;) {
		struct srv_msg *m;

		pthread_mutex_lock(&s->lock);
		while (!s->head && !s->stopping) {
			s->n_idle++;
			pthread_cond_wait(&s->cond, &s->lock);
			s->n_idle--;
		}
		m = s->head;
		if (m) {
			s->head = m->next;
			if (!s->head)
				s->tail = NULL;
		}
		pthread_mutex_unlock(&s->lock);
		if (!m)
			break;
		server_handle(s, m);
		free(m);
	}
	return NULL;
}

static void server_queue(struct server *s, struct srv_msg *m)
{
	bool spawn;

	pthread_mutex_lock(&s->lock);
	m->next = NULL;
	if (s->tail)
		s->tail->next = m;
	else
		s->head = m;
	s->tail = m;
	/* A worker stuck in an open (waiting for a fanotify verdict, say)
	 * must not hold up the others: grow while nobody is idle. */
	spawn = s->n_idle == 0 && s->n_workers < SERVER_MAX_WORKERS;
	if (spawn)
		s->n_workers++;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (spawn) {
		pthread_t t;
		int r = start_thread(&t, server_worker, s, true);

		if (r < 0) {
			log_warning_errno(r, "Cannot start a server worker, ignoring: %m");
			pthread_mutex_lock(&s->lock);
			s->n_workers--;
			pthread_mutex_unlock(&s->lock);
		}
	}
}

/* Runs in the forked child; returns the exit status. */
static int server_main(int fd, const char *backing)
{
	struct server s = {.fd = fd};
	struct relay_hdr hello = {.op = FS_HELLO};
	struct iovec iov = {&hello, sizeof(hello)};
	int r;

	pthread_mutex_init(&s.write_lock, NULL);
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cond, NULL);

	r = local_new(backing, &s.local);
	hello.result = r;
	if (send_all(fd, &iov, 1, NULL, NULL) < 0 || r < 0)
		return 1;

	for (;;) {
		struct relay_hdr h;
		struct srv_msg *m;

		r = read_exact(fd, &h, sizeof(h));
		if (r < 0)
			break; /* the daemon is gone */
		if (h.len > MAX_BODY || h.op == FS_HELLO || h.op >= _FS_OP_MAX) {
			log_error("Protocol error from the FUSE daemon (op %u, %u bytes)", h.op,
				  h.len);
			break;
		}
		m = malloc(sizeof(*m) + h.len);
		if (!m) {
			log_error("Out of memory");
			break;
		}
		m->hdr = h;
		r = read_exact(fd, m->body, h.len);
		if (r < 0) {
			free(m);
			break;
		}
		server_queue(&s, m);
	}
	/* Workers may sit in an open that never returns; exiting the process
	 * ends them (permission waits are killable). */
	return 0;
}

static void server_child(int fd, pid_t parent, const char *backing)
{
	struct sigaction sa = {.sa_handler = SIG_IGN};
	sigset_t none;

	(void) prctl(PR_SET_NAME, "fusetest-server");
	/* A crashed daemon (--crash-after) must not leave us behind. */
	(void) prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	/* Keep only stdio and the socket: above all never /dev/fuse, which would
	 * keep the connection alive after the daemon dies. (No FUSE fd exists
	 * yet; this is belt and braces against whatever the caller inherited.) */
	if (fd != 3) {
		if (dup3(fd, 3, O_CLOEXEC) < 0)
			_exit(1);
		fd = 3;
	}
	(void) close_range(4, ~0U, 0);
	/* ^C in a terminal reaches the whole process group: let the daemon
	 * unmount first; we exit on EOF. SIGTERM still ends us at once. */
	(void) sigaction(SIGINT, &sa, NULL);
	(void) sigaction(SIGHUP, &sa, NULL);
	sigemptyset(&none);
	(void) sigprocmask(SIG_SETMASK, &none, NULL);
	log_set_ident("fusetest-server");
	_exit(server_main(fd, backing));
}

/* --- client (in the FUSE daemon) --------------------------------------------- */

struct pending {
	struct pending *next;
	uint64_t id;
	void *out;
	size_t out_size, out_len;
	int result;
	bool done;
	pthread_cond_t cond;
};

struct relay_client {
	int fd;
	pid_t server_pid;
	bool (*cancelled)(void *userdata);
	void *userdata;
	pthread_t reader;
	bool reader_started;
	pthread_mutex_t write_lock; /* one request at a time on fd */
	pthread_mutex_t lock;	    /* protects everything below */
	struct pending *pending;
	uint64_t next_id;
	int dead; /* -errno once the connection is gone */
};

pid_t relay_client_server_pid(const struct relay_client *c)
{
	return c->server_pid;
}

/* Under c->lock. */
static struct pending *pending_unlink(struct relay_client *c, uint64_t id)
{
	for (struct pending **p = &c->pending; *p; p = &(*p)->next)
		if ((*p)->id == id) {
			struct pending *found = *p;

			*p = found->next;
			return found;
		}
	return NULL;
}

static void client_kill_connection(struct relay_client *c, int error)
{
	pthread_mutex_lock(&c->lock);
	if (c->dead == 0)
		c->dead = error;
	while (c->pending) {
		struct pending *p = c->pending;

		c->pending = p->next;
		p->result = -EIO;
		p->done = true;
		pthread_cond_signal(&p->cond);
	}
	pthread_mutex_unlock(&c->lock);
}

static void *client_reader(void *userdata)
{
	struct relay_client *c = userdata;
	_cleanup_free_ char *buf = NULL;
	size_t buf_size = 0;
	int r;

	(void) pthread_setname_np(pthread_self(), "relay-reader");
	for (;;) {
		struct relay_hdr h;
		struct pending *p;

		r = read_exact(c->fd, &h, sizeof(h));
		if (r < 0)
			break;
		if (h.len > MAX_BODY) {
			r = log_error_errno(EBADMSG, "Protocol error from the relay server");
			break;
		}
		if (h.len > buf_size) {
			char *nb = realloc(buf, h.len);

			if (!nb) {
				r = -ENOMEM;
				break;
			}
			buf = nb;
			buf_size = h.len;
		}
		r = read_exact(c->fd, buf, h.len);
		if (r < 0)
			break;
		pthread_mutex_lock(&c->lock);
		p = pending_unlink(c, h.id);
		if (p) {
			size_t n = h.len < p->out_size ? h.len : p->out_size;

			if (n > 0)
				memcpy(p->out, buf, n);
			p->out_len = n;
			p->result = h.result;
			p->done = true;
			pthread_cond_signal(&p->cond);
		}
		/* else: the caller gave up (session ending); drop the reply. */
		pthread_mutex_unlock(&c->lock);
	}
	if (r == -ECONNRESET)
		log_info("The relay server closed the connection");
	else if (r < 0)
		log_error_errno(r, "Reading from the relay server: %m");
	client_kill_connection(c, -EIO);
	return NULL;
}

int relay_client_new(const char *backing, bool (*cancelled)(void *userdata), void *userdata,
		     struct relay_client **ret)
{
	_cleanup_free_ struct relay_client *c = NULL;
	struct relay_hdr hello;
	int sv[2], r;
	pid_t parent = getpid(), pid;

	assert(cancelled);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		safe_close(sv[0]);
		safe_close(sv[1]);
		return r;
	}
	if (pid == 0) {
		safe_close(sv[0]);
		server_child(sv[1], parent, backing); /* never returns */
	}
	safe_close(sv[1]);
	c->fd = sv[0];
	c->server_pid = pid;
	c->cancelled = cancelled;
	c->userdata = userdata;
	pthread_mutex_init(&c->write_lock, NULL);
	pthread_mutex_init(&c->lock, NULL);

	r = read_exact(c->fd, &hello, sizeof(hello));
	if (r >= 0 && (hello.op != FS_HELLO || hello.len != 0))
		r = -EBADMSG;
	if (r >= 0)
		r = hello.result;
	if (r >= 0)
		r = start_thread(&c->reader, client_reader, c, false);
	if (r < 0) {
		relay_client_free(TAKE_PTR(c), 1000);
		return r;
	}
	c->reader_started = true;
	*ret = TAKE_PTR(c);
	return 0;
}

int relay_client_call(void *client, const struct fs_req *req, void *out, size_t out_size,
		      size_t *ret_out_len)
{
	struct relay_client *c = client;
	struct fs_args a = req->a;
	struct relay_hdr h = {.op = req->op};
	struct pending p = {.out = out, .out_size = out_size};
	struct iovec iov[5];
	int n = 0, r;

	*ret_out_len = 0;
	a.path_len = req->path ? (uint32_t) strlen(req->path) + 1 : 0;
	a.path2_len = req->path2 ? (uint32_t) strlen(req->path2) + 1 : 0;
	if (req->op != FS_WRITE)
		a.data_len = 0;
	if (a.data_len > RELAY_MAX_DATA)
		return -EINVAL;
	h.len = (uint32_t) sizeof(a) + a.path_len + a.path2_len + a.data_len;
	iov[n++] = (struct iovec){&h, sizeof(h)};
	iov[n++] = (struct iovec){&a, sizeof(a)};
	if (a.path_len)
		iov[n++] = (struct iovec){(void *) req->path, a.path_len};
	if (a.path2_len)
		iov[n++] = (struct iovec){(void *) req->path2, a.path2_len};
	if (a.data_len)
		iov[n++] = (struct iovec){(void *) req->data, a.data_len};

	cond_init_monotonic(&p.cond);
	pthread_mutex_lock(&c->lock);
	if (c->dead < 0) {
		r = c->dead;
		pthread_mutex_unlock(&c->lock);
		pthread_cond_destroy(&p.cond);
		return r;
	}
	p.id = h.id = ++c->next_id;
	p.next = c->pending;
	c->pending = &p;
	pthread_mutex_unlock(&c->lock);

	pthread_mutex_lock(&c->write_lock);
	r = send_all(c->fd, iov, n, c->cancelled, c->userdata);
	pthread_mutex_unlock(&c->write_lock);
	if (r < 0) {
		/* A partly sent message leaves the stream unusable. */
		if (r != -ENOTCONN)
			log_error_errno(r, "Writing to the relay server: %m");
		(void) shutdown(c->fd, SHUT_RDWR);
		client_kill_connection(c, -EIO);
	}

	/* The hang of DESIGN.md §1 waits here when the server is stuck: as
	 * long as the session lives, for ever. */
	pthread_mutex_lock(&c->lock);
	while (!p.done) {
		struct timespec ts = usec_to_timespec(now_usec() + WAIT_SLICE_USEC);

		(void) pthread_cond_timedwait(&p.cond, &c->lock, &ts);
		if (!p.done && c->cancelled(c->userdata)) {
			(void) pending_unlink(c, p.id);
			p.result = -ENOTCONN;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	pthread_cond_destroy(&p.cond);
	if (p.result >= 0)
		*ret_out_len = p.out_len;
	return p.result;
}

struct relay_client *relay_client_free(struct relay_client *c, int timeout_ms)
{
	int status;
	pid_t r = 0;

	if (!c)
		return NULL;
	(void) shutdown(c->fd, SHUT_RDWR);
	if (c->reader_started)
		(void) pthread_join(c->reader, NULL);
	c->fd = safe_close(c->fd);
	if (c->server_pid > 0) {
		usec_t deadline = deadline_after((usec_t) timeout_ms * USEC_PER_MSEC);

		while ((r = waitpid(c->server_pid, &status, WNOHANG)) == 0 &&
		       !deadline_passed(deadline)) {
			struct timespec ts = {.tv_nsec = 10 * 1000 * 1000};

			(void) nanosleep(&ts, NULL);
		}
		if (r == 0) {
			/* Stuck, in an open of a backing file most likely. Our
			 * own unreaped child: its pid cannot have been reused. */
			log_warning("The relay server (pid %d) did not exit; killing it",
				    (int) c->server_pid);
			(void) kill(c->server_pid, SIGKILL);
			(void) waitpid(c->server_pid, &status, 0);
		}
	}
	pthread_mutex_destroy(&c->write_lock);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return NULL;
}
