/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanguardd --check-config, the directories (check-config.h). Start checks
 * them only once the configuration is read: without this, a good-looking
 * configuration (status 0) could still fail to start.
 *
 * Must never: create anything (start makes a missing verdict store
 * directory; a check only says whether it could). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check-config.h"
#include "log.h"
#include "macro.h"
#include "private-dir.h"
#include "quarantine-dir.h"

/* As fanguard_set_verdict_store() (store.c) at start: made 0700 if it is
 * missing (its parent must exist), else ours alone, and so are its files. */
static int verdict_store_check(const char *path)
{
	_cleanup_close_ int dfd = -EBADF;
	_cleanup_free_ char *copy = NULL;
	struct stat st;
	char why[256];
	int r;

	dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 && errno == ENOENT) {
		copy = strdup(path);
		if (!copy)
			return log_error_errno(ENOMEM, "Out of memory");
		if (stat(dirname(copy), &st) < 0 || !S_ISDIR(st.st_mode))
			return log_error_errno(ENOENT, "Failed to open the verdict store '%s': %m",
					       path);
		return 0; /* start creates it */
	}
	if (dfd < 0 || fstat(dfd, &st) < 0)
		return log_error_errno(errno, "Failed to open the verdict store '%s': %m", path);
	r = private_owner_check("the directory", &st, geteuid(), why, sizeof(why));
	if (r >= 0)
		r = private_file_check(dfd, "data.mdb", geteuid(), why, sizeof(why));
	if (r >= 0)
		r = private_file_check(dfd, "lock.mdb", geteuid(), why, sizeof(why));
	if (r == -EPERM)
		log_error("verdict store %s: %s", path, why);
	if (r < 0)
		return log_error_errno(r, "Failed to open the verdict store '%s': %m", path);
	return 0;
}

int check_config_dirs(const struct settings *s)
{
	int r = 0, k;

	/* Both, so that one run names every problem. */
	if (s->quarantine && (k = quarantine_dir_check(s->quarantine, NULL)) < 0)
		r = k;
	if (s->verdict_store && (k = verdict_store_check(s->verdict_store)) < 0)
		r = k;
	return r;
}
