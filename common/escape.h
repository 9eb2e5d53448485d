/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Visible escaping of text a user controls (file names, comm, exe paths)
 * before it reaches any log sink: stderr, the journal's MESSAGE, the
 * library's log callback, control socket replies. One layer, used by all.
 *
 * Kept as is: printable ASCII and valid UTF-8 (shortest form, no surrogates).
 * Escaped: \n \r \t; other C0 controls, DEL and every byte of invalid UTF-8
 * as \xHH; C1 controls (U+0080..U+009F: U+009B is a CSI on some terminals),
 * line/paragraph separators and bidi overrides (U+061C, U+200E/F,
 * U+2028..U+202E, U+2066..U+2069) as \uXXXX.
 *
 * The output contains no byte a second pass would change: escaping is
 * idempotent, so text escaped by the library and again by the daemon's log
 * layer is not mangled. The price: a backslash is not escaped, so a name
 * that literally contains "\n" reads like one with a newline; neither can
 * forge a line or a terminal sequence. */
#include <stdbool.h>
#include <stddef.h>

/* Appended when the escaped text did not fit. */
#define ESCAPE_TRUNCATED_MARKER "...[truncated]"

/* Escapes src[0..len) into out (outsz > sizeof(ESCAPE_TRUNCATED_MARKER)),
 * always NUL-terminated. If the escaped text does not fit, it is cut at a
 * character boundary (never inside an escape or a UTF-8 sequence) and ends
 * with ESCAPE_TRUNCATED_MARKER. Returns the length written (without NUL). */
size_t escape_mem(char *out, size_t outsz, const char *src, size_t len);

/* The same for a NUL-terminated string. */
size_t escape_str(char *out, size_t outsz, const char *src);

/* A malloc()ed escaped copy (never truncated); NULL on OOM. */
char *escape_strdup(const char *src);

/* True if escape_str() would return src unchanged. */
bool escape_is_clean(const char *src, size_t len);
