//===- LowerLowRank.cpp - kvq.project / reconstruct / smooth to linalg ----===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// Lowers the low-rank ops and K smoothing on tensors to linalg.generic with
// f32 arithmetic, matching python/kvq/reference.py (project, reconstruct,
// smooth).
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Conversion/KVQToLinalg/KVQToLinalg.h"
#include "kvq/Conversion/Passes.h"
#include "kvq/Dialect/KVQ/Transforms/Passes.h"
#include "kvq/Dialect/KVQ/Utils/LinalgBuilders.h"
#include "kvq/Dialect/KVQ/Utils/QuantCodegen.h"
#include "kvq/Dialect/KVQ/Utils/Random.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;
using namespace mlir::kvq;

namespace {

/// An f32 tensor of `shape` filled with zeros; dynamic dims from `like`
/// at the positions `likeDims`.
static Value zeros(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                   Value like, ArrayRef<int64_t> likeDims) {
  SmallVector<OpFoldResult> sizes;
  for (auto [i, d] : llvm::enumerate(shape))
    sizes.push_back(ShapedType::isDynamic(d)
                        ? tensor::getMixedSize(b, loc, like, likeDims[i])
                        : OpFoldResult(b.getIndexAttr(d)));
  return createZeros(b, loc, sizes, b.getF32Type());
}

/// The basis head of head `h`: `h floordiv g`, or 0 with one basis;
/// failure when the head counts are dynamic.
static FailureOr<AffineExpr> basisHead(AffineExpr h, Type basisType,
                                       int64_t headsPerBasis) {
  if (cast<RankedTensorType>(basisType).getDimSize(0) == 1)
    return getAffineConstantExpr(0, h.getContext());
  if (ShapedType::isDynamic(headsPerBasis))
    return failure();
  return headsPerBasis == 1 ? h : h.floorDiv(headsPerBasis);
}

/// Why a low-rank op cannot be lowered, or an empty string.
template <typename OpTy> static std::string whyNotLowerable(OpTy op) {
  if (op.getResult().getType().isDynamicDim(3))
    return "needs a static result dimension (from the basis)";
  if (failed(basisHead(getAffineDimExpr(0, op.getContext()),
                       op.getBasis().getType(), op.getHeadsPerBasis())))
    return "needs static head counts to map heads to bases (or a single "
           "shared basis)";
  return "";
}

template <typename OpTy> struct LowerLowRank : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  static constexpr bool projecting = std::is_same_v<OpTy, ProjectOp>;

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    AffineExpr b0, h, s, o, c; // o: output channel, c: contracted
    bindDims(ctx, b0, h, s, o, c);
    if (std::string why = whyNotLowerable(op); !why.empty())
      return rewriter.notifyMatchFailure(op, why);
    FailureOr<AffineExpr> hb =
        basisHead(h, op.getBasis().getType(), op.getHeadsPerBasis());
    RankedTensorType resultType = op.getResult().getType();
    SmallVector<int64_t> shape(resultType.getShape());
    // Dynamic result dims (B, H, S) come from the input.
    Value acc = zeros(rewriter, loc, shape, op.getInput(), {0, 1, 2, 3});
    auto accType = RankedTensorType::get(shape, rewriter.getF32Type());

    // project: (b, h, s, r, d): y[b,h,s,r] += (x[b,h,s,d] - m[hb,d]) u[hb,d,r]
    // reconstruct: (b, h, s, d, r): x[b,h,s,d] += y[b,h,s,r] u[hb,d,r]
    SmallVector<AffineMap> maps;
    SmallVector<Value> inputs = {op.getInput(), op.getBasis()};
    maps.push_back(AffineMap::get(5, 0, {b0, h, s, c}, ctx));
    maps.push_back(projecting ? AffineMap::get(5, 0, {*hb, c, o}, ctx)
                              : AffineMap::get(5, 0, {*hb, o, c}, ctx));
    bool centerInput = projecting && op.getMean();
    if (centerInput) {
      inputs.push_back(op.getMean());
      maps.push_back(AffineMap::get(5, 0, {*hb, c}, ctx));
    }
    maps.push_back(AffineMap::get(5, 0, {b0, h, s, o}, ctx));
    SmallVector<utils::IteratorType> iters(4, utils::IteratorType::parallel);
    iters.push_back(utils::IteratorType::reduction);
    Value sum =
        linalg::GenericOp::create(
            rewriter, loc, accType, inputs, ValueRange{acc}, maps, iters,
            [&](OpBuilder &nb, Location nl, ValueRange args) {
              Value x = emitExtendToF32(nb, nl, args[0]);
              if (centerInput)
                x = arith::SubFOp::create(nb, nl, x,
                                          emitExtendToF32(nb, nl, args[2]));
              Value u = emitExtendToF32(nb, nl, args[1]);
              Value prod = arith::MulFOp::create(nb, nl, x, u);
              linalg::YieldOp::create(
                  nb, nl,
                  ValueRange{arith::AddFOp::create(nb, nl, args.back(), prod)});
            })
            .getResult(0);

