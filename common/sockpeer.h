/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Who is at the other end of a unix stream socket, by what the kernel says
 * rather than by SO_PEERCRED: those are the credentials of whoever called
 * listen(), which under socket activation is the service manager (PID 1),
 * not the daemon that accepted the connection.
 *   unix_peer_ino()   the peer socket's inode (NETLINK_SOCK_DIAG,
 *                     UDIAG_SHOW_PEER): the server's accepted socket;
 *   proc_fd_holder()  the one process holding a socket inode in its fd
 *                     table (/proc/PID/fd), i.e. the process that accepted.
 * Never on the permission path: these read /proc and talk netlink. */
#include <stdint.h>
#include <sys/types.h>

/* -ENOENT if the socket has no peer (yet), other -errno on failure. */
int unix_peer_ino(int fd, uint64_t *ret);

/* The process (other than the caller) whose fd table holds socket:[ino].
 * first_guess (e.g. the process found last time) is looked at first and
 * returned at once if it holds it; otherwise every process is: -ESRCH if
 * none holds it (e.g. not yet accepted), -ENOTUNIQ if more than one does
 * (ambiguous: trust neither). */
int proc_fd_holder(uint64_t ino, pid_t first_guess, pid_t *ret);
