/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mount table: parses /proc/self/mountinfo and tells, for every mount,
 * which kind of filesystem backs it (DESIGN.md §3): by fstype, by device
 * (a bind of part of a FUSE mount) and, for overlays, by the mounts their
 * layers sit on, transitively.
 *
 * Never call this from the permission path: loading reads /proc and
 * classifying walks the whole table. The parser does no I/O, keeps no
 * fixed-size buffers and must survive any input (tests/fuzz/fuzz-mountinfo.c).
 * Classifying does no I/O either: layer paths are resolved lexically against
 * the table, never with stat() or realpath(), which could block on a FUSE
 * daemon. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "fd-util.h"
#include "macro.h"
#include "mounts.h"

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U /* Linux 5.8 */
#endif
#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U /* Linux 6.8; Debian 12's headers are 6.1 */
#endif

/* Large container hosts have tens of thousands of mounts (~150 bytes each). */
#define MOUNTINFO_MAX_BYTES (64U * 1024 * 1024)

static void mount_entry_done(struct mount_entry *e)
{
	free(e->root);
	free(e->mount_point);
	free(e->mount_opts);
	free(e->optional);
	free(e->fstype);
	free(e->source);
	free(e->super_opts);
	free(e->super_opts_raw);
	free(e->class_reason);
	*e = (struct mount_entry){};
}

struct mount_table *mount_table_free(struct mount_table *t)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->n_entries; i++)
		mount_entry_done(&t->entries[i]);
	free(t->entries);
	free(t);
	return NULL;
}

static void mount_table_freep(struct mount_table **t)
{
	mount_table_free(*t);
}
#define _cleanup_mount_table_ _cleanup_(mount_table_freep)

/* --- parsing ------------------------------------------------------------- */

/* A line is split on single spaces; the kernel escapes every space, tab,
 * newline and backslash inside a field as \ooo (mangle() in fs/proc_namespace.c),
 * so an empty field only comes from an empty string (a source of ""). */
struct cursor {
	const char *s;
	size_t n, i;
	bool done;
};

struct field {
	const char *p;
	size_t len;
};

static bool next_field(struct cursor *c, struct field *f)
{
	const char *sp;

	if (c->done)
		return false;
	sp = memchr(c->s + c->i, ' ', c->n - c->i);
	f->p = c->s + c->i;
	if (sp) {
		f->len = (size_t) (sp - f->p);
		c->i += f->len + 1;
	} else {
		f->len = c->n - c->i;
		c->i = c->n;
		c->done = true;
	}
	return true;
}

/* The rest of the line, spaces included: the super options are last, and a
 * filesystem that forgets to escape a space in its options must not make the
 * whole table unreadable. */
static bool rest_field(struct cursor *c, struct field *f)
{
	if (c->done)
		return false;
	f->p = c->s + c->i;
	f->len = c->n - c->i;
	c->i = c->n;
	c->done = true;
	return true;
}

static bool field_is(const struct field *f, const char *s)
{
	return f->len == strlen(s) && memcmp(f->p, s, f->len) == 0;
}

static int parse_u64(const struct field *f, uint64_t *ret)
{
	uint64_t v = 0;

	if (f->len == 0)
		return -EBADMSG;
	for (size_t i = 0; i < f->len; i++) {
		unsigned d;

		if (f->p[i] < '0' || f->p[i] > '9')
			return -EBADMSG;
		d = (unsigned) (f->p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EBADMSG;
		v = v * 10 + d;
	}
	*ret = v;
	return 0;
}

static int parse_dev(const struct field *f, unsigned *ret_major, unsigned *ret_minor)
{
	const char *colon = memchr(f->p, ':', f->len);
	struct field a, b;
	uint64_t ma, mi;

	if (!colon)
		return -EBADMSG;
	a = (struct field){f->p, (size_t) (colon - f->p)};
	b = (struct field){colon + 1, f->len - a.len - 1};
	if (parse_u64(&a, &ma) < 0 || parse_u64(&b, &mi) < 0 || ma > UINT_MAX || mi > UINT_MAX)
		return -EBADMSG;
	*ret_major = (unsigned) ma;
	*ret_minor = (unsigned) mi;
	return 0;
}

static bool is_octal(char c, char max)
{
	return c >= '0' && c <= max;
}

/* Copies a field, turning \ooo (three octal digits, the kernel's only escape)
 * into the byte. A backslash not followed by an escape is kept as it is;
 * "\000" is rejected, since no path or option can hold a NUL. */
static int unescape(const struct field *f, char **ret)
{
	char *s = malloc(f->len + 1), *d = s;

	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < f->len; i++) {
		if (f->p[i] == '\\' && f->len - i > 3 && is_octal(f->p[i + 1], '3') &&
		    is_octal(f->p[i + 2], '7') && is_octal(f->p[i + 3], '7')) {
			unsigned v = (unsigned) (f->p[i + 1] - '0') << 6 |
				     (unsigned) (f->p[i + 2] - '0') << 3 |
				     (unsigned) (f->p[i + 3] - '0');

			if (v == 0) {
				free(s);
				return -EBADMSG;
			}
			*d++ = (char) v;
			i += 3;
		} else {
			*d++ = f->p[i];
		}
	}
	*d = '\0';
	*ret = s;
	return 0;
}

