/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Parsing of numbers from command lines and configuration. */
#include <stdint.h>

/* Parses a decimal unsigned integer in 0..max: no sign, no trailing bytes.
 * Returns 0, -EINVAL (not a number) or -ERANGE (above max). Never logs. */
int parse_u64(const char *s, uint64_t max, uint64_t *ret);
/* The same for a program's option: logs "Invalid WHAT 'S' (0..MAX)" on error. */
int parse_uint_arg(const char *s, const char *what, uint64_t max, uint64_t *ret);
