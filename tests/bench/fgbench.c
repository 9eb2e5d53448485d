/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fgbench: the benchmark's C helpers (driven by bench.sh, and by the cache
 * tests).
 *   fgbench make DIR N SIZE            N files DIR/fNNNNN of SIZE bytes, distinct content
 *   fgbench open DIR N PROCS [read]    every file once, split over PROCS processes that
 *                                      start together; prints latency and throughput;
 *                                      FGBENCH_QUANTILES=FILE: also writes "q µs" lines
 *                                      (q = 0..100 by 1, and 99.9) for the chart
 *   fgbench clamd-floor SOCK DIR N C   clamd's own floor: N files DIR/fNNNNN scanned over
 *                                      C persistent IDSESSION connections in parallel
 *                                      (FILDES, one in flight per connection)
 *   fgbench floor DIR [pidfd]          the floor: a trivial single-threaded allow-all
 *                                      fanotify listener on DIR's mount; "ready" on stdout;
 *                                      pidfd: with FAN_REPORT_PIDFD (what that costs)
 *   fgbench herd DIR N                 a kernel fact: N openers of DIR/hN wait on one
 *                                      group; one answer; prints how many of the N-1
 *                                      unanswered openers woke (voluntary switches)
 *   fgbench lib DIR                    libfanguard embedded, commands on stdin:
 *                                      "deny HEX", "stats", "quit"; "ok"/"ready" replies
 * Privileged subcommands mark only the mount they are given; bench.sh and the
 * tests run them in a private mount namespace on a scratch tmpfs. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "fanguard.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static int cmd_make(const char *dir, unsigned n, size_t size)
{
	char *buf = malloc(size + 1), path[4096];

	if (!buf)
		return 1;
	for (unsigned i = 0; i < n; i++) {
		int fd;

		memset(buf, 'a' + (i % 26), size);
		(void) snprintf(buf, size, "fgbench file %u\n", i);
		(void) snprintf(path, sizeof(path), "%s/f%05u", dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, buf, size) != (ssize_t) size) {
			fprintf(stderr, "fgbench: %s: %m\n", path);
			return 1;
		}
		close(fd);
	}
	free(buf);
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

	return x < y ? -1 : x > y;
}

static int cmd_open(const char *dir, unsigned n, unsigned procs, bool rd)
{
	size_t map_len = sizeof(uint32_t) * n + 2 * sizeof(uint64_t) * procs;
	uint32_t *lat =
		mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint64_t *span, t_min = UINT64_MAX, t_max = 0, failed = 0;
	int pipefd[2];
	char c;

	if (lat == MAP_FAILED || procs == 0 || pipe(pipefd) < 0)
		return 1;
	span = (uint64_t *) (lat + n);
	for (unsigned p = 0; p < procs; p++) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0) {
			char path[4096], buf[65536];

			close(pipefd[1]);
			(void) !read(pipefd[0], &c, 1);
			span[2 * p] = now_ns();
			for (unsigned i = p; i < n; i += procs) {
				uint64_t t0;
				int fd;

				(void) snprintf(path, sizeof(path), "%s/f%05u", dir, i);
				t0 = now_ns();
				fd = open(path, O_RDONLY | O_CLOEXEC);
				if (fd >= 0 && rd)
					while (read(fd, buf, sizeof(buf)) > 0)
						;
				lat[i] = (uint32_t) (now_ns() - t0);
				if (fd < 0)
					lat[i] = UINT32_MAX;
				else
					close(fd);
			}
			span[2 * p + 1] = now_ns();
			_exit(0);
		}
	}
	close(pipefd[0]);
	close(pipefd[1]); /* go */
	while (wait(NULL) > 0)
		;
	for (unsigned p = 0; p < procs; p++) {
		t_min = span[2 * p] < t_min ? span[2 * p] : t_min;
		t_max = span[2 * p + 1] > t_max ? span[2 * p + 1] : t_max;
	}
	for (unsigned i = 0; i < n; i++)
		failed += lat[i] == UINT32_MAX;
	qsort(lat, n, sizeof(*lat), cmp_u32);
	if (getenv("FGBENCH_QUANTILES")) {
		FILE *q = fopen(getenv("FGBENCH_QUANTILES"), "we");

		if (!q)
			return 1;
		for (unsigned k = 0; k <= 100; k++)
			fprintf(q, "%u %.2f\n", k, lat[(size_t) ((n - 1) * (k / 100.0))] / 1e3);
		fprintf(q, "99.9 %.2f\n", lat[(size_t) ((n - 1) * 0.999)] / 1e3);
		fclose(q);
	}
	printf("opens=%u failed=%" PRIu64 " procs=%u wall_ms=%.1f opens_per_s=%.0f "
	       "p50_us=%.2f p90_us=%.2f p99_us=%.2f\n",
	       n, failed, procs, (double) (t_max - t_min) / 1e6,
	       (double) n / ((double) (t_max - t_min) / 1e9), lat[n / 2] / 1e3,
	       lat[(size_t) (n * 0.9)] / 1e3, lat[(size_t) (n * 0.99)] / 1e3);
	return failed ? 2 : 0;
}