static int copy_field(const struct field *f, char **ret)
{
	char *s = strndup(f->p, f->len);

	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

/*  36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *  (1)(2)(3)   (4)   (5)      (6)       (7)    (8) (9)  (10)         (11)
 * (7) is zero or more fields ended by the lone "-" (8): proc_pid_mountinfo(5). */
static int parse_line(const char *line, size_t len, struct mount_entry *e)
{
	struct cursor c = {.s = line, .n = len};
	struct field f, opt_first = {}, opt_last = {};
	bool have_opt = false;
	int r;

	if (memchr(line, '\0', len))
		return -EBADMSG;

	if (!next_field(&c, &f) || parse_u64(&f, &e->mnt_id) < 0)
		return -EBADMSG;
	if (!next_field(&c, &f) || parse_u64(&f, &e->parent_id) < 0)
		return -EBADMSG;
	if (!next_field(&c, &f) || parse_dev(&f, &e->major, &e->minor) < 0)
		return -EBADMSG;
	if (!next_field(&c, &f) || f.len == 0)
		return -EBADMSG;
	r = unescape(&f, &e->root);
	if (r < 0)
		return r;
	if (!next_field(&c, &f) || f.len == 0)
		return -EBADMSG;
	r = unescape(&f, &e->mount_point);
	if (r < 0)
		return r;
	if (!next_field(&c, &f) || f.len == 0)
		return -EBADMSG;
	r = copy_field(&f, &e->mount_opts);
	if (r < 0)
		return r;

	for (;;) {
		if (!next_field(&c, &f) || f.len == 0)
			return -EBADMSG; /* no separator, or two spaces in a row */
		if (field_is(&f, "-"))
			break;
		if (!have_opt)
			opt_first = f;
		opt_last = f;
		have_opt = true;
	}
	/* The optional fields already are joined by single spaces in the line. */
	if (have_opt)
		f = (struct field){opt_first.p, (size_t) (opt_last.p + opt_last.len - opt_first.p)};
	else
		f = (struct field){"", 0};
	r = copy_field(&f, &e->optional);
	if (r < 0)
		return r;

	if (!next_field(&c, &f) || f.len == 0)
		return -EBADMSG;
	r = unescape(&f, &e->fstype);
	if (r < 0)
		return r;
	if (!next_field(&c, &f)) /* may be empty: a source of "" */
		return -EBADMSG;
	r = unescape(&f, &e->source);
	if (r < 0)
		return r;
	if (!rest_field(&c, &f))
		return -EBADMSG;
	r = copy_field(&f, &e->super_opts_raw);
	if (r < 0)
		return r;
	return unescape(&f, &e->super_opts);
}

int mount_table_parse(const char *text, size_t len, struct mount_table **ret,
		      unsigned *ret_bad_line)
{
	_cleanup_mount_table_ struct mount_table *t = NULL;
	size_t pos = 0, cap = 0;
	unsigned line_no = 0;

	if (!ret || (!text && len > 0))
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;

	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t) (nl - line) : len - pos;
		int r;

		line_no++;
		if (t->n_entries == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct mount_entry *ne = reallocarray(t->entries, ncap, sizeof(*ne));

			if (!ne)
				return -ENOMEM;
			t->entries = ne;
			cap = ncap;
		}
		t->entries[t->n_entries] = (struct mount_entry){};
		r = n == 0 ? -EBADMSG : parse_line(line, n, &t->entries[t->n_entries]);
		if (r < 0) {
			mount_entry_done(&t->entries[t->n_entries]);
			if (r == -EBADMSG && ret_bad_line)
				*ret_bad_line = line_no;
			return r;
		}
		t->n_entries++;
		pos += n + 1;
	}
	*ret = TAKE_PTR(t);
	return 0;
}

