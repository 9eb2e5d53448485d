/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for the scanners, without the kernel: the clamd reply parser;
 * the clamd scanner against fake clamd servers (a thread on a unix or TCP
 * socket here) that answer right, answer garbage, answer another command's
 * number, close, or never answer (the deadline must hold); YARA with a real
 * rule, a rule that fails to compile (old rules kept), and a file growing
 * past what statx said; the dispatcher's composition (any deny wins).
 * Unprivileged: events are stood in for by plain fds of temporary files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "fanguard-internal.h"
#include "scan-clamd.h"

static void test_parse(void **state)
{
	struct clamd_reply r;

	(void) state;
	assert_int_equal(clamd_parse_reply("1: fd[12]: OK", 13, &r), 0);
	assert_true(r.has_id);
	assert_int_equal(r.id, 1);
	assert_int_equal(r.status, CLAMD_CLEAN);
	assert_int_equal(clamd_parse_reply("stream: Eicar-Test-Signature FOUND\0", 35, &r), 0);
	assert_false(r.has_id);
	assert_int_equal(r.status, CLAMD_FOUND);
	assert_string_equal(r.text, "Eicar-Test-Signature");
	assert_int_equal(clamd_parse_reply("7: /a: b: Sig.X FOUND", 21, &r), 0);
	assert_int_equal(r.id, 7);
	assert_string_equal(r.text, "Sig.X");
	assert_int_equal(clamd_parse_reply("INSTREAM size limit exceeded. ERROR", 35, &r), 0);
	assert_int_equal(r.status, CLAMD_ERROR);
	assert_string_equal(r.text, "INSTREAM size limit exceeded.");
	assert_int_equal(clamd_parse_reply("", 0, &r), -EBADMSG);
	assert_int_equal(clamd_parse_reply("PONG", 4, &r), -EBADMSG);
	assert_int_equal(clamd_parse_reply(": FOUND", 7, &r), -EBADMSG);
	assert_int_equal(clamd_parse_reply("fd[1]: O\nK", 10, &r), -EBADMSG);
	{
		char big[CLAMD_REPLY_MAX + 2];

		memset(big, 'a', sizeof(big));
		assert_int_equal(clamd_parse_reply(big, sizeof(big), &r), -EMSGSIZE);
	}
}

static void test_parse_threads(void **state)
{
	/* clamav 1.0's STATS reply, as an IDSESSION reply (measured). */
	static const char stats[] =
		"1: POOLS: 1\n\nSTATE: VALID PRIMARY\nTHREADS: live 1  idle 0 max 10 "
		"idle-timeout 30\nQUEUE: 0 items\n\tSTATS 0.000002 \n\nMEMSTATS: heap N/A\nEND";
	unsigned n = 0;
#define MAXT(str) clamd_parse_max_threads(str, strlen(str), &n)

	(void) state;
	assert_int_equal(clamd_parse_max_threads(stats, strlen(stats), &n), 0);
	assert_int_equal(n, 10);
	assert_int_equal(MAXT("THREADS: live 1 max 3\n"), -EBADMSG);
	assert_int_equal(MAXT("x\nTHREADS: live 1 max 0\n"), -EBADMSG);
	assert_int_equal(MAXT("x\nTHREADS: live 1 max \n"), -EBADMSG);
	assert_int_equal(MAXT("x\nTHREADS: live 1 max 9999999"), -EBADMSG);
	assert_int_equal(MAXT("x\nTHREADS: live 1\n max 4"), -EBADMSG);
	assert_int_equal(MAXT("x\nTHREADS: live 2 max 16"), 0);
	assert_int_equal(n, 16);
#undef MAXT
}

/* --- a fake clamd ------------------------------------------------------- */

enum fake_mode { FAKE_OK, FAKE_FOUND, FAKE_GARBAGE, FAKE_WRONG_ID, FAKE_CLOSE, FAKE_STALL };

struct fake {
	int listen_fd;
	enum fake_mode mode;
	bool tcp;
	pthread_t thread;
	int stop_pipe[2];
	unsigned commands;
	size_t stream_bytes;
	int got_fd_size;     /* FILDES: size of the file behind the passed fd */
	const char *version; /* VERSION's reply (atomic: the test changes it) */
	unsigned versions;   /* VERSION commands answered */
};

