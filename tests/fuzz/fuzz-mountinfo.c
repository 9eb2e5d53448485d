/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for common/mounts.c: any bytes as /proc/self/mountinfo.
 * Parses, classifies and looks up, then checks what must hold for any table
 * that parsed: classification is idempotent, every entry is found by its id
 * (or an earlier one with the same id) and by its mount point (some entry with
 * that mount point), strings are set, and fuse_mnt_id is set only for FUSE
 * classes. Seeds: tests/fixtures/mountinfo (tests/fuzz/run-all.sh). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mounts.h"
#include "fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mount_table *t = NULL;
	enum mount_class *cls;
	unsigned bad = 0;
	int r;

	r = mount_table_parse((const char *) data, size, &t, &bad);
	if (r < 0) {
		check(r == -EBADMSG || r == -ENOMEM);
		check(r != -EBADMSG || bad >= 1);
		check(!t);
		return 0;
	}
	mount_table_classify(t);
	cls = calloc(t->n_entries ? t->n_entries : 1, sizeof(*cls));
	check(cls);
	for (size_t i = 0; i < t->n_entries; i++) {
		const struct mount_entry *e = &t->entries[i], *f;

		check(e->root && e->mount_point && e->mount_opts && e->optional && e->fstype &&
		      e->source && e->super_opts && e->super_opts_raw);
		check(e->class < _MOUNT_CLASS_MAX);
		check(e->class_reason && e->class_reason[0]);
		check(e->fuse_mnt_id == 0 || mount_class_is_fuse(e->class));
		check(e->class != MOUNT_CLASS_FUSE || e->fuse_mnt_id == e->mnt_id);
		cls[i] = e->class;
		f = mount_table_find_id(t, e->mnt_id);
		check(f && f <= e && f->mnt_id == e->mnt_id);
		if (i >= 128)
			continue; /* lookups are O(n): keep the target linear */
		f = mount_table_find_path(t, e->mount_point);
		if (e->mount_point[0] == '/')
			check(f != NULL);
		(void) mount_class_to_string(e->class);
		(void) fstype_class(e->fstype);
		(void) mount_table_find_path(t, e->root);
		(void) mount_table_find_path(t, e->source);
	}
	mount_table_classify(t);
	for (size_t i = 0; i < t->n_entries; i++)
		check(t->entries[i].class == cls[i]);
	free(cls);
	mount_table_free(t);
	return 0;
}
