/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Monotonic clock and deadline arithmetic. Async-signal-safe, lock-free. */
#include <limits.h>
#include "time-util.h"

usec_t now_usec(void)
{
	struct timespec ts;

	(void) clock_gettime(CLOCK_MONOTONIC, &ts);
	return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / NSEC_PER_USEC;
}

usec_t deadline_after(usec_t rel)
{
	usec_t n = now_usec();

	if (rel == USEC_INFINITY || rel > USEC_INFINITY - n)
		return USEC_INFINITY;
	return n + rel;
}

bool deadline_passed(usec_t deadline)
{
	return deadline != USEC_INFINITY && now_usec() >= deadline;
}

usec_t deadline_left(usec_t deadline)
{
	usec_t n;

	if (deadline == USEC_INFINITY)
		return USEC_INFINITY;
	n = now_usec();
	return n >= deadline ? 0 : deadline - n;
}

int deadline_poll_ms(usec_t deadline)
{
	usec_t left = deadline_left(deadline);

	if (left == USEC_INFINITY)
		return -1;
	left = (left + USEC_PER_MSEC - 1) / USEC_PER_MSEC;
	return left > INT_MAX ? INT_MAX : (int) left;
}

struct timespec usec_to_timespec(usec_t u)
{
	struct timespec ts;

	if (u == USEC_INFINITY) {
		ts.tv_sec = (time_t) INT_MAX;
		ts.tv_nsec = 0;
		return ts;
	}
	ts.tv_sec = (time_t) (u / USEC_PER_SEC);
	ts.tv_nsec = (long) ((u % USEC_PER_SEC) * NSEC_PER_USEC);
	return ts;
}
