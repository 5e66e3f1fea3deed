// Calls a GPU library built by kvq-compile --target=nvvm
// (../../Integration/GPU/Inputs/loaders.mlir: an attention and a run-time
// quantization) end to end against the CUDA driver double
// (cuda-driver-double-library.test): the kernels were loaded before main,
// each entry point's driver calls, the caller's context and stream, every
// driver failure during a call (the call returns KVQ_ERR_DEVICE naming it,
// leaks nothing, and the next call works) and argument errors (no CUDA call).
#include "loaders.h"

#include "kvq/Runtime/kvq_cuda_runtime.h"

#include <cuda.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static int (*doubleDepth)(void);
static int (*doubleLive)(const char *);
static int (*doubleFail)(const char *, int, int);
static int (*doubleLaunches)(void);
static void (*doubleNote)(const char *);

enum { B = 2, L = 100, S = 37 };
static int64_t qShape[] = {B, 8, 1, 64}, kvShape[] = {B, 2, L, 64};
static int64_t xShape[] = {2, S, 32}, scaleShape[] = {2, S, 1};
static kvq_buffer in[3], out[1], qin[1], qout[2];

static void *deviceBuffer(size_t bytes) {
  static unsigned char host[B * 2 * L * 64 * 2];
  void *p = mgpuMemAlloc(bytes, NULL, false);
  for (size_t i = 0; i < bytes && i < sizeof(host); ++i)
    host[i] = (unsigned char)(i * 7);
  mgpuMemcpy(p, host, bytes, NULL);
  mgpuStreamSynchronize(NULL);
  return p;
}

static int32_t callDecode(const char *what) {
  char note[128];
  snprintf(note, sizeof(note), "call %s", what);
  doubleNote(note);
  kvqCudaClearError();
  int32_t rc = decode(in, 3, out, 1);
  char message[512];
  int32_t code = kvqCudaGetLastError(message, sizeof(message));
  printf("%s: status %d%s%s (context depth %d)\n", what, rc, code ? ", " : "",
         code ? message : "", doubleDepth());
  kvqCudaClearError();
  return rc;
}

