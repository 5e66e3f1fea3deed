// Drives emulator-launch.mlir through the GPU emulator: block sums of 1000
// floats checked against a host loop, then the deadlocking kernel.
#include "kvq/Runtime/kvq_gpu_emulator.h"

#include <math.h>
#include <stdio.h>

typedef struct {
  float *allocated, *aligned;
  int64_t offset, size, stride;
} MemRef1D;

void _mlir_ciface_block_sums(MemRef1D *, MemRef1D *);
void _mlir_ciface_deadlock(MemRef1D *);

int main(void) {
  enum { N = 1000, BLOCKS = 4 };
  static float data[N], sums[BLOCKS];
  for (int i = 0; i < N; ++i)
    data[i] = (float)(i % 17) - 3.0f;
  MemRef1D in = {data, data, 0, N, 1}, out = {sums, sums, 0, BLOCKS, 1};
  _mlir_ciface_block_sums(&in, &out);
  char message[1024];
  int32_t status = kvqCudaGetLastError(message, sizeof(message));
  printf("block_sums: status %s\n", status ? message : "ok");
  for (int b = 0; b < BLOCKS; ++b) {
    float want = 0;
    for (int i = b * 256; i < N && i < (b + 1) * 256; ++i)
      want += data[i];
    printf("block %d: %g (expected %g)\n", b, sums[b], want);
  }
  kvq_emu_stats stats;
  kvqEmuGetStats(&stats);
  printf("launches %llu blocks %llu threads %llu barriers %llu\n",
         (unsigned long long)stats.launches, (unsigned long long)stats.blocks,
         (unsigned long long)stats.threads, (unsigned long long)stats.barriers);
  // Host memory is the device's: the kernel writes `sums` directly.
  _mlir_ciface_deadlock(&out);
  status = kvqCudaGetLastError(message, sizeof(message));
  printf("deadlock: status %s\n", status ? message : "ok");
  return 0;
}
