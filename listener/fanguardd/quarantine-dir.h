/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* --quarantine (quarantine-dir.c). */
#include "fanguard.h"
#include "settings.h"

/* Opens and checks s->quarantine (root's, 0700) and hands it to fg. Logs
 * what is wrong; 0 when there is no quarantine. Call before start. */
int quarantine_dir_setup(struct fanguard *fg, const struct settings *s);

/* The check alone (also --check-config): path exists, is a directory (not
 * a symlink), root's, mode 0700 or stricter. Logs what is wrong; on success
 * *ret_fd (may be NULL) gets it open. */
int quarantine_dir_check(const char *path, int *ret_fd);
