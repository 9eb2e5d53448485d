/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for libfanguard internals that need no kernel: the queue,
 * loading a denylist through the public API (the parser and the set:
 * test-denylist.c), option validation and the public API's border checks. Unprivileged: no fanotify group is created here. */
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
#include <unistd.h>
#include "exclude-internal.h"
#include "fanguard-internal.h"
#include "mountids-internal.h"
#include "mounts.h"

/* The current exclusions; the snapshot stays alive while fg holds it
 * (single-threaded here). */
static const struct exclusions *excl(struct fanguard *fg)
{
	struct snapshot *s = snapshot_get(&fg->excl);

	snapshot_put(s);
	return snapshot_container(s, struct exclusions);
}

static void test_queue_fifo_full_close(void **state)
{
	struct queue q;
	struct fg_event ev[3] = {{.uid = 1}, {.uid = 2}, {.uid = 3}}, *out;

	(void) state;
	assert_int_equal(queue_init(&q, 2), 0);
	assert_int_equal(queue_push(&q, &ev[0]), 1);
	assert_int_equal(queue_push(&q, &ev[1]), 2);
	/* Full: push must fail at once, never block the reader. */
	assert_int_equal(queue_push(&q, &ev[2]), -ENOBUFS);
	assert_int_equal(queue_pop(&q, &out), 0);
	assert_ptr_equal(out, &ev[0]);
	assert_int_equal(queue_push(&q, &ev[2]), 2);
	queue_close(&q);
	assert_int_equal(queue_push(&q, &ev[0]), -ESHUTDOWN);
	/* Closed queues still hand out what they hold, then report shutdown. */
	assert_int_equal(queue_pop(&q, &out), 0);
	assert_ptr_equal(out, &ev[1]);
	assert_int_equal(queue_pop(&q, &out), 0);
	assert_ptr_equal(out, &ev[2]);
	assert_int_equal(queue_pop(&q, &out), -ESHUTDOWN);
	queue_done(&q);
}

/* One uid's flood holds at most a quarter of the queue, and another uid's
 * event is handed out next in the round, not after the backlog. */
static void test_queue_fair_per_uid(void **state)
{
	struct queue q;
	struct fg_event a[4], b[2], *out;

	(void) state;
	for (size_t i = 0; i < 4; i++)
		a[i] = (struct fg_event){.uid = 1000};
	for (size_t i = 0; i < 2; i++)
		b[i] = (struct fg_event){.uid = 1001};
	assert_int_equal(queue_share(8), 2);
	assert_int_equal(queue_share(2), 1);
	assert_int_equal(queue_init(&q, 8), 0);
	assert_int_equal(queue_push(&q, &a[0]), 1);
	assert_int_equal(queue_push(&q, &a[1]), 2);
	/* uid 1000 is at its share; the queue has room for others. */
	assert_int_equal(queue_push(&q, &a[2]), -ENOBUFS);
	assert_int_equal(queue_push(&q, &b[0]), 3);
	assert_int_equal(queue_push(&q, &b[1]), 4);
	/* Round-robin: a0, b0, a1, b1; FIFO within a uid. */
	assert_int_equal(queue_pop(&q, &out), 0);
	assert_ptr_equal(out, &a[0]);
	assert_int_equal(queue_push(&q, &a[2]), 4); /* room again */
	assert_int_equal(queue_pop(&q, &out), 0);
	assert_ptr_equal(out, &b[0]);
	assert_int_equal(queue_pop(&q, &out), 0);
	assert_ptr_equal(out, &a[1]);
	assert_int_equal(queue_pop(&q, &out), 0);
	assert_ptr_equal(out, &b[1]);
	assert_int_equal(queue_pop(&q, &out), 0);
	assert_ptr_equal(out, &a[2]);
	queue_close(&q);
	assert_int_equal(queue_pop(&q, &out), -ESHUTDOWN);
	queue_done(&q);
}

