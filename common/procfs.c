/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsers for /proc/PID/{fdinfo,stat,cmdline} and /proc/net/{tcp,tcp6,unix},
 * and small readers on top (see procfs.h for why they exist).
 *
 * The parsers do no I/O, keep no fixed-size buffers they could overrun and
 * must survive any input (a process can name itself "x) R 1 (" and bind a
 * unix socket to a path with a newline in it). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include "fd-util.h"
#include "macro.h"
#include "procfs.h"

#define PROC_FILE_MAX (16U * 1024 * 1024)

/* The next line of text[*pos..len): sets *line and *line_len, advances *pos. */
static bool next_line(const char *text, size_t len, size_t *pos, const char **line,
		      size_t *line_len)
{
	const char *nl;

	if (*pos >= len)
		return false;
	*line = text + *pos;
	nl = memchr(*line, '\n', len - *pos);
	*line_len = nl ? (size_t) (nl - *line) : len - *pos;
	*pos += *line_len + (nl ? 1 : 0);
	return true;
}

/* Parses an unsigned number in base from s[0..n) with nothing else; 0/-EBADMSG. */
static int parse_num(const char *s, size_t n, int base, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (n == 0 || n > 32)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		unsigned d;
		char c = s[i];

		if (c >= '0' && c <= '9')
			d = (unsigned) (c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned) (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned) (c - 'A' + 10);
		else
			return -EBADMSG;
		if (d >= (unsigned) base)
			return -EBADMSG;
		if (v > (max - d) / (uint64_t) base)
			return -EBADMSG;
		v = v * (uint64_t) base + d;
	}
	*ret = v;
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Splits line into whitespace-separated fields; returns the number found
 * (at most max). */
static size_t split_fields(const char *line, size_t len, const char **f, size_t *fl, size_t max)
{
	size_t n = 0, i = 0;

	while (i < len && n < max) {
		while (i < len && is_space(line[i]))
			i++;
		if (i >= len)
			break;
		f[n] = line + i;
		while (i < len && !is_space(line[i]))
			i++;
		fl[n] = (size_t) (line + i - f[n]);
		n++;
	}
	return n;
}

int fdinfo_parse(const char *text, size_t len, struct proc_fdinfo *ret)
{
	struct proc_fdinfo fi = {.pid = 0};
	const char *line;
	size_t pos = 0, ll;

	if (!text || !ret)
		return -EINVAL;
	while (next_line(text, len, &pos, &line, &ll)) {
		static const struct {
			const char *key;
			int base;
		} keys[] = {{"pos:", 10},
			    {"flags:", 8},
			    {"mnt_id:", 10},
			    {"ino:", 10},
			    {"fuse_connection:", 10},
			    {"Pid:", 10}};
		const char *f[2];
		size_t fl[2], k;
		uint64_t v;
		bool neg = false;

		if (split_fields(line, ll, f, fl, 2) != 2)
			continue;
		for (k = 0; k < ELEMENTSOF(keys); k++)
			if (fl[0] == strlen(keys[k].key) && memcmp(f[0], keys[k].key, fl[0]) == 0)
				break;
		if (k == ELEMENTSOF(keys))
			continue;
		if (k == 5 && fl[1] == 2 && memcmp(f[1], "-1", 2) == 0) {
			/* A pidfd whose process was reaped. */
			neg = true;
			v = 0;
		} else if (parse_num(f[1], fl[1], keys[k].base, k == 5 ? INT32_MAX : UINT64_MAX,
				     &v) < 0)
			return -EBADMSG;
		switch (k) {
		case 0:
			fi.pos = v;
			break;
		case 1:
			if (v > UINT32_MAX)
				return -EBADMSG;
			fi.flags = (unsigned) v;
			fi.has_flags = true;
			break;
		case 2:
			fi.mnt_id = v;
			fi.has_mnt_id = true;
			break;
		case 3:
			fi.ino = v;
			fi.has_ino = true;
			break;
		case 4:
			fi.fuse_conn = v;
			fi.has_fuse_conn = true;
			break;
		case 5:
			fi.pid = neg ? -1 : (pid_t) v;
			fi.has_pid = true;
			break;
		}
	}
	*ret = fi;
	return 0;
}

