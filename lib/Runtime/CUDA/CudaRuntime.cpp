//===- CudaRuntime.cpp - mgpu* runtime over the CUDA driver API -*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// The functions that MLIR's gpu-to-llvm host code calls, over the CUDA
// driver API. libcuda.so.1 is opened on first use (dlopen) so that this
// library loads on machines without a GPU; cuda.h supplies only types and
// the versioned symbol names. Every driver call is checked; the first
// failure is kept (with CUDA's error name and string) for
// kvqCudaGetLastError and reported once on stderr.
//
// Every call that talks to the driver about a context's objects (modules,
// functions, streams, events, memory, launches) makes the device's primary
// context current for its duration: callers need no CUDA context of their
// own (NumPy-only processes have none). Modules still loaded at process
// exit are unloaded by an exit handler registered after the driver's own
// (so it runs first, while the context exists); the libraries' module
// destructors, which run later, then find nothing to unload.
//
//===----------------------------------------------------------------------===//

#include "kvq/Runtime/kvq_cuda_runtime.h"

#include <cuda.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <mutex>
#include <string>
#include <unordered_set>

namespace {

// The symbol a cuda.h macro maps a call to (e.g. cuMemAlloc -> cuMemAlloc_v2).
#define KVQ_STR(x) #x
#define KVQ_SYMBOL(x) KVQ_STR(x)

/// The driver entry points used here, resolved once.
struct Driver {
#define KVQ_DRIVER_FN(name) decltype(&::name) name = nullptr;
#define KVQ_DRIVER_FUNCTIONS(X)                                                \
  X(cuInit)                                                                    \
  X(cuGetErrorName)                                                            \
  X(cuGetErrorString)                                                          \
  X(cuDeviceGet)                                                               \
  X(cuDeviceGetCount)                                                          \
  X(cuDevicePrimaryCtxRetain)                                                  \
  X(cuCtxPushCurrent)                                                          \
  X(cuCtxPopCurrent)                                                           \
  X(cuModuleLoadData)                                                          \
  X(cuModuleLoadDataEx)                                                        \
  X(cuModuleUnload)                                                            \
  X(cuModuleGetFunction)                                                       \
  X(cuFuncSetAttribute)                                                        \
  X(cuLaunchKernel)                                                            \
  X(cuStreamCreate)                                                            \
  X(cuStreamDestroy)                                                           \
  X(cuStreamSynchronize)                                                       \
  X(cuStreamWaitEvent)                                                         \
  X(cuEventCreate)                                                             \
  X(cuEventDestroy)                                                            \
  X(cuEventSynchronize)                                                        \
  X(cuEventRecord)                                                             \
  X(cuMemAlloc)                                                                \
  X(cuMemAllocAsync)                                                           \
  X(cuMemFreeAsync)                                                            \
  X(cuMemAllocManaged)                                                         \
  X(cuMemFree)                                                                 \
  X(cuMemcpyAsync)                                                             \
  X(cuMemsetD32Async)                                                          \
  X(cuMemsetD16Async)
  KVQ_DRIVER_FUNCTIONS(KVQ_DRIVER_FN)
#undef KVQ_DRIVER_FN
  bool loaded = false;
};

std::mutex errorMutex;
int32_t lastError = 0;
std::string lastMessage;

void recordError(int32_t code, const std::string &message) {
  std::lock_guard<std::mutex> lock(errorMutex);
  if (lastError != 0)
    return;
  lastError = code;
  lastMessage = message;
  std::fprintf(stderr, "kvq cuda runtime: %s\n", message.c_str());
}

Driver &driver() {
  static Driver d = [] {
    Driver d;
    void *handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char *why = dlerror();
      recordError(-1,
                  std::string("cannot load the CUDA driver libcuda.so.1: ") +
                      (why ? why : "unknown error"));
      return d;
    }
    bool complete = true;
#define KVQ_DRIVER_RESOLVE(name)                                               \
  d.name =                                                                     \
      reinterpret_cast<decltype(d.name)>(dlsym(handle, KVQ_SYMBOL(name)));     \
  if (!d.name) {                                                               \
    recordError(-1, std::string("the CUDA driver lacks ") + KVQ_SYMBOL(name)); \
    complete = false;                                                          \
  }
    KVQ_DRIVER_FUNCTIONS(KVQ_DRIVER_RESOLVE)
#undef KVQ_DRIVER_RESOLVE
    d.loaded = complete;
    return d;
  }();
  return d;
}

