//===- LowerVidKV.cpp - VidKV encode / decode ops to linalg ---------------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// kvq.vidkv_encode_key:
//   1. the range of every channel (a max / min reduction over the tokens),
//      ranks by counting the channels ahead of each one (a D x D reduction
//      per head), the slot of each channel and its inverse (the channel of
//      each slot, again D x D);
//   2. the keys gathered in slot order (tensor.extract in an elementwise
//      generic), split into the high and the low channels;
//   3. high: KIVI 2-bit statistics / side data / codes from QuantCodegen
//      (so the numerics are kvq.quantize's), the codes OR-ed into bytes;
//   4. low: the real DFT as a contraction with a constant N x N matrix,
//      mean |r| per token group, and the sign bits OR-ed into bytes.
// kvq.vidkv_decode_key: the low spectrum dequantized, the inverse DFT (a
//   contraction), then every channel read from its slot.
// kvq.vidkv_encode_value: mean |v| per token group and the ternary digits
//   summed into base-3 bytes. kvq.vidkv_decode_value: one elementwise op.
// kvq.vidkv_decode_key_slots: one elementwise op (high value or signed
//   scale). kvq.vidkv_project_query: a contraction of the queries with the
//   constant slot-to-channel matrix, each channel reading its slot's row.
//
// The DFT is a dense matrix product rather than an FFT: N <= D is small,
// and a contraction needs nothing beyond linalg.
//
//===----------------------------------------------------------------------===//

#include "kvq/Conversion/KVQToLinalg/KVQToLinalg.h"
#include "kvq/Conversion/Passes.h"
#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Dialect/KVQ/Transforms/VidKV.h"
#include "kvq/Dialect/KVQ/Utils/LinalgBuilders.h"
#include "kvq/Dialect/KVQ/Utils/QuantCodegen.h"
#include "kvq/Dialect/KVQ/Utils/SubByte.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::kvq;

//===----------------------------------------------------------------------===//
// Shared numerics (also used by the attention decoders)
//===----------------------------------------------------------------------===//

std::vector<float> mlir::kvq::getVidKVForwardDFT(int64_t n) {
  // Row m < n/2 + 1: Re X_m; row n/2 + j: Im X_j, j in [1, ceil(n/2) - 1].
  std::vector<float> f(n * n);
  int64_t numRe = n / 2 + 1;
  for (int64_t m = 0; m < n; ++m) {
    bool isRe = m < numRe;
    int64_t j = isRe ? m : m - numRe + 1;
    for (int64_t t = 0; t < n; ++t) {
      double angle = 2.0 * M_PI * static_cast<double>((j * t) % n) / n;
      f[m * n + t] =
          static_cast<float>(isRe ? std::cos(angle) : -std::sin(angle));
    }
  }
  return f;
}

std::vector<float> mlir::kvq::getVidKVInverseDFT(int64_t n) {
  // x_t = (1/n) [sum_j w_j Re X_j cos(a) - 2 sum_j Im X_j sin(a)], a =
  // 2 pi j t / n, w_j = 1 for X_0 and (even n) X_{n/2}, else 2: the inverse
  // of a conjugate-symmetric spectrum.
  std::vector<float> g(n * n);
  int64_t numRe = n / 2 + 1;
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t m = 0; m < n; ++m) {
      bool isRe = m < numRe;
      int64_t j = isRe ? m : m - numRe + 1;
      double angle = 2.0 * M_PI * static_cast<double>((j * t) % n) / n;
      double w = (j == 0 || 2 * j == n) ? 1.0 : 2.0;
      g[t * n + m] = static_cast<float>(isRe ? w * std::cos(angle) / n
                                             : -2.0 * std::sin(angle) / n);
    }
  }
  return g;
}

namespace {

using utils::IteratorType;

constexpr IteratorType par = IteratorType::parallel;
constexpr IteratorType red = IteratorType::reduction;

/// Builds linalg.generic ops over a fixed number of loops.
struct GenericBuilder {
  OpBuilder &b;
  Location loc;
  unsigned numLoops;

  AffineExpr d(unsigned i) const { return b.getAffineDimExpr(i); }
  AffineMap map(ArrayRef<AffineExpr> exprs) const {
    return AffineMap::get(numLoops, 0, exprs, b.getContext());
  }

  /// One generic with `inits` as outputs; `body` returns the yielded values.
  SmallVector<Value>
  build(ValueRange ins, ArrayRef<SmallVector<AffineExpr>> inExprs,
        ValueRange inits, ArrayRef<SmallVector<AffineExpr>> outExprs,
        ArrayRef<IteratorType> iters,
        function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)>
            body) const {
    SmallVector<AffineMap> maps;
    for (const auto &e : inExprs)
      maps.push_back(map(e));
    for (const auto &e : outExprs)
      maps.push_back(map(e));
    auto op = linalg::GenericOp::create(
        b, loc, inits.getTypes(), ins, inits, maps, iters,
        [&](OpBuilder &nb, Location nl, ValueRange args) {
          linalg::YieldOp::create(nb, nl, body(nb, nl, args));
        });
    return SmallVector<Value>(op.getResults());
  }
};

