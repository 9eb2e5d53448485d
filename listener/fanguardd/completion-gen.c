/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Build step: writes fanguardd's bash completion from the settings table,
 * so that a new option (one row in settings.c) is completed without
 * touching the script. Options whose argument is a path (FILE, PATH,
 * PREFIX) complete file names, enums complete their choices, numbers
 * and other values complete nothing. Not installed; runs at build time. */
#include <stdio.h>
#include <string.h>
#include "settings.h"

/* "allow, deny" -> "allow deny" */
static void put_choices(const char *c)
{
	for (; *c; c++)
		if (*c != ',')
			(void) putchar(*c);
}

static void put_names(const struct setting *e)
{
	printf("--%s", e->name);
	if (e->short_name)
		printf("|-%c", e->short_name);
}

int main(void)
{
	printf("# bash completion for fanguardd(8). Generated from the settings table\n"
	       "# (listener/fanguardd/settings.c) by completion-gen: do not edit.\n"
	       "# shellcheck shell=bash\n\n"
	       "_fanguardd()\n{\n"
	       "\tlocal cur prev\n"
	       "\tcur=${COMP_WORDS[COMP_CWORD]}\n"
	       "\tprev=${COMP_WORDS[COMP_CWORD - 1]}\n"
	       "\tcase $prev in\n");
	for (const struct setting *e = settings_table; e->name; e++) {
		if (!e->metavar)
			continue;
		printf("\t");
		put_names(e);
		printf(")\n");
		if (e->type == SETTING_ENUM && e->choices) {
			printf("\t\tCOMPREPLY=($(compgen -W '");
			put_choices(e->choices);
			printf("' -- \"$cur\"))\n");
		} else if (strcmp(e->metavar, "FILE") == 0 || strcmp(e->metavar, "PATH") == 0 ||
			   strcmp(e->metavar, "PREFIX") == 0)
			printf("\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n");
		else
			printf("\t\tCOMPREPLY=()\n");
		printf("\t\treturn 0\n\t\t;;\n");
	}
	printf("\tesac\n\tCOMPREPLY=($(compgen -W '");
	for (const struct setting *e = settings_table; e->name; e++) {
		printf("%s--%s", e == settings_table ? "" : " ", e->name);
		if (e->short_name)
			printf(" -%c", e->short_name);
	}
	printf("' -- \"$cur\"))\n}\ncomplete -F _fanguardd fanguardd\n");
	return 0;
}
