//===- LowerGear.cpp - GEAR and xKV ops to linalg / scf ---------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// kvq.extract_outliers: every entry's rank by magnitude within its token (a
// quadratic reduction over the head dimension), then the remainder and the
// `count` first entries. kvq.low_rank_approx and kvq.cross_layer_basis: the
// Gram matrix of each head in f64, subspace iteration from a seeded
// Gaussian start compiled as a constant (kvq.reference.subspace_iteration),
// then the coordinates. kvq.gear_decode: base + a b + scattered outliers.
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
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;
using namespace mlir::kvq;

namespace {

using utils::IteratorType;

static AffineMap map(MLIRContext *ctx, unsigned n, ArrayRef<AffineExpr> exprs) {
  return AffineMap::get(n, 0, exprs, ctx);
}

static SmallVector<IteratorType> iterators(unsigned parallel,
                                           unsigned reduction = 0) {
  SmallVector<IteratorType> its(parallel, IteratorType::parallel);
  its.append(reduction, IteratorType::reduction);
  return its;
}

static Value constF64(OpBuilder &b, Location loc, double v) {
  return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(v));
}

/// `t` (a float tensor) widened to f32 elementwise; `t` when already f32.
static Value extendToF32(OpBuilder &b, Location loc, Value t) {
  auto type = cast<RankedTensorType>(t.getType());
  if (type.getElementType().isF32())
    return t;
  Value empty = tensor::EmptyOp::create(
      b, loc, tensor::getMixedSizes(b, loc, t), b.getF32Type());
  AffineMap id = b.getMultiDimIdentityMap(type.getRank());
  return linalg::GenericOp::create(
             b, loc, empty.getType(), ValueRange{t}, ValueRange{empty},
             ArrayRef<AffineMap>{id, id}, iterators(type.getRank()),
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               linalg::YieldOp::create(nb, nl,
                                       emitExtendToF32(nb, nl, args[0]));
             })
      .getResult(0);
}

