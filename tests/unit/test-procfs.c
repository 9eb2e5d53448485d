/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for common/procfs.c: the /proc/PID/{fdinfo,stat} and
 * /proc/net/{tcp,tcp6,unix} parsers on real-format and hostile fixtures
 * (tests/fixtures/procfs, see its README.md), sshfs source parsing, loopback
 * address checks, and the readers against this process's own /proc.
 * Unprivileged: no mounts, no network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "fd-util.h"
#include "macro.h"
#include "procfs.h"

static char *fixture(const char *name, size_t *ret_len)
{
	_cleanup_free_ char *path = NULL;
	char *text = NULL;

	assert_true(asprintf(&path, "%s/%s", PROCFS_FIXTURES, name) > 0);
	assert_int_equal(read_full_file(path, 1 << 20, &text, ret_len), 0);
	return text;
}

static void test_fdinfo(void **state)
{
	struct proc_fdinfo fi;
	size_t len;
	char *t;

	t = fixture("fdinfo-fuse.txt", &len);
	assert_int_equal(fdinfo_parse(t, len, &fi), 0);
	assert_true(fi.has_fuse_conn && fi.fuse_conn == 40);
	assert_true(fi.has_flags && fi.flags == 0100002);
	assert_true(fi.has_mnt_id && fi.mnt_id == 58);
	assert_true(fi.has_ino && fi.ino == 90);
	assert_false(fi.has_pid);
	free(t);

	t = fixture("fdinfo-pidfd.txt", &len);
	assert_int_equal(fdinfo_parse(t, len, &fi), 0);
	assert_true(fi.has_pid && fi.pid == 4242);
	assert_false(fi.has_fuse_conn);
	free(t);

	t = fixture("fdinfo-pidfd-reaped.txt", &len);
	assert_int_equal(fdinfo_parse(t, len, &fi), 0);
	assert_true(fi.has_pid && fi.pid == -1);
	free(t);

	/* Unknown keys and odd lines are skipped; a last line without '\n' counts. */
	t = fixture("fdinfo-odd.txt", &len);
	assert_int_equal(fdinfo_parse(t, len, &fi), 0);
	assert_true(fi.has_mnt_id && fi.mnt_id == 7);
	assert_false(fi.has_flags);
	free(t);

	t = fixture("fdinfo-bad-octal.txt", &len);
	assert_int_equal(fdinfo_parse(t, len, &fi), -EBADMSG);
	free(t);
	t = fixture("fdinfo-overflow.txt", &len);
	assert_int_equal(fdinfo_parse(t, len, &fi), -EBADMSG);
	free(t);

	/* Not NUL-terminated: the parser must respect len. */
	assert_int_equal(fdinfo_parse("mnt_id:\t12345", 10, &fi), 0);
	assert_true(fi.has_mnt_id && fi.mnt_id == 12);
	assert_int_equal(fdinfo_parse("", 0, &fi), 0);
	assert_int_equal(fdinfo_parse("Pid:\t99999999999", 15, &fi), -EBADMSG);
}

static const struct net_sock *sock_by_inode(const struct net_sock *s, size_t n, uint64_t ino)
{
	for (size_t i = 0; i < n; i++)
		if (s[i].inode == ino)
			return &s[i];
	return NULL;
}

