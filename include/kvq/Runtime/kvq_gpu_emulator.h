/*===- kvq_gpu_emulator.h - kvq's GPU emulator runtime ----------*- C -*-===
 *
 * Part of the kvq project: attention over compressed KV caches.
 *
 * libkvq_gpu_emulator.so runs the kernels of libraries compiled with
 * `kvq-compile --target=nvvm-emulated` (kvq-nvvm-emulation-pipeline) on the
 * host, with CUDA semantics: each CTA's threads run as fibers that switch
 * at barriers and warp-synchronous instructions (shfl.sync, vote.sync,
 * mma.sync, ldmatrix); shared memory is per-CTA host memory; cp.async
 * copies land when their group is waited for. Host code is unchanged: it
 * calls the same mgpu* functions as on a GPU (kvq_cuda_runtime.h), which
 * this library implements over host memory.
 *
 * Errors a GPU would report or leave undefined (deadlocks, divergent
 * barriers or warp-synchronous instructions, out-of-range or misaligned
 * shared-memory accesses, invalid launch configurations) and, when
 * enabled, shared-memory data races and reads of uninitialized shared
 * memory are reported like CUDA errors: the first one is kept (with the
 * kernel, CTA and threads) and read with kvqCudaGetLastError; the launch
 * stops and later launches are skipped until kvqCudaClearError.
 *
 *===----------------------------------------------------------------------===*/

#ifndef KVQ_RUNTIME_KVQ_GPU_EMULATOR_H
#define KVQ_RUNTIME_KVQ_GPU_EMULATOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Checks beyond the ones always made (bounds, alignment, deadlocks,
 * divergence, launch configuration). The environment variable
 * KVQ_EMU_CHECK (a comma-separated list of `race`, `init`, `all`) sets
 * them at load time. */
enum {
  /* Shared-memory hazards between threads of a CTA: conflicting accesses
   * (at least one a write, cp.async included) to one byte by different
   * threads with no barrier between them (like compute-sanitizer
   * racecheck), and accesses to bytes a cp.async of the same thread has
   * not completed (no cp.async.wait_group before a read, a write or a
   * second cp.async: their order is undefined). */
  KVQ_EMU_CHECK_RACE = 1,
  /* Reads of shared-memory bytes no thread of the CTA has written. */
  KVQ_EMU_CHECK_INIT = 2,
};
void kvqEmuSetChecks(uint32_t checks);
uint32_t kvqEmuGetChecks(void);

/* Counters since the library was loaded (for tests and benchmarks). */
typedef struct {
  uint64_t launches;    /* kernels run */
  uint64_t blocks;      /* CTAs run */
  uint64_t threads;     /* threads run */
  uint64_t switches;    /* fiber switches */
  uint64_t collectives; /* warp-synchronous instructions completed */
  uint64_t barriers;    /* CTA barriers completed */
  uint64_t hazards;     /* shared-memory hazards found (KVQ_EMU_CHECK_*) */
} kvq_emu_stats;
void kvqEmuGetStats(kvq_emu_stats *stats);

/* The error functions of kvq_cuda_runtime.h, for emulated libraries (the
 * same names, so that kvq-compile's wrappers work unchanged): the status is
 * -1 after an emulator error, 0 otherwise. */
int32_t kvqCudaGetLastError(char *message, size_t size);
void kvqCudaClearError(void);
void kvqCudaSetStream(void *stream);
void *kvqCudaGetStream(void);
/* 1: the emulated device. */
int32_t kvqCudaDeviceCount(void);

/*===------------------------------------------------------------------===*
 * What emulated kernels call (kvq-emulate-gpu-kernels emits these calls).
 * The warp- and block-synchronous ones are convergent: a compiler must not
 * make them depend on more control flow (e.g. duplicate a barrier into
 * both sides of a branch), which would make threads that reach one
 * barrier of the source reach different ones.
 *===------------------------------------------------------------------===*/
#if defined(__clang__)
#define KVQ_EMU_CONVERGENT __attribute__((convergent))
#else
#define KVQ_EMU_CONVERGENT
#endif

