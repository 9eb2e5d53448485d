/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for fanguard.conf parsing (listener/fanguardd/conffile.c
 * over libinih): any bytes as the file. Checks that every key handed on maps
 * to a known long option, that flags come without a value and values are
 * non-empty, and that a callback error always fails the parse. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "conffile.h"
#include "log.h"
#include "fuzz-util.h"

static unsigned rejected;

static int apply(void *userdata, const char *option, const char *value)
{
	const struct config_key *k;

	(void) userdata;
	for (k = config_keys; k->section; k++)
		if (strcmp(k->option, option) == 0)
			break;
	check(k->section);
	check((k->kind == CONFIG_VALUE) == (value != NULL));
	check(!value || value[0] != '\0');
	if (value && value[0] == 'x') {
		rejected++;
		return -EINVAL;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd, r;

	log_set_max_level(LOG_EMERG - 1); /* quiet */
	fd = memfd_create("fuzz-config", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (size > 0 && write(fd, data, size) != (ssize_t) size) {
		close(fd);
		return 0;
	}
	(void) snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rejected = 0;
	r = config_parse_file(path, apply, NULL);
	check(r == 0 || r == -EINVAL || r == -ENOMEM);
	check(rejected == 0 || r == -EINVAL);
	close(fd);
	return 0;
}
