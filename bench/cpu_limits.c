/* The machine's limits, measured in the same run as the kvq benchmarks
 * (bench/cpu_limits.py builds this with clang -O3 -march=native -fopenmp
 * and loads it with ctypes):
 *
 *  - kvq_bench_read_bandwidth: a STREAM-like read (sum) of a buffer much
 *    larger than the last-level cache, on `threads` OpenMP threads, each
 *    reading STREAMS sequential streams at once (as attention reads K and V
 *    of its work item: one stream per thread leaves the prefetchers short
 *    of requests and under-measures the memory); bytes read per second
 *    (decode reads its cache, it does not copy it);
 *  - kvq_bench_fma_peak: independent chains of 512-bit (else 256-bit) fused
 *    multiply-adds on `threads` threads; f32 flop per second;
 *  - kvq_bench_bf16_peak: the same with AVX512-BF16 dot products
 *    (vdpbf16ps, 2 multiply-adds per f32 lane), where the CPU has them;
 *  - kvq_bench_flush: reads and writes 256 MiB, so that the next call
 *    reads its operands from memory.
 * Each returns the median over `reps` runs and writes every run to `all`. */

#include <immintrin.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *values, int n) {
  double *sorted = malloc(n * sizeof(double));
  memcpy(sorted, values, n * sizeof(double));
  qsort(sorted, n, sizeof(double), cmp);
  double m = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  free(sorted);
  return m;
}

#define STREAMS 4

static float *buffer;
static size_t bufferFloats;
volatile float kvq_bench_sink;

static void ensure(size_t bytes) {
  if (bufferFloats * 4 >= bytes)
    return;
  free(buffer);
  bufferFloats = bytes / 4;
  buffer = aligned_alloc(64, bufferFloats * 4);
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < bufferFloats; ++i)
    buffer[i] = (float)(i & 1023) * 1e-3f;
}

double kvq_bench_read_bandwidth(int threads, int64_t bytes, int reps,
                                double *all) {
  ensure((size_t)bytes);
  size_t n = (size_t)bytes / 4 / 64 * 64, counted = 0;
  for (int r = -1; r < reps; ++r) {
    double t = now();
    float total = 0.0f;
#pragma omp parallel num_threads(threads) reduction(+ : total)
    {
      // This thread's share, as STREAMS contiguous streams read together.
      size_t nt = (size_t)omp_get_num_threads();
      size_t per = n / nt / STREAMS / 64 * 64;
      const float *base = buffer + (size_t)omp_get_thread_num() * per * STREAMS;
#ifdef __AVX512F__
      __m512 sum[STREAMS];
      for (int k = 0; k < STREAMS; ++k)
        sum[k] = _mm512_setzero_ps();
      for (size_t i = 0; i < per; i += 16)
        for (int k = 0; k < STREAMS; ++k)
          sum[k] = _mm512_add_ps(sum[k], _mm512_load_ps(base + k * per + i));
      __m512 all4 = sum[0];
      for (int k = 1; k < STREAMS; ++k)
        all4 = _mm512_add_ps(all4, sum[k]);
      total += _mm512_reduce_add_ps(all4);
#elif defined(__AVX__)
      __m256 sum[2 * STREAMS];
      for (int k = 0; k < 2 * STREAMS; ++k)
        sum[k] = _mm256_setzero_ps();
      for (size_t i = 0; i < per; i += 16)
        for (int k = 0; k < STREAMS; ++k) {
          sum[2 * k] = _mm256_add_ps(sum[2 * k],
                                     _mm256_load_ps(base + k * per + i));
          sum[2 * k + 1] = _mm256_add_ps(
              sum[2 * k + 1], _mm256_load_ps(base + k * per + i + 8));
        }
      float out[8];
      for (int k = 1; k < 2 * STREAMS; ++k)
        sum[0] = _mm256_add_ps(sum[0], sum[k]);
      _mm256_storeu_ps(out, sum[0]);
      for (int l = 0; l < 8; ++l)
        total += out[l];
#else
      // Independent partial sums: one serial chain would measure the
      // adder's latency, not the memory.
      float s[STREAMS][16] = {{0.0f}};
      for (size_t i = 0; i < per; i += 16)
        for (int k = 0; k < STREAMS; ++k)
          for (int l = 0; l < 16; ++l)
            s[k][l] += base[k * per + i + l];
      for (int k = 0; k < STREAMS; ++k)
        for (int l = 0; l < 16; ++l)
          total += s[k][l];
#endif
#pragma omp single
      counted = per * STREAMS * nt;
    }
    t = now() - t;
    kvq_bench_sink = total;
    if (r >= 0)
      all[r] = (double)counted * 4 / t;
  }
  return median(all, reps);
}

