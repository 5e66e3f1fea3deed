//===- AttentionTiling.cpp - TilingInterface of kvq.attention ---*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// kvq.attention tiles over its parallel iteration space (batch, query
// heads, query positions). Each tile is a smaller kvq.attention over slices
// of its operands: the KV heads of its GQA groups, and with `causal` only
// the prefix of keys its query rows may see.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Dialect/KVQ/Utils/Polar.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;
using namespace mlir::kvq;

LogicalResult AttentionOp::reifyResultShapes(
    OpBuilder &b, ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  Location loc = getLoc();
  reifiedReturnShapes.push_back({tensor::getMixedSize(b, loc, getQuery(), 0),
                                 tensor::getMixedSize(b, loc, getQuery(), 1),
                                 tensor::getMixedSize(b, loc, getQuery(), 2),
                                 tensor::getMixedSize(b, loc, getValue(), 3)});
  return success();
}

/// [B, H, S] of `input` and `last` (a static size, or the dynamic one of
/// `lastFrom` at `lastDim`).
static void reifyLeading3(OpBuilder &b, Location loc, Value input,
                          Value lastFrom, int64_t lastDim,
                          ReifiedRankedShapedTypeDims &shapes) {
  shapes.push_back({tensor::getMixedSize(b, loc, input, 0),
                    tensor::getMixedSize(b, loc, input, 1),
                    tensor::getMixedSize(b, loc, input, 2),
                    tensor::getMixedSize(b, loc, lastFrom, lastDim)});
}

LogicalResult
ProjectOp::reifyResultShapes(OpBuilder &b,
                             ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  reifyLeading3(b, getLoc(), getInput(), getBasis(), 2, reifiedReturnShapes);
  return success();
}

LogicalResult ReconstructOp::reifyResultShapes(
    OpBuilder &b, ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  reifyLeading3(b, getLoc(), getInput(), getBasis(), 1, reifiedReturnShapes);
  return success();
}

LogicalResult
SmoothOp::reifyResultShapes(OpBuilder &b,
                            ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  Location loc = getLoc();
  reifyLeading3(b, loc, getInput(), getInput(), 3, reifiedReturnShapes);
  reifiedReturnShapes.push_back({tensor::getMixedSize(b, loc, getInput(), 0),
                                 tensor::getMixedSize(b, loc, getInput(), 1),
                                 b.getIndexAttr(1),
                                 tensor::getMixedSize(b, loc, getInput(), 3)});
  return success();
}

LogicalResult PolySketchOp::reifyResultShapes(
    OpBuilder &b, ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  SmallVector<OpFoldResult> sizes;
  int64_t rank = getInput().getType().getRank();
  for (int64_t i = 0; i + 1 < rank; ++i)
    sizes.push_back(tensor::getMixedSize(b, getLoc(), getInput(), i));
  sizes.push_back(b.getIndexAttr(getSketch()));
  reifiedReturnShapes.push_back(sizes);
  return success();
}

LogicalResult PolyAttentionOp::reifyResultShapes(
    OpBuilder &b, ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  reifyLeading3(b, getLoc(), getQuery(), getValue(), 3, reifiedReturnShapes);
  return success();
}

LogicalResult LeverageScoresOp::reifyResultShapes(
    OpBuilder &b, ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  Location loc = getLoc();
  reifiedReturnShapes.push_back({tensor::getMixedSize(b, loc, getInput(), 0),
                                 tensor::getMixedSize(b, loc, getInput(), 1),
                                 tensor::getMixedSize(b, loc, getInput(), 2)});
  return success();
}

LogicalResult SelectKeysOp::reifyResultShapes(
    OpBuilder &b, ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  Location loc = getLoc();
  RankedTensorType type = getResult().getType();
  if (type.isDynamicDim(2))
    return failure(); // the row count does not follow from the scores
  reifiedReturnShapes.push_back({tensor::getMixedSize(b, loc, getScores(), 0),
                                 b.getIndexAttr(type.getDimSize(1)),
                                 b.getIndexAttr(type.getDimSize(2)),
                                 tensor::getMixedSize(b, loc, getScores(), 2)});
  return success();
}

LogicalResult
RotateOp::reifyResultShapes(OpBuilder &b,
                            ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  reifyLeading3(b, getLoc(), getInput(), getInput(), 3, reifiedReturnShapes);
  return success();
}

