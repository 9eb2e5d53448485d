/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The deadline heap (inflight-internal.h). Never allocates on removal. */
#include <errno.h>
#include <stdlib.h>
#include "answer-internal.h"
#include "inflight-internal.h"

static void place(struct inflight *h, size_t i, struct fg_event *ev)
{
	h->v[i] = ev;
	ev->heap_idx = (ssize_t) i;
}

static void sift_up(struct inflight *h, size_t i)
{
	struct fg_event *ev = h->v[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (h->v[parent]->deadline_usec <= ev->deadline_usec)
			break;
		place(h, i, h->v[parent]);
		i = parent;
	}
	place(h, i, ev);
}

static void sift_down(struct inflight *h, size_t i)
{
	struct fg_event *ev = h->v[i];

	for (;;) {
		size_t l = 2 * i + 1, m = i;
		usec_t best = ev->deadline_usec;

		if (l < h->n && h->v[l]->deadline_usec < best) {
			m = l;
			best = h->v[l]->deadline_usec;
		}
		if (l + 1 < h->n && h->v[l + 1]->deadline_usec < best)
			m = l + 1;
		if (m == i)
			break;
		place(h, i, h->v[m]);
		i = m;
	}
	place(h, i, ev);
}

int inflight_add(struct inflight *h, struct fg_event *ev)
{
	if (h->n == h->cap) {
		size_t nc = h->cap ? h->cap * 2 : 64;
		struct fg_event **nv = realloc(h->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		h->v = nv;
		h->cap = nc;
	}
	h->v[h->n] = ev;
	sift_up(h, h->n++);
	return 0;
}

void inflight_remove(struct inflight *h, struct fg_event *ev)
{
	size_t i;
	struct fg_event *last;

	if (ev->heap_idx < 0)
		return;
	i = (size_t) ev->heap_idx;
	ev->heap_idx = -1;
	last = h->v[--h->n];
	if (i == h->n)
		return;
	h->v[i] = last;
	last->heap_idx = (ssize_t) i;
	if (i > 0 && h->v[(i - 1) / 2]->deadline_usec > last->deadline_usec)
		sift_up(h, i);
	else
		sift_down(h, i);
}

struct fg_event *inflight_peek(const struct inflight *h)
{
	return h->n > 0 ? h->v[0] : NULL;
}

void inflight_done(struct inflight *h)
{
	free(h->v);
	*h = (struct inflight){};
}