/* Reads one z-command (up to its NUL), and for FILDES the passed fd. */
static int fake_read_cmd(int c, char *cmd, size_t size, int *ret_fd)
{
	size_t len = 0;

	*ret_fd = -1;
	while (len < size) {
		char ctl[CMSG_SPACE(sizeof(int))];
		struct iovec iov = {.iov_base = cmd + len, .iov_len = 1};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = ctl,
				    .msg_controllen = sizeof(ctl)};
		ssize_t n = recvmsg(c, &mh, 0);
		struct cmsghdr *h;

		if (n <= 0)
			return -1;
		for (h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h))
			if (h->cmsg_type == SCM_RIGHTS)
				memcpy(ret_fd, CMSG_DATA(h), sizeof(int));
		if (cmd[len] == '\0' && len > 0)
			return 0;
		if (cmd[len] != '\0')
			len++;
	}
	return -1;
}

static void *fake_main(void *userdata)
{
	struct fake *f = userdata;

	for (;;) {
		struct pollfd p[2] = {{.fd = f->listen_fd, .events = POLLIN},
				      {.fd = f->stop_pipe[0], .events = POLLIN}};
		unsigned long id = 0;
		int c;

		if (poll(p, 2, -1) < 0 || p[1].revents)
			break;
		c = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		for (;;) {
			char cmd[64], reply[128];
			int fd, n = 0;

			if (fake_read_cmd(c, cmd, sizeof(cmd), &fd) < 0)
				break;
			if (strcmp(cmd, "zIDSESSION") == 0)
				continue;
			id++;
			__atomic_add_fetch(&f->commands, 1, __ATOMIC_SEQ_CST);
			if (strcmp(cmd, "zFILDES") == 0) {
				char b;
				struct stat st;

				if (fd < 0) {
					/* The fd comes with the byte after the command. */
					char ctl[CMSG_SPACE(sizeof(int))];
					struct iovec iov = {.iov_base = &b, .iov_len = 1};
					struct msghdr mh = {.msg_iov = &iov,
							    .msg_iovlen = 1,
							    .msg_control = ctl,
							    .msg_controllen = sizeof(ctl)};
					struct cmsghdr *h;

					if (recvmsg(c, &mh, 0) == 1)
						for (h = CMSG_FIRSTHDR(&mh); h;
						     h = CMSG_NXTHDR(&mh, h))
							if (h->cmsg_type == SCM_RIGHTS)
								memcpy(&fd, CMSG_DATA(h),
								       sizeof(int));
				}
				if (fd >= 0 && fstat(fd, &st) == 0)
					f->got_fd_size = (int) st.st_size;
				if (fd >= 0)
					close(fd);
			} else if (strcmp(cmd, "zINSTREAM") == 0) {
				for (;;) {
					uint32_t be;
					char chunk[4096];
					size_t left;

					if (recv(c, &be, 4, MSG_WAITALL) != 4)
						goto done;
					left = ntohl(be);
					if (left == 0)
						break;
					while (left > 0) {
						ssize_t k = recv(
							c, chunk,
							left < sizeof(chunk) ? left : sizeof(chunk),
							0);

						if (k <= 0)
							goto done;
						left -= (size_t) k;
						f->stream_bytes += (size_t) k;
					}
				}
			}
			if (strcmp(cmd, "zVERSION") == 0) {
				n = snprintf(reply, sizeof(reply), "%lu: %s", id,
					     __atomic_load_n(&f->version, __ATOMIC_SEQ_CST)) +
				    1;
				if (send(c, reply, (size_t) n, MSG_NOSIGNAL) != n)
					break;
				__atomic_add_fetch(&f->versions, 1, __ATOMIC_SEQ_CST);
				continue;
			}
			switch (f->mode) {
			case FAKE_OK:
				n = snprintf(reply, sizeof(reply), "%lu: fd[9]: OK", id) + 1;
				break;
			case FAKE_FOUND:
				n = snprintf(reply, sizeof(reply), "%lu: stream: Fake.Sig FOUND",
					     id) +
				    1;
				break;
			case FAKE_GARBAGE:
				memcpy(reply, "\x01\xff garbage", 10);
				n = 11;
				reply[10] = '\0';
				break;
			case FAKE_WRONG_ID:
				n = snprintf(reply, sizeof(reply), "%lu: fd[9]: OK", id + 5) + 1;
				break;
			case FAKE_CLOSE:
				goto done;
			case FAKE_STALL: {
				struct pollfd s = {.fd = f->stop_pipe[0], .events = POLLIN};

				(void) poll(&s, 1, -1);
				goto done;
			}
			}
			if (send(c, reply, (size_t) n, MSG_NOSIGNAL) != n)
				break;
		}
	done:
		close(c);
	}
	return NULL;
}

