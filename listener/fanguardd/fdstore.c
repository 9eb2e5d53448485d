/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanguardd's groups across a restart (fdstore.h).
 *
 * What systemd 252 does with the store (probed in tests/package/
 * nspawn-boot.sh): it keeps it while the unit restarts (systemctl restart,
 * Restart=on-failure) and closes it when the unit ends up inactive or
 * failed, which releases a stored group and the events waiting on it.
 * Groups are only ever stored by a clean stop, after the library answered
 * everything it read (fanguard_handover(3)); a crashed fanguardd stored
 * nothing, and its groups die with it: the kernel allows what they held.
 *
 * Must never: leave an adopted group in the store while this process reads
 * it (a crash would then keep events it read unanswered for as long as the
 * store lives). */
#include <errno.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "fdstore.h"
#include "log.h"
#include "macro.h"
#if HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#define GROUP_PREFIX "group/"

static bool handover_safe;

/* What the restart opens before the new instance reads its groups: the
 * service manager (unit files, EnvironmentFile=, runtime directory), the
 * exec (binary, loader, libraries), and the daemon (its files). */
static const char *const needed_dirs[] = {
	"/", "/etc", "/usr", "/usr/lib", "/lib", "/bin", "/sbin", "/var", "/var/log", "/run",
};

static bool dev_needed(dev_t dev, const struct settings *a, const char **ret_what)
{
	struct stat st;
	char line[4096];
	FILE *f;
	const struct setting_list *lists[] = {&a->deny_hashes, &a->allow_hashes};
	const char *files[] = {"/proc/self/exe", a->config, a->yara_rules, a->on_deny};

	for (size_t i = 0; i < sizeof(needed_dirs) / sizeof(needed_dirs[0]); i++)
		if (stat(needed_dirs[i], &st) == 0 && st.st_dev == dev) {
			*ret_what = needed_dirs[i];
			return true;
		}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (files[i] && stat(files[i], &st) == 0 && st.st_dev == dev) {
			*ret_what = files[i];
			return true;
		}
	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++)
		for (size_t i = 0; i < lists[l]->n; i++)
			if (stat(lists[l]->items[i], &st) == 0 && st.st_dev == dev) {
				*ret_what = lists[l]->items[i];
				return true;
			}
	/* The libraries this binary maps (the next one maps the same). */
	f = fopen("/proc/self/maps", "re");
	if (!f)
		return true; /* cannot tell: not safe */
	while (fgets(line, sizeof(line), f)) {
		unsigned maj, min;

		if (sscanf(line, "%*s %*s %*s %x:%x", &maj, &min) == 2 &&
		    makedev(maj, min) == dev) {
			*ret_what = "a library fanguardd maps";
			(void) fclose(f);
			return true;
		}
	}
	(void) fclose(f);
	return false;
}

bool fdstore_check_watches(const struct settings *a)
{
	const struct setting_list *lists[] = {&a->watch, &a->watch_fs, &a->watch_tree};

	handover_safe = true;
	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++)
		for (size_t i = 0; i < lists[l]->n; i++) {
			const char *what = "?";
			struct stat st;

			if (stat(lists[l]->items[i], &st) < 0 || dev_needed(st.st_dev, a, &what)) {
				log_notice(
					"Restarts close the fanotify groups: the watch '%s' covers "
					"%s, which a restart opens before the next instance "
					"could answer",
					lists[l]->items[i], what);
				handover_safe = false;
				return false;
			}
		}
	return true;
}

#if HAVE_LIBSYSTEMD
/* fg NULL: drop every passed group (a start that fails before it could
 * answer them), so that the store does not keep them through the
 * restarts that follow. */
static int take_passed(struct fanguard *fg)
{
	char **names = NULL;
	int n, adopted = 0;

	n = sd_listen_fds_with_names(/* unset_environment= */ true, &names);
	if (n < 0) {
		log_warning_errno(n, "Failed to read the passed file descriptors, ignoring: %m");
		return 0;
	}
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		const char *name = names && names[i] ? names[i] : "unknown";
		int r = -EINVAL;

		if (!fg)
			r = -ECANCELED;
		else if (strncmp(name, GROUP_PREFIX, strlen(GROUP_PREFIX)) == 0)
			r = fanguard_adopt_group(fg, fd, name + strlen(GROUP_PREFIX));
		if (r == -ECANCELED)
			(void) close(fd); /* the kernel allows what the group queued */
		else if (r < 0) {
			log_warning_errno(r, "Failed to adopt passed fd '%s', closing it: %m",
					  name);
			(void) close(fd);
		} else
			adopted++;
		/* Out of the store before we read anything from it. */
		r = sd_notifyf(0, "FDSTOREREMOVE=1\nFDNAME=%s", name);
		if (r < 0)
			log_warning_errno(r, "Failed to remove '%s' from the fd store: %m", name);
	}
	for (int i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
	if (n > 0) {
		/* Until systemd has processed the removals, a crash would
		 * leave the groups stored: wait for it. */
		int r = sd_notify_barrier(0, 5 * 1000000ULL);

		if (r < 0)
			log_warning_errno(r, "No barrier after FDSTOREREMOVE, ignoring: %m");
		if (!fg)
			log_notice("Released %d fanotify groups of the previous instance", n);
		else
			log_info("Adopted %d of %d fanotify groups from the previous instance "
				 "(with their "
				 "marks and waiting events)",
				 adopted, n);
	}
	return adopted;
}

int fdstore_adopt(struct fanguard *fg)
{
	return take_passed(fg);
}

void fdstore_drop(void)
{
	(void) take_passed(NULL);
}

static int store_group(void *userdata, int fd, const char *name)
{
	_cleanup_free_ char *msg = NULL;
	unsigned *stored = userdata;
	int r;

	if (asprintf(&msg, "FDSTORE=1\nFDNAME=" GROUP_PREFIX "%s", name) < 0)
		return -ENOMEM;
	r = sd_pid_notify_with_fds(0, /* unset_environment= */ false, msg, &fd, 1);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENOTCONN; /* no $NOTIFY_SOCKET */
	(*stored)++;
	return 0;
}

int fdstore_stop(struct fanguard *fg, uint32_t timeout_ms, unsigned *ret_stored)
{
	int r, k;

	*ret_stored = 0;
	if (!getenv("NOTIFY_SOCKET") || !handover_safe)
		return fanguard_stop(fg, timeout_ms);
	r = fanguard_handover(fg, timeout_ms, store_group, ret_stored);
	if (*ret_stored > 0) {
		/* systemd must have the fds before we exit: it handles our
		 * exit and this datagram in no set order. */
		k = sd_notify_barrier(0, 5 * 1000000ULL);
		if (k < 0)
			log_warning_errno(k, "No barrier after FDSTORE, ignoring: %m");
		log_info("Handed %u fanotify groups to the fd store, with their marks",
			 *ret_stored);
	}
	return r;
}
#else
bool fdstore_check_watches(const struct settings *a)
{
	(void) a;
	return false;
}

int fdstore_adopt(struct fanguard *fg)
{
	(void) fg;
	return 0;
}

void fdstore_drop(void)
{
}

int fdstore_stop(struct fanguard *fg, uint32_t timeout_ms, unsigned *ret_stored)
{
	*ret_stored = 0;
	return fanguard_stop(fg, timeout_ms);
}
#endif
