/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The listener object's references and the small helpers every module
 * uses: names, the fanotify mask, counter sums. Low in the dependency order
 * (fg-internal.h): it calls nothing that manages domains or threads, and
 * knows none of the listener's members: the last reference calls the
 * destructor that fanguard_new() set, beside the code that built them. */
#include <errno.h>
#include <stdlib.h>
#include <sys/fanotify.h>
#include "fg-internal.h"

const char *fanguard_reason_to_string(enum fanguard_reason r)
{
	static const char *const s[_FANGUARD_REASON_MAX] = {
		[FANGUARD_REASON_SCANNED] = "scanned",
		[FANGUARD_REASON_SELF] = "self",
		[FANGUARD_REASON_NOT_REGULAR] = "not-regular",
		[FANGUARD_REASON_EXCLUDED] = "excluded",
		[FANGUARD_REASON_TOO_LARGE] = "too-large",
		[FANGUARD_REASON_DEADLINE] = "deadline",
		[FANGUARD_REASON_QUEUE_FULL] = "queue-full",
		[FANGUARD_REASON_ERROR] = "error",
		[FANGUARD_REASON_SHUTDOWN] = "shutdown",
		[FANGUARD_REASON_NO_SCANNER] = "no-scanner",
		[FANGUARD_REASON_POLICY] = "policy",
	};

	return (unsigned) r < _FANGUARD_REASON_MAX && s[r] ? s[r] : "?";
}

const char *fanguard_mount_class_to_string(enum fanguard_mount_class c)
{
	static const char *const s[_FANGUARD_MOUNT_CLASS_MAX] = {
		[FANGUARD_MOUNT_LOCAL] = "local",
		[FANGUARD_MOUNT_FUSE] = "fuse",
		[FANGUARD_MOUNT_NETWORK] = "network",
	};

	return (unsigned) c < _FANGUARD_MOUNT_CLASS_MAX ? s[c] : "?";
}

uint64_t fan_mask_for(const struct fanguard *fg)
{
	uint64_t m = 0;

	if (fg->opts.events & FANGUARD_EVENT_OPEN)
		m |= FAN_OPEN_PERM;
	if (fg->opts.events & FANGUARD_EVENT_EXEC)
		m |= FAN_OPEN_EXEC_PERM;
	if (fg->opts.events & FANGUARD_EVENT_ACCESS)
		m |= FAN_ACCESS_PERM;
	return m;
}

static uint64_t load(const _Atomic uint64_t *p)
{
	return atomic_load_explicit(p, memory_order_relaxed);
}

void domain_stats_add(struct domain_stats *to, const struct domain_stats *from)
{
#define X(f) atomic_fetch_add_explicit(&to->f, load(&from->f), memory_order_relaxed);
	DOMAIN_COUNTERS(X)
#undef X
	for (int i = 0; i < _FANGUARD_REASON_MAX; i++)
		atomic_fetch_add_explicit(&to->by_reason[i], load(&from->by_reason[i]),
					  memory_order_relaxed);
}

void fg_ref(struct fanguard *fg)
{
	atomic_fetch_add(&fg->refs, 1);
}

void fg_unref(struct fanguard *fg)
{
	if (atomic_fetch_sub(&fg->refs, 1) == 1)
		fg->destroy(fg);
}

void fg_set_fan_ops(struct fanguard *fg, const struct fan_ops *ops, void *userdata)
{
	fg->ops = ops;
	fg->ops_userdata = userdata;
}