#define CHAINS 12

double kvq_bench_fma_peak(int threads, int reps, double *all) {
  const long iters = 4000000;
  for (int r = -1; r < reps; ++r) {
    double t = now();
    float total = 0.0f;
#pragma omp parallel num_threads(threads) reduction(+ : total)
    {
#ifdef __AVX512F__
      __m512 a[CHAINS];
      __m512 x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(-1e-7f);
      for (int i = 0; i < CHAINS; ++i)
        a[i] = _mm512_set1_ps((float)i);
      for (long i = 0; i < iters; ++i) {
        for (int k = 0; k < CHAINS; ++k)
          a[k] = _mm512_fmadd_ps(a[k], x, y);
        __asm__ volatile(""
                         : "+v"(a[0]), "+v"(a[1]), "+v"(a[2]), "+v"(a[3]),
                           "+v"(a[4]), "+v"(a[5]), "+v"(a[6]), "+v"(a[7]),
                           "+v"(a[8]), "+v"(a[9]), "+v"(a[10]), "+v"(a[11]));
      }
      __m512 s = a[0];
      for (int i = 1; i < CHAINS; ++i)
        s = _mm512_add_ps(s, a[i]);
      total += _mm512_reduce_add_ps(s);
#define LANES 16
#else
      __m256 a[CHAINS];
      __m256 x = _mm256_set1_ps(1.0000001f), y = _mm256_set1_ps(-1e-7f);
      for (int i = 0; i < CHAINS; ++i)
        a[i] = _mm256_set1_ps((float)i);
      for (long i = 0; i < iters; ++i)
        for (int k = 0; k < CHAINS; ++k)
          a[k] = _mm256_fmadd_ps(a[k], x, y);
      float out[8];
      __m256 s = a[0];
      for (int i = 1; i < CHAINS; ++i)
        s = _mm256_add_ps(s, a[i]);
      _mm256_storeu_ps(out, s);
      for (int i = 0; i < 8; ++i)
        total += out[i];
#define LANES 8
#endif
    }
    t = now() - t;
    kvq_bench_sink = total;
    if (r >= 0)
      all[r] = (double)threads * iters * CHAINS * LANES * 2 / t;
  }
  return median(all, reps);
}

double kvq_bench_bf16_peak(int threads, int reps, double *all) {
#if defined(__AVX512BF16__)
  const long iters = 4000000;
  for (int r = -1; r < reps; ++r) {
    double t = now();
    float total = 0.0f;
#pragma omp parallel num_threads(threads) reduction(+ : total)
    {
      __m512 a[CHAINS];
      __m512bh x = (__m512bh)_mm512_set1_epi16(0x3f80); /* 1.0 */
      __m512bh y = (__m512bh)_mm512_set1_epi16(0x3380); /* ~6e-8 */
      for (int i = 0; i < CHAINS; ++i)
        a[i] = _mm512_set1_ps((float)i);
      for (long i = 0; i < iters; ++i) {
        for (int k = 0; k < CHAINS; ++k)
          a[k] = _mm512_dpbf16_ps(a[k], x, y);
        __asm__ volatile(""
                         : "+v"(a[0]), "+v"(a[1]), "+v"(a[2]), "+v"(a[3]),
                           "+v"(a[4]), "+v"(a[5]), "+v"(a[6]), "+v"(a[7]),
                           "+v"(a[8]), "+v"(a[9]), "+v"(a[10]), "+v"(a[11]));
      }
      __m512 s = a[0];
      for (int i = 1; i < CHAINS; ++i)
        s = _mm512_add_ps(s, a[i]);
      total += _mm512_reduce_add_ps(s);
    }
    t = now() - t;
    kvq_bench_sink = total;
    if (r >= 0)
      all[r] = (double)threads * iters * CHAINS * 32 * 2 / t;
  }
  return median(all, reps);
#else
  (void)threads;
  (void)reps;
  (void)all;
  return 0.0;
#endif
}

void kvq_bench_flush(void) {
  static char *junk;
  const size_t bytes = (size_t)256 << 20;
  if (!junk)
    junk = aligned_alloc(64, bytes);
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < bytes; i += 64)
    junk[i] += 1;
}
