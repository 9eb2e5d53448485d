/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* fusetest internals: one request type for every filesystem operation, so
 * that the FUSE handlers (fusetest.c) do not care whether the backing
 * directory is served in this process (passthrough, local.c) or by a
 * separate server process over a socket (relay, relay.c).
 *
 *   passthrough:  opener -> kernel -> fusetest (FUSE handlers -> local.c) -> backing fs
 *   relay:        opener -> kernel -> fusetest (FUSE handlers -> relay client)
 *                        -> socket -> fusetest server process (local.c) -> backing fs
 *
 * The relay is the sshfs -> sftp-server shape of DESIGN.md §1. Every call
 * returns >= 0 or -errno. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum fs_op {
	/* Relay only: the server's first message, the result of opening the backing dir. */
	FS_HELLO = 0,
	FS_GETATTR,
	FS_READLINK,
	FS_MKNOD,
	FS_MKDIR,
	FS_UNLINK,
	FS_RMDIR,
	FS_SYMLINK,
	FS_RENAME,
	FS_LINK,
	FS_CHMOD,
	FS_CHOWN,
	FS_TRUNCATE,
	FS_UTIMENS,
	FS_OPEN,
	FS_CREATE,
	FS_READ,
	FS_WRITE,
	FS_STATFS,
	FS_RELEASE,
	FS_FSYNC,
	FS_OPENDIR,
	FS_READDIR,
	FS_RELEASEDIR,
	FS_FALLOCATE,
	FS_FLUSH, /* every close(2) of a FUSE file: the flusher waits uninterruptibly */
	_FS_OP_MAX,
};

const char *fs_op_to_string(uint32_t op);
/* The operation named s ("flush", "read", ...), or -EINVAL. */
int fs_op_from_string(const char *s);

/* The fixed part of every request; sent over the relay socket as is (both
 * ends are the same binary, so host byte order and layout). Which fields an
 * operation uses is noted per field. */
struct fs_args {
	uint64_t fh;   /* handle from OPEN/CREATE/OPENDIR when has_fh */
	uint64_t off;  /* READ, WRITE, FALLOCATE offset; READDIR cookie; TRUNCATE length */
	uint64_t size; /* READ length, FALLOCATE length */
	uint64_t rdev; /* MKNOD */
	int64_t atime_sec, atime_nsec, mtime_sec, mtime_nsec; /* UTIMENS (nsec may be UTIME_*) */
	uint32_t mode;		   /* MKNOD, MKDIR, CHMOD, CREATE; FALLOCATE mode */
	uint32_t flags;		   /* OPEN/CREATE open flags; RENAME flags; FSYNC datasync */
	uint32_t uid, gid;	   /* CHOWN ((uint32_t) -1: unchanged) */
	uint32_t ctx_uid, ctx_gid; /* the caller: owner of what MKNOD/MKDIR/CREATE/SYMLINK make */
	uint32_t has_fh;	   /* fh is valid: operate on the handle, not the path */
	uint32_t path_len, path2_len; /* wire only: strlen + 1, or 0 for no string */
	uint32_t data_len;	      /* WRITE payload */
};

struct fs_req {
	uint32_t op;
	struct fs_args a;
	const char *path;  /* absolute within the mount ("/a/b"); may be NULL by handle.
			      SYMLINK: the link target, any string. */
	const char *path2; /* RENAME, LINK: the new name; SYMLINK: the link's path */
	const void *data;  /* WRITE: a.data_len bytes */
};

/* Results that are not plain data, fixed-width so that they cross the socket. */
struct fs_stat {
	uint64_t dev, ino, nlink, size, blocks, rdev;
	uint32_t mode, uid, gid, blksize;
	int64_t atime_sec, atime_nsec, mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
};

struct fs_statvfs {
	uint64_t bsize, frsize, blocks, bfree, bavail, files, ffree, favail, fsid, flag, namemax;
};

/* READDIR output: a sequence of these, each followed by the name, its NUL and
 * padding to 8 bytes. next_off is the cookie that continues after the entry. */
