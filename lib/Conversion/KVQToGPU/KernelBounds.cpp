//===- KernelBounds.cpp - Register budgets onto outlined kernels ----------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

namespace mlir {
namespace kvq {
#define GEN_PASS_DEF_KVQGPUKERNELBOUNDS
#include "kvq/Conversion/Passes.h.inc"
} // namespace kvq
} // namespace mlir

using namespace mlir;

namespace {
struct KVQGPUKernelBoundsPass
    : kvq::impl::KVQGPUKernelBoundsBase<KVQGPUKernelBoundsPass> {
  void runOnOperation() override {
    constexpr StringLiteral marker = "kvq.kernel_bounds";
    getOperation().walk([&](gpu::GPUFuncOp func) {
      std::optional<int64_t> maxRegisters;
      func.walk([&](Operation *nested) {
        auto bounds = nested->getAttrOfType<DictionaryAttr>(marker);
        if (!bounds)
          return;
        if (auto regs = bounds.getAs<IntegerAttr>("max_registers")) {
          int64_t value = regs.getInt();
          maxRegisters = maxRegisters ? std::min(*maxRegisters, value) : value;
        }
        nested->removeAttr(marker);
      });
      if (maxRegisters)
        func->setAttr(NVVM::NVVMDialect::getMaxnregAttrName(),
                      IntegerAttr::get(IntegerType::get(&getContext(), 32),
                                       *maxRegisters));
    });
  }
};
} // namespace
