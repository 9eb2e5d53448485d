/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Exclusions: building and swapping the snapshot (the public
 * fanguard_exclude_*() and fanguard_set_exclude_*() calls), and matching on
 * the permission path. A writer copies the current set, changes the copy
 * and publishes it: readers (the reader threads) never wait, and a writer
 * on the permission path (clamd's exclusion of its own process) never
 * waits on them either. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "exclude-internal.h"
#include "fd-util.h"
#include "fg-internal.h"
#include "macro.h"
#include "mounts.h"
#include "procfs.h"
#include "subject-internal.h"

static void strv_free_n(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void exclusions_free(struct snapshot *s)
{
	struct exclusions *x = snapshot_container(s, struct exclusions);

	free(x->pids);
	free(x->pid_starts);
	strv_free_n(x->paths, x->n_paths);
	free(x->uids);
	free(x->exes);
	free(x);
}

struct exclusions *exclusions_new(void)
{
	struct exclusions *x = calloc(1, sizeof(*x));

	if (x)
		snapshot_init(&x->s, exclusions_free);
	return x;
}

static int strv_copy(char *const *v, size_t n, size_t extra, char ***ret)
{
	char **c = calloc(n + extra ? n + extra : 1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!(c[i] = strdup(v[i]))) {
			strv_free_n(c, i);
			return -ENOMEM;
		}
	*ret = c;
	return 0;
}

static void *memdup_grow(const void *p, size_t n, size_t extra, size_t size)
{
	void *c = calloc(n + extra ? n + extra : 1, size);

	if (c && n > 0)
		memcpy(c, p, n * size);
	return c;
}

/* A deep copy of x with room for one more entry in each list. */
static struct exclusions *exclusions_copy(const struct exclusions *x)
{
	struct exclusions *c = exclusions_new();

	if (!c)
		return NULL;
	c->pids = memdup_grow(x->pids, x->n_pids, 1, sizeof(pid_t));
	c->pid_starts = memdup_grow(x->pid_starts, x->n_pids, 1, sizeof(uint64_t));
	c->uids = memdup_grow(x->uids, x->n_uids, 1, sizeof(uid_t));
	c->exes = memdup_grow(x->exes, x->n_exes, 1, sizeof(struct exe_rule));
	if (!c->pids || !c->pid_starts || !c->uids || !c->exes ||
	    strv_copy(x->paths, x->n_paths, 1, &c->paths) < 0) {
		snapshot_put(&c->s);
		return NULL;
	}
	c->n_paths = x->n_paths;
	c->n_exes = x->n_exes;
	c->n_pids = x->n_pids;
	c->n_uids = x->n_uids;
	return c;
}

/* Builds a copy of the current set, lets edit() change it, publishes it. */
static int exclusions_update(struct fanguard *fg, int (*edit)(struct exclusions *c, void *arg),
			     void *arg)
{
	struct snapshot *cur;
	struct exclusions *c;
	int r;

	snapshot_write_lock(&fg->excl);
	cur = snapshot_get(&fg->excl);
	c = exclusions_copy(snapshot_container(cur, struct exclusions));
	snapshot_put(cur);
	r = c ? edit(c, arg) : -ENOMEM;
	if (r >= 0)
		snapshot_publish(&fg->excl, &c->s);
	else if (c)
		snapshot_put(&c->s);
	snapshot_write_unlock(&fg->excl);
	return r;
}

static int edit_add_path(struct exclusions *c, void *arg)
{
	return (c->paths[c->n_paths] = strdup(arg)) ? (int) c->n_paths++ : -ENOMEM;
}

static int edit_add_exe(struct exclusions *c, void *arg)
{
	c->exes[c->n_exes++] = *(struct exe_rule *) arg;
	return 0;
}

/* The rule for path run as uid (FANGUARD_ANY_UID: by anyone). */
static int exe_rule_make(const char *path, uid_t uid, struct exe_rule *ret)
{
	int r;

	if (!path || path[0] != '/')
		return -EINVAL;
	r = exe_id_from_path(path, uid == FANGUARD_ANY_UID ? 0 : uid, &ret->id);
	if (r < 0)
		return r;
	ret->any_uid = uid == FANGUARD_ANY_UID;
	return 0;
}

static int edit_add_uid(struct exclusions *c, void *arg)
{
	c->uids[c->n_uids++] = *(uid_t *) arg;
	return 0;
}

struct pid_arg {
	pid_t pid;
	uint64_t start;
};

static int edit_add_pid(struct exclusions *c, void *arg)
{
	struct pid_arg *p = arg;

	c->pids[c->n_pids] = p->pid;
	c->pid_starts[c->n_pids++] = p->start;
	return 0;
}

int fanguard_exclude_path(struct fanguard *fg, const char *prefix)
{
	if (!fg || !prefix || prefix[0] != '/')
		return -EINVAL;
	return exclusions_update(fg, edit_add_path, (void *) prefix) < 0 ? -ENOMEM : 0;
}

int fanguard_exclude_exe_uid(struct fanguard *fg, const char *path, uid_t uid)
{
	struct exe_rule rule;
	int r;

	if (!fg)
		return -EINVAL;
	r = exe_rule_make(path, uid, &rule);
	if (r < 0)
		return r;
	return exclusions_update(fg, edit_add_exe, &rule) < 0 ? -ENOMEM : 0;
}

int fanguard_exclude_exe(struct fanguard *fg, const char *path)
{
	return fanguard_exclude_exe_uid(fg, path, 0);
}

int fanguard_exclude_uid(struct fanguard *fg, uid_t uid)
{
	if (!fg || uid == (uid_t) -1)
		return -EINVAL;
	return exclusions_update(fg, edit_add_uid, &uid);
}

int fanguard_exclude_pid(struct fanguard *fg, pid_t pid)
{
	struct pid_arg a = {.pid = pid};

	if (!fg || pid <= 0)
		return -EINVAL;
	/* Its start time, so that a later process with the same pid is not
	 * excluded too (pid_excluded()). */
	if (proc_read_starttime(pid, &a.start) < 0)
		a.start = 0;
	return exclusions_update(fg, edit_add_pid, &a);
}

struct strv_arg {
	const char *const *v;
	size_t n;
};

static int edit_set_paths(struct exclusions *c, void *arg)
{
	struct strv_arg *a = arg;
	char **fresh;

	if (strv_copy((char *const *) a->v, a->n, 0, &fresh) < 0)
		return -ENOMEM;
	strv_free_n(c->paths, c->n_paths);
	c->paths = fresh;
	c->n_paths = a->n;
	return 0;
}

int fanguard_set_exclude_paths(struct fanguard *fg, const char *const *prefixes, size_t n)
{
	struct strv_arg a = {prefixes, n};

	if (!fg || (n > 0 && !prefixes))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!prefixes[i] || prefixes[i][0] != '/')
			return -EINVAL;
	return exclusions_update(fg, edit_set_paths, &a);
}

struct subjects_arg {
	const uid_t *uids; /* NULL: keep the uids */
	size_t n_uids;
	struct exe_rule *exes;
	size_t n_exes;
};

static int edit_set_subjects(struct exclusions *c, void *arg)
{
	struct subjects_arg *a = arg;
	uid_t *uids = NULL;
	struct exe_rule *exes = memdup_grow(a->exes, a->n_exes, 0, sizeof(struct exe_rule));

	if (!exes)
		return -ENOMEM;
	if (a->uids) {
		uids = memdup_grow(a->uids, a->n_uids, 0, sizeof(uid_t));
		if (!uids) {
			free(exes);
			return -ENOMEM;
		}
		free(c->uids);
		c->uids = uids;
		c->n_uids = a->n_uids;
	}
	free(c->exes);
	c->exes = exes;
	c->n_exes = a->n_exes;
	return 0;
}

/* Resolves every rule first: on error nothing changes. */
static int set_exes(struct fanguard *fg, const uid_t *uids, size_t n_uids, const char *const *paths,
		    const uid_t *exe_uids, size_t n)
{
	_cleanup_free_ struct exe_rule *rules = calloc(n ? n : 1, sizeof(*rules));
	struct subjects_arg a = {uids, n_uids, rules, n};
	int r;

	if (!rules)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		r = exe_rule_make(paths[i], exe_uids ? exe_uids[i] : 0, &rules[i]);
		if (r < 0)
			return r;
	}
	return exclusions_update(fg, edit_set_subjects, &a);
}