Value cIndex(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}
Value cInt(OpBuilder &b, Location loc, Type type, int64_t v) {
  return arith::ConstantIntOp::create(b, loc, type, v);
}
Value cF32(OpBuilder &b, Location loc, double v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}
Value index(OpBuilder &b, Location loc, unsigned dim) {
  return linalg::IndexOp::create(b, loc, dim);
}
Value toIndex(OpBuilder &b, Location loc, Value v) {
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
}
Value fromIndex(OpBuilder &b, Location loc, Type type, Value v) {
  return arith::IndexCastOp::create(b, loc, type, v);
}

/// A constant `[n, n]` f32 tensor.
Value matrixConstant(OpBuilder &b, Location loc, int64_t n,
                     ArrayRef<float> values) {
  auto type = RankedTensorType::get({n, n}, b.getF32Type());
  return arith::ConstantOp::create(b, loc,
                                   DenseElementsAttr::get(type, values));
}

/// The sizes of `[B, H, S, D]` tensor `t` with the last one replaced.
SmallVector<OpFoldResult> sizesWithLast(OpBuilder &b, Location loc, Value t,
                                        OpFoldResult last) {
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, t);
  sizes.back() = last;
  return sizes;
}

/// [B, H, ceil(S / G), last] for `[B, H, S, D]` tensor `t`.
SmallVector<OpFoldResult> groupSizes(OpBuilder &b, Location loc, Value t,
                                     int64_t groupSize, OpFoldResult last) {
  SmallVector<OpFoldResult> sizes = sizesWithLast(b, loc, t, last);
  Value s = getValueOrCreateConstantIndexOp(b, loc, sizes[2]);
  sizes[2] =
      b.createOrFold<arith::CeilDivUIOp>(loc, s, cIndex(b, loc, groupSize));
  return sizes;
}

/// `value` as `type` (a tensor.cast where the static dims differ).
Value castTo(OpBuilder &b, Location loc, Type type, Value value) {
  if (value.getType() == type)
    return value;
  return tensor::CastOp::create(b, loc, type, value);
}

Value createEmpty(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                  Type elementType) {
  return tensor::EmptyOp::create(b, loc, sizes, elementType);
}

Value createFilled(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                   Value value) {
  return linalg::FillOp::create(b, loc, value,
                                createEmpty(b, loc, sizes, value.getType()))
      .getResult(0);
}

/// The number of tokens of group `g` (an index): min(G, S - g G), as f32.
Value groupCount(OpBuilder &b, Location loc, Value g, Value s,
                 int64_t groupSize) {
  Value size = cIndex(b, loc, groupSize);
  Value rest =
      arith::SubIOp::create(b, loc, s, arith::MulIOp::create(b, loc, g, size));
  Value count = arith::MinUIOp::create(b, loc, rest, size);
  return arith::UIToFPOp::create(
      b, loc, b.getF32Type(),
      arith::IndexCastUIOp::create(b, loc, b.getI32Type(), count));
}

/// 3^(c mod 5) as an i32 for an index c.
Value ternaryWeight(OpBuilder &b, Location loc, Value c) {
  Type i32 = b.getI32Type();
  Value r = fromIndex(b, loc, i32,
                      arith::RemUIOp::create(b, loc, c, cIndex(b, loc, 5)));
  Value w = cInt(b, loc, i32, 1);
  for (int64_t k = 1, p = 3; k < 5; ++k, p *= 3) {
    Value isK = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, r,
                                      cInt(b, loc, i32, k));
    w = arith::SelectOp::create(b, loc, isK, cInt(b, loc, i32, p), w);
  }
  return w;
}

/// Slot `slot` (an index) of a key with `nHigh` high slots: whether it is
/// high, and its index clamped into the high slots and into the low ones
/// (both valid to read; the caller selects by the first).
struct SlotIndices {
  Value isHigh, high, low;
};
SlotIndices splitSlot(OpBuilder &b, Location loc, Value slot, int64_t nHigh) {
  Value nHighIdx = cIndex(b, loc, nHigh);
  return {
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, slot, nHighIdx),
      arith::MinUIOp::create(b, loc, slot, cIndex(b, loc, nHigh - 1)),
      arith::SubIOp::create(
          b, loc, arith::MaxUIOp::create(b, loc, slot, nHighIdx), nHighIdx)};
}

//===----------------------------------------------------------------------===//
// VidKVEncodeKeyOp
//===----------------------------------------------------------------------===//

