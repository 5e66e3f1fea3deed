//===- FoldCopyCasts.cpp - memref.cast into nvgpu.device_async_copy -------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Conversion/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace kvq {
#define GEN_PASS_DEF_KVQGPUFOLDCOPYCASTS
#include "kvq/Conversion/Passes.h.inc"
} // namespace kvq
} // namespace mlir

using namespace mlir;

namespace {
/// nvgpu.device_async_copy from / to a foldable memref.cast reads / writes
/// the cast's source instead.
struct FoldCastIntoAsyncCopy : OpRewritePattern<nvgpu::DeviceAsyncCopyOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(nvgpu::DeviceAsyncCopyOp copy,
                                PatternRewriter &rewriter) const override {
    SmallVector<std::pair<OpOperand *, Value>> folds;
    for (OpOperand *operand : {&copy.getSrcMutable(), &copy.getDstMutable()})
      if (auto cast = operand->get().getDefiningOp<memref::CastOp>();
          cast && memref::CastOp::canFoldIntoConsumerOp(cast))
        folds.push_back({operand, cast.getSource()});
    if (folds.empty())
      return failure();
    rewriter.modifyOpInPlace(copy, [&] {
      for (auto [operand, source] : folds)
        operand->set(source);
    });
    return success();
  }
};

struct KVQGPUFoldCopyCastsPass
    : kvq::impl::KVQGPUFoldCopyCastsBase<KVQGPUFoldCopyCastsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldCastIntoAsyncCopy>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
