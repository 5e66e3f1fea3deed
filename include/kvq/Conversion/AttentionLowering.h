//===- AttentionLowering.h - Lowering one kvq.attention ---------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// The two kernels of kvq.attention as functions on one op, with the
// schedule as a parameter: kvq-tile-attention / kvq-gpu-attention apply
// them to every attention with the pass options, the transform ops
// transform.kvq.tile_attention / transform.kvq.gpu_attention to the ops a
// transform script selects, each with its own schedule.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_CONVERSION_ATTENTIONLOWERING_H
#define KVQ_CONVERSION_ATTENTIONLOWERING_H

#include "kvq/Dialect/KVQ/IR/KVQOps.h"

#include "mlir/IR/PatternMatch.h"

#include <optional>
#include <string>

namespace mlir {
namespace kvq {

/// The CPU kernel's schedule (docs/CPU.md).
struct CPUAttentionSchedule {
  /// Keys per block of the online softmax.
  int64_t blockKV = 64;
  /// Query rows (GQA group rows) per register tile.
  int64_t blockRows = 4;
  /// Key-range partitions, run in parallel and combined by their
  /// log-sum-exp; 0: automatic (decode-like shapes get enough partitions
  /// for 32 work items, each of at least 4 key blocks).
  int64_t splitKV = 0;
  /// f32 lanes per vector (a power of two >= 4).
  int64_t vectorWidth = 16;

  /// Reports an invalid schedule at `loc`.
  LogicalResult verify(Location loc) const;
};

/// Which GPU kernel strategy lowers a kvq.attention.
enum class GPUKernelStrategy {
  /// Decode for decode-shaped ops (see isDecodeAttention), else prefill.
  Auto,
  /// The flash-decoding kernel (an error when the op does not fit it).
  Decode,
  /// The flash-attention kernel (any op).
  Prefill,
};

/// The GPU kernels' schedule (docs/GPU.md).
struct GPUAttentionSchedule {
  /// Keys per shared-memory block (prefill) or pipeline stage (decode); a
  /// multiple of 16.
  int64_t blockKV = 64;
  /// Warps per CTA, 1-8: 16-row tiles (prefill) or key streams (decode);
  /// 0: automatic.
  int64_t warps = 0;
  /// Key-range partitions; 0: automatic.
  int64_t splitKV = 0;
  /// CTAs the automatic split of the prefill kernel aims for.
  int64_t targetCTAs = 264;
  /// Bytes of dynamic shared memory for the K / V buffers; 0: automatic
  /// (49152 for prefill, the cost model's choice for decode).
  int64_t sharedMemory = 0;
  /// The GPU architecture (see NVIDIATargetInfo).
  std::string chip = "sm_80";
  GPUKernelStrategy kernel = GPUKernelStrategy::Auto;
  /// cp.async stages per warp of the decode kernel (2-8); 0: automatic.
  int64_t stages = 0;

  LogicalResult verify(Location loc) const;
  /// Parses `auto`, `decode` or `prefill`.
  static std::optional<GPUKernelStrategy> parseKernel(StringRef name);
};

/// Replaces `op` by the CPU flash-attention loop nest (tensors, vectors)
/// with `schedule`; its K / V decoders are read inside the loops. Emits an
/// error at the op and fails if the op cannot be lowered so.
LogicalResult lowerAttentionForCPU(RewriterBase &rewriter, AttentionOp op,
                                   const CPUAttentionSchedule &schedule);

/// Replaces `op` by gpu.launch kernels with `schedule`: the decode or the
/// prefill strategy (lib/Conversion/KVQToGPU). Emits an error at the op and
/// fails if the op cannot be lowered so.
LogicalResult lowerAttentionForGPU(RewriterBase &rewriter, AttentionOp op,
                                   const GPUAttentionSchedule &schedule);

} // namespace kvq
} // namespace mlir

#endif // KVQ_CONVERSION_ATTENTIONLOWERING_H
