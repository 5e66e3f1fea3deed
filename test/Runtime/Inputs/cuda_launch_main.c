// Drives cuda-launch.mlir: calls its C interface on 1000 floats and checks
// every element doubled.
#include "kvq/Runtime/kvq_cuda_runtime.h"

#include <math.h>
#include <stdio.h>

typedef struct {
  float *allocated, *aligned;
  int64_t offset, size, stride;
} MemRef1D;

void _mlir_ciface_twice(MemRef1D *);

int main(void) {
  enum { N = 1000 };
  static float data[N];
  for (int i = 0; i < N; ++i)
    data[i] = (float)i * 0.5f - 17.0f;
  MemRef1D m = {data, data, 0, N, 1};
  _mlir_ciface_twice(&m);
  char message[512];
  int32_t status = kvqCudaGetLastError(message, sizeof(message));
  printf("status %s %s\n", status ? "error" : "ok", message);
  float worst = 0;
  for (int i = 0; i < N; ++i)
    worst = fmaxf(worst, fabsf(data[i] - 2.0f * ((float)i * 0.5f - 17.0f)));
  printf("max error %g\n", worst);
  return status != 0 || worst != 0.0f;
}