/* "0100007F:0016" (IPv4) or 32 hex digits ":PORT" (IPv6). The kernel prints
 * each 32-bit word of the address, as stored (network order), with %08X
 * of the native integer: parsing each word back into a native integer and
 * storing it restores the network-order bytes on any endianness. */
static int parse_endpoint(const char *s, size_t n, int family, uint8_t addr[16], uint16_t *port)
{
	size_t words = family == AF_INET ? 1 : 4;
	uint64_t v;

	if (n != words * 8 + 1 + 4 || s[words * 8] != ':')
		return -EBADMSG;
	memset(addr, 0, 16);
	for (size_t w = 0; w < words; w++) {
		uint32_t word;

		if (parse_num(s + w * 8, 8, 16, UINT32_MAX, &v) < 0)
			return -EBADMSG;
		word = (uint32_t) v;
		memcpy(addr + w * 4, &word, 4);
	}
	if (parse_num(s + words * 8 + 1, 4, 16, UINT16_MAX, &v) < 0)
		return -EBADMSG;
	*port = (uint16_t) v;
	return 0;
}

int net_tcp_parse(const char *text, size_t len, int family, struct net_sock **socks, size_t *n)
{
	const char *line;
	size_t pos = 0, ll, lineno = 0;

	if (!text || !socks || !n || (family != AF_INET && family != AF_INET6))
		return -EINVAL;
	while (next_line(text, len, &pos, &line, &ll)) {
		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
		const char *f[10];
		size_t fl[10];
		struct net_sock s = {.family = family};
		uint64_t v;
		void *np;

		if (lineno++ == 0)
			continue; /* header */
		if (split_fields(line, ll, f, fl, 10) != 10)
			return -EBADMSG;
		if (parse_endpoint(f[1], fl[1], family, s.local, &s.lport) < 0 ||
		    parse_endpoint(f[2], fl[2], family, s.remote, &s.rport) < 0)
			return -EBADMSG;
		if (parse_num(f[3], fl[3], 16, 0xff, &v) < 0)
			return -EBADMSG;
		s.state = (unsigned) v;
		if (parse_num(f[9], fl[9], 10, UINT64_MAX, &s.inode) < 0)
			return -EBADMSG;
		np = realloc(*socks, (*n + 1) * sizeof(**socks));
		if (!np)
			return -ENOMEM;
		*socks = np;
		(*socks)[(*n)++] = s;
	}
	return 0;
}

void unix_socks_free(struct unix_sock *s, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		free(s[i].path);
	free(s);
}

int net_unix_parse(const char *text, size_t len, struct unix_sock **ret, size_t *ret_n)
{
	struct unix_sock *socks = NULL;
	const char *line;
	size_t pos = 0, ll, lineno = 0, n = 0;
	int r;

	if (!text || !ret || !ret_n)
		return -EINVAL;
	while (next_line(text, len, &pos, &line, &ll)) {
		/* Num RefCount Protocol Flags Type St Inode [Path] */
		const char *f[7];
		size_t fl[7], rest;
		struct unix_sock s = {};
		uint64_t v;
		void *np;

		if (lineno++ == 0)
			continue;
		if (split_fields(line, ll, f, fl, 7) != 7 || fl[0] < 2 || f[0][fl[0] - 1] != ':') {
			r = -EBADMSG;
			goto fail;
		}
		if (parse_num(f[4], fl[4], 16, UINT32_MAX, &v) < 0) {
			r = -EBADMSG;
			goto fail;
		}
		s.type = (unsigned) v;
		if (parse_num(f[5], fl[5], 16, UINT32_MAX, &v) < 0 ||
		    parse_num(f[6], fl[6], 10, UINT64_MAX, &s.inode) < 0) {
			r = -EBADMSG;
			goto fail;
		}
		s.state = (unsigned) v;
		/* The path is the rest of the line after one space, as is. */
		rest = (size_t) (f[6] + fl[6] - line);
		if (rest < ll && is_space(line[rest]))
			rest++;
		s.path = strndup(line + rest, ll - rest);
		if (!s.path) {
			r = -ENOMEM;
			goto fail;
		}
		np = realloc(socks, (n + 1) * sizeof(*socks));
		if (!np) {
			free(s.path);
			r = -ENOMEM;
			goto fail;
		}
		socks = np;
		socks[n++] = s;
	}
	*ret = socks;
	*ret_n = n;
	return 0;
fail:
	unix_socks_free(socks, n);
	return r;
}

