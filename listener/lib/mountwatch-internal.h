/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Live mount tracking for fanguard_watch_tree() (mountwatch.c). */

struct fanguard;

int mountwatch_start(struct fanguard *fg);
/* Joins the watcher; after it no domain is added or released by it. */
void mountwatch_stop(struct fanguard *fg);
void mountwatch_free(struct fanguard *fg);
/* Under fg->lock, in fanguard_start(): 1 if the watcher thread runs, and
 * then it reports its first pass (handover_first_pass_done()); else 0. */
unsigned mountwatch_arm_first_pass_locked(struct fanguard *fg);