struct LowerVidKVEncodeKey : OpRewritePattern<VidKVEncodeKeyOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(VidKVEncodeKeyOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    Value x = op.getInput();
    int64_t d = op.getInput().getType().getDimSize(3);
    int64_t nHigh = op.getHighScale().getType().getDimSize(3);
    int64_t nLow = d - nHigh;
    int64_t groupSize = op.getGroupSize();
    Type f32 = b.getF32Type(), i32 = b.getI32Type(), i8 = b.getI8Type();
    Type scaleType = op.getHighScale().getType().getElementType();
    double inf = std::numeric_limits<double>::infinity();

    GenericBuilder g4{b, loc, 4};
    AffineExpr d0 = g4.d(0), d1 = g4.d(1), d2 = g4.d(2), d3 = g4.d(3);
    SmallVector<OpFoldResult> bhd = tensor::getMixedSizes(b, loc, x);
    bhd.erase(bhd.begin() + 2);

    // 1. Channel ranges (max, min over the tokens).
    SmallVector<Value> maxMin = g4.build(
        {x}, {{d0, d1, d2, d3}},
        {createFilled(b, loc, bhd, cF32(b, loc, -inf)),
         createFilled(b, loc, bhd, cF32(b, loc, inf))},
        {{d0, d1, d3}, {d0, d1, d3}}, {par, par, red, par},
        [&](OpBuilder &nb, Location nl, ValueRange a) -> SmallVector<Value> {
          Value v = emitExtendToF32(nb, nl, a[0]);
          return {arith::MaxNumFOp::create(nb, nl, a[1], v),
                  arith::MinNumFOp::create(nb, nl, a[2], v)};
        });

    // Rank of channel d2 = the channels d3 with a larger range, or an
    // equal range and a lower index.
    Value zeroI32 = createFilled(b, loc, bhd, cInt(b, loc, i32, 0));
    Value rank =
        g4.build(
              {maxMin[0], maxMin[1], maxMin[0], maxMin[1]},
              {{d0, d1, d2}, {d0, d1, d2}, {d0, d1, d3}, {d0, d1, d3}},
              {zeroI32}, {{d0, d1, d2}}, {par, par, par, red},
              [&](OpBuilder &nb, Location nl,
                  ValueRange a) -> SmallVector<Value> {
                Value mine = arith::SubFOp::create(nb, nl, a[0], a[1]);
                Value other = arith::SubFOp::create(nb, nl, a[2], a[3]);
                Value larger = arith::CmpFOp::create(
                    nb, nl, arith::CmpFPredicate::OGT, other, mine);
                Value equal = arith::CmpFOp::create(
                    nb, nl, arith::CmpFPredicate::OEQ, other, mine);
                Value lower =
                    arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult,
                                          index(nb, nl, 3), index(nb, nl, 2));
                Value ahead = arith::OrIOp::create(
                    nb, nl, larger,
                    arith::AndIOp::create(nb, nl, equal, lower));
                return {arith::AddIOp::create(
                    nb, nl, a[4], arith::ExtUIOp::create(nb, nl, i32, ahead))};
              })
            .front();

    // Slot of channel d2: among the high channels (rank < n_high) its
    // position, else n_high + its position among the low ones.
    Value nHighI32 = cInt(b, loc, i32, nHigh);
    Value highBefore =
        g4.build(
              {rank}, {{d0, d1, d3}}, {zeroI32}, {{d0, d1, d2}},
              {par, par, par, red},
              [&](OpBuilder &nb, Location nl,
                  ValueRange a) -> SmallVector<Value> {
                Value high = arith::CmpIOp::create(
                    nb, nl, arith::CmpIPredicate::slt, a[0], nHighI32);
                Value before =
                    arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult,
                                          index(nb, nl, 3), index(nb, nl, 2));
                Value count = arith::ExtUIOp::create(
                    nb, nl, i32, arith::AndIOp::create(nb, nl, high, before));
                return {arith::AddIOp::create(nb, nl, a[1], count)};
              })
            .front();
    GenericBuilder g3{b, loc, 3};
    AffineExpr e0 = g3.d(0), e1 = g3.d(1), e2 = g3.d(2);
    Value slots =
        g3.build(
              {rank, highBefore}, {{e0, e1, e2}, {e0, e1, e2}},
              {createEmpty(b, loc, bhd, i32)}, {{e0, e1, e2}}, {par, par, par},
              [&](OpBuilder &nb, Location nl,
                  ValueRange a) -> SmallVector<Value> {
                Value high = arith::CmpIOp::create(
                    nb, nl, arith::CmpIPredicate::slt, a[0], nHighI32);
                Value c = fromIndex(nb, nl, i32, index(nb, nl, 2));
                Value lowSlot = arith::SubIOp::create(
                    nb, nl, arith::AddIOp::create(nb, nl, nHighI32, c), a[1]);
                return {arith::SelectOp::create(nb, nl, high, a[1], lowSlot)};
              })
            .front();

    // Channel of slot d2 (slots are a permutation).
    Value source =
        g4.build({slots}, {{d0, d1, d3}}, {zeroI32}, {{d0, d1, d2}},
                 {par, par, par, red},
                 [&](OpBuilder &nb, Location nl,
                     ValueRange a) -> SmallVector<Value> {
                   Value here = arith::CmpIOp::create(
                       nb, nl, arith::CmpIPredicate::eq, a[0],
                       fromIndex(nb, nl, i32, index(nb, nl, 2)));
                   Value c = fromIndex(nb, nl, i32, index(nb, nl, 3));
                   return {arith::AddIOp::create(
                       nb, nl, a[1],
                       arith::SelectOp::create(nb, nl, here, c,
                                               cInt(nb, nl, i32, 0)))};
                 })
            .front();

    // 2. Keys in slot order (f32), split into high and low channels.
    SmallVector<OpFoldResult> kvSizes = tensor::getMixedSizes(b, loc, x);
    Value gathered =
        g4.build({source}, {{d0, d1, d3}}, {createEmpty(b, loc, kvSizes, f32)},
                 {{d0, d1, d2, d3}}, {par, par, par, par},
                 [&](OpBuilder &nb, Location nl,
                     ValueRange a) -> SmallVector<Value> {
                   Value v = tensor::ExtractOp::create(
                       nb, nl, x,
                       ValueRange{index(nb, nl, 0), index(nb, nl, 1),
                                  index(nb, nl, 2), toIndex(nb, nl, a[0])});
                   return {emitExtendToF32(nb, nl, v)};
                 })
            .front();
    auto slice = [&](int64_t offset, int64_t size) -> Value {
      SmallVector<OpFoldResult> offsets(4, b.getIndexAttr(0));
      offsets[3] = b.getIndexAttr(offset);
      SmallVector<OpFoldResult> sizes = kvSizes;
      sizes[3] = b.getIndexAttr(size);
      SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
      return tensor::ExtractSliceOp::create(b, loc, gathered, offsets, sizes,
                                            strides);
    };
    Value high = slice(0, nHigh), low = slice(nHigh, nLow);

    // 3. High channels: kvq.quantize's numerics, codes packed 4 per byte.
    QuantSchemeAttr scheme =
        getVidKVHighScheme(b.getContext(), groupSize, scaleType);
    AffineExpr grouped = d2.floorDiv(groupSize);
    SmallVector<OpFoldResult> highGroups =
        groupSizes(b, loc, x, groupSize, b.getIndexAttr(nHigh));
    SmallVector<Value> statsInit;
    for (Value init : emitQuantStatisticsInit(b, loc, scheme, f32))
      statsInit.push_back(createFilled(b, loc, highGroups, init));
    SmallVector<Value> stats = g4.build(
        {high}, {{d0, d1, d2, d3}}, statsInit,
        {{d0, d1, grouped, d3}, {d0, d1, grouped, d3}}, {par, par, red, par},
        [&](OpBuilder &nb, Location nl, ValueRange a) -> SmallVector<Value> {
          return emitUpdateQuantStatistics(nb, nl, scheme, a[0],
                                           a.drop_front());
        });
    SmallVector<Value> side = g4.build(
        stats, {{d0, d1, d2, d3}, {d0, d1, d2, d3}},
        {createEmpty(b, loc, highGroups, scaleType),
         createEmpty(b, loc, highGroups, scaleType)},
        {{d0, d1, d2, d3}, {d0, d1, d2, d3}}, {par, par, par, par},
        [&](OpBuilder &nb, Location nl, ValueRange a) -> SmallVector<Value> {
          return emitScaleFromStatistics(nb, nl, scheme, a.take_front(2));
        });
    Value zeroI8 = cInt(b, loc, i8, 0);
    Value highCodes =
        g4.build(
              {high, side[0], side[1]},
              {{d0, d1, d2, d3}, {d0, d1, grouped, d3}, {d0, d1, grouped, d3}},
              {createFilled(
                  b, loc,
                  sizesWithLast(b, loc, x, b.getIndexAttr((nHigh + 3) / 4)),
                  zeroI8)},
              {{d0, d1, d2, d3.floorDiv(4)}}, {par, par, par, red},
              [&](OpBuilder &nb, Location nl,
                  ValueRange a) -> SmallVector<Value> {
                Value code = emitQuantize(nb, nl, scheme, a[0], a[1], a[2]);
                Value byte = arith::ExtUIOp::create(nb, nl, i8, code);
                return {emitInsertField(
                    nb, nl, a[3], byte,
                    emitCodeBitOffset(nb, nl, index(nb, nl, 3), 2, i8))};
              })
            .front();

    // 4. Low channels: spectrum, mean |r| per group, sign bits.
    GenericBuilder g5{b, loc, 5};
    SmallVector<OpFoldResult> lowSizes =
        sizesWithLast(b, loc, x, b.getIndexAttr(nLow));
    Value spectrum = createContraction(
        b, loc, 5,
        {low, matrixConstant(b, loc, nLow, getVidKVForwardDFT(nLow))},
        {{g5.d(0), g5.d(1), g5.d(2), g5.d(4)}, {g5.d(3), g5.d(4)}},
        createZeros(b, loc, lowSizes, f32),
        {g5.d(0), g5.d(1), g5.d(2), g5.d(3)});
    SmallVector<OpFoldResult> lowGroups =
        groupSizes(b, loc, x, groupSize, b.getIndexAttr(nLow));
    Value sums =
        g4.build({spectrum}, {{d0, d1, d2, d3}},
                 {createZeros(b, loc, lowGroups, f32)}, {{d0, d1, grouped, d3}},
                 {par, par, red, par},
                 [&](OpBuilder &nb, Location nl,
                     ValueRange a) -> SmallVector<Value> {
                   return {arith::AddFOp::create(
                       nb, nl, a[1], math::AbsFOp::create(nb, nl, a[0]))};
                 })
            .front();
    Value tokens = b.createOrFold<tensor::DimOp>(loc, x, 2);
    Value lowScale =
        g4.build({sums}, {{d0, d1, d2, d3}},
                 {createEmpty(b, loc, lowGroups, scaleType)},
                 {{d0, d1, d2, d3}}, {par, par, par, par},
                 [&](OpBuilder &nb, Location nl,
                     ValueRange a) -> SmallVector<Value> {
                   Value count =
                       groupCount(nb, nl, index(nb, nl, 2), tokens, groupSize);
                   Value mean = arith::DivFOp::create(nb, nl, a[0], count);
                   return {emitConvertFromF32(nb, nl, mean, scaleType)};
                 })
            .front();
    Value lowCodes =
        g4.build({spectrum}, {{d0, d1, d2, d3}},
                 {createFilled(
                     b, loc,
                     sizesWithLast(b, loc, x, b.getIndexAttr((nLow + 7) / 8)),
                     zeroI8)},
                 {{d0, d1, d2, d3.floorDiv(8)}}, {par, par, par, red},
                 [&](OpBuilder &nb, Location nl,
                     ValueRange a) -> SmallVector<Value> {
                   Value bit =
                       arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OGE,
                                             a[0], cF32(nb, nl, 0.0));
                   Value byte = arith::ExtUIOp::create(nb, nl, i8, bit);
                   return {emitInsertField(
                       nb, nl, a[1], byte,
                       emitCodeBitOffset(nb, nl, index(nb, nl, 3), 1, i8))};
                 })
            .front();

    SmallVector<Value> results = {highCodes, side[0],  side[1],
                                  lowCodes,  lowScale, slots};
    for (auto [i, result] : llvm::enumerate(op.getResults()))
      results[i] = castTo(b, loc, result.getType(), results[i]);
    rewriter.replaceOp(op, results);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// VidKVDecodeKeyOp
