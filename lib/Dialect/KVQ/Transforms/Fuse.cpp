//===- Fuse.cpp - Fuse dequantization into attention ------------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Dialect/KVQ/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace kvq {
#define GEN_PASS_DEF_KVQFUSE
#include "kvq/Dialect/KVQ/Transforms/Passes.h.inc"
} // namespace kvq
} // namespace mlir

using namespace mlir;
using namespace mlir::kvq;

namespace {
/// attention(dequantize(codes, scale[, zp]) as K or V)
///   -> attention(codes, scheme, scale[, zp])
struct FuseDequantizeIntoAttention : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    auto keyDq = op.isKeyQuantized()
                     ? DequantizeOp()
                     : op.getKey().getDefiningOp<DequantizeOp>();
    auto valueDq = op.isValueQuantized()
                       ? DequantizeOp()
                       : op.getValue().getDefiningOp<DequantizeOp>();
    if (!keyDq && !valueDq)
      return rewriter.notifyMatchFailure(op, "no dequantized K or V operand");

    rewriter.modifyOpInPlace(op, [&]() {
      if (keyDq) {
        op.getKeyMutable().assign(keyDq.getCodes());
        op.getKeyScaleMutable().assign(keyDq.getScale());
        if (Value zp = keyDq.getZeroPoint())
          op.getKeyZeroPointMutable().assign(zp);
        op.setKeySchemeAttr(keyDq.getScheme());
      }
      if (valueDq) {
        op.getValueMutable().assign(valueDq.getCodes());
        op.getValueScaleMutable().assign(valueDq.getScale());
        if (Value zp = valueDq.getZeroPoint())
          op.getValueZeroPointMutable().assign(zp);
        op.setValueSchemeAttr(valueDq.getScheme());
      }
    });
    return success();
  }
};

struct KVQFusePass : kvq::impl::KVQFuseBase<KVQFusePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFuseDequantizePatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

void mlir::kvq::populateFuseDequantizePatterns(RewritePatternSet &patterns) {
  patterns.add<FuseDequantizeIntoAttention>(patterns.getContext());
}
