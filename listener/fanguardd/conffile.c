/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanguard.conf(5) with libinih. The parser only maps keys onto fanguardd's
 * long options; the values are checked by the same code as the command line
 * (the apply callback), so the two can never disagree about what is valid.
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

/* Keep in step with fanguard.conf(5) and parse_argv() in fanguardd.c. */
const struct config_key config_keys[] = {
	{"Watch", "Mount", "watch", CONFIG_VALUE},
	{"Watch", "Filesystem", "watch-fs", CONFIG_VALUE},
	{"Watch", "Tree", "watch-tree", CONFIG_VALUE},
	{"Watch", "Exclude", "exclude", CONFIG_VALUE},
	{"Watch", "ExcludeUid", "exclude-uid", CONFIG_VALUE},
	{"Watch", "ExcludeExe", "exclude-exe", CONFIG_VALUE},
	{"Watch", "ScanThroughLoopback", "scan-through-loopback", CONFIG_FLAG},
	{"Events", "Exec", "no-exec", CONFIG_NFLAG},
	{"Events", "Access", "access", CONFIG_FLAG},
	{"Scan", "DenyHashes", "deny-hashes", CONFIG_VALUE},
	{"Scan", "MaxScanBytes", "max-scan-bytes", CONFIG_VALUE},
	{"Scan", "DefaultVerdict", "default-verdict", CONFIG_VALUE},
	{"Scan", "DeadlineMs", "deadline-ms", CONFIG_VALUE},
	{"Scan", "QueueLen", "queue-len", CONFIG_VALUE},
	{"Scan", "ClamdSocket", "clamd-socket", CONFIG_VALUE},
	{"Scan", "ClamdTcp", "clamd-tcp", CONFIG_VALUE},
	{"Scan", "YaraRules", "yara-rules", CONFIG_VALUE},
	{"Cache", "Enabled", "no-cache", CONFIG_NFLAG},
	{"Local", "DeadlineMs", "local-deadline-ms", CONFIG_VALUE},
	{"Local", "DefaultVerdict", "local-default-verdict", CONFIG_VALUE},
	{"Local", "Workers", "workers", CONFIG_VALUE},
	{"FUSE", "DeadlineMs", "fuse-deadline-ms", CONFIG_VALUE},
	{"FUSE", "DefaultVerdict", "fuse-default-verdict", CONFIG_VALUE},
	{"FUSE", "Workers", "fuse-workers", CONFIG_VALUE},
	{"Network", "DeadlineMs", "network-deadline-ms", CONFIG_VALUE},
	{"Network", "DefaultVerdict", "network-default-verdict", CONFIG_VALUE},
	{"Network", "Workers", "network-workers", CONFIG_VALUE},
	{"Daemon", "PidFile", "pid-file", CONFIG_VALUE},
	{"Daemon", "StatsFile", "stats-file", CONFIG_VALUE},
	{"Daemon", "ControlSocket", "control-socket", CONFIG_VALUE},
	{"Daemon", "LogLevel", "log-level", CONFIG_VALUE},
	{"Daemon", "Seccomp", "seccomp", CONFIG_VALUE},
	{}};

struct parse_state {
	const char *path;
	FILE *f;
	unsigned line;	       /* of the line the parser is on */
	unsigned section_line; /* of the last "[Section]" line */
	bool too_long;	       /* a line did not fit the parser's buffer */
	char error[256];       /* the first error, without the "path:line: " */
	unsigned error_line;
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
	const struct config_key *k = NULL;
	bool known_section = false, b;
	int r;

	if (st->error_line != 0)
		return 0; /* after the first error, ignore the rest */
	for (const struct config_key *i = config_keys; i->section; i++) {
		if (strcasecmp(i->section, section) != 0)
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
	switch (k->kind) {
	case CONFIG_VALUE:
		if (value[0] == '\0') {
			set_error(st, "%s= needs a value", k->key);
			return 0;
		}
		r = st->apply(st->userdata, k->option, value);
		break;
	case CONFIG_FLAG:
	case CONFIG_NFLAG:
		if (config_parse_bool(value, &b) < 0) {
			set_error(st, "%s=%s: not a boolean (yes or no)", k->key, value);
			return 0;
		}
		r = b == (k->kind == CONFIG_FLAG) ? st->apply(st->userdata, k->option, NULL) : 0;
		break;
	default:
		r = -EINVAL;
	}
	if (r < 0) {
		set_error(st, "invalid value for [%s] %s=%s", k->section, k->key, value);
		return 0;
	}
	return 1;
}

int config_parse_file(const char *path, config_apply_fn apply, void *userdata)
{
	struct parse_state st = {.path = path, .apply = apply, .userdata = userdata};
	int r;

	st.f = fopen(path, "re");
	if (!st.f)
		return log_error_errno(errno, "Failed to open '%s': %m", path);
	r = ini_parse_stream(reader, &st, handler, &st);
	(void) fclose(st.f);
	if (r < 0)
		return log_error_errno(ENOMEM, "%s: out of memory while parsing", path);
	/* libinih reports its own first error (a bad line) by number; ours may
	 * come from a later line: name the earlier one. */
	if (st.error_line != 0 && (r <= 0 || st.error_line <= (unsigned) r))
		return log_error_errno(EINVAL, "%s:%u: %s", path, st.error_line, st.error);
	if (r > 0)
		/* A line that is neither [section], key=value nor a comment. */
		return log_error_errno(EINVAL, "%s:%d: syntax error (want Key=value or [Section])",
				       path, r);
	return 0;
}
