//===- AttentionSchedule.cpp - Attach the kernel schedule -----------------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// kvq-attention-schedule: the one place where an attention's schedule is
// chosen (see the pass description in Passes.td).
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/Transforms/AttentionSchedule.h"
#include "kvq/Dialect/KVQ/Transforms/Passes.h"

namespace mlir {
namespace kvq {
#define GEN_PASS_DEF_KVQATTENTIONSCHEDULE
#include "kvq/Dialect/KVQ/Transforms/Passes.h.inc"
} // namespace kvq
} // namespace mlir

using namespace mlir;
using namespace mlir::kvq;

FailureOr<AttentionSchedule>
mlir::kvq::selectAttentionSchedule(AttentionOp op, ScheduleTarget target,
                                   const AttentionScheduleOverrides &overrides,
                                   ScheduleAttr start) {
  auto emitError = [&] { return op.emitOpError(); };
  if (failed(overrides.verify(target, emitError)))
    return failure();
  bool given = static_cast<bool>(start);
  if (!given)
    start = op->getAttrOfType<ScheduleAttr>(kKernelScheduleAttrName);
  AttentionSchedule schedule;
  if (start) {
    schedule = start.getValue();
    if (schedule.target != ScheduleTarget::Any && schedule.target != target)
      return op.emitOpError()
             << (given ? "is given" : "carries") << " a schedule for the "
             << stringifyScheduleTarget(schedule.target)
             << " kernels, lowered for the " << stringifyScheduleTarget(target)
             << " kernels";
  }
  schedule.target = target;
  overrides.applyTo(schedule);
  if (failed(schedule.verify(emitError)))
    return failure();
  return schedule;
}

namespace {
struct KVQAttentionSchedulePass
    : kvq::impl::KVQAttentionScheduleBase<KVQAttentionSchedulePass> {
  using Base::Base;
  KVQAttentionSchedulePass() = default;
  KVQAttentionSchedulePass(const KVQAttentionSchedulePass &other)
      : Base(other) {}
  KVQAttentionSchedulePass(ScheduleTarget scheduleTarget,
                           const AttentionScheduleOverrides &overrides) {
    target = stringifyScheduleTarget(scheduleTarget).str();
    setScheduleOverrides(overrides);
  }

#define KVQ_SCHEDULE_OPTIONS_CPU 1
#define KVQ_SCHEDULE_OPTIONS_GPU 1
#include "kvq/Dialect/KVQ/IR/AttentionScheduleOptions.inc"

  void runOnOperation() override {
    std::optional<ScheduleTarget> scheduleTarget =
        symbolizeScheduleTarget(target);
    if (!scheduleTarget || *scheduleTarget == ScheduleTarget::Any) {
      emitError(getOperation().getLoc())
          << "kvq-attention-schedule: target must be cpu or gpu, not '"
          << target << "'";
      return signalPassFailure();
    }
    AttentionScheduleOverrides overrides = getScheduleOverrides();
    if (failed(overrides.verify(*scheduleTarget, [&] {
          return emitError(getOperation().getLoc())
                 << "kvq-attention-schedule: ";
        })))
      return signalPassFailure();
    WalkResult result = getOperation().walk([&](AttentionOp op) {
      FailureOr<AttentionSchedule> schedule =
          selectAttentionSchedule(op, *scheduleTarget, overrides);
      if (failed(schedule))
        return WalkResult::interrupt();
      op->setAttr(kKernelScheduleAttrName,
                  ScheduleAttr::get(op.getContext(), *schedule));
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace

std::unique_ptr<Pass> mlir::kvq::createKVQAttentionSchedulePass(
    ScheduleTarget target, const AttentionScheduleOverrides &overrides) {
  return std::make_unique<KVQAttentionSchedulePass>(target, overrides);
}
