//===- KVQToGPU.h - kvq.attention as NVIDIA GPU kernels ---------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// The kernel strategies of kvq-gpu-attention, one per kernel family:
//
// * prefill (PrefillAttention.cpp): flash attention on tensor cores, 16
//   query rows per warp; any kvq.attention;
// * decode (DecodeAttention.cpp): flash decoding for ops whose KV heads
//   have few query rows: warps streaming key tiles through cp.async
//   stages, codes decoded in registers, split-KV sized to the chip.
//
// lowerAttentionForGPU (AttentionLowering.h) picks one per op.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_CONVERSION_KVQTOGPU_KVQTOGPU_H
#define KVQ_CONVERSION_KVQTOGPU_KVQTOGPU_H

#include "kvq/Conversion/KVQToGPU/TargetInfo.h"
#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Conversion/AttentionLowering.h"

#include "mlir/IR/PatternMatch.h"

namespace mlir {
namespace kvq {

/// The most query rows (g * Sq) per KV head the decode kernel takes: the 8
/// columns of an m16n8k16 tile.
constexpr int64_t kMaxDecodeRows = 8;
/// The largest head dimension the decode kernel takes.
constexpr int64_t kMaxDecodeHeadDim = 128;

/// Whether the decode strategy can lower `op` on `target`; when not and
/// `reason` is given, says why.
bool isDecodeAttention(AttentionOp op, const NVIDIATargetInfo &target,
                       std::string *reason = nullptr);

/// Whether an operand of `op` can leave f16's range inside the decode
/// kernel: Q or K / V that are not plain f16 arrays (f32 or bf16 data,
/// quantization scales, decoders), or a softmax scale (times log2 e) above
/// 1. Only then does the decode kernel check for an f16 overflow and hold
/// the bf16 recomputation of a CTA that saw one.
bool decodeOperandsMayOverflowF16(AttentionOp op);

/// Patterns that rewrite the NVVM ops of GPU kernels in the LLVM dialect
/// (after convert-gpu-to-nvvm) into calls of the GPU emulator runtime and
/// route shared-memory accesses through its checks (kvq-emulate-gpu-kernels).
void populateNVVMToGPUEmulatorPatterns(RewritePatternSet &patterns);

/// Replaces `op` by the prefill (flash-attention) kernels.
LogicalResult
lowerAttentionWithPrefillKernel(RewriterBase &rewriter, AttentionOp op,
                                const GPUAttentionSchedule &schedule);

/// Replaces `op` (isDecodeAttention) by the decode kernels for `target`.
LogicalResult
lowerAttentionWithDecodeKernel(RewriterBase &rewriter, AttentionOp op,
                               const GPUAttentionSchedule &schedule,
                               const NVIDIATargetInfo &target);

} // namespace kvq
} // namespace mlir

#endif // KVQ_CONVERSION_KVQTOGPU_KVQTOGPU_H
