//===- AttentionSchedule.h - The schedule of attention kernels -*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// The schedule of the attention kernels as a value: the knobs of
// AttentionSchedule.def, the target they are meant for, and the rules that
// make them valid. `#kvq.schedule<...>` (ScheduleAttr) carries one in the
// IR, on a kvq.attention (`kvq.kernel_schedule`, set by
// kvq-attention-schedule or a transform script) and on the kernels a
// lowering built (the schedule it used, after the target's rounding).
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_IR_ATTENTIONSCHEDULE_H
#define KVQ_DIALECT_KVQ_IR_ATTENTIONSCHEDULE_H

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/Hashing.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>

namespace mlir {
namespace kvq {

/// The kernels a schedule is meant for. `Any` (a schedule written by hand
/// or by a transform script) accepts every knob; `CPU` and `GPU` only their
/// own (AttentionSchedule.def) and the target's ranges.
enum class ScheduleTarget : uint8_t { Any, CPU, GPU };

/// `cpu`, `gpu` or `any`.
llvm::StringRef stringifyScheduleTarget(ScheduleTarget target);
std::optional<ScheduleTarget> symbolizeScheduleTarget(llvm::StringRef name);

/// The knobs of the attention kernels, with their defaults
/// (AttentionSchedule.def lists them).
struct AttentionSchedule {
  ScheduleTarget target = ScheduleTarget::Any;
#define KVQ_SCHEDULE_KNOB(Member, keyword, option, Default, description)       \
  int64_t Member = Default;
#include "kvq/Dialect/KVQ/IR/AttentionSchedule.def"

  bool operator==(const AttentionSchedule &other) const;
  bool operator!=(const AttentionSchedule &other) const {
    return !(*this == other);
  }

  /// Checks the knobs against their ranges and `target`'s: every knob
  /// non-negative, block-kv and block-rows positive, vector-width a power
  /// of two >= 4, warps at most 8, stages 0 or 2-8, target-ctas positive,
  /// shared-memory 0 or >= 1024; on the GPU block-kv >= 16; a CPU or GPU
  /// schedule sets no knob of the other target.
  LogicalResult
  verify(llvm::function_ref<InFlightDiagnostic()> emitError) const;
};

llvm::hash_code hash_value(const AttentionSchedule &schedule);

/// Knobs given explicitly (pass or pipeline options): each one set replaces
/// the schedule's value.
struct AttentionScheduleOverrides {
#define KVQ_SCHEDULE_KNOB(Member, keyword, option, Default, description)       \
  std::optional<int64_t> Member;
#include "kvq/Dialect/KVQ/IR/AttentionSchedule.def"

  /// Replaces the knobs of `schedule` that are set here.
  void applyTo(AttentionSchedule &schedule) const;
  /// Reports the first knob set here that `target` does not use, or a
  /// value out of `target`'s ranges.
  LogicalResult
  verify(ScheduleTarget target,
         llvm::function_ref<InFlightDiagnostic()> emitError) const;
};

/// One knob of AttentionSchedule.def.
struct ScheduleKnob {
  /// Keyword in `#kvq.schedule<...>` (`block_kv`).
  llvm::StringLiteral keyword;
  /// Option name of the passes and pipelines (`block-kv`).
  llvm::StringLiteral option;
  int64_t AttentionSchedule::*member;
  std::optional<int64_t> AttentionScheduleOverrides::*override;
  int64_t defaultValue;
  /// The target that uses it; Any: both.
  ScheduleTarget target;

  /// True when the kernels of `t` read this knob.
  bool appliesTo(ScheduleTarget t) const {
    return target == ScheduleTarget::Any || t == ScheduleTarget::Any ||
           t == target;
  }
};

/// Every knob, in the order of AttentionSchedule.def.
llvm::ArrayRef<ScheduleKnob> getScheduleKnobs();

} // namespace kvq
} // namespace mlir

#endif // KVQ_DIALECT_KVQ_IR_ATTENTIONSCHEDULE_H
