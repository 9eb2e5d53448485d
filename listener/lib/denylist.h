/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <stdatomic.h>
/* The SHA-256 denylist: a streaming parser that expects hostile input, a
 * compact immutable set (32 bytes per digest, sorted, with a 16-bit prefix
 * index: a lookup is one index read and a binary search over ~n/65536
 * digests), and a slot that publishes a new set with one pointer swap.
 *
 * Life of a set: a builder collects digests (from files or arrays) off to
 * the side, denylist_builder_finish() sorts and deduplicates in place into
 * an immutable, refcounted struct denylist, denylist_slot_publish() swaps it
 * in. Readers (the permission path) take a reference with
 * denylist_slot_acquire(), look up, and drop it; the old set is freed by
 * whoever drops its last reference. Memory: the set's size while building
 * (no copy, no sort buffer), and during a reload old and new coexist: twice
 * the size at most.
 *
 * FIXME: the slot is a stand-in for the core's generic "immutable snapshot
 * behind one pointer" mechanism; denylist_slot_* maps onto it one to one. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

/* Most digests one set holds (2 GiB): beyond, loading fails with -EFBIG
 * instead of exhausting memory or cutting silently. */
#define DENYLIST_MAX_DIGESTS (64u << 20)

struct denylist;

struct denylist *denylist_ref(struct denylist *dl);
struct denylist *denylist_unref(struct denylist *dl); /* NULL-safe, returns NULL */
size_t denylist_size(const struct denylist *dl);      /* NULL: 0 */
bool denylist_contains(const struct denylist *dl, const uint8_t digest[32]);
/* The sorted digests (n * 32 bytes), for a digest of the whole set. */
const void *denylist_bytes(const struct denylist *dl, size_t *ret_len);
/* The set's digest (scan-sha256.c sets it before publishing; the verdict
 * store keys on it); NULL: all zeros. */
void denylist_set_digest(struct denylist *dl, const uint8_t digest[32]);
void denylist_get_digest(const struct denylist *dl, uint8_t ret[32]);

/* --- building ------------------------------------------------------------ */

struct denylist_builder;

int denylist_builder_new(struct denylist_builder **ret);
struct denylist_builder *denylist_builder_free(struct denylist_builder *b);
int denylist_builder_add(struct denylist_builder *b, const uint8_t (*digests)[32], size_t n);
/* Adds every digest of an existing set (for appends). */
int denylist_builder_add_set(struct denylist_builder *b, const struct denylist *dl);
/* Reads a denylist file, streaming. Only a regular file is read: it is
 * opened O_NONBLOCK|O_NOFOLLOW (a FIFO never blocks, a symlink is -ELOOP)
 * and checked with fstat(): -EISDIR, or -EBADFD for a FIFO, device or
 * socket. -EBADMSG for a bad line and -EILSEQ for a NUL byte (*ret_line
 * set), -ENODATA if the file holds no digest, -EFBIG past
 * DENYLIST_MAX_DIGESTS. Returns the number of digest lines read. On error
 * the builder may hold part of the file: free it. */
int denylist_builder_add_file(struct denylist_builder *b, const char *path, unsigned *ret_line);
/* Sorts, drops duplicates, gives the memory to an immutable set (the
 * builder is then empty). */
int denylist_builder_finish(struct denylist_builder *b, struct denylist **ret);

/* --- parsing (exposed for the fuzzer and the tests) ---------------------- */

/* Line format: optional blanks, 64 hex digits (either case), then the end
 * of the line, a blank (then anything: sha256sum's "  name") or '#'. Blank
 * lines, lines starting with '#' and a lone '\r' before '\n' are fine. A
 * NUL byte anywhere is an error. The state carries across chunks, so a
 * file is parsed in fixed-size reads whatever its line lengths. */
struct denylist_parser {
	unsigned line; /* 1-based line of the next byte */
	int state;
	unsigned nhex;
	uint8_t digest[32];
};

void denylist_parser_init(struct denylist_parser *p);
/* Feeds bytes; calls emit(userdata, digest) per digest (a negative return
 * stops the parse with that error). -EBADMSG / -EILSEQ with p->line on the
 * offending line. */
int denylist_parser_feed(struct denylist_parser *p, const char *buf, size_t n,
			 int (*emit)(void *userdata, const uint8_t digest[32]), void *userdata);
/* End of input: a digest on a last line without '\n' counts; a cut one is
 * -EBADMSG. */
int denylist_parser_finish(struct denylist_parser *p,
			   int (*emit)(void *userdata, const uint8_t digest[32]), void *userdata);

/* --- publishing ---------------------------------------------------------- */

struct denylist_slot {
	pthread_mutex_t lock; /* held only to load the pointer and take a ref */
	struct denylist *cur; /* protected by lock; NULL: empty */
	/* cur's size, for the permission path's "anything to look for?",
	 * asked twice per event: a load, where acquiring took the lock
	 * (contended between readers on every CPU). */
	_Atomic size_t n;
	/* Held by a publisher across acquire, build and publish when the new
	 * set derives from the current one (appends), so none is lost. Never
	 * taken on the permission path. */
	pthread_mutex_t writers;
};

void denylist_slot_init(struct denylist_slot *s);
void denylist_slot_done(struct denylist_slot *s);
/* A reference to the current set (NULL if none); denylist_unref() it. */
struct denylist *denylist_slot_acquire(struct denylist_slot *s);
/* Swaps dl in (takes over the caller's reference, NULL empties) and drops
 * the slot's reference to the old set. */
void denylist_slot_publish(struct denylist_slot *s, struct denylist *dl);
size_t denylist_slot_size(struct denylist_slot *s);