LogicalResult PolarEncodeOp::reifyResultShapes(
    OpBuilder &b, ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  Location loc = getLoc();
  int64_t d = getInput().getType().getDimSize(3);
  auto shape = [&](int64_t last) {
    return SmallVector<OpFoldResult>{
        tensor::getMixedSize(b, loc, getInput(), 0),
        tensor::getMixedSize(b, loc, getInput(), 1),
        tensor::getMixedSize(b, loc, getInput(), 2), b.getIndexAttr(last)};
  };
  reifiedReturnShapes.push_back(shape(d / getBlockSize()));
  for (auto [i, bits] : llvm::enumerate(getBits()))
    reifiedReturnShapes.push_back(shape(polarCodeBytes(d, i + 1, bits)));
  return success();
}

LogicalResult PolarDecodeOp::reifyResultShapes(
    OpBuilder &b, ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  reifyLeading3(b, getLoc(), getRadius(), getRadius(), 3, reifiedReturnShapes);
  reifiedReturnShapes.back().back() =
      b.getIndexAttr(getResult().getType().getDimSize(3));
  return success();
}

SmallVector<utils::IteratorType> AttentionOp::getLoopIteratorTypes() {
  return SmallVector<utils::IteratorType>(3, utils::IteratorType::parallel);
}

SmallVector<Range> AttentionOp::getIterationDomain(OpBuilder &b) {
  Location loc = getLoc();
  SmallVector<Range> domain;
  for (int64_t i = 0; i < 3; ++i)
    domain.push_back(Range{b.getIndexAttr(0),
                           tensor::getMixedSize(b, loc, getQuery(), i),
                           b.getIndexAttr(1)});
  return domain;
}

LogicalResult AttentionOp::getResultTilePosition(
    OpBuilder &b, unsigned resultNumber, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes, SmallVector<OpFoldResult> &resultOffsets,
    SmallVector<OpFoldResult> &resultSizes) {
  resultOffsets.assign(offsets.begin(), offsets.end());
  resultOffsets.push_back(b.getIndexAttr(0));
  resultSizes.assign(sizes.begin(), sizes.end());
  resultSizes.push_back(tensor::getMixedSize(b, getLoc(), getValue(), 3));
  return success();
}

namespace {
/// Builds the slices of one tile.
struct TileBuilder {
  OpBuilder &b;
  Location loc;
  SmallVector<Operation *> slices;

  OpFoldResult apply(AffineExpr expr, ArrayRef<OpFoldResult> operands) {
    return affine::makeComposedFoldedAffineApply(
        b, loc, AffineMap::inferFromExprList({expr}, b.getContext())[0],
        operands);
  }

  Value slice(Value source, ArrayRef<OpFoldResult> offsets,
              ArrayRef<OpFoldResult> sizes) {
    SmallVector<OpFoldResult> strides(offsets.size(), b.getIndexAttr(1));
    auto op =
        tensor::ExtractSliceOp::create(b, loc, source, offsets, sizes, strides);
    slices.push_back(op);
    return op;
  }

  /// The slice of a scale / zero-point tensor covering the data slice
  /// (`offsets`, `sizes`) of data shaped like `dataShape` under `scheme`.
  /// Offsets along a grouped dimension are assumed to start a group (tiles
  /// of batch or heads with such unusual schemes must be group aligned;
  /// along the cache length the slice always starts at 0).
  Value sideSlice(Value side, QuantSchemeAttr scheme,
                  ArrayRef<int64_t> dataShape, ArrayRef<OpFoldResult> offsets,
                  ArrayRef<OpFoldResult> sizes) {
    SmallVector<int64_t> scaleShape = scheme.getScaleShape(dataShape);
    SmallVector<int64_t> block = scheme.getBlockShape(dataShape);
    SmallVector<OpFoldResult> sOffsets, sSizes;
    AffineExpr d0, d1;
    bindDims(b.getContext(), d0, d1);
    for (size_t i = 0; i < offsets.size(); ++i) {
      bool whole = scaleShape[i] == 1 && (ShapedType::isDynamic(block[i]) ||
                                          block[i] == dataShape[i]);
      if (whole) {
        sOffsets.push_back(b.getIndexAttr(0));
        sSizes.push_back(b.getIndexAttr(1));
        continue;
      }
      int64_t ext = block[i];
      if (ext == 1) {
        sOffsets.push_back(offsets[i]);
        sSizes.push_back(sizes[i]);
        continue;
      }
      sOffsets.push_back(apply(d0.floorDiv(ext), {offsets[i]}));
      sSizes.push_back(apply((d0 + d1).ceilDiv(ext) - d0.floorDiv(ext),
                             {offsets[i], sizes[i]}));
    }
    return slice(side, sOffsets, sSizes);
  }
};
} // namespace

