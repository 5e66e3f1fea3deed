//===- LowerQuant.cpp - Lower quantize / dequantize / pack to linalg ------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// Standalone (unfused) quantization on tensors becomes linalg on tensors:
//
//   kvq.quantize   = a reduction computing per-block statistics into a
//                    scale-shaped tensor, an elementwise op turning them into
//                    scales (and zero points), and an elementwise op encoding
//                    every element with the scale of its block;
//   kvq.dequantize = one elementwise op;
//   kvq.pack       = a reduction OR-ing the codes of each byte together;
//   kvq.unpack     = one elementwise op shifting them out again.
//
// A block is addressed by an affine map from the data index to the scale
// index: `d floordiv extent` along a blocked dimension, `d` along a
// dimension with blocks of one element and the constant 0 along a dimension
// covered whole, so ragged last blocks and dynamic dimensions need no
// special case. The arithmetic comes from QuantCodegen and matches
// python/kvq/reference.py bit for bit.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Conversion/KVQToLinalg/KVQToLinalg.h"
#include "kvq/Conversion/Passes.h"
#include "kvq/Dialect/KVQ/Utils/QuantCodegen.h"
#include "kvq/Dialect/KVQ/Utils/SubByte.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

using namespace mlir;
using namespace mlir::kvq;

namespace {

/// Where the elements of data of some rank find their block.
struct BlockLayout {
  /// Block extent per dimension; kDynamic for a dimension covered whole.
  SmallVector<int64_t> extent;
  /// Data index -> scale index.
  AffineMap map;
  /// `reduction` along the dimensions a block spans more than one index of.
  SmallVector<utils::IteratorType> iterators;
};

} // namespace

static BlockLayout getBlockLayout(QuantSchemeAttr scheme, int64_t rank,
                                  MLIRContext *ctx) {
  BlockLayout layout;
  // On a fully dynamic shape getBlockShape leaves exactly the dimensions
  // covered whole dynamic.
  layout.extent =
      scheme.getBlockShape(SmallVector<int64_t>(rank, ShapedType::kDynamic));
  SmallVector<AffineExpr> exprs;
  bool fragment = scheme.getGranularity() == Granularity::Fragment;
  for (auto [i, extent] : llvm::enumerate(layout.extent)) {
    AffineExpr d = getAffineDimExpr(i, ctx);
    if (fragment && static_cast<int64_t>(i) == rank - 2) {
      // Token t -> its window's first group plus its group in the window.
      exprs.push_back(d.floorDiv(scheme.getFragmentRows()) *
                          scheme.getFragmentGroups() +
                      (d % scheme.getFragmentPeriod())
                          .floorDiv(scheme.getFragmentRun()));
      layout.iterators.push_back(utils::IteratorType::reduction);
      continue;
    }
    if (ShapedType::isDynamic(extent))
      exprs.push_back(getAffineConstantExpr(0, ctx));
    else if (extent == 1)
      exprs.push_back(d);
    else
      exprs.push_back(d.floorDiv(extent));
    layout.iterators.push_back(extent == 1 ? utils::IteratorType::parallel
                                           : utils::IteratorType::reduction);
  }
  layout.map = AffineMap::get(rank, 0, exprs, ctx);
  return layout;
}

/// The dynamic sizes of a tensor of `type` whose dimension `i` is
/// `getSize(i)` at run time.
static SmallVector<Value>
getDynamicSizes(RankedTensorType type, function_ref<Value(int64_t)> getSize) {
  SmallVector<Value> sizes;
  for (auto [i, dim] : llvm::enumerate(type.getShape()))
    if (ShapedType::isDynamic(dim))
      sizes.push_back(getSize(i));
  return sizes;
}

/// An empty tensor of `type` with the sizes of `like` (same rank).
static Value createEmptyLike(OpBuilder &b, Location loc, RankedTensorType type,
                             Value like) {
  SmallVector<Value> sizes = getDynamicSizes(type, [&](int64_t i) -> Value {
    return tensor::DimOp::create(b, loc, like, i);
  });
  return tensor::EmptyOp::create(b, loc, type, sizes);
}