    if (!projecting && op.getMean()) {
      // x[b,h,s,d] += m[hb, d]
      AffineExpr e0, e1, e2, e3;
      bindDims(ctx, e0, e1, e2, e3);
      FailureOr<AffineExpr> hb4 =
          basisHead(e1, op.getBasis().getType(), op.getHeadsPerBasis());
      AffineMap id = rewriter.getMultiDimIdentityMap(4);
      sum = linalg::GenericOp::create(
                rewriter, loc, accType, ValueRange{sum, op.getMean()},
                ValueRange{sum},
                ArrayRef<AffineMap>{id, AffineMap::get(4, 0, {*hb4, e3}, ctx),
                                    id},
                SmallVector<utils::IteratorType>(4,
                                                 utils::IteratorType::parallel),
                [&](OpBuilder &nb, Location nl, ValueRange args) {
                  linalg::YieldOp::create(
                      nb, nl,
                      ValueRange{arith::AddFOp::create(
                          nb, nl, args[0], emitExtendToF32(nb, nl, args[1]))});
                })
                .getResult(0);
    }
    rewriter.replaceOp(op,
                       createConvertFromF32(rewriter, loc, sum, resultType));
    return success();
  }
};

/// centered = x - mean, mean = sum over tokens / S (0 when S = 0).
struct LowerSmooth : OpRewritePattern<SmoothOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SmoothOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Value input = op.getInput();
    ArrayRef<int64_t> in = op.getInput().getType().getShape();
    Type f32 = rewriter.getF32Type();
    // Sum over tokens into [B, H, D].
    SmallVector<int64_t> sumShape = {in[0], in[1], in[3]};
    Value sum0 = zeros(rewriter, loc, sumShape, input, {0, 1, 3});
    auto sumType = RankedTensorType::get(sumShape, f32);
    AffineExpr b0, h, s, d;
    bindDims(ctx, b0, h, s, d);
    AffineMap id = rewriter.getMultiDimIdentityMap(4);
    AffineMap bhd = AffineMap::get(4, 0, {b0, h, d}, ctx);
    Value sum =
        linalg::GenericOp::create(
            rewriter, loc, sumType, ValueRange{input}, ValueRange{sum0},
            ArrayRef<AffineMap>{id, bhd},
            ArrayRef<utils::IteratorType>{
                utils::IteratorType::parallel, utils::IteratorType::parallel,
                utils::IteratorType::reduction, utils::IteratorType::parallel},
            [&](OpBuilder &nb, Location nl, ValueRange args) {
              linalg::YieldOp::create(
                  nb, nl,
                  ValueRange{arith::AddFOp::create(
                      nb, nl, args[1], emitExtendToF32(nb, nl, args[0]))});
            })
            .getResult(0);
    // mean = sum / S, or 0 for an empty sequence.
    Value tokens = tensor::DimOp::create(rewriter, loc, input, 2);
    Value isEmpty =
        arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq, tokens,
                              arith::ConstantIndexOp::create(rewriter, loc, 0));
    Value count = arith::UIToFPOp::create(
        rewriter, loc, f32,
        arith::IndexCastUIOp::create(rewriter, loc, rewriter.getI64Type(),
                                     tokens));
    AffineMap id3 = rewriter.getMultiDimIdentityMap(3);
    Value mean =
        linalg::GenericOp::create(
            rewriter, loc, sumType, ValueRange{sum}, ValueRange{sum},
            ArrayRef<AffineMap>{id3, id3},
            SmallVector<utils::IteratorType>(3, utils::IteratorType::parallel),
            [&](OpBuilder &nb, Location nl, ValueRange args) {
              Value q = arith::DivFOp::create(nb, nl, args[0], count);
              Value zero =
                  arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(0.0));
              linalg::YieldOp::create(nb, nl,
                                      ValueRange{arith::SelectOp::create(
                                          nb, nl, isEmpty, zero, q)});
            })
            .getResult(0);
    // centered = x - mean, in the centered result's type.
    RankedTensorType centeredType = op.getCentered().getType();
    SmallVector<Value> dyn;
    for (int64_t i = 0; i < 4; ++i)
      if (centeredType.isDynamicDim(i))
        dyn.push_back(tensor::DimOp::create(rewriter, loc, input, i));
    Value empty =
        tensor::EmptyOp::create(rewriter, loc, centeredType.getShape(),
                                centeredType.getElementType(), dyn);
    Value centered =
        linalg::GenericOp::create(
            rewriter, loc, centeredType, ValueRange{input, mean},
            ValueRange{empty}, ArrayRef<AffineMap>{id, bhd, id},
            SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
            [&](OpBuilder &nb, Location nl, ValueRange args) {
              Value x = emitExtendToF32(nb, nl, args[0]);
              Value c = arith::SubFOp::create(nb, nl, x, args[1]);
              linalg::YieldOp::create(
                  nb, nl,
                  emitConvertFromF32(nb, nl, c, centeredType.getElementType()));
            })
            .getResult(0);
    // mean as [B, H, 1, D] in the mean result's type.
    RankedTensorType meanType = op.getMean().getType();
    Value expanded = tensor::ExpandShapeOp::create(
        rewriter, loc, RankedTensorType::get({in[0], in[1], 1, in[3]}, f32),
        mean, ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});
    rewriter.replaceOp(op, {centered, createConvertFromF32(
                                          rewriter, loc, expanded, meanType)});
    return success();
  }
};

} // namespace


void mlir::kvq::populateLowerLowRankPatterns(RewritePatternSet &patterns) {
  patterns
      .add<LowerLowRank<ProjectOp>, LowerLowRank<ReconstructOp>, LowerSmooth>(
          patterns.getContext());
}

std::string mlir::kvq::getLowRankToLinalgFailure(Operation *op) {
  if (auto project = dyn_cast<ProjectOp>(op))
    return whyNotLowerable(project);
  if (auto reconstruct = dyn_cast<ReconstructOp>(op))
    return whyNotLowerable(reconstruct);
  return "";
}