static void test_options_border(void **state)
{
	struct fanguard_options o = {.size = sizeof(o)};
	struct fanguard *fg = NULL;

	(void) state;
	assert_int_equal(fanguard_new(NULL, NULL), -EINVAL);
	o.events = 1u << 7;
	assert_int_equal(fanguard_new(&o, &fg), -EINVAL);
	o.events = 0;
	o.size = 3; /* shorter than any version of the struct */
	assert_int_equal(fanguard_new(&o, &fg), -EINVAL);
	assert_null(fg);
	o.size = sizeof(o);
	assert_int_equal(fanguard_new(&o, &fg), 0);
	assert_non_null(fg);
	/* Defaults filled in. */
	assert_int_equal(fg->cls[FANGUARD_MOUNT_LOCAL].deadline_ms, 5000);
	assert_int_equal(fg->cls[FANGUARD_MOUNT_FUSE].deadline_ms, 1500);
	assert_int_equal(fg->cls[FANGUARD_MOUNT_LOCAL].default_verdict, FANGUARD_ALLOW);
	assert_true(fg->cls[FANGUARD_MOUNT_LOCAL].n_workers >= 2);
	assert_int_equal(fg->opts.deny_errno, EPERM);
	assert_int_equal(fanguard_exclude_path(fg, "relative"), -EINVAL);
	assert_int_equal(fanguard_exclude_path(fg, "/srv/backup"), 0);
	assert_int_equal(fanguard_exclude_pid(fg, 0), -EINVAL);
	assert_int_equal(fanguard_exclude_uid(fg, (uid_t) -1), -EINVAL);
	assert_int_equal(fanguard_exclude_uid(fg, 4242), 0);
	assert_int_equal(fanguard_exclude_exe(fg, "cat"), -EINVAL);
	assert_int_equal(fanguard_exclude_exe(fg, "/usr/bin/cat"), 0);
	assert_int_equal(excl(fg)->n_uids, 1);
	assert_int_equal(excl(fg)->n_exes, 1);
	{
		const uid_t uids[] = {1, 2}, exe_uids[] = {0, FANGUARD_ANY_UID};
		const char *const exes[] = {"/proc/self/exe", "relative"};
		const char *const missing[] = {"/nonexistent/fanguard-test"};
		struct stat st;

		assert_int_equal(stat("/proc/self/exe", &st), 0);
		/* All or nothing. */
		assert_int_equal(fanguard_set_exclude_subjects(fg, uids, 2, exes, 2), -EINVAL);
		assert_int_equal(fanguard_set_exclude_subjects(fg, uids, 2, missing, 1), -ENOENT);
		assert_int_equal(excl(fg)->n_uids, 1);
		assert_int_equal(fanguard_set_exclude_subjects(fg, uids, 2, exes, 1), 0);
		assert_int_equal(excl(fg)->n_uids, 2);
		/* By identity, for root. */
		assert_int_equal(excl(fg)->exes[0].id.ino, st.st_ino);
		assert_int_equal(excl(fg)->exes[0].id.uid, 0);
		assert_false(excl(fg)->exes[0].any_uid);
		assert_int_equal(fanguard_set_exclude_exes(fg, exes, exe_uids, 2), -EINVAL);
		assert_int_equal(excl(fg)->n_exes, 1);
		assert_int_equal(fanguard_exclude_exe_uid(fg, "/proc/self/exe", 4242), 0);
		assert_int_equal(excl(fg)->exes[1].id.uid, 4242);
		assert_int_equal(fanguard_set_exclude_exes(fg, exes, exe_uids + 1, 1), 0);
		assert_int_equal(excl(fg)->n_exes, 1);
		assert_true(excl(fg)->exes[0].any_uid);
		assert_int_equal(excl(fg)->n_uids, 2); /* kept */
		assert_int_equal(fanguard_set_exclude_subjects(fg, NULL, 0, NULL, 0), 0);
		assert_int_equal(excl(fg)->n_exes, 0);
	}
	assert_int_equal(fanguard_watch(fg, NULL, 0), -EINVAL);
	assert_int_equal(fanguard_watch(fg, "/", 1u << 9), -EINVAL);
	assert_int_equal(fanguard_watch(fg, "/", FANGUARD_WATCH_MOUNT | FANGUARD_WATCH_FILESYSTEM),
			 -EINVAL);
	assert_int_equal(fanguard_watch_tree(fg, "/", 1u << 9), -EINVAL);
	/* The filesystem of "/" is never marked by default (checked before
	 * any fanotify call, so this runs unprivileged too). */
	assert_int_equal(fanguard_watch(fg, "/", 0), -EPERM);
	assert_int_equal(fanguard_watch(fg, "/", FANGUARD_WATCH_FILESYSTEM), -EPERM);
	assert_int_equal(fanguard_watch_tree(fg, "/", 0), -EPERM);
	assert_null(fanguard_free(fg));
	assert_null(fanguard_free(NULL));
}

