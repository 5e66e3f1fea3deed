//===- VidKVDecoders.cpp - VidKV decode ops inside attention --------------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// KVDecoderOpInterface models of kvq.vidkv_decode_key,
// kvq.vidkv_decode_key_slots and kvq.vidkv_decode_value: attention decodes
// a chunk of channels of one token straight from the codes, so no decoded
// K / V exists in memory.
//
// A key channel is read through its slot: a high slot is one 2-bit code
// times its scale plus its minimum; a low slot n is row n of the inverse
// DFT applied to the token's 1-bit spectrum, a loop over the N spectral
// components (sign bit times its group's scale, times the inverse-DFT
// coefficient from a constant table indexed by j * n mod N: the same f32
// coefficients and summation order as the standalone lowering's constant
// matrix). kvq.vidkv_decode_key_slots (what kvq-fuse makes of the keys) has
// no inverse DFT: high slots through the reader, low slots as a vector of
// sign bits selecting +scale or -scale. Values are decoded a vector at a
// time: base-3 digits by multiply-shift division, times the scales.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/IR/KVQInterfaces.h"
#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Dialect/KVQ/Transforms/VidKV.h"
#include "kvq/Dialect/KVQ/Utils/QuantCodegen.h"
#include "kvq/Dialect/KVQ/Utils/SubByte.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/DialectRegistry.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::kvq;

std::vector<float> mlir::kvq::getVidKVInverseDFTTable(int64_t n, bool imag) {
  // Entry t: cos(2 pi t / n) / n (real parts; times w_j = 1 or 2, exact in
  // f32) or -2 sin(2 pi t / n) / n (imaginary parts), the entries of
  // getVidKVInverseDFT with j * row mod n = t.
  std::vector<float> table(n);
  for (int64_t t = 0; t < n; ++t) {
    double angle = 2.0 * M_PI * static_cast<double>(t) / n;
    table[t] = static_cast<float>(imag ? -2.0 * std::sin(angle) / n
                                       : std::cos(angle) / n);
  }
  return table;
}

Value mlir::kvq::emitVidKVSignedScale(OpBuilder &b, Location loc, Value byte,
                                      Value component, Value scale) {
  Type i32 = b.getI32Type();
  Value bit = emitExtractField(b, loc, byte,
                               emitCodeBitOffset(b, loc, component, 1, i32), 1,
                               FieldExtension::Zero, i32);
  Value set =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, bit,
                            arith::ConstantIntOp::create(b, loc, i32, 0));
  Value s = emitExtendToF32(b, loc, scale);
  return arith::SelectOp::create(b, loc, set, s,
                                 arith::NegFOp::create(b, loc, s));
}

QuantSchemeAttr mlir::kvq::getVidKVHighScheme(MLIRContext *ctx,
                                              int64_t groupSize,
                                              Type scaleType) {
  return QuantSchemeAttr::get(ctx, IntegerType::get(ctx, 2),
                              /*symmetric=*/false, Granularity::Group,
                              {2, groupSize}, scaleType);
}