/* --- lookups ------------------------------------------------------------- */

const struct mount_entry *mount_table_find_id(const struct mount_table *t, uint64_t mnt_id)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->n_entries; i++)
		if (t->entries[i].mnt_id == mnt_id)
			return &t->entries[i];
	return NULL;
}

int mount_table_append(struct mount_table *t, struct mount_entry *e)
{
	struct mount_entry *ne = reallocarray(t->entries, t->n_entries + 1, sizeof(*ne));

	if (!ne)
		return -ENOMEM;
	t->entries = ne;
	t->entries[t->n_entries++] = *e;
	*e = (struct mount_entry){};
	return 0;
}

bool mount_table_remove_id(struct mount_table *t, uint64_t mnt_id)
{
	for (size_t i = 0; i < t->n_entries; i++)
		if (t->entries[i].mnt_id == mnt_id) {
			mount_entry_done(&t->entries[i]);
			memmove(&t->entries[i], &t->entries[i + 1],
				(t->n_entries - i - 1) * sizeof(t->entries[0]));
			t->n_entries--;
			return true;
		}
	return false;
}

void mount_entry_free_fields(struct mount_entry *e)
{
	mount_entry_done(e);
}

bool mount_on_superblock(const struct mount_entry *me, const struct sb_id *sbs, size_t n)
{
	for (size_t i = 0; me && i < n; i++)
		if (sbs[i].major == me->major && sbs[i].minor == me->minor)
			return true;
	return false;
}

int mount_table_sb_of(const struct mount_table *t, uint64_t mnt_id, struct sb_id *ret)
{
	const struct mount_entry *e = mount_table_find_id(t, mnt_id);

	if (!e)
		return -ENOENT;
	*ret = (struct sb_id){e->major, e->minor};
	return 0;
}

/* Lexically: collapses "//", drops "." and trailing '/', and lets ".." drop
 * the previous component. Symlinks are not followed (that would be I/O). */
static char *path_normalize(const char *path)
{
	size_t len = strlen(path), n = 0;
	char *s;

	if (path[0] != '/')
		return NULL;
	s = malloc(len + 2);
	if (!s)
		return NULL;
	for (const char *p = path; *p;) {
		size_t cl;

		while (*p == '/')
			p++;
		cl = strcspn(p, "/");
		if (cl == 0)
			break;
		if (cl == 1 && p[0] == '.') {
			/* nothing */
		} else if (cl == 2 && p[0] == '.' && p[1] == '.') {
			while (n > 0 && s[n] != '/')
				n--;
		} else {
			s[n++] = '/';
			memcpy(s + n, p, cl);
			n += cl;
		}
		/* s[n] is used above as a scan position; keep it defined. */
		s[n] = '\0';
		p += cl;
	}
	if (n == 0)
		s[n++] = '/';
	s[n] = '\0';
	return s;
}

/* The next component of a path, skipping runs of '/' and "." components. */
static bool next_component(const char **p, const char **ret, size_t *ret_len)
{
	const char *s = *p;

	for (;;) {
		size_t l;

		while (*s == '/')
			s++;
		if (!*s) {
			*p = s;
			return false;
		}
		l = strcspn(s, "/");
		if (l == 1 && s[0] == '.') {
			s++;
			continue;
		}
		*ret = s;
		*ret_len = l;
		*p = s + l;
		return true;
	}
}

/* How deep a mount point reaches into the (normalized, absolute) path: 1 + its
 * number of components when it is a prefix of the path component by component
 * ("/" gives 1), 0 when not. The kernel writes mount points normalized; a
 * hostile table need not, so compare components, not bytes. */