int fanguard_set_exclude_subjects(struct fanguard *fg, const uid_t *uids, size_t n_uids,
				  const char *const *exes, size_t n_exes)
{
	static const uid_t none[1];

	if (!fg || (n_uids > 0 && !uids) || (n_exes > 0 && !exes))
		return -EINVAL;
	for (size_t i = 0; i < n_uids; i++)
		if (uids[i] == (uid_t) -1)
			return -EINVAL;
	return set_exes(fg, uids ? uids : none, n_uids, exes, NULL, n_exes);
}

int fanguard_set_exclude_exes(struct fanguard *fg, const char *const *paths, const uid_t *uids,
			      size_t n)
{
	if (!fg || (n > 0 && (!paths || !uids)))
		return -EINVAL;
	return set_exes(fg, NULL, 0, paths, uids, n);
}

/* --- matching (permission path) ------------------------------------------------ */

void ns_cache_init(struct ns_cache *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
}

void ns_cache_done(struct ns_cache *c)
{
	pthread_mutex_destroy(&c->lock);
}

/* Whether fd's mount is one of our mount namespace's. Only asked once a
 * prefix matched. The open fd pins its mount: its id cannot pass to
 * another mount meanwhile. Reads /proc/self/mountinfo on a cache miss (once
 * per mount where unique ids exist), never the file itself. */
