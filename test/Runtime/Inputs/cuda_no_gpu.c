// Calls the mgpu* runtime on a machine without a usable CUDA driver or
// device: every call must fail cleanly (null handles, no crash) and the
// first failure must be reported with a message.
#include "kvq/Runtime/kvq_cuda_runtime.h"

#include <stdio.h>

int main(void) {
  int32_t devices = kvqCudaDeviceCount();
  char message[512];
  int32_t status = kvqCudaGetLastError(message, sizeof(message));
  printf("devices %d status %s\n", devices, status ? "error" : "ok");
  printf("message: %s\n", message);
  void *stream = mgpuStreamCreate();
  void *buffer = mgpuMemAlloc(1024, stream, false);
  void *module = mgpuModuleLoadJIT((void *)"not ptx", 2);
  void *kernel = mgpuModuleGetFunction(module, "k");
  mgpuLaunchKernel(kernel, 1, 1, 1, 1, 1, 1, 0, stream, 0, 0, 0);
  mgpuMemcpy(buffer, buffer, 1024, stream);
  mgpuStreamSynchronize(stream);
  mgpuMemFree(buffer, stream);
  mgpuStreamDestroy(stream);
  printf("handles %s\n",
         (stream || buffer || module || kernel) ? "non-null" : "null");
  kvqCudaClearError();
  printf("after clear %d\n", kvqCudaGetLastError(0, 0));
  return 0;
}
