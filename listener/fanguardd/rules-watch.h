/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The YARA rules file, watched (rules-watch.c): a change on disk reloads
 * the configuration, as SIGHUP would, so that the rules in force, and the
 * cached and stored clean verdicts they vouched for, follow the file. */
#include <stdbool.h>

struct rules_watch;

/* Watches path's directory (inotify, set up before the sandbox is on) for
 * a write to path (IN_CLOSE_WRITE) or a file renamed or linked over it
 * (IN_MOVED_TO, IN_CREATE). 0, or -errno (logged by the caller). */
int rules_watch_new(const char *path, struct rules_watch **ret);
struct rules_watch *rules_watch_free(struct rules_watch *w); /* NULL-safe */
int rules_watch_fd(const struct rules_watch *w);
/* Reads what is queued, never blocks: true if the rules file changed. */
bool rules_watch_changed(struct rules_watch *w);