static size_t mount_point_match(const char *mp, const char *path)
{
	const char *mc, *pc;
	size_t ml, pl, depth = 1;

	if (!mp || mp[0] != '/')
		return 0;
	while (next_component(&mp, &mc, &ml)) {
		if (!next_component(&path, &pc, &pl) || ml != pl || memcmp(mc, pc, ml) != 0)
			return 0;
		depth++;
	}
	return depth;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

/* The entry whose mount point is the longest prefix of path, skipping entry
 * number skip. Among mounts stacked on one mount point the top one wins: the
 * last listed of those that no other one is mounted on. (mountinfo is not in
 * mount order: the real-host fixture lists / after mounts on it.) */
static const struct mount_entry *find_path_skip(const struct mount_table *t, const char *path,
						size_t skip)
{
	_cleanup_free_ char *norm = NULL;
	_cleanup_free_ uint64_t *parents = NULL;
	const struct mount_entry *best = NULL, *last = NULL;
	size_t best_depth = 0, k = 0;

	if (!t || !path)
		return NULL;
	norm = path_normalize(path);
	if (!norm)
		return NULL;
	for (size_t i = 0; i < t->n_entries; i++) {
		size_t l = i == skip ? 0 : mount_point_match(t->entries[i].mount_point, norm);

		if (l > best_depth) {
			best_depth = l;
			k = 0;
		}
		if (l == best_depth && l > 0) {
			k++;
			last = &t->entries[i];
		}
	}
	if (k <= 1)
		return last;

	/* Several on one mount point: sorted parent ids, so that "is any of
	 * them mounted on c" is a binary search (a hostile table may stack
	 * thousands). */
	parents = calloc(k, sizeof(*parents));
	if (!parents)
		return last;
	k = 0;
	for (size_t i = 0; i < t->n_entries; i++)
		if (i != skip && mount_point_match(t->entries[i].mount_point, norm) == best_depth)
			parents[k++] = t->entries[i].parent_id;
	qsort(parents, k, sizeof(*parents), cmp_u64);
	for (size_t i = 0; i < t->n_entries; i++) {
		const struct mount_entry *c = &t->entries[i];

		if (i == skip || mount_point_match(c->mount_point, norm) != best_depth)
			continue;
		/* A mount whose parent is itself (hostile) covers nothing. */
		if (c->parent_id == c->mnt_id ||
		    !bsearch(&c->mnt_id, parents, k, sizeof(*parents), cmp_u64))
			best = c;
	}
	/* Mounts that all cover each other (a hostile cycle): the last one. */
	return best ? best : last;
}

const struct mount_entry *mount_table_find_path(const struct mount_table *t, const char *path)
{
	return find_path_skip(t, path, SIZE_MAX);
}

/* --- classes ------------------------------------------------------------- */

const char *mount_class_to_string(enum mount_class c)
{
	static const char *const names[_MOUNT_CLASS_MAX] = {
		[MOUNT_CLASS_LOCAL] = "local",
		[MOUNT_CLASS_FUSE] = "fuse",
		[MOUNT_CLASS_FUSE_BACKED] = "fuse-backed",
		[MOUNT_CLASS_NETWORK] = "network",
		[MOUNT_CLASS_PSEUDO] = "pseudo",
	};

	if ((unsigned) c >= _MOUNT_CLASS_MAX)
		return "?";
	return names[c];
}

bool mount_class_is_fuse(enum mount_class c)
{
	return c == MOUNT_CLASS_FUSE || c == MOUNT_CLASS_FUSE_BACKED;
}

static bool str_in(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

enum mount_class fstype_class(const char *fstype)
{
	/* glusterfs here is the kernel-less native name some tools print; the
	 * usual client is FUSE and shows as fuse.glusterfs. virtiofs is served by
	 * a daemon on the host: it cannot wait on us, but it can be slow. */
	static const char *const network[] = {
		"nfs",	    "nfs4",	 "cifs",   "smb3",  "smbfs",	"9p",
		"ceph",	    "glusterfs", "afs",	   "ncpfs", "coda",	"lustre",
		"orangefs", "pvfs2",	 "beegfs", "gpfs",  "virtiofs", NULL,
	};
	static const char *const pseudo[] = {
		"proc",	      "sysfs",	      "cgroup",	 "cgroup2",	"devpts",    "debugfs",
		"tracefs",    "securityfs",   "bpf",	 "mqueue",	"hugetlbfs", "pstore",
		"configfs",   "fusectl",      "autofs",	 "binfmt_misc", "efivarfs",  "nsfs",
		"rpc_pipefs", "selinuxfs",    "smackfs", "apparmorfs",	"nfsd",	     "pipefs",
		"sockfs",     "anon_inodefs", "pidfs",	 "resctrl",	"cpuset",    "xenfs",
		NULL,
	};

	if (!fstype)
		return MOUNT_CLASS_LOCAL;
	if (strcmp(fstype, "fuse") == 0 || strcmp(fstype, "fuseblk") == 0 ||
	    strncmp(fstype, "fuse.", 5) == 0 || strncmp(fstype, "fuseblk.", 8) == 0)
		return MOUNT_CLASS_FUSE;
	if (str_in(fstype, network))
		return MOUNT_CLASS_NETWORK;
	if (str_in(fstype, pseudo))
		return MOUNT_CLASS_PSEUDO;
	/* ext4, xfs, btrfs, tmpfs, devtmpfs, ramfs, overlay (see its layers), ... */
	return MOUNT_CLASS_LOCAL;
}

/* How strongly a layer ties an overlay to FUSE or the network: higher wins. */
enum {
	RANK_LOCAL,
	RANK_NETWORK,
	RANK_FUSE_ASSUMED, /* a layer on no mount here, while FUSE is mounted */
	RANK_FUSE,
};

static int class_rank(enum mount_class c)
{
	return mount_class_is_fuse(c)	  ? RANK_FUSE
	       : c == MOUNT_CLASS_NETWORK ? RANK_NETWORK
					  : RANK_LOCAL;
}

static int set_reason(struct mount_entry *e, const char *fmt, ...) _printf_(2, 3);
static int set_reason(struct mount_entry *e, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	free(e->class_reason);
	e->class_reason = NULL;
	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	e->class_reason = s;
	return 0;
}

struct layer {
	const char *kind;	      /* "lowerdir", "lowerdir+", "datadir+", "upperdir" */
	char *path;		      /* as the mounter wrote it, escapes removed */
	const struct mount_entry *on; /* the mount it resolves to, or NULL */
};

struct overlay {
	size_t idx; /* in the table */
	struct layer *layers;
	size_t n_layers;
	int rank;		   /* RANK_* reached so far */
	const struct layer *cause; /* the layer that decided it, or NULL */
};

static void overlays_free(struct overlay *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < o[i].n_layers; j++)
			free(o[i].layers[j].path);
		free(o[i].layers);
	}
	free(o);
}

