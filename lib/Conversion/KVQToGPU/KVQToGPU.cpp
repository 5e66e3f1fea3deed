//===- KVQToGPU.cpp - kvq-gpu-attention: pick a kernel strategy -----------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// The kvq-gpu-attention pass and lowerAttentionForGPU: the target facts of
// the schedule's chip, then one kernel strategy per kvq.attention.
//
//===----------------------------------------------------------------------===//

#include "kvq/Conversion/KVQToGPU/KVQToGPU.h"
#include "kvq/Conversion/Passes.h"

#include "mlir/IR/Iterators.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir {
namespace kvq {
#define GEN_PASS_DEF_KVQGPUATTENTION
#include "kvq/Conversion/Passes.h.inc"
} // namespace kvq
} // namespace mlir

using namespace mlir;
using namespace mlir::kvq;

LogicalResult mlir::kvq::GPUAttentionSchedule::verify(Location loc) const {
  if (blockKV < 16 || warps < 0 || warps > 8 || splitKV < 0 || targetCTAs < 1 ||
      (sharedMemory != 0 && sharedMemory < 1024) || stages < 0 || stages == 1 ||
      stages > 8)
    return emitError(loc)
           << "kvq-gpu-attention: block-kv must be >= 16, warps in [0, 8] (0: "
              "auto), split-kv >= 0 (0: auto), target-ctas >= 1, "
              "shared-memory 0 (auto) or >= 1024 and stages 0 (auto) or in "
              "[2, 8]";
  return NVIDIATargetInfo::get(
      chip, [&] { return emitError(loc) << "kvq-gpu-attention: "; });
}

std::optional<GPUKernelStrategy>
mlir::kvq::GPUAttentionSchedule::parseKernel(StringRef name) {
  if (name == "auto")
    return GPUKernelStrategy::Auto;
  if (name == "decode")
    return GPUKernelStrategy::Decode;
  if (name == "prefill")
    return GPUKernelStrategy::Prefill;
  return std::nullopt;
}

LogicalResult
mlir::kvq::lowerAttentionForGPU(RewriterBase &rewriter, AttentionOp op,
                                const GPUAttentionSchedule &schedule) {
  if (failed(schedule.verify(op.getLoc())))
    return failure();
  NVIDIATargetInfo target = *NVIDIATargetInfo::lookup(schedule.chip);
  if (schedule.kernel != GPUKernelStrategy::Prefill) {
    std::string reason;
    if (isDecodeAttention(op, target, &reason))
      return lowerAttentionWithDecodeKernel(rewriter, op, schedule, target);
    if (schedule.kernel == GPUKernelStrategy::Decode)
      return op.emitOpError()
             << "kvq-gpu-attention: kernel=decode cannot lower this op: "
             << reason;
  }
  GPUAttentionSchedule prefill = schedule;
  if (prefill.sharedMemory == 0)
    prefill.sharedMemory = 49152;
  return lowerAttentionWithPrefillKernel(rewriter, op, prefill);
}

namespace {
struct KVQGPUAttentionPass
    : kvq::impl::KVQGPUAttentionBase<KVQGPUAttentionPass> {
  using Base::Base;

  void runOnOperation() override {
    GPUAttentionSchedule schedule{blockKV,    warps,        splitKV,
                                  targetCTAs, sharedMemory, chip};
    schedule.stages = stages;
    std::optional<GPUKernelStrategy> strategy =
        GPUAttentionSchedule::parseKernel(kernel);
    if (!strategy) {
      emitError(getOperation().getLoc())
          << "kvq-gpu-attention: kernel must be auto, decode or prefill, not '"
          << kernel << "'";
      return signalPassFailure();
    }
    schedule.kernel = *strategy;
    if (failed(schedule.verify(getOperation().getLoc())))
      return signalPassFailure();
    // Other kvq ops stay: the pipeline lowers them to linalg and
    // kvq-gpu-map-loops makes plain kernels of them.
    SmallVector<AttentionOp> ops;
    getOperation().walk([&](AttentionOp op) { ops.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (AttentionOp op : ops)
      if (failed(lowerAttentionForGPU(rewriter, op, schedule)))
        return signalPassFailure();
    // Unpacks of packed arguments and the decoders of K / V are dead once
    // the kernels read their operands.
    getOperation().walk<WalkOrder::PostOrder, ReverseIterator>(
        [&](Operation *nested) {
          if ((isa<UnpackOp, PackOp, KVDecoderOpInterface>(nested)) &&
              nested->use_empty() && isPure(nested))
            nested->erase();
        });
  }
};
} // namespace
