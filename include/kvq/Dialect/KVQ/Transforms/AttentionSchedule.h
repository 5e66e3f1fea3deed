//===- AttentionSchedule.h - Choosing an attention's schedule ---*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// How the schedule of one kvq.attention is chosen, shared by
// kvq-attention-schedule and the lowerings that read it.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_TRANSFORMS_ATTENTIONSCHEDULE_H
#define KVQ_DIALECT_KVQ_TRANSFORMS_ATTENTIONSCHEDULE_H

#include "kvq/Dialect/KVQ/IR/KVQAttrs.h"
#include "kvq/Dialect/KVQ/IR/KVQOps.h"

#include "mlir/Pass/Pass.h"

#include <memory>

namespace mlir {
namespace kvq {

/// The name of the discardable attribute that carries an attention's
/// schedule (and, on the loops and launches of a lowering, the schedule it
/// used).
inline constexpr llvm::StringLiteral kKernelScheduleAttrName =
    "kvq.kernel_schedule";

/// The schedule of `op` for the kernels of `target`: `start` (a transform
/// op's schedule) if given, else the schedule `op` carries
/// (`kvq.kernel_schedule`) or the defaults, with the knobs of `overrides`
/// replaced and the target set. The starting schedule must have no target
/// or `target`. Emits an error at `op` when it has another target, an
/// override does not apply to `target` or the result is out of range.
FailureOr<AttentionSchedule>
selectAttentionSchedule(AttentionOp op, ScheduleTarget target,
                        const AttentionScheduleOverrides &overrides = {},
                        ScheduleAttr start = {});

/// kvq-attention-schedule for `target` with the knobs of `overrides`.
std::unique_ptr<Pass>
createKVQAttentionSchedulePass(ScheduleTarget target,
                               const AttentionScheduleOverrides &overrides);

} // namespace kvq
} // namespace mlir

#endif // KVQ_DIALECT_KVQ_TRANSFORMS_ATTENTIONSCHEDULE_H