/* Takes path. */
static int add_layer(struct overlay *o, const char *kind, char *path)
{
	struct layer *nl;

	if (!path)
		return -ENOMEM;
	nl = reallocarray(o->layers, o->n_layers + 1, sizeof(*nl));
	if (!nl) {
		free(path);
		return -ENOMEM;
	}
	o->layers = nl;
	o->layers[o->n_layers++] = (struct layer){.kind = kind, .path = path};
	return 0;
}

/* Overlay's own escapes in lowerdir, upperdir and workdir: a backslash quotes
 * the next character ("\:" "\," "\\"); ovl_unescape() in fs/overlayfs. */
static char *unbackslash(const char *p, size_t n)
{
	char *s = malloc(n + 1), *d = s;

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\' && i + 1 < n)
			i++;
		*d++ = p[i];
	}
	*d = '\0';
	return s;
}

/* "lowerdir=/a:/b\:c::/data": ':' separates layers and "::" starts the
 * data-only ones (also layers that back files); a '\' quotes the next char
 * (ovl_parse_param_split_lowerdirs()). */
static int split_lowerdir(struct overlay *o, const char *v)
{
	const char *start = v;

	for (const char *p = v;; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p == ':' || *p == '\0') {
			if (p > start) {
				int r = add_layer(o, "lowerdir",
						  unbackslash(start, (size_t) (p - start)));

				if (r < 0)
					return r;
			}
			if (*p == '\0')
				return 0;
			start = p + 1;
		}
	}
}

