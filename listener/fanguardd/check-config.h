/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* fanguardd --check-config: what start checks beyond the settings
 * themselves, with start's messages (check-config.c). */
#include "settings.h"

/* The quarantine directory and the verdict store directory, as start
 * checks them, without creating or opening anything for writing. Logs
 * what is wrong; 0 if start would accept them. */
int check_config_dirs(const struct settings *s);
