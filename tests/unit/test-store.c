/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The verdict store (listener/lib/store.c, store-writer.c): its key and
 * value, the ownership checks, and what it does with a corrupt, truncated
 * or foreign store. Unprivileged: the store lives in a fresh directory
 * under /tmp; the lookup case needs a tmpfs at /dev/shm (skipped without). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <time.h>
#include <unistd.h>
#include "answer-internal.h"
#include "cache-internal.h"
#include "fg-internal.h"
#include "store-internal.h"

static const uint8_t uuid1[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void test_key(void **state)
{
	static const uint8_t zero[16];
	uint8_t key[STORE_KEY_MAX], h[STORE_HANDLE_MAX + 1] = {0xaa, 0xbb};
	uint8_t len = 0;

	(void) state;
	assert_int_equal(store_key_make(zero, 1, h, 8, key, &len), -EOPNOTSUPP);
	assert_int_equal(store_key_make(uuid1, 1, h, 0, key, &len), -EOPNOTSUPP);
	assert_int_equal(store_key_make(uuid1, 1, h, STORE_HANDLE_MAX + 1, key, &len), -EOPNOTSUPP);
	assert_int_equal(store_key_make(uuid1, 0x01020304, h, 8, key, &len), 0);
	assert_int_equal(len, 16 + 4 + 8);
	assert_memory_equal(key, uuid1, 16);
	assert_int_equal(key[16], 0x04); /* little endian type */
	assert_int_equal(key[19], 0x01);
	assert_int_equal(key[20], 0xaa);
	/* Never the header's key. */
	assert_true(len > STORE_META_KEY_LEN);
}

static void test_value(void **state)
{
	struct fg_change_attrs a = {.ino = 7,
				    .size = 4096,
				    .mtime_sec = 1000,
				    .mtime_nsec = 5,
				    .ctime_sec = 2000,
				    .ctime_nsec = 6};
	uint8_t st[32] = {1}, st2[32] = {2};
	struct store_val v;

	(void) state;
	store_val_make(&a, st, &v);
	assert_true(store_val_matches(&v, sizeof(v), &a, st));
	assert_false(store_val_matches(&v, sizeof(v) - 1, &a, st));
	assert_false(store_val_matches(&v, sizeof(v), &a, st2));
	for (int field = 0; field < 5; field++) {
		struct fg_change_attrs b = a;

		switch (field) {
		case 0:
			b.size++;
			break;
		case 1:
			b.mtime_sec++;
			break;
		case 2:
			b.mtime_nsec++;
			break;
		case 3:
			b.ctime_sec++;
			break;
		case 4:
			b.ctime_nsec++;
			break;
		}
		assert_false(store_val_matches(&v, sizeof(v), &b, st));
	}
	/* Not part of the value: the key names the inode. */
	a.ino = 8;
	assert_true(store_val_matches(&v, sizeof(v), &a, st));
}

static void test_settled(void **state)
{
	struct fg_change_attrs a = {.ctime_sec = 100, .ctime_nsec = 0};

	(void) state;
	assert_false(store_attrs_settled(&a, 100ll * 1000000000 + 10 * 1000000));
	assert_true(store_attrs_settled(&a, 100ll * 1000000000 + STORE_SETTLE_NSEC));
	assert_true(store_attrs_settled(&a, 200ll * 1000000000));
}

/* --- on disk ------------------------------------------------------------- */

struct fixture {
	char dir[64];	/* mkdtemp */
	char store[96]; /* dir/s */
	struct fanguard *fg;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/fg-test-store.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->store, sizeof(f->store), "%s/s", f->dir);
	if (fanguard_new(NULL, &f->fg) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	fanguard_free(f->fg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static char *path_in(const struct fixture *f, const char *name)
{
	/* Two at once (rename(path_in(a), path_in(b))). */
	static char p[2][160];
	static unsigned i;
	char *r = p[i++ % 2];

	snprintf(r, sizeof(p[0]), "%s/%s", f->store, name);
	return r;
}

/* A store with its header, closed again. */
static void make_store(struct fixture *f)
{
	struct fg_store *st = NULL;

	assert_int_equal(store_open(f->fg, f->store, 0, &st), 0);
	store_state_prime(st);
	assert_true(st->meta_known);
	assert_int_equal(atomic_load(&st->rebuilds), 0);
	store_free(st);
}

static uint64_t reopen_rebuilds(struct fixture *f)
{
	struct fg_store *st = NULL;
	uint64_t n;

	assert_int_equal(store_open(f->fg, f->store, 0, &st), 0);
	n = atomic_load(&st->rebuilds);
	store_free(st);
	return n;
}

static void test_create_reopen(void **state)
{
	struct fixture *f = *state;
	struct fg_store *st = NULL;
	struct stat stt;

	make_store(f);
	assert_int_equal(stat(f->store, &stt), 0);
	assert_int_equal(stt.st_mode & 0777, 0700);
	assert_int_equal(stat(path_in(f, "data.mdb"), &stt), 0);
	assert_int_equal(stt.st_mode & 077, 0);
	assert_int_equal(store_open(f->fg, f->store, 0, &st), 0);
	assert_int_equal(atomic_load(&st->rebuilds), 0);
	assert_true(st->meta_known); /* the header was read back */
	store_free(st);
	assert_int_equal(store_open(f->fg, "relative", 0, &st), -EINVAL);
	assert_int_equal(store_open(f->fg, f->store, 4096, &st), -EINVAL);
}

static void test_refuses_open_modes(void **state)
{
	struct fixture *f = *state;
	struct fg_store *st = NULL;

	make_store(f);
	assert_int_equal(chmod(f->store, 0750), 0);
	assert_int_equal(store_open(f->fg, f->store, 0, &st), -EPERM);
	assert_int_equal(chmod(f->store, 0700), 0);
	assert_int_equal(chmod(path_in(f, "data.mdb"), 0604), 0);
	assert_int_equal(store_open(f->fg, f->store, 0, &st), -EPERM);
	assert_int_equal(chmod(path_in(f, "data.mdb"), 0600), 0);
	/* A symlink in place of the data file is refused, never followed. */
	assert_int_equal(rename(path_in(f, "data.mdb"), path_in(f, "real")), 0);
	assert_int_equal(symlink("real", path_in(f, "data.mdb")), 0);
	assert_int_equal(store_open(f->fg, f->store, 0, &st), -EPERM);
	assert_int_equal(unlink(path_in(f, "data.mdb")), 0);
	assert_int_equal(rename(path_in(f, "real"), path_in(f, "data.mdb")), 0);
	assert_int_equal(store_open(f->fg, f->store, 0, &st), 0);
	store_free(st);
	if (geteuid() == 0) {
		/* Another owner (as root: chown works). */
		assert_int_equal(chown(f->store, 65534, 65534), 0);
		assert_int_equal(store_open(f->fg, f->store, 0, &st), -EPERM);
		assert_int_equal(chown(f->store, 0, 0), 0);
	}
}

static void test_truncated(void **state)
{
	struct fixture *f = *state;
	struct stat stt;

	make_store(f);
	assert_int_equal(truncate(path_in(f, "data.mdb"), 4096), 0);
	assert_int_equal(reopen_rebuilds(f), 1);
	assert_int_equal(stat(path_in(f, "data.mdb.corrupt"), &stt), 0);
	/* The new one is good. */
	make_store(f);
	assert_int_equal(reopen_rebuilds(f), 0);
	/* Emptied: as short as a file can be. */
	assert_int_equal(truncate(path_in(f, "data.mdb"), 0), 0);
	assert_int_equal(reopen_rebuilds(f), 1);
}

static void test_garbage(void **state)
{
	struct fixture *f = *state;
	uint8_t junk[65536];
	FILE *fp;

	make_store(f);
	srand(42);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t) rand();
	fp = fopen(path_in(f, "data.mdb"), "r+");
	assert_non_null(fp);
	assert_int_equal(fwrite(junk, 1, sizeof(junk), fp), sizeof(junk));
	fclose(fp);
	assert_int_equal(reopen_rebuilds(f), 1);
}

/* Puts key/value into the store's LMDB directly. */
static void raw_put(struct fixture *f, const void *key, size_t klen, const void *val, size_t vlen)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = {.mv_size = klen, .mv_data = (void *) key};
	MDB_val v = {.mv_size = vlen, .mv_data = (void *) val};

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_open(env, f->store, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void test_foreign(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mkdir(f->store, 0700), 0);
	raw_put(f, "hello", 5, "world", 5);
	assert_int_equal(reopen_rebuilds(f), 1);
}

static void test_wrong_shape(void **state)
{
	struct fixture *f = *state;
	uint8_t key[STORE_KEY_MAX], len;
	const uint8_t h[8] = {1};

	make_store(f);
	assert_int_equal(store_key_make(uuid1, 1, h, sizeof(h), key, &len), 0);
	raw_put(f, key, len, "abc", 3);
	assert_int_equal(reopen_rebuilds(f), 1);
	/* Another format in the header. */
	make_store(f);
	{
		struct store_meta m = {.format = STORE_FORMAT + 1,
				       .val_size = sizeof(struct store_val)};

		memcpy(m.magic, STORE_MAGIC, 8);
		raw_put(f, STORE_META_KEY, STORE_META_KEY_LEN, &m, sizeof(m));
	}
	assert_int_equal(reopen_rebuilds(f), 1);
}

/* Insert through the writer, look up, change, look up again. */
static void test_lookup(void **state)
{
	struct fixture *f = *state;
	struct fg_store *st = NULL;
	struct fg_change_attrs a, b;
	struct statfs sfs;
	struct statx stx;
	char file[] = "/dev/shm/fg-test-store.XXXXXX";
	uint8_t key[STORE_KEY_MAX], klen;
	uint64_t gen;
	int fd;

	if (statfs("/dev/shm", &sfs) < 0 || sfs.f_type != TMPFS_MAGIC)
		skip();
	fd = mkstemp(file);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "clean", 5), 5);
	if (store_key_of_fd(fd, NULL, key, &klen) < 0) {
		close(fd);
		unlink(file);
		skip(); /* no FS_IOC_GETFSUUID (< 6.5) */
	}
	/* Back-date it past the settle time. */
	assert_int_equal(futimens(fd, (struct timespec[]){{.tv_sec = 1}, {.tv_sec = 1}}), 0);
	usleep((STORE_SETTLE_NSEC / 1000) + 20000);
	assert_int_equal(statx(fd, "", AT_EMPTY_PATH, FG_CHANGE_ATTRS_MASK, &stx), 0);
	cache_attrs_from_statx(&stx, &a);
	assert_int_equal(store_open(f->fg, f->store, 0, &st), 0);
	store_state_prime(st);
	gen = cache_gen(f->fg);
	assert_false(store_lookup(st, fd, NULL, &a, gen));
	assert_int_equal(atomic_load(&st->misses), 1);
	assert_int_equal(store_writer_start(st), 0);
	store_note_clean(st, fd, &a, gen, now_usec());
	store_writer_stop(st); /* writes what is queued */
	assert_int_equal(atomic_load(&st->inserts), 1);
	assert_true(store_lookup(st, fd, NULL, &a, gen));
	/* Another generation (a configuration change): not used. */
	assert_false(store_lookup(st, fd, NULL, &a, gen + 1));
	b = a;
	b.ctime_nsec ^= 1;
	assert_false(store_lookup(st, fd, NULL, &b, gen));
	assert_int_equal(atomic_load(&st->stale), 1);
	store_free(st);
	/* Survives a reopen (a restart). */
	assert_int_equal(store_open(f->fg, f->store, 0, &st), 0);
	store_state_prime(st);
	assert_true(store_lookup(st, fd, NULL, &a, cache_gen(f->fg)));
	store_free(st);
	close(fd);
	unlink(file);
}