int main(void) {
  void *driver = dlopen("libcuda.so.1", RTLD_NOW);
  if (!driver || !dlsym(driver, "kvqCudaDoubleLive")) {
    printf("not the CUDA driver double\n");
    return 1;
  }
  doubleDepth = (int (*)(void))dlsym(driver, "kvqCudaDoubleContextDepth");
  doubleLive = (int (*)(const char *))dlsym(driver, "kvqCudaDoubleLive");
  doubleFail =
      (int (*)(const char *, int, int))dlsym(driver, "kvqCudaDoubleFail");
  doubleLaunches = (int (*)(void))dlsym(driver, "kvqCudaDoubleLaunches");
  doubleNote = (void (*)(const char *))dlsym(driver, "kvqCudaDoubleNote");
  doubleNote("main");
  printf("modules loaded before main: %d\n", doubleLive("modules"));

  in[0] = (kvq_buffer){deviceBuffer(B * 8 * 64 * 2), 4, qShape, KVQ_DTYPE_F16};
  in[1] =
      (kvq_buffer){deviceBuffer(B * 2 * L * 64 * 2), 4, kvShape, KVQ_DTYPE_F16};
  in[2] =
      (kvq_buffer){deviceBuffer(B * 2 * L * 64 * 2), 4, kvShape, KVQ_DTYPE_F16};
  out[0] = (kvq_buffer){mgpuMemAlloc(B * 8 * 64 * 2, NULL, false), 4, qShape,
                        KVQ_DTYPE_F16};
  int buffers = doubleLive("allocations");

  int64_t shapes[4] = {0};
  int launches = doubleLaunches();
  printf("decode_output_shapes: status %d shape %lld %lld %lld %lld, "
         "launches %d\n",
         decode_output_shapes(in, 3, shapes, 4), (long long)shapes[0],
         (long long)shapes[1], (long long)shapes[2], (long long)shapes[3],
         doubleLaunches() - launches);

  callDecode("decode");
  printf("live allocations: %d more than the caller's\n",
         doubleLive("allocations") - buffers);

  // The run-time quantization: element-wise kernels.
  qin[0] = (kvq_buffer){deviceBuffer(2 * S * 32 * 4), 3, xShape, KVQ_DTYPE_F32};
  qout[0] = (kvq_buffer){mgpuMemAlloc(2 * S * 32, NULL, false), 3, xShape,
                         KVQ_DTYPE_I8};
  qout[1] = (kvq_buffer){mgpuMemAlloc(2 * S * 4, NULL, false), 3, scaleShape,
                         KVQ_DTYPE_F32};
  buffers = doubleLive("allocations");
  doubleNote("call quantize");
  printf("quantize: status %d\n", quantize(qin, 1, qout, 2));

  // Each driver call of an entry point failing: KVQ_ERR_DEVICE with the
  // driver's name of the failure, nothing leaked, the next call works.
  struct {
    const char *call;
    int nth, code;
  } faults[] = {
      {"cuCtxPushCurrent", 1, CUDA_ERROR_INVALID_CONTEXT},
      {"cuStreamCreate", 1, CUDA_ERROR_OUT_OF_MEMORY},
      {"cuMemAllocAsync", 1, CUDA_ERROR_OUT_OF_MEMORY},
      {"cuMemAllocAsync", 2, CUDA_ERROR_OUT_OF_MEMORY},
      {"cuModuleGetFunction", 1, CUDA_ERROR_NOT_FOUND},
      {"cuLaunchKernel", 1, CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES},
      {"cuLaunchKernel", 2, CUDA_ERROR_LAUNCH_FAILED},
      {"cuMemFreeAsync", 1, CUDA_ERROR_ILLEGAL_ADDRESS},
      {"cuStreamSynchronize", 1, CUDA_ERROR_ILLEGAL_ADDRESS},
      {"cuStreamDestroy", 1, CUDA_ERROR_INVALID_HANDLE},
  };
  for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); ++i) {
    char what[96];
    snprintf(what, sizeof(what), "%s #%d fails", faults[i].call, faults[i].nth);
    int allocations = doubleLive("allocations");
    int streams = doubleLive("streams");
    doubleFail(faults[i].call, faults[i].nth, faults[i].code);
    callDecode(what);
    // Only what the driver refused to free stays.
    printf("  left: %d allocations, %d streams\n",
           doubleLive("allocations") - allocations,
           doubleLive("streams") - streams);
  }
  callDecode("decode after the failures");

  // Argument errors are reported before any CUDA call.
  launches = doubleLaunches();
  void *q = in[0].data;
  in[0].data = NULL;
  printf("null query: status %d, launches %d\n", decode(in, 3, out, 1),
         doubleLaunches() - launches);
  in[0].data = q;

  // The caller's context stays current; the caller's stream is used.
  CUresult (*retain)(CUcontext *, CUdevice) =
      (CUresult(*)(CUcontext *, CUdevice))dlsym(driver,
                                                "cuDevicePrimaryCtxRetain");
  CUresult (*push)(CUcontext) =
      (CUresult(*)(CUcontext))dlsym(driver, "cuCtxPushCurrent_v2");
  CUresult (*pop)(CUcontext *) =
      (CUresult(*)(CUcontext *))dlsym(driver, "cuCtxPopCurrent_v2");
  CUresult (*streamCreate)(CUstream *, unsigned) =
      (CUresult(*)(CUstream *, unsigned))dlsym(driver, "cuStreamCreate");
  CUresult (*streamDestroy)(CUstream) =
      (CUresult(*)(CUstream))dlsym(driver, "cuStreamDestroy_v2");
  CUcontext primary = NULL;
  retain(&primary, 0);
  push(primary);
  CUstream user = NULL;
  streamCreate(&user, CU_STREAM_NON_BLOCKING);
  kvqCudaSetStream(user);
  callDecode("decode on the caller's stream");
  kvqCudaSetStream(NULL);
  printf("caller's stream alive: %s\n",
         streamDestroy(user) == CUDA_SUCCESS ? "yes" : "no");
  callDecode("decode with the caller's context current");
  pop(NULL);

  doubleNote("main returns");
  fflush(stdout);
  fprintf(stderr, "main returns\n");
  return 0;
}