//===----------------------------------------------------------------------===//

struct LowerVidKVDecodeKey : OpRewritePattern<VidKVDecodeKeyOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(VidKVDecodeKeyOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    RankedTensorType resultType = op.getResult().getType();
    int64_t d = resultType.getDimSize(3);
    int64_t nHigh = op.getHighScale().getType().getDimSize(3);
    int64_t nLow = d - nHigh;
    int64_t groupSize = op.getGroupSize();
    Type f32 = b.getF32Type(), i32 = b.getI32Type();
    Value highCodes = op.getHighCodes(), lowCodes = op.getLowCodes();
    Value highScale = op.getHighScale(), highMin = op.getHighMin();

    GenericBuilder g4{b, loc, 4};
    AffineExpr d0 = g4.d(0), d1 = g4.d(1), d2 = g4.d(2), d3 = g4.d(3);
    AffineExpr grouped = d2.floorDiv(groupSize);

    // Low spectrum: (2 bit - 1) * scale, then the inverse DFT.
    SmallVector<OpFoldResult> lowSizes =
        sizesWithLast(b, loc, lowCodes, b.getIndexAttr(nLow));
    Value spectrum =
        g4.build({lowCodes, op.getLowScale()},
                 {{d0, d1, d2, d3.floorDiv(8)}, {d0, d1, grouped, d3}},
                 {createEmpty(b, loc, lowSizes, f32)}, {{d0, d1, d2, d3}},
                 {par, par, par, par},
                 [&](OpBuilder &nb, Location nl,
                     ValueRange a) -> SmallVector<Value> {
                   return {emitVidKVSignedScale(nb, nl, a[0], index(nb, nl, 3),
                                                a[1])};
                 })
            .front();
    GenericBuilder g5{b, loc, 5};
    Value low = createContraction(
        b, loc, 5,
        {spectrum, matrixConstant(b, loc, nLow, getVidKVInverseDFT(nLow))},
        {{g5.d(0), g5.d(1), g5.d(2), g5.d(4)}, {g5.d(3), g5.d(4)}},
        createZeros(b, loc, lowSizes, f32),
        {g5.d(0), g5.d(1), g5.d(2), g5.d(3)});

    // Every channel from its slot (indices clamped into both parts, then
    // one value selected).
    SmallVector<OpFoldResult> outSizes =
        sizesWithLast(b, loc, lowCodes, b.getIndexAttr(d));
    Value out =
        g4.build(
              {op.getChannels()}, {{d0, d1, d3}},
              {createEmpty(b, loc, outSizes, resultType.getElementType())},
              {{d0, d1, d2, d3}}, {par, par, par, par},
              [&](OpBuilder &nb, Location nl,
                  ValueRange a) -> SmallVector<Value> {
                auto [isHigh, hiSlot, loSlot] =
                    splitSlot(nb, nl, toIndex(nb, nl, a[0]), nHigh);
                Value bi = index(nb, nl, 0), hi = index(nb, nl, 1),
                      si = index(nb, nl, 2);
                Value gi = arith::DivUIOp::create(nb, nl, si,
                                                  cIndex(nb, nl, groupSize));
                Value byte = tensor::ExtractOp::create(
                    nb, nl, highCodes,
                    ValueRange{bi, hi, si, emitCodeByte(nb, nl, hiSlot, 2)});
                Value code = emitFieldToF32(
                    nb, nl,
                    emitExtractField(nb, nl, byte,
                                     emitCodeBitOffset(nb, nl, hiSlot, 2, i32),
                                     2, FieldExtension::Zero, i32),
                    FieldExtension::Zero);
                Value scale = emitExtendToF32(
                    nb, nl,
                    tensor::ExtractOp::create(nb, nl, highScale,
                                              ValueRange{bi, hi, gi, hiSlot}));
                Value zero = emitExtendToF32(
                    nb, nl,
                    tensor::ExtractOp::create(nb, nl, highMin,
                                              ValueRange{bi, hi, gi, hiSlot}));
                Value highValue = arith::AddFOp::create(
                    nb, nl, arith::MulFOp::create(nb, nl, code, scale), zero);
                Value lowValue = tensor::ExtractOp::create(
                    nb, nl, low, ValueRange{bi, hi, si, loSlot});
                Value v = arith::SelectOp::create(nb, nl, isHigh, highValue,
                                                  lowValue);
                return {
                    emitConvertFromF32(nb, nl, v, resultType.getElementType())};
              })
            .front();
    rewriter.replaceOp(op, castTo(b, loc, resultType, out));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// VidKVEncodeValueOp / VidKVDecodeValueOp
//===----------------------------------------------------------------------===//

struct LowerVidKVEncodeValue : OpRewritePattern<VidKVEncodeValueOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(VidKVEncodeValueOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    Value x = op.getInput();
    int64_t d = op.getInput().getType().getDimSize(3);
    int64_t groupSize = op.getGroupSize();
    Type f32 = b.getF32Type(), i32 = b.getI32Type(), i8 = b.getI8Type();
    Type scaleType = op.getScale().getType().getElementType();

    GenericBuilder g4{b, loc, 4};
    AffineExpr d0 = g4.d(0), d1 = g4.d(1), d2 = g4.d(2), d3 = g4.d(3);
    AffineExpr grouped = d2.floorDiv(groupSize);
    SmallVector<AffineExpr> all = {d0, d1, d2, d3};
    SmallVector<OpFoldResult> groups =
        groupSizes(b, loc, x, groupSize, b.getIndexAttr(d));

    Value sums = g4.build({x}, {all}, {createZeros(b, loc, groups, f32)},
                          {{d0, d1, grouped, d3}}, {par, par, red, par},
                          [&](OpBuilder &nb, Location nl,
                              ValueRange a) -> SmallVector<Value> {
                            Value v = emitExtendToF32(nb, nl, a[0]);
                            return {arith::AddFOp::create(
                                nb, nl, a[1], math::AbsFOp::create(nb, nl, v))};
                          })
                     .front();
    Value tokens = b.createOrFold<tensor::DimOp>(loc, x, 2);
    SmallVector<Value> mean = g4.build(
        {sums}, {all},
        {createEmpty(b, loc, groups, f32),
         createEmpty(b, loc, groups, scaleType)},
        {all, all}, {par, par, par, par},
        [&](OpBuilder &nb, Location nl, ValueRange a) -> SmallVector<Value> {
          Value count = groupCount(nb, nl, index(nb, nl, 2), tokens, groupSize);
          Value m = arith::DivFOp::create(nb, nl, a[0], count);
          return {m, emitConvertFromF32(nb, nl, m, scaleType)};
        });
    Value codes =
        g4.build(
              {x, mean[0]}, {all, {d0, d1, grouped, d3}},
              {createFilled(
                  b, loc, sizesWithLast(b, loc, x, b.getIndexAttr((d + 4) / 5)),
                  cInt(b, loc, i8, 0))},
              {{d0, d1, d2, d3.floorDiv(5)}}, {par, par, par, red},
              [&](OpBuilder &nb, Location nl,
                  ValueRange a) -> SmallVector<Value> {
                Value v = emitExtendToF32(nb, nl, a[0]);
                Value thr =
                    arith::MulFOp::create(nb, nl, cF32(nb, nl, 0.5), a[1]);
                Value above = arith::CmpFOp::create(
                    nb, nl, arith::CmpFPredicate::OGT, v, thr);
                Value below =
                    arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OLT, v,
                                          arith::NegFOp::create(nb, nl, thr));
                Value digit = arith::SelectOp::create(
                    nb, nl, above, cInt(nb, nl, i32, 2),
                    arith::SelectOp::create(nb, nl, below, cInt(nb, nl, i32, 0),
                                            cInt(nb, nl, i32, 1)));
                Value term = arith::MulIOp::create(
                    nb, nl, digit, ternaryWeight(nb, nl, index(nb, nl, 3)));
                // Bytes hold at most 242: the i8 sum wraps to its bits.
                return {arith::AddIOp::create(
                    nb, nl, a[2], arith::TruncIOp::create(nb, nl, i8, term))};
              })
            .front();
    rewriter.replaceOp(op, {castTo(b, loc, op.getCodes().getType(), codes),
                            castTo(b, loc, op.getScale().getType(), mean[1])});
    return success();
  }
};

