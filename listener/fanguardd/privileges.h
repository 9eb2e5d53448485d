/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Whether this process may create a fanotify permission group, checked once
 * at start so that a start that cannot work says why. */

/* 0 if fanotify_init(FAN_CLASS_CONTENT) works here (or fails for a reason
 * the later set-up reports itself). -EPERM after logging which of these it
 * is: no CAP_SYS_ADMIN (a non-root start, a container that drops it),
 * CAP_SYS_ADMIN only inside a user namespace, or a seccomp filter of the
 * container or service manager that refuses the call. */
int privileges_check(void);

/* The exit status then: LSB's "user had insufficient privilege" (systemd
 * shows it as 4/NOPERMISSION; the unit does not restart on it). */
#define PRIVILEGES_EXIT_STATUS 4
