/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The scanners' state watch (scanstate.c): what clean verdicts depend on
 * besides the file (clamd's signature version), polled; a change flushes
 * the verdict cache. */

struct fanguard;

/* How often each scanner's state() is asked: a signature update flushes
 * the cache at most this long (plus one query) after the scanner took it. */
#define SCANSTATE_POLL_MSEC 1000

/* Starts the watch if the listener runs and a scanner has a state() hook;
 * called with fg->lock held (fanguard_start(), scanners added later). */
int scanstate_ensure_locked(struct fanguard *fg);
/* Joins the watch (fanguard_stop()). */
void scanstate_stop(struct fanguard *fg);