int proc_stat_parse(const char *text, size_t len, char comm[16], pid_t *ret_ppid, pid_t *ret_sid)
{
	const char *open, *close = NULL, *f[5];
	size_t fl[5], cl, nf;
	uint64_t v, sid = 0;

	if (!text || !comm || !ret_ppid)
		return -EINVAL;
	open = memchr(text, '(', len);
	if (!open)
		return -EBADMSG;
	for (const char *p = open; p < text + len; p++)
		if (*p == ')')
			close = p;
	if (!close)
		return -EBADMSG;
	/* " S PPID PGRP SESSION ..." */
	nf = split_fields(close + 1, (size_t) (text + len - close - 1), f, fl, 5);
	if (nf < 2)
		return -EBADMSG;
	if (fl[0] != 1 || parse_num(f[1], fl[1], 10, INT32_MAX, &v) < 0)
		return -EBADMSG;
	if (ret_sid && (nf < 4 || parse_num(f[3], fl[3], 10, INT32_MAX, &sid) < 0))
		return -EBADMSG;
	cl = (size_t) (close - open - 1);
	if (cl > 15)
		cl = 15;
	memcpy(comm, open + 1, cl);
	comm[cl] = '\0';
	*ret_ppid = (pid_t) v;
	if (ret_sid)
		*ret_sid = (pid_t) sid;
	return 0;
}

int proc_stat_starttime_parse(const char *text, size_t len, uint64_t *ret)
{
	const char *close = NULL, *f[20];
	size_t fl[20];

	if (!text || !ret)
		return -EINVAL;
	for (const char *p = text; p < text + len; p++)
		if (*p == ')')
			close = p;
	if (!close)
		return -EBADMSG;
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
	 * utime stime cutime cstime priority nice threads itrealvalue starttime */
	if (split_fields(close + 1, (size_t) (text + len - close - 1), f, fl, 20) != 20)
		return -EBADMSG;
	return parse_num(f[19], fl[19], 10, UINT64_MAX, ret);
}

static int read_pid_stat(pid_t pid, char **ret, size_t *ret_len)
{
	char path[64];

	(void) snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	return read_full_file(path, PROC_FILE_MAX, ret, ret_len);
}

int proc_read_starttime(pid_t pid, uint64_t *ret)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_pid_stat(pid, &text, &len);

	if (r < 0)
		return r;
	return proc_stat_starttime_parse(text, len, ret);
}

int proc_pidfd_pid(int pidfd, pid_t *ret)
{
	struct proc_fdinfo fi;
	char path[64];
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	(void) snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	r = read_full_file(path, 4096, &text, &len);
	if (r < 0)
		return r;
	r = fdinfo_parse(text, len, &fi);
	if (r < 0)
		return r;
	if (!fi.has_pid)
		return -EBADF; /* not a pidfd */
	if (fi.pid <= 0)
		return -ESRCH; /* reaped (-1), or in no pid namespace of ours (0) */
	*ret = fi.pid;
	return 0;
}

int fd_link_parse(const char *link, char *ret_kind, uint64_t *ret_ino)
{
	size_t pre, l;
	char kind;

	if (!link || !ret_kind || !ret_ino)
		return -EINVAL;
	if (strncmp(link, "socket:[", 8) == 0) {
		pre = 8;
		kind = 's';
	} else if (strncmp(link, "pipe:[", 6) == 0) {
		pre = 6;
		kind = 'p';
	} else
		return -EINVAL;
	l = strlen(link);
	if (l < pre + 2 || link[l - 1] != ']')
		return -EINVAL;
	if (parse_num(link + pre, l - pre - 1, 10, UINT64_MAX, ret_ino) < 0)
		return -EINVAL;
	*ret_kind = kind;
	return 0;
}

