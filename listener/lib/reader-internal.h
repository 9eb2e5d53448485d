/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* A domain's readers (reader.c): read events, answer at receipt what needs
 * no content, queue the rest for the workers. */
#include <stdbool.h>

struct domain;

/* Called with d->lock held: starts one reader (within the thread budget). */
int reader_spawn_locked(struct domain *d, bool extra);
/* Called with d->lock held: how many readers are stuck in the kernel's open
 * inside read() or in close() of an event fd; sets *ret_alive. */
unsigned readers_stuck_locked(struct domain *d, unsigned *ret_alive);
/* Called with d->lock held: if every reader is stuck, add one (up to the
 * mount's share of readers and the thread budget). */
void readers_check_locked(struct domain *d);
