/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Program logging to stderr or journald. Thread-safe (one write per line);
 * not for the permission path of the library (see listener/lib/logq.c).
 * Every message is escaped (escape.h) before any sink sees it: one event,
 * one line, whatever a file name or comm holds. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "config.h"
#include "escape.h"
#include "log.h"
#if HAVE_LIBSYSTEMD
/* One CODE_FILE/CODE_LINE/CODE_FUNC set: ours (the caller's), not a second
 * one naming log.c that sd_journal_sendv() would add. */
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>
#endif

static int log_max_level = LOG_INFO;
static enum log_target log_target = LOG_TARGET_AUTO;
static const char *log_ident;
static log_writer_fn log_writer;

void log_set_max_level(int level)
{
	log_max_level = level;
}

int log_get_max_level(void)
{
	return log_max_level;
}

void log_set_target(enum log_target t)
{
	log_target = t;
}

void log_set_ident(const char *ident)
{
	log_ident = ident;
}

const char *log_get_ident(void)
{
	return log_ident;
}

void log_set_writer(log_writer_fn fn)
{
	log_writer = fn;
}

int log_level_from_string(const char *s)
{
	static const char *const names[] = {"emerg",   "alert",	 "crit", "err",
					    "warning", "notice", "info", "debug"};

	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (strcasecmp(s, names[i]) == 0)
			return (int) i;
	if (strcasecmp(s, "error") == 0)
		return LOG_ERR;
	if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
		return s[0] - '0';
	return -EINVAL;
}

/* JOURNAL_STREAM=dev:ino names the journal's stream if it is our stderr. */
static int stderr_is_journal(void)
{
	static _Atomic int cached = -1;
	const char *e;
	unsigned long long dev, ino;
	struct stat st;
	int v = atomic_load_explicit(&cached, memory_order_relaxed);

	if (v >= 0)
		return v;
	v = 0;
	e = getenv("JOURNAL_STREAM");
	if (e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
	    (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino)
		v = 1;
	atomic_store_explicit(&cached, v, memory_order_relaxed);
	return v;
}

static void write_stderr(int level, const char *msg)
{
	static const char *const prefix[] = {"emerg",	"alert",  "crit", "error",
					     "warning", "notice", "info", "debug"};

	if (stderr_is_journal())
		(void) fprintf(stderr, "<%d>%s\n", level, msg);
	else if (log_ident)
		(void) fprintf(stderr, "%s: %s%s%s\n", log_ident,
			       level <= LOG_WARNING ? prefix[level] : "",
			       level <= LOG_WARNING ? ": " : "", msg);
	else
		(void) fprintf(stderr, "%s%s%s\n", level <= LOG_WARNING ? prefix[level] : "",
			       level <= LOG_WARNING ? ": " : "", msg);
}

static int log_dispatch(int level, int error, const char *const *fields, const char *file, int line,
			const char *func, const char *msg)
{
#if HAVE_LIBSYSTEMD
	if (log_target == LOG_TARGET_JOURNAL) {
		struct iovec iov[32];
		char *bufs[32];
		size_t n = 0, nb = 0;

		if (asprintf(&bufs[nb], "MESSAGE=%s", msg) >= 0)
			iov[n++] = (struct iovec){bufs[nb], strlen(bufs[nb])}, nb++;
		if (asprintf(&bufs[nb], "PRIORITY=%d", level) >= 0)
			iov[n++] = (struct iovec){bufs[nb], strlen(bufs[nb])}, nb++;
		if (error != 0 && asprintf(&bufs[nb], "ERRNO=%d", abs(error)) >= 0)
			iov[n++] = (struct iovec){bufs[nb], strlen(bufs[nb])}, nb++;
		if (file && asprintf(&bufs[nb], "CODE_FILE=%s", file) >= 0)
			iov[n++] = (struct iovec){bufs[nb], strlen(bufs[nb])}, nb++;
		if (file && asprintf(&bufs[nb], "CODE_LINE=%d", line) >= 0)
			iov[n++] = (struct iovec){bufs[nb], strlen(bufs[nb])}, nb++;
		if (func && asprintf(&bufs[nb], "CODE_FUNC=%s", func) >= 0)
			iov[n++] = (struct iovec){bufs[nb], strlen(bufs[nb])}, nb++;
		/* Fields go out raw: sd_journal_sendv() sends a value holding a
		 * newline in the native protocol's binary-safe form (name, '\n',
		 * 64-bit LE length, data), see sd_journal_print(3) and
		 * journal-send.c; MESSAGE is the escaped single line. */
		for (size_t i = 0; fields && fields[i] && n < ELEMENTSOF(iov); i++)
			iov[n++] = (struct iovec){(void *) fields[i], strlen(fields[i])};
		if (sd_journal_sendv(iov, (int) n) >= 0) {
			while (nb > 0)
				free(bufs[--nb]);
			return 0;
		}
		while (nb > 0)
			free(bufs[--nb]);
	}
#endif
	if (log_writer) {
		log_writer(level, error, fields, file, line, func, msg);
		return 0;
	}
	write_stderr(level, msg);
	return 0;
}

/* Longest line a sink gets, escaped; longer ones end with the marker.
 * Callers put the structured fields first and a user's path last, so a cut
 * loses only the end of the path. */
#define LOG_LINE_MAX 8192

_printf_(7, 0) static int log_formatv(int level, int error, const char *const *fields,
				      const char *file, int line, const char *func, const char *fmt,
				      va_list ap)
{
	char small[1024], line_buf[LOG_LINE_MAX], *raw = small;
	va_list aq;
	int saved = errno, n;

	if (error < 0)
		error = -error;
	if ((level & LOG_PRIMASK) > log_max_level)
		return -error;
	errno = error; /* for %m */
	va_copy(aq, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n >= (int) sizeof(small)) {
		errno = error;
		if (vasprintf(&raw, fmt, aq) < 0)
			raw = small; /* OOM: the cut line, still escaped */
	}
	va_end(aq);
	if (n < 0)
		small[0] = '\0';
	(void) escape_str(line_buf, sizeof(line_buf), raw);
	if (raw != small)
		free(raw);
	log_dispatch(level & LOG_PRIMASK, error, fields, file, line, func, line_buf);
	errno = saved;
	return -error;
}

int log_internalv(int level, int error, const char *file, int line, const char *func,
		  const char *fmt, va_list ap)
{
	return log_formatv(level, error, NULL, file, line, func, fmt, ap);
}

int log_internal(int level, int error, const char *file, int line, const char *func,
		 const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = log_formatv(level, error, NULL, file, line, func, fmt, ap);
	va_end(ap);
	return r;
}

int log_struct_internal(int level, int error, const char *const *fields, const char *file, int line,
			const char *func, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = log_formatv(level, error, fields, file, line, func, fmt, ap);
	va_end(ap);
	return r;
}
