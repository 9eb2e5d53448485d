/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The verdict store's writer thread ("fg-vstore"): what clean verdicts
 * depend on besides the file, and the writes, batched off the permission
 * path.
 *
 * The scanners' state is a SHA-256 over each active scanner's name and
 * what it says its verdicts depend on (digest(): the denylist's and
 * allowlist's digests, the YARA rules' digest; state(): clamd's VERSION,
 * i.e. its signature version). A scanner that can say neither (an
 * embedder's callback) keeps the store unused: nothing is looked up or
 * kept while it is registered. The state is published with the cache
 * generation it was computed for, read before it (cache_invalidate() bumps
 * the generation after the configuration changed): a lookup or insert
 * made under another generation does not use the store, so a denylist or
 * rules change takes effect for the store at once, like the flush of the
 * kernel's marks; a clamd signature update when scanstate.c sees it (1 s).
 * When the state differs from the one the entries were made under, the
 * store is emptied (counted: invalidations).
 *
 * Writes: inserts and deletes go through a bounded queue (overflow counted,
 * an insert dropped is a later rescan; a delete that cannot be queued
 * empties the store) and are committed in batches, one transaction each. A
 * crash loses what was queued or in the last commit, never vouches for
 * content that was not scanned: every entry carries the attributes the
 * file had before the scan read it. At the map size the store is emptied
 * (counted: resets) and refills. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <openssl/evp.h>
#include "answer-internal.h"
#include "fg-internal.h"
#include "scan-internal.h"
#include "store-internal.h"
#include "thread-internal.h"

/* Inserts wait this long for company before a commit. */
#define STORE_BATCH_MSEC 20
/* The state is asked again this often while a scanner cannot tell. */
#define STORE_STATE_RETRY_MSEC 1000

static void state_publish(struct fg_store *st, uint64_t gen, const uint8_t state[32])
{
	uint64_t w[4];

	memcpy(w, state, 32);
	/* Release stores: each is ordered after the odd seq above. */
	atomic_fetch_add_explicit(&st->seq, 1, memory_order_acq_rel);
	atomic_store_explicit(&st->pub_gen, gen, memory_order_release);
	for (int i = 0; i < 4; i++)
		atomic_store_explicit(&st->pub_state[i], w[i], memory_order_release);
	atomic_fetch_add_explicit(&st->seq, 1, memory_order_release);
}

/* 0 and the digest, or -EOPNOTSUPP (a scanner that cannot say what its
 * verdicts depend on), or < 0 (cannot tell now: clamd unreachable). */
static int state_compute(struct fanguard *fg, uint8_t ret[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint64_t active = 0;
	unsigned i = 0, len = 0;
	int r = 0;

	if (!ctx)
		return -ENOMEM;
	pthread_rwlock_rdlock(&fg->cfg_lock);
	for (struct scanner *s = atomic_load_explicit(&fg->scanners, memory_order_acquire);
	     s && i < 64; s = atomic_load_explicit(&s->next, memory_order_acquire), i++)
		if (!s->active || s->active(s))
			active |= UINT64_C(1) << i;
	pthread_rwlock_unlock(&fg->cfg_lock);
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, "fanguard-vstore-1", 18) != 1)
		r = -EIO;
	i = 0;
	for (struct scanner *s = atomic_load_explicit(&fg->scanners, memory_order_acquire);
	     s && i < 64 && r >= 0; s = atomic_load_explicit(&s->next, memory_order_acquire), i++) {
		char buf[SCANNER_STATE_MAX] = "";

		if (!(active & (UINT64_C(1) << i)))
			continue;
		if (s->digest)
			r = s->digest(s, buf, sizeof(buf));
		else if (s->state)
			r = s->state(s, buf, sizeof(buf));
		else
			r = -EOPNOTSUPP;
		if (r >= 0 && (EVP_DigestUpdate(ctx, s->name, strlen(s->name) + 1) != 1 ||
			       EVP_DigestUpdate(ctx, buf, strlen(buf) + 1) != 1))
			r = -EIO;
	}
	if (r >= 0 && EVP_DigestFinal_ex(ctx, ret, &len) != 1)
		r = -EIO;
	EVP_MD_CTX_free(ctx);
	return r < 0 ? r : 0;
}