/* sbinfo.c: the superblock's facts are reused only for the same unique
 * mount id; a statx without one (before 6.8) or of another mount looks them
 * up again (here: from a closed fd, which fails). */
static void test_sbinfo(void **state)
{
	struct sbinfo c = {};
	const struct sbinfo *sb;
	struct statfs sfs;
	struct statx stx, other;
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	(void) state;
	assert_true(fd >= 0);
	assert_int_equal(fstatfs(fd, &sfs), 0);
	assert_int_equal(statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_MNT_ID_UNIQUE, &stx), 0);
	sb = sbinfo_get(&c, fd, &stx, false);
	assert_non_null(sb);
	assert_int_equal(sb->f_type, sfs.f_type);
	assert_int_equal(sbinfo_type_hint(&c, fd, &stx), sfs.f_type);
	close(fd);
	if (!(stx.stx_mask & STATX_MNT_ID_UNIQUE)) {
		/* Nothing kept: every call looks up. */
		assert_null(sbinfo_get(&c, fd, &stx, false));
		skip();
	}
	sb = sbinfo_get(&c, fd, &stx, false); /* the same mount: kept */
	assert_non_null(sb);
	assert_int_equal(sb->f_type, sfs.f_type);
	other = stx;
	other.stx_mnt_id++;
	assert_null(sbinfo_get(&c, fd, &other, false)); /* another mount */
	other.stx_mask &= ~STATX_MNT_ID_UNIQUE;
	other.stx_mnt_id = stx.stx_mnt_id;
	assert_null(sbinfo_get(&c, fd, &other, false)); /* an id that may be reused */
	assert_null(sbinfo_get(&c, fd, &stx, false));	/* the failed lookup dropped it */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_value),
		cmocka_unit_test(test_settled),
		cmocka_unit_test(test_sbinfo),
		cmocka_unit_test_setup_teardown(test_create_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_open_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_shape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
