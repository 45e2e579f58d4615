/*
 * Does cutting a product over threads cost transcribe anything?  Times, on the model's 1000- and
 * 250-frame product shapes, (M, K) @ (N, K)^T (a Linear layer's weight) three ways:
 *   openblas  one cblas_sgemm call with OpenBLAS's own THREADS threads;
 *   split     what BLAS.parallelGemm does: THREADS single-threaded cblas_sgemm calls side by side,
 *             across the larger of M and N, on multiples of 16;
 *   rows      the same, always across M (rows of the activations).
 * The README's Performance section quotes it.
 * Answered: does cutting one product over threads cost anything? No: on 2 threads the split runs the 1000-frame shapes at 135-146 GFLOP/s median, level with OpenBLAS's own threads (133-146), and the 250-frame shapes at 120-137 against 116-127.
 *
 *     gcc -O2 scripts/bench/sgemm-split.c -o bench-out/sgemm-split $(pkg-config --cflags --libs openblas) -lpthread
 *     bench-out/sgemm-split [THREADS] [REPEATS]      # defaults: 2 threads, 40 repeats
 *
 * Output: one line per shape and way, `M N K WAY median GFLOP/s, best GFLOP/s`, after 3 untimed
 * repeats.  Timings move by up to 10% from run to run on a shared machine: run it more than once.
 */
#include <cblas.h>
#include <pthread.h>

#include "sgemm-timing.h"

enum { MAX_THREADS = 64, MAX_REPEATS = 1000, WARMUP = 3 };

/* One piece: rows [first, last) of C when cut_rows, else columns [first, last). */
typedef struct {
    int m, n, k, first, last, cut_rows;
    const float *a, *b;
    float *c;
} Piece;

static void multiply(const Piece *p) {
    if (p->cut_rows)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, p->last - p->first, p->n, p->k, 1.0f,
                    p->a + (size_t)p->first * p->k, p->k, p->b, p->k, 0.0f, p->c + (size_t)p->first * p->n, p->n);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, p->m, p->last - p->first, p->k, 1.0f,
                    p->a, p->k, p->b + (size_t)p->first * p->k, p->k, 0.0f, p->c + p->first, p->n);
}

static void *run_piece(void *piece) {
    multiply(piece);
    return NULL;
}

/* C = A @ B^T cut into `threads` pieces, piece 0 on the calling thread. */
static void split_product(int m, int n, int k, int cut_rows, int threads, const float *a, const float *b, float *c) {
    Piece pieces[MAX_THREADS];
    pthread_t workers[MAX_THREADS];
    int size = cut_rows ? m : n;
    for (int i = 0; i < threads; i++) {
        int first = size * i / threads / 16 * 16, last = i + 1 == threads ? size : size * (i + 1) / threads / 16 * 16;
        pieces[i] = (Piece){m, n, k, first, last, cut_rows, a, b, c};
    }
    for (int i = 1; i < threads; i++) pthread_create(&workers[i], NULL, run_piece, &pieces[i]);
    multiply(&pieces[0]);
    for (int i = 1; i < threads; i++) pthread_join(workers[i], NULL);
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    int repeats = argc > 2 ? atoi(argv[2]) : 40;
    if (threads < 1 || threads > MAX_THREADS || repeats < 1 || repeats > MAX_REPEATS) {
        fprintf(stderr, "usage: sgemm-split [THREADS 1-%d] [REPEATS 1-%d]\n", MAX_THREADS, MAX_REPEATS);
        return 2;
    }
    srand(1);
    /* (M, N, K): QKV and out projections, FFN up and down, fused QKV; a 20 s and a 5 s input. */
    static const int shapes[][3] = {
        {1000, 768, 768}, {1000, 3072, 768}, {1000, 768, 3072}, {1000, 2304, 768}, {250, 3072, 768}, {250, 768, 3072},
    };
    static const char *ways[] = {"openblas", "split", "rows"};
    static double times[MAX_REPEATS];
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        float *a = random_matrix((size_t)m * k), *b = random_matrix((size_t)n * k), *c = random_matrix((size_t)m * n);
        for (int way = 0; way < 3; way++) {
            openblas_set_num_threads(way == 0 ? threads : 1);
            for (int r = 0; r < WARMUP + repeats; r++) {
                double start = now();
                if (way == 0)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k, b, k, 0.0f, c, n);
                else
                    split_product(m, n, k, way == 2 || m >= n, threads, a, b, c);
                if (r >= WARMUP) times[r - WARMUP] = now() - start;
            }
            qsort(times, repeats, sizeof times[0], compare_doubles);
            double flop = 2.0 * m * n * k;
            printf("%d %d %d %-8s median %.1f GFLOP/s, best %.1f\n", m, n, k, ways[way],
                   flop / times[repeats / 2] / 1e9, flop / times[0] / 1e9);
            fflush(stdout);
        }
        free(a);
        free(b);
        free(c);
    }
    return 0;
}
