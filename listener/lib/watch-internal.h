/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Watch records (watch.c): what fanguard_watch() and the mount watcher
 * placed, for enumeration, the loopback policy and releasing groups of
 * mounts that go away. Each record holds a reference on its domain. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "fanguard.h"
#include "mounts.h"

struct fanguard;
struct domain;

struct fg_watch {
	char *path, *mount_point, *fstype, *evidence;
	const char *mount_class;
	enum fanguard_mount_class domain_class;
	uint64_t mnt_id;
	uint64_t unique;	/* the mount's unique id (never reused), 0 if unknown */
	uint64_t waiting_since; /* usec: its FUSE connection has had requests waiting (hung.c) */
	bool unmarked;		/* hung.c: out of its shared group, no group of its own */
	uint32_t flags;
	struct fg_watch *next;

	unsigned dev_major, dev_minor; /* with mnt_id: the mount (ids are reused) */
	uid_t owner;		       /* FUSE: user_id= (who mounted it), else 0 */
	struct domain *d;	       /* the group answering it (a reference) */
	bool from_tree;		       /* found under a fanguard_watch_tree() rule */
	bool foreign;		       /* another mount namespace's (fusens.c): not in our table */
	bool loopback;		       /* FUSE served from this host (loopback.c) */
	uint64_t same_fs_as;	       /* the mount whose group it joined (same superblock) */
	bool classify_pending;	       /* queued for classifier.c: no policy yet */
	bool content_at_backing;       /* policy: its domain scans nothing itself */
	char *origin;		       /* loopback.c's evidence, or NULL */
	pid_t daemon;		       /* holds /dev/fuse for its connection, or 0 */
	uint64_t *backing_mnt_ids;     /* local mounts its data comes from */
	size_t n_backing;
};

/* Frees a watch record, drops its domain reference; NULL-safe. */
void watch_record_free(struct fg_watch *w);
/* A record of a watch of mount me at path; NULL on OOM. */
struct fg_watch *watch_record_new(const char *path, const struct mount_entry *me,
				  enum fanguard_mount_class cls, uint32_t flags);
/* Called with fg->lock held: appends w to fg->watches. */
void watch_record_append_locked(struct fanguard *fg, struct fg_watch *w);
/* The domain class for a mount's class; -EINVAL for pseudo filesystems. */
int domain_class_of(enum mount_class c, enum fanguard_mount_class *ret);
/* Fills w's loopback fields for a FUSE or FUSE-backed mount (reads /proc;
 * up to ~2 s for an sshfs, less once *cancel, may be NULL, is set). */
void watch_origin_fill(struct fanguard *fg, struct fg_watch *w, const struct mount_table *t,
		       const struct mount_entry *me, const _Atomic bool *cancel);
/* Called with fg->lock held once w's domain is known: applies the loopback
 * policy (content_at_backing) to it. */
void watch_policy_apply_locked(struct fanguard *fg, struct fg_watch *w, struct domain *d);
/* Who owns a mount: for FUSE (and what is backed by FUSE) the user_id= of
 * the FUSE mount, i.e. who mounted it; 0 otherwise. */
uid_t mount_owner(const struct mount_table *t, const struct mount_entry *me);
/* Places a watch of the mount (or filesystem) of path_fd: finds or creates
 * its domain (depth: registry_depth_of() its mount class), marks it (now, or when it starts), and points w (may be NULL
 * on OOM) at the domain; on failure frees w, and releases a domain it
 * created. On success the caller commits w (watch_record_commit()). */
/* A domain (FUSE or network) that answers the filesystem (superblock) of
 * device dev_major:dev_minor already: the watch placed first on it,
 * another mount of the same superblock joins its group (watch_place()).
 * Called with fg->lock held; NULL if none. */
struct fg_watch *watch_of_superblock_locked(struct fanguard *fg, enum fanguard_mount_class cls,
					    unsigned dev_major, unsigned dev_minor);
int watch_place(struct fanguard *fg, int path_fd, enum fanguard_mount_class cls, uint64_t mnt_id,
		unsigned dev_major, unsigned dev_minor, uid_t owner, unsigned depth,
		struct fg_watch *w, uint32_t flags, struct domain **ret_d, bool *ret_created);
/* Applies the loopback policy to w and lists it. */
void watch_record_commit(struct fanguard *fg, struct fg_watch *w);
/* 0, or -EINVAL for unknown or contradictory FANGUARD_WATCH_* flags. */
int watch_flags_check(uint32_t flags);
/* The superblocks of PID 1's "/" and ours (by mountinfo, and by st_dev),
 * at most max; how many. Reads two mount tables: callers that look often
 * keep the result (the mount watcher, per full read of the table). */
size_t root_fs_superblocks(struct sb_id *ret, size_t max);
/* Whether me is a mount of the filesystem of PID 1's "/" (or ours). */
bool mount_is_root_fs(const struct mount_entry *me);
/* After commit: a hint from w's daemon's argv may switch its group to the
 * access event mask (emask.c), re-marking path_fd. */
void watch_emask_apply(struct fanguard *fg, struct fg_watch *w, int path_fd);
/* Drops all records (fanguard_free()). */
void watch_records_clear(struct fanguard *fg);
/* Unlinks every record keep() refuses and returns them as a list (->next):
 * the records of mounts that went away. */
struct fg_watch *watch_records_take(struct fanguard *fg,
				    bool (*keep)(const struct fg_watch *w, const void *arg),
				    const void *arg);
/* Frees such a list, releasing each record's group unless a record still
 * listed, or one later in the list, uses it (the local group stays). */
void watch_records_release(struct fanguard *fg, struct fg_watch *gone);