/// Checks one driver call; returns true on success.
bool check(CUresult result, const char *call) {
  if (result == CUDA_SUCCESS)
    return true;
  Driver &d = driver();
  const char *name = nullptr, *text = nullptr;
  if (d.cuGetErrorName)
    d.cuGetErrorName(result, &name);
  if (d.cuGetErrorString)
    d.cuGetErrorString(result, &text);
  // "cuCall: CUDA_ERROR_NAME: description" (the call without arguments).
  std::string function(call);
  function = function.substr(0, function.find('('));
  recordError(static_cast<int32_t>(result),
              function + ": " + (name ? name : "CUDA_ERROR_UNKNOWN") + ": " +
                  (text ? text : "no description"));
  return false;
}

#define KVQ_CU(call) check(driver().call, #call)

thread_local int32_t defaultDevice = 0;

/// The caller's stream (kvqCudaSetStream), used instead of a stream of our
/// own: kernels then run asynchronously on it.
thread_local CUstream userStream = nullptr;

/// The modules loaded and not yet unloaded, and whether the exit handler
/// has run.
std::mutex moduleMutex;
std::unordered_set<CUmodule> &liveModules() {
  static auto *modules = new std::unordered_set<CUmodule>();
  return *modules;
}
bool exiting = false;

void unloadModulesAtExit();

/// The primary context of the default device (retained once, never
/// released: it lives until the driver tears it down at exit).
CUcontext primaryContext() {
  static CUcontext context = [] {
    CUcontext ctx = nullptr;
    CUdevice device;
    if (KVQ_CU(cuInit(0)) && KVQ_CU(cuDeviceGet(&device, defaultDevice)) &&
        KVQ_CU(cuDevicePrimaryCtxRetain(&ctx, device)))
      // After cuInit, so that it runs before the driver's own exit
      // handlers (exit handlers run in reverse order of registration).
      std::atexit(unloadModulesAtExit);
    return ctx;
  }();
  return context;
}

/// The primary context of the default device, current while alive.
class ScopedContext {
public:
  ScopedContext() {
    Driver &d = driver();
    if (!d.loaded) {
      // Every call that needs the GPU fails visibly, not only the first.
      recordError(-1, "no usable CUDA driver (libcuda.so.1)");
      return;
    }
    CUcontext context = primaryContext();
    if (!context)
      recordError(-1, "no CUDA context: cuInit or the device failed");
    active = context && KVQ_CU(cuCtxPushCurrent(context));
  }
  ~ScopedContext() {
    if (active)
      KVQ_CU(cuCtxPopCurrent(nullptr));
  }
  explicit operator bool() const { return active; }

private:
  bool active = false;
};

void trackModule(CUmodule module) {
  if (!module)
    return;
  std::lock_guard<std::mutex> lock(moduleMutex);
  liveModules().insert(module);
}

/// Unloads what is still loaded while the driver and the context are
/// alive; the module destructors that run after this find nothing left.
void unloadModulesAtExit() {
  std::unordered_set<CUmodule> modules;
  {
    std::lock_guard<std::mutex> lock(moduleMutex);
    exiting = true;
    modules.swap(liveModules());
  }
  if (modules.empty())
    return;
  ScopedContext context;
  if (!context)
    return;
  for (CUmodule module : modules)
    KVQ_CU(cuModuleUnload(module));
}

} // namespace

