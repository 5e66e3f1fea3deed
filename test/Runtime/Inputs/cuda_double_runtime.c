// Drives the mgpu* runtime (libkvq_cuda_runtime) against the CUDA driver
// double (cuda-driver-double-runtime.test): context handling, modules,
// functions, launches, streams, events, memory and every refusal of the
// driver, with the message the runtime keeps. Prints one line per check.
#include "kvq/Runtime/kvq_cuda_runtime.h"

#include <cuda.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int (*doubleDepth)(void);
static int (*doubleLive)(const char *);
static int (*doubleFail)(const char *, int, int);
static void (*doubleNote)(const char *);
static CUresult (*ctxGetCurrent)(CUcontext *);
static CUresult (*ctxPush)(CUcontext);
static CUresult (*ctxPop)(CUcontext *);
static CUresult (*primaryRetain)(CUcontext *, CUdevice);
static CUresult (*streamCreate)(CUstream *, unsigned);

/// Prints the runtime's status ("ok" or its message) and clears it.
static void status(const char *what) {
  char message[512];
  int32_t code = kvqCudaGetLastError(message, sizeof(message));
  printf("%s: %s (context depth %d)\n", what, code ? message : "ok",
         doubleDepth());
  kvqCudaClearError();
}

static const char *kPTX = "//\n"
                          ".version 8.0\n"
                          ".target sm_80\n"
                          ".address_size 64\n"
                          ".visible .entry twice(\n"
                          "\t.param .u64 .ptr .align 1 twice_param_0,\n"
                          "\t.param .u64 twice_param_1\n"
                          ")\n"
                          ".maxntid 128, 1, 1\n"
                          "{\n"
                          "\tret;\n"
                          "}\n";

static void *left; // a module the process never unloads itself

