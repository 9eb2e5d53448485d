/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* fanguardd's --log-format: text (the default, common/log.c) or json (one
 * object per line on stderr: log-json.c). */

enum log_format {
	LOG_FORMAT_TEXT,
	LOG_FORMAT_JSON,
};

int log_format_from_string(const char *s);
/* A log_writer_fn (log_set_writer()). */
void log_json_write(int level, int error, const char *const *fields, const char *file, int line,
		    const char *func, const char *msg);
