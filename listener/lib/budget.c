/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The thread budget (budget-internal.h). O(owners) per thread start or
 * exit, never on the per-event path. */
#include <errno.h>
#include <stdlib.h>
#include "budget-internal.h"

void budget_init(struct budget *b, unsigned max_threads, unsigned reserve, unsigned owner_share)
{
	*b = (struct budget){.max_threads = max_threads,
			     .reserve = reserve < max_threads ? reserve : max_threads,
			     .owner_share = owner_share};
	pthread_mutex_init(&b->lock, NULL);
}

void budget_set_reserve(struct budget *b, unsigned reserve)
{
	pthread_mutex_lock(&b->lock);
	b->reserve = reserve < b->max_threads ? reserve : b->max_threads;
	pthread_mutex_unlock(&b->lock);
}

void budget_done(struct budget *b)
{
	free(b->owners);
	b->owners = NULL;
	pthread_mutex_destroy(&b->lock);
}

static struct budget_owner *owner_find(struct budget *b, uid_t uid, bool add)
{
	struct budget_owner *n;

	for (size_t i = 0; i < b->n_owners; i++)
		if (b->owners[i].uid == uid)
			return &b->owners[i];
	if (!add)
		return NULL;
	n = realloc(b->owners, (b->n_owners + 1) * sizeof(*n));
	if (!n)
		return NULL;
	b->owners = n;
	n[b->n_owners] = (struct budget_owner){.uid = uid};
	return &n[b->n_owners++];
}

int budget_take(struct budget *b, bool local, uid_t owner, unsigned n)
{
	struct budget_owner *o = NULL;
	unsigned used;
	int r = 0;

	pthread_mutex_lock(&b->lock);
	used = b->n_local + b->n_other;
	if (local) {
		if (used + n > b->max_threads)
			r = -EUSERS;
	} else {
		/* The local domain's reserve stays free, whoever holds it. */
		unsigned free_reserve = b->reserve > b->n_local ? b->reserve - b->n_local : 0;

		if (used + n + free_reserve > b->max_threads)
			r = -EUSERS;
		else if (owner != 0) {
			o = owner_find(b, owner, true);
			if (!o)
				r = -ENOMEM;
			else if (o->n + n > b->owner_share)
				r = -EUSERS;
		}
	}
	if (r == 0) {
		if (local)
			b->n_local += n;
		else
			b->n_other += n;
		if (o)
			o->n += n;
	}
	pthread_mutex_unlock(&b->lock);
	return r;
}

void budget_put(struct budget *b, bool local, uid_t owner, unsigned n)
{
	struct budget_owner *o;

	pthread_mutex_lock(&b->lock);
	if (local)
		b->n_local -= n <= b->n_local ? n : b->n_local;
	else {
		b->n_other -= n <= b->n_other ? n : b->n_other;
		o = owner != 0 ? owner_find(b, owner, false) : NULL;
		if (o)
			o->n -= n <= o->n ? n : o->n;
	}
	pthread_mutex_unlock(&b->lock);
}

unsigned budget_used(struct budget *b)
{
	unsigned n;

	pthread_mutex_lock(&b->lock);
	n = b->n_local + b->n_other;
	pthread_mutex_unlock(&b->lock);
	return n;
}
