//===- KVQToGPU.h - kvq.attention as NVIDIA GPU kernels ---------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// The kernel strategies of kvq-gpu-attention, one file per kernel family
// in lib/Conversion/KVQToGPU; lowerAttentionForGPU (AttentionLowering.h)
// picks one per op:
//
// * prefill (PrefillAttention.cpp): flash attention on tensor cores, 16
//   query rows per warp; any kvq.attention.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_CONVERSION_KVQTOGPU_KVQTOGPU_H
#define KVQ_CONVERSION_KVQTOGPU_KVQTOGPU_H

#include "kvq/Conversion/KVQToGPU/TargetInfo.h"
#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Dialect/KVQ/Transforms/AttentionLowering.h"

#include "mlir/IR/PatternMatch.h"

namespace mlir {
namespace kvq {

/// Replaces `op` by the prefill (flash-attention) kernels.
LogicalResult
lowerAttentionWithPrefillKernel(RewriterBase &rewriter, AttentionOp op,
                                const GPUAttentionSchedule &schedule);

} // namespace kvq
} // namespace mlir

#endif // KVQ_CONVERSION_KVQTOGPU_KVQTOGPU_H
