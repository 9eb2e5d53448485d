/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Socket I/O bounded by a deadline (CLOCK_MONOTONIC, USEC_INFINITY for none):
 * every call is nonblocking and polls until the deadline, then -ETIMEDOUT. */
#include <stdbool.h>
#include <stddef.h>
#include "time-util.h"

/* Waits until fd is ready for events (POLLIN, POLLOUT). */
int sock_wait(int fd, short events, usec_t deadline);
/* Sends all of buf. more: MSG_MORE, the next send follows at once (TCP: one
 * segment, not a small one that Nagle and a delayed ACK would hold for
 * 40 ms). */
int sock_send_all(int fd, const void *buf, size_t len, usec_t deadline, bool more);
/* Passes fd (SCM_RIGHTS) with the one data byte byte. */
int sock_send_fd(int sock, int fd, char byte, usec_t deadline);
/* Reads one NUL-terminated message into buf; *ret_len is its length without
 * the NUL. -ECONNRESET on EOF before any byte, -EPROTO on EOF inside it or
 * bytes after the NUL (the stream is then out of step), -EMSGSIZE when it
 * does not fit. */
int sock_recv_nul(int fd, char *buf, size_t size, size_t *ret_len, usec_t deadline);