/// Orthonormalizes the columns of every [N, R] matrix of `w` [P, Q, N, R]
/// (f64) in place: classical Gram-Schmidt twice per column, a column left
/// with at most 1e-12 of the matrix's largest column norm becoming zero
/// (kvq.reference.orthonormalize). (Against the largest column, not the
/// column's own norm: a column of rounding residue, kept once, would
/// otherwise stay a unit vector through every later subspace iteration.)
/// An scf.for over the R columns; each step is a few linalg.generic ops over
/// all P x Q matrices.
static Value orthonormalize(OpBuilder &b, Location loc, Value w) {
  MLIRContext *ctx = b.getContext();
  auto type = cast<RankedTensorType>(w.getType());
  int64_t rank = type.getDimSize(3);
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, w);
  OpFoldResult P = sizes[0], Q = sizes[1], N = sizes[2];
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  auto d = [&](unsigned i) { return b.getAffineDimExpr(i); };
  AffineExpr c0 = b.getAffineConstantExpr(0);

  // The largest squared column norm of each matrix [P, Q]: the column
  // sums [P, Q, R] (loops p, q, r, n), then their maximum over r.
  Value sumsInit =
      createZeros(b, loc, {P, Q, b.getIndexAttr(rank)}, b.getF64Type());
  Value columnSums =
      linalg::GenericOp::create(
          b, loc, sumsInit.getType(), ValueRange{w}, ValueRange{sumsInit},
          ArrayRef<AffineMap>{map(ctx, 4, {d(0), d(1), d(3), d(2)}),
                              map(ctx, 4, {d(0), d(1), d(2)})},
          iterators(3, 1),
          [&](OpBuilder &nb, Location nl, ValueRange args) {
            Value sq = arith::MulFOp::create(nb, nl, args[0], args[0]);
            linalg::YieldOp::create(
                nb, nl, ValueRange{arith::AddFOp::create(nb, nl, args[1], sq)});
          })
          .getResult(0);
  Value scaleInit = createZeros(b, loc, {P, Q}, b.getF64Type());
  Value scale =
      linalg::GenericOp::create(
          b, loc, scaleInit.getType(), ValueRange{columnSums},
          ValueRange{scaleInit},
          ArrayRef<AffineMap>{map(ctx, 3, {d(0), d(1), d(2)}),
                              map(ctx, 3, {d(0), d(1)})},
          iterators(2, 1),
          [&](OpBuilder &nb, Location nl, ValueRange args) {
            linalg::YieldOp::create(nb, nl,
                                    ValueRange{arith::MaximumFOp::create(
                                        nb, nl, args[1], args[0])});
          })
          .getResult(0);

  Value lb = arith::ConstantIndexOp::create(b, loc, 0);
  Value ub = arith::ConstantIndexOp::create(b, loc, rank);
  Value step = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ForOp::create(b, loc, lb, ub, step, ValueRange{w});
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  Value j = loop.getInductionVar();
  Value cur = loop.getRegionIterArgs()[0];
  SmallVector<OpFoldResult> colOffsets = {zero, zero, zero, j};
  SmallVector<OpFoldResult> colSizes = {P, Q, N, one};
  SmallVector<OpFoldResult> strides(4, one);
  Value col = tensor::ExtractSliceOp::create(b, loc, cur, colOffsets, colSizes,
                                             strides); // [P, Q, N, 1]

  // Squared norm of v [P, Q, N, 1] into [P, Q]: loops (p, q, n).
  auto squaredNorm = [&](Value v) {
    Value init = createZeros(b, loc, {P, Q}, b.getF64Type());
    return linalg::GenericOp::create(
               b, loc, init.getType(), ValueRange{v}, ValueRange{init},
               ArrayRef<AffineMap>{map(ctx, 3, {d(0), d(1), d(2), c0}),
                                   map(ctx, 3, {d(0), d(1)})},
               iterators(2, 1),
               [&](OpBuilder &nb, Location nl, ValueRange args) {
                 Value sq = arith::MulFOp::create(nb, nl, args[0], args[0]);
                 linalg::YieldOp::create(
                     nb, nl,
                     ValueRange{arith::AddFOp::create(nb, nl, args[1], sq)});
               })
        .getResult(0);
  };
  Value v = col;
  for (int pass = 0; pass < 2; ++pass) {
    // c[p, q, i] = i < j ? sum_n w[n, i] v[n] : 0      loops (p, q, i, n)
    Value c0Init =
        createZeros(b, loc, {P, Q, b.getIndexAttr(rank)}, b.getF64Type());
    Value coef =
        linalg::GenericOp::create(
            b, loc, c0Init.getType(), ValueRange{cur, v}, ValueRange{c0Init},
            ArrayRef<AffineMap>{map(ctx, 4, {d(0), d(1), d(3), d(2)}),
                                map(ctx, 4, {d(0), d(1), d(3), c0}),
                                map(ctx, 4, {d(0), d(1), d(2)})},
            iterators(3, 1),
            [&](OpBuilder &nb, Location nl, ValueRange args) {
              Value earlier =
                  arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult,
                                        linalg::IndexOp::create(nb, nl, 2), j);
              Value prod = arith::MulFOp::create(nb, nl, args[0], args[1]);
              Value sum = arith::AddFOp::create(nb, nl, args[2], prod);
              linalg::YieldOp::create(nb, nl,
                                      ValueRange{arith::SelectOp::create(
                                          nb, nl, earlier, sum, args[2])});
            })
            .getResult(0);
    // v[p, q, n] -= sum_i c[i] w[n, i]                  loops (p, q, n, i)
    v = linalg::GenericOp::create(
            b, loc, v.getType(), ValueRange{cur, coef}, ValueRange{v},
            ArrayRef<AffineMap>{map(ctx, 4, {d(0), d(1), d(2), d(3)}),
                                map(ctx, 4, {d(0), d(1), d(3)}),
                                map(ctx, 4, {d(0), d(1), d(2), c0})},
            iterators(3, 1),
            [&](OpBuilder &nb, Location nl, ValueRange args) {
              Value prod = arith::MulFOp::create(nb, nl, args[0], args[1]);
              linalg::YieldOp::create(
                  nb, nl,
                  ValueRange{arith::SubFOp::create(nb, nl, args[2], prod)});
            })
            .getResult(0);
  }
  Value after = squaredNorm(v);
  // v / |v|, or 0 when |v| <= 1e-12 of the largest column's norm (v is in
  // the span of the others).
  AffineMap pq = map(ctx, 4, {d(0), d(1)});
  AffineMap id = b.getMultiDimIdentityMap(4);
  Value unit =
      linalg::GenericOp::create(
          b, loc, v.getType(), ValueRange{scale, after}, ValueRange{v},
          ArrayRef<AffineMap>{pq, pq, id}, iterators(4),
          [&](OpBuilder &nb, Location nl, ValueRange args) {
            Value keep = arith::CmpFOp::create(
                nb, nl, arith::CmpFPredicate::OGT, args[1],
                arith::MulFOp::create(nb, nl, args[0],
                                      constF64(nb, nl, 1e-24)));
            Value scaled = arith::DivFOp::create(
                nb, nl, args[2], math::SqrtOp::create(nb, nl, args[1]));
            linalg::YieldOp::create(
                nb, nl,
                ValueRange{arith::SelectOp::create(nb, nl, keep, scaled,
                                                   constF64(nb, nl, 0.0))});
          })
          .getResult(0);
  Value updated = tensor::InsertSliceOp::create(b, loc, unit, cur, colOffsets,
                                                colSizes, strides);
  scf::YieldOp::create(b, loc, updated);
  return loop.getResult(0);
}