/* Kernel registration, from a global constructor (destructor) of the
 * library holding the kernel. `module` is the text of the gpu.binary
 * object (module name and a hash of its kernels); `entry` unpacks the
 * mgpuLaunchKernel parameter array and calls the kernel. */
typedef void (*kvq_emu_entry)(void **params);
void __kvq_emu_register_kernel(const char *module, const char *kernel,
                               kvq_emu_entry entry, int64_t staticShared,
                               int64_t numParams, int32_t maxThreads);
void __kvq_emu_unregister_kernel(const char *module, const char *kernel,
                                 kvq_emu_entry entry);

/* Special registers (PTX %tid, %ntid, %ctaid, %nctaid, %laneid, ...). */
uint32_t __kvq_emu_sreg_tid_x(void);
uint32_t __kvq_emu_sreg_tid_y(void);
uint32_t __kvq_emu_sreg_tid_z(void);
uint32_t __kvq_emu_sreg_ntid_x(void);
uint32_t __kvq_emu_sreg_ntid_y(void);
uint32_t __kvq_emu_sreg_ntid_z(void);
uint32_t __kvq_emu_sreg_ctaid_x(void);
uint32_t __kvq_emu_sreg_ctaid_y(void);
uint32_t __kvq_emu_sreg_ctaid_z(void);
uint32_t __kvq_emu_sreg_nctaid_x(void);
uint32_t __kvq_emu_sreg_nctaid_y(void);
uint32_t __kvq_emu_sreg_nctaid_z(void);
uint32_t __kvq_emu_sreg_laneid(void);
uint32_t __kvq_emu_sreg_warpsize(void);
uint32_t __kvq_emu_sreg_warpid(void);
uint32_t __kvq_emu_sreg_nwarpid(void);
uint32_t __kvq_emu_sreg_lanemask_eq(void);
uint32_t __kvq_emu_sreg_lanemask_le(void);
uint32_t __kvq_emu_sreg_lanemask_lt(void);
uint32_t __kvq_emu_sreg_lanemask_ge(void);
uint32_t __kvq_emu_sreg_lanemask_gt(void);
uint32_t __kvq_emu_sreg_dynamic_smem_size(void);
uint32_t __kvq_emu_sreg_total_smem_size(void);

/* bar.sync `id`, `count` threads (-1: all threads of the CTA). With a
 * reduction (`op` 0 popc, 1 and, 2 or over `predicate`) it returns its
 * result; without (`op` -1) 0. */
KVQ_EMU_CONVERGENT int32_t __kvq_emu_barrier(int32_t id, int32_t count,
                                             int32_t op, int32_t predicate);

/* shfl.sync: `mode` 0 up, 1 down, 2 bfly, 3 idx (PTX order); returns the
 * value in the low 32 bits and the valid predicate in bit 32. */
KVQ_EMU_CONVERGENT uint64_t __kvq_emu_shfl_sync(int32_t mode,
                                                uint32_t memberMask,
                                                uint32_t value, uint32_t offset,
                                                uint32_t clampAndMask);
/* vote.sync: `kind` 0 any, 1 all, 2 ballot, 3 uni. */
KVQ_EMU_CONVERGENT uint32_t __kvq_emu_vote_sync(int32_t kind,
                                                uint32_t memberMask,
                                                int32_t predicate);
/* bar.warp.sync (__syncwarp). */
KVQ_EMU_CONVERGENT void __kvq_emu_syncwarp(uint32_t memberMask);

/* mma.sync.aligned.row.col: element types of A, B, C and D below; `in`
 * holds this lane's A, B and C registers (32-bit words, in order), `out`
 * receives its D registers. */
enum {
  KVQ_EMU_F16 = 0,
  KVQ_EMU_BF16 = 1,
  KVQ_EMU_TF32 = 2,
  KVQ_EMU_F32 = 3,
  KVQ_EMU_S8 = 4,
  KVQ_EMU_U8 = 5,
  KVQ_EMU_S32 = 6,
  KVQ_EMU_F64 = 7,
};
/* The number of 32-bit registers per lane of each operand of an mma
 * shape (0 when the emulator does not support the combination). */
