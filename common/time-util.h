/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Monotonic time and deadlines, in microseconds. Deadlines are absolute
 * CLOCK_MONOTONIC values; USEC_INFINITY means "none". */
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

typedef uint64_t usec_t;
#define USEC_INFINITY ((usec_t) UINT64_MAX)
#define USEC_PER_SEC ((usec_t) 1000000ULL)
#define USEC_PER_MSEC ((usec_t) 1000ULL)
#define NSEC_PER_USEC ((uint64_t) 1000ULL)

usec_t now_usec(void);
/* now + rel, saturating at USEC_INFINITY. */
usec_t deadline_after(usec_t rel);
bool deadline_passed(usec_t deadline);
/* Microseconds until deadline, 0 if passed, USEC_INFINITY if none. */
usec_t deadline_left(usec_t deadline);
/* poll()-style timeout in ms, rounded up; -1 for no deadline. */
int deadline_poll_ms(usec_t deadline);
/* Absolute CLOCK_MONOTONIC timespec, for pthread_cond_clockwait / timedwait. */
struct timespec usec_to_timespec(usec_t u);