static int overlay_option(struct overlay *o, char *opt)
{
	char *eq = strchr(opt, '=');
	const char *key, *val;

	if (!eq)
		return 0;
	*eq = '\0';
	key = opt;
	val = eq + 1;
	if (strcmp(key, "lowerdir") == 0)
		return split_lowerdir(o, val);
	if (strcmp(key, "upperdir") == 0)
		return add_layer(o, "upperdir", unbackslash(val, strlen(val)));
	/* New mount API (6.8): one layer per option, taken literally. */
	if (strcmp(key, "lowerdir+") == 0)
		return add_layer(o, "lowerdir+", strdup(val));
	if (strcmp(key, "datadir+") == 0)
		return add_layer(o, "datadir+", strdup(val));
	/* workdir holds only overlay's scratch files: no file is read from it. */
	return 0;
}

/* Splits the super options into options. From the raw text this is exact:
 * overlay writes a ',' inside a value as \054. Without it (a table built by
 * hand) a ',' quoted by '\' does not split; "lowerdir+=/a,b" would. */
static int overlay_layers(const struct mount_entry *e, struct overlay *o)
{
	const char *s = e->super_opts_raw ? e->super_opts_raw : e->super_opts;
	bool raw = e->super_opts_raw;

	if (!s)
		return 0;
	while (*s) {
		size_t n = 0;
		char *opt = NULL;
		int r;

		if (raw) {
			n = strcspn(s, ",");
		} else {
			while (s[n] && s[n] != ',')
				n += s[n] == '\\' && s[n + 1] ? 2 : 1;
		}
		if (raw)
			r = unescape(&(struct field){s, n}, &opt);
		else
			r = copy_field(&(struct field){s, n}, &opt);
		if (r == -EBADMSG)
			r = 0; /* "\000" in a hand-made table: skip the option */
		else if (r >= 0)
			r = overlay_option(o, opt);
		free(opt);
		if (r < 0)
			return r;
		s += n;
		if (*s == ',')
			s++;
	}
	return 0;
}

/* Field 4 is "/": the mount shows its filesystem from the root. */
static bool shows_whole_fs(const struct mount_entry *e)
{
	return !e->root || strcmp(e->root, "/") == 0;
}

static const char *strna(const char *s)
{
	return s ? s : "?";
}

static const struct mount_entry *fuse_mount_behind(const struct mount_table *t, const size_t *fuse,
						   size_t n_fuse, unsigned major, unsigned minor)
{
	for (size_t k = 0; k < n_fuse; k++) {
		const struct mount_entry *f = &t->entries[fuse[k]];

		if (f->major == major && f->minor == minor && shows_whole_fs(f))
			return f;
	}
	return NULL;
}

