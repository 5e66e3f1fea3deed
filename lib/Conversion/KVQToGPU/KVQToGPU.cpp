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
#include "kvq/Dialect/KVQ/Transforms/AttentionSchedule.h"

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
  if (failed(AttentionSchedule::verify(
          [&] { return emitError(loc) << "kvq-gpu-attention: "; })))
    return failure();
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
  // The tensor-core kernels multiply P in f16 (bf16 only after an f16
  // overflow), so they cannot honour probabilities rounded to bf16.
  if (std::optional<Type> pType = op.getPType(); pType && pType->isBF16())
    return op.emitOpError() << "kvq-gpu-attention: p_type = bf16 is not "
                               "supported by the GPU kernels (f8E4M3FN and "
                               "f16 are)";
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
  // Target rule: the prefill kernel's K / V buffers default to 48 KiB of
  // dynamic shared memory (what every chip grants without opting in).
  GPUAttentionSchedule prefill = schedule;
  if (prefill.sharedMemory == 0)
    prefill.sharedMemory = 49152;
  return lowerAttentionWithPrefillKernel(rewriter, op, prefill);
}

namespace {
struct KVQGPUAttentionPass
    : kvq::impl::KVQGPUAttentionBase<KVQGPUAttentionPass> {
  using Base::Base;

  KVQGPUAttentionPass() = default;
  KVQGPUAttentionPass(const KVQGPUAttentionPass &other) : Base(other) {}

#define KVQ_SCHEDULE_OPTIONS_CPU 0
#define KVQ_SCHEDULE_OPTIONS_GPU 1
#include "kvq/Dialect/KVQ/IR/AttentionScheduleOptions.inc"

  void runOnOperation() override {
    std::optional<GPUKernelStrategy> strategy =
        GPUAttentionSchedule::parseKernel(kernel);
    if (!strategy) {
      emitError(getOperation().getLoc())
          << "kvq-gpu-attention: kernel must be auto, decode or prefill, not '"
          << kernel << "'";
      return signalPassFailure();
    }
    if (failed(NVIDIATargetInfo::get(chip, [&] {
          return emitError(getOperation().getLoc()) << "kvq-gpu-attention: ";
        })))
      return signalPassFailure();
    // Each op's schedule: the one kvq-attention-schedule (or a transform
    // script) attached, with the knobs given to this pass replaced.
    AttentionScheduleOverrides overrides = getScheduleOverrides();
    if (failed(overrides.verify(ScheduleTarget::GPU, [&] {
          return emitError(getOperation().getLoc()) << "kvq-gpu-attention: ";
        })))
      return signalPassFailure();
    // Other kvq ops stay: the pipeline lowers them to linalg and
    // kvq-gpu-map-loops makes plain kernels of them.
    SmallVector<AttentionOp> ops;
    getOperation().walk([&](AttentionOp op) { ops.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (AttentionOp op : ops) {
      FailureOr<AttentionSchedule> knobs =
          selectAttentionSchedule(op, ScheduleTarget::GPU, overrides);
      if (failed(knobs))
        return signalPassFailure();
      GPUAttentionSchedule schedule(*knobs, chip, *strategy);
      if (failed(lowerAttentionForGPU(rewriter, op, schedule)))
        return signalPassFailure();
    }
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
