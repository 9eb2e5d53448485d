/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* fanguard.conf(5): an INI file parsed with libinih. Every key is a row of
 * fanguardd's settings table (settings.h), so the file and the command line
 * mean the same thing and are checked by the same code (settings_set()).
 * Never touches the library: it only hands (setting, value) pairs on. */
#include <stdbool.h>
#include <stddef.h>
#include "settings.h"

/* Applies one key: e is its row, value the text after '=' (trimmed).
 * Returns < 0 to reject it, with the reason in err; the parser then fails
 * with "FILE:LINE: invalid value for [Section] Key=value: reason". */
typedef int (*config_apply_fn)(void *userdata, const struct setting *e, const char *value,
			       char *err, size_t errlen);

/* Parses path, calling apply for every key in file order; the keys are the
 * rows of table (ended by a NULL name) that have a section. Unknown sections
 * and keys, malformed lines, lines over the parser's limit and values that
 * apply rejects are errors naming path:line; parsing stops at the first.
 * @param err  NULL, or gets the logged error line
 * @return 0, -ENOENT..., or -EINVAL after logging the error */
int config_parse_file(const char *path, const struct setting *table, config_apply_fn apply,
		      void *userdata, char *err, size_t errlen);

/* Parses "yes/no/true/false/on/off/1/0"; -EINVAL otherwise. */
int config_parse_bool(const char *s, bool *ret);
