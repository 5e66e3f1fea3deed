//===- OpenMPSchedule.cpp - Schedules of OpenMP worksharing loops ---------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"

namespace mlir {
namespace kvq {
#define GEN_PASS_DEF_KVQOPENMPSCHEDULE
#include "kvq/Conversion/Passes.h.inc"
} // namespace kvq
} // namespace mlir

using namespace mlir;

namespace {
struct KVQOpenMPSchedulePass
    : kvq::impl::KVQOpenMPScheduleBase<KVQOpenMPSchedulePass> {
  using Base::Base;

  void runOnOperation() override {
    std::optional<omp::ClauseScheduleKind> scheduleKind =
        llvm::StringSwitch<std::optional<omp::ClauseScheduleKind>>(kind)
            .Case("static", omp::ClauseScheduleKind::Static)
            .Case("dynamic", omp::ClauseScheduleKind::Dynamic)
            .Case("guided", omp::ClauseScheduleKind::Guided)
            .Default(std::nullopt);
    if (!scheduleKind || chunk < 0) {
      emitError(getOperation()->getLoc())
          << "kvq-openmp-schedule: kind must be static, dynamic or guided "
             "and chunk >= 0 (got '"
          << kind << "', " << chunk << ")";
      return signalPassFailure();
    }
    getOperation()->walk([&](omp::WsloopOp loop) {
      if (loop.getScheduleKind())
        return;
      loop.setScheduleKind(*scheduleKind);
      if (chunk > 0) {
        OpBuilder b(loop);
        loop.getScheduleChunkMutable().assign(arith::ConstantOp::create(
            b, loop.getLoc(), b.getI32IntegerAttr(chunk)));
      }
    });
  }
};
} // namespace
