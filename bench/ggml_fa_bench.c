/* Times ggml's flash attention (ggml_flash_attn_ext) on the CPU backend of
 * a ggml build (ik_llama.cpp's or llama.cpp's), for bench/cpu_*.py.
 *
 *   ggml_fa_bench B HQ HKV SQ SKV D KVTYPE CAUSAL THREADS REPS
 *
 * KVTYPE is a ggml type name (f16, bf16, q8_0, q4_0, q8_KV, ...); Q is f32.
 * Prints one JSON line: the median, minimum and all times in seconds. The
 * last-level cache is flushed (a 128 MiB buffer is read and written)
 * before every timed call, so a cache smaller than L3 is still read from
 * memory. */

#define _POSIX_C_SOURCE 199309L

#include "ggml.h"
#if __has_include("ggml-cpu.h")
#include "ggml-cpu.h"
#endif

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// Newer mainline ggml no longer pads the mask rows.
#ifndef GGML_KQ_MASK_PAD
#define GGML_KQ_MASK_PAD 1
#endif

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static uint64_t state = 88172645463325252ull;
static float uniform(void) { /* xorshift, in [-1, 1) */
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return (float)((state >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

static void fill(struct ggml_tensor *t) {
  int64_t n = ggml_nelements(t), row = t->ne[0];
  float *x = malloc(n * sizeof(float));
  for (int64_t i = 0; i < n; ++i)
    x[i] = uniform();
  if (t->type == GGML_TYPE_F32)
    memcpy(t->data, x, n * sizeof(float));
  else if (t->type == GGML_TYPE_F16)
    for (int64_t i = 0; i < n; ++i)
      ((ggml_fp16_t *)t->data)[i] = ggml_fp32_to_fp16(x[i]);
  else
    ggml_quantize_chunk(t->type, x, t->data, 0, n / row, row, NULL);
  free(x);
}

int main(int argc, char **argv) {
  if (argc != 11) {
    fprintf(stderr, "usage: %s B HQ HKV SQ SKV D KVTYPE CAUSAL THREADS REPS\n",
            argv[0]);
    return 2;
  }
  int64_t b = atoll(argv[1]), hq = atoll(argv[2]), hkv = atoll(argv[3]);
  int64_t sq = atoll(argv[4]), skv = atoll(argv[5]), d = atoll(argv[6]);
  const char *typeName = argv[7];
  int causal = atoi(argv[8]), threads = atoi(argv[9]), reps = atoi(argv[10]);
  enum ggml_type type = GGML_TYPE_COUNT;
  for (int t = 0; t < GGML_TYPE_COUNT; ++t) {
    const char *name = ggml_type_name((enum ggml_type)t);
    if (name && strcmp(name, typeName) == 0)
      type = (enum ggml_type)t;
  }
  if (type == GGML_TYPE_COUNT) {
    printf("{\"error\": \"unknown ggml type %s\"}\n", typeName);
    return 1;
  }

  int64_t maskRows = GGML_PAD(sq, GGML_KQ_MASK_PAD);
  size_t kvBytes = ggml_row_size(type, d) * skv * hkv * b;
  size_t bytes = 2 * kvBytes + (size_t)(d * sq * hq * b) * 4 * 2 +
                 (size_t)(skv * maskRows) * 2 + ((size_t)256 << 20);
  struct ggml_init_params params = {bytes, NULL, false};
  struct ggml_context *ctx = ggml_init(params);
  if (!ctx) {
    printf("{\"error\": \"ggml_init failed\"}\n");
    return 1;
  }
  struct ggml_tensor *q = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, d, sq, hq, b);
  struct ggml_tensor *k = ggml_new_tensor_4d(ctx, type, d, skv, hkv, b);
  struct ggml_tensor *v = ggml_new_tensor_4d(ctx, type, d, skv, hkv, b);
  fill(q);
  fill(k);
  fill(v);
  // Always a mask (all zeros without causal), as llama.cpp's graphs always
  // pass one (its KQ mask): ik_llama.cpp's iqk flash attention, its fast
  // path, is only taken with a mask; without one ggml falls back to its
  // generic kernel, 2-5x slower in decode.
  struct ggml_tensor *mask =
      ggml_new_tensor_2d(ctx, GGML_TYPE_F16, skv, maskRows);
  {
    ggml_fp16_t *m = mask->data;
    for (int64_t i = 0; i < maskRows; ++i)
      for (int64_t j = 0; j < skv; ++j)
        m[i * skv + j] =
            ggml_fp32_to_fp16(causal && j > i + skv - sq ? -INFINITY : 0.0f);
  }
  struct ggml_tensor *out = ggml_flash_attn_ext(
      ctx, q, k, v, mask, 1.0f / sqrtf((float)d), 0.0f, 0.0f);
  ggml_flash_attn_ext_set_prec(out, GGML_PREC_F32);
  struct ggml_cgraph *graph = ggml_new_graph(ctx);
  ggml_build_forward_expand(graph, out);

  size_t flushBytes = (size_t)128 << 20;
  char *flush = malloc(flushBytes);
  memset(flush, 1, flushBytes);
  double *times = malloc(sizeof(double) * (reps > 0 ? reps : 1));
  if (ggml_graph_compute_with_ctx(ctx, graph, threads) != GGML_STATUS_SUCCESS) {
    printf("{\"error\": \"ggml_graph_compute failed\"}\n");
    return 1;
  }
  for (int r = 0; r < reps; ++r) {
    for (size_t i = 0; i < flushBytes; i += 64)
      flush[i] += 1;
    double t = now();
    ggml_graph_compute_with_ctx(ctx, graph, threads);
    times[r] = now() - t;
  }
  float check = 0.0f;
  for (int64_t i = 0; i < ggml_nelements(out); ++i)
    check += ((float *)out->data)[i];
  double sorted[4096];
  int n = reps < 4096 ? reps : 4096;
  memcpy(sorted, times, n * sizeof(double));
  qsort(sorted, n, sizeof(double), cmp);
  printf("{\"seconds\": %.9g, \"min_seconds\": %.9g, \"kv_bytes\": %zu, "
         "\"type\": \"%s\", \"finite\": %s, \"times\": [",
         sorted[n / 2], sorted[0], 2 * kvBytes, typeName,
         isfinite(check) ? "true" : "false");
  for (int r = 0; r < n; ++r)
    printf("%s%.9g", r ? ", " : "", times[r]);
  printf("]}\n");
  ggml_free(ctx);
  return 0;
}
