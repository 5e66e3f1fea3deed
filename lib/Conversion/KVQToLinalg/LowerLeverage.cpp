//===- LowerLeverage.cpp - LevAttention ops to linalg / scf ---------------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// kvq.leverage_scores: the Gram matrix K^T K of every head (a reduction over
// the keys), a ridge, its inverse by Gauss-Jordan elimination (an scf.for
// over the D pivots, each step one elementwise linalg.generic over all
// heads), then tau_j = k_j^T G^-1 k_j (a second pass over the keys).
// kvq.select_keys: an elementwise threshold into an additive mask.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Conversion/KVQToLinalg/KVQToLinalg.h"
#include "kvq/Conversion/Passes.h"
#include "kvq/Dialect/KVQ/Utils/LinalgBuilders.h"
#include "kvq/Dialect/KVQ/Utils/QuantCodegen.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <limits>

using namespace mlir;
using namespace mlir::kvq;

namespace {

using utils::IteratorType;

/// The arithmetic is f64: the Gram matrix of keys of rank < D is singular
/// up to rounding, and only f64 leaves the ridge above the rounding noise.
static Value zerosF64(OpBuilder &b, Location loc,
                      ArrayRef<OpFoldResult> sizes) {
  return createZeros(b, loc, sizes, b.getF64Type());
}

static AffineMap map(MLIRContext *ctx, unsigned n, ArrayRef<AffineExpr> exprs) {
  return AffineMap::get(n, 0, exprs, ctx);
}

struct LowerLeverageScores : OpRewritePattern<LeverageScoresOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(LeverageScoresOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Value k = op.getInput();
    int64_t dim = op.getInput().getType().getDimSize(3);
    OpFoldResult B = tensor::getMixedSize(rewriter, loc, k, 0);
    OpFoldResult H = tensor::getMixedSize(rewriter, loc, k, 1);
    OpFoldResult S = tensor::getMixedSize(rewriter, loc, k, 2);
    OpFoldResult D = rewriter.getIndexAttr(dim);
    auto d = [&](unsigned i) { return rewriter.getAffineDimExpr(i); };
    // G[b, h, d, e] = sum_s k[s, d] k[s, e]      loops (b, h, d, e, s)
    Value gram = createContraction(
        rewriter, loc, 5, {k, k},
        {{d(0), d(1), d(4), d(2)}, {d(0), d(1), d(4), d(3)}},
        zerosF64(rewriter, loc, {B, H, D, D}), {d(0), d(1), d(2), d(3)});
    // trace[b, h] = sum_d G[d, d]                loops (b, h, d)
    Value trace0 = zerosF64(rewriter, loc, {B, H});
    Value trace =
        linalg::GenericOp::create(
            rewriter, loc, trace0.getType(), ValueRange{gram},
            ValueRange{trace0},
            ArrayRef<AffineMap>{map(ctx, 3, {d(0), d(1), d(2), d(2)}),
                                map(ctx, 3, {d(0), d(1)})},
            ArrayRef<IteratorType>{IteratorType::parallel,
                                   IteratorType::parallel,
                                   IteratorType::reduction},
            [&](OpBuilder &nb, Location nl, ValueRange args) {
              linalg::YieldOp::create(
                  nb, nl,
                  ValueRange{arith::AddFOp::create(nb, nl, args[1], args[0])});
            })
            .getResult(0);
    // A = G + lambda I, Inv = I with lambda = ridge * trace / D (plus the
    // smallest normal double, so an all-zero head stays invertible).
    double ridge = op.getRidge().convertToDouble() / static_cast<double>(dim);
    AffineMap id4 = rewriter.getMultiDimIdentityMap(4);
    SmallVector<IteratorType> par4(4, IteratorType::parallel);
    Value inv0 = zerosF64(rewriter, loc, {B, H, D, D});
    auto init = linalg::GenericOp::create(
        rewriter, loc, TypeRange{gram.getType(), inv0.getType()},
        ValueRange{trace}, ValueRange{gram, inv0},
        ArrayRef<AffineMap>{map(ctx, 4, {d(0), d(1)}), id4, id4}, par4,
        [&](OpBuilder &nb, Location nl, ValueRange args) {
          Value diag =
              arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq,
                                    linalg::IndexOp::create(nb, nl, 2),
                                    linalg::IndexOp::create(nb, nl, 3));
          Value lambda = arith::AddFOp::create(
              nb, nl,
              arith::MulFOp::create(
                  nb, nl, args[0],
                  arith::ConstantOp::create(nb, nl, nb.getF64FloatAttr(ridge))),
              arith::ConstantOp::create(
                  nb, nl,
                  nb.getF64FloatAttr(std::numeric_limits<double>::min())));
          Value zero = arith::ConstantOp::create(nb, nl, nb.getF64FloatAttr(0));
          Value one = arith::ConstantOp::create(nb, nl, nb.getF64FloatAttr(1));
          Value a = arith::AddFOp::create(
              nb, nl, args[1],
              arith::SelectOp::create(nb, nl, diag, lambda, zero));
          linalg::YieldOp::create(
              nb, nl,
              ValueRange{a, arith::SelectOp::create(nb, nl, diag, one, zero)});
        });