static void test_tcp(void **state)
{
	struct net_sock *s = NULL;
	const struct net_sock *k;
	uint8_t lo[4] = {127, 0, 0, 1}, ten5[4] = {10, 0, 0, 5};
	size_t n = 0, len;
	char *t;

	t = fixture("tcp.txt", &len);
	assert_int_equal(net_tcp_parse(t, len, AF_INET, &s, &n), 0);
	free(t);
	assert_int_equal(n, 5);
	k = sock_by_inode(s, n, 1000);
	assert_non_null(k);
	assert_int_equal(k->state, 0x0A);
	assert_memory_equal(k->local, lo, 4);
	assert_int_equal(k->lport, 22);
	k = sock_by_inode(s, n, 1001);
	assert_non_null(k);
	assert_int_equal(k->state, 1);
	assert_int_equal(k->lport, 40000);
	assert_int_equal(k->rport, 22);
	assert_memory_equal(k->remote, lo, 4);
	assert_true(addr_is_loopback(AF_INET, k->remote));
	k = sock_by_inode(s, n, 1003);
	assert_non_null(k);
	assert_memory_equal(k->remote, ten5, 4);
	assert_false(addr_is_loopback(AF_INET, k->remote));

	/* tcp6 appends: ::1 and a v4-mapped 10.0.0.5. */
	t = fixture("tcp6.txt", &len);
	assert_int_equal(net_tcp_parse(t, len, AF_INET6, &s, &n), 0);
	free(t);
	assert_int_equal(n, 8);
	k = sock_by_inode(s, n, 2001);
	assert_non_null(k);
	assert_int_equal(k->family, AF_INET6);
	assert_true(addr_is_loopback(AF_INET6, k->local));
	assert_int_equal(k->lport, 0xA000);
	k = sock_by_inode(s, n, 2002);
	assert_non_null(k);
	assert_true(addr_is_loopback(AF_INET6, k->local)); /* ::ffff:127.0.0.1 */
	assert_false(addr_is_loopback(AF_INET6, k->remote));
	free(s);

	static const char *const bad[] = {"tcp-bad-hex.txt", "tcp-short.txt", "tcp-overflow.txt",
					  "tcp-long-port.txt"};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		s = NULL;
		n = 0;
		t = fixture(bad[i], &len);
		assert_int_equal(net_tcp_parse(t, len, AF_INET, &s, &n), -EBADMSG);
		free(t);
		free(s);
	}
	s = NULL;
	n = 0;
	t = fixture("tcp-empty.txt", &len);
	assert_int_equal(net_tcp_parse(t, len, AF_INET, &s, &n), 0);
	assert_int_equal(n, 0);
	free(t);
	free(s);
	/* v4 text parsed as v6 is rejected. */
	s = NULL;
	n = 0;
	t = fixture("tcp.txt", &len);
	assert_int_equal(net_tcp_parse(t, len, AF_INET6, &s, &n), -EBADMSG);
	free(t);
	free(s);
	assert_int_equal(net_tcp_parse("", 0, AF_UNIX, &s, &n), -EINVAL);
}

static void test_unix(void **state)
{
	struct unix_sock *u = NULL;
	size_t n = 0, len;
	char *t;

	t = fixture("unix.txt", &len);
	assert_int_equal(net_unix_parse(t, len, &u, &n), 0);
	free(t);
	assert_int_equal(n, 4);
	assert_int_equal(u[0].inode, 123);
	assert_string_equal(u[0].path, "");
	assert_int_equal(u[1].inode, 9001);
	assert_string_equal(u[1].path, "/run/fgtest/sock with spaces");
	assert_int_equal(u[2].type, 5);
	assert_string_equal(u[2].path, "@abstract/name");
	assert_string_equal(u[3].path, "/run/x)y(z");
	unix_socks_free(u, n);

	t = fixture("unix-bad-type.txt", &len);
	assert_int_equal(net_unix_parse(t, len, &u, &n), -EBADMSG);
	free(t);
	t = fixture("unix-no-colon.txt", &len);
	assert_int_equal(net_unix_parse(t, len, &u, &n), -EBADMSG);
	free(t);
}