static int meta_put(struct fg_store *st, MDB_txn *txn, const uint8_t state[32])
{
	struct store_meta m = {.format = STORE_FORMAT, .val_size = sizeof(struct store_val)};
	MDB_val k = {.mv_size = STORE_META_KEY_LEN, .mv_data = (void *) STORE_META_KEY};
	MDB_val v = {.mv_size = sizeof(m), .mv_data = &m};

	memcpy(m.magic, STORE_MAGIC, sizeof(m.magic));
	memcpy(m.state, state, 32);
	return mdb_put(txn, st->dbi, &k, &v, 0);
}

/* Empties the store and writes the header for state; counts what. */
static int store_empty(struct fg_store *st, const uint8_t state[32])
{
	MDB_txn *txn;
	MDB_stat ms;
	int r;

	r = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (r != 0)
		return r;
	r = mdb_stat(txn, st->dbi, &ms);
	if (r == 0)
		r = mdb_drop(txn, st->dbi, 0);
	if (r == 0)
		r = meta_put(st, txn, state);
	if (r != 0) {
		mdb_txn_abort(txn);
		return r;
	}
	r = mdb_txn_commit(txn);
	if (r == 0) {
		memcpy(st->meta_state, state, 32);
		st->meta_known = true;
		if (ms.ms_entries > 1)
			atomic_fetch_add(&st->invalidated, ms.ms_entries - 1);
	}
	return r;
}

/* The writer thread: recomputes and publishes the state. */
static void state_refresh(struct fg_store *st)
{
	struct fanguard *fg = st->fg;
	uint8_t state[32];
	uint64_t gen = cache_gen(fg); /* before the configuration is read */
	int r;

	r = state_compute(fg, state);
	pthread_mutex_lock(&st->lock);
	st->dirty = r < 0 || gen != cache_gen(fg);
	pthread_mutex_unlock(&st->lock);
	if (r < 0)
		return;
	if (!st->meta_known || memcmp(state, st->meta_state, 32) != 0) {
		r = store_empty(st, state);
		if (r != 0) {
			atomic_fetch_add(&st->errors, 1);
			fg_log(fg, LOG_WARNING, "verdict store %s: cannot empty it: %s", st->path,
			       mdb_strerror(r));
			return; /* not published: the store stays unused */
		}
	}
	state_publish(st, gen, state);
}

/* Commits ops[0..n); at the map size empties the store and drops them. */
static void commit_batch(struct fg_store *st, const struct store_op *ops, unsigned n)
{
	MDB_txn *txn;
	unsigned puts = 0;
	int r;

	r = mdb_txn_begin(st->env, NULL, 0, &txn);
	for (unsigned i = 0; i < n && r == 0; i++) {
		MDB_val k = {.mv_size = ops[i].key_len, .mv_data = (void *) ops[i].key};
		MDB_val v = {.mv_size = sizeof(ops[i].val), .mv_data = (void *) &ops[i].val};

		if (ops[i].kind == STORE_OP_PUT) {
			/* Made under a state the entries are no longer under. */
			if (!st->meta_known || memcmp(ops[i].val.state, st->meta_state, 32) != 0)
				continue;
			r = mdb_put(txn, st->dbi, &k, &v, 0);
			puts++;
		} else {
			r = mdb_del(txn, st->dbi, &k, NULL);
			if (r == MDB_NOTFOUND)
				r = 0;
		}
	}
	if (r == 0)
		r = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	if (r == 0) {
		atomic_fetch_add(&st->inserts, puts);
		return;
	}
	if (r == MDB_MAP_FULL || r == MDB_TXN_FULL) {
		atomic_fetch_add(&st->resets, 1);
		fg_log(st->fg, LOG_INFO, "verdict store %s: full (%llu bytes): emptied, refills",
		       st->path, (unsigned long long) st->max_bytes);
	} else {
		atomic_fetch_add(&st->errors, 1);
		fg_log(st->fg, LOG_WARNING, "verdict store %s: write failed: %s: emptied", st->path,
		       mdb_strerror(r));
	}
	/* The deletes in it may be lost: empty rather than keep stale ones. */
	if (st->meta_known && store_empty(st, st->meta_state) != 0)
		st->meta_known = false;
}

