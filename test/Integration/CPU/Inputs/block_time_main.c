/* The block time a kernel gives libomp (kvq_set_block_time, docs/ABI.md).
 *
 * This program defines kmp_get_blocktime / kmp_set_blocktime itself, so
 * the kernel library's calls reach these (the executable's definitions come
 * first in symbol lookup) instead of libomp's: each kernel call must set
 * the block time of kvq_get_block_time for its parallel regions and put
 * the caller's back on return, and neither when the environment chose a
 * wait policy (KMP_BLOCKTIME or OMP_WAIT_POLICY; libomp's then applies). */

#include "block_time.h"

#include <stdio.h>

static int current = 200; /* libomp's default */
static int calls;

int kmp_get_blocktime(void) { return current; }

void kmp_set_blocktime(int msec) {
  printf("  kmp_set_blocktime(%d)\n", msec);
  current = msec;
  ++calls;
}

static void run(const char *what) {
  float q[4 * 16], k[2 * 37 * 16], v[2 * 37 * 16], o[4 * 16];
  for (int i = 0; i < 4 * 16; ++i)
    q[i] = (float)(i % 7) / 7.0f;
  for (int i = 0; i < 2 * 37 * 16; ++i) {
    k[i] = (float)(i % 5) / 5.0f;
    v[i] = (float)(i % 3);
  }
  int64_t q_shape[4] = {1, 4, 1, 16}, kv_shape[4] = {1, 2, 37, 16};
  kvq_buffer inputs[3] = {{q, 4, q_shape, KVQ_DTYPE_F32},
                          {k, 4, kv_shape, KVQ_DTYPE_F32},
                          {v, 4, kv_shape, KVQ_DTYPE_F32}};
  kvq_buffer outputs[1] = {{o, 4, q_shape, KVQ_DTYPE_F32}};
  printf("%s:\n", what);
  calls = 0;
  int32_t status = attn(inputs, 3, outputs, 1);
  printf("  status %d, %d calls, block time after %d\n", status, calls,
         current);
}

int main(void) {
  printf("default %d\n", kvq_get_block_time());
  run("default");
  printf("set 0: previous %d\n", kvq_set_block_time(0));
  run("block time 0");
  printf("set 250: previous %d\n", kvq_set_block_time(250));
  run("block time 250");
  printf("set -1: %d, set 1001: %d, kept %d\n", kvq_set_block_time(-1),
         kvq_set_block_time(1001), kvq_get_block_time());
  return 0;
}
