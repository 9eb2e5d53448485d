/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fgcheck: precise checks for the shell tests (errno, latency, mount ids).
 * The shell owns namespaces, mounts and skips; this owns the measuring.
 *
 *   fgcheck mount-id PATH               print the mount id (mountinfo's) of PATH
 *   fgcheck classify PATH [EXPECT]      open PATH and print the class of the fd's mount
 *                                       (class, mount id, fuse_mnt_id, fstype, mount
 *                                       point, reason; tab-separated); with EXPECT
 *                                       ("fuse-backed", ...) exit 1 unless it matches
 *   fgcheck fanotify-probe              exit 0 if permission events work, 77 if not
 *   fgcheck open PATH [EXPECT] [MS] [FLAGS]
 *                                       open in a child under a deadline; EXPECT is
 *                                       "ok" or an errno name (EPERM); FLAGS is a
 *                                       comma list of rdonly,wronly,rdwr,creat,trunc,
 *                                       append,nonblock,excl [rdonly,nonblock];
 *                                       exit 0 when met, 1 when not, 2 when it hung
 *   fgcheck exec PATH [EXPECT] [MS]     execve PATH in a child (output to /dev/null);
 *                                       EXPECT as for open; the program must also exit
 *                                       within MS (its status is printed)
 *   fgcheck fifo PATH [MS]              FIFO semantics through the listener: a
 *                                       non-blocking read open, a write open, a
 *                                       blocking reader+writer pair, a non-blocking
 *                                       write open without reader (ENXIO)
 *   fgcheck unix-socket PATH [MS]       bind+listen on PATH, connect from a child,
 *                                       open(PATH) from a child (ENXIO)
 *   fgcheck load --procs P --iters N --dir DIR [--files K] [--create]
 *                [--timeout-s S] [--expect ok|ERRNO]
 *                                       P processes each doing N open+close, round
 *                                       robin over K files of DIR (f0000.. made by
 *                                       --create, else DIR's regular files); prints
 *                                       totals, errnos, wall time, opens/s, latency
 *                                       percentiles; exit 0 only if every open
 *                                       returned within S (per process) as expected
 *
 * Never blocks past its deadline itself: every open that may hang runs in a
 * child, which is killed at the deadline (it may stay in D state inside a
 * FUSE request; the test's cleanup aborts the connection). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
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

/* Opens PATH for reading, as the fd of a permission event would be (O_PATH
 * where that is refused), and classifies the mount of the fd. */
static int cmd_classify(int argc, char **argv)
{
	_cleanup_close_ int fd = -EBADF;
	struct mount_table *t = NULL;
	const struct mount_entry *e;
	const char *cls;
	int r;

	if (argc != 3 && argc != 4)
		return 2;
	fd = open(argv[2], O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		fd = open(argv[2], O_PATH | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "fgcheck: open %s: %m\n", argv[2]);
		return 1;
	}
	r = fd_mount_entry(fd, &t, &e);
	if (r < 0) {
		fprintf(stderr, "fgcheck: mount of %s: %s\n", argv[2], strerror(-r));
		return 1;
	}
	cls = mount_class_to_string(e->class);
	printf("%s\t%llu\t%llu\t%s\t%s\t%s\n", cls, (unsigned long long) e->mnt_id,
	       (unsigned long long) e->fuse_mnt_id, e->fstype, e->mount_point,
	       e->class_reason ? e->class_reason : "");
	r = argc == 4 && strcmp(argv[3], cls) != 0;
	if (r)
		fprintf(stderr, "fgcheck: %s is on a %s mount, not %s\n", argv[2], cls, argv[3]);
	mount_table_free(t);
	return r;
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

/* "ok" for 0, else the errno's name (EPERM), or "E<n>" if glibc has none. */
static const char *errno_name(int e)
{
	static char buf[16];
	const char *n;

	if (e == 0)
		return "ok";
	n = strerrorname_np(e);
	if (n)
		return n;
	(void) snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

static bool expect_met(const char *expect, int err)
{
	return strcmp(expect, errno_name(err)) == 0;
}

/* Nanoseconds, CLOCK_MONOTONIC: finer than usec_t for sub-µs opens. */
static uint64_t now_nsec(void)
{
	struct timespec ts;

	(void) clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

/* --- one operation in a child, under a deadline ----------------------------- */

/* What a child reports: the errno of its operation (0: success) and how long
 * the operation itself took. */
struct child_result {
	int err;
	int status; /* free for the operation: e.g. the exit status of an exec */
	uint64_t nsec;
};

struct child {
	pid_t pid;
	int fd; /* read end of the result pipe */
	const char *what;
};

typedef void (*child_fn)(void *arg, struct child_result *res);

/* Forks a child that runs fn and writes its result to a pipe. The child
 * must not return from fn through anything that can block forever except
 * the operation under test. */
static int child_start(struct child *c, const char *what, child_fn fn, void *arg)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	c->what = what;
	c->pid = fork();
	if (c->pid < 0) {
		int e = errno;

		close(p[0]);
		close(p[1]);
		return -e;
	}
	if (c->pid == 0) {
		struct child_result res = {};

		close(p[0]);
		(void) signal(SIGPIPE, SIG_IGN);
		fn(arg, &res);
		(void) !write(p[1], &res, sizeof(res));
		_exit(0);
	}
	close(p[1]);
	c->fd = p[0];
	return 0;
}

/* Waits for the child's result until deadline (ns, CLOCK_MONOTONIC).
 * Returns 0 with *res set, -ETIMEDOUT if it hung (the child is killed, and
 * reaped if it can die within 500 ms), -ECHILD if it died without a word.
 * A child that hangs after its result is given 2 s to exit, then killed. */
static int child_finish(struct child *c, uint64_t deadline, struct child_result *res)
{
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
	uint64_t grace;
	int64_t left;
	ssize_t n;
	int st, r;

	for (;;) {
		left = (int64_t) (deadline - now_nsec()) / 1000000;
		if ((int64_t) (deadline - now_nsec()) <= 0)
			left = 0;
		r = poll(&pfd, 1, (int) left);
		if (r < 0 && errno == EINTR)
			continue;
		break;
	}
	if (r <= 0) {
		char path[64], wchan[64] = "?";
		FILE *f;

		(void) snprintf(path, sizeof(path), "/proc/%d/wchan", (int) c->pid);
		f = fopen(path, "re");
		if (f) {
			if (!fgets(wchan, sizeof(wchan), f))
				(void) snprintf(wchan, sizeof(wchan), "?");
			fclose(f);
		}
		(void) kill(c->pid, SIGKILL);
		printf("%s: HUNG (pid %d, wchan %s)\n", c->what, (int) c->pid, wchan);
		c->fd = safe_close(c->fd);
		/* A child stuck in an uninterruptible FUSE wait cannot die
		 * until the connection is aborted: do not wait for it. */
		for (int i = 0; i < 50; i++) {
			if (waitpid(c->pid, &st, WNOHANG) != 0)
				break;
			(void) usleep(10000);
		}
		return -ETIMEDOUT;
	}
	n = read(c->fd, res, sizeof(*res));
	c->fd = safe_close(c->fd);
	/* The child may hang after its result, in the close of its file (a
	 * FUSE daemon that never answers FLUSH): the result stands, and the
	 * child is killed and left (it exits once the connection is aborted). */
	st = 0;
	grace = now_nsec() + 2000000000ULL;
	for (;;) {
		pid_t w = waitpid(c->pid, &st, WNOHANG);

		if (w != 0)
			break;
		if ((int64_t) (deadline - now_nsec()) <= 0 || (int64_t) (grace - now_nsec()) <= 0) {
			(void) kill(c->pid, SIGKILL);
			fprintf(stderr, "%s: the child hung after its result (pid %d), left\n",
				c->what, (int) c->pid);
			break;
		}
		(void) usleep(1000);
	}
	if (n != (ssize_t) sizeof(*res)) {
		printf("%s: child died without a result (status 0x%x)\n", c->what, st);
		return -ECHILD;
	}
	return 0;
}

static int run_child(const char *what, child_fn fn, void *arg, int ms, struct child_result *res)
{
	struct child c;
	int r;

	r = child_start(&c, what, fn, arg);
	if (r < 0) {
		printf("%s: fork: %s\n", what, strerror(-r));
		return r;
	}
	return child_finish(&c, now_nsec() + (uint64_t) ms * 1000000ULL, res);
}

/* --- open ------------------------------------------------------------------- */

struct open_arg {
	const char *path;
	int flags;
	const char *data; /* written after a successful open if non-NULL */
	bool read_all;	  /* read until EOF after a successful open */
	int keep_fd;	  /* out: the fd (only meaningful in the child) */
};

static void do_open(void *userdata, struct child_result *res)
{
	struct open_arg *a = userdata;
	uint64_t t0 = now_nsec();
	int fd = open(a->path, a->flags | O_CLOEXEC, 0644);

	res->nsec = now_nsec() - t0;
	res->err = fd < 0 ? errno : 0;
	a->keep_fd = fd;
	if (fd < 0)
		return;
	if (a->data && write(fd, a->data, strlen(a->data)) != (ssize_t) strlen(a->data))
		res->status = errno ? errno : EIO;
	if (a->read_all) {
		char buf[4096];
		ssize_t n;

		while ((n = read(fd, buf, sizeof(buf))) > 0)
			;
		if (n < 0)
			res->status = errno;
	}
}

static int parse_open_flags(const char *s, int *ret)
{
	static const struct {
		const char *name;
		int flag;
	} names[] = {
		{"rdonly", O_RDONLY}, {"wronly", O_WRONLY},	{"rdwr", O_RDWR},
		{"creat", O_CREAT},   {"trunc", O_TRUNC},	{"append", O_APPEND},
		{"excl", O_EXCL},     {"nonblock", O_NONBLOCK},
	};
	_cleanup_free_ char *copy = strdup(s);
	char *tok, *save = NULL;
	int flags = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < ELEMENTSOF(names); i++)
			if (strcmp(tok, names[i].name) == 0)
				break;
		if (i == ELEMENTSOF(names))
			return -EINVAL;
		flags |= names[i].flag;
	}
	*ret = flags;
	return 0;
}

/* Opens in a child so that a hang costs us nothing but a kill. */
static int cmd_open(int argc, char **argv)
{
	struct open_arg a = {.flags = O_RDONLY | O_NONBLOCK};
	const char *expect = "ok";
	struct child_result res;
	char what[4200];
	int ms = 5000;

	if (argc < 3 || argc > 6)
		return 2;
	a.path = argv[2];
	if (argc > 3)
		expect = argv[3];
	if (argc > 4)
		ms = atoi(argv[4]);
	if (argc > 5 && parse_open_flags(argv[5], &a.flags) < 0) {
		fprintf(stderr, "fgcheck: bad open flags '%s'\n", argv[5]);
		return 2;
	}
	(void) snprintf(what, sizeof(what), "open %s", a.path);
	if (run_child(what, do_open, &a, ms, &res) < 0)
		return 2;
	printf("open %s: %s (%.3f ms)\n", a.path, errno_name(res.err), (double) res.nsec / 1e6);
	return expect_met(expect, res.err) ? 0 : 1;
}

/* --- exec ------------------------------------------------------------------- */

/* The exec'd program's own run is timed too: exec reports through a
 * CLOEXEC pipe (EOF: the exec succeeded), then the program must exit. */
static void do_exec(void *userdata, struct child_result *res)
{
	const char *path = userdata;
	uint64_t t0 = now_nsec();
	int p[2], st, e = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		res->err = errno;
		return;
	}
	pid = fork();
	if (pid < 0) {
		res->err = errno;
		return;
	}
	if (pid == 0) {
		char *const av[] = {(char *) path, NULL};
		int null = open("/dev/null", O_RDWR);

		if (null >= 0) {
			(void) dup2(null, 0);
			(void) dup2(null, 1);
			(void) dup2(null, 2);
		}
		close(p[0]);
		(void) execv(path, av);
		e = errno;
		(void) !write(p[1], &e, sizeof(e));
		_exit(127);
	}
	close(p[1]);
	n = read(p[0], &e, sizeof(e));
	res->nsec = now_nsec() - t0;
	res->err = n == (ssize_t) sizeof(e) ? e : 0;
	close(p[0]);
	if (waitpid(pid, &st, 0) == pid)
		res->status = st;
}

static int cmd_exec(int argc, char **argv)
{
	const char *path, *expect = "ok";
	struct child_result res;
	char what[4200];
	int ms = 5000;

	if (argc < 3 || argc > 5)
		return 2;
	path = argv[2];
	if (argc > 3)
		expect = argv[3];
	if (argc > 4)
		ms = atoi(argv[4]);
	(void) snprintf(what, sizeof(what), "exec %s", path);
	if (run_child(what, do_exec, (void *) path, ms, &res) < 0)
		return 2;
	if (res.err)
		printf("exec %s: %s (%.3f ms)\n", path, errno_name(res.err),
		       (double) res.nsec / 1e6);
	else
		printf("exec %s: ok (%.3f ms), exit status %d\n", path, (double) res.nsec / 1e6,
		       WIFEXITED(res.status) ? WEXITSTATUS(res.status) : -1);
	return expect_met(expect, res.err) ? 0 : 1;
}

/* --- fifo ------------------------------------------------------------------- */

/* A non-blocking read open needs no writer; a write open then finds the
 * reader; data goes through. */
static void do_fifo_nonblock(void *userdata, struct child_result *res)
{
	const char *path = userdata;
	char buf[16] = "";
	uint64_t t0 = now_nsec();
	int rfd, wfd;

	rfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (rfd < 0) {
		res->err = errno;
		res->status = 1;
		return;
	}
	wfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	res->nsec = now_nsec() - t0;
	if (wfd < 0) {
		res->err = errno;
		res->status = 2;
		return;
	}
	if (write(wfd, "ping", 4) != 4 || read(rfd, buf, sizeof(buf)) != 4 ||
	    memcmp(buf, "ping", 4) != 0) {
		res->err = errno ? errno : EIO;
		res->status = 3;
	}
	close(wfd);
	close(rfd);
}

static void do_fifo_blocking_reader(void *userdata, struct child_result *res)
{
	struct open_arg a = {.path = userdata, .flags = O_RDONLY, .read_all = true};

	do_open(&a, res);
}

static void do_fifo_blocking_writer(void *userdata, struct child_result *res)
{
	struct open_arg a = {.path = userdata, .flags = O_WRONLY, .data = "pong\n"};

	do_open(&a, res);
}

static void do_fifo_no_reader(void *userdata, struct child_result *res)
{
	struct open_arg a = {.path = userdata, .flags = O_WRONLY | O_NONBLOCK};

	do_open(&a, res);
}

static int report(const char *what, int r, const struct child_result *res, int want_err)
{
	if (r < 0)
		return 1; /* child_finish() said why */
	printf("%s: %s%s (%.3f ms)\n", what, errno_name(res->err),
	       res->status ? " (data check failed)" : "", (double) res->nsec / 1e6);
	return res->err == want_err && res->status == 0 ? 0 : 1;
}

static int cmd_fifo(int argc, char **argv)
{
	struct child_result res, rres, wres;
	struct child rc, wc;
	const char *path;
	uint64_t deadline;
	int ms = 5000, failed = 0, r, rr, wr;

	if (argc < 3 || argc > 4)
		return 2;
	path = argv[2];
	if (argc > 3)
		ms = atoi(argv[3]);

	r = run_child("fifo nonblocking read+write opens", do_fifo_nonblock, (void *) path, ms,
		      &res);
	failed += report("fifo nonblocking read+write opens", r, &res, 0);

	/* Both sides block in the FIFO's own open until the other comes. */
	r = child_start(&rc, "fifo blocking reader", do_fifo_blocking_reader, (void *) path);
	if (r < 0)
		return 2;
	r = child_start(&wc, "fifo blocking writer", do_fifo_blocking_writer, (void *) path);
	if (r < 0) {
		(void) kill(rc.pid, SIGKILL);
		return 2;
	}
	deadline = now_nsec() + (uint64_t) ms * 1000000ULL;
	wr = child_finish(&wc, deadline, &wres);
	rr = child_finish(&rc, deadline, &rres);
	failed += report("fifo blocking writer", wr, &wres, 0);
	failed += report("fifo blocking reader", rr, &rres, 0);

	r = run_child("fifo nonblocking write open without reader", do_fifo_no_reader,
		      (void *) path, ms, &res);
	failed += report("fifo nonblocking write open without reader", r, &res, ENXIO);
	return failed ? 1 : 0;
}

/* --- unix socket ------------------------------------------------------------ */

static void do_connect(void *userdata, struct child_result *res)
{
	const struct sockaddr_un *sa = userdata;
	uint64_t t0 = now_nsec();
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		res->err = errno;
		return;
	}
	if (connect(fd, (const struct sockaddr *) sa, sizeof(*sa)) < 0)
		res->err = errno;
	else if (write(fd, "x", 1) != 1)
		res->status = 1;
	res->nsec = now_nsec() - t0;
	close(fd);
}

static int cmd_unix_socket(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct open_arg a = {.flags = O_RDONLY};
	_cleanup_close_ int lfd = -EBADF;
	struct child_result res;
	int ms = 5000, failed = 0, r;

	if (argc < 3 || argc > 4)
		return 2;
	if (strlen(argv[2]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "fgcheck: socket path too long\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[2]);
	if (argc > 3)
		ms = atoi(argv[3]);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(lfd, 4) < 0) {
		fprintf(stderr, "fgcheck: listen on %s: %m\n", sa.sun_path);
		return 2;
	}
	r = run_child("unix socket connect", do_connect, &sa, ms, &res);
	failed += report("unix socket connect", r, &res, 0);
	/* open(2) of a socket inode fails with ENXIO after the permission
	 * hook; it must still return. */
	a.path = sa.sun_path;
	r = run_child("unix socket open", do_open, &a, ms, &res);
	failed += report("unix socket open", r, &res, ENXIO);
	return failed ? 1 : 0;
}

/* --- load ------------------------------------------------------------------- */

#define LOAD_MAX_FILES 4096
#define LOAD_MAX_ERRNO 4096

/* Shared with the children (MAP_SHARED): each writes only its own slots. */
struct load_proc {
	_Atomic uint64_t done; /* opens returned so far */
	uint64_t start_ns, end_ns;
	uint64_t failed;
	int first_errno, last_errno;
	uint64_t n_errno[LOAD_MAX_ERRNO];
};

struct load {
	unsigned procs, files;
	uint64_t iters;
	char **paths;
	struct load_proc *proc; /* [procs], shared */
	uint32_t *lat_ns;	/* [procs * iters], shared; saturates */
	size_t map_len;
};

static void load_child(struct load *l, unsigned p, int start_fd)
{
	struct load_proc *me = &l->proc[p];
	uint32_t *lat = l->lat_ns + (size_t) p * l->iters;
	char c;

	/* All start together: wait for the parent to close the pipe. */
	(void) !read(start_fd, &c, 1);
	me->start_ns = now_nsec();
	for (uint64_t i = 0; i < l->iters; i++) {
		const char *path = l->paths[(i + p) % l->files];
		uint64_t t0 = now_nsec(), dt;
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		dt = now_nsec() - t0;
		lat[i] = dt > UINT32_MAX ? UINT32_MAX : (uint32_t) dt;
		if (fd < 0) {
			int e = errno;

			me->failed++;
			me->n_errno[e < LOAD_MAX_ERRNO ? e : 0]++;
			if (!me->first_errno)
				me->first_errno = e;
			me->last_errno = e;
		} else
			close(fd);
		atomic_store_explicit(&me->done, i + 1, memory_order_release);
	}
	me->end_ns = now_nsec();
	_exit(0);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

	return x < y ? -1 : x > y;
}

static double pct_us(const uint32_t *sorted, size_t n, double q)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t) (q * (double) (n - 1) + 0.5);
	return (double) sorted[i] / 1000.0;
}

