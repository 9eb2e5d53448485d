/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The persistent verdict store (store.c: open, checks, key, lookup;
 * store-writer.c: the scanner state and the batched writes). Clean verdicts
 * kept in an LMDB environment across restarts and reboots, keyed by what
 * names a file across them (filesystem UUID + file handle), valid while the
 * file's size, mtime and ctime and the scanners' state are unchanged. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <lmdb.h>
#include "sbinfo-internal.h"

struct fanguard;
struct fg_change_attrs;
struct statx;

#define STORE_UUID_LEN 16
/* Larger handles (none of the filesystems we keep uses one) are not kept. */
#define STORE_HANDLE_MAX 64
/* uuid, handle type (le32), handle bytes */
#define STORE_KEY_MAX (STORE_UUID_LEN + 4 + STORE_HANDLE_MAX)
#define STORE_KEY_MIN (STORE_UUID_LEN + 4 + 1)
#define STORE_FORMAT 1
#define STORE_MAGIC "FGVSTORE"
/* The header record: shorter than any entry's key, so never one. */
#define STORE_META_KEY "\0fanguard-meta"
#define STORE_META_KEY_LEN 14
/* [64 MiB] map size: at the size an insert finds the store full, empties
 * it and counts a reset (the entries refill). */
#define STORE_DEFAULT_MAX_BYTES (64ull << 20)
#define STORE_MIN_MAX_BYTES (1ull << 20)
/* A file whose ctime is this close to its statx is not kept: on a kernel
 * without multigrain timestamps (< 6.13) a write in the same clock tick
 * would leave ctime unchanged. */
#define STORE_SETTLE_NSEC (50 * 1000 * 1000ll)
#define STORE_QUEUE_LEN 8192

/* The stored value, little endian on disk (we only read our own). */
struct store_val {
	char magic[8]; /* STORE_MAGIC */
	uint32_t format;
	uint32_t ctime_nsec;
	uint64_t size;
	int64_t mtime_sec, ctime_sec;
	uint32_t mtime_nsec;
	uint32_t pad;
	uint8_t state[32]; /* the scanners' state digest it was made under */
};

struct store_meta {
	char magic[8];
	uint32_t format;
	uint32_t val_size;
	uint8_t state[32]; /* the state the entries were made under */
};

enum store_op_kind { STORE_OP_PUT, STORE_OP_DEL };

struct store_op {
	uint8_t kind;
	uint8_t key_len;
	uint8_t key[STORE_KEY_MAX];
	struct store_val val;
};

struct fg_store {
	struct fanguard *fg;
	MDB_env *env;
	MDB_dbi dbi;
	char *path;
	uint64_t max_bytes;

	/* The scanners' state for one cache generation (seqlock: odd while
	 * the writer thread publishes): lookups and inserts use the store only
	 * when pub_gen is the cache's current generation. */
	_Atomic uint64_t seq, pub_gen, pub_state[4];

	/* The writer thread and its queue, under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	pthread_t thread;
	bool running, stop, dirty, lost_delete;
	struct store_op *ops;
	unsigned head, n;
	uint8_t meta_state[32]; /* writer thread only */
	bool meta_known;

	_Atomic uint64_t hits, misses, stale, inserts, invalidated, rebuilds, resets, dropped,
		errors, unsupported, bypassed;
};

/* --- store.c ---------------------------------------------------------- */

/* Opens (creates) the store in directory path: refuses a directory or file
 * not owned by our euid or open to group/others (-EPERM, logged), moves a
 * corrupt, truncated or foreign store aside and starts an empty one. */
int store_open(struct fanguard *fg, const char *path, uint64_t max_bytes, struct fg_store **ret);
/* NULL-safe; the writer must not run (store_close() stops it first). */
struct fg_store *store_free(struct fg_store *st);
/* Stops the writer (what is queued is written), then store_free(). */
struct fg_store *store_close(struct fg_store *st);
/* The key of the file open at fd: its filesystem's UUID and its handle.
 * -EOPNOTSUPP for a filesystem we do not keep, or without UUID or handle.
 * sb: the facts of fd's superblock (a reader's, sbinfo.c), or NULL to look
 * them up. */
int store_key_of_fd(int fd, const struct sbinfo *sb, uint8_t key[STORE_KEY_MAX], uint8_t *ret_len);
/* Builds a key from its parts; -EOPNOTSUPP (zero UUID, handle too long). */
int store_key_make(const uint8_t uuid[STORE_UUID_LEN], int handle_type, const uint8_t *handle,
		   unsigned handle_len, uint8_t key[STORE_KEY_MAX], uint8_t *ret_len);
void store_val_make(const struct fg_change_attrs *a, const uint8_t state[32],
		    struct store_val *ret);
/* Whether a stored value vouches for a file with attributes a under state. */
bool store_val_matches(const void *val, size_t len, const struct fg_change_attrs *a,
		       const uint8_t state[32]);
/* Whether the file may be kept: its ctime settled before the statx at
 * stat_realtime_nsec (CLOCK_REALTIME). */
bool store_attrs_settled(const struct fg_change_attrs *a, int64_t stat_realtime_nsec);
/* On a reader, before a scan: true if the store has a clean verdict for
 * the file open at fd (superblock facts sb, or NULL) with attributes a,
 * made under the state of the cache generation gen. */
bool store_lookup(struct fg_store *st, int fd, const struct sbinfo *sb,
		  const struct fg_change_attrs *a, uint64_t gen);

/* --- store-writer.c ----------------------------------------------------- */

/* Computes and publishes the scanners' state now, on the caller's thread
 * (fanguard_start(), before the readers run: the first opens use the
 * store); the writer retries if a scanner cannot tell yet. */
void store_state_prime(struct fg_store *st);
int store_writer_start(struct fg_store *st);
/* Writes what is queued, joins the thread. */
void store_writer_stop(struct fg_store *st);
/* The published state for generation gen (false: none, or another gen). */
bool store_state_for(struct fg_store *st, uint64_t gen, uint8_t ret[32]);
/* After a clean scan made under generation gen of a file whose
 * attributes at receipt were a (received at received_usec, monotonic). */
void store_note_clean(struct fg_store *st, int fd, const struct fg_change_attrs *a, uint64_t gen,
		      uint64_t received_usec);
/* The file at fd changed (FAN_CLOSE_WRITE) or its mark was revoked. */
void store_note_changed(struct fg_store *st, int fd);
/* The scanners' configuration changed (cache_invalidate()). */
void store_invalidate(struct fg_store *st);
