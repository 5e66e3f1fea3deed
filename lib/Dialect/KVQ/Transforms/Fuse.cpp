//===- Fuse.cpp - Fuse dequantization into attention ------------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Dialect/KVQ/Transforms/Passes.h"
#include "kvq/Dialect/KVQ/Transforms/VidKV.h"
#include "kvq/Dialect/KVQ/Utils/Random.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include "mlir/IR/PatternMatch.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include <cmath>

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
    // Queries fold only with a symmetric scheme (no zero point operand).
    auto queryDq = op.isQueryQuantized()
                       ? DequantizeOp()
                       : op.getQuery().getDefiningOp<DequantizeOp>();
    if (queryDq && (!queryDq.getScheme().getSymmetric() ||
                    queryDq.getResult().getType().getElementType() !=
                        op.getResult().getType().getElementType()))
      queryDq = DequantizeOp();
    if (!keyDq && !valueDq && !queryDq)
      return rewriter.notifyMatchFailure(op,
                                         "no dequantized Q, K or V operand");

    rewriter.modifyOpInPlace(op, [&]() {
      if (queryDq) {
        op.getQueryMutable().assign(queryDq.getCodes());
        op.getQueryScaleMutable().assign(queryDq.getScale());
        op.setQuerySchemeAttr(queryDq.getScheme());
      }
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

/// attention(q, reconstruct(k', U, mu), v)
///   -> attention(project(q, U), k', v) {scale = the original scale}
/// q . (U k' + mu) = (U^T q) . k' + q . mu, and q . mu is the same for every
/// key of a row, which softmax ignores: the keys stay low rank and the
/// queries are projected once. Query head h uses the basis of its KV head.
struct FuseReconstructedKey : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    auto rec = op.isKeyQuantized() || op.isQueryQuantized() || op.getDeltaS()
                   ? ReconstructOp()
                   : op.getKey().getDefiningOp<ReconstructOp>();
    if (!rec)
      return rewriter.notifyMatchFailure(op, "K is not reconstructed");
    double scale = op.getEffectiveScale();
    if (std::isnan(scale))
      return rewriter.notifyMatchFailure(
          op, "the default scale of a dynamic head dimension is unknown");
    RankedTensorType qType = op.getQuery().getType();
    int64_t rank = rec.getInput().getType().getDimSize(3);
    auto projectedType = RankedTensorType::get(
        {qType.getDimSize(0), qType.getDimSize(1), qType.getDimSize(2), rank},
        qType.getElementType());
    Value q = ProjectOp::create(rewriter, op.getLoc(), projectedType,
                                op.getQuery(), rec.getBasis(), Value());
    rewriter.modifyOpInPlace(op, [&]() {
      op.getQueryMutable().assign(q);
      op.getKeyMutable().assign(rec.getInput());
      op.setScaleAttr(rewriter.getF32FloatAttr(scale));
    });
    return success();
  }
};

/// attention(q, vidkv_decode_key(hc, hs, hm, lc, ls, ch), v)
///   -> attention(vidkv_project_query(q, ch),
///                vidkv_decode_key_slots(dequantize(unpack(hc), hs, hm),
///                                       lc, ls), v) {scale = the original}
/// A VidKV key is a fixed linear map M of its slots (identity on the high
/// slots, inverse DFT on the low ones, then the head's channel
/// permutation): q . (M k_slots) = (M^T q) . k_slots, so the inverse DFT
/// runs once per query instead of once per key, and the high slots are
/// plain KIVI 2-bit codes that attention reads like any quantized K. Needs
/// whole bytes of high codes (n_high a multiple of 4).
struct FuseVidKVKey : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    auto dec = op.isKeyQuantized() || op.isQueryQuantized() || op.getDeltaS()
                   ? VidKVDecodeKeyOp()
                   : op.getKey().getDefiningOp<VidKVDecodeKeyOp>();
    if (!dec)
      return rewriter.notifyMatchFailure(op, "K is not a VidKV decode");
    double scale = op.getEffectiveScale();
    if (std::isnan(scale))
      return rewriter.notifyMatchFailure(
          op, "the default scale of a dynamic head dimension is unknown");
    RankedTensorType keyType = dec.getResult().getType();
    RankedTensorType highCodesType = dec.getHighCodes().getType();
    int64_t nHigh = dec.getHighScale().getType().getDimSize(3);
    if (nHigh % 4 != 0)
      return rewriter.notifyMatchFailure(
          op, "n_high is not a multiple of 4 (no whole bytes of high codes)");
    Location loc = dec.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Type scaleType = dec.getHighScale().getType().getElementType();

    SmallVector<int64_t> highShape(highCodesType.getShape());
    highShape.back() = nHigh;
    Value codes = UnpackOp::create(
        rewriter, loc,
        RankedTensorType::get(highShape, IntegerType::get(ctx, 2)),
        dec.getHighCodes());
    Value high = DequantizeOp::create(
        rewriter, loc, RankedTensorType::get(highShape, rewriter.getF32Type()),
        codes, dec.getHighScale(), dec.getHighMin(),
        getVidKVHighScheme(ctx, dec.getGroupSize(), scaleType));
    Value slots = VidKVDecodeKeySlotsOp::create(
        rewriter, loc, keyType, high, dec.getLowCodes(), dec.getLowScale(),
        dec.getGroupSize());
    Value q = VidKVProjectQueryOp::create(
        rewriter, op.getLoc(), op.getQuery().getType(), op.getQuery(),
        dec.getChannels(), nHigh);
    rewriter.modifyOpInPlace(op, [&]() {
      op.getQueryMutable().assign(q);
      op.getKeyMutable().assign(slots);
      op.setScaleAttr(rewriter.getF32FloatAttr(scale));
    });
    return success();
  }
};