static bool mount_is_ours(struct fanguard *fg, int fd)
{
	struct ns_cache *c = &fg->nsc;
	struct mount_table *t = NULL;
	uint64_t id, unique = 0;
	size_t slot = 0;
	bool ours;

	if (fd_mount_id(fd, &id, &unique) < 0)
		return false;
	if (unique) {
		slot = unique % NS_CACHE_SIZE;
		pthread_mutex_lock(&c->lock);
		ours = c->id[slot] == unique && c->ours[slot];
		if (c->id[slot] == unique) {
			pthread_mutex_unlock(&c->lock);
			return ours;
		}
		pthread_mutex_unlock(&c->lock);
	}
	if (mount_table_load(NULL, &t) < 0)
		return false;
	ours = mount_table_find_id(t, id) != NULL;
	mount_table_free(t);
	if (unique) {
		pthread_mutex_lock(&c->lock);
		c->id[slot] = unique;
		c->ours[slot] = ours;
		pthread_mutex_unlock(&c->lock);
	}
	return ours;
}

static bool path_excluded(struct fanguard *fg, const struct exclusions *x, int fd)
{
	char path[4096];

	if (fd_get_path(fd, path, sizeof(path)) < 0)
		return false;
	for (size_t i = 0; i < x->n_paths; i++) {
		const char *pre = x->paths[i];
		size_t l = strlen(pre);

		if (strncmp(path, pre, l) == 0 &&
		    (path[l] == '\0' || path[l] == '/' || (l > 0 && pre[l - 1] == '/')))
			return mount_is_ours(fg, fd);
	}
	return false;
}

/* Without pid reuse races: a pid that matches is the excluded process only
 * if whoever has that pid now started when it did, and the event's subject
 * (its pidfd) still has the pid after we looked. */
static bool pid_excluded(const struct exclusions *x, struct subject *subj)
{
	for (size_t i = 0; i < x->n_pids; i++) {
		uint64_t start;

		if (x->pids[i] != subj->pid)
			continue;
		if (x->pid_starts[i] == 0)
			return true; /* no identity to check: trust the number */
		/* Without a pidfd the number is still the opener's while its
		 * event waits for our answer: a killed opener no longer needs
		 * one, and its pid is not reused before it is reaped. */
		if (proc_read_starttime(subj->pid, &start) < 0 ||
		    (subj->pidfd >= 0 && !subject_still_alive(subj)))
			return false;
		return start == x->pid_starts[i];
	}
	return false;
}

/* By effective uid or executable identity (device + inode of the running
 * image, and the effective uid unless the rule is for any uid). A match
 * counts only if the event's pidfd still names pid after the lookups.
 * Without a pidfd, or if /proc/PID/exe is unreadable (another uid's
 * process: ptrace access), the subject is not excluded: it is scanned
 * (fails closed). */
static bool subject_excluded(const struct exclusions *x, struct subject *subj)
{
	bool hit = false;
	uid_t euid;

	if (subj->pidfd < 0 || subj->pid <= 0)
		return false;
	if (x->n_uids > 0 && subject_euid(subj, &euid) >= 0)
		for (size_t i = 0; i < x->n_uids && !hit; i++)
			hit = x->uids[i] == euid;
	if (!hit && x->n_exes > 0) {
		struct exe_id id;

		if (subject_exe_id(subj, &id) >= 0)
			for (size_t i = 0; i < x->n_exes && !hit; i++) {
				struct exe_id want = x->exes[i].id;

				if (x->exes[i].any_uid)
					want.uid = id.uid;
				hit = exe_id_matches(&want, &id);
			}
	}
	return hit && subject_still_alive(subj);
}

bool exclusions_need_subject(struct fanguard *fg)
{
	struct snapshot *xs = snapshot_get(&fg->excl);
	const struct exclusions *x = snapshot_container(xs, struct exclusions);
	bool need = x->n_pids > 0 || x->n_uids > 0 || x->n_exes > 0;

	snapshot_put(xs);
	return need;
}

bool exclusions_match(struct fanguard *fg, const struct exclusions *x, struct subject *subj, int fd)
{
	return pid_excluded(x, subj) || (x->n_paths > 0 && path_excluded(fg, x, fd)) ||
	       ((x->n_uids > 0 || x->n_exes > 0) && subject_excluded(x, subj));
}
