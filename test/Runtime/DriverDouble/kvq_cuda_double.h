/*===- kvq_cuda_double.h - control of the CUDA driver test double -*- C -*-===
 *
 * Part of the kvq project: attention over compressed KV caches.
 *
 * The test double of the CUDA driver (libcuda.so.1 built under
 * build/test/cuda-driver-double, never installed) exports, besides the
 * driver calls kvq's runtime uses, these functions for tests. They are
 * looked up with dlsym / ctypes in the libcuda.so.1 the process loaded.
 *
 * Environment:
 *   KVQ_CUDA_DOUBLE_LOG=path   append one line per driver call / event
 *   KVQ_CUDA_DOUBLE_DEVICES=n  number of devices (default 1; 0: cuInit
 *                              fails with CUDA_ERROR_NO_DEVICE)
 *   KVQ_CUDA_DOUBLE_SM=nn      compute capability of the devices (90)
 *   KVQ_CUDA_DOUBLE_FAIL=call:n:code[,...]   as kvqCudaDoubleFail
 *
 *===----------------------------------------------------------------------===*/

#ifndef KVQ_TEST_CUDA_DOUBLE_H
#define KVQ_TEST_CUDA_DOUBLE_H

#ifdef __cplusplus
extern "C" {
#endif

/* Makes the `nth` call (1: the next one) of driver function `call` (the
 * name without a version suffix, e.g. "cuMemAllocAsync") from now on return
 * `result` (a CUresult) without doing anything. Returns 0. */
int kvqCudaDoubleFail(const char *call, int nth, int result);

/* Live objects of a kind: "modules", "allocations", "streams", "events",
 * "functions"; -1 for an unknown kind. */
int kvqCudaDoubleLive(const char *kind);

/* Depth of the calling thread's context stack. */
int kvqCudaDoubleContextDepth(void);

/* Number of kernel launches so far. */
int kvqCudaDoubleLaunches(void);

/* Writes `text` as a line of the log ("note <text>"). */
void kvqCudaDoubleNote(const char *text);

#ifdef __cplusplus
}
#endif

#endif /* KVQ_TEST_CUDA_DOUBLE_H */
