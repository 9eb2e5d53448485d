/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanguardctl: talk to a running fanguardd over its control socket.
 * A client only: it never touches fanotify, mounts or the daemon's files. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "fanguardctl.h"
#include "log.h"
#include "macro.h"

static const struct {
	const char *name;
	int (*fn)(const struct ctl_args *a);
	const char *help;
} verbs[] = {
	{"status", verb_status, "state, configuration and counters"},
	{"stats", verb_stats, "every counter, as JSON"},
	{"metrics", verb_metrics, "the counters in Prometheus text format"},
	{"mounts", verb_mounts, "the watched mounts, their class and the evidence"},
	{"reload", verb_reload, "re-read the configuration (like SIGHUP)"},
};

static void help(void)
{
	printf("Usage: fanguardctl [OPTIONS] COMMAND\n"
	       "Query or control a running fanguardd.\n\n"
	       "Commands:\n");
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		printf("  %-10s %s\n", verbs[i].name, verbs[i].help);
	printf("\nOptions:\n"
	       "  -s, --socket PATH   the daemon's control socket [/run/fanguard/control]\n"
	       "      --json          mounts: print JSON\n"
	       "  -h, --help          this help\n"
	       "      --version       print the version\n\n"
	       "See fanguardctl(8).\n");
}

int main(int argc, char **argv)
{
	enum { ARG_JSON = 0x100, ARG_VERSION };
	static const struct option options[] = {{"socket", required_argument, NULL, 's'},
						{"json", no_argument, NULL, ARG_JSON},
						{"help", no_argument, NULL, 'h'},
						{"version", no_argument, NULL, ARG_VERSION},
						{}};
	struct ctl_args a = {.socket = "/run/fanguard/control"};
	int c;

	log_set_ident("fanguardctl");
	while ((c = getopt_long(argc, argv, "s:h", options, NULL)) >= 0) {
		switch (c) {
		case 's':
			a.socket = optarg;
			break;
		case ARG_JSON:
			a.json = true;
			break;
		case 'h':
			help();
			return EXIT_SUCCESS;
		case ARG_VERSION:
			printf("fanguardctl %s\n", FANGUARD_VERSION);
			return EXIT_SUCCESS;
		default:
			return 2;
		}
	}
	if (optind + 1 != argc) {
		log_error("Give one command; see --help");
		return 2;
	}
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		if (strcmp(argv[optind], verbs[i].name) == 0)
			return verbs[i].fn(&a) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	log_error("Unknown command '%s'; see --help", argv[optind]);
	return 2;
}