    // Gauss-Jordan: for each pivot p, row p /= A[p, p]; row i -= A[i, p] *
    // row p. Symmetric positive definite: no pivoting needed.
    Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    auto loop = scf::ForOp::create(
        rewriter, loc, c0, arith::ConstantIndexOp::create(rewriter, loc, dim),
        c1, ValueRange{init.getResult(0), init.getResult(1)});
    {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(loop.getBody());
      Value p = loop.getInductionVar();
      Value a = loop.getRegionIterArgs()[0], inv = loop.getRegionIterArgs()[1];
      OpFoldResult zero = rewriter.getIndexAttr(0),
                   one = rewriter.getIndexAttr(1);
      SmallVector<OpFoldResult> ones(4, one);
      auto slice = [&](Value t, OpFoldResult r0, OpFoldResult c0f,
                       OpFoldResult rows, OpFoldResult cols) {
        return tensor::ExtractSliceOp::create(
                   rewriter, loc, t,
                   ArrayRef<OpFoldResult>{zero, zero, r0, c0f},
                   ArrayRef<OpFoldResult>{B, H, rows, cols}, ones)
            .getResult();
      };
      Value rowA = slice(a, p, zero, one, D); // [B, H, 1, D]
      Value colA = slice(a, zero, p, D, one); // [B, H, D, 1]
      Value rowInv = slice(inv, p, zero, one, D);
      Value pivot = slice(a, p, p, one, one); // [B, H, 1, 1]
      AffineMap row =
          map(ctx, 4, {d(0), d(1), rewriter.getAffineConstantExpr(0), d(3)});
      AffineMap col =
          map(ctx, 4, {d(0), d(1), d(2), rewriter.getAffineConstantExpr(0)});
      AffineMap piv = map(ctx, 4,
                          {d(0), d(1), rewriter.getAffineConstantExpr(0),
                           rewriter.getAffineConstantExpr(0)});
      auto step = linalg::GenericOp::create(
          rewriter, loc, TypeRange{a.getType(), inv.getType()},
          ValueRange{rowA, colA, rowInv, pivot}, ValueRange{a, inv},
          ArrayRef<AffineMap>{row, col, row, piv, id4, id4}, par4,
          [&](OpBuilder &nb, Location nl, ValueRange args) {
            Value isPivotRow =
                arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq,
                                      linalg::IndexOp::create(nb, nl, 2), p);
            Value rA = arith::DivFOp::create(nb, nl, args[0], args[3]);
            Value rInv = arith::DivFOp::create(nb, nl, args[2], args[3]);
            Value newA = arith::SubFOp::create(
                nb, nl, args[4], arith::MulFOp::create(nb, nl, args[1], rA));
            Value newInv = arith::SubFOp::create(
                nb, nl, args[5], arith::MulFOp::create(nb, nl, args[1], rInv));
            linalg::YieldOp::create(
                nb, nl,
                ValueRange{
                    arith::SelectOp::create(nb, nl, isPivotRow, rA, newA),
                    arith::SelectOp::create(nb, nl, isPivotRow, rInv, newInv)});
          });
      scf::YieldOp::create(rewriter, loc, step.getResults());
    }
    Value inverse = loop.getResult(1);

    // tau[b, h, s] = sum_{d, e} k[s, d] Inv[d, e] k[s, e]
    // loops (b, h, s, d, e)
    Value tau = createContraction(rewriter, loc, 5, {k, inverse, k},
                                  {{d(0), d(1), d(2), d(3)},
                                   {d(0), d(1), d(3), d(4)},
                                   {d(0), d(1), d(2), d(4)}},
                                  zerosF64(rewriter, loc, {B, H, S}),
                                  {d(0), d(1), d(2)});
    RankedTensorType resultType = op.getResult().getType();
    tau = createConvertFromF32(rewriter, loc, tau, resultType);
    rewriter.replaceOp(
        op, tensor::CastOp::create(rewriter, loc, resultType, tau).getResult());
    return success();
  }
};