/// Orthonormal bases [P, Q, N, rank] (f64) of the dominant eigenvectors of
/// the Gram matrices `gram` [P, Q, N, N] (f64) after `iterations` steps of
/// subspace iteration from the seeded Gaussian start
/// (kvq.reference.subspace_iteration).
static Value subspaceIteration(OpBuilder &b, Location loc, Value gram,
                               int64_t rank, int64_t iterations, int64_t seed) {
  MLIRContext *ctx = b.getContext();
  int64_t n = cast<RankedTensorType>(gram.getType()).getDimSize(3);
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, gram);
  OpFoldResult P = sizes[0], Q = sizes[1], N = sizes[2];
  auto d = [&](unsigned i) { return b.getAffineDimExpr(i); };
  // The start: the same Gaussian [N, rank] (row major) for every matrix.
  std::vector<double> draws = drawGaussians(n * rank, seed);
  auto startType = RankedTensorType::get({n, rank}, b.getF64Type());
  Value start = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(startType, ArrayRef<double>(draws)));
  Value empty = tensor::EmptyOp::create(
      b, loc, ArrayRef<OpFoldResult>{P, Q, N, b.getIndexAttr(rank)},
      b.getF64Type());
  Value w = linalg::GenericOp::create(
                b, loc, empty.getType(), ValueRange{start}, ValueRange{empty},
                ArrayRef<AffineMap>{map(ctx, 4, {d(2), d(3)}),
                                    b.getMultiDimIdentityMap(4)},
                iterators(4),
                [&](OpBuilder &nb, Location nl, ValueRange args) {
                  linalg::YieldOp::create(nb, nl, args[0]);
                })
                .getResult(0);
  w = orthonormalize(b, loc, w);
  if (iterations == 0)
    return w;
  auto loop = scf::ForOp::create(
      b, loc, arith::ConstantIndexOp::create(b, loc, 0),
      arith::ConstantIndexOp::create(b, loc, iterations),
      arith::ConstantIndexOp::create(b, loc, 1), ValueRange{w});
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  // y[p, q, n, r] = sum_m gram[n, m] w[m, r]      loops (p, q, n, r, m)
  Value y = createContraction(
      b, loc, 5, {gram, loop.getRegionIterArgs()[0]},
      {{d(0), d(1), d(2), d(4)}, {d(0), d(1), d(4), d(3)}},
      createZeros(b, loc, {P, Q, N, b.getIndexAttr(rank)}, b.getF64Type()),
      {d(0), d(1), d(2), d(3)});
  // Copied into the loop-carried tensor: one-shot bufferization needs the
  // yielded value to be the iteration argument's buffer.
  Value next = linalg::CopyOp::create(b, loc, orthonormalize(b, loc, y),
                                      loop.getRegionIterArgs()[0])
                   .getResult(0);
  scf::YieldOp::create(b, loc, next);
  return loop.getResult(0);
}