extern "C" {

int32_t kvqCudaGetLastError(char *message, size_t size) {
  std::lock_guard<std::mutex> lock(errorMutex);
  if (message && size) {
    std::strncpy(message, lastMessage.c_str(), size - 1);
    message[size - 1] = '\0';
  }
  return lastError;
}

void kvqCudaClearError(void) {
  std::lock_guard<std::mutex> lock(errorMutex);
  lastError = 0;
  lastMessage.clear();
}

int32_t kvqCudaDeviceCount(void) {
  if (!driver().loaded || !KVQ_CU(cuInit(0)))
    return -1;
  int count = 0;
  if (!KVQ_CU(cuDeviceGetCount(&count)))
    return -1;
  return count;
}

void *mgpuModuleLoad(void *data, uint64_t /*size*/) {
  ScopedContext context;
  CUmodule module = nullptr;
  if (context && KVQ_CU(cuModuleLoadData(&module, data)))
    trackModule(module);
  return module;
}

void *mgpuModuleLoadJIT(void *data, int32_t optLevel) {
  ScopedContext context;
  CUmodule module = nullptr;
  if (!context)
    return nullptr;
  // PTX is compiled by the driver for the device at hand; keep its log so
  // that a failure says why.
  char errorLog[4096] = {0};
  CUjit_option options[] = {CU_JIT_OPTIMIZATION_LEVEL, CU_JIT_ERROR_LOG_BUFFER,
                            CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {reinterpret_cast<void *>(static_cast<intptr_t>(optLevel)),
                    errorLog, reinterpret_cast<void *>(sizeof(errorLog))};
  if (KVQ_CU(cuModuleLoadDataEx(&module, data, 3, options, values)))
    trackModule(module);
  else if (errorLog[0])
    std::fprintf(stderr, "kvq cuda runtime: PTX JIT log: %s\n", errorLog);
  return module;
}

void mgpuModuleUnload(void *module) {
  if (!module)
    return;
  {
    // Modules unloaded by the exit handler are gone: nothing to do (and
    // the driver may have torn its contexts down since).
    std::lock_guard<std::mutex> lock(moduleMutex);
    if (exiting && !liveModules().count(static_cast<CUmodule>(module)))
      return;
    liveModules().erase(static_cast<CUmodule>(module));
  }
  ScopedContext context;
  if (context)
    KVQ_CU(cuModuleUnload(static_cast<CUmodule>(module)));
}

void *mgpuModuleGetFunction(void *module, const char *name) {
  CUfunction function = nullptr;
  if (!module)
    return function;
  ScopedContext context;
  if (context)
    KVQ_CU(cuModuleGetFunction(&function, static_cast<CUmodule>(module), name));
  return function;
}

void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, void *stream,
                      void **params, void **extra, size_t /*paramsCount*/) {
  ScopedContext context;
  if (!context || !function) {
    if (!function)
      recordError(CUDA_ERROR_INVALID_HANDLE,
                  "mgpuLaunchKernel: no kernel (module or function failed "
                  "to load)");
    return;
  }
  auto fn = static_cast<CUfunction>(function);
  // Kernels may ask for more than the default 48 KB of shared memory.
  if (smem > 48 * 1024 &&
      !KVQ_CU(cuFuncSetAttribute(
          fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem)))
    return;
  KVQ_CU(cuLaunchKernel(fn, gridX, gridY, gridZ, blockX, blockY, blockZ, smem,
                        static_cast<CUstream>(stream), params, extra));
}

void kvqCudaSetStream(void *stream) {
  userStream = static_cast<CUstream>(stream);
}

void *kvqCudaGetStream(void) { return userStream; }

void *mgpuStreamCreate(void) {
  if (userStream)
    return userStream;
  ScopedContext context;
  CUstream stream = nullptr;
  if (context)
    KVQ_CU(cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING));
  return stream;
}

void mgpuStreamDestroy(void *stream) {
  if (!stream || stream == userStream)
    return;
  ScopedContext context;
  if (context)
    KVQ_CU(cuStreamDestroy(static_cast<CUstream>(stream)));
}

void mgpuStreamSynchronize(void *stream) {
  // On the caller's stream the call is asynchronous, like any CUDA library
  // call on a stream (and can be captured in a CUDA graph).
  if (stream && stream == userStream)
    return;
  // The null stream is the current context's: it needs one.
  ScopedContext context;
  if (context)
    KVQ_CU(cuStreamSynchronize(static_cast<CUstream>(stream)));
}

void mgpuStreamWaitEvent(void *stream, void *event) {
  if (!event)
    return;
  ScopedContext context;
  if (context)
    KVQ_CU(cuStreamWaitEvent(static_cast<CUstream>(stream),
                             static_cast<CUevent>(event), 0));
}

void *mgpuEventCreate(void) {
  ScopedContext context;
  CUevent event = nullptr;
  if (context)
    KVQ_CU(cuEventCreate(&event, CU_EVENT_DISABLE_TIMING));
  return event;
}

void mgpuEventDestroy(void *event) {
  if (!event)
    return;
  ScopedContext context;
  if (context)
    KVQ_CU(cuEventDestroy(static_cast<CUevent>(event)));
}

void mgpuEventSynchronize(void *event) {
  if (!event)
    return;
  ScopedContext context;
  if (context)
    KVQ_CU(cuEventSynchronize(static_cast<CUevent>(event)));
}

void mgpuEventRecord(void *event, void *stream) {
  if (!event)
    return;
  ScopedContext context;
  if (context)
    KVQ_CU(cuEventRecord(static_cast<CUevent>(event),
                         static_cast<CUstream>(stream)));
}

// Allocations on a stream (the async gpu.alloc / gpu.dealloc of kernels'
// scratch) are stream ordered (cuMemAllocAsync / cuMemFreeAsync): served
// from the device's memory pool without synchronizing, so per-call scratch
// costs no cudaMalloc / cudaFree. Without a stream they are plain.
void *mgpuMemAlloc(uint64_t sizeBytes, void *stream, bool isHostShared) {
  ScopedContext context;
  CUdeviceptr ptr = 0;
  if (!context || sizeBytes == 0)
    return nullptr;
  if (isHostShared)
    KVQ_CU(cuMemAllocManaged(&ptr, sizeBytes, CU_MEM_ATTACH_GLOBAL));
  else if (stream)
    KVQ_CU(cuMemAllocAsync(&ptr, sizeBytes, static_cast<CUstream>(stream)));
  else
    KVQ_CU(cuMemAlloc(&ptr, sizeBytes));
  return reinterpret_cast<void *>(ptr);
}

void mgpuMemFree(void *ptr, void *stream) {
  ScopedContext context;
  if (!context || !ptr)
    return;
  if (stream)
    KVQ_CU(cuMemFreeAsync(reinterpret_cast<CUdeviceptr>(ptr),
                          static_cast<CUstream>(stream)));
  else
    KVQ_CU(cuMemFree(reinterpret_cast<CUdeviceptr>(ptr)));
}

void mgpuMemcpy(void *dst, void *src, size_t sizeBytes, void *stream) {
  ScopedContext context;
  if (context && sizeBytes)
    KVQ_CU(cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                         reinterpret_cast<CUdeviceptr>(src), sizeBytes,
                         static_cast<CUstream>(stream)));
}

void mgpuMemset32(void *dst, uint32_t value, size_t count, void *stream) {
  ScopedContext context;
  if (context && count)
    KVQ_CU(cuMemsetD32Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                            static_cast<CUstream>(stream)));
}

void mgpuMemset16(void *dst, uint16_t value, size_t count, void *stream) {
  ScopedContext context;
  if (context && count)
    KVQ_CU(cuMemsetD16Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                            static_cast<CUstream>(stream)));
}

void mgpuSetDefaultDevice(int32_t device) { defaultDevice = device; }

} // extern "C"