static void fake_start(struct fake *f, enum fake_mode mode, bool tcp, char *ret_addr, size_t size)
{
	*f = (struct fake){.mode = mode, .tcp = tcp, .version = "ClamAV 1.4.6"};
	assert_int_equal(pipe2(f->stop_pipe, O_CLOEXEC), 0);
	if (tcp) {
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t l = sizeof(a);

		f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_int_equal(bind(f->listen_fd, (struct sockaddr *) &a, sizeof(a)), 0);
		assert_int_equal(getsockname(f->listen_fd, (struct sockaddr *) &a, &l), 0);
		snprintf(ret_addr, size, "127.0.0.1:%u", ntohs(a.sin_port));
	} else {
		struct sockaddr_un a = {.sun_family = AF_UNIX};

		snprintf(a.sun_path, sizeof(a.sun_path), "/tmp/fg-test-scan-%d-%d.sock", getpid(),
			 (int) mode);
		(void) unlink(a.sun_path);
		f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_int_equal(bind(f->listen_fd, (struct sockaddr *) &a, sizeof(a)), 0);
		snprintf(ret_addr, size, "%s", a.sun_path);
	}
	assert_int_equal(listen(f->listen_fd, 16), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f, const char *addr)
{
	assert_int_equal(write(f->stop_pipe[1], "x", 1), 1);
	pthread_join(f->thread, NULL);
	close(f->listen_fd);
	close(f->stop_pipe[0]);
	close(f->stop_pipe[1]);
	if (!f->tcp)
		(void) unlink(addr);
}

/* --- scanning a stand-in event ------------------------------------------ */

/* In /dev/shm: tmpfs takes O_DIRECT (set on FUSE-class events) without
 * alignment rules, as FUSE does; a disk filesystem would refuse the reads. */
static int tmpfile_with(const char *content, size_t len)
{
	char path[] = "/dev/shm/fg-test-scan-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	(void) unlink(path);
	assert_int_equal(write(fd, content, len), (ssize_t) len);
	return fd;
}

/* Runs the dispatcher on fd as an event of a mount of class cls, with
 * deadline_ms; returns the time it took. */
static usec_t scan_fd_class(struct fanguard *fg, int fd, enum fanguard_mount_class cls,
			    unsigned deadline_ms, struct scan_result *res)
{
	static uint8_t buf[65536];
	struct domain *d = calloc(1, sizeof(*d));
	struct fg_event ev = {.fd = fd};
	struct stat st;
	usec_t t0 = now_usec();

	assert_non_null(d);
	assert_int_equal(fstat(fd, &st), 0);
	d->fg = fg;
	d->cls = cls;
	d->default_verdict = FANGUARD_ALLOW;
	ev.size = (uint64_t) st.st_size;
	ev.deadline_usec = t0 + deadline_ms * USEC_PER_MSEC;
	scan_event(d, &ev, buf, sizeof(buf), false, res);
	free(d);
	return now_usec() - t0;
}

static usec_t scan_fd(struct fanguard *fg, int fd, unsigned deadline_ms, struct scan_result *res)
{
	return scan_fd_class(fg, fd, FANGUARD_MOUNT_LOCAL, deadline_ms, res);
}

static struct fanguard *new_fg(void)
{
	struct fanguard *fg = NULL;

	assert_int_equal(fanguard_new(NULL, &fg), 0);
	return fg;
}

static void test_no_scanner(void **state)
{
	struct fanguard *fg = new_fg();
	struct scan_result res;
	int fd = tmpfile_with("x", 1);

	(void) state;
	pthread_rwlock_rdlock(&fg->cfg_lock);
	assert_false(scan_needed(fg, NULL));
	pthread_rwlock_unlock(&fg->cfg_lock);
	scan_fd(fg, fd, 1000, &res);
	assert_int_equal(res.verdict, FANGUARD_ALLOW);
	assert_int_equal(res.reason, FANGUARD_REASON_NO_SCANNER);
	close(fd);
	fanguard_free(fg);
}

static void run_clamd(enum fake_mode mode, bool tcp, enum fanguard_verdict want_verdict,
		      enum fanguard_reason want_reason, unsigned deadline_ms)
{
	struct fanguard *fg = new_fg();
	struct scan_result res;
	struct fake f;
	char addr[128];
	int fd = tmpfile_with("hello clamd", 11);
	usec_t took;

	fake_start(&f, mode, tcp, addr, sizeof(addr));
	assert_int_equal(fanguard_add_clamd(fg, addr), 0);
	/* Twice: the second goes over the pooled session (or a fresh one). */
	for (int i = 0; i < 2; i++) {
		took = scan_fd(fg, fd, deadline_ms, &res);
		assert_string_equal(res.scanner, "clamd");
		assert_int_equal(res.reason, want_reason);
		assert_int_equal(res.verdict, want_verdict);
		/* Every step is bounded by the deadline (plus scheduling slack). */
		assert_true(took < (deadline_ms + 200) * USEC_PER_MSEC);
		/* Scanners stop min(25 ms, a tenth) before the deadline. */
		if (mode == FAKE_STALL)
			assert_true(took >= (deadline_ms - 30) * USEC_PER_MSEC);
	}
	if (mode == FAKE_OK && !tcp)
		assert_int_equal(f.got_fd_size, 11);
	if (tcp && mode != FAKE_STALL)
		assert_int_equal(f.stream_bytes, 22);
	fanguard_free(fg); /* closes pooled sessions: the fake sees EOF */
	fake_stop(&f, addr);
	close(fd);
}

/* A running listener asks clamd for its VERSION every second; new
 * signatures (the database version in the reply changes) flush the verdict
 * cache, within about a second. Same version: no flush. */
static void test_clamd_signature_update(void **state)
{
	struct fanguard *fg = new_fg();
	struct fake f;
	char addr[128];
	uint64_t flushes;
	usec_t t0, end;

	(void) state;
	fake_start(&f, FAKE_OK, false, addr, sizeof(addr));
	__atomic_store_n(&f.version, "ClamAV 1.4.6/27000/Thu Dec  3 08:00:00 2026",
			 __ATOMIC_SEQ_CST);
	assert_int_equal(fanguard_add_clamd(fg, addr), 0);
	assert_int_equal(fanguard_start(fg), 0);
	end = deadline_after(10 * USEC_PER_SEC);
	while (__atomic_load_n(&f.versions, __ATOMIC_SEQ_CST) < 2 && !deadline_passed(end))
		(void) usleep(10 * 1000);
	assert_true(__atomic_load_n(&f.versions, __ATOMIC_SEQ_CST) >= 2);
	flushes = atomic_load(&fg->cache.flushes);
	/* Asked again, unchanged: nothing flushed. */
	end = deadline_after(10 * USEC_PER_SEC);
	while (__atomic_load_n(&f.versions, __ATOMIC_SEQ_CST) < 3 && !deadline_passed(end))
		(void) usleep(10 * 1000);
	assert_int_equal(atomic_load(&fg->cache.flushes), flushes);
	t0 = now_usec();
	__atomic_store_n(&f.version, "ClamAV 1.4.6/27001/Thu Dec  3 09:00:00 2026",
			 __ATOMIC_SEQ_CST);
	end = deadline_after(10 * USEC_PER_SEC);
	while (atomic_load(&fg->cache.flushes) == flushes && !deadline_passed(end))
		(void) usleep(2 * 1000);
	assert_int_equal(atomic_load(&fg->cache.flushes), flushes + 1);
	print_message("signature update: cache flushed %llu ms after clamd's version changed\n",
		      (unsigned long long) ((now_usec() - t0) / USEC_PER_MSEC));
	/* Within the poll interval, with margin for a loaded machine. */
	assert_true(now_usec() - t0 < 5 * USEC_PER_SEC);
	assert_int_equal(fanguard_stop(fg, 2000), 0);
	fanguard_free(fg);
	fake_stop(&f, addr);
}

static void test_clamd_unix_ok(void **state)
{
	run_clamd(FAKE_OK, false, FANGUARD_ALLOW, FANGUARD_REASON_SCANNED, 1000);
}
static void test_clamd_unix_found(void **state)
{
	run_clamd(FAKE_FOUND, false, FANGUARD_DENY, FANGUARD_REASON_SCANNED, 1000);
}
static void test_clamd_tcp_found(void **state)
{
	run_clamd(FAKE_FOUND, true, FANGUARD_DENY, FANGUARD_REASON_SCANNED, 1000);
}
static void test_clamd_garbage(void **state)
{
	run_clamd(FAKE_GARBAGE, false, FANGUARD_ALLOW, FANGUARD_REASON_ERROR, 1000);
}
static void test_clamd_wrong_id(void **state)
{
	run_clamd(FAKE_WRONG_ID, true, FANGUARD_ALLOW, FANGUARD_REASON_ERROR, 1000);
}
static void test_clamd_close(void **state)
{
	run_clamd(FAKE_CLOSE, false, FANGUARD_ALLOW, FANGUARD_REASON_ERROR, 1000);
}
static void test_clamd_stall(void **state)
{
	run_clamd(FAKE_STALL, false, FANGUARD_ALLOW, FANGUARD_REASON_DEADLINE, 300);
	run_clamd(FAKE_STALL, true, FANGUARD_ALLOW, FANGUARD_REASON_DEADLINE, 300);
}

/* A FUSE file is never passed to clamd (it might map it): streamed instead,
 * over the same local socket. */
static void test_clamd_unix_fuse_streams(void **state)
{
	struct fanguard *fg = new_fg();
	struct scan_result res;
	struct fake f;
	char addr[128];
	int fd = tmpfile_with("fuse content", 12);

	(void) state;
	fake_start(&f, FAKE_FOUND, false, addr, sizeof(addr));
	assert_int_equal(fanguard_add_clamd(fg, addr), 0);
	scan_fd_class(fg, fd, FANGUARD_MOUNT_FUSE, 1000, &res);
	assert_int_equal(res.verdict, FANGUARD_DENY);
	assert_int_equal(f.stream_bytes, 12);
	assert_int_equal(f.got_fd_size, 0);
	fanguard_free(fg);
	fake_stop(&f, addr);
	close(fd);
}

static void test_clamd_failover(void **state)
{
	struct fanguard *fg = new_fg();
	struct scan_result res;
	struct fake f;
	char addr[128];
	int fd = tmpfile_with("x", 1);

	(void) state;
	fake_start(&f, FAKE_FOUND, true, addr, sizeof(addr));
	/* Nobody listens on the first: connect is refused, the second decides. */
	assert_int_equal(fanguard_add_clamd(fg, "/tmp/fg-test-scan-nobody.sock"), 0);
	assert_int_equal(fanguard_add_clamd(fg, addr), 0);
	scan_fd(fg, fd, 1000, &res);
	assert_int_equal(res.verdict, FANGUARD_DENY);
	assert_string_equal(res.detail, "Fake.Sig");
	assert_int_equal(fanguard_add_clamd(fg, "nocolon"), -EINVAL);
	assert_int_equal(fanguard_add_clamd(fg, "unix:relative"), -EINVAL);
	fanguard_free(fg);
	fake_stop(&f, addr);
	close(fd);
}

static void write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

static void test_yara(void **state)
{
	char rules[] = "/tmp/fg-test-scan-yara-XXXXXX";
	struct fanguard *fg = new_fg();
	struct scan_result res;
	int bad = tmpfile_with("xx FG_YARA_TEST_MARKER xx", 25), good = tmpfile_with("clean", 5);
	int rfd = mkstemp(rules);

	(void) state;
	assert_true(rfd >= 0);
	close(rfd);
	write_file(rules, "rule fg_test { strings: $a = \"FG_YARA_TEST_MARKER\" condition: $a }\n");
	assert_int_equal(fanguard_load_yara_rules(fg, rules), 0);
	scan_fd(fg, bad, 1000, &res);
	assert_int_equal(res.verdict, FANGUARD_DENY);
	assert_string_equal(res.scanner, "yara");
	assert_string_equal(res.detail, "fg_test");
	scan_fd(fg, good, 1000, &res);
	assert_int_equal(res.verdict, FANGUARD_ALLOW);
	assert_int_equal(res.reason, FANGUARD_REASON_SCANNED);

	/* A rule that does not compile: -EBADMSG, the old rules stay. */
	write_file(rules, "rule broken { condition: $nope }\n");
	assert_int_equal(fanguard_load_yara_rules(fg, rules), -EBADMSG);
	scan_fd(fg, bad, 1000, &res);
	assert_int_equal(res.verdict, FANGUARD_DENY);
	assert_int_equal(fanguard_load_yara_rules(fg, "/nonexistent/rules"), -ENOENT);

	/* Reload with another rule: the marker no longer matches. */
	write_file(rules, "rule other { strings: $a = \"SOMETHING_ELSE\" condition: $a }\n");
	assert_int_equal(fanguard_load_yara_rules(fg, rules), 0);
	scan_fd(fg, bad, 1000, &res);
	assert_int_equal(res.verdict, FANGUARD_ALLOW);
	(void) unlink(rules);
	close(bad);
	close(good);
	fanguard_free(fg);
}

/* The file grew after statx (the stand-in event's size is stale): YARA
 * reads what is there now, and still finds the marker at the end. */
static void test_yara_growing(void **state)
{
	char rules[] = "/tmp/fg-test-scan-yara-XXXXXX";
	struct fanguard *fg = new_fg();
	struct domain *d = calloc(1, sizeof(*d));
	static uint8_t buf[4096];
	struct scan_result res;
	int fd = tmpfile_with("small", 5), rfd = mkstemp(rules);
	struct fg_event ev = {.fd = fd, .size = 5};
	char big[100000];

	(void) state;
	close(rfd);
	write_file(rules, "rule tail_marker { strings: $a = \"TAIL_MARKER\" condition: $a }\n");
	assert_int_equal(fanguard_load_yara_rules(fg, rules), 0);
	memset(big, 'a', sizeof(big));
	memcpy(big + sizeof(big) - 11, "TAIL_MARKER", 11);
	assert_int_equal(pwrite(fd, big, sizeof(big), 5), (ssize_t) sizeof(big));
	d->fg = fg;
	d->default_verdict = FANGUARD_ALLOW;
	ev.deadline_usec = now_usec() + USEC_PER_SEC;
	scan_event(d, &ev, buf, sizeof(buf), false, &res);
	assert_int_equal(res.verdict, FANGUARD_DENY);
	free(d);
	(void) unlink(rules);
	close(fd);
	fanguard_free(fg);
}

/* Any deny wins, whichever scanner says it; an undecided scanner (a clamd
 * that closes) does not hide a deny from another. */
static void test_compose(void **state)
{
	char rules[] = "/tmp/fg-test-scan-yara-XXXXXX";
	struct fanguard *fg = new_fg();
	struct scan_result res;
	struct fake f;
	char addr[128];
	int fd = tmpfile_with("FG_YARA_TEST_MARKER", 19), rfd = mkstemp(rules);

	(void) state;
	close(rfd);
	fake_start(&f, FAKE_CLOSE, false, addr, sizeof(addr));
	assert_int_equal(fanguard_add_clamd(fg, addr), 0);
	scan_fd(fg, fd, 1000, &res);
	assert_int_equal(res.reason, FANGUARD_REASON_ERROR);
	assert_string_equal(res.scanner, "clamd");
	write_file(rules, "rule fg_test { strings: $a = \"FG_YARA_TEST_MARKER\" condition: $a }\n");
	assert_int_equal(fanguard_load_yara_rules(fg, rules), 0);
	scan_fd(fg, fd, 1000, &res);
	assert_int_equal(res.verdict, FANGUARD_DENY);
	assert_string_equal(res.scanner, "yara");
	(void) unlink(rules);
	fanguard_free(fg);
	fake_stop(&f, addr);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_threads),
		cmocka_unit_test(test_no_scanner),
		cmocka_unit_test(test_clamd_signature_update),
		cmocka_unit_test(test_clamd_unix_ok),
		cmocka_unit_test(test_clamd_unix_found),
		cmocka_unit_test(test_clamd_tcp_found),
		cmocka_unit_test(test_clamd_garbage),
		cmocka_unit_test(test_clamd_wrong_id),
		cmocka_unit_test(test_clamd_close),
		cmocka_unit_test(test_clamd_stall),
		cmocka_unit_test(test_clamd_unix_fuse_streams),
		cmocka_unit_test(test_clamd_failover),
		cmocka_unit_test(test_yara),
		cmocka_unit_test(test_yara_growing),
		cmocka_unit_test(test_compose),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