/* One FILDES request over an IDSESSION, as scan-clamd.c sends it: the
 * command "zFILDES\0", then one byte carrying the fd (SCM_RIGHTS) in a
 * message of its own; the reply is "N: fd[M]: OK\0". */
static int clamd_fildes(int s, int fd, char *reply, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {0}, byte = '\0';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	size_t got = 0;

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (write(s, "zFILDES", 8) != 8 || sendmsg(s, &mh, MSG_NOSIGNAL) != 1)
		return -1;
	while (got < len - 1) {
		ssize_t r = read(s, reply + got, len - 1 - got);

		if (r <= 0)
			return -1;
		got += (size_t) r;
		if (memchr(reply, '\0', got)) /* one reply per request in flight */
			return strstr(reply, ": OK") ? 0 : -1;
	}
	return -1;
}

static int cmd_clamd_floor(const char *sock, const char *dir, unsigned n, unsigned conns)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	uint64_t *bad = mmap(NULL, sizeof(uint64_t) * conns, PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint64_t t0, t1, failed = 0;

	if (bad == MAP_FAILED || conns == 0 || strlen(sock) >= sizeof(sa.sun_path))
		return 1;
	strcpy(sa.sun_path, sock);
	t0 = now_ns();
	for (unsigned p = 0; p < conns; p++) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0) {
			int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			char path[4096], reply[512];

			if (s < 0 || connect(s, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
			    write(s, "zIDSESSION", 11) != 11)
				_exit(1);
			for (unsigned i = p; i < n; i += conns) {
				int fd;

				(void) snprintf(path, sizeof(path), "%s/f%05u", dir, i);
				fd = open(path, O_RDONLY | O_CLOEXEC);
				if (fd < 0 || clamd_fildes(s, fd, reply, sizeof(reply)) < 0)
					bad[p]++;
				if (fd >= 0)
					close(fd);
			}
			(void) !write(s, "zEND", 5);
			_exit(0);
		}
	}
	while (wait(NULL) > 0)
		;
	t1 = now_ns();
	for (unsigned p = 0; p < conns; p++)
		failed += bad[p];
	printf("scans=%u failed=%" PRIu64 " conns=%u wall_ms=%.1f scans_per_s=%.0f "
	       "us_per_scan=%.2f\n",
	       n, failed, conns, (double) (t1 - t0) / 1e6, (double) n / ((double) (t1 - t0) / 1e9),
	       (double) (t1 - t0) / 1e3 / n);
	return failed ? 2 : 0;
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	stop = 1;
}

/* The floor: what any permission listener costs at least. One thread, one
 * read of up to 4 KiB of events, one write per answer, no statx. */
static int cmd_floor(const char *dir, bool pidfd)
{
	char buf[4096] __attribute__((aligned(8)));
	struct sigaction sa = {.sa_handler = on_term};
	int fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_UNLIMITED_QUEUE |
					(pidfd ? 0x80u /* FAN_REPORT_PIDFD */ : 0),
				O_RDONLY | O_LARGEFILE | O_CLOEXEC);

	if (fan < 0 || fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_MOUNT,
				     FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM, AT_FDCWD, dir) < 0) {
		fprintf(stderr, "fgbench floor: %m\n");
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: read() returns EINTR */
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		struct fanotify_event_metadata *m;
		ssize_t n = read(fan, buf, sizeof(buf));

		if (n < 0)
			continue;
		for (m = (void *) buf; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
			struct fanotify_response r = {.fd = m->fd, .response = FAN_ALLOW};

			if (m->fd < 0)
				continue;
			(void) !write(fan, &r, sizeof(r));
			close(m->fd);
			/* FAN_REPORT_PIDFD: one info record after the metadata,
			 * {type 4, pad, len 8}, then the pidfd. */
			if (pidfd && m->event_len >= (uint32_t) m->metadata_len + 8u) {
				const struct fanotify_event_info_header *h =
					(const void *) ((const char *) m + m->metadata_len);
				int pfd;

				memcpy(&pfd, (const char *) (h + 1), sizeof(pfd));
				if (h->info_type == 4 && pfd >= 0)
					close(pfd);
			}
		}
	}
	close(fan); /* allows whatever is still queued */
	return 0;
}

static long voluntary_switches(pid_t pid)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	(void) snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "voluntary_ctxt_switches:", 24) == 0)
			v = atol(line + 24);
	fclose(f);
	return v;
}

/* Whether one permission answer wakes only its opener or every opener
 * waiting on the group (fanotify_get_response() waits on the group's
 * access_waitq; an answer wakes that queue). Holds all N events, answers
 * the first opener's, counts which of the others switched meanwhile. */
#define HERD_MAX 16

