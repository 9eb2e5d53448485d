/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for common/procfs.c: any bytes as /proc/PID/fdinfo,
 * /proc/PID/stat, /proc/net/tcp, /proc/net/tcp6, /proc/net/unix, an fd link
 * (also as a FUSE daemon's held fd), an argument split into paths, and an
 * sshfs source. Checks what must hold for anything that parsed:
 * parsed sockets carry the family asked for, unix paths are set and no
 * longer than the input, comm is NUL-terminated within 16 bytes, a parsed
 * source has a non-empty host. Seeds: tests/fixtures/procfs. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "procfs.h"
#include "fuzz-util.h"

/* Every path arg_abs_paths() finds is absolute and no longer than the input. */
static void fuzz_path_seen(const char *path, void *userdata)
{
	const size_t *size = userdata;

	check(path[0] == '/' && strlen(path) <= *size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *) data;
	struct proc_fdinfo fi;
	struct net_sock *socks = NULL;
	struct unix_sock *u = NULL;
	size_t n = 0, nu = 0;
	char comm[16], *copy;
	pid_t ppid, sid;
	int r;

	r = fdinfo_parse(text, size, &fi);
	check(r == 0 || r == -EBADMSG);
	if (r == 0 && fi.has_pid)
		check(fi.pid >= -1);

	memset(comm, 'x', sizeof(comm));
	r = proc_stat_parse(text, size, comm, &ppid, &sid);
	check(r == 0 || r == -EBADMSG);
	if (r == 0) {
		check(memchr(comm, '\0', sizeof(comm)));
		check(ppid >= 0 && sid >= 0);
	}

	{
		uint64_t st;

		r = proc_stat_starttime_parse(text, size, &st);
		check(r == 0 || r == -EBADMSG);
	}

	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;
		size_t before = n;

		r = net_tcp_parse(text, size, family, &socks, &n);
		check(r == 0 || r == -EBADMSG || r == -ENOMEM);
		check(n >= before);
		for (size_t i = before; i < n; i++) {
			check(socks[i].family == family);
			check(socks[i].state <= 0xff);
		}
	}
	free(socks);

	r = net_unix_parse(text, size, &u, &nu);
	check(r == 0 || r == -EBADMSG || r == -ENOMEM);
	if (r == 0) {
		for (size_t i = 0; i < nu; i++)
			check(u[i].path && strlen(u[i].path) <= size);
		unix_socks_free(u, nu);
	}

	/* The string parsers take NUL-terminated input. */
	copy = malloc(size + 1);
	check(copy);
	memcpy(copy, data, size);
	copy[size] = '\0';
	{
		char kind;
		uint64_t ino;
		char *user = NULL, *host = NULL, *path = NULL;

		/* A held fd: any link, with the fdinfo parsed above (if it
		 * parsed), and any argument split into paths. */
		enum held_fd_kind k = held_fd_kind(copy, NULL);

		check(k == HELD_FD_OTHER || k == HELD_FD_READABLE);
		if (fdinfo_parse(text, size, &fi) == 0)
			(void) held_fd_kind(copy, &fi);
		arg_abs_paths(copy, fuzz_path_seen, &size);

		r = fd_link_parse(copy, &kind, &ino);
		check(r == 0 || r == -EINVAL);
		if (r == 0)
			check(kind == 's' || kind == 'p');
		r = remote_source_parse(copy, &user, &host, &path);
		check(r == 0 || r == -EINVAL || r == -ENOMEM);
		if (r == 0) {
			check(user && host && path && host[0]);
			(void) host_literal_is_loopback(host);
			free(user);
			free(host);
			free(path);
		}
	}
	free(copy);
	return 0;
}
