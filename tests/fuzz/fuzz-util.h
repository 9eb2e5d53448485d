/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Shared by the libFuzzer targets: the entry point's prototype (we build
 * with -Wmissing-prototypes) and check(), an assert that survives NDEBUG and
 * aborts so libFuzzer keeps the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(expr)                                                                              \
	do {                                                                                     \
		if (!(expr)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr); \
			abort();                                                                 \
		}                                                                                \
	} while (0)
