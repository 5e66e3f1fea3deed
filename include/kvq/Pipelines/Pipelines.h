//===- Pipelines.h - kvq pass pipelines -------------------------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// The registered pass pipelines of kvq. Each one is an options struct, a
// `build...Pipeline` function that another MLIR-based compiler can call, and
// a textual registration (`kvq-opt --kvq-cpu-pipeline`).
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_PIPELINES_PIPELINES_H
#define KVQ_PIPELINES_PIPELINES_H

#include "kvq/Dialect/KVQ/IR/AttentionSchedule.h"

#include "mlir/Pass/PassOptions.h"

namespace mlir {
class OpPassManager;

namespace kvq {

/// Options of the CPU pipeline. The tiling options are those of
/// `kvq-tile-attention`; they shape how `kvq.attention` is decomposed.
struct KVQCPUPipelineOptions
    : public PassPipelineOptions<KVQCPUPipelineOptions> {
  // The CPU knobs of the kernel schedule (AttentionSchedule.def): block-kv,
  // split-kv, block-rows, vector-width. Given explicitly, they replace
  // those of every attention's schedule (kvq-attention-schedule).
#define KVQ_SCHEDULE_OPTIONS_CPU 1
#define KVQ_SCHEDULE_OPTIONS_GPU 0
#include "kvq/Dialect/KVQ/IR/AttentionScheduleOptions.inc"
  PassOptions::Option<bool> threads{
      *this, "threads",
      llvm::cl::desc("Run independent (batch, kv head) work on OpenMP "
                     "threads (libomp); off: one thread, no libomp"),
      llvm::cl::init(true)};
  PassOptions::Option<std::string> ompSchedule{
      *this, "omp-schedule",
      llvm::cl::desc("Schedule of the OpenMP loops: dynamic (threads take "
                     "work items as they finish), static or guided"),
      llvm::cl::init("dynamic")};
  PassOptions::Option<bool> vnni{
      *this, "vnni",
      llvm::cl::desc("Lower the int8 dot products (schedule int8-dot) to "
                     "AVX512-VNNI vpdpbusd; off: portable vector code "
                     "(kvq-compile turns it on when the target has "
                     "AVX512-VNNI)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> avx2{
      *this, "avx2",
      llvm::cl::desc("Without vnni, lower the int8 dot products whose bytes "
                     "are narrow enough (4-bit or 2-bit codes, int8 codes "
                     "as 4-bit halves) to AVX2 vpmaddubsw + vpmaddwd "
                     "(kvq-compile turns it on when the target has AVX2)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> avx512{
      *this, "avx512",
      llvm::cl::desc("Decode codebooks (PolarQuant's factors) with AVX-512 "
                     "permutes (kvq.lookup as vpermps / vpermi2ps; with "
                     "avx2 alone, AVX2 vpermps; neither: selects; "
                     "kvq-compile turns it on when the target has AVX512F)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> avx512Vbmi{
      *this, "avx512-vbmi",
      llvm::cl::desc("Read byte tables with AVX512-VBMI permutes (vpermi2b): "
                     "VidKV's value digits in int8 P V (kvq-compile turns "
                     "it on when the target has AVX512-VBMI)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> avx512BF16{
      *this, "avx512-bf16",
      llvm::cl::desc("Compute bf16 Q K^T in prefill with AVX512-BF16 dot "
                     "products (kvq-compile turns it on when the target has "
                     "AVX512-BF16)"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> vectorRegisters{
      *this, "vector-registers",
      llvm::cl::desc("Architectural vector registers of the target CPU "
                     "(AVX-512: 32, AVX2: 16), which size the accumulators "
                     "the kernels keep in registers (kvq-compile sets it "
                     "from the target)"),
      llvm::cl::init(32)};
  PassOptions::Option<int64_t> registerBits{
      *this, "register-bits",
      llvm::cl::desc("Bits per vector register of the target CPU (AVX-512: "
                     "512, AVX2: 256; kvq-compile sets it from the target)"),
      llvm::cl::init(512)};
  PassOptions::Option<bool> outlineKernels{
      *this, "outline-kernels",
      llvm::cl::desc("Lower each distinct compute op once, in a function of "
                     "its own (kvq-outline-kernels): a model's repeated "
                     "layers are compiled once"),
      llvm::cl::init(true)};
};

/// Lowers a module of kvq / linalg / tensor / arith / math / vector / scf
/// functions to the LLVM dialect for a CPU: inlining, i4 / i2 arguments and
/// results as packed bytes (`kvq-legalize-abi`), kvq fusion, one function
/// per distinct compute op (`kvq-outline-kernels`), flash-style
/// tiling of attention (`kvq-tile-attention`, decoding quantized K / V in
/// registers), the remaining quantization ops as linalg, vectorizable exp,
/// one-shot bufferization with identity-layout function boundaries, results
/// turned into caller-allocated out-parameters (also for public functions),
/// ownership-based deallocation, loops, narrow-type emulation, OpenMP threads
/// for scf.parallel (option `threads`), and the conversions to LLVM. The
/// context must carry the bufferization external models of the dialects
/// involved
/// (`registerAllExtensions` registers them).
void buildKVQCPUPipeline(OpPassManager &pm,
                         const KVQCPUPipelineOptions &options);

/// Options of the NVVM pipeline: the kernel schedule of `kvq-gpu-attention`
/// and the target of upstream's `gpu-lower-to-nvvm-pipeline`.
struct KVQNVVMPipelineOptions
    : public PassPipelineOptions<KVQNVVMPipelineOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("GPU architecture (sm_80 and newer)"),
      llvm::cl::init("sm_80")};
  PassOptions::Option<std::string> features{
      *this, "features", llvm::cl::desc("PTX features (PTX ISA version)"),
      llvm::cl::init("+ptx80")};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("GPU binary: isa (PTX, JIT-compiled by the driver; "
                     "needs no toolkit), bin (cubin) or fatbin (cubin + "
                     "PTX); bin / fatbin need CUDA's ptxas"),
      llvm::cl::init("fatbin")};
  PassOptions::Option<int> optLevel{
      *this, "opt-level", llvm::cl::desc("Device code optimization level"),
      llvm::cl::init(3)};
  PassOptions::Option<std::string> kernel{
      *this, "kernel",
      llvm::cl::desc("Attention kernel strategy: auto (decode for "
                     "decode-shaped ops, else prefill), decode or prefill"),
      llvm::cl::init("auto")};
  // The GPU knobs of the kernel schedule (AttentionSchedule.def): block-kv,
  // split-kv, warps, stages, target-ctas, shared-memory. Given explicitly,
  // they replace those of every attention's schedule.
#define KVQ_SCHEDULE_OPTIONS_CPU 0
#define KVQ_SCHEDULE_OPTIONS_GPU 1
#include "kvq/Dialect/KVQ/IR/AttentionScheduleOptions.inc"
};

/// Lowers a module of kvq attention functions to host LLVM-dialect code
/// that launches NVIDIA GPU kernels embedded as a `gpu.binary`:
/// inlining, the packed-byte ABI, fusion, `kvq-gpu-attention` (tensor-core
/// flash attention with in-register decoding), bufferization with results
/// as caller-allocated out-parameters (device memory, checked by
/// `kvq-check-device-buffers`), then upstream's
/// `gpu::buildLowerToNVVMPassPipeline`. Every buffer argument is a device
/// pointer; the host code calls the `mgpu*` runtime
/// (`libkvq_cuda_runtime`).
void buildKVQNVVMPipeline(OpPassManager &pm,
                          const KVQNVVMPipelineOptions &options);

/// `kvq-nvvm-emulation-pipeline`: `kvq-nvvm-pipeline` up to the GPU
/// modules' serialization (the same kernels lowered to NVVM, the same host
/// code), then `kvq-emulate-gpu-kernels`: the NVVM kernels become host code
/// for the GPU emulator runtime (`libkvq_gpu_emulator`), which runs every
/// kernel, the tensor-core attention kernels included, with CUDA semantics
/// (threads as fibers, barriers, warp shuffles, mma fragments, cp.async
/// groups, per-CTA shared memory). Buffers are host memory.
void buildKVQNVVMEmulationPipeline(OpPassManager &pm,
                                   const KVQNVVMPipelineOptions &options);

/// Registers every kvq pipeline with the global pass-pipeline registry:
/// `kvq-cpu-pipeline` and `kvq-nvvm-pipeline`.
void registerKVQPipelines();

} // namespace kvq
} // namespace mlir

#endif // KVQ_PIPELINES_PIPELINES_H
