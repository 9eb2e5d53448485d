/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Restart without a gap through systemd's file descriptor store
 * (fdstore.c): at a clean stop the fanotify groups go to the store with
 * their marks (FDSTORE=1, FDNAME=group/NAME), and the next fanguardd adopts
 * them (sd_listen_fds_with_names()) and takes them out of the store at
 * once, so that a crash releases them. Without libsystemd, or outside a
 * service (no $NOTIFY_SOCKET), both are no-ops. */
#include <stdbool.h>
#include "fanguard.h"
#include "settings.h"

/* Before any watch: adopts the groups passed in LISTEN_FDS named
 * "group/..." and removes them from the store, if the watches stored
 * beside them ("watches") are all still in a's (a kept group keeps every
 * mark: a removed watch would stay marked); else closes them. Closes other
 * passed fds.
 * Returns how many were adopted (errors are logged, never fatal). */
int fdstore_adopt(struct fanguard *fg, const struct settings *a);

/* Whether a handover is safe with these watches (at start, after the
 * watches, and after each reload): a kept group must mark nothing the
 * restart itself opens (the service manager reading the unit's files, the
 * exec of fanguardd and its libraries, its configuration and lists), or
 * those opens would wait on a group nobody reads, for ever. Checked by
 * device number, conservatively; logs why not. */
bool fdstore_check_watches(const struct settings *a);

/* On a failed start, before fdstore_adopt(): closes the passed groups and
 * removes them from the store (their waiters are then allowed), so that
 * they do not block opens through the restarts that follow. */
void fdstore_drop(void);

/* Stops fg: with fanguard_handover() into the store when running as a
 * service (then waits until systemd has them), else fanguard_stop().
 * Returns as fanguard_stop(); *ret_stored is how many groups were stored. */
int fdstore_stop(struct fanguard *fg, uint32_t timeout_ms, unsigned *ret_stored);
