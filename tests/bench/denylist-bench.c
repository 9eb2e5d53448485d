/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Denylist load, reload and lookup, measured (issue 17's goals: 10M digests
 * load in <= 2 s at <= 400 MB peak RSS; a reload peaks at <= 2x the set's
 * size + 64 MB; lookups O(1) or O(log n)).
 *   denylist-bench gen FILE N     write N random digests, sha256sum style
 *   denylist-bench run FILE       load (fanguard_deny_sha256_file), reload
 *                                 (fanguard_replace_deny_sha256_files) with
 *                                 the old set live, then time lookups;
 *                                 prints "key value" lines and exits 1 if a
 *                                 goal is missed (run --no-check to only report);
 *                                 the time goal holds if either the wall or
 *                                 the CPU time (user + system) meets it: the
 *                                 machines are shared, wall time is noisy
 * Unprivileged: no fanotify group is created. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "fanguard-internal.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Peak RSS so far, and the current one, in MB. */
static double peak_mb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double) ru.ru_maxrss / 1024.0;
}

/* CPU seconds used so far (user + system): on a shared machine the wall
 * clock also counts other tenants' time slices. */
static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6 +
	       (double) ru.ru_stime.tv_sec + (double) ru.ru_stime.tv_usec / 1e6;
}

static double rss_mb(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return (double) rss * (double) sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int gen(const char *path, unsigned long n)
{
	static const char hx[] = "0123456789abcdef";
	FILE *f = fopen(path, "we");
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	char line[128];

	if (!f)
		return -errno;
	for (unsigned long i = 0; i < n; i++) {
		for (int j = 0; j < 64; j += 16) {
			uint64_t v = xorshift(&seed);

			for (int k = 0; k < 16; k++)
				line[j + k] = hx[(v >> (4 * k)) & 15];
		}
		/* Every 8th line in sha256sum style, with a name. */
		if (i % 8 == 0) {
			memcpy(line + 64, "  file\n", 7);
			fwrite(line, 1, 71, f);
		} else {
			line[64] = '\n';
			fwrite(line, 1, 65, f);
		}
	}
	if (fclose(f) != 0)
		return -errno;
	return 0;
}

static int unhex(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

int main(int argc, char **argv)
{
	struct fanguard *fg = NULL;
	const char *paths[1];
	struct denylist *dl;
	uint8_t first[32];
	double t0, c0, load_cpu, reload_cpu, load_s, reload_s, load_peak, reload_peak, base, set_mb,
		lookup_ns;
	unsigned line = 0;
	size_t file = 0, hits = 0;
	uint64_t seed = 42;
	bool check = !(argc > 3 && strcmp(argv[3], "--no-check") == 0);
	char hex[80];
	FILE *f;
	int r, n;

	if (argc >= 4 && strcmp(argv[1], "gen") == 0)
		return gen(argv[2], strtoul(argv[3], NULL, 10)) < 0 ? 1 : 0;
	if (argc < 3 || strcmp(argv[1], "run") != 0) {
		fprintf(stderr, "usage: %s gen FILE N | run FILE [--no-check]\n", argv[0]);
		return 2;
	}
	f = fopen(argv[2], "re");
	if (!f || !fgets(hex, sizeof(hex), f))
		return 1;
	fclose(f);
	for (int i = 0; i < 32; i++)
		first[i] = (uint8_t) (unhex(hex[2 * i]) << 4 | unhex(hex[2 * i + 1]));

	r = fanguard_new(NULL, &fg);
	if (r < 0) {
		fprintf(stderr, "fanguard_new: %s\n", strerror(-r));
		return 1;
	}
	base = rss_mb();
	t0 = now_s();
	c0 = cpu_s();
	n = fanguard_deny_sha256_file(fg, argv[2], &line);
	load_s = now_s() - t0;
	load_cpu = cpu_s() - c0;
	if (n < 0) {
		fprintf(stderr, "load: %s (line %u)\n", strerror(-n), line);
		return 1;
	}
	load_peak = peak_mb();
	dl = denylist_slot_acquire(&fg->deny);
	set_mb = (double) denylist_size(dl) * 32 / (1024.0 * 1024.0);
	denylist_unref(dl);

	paths[0] = argv[2];
	t0 = now_s();
	c0 = cpu_s();
	r = fanguard_replace_deny_sha256_files(fg, paths, 1, &file, &line);
	reload_s = now_s() - t0;
	reload_cpu = cpu_s() - c0;
	if (r < 0) {
		fprintf(stderr, "reload: %s\n", strerror(-r));
		return 1;
	}
	reload_peak = peak_mb();

	dl = denylist_slot_acquire(&fg->deny);
	t0 = now_s();
	for (int i = 0; i < 2000000; i++) {
		uint8_t q[32];

		if (i % 2 == 0)
			memcpy(q, first, 32);
		else
			for (int j = 0; j < 32; j += 8) {
				uint64_t v = xorshift(&seed);

				memcpy(q + j, &v, 8);
			}
		hits += denylist_contains(dl, q);
	}
	lookup_ns = (now_s() - t0) * 1e9 / 2000000;
	denylist_unref(dl);

	printf("digests %d\n", n);
	printf("set_mb %.1f\n", set_mb);
	printf("base_rss_mb %.1f\n", base);
	printf("load_s %.3f\n", load_s);
	printf("load_cpu_s %.3f\n", load_cpu);
	printf("load_peak_rss_mb %.1f\n", load_peak);
	printf("reload_s %.3f\n", reload_s);
	printf("reload_cpu_s %.3f\n", reload_cpu);
	printf("reload_peak_rss_mb %.1f\n", reload_peak);
	printf("reload_limit_mb %.1f\n", 2 * set_mb + 64 + base);
	printf("lookup_ns %.1f\n", lookup_ns);
	printf("hits %zu\n", hits);
	fanguard_free(fg);
	if (hits < 1000000) {
		fprintf(stderr, "lookups missed a listed digest\n");
		return 1;
	}
	if (check && n >= 10000000 &&
	    ((load_s > 2.0 && load_cpu > 2.0) || load_peak > 400 ||
	     reload_peak > 2 * set_mb + 64 + base)) {
		fprintf(stderr, "a goal was missed\n");
		return 1;
	}
	return 0;
}
