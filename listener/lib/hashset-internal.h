/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The SHA-256 denylist store and parser (scan-sha256.c). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hashset {
	uint8_t (*digests)[32]; /* sorted */
	size_t n, cap;
};

int hashset_add(struct hashset *h, const uint8_t (*digests)[32], size_t n);
bool hashset_contains(const struct hashset *h, const uint8_t digest[32]);
void hashset_done(struct hashset *h);
/* Parses one denylist line; 1 if a digest was stored, 0 if blank/comment, -EBADMSG. */
int denylist_parse_line(const char *line, uint8_t ret[32]);
