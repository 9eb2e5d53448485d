/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* What /proc tells about processes and their sockets: the parsers (pure, no
 * I/O, any input: tests/fuzz/fuzz-procfs.c) and small readers on top.
 *
 * Used to find who serves a FUSE mount: on recent kernels (seen on 6.18)
 * /proc/PID/fdinfo of a /dev/fuse fd has a "fuse_connection:" line, the
 * connection id, which is the FUSE mount's device minor (the directory
 * name under /sys/fs/fuse/connections). From the daemon we follow its
 * children (/proc/PID/stat ppid) and its TCP connections to their peers on
 * this host (/proc/net/tcp{,6}: a connection's peer on this host is the
 * socket whose local and remote endpoints are swapped).
 *
 * Never call the readers from the permission path: they read /proc. They
 * never touch a file on a FUSE mount (readlink of /proc/PID/fd/N is d_path,
 * no round trip to a daemon). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>

/* /proc/PID/fdinfo/FD */
struct proc_fdinfo {
	uint64_t pos;
	unsigned int flags; /* octal in the file */
	uint64_t mnt_id, ino, fuse_conn;
	pid_t pid; /* "Pid:" of a pidfd (-1: the process is gone) */
	bool has_flags, has_mnt_id, has_ino, has_fuse_conn, has_pid;
};

/* Parses fdinfo text. Unknown lines are skipped; a known key with a bad value
 * is -EBADMSG. */
int fdinfo_parse(const char *text, size_t len, struct proc_fdinfo *ret);

/* One line of /proc/net/tcp or /proc/net/tcp6. Addresses in network order
 * (IPv4 in the first 4 bytes). */
struct net_sock {
	int family; /* AF_INET, AF_INET6 */
	uint8_t local[16], remote[16];
	uint16_t lport, rport;
	unsigned int state; /* TCP_ESTABLISHED = 1, TCP_LISTEN = 10 */
	uint64_t inode;
};

/* Appends the sockets of a /proc/net/tcp (family AF_INET) or tcp6 (AF_INET6)
 * text to *socks (realloc'd; *n updated). Skips the header line. */
int net_tcp_parse(const char *text, size_t len, int family, struct net_sock **socks, size_t *n);

/* One line of /proc/net/unix. */
struct unix_sock {
	uint64_t inode;
	unsigned int type, state;
	char *path; /* "" if unbound; abstract names start with '@' */
};
int net_unix_parse(const char *text, size_t len, struct unix_sock **ret, size_t *ret_n);
void unix_socks_free(struct unix_sock *s, size_t n);

/* /proc/PID/stat: the comm (between the first '(' and the LAST ')', since a
 * comm may hold ')' and spaces), the ppid and, if ret_sid is set, the
 * session id. comm gets at most 16 bytes. */
int proc_stat_parse(const char *text, size_t len, char comm[16], pid_t *ret_ppid, pid_t *ret_sid);

/* /proc/PID/stat: the start time (clock ticks after boot, field 22): with
 * the pid, it names a process for good. */
int proc_stat_starttime_parse(const char *text, size_t len, uint64_t *ret);
int proc_read_starttime(pid_t pid, uint64_t *ret);
/* The pid of a pidfd's process ("Pid:" in /proc/self/fdinfo/FD): -ESRCH once
 * reaped. While it answers, the pid number cannot have been reused. */
int proc_pidfd_pid(int pidfd, pid_t *ret);

/* "socket:[123]" -> 's', "pipe:[45]" -> 'p'; *ret_ino set. -EINVAL otherwise. */
int fd_link_parse(const char *link, char *ret_kind, uint64_t *ret_ino);

/* An sshfs-style source "[user@]host:[path]", host possibly "[v6addr]".
 * Each of *ret_* is malloc'd ("" if absent). -EINVAL if there is no host. */
int remote_source_parse(const char *source, char **ret_user, char **ret_host, char **ret_path);

/* 1 if addr (network order) is loopback (127/8, ::1, ::ffff:127/104), else 0. */
bool addr_is_loopback(int family, const uint8_t addr[16]);
/* A numeric address or "localhost"/"localhost.localdomain"/"ip6-localhost":
 * 1 loopback, 0 not loopback, -EINVAL not an address literal (a name). */
