/*
 * The float32 matrix-product ceiling of this machine's OpenBLAS: the best GFLOP/s cblas_sgemm reaches on
 * the shapes a Wav2Vec2-base forward pass is made of, (frames, K) @ (K, N) with frames ~ 1000 and
 * K, N in {768, 2304, 3072}.  scripts/bench/benchmark.py compares transcribe's achieved GFLOP/s with this.
 *
 * Build and run (scripts/bench/benchmark.py does this itself, into bench-out/):
 *
 *     gcc -O2 scripts/bench/sgemm-ceiling.c -o bench-out/sgemm-ceiling $(pkg-config --cflags --libs openblas)
 *     bench-out/sgemm-ceiling [THREADS] [SECONDS_PER_SHAPE]      # defaults: 2 threads, 0.5 s
 *
 * Output: one line per shape, `sgemm M N K layout PEAK MEDIAN` (GFLOP/s of its fastest and of its
 * median repeat), then `config ...` (OpenBLAS build and the threads it really used), then
 * `best GFLOP/s` (the peak: the fastest repeat of the fastest shape) and last `sustained GFLOP/s`
 * (the highest median over shapes: what cblas_sgemm keeps up run after run on its best model
 * shape; on a shared virtual machine the fastest repeat is a lucky outlier, 5-15% above it).
 * A product of (M, K) @ (K, N) counts 2*M*N*K floating-point operations.  Each shape runs once
 * untimed, then repeats for SECONDS_PER_SHAPE (at least 5 times).  "NT" multiplies by a transposed
 * (N, K) weight, as a Linear layer stored (out, in) does; "NN" by a weight already laid out (K, N).
 */
#include <cblas.h>

#include "sgemm-timing.h"

/* GFLOP/s of C (m, n) = A (m, k) @ B, B stored (n, k) when transposed, else (k, n): the fastest
 * repeat's in *peak, the median repeat's in *median. */
static void measure(int m, int n, int k, int transposed, double seconds, double *peak, double *median) {
    float *a = random_matrix((size_t)m * k);
    float *b = random_matrix((size_t)k * n);
    float *c = random_matrix((size_t)m * n);
    enum CBLAS_TRANSPOSE tb = transposed ? CblasTrans : CblasNoTrans;
    int ldb = transposed ? k : n;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, tb, m, n, k, 1.0f, a, k, b, ldb, 0.0f, c, n);
    enum { MAX_REPEATS = 100000 };
    static double times[MAX_REPEATS];
    double start = now();
    int repeats = 0;
    while (repeats < MAX_REPEATS && (repeats < 5 || now() - start < seconds)) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, tb, m, n, k, 1.0f, a, k, b, ldb, 0.0f, c, n);
        times[repeats++] = now() - t0;
    }
    free(a);
    free(b);
    free(c);
    qsort(times, repeats, sizeof times[0], compare_doubles);
    double flop = 2.0 * m * n * k;
    *peak = flop / times[0] / 1e9;
    *median = flop / (repeats % 2 ? times[repeats / 2] : (times[repeats / 2 - 1] + times[repeats / 2]) / 2) / 1e9;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    double seconds = argc > 2 ? atof(argv[2]) : 0.5;
    if (threads < 1 || seconds <= 0) {
        fprintf(stderr, "usage: sgemm-ceiling [THREADS>=1] [SECONDS_PER_SHAPE>0]\n");
        return 2;
    }
    openblas_set_num_threads(threads);
    srand(1);

    /* (M, N, K): QKV and out projections, FFN up and down, fused QKV, a longer input. */
    static const int shapes[][3] = {
        {1000, 768, 768}, {1000, 3072, 768}, {1000, 768, 3072}, {1000, 2304, 768},
        {1000, 3072, 3072}, {3000, 3072, 768}, {3000, 768, 3072},
    };
    double best = 0, sustained = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        for (int transposed = 0; transposed <= 1; transposed++) {
            int m = shapes[i][0], n = shapes[i][1], k = shapes[i][2];
            double peak, median;
            measure(m, n, k, transposed, seconds, &peak, &median);
            printf("sgemm %d %d %d %s %.1f %.1f\n", m, n, k, transposed ? "NT" : "NN", peak, median);
            fflush(stdout);
            if (peak > best) best = peak;
            if (median > sustained) sustained = median;
        }
    }
    printf("config %s threads=%d\n", openblas_get_config(), openblas_get_num_threads());
    printf("best %.1f\n", best);
    printf("sustained %.1f\n", sustained);
    return 0;
}