static void test_stat(void **state)
{
	static const struct {
		const char *file;
		int r;
		const char *comm;
		pid_t ppid;
	} cases[] = {
		{"stat.txt", 0, "sshfs", 1},
		{"stat-paren.txt", 0, "a) S 1 (b", 77},
		{"stat-zombie.txt", 0, "x) y", 0},
		{"stat-long-comm.txt", 0, "a very long com", 9},
		{"stat-no-close.txt", -EBADMSG, NULL, 0},
		{"stat-negative.txt", -EBADMSG, NULL, 0},
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		char comm[16] = "unset";
		pid_t ppid = -7;
		size_t len;
		char *t = fixture(cases[i].file, &len);

		assert_int_equal(proc_stat_parse(t, len, comm, &ppid, NULL), cases[i].r);
		if (cases[i].r == 0) {
			assert_string_equal(comm, cases[i].comm);
			assert_int_equal(ppid, cases[i].ppid);
		} else
			assert_int_equal(ppid, -7);
		free(t);
	}
	{
		char comm[16];
		pid_t ppid;

		pid_t sid = -3;

		assert_int_equal(proc_stat_parse(")(", 2, comm, &ppid, NULL), -EBADMSG);
		assert_int_equal(proc_stat_parse("1 (x)", 5, comm, &ppid, NULL), -EBADMSG);
		assert_int_equal(proc_stat_parse("1 (x) S", 7, comm, &ppid, NULL), -EBADMSG);
		/* The session: the 3rd number after the state. */
		assert_int_equal(proc_stat_parse("1 (x) S 5 6 7 8", 15, comm, &ppid, &sid), 0);
		assert_int_equal(sid, 7);
		assert_int_equal(proc_stat_parse("1 (x) S 5 6", 11, comm, &ppid, &sid), -EBADMSG);
		assert_int_equal(proc_stat_parse("1 (x) S 5 6", 11, comm, &ppid, NULL), 0);
	}
	{
		size_t len;
		char *t = fixture("stat.txt", &len);
		uint64_t st = 0;

		assert_int_equal(proc_stat_starttime_parse(t, len, &st), 0);
		assert_int_equal(st, 4253);
		free(t);
		t = fixture("stat-paren.txt", &len);
		assert_int_equal(proc_stat_starttime_parse(t, len, &st), -EBADMSG);
		free(t);
	}
}

static void test_fd_link(void **state)
{
	uint64_t ino = 0;
	char kind = 0;

	assert_int_equal(fd_link_parse("socket:[12345]", &kind, &ino), 0);
	assert_int_equal(kind, 's');
	assert_int_equal(ino, 12345);
	assert_int_equal(fd_link_parse("pipe:[7]", &kind, &ino), 0);
	assert_int_equal(kind, 'p');
	assert_int_equal(ino, 7);
	assert_int_equal(fd_link_parse("socket:[]", &kind, &ino), -EINVAL);
	assert_int_equal(fd_link_parse("socket:[12", &kind, &ino), -EINVAL);
	assert_int_equal(fd_link_parse("socket:[1x]", &kind, &ino), -EINVAL);
	assert_int_equal(fd_link_parse("/dev/fuse", &kind, &ino), -EINVAL);
	assert_int_equal(fd_link_parse("anon_inode:[pidfd]", &kind, &ino), -EINVAL);
	assert_int_equal(fd_link_parse("socket:[99999999999999999999999]", &kind, &ino), -EINVAL);
}

static void test_remote_source(void **state)
{
	static const struct {
		const char *src;
		int r;
		const char *user, *host, *path;
	} cases[] = {
		{"root@127.0.0.1:/srv/data", 0, "root", "127.0.0.1", "/srv/data"},
		{"localhost:", 0, "", "localhost", ""},
		{"u@[::1]:/x", 0, "u", "::1", "/x"},
		{"[fe80::1%eth0]:rel/path", 0, "", "fe80::1%eth0", "rel/path"},
		{"a@b@host:/p", 0, "a@b", "host", "/p"},
		{"host:/a@b", 0, "", "host", "/a@b"},
		{"/just/a/path", -EINVAL, NULL, NULL, NULL},
		{":/nohost", -EINVAL, NULL, NULL, NULL},
		{"user@:/nohost", -EINVAL, NULL, NULL, NULL},
		{"[::1/x", -EINVAL, NULL, NULL, NULL},
		{"[]:/x", -EINVAL, NULL, NULL, NULL},
		{"[::1]x:/p", -EINVAL, NULL, NULL, NULL},
		{"", -EINVAL, NULL, NULL, NULL},
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		char *u = NULL, *h = NULL, *p = NULL;

		assert_int_equal(remote_source_parse(cases[i].src, &u, &h, &p), cases[i].r);
		if (cases[i].r < 0)
			continue;
		assert_string_equal(u, cases[i].user);
		assert_string_equal(h, cases[i].host);
		assert_string_equal(p, cases[i].path);
		free(u);
		free(h);
		free(p);
	}
}