struct LowerVidKVDecodeValue : OpRewritePattern<VidKVDecodeValueOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(VidKVDecodeValueOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    RankedTensorType resultType = op.getResult().getType();
    int64_t d = resultType.getDimSize(3);
    Type f32 = b.getF32Type();
    GenericBuilder g4{b, loc, 4};
    AffineExpr d0 = g4.d(0), d1 = g4.d(1), d2 = g4.d(2), d3 = g4.d(3);
    SmallVector<OpFoldResult> sizes =
        sizesWithLast(b, loc, op.getCodes(), b.getIndexAttr(d));
    Value out =
        g4.build({op.getCodes(), op.getScale()},
                 {{d0, d1, d2, d3.floorDiv(5)},
                  {d0, d1, d2.floorDiv(op.getGroupSize()), d3}},
                 {createEmpty(b, loc, sizes, resultType.getElementType())},
                 {{d0, d1, d2, d3}}, {par, par, par, par},
                 [&](OpBuilder &nb, Location nl,
                     ValueRange a) -> SmallVector<Value> {
                   Value trit = emitVidKVTrit(nb, nl, a[0], index(nb, nl, 3));
                   Value v = arith::MulFOp::create(
                       nb, nl, arith::SIToFPOp::create(nb, nl, f32, trit),
                       emitExtendToF32(nb, nl, a[1]));
                   return {emitConvertFromF32(nb, nl, v,
                                              resultType.getElementType())};
                 })
            .front();
    rewriter.replaceOp(op, castTo(b, loc, resultType, out));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// VidKVDecodeKeySlotsOp / VidKVProjectQueryOp
//===----------------------------------------------------------------------===//

struct LowerVidKVDecodeKeySlots : OpRewritePattern<VidKVDecodeKeySlotsOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(VidKVDecodeKeySlotsOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    RankedTensorType resultType = op.getResult().getType();
    int64_t d = resultType.getDimSize(3);
    int64_t nHigh = op.getHigh().getType().getDimSize(3);
    int64_t groupSize = op.getGroupSize();
    Value high = op.getHigh(), lowCodes = op.getLowCodes(),
          lowScale = op.getLowScale();
    GenericBuilder g4{b, loc, 4};
    SmallVector<OpFoldResult> sizes =
        sizesWithLast(b, loc, lowCodes, b.getIndexAttr(d));
    // Slot j: high[j] (j < n_high) or (2 bit - 1) * scale of component
    // j - n_high (indices clamped into both parts, then one selected).
    Value out =
        g4.build(
              {}, {}, {createEmpty(b, loc, sizes, resultType.getElementType())},
              {{g4.d(0), g4.d(1), g4.d(2), g4.d(3)}}, {par, par, par, par},
              [&](OpBuilder &nb, Location nl,
                  ValueRange) -> SmallVector<Value> {
                Value bi = index(nb, nl, 0), hi = index(nb, nl, 1),
                      si = index(nb, nl, 2), j = index(nb, nl, 3);
                auto [isHigh, hiSlot, m] = splitSlot(nb, nl, j, nHigh);
                Value gi = arith::DivUIOp::create(nb, nl, si,
                                                  cIndex(nb, nl, groupSize));
                Value highValue = emitExtendToF32(
                    nb, nl,
                    tensor::ExtractOp::create(nb, nl, high,
                                              ValueRange{bi, hi, si, hiSlot}));
                Value byte = tensor::ExtractOp::create(
                    nb, nl, lowCodes,
                    ValueRange{bi, hi, si, emitCodeByte(nb, nl, m, 1)});
                Value scale = tensor::ExtractOp::create(
                    nb, nl, lowScale, ValueRange{bi, hi, gi, m});
                Value lowValue = emitVidKVSignedScale(nb, nl, byte, m, scale);
                Value v = arith::SelectOp::create(nb, nl, isHigh, highValue,
                                                  lowValue);
                return {
                    emitConvertFromF32(nb, nl, v, resultType.getElementType())};
              })
            .front();
    rewriter.replaceOp(op, castTo(b, loc, resultType, out));
    return success();
  }
};

