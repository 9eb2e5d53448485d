/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Restart without a gap through systemd's file descriptor store
 * (fdstore.c): at a clean stop the fanotify groups go to the store with
 * their marks (FDSTORE=1, FDNAME=group/NAME), and the next fanguardd adopts
 * them (sd_listen_fds_with_names()) and takes them out of the store at
 * once, so that a crash releases them. Without libsystemd, or outside a
 * service (no $NOTIFY_SOCKET), both are no-ops. */
#include "fanguard.h"

/* Before any watch: adopts the groups passed in LISTEN_FDS named
 * "group/..." and removes them from the store. Closes other passed fds.
 * Returns how many were adopted (errors are logged, never fatal). */
int fdstore_adopt(struct fanguard *fg);

/* On a failed start, before fdstore_adopt(): closes the passed groups and
 * removes them from the store (their waiters are then allowed), so that
 * they do not block opens through the restarts that follow. */
void fdstore_drop(void);

/* Stops fg: with fanguard_handover() into the store when running as a
 * service (then waits until systemd has them), else fanguard_stop().
 * Returns as fanguard_stop(); *ret_stored is how many groups were stored. */
int fdstore_stop(struct fanguard *fg, uint32_t timeout_ms, unsigned *ret_stored);
