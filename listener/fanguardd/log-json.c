/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* --log-format json: every log line as one JSON object on one line of
 * stderr, for SIEMs. Members are named as in the journal (and as
 * `journalctl -o json` names them): the structured fields first
 * (MESSAGE_ID, FANGUARD_*), then MESSAGE, PRIORITY, SYSLOG_IDENTIFIER,
 * TIMESTAMP (RFC 3339, UTC), ERRNO and CODE_FILE/LINE/FUNC. json-c escapes
 * quotes, backslashes and control characters; bytes that are not UTF-8 (a
 * file name may hold any) become U+FFFD first, so every line is valid JSON
 * whatever a user named a file. One write(2) per line. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "fd-util.h"
#include "log-json.h"
#include "log.h"
#include "macro.h"

/* Length of the valid UTF-8 sequence at s (1..4), or 0. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong, surrogates, past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* s with every byte that is not part of valid UTF-8 as U+FFFD. */
static struct json_object *json_string_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *) s;
	struct json_object *o;
	char *buf, *q;

	for (; *p; p += utf8_len(p))
		if (utf8_len(p) == 0)
			break;
	if (!*p)
		return json_object_new_string(s);
	buf = malloc(strlen(s) * 3 + 1);
	if (!buf)
		return NULL;
	q = buf;
	for (p = (const unsigned char *) s; *p;) {
		size_t n = utf8_len(p);

		if (n == 0) {
			memcpy(q, "\xef\xbf\xbd", 3);
			q += 3;
			p++;
		} else {
			memcpy(q, p, n);
			q += n;
			p += n;
		}
	}
	*q = '\0';
	o = json_object_new_string(buf);
	free(buf);
	return o;
}

static void add_str(struct json_object *o, const char *key, const char *v)
{
	struct json_object *j = json_string_utf8(v);

	if (j)
		json_object_object_add(o, key, j);
}

static void add_timestamp(struct json_object *o)
{
	struct timespec ts;
	struct tm tm;
	char buf[64];

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0 || !gmtime_r(&ts.tv_sec, &tm))
		return;
	(void) snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
			tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			ts.tv_nsec / 1000);
	add_str(o, "TIMESTAMP", buf);
}

void log_json_write(int level, int error, const char *const *fields, const char *file, int line,
		    const char *func, const char *msg)
{
	struct json_object *o = json_object_new_object();
	const char *ident = log_get_ident();
	const char *s;
	char *out;
	size_t len;

	if (!o)
		return;
	for (size_t i = 0; fields && fields[i]; i++) {
		const char *eq = strchr(fields[i], '=');
		char key[64];

		if (!eq || eq == fields[i] || (size_t) (eq - fields[i]) >= sizeof(key))
			continue;
		memcpy(key, fields[i], (size_t) (eq - fields[i]));
		key[eq - fields[i]] = '\0';
		add_str(o, key, eq + 1);
	}
	add_str(o, "MESSAGE", msg);
	json_object_object_add(o, "PRIORITY", json_object_new_int(level));
	if (ident)
		add_str(o, "SYSLOG_IDENTIFIER", ident);
	add_timestamp(o);
	if (error != 0)
		json_object_object_add(o, "ERRNO", json_object_new_int(abs(error)));
	if (file) {
		add_str(o, "CODE_FILE", file);
		json_object_object_add(o, "CODE_LINE", json_object_new_int(line));
	}
	if (func)
		add_str(o, "CODE_FUNC", func);
	s = json_object_to_json_string_ext(o,
					   JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	len = s ? strlen(s) : 0;
	out = len ? malloc(len + 2) : NULL;
	if (out) {
		memcpy(out, s, len);
		out[len] = '\n';
		(void) loop_write(STDERR_FILENO, out, len + 1);
		free(out);
	}
	json_object_put(o);
}

int log_format_from_string(const char *s)
{
	if (strcmp(s, "text") == 0)
		return LOG_FORMAT_TEXT;
	if (strcmp(s, "json") == 0)
		return LOG_FORMAT_JSON;
	return -EINVAL;
}