namespace {

Value cIndex(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

Value load(OpBuilder &b, Location loc, Value memref, ValueRange indices) {
  return memref::LoadOp::create(b, loc, memref, indices);
}

Value vectorConstant(OpBuilder &b, Location loc, ArrayRef<float> values) {
  auto type =
      VectorType::get({static_cast<int64_t>(values.size())}, b.getF32Type());
  return arith::ConstantOp::create(b, loc,
                                   DenseElementsAttr::get(type, values));
}

struct VidKVDecodeKeyModel
    : KVDecoderOpInterface::ExternalModel<VidKVDecodeKeyModel,
                                          VidKVDecodeKeyOp> {
  Value emitDecodeChunk(Operation *op, OpBuilder &b, Location loc,
                        KVChunkReader &reader, ValueRange coords, int64_t start,
                        int64_t width) const {
    auto decode = cast<VidKVDecodeKeyOp>(op);
    int64_t d = decode.getResult().getType().getDimSize(3);
    int64_t nHigh = decode.getHighScale().getType().getDimSize(3);
    int64_t nLow = d - nHigh, numRe = nLow / 2 + 1;
    Type f32 = b.getF32Type(), i32 = b.getI32Type();
    Value highCodes = reader.getBuffer(decode.getHighCodes());
    Value highScale = reader.getBuffer(decode.getHighScale());
    Value highMin = reader.getBuffer(decode.getHighMin());
    Value lowCodes = reader.getBuffer(decode.getLowCodes());
    Value lowScale = reader.getBuffer(decode.getLowScale());
    Value channels = reader.getBuffer(decode.getChannels());
    Value bi = coords[0], hi = coords[1], si = coords[2];
    Value gi = arith::DivUIOp::create(b, loc, si,
                                      cIndex(b, loc, decode.getGroupSize()));
    Value cosTable =
        vectorConstant(b, loc, getVidKVInverseDFTTable(nLow, false));
    Value sinTable =
        vectorConstant(b, loc, getVidKVInverseDFTTable(nLow, true));

    Value chunk = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(VectorType::get({width}, f32), 0.0f));
    for (int64_t lane = 0; lane < width && start + lane < d; ++lane) {
      Value slot = arith::IndexCastOp::create(
          b, loc, b.getIndexType(),
          load(b, loc, channels, {bi, hi, cIndex(b, loc, start + lane)}));
      Value isHigh = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                           slot, cIndex(b, loc, nHigh));
      auto ifOp = scf::IfOp::create(b, loc, TypeRange{f32}, isHigh,
                                    /*withElseRegion=*/true);
      {
        OpBuilder::InsertionGuard guard(b);
        // High: code * scale + min.
        b.setInsertionPointToStart(ifOp.thenBlock());
        Value byte = load(b, loc, highCodes,
                          {bi, hi, si, emitCodeByte(b, loc, slot, 2)});
        Value code = emitFieldToF32(
            b, loc,
            emitExtractField(b, loc, byte,
                             emitCodeBitOffset(b, loc, slot, 2, i32), 2,
                             FieldExtension::Zero, i32),
            FieldExtension::Zero);
        Value scale = emitExtendToF32(
            b, loc, load(b, loc, highScale, {bi, hi, gi, slot}));
        Value zero =
            emitExtendToF32(b, loc, load(b, loc, highMin, {bi, hi, gi, slot}));
        scf::YieldOp::create(
            b, loc,
            ValueRange{arith::AddFOp::create(
                b, loc, arith::MulFOp::create(b, loc, code, scale), zero)});

        // Low slot n: sum over the spectral components m.
        b.setInsertionPointToStart(ifOp.elseBlock());
        Value n = arith::SubIOp::create(b, loc, slot, cIndex(b, loc, nHigh));
        Value zeroF = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
        auto loop = scf::ForOp::create(
            b, loc, cIndex(b, loc, 0), cIndex(b, loc, nLow), cIndex(b, loc, 1),
            ValueRange{zeroF},
            [&](OpBuilder &lb, Location ll, Value m, ValueRange acc) {
              Value byte = load(lb, ll, lowCodes,
                                {bi, hi, si, emitCodeByte(lb, ll, m, 1)});
              Value scale = load(lb, ll, lowScale, {bi, hi, gi, m});
              Value r = emitVidKVSignedScale(lb, ll, byte, m, scale);
              // Component m is Re X_j (m < numRe, j = m) or Im X_j
              // (j = m - numRe + 1); its coefficient for row n is the
              // table entry at j * n mod N, times 2 for Re X_j with
              // 0 < j and 2 j != N.
              Value isRe = arith::CmpIOp::create(
                  lb, ll, arith::CmpIPredicate::ult, m, cIndex(lb, ll, numRe));
              Value j = arith::SelectOp::create(
                  lb, ll, isRe, m,
                  arith::SubIOp::create(lb, ll, m, cIndex(lb, ll, numRe - 1)));
              Value t = arith::RemUIOp::create(
                  lb, ll, arith::MulIOp::create(lb, ll, j, n),
                  cIndex(lb, ll, nLow));
              Value cosT = vector::ExtractOp::create(lb, ll, cosTable,
                                                     ArrayRef<OpFoldResult>{t});
              Value sinT = vector::ExtractOp::create(lb, ll, sinTable,
                                                     ArrayRef<OpFoldResult>{t});
              Value twice = arith::AndIOp::create(
                  lb, ll,
                  arith::CmpIOp::create(lb, ll, arith::CmpIPredicate::ne, j,
                                        cIndex(lb, ll, 0)),
                  arith::CmpIOp::create(
                      lb, ll, arith::CmpIPredicate::ne,
                      arith::MulIOp::create(lb, ll, j, cIndex(lb, ll, 2)),
                      cIndex(lb, ll, nLow)));
              Value reCoef = arith::SelectOp::create(
                  lb, ll, twice, arith::AddFOp::create(lb, ll, cosT, cosT),
                  cosT);
              Value coef = arith::SelectOp::create(lb, ll, isRe, reCoef, sinT);
              scf::YieldOp::create(
                  lb, ll,
                  ValueRange{arith::AddFOp::create(
                      lb, ll, acc[0], arith::MulFOp::create(lb, ll, r, coef))});
            });
        scf::YieldOp::create(b, loc, loop.getResults());
      }
      chunk = vector::InsertOp::create(b, loc, ifOp.getResult(0), chunk,
                                       ArrayRef<int64_t>{lane});
    }
    return chunk;
  }
};