/* The public structs grow by appending: a shorter (older) struct is taken
 * with defaults for what it lacks; a longer (newer) one only if the bytes we
 * do not know are zero. Class settings go through the setter, before any
 * watch. */
static void test_abi_growth(void **state)
{
	struct {
		struct fanguard_options o;
		uint64_t future;
	} newer = {.o = {.size = sizeof(newer)}};
	struct {
		struct fanguard_class_options co;
		uint32_t future;
	} newer_co = {.co = {.size = sizeof(newer_co)}};
	struct fanguard_class_options co = {.size = sizeof(co)}, got = {.size = sizeof(got)};
	struct fanguard_options older = {.size = offsetof(struct fanguard_options, max_scan_bytes)};
	struct fanguard *fg = NULL;
	char v[32];

	(void) state;
	(void) snprintf(v, sizeof(v), "%d.%d.%d", FANGUARD_VERSION_MAJOR, FANGUARD_VERSION_MINOR,
			FANGUARD_VERSION_MICRO);
	assert_string_equal(fanguard_version(), v);
	assert_string_equal(fanguard_version(), FANGUARD_VERSION_STRING);
	assert_true(FANGUARD_VERSION_NUMBER >= FANGUARD_MAKE_VERSION(0, 1, 0));

	newer.future = 1;
	assert_int_equal(fanguard_new(&newer.o, &fg), -E2BIG);
	assert_null(fg);
	newer.future = 0;
	assert_int_equal(fanguard_new(&newer.o, &fg), 0);
	fg = fanguard_free(fg);
	older.max_scan_bytes = 12345; /* beyond its size: not read */
	assert_int_equal(fanguard_new(&older, &fg), 0);
	assert_int_equal(fg->opts.max_scan_bytes, 256ULL << 20);

	/* Class settings: validated, defaults filled, readable back. */
	co.default_verdict = 7;
	assert_int_equal(fanguard_set_class_options(fg, FANGUARD_MOUNT_FUSE, &co), -EINVAL);
	co.default_verdict = FANGUARD_DENY;
	assert_int_equal(fanguard_set_class_options(fg, _FANGUARD_MOUNT_CLASS_MAX, &co), -EINVAL);
	assert_int_equal(fanguard_set_class_options(fg, FANGUARD_MOUNT_FUSE, NULL), -EINVAL);
	co.size = 2;
	assert_int_equal(fanguard_set_class_options(fg, FANGUARD_MOUNT_FUSE, &co), -EINVAL);
	co.size = sizeof(co);
	co.deadline_ms = 250;
	assert_int_equal(fanguard_set_class_options(fg, FANGUARD_MOUNT_FUSE, &co), 0);
	assert_int_equal(fanguard_get_class_options(fg, FANGUARD_MOUNT_FUSE, &got), 0);
	assert_int_equal(got.size, sizeof(got));
	assert_int_equal(got.deadline_ms, 250);
	assert_int_equal(got.default_verdict, FANGUARD_DENY);
	assert_int_equal(got.queue_len, 1024);
	assert_int_equal(got.n_workers, 2);
	assert_int_equal(fanguard_get_class_options(fg, FANGUARD_MOUNT_LOCAL, &got), 0);
	assert_int_equal(got.deadline_ms, 5000);
	assert_int_equal(got.default_verdict, FANGUARD_ALLOW);
	newer_co.co.deadline_ms = 100;
	newer_co.future = 3;
	assert_int_equal(fanguard_set_class_options(fg, FANGUARD_MOUNT_LOCAL, &newer_co.co),
			 -E2BIG);
	newer_co.future = 0;
	assert_int_equal(fanguard_set_class_options(fg, FANGUARD_MOUNT_LOCAL, &newer_co.co), 0);
	/* A short reader gets only what fits. */
	got = (struct fanguard_class_options){
		.size = offsetof(struct fanguard_class_options, default_verdict)};
	assert_int_equal(fanguard_get_class_options(fg, FANGUARD_MOUNT_LOCAL, &got), 0);
	assert_int_equal(got.deadline_ms, 100);
	assert_int_equal(got.default_verdict, 0);
	assert_false(FANGUARD_HAS_FIELD(&got, struct fanguard_class_options, default_verdict));
	assert_true(FANGUARD_HAS_FIELD(&got, struct fanguard_class_options, deadline_ms));
	fanguard_free(fg);
}