static int classify_overlays(struct mount_table *t, bool any_fuse)
{
	struct overlay *ovl = NULL;
	size_t n_ovl = 0;
	bool changed;
	int r = 0;

	for (size_t i = 0; i < t->n_entries; i++)
		if (t->entries[i].fstype && strcmp(t->entries[i].fstype, "overlay") == 0)
			n_ovl++;
	if (n_ovl == 0)
		return 0;
	ovl = calloc(n_ovl, sizeof(*ovl));
	if (!ovl)
		return -ENOMEM;
	n_ovl = 0;
	for (size_t i = 0; i < t->n_entries; i++) {
		struct overlay *o;
		int q;

		if (!t->entries[i].fstype || strcmp(t->entries[i].fstype, "overlay") != 0)
			continue;
		o = &ovl[n_ovl++];
		o->idx = i;
		o->rank = class_rank(t->entries[i].class);
		q = overlay_layers(&t->entries[i], o);
		if (q < 0)
			r = q;
		/* Layer paths are absolute in the mounter's view (ours, unless it
		 * was another namespace or a chroot). Skip the overlay itself: it
		 * did not exist when its layers were looked up, and "mount -t
		 * overlay -o lowerdir=/usr ... /usr" is common. */
		for (size_t j = 0; j < o->n_layers; j++)
			o->layers[j].on = find_path_skip(t, o->layers[j].path, i);
	}

	/* To a fixed point: an overlay may sit on another overlay, in any order,
	 * even in a cycle (two overlays over each other's mount points, which a
	 * hostile table can claim). Ranks only go up, so this ends. */
	do {
		changed = false;
		for (size_t k = 0; k < n_ovl; k++) {
			struct overlay *o = &ovl[k];
			struct mount_entry *e = &t->entries[o->idx];

			for (size_t j = 0; j < o->n_layers; j++) {
				const struct layer *l = &o->layers[j];
				/* A layer we cannot place (relative path, another
				 * namespace) might be on FUSE whenever FUSE is
				 * mounted: a false "local" can deadlock, a false
				 * "fuse-backed" only costs a separate group. A
				 * layer known to be on FUSE still wins, for its
				 * fuse_mnt_id. */
				int lr = l->on	    ? class_rank(l->on->class)
					 : any_fuse ? RANK_FUSE_ASSUMED
						    : RANK_LOCAL;

				if (lr <= o->rank)
					continue;
				o->rank = lr;
				o->cause = l;
				e->class = lr >= RANK_FUSE_ASSUMED ? MOUNT_CLASS_FUSE_BACKED
								   : MOUNT_CLASS_NETWORK;
				e->fuse_mnt_id = 0;
				if (lr == RANK_FUSE)
					e->fuse_mnt_id = l->on->fuse_mnt_id ? l->on->fuse_mnt_id
									    : l->on->mnt_id;
				changed = true;
			}
		}
	} while (changed);

	for (size_t k = 0; k < n_ovl; k++) {
		const struct overlay *o = &ovl[k];
		struct mount_entry *e = &t->entries[o->idx];
		const struct layer *l = o->cause;
		size_t unresolved = 0;
		int q = 0;

		for (size_t j = 0; j < o->n_layers; j++)
			unresolved += !o->layers[j].on;
		if (l && l->on)
			q = set_reason(e, "overlay %s '%s' is on %s mount %" PRIu64 " (%s)",
				       l->kind, l->path, mount_class_to_string(l->on->class),
				       l->on->mnt_id, strna(l->on->fstype));
		else if (l)
			q = set_reason(e,
				       "overlay %s '%s' is on no mount here, and fuse is mounted: "
				       "assumed fuse-backed",
				       l->kind, l->path);
		else if (o->rank == RANK_LOCAL)
			q = set_reason(e, "overlay: %zu layer%s, none on fuse or network%s",
				       o->n_layers, o->n_layers == 1 ? "" : "s",
				       unresolved ? " (some not on any mount here)" : "");
		if (q < 0)
			r = q;
	}
	overlays_free(ovl, n_ovl);
	return r;
}

static int classify(struct mount_table *t)
{
	_cleanup_free_ size_t *fuse = NULL;
	size_t n_fuse = 0;
	int r = 0, q;

	if (!t || t->n_entries == 0)
		return 0;
	fuse = calloc(t->n_entries, sizeof(*fuse));
	if (!fuse)
		r = -ENOMEM;

	/* By fstype. */
	for (size_t i = 0; i < t->n_entries; i++) {
		struct mount_entry *e = &t->entries[i];

		e->class = fstype_class(e->fstype);
		e->fuse_mnt_id = 0;
		q = set_reason(e, "fstype %s", strna(e->fstype));
		if (q < 0)
			r = q;
		if (e->class == MOUNT_CLASS_FUSE && fuse) {
			fuse[n_fuse++] = i;
			e->fuse_mnt_id = e->mnt_id;
		}
	}

	/* A FUSE mount showing only part of its filesystem is a bind of part of
	 * a FUSE mount: its root (field 4) is not "/". */
	for (size_t k = 0; k < n_fuse; k++) {
		struct mount_entry *e = &t->entries[fuse[k]];
		const struct mount_entry *o;

		if (shows_whole_fs(e))
			continue;
		o = fuse_mount_behind(t, fuse, n_fuse, e->major, e->minor);
		e->class = MOUNT_CLASS_FUSE_BACKED;
		if (o) {
			e->fuse_mnt_id = o->mnt_id;
			q = set_reason(e, "bind of '%s' of fuse mount %" PRIu64 " (%u:%u)", e->root,
				       o->mnt_id, e->major, e->minor);
		} else {
			q = set_reason(e,
				       "bind of '%s' of a fuse filesystem (%u:%u) not mounted here",
				       e->root, e->major, e->minor);
		}
		if (q < 0)
			r = q;
	}

	/* Any other mount on the device of a FUSE mount shows that filesystem. */
	for (size_t i = 0; i < t->n_entries; i++) {
		struct mount_entry *e = &t->entries[i];

		if (fstype_class(e->fstype) == MOUNT_CLASS_FUSE)
			continue;
		for (size_t k = 0; k < n_fuse; k++) {
			const struct mount_entry *f = &t->entries[fuse[k]];

			if (f->major != e->major || f->minor != e->minor)
				continue;
			e->class = MOUNT_CLASS_FUSE_BACKED;
			e->fuse_mnt_id = f->fuse_mnt_id;
			q = set_reason(e, "device %u:%u is that of fuse mount %" PRIu64 " (%s)",
				       e->major, e->minor, f->mnt_id, strna(f->fstype));
			if (q < 0)
				r = q;
			break;
		}
	}

	q = classify_overlays(t, n_fuse > 0);
	if (q < 0)
		r = q;
	return r;
}

