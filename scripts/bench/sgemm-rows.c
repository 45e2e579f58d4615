/*
 * Could several files' decoder steps share one product, each file's rows beside the others'?  Only if
 * a row's result did not depend on the rows around it.  For a Linear layer's shape, (M, K) @ (N, K)^T
 * on one OpenBLAS thread, this computes a group of G rows alone and again at each offset inside a
 * batch of M rows (M > G: 2, 4, 5, 8, 10, 15, 20, 40), and counts the placements whose G rows differ
 * in any bit.  G = 5 is one file's beams, G = 1 one greedy file; K and N are Whisper's (tiny 384,
 * base 512, the feed-forward 1536; 1152 for a fused projection; 51864 the vocabulary).
 * The design notes quote it (docs/performance.md, "Files side by side").
 * Answered (OpenBLAS 0.3.21, 2026-12-03): no.  With its Haswell kernels (OPENBLAS_CORETYPE=Haswell, as
 * the tests run) every group size differs in most placements (G = 5: 18 of 18); with its own
 * Cooperlake kernels groups of 4 and more agree, but single rows differ where N is 384 or 1152, and
 * groups of 2-3 where N = 384.  A file's tokens would then depend on which files it was batched with, and on the kernel.
 *
 *     gcc -O2 scripts/bench/sgemm-rows.c -o bench-out/sgemm-rows $(pkg-config --cflags --libs openblas)
 *     bench-out/sgemm-rows; OPENBLAS_CORETYPE=Haswell bench-out/sgemm-rows
 *
 * Output: the kernel (openblas_get_corename()), then per shape `K=.. N=..: gG:DIFFERING/PLACEMENTS`.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *openblas_get_corename(void);

/* Uniform in [-1, 1) from a 32-bit linear congruential generator (Numerical Recipes' constants). */
static float uniform(unsigned *state) {
    *state = *state * 1664525u + 1013904223u;
    return ((*state >> 8) / 16777216.0f) * 2 - 1;
}

int main(void) {
    enum { MAX_ROWS = 40 };
    const int ks[] = {384, 512, 1536}, ns[] = {384, 1152, 1536, 51864};
    const int groups[] = {1, 2, 3, 4, 5, 8}, batches[] = {2, 4, 5, 8, 10, 15, 20, 40};
    openblas_set_num_threads(1);
    printf("core %s\n", openblas_get_corename());
    for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++) {
        for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++) {
            const int k = ks[ki], n = ns[ni];
            float *x = malloc(sizeof(float) * MAX_ROWS * k), *w = malloc(sizeof(float) * n * k);
            float *alone = malloc(sizeof(float) * MAX_ROWS * n), *batch = malloc(sizeof(float) * MAX_ROWS * n);
            unsigned state = 1;
            for (int i = 0; i < MAX_ROWS * k; i++) x[i] = uniform(&state);
            for (int i = 0; i < n * k; i++) w[i] = uniform(&state) * 0.05f;
            printf("K=%d N=%d:", k, n);
            for (size_t gi = 0; gi < sizeof groups / sizeof *groups; gi++) {
                const int g = groups[gi];
                int differing = 0, placements = 0;
                for (size_t bi = 0; bi < sizeof batches / sizeof *batches; bi++) {
                    const int m = batches[bi];
                    if (m <= g) continue;
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, x, k, w, k, 0, batch, n);
                    for (int offset = 0; offset + g <= m; offset += g) {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g, n, k, 1, x + offset * k, k, w, k, 0,
                                    alone, n);
                        placements++;
                        differing += memcmp(alone, batch + offset * n, sizeof(float) * g * n) != 0;
                    }
                }
                printf(" g%d:%d/%d", g, differing, placements);
            }
            printf("\n");
            free(x);
            free(w);
            free(alone);
            free(batch);
        }
    }
    return 0;
}
