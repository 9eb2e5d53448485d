/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* What a scanning engine (scan-*.c) sees of libfanguard: the listener, the
 * domain an event is in, the scanner interface and the log. The core's own
 * modules include the narrower headers directly (see fg-internal.h). */
#include "answer-internal.h"
#include "domain-state-internal.h"
#include "fg-internal.h"
#include "denylist.h"
#include "logq-internal.h"
#include "scan-internal.h"