/// The run-time sizes of the scale tensor of `data` (rank-many values):
/// `ceildiv(dim, extent)` per dimension, 1 along dimensions covered whole.
static SmallVector<Value> getScaleSizes(OpBuilder &b, Location loc, Value data,
                                        QuantSchemeAttr scheme,
                                        const BlockLayout &layout) {
  SmallVector<Value> sizes;
  int64_t rank = layout.extent.size();
  for (auto [i, extent] : llvm::enumerate(layout.extent)) {
    if (scheme.getGranularity() == Granularity::Fragment &&
        static_cast<int64_t>(i) == rank - 2) {
      Value windows = b.createOrFold<arith::CeilDivUIOp>(
          loc, b.createOrFold<tensor::DimOp>(loc, data, i),
          arith::ConstantIndexOp::create(b, loc, scheme.getFragmentRows()));
      sizes.push_back(b.createOrFold<arith::MulIOp>(
          loc, windows,
          arith::ConstantIndexOp::create(b, loc, scheme.getFragmentGroups())));
      continue;
    }
    if (ShapedType::isDynamic(extent)) {
      sizes.push_back(arith::ConstantIndexOp::create(b, loc, 1));
      continue;
    }
    Value dim = b.createOrFold<tensor::DimOp>(loc, data, i);
    if (extent > 1)
      dim = b.createOrFold<arith::CeilDivUIOp>(
          loc, dim, arith::ConstantIndexOp::create(b, loc, extent));
    sizes.push_back(dim);
  }
  return sizes;
}

/// An empty scale-shaped tensor of `type` with the sizes `scaleSizes`.
static Value createEmptyScale(OpBuilder &b, Location loc, RankedTensorType type,
                              ArrayRef<Value> scaleSizes) {
  return tensor::EmptyOp::create(
      b, loc, type,
      getDynamicSizes(type, [&](int64_t i) { return scaleSizes[i]; }));
}

namespace {

//===----------------------------------------------------------------------===//
// QuantizeOp
//===----------------------------------------------------------------------===//

struct LowerQuantizeOp : OpRewritePattern<QuantizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(QuantizeOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    QuantSchemeAttr scheme = op.getScheme();
    Value input = op.getInput();
    int64_t rank = op.getInput().getType().getRank();
    BlockLayout layout = getBlockLayout(scheme, rank, getContext());
    AffineMap identity = rewriter.getMultiDimIdentityMap(rank);
    auto scaleType = cast<RankedTensorType>(op.getScale().getType());
    int64_t scaleRank = scaleType.getRank();

    // Only the dynamic sizes are used; static ones fold away.
    SmallVector<Value> scaleSizes = getScaleSizes(rewriter, loc, input, scheme, layout);

    // 1. Per-block statistics over the finite values, in f32.
    auto statsType = scaleType.clone(rewriter.getF32Type());
    SmallVector<Value> statsInit;
    for (Value init : emitQuantStatisticsInit(rewriter, loc, scheme,
                                              rewriter.getF32Type())) {
      Value empty = createEmptyScale(rewriter, loc, statsType, scaleSizes);
      statsInit.push_back(
          linalg::FillOp::create(rewriter, loc, init, empty).getResult(0));
    }
    SmallVector<AffineMap> statsMaps = {identity};
    statsMaps.append(statsInit.size(), layout.map);
    auto stats = linalg::GenericOp::create(
        rewriter, loc, ValueRange(statsInit).getTypes(), ValueRange{input},
        statsInit, statsMaps, layout.iterators,
        [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
          SmallVector<Value> updated = emitUpdateQuantStatistics(
              b, nestedLoc, scheme, args[0], args.drop_front());
          linalg::YieldOp::create(b, nestedLoc, updated);
        });

    // 2. Scales (and zero points) in the scale type.
    SmallVector<Value> sideInit = {
        createEmptyScale(rewriter, loc, scaleType, scaleSizes)};
    if (Value zeroPoint = op.getZeroPoint())
      sideInit.push_back(createEmptyScale(
          rewriter, loc, cast<RankedTensorType>(zeroPoint.getType()),
          scaleSizes));
    SmallVector<AffineMap> sideMaps(stats.getNumResults() + sideInit.size(),
                                    rewriter.getMultiDimIdentityMap(scaleRank));
    auto side = linalg::GenericOp::create(
        rewriter, loc, ValueRange(sideInit).getTypes(), stats.getResults(),
        sideInit, sideMaps,
        SmallVector<utils::IteratorType>(scaleRank,
                                         utils::IteratorType::parallel),
        [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
          SmallVector<Value> values = emitScaleFromStatistics(
              b, nestedLoc, scheme, args.take_front(stats.getNumResults()));
          linalg::YieldOp::create(b, nestedLoc, values);
        });

    // 3. Codes, each element with the side data of its block.
    auto codesType = cast<RankedTensorType>(op.getCodes().getType());
    Value codesInit = createEmptyLike(rewriter, loc, codesType, input);
    SmallVector<Value> codesInputs = {input};
    llvm::append_range(codesInputs, side.getResults());
    SmallVector<AffineMap> codesMaps = {identity};
    codesMaps.append(side.getNumResults(), layout.map);
    codesMaps.push_back(identity);
    auto codes = linalg::GenericOp::create(
        rewriter, loc, TypeRange{codesType}, codesInputs, ValueRange{codesInit},
        codesMaps,
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
          Value zeroPoint = scheme.hasZeroPoint() ? args[2] : Value();
          Value code =
              emitQuantize(b, nestedLoc, scheme, args[0], args[1], zeroPoint);
          linalg::YieldOp::create(b, nestedLoc, code);
        });

