/* What scripts/bench/sgemm-ceiling.c and scripts/bench/sgemm-split.c share: a clock, random operands, and the
 * comparison qsort needs to take a median of repeat times. */
#ifndef SGEMM_TIMING_H
#define SGEMM_TIMING_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Declared by OpenBLAS's cblas.h in most builds; repeated so other cblas.h headers compile too. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_config(void);

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* `count` floats uniform in [-0.5, 0.5]; exits on allocation failure. */
static float *random_matrix(size_t count) {
    float *m = malloc(count * sizeof(float));
    if (m == NULL) {
        fprintf(stderr, "out of memory for %zu floats\n", count);
        exit(1);
    }
    for (size_t i = 0; i < count; i++) m[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    return m;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif
