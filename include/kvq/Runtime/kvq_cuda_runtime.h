/*===- kvq_cuda_runtime.h - kvq's CUDA runtime for gpu-to-llvm code -*- C -*-===
 *
 * Part of the kvq project: attention over compressed KV caches.
 *
 * Host code lowered by MLIR's gpu-to-llvm calls `mgpu*` functions (module
 * loading, launches, streams, events, memory). Debian's LLVM ships no
 * implementation of them; libkvq_cuda_runtime.so provides one over the CUDA
 * driver API. The driver (libcuda.so.1) is loaded on first use, so the
 * library links and loads on machines without a GPU; every CUDA call is
 * checked and the first failure is kept with CUDA's own error name and
 * message, readable through the functions below (the mgpu* ABI itself has
 * no error channel: failed calls return null handles or do nothing).
 *
 * The mgpu* signatures are those LLVM 22's gpu-to-llvm and gpu.binary
 * lowering emit (see docs/GPU.md).
 *
 *===----------------------------------------------------------------------===*/

#ifndef KVQ_RUNTIME_KVQ_CUDA_RUNTIME_H
#define KVQ_RUNTIME_KVQ_CUDA_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#ifndef __cplusplus
#include <stdbool.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Status of the runtime: 0 when no CUDA call failed since the last
 * kvqCudaClearError; otherwise the CUresult of the first failure (or -1
 * when the driver library could not be loaded). `message` (may be null)
 * receives "cuCall: CUDA_ERROR_NAME: description", truncated to `size`. */
int32_t kvqCudaGetLastError(char *message, size_t size);
void kvqCudaClearError(void);

/* Runs the kernels of the calling thread on `stream` (a CUstream, e.g.
 * torch.cuda.current_stream().cuda_stream) instead of a stream created and
 * synchronized per call: calls then return without waiting, their work
 * ordered on `stream` (scratch memory is stream ordered too), so they
 * compose with the caller's other work and can be captured in CUDA
 * graphs. NULL restores the default (synchronous calls). */
void kvqCudaSetStream(void *stream);
void *kvqCudaGetStream(void);

/* Number of CUDA devices, or -1 (and the error recorded) without a driver. */
int32_t kvqCudaDeviceCount(void);

/* The mgpu* ABI of LLVM 22. */
void *mgpuModuleLoad(void *data, uint64_t size);
void *mgpuModuleLoadJIT(void *data, int32_t optLevel);
void mgpuModuleUnload(void *module);
void *mgpuModuleGetFunction(void *module, const char *name);
void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, void *stream,
                      void **params, void **extra, size_t paramsCount);
void *mgpuStreamCreate(void);
void mgpuStreamDestroy(void *stream);
void mgpuStreamSynchronize(void *stream);
void mgpuStreamWaitEvent(void *stream, void *event);
void *mgpuEventCreate(void);
void mgpuEventDestroy(void *event);
void mgpuEventSynchronize(void *event);
void mgpuEventRecord(void *event, void *stream);
void *mgpuMemAlloc(uint64_t sizeBytes, void *stream, bool isHostShared);
void mgpuMemFree(void *ptr, void *stream);
void mgpuMemcpy(void *dst, void *src, size_t sizeBytes, void *stream);
void mgpuMemset32(void *dst, uint32_t value, size_t count, void *stream);
void mgpuMemset16(void *dst, uint16_t value, size_t count, void *stream);
void mgpuSetDefaultDevice(int32_t device);

#ifdef __cplusplus
}
#endif

#endif /* KVQ_RUNTIME_KVQ_CUDA_RUNTIME_H */
