/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanguard.conf(5) with libinih. The parser only maps keys onto rows of
 * fanguardd's settings table; the values are checked by the same code as the
 * command line (the apply callback), so the two can never disagree about
 * what is valid.
 * Never guesses: an unknown section or key is an error, not a warning, since
 * a misspelt "Exclude=" silently ignored would scan (or skip) the wrong files. */
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "conffile.h"
#include "log.h"
#include "macro.h"

struct parse_state {
	const char *path;
	FILE *f;
	unsigned line;	       /* of the line the parser is on */
	unsigned section_line; /* of the last "[Section]" line */
	bool too_long;	       /* a line did not fit the parser's buffer */
	char error[1024];      /* the first error, without the "path:line: " */
	unsigned error_line;
	const struct setting *table;
	config_apply_fn apply;
	void *userdata;
};

int config_parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* fgets() that counts lines and notices a line longer than the buffer
 * (libinih would otherwise parse its rest as a line of its own). */
static char *reader(char *str, int num, void *stream)
{
	struct parse_state *st = stream;
	char *s = fgets(str, num, st->f);
	size_t len;

	if (!s)
		return NULL;
	st->line++;
	if (s[strspn(s, " \t")] == '[')
		st->section_line = st->line;
	len = strlen(s);
	if (len > 0 && s[len - 1] != '\n' && !feof(st->f) && !st->too_long) {
		st->too_long = true;
		(void) snprintf(st->error, sizeof(st->error), "line longer than %d bytes", num - 2);
		st->error_line = st->line;
		/* Skip the rest of it. */
		for (int c = fgetc(st->f); c != EOF && c != '\n'; c = fgetc(st->f))
			;
		s[0] = '\0';
	}
	return s;
}

static void set_error(struct parse_state *st, const char *fmt, ...) _printf_(2, 3);
static void set_error(struct parse_state *st, const char *fmt, ...)
{
	va_list ap;

	if (st->error_line != 0)
		return; /* keep the first */
	va_start(ap, fmt);
	(void) vsnprintf(st->error, sizeof(st->error), fmt, ap);
	va_end(ap);
	st->error_line = st->line;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *st = user;
	const struct setting *k = NULL;
	bool known_section = false;
	char err[200];
	int r;

	if (st->error_line != 0)
		return 0; /* after the first error, ignore the rest */
	for (const struct setting *i = st->table; i->name; i++) {
		if (!i->section || strcasecmp(i->section, section) != 0)
			continue;
		known_section = true;
		if (strcasecmp(i->key, name) == 0) {
			k = i;
			break;
		}
	}
	if (section[0] == '\0') {
		set_error(st, "'%s=' outside any [Section]", name);
		return 0;
	}
	if (!known_section) {
		set_error(st, "unknown section [%s]", section);
		st->error_line = st->section_line;
		return 0;
	}
	if (!k) {
		set_error(st, "unknown key '%s' in section [%s]", name, section);
		return 0;
	}
	err[0] = '\0';
	r = st->apply(st->userdata, k, value, err, sizeof(err));
	if (r == -ENOMEM) {
		set_error(st, "out of memory");
		return 0;
	}
	if (r < 0) {
		set_error(st, "invalid value for [%s] %s=%s%s%s", k->section, k->key, value,
			  err[0] ? ": " : "", err);
		return 0;
	}
	return 1;
}

int config_parse_file(const char *path, const struct setting *table, config_apply_fn apply,
		      void *userdata, char *err, size_t errlen)
{
	struct parse_state st = {
		.path = path, .table = table, .apply = apply, .userdata = userdata};
	int r;

	st.f = fopen(path, "re");
	if (!st.f)
		return settings_error(err, errlen, -errno, "Failed to open '%s': %s", path,
				      strerror(errno));
	r = ini_parse_stream(reader, &st, handler, &st);
	(void) fclose(st.f);
	if (r < 0)
		return settings_error(err, errlen, -ENOMEM, "%s: out of memory while parsing",
				      path);
	/* libinih reports its own first error (a bad line) by number; ours may
	 * come from a later line: name the earlier one. */
	if (st.error_line != 0 && (r <= 0 || st.error_line <= (unsigned) r))
		return settings_error(err, errlen, -EINVAL, "%s:%u: %s", path, st.error_line,
				      st.error);
	if (r > 0)
		/* A line that is neither [section], key=value nor a comment. */
		return settings_error(err, errlen, -EINVAL,
				      "%s:%d: syntax error (want Key=value or [Section])", path, r);
	return 0;
}
