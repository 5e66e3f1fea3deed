//===- Passes.td - kvq conversion passes -------------------*- tablegen -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_CONVERSION_PASSES_TD
#define KVQ_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// KVQToGPU
//===----------------------------------------------------------------------===//

def KVQGPUAttention : Pass<"kvq-gpu-attention", "ModuleOp"> {
  let summary = "Lower kvq.attention to tensor-core kernels for NVIDIA GPUs";
  let description = [{
    Rewrites every `kvq.attention` into `gpu.launch` kernels (flash
    attention on warp-level tensor cores), to be outlined and lowered by
    `kvq-nvvm-pipeline`. The schedule:

    * rows: as on the CPU, row `r` of a KV head is query position `r / g`,
      head `r % g` (`g = Hq / Hkv`), so the heads sharing a K/V head share
      every K/V read. Each warp owns a tile of 16 rows; a CTA has `warps`
      warps (0: one for decode, where a KV head has at most 16 rows, else
      4). Grid: (row tiles / warps, batch x KV heads, splits).
    * keys: blocks of `block-kv` keys (a multiple of 16, reduced until the
      double buffers fit `shared-memory` bytes) are copied to shared memory
      with `cp.async` (`nvgpu.device_async_copy`, 16-byte copies bypassing
      L1 when rows allow), double buffered: block i + 1 is in flight while
      block i is computed. Quantized K / V are copied as codes (i4 / i2 as
      packed bytes) and decoded in registers, element by element, into the
      f16 mma fragments; no dequantized K / V exists anywhere.
    * math: S = Q K^T and O += P V on `nvgpu.mma.sync` m16n8k16 (f16
      operands, f32 accumulators); Q is pre-scaled by the softmax scale
      times log2(e) so the online softmax uses `exp2` (`ex2.approx`); row
      maxima and sums are reduced across the 4 lanes of a quad with
      shuffles; P goes from the S accumulators to the A operand of P V
      without leaving registers.
    * split-KV: `split-kv` partitions of the key range (0: enough CTAs to
      reach `target-ctas`, at most 64), each writing a partial output and
      its log-sum-exp to device scratch (`gpu.alloc`), merged by a second
      kernel. `split-kv=1` writes the output directly.
    * bottom-right causal masking bounds each CTA's key range; additive
      masks are read per score; fully masked rows output 0.

    `chip` names the GPU architecture (docs/GPU.md lists the known ones);
    the target facts the kernels depend on come from it. Operands must be
    device memory; the result buffer is a `memref.alloc` that
    `buffer-results-to-out-params` turns into the caller's out-parameter. `kvq.quantize` / `kvq.dequantize` left unfused
    are rejected with an error.
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_80\"",
           "GPU architecture the kernels are built for (sm_80, sm_86, "
           "sm_89, sm_90, sm_90a)">,
    Option<"blockKV", "block-kv", "int64_t", /*default=*/"64",
           "Keys per block staged in shared memory (multiple of 16)">,
    Option<"warps", "warps", "int64_t", /*default=*/"0",
           "Warps (16-row tiles) per CTA; 0 picks 1 for decode, else 4">,
    Option<"splitKV", "split-kv", "int64_t", /*default=*/"0",
           "Partitions of the key range; 0 picks one per CTA target">,
    Option<"targetCTAs", "target-ctas", "int64_t", /*default=*/"264",
           "CTAs the automatic split-kv aims for (2 per H100 SM)">,
    Option<"sharedMemory", "shared-memory", "int64_t", /*default=*/"0",
           "Bytes of dynamic shared memory the K/V buffers may use; 0: "
           "49152">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect"
  ];
}

#endif // KVQ_CONVERSION_PASSES_TD