static void test_denylist_file(void **state)
{
	char path[] = "/tmp/fg-unit-deny.XXXXXX";
	const char *text =
		"# test list\n"
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  empty\n"
		"\n"
		"not-a-digest\n";
	struct fanguard *fg = NULL;
	unsigned line = 0;
	int fd;

	(void) state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
	close(fd);
	assert_int_equal(fanguard_new(NULL, &fg), 0);
	assert_int_equal(fanguard_deny_sha256_file(fg, path, &line), -EBADMSG);
	assert_int_equal(line, 4);
	/* A bad file adds nothing. */
	assert_int_equal(denylist_slot_size(&fg->deny), 0);
	text = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n";
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
	close(fd);
	assert_int_equal(fanguard_deny_sha256_file(fg, path, &line), 1);
	assert_true(scan_needed(fg, NULL));
	assert_int_equal(fanguard_deny_sha256_file(fg, "/nonexistent/x", NULL), -ENOENT);
	unlink(path);
	fanguard_free(fg);
}

static void test_strings(void **state)
{
	(void) state;
	assert_string_equal(fanguard_reason_to_string(FANGUARD_REASON_DEADLINE), "deadline");
	assert_string_equal(fanguard_reason_to_string(FANGUARD_REASON_NO_SCANNER), "no-scanner");
	assert_string_equal(fanguard_reason_to_string(99), "?");
	assert_string_equal(fanguard_mount_class_to_string(FANGUARD_MOUNT_FUSE), "fuse");
	assert_string_equal(fanguard_mount_class_to_string(99), "?");
}

/* statmount(2) of each mount of our namespace describes it as mountinfo
 * does (the mount watcher's per-mount path, mountcache.c, relies on it):
 * ids, device (the superblock), root, mount point, type with subtype,
 * source, and a classification that agrees. Skipped without statmount's
 * string fields. */
static void test_statmount_entry(void **state)
{
	struct mount_table *t = NULL, *one = NULL;
	struct mount_ids ids = {};
	size_t checked = 0;

	(void) state;
	if (mount_ids_load(&ids) < 0)
		skip();
	assert_int_equal(mount_table_load(NULL, &t), 0);
	for (size_t i = 0; i < t->n_entries; i++) {
		const struct mount_entry *me = &t->entries[i];
		uint64_t u = mount_ids_unique_of(&ids, me->mnt_id);
		struct mount_entry e = {};
		int r;

		if (u == 0)
			continue; /* mounted after listmount */
		r = mount_entry_statmount(u, &e);
		if (r == -EOPNOTSUPP) {
			mount_table_free(t);
			mount_ids_done(&ids);
			skip();
		}
		if (r == -ENOENT)
			continue;
		assert_int_equal(r, 0);
		assert_true(e.mnt_id == me->mnt_id);
		assert_true(e.parent_id == me->parent_id);
		assert_int_equal(e.major, me->major);
		assert_int_equal(e.minor, me->minor);
		assert_string_equal(e.root, me->root);
		assert_string_equal(e.mount_point, me->mount_point);
		assert_string_equal(e.fstype, me->fstype);
		assert_string_equal(e.source, me->source);
		mount_entry_free_fields(&e);
		checked++;
	}
	assert_true(checked > 0);
	/* The same table built from statmount classifies the same. */
	one = calloc(1, sizeof(*one));
	assert_non_null(one);
	for (size_t i = 0; i < t->n_entries; i++) {
		uint64_t u = mount_ids_unique_of(&ids, t->entries[i].mnt_id);
		struct mount_entry e = {};

		if (u && mount_entry_statmount(u, &e) == 0)
			assert_int_equal(mount_table_append(one, &e), 0);
	}
	mount_table_classify(one);
	for (size_t i = 0; i < one->n_entries; i++) {
		const struct mount_entry *a = &one->entries[i],
					 *b = mount_table_find_id(t, a->mnt_id);

		assert_non_null(b);
		assert_string_equal(mount_class_to_string(a->class),
				    mount_class_to_string(b->class));
	}
	mount_table_free(one);
	mount_table_free(t);
	mount_ids_done(&ids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_fifo_full_close),
		cmocka_unit_test(test_queue_fair_per_uid),
		cmocka_unit_test(test_options_border),
		cmocka_unit_test(test_abi_growth),
		cmocka_unit_test(test_denylist_file),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_statmount_entry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