int host_literal_is_loopback(const char *host);

/* Readers. */
int proc_read_fdinfo(pid_t pid, int fd, struct proc_fdinfo *ret);
int proc_read_stat(pid_t pid, char comm[16], pid_t *ret_ppid, pid_t *ret_sid);
/* argv as one string, arguments separated by NUL; *ret_len the total. */
int proc_read_cmdline(pid_t pid, char **ret, size_t *ret_len);
/* /proc/PID/environ, NUL-separated as the process left it (root, or the
 * process's owner with ptrace access). */
int proc_read_environ(pid_t pid, char **ret, size_t *ret_len);
/* Both /proc/net/tcp and /proc/net/tcp6 of our network namespace. */
int net_tcp_load(struct net_sock **ret, size_t *ret_n);
/* 1 if addr is one of this host's addresses (getifaddrs) or loopback. */
int addr_is_local(int family, const uint8_t addr[16]);
/* 1 if host (literal or name) resolves only to this host's addresses. Names
 * are resolved with getaddrinfo(AI_NUMERICSERV), so only call it where a
 * DNS query may take a while (not on the permission path). */
int host_is_local(const char *host);

/* --- procfs-held.c: what a process holds, for where a FUSE daemon's data
 * comes from. Kernel facts: its open files (the link of /proc/PID/fd/N is
 * the kernel's d_path, and fdinfo names the file's mount by id and its
 * access mode) and its cwd. argv is only what it was told. */

/* What a held fd says about a daemon's data. */
enum held_fd_kind {
	HELD_FD_OTHER,	    /* no path: socket, pipe, anon inode; a device; deleted */
	HELD_FD_WRITE_ONLY, /* a log or pid file: written, never a data source */
	HELD_FD_READABLE,   /* a path open for reading: a directory, an image */
};
/* From the fd's link and its fdinfo (flags; without them, readable). */
enum held_fd_kind held_fd_kind(const char *link, const struct proc_fdinfo *fi);

/* Calls fn for every absolute path inside one argument: "/x",
 * "lowerdir=/a:/b,upperdir=/c", mergerfs's "/a:/b" and "/a=RW". Paths are at
 * most PATH_MAX; ud is passed through. */
void arg_abs_paths(const char *arg, void (*fn)(const char *path, void *ud), void *ud);

/* readlink of /proc/PID/cwd and /proc/PID/fd/FD (d_path: no FUSE round
 * trip); *ret malloc'd. */
int proc_read_cwd(pid_t pid, char **ret);
int proc_read_fd_link(pid_t pid, int fd, char **ret);
/* /proc/net/udp and udp6, as net_tcp_load(). */
int net_udp_load(struct net_sock **ret, size_t *ret_n);
/* A process's comm (/proc/PID/comm, without the newline) and executable
 * (readlink /proc/PID/exe), NUL-terminated; procfs only, never a FUSE round
 * trip. -errno when unreadable (gone, or the ptrace access check). */
int proc_read_comm(pid_t pid, char *ret, size_t size);
int proc_read_exe(pid_t pid, char *ret, size_t size);
/* The effective uid ("Uid:" in /proc/PID/status, second field). */
int proc_read_euid(pid_t pid, uid_t *ret);
/* Parses the text of /proc/PID/status for the effective uid. */
int proc_status_euid_parse(const char *text, uid_t *ret);

/* PIDFD_GET_INFO (6.13), newer than Debian 12's headers: a process's
 * credentials through its pidfd. The ioctl number encodes the size; the
 * kernel accepts any size >= VER0 (64 bytes). Support is detected at run
 * time (ENOTTY or EINVAL before). fanguardd's seccomp filter allows exactly
 * this request. */
struct fg_pidfd_info {
	uint64_t mask;
	uint64_t cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	uint32_t spare[3];
};
#define FG_PIDFS_IOCTL_MAGIC 0xFF
#define FG_PIDFD_GET_INFO _IOWR(FG_PIDFS_IOCTL_MAGIC, 11, struct fg_pidfd_info)
#define FG_PIDFD_INFO_CREDS (1ULL << 1)