struct LowerExtractOutliers : OpRewritePattern<ExtractOutliersOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ExtractOutliersOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Value x = op.getInput();
    int64_t count = static_cast<int64_t>(op.getCount());
    auto d = [&](unsigned i) { return rewriter.getAffineDimExpr(i); };
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, x);
    Type i32 = rewriter.getI32Type();
    // rank[b, h, s, e] = #{f : |x_f| > |x_e| or (|x_f| == |x_e| and f < e)}
    // loops (b, h, s, e, f)
    Value zeroI32 =
        arith::ConstantOp::create(rewriter, loc, rewriter.getI32IntegerAttr(0));
    Value rank0 =
        linalg::FillOp::create(
            rewriter, loc, zeroI32,
            tensor::EmptyOp::create(rewriter, loc, sizes, i32).getResult())
            .getResult(0);
    Value rank =
        linalg::GenericOp::create(
            rewriter, loc, rank0.getType(), ValueRange{x, x}, ValueRange{rank0},
            ArrayRef<AffineMap>{map(ctx, 5, {d(0), d(1), d(2), d(3)}),
                                map(ctx, 5, {d(0), d(1), d(2), d(4)}),
                                map(ctx, 5, {d(0), d(1), d(2), d(3)})},
            iterators(4, 1),
            [&](OpBuilder &nb, Location nl, ValueRange args) {
              Value mine = math::AbsFOp::create(
                  nb, nl, emitExtendToF32(nb, nl, args[0]));
              Value other = math::AbsFOp::create(
                  nb, nl, emitExtendToF32(nb, nl, args[1]));
              Value ahead = createRanksAhead(nb, nl, mine, other,
                                             /*mineLoop=*/3, /*otherLoop=*/4);
              Value inc =
                  arith::ExtUIOp::create(nb, nl, nb.getI32Type(), ahead);
              linalg::YieldOp::create(
                  nb, nl,
                  ValueRange{arith::AddIOp::create(nb, nl, args[2], inc)});
            })
            .getResult(0);

    // remainder = rank < count ? 0 : x
    RankedTensorType remType = op.getRemainder().getType();
    AffineMap id4 = rewriter.getMultiDimIdentityMap(4);
    Value remEmpty =
        tensor::EmptyOp::create(rewriter, loc, sizes, remType.getElementType());
    Value remainder =
        linalg::GenericOp::create(
            rewriter, loc, remEmpty.getType(), ValueRange{x, rank},
            ValueRange{remEmpty}, ArrayRef<AffineMap>{id4, id4, id4},
            iterators(4),
            [&](OpBuilder &nb, Location nl, ValueRange args) {
              Value outlier = arith::CmpIOp::create(
                  nb, nl, arith::CmpIPredicate::slt, args[1],
                  arith::ConstantOp::create(nb, nl,
                                            nb.getI32IntegerAttr(count)));
              Value value =
                  emitConvertFromF32(nb, nl, emitExtendToF32(nb, nl, args[0]),
                                     remType.getElementType());
              Value zero = arith::ConstantOp::create(
                  nb, nl, nb.getFloatAttr(remType.getElementType(), 0.0));
              linalg::YieldOp::create(nb, nl,
                                      ValueRange{arith::SelectOp::create(
                                          nb, nl, outlier, zero, value)});
            })
            .getResult(0);

    // indices[k], values[k] = the entry of rank k     loops (b, h, s, k, e)
    Type valType = op.getValues().getType().getElementType();
    SmallVector<OpFoldResult> sparse = {sizes[0], sizes[1], sizes[2],
                                        rewriter.getIndexAttr(count)};
    Value idx0 =
        linalg::FillOp::create(
            rewriter, loc, zeroI32,
            tensor::EmptyOp::create(rewriter, loc, sparse, i32).getResult())
            .getResult(0);
    Value val0 = createZeros(rewriter, loc, sparse, valType);
    auto pick = linalg::GenericOp::create(
        rewriter, loc, TypeRange{idx0.getType(), val0.getType()},
        ValueRange{x, rank}, ValueRange{idx0, val0},
        ArrayRef<AffineMap>{map(ctx, 5, {d(0), d(1), d(2), d(4)}),
                            map(ctx, 5, {d(0), d(1), d(2), d(4)}),
                            map(ctx, 5, {d(0), d(1), d(2), d(3)}),
                            map(ctx, 5, {d(0), d(1), d(2), d(3)})},
        iterators(4, 1), [&](OpBuilder &nb, Location nl, ValueRange args) {
          Value k = arith::IndexCastOp::create(
              nb, nl, nb.getI32Type(), linalg::IndexOp::create(nb, nl, 3));
          Value e = arith::IndexCastOp::create(
              nb, nl, nb.getI32Type(), linalg::IndexOp::create(nb, nl, 4));
          Value hit = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq,
                                            args[1], k);
          Value value = emitConvertFromF32(
              nb, nl, emitExtendToF32(nb, nl, args[0]), valType);
          linalg::YieldOp::create(
              nb, nl,
              ValueRange{arith::SelectOp::create(nb, nl, hit, e, args[2]),
                         arith::SelectOp::create(nb, nl, hit, value, args[3])});
        });
    auto cast = [&](Value v, Type t) {
      return tensor::CastOp::create(rewriter, loc, t, v).getResult();
    };
    rewriter.replaceOp(op, {cast(remainder, remType),
                            cast(pick.getResult(0), op.getIndices().getType()),
                            cast(pick.getResult(1), op.getValues().getType())});
    return success();
  }
};