static int load_paths(struct load *l, const char *dir, bool create, unsigned want)
{
	static char *names[LOAD_MAX_FILES];
	unsigned n = 0;

	if (create) {
		for (n = 0; n < want; n++)
			if (asprintf(&names[n], "%s/f%04u", dir, n) < 0)
				return -ENOMEM;
	} else {
		struct dirent **ents;
		int k = scandir(dir, &ents, NULL, alphasort);

		if (k < 0)
			return -errno;
		for (int i = 0; i < k; i++) {
			if (ents[i]->d_type == DT_REG && n < LOAD_MAX_FILES &&
			    (!want || n < want) &&
			    asprintf(&names[n], "%s/%s", dir, ents[i]->d_name) >= 0)
				n++;
			free(ents[i]);
		}
		free(ents);
	}
	if (n == 0)
		return -ENOENT;
	l->paths = names;
	l->files = n;
	return 0;
}

/* Creates the files in a child: on a watched filesystem each creation is an
 * open that the listener must answer. */
static void do_create(void *userdata, struct child_result *res)
{
	struct load *l = userdata;
	uint64_t t0 = now_nsec();

	for (unsigned i = 0; i < l->files; i++) {
		char buf[64];
		int fd = open(l->paths[i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int len = snprintf(buf, sizeof(buf), "fgcheck load file %u\n", i);

		if (fd < 0 || write(fd, buf, (size_t) len) != len) {
			res->err = errno ? errno : EIO;
			if (fd >= 0)
				close(fd);
			return;
		}
		close(fd);
	}
	res->nsec = now_nsec() - t0;
}

static int cmd_load(int argc, char **argv)
{
	static const struct option options[] = {{"procs", required_argument, NULL, 'p'},
						{"iters", required_argument, NULL, 'n'},
						{"dir", required_argument, NULL, 'd'},
						{"files", required_argument, NULL, 'k'},
						{"timeout-s", required_argument, NULL, 't'},
						{"create", no_argument, NULL, 'c'},
						{"expect", required_argument, NULL, 'e'},
						{}};
	struct load l = {.procs = 4, .iters = 1000};
	const char *dir = NULL, *expect = "ok";
	unsigned want_files = 0, hung = 0, exited = 0;
	double timeout_s = 30, wall_s;
	uint64_t total = 0, failed = 0, mismatched = 0, start, deadline, first_start = UINT64_MAX,
		 last_end = 0;
	_cleanup_free_ pid_t *pids = NULL;
	_cleanup_free_ bool *reaped = NULL;
	uint64_t n_errno[LOAD_MAX_ERRNO] = {};
	int c, r, start_pipe[2];
	bool create = false;
	uint32_t *sorted;
	sigset_t chld;

	optind = 2;
	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
		switch (c) {
		case 'p':
			l.procs = (unsigned) atoi(optarg);
			break;
		case 'n':
			l.iters = strtoull(optarg, NULL, 10);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'k':
			want_files = (unsigned) atoi(optarg);
			break;
		case 't':
			timeout_s = atof(optarg);
			break;
		case 'c':
			create = true;
			break;
		case 'e':
			expect = optarg;
			break;
		default:
			return 2;
		}
	}
	if (!dir || l.procs == 0 || l.procs > 1024 || l.iters == 0 || want_files > LOAD_MAX_FILES ||
	    timeout_s <= 0) {
		fprintf(stderr, "fgcheck: load --procs P --iters N --dir DIR [--files K] "
				"[--create] [--timeout-s S] [--expect ok|ERRNO]\n");
		return 2;
	}
	if (create && want_files == 0)
		want_files = 16;
	r = load_paths(&l, dir, create, want_files);
	if (r < 0) {
		fprintf(stderr, "fgcheck: load: files in %s: %s\n", dir, strerror(-r));
		return 2;
	}
	if (create) {
		struct child_result res;

		r = run_child("load: create files", do_create, &l, (int) (timeout_s * 1000), &res);
		if (r < 0)
			return 1;
		if (res.err) {
			printf("load: create files: %s\n", errno_name(res.err));
			return 1;
		}
	}

	l.map_len = sizeof(struct load_proc) * l.procs + sizeof(uint32_t) * l.procs * l.iters;
	l.proc = mmap(NULL, l.map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (l.proc == MAP_FAILED) {
		fprintf(stderr, "fgcheck: load: mmap %zu bytes: %m\n", l.map_len);
		return 2;
	}
	l.lat_ns = (uint32_t *) (l.proc + l.procs);
	pids = calloc(l.procs, sizeof(*pids));
	reaped = calloc(l.procs, sizeof(*reaped));
	if (!pids || !reaped || pipe2(start_pipe, O_CLOEXEC) < 0)
		return 2;

	/* SIGCHLD is waited for with sigtimedwait(), so it must stay pending. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);

	printf("load: procs=%u iters=%" PRIu64 " files=%u dir=%s timeout_s=%.1f\n", l.procs,
	       l.iters, l.files, dir, timeout_s);
	fflush(stdout);
	for (unsigned p = 0; p < l.procs; p++) {
		pids[p] = fork();
		if (pids[p] < 0) {
			fprintf(stderr, "fgcheck: load: fork: %m\n");
			for (unsigned q = 0; q < p; q++)
				(void) kill(pids[q], SIGKILL);
			return 2;
		}
		if (pids[p] == 0) {
			close(start_pipe[1]);
			load_child(&l, p, start_pipe[0]);
		}
	}
	close(start_pipe[0]);
	start = now_nsec();
	deadline = start + (uint64_t) (timeout_s * 1e9);
	close(start_pipe[1]);

	while (exited < l.procs) {
		uint64_t now = now_nsec();
		struct timespec ts;
		int st;
		pid_t pid;

		while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
			for (unsigned p = 0; p < l.procs; p++)
				if (pids[p] == pid && !reaped[p]) {
					reaped[p] = true;
					exited++;
				}
		if (exited == l.procs || now >= deadline)
			break;
		/* Wake at least every 100 ms: a SIGCHLD can merge with another. */
		ts.tv_sec = 0;
		ts.tv_nsec = (long) (deadline - now < 100000000ULL ? deadline - now : 100000000ULL);
		(void) sigtimedwait(&chld, NULL, &ts);
	}

	for (unsigned p = 0; p < l.procs; p++) {
		struct load_proc *pr = &l.proc[p];
		uint64_t done = atomic_load_explicit(&pr->done, memory_order_acquire);

		if (!reaped[p]) {
			char path[64], wchan[64] = "?";
			FILE *f;

			hung++;
			(void) snprintf(path, sizeof(path), "/proc/%d/wchan", (int) pids[p]);
			f = fopen(path, "re");
			if (f) {
				if (!fgets(wchan, sizeof(wchan), f))
					(void) snprintf(wchan, sizeof(wchan), "?");
				fclose(f);
			}
			printf("load: proc %u (pid %d) HUNG after %" PRIu64 "/%" PRIu64
			       " opens, at %s (wchan %s)\n",
			       p, (int) pids[p], done, l.iters, l.paths[(done + p) % l.files],
			       wchan);
			(void) kill(pids[p], SIGKILL);
		} else {
			if (pr->start_ns && pr->start_ns < first_start)
				first_start = pr->start_ns;
			if (pr->end_ns > last_end)
				last_end = pr->end_ns;
		}
		total += done;
		failed += pr->failed;
		for (int e = 0; e < LOAD_MAX_ERRNO; e++)
			n_errno[e] += pr->n_errno[e];
	}
	if (hung) {
		/* Reap what dies promptly; a child stuck in FUSE cannot. */
		for (int i = 0; i < 50 && exited < l.procs; i++) {
			pid_t pid;
			int st;

			while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
				exited++;
			(void) usleep(10000);
		}
		last_end = now_nsec();
		first_start = start;
	}
	if (first_start == UINT64_MAX || last_end <= first_start) {
		first_start = start;
		last_end = now_nsec();
	}
	wall_s = (double) (last_end - first_start) / 1e9;

	sorted = malloc(sizeof(uint32_t) * (total ? total : 1));
	if (!sorted)
		return 2;
	total = 0;
	for (unsigned p = 0; p < l.procs; p++) {
		uint64_t done = atomic_load_explicit(&l.proc[p].done, memory_order_acquire);

		memcpy(sorted + total, l.lat_ns + (size_t) p * l.iters, sizeof(uint32_t) * done);
		total += done;
	}
	qsort(sorted, total, sizeof(uint32_t), cmp_u32);

	if (strcmp(expect, "ok") == 0)
		mismatched = failed;
	else
		for (int e = 0; e < LOAD_MAX_ERRNO; e++)
			if (n_errno[e] && !expect_met(expect, e))
				mismatched += n_errno[e];
	if (strcmp(expect, "ok") != 0)
		mismatched += total - failed; /* opens that succeeded but should not */

	printf("load: opens=%" PRIu64 " ok=%" PRIu64 " failed=%" PRIu64 " hung_procs=%u "
	       "wall_s=%.6f opens_per_s=%.0f us_per_open=%.3f\n",
	       total, total - failed, failed, hung, wall_s,
	       wall_s > 0 ? (double) total / wall_s : 0, total ? wall_s * 1e6 / (double) total : 0);
	printf("load: latency_us p50=%.2f p90=%.2f p99=%.2f p999=%.2f max=%.2f\n",
	       pct_us(sorted, total, 0.50), pct_us(sorted, total, 0.90),
	       pct_us(sorted, total, 0.99), pct_us(sorted, total, 0.999),
	       pct_us(sorted, total, 1.0));
	for (int e = 0; e < LOAD_MAX_ERRNO; e++)
		if (n_errno[e])
			printf("load: errno %s=%" PRIu64 "\n", e ? errno_name(e) : "E>=4096",
			       n_errno[e]);
	free(sorted);
	(void) munmap(l.proc, l.map_len);
	if (hung || total != (uint64_t) l.procs * l.iters || mismatched) {
		printf("load: FAILED (expected every open to return %s)\n", expect);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: fgcheck mount-id|fanotify-probe|open|exec|fifo|unix-socket|"
				"load ...\n");
		return 2;
	}
	/* Our results go through pipes and stdout; a test's pipe closing
	 * early must not kill us silently. */
	(void) signal(SIGPIPE, SIG_IGN);
	if (strcmp(argv[1], "mount-id") == 0)
		return cmd_mount_id(argc, argv);
	if (strcmp(argv[1], "classify") == 0)
		return cmd_classify(argc, argv);
	if (strcmp(argv[1], "fanotify-probe") == 0)
		return cmd_fanotify_probe();
	if (strcmp(argv[1], "open") == 0)
		return cmd_open(argc, argv);
	if (strcmp(argv[1], "exec") == 0)
		return cmd_exec(argc, argv);
	if (strcmp(argv[1], "fifo") == 0)
		return cmd_fifo(argc, argv);
	if (strcmp(argv[1], "unix-socket") == 0)
		return cmd_unix_socket(argc, argv);
	if (strcmp(argv[1], "load") == 0)
		return cmd_load(argc, argv);
	fprintf(stderr, "fgcheck: unknown command '%s'\n", argv[1]);
	return 2;
}
