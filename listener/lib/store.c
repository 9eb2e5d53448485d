/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The persistent verdict store: clean verdicts that survive a restart, an
 * upgrade or a reboot, in an LMDB environment (crash-safe by design: copy
 * on write, two meta pages; a crash loses at most the last commits).
 *
 * Key: the filesystem's UUID (FS_IOC_GETFSUUID, 6.5) and the file's handle
 * (name_to_handle_at() of the event fd: inode and generation, so a reused
 * inode is another key). Not st_dev: it changes across reboots on tmpfs,
 * overlay, btrfs and dm. Value: size, mtime and ctime in nanoseconds at
 * the scan, and the digest of the scanners' state (store-writer.c); a
 * lookup vouches for the file only if all of them match now.
 *
 * Only local filesystems whose content changes only through this kernel:
 * ext2/3/4, xfs, btrfs, f2fs, and tmpfs (its UUID is random per mount:
 * entries outlive a daemon restart, never a remount or reboot, and can
 * never match another file). Never FUSE or network filesystems (their
 * content changes behind the kernel's back, and a FUSE daemon sets ctime
 * as it likes), nor overlay or ecryptfs (a lower layer changes without the
 * upper inode's ctime). A filesystem that reports no UUID (all zeros) is
 * not kept either.
 *
 * The store is the root's: its directory and files must be owned by our
 * euid and closed to group and others, checked at open (refused, not
 * fixed); LMDB then opens it through /proc/self/fd of the directory we
 * checked, so a rename of a parent cannot swap it. A store LMDB refuses, a
 * data file shorter than its last page (reads would fault on the mapping),
 * or one without our header or with an entry of the wrong shape is moved
 * aside (data.mdb.corrupt), logged and started empty.
 *
 * On the permission path: store_lookup() on a reader, one read-only
 * transaction, no write and no lock of ours. Never logs synchronously. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/vfs.h>
#include <syslog.h>
#include <unistd.h>
#include <linux/magic.h>
#include "answer-internal.h"
#include "fg-internal.h"
#include "macro.h"
#include "private-dir.h"
#include "store-internal.h"

#ifndef XFS_SUPER_MAGIC
#define XFS_SUPER_MAGIC 0x58465342
#endif
#ifndef F2FS_SUPER_MAGIC
#define F2FS_SUPER_MAGIC 0xF2F52010
#endif

static bool fs_kept(long f_type)
{
	switch ((unsigned long) f_type) {
	case EXT4_SUPER_MAGIC: /* ext2, ext3 too */
	case XFS_SUPER_MAGIC:
	case BTRFS_SUPER_MAGIC:
	case F2FS_SUPER_MAGIC:
	case TMPFS_MAGIC:
		return true;
	default:
		return false;
	}
}

int store_key_make(const uint8_t uuid[STORE_UUID_LEN], int handle_type, const uint8_t *handle,
		   unsigned handle_len, uint8_t key[STORE_KEY_MAX], uint8_t *ret_len)
{
	static const uint8_t zero[STORE_UUID_LEN];
	uint32_t t = (uint32_t) handle_type;

	if (memcmp(uuid, zero, sizeof(zero)) == 0 || handle_len == 0 ||
	    handle_len > STORE_HANDLE_MAX)
		return -EOPNOTSUPP;
	memcpy(key, uuid, STORE_UUID_LEN);
	for (int i = 0; i < 4; i++)
		key[STORE_UUID_LEN + i] = (uint8_t) (t >> (8 * i));
	memcpy(key + STORE_UUID_LEN + 4, handle, handle_len);
	*ret_len = (uint8_t) (STORE_UUID_LEN + 4 + handle_len);
	return 0;
}

int store_key_of_fd(int fd, const struct sbinfo *sb, uint8_t key[STORE_KEY_MAX], uint8_t *ret_len)
{
	struct {
		struct file_handle fh;
		uint8_t bytes[STORE_HANDLE_MAX];
	} h;
	struct sbinfo own = {};
	int mnt_id;

	if (!sb && !(sb = sbinfo_get(&own, fd, NULL, /* want_uuid= */ true)))
		return -errno;
	if (!fs_kept(sb->f_type) || !sb->uuid_ok)
		return -EOPNOTSUPP;
	h.fh.handle_bytes = STORE_HANDLE_MAX;
	if (name_to_handle_at(fd, "", &h.fh, &mnt_id, AT_EMPTY_PATH) < 0)
		return -EOPNOTSUPP;
	return store_key_make(sb->uuid, h.fh.handle_type, h.fh.f_handle, h.fh.handle_bytes, key,
			      ret_len);
}

void store_val_make(const struct fg_change_attrs *a, const uint8_t state[32], struct store_val *ret)
{
	*ret = (struct store_val){
		.format = STORE_FORMAT,
		.ctime_nsec = a->ctime_nsec,
		.size = a->size,
		.mtime_sec = a->mtime_sec,
		.ctime_sec = a->ctime_sec,
		.mtime_nsec = a->mtime_nsec,
	};
	memcpy(ret->magic, STORE_MAGIC, sizeof(ret->magic));
	memcpy(ret->state, state, 32);
}

bool store_val_matches(const void *val, size_t len, const struct fg_change_attrs *a,
		       const uint8_t state[32])
{
	struct store_val v, want;

	if (len != sizeof(v))
		return false;
	memcpy(&v, val, sizeof(v)); /* LMDB values need not be aligned */
	store_val_make(a, state, &want);
	return memcmp(&v, &want, sizeof(v)) == 0;
}

bool store_attrs_settled(const struct fg_change_attrs *a, int64_t stat_realtime_nsec)
{
	int64_t ctime = a->ctime_sec * 1000000000ll + a->ctime_nsec;

	return ctime <= stat_realtime_nsec - STORE_SETTLE_NSEC;
}

bool store_lookup(struct fg_store *st, int fd, const struct sbinfo *sb,
		  const struct fg_change_attrs *a, uint64_t gen)
{
	uint8_t key[STORE_KEY_MAX], state[32];
	uint8_t key_len;
	MDB_txn *txn;
	MDB_val k, v;
	bool hit = false;
	int r;

	if (!store_state_for(st, gen, state)) {
		atomic_fetch_add_explicit(&st->bypassed, 1, memory_order_relaxed);
		return false;
	}
	if (store_key_of_fd(fd, sb, key, &key_len) < 0) {
		atomic_fetch_add_explicit(&st->unsupported, 1, memory_order_relaxed);
		return false;
	}
	r = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (r != MDB_SUCCESS) {
		atomic_fetch_add_explicit(&st->errors, 1, memory_order_relaxed);
		return false;
	}
	k = (MDB_val){.mv_size = key_len, .mv_data = key};
	r = mdb_get(txn, st->dbi, &k, &v);
	if (r == MDB_SUCCESS)
		hit = store_val_matches(v.mv_data, v.mv_size, a, state);
	mdb_txn_abort(txn);
	if (hit)
		atomic_fetch_add_explicit(&st->hits, 1, memory_order_relaxed);
	else if (r == MDB_SUCCESS)
		atomic_fetch_add_explicit(&st->stale, 1, memory_order_relaxed);
	else if (r == MDB_NOTFOUND)
		atomic_fetch_add_explicit(&st->misses, 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&st->errors, 1, memory_order_relaxed);
	return hit;
}

/* --- opening ------------------------------------------------------------ */

/* Ours alone: owned by euid, nothing for group or others (private-dir.h:
 * fanguardd --check-config says the same). */
static int check_owner(struct fanguard *fg, const char *path, const char *what,
		       const struct stat *stt)
{
	char why[256];
	int r = private_owner_check(what, stt, geteuid(), why, sizeof(why));

	if (r < 0)
		fg_log(fg, LOG_ERR, "verdict store %s: %s", path, why);
	return r;
}

static int check_file(struct fanguard *fg, int dfd, const char *path, const char *name)
{
	char why[256];
	int r = private_file_check(dfd, name, geteuid(), why, sizeof(why));

	if (r == -EPERM)
		fg_log(fg, LOG_ERR, "verdict store %s: %s", path, why);
	return r;
}

/* Reads every entry: an LMDB error or an entry not of our shape is a store
 * we cannot trust. 0, or a description in why. */
static int verify(struct fg_store *st, char *why, size_t len)
{
	struct store_meta meta;
	MDB_envinfo info;
	MDB_cursor *cur = NULL;
	MDB_txn *txn = NULL;
	MDB_stat ms;
	MDB_val k, v;
	struct stat stt;
	int fd, r;

	if (mdb_env_get_fd(st->env, &fd) != 0 || fstat(fd, &stt) < 0)
		return snprintf(why, len, "cannot stat the data file"), -EIO;
	r = mdb_env_info(st->env, &info);
	if (r == 0)
		r = mdb_env_stat(st->env, &ms);
	if (r != 0)
		return snprintf(why, len, "%s", mdb_strerror(r)), -EIO;
	/* Pages past the end of the file would fault (SIGBUS) on the map. */
	if ((uint64_t) stt.st_size < ((uint64_t) info.me_last_pgno + 1) * ms.ms_psize)
		return snprintf(why, len, "truncated (%lld bytes, %zu pages in use)",
				(long long) stt.st_size, info.me_last_pgno + 1),
		       -EIO;
	r = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (r == 0)
		r = mdb_dbi_open(txn, NULL, 0, &st->dbi);
	if (r == 0)
		r = mdb_cursor_open(txn, st->dbi, &cur);
	if (r != 0)
		goto lmdb_error;
	k = (MDB_val){.mv_size = STORE_META_KEY_LEN, .mv_data = (void *) STORE_META_KEY};
	r = mdb_get(txn, st->dbi, &k, &v);
	if (r == MDB_NOTFOUND && ms.ms_entries == 0) {
		st->meta_known = false; /* empty: new, the writer adds the header */
		r = 0;
		goto out;
	}
	if (r == MDB_NOTFOUND || (r == 0 && v.mv_size != sizeof(meta))) {
		snprintf(why, len, "no fanguard header (a foreign store?)");
		r = -EBADMSG;
		goto out;
	}
	if (r != 0)
		goto lmdb_error;
	memcpy(&meta, v.mv_data, sizeof(meta));
	if (memcmp(meta.magic, STORE_MAGIC, sizeof(meta.magic)) != 0 ||
	    meta.format != STORE_FORMAT || meta.val_size != sizeof(struct store_val)) {
		snprintf(why, len, "header of another format (%u)", meta.format);
		r = -EBADMSG;
		goto out;
	}
	memcpy(st->meta_state, meta.state, 32);
	st->meta_known = true;
	for (MDB_cursor_op op = MDB_FIRST; (r = mdb_cursor_get(cur, &k, &v, op)) == 0;
	     op = MDB_NEXT) {
		struct store_val sv;

		if (k.mv_size == STORE_META_KEY_LEN &&
		    memcmp(k.mv_data, STORE_META_KEY, STORE_META_KEY_LEN) == 0)
			continue;
		if (k.mv_size < STORE_KEY_MIN || k.mv_size > STORE_KEY_MAX ||
		    v.mv_size != sizeof(sv)) {
			snprintf(why, len, "an entry of the wrong shape");
			r = -EBADMSG;
			goto out;
		}
		memcpy(&sv, v.mv_data, sizeof(sv));
		if (memcmp(sv.magic, STORE_MAGIC, sizeof(sv.magic)) != 0 ||
		    sv.format != STORE_FORMAT) {
			snprintf(why, len, "an entry of another format");
			r = -EBADMSG;
			goto out;
		}
	}
	if (r == MDB_NOTFOUND) {
		r = 0;
		goto out;
	}
lmdb_error:
	snprintf(why, len, "%s", mdb_strerror(r));
	r = -EIO;
out:
	if (cur)
		mdb_cursor_close(cur);
	if (txn)
		mdb_txn_abort(txn);
	return r;
}

static void env_close(struct fg_store *st)
{
	if (st->env)
		mdb_env_close(st->env);
	st->env = NULL;
}

static int env_open(struct fg_store *st, int dfd, char *why, size_t len)
{
	char p[64];
	int r;

	/* A file too short for LMDB's two meta pages would be taken for a
	 * new store and silently overwritten: say it was truncated. */
	struct stat stt;
	if (fstatat(dfd, "data.mdb", &stt, AT_SYMLINK_NOFOLLOW) == 0 && stt.st_size < 8192) {
		snprintf(why, len, "truncated (%lld bytes)", (long long) stt.st_size);
		return -EIO;
	}
	(void) snprintf(p, sizeof(p), "/proc/self/fd/%d", dfd);
	r = mdb_env_create(&st->env);
	if (r == 0)
		r = mdb_env_set_mapsize(st->env, st->max_bytes);
	if (r == 0)
		r = mdb_env_set_maxreaders(st->env, 1024);
	/* NOMETASYNC: one fdatasync per commit, the meta page unsynced: a
	 * system crash may undo the last commit, never corrupt the store. */
	if (r == 0)
		r = mdb_env_open(st->env, p, MDB_NOMETASYNC, 0600);
	if (r != 0) {
		snprintf(why, len, "%s", mdb_strerror(r));
		env_close(st);
		/* A system error (EACCES, ENOSPC, EROFS...) says nothing about
		 * the store: report it. LMDB's own (< 0: MDB_INVALID,
		 * MDB_VERSION_MISMATCH, MDB_CORRUPTED...) are about the store. */
		return r > 0 ? -r : -EIO;
	}
	/* Reader slots of processes that died (a crash) would pile up. */
	(void) mdb_reader_check(st->env, NULL);
	r = verify(st, why, len);
	if (r < 0)
		env_close(st);
	return r;
}

int store_open(struct fanguard *fg, const char *path, uint64_t max_bytes, struct fg_store **ret)
{
	_cleanup_close_ int dfd = -EBADF;
	struct fg_store *st;
	struct stat stt;
	char why[160] = "";
	int r;

	if (!path || path[0] != '/')
		return -EINVAL;
	if (max_bytes == 0)
		max_bytes = STORE_DEFAULT_MAX_BYTES;
	if (max_bytes < STORE_MIN_MAX_BYTES)
		return -EINVAL;
	(void) logq_start(fg->logq); /* before fanguard_start(): say why it failed */
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	if (fstat(dfd, &stt) < 0)
		return -errno;
	r = check_owner(fg, path, "the directory", &stt);
	if (r >= 0)
		r = check_file(fg, dfd, path, "data.mdb");
	if (r >= 0)
		r = check_file(fg, dfd, path, "lock.mdb");
	if (r < 0)
		return r;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->fg = fg;
	st->max_bytes = max_bytes;
	st->path = strdup(path);
	st->ops = calloc(STORE_QUEUE_LEN, sizeof(*st->ops));
	if (!st->path || !st->ops) {
		store_free(st);
		return -ENOMEM;
	}
	r = env_open(st, dfd, why, sizeof(why));
	if (r < 0 && r != -EIO && r != -EBADMSG) {
		fg_log(fg, LOG_ERR, "verdict store %s: %s", path, why);
		store_free(st);
		return r;
	}
	if (r < 0) {
		/* Kept for a look, replacing an older one: bounded. */
		fg_log(fg, LOG_WARNING,
		       "verdict store %s: %s: moved aside to data.mdb.corrupt, starting empty",
		       path, why);
		if (renameat(dfd, "data.mdb", dfd, "data.mdb.corrupt") < 0 && errno != ENOENT)
			(void) unlinkat(dfd, "data.mdb", 0);
		(void) unlinkat(dfd, "lock.mdb", 0);
		atomic_fetch_add(&st->rebuilds, 1);
		r = env_open(st, dfd, why, sizeof(why));
		if (r < 0) {
			fg_log(fg, LOG_ERR, "verdict store %s: cannot start an empty store: %s",
			       path, why);
			store_free(st);
			return r;
		}
	}
	pthread_mutex_init(&st->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&st->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	st->dirty = true; /* compute the scanners' state first */
	*ret = st;
	return 0;
}

struct fg_store *store_free(struct fg_store *st)
{
	if (!st)
		return NULL;
	if (st->env) {
		pthread_mutex_destroy(&st->lock);
		pthread_cond_destroy(&st->cond);
	}
	env_close(st);
	free(st->ops);
	free(st->path);
	free(st);
	return NULL;
}

int fanguard_set_verdict_store(struct fanguard *fg, const char *path, uint64_t max_bytes)
{
	struct fg_store *st = NULL;
	int r;

	if (!fg || !path || path[0] != '/')
		return -EINVAL;
	pthread_mutex_lock(&fg->lock);
	r = fg->started || fg->stopped ? -EBUSY : fg->store ? -EEXIST : 0;
	pthread_mutex_unlock(&fg->lock);
	if (r < 0)
		return r;
	r = store_open(fg, path, max_bytes, &st);
	if (r < 0)
		return r;
	pthread_mutex_lock(&fg->lock);
	r = fg->started || fg->stopped ? -EBUSY : fg->store ? -EEXIST : 0;
	if (r == 0)
		fg->store = TAKE_PTR(st);
	pthread_mutex_unlock(&fg->lock);
	store_free(st);
	return r;
}

/* The reader half of the seqlock whose writer is state_publish()
 * (store-writer.c). */
bool store_state_for(struct fg_store *st, uint64_t gen, uint8_t ret[32])
{
	for (;;) {
		uint64_t s1 = atomic_load_explicit(&st->seq, memory_order_acquire), g, w[4];

		if (s1 & 1)
			continue;
		/* Acquire loads, not a fence (TSan knows no fences): the
		 * second read of seq cannot move above them, and a value one
		 * of them takes from a writer makes that writer's odd seq
		 * visible to it. */
		g = atomic_load_explicit(&st->pub_gen, memory_order_acquire);
		for (int i = 0; i < 4; i++)
			w[i] = atomic_load_explicit(&st->pub_state[i], memory_order_acquire);
		if (atomic_load_explicit(&st->seq, memory_order_acquire) != s1)
			continue;
		if (g == 0 || g != gen)
			return false;
		memcpy(ret, w, 32);
		return true;
	}
}
