/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The peer of a unix socket and the process that holds it (sockpeer.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include "macro.h"
#include "sockpeer.h"

int unix_peer_ino(int fd, uint64_t *ret)
{
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req req;
	} msg = {
		.nlh = {.nlmsg_len = sizeof(msg),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST},
		.req = {.sdiag_family = AF_UNIX,
			.udiag_states = UINT32_MAX,
			.udiag_show = UDIAG_SHOW_PEER,
			.udiag_cookie = {INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE}},
	};
	struct sockaddr_nl nl = {.nl_family = AF_NETLINK};
	_cleanup_close_ int nfd = -EBADF;
	union {
		struct nlmsghdr h;
		char buf[8192];
	} reply;
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	msg.req.udiag_ino = (uint32_t) st.st_ino;
	nfd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nfd < 0)
		return -errno;
	if (sendto(nfd, &msg, sizeof(msg), 0, (struct sockaddr *) &nl, sizeof(nl)) < 0)
		return -errno;
	n = recv(nfd, &reply, sizeof(reply), 0);
	if (n < 0)
		return -errno;
	for (struct nlmsghdr *h = &reply.h; NLMSG_OK(h, (size_t) n); h = NLMSG_NEXT(h, n)) {
		struct unix_diag_msg *m;
		struct rtattr *a;
		int len;

		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			return e->error < 0 ? e->error : -EPROTO;
		}
		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
		    h->nlmsg_len < NLMSG_LENGTH(sizeof(struct unix_diag_msg)))
			continue;
		m = NLMSG_DATA(h);
		if (m->udiag_ino != (uint32_t) st.st_ino)
			continue;
		len = (int) (h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
		for (a = (struct rtattr *) (m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len))
			if (a->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(a) >= sizeof(uint32_t)) {
				uint32_t peer;

				memcpy(&peer, RTA_DATA(a), sizeof(peer));
				if (peer == 0)
					return -ENOENT;
				*ret = peer;
				return 0;
			}
		return -ENOENT;
	}
	return -ENOENT;
}

/* 1 if pid's fd table holds the link text want, 0 if not, -errno. */
static int holds(pid_t pid, const char *want)
{
	char path[64], link[64];
	_cleanup_close_ int dfd = -EBADF;
	DIR *d;
	struct dirent *de;
	int found = 0;

	(void) snprintf(path, sizeof(path), "/proc/%d/fd", (int) pid);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d)
		return -errno;
	dfd = -EBADF; /* the DIR owns it */
	while (!found && (de = readdir(d))) {
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		found = strcmp(link, want) == 0;
	}
	closedir(d);
	return found;
}

int proc_fd_holder(uint64_t ino, pid_t first_guess, pid_t *ret)
{
	char want[48];
	pid_t self = getpid(), found = 0;
	DIR *d;
	struct dirent *de;

	(void) snprintf(want, sizeof(want), "socket:[%" PRIu64 "]", ino);
	/* The usual case, one directory listing: the process we found last time. */
	if (first_guess > 0 && first_guess != self && holds(first_guess, want) > 0) {
		*ret = first_guess;
		return 0;
	}
	d = opendir("/proc");
	if (!d)
		return -errno;
	/* Every process: a second holder makes the answer ambiguous. */
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end != '\0' || pid <= 0 || pid == self || pid == found)
			continue;
		if (holds((pid_t) pid, want) > 0) {
			if (found) {
				closedir(d);
				return -ENOTUNIQ;
			}
			found = (pid_t) pid;
		}
	}
	closedir(d);
	if (!found)
		return -ESRCH;
	*ret = found;
	return 0;
}
