//===- LowerPolar.cpp - kvq.polar_encode / polar_decode to linalg ---------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// PolarQuant on tensors. Encoding is one linalg.generic per level (f64:
// the angle, its code and the radius of every pair of the level below)
// and one per level packing the codes into bytes; decoding is a single
// elementwise linalg.generic: channel c of a token is its block's radius
// times one cosine or sine per level, read from compile-time tables.
// Both match python/kvq/reference.py (polar_encode, polar_decode).
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Conversion/KVQToLinalg/KVQToLinalg.h"
#include "kvq/Conversion/Passes.h"
#include "kvq/Dialect/KVQ/Utils/LinalgBuilders.h"
#include "kvq/Dialect/KVQ/Utils/Polar.h"
#include "kvq/Dialect/KVQ/Utils/QuantCodegen.h"
#include "kvq/Dialect/KVQ/Utils/SubByte.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

using namespace mlir;
using namespace mlir::kvq;

namespace {

static constexpr double kTwoPi = 6.28318530717958647692;

/// `value` (a float scalar) as f64.
static Value extendToF64(OpBuilder &b, Location loc, Value value) {
  if (value.getType().isF64())
    return value;
  return arith::ExtFOp::create(b, loc, b.getF64Type(),
                               emitExtendToF32(b, loc, value));
}

/// [B, H, S] of `like` and a static last extent.
static SmallVector<OpFoldResult> rowSizes(OpBuilder &b, Location loc,
                                          Value like, int64_t last) {
  return {tensor::getMixedSize(b, loc, like, 0),
          tensor::getMixedSize(b, loc, like, 1),
          tensor::getMixedSize(b, loc, like, 2), b.getIndexAttr(last)};
}

static SmallVector<utils::IteratorType> parallel4() {
  return SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel);
}

/// One level of the polar transform of `lower` [B, H, S, 2n] (channels at
/// level 1, f64 radii above): the codes (i8, one per angle) and the radii
/// (f64) of the n pairs (2j, 2j + 1).
static std::pair<Value, Value> emitLevel(OpBuilder &b, Location loc,
                                         Value lower, int64_t level,
                                         ArrayRef<double> boundaries) {
  MLIRContext *ctx = b.getContext();
  int64_t n = cast<RankedTensorType>(lower.getType()).getDimSize(3) / 2;
  SmallVector<OpFoldResult> sizes = rowSizes(b, loc, lower, n);
  Value codes = tensor::EmptyOp::create(b, loc, sizes, b.getI8Type());
  Value radii = tensor::EmptyOp::create(b, loc, sizes, b.getF64Type());
  AffineExpr d0, d1, d2, j;
  bindDims(ctx, d0, d1, d2, j);
  AffineMap even = AffineMap::get(4, 0, {d0, d1, d2, j * 2}, ctx);
  AffineMap odd = AffineMap::get(4, 0, {d0, d1, d2, j * 2 + 1}, ctx);
  AffineMap id = b.getMultiDimIdentityMap(4);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{codes.getType(), radii.getType()},
      ValueRange{lower, lower}, ValueRange{codes, radii},
      ArrayRef<AffineMap>{even, odd, id, id}, parallel4(),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value x = extendToF64(nb, nl, args[0]);
        Value y = extendToF64(nb, nl, args[1]);
        auto f64 = [&](double v) -> Value {
          return arith::ConstantOp::create(nb, nl, nb.getF64FloatAttr(v));
        };
        Value psi = math::Atan2Op::create(nb, nl, y, x);
        if (level == 1) {
          // atan2 is in [-pi, pi]; level-1 angles are in [0, 2 pi).
          Value negative = arith::CmpFOp::create(
              nb, nl, arith::CmpFPredicate::OLT, psi, f64(0.0));
          psi = arith::SelectOp::create(
              nb, nl, negative, arith::AddFOp::create(nb, nl, psi, f64(kTwoPi)),
              psi);
        }
        // The code is the number of cell boundaries below the angle.
        Value code = arith::ConstantOp::create(nb, nl, nb.getI8IntegerAttr(0));
        for (double t : boundaries) {
          Value above = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OGT,
                                              psi, f64(t));
          code = arith::AddIOp::create(
              nb, nl, code,
              arith::ExtUIOp::create(nb, nl, nb.getI8Type(), above));
        }
        Value r = math::SqrtOp::create(
            nb, nl,
            arith::AddFOp::create(nb, nl, arith::MulFOp::create(nb, nl, x, x),
                                  arith::MulFOp::create(nb, nl, y, y)));
        linalg::YieldOp::create(nb, nl, ValueRange{code, r});
      });
  return {generic.getResult(0), generic.getResult(1)};
}

/// Packs `codes` [B, H, S, n] (i8 values < 2^bits) LSB first into
/// [B, H, S, ceil(n * bits / 8)] bytes, the unused high bits of a row's
/// last byte zero.
static Value emitPack(OpBuilder &b, Location loc, Value codes, int64_t bits) {
  MLIRContext *ctx = b.getContext();
  int64_t n = cast<RankedTensorType>(codes.getType()).getDimSize(3);
  int64_t perByte = getCodesPerByte(bits);
  int64_t bytes = (n + perByte - 1) / perByte;
  if (n % perByte) {
    // Pad the row with zero codes to whole bytes.
    Value zero = arith::ConstantOp::create(b, loc, b.getI8IntegerAttr(0));
    Value padded =
        linalg::FillOp::create(
            b, loc, zero,
            tensor::EmptyOp::create(
                b, loc, rowSizes(b, loc, codes, bytes * perByte), b.getI8Type())
                .getResult())
            .getResult(0);
    SmallVector<OpFoldResult> offsets(4, b.getIndexAttr(0));
    SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
    codes = tensor::InsertSliceOp::create(b, loc, codes, padded, offsets,
                                          rowSizes(b, loc, codes, n), strides);
  }
  if (perByte == 1)
    return codes;
  AffineExpr d0, d1, d2, k;
  bindDims(ctx, d0, d1, d2, k);
  SmallVector<AffineMap> maps;
  for (int64_t i = 0; i < perByte; ++i)
    maps.push_back(AffineMap::get(4, 0, {d0, d1, d2, k * perByte + i}, ctx));
  maps.push_back(b.getMultiDimIdentityMap(4));
  Value init = tensor::EmptyOp::create(b, loc, rowSizes(b, loc, codes, bytes),
                                       b.getI8Type());
  SmallVector<Value> inputs(perByte, codes);
  return linalg::GenericOp::create(
             b, loc, init.getType(), inputs, ValueRange{init}, maps,
             parallel4(),
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               linalg::YieldOp::create(
                   nb, nl, emitPackFields(nb, nl, args.drop_back(), bits));
             })
      .getResult(0);
}