/// `w` [B, H, D, R] (f64) transposed to [B, H, R, D] in `type`.
static Value transposeTo(OpBuilder &b, Location loc, Value w,
                         RankedTensorType type) {
  MLIRContext *ctx = b.getContext();
  SmallVector<OpFoldResult> s = tensor::getMixedSizes(b, loc, w);
  Value empty =
      tensor::EmptyOp::create(b, loc, {s[0], s[1], s[3], s[2]}, b.getF64Type());
  auto d = [&](unsigned i) { return b.getAffineDimExpr(i); };
  Value t = linalg::GenericOp::create(
                b, loc, empty.getType(), ValueRange{w}, ValueRange{empty},
                ArrayRef<AffineMap>{map(ctx, 4, {d(0), d(1), d(3), d(2)}),
                                    b.getMultiDimIdentityMap(4)},
                iterators(4),
                [&](OpBuilder &nb, Location nl, ValueRange args) {
                  linalg::YieldOp::create(nb, nl, args[0]);
                })
                .getResult(0);
  t = createConvertFromF32(b, loc, t, type);
  return tensor::CastOp::create(b, loc, type, t);
}

struct LowerLowRankApprox : OpRewritePattern<LowRankApproxOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(LowRankApproxOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getInput();
    int64_t rank = static_cast<int64_t>(op.getRank());
    auto d = [&](unsigned i) { return rewriter.getAffineDimExpr(i); };
    SmallVector<OpFoldResult> s = tensor::getMixedSizes(rewriter, loc, x);
    Type f64 = rewriter.getF64Type();
    // G[b, h, d, e] = sum_s x[s, d] x[s, e]      loops (b, h, d, e, s)
    Value gram = createContraction(
        rewriter, loc, 5, {x, x},
        {{d(0), d(1), d(4), d(2)}, {d(0), d(1), d(4), d(3)}},
        createZeros(rewriter, loc, {s[0], s[1], s[3], s[3]}, f64),
        {d(0), d(1), d(2), d(3)});
    Value w = subspaceIteration(rewriter, loc, gram, rank, op.getIterations(),
                                op.getSeed());
    // a[b, h, s, r] = sum_d x[s, d] w[d, r]       loops (b, h, s, r, d)
    Value a = createContraction(
        rewriter, loc, 5, {x, w},
        {{d(0), d(1), d(2), d(4)}, {d(0), d(1), d(4), d(3)}},
        createZeros(rewriter, loc,
                    {s[0], s[1], s[2], rewriter.getIndexAttr(rank)}, f64),
        {d(0), d(1), d(2), d(3)});
    RankedTensorType aType = op.getA().getType();
    a = createConvertFromF32(rewriter, loc, a, aType);
    rewriter.replaceOp(
        op, {tensor::CastOp::create(rewriter, loc, aType, a).getResult(),
             transposeTo(rewriter, loc, w, op.getB().getType())});
    return success();
  }
};

