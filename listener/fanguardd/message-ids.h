/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The journal MESSAGE_IDs of fanguardd: each has an entry in
 * systemd/fanguard.catalog (journalctl -x shows it); the journal-catalog
 * test checks that both name the same set. Never reuse or change one. */

/* A deny verdict: one line per denied access. */
#define FANGUARD_MESSAGE_DENY "3f0b6c1e9d2a4e7b8c5d1a2f6e9b0c47"
/* Not covered: an access answered without a scan (deadline, scanner error,
 * too large) with the default verdict, or a mount under a watch left
 * without a mark. */
#define FANGUARD_MESSAGE_UNCOVERED "8efe1b2232944b88bdaae5db12a8e251"
/* Overload: events answered at once because a queue was full, or threads
 * refused by the thread budget. */
#define FANGUARD_MESSAGE_OVERLOAD "80ac0ca26d784b8cb948934d2cb65560"
/* Workers abandoned: stuck in I/O (a FUSE daemon) past a deadline. */
#define FANGUARD_MESSAGE_ABANDONED "50c99634b1a44681bf20afbabef7a2c5"
/* Any other verdict line (allows, logged at debug level). */
#define FANGUARD_MESSAGE_VERDICT "28b05771e58e4c2c9e02c2f892ff8ae3"