static void test_loopback(void **state)
{
	assert_int_equal(host_literal_is_loopback("127.0.0.1"), 1);
	assert_int_equal(host_literal_is_loopback("127.255.3.4"), 1);
	assert_int_equal(host_literal_is_loopback("::1"), 1);
	assert_int_equal(host_literal_is_loopback("::ffff:127.0.0.2"), 1);
	assert_int_equal(host_literal_is_loopback("LOCALHOST"), 1);
	assert_int_equal(host_literal_is_loopback("128.0.0.1"), 0);
	assert_int_equal(host_literal_is_loopback("::2"), 0);
	assert_int_equal(host_literal_is_loopback("::ffff:10.0.0.1"), 0);
	assert_int_equal(host_literal_is_loopback("example.org"), -EINVAL);
	assert_int_equal(host_literal_is_loopback("127.0.0.1.evil"), -EINVAL);
	/* host_is_local() on literals needs no DNS. */
	assert_int_equal(host_is_local("127.0.0.1"), 1);
	assert_int_equal(host_is_local("::1"), 1);
	assert_int_equal(host_is_local("192.0.2.1"), 0); /* TEST-NET-1: nobody's */
}

/* The readers on this process: our own fdinfo, stat, cmdline, and a TCP
 * connection over loopback seen from both ends. */
static void test_readers(void **state)
{
	struct proc_fdinfo fi;
	struct net_sock *s = NULL;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	_cleanup_free_ char *cmd = NULL;
	_cleanup_close_ int ls = -EBADF, cs = -EBADF, as = -EBADF, pidfd = -EBADF;
	char comm[16], link[64], path[64];
	uint64_t ino_c = 0, ino_a = 0;
	size_t n = 0, len;
	bool seen_c = false, seen_a = false;
	pid_t ppid;
	char kind;
	ssize_t l;

	pid_t sid;

	assert_int_equal(proc_read_stat(getpid(), comm, &ppid, &sid), 0);
	assert_int_equal(ppid, getppid());
	assert_int_equal(sid, getsid(0));
	assert_string_equal(comm, "test-procfs");
	assert_int_equal(proc_read_cmdline(getpid(), &cmd, &len), 0);
	assert_true(len > 0 && strstr(cmd, "test-procfs"));

	pidfd = (int) syscall(SYS_pidfd_open, getpid(), 0);
	if (pidfd >= 0) {
		pid_t p = 0;
		uint64_t st1 = 0, st2 = 0;

		assert_int_equal(proc_read_fdinfo(getpid(), pidfd, &fi), 0);
		assert_true(fi.has_pid);
		assert_int_equal(fi.pid, getpid());
		assert_int_equal(proc_pidfd_pid(pidfd, &p), 0);
		assert_int_equal(p, getpid());
		assert_int_equal(proc_read_starttime(getpid(), &st1), 0);
		assert_int_equal(proc_read_starttime(getpid(), &st2), 0);
		assert_true(st1 > 0 && st1 == st2);
	}
	/* Not a pidfd. */
	{
		pid_t p;

		assert_int_equal(proc_pidfd_pid(0, &p), -EBADF);
	}

	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(ls >= 0);
	assert_int_equal(bind(ls, (struct sockaddr *) &a, sizeof(a)), 0);
	assert_int_equal(listen(ls, 1), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *) &a, &al), 0);
	cs = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(cs, (struct sockaddr *) &a, sizeof(a)), 0);
	as = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	assert_true(as >= 0);
	for (int i = 0; i < 2; i++) {
		(void) snprintf(path, sizeof(path), "/proc/self/fd/%d", i ? as : cs);
		l = readlink(path, link, sizeof(link) - 1);
		assert_true(l > 0);
		link[l] = '\0';
		assert_int_equal(fd_link_parse(link, &kind, i ? &ino_a : &ino_c), 0);
		assert_int_equal(kind, 's');
	}
	assert_int_equal(net_tcp_load(&s, &n), 0);
	for (size_t i = 0; i < n; i++) {
		if (s[i].inode == ino_c) {
			seen_c = true;
			assert_int_equal(s[i].rport, ntohs(a.sin_port));
			assert_true(addr_is_loopback(s[i].family, s[i].remote));
			assert_int_equal(addr_is_local(s[i].family, s[i].remote), 1);
		}
		if (s[i].inode == ino_a) {
			seen_a = true;
			assert_int_equal(s[i].lport, ntohs(a.sin_port));
		}
	}
	free(s);
	assert_true(seen_c && seen_a);
}