int remote_source_parse(const char *source, char **ret_user, char **ret_host, char **ret_path)
{
	_cleanup_free_ char *user = NULL, *host = NULL, *path = NULL;
	const char *at, *h, *colon;

	if (!source || !ret_user || !ret_host || !ret_path)
		return -EINVAL;
	/* sshfs: the user ends at the last '@' before the host part. */
	h = source;
	at = strrchr(source, '@');
	if (at) {
		const char *c = strchr(source, ':');

		/* "host:/a@b": the '@' is in the path. */
		if (c && c < at)
			at = NULL;
	}
	if (at) {
		user = strndup(source, (size_t) (at - source));
		h = at + 1;
	} else
		user = strdup("");
	if (!user)
		return -ENOMEM;
	if (*h == '[') {
		const char *end = strchr(h, ']');

		if (!end || end[1] != ':' || end == h + 1)
			return -EINVAL;
		host = strndup(h + 1, (size_t) (end - h - 1));
		colon = end + 1;
	} else {
		colon = strchr(h, ':');
		if (!colon || colon == h)
			return -EINVAL;
		host = strndup(h, (size_t) (colon - h));
	}
	if (!host)
		return -ENOMEM;
	path = strdup(colon + 1);
	if (!path)
		return -ENOMEM;
	*ret_user = TAKE_PTR(user);
	*ret_host = TAKE_PTR(host);
	*ret_path = TAKE_PTR(path);
	return 0;
}

bool addr_is_loopback(int family, const uint8_t a[16])
{
	static const uint8_t v6_loop[16] = {[15] = 1};
	static const uint8_t v4_mapped[12] = {[10] = 0xff, [11] = 0xff};

	if (family == AF_INET)
		return a[0] == 127;
	if (family != AF_INET6)
		return false;
	if (memcmp(a, v6_loop, 16) == 0)
		return true;
	return memcmp(a, v4_mapped, 12) == 0 && a[12] == 127;
}

int host_literal_is_loopback(const char *host)
{
	uint8_t a[16] = {0};

	if (!host)
		return -EINVAL;
	if (strcasecmp(host, "localhost") == 0 || strcasecmp(host, "localhost.localdomain") == 0 ||
	    strcasecmp(host, "ip6-localhost") == 0 || strcasecmp(host, "ip6-loopback") == 0)
		return 1;
	if (inet_pton(AF_INET, host, a) == 1)
		return addr_is_loopback(AF_INET, a);
	if (inet_pton(AF_INET6, host, a) == 1)
		return addr_is_loopback(AF_INET6, a);
	return -EINVAL;
}

/* --- readers -------------------------------------------------------------- */

int proc_read_fdinfo(pid_t pid, int fd, struct proc_fdinfo *ret)
{
	_cleanup_free_ char *text = NULL;
	char path[64];
	size_t len;
	int r;

	(void) snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int) pid, fd);
	r = read_full_file(path, PROC_FILE_MAX, &text, &len);
	if (r < 0)
		return r;
	return fdinfo_parse(text, len, ret);
}

int proc_read_stat(pid_t pid, char comm[16], pid_t *ret_ppid, pid_t *ret_sid)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_pid_stat(pid, &text, &len);

	if (r < 0)
		return r;
	return proc_stat_parse(text, len, comm, ret_ppid, ret_sid);
}

int proc_read_cmdline(pid_t pid, char **ret, size_t *ret_len)
{
	char path[64];

	(void) snprintf(path, sizeof(path), "/proc/%d/cmdline", (int) pid);
	return read_full_file(path, PROC_FILE_MAX, ret, ret_len);
}

int proc_read_environ(pid_t pid, char **ret, size_t *ret_len)
{
	char path[64];

	(void) snprintf(path, sizeof(path), "/proc/%d/environ", (int) pid);
	return read_full_file(path, PROC_FILE_MAX, ret, ret_len);
}

/* /proc/net/PROTO and PROTO6: tcp and udp share the columns up to the
 * inode. */
