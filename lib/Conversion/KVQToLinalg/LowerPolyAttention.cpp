//===- LowerPolyAttention.cpp - PolySketchFormer to linalg / scf ----------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// kvq.poly_sketch and kvq.poly_attention on tensors become linalg.generic
// contractions (f32) and, for causal sketched attention, an scf.for over
// query blocks carrying the prefix state. The sketch matrices are compile-
// time constants drawn exactly as kvq.reference.sketch_matrices draws them.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Conversion/KVQToLinalg/KVQToLinalg.h"
#include "kvq/Conversion/Passes.h"
#include "kvq/Dialect/KVQ/Utils/LinalgBuilders.h"
#include "kvq/Dialect/KVQ/Utils/QuantCodegen.h"
#include "kvq/Dialect/KVQ/Utils/Random.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

using namespace mlir;
using namespace mlir::kvq;

namespace {

/// S1 and S2 ([d, r] each, row major) with N(0, 1/sqrt(r)) entries (so
/// that <(q S1)(q S2), (k S1)(k S2)> is an unbiased estimate of (q . k)^2),
/// from `seed` (kvq.reference.sketch_matrices).
static std::pair<std::vector<float>, std::vector<float>>
sketchMatrices(int64_t d, int64_t r, int64_t seed) {
  std::vector<double> draws = drawGaussians(2 * d * r, seed);
  std::vector<float> all(draws.size());
  double scale = std::pow(static_cast<double>(r), 0.25);
  for (size_t i = 0; i < draws.size(); ++i)
    all[i] = static_cast<float>(draws[i] / scale);
  return {std::vector<float>(all.begin(), all.begin() + d * r),
          std::vector<float>(all.begin() + d * r, all.end())};
}

/// Builds the IR of one op: f32 contractions and elementwise steps.
class Builder {
public:
  Builder(PatternRewriter &b, Location loc) : b(b), loc(loc) {}

  Value cIdx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value cF32(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  OpFoldResult size(Value t, int64_t d) {
    return tensor::getMixedSize(b, loc, t, d);
  }

  /// An f32 tensor of zeros.
  Value zeros(ArrayRef<OpFoldResult> sizes) {
    return createZeros(b, loc, sizes, b.getF32Type());
  }

  /// out[outMap] += prod_k ins[k][maps[k]] over `numLoops` loops, the
  /// loops not in `outMap` being reductions; products in f32.
  Value contract(unsigned numLoops, ValueRange ins,
                 ArrayRef<SmallVector<AffineExpr>> inExprs, Value init,
                 ArrayRef<AffineExpr> outExprs) {
    return createContraction(b, loc, numLoops, ins, inExprs, init, outExprs);
  }

  /// The degree-2 sketch of `x` ([..., D]) as f32 [..., r].
  Value sketch(Value x, int64_t r, int64_t seed) {
    auto type = cast<RankedTensorType>(x.getType());
    int64_t rank = type.getRank(), d = type.getShape().back();
    auto [s1, s2] = sketchMatrices(d, r, seed);
    auto mType = RankedTensorType::get({d, r}, b.getF32Type());
    Value m1 = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(mType, ArrayRef<float>(s1)));
    Value m2 = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(mType, ArrayRef<float>(s2)));
    SmallVector<OpFoldResult> sizes;
    for (int64_t i = 0; i + 1 < rank; ++i)
      sizes.push_back(size(x, i));
    sizes.push_back(b.getIndexAttr(r));
    // Loops: the leading dims, then i (feature), then d (reduction).
    unsigned n = rank + 1;
    SmallVector<AffineExpr> lead, xExprs, outExprs;
    for (int64_t i = 0; i + 1 < rank; ++i)
      lead.push_back(b.getAffineDimExpr(i));
    AffineExpr fi = b.getAffineDimExpr(rank - 1), dd = b.getAffineDimExpr(rank);
    xExprs = lead;
    xExprs.push_back(dd);
    outExprs = lead;
    outExprs.push_back(fi);
    Value p1 = contract(n, {x, m1}, {xExprs, {dd, fi}}, zeros(sizes), outExprs);
    Value p2 = contract(n, {x, m2}, {xExprs, {dd, fi}}, zeros(sizes), outExprs);
    SmallVector<AffineExpr> id;
    for (int64_t i = 0; i < rank; ++i)
      id.push_back(b.getAffineDimExpr(i));
    return contract(rank, {p1, p2}, {id, id}, zeros(sizes), id);
  }

