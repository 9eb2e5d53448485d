/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Quarantine of denied files (quarantine.c, fanguard_set_quarantine()).
 * Runs on a worker after the deny was answered, with the event's fd: never
 * on a reader (a reader hands such an event to a worker instead), never
 * for FUSE or network mounts (a copy through a daemon could pin the worker
 * without a deadline: local filesystems only, see quarantine.c). */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fanguard;
struct domain;
struct fg_event;
struct scan_result;
struct subject;

enum quarantine_cause {
	QUARANTINE_NOT_LOCAL,	 /* on a FUSE or network mount: not copied */
	QUARANTINE_TOO_LARGE,	 /* over max_bytes: not copied */
	QUARANTINE_RATE_LIMIT,	 /* over per_minute: not copied */
	QUARANTINE_DISK_FLOOR,	 /* the copy would leave less than min_free_bytes */
	QUARANTINE_COPY_ERROR,	 /* reading the event fd or writing the copy failed */
	QUARANTINE_PATH_CHANGED, /* the name no longer names the file: copy kept, path untouched */
	QUARANTINE_REMOVE_ERROR, /* copy kept, the original could not be removed */
	QUARANTINE_RECORD_ERROR, /* copy made, its record could not be written */
	_QUARANTINE_CAUSE_MAX,
};

const char *quarantine_cause_to_string(enum quarantine_cause c);

/* Whether an answered event with this result is one to quarantine (a deny a
 * scanner found, not in audit mode): the reader then leaves it to a worker. */
bool quarantine_wanted(const struct fanguard *fg, const struct scan_result *res);

/* Reads who opened it (before the answer: a denied opener often exits at
 * once). Only when quarantine_wanted(). */
void quarantine_subject(const struct fg_event *ev, struct subject *ret);

/* After the answer, with ev->fd still open: copy, check, remove, record.
 * buf is the worker's scan buffer. */
void quarantine_event(struct domain *d, const struct fg_event *ev, const struct scan_result *res,
		      struct subject *subj, uint8_t *buf, size_t buflen);

/* Counters for stats.c. */
uint64_t quarantine_count_done(const struct fanguard *fg);
uint64_t quarantine_count_failed(const struct fanguard *fg, enum quarantine_cause c);

struct quarantine *quarantine_free(struct quarantine *q);
