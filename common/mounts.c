/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* placeholder: implemented by the mount classifier work */
#include "mounts.h"