struct LowerPolarEncode : OpRewritePattern<PolarEncodeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(PolarEncodeOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    SmallVector<Value> results;
    Value lower = op.getInput();
    for (auto [i, bits] : llvm::enumerate(op.getBits())) {
      int64_t level = i + 1;
      auto [codes, radii] =
          emitLevel(rewriter, loc, lower, level,
                    polarBoundaries(polarCodebook(level, bits)));
      results.push_back(emitPack(rewriter, loc, codes, bits));
      lower = radii;
    }
    // The block radius, rounded to f32 and then to its type (f64 stays).
    RankedTensorType radiusType = op.getRadius().getType();
    Value radius = lower;
    if (!radiusType.getElementType().isF64())
      radius = createConvertFromF32(rewriter, loc, radius, radiusType);
    results.insert(results.begin(), radius);
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct LowerPolarDecode : OpRewritePattern<PolarDecodeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(PolarDecodeOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    RankedTensorType resultType = op.getResult().getType();
    int64_t levels = op.getLevels();
    ArrayRef<int64_t> bits = op.getBits();

    // Per level, the table t[2 code + s] = (cos, sin)[s](centroid[code]).
    SmallVector<Value> tables;
    for (auto [i, width] : llvm::enumerate(bits)) {
      std::vector<float> table = polarTrigTable(i + 1, width);
      auto type = RankedTensorType::get({static_cast<int64_t>(table.size())},
                                        rewriter.getF32Type());
      tables.push_back(arith::ConstantOp::create(
          rewriter, loc, DenseElementsAttr::get(type, ArrayRef<float>(table))));
    }

    AffineExpr d0, d1, d2, c;
    bindDims(ctx, d0, d1, d2, c);
    SmallVector<AffineMap> maps = {
        AffineMap::get(4, 0, {d0, d1, d2, c.floorDiv(op.getBlockSize())}, ctx)};
    // Angle c >> l of level l lives in byte (c >> l) / (8 / bits).
    for (auto [i, width] : llvm::enumerate(bits))
      maps.push_back(AffineMap::get(
          4, 0, {d0, d1, d2, c.floorDiv((int64_t(1) << (i + 1)) * (8 / width))},
          ctx));
    maps.push_back(rewriter.getMultiDimIdentityMap(4));
    SmallVector<Value> inputs = {op.getRadius()};
    llvm::append_range(inputs, op.getCodes());
    SmallVector<Value> dyn;
    for (int64_t i = 0; i < 3; ++i)
      if (resultType.isDynamicDim(i))
        dyn.push_back(tensor::DimOp::create(rewriter, loc, op.getRadius(), i));
    Value init = tensor::EmptyOp::create(rewriter, loc, resultType.getShape(),
                                         resultType.getElementType(), dyn);
    Value decoded =
        linalg::GenericOp::create(
            rewriter, loc, resultType, inputs, ValueRange{init}, maps,
            parallel4(),
            [&](OpBuilder &nb, Location nl, ValueRange args) {
              auto index = [&](int64_t v) -> Value {
                return arith::ConstantIndexOp::create(nb, nl, v);
              };
              Value channel = linalg::IndexOp::create(nb, nl, 3);
              Value value = emitExtendToF32(nb, nl, args[0]);
              for (int64_t level = levels; level >= 1; --level) {
                int64_t width = bits[level - 1];
                // Code j = c >> level of the row.
                Value j = arith::ShRUIOp::create(nb, nl, channel, index(level));
                Value code = emitExtractField(
                    nb, nl, args[level],
                    emitCodeBitOffset(nb, nl, j, width, nb.getI32Type()), width,
                    FieldExtension::Zero, nb.getI32Type());
                // Bit level - 1 of c: cosine (0) or sine (1).
                Value side = arith::AndIOp::create(
                    nb, nl,
                    arith::ShRUIOp::create(nb, nl, channel, index(level - 1)),
                    index(1));
                Value entry = arith::AddIOp::create(
                    nb, nl,
                    arith::MulIOp::create(nb, nl,
                                          arith::IndexCastUIOp::create(
                                              nb, nl, nb.getIndexType(), code),
                                          index(2)),
                    side);
                Value factor = tensor::ExtractOp::create(
                    nb, nl, tables[level - 1], ValueRange{entry});
                value = arith::MulFOp::create(nb, nl, value, factor);
              }
              linalg::YieldOp::create(
                  nb, nl,
                  emitConvertFromF32(nb, nl, value,
                                     resultType.getElementType()));
            })
            .getResult(0);
    rewriter.replaceOp(op, decoded);
    return success();
  }
};


} // namespace

void mlir::kvq::populateLowerPolarPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerPolarEncode, LowerPolarDecode>(patterns.getContext());
}
