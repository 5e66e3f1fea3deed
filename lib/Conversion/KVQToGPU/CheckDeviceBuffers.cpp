//===- CheckDeviceBuffers.cpp - GPU kernels only see device memory --------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// After bufferization, every buffer a gpu.launch captures must be device
// memory: a function argument (the caller passes device pointers), a
// gpu.alloc, a workgroup attribution, or a view of one of those. A
// memref.alloc reaching a kernel would be host memory the GPU cannot read;
// this pass reports it with its location instead of letting the kernel
// fault at run time.
//
//===----------------------------------------------------------------------===//

#include "kvq/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mlir {
namespace kvq {
#define GEN_PASS_DEF_KVQCHECKDEVICEBUFFERS
#include "kvq/Conversion/Passes.h.inc"
} // namespace kvq
} // namespace mlir

using namespace mlir;

/// Whether `buffer` is known to live in device memory.
static bool isDeviceBuffer(Value buffer) {
  while (true) {
    if (isa<BlockArgument>(buffer))
      return true;
    Operation *def = buffer.getDefiningOp();
    if (isa<gpu::AllocOp>(def))
      return true;
    if (auto view = dyn_cast<ViewLikeOpInterface>(def)) {
      buffer = view.getViewSource();
      continue;
    }
    if (auto cast = dyn_cast<memref::CastOp>(def)) {
      buffer = cast.getSource();
      continue;
    }
    // A loop-carried buffer is the buffer it starts from (kvq-gpu-map-loops
    // leaves no host allocation inside loops to yield).
    if (auto loop = dyn_cast<scf::ForOp>(def)) {
      buffer = loop.getInitArgs()[cast<OpResult>(buffer).getResultNumber()];
      continue;
    }
    if (auto branch = dyn_cast<scf::IfOp>(def)) {
      unsigned i = cast<OpResult>(buffer).getResultNumber();
      return isDeviceBuffer(branch.thenYield().getOperand(i)) &&
             (branch.getElseRegion().empty() ||
              isDeviceBuffer(branch.elseYield().getOperand(i)));
    }
    return false;
  }
}

namespace {
struct KVQCheckDeviceBuffersPass
    : kvq::impl::KVQCheckDeviceBuffersBase<KVQCheckDeviceBuffersPass> {
  void runOnOperation() override {
    bool failed = false;
    getOperation().walk([&](gpu::LaunchOp launch) {
      llvm::SetVector<Value> captured;
      launch.getBody().walk([&](Operation *nested) {
        for (Value operand : nested->getOperands())
          if (isa<BaseMemRefType>(operand.getType()) &&
              !launch.getBody().isAncestor(operand.getParentRegion()))
            captured.insert(operand);
      });
      for (Value buffer : captured) {
        if (isDeviceBuffer(buffer))
          continue;
        InFlightDiagnostic diag =
            launch.emitError()
            << "GPU kernel reads or writes a buffer that is not device "
               "memory (not a function argument or gpu.alloc)";
        Diagnostic &note = diag.attachNote(buffer.getLoc());
        note << "buffer defined here";
        if (Operation *def = buffer.getDefiningOp())
          note << " by " << def->getName();
        failed = true;
      }
    });
    if (failed)
      signalPassFailure();
  }
};
} // namespace