/// attention(q, k, reconstruct(v', U, mu)) -> reconstruct(attention(q, k, v'),
/// U, mu): softmax rows sum to 1, so P (U v' + mu) = U (P v') + mu. A fully
/// masked row outputs 0, not mu, so with a mean the rewrite needs rows that
/// cannot be fully masked (no mask; causal only with Sq <= Skv known).
struct HoistReconstructedValue : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    auto rec = op.isValueQuantized() || op.getPType()
                   ? ReconstructOp()
                   : op.getValue().getDefiningOp<ReconstructOp>();
    if (!rec)
      return rewriter.notifyMatchFailure(op, "V is not reconstructed");
    if (rec.getMean()) {
      int64_t sq = op.getQuery().getType().getDimSize(2);
      int64_t skv = op.getKey().getType().getDimSize(2);
      bool rowsSeeKeys =
          !op.getMask() &&
          (!op.getCausal() || (!ShapedType::isDynamic(sq) &&
                               !ShapedType::isDynamic(skv) && sq <= skv));
      if (!rowsSeeKeys)
        return rewriter.notifyMatchFailure(
            op, "rows may be fully masked (they output 0, not the mean)");
    }
    RankedTensorType resultType = op.getResult().getType();
    int64_t rank = rec.getInput().getType().getDimSize(3);
    auto lowType = RankedTensorType::get({resultType.getDimSize(0),
                                          resultType.getDimSize(1),
                                          resultType.getDimSize(2), rank},
                                         resultType.getElementType());
    auto low = AttentionOp::create(
        rewriter, op.getLoc(), lowType, op.getQuery(), op.getKey(),
        rec.getInput(), op.getKeyScale(), op.getKeyZeroPoint(),
        op.getValueScale(), op.getValueZeroPoint(), op.getMask(),
        op.getKeySchemeAttr(), op.getValueSchemeAttr(), op.getScaleAttr(),
        op.getCausalAttr());
    rewriter.replaceOpWithNewOp<ReconstructOp>(op, resultType, low.getResult(),
                                               rec.getBasis(), rec.getMean());
    return success();
  }
};

struct KVQFusePass : kvq::impl::KVQFuseBase<KVQFusePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFuseDequantizePatterns(patterns);
    populateFuseLowRankPatterns(patterns);
    populateExpandRotationPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

namespace {
/// rotate(x) -> project(x, S^T), rotate(x){inverse} -> reconstruct(x, S^T)
/// with the compile-time rotation as a constant [1, D, D] basis.
struct ExpandRotation : OpRewritePattern<RotateOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RotateOp op,
                                PatternRewriter &rewriter) const override {
    int64_t d = op.getInput().getType().getDimSize(3);
    std::vector<float> s = rotationMatrix(d, op.getKind(), op.getSeed());
    // basis[0, i, j] = S[j, i]
    std::vector<float> basis(d * d);
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < d; ++j)
        basis[i * d + j] = s[j * d + i];
    auto type = RankedTensorType::get({1, d, d}, rewriter.getF32Type());
    Value u = arith::ConstantOp::create(
        rewriter, op.getLoc(),
        DenseElementsAttr::get(type, ArrayRef<float>(basis)));
    if (op.getInverse())
      rewriter.replaceOpWithNewOp<ReconstructOp>(op, op.getType(),
                                                 op.getInput(), u, Value());
    else
      rewriter.replaceOpWithNewOp<ProjectOp>(op, op.getType(), op.getInput(), u,
                                             Value());
    return success();
  }
};
} // namespace

void mlir::kvq::populateExpandRotationPatterns(RewritePatternSet &patterns) {
  patterns.add<ExpandRotation>(patterns.getContext());
}

void mlir::kvq::populateFuseDequantizePatterns(RewritePatternSet &patterns) {
  patterns.add<FuseDequantizeIntoAttention>(patterns.getContext());
}

void mlir::kvq::populateFuseLowRankPatterns(RewritePatternSet &patterns) {
  patterns.add<FuseReconstructedKey, HoistReconstructedValue, FuseVidKVKey>(
      patterns.getContext());
}
