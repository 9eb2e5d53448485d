/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* A domain's deadline keeper (keeper.c): answers what is still unanswered
 * at its deadline, abandons and replaces stuck workers, adds readers while
 * all are stuck. */
#include "fanguard.h"

struct domain;

/* Called with d->lock held. */
int keeper_start_locked(struct domain *d);
/* Joins the keeper (d->stopping set and the keeper woken first). */
void keeper_join(struct domain *d);
/* Answers every event d holds with the default verdict (stop). */
void keeper_expire_all(struct domain *d, enum fanguard_reason why);
