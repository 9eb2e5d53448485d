/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* fanguardctl: one file per verb; each verb sends one request line to the
 * daemon's control socket (control.c in fanguardd) and prints the answer. */
#include <stdbool.h>
#include <stddef.h>

struct ctl_args {
	const char *socket;
	bool json;
	bool infected_only;	    /* scan: print only what was found and errors */
	unsigned iterations;	    /* top: refreshes before exiting, 0 = until q */
	unsigned delay_ms;	    /* top: between refreshes */
	const char *quarantine_dir; /* quarantine: --dir, or NULL (ask the daemon) */
	char **args;		    /* operands after the verb */
	size_t n_args;
};

/* Sends verb, returns the payload after "OK\n" (caller frees). An "ERR ..."
 * answer is logged and returned as -EBADE. */
int ctl_request(const struct ctl_args *a, const char *verb, char **ret);
/* Sends verb and waits for "OK": the connection is then the verb's session
 * (scan). */
int ctl_session(const struct ctl_args *a, const char *verb, int *ret_fd);
/* One line (without its newline) into buf; its length or -errno. */
int ctl_read_line(int fd, char *buf, size_t size);

int verb_status(const struct ctl_args *a);
int verb_stats(const struct ctl_args *a);
int verb_metrics(const struct ctl_args *a);
int verb_mounts(const struct ctl_args *a);
int verb_reload(const struct ctl_args *a);
/* Returns the exit status itself: 0 clean, 1 found, 2 error (clamdscan's). */
int verb_scan(const struct ctl_args *a);
int verb_top(const struct ctl_args *a);
/* list | restore ID | delete ID (args); restore: root only. */
int verb_quarantine(const struct ctl_args *a);