static int net_socks_load(const char *proto, struct net_sock **ret, size_t *ret_n)
{
	static const struct {
		const char *suffix;
		int family;
	} files[] = {{"", AF_INET}, {"6", AF_INET6}};
	struct net_sock *socks = NULL;
	size_t n = 0;
	int r;

	for (size_t i = 0; i < ELEMENTSOF(files); i++) {
		_cleanup_free_ char *text = NULL;
		char path[32];
		size_t len;

		(void) snprintf(path, sizeof(path), "/proc/net/%s%s", proto, files[i].suffix);
		r = read_full_file(path, 64U << 20, &text, &len);
		if (r == -ENOENT)
			continue; /* no IPv6 */
		if (r >= 0)
			r = net_tcp_parse(text, len, files[i].family, &socks, &n);
		if (r < 0) {
			free(socks);
			return r;
		}
	}
	*ret = socks;
	*ret_n = n;
	return 0;
}

int net_tcp_load(struct net_sock **ret, size_t *ret_n)
{
	return net_socks_load("tcp", ret, ret_n);
}

int net_udp_load(struct net_sock **ret, size_t *ret_n)
{
	return net_socks_load("udp", ret, ret_n);
}

int addr_is_local(int family, const uint8_t addr[16])
{
	struct ifaddrs *ifa = NULL;
	int found = 0;

	if (addr_is_loopback(family, addr))
		return 1;
	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (struct ifaddrs *i = ifa; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != family)
			continue;
		if (family == AF_INET)
			found = memcmp(&((struct sockaddr_in *) i->ifa_addr)->sin_addr, addr, 4) ==
				0;
		else
			found = memcmp(&((struct sockaddr_in6 *) i->ifa_addr)->sin6_addr, addr,
				       16) == 0;
	}
	freeifaddrs(ifa);
	return found;
}

int host_is_local(const char *host)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int all = 1;

	if (host_literal_is_loopback(host) == 1)
		return 1;
	/* Literals resolve without a query; names may ask DNS. */
	if (getaddrinfo(host, "22", &hints, &res) != 0 || !res)
		return -EHOSTUNREACH;
	for (struct addrinfo *ai = res; ai && all; ai = ai->ai_next) {
		uint8_t a[16] = {0};

		if (ai->ai_family == AF_INET)
			memcpy(a, &((struct sockaddr_in *) ai->ai_addr)->sin_addr, 4);
		else if (ai->ai_family == AF_INET6)
			memcpy(a, &((struct sockaddr_in6 *) ai->ai_addr)->sin6_addr, 16);
		else
			continue;
		all = addr_is_local(ai->ai_family, a) == 1;
	}
	freeaddrinfo(res);
	return all;
}

int proc_read_comm(pid_t pid, char *ret, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	if (size < 2)
		return -EINVAL;
	(void) snprintf(path, sizeof(path), "/proc/%d/comm", (int) pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, ret, size - 1);
	if (n < 0)
		n = -errno;
	safe_close(fd);
	if (n < 0)
		return (int) n;
	ret[n] = '\0';
	ret[strcspn(ret, "\n")] = '\0';
	return 0;
}

int proc_read_exe(pid_t pid, char *ret, size_t size)
{
	char path[64];
	ssize_t n;

	if (size < 2)
		return -EINVAL;
	(void) snprintf(path, sizeof(path), "/proc/%d/exe", (int) pid);
	n = readlink(path, ret, size - 1);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ENOENT;
	ret[n] = '\0';
	return 0;
}

int proc_status_euid_parse(const char *text, uid_t *ret)
{
	unsigned long ruid, euid;
	const char *u;

	/* "Uid:\treal\teffective\tsaved\tfs" */
	u = strncmp(text, "Uid:", 4) == 0 ? text : strstr(text, "\nUid:");
	if (u && *u == '\n')
		u++;
	if (!u || sscanf(u + 4, "%lu %lu", &ruid, &euid) != 2)
		return -EBADMSG;
	*ret = (uid_t) euid;
	return 0;
}

int proc_read_euid(pid_t pid, uid_t *ret)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd;

	(void) snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* "Uid:" is within the first ~10 lines, well inside 1 KiB. */
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		n = -errno;
	safe_close(fd);
	if (n <= 0)
		return n < 0 ? (int) n : -EBADMSG;
	buf[n] = '\0';
	return proc_status_euid_parse(buf, ret);
}