/// Keys in slot coordinates: a chunk is the decoded high slots (read
/// through the reader, normally quantized codes), then the low slots as a
/// vector of sign bits selecting +scale or -scale. No per-lane control
/// flow: every index is static but the token's.
struct VidKVDecodeKeySlotsModel
    : KVDecoderOpInterface::ExternalModel<VidKVDecodeKeySlotsModel,
                                          VidKVDecodeKeySlotsOp> {
  SmallVector<Value> getDecodedOperands(Operation *op) const {
    return {cast<VidKVDecodeKeySlotsOp>(op).getHigh()};
  }

  Value emitDecodeChunk(Operation *op, OpBuilder &b, Location loc,
                        KVChunkReader &reader, ValueRange coords, int64_t start,
                        int64_t width) const {
    auto slots = cast<VidKVDecodeKeySlotsOp>(op);
    int64_t d = slots.getResult().getType().getDimSize(3);
    int64_t nHigh = slots.getHigh().getType().getDimSize(3);
    auto vecType = VectorType::get({width}, b.getF32Type());
    Value zeros = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(vecType, b.getF32FloatAttr(0.0f)));
    Value high = start < nHigh ? reader.readChunk(b, loc, slots.getHigh(),
                                                  coords, start, width)
                               : zeros;
    // Lane l holds low component start + l - n_high where that is in
    // [0, N): lanes [l0, ...) from component m0 on.
    SmallVector<int64_t> bitOf(width, -1);
    SmallVector<bool> isLow(width, false);
    int64_t l0 = -1, m0 = 0;
    for (int64_t l = 0; l < width; ++l) {
      int64_t j = start + l;
      if (j < nHigh || j >= d)
        continue;
      bitOf[l] = j - nHigh;
      isLow[l] = true;
      if (l0 < 0) {
        l0 = l;
        m0 = j - nHigh;
      }
    }
    if (l0 < 0)
      return high;
    Value bi = coords[0], hi = coords[1], si = coords[2];
    Value gi = arith::DivUIOp::create(b, loc, si,
                                      cIndex(b, loc, slots.getGroupSize()));
    Value scale = reader.loadChunk(
        b, loc, reader.getBuffer(slots.getLowScale()), {bi, hi, gi}, m0, width);
    if (l0 > 0) {
      SmallVector<int64_t> mask;
      for (int64_t l = 0; l < width; ++l)
        mask.push_back(l >= l0 ? l - l0 : width);
      scale = vector::ShuffleOp::create(b, loc, scale, zeros, mask);
    }
    Value bits = emitLaneFields(b, loc, reader.getBuffer(slots.getLowCodes()),
                                {bi, hi, si}, bitOf, 1);
    Value set = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::ne, bits,
        arith::ConstantOp::create(
            b, loc,
            DenseElementsAttr::get(VectorType::get({width}, b.getI32Type()),
                                   b.getI32IntegerAttr(0))));
    Value low = arith::SelectOp::create(b, loc, set, scale,
                                        arith::NegFOp::create(b, loc, scale));
    Value lowLanes = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(VectorType::get({width}, b.getI1Type()),
                               ArrayRef<bool>(isLow)));
    return arith::SelectOp::create(b, loc, lowLanes, low, high);
  }
};

