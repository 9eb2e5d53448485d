/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The mount table and which kind of filesystem backs each mount.
 *
 * Why not st_dev: on overlayfs a directory and a file in it report different
 * st_dev, and an overlay's st_dev matches no mountinfo line (DESIGN.md §3,
 * seeds/000). We identify the mount of an open fd by its mount id (statx
 * STATX_MNT_ID, plus STATX_MNT_ID_UNIQUE where the kernel has it) and look
 * that id up in /proc/self/mountinfo.
 *
 * Parsing is pure (no I/O) so that it can be unit-tested and fuzzed on
 * hostile input. Never call this from the permission path: loading reads
 * /proc and classification walks the whole table. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mount_class {
	MOUNT_CLASS_LOCAL,	 /* a local filesystem (ext4, xfs, tmpfs, btrfs, ...) */
	MOUNT_CLASS_FUSE,	 /* fuse, fuse.*, fuseblk */
	MOUNT_CLASS_FUSE_BACKED, /* overlay with a FUSE-backed layer, or bind of part of a FUSE mount */
	MOUNT_CLASS_NETWORK,	 /* nfs, nfs4, cifs, smb3, 9p, ceph, ... */
	MOUNT_CLASS_PSEUDO,	 /* proc, sysfs, cgroup2, devpts, debugfs, ... */
	_MOUNT_CLASS_MAX,
};

struct mount_entry {
	uint64_t mnt_id;	   /* field 1 of mountinfo (the old, reusable id) */
	uint64_t parent_id;	   /* field 2 */
	unsigned int major, minor; /* field 3; for FUSE, minor is the connection id
				      under /sys/fs/fuse/connections */
	char *root;		   /* field 4, unescaped: the part of the fs this mount shows */
	char *mount_point;	   /* field 5, unescaped */
	char *mount_opts;	   /* field 6 */
	char *optional;	  /* optional fields joined by ' ' ("shared:1 master:2"), may be "" */
	char *fstype;	  /* after " - " */
	char *source;	  /* unescaped */
	char *super_opts; /* unescaped */

	/* Set by mount_table_classify(). */
	enum mount_class class;
	/* Human-readable evidence: "fstype fuse.sshfs", "overlay lowerdir '/x' is on mount 42
	 * (fuse.bindfs)", "bind of '/sub' of fuse mount 0:53". Static or owned by the entry. */
	char *class_reason;
	/* For FUSE and FUSE-backed: the mount id of the FUSE mount it depends on (0 if unknown). */
	uint64_t fuse_mnt_id;

	/* The super options as the kernel wrote them (octal escapes kept), or NULL in a table
	 * not built by mount_table_parse(). Overlay writes a ',' inside a layer path as \054
	 * (seq_show_option()), so only this form splits into options exactly: in super_opts a
	 * "lowerdir+=/a,b" is ambiguous. */
	char *super_opts_raw;
};

struct mount_table {
	struct mount_entry *entries;
	size_t n_entries;
};

/* Parses the text of /proc/PID/mountinfo. On a malformed line fails with
 * -EBADMSG and, if ret_bad_line is set, the 1-based line number. Accepts lines
 * of any length, octal escapes (\040 \011 \012 \134) in paths and sources, any
 * number of optional fields. Entries are left MOUNT_CLASS_LOCAL; call classify. */
int mount_table_parse(const char *text, size_t len, struct mount_table **ret,
		      unsigned *ret_bad_line);
/* Reads and parses /proc/self/mountinfo (or path if non-NULL), then classifies. */
int mount_table_load(const char *path, struct mount_table **ret);
/* Classifies every entry (class, class_reason, fuse_mnt_id), resolving overlay
 * layers (lowerdir with several ':'-separated dirs, escaped ',' and ':' in
 * super options, upperdir, workdir not counted; lowerdir+ / datadir+ too) and
 * binds by path against the table itself. Idempotent. */
void mount_table_classify(struct mount_table *t);
struct mount_table *mount_table_free(struct mount_table *t);

const struct mount_entry *mount_table_find_id(const struct mount_table *t, uint64_t mnt_id);
/* The entry whose mount point is the longest prefix of the absolute path
 * (the last one mounted wins when several share a mount point). */
const struct mount_entry *mount_table_find_path(const struct mount_table *t, const char *path);

/* Appends e (taking its strings; *e is zeroed) as the last mounted; the
 * caller classifies again. 0 or -ENOMEM (e untouched). */
int mount_table_append(struct mount_table *t, struct mount_entry *e);
/* Removes the entry with that id; false if there is none. */
bool mount_table_remove_id(struct mount_table *t, uint64_t mnt_id);
/* Frees the strings of an entry not in a table, and zeroes it. */
void mount_entry_free_fields(struct mount_entry *e);

/* A filesystem as the kernel names it: the superblock's s_dev, which is
 * what mountinfo's major:minor shows (show_mountinfo() in
 * fs/proc_namespace.c) for every mount of it. stat()'s st_dev is not that:
 * btrfs gives each subvolume a device number of its own (btrfs_getattr()),
 * so two subvolumes of one filesystem (one superblock, which one
 * FAN_MARK_FILESYSTEM marks whole) differ by st_dev. statfs()'s f_fsid
 * mixes the subvolume in too; FS_IOC_GETFSUUID needs a readable fd and
 * filesystems that set a UUID, and clones of one image share theirs. */
struct sb_id {
	unsigned major, minor;
};
/* The superblock of the mount with id mnt_id in t; -ENOENT if not in t. */
int mount_table_sb_of(const struct mount_table *t, uint64_t mnt_id, struct sb_id *ret);
/* Whether me is a mount of one of the n superblocks sbs. */
bool mount_on_superblock(const struct mount_entry *me, const struct sb_id *sbs, size_t n);

const char *mount_class_to_string(enum mount_class c); /* "local", "fuse", ... */
bool mount_class_is_fuse(enum mount_class c);	       /* FUSE or FUSE_BACKED */
/* Classifies a bare fstype string: fuse/fuseblk/fuse.* -> FUSE, nfs -> NETWORK,... */
enum mount_class fstype_class(const char *fstype);

/* The mount id of an open fd (statx STATX_MNT_ID, the id used in mountinfo).
 * ret_unique gets STATX_MNT_ID_UNIQUE when the kernel supports it, else 0. */
int fd_mount_id(int fd, uint64_t *ret_mnt_id, uint64_t *ret_unique);
/* Loads the table and finds the entry for fd. The copy in *ret_entry points
 * into *ret_table, which the caller frees. -ENOENT when the fd's mount is not in
 * this process's table (another namespace, a detached mount, or the private
 * clone of a layer that overlay opens files through: DESIGN.md §2). */
int fd_mount_entry(int fd, struct mount_table **ret_table, const struct mount_entry **ret_entry);

#define FUSE_SUPER_MAGIC 0x65735546
