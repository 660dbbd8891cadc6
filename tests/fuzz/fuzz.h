/*
 * What the fuzz targets of tests/fuzz/ share: libFuzzer's entry points and
 * the invariant check.
 */
#ifndef PROCQ_FUZZ_H
#define PROCQ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Checked in every build, not only with assertions on: a failure aborts,
 * and libFuzzer keeps the input that caused it. */
#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* PROCQ_FUZZ_H */
