//===- EmulateNarrowTypes.cpp - Pack i4 / i2 buffers into bytes -*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Conversion/Passes.h"

#include "mlir/Dialect/Arith/Transforms/NarrowTypeEmulationConverter.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir {
namespace kvq {
#define GEN_PASS_DEF_KVQEMULATENARROWTYPES
#include "kvq/Conversion/Passes.h.inc"
} // namespace kvq
} // namespace mlir

using namespace mlir;

namespace {
struct KVQEmulateNarrowTypesPass
    : kvq::impl::KVQEmulateNarrowTypesBase<KVQEmulateNarrowTypesPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    // Memory is addressed in bytes; arithmetic on narrow values stays as it
    // is (the lowerings widen codes right after loading them).
    arith::NarrowTypeEmulationConverter typeConverter(8);
    memref::populateMemRefNarrowTypeEmulationConversions(typeConverter);

    ConversionTarget target(*ctx);
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp op) {
      return typeConverter.isLegal(op.getFunctionType());
    });
    auto isLegal = [&](Operation *op) { return typeConverter.isLegal(op); };
    target.addDynamicallyLegalOp<func::CallOp, func::ReturnOp>(isLegal);
    target.addDynamicallyLegalDialect<
        arith::ArithDialect, vector::VectorDialect, memref::MemRefDialect,
        affine::AffineDialect>(isLegal);

    RewritePatternSet patterns(ctx);
    arith::populateArithNarrowTypeEmulationPatterns(typeConverter, patterns);
    memref::populateMemRefNarrowTypeEmulationPatterns(typeConverter, patterns);
    // The vector patterns need rank-1 memrefs: flatten, then emulate.
    vector::populateVectorNarrowTypeEmulationPatterns(typeConverter, patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