/* What a FUSE daemon's held fds say: fixtures from fuse-overlayfs, rclone
 * and fuse2fs (see the fixtures' README.md), and links that are no paths. */
static void test_held_fd_kind(void **state)
{
	struct proc_fdinfo fi;
	size_t len;
	char *t;

	(void) state;
	t = fixture("fdinfo-dir.txt", &len);
	assert_int_equal(fdinfo_parse(t, len, &fi), 0);
	assert_int_equal(held_fd_kind("/srv/lower", &fi), HELD_FD_READABLE);
	free(t);
	t = fixture("fdinfo-log.txt", &len);
	assert_int_equal(fdinfo_parse(t, len, &fi), 0);
	assert_int_equal(held_fd_kind("/run/rclone.log", &fi), HELD_FD_WRITE_ONLY);
	free(t);
	t = fixture("fdinfo-image-rw.txt", &len);
	assert_int_equal(fdinfo_parse(t, len, &fi), 0);
	assert_int_equal(held_fd_kind("/srv/ext4.img", &fi), HELD_FD_READABLE);
	/* A device, even one opened for reading, is no backing path. */
	assert_int_equal(held_fd_kind("/dev/fuse", &fi), HELD_FD_OTHER);
	assert_int_equal(held_fd_kind("/dev/sda1", &fi), HELD_FD_OTHER);
	free(t);
	assert_int_equal(held_fd_kind("socket:[4711]", NULL), HELD_FD_OTHER);
	assert_int_equal(held_fd_kind("anon_inode:[eventpoll]", NULL), HELD_FD_OTHER);
	assert_int_equal(held_fd_kind("/srv/gone (deleted)", NULL), HELD_FD_OTHER);
	assert_int_equal(held_fd_kind(" (deleted)", NULL), HELD_FD_OTHER);
	assert_int_equal(held_fd_kind("", NULL), HELD_FD_OTHER);
	assert_int_equal(held_fd_kind(NULL, NULL), HELD_FD_OTHER);
	/* Without fdinfo flags: readable (the safe side for evidence). */
	assert_int_equal(held_fd_kind("/srv/x", NULL), HELD_FD_READABLE);
}

struct paths_seen {
	char all[512];
	unsigned n;
};

static void path_seen(const char *path, void *userdata)
{
	struct paths_seen *p = userdata;

	(void) strncat(p->all, path, sizeof(p->all) - strlen(p->all) - 2);
	(void) strcat(p->all, "|");
	p->n++;
}

