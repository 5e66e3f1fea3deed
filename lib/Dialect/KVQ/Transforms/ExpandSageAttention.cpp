//===- ExpandSageAttention.cpp - SageAttention2 as kvq ops ----------------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// kvq.sage_attention becomes the run-time pre-pass of SageAttention2 (K and
// Q smoothing, Delta-S, quantization of Q, K and V) and one kvq.attention
// over the quantized operands, which the attention lowerings fuse: codes
// are decoded in registers, Delta-S is added to the scores and the
// probabilities are rounded to the PV type (see KVQOps.td).
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Dialect/KVQ/Transforms/Passes.h"
#include "kvq/Dialect/KVQ/Utils/LinalgBuilders.h"
#include "kvq/Dialect/KVQ/Utils/QuantCodegen.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir {
namespace kvq {
#define GEN_PASS_DEF_KVQEXPANDSAGEATTENTION
#include "kvq/Dialect/KVQ/Transforms/Passes.h.inc"
} // namespace kvq
} // namespace mlir

using namespace mlir;
using namespace mlir::kvq;

/// The schemes of Q and K for SageAttention2's granularity names.
static std::pair<QuantSchemeAttr, QuantSchemeAttr>
getQKSchemes(MLIRContext *ctx, StringRef granularity, Type codeType,
             int64_t headDim) {
  Type f32 = Float32Type::get(ctx);
  auto scheme = [&](Granularity g, ArrayRef<int64_t> params) {
    return QuantSchemeAttr::get(ctx, codeType, /*symmetric=*/true, g, params,
                                f32);
  };
  if (granularity == "thread")
    return {scheme(Granularity::Fragment, {32, 8, 1}),
            scheme(Granularity::Fragment, {64, 8, 2})};
  int64_t qRows = granularity == "warp" ? 32 : 128;
  return {scheme(Granularity::Block, {qRows, headDim}),
          scheme(Granularity::Block, {64, headDim})};
}

namespace {

class SageExpander {
public:
  SageExpander(IRRewriter &rewriter, SageAttentionOp op)
      : b(rewriter), op(op), loc(op.getLoc()), f32(b.getF32Type()) {}

  LogicalResult expand();

private:
  OpFoldResult size(Value tensor, int64_t dim) {
    return tensor::getMixedSize(b, loc, tensor, dim);
  }
  Value sizeValue(Value tensor, int64_t dim) {
    return b.createOrFold<tensor::DimOp>(loc, tensor, dim);
  }
  Value empty(ArrayRef<OpFoldResult> sizes) {
    return tensor::EmptyOp::create(b, loc, sizes, f32);
  }
  std::pair<Value, Value> quantize(Value x, QuantSchemeAttr scheme);

  IRRewriter &b;
  SageAttentionOp op;
  Location loc;
  Type f32;
};

} // namespace

std::pair<Value, Value> SageExpander::quantize(Value x,
                                               QuantSchemeAttr scheme) {
  auto type = cast<RankedTensorType>(x.getType());
  auto codesType = type.clone(scheme.getStorageType());
  auto scaleType =
      RankedTensorType::get(scheme.getScaleShape(type.getShape()), f32);
  auto quant =
      QuantizeOp::create(b, loc, codesType, scaleType, Type(), x, scheme);
  return {quant.getCodes(), quant.getScale()};
}