    SmallVector<Value> results = {codes.getResult(0)};
    llvm::append_range(results, side.getResults());
    rewriter.replaceOp(op, results);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// DequantizeOp
//===----------------------------------------------------------------------===//

struct LowerDequantizeOp : OpRewritePattern<DequantizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(DequantizeOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    QuantSchemeAttr scheme = op.getScheme();
    Value codes = op.getCodes();
    int64_t rank = cast<RankedTensorType>(codes.getType()).getRank();
    BlockLayout layout = getBlockLayout(scheme, rank, getContext());
    AffineMap identity = rewriter.getMultiDimIdentityMap(rank);

    RankedTensorType resultType = op.getResult().getType();
    Type resultElementType = resultType.getElementType();
    SmallVector<Value> inputs = {codes, op.getScale()};
    if (Value zeroPoint = op.getZeroPoint())
      inputs.push_back(zeroPoint);
    SmallVector<AffineMap> maps = {identity};
    maps.append(inputs.size() - 1, layout.map);
    maps.push_back(identity);
    Value init = createEmptyLike(rewriter, loc, resultType, codes);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{resultType}, inputs, ValueRange{init}, maps,
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
          Value zeroPoint = scheme.hasZeroPoint() ? args[2] : Value();
          Value value = emitDecodeAndDequantize(b, nestedLoc, scheme, args[0],
                                                args[1], zeroPoint);
          linalg::YieldOp::create(
              b, nestedLoc,
              emitConvertFromF32(b, nestedLoc, value, resultElementType));
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

//===----------------------------------------------------------------------===//
// PackOp and UnpackOp
//===----------------------------------------------------------------------===//

/// `[[0], [1], ..., [rank - 1, rank]]`: splits the last dimension in two.
static SmallVector<ReassociationIndices> splitLastReassociation(int64_t rank) {
  SmallVector<ReassociationIndices> reassociation;
  for (int64_t i = 0; i + 1 < rank; ++i)
    reassociation.push_back({i});
  reassociation.push_back({rank - 1, rank});
  return reassociation;
}

/// The shift of code `k` (a linalg.index) within its byte: `k * bits`, as
/// an i8.
static Value emitCodeShift(OpBuilder &b, Location loc, int64_t dim,
                           unsigned bits) {
  return emitFieldBitOffset(b, loc, linalg::IndexOp::create(b, loc, dim), bits,
                            b.getI8Type());
}

struct LowerPackOp : OpRewritePattern<PackOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(PackOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value codes = op.getCodes();
    RankedTensorType codesType = op.getCodes().getType();
    RankedTensorType bytesType = op.getBytes().getType();
    int64_t rank = codesType.getRank();
    unsigned bits = op.getCodeBitWidth();
    int64_t perByte = op.getCodesPerByte();

    // [..., n] -> [..., n / perByte, perByte]: one row per byte.
    SmallVector<int64_t> expandedShape(codesType.getShape());
    expandedShape.back() = bytesType.getShape().back();
    expandedShape.push_back(perByte);
    SmallVector<OpFoldResult> outputShape =
        tensor::getMixedSizes(rewriter, loc, codes);
    outputShape.back() = rewriter.getIndexAttr(expandedShape[rank - 1]);
    outputShape.push_back(rewriter.getIndexAttr(perByte));
    Value expanded = tensor::ExpandShapeOp::create(
        rewriter, loc, codesType.clone(expandedShape), codes,
        splitLastReassociation(rank), outputShape);

    // OR the codes of a byte into it, the first one in the low bits.
    Value empty = createEmptyLike(rewriter, loc, bytesType, codes);
    Value zero =
        arith::ConstantOp::create(rewriter, loc, rewriter.getI8IntegerAttr(0));
    Value init =
        linalg::FillOp::create(rewriter, loc, zero, empty).getResult(0);
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    iterators.push_back(utils::IteratorType::reduction);
    SmallVector<AffineMap> maps = {
        rewriter.getMultiDimIdentityMap(rank + 1),
        rewriter.getMultiDimIdentityMap(rank + 1).getMajorSubMap(rank)};
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{bytesType}, ValueRange{expanded},
        ValueRange{init}, maps, iterators,
        [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
          Value code =
              arith::ExtUIOp::create(b, nestedLoc, b.getI8Type(), args[0]);
          linalg::YieldOp::create(
              b, nestedLoc,
              emitInsertField(b, nestedLoc, args[1], code,
                              emitCodeShift(b, nestedLoc, rank, bits)));
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

struct LowerUnpackOp : OpRewritePattern<UnpackOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(UnpackOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value bytes = op.getBytes();
    RankedTensorType bytesType = op.getBytes().getType();
    RankedTensorType codesType = op.getCodes().getType();
    int64_t rank = bytesType.getRank();
    unsigned bits = op.getCodeBitWidth();
    int64_t perByte = op.getCodesPerByte();

    // Codes as [..., bytes, perByte], code k of a byte at bit k * bits.
    SmallVector<int64_t> expandedShape(bytesType.getShape());
    expandedShape.push_back(perByte);
    auto expandedType =
        RankedTensorType::get(expandedShape, codesType.getElementType());
    SmallVector<Value> sizes =
        getDynamicSizes(expandedType, [&](int64_t i) -> Value {
          return tensor::DimOp::create(rewriter, loc, bytes, i);
        });
    Value init = tensor::EmptyOp::create(rewriter, loc, expandedType, sizes);
    SmallVector<AffineMap> maps = {
        rewriter.getMultiDimIdentityMap(rank + 1).getMajorSubMap(rank),
        rewriter.getMultiDimIdentityMap(rank + 1)};
    Type codeType = codesType.getElementType();
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{expandedType}, ValueRange{bytes},
        ValueRange{init}, maps,
        SmallVector<utils::IteratorType>(rank + 1,
                                         utils::IteratorType::parallel),
        [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
          linalg::YieldOp::create(
              b, nestedLoc,
              emitExtractField(b, nestedLoc, args[0],
                               emitCodeShift(b, nestedLoc, rank, bits), bits,
                               FieldExtension::Zero, codeType));
        });

    Value result = tensor::CollapseShapeOp::create(
        rewriter, loc, generic.getResult(0), splitLastReassociation(rank));
    if (result.getType() != codesType)
      result = tensor::CastOp::create(rewriter, loc, codesType, result);
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//


} // namespace

void mlir::kvq::populateLowerQuantPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerQuantizeOp, LowerDequantizeOp, LowerPackOp, LowerUnpackOp>(
      patterns.getContext());
}