struct LowerVidKVProjectQuery : OpRewritePattern<VidKVProjectQueryOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(VidKVProjectQueryOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    RankedTensorType resultType = op.getResult().getType();
    Value query = op.getQuery(), channels = op.getChannels();
    int64_t d = op.getQuery().getType().getDimSize(3);
    int64_t nHigh = op.getNHigh(), nLow = d - nHigh;
    Type f32 = b.getF32Type(), i32 = b.getI32Type();

    // M[t, j]: the identity on the high slots, the inverse DFT on the low.
    std::vector<float> g = getVidKVInverseDFT(nLow);
    std::vector<float> m(d * d, 0.0f);
    for (int64_t t = 0; t < nHigh; ++t)
      m[t * d + t] = 1.0f;
    for (int64_t t = 0; t < nLow; ++t)
      for (int64_t k = 0; k < nLow; ++k)
        m[(nHigh + t) * d + nHigh + k] = g[t * nLow + k];
    Value matrix = matrixConstant(b, loc, d, m);

    // Query head h reads the channels of KV head h / (H / Hk).
    Value heads = tensor::DimOp::create(b, loc, query, 1);
    Value kvHeads = tensor::DimOp::create(b, loc, channels, 1);
    Value group = arith::DivUIOp::create(b, loc, heads, kvHeads);

    // result[b, h, s, j] = sum_c q[b, h, s, c] M[slot(c), j], with j the
    // innermost loop: one row of M per channel.
    GenericBuilder g5{b, loc, 5};
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, query);
    Value sum =
        g5.build({query}, {{g5.d(0), g5.d(1), g5.d(2), g5.d(3)}},
                 {createZeros(b, loc, sizes, f32)},
                 {{g5.d(0), g5.d(1), g5.d(2), g5.d(4)}},
                 {par, par, par, red, par},
                 [&](OpBuilder &nb, Location nl,
                     ValueRange a) -> SmallVector<Value> {
                   Value hk =
                       arith::DivUIOp::create(nb, nl, index(nb, nl, 1), group);
                   Value slot = tensor::ExtractOp::create(
                       nb, nl, channels,
                       ValueRange{index(nb, nl, 0), hk, index(nb, nl, 3)});
                   Value valid =
                       arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult,
                                             slot, cInt(nb, nl, i32, d));
                   Value row =
                       toIndex(nb, nl,
                               arith::SelectOp::create(nb, nl, valid, slot,
                                                       cInt(nb, nl, i32, 0)));
                   Value coef = arith::SelectOp::create(
                       nb, nl, valid,
                       tensor::ExtractOp::create(
                           nb, nl, matrix, ValueRange{row, index(nb, nl, 4)}),
                       cF32(nb, nl, 0.0));
                   Value q = emitExtendToF32(nb, nl, a[0]);
                   return {arith::AddFOp::create(
                       nb, nl, a[1], arith::MulFOp::create(nb, nl, q, coef))};
                 })
            .front();
    Value out = createConvertFromF32(b, loc, sum, resultType);
    rewriter.replaceOp(op, castTo(b, loc, resultType, out));
    return success();
  }
};

} // namespace

Value mlir::kvq::emitVidKVTrit(OpBuilder &b, Location loc, Value byte,
                               Value channel) {
  Type i32 = b.getI32Type();
  Value wide = arith::ExtUIOp::create(b, loc, i32, byte);
  Value digit = arith::RemUIOp::create(
      b, loc,
      arith::DivUIOp::create(b, loc, wide, ternaryWeight(b, loc, channel)),
      cInt(b, loc, i32, 3));
  return arith::SubIOp::create(b, loc, digit, cInt(b, loc, i32, 1));
}

void mlir::kvq::populateLowerVidKVPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerVidKVEncodeKey, LowerVidKVDecodeKey, LowerVidKVEncodeValue,
               LowerVidKVDecodeValue, LowerVidKVDecodeKeySlots,
               LowerVidKVProjectQuery>(patterns.getContext());
}
