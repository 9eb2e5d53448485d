/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* loopback.c and loopback-backing.c: who serves a FUSE mount and where its
 * data comes from. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mount_table;
struct mount_entry;

struct fuse_origin {
	bool loopback;
	char *evidence; /* "; "-separated, human-readable */
	char **backing; /* absolute local paths its data comes from */
	size_t n_backing;
	pid_t *helpers; /* the daemon, its children, its peers on this host */
	pid_t daemon;	/* the first process holding /dev/fuse for it, or 0 */
	size_t n_helpers;
};

/* Who serves me and where its data comes from. Looks again for up to 2 s
 * while an sshfs chain is incomplete; gives up at once when *cancel (may be
 * NULL) is set. */
int loopback_classify(const struct mount_table *t, const struct mount_entry *me,
		      const _Atomic bool *cancel, struct fuse_origin *ret);
void fuse_origin_done(struct fuse_origin *o);

/* One process, from one pass over /proc. */
struct proc_info {
	pid_t pid, ppid, sid;
	char comm[16];
	uint64_t *socks; /* socket inodes */
	size_t n_socks;
	bool fuse_fd;	    /* holds /dev/fuse for our connection */
	bool fuse_fd_other; /* holds /dev/fuse, connection unknown (old kernel) */
	bool helper;
	bool fd_denied; /* /proc/PID/fd: EACCES (non-dumpable, no CAP_SYS_PTRACE) */
};

struct proc_scan {
	struct proc_info *procs;
	size_t n;
};

/* What was found, for loopback_decide(). Only kernel facts decide, except
 * where said. */
struct origin_facts {
	bool daemon;	  /* a process holds /dev/fuse for the mount's connection */
	bool remote;	  /* a helper's TCP connection has no end on this host */
	bool inet;	  /* a helper holds a TCP or UDP socket (any state) */
	bool sshfs;	  /* fuse.sshfs; then only these two decide: */
	bool ssh_local;	  /*   its source host is a loopback literal (a claim) */
	bool tcp_local;	  /*   its ssh's TCP connection ends at a process here */
	size_t n_backing; /* paths held open (or the cwd) on local mounts, named by argv or source */
	size_t n_held;	  /* paths held open on local mounts, named by nothing */
	size_t n_hints;	  /* argv or source paths on local mounts: what the daemon was told */
};

/* Served from this host? A connection to another host says no, whatever
 * else. sshfs: its chain to a local sshd (or a loopback source host). Any
 * other daemon: files it holds open on local mounts; or, for a daemon and
 * helpers with no TCP or UDP socket at all, local paths in its argv (encfs,
 * mergerfs, gocryptfs open their backing files only while serving a
 * request). Pure: tests/unit/test-loopback.c. */
bool loopback_decide(const struct origin_facts *f);

/* Adds a "; "-separated item to o->evidence (bounded). */
int origin_note(struct fuse_origin *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void origin_add_backing(struct fuse_origin *o, const char *path);

/* Backing evidence of the FUSE mount fuse from the helpers found so far (its
 * daemon and the daemon's children): the files and directories they hold
 * open (fdinfo names each one's mount by id), the daemon's cwd, and, as
 * hints, the paths in the daemon's argv and the mount's source. Fills
 * o->backing (only paths both held and named) and f's counts. Never
 * touches a file on a FUSE mount. */
void loopback_backing_gather(const struct mount_table *t, const struct mount_entry *fuse,
			     const struct proc_scan *s, struct fuse_origin *o,
			     struct origin_facts *f);

/* True if a helper holds a TCP or UDP socket, in any state. */
bool loopback_helpers_hold_inet(const struct proc_scan *s);