struct LowerSelectKeys : OpRewritePattern<SelectKeysOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SelectKeysOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    RankedTensorType resultType = op.getResult().getType();
    if (std::string why = getLeverageToLinalgFailure(op); !why.empty())
      return rewriter.notifyMatchFailure(op, why);
    Value scores = op.getScores();
    int64_t group =
        resultType.getDimSize(1) / op.getScores().getType().getDimSize(1);
    SmallVector<OpFoldResult> sizes = {
        tensor::getMixedSize(rewriter, loc, scores, 0),
        rewriter.getIndexAttr(resultType.getDimSize(1)),
        rewriter.getIndexAttr(resultType.getDimSize(2)),
        tensor::getMixedSize(rewriter, loc, scores, 2)};
    Value empty = tensor::EmptyOp::create(rewriter, loc, sizes,
                                          resultType.getElementType());
    AffineExpr b0, h, i, j;
    bindDims(ctx, b0, h, i, j);
    // (For the mask: i is the row, j the key. For the ranks: i the key
    // ranked, j the key it is compared with.)
    AffineExpr head = group == 1 ? h : h.floorDiv(group);
    Type elementType = resultType.getElementType();
    // What decides a key: its score against epsilon, or its rank among the
    // scores of its head (the number of keys ahead of it) against m.
    Value criterion = scores;
    double bound;
    arith::CmpFPredicate keepIf;
    if (std::optional<uint64_t> top = op.getTop()) {
      // rank[b, h, j] = #{i : s_i > s_j or (s_i == s_j and i < j)}
      // loops (b, h, j, i)
      SmallVector<OpFoldResult> rankSizes = {
          tensor::getMixedSize(rewriter, loc, scores, 0),
          tensor::getMixedSize(rewriter, loc, scores, 1),
          tensor::getMixedSize(rewriter, loc, scores, 2)};
      Value empty = tensor::EmptyOp::create(rewriter, loc, rankSizes,
                                            rewriter.getF32Type());
      Value zero =
          arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(0));
      Value rank0 =
          linalg::FillOp::create(rewriter, loc, zero, empty).getResult(0);
      criterion =
          linalg::GenericOp::create(
              rewriter, loc, rank0.getType(), ValueRange{scores, scores},
              ValueRange{rank0},
              ArrayRef<AffineMap>{AffineMap::get(4, 0, {b0, h, i}, ctx),
                                  AffineMap::get(4, 0, {b0, h, j}, ctx),
                                  AffineMap::get(4, 0, {b0, h, i}, ctx)},
              ArrayRef<IteratorType>{
                  IteratorType::parallel, IteratorType::parallel,
                  IteratorType::parallel, IteratorType::reduction},
              [&](OpBuilder &nb, Location nl, ValueRange args) {
                // Here loop 2 is the key ranked and loop 3 the other key:
                // args[0] = s[i] (the key ranked), args[1] = s[j].
                Value mine = emitExtendToF32(nb, nl, args[0]);
                Value other = emitExtendToF32(nb, nl, args[1]);
                Value ahead = createRanksAhead(nb, nl, mine, other,
                                               /*mineLoop=*/2, /*otherLoop=*/3);
                Value one =
                    arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(1));
                Value zeroF =
                    arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(0));
                linalg::YieldOp::create(
                    nb, nl,
                    ValueRange{arith::AddFOp::create(
                        nb, nl, args[2],
                        arith::SelectOp::create(nb, nl, ahead, one, zeroF))});
              })
              .getResult(0);
      bound = static_cast<double>(*top);
      keepIf = arith::CmpFPredicate::OLT;
    } else {
      bound = op.getEpsilon()->convertToDouble();
      keepIf = arith::CmpFPredicate::OGE;
    }
    Value mask =
        linalg::GenericOp::create(
            rewriter, loc, empty.getType(), ValueRange{criterion},
            ValueRange{empty},
            ArrayRef<AffineMap>{AffineMap::get(4, 0, {b0, head, j}, ctx),
                                rewriter.getMultiDimIdentityMap(4)},
            SmallVector<IteratorType>(4, IteratorType::parallel),
            [&](OpBuilder &nb, Location nl, ValueRange args) {
              Value keep = arith::CmpFOp::create(
                  nb, nl, keepIf, emitExtendToF32(nb, nl, args[0]),
                  arith::ConstantOp::create(
                      nb, nl, nb.getF32FloatAttr(static_cast<float>(bound))));
              Value zero = arith::ConstantOp::create(
                  nb, nl, nb.getFloatAttr(elementType, 0.0));
              Value dropped = arith::ConstantOp::create(
                  nb, nl,
                  nb.getFloatAttr(elementType,
                                  -std::numeric_limits<double>::infinity()));
              linalg::YieldOp::create(nb, nl,
                                      ValueRange{arith::SelectOp::create(
                                          nb, nl, keep, zero, dropped)});
            })
            .getResult(0);
    rewriter.replaceOp(
        op,
        tensor::CastOp::create(rewriter, loc, resultType, mask).getResult());
    return success();
  }
};

} // namespace

std::string mlir::kvq::getLeverageToLinalgFailure(Operation *op) {
  auto select = dyn_cast<SelectKeysOp>(op);
  if (select && select.getResult().getType().isDynamicDim(2))
    return "the mask's row count (dim 2) must be static (1 broadcasts over "
           "query rows)";
  return "";
}

void mlir::kvq::populateLowerLeveragePatterns(RewritePatternSet &patterns) {
  patterns.add<LowerLeverageScores, LowerSelectKeys>(patterns.getContext());
}
