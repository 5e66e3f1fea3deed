//===- Fuse.cpp - Fuse dequantization into attention ------------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Dialect/KVQ/Transforms/Passes.h"
#include "kvq/Dialect/KVQ/Transforms/VidKV.h"
#include "kvq/Dialect/KVQ/Utils/AttentionOperands.h"
#include "kvq/Dialect/KVQ/Utils/LinalgBuilders.h"
#include "kvq/Dialect/KVQ/Utils/QuantCodegen.h"
#include "kvq/Dialect/KVQ/Utils/Random.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

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

/// Shared by the GEAR rewrites (after canJoinGearA): gear_decode without its
/// low-rank term (the base and the outliers, rank 0), and the `a` factors
/// in its element type (an arith.extf, which attention reads as it is,
/// where they differ).
/// Whether GEAR's `a` can join its decoded K / V in one concatenation: the
/// same element type, or a narrower one that an arith.extf widens.
static bool canJoinGearA(GearDecodeOp gear) {
  Type a = gear.getA().getType().getElementType();
  Type kv = gear.getResult().getType().getElementType();
  return a == kv || a.getIntOrFloatBitWidth() < kv.getIntOrFloatBitWidth();
}

static std::pair<Value, Value> splitGearDecode(PatternRewriter &rewriter,
                                               GearDecodeOp gear) {
  Location loc = gear.getLoc();
  RankedTensorType type = gear.getResult().getType();
  Value a = gear.getA();
  auto aType = cast<RankedTensorType>(a.getType());
  SmallVector<OpFoldResult> aSizes = tensor::getMixedSizes(rewriter, loc, a);
  aSizes.back() = rewriter.getIndexAttr(0);
  Value noA =
      tensor::EmptyOp::create(rewriter, loc, aSizes, aType.getElementType());
  Value f = gear.getB();
  SmallVector<OpFoldResult> fSizes = tensor::getMixedSizes(rewriter, loc, f);
  fSizes[2] = rewriter.getIndexAttr(0);
  Value noF = tensor::EmptyOp::create(
      rewriter, loc, fSizes,
      cast<RankedTensorType>(f.getType()).getElementType());
  Value rest = GearDecodeOp::create(rewriter, loc, type, gear.getBase(), noA,
                                    noF, gear.getIndices(), gear.getValues());
  if (aType.getElementType() != type.getElementType())
    a = arith::ExtFOp::create(rewriter, loc, aType.clone(type.getElementType()),
                              a);
  return {rest, a};
}

/// Whether GEAR's `a` may be appended to `d` channels: the widened head
/// dimension must stay a multiple of kDecodedChannelBlock (as it is for D
/// 128 and rank 4), or the concatenation would not be decoded in the loop.
static bool canAppendGearRank(GearDecodeOp gear, int64_t d) {
  int64_t rank = gear.getA().getType().getDimSize(3);
  return rank > 0 && !ShapedType::isDynamic(d) &&
         (d + rank) % kDecodedChannelBlock == 0;
}

/// `[x, y]` along the last dimension of two `[B, H, S, *]` tensors.
static Value concatChannels(PatternRewriter &rewriter, Location loc, Value x,
                            Value y) {
  return tensor::ConcatOp::create(rewriter, loc, /*dim=*/3, ValueRange{x, y});
}