FailureOr<TilingResult>
AttentionOp::getTiledImplementation(OpBuilder &b,
                                    ArrayRef<OpFoldResult> offsets,
                                    ArrayRef<OpFoldResult> sizes) {
  Location loc = getLoc();
  TileBuilder tb{b, loc, {}};
  MLIRContext *ctx = getContext();
  AffineExpr d0, d1, d2, d3;
  bindDims(ctx, d0, d1, d2, d3);

  auto kType = cast<RankedTensorType>(getKey().getType());
  auto vType = cast<RankedTensorType>(getValue().getType());
  OpFoldResult hq = tensor::getMixedSize(b, loc, getQuery(), 1);
  OpFoldResult sq = tensor::getMixedSize(b, loc, getQuery(), 2);
  OpFoldResult hkv = tensor::getMixedSize(b, loc, getKey(), 1);
  OpFoldResult skv = tensor::getMixedSize(b, loc, getKey(), 2);
  OpFoldResult dk = tensor::getMixedSize(b, loc, getKey(), 3);
  OpFoldResult dv = tensor::getMixedSize(b, loc, getValue(), 3);

  // Quantized queries and Delta-S group query rows (scales, q-bar): tiles
  // would have to follow those groups.
  if (isQueryQuantized() || getDeltaS())
    return emitOpError() << "tiling attention with quantized queries or "
                            "delta_s is not supported";

  // Query heads [h0, h0 + th) read KV heads [h0 / g, (h0 + th) / g): a
  // tile must hold whole groups.
  int64_t group = getGroupSize();
  std::optional<int64_t> staticHeads = getConstantIntValue(sizes[1]);
  std::optional<int64_t> staticOffset = getConstantIntValue(offsets[1]);
  if (!ShapedType::isDynamic(group) && group > 1 &&
      ((staticHeads && *staticHeads % group) ||
       (staticOffset && *staticOffset % group)))
    return emitOpError() << "a tile of query heads must cover whole GQA "
                            "groups of "
                         << group << " heads";
  OpFoldResult g = tb.apply(d0.floorDiv(d1), {hq, hkv});
  OpFoldResult kvHead = tb.apply(d0.floorDiv(d1), {offsets[1], g});
  OpFoldResult kvHeads = tb.apply(d0.floorDiv(d1), {sizes[1], g});

  // With `causal`, rows [s0, s0 + ts) see keys j <= i + Skv - Sq, so the
  // tile reads the prefix of max(0, s0 + ts + Skv - Sq) keys; with that
  // length the tile's own bottom-right alignment is the original one.
  OpFoldResult keys = skv;
  if (getCausal())
    keys = affine::makeComposedFoldedAffineMax(
        b, loc,
        AffineMap::get(4, 0, {d0 + d1 + d2 - d3, getAffineConstantExpr(0, ctx)},
                       ctx),
        {offsets[2], sizes[2], skv, sq});

  Value q = tb.slice(getQuery(),
                     {offsets[0], offsets[1], offsets[2], b.getIndexAttr(0)},
                     {sizes[0], sizes[1], sizes[2], dk});
  SmallVector<OpFoldResult> kvOffsets = {offsets[0], kvHead, b.getIndexAttr(0),
                                         b.getIndexAttr(0)};
  SmallVector<OpFoldResult> kSizes = {sizes[0], kvHeads, keys, dk};
  SmallVector<OpFoldResult> vSizes = {sizes[0], kvHeads, keys, dv};
  Value k = tb.slice(getKey(), kvOffsets, kSizes);
  Value v = tb.slice(getValue(), kvOffsets, vSizes);

  auto sides = [&](QuantSchemeAttr scheme, RankedTensorType type, Value side,
                   ArrayRef<OpFoldResult> dataSizes) -> Value {
    if (!side)
      return Value();
    return tb.sideSlice(side, scheme, type.getShape(), kvOffsets, dataSizes);
  };
  Value kScale = sides(getKeySchemeAttr(), kType, getKeyScale(), kSizes);
  Value kZero = sides(getKeySchemeAttr(), kType, getKeyZeroPoint(), kSizes);
  Value vScale = sides(getValueSchemeAttr(), vType, getValueScale(), vSizes);
  Value vZero = sides(getValueSchemeAttr(), vType, getValueZeroPoint(), vSizes);

  Value mask;
  if (Value fullMask = getMask()) {
    auto mType = cast<RankedTensorType>(fullMask.getType());
    SmallVector<OpFoldResult> mOffsets, mSizes;
    for (int64_t i = 0; i < 2; ++i) {
      bool broadcast = mType.getShape()[i] == 1;
      mOffsets.push_back(broadcast ? b.getIndexAttr(0) : offsets[i]);
      mSizes.push_back(broadcast ? b.getIndexAttr(1) : sizes[i]);
    }
    mOffsets.append({offsets[2], b.getIndexAttr(0)});
    mSizes.append({sizes[2], keys});
    mask = tb.slice(fullMask, mOffsets, mSizes);
  }

  SmallVector<OpFoldResult> resultOffsets, resultSizes;
  if (failed(getResultTilePosition(b, 0, offsets, sizes, resultOffsets,
                                   resultSizes)))
    return failure();
  SmallVector<int64_t> staticSizes;
  SmallVector<Value> dynamicSizes;
  dispatchIndexOpFoldResults(resultSizes, dynamicSizes, staticSizes);
  auto resultType = RankedTensorType::get(
      staticSizes, getResult().getType().getElementType());

  auto tiled =
      AttentionOp::create(b, loc, resultType, q, k, v, kScale, kZero, vScale,
                          vZero, mask, getKeySchemeAttr(), getValueSchemeAttr(),
                          getScaleAttr(), getCausalAttr());
  if (std::optional<Type> pType = getPType())
    tiled.setPTypeAttr(TypeAttr::get(*pType));
  // A default scale depends on D only, which tiles never split.
  return TilingResult{{tiled}, {tiled.getResult()}, tb.slices};
}

