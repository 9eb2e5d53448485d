/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Logging for programs (fanguardd, fanguardctl, fusetest, test helpers).
 * libfanguard never calls these: it logs through its callback.
 *
 * Targets: a writer set with log_set_writer() (JSON lines), else stderr
 * with "<N>" level prefixes when stderr is the journal's
 * stream (JOURNAL_STREAM), else plain "level: message"; the journal
 * directly (structured fields) when built with libsystemd and asked to.
 * The log_*_errno() forms set errno for %m and return -abs(error), so
 * "return log_error_errno(r, "...: %m");" logs and propagates at once. */
#include <stdarg.h>
#include <syslog.h>
#include "macro.h"

enum log_target {
	LOG_TARGET_AUTO, /* journal if stderr is connected to it, else stderr */
	LOG_TARGET_STDERR,
	LOG_TARGET_JOURNAL,
};

void log_set_max_level(int level);
int log_get_max_level(void);
void log_set_target(enum log_target t);
void log_set_ident(const char *ident);
const char *log_get_ident(void);
/* Replaces the stderr output (not the journal's): fanguardd's
 * --log-format json. fields as for log_struct_internal(); file, func may
 * be NULL. NULL restores the default. Must write one line at once. */
typedef void (*log_writer_fn)(int level, int error, const char *const *fields, const char *file,
			      int line, const char *func, const char *msg);
void log_set_writer(log_writer_fn fn);
/* Parses "err", "warning", "info", "debug" or 0..7; -EINVAL otherwise. */
int log_level_from_string(const char *s);

int log_internal(int level, int error, const char *file, int line, const char *func,
		 const char *fmt, ...) _printf_(6, 7);
int log_internalv(int level, int error, const char *file, int line, const char *func,
		  const char *fmt, va_list ap) _printf_(6, 0);
/* Structured: fields is a NULL-terminated list of "KEY=value" strings sent
 * as journal fields, or as JSON members by a writer (log_set_writer());
 * plain stderr shows only the message. */
int log_struct_internal(int level, int error, const char *const *fields, const char *file, int line,
			const char *func, const char *fmt, ...) _printf_(7, 8);
#define log_struct(level, error, fields, ...) \
	log_struct_internal((level), (error), (fields), __FILE__, __LINE__, __func__, __VA_ARGS__)

#define log_full_errno(level, error, ...) \
	log_internal((level), (error), __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, (e), __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, (e), __VA_ARGS__)