/// result[b, h, s, r] = sum_d x[b, h, s, d] * f[b, h / (H / Hf), r, d]
/// (`transposed` false) or result[b, h, s, d] = sum_r x[b, h, s, r] *
/// f[b, h / (H / Hf), r, d] (`transposed` true), in f32: GEAR's factors `f`
/// `[B, Hf, R, D]` applied per batch row and KV head.
static Value applyGearFactors(PatternRewriter &rewriter, Location loc, Value x,
                              Value f, bool transposed) {
  auto fType = cast<RankedTensorType>(f.getType());
  int64_t outDim = transposed ? fType.getDimSize(3) : fType.getDimSize(2);
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, x);
  sizes.back() = rewriter.getIndexAttr(outDim);
  Type f32 = rewriter.getF32Type();
  Value init = createZeros(rewriter, loc, sizes, f32);
  Value heads = tensor::DimOp::create(rewriter, loc, x, 1);
  Value fHeads = tensor::DimOp::create(rewriter, loc, f, 1);
  Value group = arith::DivUIOp::create(rewriter, loc, heads, fHeads);
  MLIRContext *ctx = rewriter.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  // Loops (b, h, s, out, in); `in` is the reduction.
  SmallVector<AffineMap> maps = {
      AffineMap::get(5, 0, {d(0), d(1), d(2), d(4)}, ctx),
      AffineMap::get(5, 0, {d(0), d(1), d(2), d(3)}, ctx)};
  SmallVector<utils::IteratorType> iters(4, utils::IteratorType::parallel);
  iters.push_back(utils::IteratorType::reduction);
  return linalg::GenericOp::create(
             rewriter, loc, TypeRange{init.getType()}, ValueRange{x},
             ValueRange{init}, maps, iters,
             [&](OpBuilder &b, Location l, ValueRange args) {
               Value bi = linalg::IndexOp::create(b, l, 0);
               Value hf = arith::DivUIOp::create(
                   b, l, linalg::IndexOp::create(b, l, 1), group);
               Value out = linalg::IndexOp::create(b, l, 3);
               Value in = linalg::IndexOp::create(b, l, 4);
               Value fv = tensor::ExtractOp::create(
                   b, l, f,
                   transposed ? ValueRange{bi, hf, in, out}
                              : ValueRange{bi, hf, out, in});
               Value xv = emitExtendToF32(b, l, args[0]);
               Value product =
                   arith::MulFOp::create(b, l, xv, emitExtendToF32(b, l, fv));
               linalg::YieldOp::create(
                   b, l,
                   ValueRange{arith::AddFOp::create(b, l, args[1], product)});
             })
      .getResult(0);
}

/// attention(q, gear_decode(base, a, f, idx, vals), v)
///   -> attention([q, q f^T], [gear_decode(base, -, -, idx, vals), a], v)
///      {scale = the original}
/// q . (base + a f + outliers) = q . (base + outliers) + (f q) . a: the
/// low-rank term moves onto the query (R extra query channels, computed
/// once per row) instead of being rebuilt for every chunk of every key.
struct FuseGearKey : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    auto gear = op.isKeyQuantized() || op.isQueryQuantized() || op.getDeltaS()
                    ? GearDecodeOp()
                    : op.getKey().getDefiningOp<GearDecodeOp>();
    if (!gear)
      return rewriter.notifyMatchFailure(op, "K is not a GEAR decode");
    if (!canAppendGearRank(gear, gear.getResult().getType().getDimSize(3)))
      return rewriter.notifyMatchFailure(
          op, "no rank, or D + rank is not a multiple of 4");
    double scale = op.getEffectiveScale();
    if (std::isnan(scale))
      return rewriter.notifyMatchFailure(
          op, "the default scale of a dynamic head dimension is unknown");
    if (!canJoinGearA(gear))
      return rewriter.notifyMatchFailure(op, "a is wider than the keys");
    auto [rest, a] = splitGearDecode(rewriter, gear);
    Location loc = op.getLoc();
    Value q = op.getQuery();
    RankedTensorType qType = op.getQuery().getType();
    SmallVector<int64_t> qfShape(qType.getShape());
    qfShape.back() = gear.getA().getType().getDimSize(3);
    Value qf = createConvertFromF32(
        rewriter, loc,
        applyGearFactors(rewriter, loc, q, gear.getB(), /*transposed=*/false),
        qType.clone(qfShape));
    Value key = concatChannels(rewriter, gear.getLoc(), rest, a);
    Value query = concatChannels(rewriter, loc, q, qf);
    rewriter.modifyOpInPlace(op, [&]() {
      op.getQueryMutable().assign(query);
      op.getKeyMutable().assign(key);
      op.setScaleAttr(rewriter.getF32FloatAttr(scale));
    });
    return success();
  }
};