static void test_arg_abs_paths(void **state)
{
	static const struct {
		const char *arg, *want;
	} cases[] = {
		{"/srv/back", "/srv/back|"},
		/* fuse-overlayfs -o */
		{"lowerdir=/l1:/l2,upperdir=/u,workdir=/w", "/l1|/l2|/u|/w|"},
		/* mergerfs branches, with modes */
		{"/b1=RW:/b2=NC", "/b1|/b2|"},
		{"/b1:/b2", "/b1|/b2|"},
		/* no absolute path */
		{"--vfs-cache-mode", ""},
		{"remote:path", ""},
		{"", ""},
		{",,,::==", ""},
	};

	(void) state;
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct paths_seen p = {};

		arg_abs_paths(cases[i].arg, path_seen, &p);
		assert_string_equal(p.all, cases[i].want);
	}
	arg_abs_paths(NULL, path_seen, NULL); /* no call, no crash */
}

/* The held-fd readers on this process: a directory we hold, a write-only
 * file, our cwd, and a UDP socket in /proc/net/udp. */
static void test_held_readers(void **state)
{
	char dir[] = "/tmp/test-procfs.XXXXXX", file[64], cwd[4096];
	_cleanup_free_ char *link = NULL, *link2 = NULL, *c = NULL;
	_cleanup_close_ int dfd = -EBADF, wfd = -EBADF, us = -EBADF;
	_cleanup_free_ struct net_sock *socks = NULL;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	struct proc_fdinfo fi;
	char kind, path[64], ulink[64];
	uint64_t ino = 0;
	size_t n = 0;
	bool seen = false;
	ssize_t l;

	(void) state;
	assert_non_null(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	assert_int_equal(proc_read_fd_link(getpid(), dfd, &link), 0);
	assert_string_equal(link, dir);
	assert_int_equal(proc_read_fdinfo(getpid(), dfd, &fi), 0);
	assert_int_equal(held_fd_kind(link, &fi), HELD_FD_READABLE);

	(void) snprintf(file, sizeof(file), "%s/log", dir);
	wfd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	assert_true(wfd >= 0);
	assert_int_equal(proc_read_fd_link(getpid(), wfd, &link2), 0);
	assert_string_equal(link2, file);
	assert_int_equal(proc_read_fdinfo(getpid(), wfd, &fi), 0);
	assert_int_equal(held_fd_kind(link2, &fi), HELD_FD_WRITE_ONLY);
	assert_int_equal(unlink(file), 0);
	free(link2);
	link2 = NULL;
	assert_int_equal(proc_read_fd_link(getpid(), wfd, &link2), 0);
	assert_int_equal(held_fd_kind(link2, &fi), HELD_FD_OTHER); /* deleted */
	assert_int_equal(rmdir(dir), 0);

	assert_int_equal(proc_read_cwd(getpid(), &c), 0);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_string_equal(c, cwd);
	assert_int_equal(proc_read_cwd(0, &c), -ENOENT);
	assert_int_equal(proc_read_fd_link(getpid(), 1 << 20, &link), -ENOENT);

	us = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(us >= 0);
	assert_int_equal(bind(us, (struct sockaddr *) &a, sizeof(a)), 0);
	assert_int_equal(getsockname(us, (struct sockaddr *) &a, &al), 0);
	(void) snprintf(path, sizeof(path), "/proc/self/fd/%d", us);
	l = readlink(path, ulink, sizeof(ulink) - 1);
	assert_true(l > 0);
	ulink[l] = '\0';
	assert_int_equal(fd_link_parse(ulink, &kind, &ino), 0);
	assert_int_equal(net_udp_load(&socks, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (socks[i].inode == ino) {
			seen = true;
			assert_int_equal(socks[i].lport, ntohs(a.sin_port));
		}
	assert_true(seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fdinfo),	     cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_unix),	     cmocka_unit_test(test_stat),
		cmocka_unit_test(test_fd_link),	     cmocka_unit_test(test_remote_source),
		cmocka_unit_test(test_loopback),     cmocka_unit_test(test_readers),
		cmocka_unit_test(test_held_fd_kind), cmocka_unit_test(test_arg_abs_paths),
		cmocka_unit_test(test_held_readers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