void mount_table_classify(struct mount_table *t)
{
	/* On ENOMEM entries keep their fstype's class; see mount_table_load(). */
	(void) classify(t);
}

int mount_table_load(const char *path, struct mount_table **ret)
{
	_cleanup_mount_table_ struct mount_table *t = NULL;
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	if (!ret)
		return -EINVAL;
	r = read_full_file(path ? path : "/proc/self/mountinfo", MOUNTINFO_MAX_BYTES, &text, &len);
	if (r < 0)
		return r;
	r = mount_table_parse(text, len, &t, NULL);
	if (r < 0)
		return r;
	r = classify(t);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(t);
	return 0;
}

/* --- the mount of an fd -------------------------------------------------- */

int fd_mount_id(int fd, uint64_t *ret_mnt_id, uint64_t *ret_unique)
{
	/* AT_STATX_DONT_SYNC: on FUSE a statx may otherwise ask the daemon for
	 * fresh attributes; we want none of them, only the mount. */
	const int flags = AT_EMPTY_PATH | AT_STATX_DONT_SYNC;
	struct statx sx = {};
	uint64_t id, unique = 0;

	if (fd < 0)
		return -EBADF;
	if (!ret_mnt_id)
		return -EINVAL;
	if (statx(fd, "", flags, STATX_MNT_ID, &sx) < 0)
		return -errno;
	if (!(sx.stx_mask & STATX_MNT_ID))
		return -EOPNOTSUPP; /* FIXME: /proc/self/fdinfo's mnt_id if kernel < 5.8 matters */
	id = sx.stx_mnt_id;
	if (ret_unique) {
		/* A second call: both ids come in stx_mnt_id, and a request for
		 * both gets only the unique one (fs/stat.c). A kernel without it
		 * ignores the bit and leaves it out of stx_mask. */
		sx = (struct statx){};
		if (statx(fd, "", flags, STATX_MNT_ID_UNIQUE, &sx) < 0)
			return -errno;
		if (sx.stx_mask & STATX_MNT_ID_UNIQUE)
			unique = sx.stx_mnt_id;
		*ret_unique = unique;
	}
	*ret_mnt_id = id;
	return 0;
}

int fd_mount_entry(int fd, struct mount_table **ret_table, const struct mount_entry **ret_entry)
{
	_cleanup_mount_table_ struct mount_table *t = NULL;
	const struct mount_entry *e;
	uint64_t id;
	int r;

	if (!ret_table || !ret_entry)
		return -EINVAL;
	r = fd_mount_id(fd, &id, NULL);
	if (r < 0)
		return r;
	/* The open fd pins its mount, so the (reusable) id cannot pass to
	 * another mount between the statx and the read. */
	r = mount_table_load(NULL, &t);
	if (r < 0)
		return r;
	e = mount_table_find_id(t, id);
	if (!e)
		return -ENOENT;
	*ret_entry = e;
	*ret_table = TAKE_PTR(t);
	return 0;
}