/// Values: the lanes' code bytes in one word, each lane's base-3 digit by
/// multiply-shift division (exact for bytes: floor(x * ceil(2^16 / 3^k) /
/// 2^16) = floor(x / 3^k) for x < 256), times the scales.
struct VidKVDecodeValueModel
    : KVDecoderOpInterface::ExternalModel<VidKVDecodeValueModel,
                                          VidKVDecodeValueOp> {
  Value emitDecodeChunk(Operation *op, OpBuilder &b, Location loc,
                        KVChunkReader &reader, ValueRange coords, int64_t start,
                        int64_t width) const {
    auto decode = cast<VidKVDecodeValueOp>(op);
    int64_t d = decode.getResult().getType().getDimSize(3);
    Type f32 = b.getF32Type(), i32 = b.getI32Type();
    auto vecType = VectorType::get({width}, i32);
    Value bi = coords[0], hi = coords[1], si = coords[2];
    Value gi = arith::DivUIOp::create(b, loc, si,
                                      cIndex(b, loc, decode.getGroupSize()));
    SmallVector<int64_t> bitOf(width, -1);
    SmallVector<int32_t> magic(width, 0);
    for (int64_t l = 0; l < width && start + l < d; ++l) {
      int64_t c = start + l, power = 1;
      for (int64_t k = 0; k < c % 5; ++k)
        power *= 3;
      bitOf[l] = 8 * (c / 5);
      magic[l] = static_cast<int32_t>((65536 + power - 1) / power);
    }
    auto vec = [&](ArrayRef<int32_t> values) -> Value {
      return arith::ConstantOp::create(b, loc,
                                       DenseElementsAttr::get(vecType, values));
    };
    auto splat = [&](int32_t v) -> Value {
      return arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(vecType, b.getI32IntegerAttr(v)));
    };
    Value bytes = emitLaneFields(b, loc, reader.getBuffer(decode.getCodes()),
                                 {bi, hi, si}, bitOf, 8);
    // q = floor(byte / 3^(c mod 5)), digit = q mod 3, trit = digit - 1.
    Value q = arith::ShRUIOp::create(
        b, loc, arith::MulIOp::create(b, loc, bytes, vec(magic)), splat(16));
    Value third = arith::ShRUIOp::create(
        b, loc, arith::MulIOp::create(b, loc, q, splat(21846)), splat(16));
    Value digit = arith::SubIOp::create(
        b, loc, q, arith::MulIOp::create(b, loc, third, splat(3)));
    Value trit = arith::SubIOp::create(b, loc, digit, splat(1));
    Value scale = reader.loadChunk(b, loc, reader.getBuffer(decode.getScale()),
                                   {bi, hi, gi}, start, width);
    return arith::MulFOp::create(
        b, loc,
        arith::SIToFPOp::create(b, loc, VectorType::get({width}, f32), trit),
        scale);
  }
};

} // namespace

void mlir::kvq::registerVidKVDecoderModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, KVQDialect *) {
    VidKVDecodeKeyOp::attachInterface<VidKVDecodeKeyModel>(*ctx);
    VidKVDecodeValueOp::attachInterface<VidKVDecodeValueModel>(*ctx);
    VidKVDecodeKeySlotsOp::attachInterface<VidKVDecodeKeySlotsModel>(*ctx);
  });
}
