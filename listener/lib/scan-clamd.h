/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* clamd's reply lines (after the z-command's NUL terminator was stripped),
 * parsed without trusting their content: clamd may be replaced by anything
 * that listens on the socket. */
#include <stdbool.h>
#include <stddef.h>

enum clamd_status {
	CLAMD_CLEAN,
	CLAMD_FOUND,
	CLAMD_ERROR,
};

#define CLAMD_REPLY_MAX 1024

struct clamd_reply {
	bool has_id;
	unsigned long id; /* IDSESSION: the command's number */
	enum clamd_status status;
	char text[72]; /* FOUND: the signature name; ERROR: the message (truncated) */
};

/* Parses one reply of len bytes (no NUL inside; a trailing NUL or newline is
 * ignored). "1: fd[12]: OK", "stream: Eicar-Test-Signature FOUND",
 * "INSTREAM size limit exceeded. ERROR".
 * @return 0, -EBADMSG (not a reply), -EMSGSIZE (longer than CLAMD_REPLY_MAX) */
int clamd_parse_reply(const char *buf, size_t len, struct clamd_reply *ret);

/* The "max" of the THREADS line of a STATS reply (len bytes, no NUL needed):
 * how many scans clamd runs at once.
 * @return 0, -EBADMSG (no such line, or not a number in 1..100000) */
int clamd_parse_max_threads(const char *buf, size_t len, unsigned *ret);