struct LowerGearDecode : OpRewritePattern<GearDecodeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GearDecodeOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    auto d = [&](unsigned i) { return rewriter.getAffineDimExpr(i); };
    // acc = base (f32), fresh: the contraction accumulates into it.
    Value base = op.getBase();
    Value empty = tensor::EmptyOp::create(
        rewriter, loc, tensor::getMixedSizes(rewriter, loc, base),
        rewriter.getF32Type());
    AffineMap id4 = rewriter.getMultiDimIdentityMap(4);
    Value acc =
        linalg::GenericOp::create(
            rewriter, loc, empty.getType(), ValueRange{base}, ValueRange{empty},
            ArrayRef<AffineMap>{id4, id4}, iterators(4),
            [&](OpBuilder &nb, Location nl, ValueRange args) {
              linalg::YieldOp::create(nb, nl, emitExtendToF32(nb, nl, args[0]));
            })
            .getResult(0);
    // acc[b, h, s, d] += sum_r a[s, r] f[r, d]       loops (b, h, s, d, r)
    acc =
        createContraction(rewriter, loc, 5, {op.getA(), op.getB()},
                          {{d(0), d(1), d(2), d(4)}, {d(0), d(1), d(4), d(3)}},
                          acc, {d(0), d(1), d(2), d(3)});
    // acc[b, h, s, d] += sum_k [idx[k] == d] val[k]   loops (b, h, s, d, k)
    AffineMap sparse = map(ctx, 5, {d(0), d(1), d(2), d(4)});
    acc =
        linalg::GenericOp::create(
            rewriter, loc, acc.getType(),
            ValueRange{op.getIndices(), op.getValues()}, ValueRange{acc},
            ArrayRef<AffineMap>{sparse, sparse,
                                map(ctx, 5, {d(0), d(1), d(2), d(3)})},
            iterators(4, 1),
            [&](OpBuilder &nb, Location nl, ValueRange args) {
              Value channel = arith::IndexCastOp::create(
                  nb, nl, nb.getI32Type(), linalg::IndexOp::create(nb, nl, 3));
              Value hit = arith::CmpIOp::create(
                  nb, nl, arith::CmpIPredicate::eq, args[0], channel);
              Value sum = arith::AddFOp::create(
                  nb, nl, args[2], emitExtendToF32(nb, nl, args[1]));
              linalg::YieldOp::create(nb, nl,
                                      ValueRange{arith::SelectOp::create(
                                          nb, nl, hit, sum, args[2])});
            })
            .getResult(0);
    RankedTensorType type = op.getResult().getType();
    acc = createConvertFromF32(rewriter, loc, acc, type);
    rewriter.replaceOp(op, tensor::CastOp::create(rewriter, loc, type, acc));
    return success();
  }
};