static void *writer_main(void *userdata)
{
	struct fg_store *st = userdata;
	struct store_op *batch = calloc(STORE_QUEUE_LEN, sizeof(*batch));

	pthread_mutex_lock(&st->lock);
	for (;;) {
		unsigned n = 0;
		bool dirty, lost;
		struct timespec ts;

		while (!st->stop && !st->dirty && st->n == 0 && !st->lost_delete)
			pthread_cond_wait(&st->cond, &st->lock);
		dirty = st->dirty;
		if (!st->stop && st->n > 0 && st->n < STORE_QUEUE_LEN / 2 && !dirty) {
			/* Company for the commit (one fdatasync per batch). */
			ts = usec_to_timespec(now_usec() + STORE_BATCH_MSEC * USEC_PER_MSEC);
			while (!st->stop && st->n < STORE_QUEUE_LEN / 2 &&
			       pthread_cond_timedwait(&st->cond, &st->lock, &ts) != ETIMEDOUT)
				;
		}
		lost = st->lost_delete;
		st->lost_delete = false;
		if (batch)
			for (; st->n > 0; st->n--, n++) {
				batch[n] = st->ops[st->head];
				st->head = (st->head + 1) % STORE_QUEUE_LEN;
			}
		pthread_mutex_unlock(&st->lock);
		if (dirty)
			state_refresh(st);
		if (lost && st->meta_known)
			(void) store_empty(st, st->meta_state);
		if (n > 0)
			commit_batch(st, batch, n);
		pthread_mutex_lock(&st->lock);
		if (st->stop && st->n == 0)
			break;
		if (st->dirty && !st->stop) {
			/* A scanner could not tell: ask again later. */
			ts = usec_to_timespec(now_usec() + STORE_STATE_RETRY_MSEC * USEC_PER_MSEC);
			while (!st->stop &&
			       pthread_cond_timedwait(&st->cond, &st->lock, &ts) != ETIMEDOUT)
				;
		}
	}
	pthread_mutex_unlock(&st->lock);
	free(batch);
	return NULL;
}

void store_state_prime(struct fg_store *st)
{
	state_refresh(st);
}

int store_writer_start(struct fg_store *st)
{
	int r;

	pthread_mutex_lock(&st->lock);
	if (st->running || st->stop) {
		pthread_mutex_unlock(&st->lock);
		return 0;
	}
	r = fg_thread_start(&st->thread, "fg-vstore", writer_main, st, /* detached= */ false);
	if (r >= 0)
		st->running = true;
	pthread_mutex_unlock(&st->lock);
	return r;
}

void store_writer_stop(struct fg_store *st)
{
	bool running;

	pthread_mutex_lock(&st->lock);
	running = st->running;
	st->running = false;
	st->stop = true;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	if (running)
		(void) pthread_join(st->thread, NULL);
}

/* false if the queue is full or the writer stopped. */
static bool enqueue(struct fg_store *st, const struct store_op *op)
{
	bool ok;

	pthread_mutex_lock(&st->lock);
	ok = !st->stop && st->n < STORE_QUEUE_LEN;
	if (ok) {
		st->ops[(st->head + st->n) % STORE_QUEUE_LEN] = *op;
		if (st->n++ == 0)
			pthread_cond_signal(&st->cond);
	} else if (op->kind == STORE_OP_DEL && !st->stop) {
		st->lost_delete = true;
		pthread_cond_signal(&st->cond);
	}
	pthread_mutex_unlock(&st->lock);
	return ok;
}

void store_note_clean(struct fg_store *st, int fd, const struct fg_change_attrs *a, uint64_t gen,
		      uint64_t received_usec)
{
	struct store_op op = {.kind = STORE_OP_PUT};
	uint8_t state[32];
	struct timespec rt;
	int64_t stat_rt;

	if (!store_state_for(st, gen, state))
		return;
	/* The statx was at receipt: now, minus the time since. */
	(void) clock_gettime(CLOCK_REALTIME, &rt);
	stat_rt = rt.tv_sec * 1000000000ll + rt.tv_nsec -
		  (int64_t) (now_usec() - received_usec) * 1000;
	if (!store_attrs_settled(a, stat_rt))
		return;
	if (store_key_of_fd(fd, NULL, op.key, &op.key_len) < 0)
		return;
	store_val_make(a, state, &op.val);
	if (!enqueue(st, &op))
		atomic_fetch_add_explicit(&st->dropped, 1, memory_order_relaxed);
}

void store_note_changed(struct fg_store *st, int fd)
{
	struct store_op op = {.kind = STORE_OP_DEL};

	if (store_key_of_fd(fd, NULL, op.key, &op.key_len) < 0)
		return;
	if (!enqueue(st, &op))
		atomic_fetch_add_explicit(&st->dropped, 1, memory_order_relaxed);
}

void store_invalidate(struct fg_store *st)
{
	pthread_mutex_lock(&st->lock);
	st->dirty = true;
	pthread_cond_signal(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

struct fg_store *store_close(struct fg_store *st)
{
	if (st && st->env)
		store_writer_stop(st);
	return store_free(st);
}
