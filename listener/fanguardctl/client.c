/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The request/answer exchange with fanguardd's control socket. Bounded: a
 * daemon that does not answer within 10 s is an error, never a hang. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "fanguardctl.h"
#include "fd-util.h"
#include "log.h"
#include "macro.h"

static int ctl_connect_send(const struct ctl_args *a, const char *verb, int *ret_fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 10};
	_cleanup_close_ int fd = -EBADF;
	char line[64];
	int r;

	if (strlen(a->socket) >= sizeof(sa.sun_path))
		return log_error_errno(ENAMETOOLONG, "Socket path too long: '%s'", a->socket);
	strcpy(sa.sun_path, a->socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return log_error_errno(errno, "Failed to create a socket: %m");
	(void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
		return log_error_errno(errno, "Failed to connect to fanguardd at '%s': %m",
				       a->socket);
	(void) snprintf(line, sizeof(line), "%s\n", verb);
	r = loop_write(fd, line, strlen(line));
	if (r < 0)
		return log_error_errno(r, "Failed to send the request: %m");
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int ctl_read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	/* Byte by byte: what follows the line is not ours to consume. */
	while (n + 1 < size) {
		ssize_t k = recv(fd, buf + n, 1, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -ECONNRESET;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return (int) n;
		}
		n++;
	}
	return -EMSGSIZE;
}

int ctl_session(const struct ctl_args *a, const char *verb, int *ret_fd)
{
	_cleanup_close_ int fd = -EBADF;
	char line[256];
	int r;

	r = ctl_connect_send(a, verb, &fd);
	if (r < 0)
		return r;
	r = ctl_read_line(fd, line, sizeof(line));
	if (r < 0)
		return log_error_errno(r, "Failed to read the answer: %m");
	if (strncmp(line, "ERR ", 4) == 0)
		return log_error_errno(EBADE, "fanguardd: %s", line + 4);
	if (strcmp(line, "OK") != 0)
		return log_error_errno(EPROTO, "Unexpected answer from fanguardd");
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int ctl_request(const struct ctl_args *a, const char *verb, char **ret)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	r = ctl_connect_send(a, verb, &fd);
	if (r < 0)
		return r;
	(void) shutdown(fd, SHUT_WR);
	r = read_full_fd(fd, 16u << 20, &buf, &len);
	if (r < 0)
		return log_error_errno(r, "Failed to read the answer: %m");
	if (strncmp(buf, "OK\n", 3) == 0) {
		memmove(buf, buf + 3, len - 3 + 1);
		*ret = TAKE_PTR(buf);
		return 0;
	}
	if (strncmp(buf, "ERR ", 4) == 0) {
		buf[strcspn(buf, "\n")] = '\0';
		return log_error_errno(EBADE, "fanguardd: %s", buf + 4);
	}
	return log_error_errno(EPROTO, "Unexpected answer from fanguardd");
}