struct LowerCrossLayerBasis : OpRewritePattern<CrossLayerBasisOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(CrossLayerBasisOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto d = [&](unsigned i) { return rewriter.getAffineDimExpr(i); };
    ValueRange inputs = op.getInputs();
    int64_t layers = inputs.size();
    int64_t dim = cast<RankedTensorType>(inputs[0].getType()).getDimSize(3);
    int64_t features = layers * dim;
    int64_t rank = static_cast<int64_t>(op.getRank());
    Type f64 = rewriter.getF64Type();
    SmallVector<OpFoldResult> s =
        tensor::getMixedSizes(rewriter, loc, inputs[0]);
    OpFoldResult one = rewriter.getIndexAttr(1),
                 zero = rewriter.getIndexAttr(0);
    // X [B, H, S, G D] (f32): the layers side by side.
    Value x = tensor::EmptyOp::create(
        rewriter, loc, {s[0], s[1], s[2], rewriter.getIndexAttr(features)},
        rewriter.getF32Type());
    for (auto [l, input] : llvm::enumerate(inputs))
      x = tensor::InsertSliceOp::create(
          rewriter, loc, extendToF32(rewriter, loc, input), x,
          ArrayRef<OpFoldResult>{zero, zero, zero,
                                 rewriter.getIndexAttr(l * dim)},
          ArrayRef<OpFoldResult>{s[0], s[1], s[2], rewriter.getIndexAttr(dim)},
          SmallVector<OpFoldResult>(4, one));
    // G[0, h, n, m] = sum_{b, s} x[b, h, s, n] x[b, h, s, m]
    // loops (h, n, m, b, s)
    OpFoldResult N = rewriter.getIndexAttr(features);
    Value gram = createContraction(
        rewriter, loc, 5, {x, x},
        {{d(3), d(0), d(4), d(1)}, {d(3), d(0), d(4), d(2)}},
        createZeros(rewriter, loc, {s[1], N, N}, f64), {d(0), d(1), d(2)});
    SmallVector<ReassociationIndices> lead = {{0, 1}, {2}, {3}};
    auto gramType = cast<RankedTensorType>(gram.getType());
    gram = tensor::ExpandShapeOp::create(
        rewriter, loc,
        RankedTensorType::get({1, gramType.getDimSize(0), features, features},
                              f64),
        gram, lead, ArrayRef<OpFoldResult>{one, s[1], N, N});
    Value w = subspaceIteration(rewriter, loc, gram, rank, op.getIterations(),
                                op.getSeed());
    auto wType = cast<RankedTensorType>(w.getType());
    w = tensor::CollapseShapeOp::create(
        rewriter, loc,
        RankedTensorType::get({wType.getDimSize(1), features, rank}, f64), w,
        lead);
    // coords[b, h, s, r] = sum_n x[b, h, s, n] w[h, n, r]  loops (b,h,s,r,n)
    Value coords = createContraction(
        rewriter, loc, 5, {x, w},
        {{d(0), d(1), d(2), d(4)}, {d(1), d(4), d(3)}},
        createZeros(rewriter, loc,
                    {s[0], s[1], s[2], rewriter.getIndexAttr(rank)}, f64),
        {d(0), d(1), d(2), d(3)});
    RankedTensorType coordsType = op.getCoordinates().getType();
    SmallVector<Value> results = {tensor::CastOp::create(
        rewriter, loc, coordsType,
        createConvertFromF32(rewriter, loc, coords, coordsType))};
    for (auto [l, basis] : llvm::enumerate(op.getBases())) {
      Value slice = tensor::ExtractSliceOp::create(
          rewriter, loc, w,
          ArrayRef<OpFoldResult>{zero, rewriter.getIndexAttr(l * dim), zero},
          ArrayRef<OpFoldResult>{s[1], rewriter.getIndexAttr(dim),
                                 rewriter.getIndexAttr(rank)},
          SmallVector<OpFoldResult>(3, one));
      auto type = cast<RankedTensorType>(basis.getType());
      results.push_back(tensor::CastOp::create(
          rewriter, loc, type,
          createConvertFromF32(rewriter, loc, slice, type)));
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

} // namespace

void mlir::kvq::populateLowerGearPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerExtractOutliers, LowerLowRankApprox, LowerGearDecode,
               LowerCrossLayerBasis>(patterns.getContext());
}