struct fs_dirent {
	uint64_t ino;
	uint64_t next_off;
	uint32_t type; /* DT_* */
	uint32_t namelen;
};
#define FS_DIRENT_SIZE(namelen) ((sizeof(struct fs_dirent) + (namelen) + 1 + 7) & ~(size_t) 7)

/* Output by op: GETATTR struct fs_stat; STATFS struct fs_statvfs;
 * OPEN/CREATE/OPENDIR uint64_t handle; READ, READLINK (no NUL) the bytes;
 * READDIR the entries. The result is the number of bytes for READ, WRITE,
 * READLINK and READDIR, else 0. */
typedef int (*fs_call_fn)(void *backend, const struct fs_req *req, void *out, size_t out_size,
			  size_t *ret_out_len);

/* --- local.c: the I/O on the backing directory ---------------------------- */

struct local;
/* Opens the backing directory. Paths never leave it by "..": the kernel
 * resolves those in the mount; symlinks in the backing tree are not
 * followed on the last component (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW). */
int local_new(const char *backing, struct local **ret);
struct local *local_free(struct local *l); /* closes every handle; NULL-safe */
int local_call(void *local, const struct fs_req *req, void *out, size_t out_size,
	       size_t *ret_out_len);

/* --- relay.c: client in the FUSE daemon, server in its own process -------- */

/* The biggest READ or WRITE payload; the kernel never asks for more than
 * max_pages (256) pages at once. */
#define RELAY_MAX_DATA (4u << 20)

struct relay_client;
/* Forks the server, which opens backing and serves requests on a socketpair
 * until the other end closes; waits for its hello (so a bad backing dir fails
 * here, before mounting). The server never holds any fd of ours but its
 * socket: call this before opening /dev/fuse. cancelled() is polled while a
 * call waits for its reply; when it returns true the call gives up with
 * -ENOTCONN (the FUSE session is ending). */
int relay_client_new(const char *backing, bool (*cancelled)(void *userdata), void *userdata,
		     struct relay_client **ret);
pid_t relay_client_server_pid(const struct relay_client *c);
int relay_client_call(void *client, const struct fs_req *req, void *out, size_t out_size,
		      size_t *ret_out_len);
/* Closes the socket (the server exits on EOF), waits up to timeout_ms for the
 * server and SIGKILLs it after that. NULL-safe. */
struct relay_client *relay_client_free(struct relay_client *c, int timeout_ms);

/* --- fault.c: fault injection --------------------------------------------- */

struct fault_config {
	uint64_t hang_after;   /* 0: off; else operation hang_after+1 and later never get a reply */
	uint64_t crash_after;  /* 0: off; else abort() at operation crash_after+1 */
	unsigned delay_ms;     /* before every operation */
	unsigned slow_read_ms; /* before every READ, on top of delay_ms */
	char hang_path[1024];  /* fnmatch(3) glob on the operation's path(s); "" off */
	uint64_t hang_ops;     /* bit (1 << FS_*): every such operation never gets a reply */
};

struct faults;
int faults_new(const struct fault_config *initial, const char *control_path,
	       bool (*cancelled)(void *userdata), void *userdata, struct faults **ret);
struct faults *faults_free(struct faults *f); /* NULL-safe */
/* Called at the start of every operation. Counts it, then crashes, delays or
 * hangs as configured. Returns 0 to go on, or -ENOTCONN when a hang or delay
 * was cut short because the session is ending (cancelled() returned true). */
int faults_before_op(struct faults *f, uint32_t op, const char *path, const char *path2);
/* Re-reads the control file (SIGUSR1) and wakes hung operations so that they
 * re-check whether they still hang. Without a control file logs the state. */
int faults_reload(struct faults *f);
/* Wakes every waiting operation so that it polls cancelled() now. */
void faults_wake(struct faults *f);
/* Parses "key=value" lines (hang-after, crash-after, delay-ms, slow-read-ms,
 * hang-path, hang-op; '#' comments). Keys absent from the text are off. */
int fault_config_parse(const char *text, struct fault_config *ret, unsigned *ret_bad_line);
void fault_config_format(const struct fault_config *c, char *buf, size_t size);
/* Parses "flush,read" into a mask of (1 << FS_*); -EINVAL naming no op. */
int fault_parse_ops(const char *s, uint64_t *ret);
