/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* fanguard.conf(5): an INI file parsed with libinih. Every key maps onto one
 * fanguardd command line option, so the file and the command line mean the
 * same thing and are checked by the same code (fanguardd.c parse_argv()).
 * Never touches the library: it only hands (option, value) pairs on. */
#include <stdbool.h>

/* Applies one setting: option is the long option name ("watch"), value its
 * argument (NULL for a flag). Returns < 0 to reject it; the caller of
 * config_parse_file() then logs "FILE:LINE: ..." once more. */
typedef int (*config_apply_fn)(void *userdata, const char *option, const char *value);

/* One key of the file. */
struct config_key {
	const char *section, *key;
	const char *option; /* long option of fanguardd */
	enum {
		CONFIG_VALUE, /* "--option=value" */
		CONFIG_FLAG,  /* boolean; "--option" when true */
		CONFIG_NFLAG, /* boolean; "--option" when false */
	} kind;
};

extern const struct config_key config_keys[];

/* Parses path, calling apply for every key in file order. Unknown sections
 * and keys, malformed lines, lines over the parser's limit and values that
 * apply rejects are errors naming path:line; parsing stops at the first.
 * @return 0, -ENOENT..., or -EINVAL after logging the error */
int config_parse_file(const char *path, config_apply_fn apply, void *userdata);

/* Parses "yes/no/true/false/on/off/1/0"; -EINVAL otherwise. */
int config_parse_bool(const char *s, bool *ret);