  /// Converts f32 `x` to `type`'s element type.
  Value convert(Value x, RankedTensorType type) {
    return createConvertFromF32(b, loc, x, type);
  }

  PatternRewriter &b;
  Location loc;
};

struct LowerPolySketch : OpRewritePattern<PolySketchOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PolySketchOp op,
                                PatternRewriter &rewriter) const override {
    Builder b(rewriter, op.getLoc());
    Value f = b.sketch(op.getInput(), op.getSketch(), op.getSeed());
    rewriter.replaceOp(op, b.convert(f, op.getResult().getType()));
    return success();
  }
};

struct LowerPolyAttention : OpRewritePattern<PolyAttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(PolyAttentionOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Builder b(rewriter, loc);
    Value q = op.getQuery(), k = op.getKey(), v = op.getValue();
    if (std::string why = getPolyAttentionToLinalgFailure(op); !why.empty())
      return rewriter.notifyMatchFailure(op, why);
    int64_t hq = op.getQuery().getType().getDimSize(1);
    int64_t hkv = op.getKey().getType().getDimSize(1);
    int64_t group = hq / hkv;
    auto d = [&](unsigned i) { return rewriter.getAffineDimExpr(i); };
    // Query head h reads key/value head h / group.
    auto kvHead = [&](AffineExpr h) {
      return group == 1 ? h : h.floorDiv(group);
    };
    Value skv = tensor::DimOp::create(rewriter, loc, k, 2);
    Value sq = tensor::DimOp::create(rewriter, loc, q, 2);
    Value offset = arith::SubIOp::create(rewriter, loc, skv, sq);
    OpFoldResult B = b.size(q, 0), Hq = b.size(q, 1), Sq = b.size(q, 2),
                 Hkv = b.size(k, 1), Dv = b.size(v, 3);
    int64_t r = op.getSketch();

    // w = s^p with the causal mask: keys j > t + offset weigh 0. `tBase`
    // and `jBase` are the positions of index 0 of the slices.
    auto weights = [&](Value scores, Value tBase, Value jBase, int64_t power) {
      auto type = cast<RankedTensorType>(scores.getType());
      AffineMap id = rewriter.getMultiDimIdentityMap(4);
      return linalg::GenericOp::create(
                 rewriter, loc, type, ValueRange{}, ValueRange{scores},
                 ArrayRef<AffineMap>{id},
                 SmallVector<utils::IteratorType>(
                     4, utils::IteratorType::parallel),
                 [&](OpBuilder &nb, Location nl, ValueRange args) {
                   Value w = args[0], s = args[0];
                   for (int64_t i = 1; i < power; ++i)
                     w = arith::MulFOp::create(nb, nl, w, s);
                   if (op.getCausal()) {
                     Value t = arith::AddIOp::create(
                         nb, nl, tBase, linalg::IndexOp::create(nb, nl, 2));
                     Value j = arith::AddIOp::create(
                         nb, nl, jBase, linalg::IndexOp::create(nb, nl, 3));
                     Value visible = arith::CmpIOp::create(
                         nb, nl, arith::CmpIPredicate::sle, j,
                         arith::AddIOp::create(nb, nl, t, offset));
                     w = arith::SelectOp::create(
                         nb, nl, visible, w,
                         arith::ConstantOp::create(nb, nl,
                                                   nb.getF32FloatAttr(0.0)));
                   }
                   linalg::YieldOp::create(nb, nl, w);
                 })
          .getResult(0);
    };
    // Dense weights of queries `qs` (or their features) against keys `ks`
    // and their contributions to num / den.
    auto denseStep = [&](Value qs, Value ks, Value vs, Value tBase, Value jBase,
                         int64_t power, Value num, Value den) {
      OpFoldResult rows = b.size(qs, 2), cols = b.size(ks, 2);
      // (b, h, t, j, c)
      Value scores = b.contract(
          5, {qs, ks},
          {{d(0), d(1), d(2), d(4)}, {d(0), kvHead(d(1)), d(3), d(4)}},
          b.zeros({B, Hq, rows, cols}), {d(0), d(1), d(2), d(3)});
      Value w = weights(scores, tBase, jBase, power);
      // (b, h, t, e, j)
      num = b.contract(
          5, {w, vs},
          {{d(0), d(1), d(2), d(4)}, {d(0), kvHead(d(1)), d(4), d(3)}}, num,
          {d(0), d(1), d(2), d(3)});
      // (b, h, t, j)
      den = b.contract(4, {w}, {{d(0), d(1), d(2), d(3)}}, den,
                       {d(0), d(1), d(2)});
      return std::make_pair(num, den);
    };
    Value zero = b.cIdx(0);

    Value num, den;
    if (r == 0) {
      std::tie(num, den) =
          denseStep(q, k, v, zero, zero, op.getDegree(),
                    b.zeros({B, Hq, Sq, Dv}), b.zeros({B, Hq, Sq}));
    } else {
      Value fq = b.sketch(q, r, op.getSeed());
      Value fk = b.sketch(k, r, op.getSeed());
      OpFoldResult R = rewriter.getIndexAttr(r);
      // State of keys `fks` / `vs` added to zv / z1:
      // zv[b, hk, i, j, e] += fk[s, i] fk[s, j] v[s, e]  (b, hk, i, j, e, s)
      auto addKeys = [&](Value fks, Value vs, Value zv, Value z1) {
        zv = b.contract(6, {fks, fks, vs},
                        {{d(0), d(1), d(5), d(2)},
                         {d(0), d(1), d(5), d(3)},
                         {d(0), d(1), d(5), d(4)}},
                        zv, {d(0), d(1), d(2), d(3), d(4)});
        z1 = b.contract(5, {fks, fks},
                        {{d(0), d(1), d(4), d(2)}, {d(0), d(1), d(4), d(3)}},
                        z1, {d(0), d(1), d(2), d(3)});
        return std::make_pair(zv, z1);
      };
      // Queries `fqs` against the state: (b, h, t, e, i, j) / (b, h, t, i, j).
      auto applyState = [&](Value fqs, Value zv, Value z1, Value nm, Value dn) {
        nm = b.contract(6, {fqs, fqs, zv},
                        {{d(0), d(1), d(2), d(4)},
                         {d(0), d(1), d(2), d(5)},
                         {d(0), kvHead(d(1)), d(4), d(5), d(3)}},
                        nm, {d(0), d(1), d(2), d(3)});
        dn = b.contract(5, {fqs, fqs, z1},
                        {{d(0), d(1), d(2), d(3)},
                         {d(0), d(1), d(2), d(4)},
                         {d(0), kvHead(d(1)), d(3), d(4)}},
                        dn, {d(0), d(1), d(2)});
        return std::make_pair(nm, dn);
      };
      Value zv0 = b.zeros({B, Hkv, R, R, Dv}), z10 = b.zeros({B, Hkv, R, R});
      if (!op.getCausal()) {
        auto [zv, z1] = addKeys(fk, v, zv0, z10);
        std::tie(num, den) = applyState(fq, zv, z1, b.zeros({B, Hq, Sq, Dv}),
                                        b.zeros({B, Hq, Sq}));
      } else {
        // Query blocks [t0, t0 + nq): keys [0, p0) are visible to every row
        // (the state), keys [p0, p1) to some rows (exact, masked).
        Value blk = b.cIdx(op.getBlock());
        auto clampKeys = [&](Value x) {
          return arith::MaxSIOp::create(
              rewriter, loc, zero,
              arith::MinSIOp::create(rewriter, loc, skv, x));
        };
        auto loop = scf::ForOp::create(rewriter, loc, zero, sq, blk,
                                       ValueRange{zv0, z10, zero,
                                                  b.zeros({B, Hq, Sq, Dv}),
                                                  b.zeros({B, Hq, Sq})});
        {
          OpBuilder::InsertionGuard guard(rewriter);
          rewriter.setInsertionPointToStart(loop.getBody());
          Value t0 = loop.getInductionVar();
          ValueRange it = loop.getRegionIterArgs();
          Value nq = arith::MinSIOp::create(
              rewriter, loc, blk, arith::SubIOp::create(rewriter, loc, sq, t0));
          Value start = arith::AddIOp::create(rewriter, loc, t0, offset);
          Value p0 =
              clampKeys(arith::AddIOp::create(rewriter, loc, start, b.cIdx(1)));
          Value p1 = clampKeys(arith::AddIOp::create(rewriter, loc, start, nq));
          p1 = arith::MaxSIOp::create(rewriter, loc, p0, p1);
          Value done = it[2];
          // A shorter prefix than already in the state cannot happen (p0
          // grows with t0), but keep the slice size non-negative anyway.
          Value newKeys = arith::MaxSIOp::create(
              rewriter, loc, zero,
              arith::SubIOp::create(rewriter, loc, p0, done));
          auto slice = [&](Value t, Value off, Value len) {
            SmallVector<OpFoldResult> offs = {rewriter.getIndexAttr(0),
                                              rewriter.getIndexAttr(0), off,
                                              rewriter.getIndexAttr(0)};
            SmallVector<OpFoldResult> sizes = {b.size(t, 0), b.size(t, 1), len,
                                               b.size(t, 3)};
            SmallVector<OpFoldResult> ones(4, rewriter.getIndexAttr(1));
            return tensor::ExtractSliceOp::create(rewriter, loc, t, offs, sizes,
                                                  ones)
                .getResult();
          };
          auto [zv, z1] = addKeys(slice(fk, done, newKeys),
                                  slice(v, done, newKeys), it[0], it[1]);
          Value fqb = slice(fq, t0, nq);
          auto [nm, dn] = applyState(fqb, zv, z1, b.zeros({B, Hq, nq, Dv}),
                                     b.zeros({B, Hq, nq}));
          Value m = arith::SubIOp::create(rewriter, loc, p1, p0);
          std::tie(nm, dn) = denseStep(fqb, slice(fk, p0, m), slice(v, p0, m),
                                       t0, p0, 2, nm, dn);
          SmallVector<OpFoldResult> ones4(4, rewriter.getIndexAttr(1));
          Value numOut = tensor::InsertSliceOp::create(
              rewriter, loc, nm, it[3],
              ArrayRef<OpFoldResult>{rewriter.getIndexAttr(0),
                                     rewriter.getIndexAttr(0), t0,
                                     rewriter.getIndexAttr(0)},
              ArrayRef<OpFoldResult>{B, Hq, nq, Dv}, ones4);
          Value denOut = tensor::InsertSliceOp::create(
              rewriter, loc, dn, it[4],
              ArrayRef<OpFoldResult>{rewriter.getIndexAttr(0),
                                     rewriter.getIndexAttr(0), t0},
              ArrayRef<OpFoldResult>{B, Hq, nq},
              ArrayRef<OpFoldResult>(ones4).take_front(3));
          Value newDone = arith::MaxSIOp::create(rewriter, loc, done, p0);
          scf::YieldOp::create(rewriter, loc,
                               ValueRange{zv, z1, newDone, numOut, denOut});
        }
        num = loop.getResult(3);
        den = loop.getResult(4);
      }
    }

    // o = num / (1 + den).
    RankedTensorType resultType = op.getResult().getType();
    Value empty = tensor::EmptyOp::create(rewriter, loc,
                                          ArrayRef<OpFoldResult>{B, Hq, Sq, Dv},
                                          resultType.getElementType());
    AffineMap id = rewriter.getMultiDimIdentityMap(4);
    AffineMap row = AffineMap::get(4, 0, {d(0), d(1), d(2)}, op.getContext());
    Value out =
        linalg::GenericOp::create(
            rewriter, loc, empty.getType(), ValueRange{num, den},
            ValueRange{empty}, ArrayRef<AffineMap>{id, row, id},
            SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
            [&](OpBuilder &nb, Location nl, ValueRange args) {
              Value denom = arith::AddFOp::create(
                  nb, nl, args[1],
                  arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(1.0)));
              Value o = arith::DivFOp::create(nb, nl, args[0], denom);
              linalg::YieldOp::create(
                  nb, nl,
                  emitConvertFromF32(nb, nl, o, resultType.getElementType()));
            })
            .getResult(0);
    rewriter.replaceOp(
        op, tensor::CastOp::create(rewriter, loc, resultType, out).getResult());
    return success();
  }
};

} // namespace

std::string mlir::kvq::getPolyAttentionToLinalgFailure(Operation *op) {
  auto attention = dyn_cast<PolyAttentionOp>(op);
  if (attention &&
      (attention.getQuery().getType().isDynamicDim(1) ||
       attention.getKey().getType().isDynamicDim(1)))
    return "it needs static head counts";
  return "";
}

void mlir::kvq::populateLowerPolyAttentionPatterns(
    RewritePatternSet &patterns) {
  patterns.add<LowerPolySketch, LowerPolyAttention>(patterns.getContext());
}
