/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Every FUSE filesystem on the host, whichever mount namespace holds it
 * (fusens.c; fanguard_options.watch_all_fuse_ms). */
struct fanguard;

/* Starts the poll thread if the option is on; 0 or -errno. */
int fusens_start(struct fanguard *fg);
/* Joins it (before the domains are stopped). */
void fusens_stop(struct fanguard *fg);
void fusens_free(struct fanguard *fg);
/* As mountwatch_arm_first_pass_locked(), for the FUSE connections poller. */
unsigned fusens_arm_first_pass_locked(struct fanguard *fg);
