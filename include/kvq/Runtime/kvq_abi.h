/*===- kvq_abi.h - C ABI of kernels compiled by kvq ---------------*- C -*-===*\
|*                                                                            *|
|* Part of the kvq project: attention over compressed KV caches.              *|
|*                                                                            *|
|* Every public function of a module compiled by kvq-compile is exported      *|
|* from the shared library as                                                 *|
|*                                                                            *|
|*   int32_t <name>(const kvq_buffer *inputs, int64_t num_inputs,             *|
|*                  kvq_buffer *outputs, int64_t num_outputs);                *|
|*                                                                            *|
|* Buffers are dense, row-major, caller-allocated; the entry point checks     *|
|* every count, pointer, rank, dtype and dimension against the function's     *|
|* signature and returns a kvq_status without running the kernel on a        *|
|* mismatch. docs/ABI.md has the full contract. This header is               *|
|* self-contained C99 and is copied into every generated <library>.h.         *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef KVQ_RUNTIME_KVQ_ABI_H
#define KVQ_RUNTIME_KVQ_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever the layout of kvq_buffer or the calling convention
 * changes; recorded in every manifest as "abi_version". */
#define KVQ_ABI_VERSION 1

/* A dense row-major array. `shape` holds `rank` extents in elements (NULL
 * is allowed only for rank 0); `data` points at the first element and is
 * never NULL, not even for an empty array. */
typedef struct kvq_buffer {
  void *data;
  int64_t rank;
  const int64_t *shape;
  int32_t dtype; /* a kvq_dtype */
} kvq_buffer;

/* Return codes of every entry point. The checks run in this order, the
 * first failure deciding the code: the counts; the arrays; each input
 * (data, rank, shape, dtype, dims); the agreement of dynamic input dims;
 * each output (the same, and its dynamic dims against those the inputs
 * imply). On any code but KVQ_OK the kernel has not run. */
enum kvq_status {
  KVQ_OK = 0,
  KVQ_ERR_NULL = 1,  /* inputs/outputs array, data or shape is NULL */
  KVQ_ERR_COUNT = 2, /* num_inputs / num_outputs differ from the signature */
  KVQ_ERR_RANK = 3,  /* a buffer's rank differs from the signature */
  KVQ_ERR_SHAPE = 4, /* a dim is negative, differs from a static dim or from
                        the output dim the inputs imply, or the size
                        overflows */
  KVQ_ERR_DTYPE = 5, /* a buffer's dtype differs from the signature */
  KVQ_ERR_DEVICE = 6 /* GPU libraries (--target=nvvm): a CUDA call failed
                        while the kernel ran; kvqCudaGetLastError (from
                        libkvq_cuda_runtime) has CUDA's message */
};

/* Element types. Storage: the natural C type, one element after the other;
 * bf16, f16 and f8 as their bit patterns (2, 2 and 1 bytes); i1 as one byte
 * holding 0 or 1; i4 / i2 packed along the last dim, LSB first, each row
 * padded to whole bytes (`shape` still counts codes). */
enum kvq_dtype {
  KVQ_DTYPE_INVALID = 0,
  KVQ_DTYPE_F32 = 1,
  KVQ_DTYPE_F16 = 2,
  KVQ_DTYPE_BF16 = 3,
  KVQ_DTYPE_F64 = 4,
  KVQ_DTYPE_I8 = 5,
  KVQ_DTYPE_I16 = 6,
  KVQ_DTYPE_I32 = 7,
  KVQ_DTYPE_I64 = 8,
  KVQ_DTYPE_I1 = 9,
  KVQ_DTYPE_I4 = 10,
  KVQ_DTYPE_I2 = 11,
  KVQ_DTYPE_F8E4M3FN = 12,
  KVQ_DTYPE_F8E5M2 = 13
};

/* The signature of every entry point. */
typedef int32_t (*kvq_entry_fn)(const kvq_buffer *inputs, int64_t num_inputs,
                                kvq_buffer *outputs, int64_t num_outputs);

/* The signature of the companion `<name>_output_shapes`, exported when the
 * output shapes follow from the inputs' shapes alone: it checks `inputs`
 * as the entry point does and writes the shape of every output, one after
 * the other, into `shapes` (`num_dims` = the sum of the output ranks). */
typedef int32_t (*kvq_output_shapes_fn)(const kvq_buffer *inputs,
                                        int64_t num_inputs, int64_t *shapes,
                                        int64_t num_dims);

/* Threads. Every CPU library exports these two functions. A kernel runs on
 * at most `n` threads after kvq_set_num_threads(n) (n >= 1); n = 0 restores
 * the default (libomp's: OMP_NUM_THREADS, else one thread per core);
 * kvq_set_num_threads returns the previous setting, or -1 (and changes
 * nothing) for n < 0; kvq_get_num_threads the current one. The setting is
 * shared by the kvq libraries a program links (or loads with RTLD_GLOBAL);
 * a library loaded with RTLD_LOCAL has its own. Libraries compiled with
 * --threads=false run on the calling thread and ignore it.
 *
 * A thread that waits (a worker between kernels, a thread at the end of a
 * parallel loop) spins for the block time, then sleeps. kvq_set_block_time
 * sets it in milliseconds, 0 to 1000 (default 1; 0: sleep at once); it
 * returns the previous setting, or -1 (and changes nothing) outside that
 * range; kvq_get_block_time returns the current one. The kernel applies it
 * as libomp's block time for its parallel regions, unless KMP_BLOCKTIME or
 * OMP_WAIT_POLICY is set in the environment: then libomp's own applies.
 * Shared like the thread count. */
int32_t kvq_set_num_threads(int32_t n);
int32_t kvq_get_num_threads(void);
int32_t kvq_set_block_time(int32_t ms);
int32_t kvq_get_block_time(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KVQ_RUNTIME_KVQ_ABI_H */