/// attention(q, k, gear_decode(base, a, f, idx, vals))
///   -> o[:, :, :, :Dv] + o[:, :, :, Dv:] f with
///      o = attention(q, k, [gear_decode(base, -, -, idx, vals), a])
/// P (base + a f + outliers) = P (base + outliers) + (P a) f: the low-rank
/// term is applied once to each output row. A fully masked row gives 0
/// either way.
struct HoistGearValue : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    auto gear = op.isValueQuantized()
                    ? GearDecodeOp()
                    : op.getValue().getDefiningOp<GearDecodeOp>();
    if (!gear)
      return rewriter.notifyMatchFailure(op, "V is not a GEAR decode");
    if (!canAppendGearRank(gear, gear.getResult().getType().getDimSize(3)))
      return rewriter.notifyMatchFailure(
          op, "no rank, or Dv + rank is not a multiple of 4");
    if (!canJoinGearA(gear))
      return rewriter.notifyMatchFailure(op, "a is wider than the values");
    auto [rest, a] = splitGearDecode(rewriter, gear);
    Location loc = op.getLoc();
    Value value = concatChannels(rewriter, gear.getLoc(), rest, a);
    RankedTensorType resultType = op.getResult().getType();
    int64_t dv = resultType.getDimSize(3);
    int64_t rank = gear.getA().getType().getDimSize(3);
    SmallVector<int64_t> extShape(resultType.getShape());
    extShape.back() = dv + rank;
    auto wide = cast<AttentionOp>(rewriter.clone(*op.getOperation()));
    rewriter.modifyOpInPlace(wide, [&]() {
      wide.getValueMutable().assign(value);
      wide.getResult().setType(resultType.clone(extShape));
    });
    // out[..., d] = o[..., d] + sum_r o[..., Dv + r] f[r, d]
    SmallVector<OpFoldResult> offsets(4, rewriter.getIndexAttr(0));
    SmallVector<OpFoldResult> strides(4, rewriter.getIndexAttr(1));
    SmallVector<OpFoldResult> sizes =
        tensor::getMixedSizes(rewriter, loc, wide.getResult());
    sizes.back() = rewriter.getIndexAttr(dv);
    Value head = tensor::ExtractSliceOp::create(rewriter, loc, wide.getResult(),
                                                offsets, sizes, strides);
    offsets.back() = rewriter.getIndexAttr(dv);
    sizes.back() = rewriter.getIndexAttr(rank);
    Value tail = tensor::ExtractSliceOp::create(rewriter, loc, wide.getResult(),
                                                offsets, sizes, strides);
    Value lowRank =
        applyGearFactors(rewriter, loc, tail, gear.getB(), /*transposed=*/true);
    auto id = AffineMap::getMultiDimIdentityMap(4, rewriter.getContext());
    Type outElement = resultType.getElementType();
    Value init = tensor::EmptyOp::create(
        rewriter, loc, tensor::getMixedSizes(rewriter, loc, head), outElement);
    Value sum =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{init.getType()}, ValueRange{head, lowRank},
            ValueRange{init}, SmallVector<AffineMap>{id, id, id},
            SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value v = arith::AddFOp::create(
                  b, l, emitExtendToF32(b, l, args[0]), args[1]);
              linalg::YieldOp::create(b, l,
                                      emitConvertFromF32(b, l, v, outElement));
            })
            .getResult(0);
    rewriter.replaceOp(
        op, tensor::CastOp::create(rewriter, loc, resultType, sum).getResult());
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
  patterns.add<FuseReconstructedKey, HoistReconstructedValue, FuseVidKVKey,
               FuseGearKey, HoistGearValue>(patterns.getContext());
}