static int cmd_herd(const char *dir, unsigned n)
{
	struct fanotify_event_metadata ev[HERD_MAX];
	pid_t kid[HERD_MAX];
	long before[HERD_MAX];
	unsigned got = 0, woken = 0, first = HERD_MAX;
	char path[4096];
	int fan, rc = 1;

	if (n < 2 || n > HERD_MAX)
		return 1;
	for (unsigned i = 0; i < n; i++) {
		int fd;

		(void) snprintf(path, sizeof(path), "%s/h%u", dir, i);
		fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0)
			return 1;
		close(fd);
	}
	fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_CLOEXEC);
	if (fan < 0 ||
	    fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN_PERM, AT_FDCWD, dir) < 0) {
		fprintf(stderr, "fgbench herd: %m\n");
		return 1;
	}
	for (unsigned i = 0; i < n; i++) {
		kid[i] = fork();
		if (kid[i] == 0) {
			close(fan);
			(void) snprintf(path, sizeof(path), "%s/h%u", dir, i);
			_exit(open(path, O_RDONLY | O_CLOEXEC) < 0);
		}
	}
	while (got < n) {
		ssize_t r = read(fan, &ev[got], sizeof(ev[0]));

		if (r < (ssize_t) sizeof(ev[0]))
			goto out;
		if (ev[got].pid == kid[0])
			first = got;
		got++;
	}
	usleep(200 * 1000); /* every opener asleep in its permission wait */
	for (unsigned i = 0; i < n; i++)
		before[i] = voluntary_switches(kid[i]);
	if (first < n) {
		struct fanotify_response a = {.fd = ev[first].fd, .response = FAN_ALLOW};

		(void) !write(fan, &a, sizeof(a));
	}
	usleep(200 * 1000);
	for (unsigned i = 1; i < n; i++)
		woken += voluntary_switches(kid[i]) > before[i];
	printf("openers=%u answered=1 others_woken=%u\n", n, woken);
	rc = first < n ? 0 : 1;
out:
	close(fan); /* allows the rest */
	for (unsigned i = 0; i < n; i++)
		waitpid(kid[i], NULL, 0);
	return rc;
}

static int unhex(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

static int cmd_lib(const char *dir)
{
	struct fanguard_options o = {.size = sizeof(o)};
	struct fanguard *fg;
	char line[256];
	int r;

	r = fanguard_new(&o, &fg);
	if (r >= 0)
		r = fanguard_watch(fg, dir, 0);
	if (r >= 0)
		r = fanguard_start(fg);
	if (r < 0) {
		fprintf(stderr, "fgbench lib: %s\n", strerror(-r));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		if (strncmp(line, "deny ", 5) == 0) {
			uint8_t d[1][32];
			bool ok = strlen(line) >= 5 + 64;

			for (int i = 0; ok && i < 32; i++) {
				int hi = unhex(line[5 + 2 * i]), lo = unhex(line[6 + 2 * i]);

				ok = hi >= 0 && lo >= 0;
				d[0][i] = (uint8_t) (hi << 4 | lo);
			}
			r = ok ? fanguard_deny_sha256(fg, (const uint8_t(*)[32]) d, 1) : -EINVAL;
			printf("%s\n", r < 0 ? strerror(-r) : "ok");
		} else if (strncmp(line, "stats", 5) == 0) {
			struct fanguard_stats s = {.size = sizeof(s)};

			(void) fanguard_get_stats(fg, &s);
			printf("events_read=%" PRIu64 " allowed=%" PRIu64 " denied=%" PRIu64
			       " marks_added=%" PRIu64 " marks_revoked=%" PRIu64 " flushes=%" PRIu64
			       "\n",
			       s.events_read, s.allowed, s.denied, s.cache_marks_added,
			       s.cache_marks_revoked, s.cache_flushes);
		} else if (strncmp(line, "quit", 4) == 0)
			break;
		fflush(stdout);
	}
	r = fanguard_stop(fg, 5000);
	fanguard_free(fg);
	return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "make") == 0)
		return cmd_make(argv[2], (unsigned) atoi(argv[3]), (size_t) atol(argv[4]));
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "open") == 0)
		return cmd_open(argv[2], (unsigned) atoi(argv[3]), (unsigned) atoi(argv[4]),
				argc == 6 && strcmp(argv[5], "read") == 0);
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "floor") == 0)
		return cmd_floor(argv[2], argc == 4 && strcmp(argv[3], "pidfd") == 0);
	if (argc == 6 && strcmp(argv[1], "clamd-floor") == 0)
		return cmd_clamd_floor(argv[2], argv[3], (unsigned) atoi(argv[4]),
				       (unsigned) atoi(argv[5]));
	if (argc == 4 && strcmp(argv[1], "herd") == 0)
		return cmd_herd(argv[2], (unsigned) atoi(argv[3]));
	if (argc == 3 && strcmp(argv[1], "lib") == 0)
		return cmd_lib(argv[2]);
	fprintf(stderr,
		"usage: fgbench make|open|floor|clamd-floor|herd|lib ... (see the source)\n");
	return 1;
}