//===----------------------------------------------------------------------===//
// Result shapes of the quantization ops
//===----------------------------------------------------------------------===//

/// `ceildiv(size, divisor) * factor` as a folded affine.apply.
static OpFoldResult ceilDivTimes(OpBuilder &b, Location loc, OpFoldResult size,
                                 int64_t divisor, int64_t factor) {
  AffineExpr s0 = b.getAffineSymbolExpr(0);
  return affine::makeComposedFoldedAffineApply(
      b, loc, s0.ceilDiv(divisor) * factor, {size});
}

LogicalResult
QuantizeOp::reifyResultShapes(OpBuilder &b,
                              ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  Location loc = getLoc();
  Value input = getInput();
  int64_t rank = getInput().getType().getRank();
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, input);
  reifiedReturnShapes.push_back(sizes); // codes: the input's shape
  // Scale and zero point: one entry per block (QuantSchemeAttr::
  // getScaleShape), a static size where the type has one.
  QuantSchemeAttr scheme = getScheme();
  SmallVector<int64_t> blocks =
      scheme.getBlockShape(SmallVector<int64_t>(rank, ShapedType::kDynamic));
  ArrayRef<int64_t> scaleShape =
      cast<RankedTensorType>(getScale().getType()).getShape();
  SmallVector<OpFoldResult> scaleSizes;
  for (int64_t d = 0; d < rank; ++d) {
    if (!ShapedType::isDynamic(scaleShape[d]))
      scaleSizes.push_back(b.getIndexAttr(scaleShape[d]));
    else if (scheme.getGranularity() == Granularity::Fragment && d == rank - 2)
      scaleSizes.push_back(ceilDivTimes(b, loc, sizes[d],
                                        scheme.getFragmentRows(),
                                        scheme.getFragmentGroups()));
    else if (ShapedType::isDynamic(blocks[d]))
      scaleSizes.push_back(b.getIndexAttr(1)); // one block spans the dim
    else
      scaleSizes.push_back(ceilDivTimes(b, loc, sizes[d], blocks[d], 1));
  }
  reifiedReturnShapes.push_back(scaleSizes);
  if (getZeroPoint())
    reifiedReturnShapes.push_back(scaleSizes);
  return success();
}

LogicalResult DequantizeOp::reifyResultShapes(
    OpBuilder &b, ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  reifiedReturnShapes.push_back(
      tensor::getMixedSizes(b, getLoc(), getCodes())); // the codes' shape
  return success();
}

/// The sizes of `from` with the last one replaced: the static size of
/// `resultType` there, or `last` of `from` scaled by `mul / div`.
static SmallVector<OpFoldResult> reifyRepacked(OpBuilder &b, Location loc,
                                               Value from,
                                               RankedTensorType resultType,
                                               int64_t mul, int64_t div) {
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, from);
  int64_t last = resultType.getRank() - 1;
  if (!resultType.isDynamicDim(last)) {
    sizes.back() = b.getIndexAttr(resultType.getDimSize(last));
  } else {
    AffineExpr s0 = b.getAffineSymbolExpr(0);
    sizes.back() = affine::makeComposedFoldedAffineApply(
        b, loc, (s0 * mul).floorDiv(div), {sizes.back()});
  }
  return sizes;
}

LogicalResult
PackOp::reifyResultShapes(OpBuilder &b,
                          ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  reifiedReturnShapes.push_back(reifyRepacked(
      b, getLoc(), getCodes(), getBytes().getType(), 1, getCodesPerByte()));
  return success();
}

LogicalResult
UnpackOp::reifyResultShapes(OpBuilder &b,
                            ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  reifiedReturnShapes.push_back(reifyRepacked(
      b, getLoc(), getBytes(), getCodes().getType(), getCodesPerByte(), 1));
  return success();
}