typedef struct {
  int32_t a, b, c, d;
} kvq_emu_mma_regs;
kvq_emu_mma_regs kvqEmuMmaRegisters(int32_t m, int32_t n, int32_t k,
                                    int32_t typeAB, int32_t typeC,
                                    int32_t typeD);
KVQ_EMU_CONVERGENT void __kvq_emu_mma_sync(int32_t m, int32_t n, int32_t k,
                                           int32_t typeA, int32_t typeB,
                                           int32_t typeC, int32_t typeD,
                                           int32_t satfinite,
                                           const uint32_t *in, uint32_t *out);

/* ldmatrix.sync.aligned.m8n8.x{num}[.trans].shared.b16: `row` is this
 * lane's row address; `out` receives `num` registers. */
KVQ_EMU_CONVERGENT void __kvq_emu_ldmatrix(int32_t num, int32_t transpose,
                                           void *row, uint32_t *out);

/* cp.async.{ca,cg}.shared.global: `size` bytes (4, 8 or 16) from `src`
 * (global) to `dst` (shared); bytes past `srcSize` are zero-filled. The
 * source is read now, the destination written when the copy's group is
 * waited for. */
void __kvq_emu_cp_async(void *dst, const void *src, int32_t size,
                        int32_t srcSize);
void __kvq_emu_cp_async_commit_group(void);
KVQ_EMU_CONVERGENT void __kvq_emu_cp_async_wait_group(int32_t n);

/* The CTA's shared memory (static first, then dynamic). */
void *__kvq_emu_shared_base(void);
/* Every shared-memory access: checks it (bounds, alignment, races) and
 * returns the address to use (a scratch buffer when it is out of range).
 * `kind`: 0 load, 1 store, 2 atomic (read-modify-write). */
void *__kvq_emu_shared_access(void *address, int64_t size, int32_t kind,
                              int64_t alignment);

/* NVVM intrinsics with no host equivalent. */
float __kvq_emu_ex2_approx_f32(float x);
float __kvq_emu_ex2_approx_ftz_f32(float x);
float __kvq_emu_lg2_approx_f32(float x);
float __kvq_emu_lg2_approx_ftz_f32(float x);
float __kvq_emu_rcp_approx_ftz_f32(float x);
float __kvq_emu_rsqrt_approx_f32(float x);
float __kvq_emu_rsqrt_approx_ftz_f32(float x);
float __kvq_emu_sqrt_approx_f32(float x);
float __kvq_emu_sin_approx_f32(float x);
float __kvq_emu_cos_approx_f32(float x);
float __kvq_emu_tanh_approx_f32(float x);
/* lop3.b32 with the look-up table `lut`; prmt.b32 (default mode);
 * cvt.rn{.relu}.f16x2.{e4m3x2,e5m2x2} of the two codes in the low 16 bits
 * of `codes` (the f16 pair as a word, the low code in the low half). */
uint32_t __kvq_emu_lop3(uint32_t a, uint32_t b, uint32_t c, uint32_t lut);
uint32_t __kvq_emu_prmt(uint32_t a, uint32_t b, uint32_t selector);
uint32_t __kvq_emu_cvt_f16x2_f8x2(uint32_t codes, int32_t e5m2, int32_t relu);
/* movmatrix.sync.aligned.m8n8.trans.b16: the lane's fragment of the
 * transpose of the warp's 8 x 8 b16 matrix (every lane must take part). */
KVQ_EMU_CONVERGENT uint32_t __kvq_emu_movmatrix(uint32_t fragment);
/* Inline PTX `mov.b32` / `mov.b64`: the identity, out of the optimizers'
 * sight (not inlined). */
uint32_t __kvq_emu_mov_b32(uint32_t x);
uint64_t __kvq_emu_mov_b64(uint64_t x);

/* For tests: runs `entry` like mgpuLaunchKernel runs a registered kernel
 * (no registration needed). */
void kvqEmuLaunch(kvq_emu_entry entry, const char *name, uint32_t gridX,
                  uint32_t gridY, uint32_t gridZ, uint32_t blockX,
                  uint32_t blockY, uint32_t blockZ, uint32_t sharedBytes,
                  void **params);

#ifdef __cplusplus
}
#endif

#endif /* KVQ_RUNTIME_KVQ_GPU_EMULATOR_H */
