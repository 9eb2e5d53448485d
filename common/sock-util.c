/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Socket I/O bounded by a deadline (sock-util.h). */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include "sock-util.h"

int sock_wait(int fd, short events, usec_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};

	for (;;) {
		int r, ms = deadline_poll_ms(deadline);

		if (deadline_passed(deadline))
			return -ETIMEDOUT;
		r = poll(&p, 1, ms);
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

int sock_send_all(int fd, const void *buf, size_t len, usec_t deadline, bool more)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT | (more ? MSG_MORE : 0));

		if (n < 0) {
			int r;

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			r = sock_wait(fd, POLLOUT, deadline);
			if (r < 0)
				return r;
			continue;
		}
		p += n;
		len -= (size_t) n;
	}
	return 0;
}

int sock_send_fd(int sock, int fd, char byte, usec_t deadline)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} control = {0};
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	for (;;) {
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n == 1)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			int r = sock_wait(sock, POLLOUT, deadline);

			if (r < 0)
				return r;
			continue;
		}
		return n < 0 ? -errno : -EIO;
	}
}

int sock_recv_nul(int fd, char *buf, size_t size, size_t *ret_len, usec_t deadline)
{
	size_t len = 0;

	for (;;) {
		ssize_t n;
		int r;

		if (len > 0 && memchr(buf, '\0', len))
			break;
		if (len >= size)
			return -EMSGSIZE;
		n = recv(fd, buf + len, size - len, MSG_DONTWAIT);
		if (n > 0) {
			len += (size_t) n;
			continue;
		}
		if (n == 0)
			return len == 0 ? -ECONNRESET : -EPROTO;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		r = sock_wait(fd, POLLIN, deadline);
		if (r < 0)
			return r;
	}
	*ret_len = strnlen(buf, len);
	/* Bytes after the NUL would be a reply to nothing we asked: the
	 * connection is not reused (the caller checks *ret_len + 1 == len). */
	return len == *ret_len + 1 ? 0 : -EPROTO;
}
