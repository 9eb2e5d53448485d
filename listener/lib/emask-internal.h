/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The event mask of a FUSE-backed domain's marks (emask.c) and the
 * deduplication of per-read events on access-mask domains (dedup.c).
 *
 * open:   FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM (a verdict before any byte)
 * access: FAN_ACCESS_PERM | FAN_OPEN_EXEC_PERM: the kernel opens the
 *         event's fd at the first read(), after the creator's open is done,
 *         so a daemon that cannot open a file twice while it is written
 *         (rclone --vfs-cache-mode off) is never asked to (DESIGN.md §2). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "fanguard.h"
#include "time-util.h"

struct fanguard;
struct domain;
struct fg_event;

/* A read() on a FUSE group that blocked at least this long and then failed
 * with an open error is the daemon refusing the kernel's open of an event's
 * file; EMASK_REFUSALS of them within EMASK_WINDOW_USEC switch an auto
 * domain to the access mask. */
#define EMASK_REFUSAL_USEC (1 * USEC_PER_SEC)
#define EMASK_REFUSALS 2
#define EMASK_WINDOW_USEC (60 * USEC_PER_SEC)
/* Ignore marks after a clean read scan live at most this long (dedup.c). */
#define DEDUP_TTL_USEC (1 * USEC_PER_SEC)

/* The fanotify mask of a domain's marks: the listener's events, with
 * FAN_OPEN_PERM replaced by FAN_ACCESS_PERM if access. */
uint64_t emask_fan_mask(const struct fanguard *fg, bool access);
/* The mode configured for mount_point, else the default. */
enum fanguard_fuse_event_mask emask_configured(struct fanguard *fg, const char *mount_point);
/* Called on a domain just created, before anything marks it: its initial
 * mask, from the configuration for mount_point (NULL: shared groups, which
 * never switch by themselves). */
void emask_domain_init(struct domain *d, const char *mount_point);
/* Pure: whether a read() that failed with err (-errno) after blocking
 * blocked_usec counts as the daemon refusing our open. */
bool emask_is_refusal(int err, usec_t blocked_usec);
/* Pure: counts a refusal at now in (*first, *n); true when the domain
 * should switch. */
bool emask_refusal_note(usec_t now, usec_t *first, unsigned *n);
/* A reader's: its read() failed with err after blocking blocked_usec. */
void emask_note_read_error(struct domain *d, int err, usec_t blocked_usec);
/* Whether the daemon's argv and environment (NUL-separated, as /proc/PID/
 * cmdline and environ; env may be NULL) hint that it cannot open a file
 * twice while it is written (rclone mount without --vfs-cache-mode
 * writes|full, from the command line or else RCLONE_VFS_CACHE_MODE): a
 * claim, used only to pick the access mask early. Writes the reason to why. */
bool emask_argv_hint(const char *argv, size_t len, const char *env, size_t env_len, char *why,
		     size_t why_len);
bool emask_daemon_hint(pid_t daemon, char *why, size_t why_len);
/* Switches d to the access mask: adds the new mask to the mark of path_fd
 * first, then removes FAN_OPEN_PERM, so coverage never lapses. 0, or
 * -errno (then the old mask stays). */
int domain_emask_to_access(struct domain *d, int path_fd, uint32_t flags, const char *why);
/* After classification: a hint from the daemon's argv (emask_daemon_hint())
 * switches an auto domain to the access mask, marking through its mount
 * point. */
void domain_emask_hint(struct domain *d, pid_t daemon);

/* dedup.c: after a clean scan of a read (FAN_ACCESS_PERM) on an
 * access-mask domain, an evictable ignore mark for FAN_ACCESS_PERM on the
 * inode, so the same open session's next read()s raise no event; dropped
 * at the TTL (dedup_tick(), the keeper) and by any local write. */
void dedup_note_clean(struct domain *d, const struct fg_event *ev, uint64_t gen);
void dedup_tick(struct domain *d, usec_t now);