LogicalResult SageExpander::expand() {
  MLIRContext *ctx = b.getContext();
  Value q = op.getQuery(), k = op.getKey(), v = op.getValue();
  auto qType = cast<RankedTensorType>(q.getType());
  auto kType = cast<RankedTensorType>(k.getType());
  auto vType = cast<RankedTensorType>(v.getType());
  int64_t d = qType.getDimSize(3);
  auto dim = [&](unsigned i) { return b.getAffineDimExpr(i); };
  AffineMap id4 = b.getMultiDimIdentityMap(4);
  auto parallel4 =
      SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel);

  // 1. K smoothing: Kc = K - km in f32.
  Value kc = k;
  if (op.getSmoothK()) {
    auto meanType = RankedTensorType::get(
        {kType.getDimSize(0), kType.getDimSize(1), 1, d}, f32);
    kc = SmoothOp::create(b, loc, kType.clone(f32), meanType, k).getCentered();
  }

  // 2. Q smoothing: q-bar per group of G rows, Qc = Q - q-bar and
  //    Delta-S = q-bar Kc^T, all in f32.
  Value qc = q, deltaS;
  const int64_t g = SageAttentionOp::kSmoothRows;
  if (op.getSmoothQ()) {
    int64_t hq = qType.getDimSize(1), hkv = kType.getDimSize(1);
    if (ShapedType::isDynamic(hq) || ShapedType::isDynamic(hkv))
      return op.emitOpError() << "kvq-expand-sage-attention needs static "
                                 "head counts to smooth the queries";
    int64_t group = hq / hkv;
    Value sq = sizeValue(q, 2);
    Value cG = arith::ConstantIndexOp::create(b, loc, g);
    OpFoldResult groups =
        getAsOpFoldResult(b.createOrFold<arith::CeilDivUIOp>(loc, sq, cG));
    SmallVector<OpFoldResult> meanSizes = {size(q, 0), size(q, 1), groups,
                                           b.getIndexAttr(d)};
    AffineMap toGroup =
        AffineMap::get(4, 0, {dim(0), dim(1), dim(2).floorDiv(g), dim(3)}, ctx);

    // Sums of each group's rows, then the means (a ragged last group
    // averages its own rows).
    Value sumInit = createZeros(b, loc, meanSizes, f32);
    Value sums =
        linalg::GenericOp::create(
            b, loc, TypeRange{sumInit.getType()}, ValueRange{q},
            ValueRange{sumInit}, ArrayRef<AffineMap>{id4, toGroup},
            ArrayRef<utils::IteratorType>{
                utils::IteratorType::parallel, utils::IteratorType::parallel,
                utils::IteratorType::reduction, utils::IteratorType::parallel},
            [&](OpBuilder &nb, Location nl, ValueRange args) {
              Value x = emitExtendToF32(nb, nl, args[0]);
              linalg::YieldOp::create(
                  nb, nl,
                  ValueRange{arith::AddFOp::create(nb, nl, args[1], x)});
            })
            .getResult(0);
    Value means =
        linalg::GenericOp::create(
            b, loc, TypeRange{sums.getType()}, ValueRange{sums},
            ValueRange{empty(meanSizes)}, ArrayRef<AffineMap>{id4, id4},
            parallel4,
            [&](OpBuilder &nb, Location nl, ValueRange args) {
              Value gi = linalg::IndexOp::create(nb, nl, 2);
              Value first = arith::MulIOp::create(
                  nb, nl, gi, arith::ConstantIndexOp::create(nb, nl, g));
              Value count = arith::MinUIOp::create(
                  nb, nl, arith::ConstantIndexOp::create(nb, nl, g),
                  arith::SubIOp::create(nb, nl, sq, first));
              Value countF = arith::UIToFPOp::create(
                  nb, nl, f32,
                  arith::IndexCastUIOp::create(nb, nl, nb.getI64Type(), count));
              linalg::YieldOp::create(
                  nb, nl,
                  ValueRange{arith::DivFOp::create(nb, nl, args[0], countF)});
            })
            .getResult(0);
    SmallVector<OpFoldResult> qSizes = {size(q, 0), size(q, 1), size(q, 2),
                                        b.getIndexAttr(d)};
    qc = linalg::GenericOp::create(
             b, loc, TypeRange{qType.clone(f32)}, ValueRange{q, means},
             ValueRange{empty(qSizes)}, ArrayRef<AffineMap>{id4, toGroup, id4},
             parallel4,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               Value x = emitExtendToF32(nb, nl, args[0]);
               linalg::YieldOp::create(
                   nb, nl,
                   ValueRange{arith::SubFOp::create(nb, nl, x, args[1])});
             })
             .getResult(0);
    // Delta-S[b, h, g, j] = sum_d q-bar[b, h, g, d] Kc[b, h / group, j, d].
    AffineExpr kvHead = group == 1 ? dim(1) : dim(1).floorDiv(group);
    SmallVector<OpFoldResult> dsSizes = {size(q, 0), size(q, 1), groups,
                                         size(k, 2)};
    deltaS = createContraction(
        b, loc, 5, ValueRange{means, kc},
        {{dim(0), dim(1), dim(2), dim(4)}, {dim(0), kvHead, dim(3), dim(4)}},
        createZeros(b, loc, dsSizes, f32), {dim(0), dim(1), dim(2), dim(3)});
  }

  // 3. Quantization of Q, K (qk codes) and V (per-channel e4m3, or f16).
  auto [qScheme, kScheme] =
      getQKSchemes(ctx, op.getGranularity(), op.getQKType(), d);
  auto [qCodes, qScale] = quantize(qc, qScheme);
  auto [kCodes, kScale] = quantize(kc, kScheme);
  Type pv = op.getPVType();
  Value vData, vScale;
  QuantSchemeAttr vScheme;
  if (isa<Float8E4M3FNType>(pv)) {
    vScheme = QuantSchemeAttr::get(ctx, pv, /*symmetric=*/true,
                                   Granularity::Channel, {}, f32);
    std::tie(vData, vScale) = quantize(v, vScheme);
  } else {
    vData = v;
    if (!vType.getElementType().isF16()) {
      Value v32 = v;
      if (!vType.getElementType().isF32())
        v32 = linalg::GenericOp::create(
                  b, loc, TypeRange{vType.clone(f32)}, ValueRange{v},
                  ValueRange{
                      empty({size(v, 0), size(v, 1), size(v, 2), size(v, 3)})},
                  ArrayRef<AffineMap>{id4, id4}, parallel4,
                  [&](OpBuilder &nb, Location nl, ValueRange args) {
                    linalg::YieldOp::create(nb, nl,
                                            emitExtendToF32(nb, nl, args[0]));
                  })
                  .getResult(0);
      vData = createConvertFromF32(b, loc, v32, vType.clone(b.getF16Type()));
    }
  }

  // 4. Attention over the quantized operands.
  auto attention = AttentionOp::create(
      b, loc, op.getResult().getType(), qCodes, kCodes, vData, kScale,
      /*key_zero_point=*/Value(), vScale, /*value_zero_point=*/Value(),
      /*mask=*/Value(), kScheme, vScheme, op.getScaleAttr(), op.getCausalAttr(),
      qScale, deltaS, qScheme, deltaS ? b.getI64IntegerAttr(g) : IntegerAttr(),
      TypeAttr::get(pv));
  b.replaceOp(op, attention.getResult());
  return success();
}

namespace {
struct KVQExpandSageAttentionPass
    : kvq::impl::KVQExpandSageAttentionBase<KVQExpandSageAttentionPass> {
  void runOnOperation() override {
    SmallVector<SageAttentionOp> ops;
    getOperation().walk([&](SageAttentionOp op) { ops.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (SageAttentionOp op : ops) {
      rewriter.setInsertionPoint(op);
      if (failed(SageExpander(rewriter, op).expand()))
        return signalPassFailure();
    }
  }
};
} // namespace
