/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for fanguard.conf parsing (listener/fanguardd/conffile.c
 * over libinih, into settings.c's table): any bytes as the file. Checks that
 * every key handed on is a row with a section, that a rejected value always
 * fails the parse with a reason, and that the settings built from the file
 * are consistent (lists counted right, numbers in their row's range) and
 * freed without a leak (ASan). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "conffile.h"
#include "log.h"
#include "settings.h"
#include "fuzz-util.h"

static unsigned rejected;

static int apply(void *userdata, const struct setting *e, const char *value, char *err,
		 size_t errlen)
{
	int r;

	check(e && e->section && e->key && value);
	r = settings_set(userdata, e, value, true, err, errlen);
	if (r < 0) {
		check(r == -ENOMEM || err[0] != '\0');
		rejected++;
	}
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct settings *s;
	char path[64], err[256] = "";
	int fd, r;

	log_set_max_level(LOG_EMERG - 1); /* quiet */
	fd = memfd_create("fuzz-config", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (size > 0 && write(fd, data, size) != (ssize_t) size) {
		close(fd);
		return 0;
	}
	s = settings_new();
	if (!s) {
		close(fd);
		return 0;
	}
	(void) snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rejected = 0;
	r = config_parse_file(path, settings_table, apply, s, err, sizeof(err));
	check(r == 0 || r == -EINVAL || r == -ENOMEM);
	check(rejected == 0 || r < 0);
	check(r == 0 || err[0] != '\0'); /* an error always says why */
	for (size_t i = 0; i < _FANGUARD_MOUNT_CLASS_MAX; i++) {
		check(s->deadline_ms[i] == 0 || s->deadline_ms[i] <= 3600 * 1000);
		check(s->default_verdict[i] == 0 || s->default_verdict[i] == FANGUARD_ALLOW ||
		      s->default_verdict[i] == FANGUARD_DENY);
	}
	for (size_t i = 0; i < s->exclude.n; i++)
		check(s->exclude.items[i][0] == '/');
	check(s->config == NULL); /* not a key of the file */
	settings_free(s);
	close(fd);
	return 0;
}
