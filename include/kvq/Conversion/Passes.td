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
  let summary = "Lower kvq.attention to GPU kernels for NVIDIA GPUs";
  let description = [{
    Rewrites every `kvq.attention` into `gpu.launch` kernels, to be
    outlined and lowered by `kvq-nvvm-pipeline`. Two kernel strategies,
    picked per op by `kernel` (`auto`: decode when the op is decode-shaped,
    prefill otherwise):

    **decode** (a KV head has at most 8 query rows `g * Sq`, `g = Hq /
    Hkv`, static; head dimensions at most 128; no quantized queries):
    flash decoding. Each CTA takes one (batch, KV head) and one split of the
    keys; its `warps` warps each stream their own 16-key tiles through a
    ring of `cp.async` stages in shared memory (16-byte copies, several
    stages in flight), decode K / V codes in registers (`lop3` / `prmt`
    magic-number conversions for i4 / i2 / i8, the hardware FP8 `cvt` from
    sm_89, scales once per group) into tensor-core fragments with the keys
    as the 16 rows and the query rows as the 8 columns of
    `mma.sync.m16n8k16` (S^T = K Q^T, O^T += V^T P^T), and merge their
    partial softmax states through shared memory. The split count fills
    the chip (SM count from `chip`); a second kernel merges the splits. K /
    V produced by `KVDecoderOpInterface` ops, and layouts the register
    decoders do not cover, are decoded into f16 shared-memory tiles first.
    The launch carries the cost model's plan as `kvq.decode_plan`; the
    kernel is compiled for 128 registers per thread.

    **prefill**: flash attention on warp-level tensor cores:

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
      masks are read per score; fully masked rows output 0, rows whose
      softmax sum is NaN (NaN / inf in a key they see) stay NaN.
    * f16 overflow: unless Q, K and V are f16 arrays (and the scale at
      most 1), a CTA whose f16 pass ends with a non-finite row maximum,
      sum or accumulator (an operand beyond f16's range, or NaN / inf in
      the data) runs its key blocks again with bf16 operands
      (`nvvm.mma.sync` bf16), decided CTA-wide with `bar.red.or`.
    * shared memory: every chunk of a staged block has one writer thread;
      blocks are read after a wait and a barrier, and overwritten only
      after the barrier that ends their reads.

    Target facts (SM count, shared memory, registers, which MMA, copy and
    conversion instructions exist) come from the `chip` (docs/GPU.md lists
    the known chips). Operands must be device memory; the result buffer is
    a `memref.alloc` that `buffer-results-to-out-params` turns into the
    caller's out-parameter. `kvq.quantize` / `kvq.dequantize` left unfused
    are rejected with an error.
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_80\"",
           "GPU architecture the kernels are built for (sm_80, sm_86, "
           "sm_89, sm_90, sm_90a)">,
    Option<"kernel", "kernel", "std::string", /*default=*/"\"auto\"",
           "Kernel strategy: auto (decode for decode-shaped ops, else "
           "prefill), decode or prefill">,
    Option<"blockKV", "block-kv", "int64_t", /*default=*/"64",
           "Keys per shared-memory block of the prefill kernel (a multiple "
           "of 16)">,
    Option<"warps", "warps", "int64_t", /*default=*/"0",
           "Warps per CTA: 16-row tiles (prefill) or key streams (decode); "
           "0 picks them">,
    Option<"splitKV", "split-kv", "int64_t", /*default=*/"0",
           "Partitions of the key range; 0 picks them">,
    Option<"targetCTAs", "target-ctas", "int64_t", /*default=*/"264",
           "CTAs the automatic split-kv of the prefill kernel aims for "
           "(2 per H100 SM)">,
    Option<"sharedMemory", "shared-memory", "int64_t", /*default=*/"0",
           "Bytes of dynamic shared memory the K/V buffers may use; 0: "
           "49152 (prefill) or the cost model's choice within the chip's "
           "limit (decode)">,
    Option<"stages", "stages", "int64_t", /*default=*/"0",
           "cp.async stages per warp of the decode kernel (2-8); 0: the "
           "cost model's choice">
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

def KVQGPUFoldCopyCasts : Pass<"kvq-gpu-fold-copy-casts"> {
  let summary = "Fold memref.cast into the async copies that read through it";
  let description = [{
    The GPU kernels read K / V through buffers with a fully dynamic strided
    layout (so that any buffer bufferization picks can be cast to it);
    after bufferization most are `memref.cast`s of dense function
    arguments. Canonicalization folds such casts into loads and stores but
    not into `nvgpu.device_async_copy`, whose copies then compute every
    address from dynamic strides. This pass folds a cast into the copies
    that read from (or write to) it when the cast's source is at least as
    static, as canonicalization does for loads: the copies see the dense
    layout and its constant row stride.
  }];
  let dependentDialects = ["::mlir::nvgpu::NVGPUDialect"];
}

def KVQGPUKernelBounds : Pass<"kvq-gpu-kernel-bounds",
                              "::mlir::gpu::GPUModuleOp"> {
  let summary = "Compile outlined kernels for the register budget their schedule assumed";
  let description = [{
    The decode kernel of `kvq-gpu-attention` is scheduled (its occupancy,
    and so the bytes it keeps in flight) for a register budget per thread;
    its body records it as a `kvq.kernel_bounds = {max_registers = N, ...}`
    attribute on an op inside the launch. After kernel outlining, this pass
    moves the budget onto the `gpu.func` as `nvvm.maxnreg` (ptxas's
    `.maxnreg`) and drops the marker, so that ptxas allocates at most that
    many registers (spilling if it must, which the resource checks report).
  }];
}

#endif // KVQ_CONVERSION_PASSES_TD
