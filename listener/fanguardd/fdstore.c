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
#include <sys/mman.h>
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
#define WATCHES_NAME "watches"
#define WATCHES_MAX 65536

static bool handover_safe;
/* The watches the groups carry marks for, stored beside them: a kept group
 * keeps every mark, so the next instance adopts only if it watches at
 * least the same (a removed watch would otherwise stay marked). */
static char *watches_text;

static char *watch_text(const struct settings *a)
{
	const struct setting_list *lists[] = {&a->watch, &a->watch_mount, &a->watch_fs,
					      &a->watch_tree};
	static const char *const kind[] = {"fs", "mount", "fs", "tree"};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (size_t l = 0; l < ELEMENTSOF(lists); l++)
		for (size_t i = 0; i < lists[l]->n; i++)
			fprintf(f, "%s\t%s\n", kind[l], lists[l]->items[i]);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Every line of old is a line of new. */
static bool watches_kept(const char *old, const char *new)
{
	for (const char *p = old; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t) (nl - p) + 1 : strlen(p);
		bool found = false;

		for (const char *q = new; *q && !found;) {
			const char *ql = strchr(q, '\n');
			size_t m = ql ? (size_t) (ql - q) + 1 : strlen(q);

			found = m == n && memcmp(p, q, n) == 0;
			q += m;
		}
		if (!found)
			return false;
		p += n;
	}
	return true;
}

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
	const char *files[] = {"/proc/self/exe", a->config, a->yara_rules, a->on_deny,
			       a->verdict_store};

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
	const struct setting_list *lists[] = {&a->watch, &a->watch_mount, &a->watch_fs,
					      &a->watch_tree};

	free(watches_text);
	watches_text = watch_text(a);
	handover_safe = watches_text != NULL;
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
static int take_passed(struct fanguard *fg, const struct settings *a)
{
	char **names = NULL;
	int n, adopted = 0, groups = 0;
	bool kept = false;

	n = sd_listen_fds_with_names(/* unset_environment= */ true, &names);
	if (n < 0) {
		log_warning_errno(n, "Failed to read the passed file descriptors, ignoring: %m");
		return 0;
	}
	/* The watches the groups were marked for: adopt only if we keep them all. */
	for (int i = 0; fg && i < n; i++)
		if (names && names[i] && strcmp(names[i], WATCHES_NAME) == 0) {
			_cleanup_free_ char *now = watch_text(a);
			char *old = calloc(1, WATCHES_MAX + 1);
			ssize_t k = old ? pread(SD_LISTEN_FDS_START + i, old, WATCHES_MAX, 0) : -1;

			kept = k >= 0 && now && watches_kept(old, now);
			free(old);
		}
	if (fg && n > 0 && !kept) {
		log_notice("The watches changed since the previous instance (or are unknown): "
			   "its fanotify groups are closed, not adopted (their marks would stay)");
		fg = NULL;
	}
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		const char *name = names && names[i] ? names[i] : "unknown";
		int r = -EINVAL;

		bool group = strncmp(name, GROUP_PREFIX, strlen(GROUP_PREFIX)) == 0;

		groups += group;
		if (!fg || strcmp(name, WATCHES_NAME) == 0)
			r = -ECANCELED;
		else if (group)
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
			log_notice("Released %d fanotify groups of the previous instance", groups);
		else
			log_info("Adopted %d of %d fanotify groups from the previous instance "
				 "(with their marks and waiting events)",
				 adopted, groups);
	}
	return adopted;
}

int fdstore_adopt(struct fanguard *fg, const struct settings *a)
{
	return take_passed(fg, a);
}

void fdstore_drop(void)
{
	(void) take_passed(NULL, NULL);
}

/* The watches beside the groups (a memfd, FDNAME=watches). */
static int store_watches(void)
{
	_cleanup_close_ int fd = -EBADF;
	size_t len = strlen(watches_text);
	int r;

	fd = memfd_create("fanguard-watches", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, watches_text, len) != (ssize_t) len)
		return -EIO;
	r = sd_pid_notify_with_fds(0, false, "FDSTORE=1\nFDNAME=" WATCHES_NAME, &fd, 1);
	return r < 0 ? r : r == 0 ? -ENOTCONN : 0;
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
	k = store_watches();
	if (k < 0) {
		log_warning_errno(k, "Failed to store the watches, closing the groups: %m");
		return fanguard_stop(fg, timeout_ms);
	}
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

int fdstore_adopt(struct fanguard *fg, const struct settings *a)
{
	(void) fg;
	(void) a;
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
