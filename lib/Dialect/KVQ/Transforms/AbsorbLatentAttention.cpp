//===- AbsorbLatentAttention.cpp - MLA with absorbed projections ----------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// kvq.latent_attention -> kvq.project (queries into the latent space),
// kvq.attention of every head over the cache as one shared K/V head, and
// kvq.reconstruct (the value up-projection of the output): no per-head key
// or value is ever formed, and each cache token is read once for all heads.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Dialect/KVQ/Transforms/Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace mlir {
namespace kvq {
#define GEN_PASS_DEF_KVQABSORBLATENTATTENTION
#include "kvq/Dialect/KVQ/Transforms/Passes.h.inc"
} // namespace kvq
} // namespace mlir

using namespace mlir;
using namespace mlir::kvq;

namespace {
struct AbsorbLatentAttention : OpRewritePattern<LatentAttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(LatentAttentionOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    double scale = op.getEffectiveScale();
    if (std::isnan(scale))
      return rewriter.notifyMatchFailure(
          op, "the default scale of dynamic head dims is unknown");
    RankedTensorType qType = op.getQuery().getType();
    RankedTensorType ropeType = op.getQueryRope().getType();
    RankedTensorType cacheType = op.getCache().getType();
    int64_t dc = op.getLatentDim();
    int64_t dr = ropeType.getDimSize(3);
    if (ShapedType::isDynamic(dr))
      return rewriter.notifyMatchFailure(op, "dynamic rotary dim");
    Type elementType = qType.getElementType();
    auto withLast = [&](RankedTensorType type, int64_t last, Type element) {
      SmallVector<int64_t> shape(type.getShape());
      shape.back() = last;
      return RankedTensorType::get(shape, element);
    };

    // q~ = q_nope W_UK, then [q~, q_rope] as the queries.
    auto latentQType = withLast(qType, dc, elementType);
    Value latentQ = ProjectOp::create(rewriter, loc, latentQType, op.getQuery(),
                                      op.getWUk(), Value());
    SmallVector<OpFoldResult> qSizes =
        tensor::getMixedSizes(rewriter, loc, op.getQuery());
    SmallVector<OpFoldResult> fullSizes(qSizes);
    fullSizes.back() = rewriter.getIndexAttr(dc + dr);
    Value queries =
        tensor::EmptyOp::create(rewriter, loc, fullSizes, elementType);
    SmallVector<OpFoldResult> zeros(4, rewriter.getIndexAttr(0));
    SmallVector<OpFoldResult> ones(4, rewriter.getIndexAttr(1));
    SmallVector<OpFoldResult> latentSizes(qSizes);
    latentSizes.back() = rewriter.getIndexAttr(dc);
    queries = tensor::InsertSliceOp::create(rewriter, loc, latentQ, queries,
                                            zeros, latentSizes, ones);
    SmallVector<OpFoldResult> ropeOffsets(zeros);
    ropeOffsets.back() = rewriter.getIndexAttr(dc);
    SmallVector<OpFoldResult> ropeSizes(qSizes);
    ropeSizes.back() = rewriter.getIndexAttr(dr);
    queries =
        tensor::InsertSliceOp::create(rewriter, loc, op.getQueryRope(), queries,
                                      ropeOffsets, ropeSizes, ones);

    // Keys: the whole cache rows [c, r]; values: the latent part c, a view
    // of the same cache.
    SmallVector<OpFoldResult> cacheSizes =
        tensor::getMixedSizes(rewriter, loc, op.getCache());
    cacheSizes.back() = rewriter.getIndexAttr(dc);
    Value values = tensor::ExtractSliceOp::create(
        rewriter, loc, withLast(cacheType, dc, cacheType.getElementType()),
        op.getCache(), zeros, cacheSizes, ones);
    auto attention = AttentionOp::create(
        rewriter, loc, latentQType, queries, op.getCache(), values, Value(),
        Value(), Value(), Value(), Value(), QuantSchemeAttr(),
        QuantSchemeAttr(), rewriter.getF32FloatAttr(scale), op.getCausalAttr());

    // out = W_UV o~.
    rewriter.replaceOpWithNewOp<ReconstructOp>(op, op.getResult().getType(),
                                               attention.getResult(),
                                               op.getWUv(), Value());
    return success();
  }
};

struct KVQAbsorbLatentAttentionPass
    : kvq::impl::KVQAbsorbLatentAttentionBase<KVQAbsorbLatentAttentionPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<AbsorbLatentAttention>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    WalkResult left = getOperation()->walk([](LatentAttentionOp op) {
      op.emitOpError() << "could not be absorbed: it needs static rotary and "
                          "head dims (for the default scale) ";
      return WalkResult::interrupt();
    });
    if (left.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