/// Runs after the exit handlers, as a library's module destructor does.
__attribute__((destructor)) static void lateUnload(void) {
  mgpuModuleUnload(left);
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
  doubleNote = (void (*)(const char *))dlsym(driver, "kvqCudaDoubleNote");
  ctxGetCurrent = (CUresult(*)(CUcontext *))dlsym(driver, "cuCtxGetCurrent");
  ctxPush = (CUresult(*)(CUcontext))dlsym(driver, "cuCtxPushCurrent_v2");
  ctxPop = (CUresult(*)(CUcontext *))dlsym(driver, "cuCtxPopCurrent_v2");
  primaryRetain = (CUresult(*)(CUcontext *, CUdevice))dlsym(
      driver, "cuDevicePrimaryCtxRetain");
  streamCreate =
      (CUresult(*)(CUstream *, unsigned))dlsym(driver, "cuStreamCreate");

  printf("devices %d\n", kvqCudaDeviceCount());
  status("device count");

  // Modules and functions; the caller has no context, and none is left
  // current after any call.
  void *module = mgpuModuleLoadJIT((void *)kPTX, 2);
  status("load PTX");
  void *twice = mgpuModuleGetFunction(module, "twice");
  status("function twice");
  void *missing = mgpuModuleGetFunction(module, "thrice");
  status("function thrice");
  printf("handles %s %s %s\n", module ? "module" : "null",
         twice ? "function" : "null", missing ? "function" : "null");
  mgpuModuleLoadJIT((void *)"not ptx", 2);
  status("load garbage");

  // Memory: in bounds, out of bounds, double free, use after free.
  char host[2048];
  memset(host, 7, sizeof(host));
  void *buffer = mgpuMemAlloc(1024, NULL, false);
  status("alloc 1024");
  mgpuMemcpy(buffer, host, 1024, NULL);
  mgpuStreamSynchronize(NULL); // the null stream: needs a context
  status("copy 1024 in, sync null stream");
  mgpuMemcpy(buffer, host, 1025, NULL);
  status("copy 1025 in");
  mgpuMemcpy(host, (char *)buffer + 1000, 100, NULL);
  status("copy 100 out at 1000");
  mgpuMemset32(buffer, 0x01020304u, 256, NULL);
  mgpuMemcpy(host, buffer, 8, NULL);
  status("memset32 256");
  printf("bytes %d %d %d %d\n", host[0], host[1], host[2], host[3]);
  mgpuMemset16((char *)buffer + 1, 1, 2, NULL);
  status("memset16 misaligned");
  mgpuMemset32(buffer, 0, 257, NULL);
  status("memset32 257");
  mgpuMemFree(buffer, NULL);
  status("free");
  mgpuMemFree(buffer, NULL);
  status("free again");
  mgpuMemcpy(host, buffer, 4, NULL);
  status("copy from freed");
  void *managed = mgpuMemAlloc(64, NULL, true);
  ((char *)managed)[63] = 1; // managed memory is host accessible
  mgpuMemFree(managed, NULL);
  status("managed");

  // Streams and events; stream-ordered memory.
  void *stream = mgpuStreamCreate();
  void *scratch = mgpuMemAlloc(4096, stream, false);
  void *event = mgpuEventCreate();
  mgpuEventRecord(event, stream);
  mgpuStreamWaitEvent(stream, event);
  mgpuEventSynchronize(event);
  mgpuMemFree(scratch, stream);
  mgpuStreamSynchronize(stream);
  status("stream, event, async alloc / free");
  mgpuEventDestroy(event);
  mgpuEventRecord(event, stream);
  status("record a destroyed event");
  mgpuStreamDestroy(stream);
  mgpuStreamSynchronize(stream);
  status("sync a destroyed stream");

  // Launches.
  void *out = mgpuMemAlloc(4000, NULL, false);
  long n = 1000;
  void *params[] = {&out, &n};
  stream = mgpuStreamCreate();
  mgpuLaunchKernel(twice, 8, 1, 1, 128, 1, 1, 0, stream, params, NULL, 2);
  status("launch 8 x 128");
  mgpuLaunchKernel(twice, 4, 1, 1, 256, 1, 1, 0, stream, params, NULL, 2);
  status("launch 4 x 256");
  mgpuLaunchKernel(twice, 8, 1, 1, 128, 1, 1, 64 * 1024, stream, params, NULL,
                   2);
  status("launch with 64 KB shared memory");
  mgpuLaunchKernel(twice, 8, 1, 1, 128, 1, 1, 300 * 1024, stream, params, NULL,
                   2);
  status("launch with 300 KB shared memory");
  mgpuLaunchKernel(twice, 0, 1, 1, 128, 1, 1, 0, stream, params, NULL, 2);
  status("launch an empty grid");
  mgpuLaunchKernel(NULL, 8, 1, 1, 128, 1, 1, 0, stream, params, NULL, 2);
  status("launch a null function");
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
  mgpuMemFree(out, NULL);

  // An unloaded module and its functions.
  mgpuModuleUnload(module);
  status("unload");
  mgpuModuleGetFunction(module, "twice");
  status("function of an unloaded module");
  mgpuLaunchKernel(twice, 1, 1, 1, 32, 1, 1, 0, NULL, params, NULL, 2);
  status("launch a function of an unloaded module");
  mgpuModuleUnload(module);
  status("unload again");

  // The caller's context stays current; the caller's stream is used as is.
  CUcontext primary = NULL, now = NULL;
  primaryRetain(&primary, 0);
  ctxPush(primary);
  CUstream user = NULL;
  streamCreate(&user, 0);
  kvqCudaSetStream(user);
  void *s = mgpuStreamCreate();
  printf("stream is the caller's: %s\n", s == (void *)user ? "yes" : "no");
  void *m = mgpuMemAlloc(256, s, false);
  mgpuMemFree(m, s);
  mgpuStreamSynchronize(s);
  mgpuStreamDestroy(s);
  kvqCudaSetStream(NULL);
  ctxGetCurrent(&now);
  status("caller's stream");
  printf("caller's context still current: %s\n", now == primary ? "yes" : "no");
  printf("live streams %d\n", doubleLive("streams"));
  ctxPop(NULL);

  // Failures the driver reports come back with its name and message.
  doubleFail("cuMemAlloc", 1, CUDA_ERROR_OUT_OF_MEMORY);
  void *none = mgpuMemAlloc(16, NULL, false);
  status(none ? "injected out of memory: non-null" : "injected out of memory");
  doubleFail("cuCtxPushCurrent", 1, CUDA_ERROR_INVALID_CONTEXT);
  mgpuStreamSynchronize(NULL);
  status("injected push failure");

  // Left loaded: unloaded at exit while the driver is alive, then the
  // destructor above finds nothing to do, silently.
  left = mgpuModuleLoadJIT((void *)kPTX, 2);
  status("load PTX, never unloaded");
  printf("live modules %d\n", doubleLive("modules"));
  doubleNote("main returns");
  fflush(stdout);
  fprintf(stderr, "main returns\n");
  return 0;
}
