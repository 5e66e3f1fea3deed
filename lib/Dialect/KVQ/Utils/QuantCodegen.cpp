//===- QuantCodegen.cpp - Emit scheme encode / decode arithmetic -*- C++
//-*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/Utils/QuantCodegen.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/TypeUtilities.h"

#include <limits>

using namespace mlir;
using namespace mlir::kvq;

Type mlir::kvq::withElementType(Type type, Type elementType) {
  if (auto vectorType = dyn_cast<VectorType>(type))
    return vectorType.clone(elementType);
  return elementType;
}

/// A constant of `type` (scalar or vector: splat) holding `value`.
static Value intConstant(OpBuilder &b, Location loc, Type type, int64_t value) {
  Type elementType = getElementTypeOrSelf(type);
  auto attr = b.getIntegerAttr(elementType, value);
  if (auto vectorType = dyn_cast<VectorType>(type))
    return arith::ConstantOp::create(b, loc,
                                     DenseElementsAttr::get(vectorType, attr));
  return arith::ConstantOp::create(b, loc, attr);
}

static Value floatConstant(OpBuilder &b, Location loc, Type type,
                           double value) {
  Type elementType = getElementTypeOrSelf(type);
  auto attr = b.getFloatAttr(elementType, value);
  if (auto vectorType = dyn_cast<VectorType>(type))
    return arith::ConstantOp::create(b, loc,
                                     DenseElementsAttr::get(vectorType, attr));
  return arith::ConstantOp::create(b, loc, attr);
}

Value mlir::kvq::emitExtendToF32(OpBuilder &b, Location loc, Value value) {
  Type f32 = b.getF32Type();
  Type elementType = getElementTypeOrSelf(value.getType());
  if (elementType == f32)
    return value;
  Type target = withElementType(value.getType(), f32);
  // bf16 is the top half of f32: widen the bits. CPUs without native bf16
  // would otherwise promote every bf16 vector op (the splat of a scale)
  // through f32 and call __truncsfbf2 to narrow it back.
  if (elementType.isBF16()) {
    Type i16 = withElementType(value.getType(), b.getI16Type());
    Type i32 = withElementType(value.getType(), b.getI32Type());
    Value bits = arith::ExtUIOp::create(
        b, loc, i32, arith::BitcastOp::create(b, loc, i16, value));
    Value sixteen =
        isa<VectorType>(i32)
            ? Value(arith::ConstantOp::create(
                  b, loc,
                  DenseElementsAttr::get(cast<VectorType>(i32),
                                         b.getI32IntegerAttr(16))))
            : Value(arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(16)));
    return arith::BitcastOp::create(
        b, loc, target, arith::ShLIOp::create(b, loc, bits, sixteen));
  }
  if (elementType.getIntOrFloatBitWidth() < 32)
    return arith::ExtFOp::create(b, loc, target, value);
  return arith::TruncFOp::create(b, loc, target, value);
}

/// f8E4M3FN -> f32 with integer arithmetic: bias 7, no infinities, NaN for
/// S.1111.111, subnormals m * 2^-9.
static Value decodeF8E4M3FN(OpBuilder &b, Location loc, Value codes) {
  Type type = codes.getType();
  Type i8Type = withElementType(type, b.getI8Type());
  Type i32Type = withElementType(type, b.getI32Type());
  Type f32Type = withElementType(type, b.getF32Type());
  Value bits = arith::BitcastOp::create(b, loc, i8Type, codes);
  Value u = arith::ExtUIOp::create(b, loc, i32Type, bits);
  Value sign = arith::ShLIOp::create(
      b, loc,
      arith::AndIOp::create(b, loc, u, intConstant(b, loc, i32Type, 0x80)),
      intConstant(b, loc, i32Type, 24));
  Value em =
      arith::AndIOp::create(b, loc, u, intConstant(b, loc, i32Type, 0x7F));
  // Normal numbers: rebias the exponent (7 -> 127) and widen the mantissa.
  Value normal = arith::ShLIOp::create(
      b, loc,
      arith::AddIOp::create(b, loc, em, intConstant(b, loc, i32Type, 120 << 3)),
      intConstant(b, loc, i32Type, 20));
  // Subnormals (exponent field 0): m * 2^-9, exact in f32.
  Value mant =
      arith::AndIOp::create(b, loc, em, intConstant(b, loc, i32Type, 7));
  Value subValue = arith::MulFOp::create(
      b, loc, arith::UIToFPOp::create(b, loc, f32Type, mant),
      floatConstant(b, loc, f32Type, 1.0 / 512.0));
  Value sub = arith::BitcastOp::create(b, loc, i32Type, subValue);
  Value isSub = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, em,
                                      intConstant(b, loc, i32Type, 8));
  Value isNan = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, em,
                                      intConstant(b, loc, i32Type, 0x7F));
  Value magnitude = arith::SelectOp::create(
      b, loc, isNan, intConstant(b, loc, i32Type, 0x7FC00000),
      arith::SelectOp::create(b, loc, isSub, sub, normal));
  Value result = arith::OrIOp::create(b, loc, magnitude, sign);
  return arith::BitcastOp::create(b, loc, f32Type, result);
}

/// The f16 bits `s 0 eeee mmm 0000000` of f8E4M3FN codes (an i16 vector):
/// the f16 of the code's value times 2^-8, for every code but NaN's. The
/// code sign-extended and shifted left by 7 is `s s eeee mmm 0000000`;
/// bit 14 is cleared.
static Value f8E4M3FNHalfBits(OpBuilder &b, Location loc, Value codes) {
  Type type = codes.getType();
  Type i16Type = withElementType(type, b.getI16Type());
  Value wide = arith::ExtSIOp::create(
      b, loc, i16Type,
      arith::BitcastOp::create(b, loc, withElementType(type, b.getI8Type()),
                               codes));
  return arith::AndIOp::create(
      b, loc,
      arith::ShLIOp::create(b, loc, wide, intConstant(b, loc, i16Type, 7)),
      intConstant(b, loc, i16Type, -16385)); // 0xBFFF
}

/// f16 bits to f32.
static Value halfBitsToF32(OpBuilder &b, Location loc, Value bits) {
  Type type = bits.getType();
  return arith::ExtFOp::create(
      b, loc, withElementType(type, b.getF32Type()),
      arith::BitcastOp::create(b, loc, withElementType(type, b.getF16Type()),
                               bits)
          .getResult());
}

Value mlir::kvq::emitDecodeF8E4M3FNByHalf(OpBuilder &b, Location loc,
                                          Value codes) {
  Value half = f8E4M3FNHalfBits(b, loc, codes);
  // NaN (S.1111.111): the exponent-mantissa bits 13..7 all set.
  Type i16Type = half.getType();
  Value nanBits = intConstant(b, loc, i16Type, 0x3F80);
  Value isNan = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::eq,
      arith::AndIOp::create(b, loc, half, nanBits), nanBits);
  half = arith::SelectOp::create(b, loc, isNan,
                                 intConstant(b, loc, i16Type, 0x7E00), half);
  Value wide = halfBitsToF32(b, loc, half);
  return arith::MulFOp::create(b, loc, wide,
                               floatConstant(b, loc, wide.getType(), 256.0));
}

Value mlir::kvq::emitDecodeF8E4M3FNHalfUnits(OpBuilder &b, Location loc,
                                             Value codes) {
  return halfBitsToF32(b, loc, f8E4M3FNHalfBits(b, loc, codes));
}

Value mlir::kvq::emitAnyF8E4M3FNNaN(OpBuilder &b, Location loc, Value bytes) {
  Type type = bytes.getType();
  Value nanBits = intConstant(b, loc, type, 0x7F);
  Value isNan = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::eq,
      arith::AndIOp::create(b, loc, bytes, nanBits), nanBits);
  return vector::ReductionOp::create(b, loc, vector::CombiningKind::OR, isNan);
}

/// f8E5M2 is the upper byte of an f16.
static Value decodeF8E5M2(OpBuilder &b, Location loc, Value codes) {
  Type type = codes.getType();
  Type i8Type = withElementType(type, b.getI8Type());
  Type i16Type = withElementType(type, b.getI16Type());
  Type f16Type = withElementType(type, b.getF16Type());
  Value bits = arith::BitcastOp::create(b, loc, i8Type, codes);
  Value wide = arith::ShLIOp::create(
      b, loc, arith::ExtUIOp::create(b, loc, i16Type, bits),
      intConstant(b, loc, i16Type, 8));
  Value half = arith::BitcastOp::create(b, loc, f16Type, wide);
  return arith::ExtFOp::create(b, loc, withElementType(type, b.getF32Type()),
                               half);
}

Value mlir::kvq::emitDecodeCodes(OpBuilder &b, Location loc,
                                 QuantSchemeAttr scheme, Value codes) {
  Type storage = scheme.getStorageType();
  assert(getElementTypeOrSelf(codes.getType()) == storage &&
         "codes do not have the scheme's storage type");
  if (isa<Float8E4M3FNType>(storage))
    return decodeF8E4M3FN(b, loc, codes);
  if (isa<Float8E5M2Type>(storage))
    return decodeF8E5M2(b, loc, codes);
  Type type = codes.getType();
  Type f32Type = withElementType(type, b.getF32Type());
  // Widen to i32 first: sub-byte integers convert best through a full lane.
  Type i32Type = withElementType(type, b.getI32Type());
  if (scheme.getSymmetric())
    return arith::SIToFPOp::create(
        b, loc, f32Type, arith::ExtSIOp::create(b, loc, i32Type, codes));
  return arith::UIToFPOp::create(
      b, loc, f32Type, arith::ExtUIOp::create(b, loc, i32Type, codes));
}

/// Broadcasts a scalar to the shape of `like` when `like` is a vector.
static Value splatLike(OpBuilder &b, Location loc, Value scalar, Value like) {
  auto vectorType = dyn_cast<VectorType>(like.getType());
  if (!vectorType || isa<VectorType>(scalar.getType()))
    return scalar;
  return vector::BroadcastOp::create(b, loc, vectorType, scalar);
}

Value mlir::kvq::emitDequantize(OpBuilder &b, Location loc,
                                QuantSchemeAttr scheme, Value codeValues,
                                Value scale, Value zeroPoint) {
  Value s = splatLike(b, loc, emitExtendToF32(b, loc, scale), codeValues);
  Value result = arith::MulFOp::create(b, loc, codeValues, s);
  if (!scheme.hasZeroPoint())
    return result;
  assert(zeroPoint && "asymmetric scheme needs a zero point");
  Value z = splatLike(b, loc, emitExtendToF32(b, loc, zeroPoint), codeValues);
  return arith::AddFOp::create(b, loc, result, z);
}

Value mlir::kvq::emitDecodeAndDequantize(OpBuilder &b, Location loc,
                                         QuantSchemeAttr scheme, Value codes,
                                         Value scale, Value zeroPoint) {
  return emitDequantize(b, loc, scheme, emitDecodeCodes(b, loc, scheme, codes),
                        scale, zeroPoint);
}

//===----------------------------------------------------------------------===//
// Encoding (quantize)
//===----------------------------------------------------------------------===//

/// `cond ? trueValue : falseValue` for scalars and vectors.
static Value select(OpBuilder &b, Location loc, Value cond, Value trueValue,
                    Value falseValue) {
  return arith::SelectOp::create(b, loc, cond, trueValue, falseValue);
}

static Value cmpF(OpBuilder &b, Location loc, arith::CmpFPredicate pred,
                  Value lhs, Value rhs) {
  return arith::CmpFOp::create(b, loc, pred, lhs, rhs);
}

/// Clamps f32 `value` to [lo, hi] with compares and selects, like np.clip:
/// a NaN stays NaN and a zero keeps its sign.
static Value clampF32(OpBuilder &b, Location loc, Value value, double lo,
                      double hi) {
  Type type = value.getType();
  Value loC = floatConstant(b, loc, type, lo);
  Value hiC = floatConstant(b, loc, type, hi);
  value = select(b, loc, cmpF(b, loc, arith::CmpFPredicate::OLT, value, loC),
                 loC, value);
  return select(b, loc, cmpF(b, loc, arith::CmpFPredicate::OGT, value, hiC),
                hiC, value);
}

/// `(v + 2^(s-1) - 1 + ((v >> s) & 1)) >> s`: the non-negative i32 `v`
/// shifted right by `s` (1 <= s <= 31) with round to nearest even.
static Value shiftRightRoundEven(OpBuilder &b, Location loc, Value v, Value s) {
  Type type = v.getType();
  Value one = intConstant(b, loc, type, 1);
  // Folds to a constant for a constant shift.
  Value halfMinusOne = b.createOrFold<arith::SubIOp>(
      loc,
      b.createOrFold<arith::ShLIOp>(loc, one,
                                    b.createOrFold<arith::SubIOp>(loc, s, one)),
      one);
  Value lsb =
      arith::AndIOp::create(b, loc, arith::ShRUIOp::create(b, loc, v, s), one);
  Value biased = arith::AddIOp::create(
      b, loc, v, arith::AddIOp::create(b, loc, halfMinusOne, lsb));
  return arith::ShRUIOp::create(b, loc, biased, s);
}

/// Rounds the f32 bit pattern `magnitude` (sign bit clear, not NaN) to
/// nearest even in a binary format with `exponentBits` / `mantissaBits`
/// (bias 2^(e-1) - 1, subnormals) and returns that format's bits, at most
/// `maxBits` (the largest finite value to saturate, or Inf to overflow).
static Value roundF32Bits(OpBuilder &b, Location loc, Value magnitude,
                          int exponentBits, int mantissaBits, int64_t maxBits) {
  Type i32Type = magnitude.getType();
  auto c = [&](int64_t v) { return intConstant(b, loc, i32Type, v); };
  int64_t bias = (int64_t(1) << (exponentBits - 1)) - 1;
  int64_t dropped = 23 - mantissaBits;
  Value exponent = arith::ShRUIOp::create(b, loc, magnitude, c(23));

  // Normal results: rebias the exponent (127 -> bias) in place, then drop
  // the low mantissa bits; a carry out of the mantissa bumps the exponent.
  Value rebiased =
      arith::SubIOp::create(b, loc, magnitude, c((127 - bias) << 23));
  Value normal = shiftRightRoundEven(b, loc, rebiased, c(dropped));

  // Subnormal results: the significand (implicit bit included for normal
  // f32 inputs) in units of the smallest subnormal 2^(1-bias-m). Beyond a
  // shift of 25 everything rounds to zero, so the shift is capped there.
  Value isF32Normal =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, exponent, c(0));
  Value significand = arith::OrIOp::create(
      b, loc, arith::AndIOp::create(b, loc, magnitude, c(0x7FFFFF)),
      select(b, loc, isF32Normal, c(0x800000), c(0)));
  Value effectiveExponent = arith::MaxUIOp::create(b, loc, exponent, c(1));
  Value shift = arith::MinUIOp::create(
      b, loc,
      arith::SubIOp::create(b, loc, c(dropped + 128 - bias), effectiveExponent),
      c(25));
  Value subnormal = shiftRightRoundEven(b, loc, significand, shift);

  Value isNormal = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                         exponent, c(127 - bias));
  Value result = select(b, loc, isNormal, normal, subnormal);
  return arith::MinUIOp::create(b, loc, result, c(maxBits));
}

/// f32 -> f16 / bf16 with round to nearest even on the bits. LLVM's
/// `fptrunc` is avoided on purpose: besides needing a libcall on CPUs
/// without F16C / AVX512-BF16, InstCombine rewrites
/// `fptrunc(fmul(fpext half, fpext bfloat))` into a half multiply, which
/// flushes bf16 scales outside the half range. Overflow gives Inf; NaN
/// becomes a quiet NaN with the same sign and upper payload bits.
static Value truncateF32ToHalfWidth(OpBuilder &b, Location loc, Value value,
                                    Type elementType) {
  Type type = value.getType();
  Type i32Type = withElementType(type, b.getI32Type());
  auto c = [&](int64_t v) { return intConstant(b, loc, i32Type, v); };

  Value bits = arith::BitcastOp::create(b, loc, i32Type, value);
  Value result;
  if (elementType.isBF16()) {
    // bf16 keeps f32's exponent, so rounding the bits to their high half,
    // `(x + 0x7FFF + (x >> 16 & 1)) >> 16`, is the conversion for every
    // non-NaN value, subnormals and overflow to Inf included, sign and all;
    // a NaN keeps its sign and upper payload bits, made quiet.
    Value high = arith::ShRUIOp::create(b, loc, bits, c(16));
    Value odd = arith::AndIOp::create(b, loc, high, c(1));
    Value rounded = arith::ShRUIOp::create(
        b, loc,
        arith::AddIOp::create(b, loc, bits,
                              arith::AddIOp::create(b, loc, odd, c(0x7FFF))),
        c(16));
    Value isNan =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, value, value);
    result = select(b, loc, isNan, arith::OrIOp::create(b, loc, high, c(0x40)),
                    rounded);
  } else {
    // f16: 5 exponent and 10 mantissa bits.
    constexpr int exponentBits = 5, mantissaBits = 10;
    constexpr int64_t dropped = 23 - mantissaBits;
    constexpr int64_t infBits = ((int64_t(1) << exponentBits) - 1)
                                << mantissaBits;
    Value sign = arith::AndIOp::create(
        b, loc, arith::ShRUIOp::create(b, loc, bits, c(16)), c(0x8000));
    Value magnitude = arith::AndIOp::create(b, loc, bits, c(0x7FFFFFFF));
    result =
        roundF32Bits(b, loc, magnitude, exponentBits, mantissaBits, infBits);
    Value payload = arith::ShRUIOp::create(
        b, loc, arith::AndIOp::create(b, loc, magnitude, c(0x7FFFFF)),
        c(dropped));
    Value quietNan = arith::OrIOp::create(
        b, loc, payload, c(infBits | (int64_t(1) << (mantissaBits - 1))));
    Value isNan = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                        magnitude, c(0x7F800000));
    result = select(b, loc, isNan, quietNan, result);
    result = arith::OrIOp::create(b, loc, result, sign);
  }
  Value half = arith::TruncIOp::create(
      b, loc, withElementType(type, b.getI16Type()), result);
  return arith::BitcastOp::create(b, loc, withElementType(type, elementType),
                                  half);
}

/// f32 -> FP8 with `exponentBits` / `mantissaBits` on the bits, round to
/// nearest even, with magnitudes capped at `maxCode`: the largest finite
/// value's bits to saturate (+-Inf included), or the NaN / Inf bits to
/// overflow. NaN gives `nanCode` with the input's sign.
static Value encodeF32ToF8(OpBuilder &b, Location loc, Value value,
                           Type storageType, int exponentBits, int mantissaBits,
                           int64_t maxCode, int64_t nanCode) {
  Type type = value.getType();
  Type i32Type = withElementType(type, b.getI32Type());
  auto c = [&](int64_t v) { return intConstant(b, loc, i32Type, v); };

  Value bits = arith::BitcastOp::create(b, loc, i32Type, value);
  Value sign = arith::AndIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, bits, c(24)), c(0x80));
  Value magnitude = arith::AndIOp::create(b, loc, bits, c(0x7FFFFFFF));
  Value code =
      roundF32Bits(b, loc, magnitude, exponentBits, mantissaBits, maxCode);
  Value isNan = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                      magnitude, c(0x7F800000));
  code = select(b, loc, isNan, c(nanCode), code);
  code = arith::OrIOp::create(b, loc, code, sign);
  Value byte = arith::TruncIOp::create(
      b, loc, withElementType(type, b.getI8Type()), code);
  return arith::BitcastOp::create(b, loc, withElementType(type, storageType),
                                  byte);
}

Value mlir::kvq::emitConvertFromF32(OpBuilder &b, Location loc, Value value,
                                    Type elementType) {
  assert(getElementTypeOrSelf(value.getType()).isF32() && "expected f32");
  if (elementType.isF32())
    return value;
  Type target = withElementType(value.getType(), elementType);
  if (elementType.isBF16() || elementType.isF16())
    return truncateF32ToHalfWidth(b, loc, value, elementType);
  // Like ml_dtypes' astype: no saturation, so E4M3FN overflows to its NaN
  // (S.1111.111) and E5M2 to Inf (S.11111.00).
  if (isa<Float8E4M3FNType>(elementType))
    return encodeF32ToF8(b, loc, value, elementType, 4, 3, 0x7F, 0x7F);
  if (isa<Float8E5M2Type>(elementType))
    return encodeF32ToF8(b, loc, value, elementType, 5, 2, 0x7C, 0x7E);
  if (elementType.getIntOrFloatBitWidth() > 32)
    return arith::ExtFOp::create(b, loc, target, value);
  return arith::TruncFOp::create(b, loc, target, value);
}

Value mlir::kvq::emitRoundToScaleType(OpBuilder &b, Location loc,
                                      QuantSchemeAttr scheme, Value value) {
  auto scaleType = cast<FloatType>(scheme.getScaleType());
  // The largest finite f16 / bf16 / f32 is exact in f32.
  double fmax =
      APFloat::getLargest(scaleType.getFloatSemantics()).convertToDouble();
  Value clamped = clampF32(b, loc, value, -fmax, fmax);
  return emitConvertFromF32(b, loc, clamped, scaleType);
}

Value mlir::kvq::emitRoundHalfAwayFromZero(OpBuilder &b, Location loc,
                                           Value value) {
  Value magnitude = math::AbsFOp::create(b, loc, value);
  Value shifted = arith::AddFOp::create(
      b, loc, magnitude, floatConstant(b, loc, value.getType(), 0.5));
  Value floored = math::FloorOp::create(b, loc, shifted);
  return math::CopySignOp::create(b, loc, floored, value);
}

Value mlir::kvq::emitEncodeCodes(OpBuilder &b, Location loc,
                                 QuantSchemeAttr scheme, Value values) {
  Type type = values.getType();
  assert(getElementTypeOrSelf(type).isF32() && "expected f32 values");
  Type storage = scheme.getStorageType();
  // E4M3FN: S.1111.110 = 448 is the largest finite, S.1111.111 NaN.
  if (isa<Float8E4M3FNType>(storage))
    return encodeF32ToF8(b, loc, values, storage, 4, 3, 0x7E, 0x7F);
  // E5M2: S.11110.11 = 57344 is the largest finite, S.11111.10 the NaN
  // that ml_dtypes produces.
  if (isa<Float8E5M2Type>(storage))
    return encodeF32ToF8(b, loc, values, storage, 5, 2, 0x7B, 0x7E);

  Value rounded = emitRoundHalfAwayFromZero(b, loc, values);
  Value clamped =
      clampF32(b, loc, rounded, scheme.getMinCode(), scheme.getMaxCode());
  Value isNan = cmpF(b, loc, arith::CmpFPredicate::UNO, clamped, clamped);
  Value code = select(b, loc, isNan, floatConstant(b, loc, type, 0.0), clamped);
  // Every code fits an i32 exactly; truncating keeps its low bits, which is
  // the two's complement (symmetric) or unsigned (asymmetric) code.
  Value wide = arith::FPToSIOp::create(
      b, loc, withElementType(type, b.getI32Type()), code);
  return arith::TruncIOp::create(b, loc, withElementType(type, storage), wide);
}

Value mlir::kvq::emitQuantize(OpBuilder &b, Location loc,
                              QuantSchemeAttr scheme, Value input, Value scale,
                              Value zeroPoint) {
  Value x = emitExtendToF32(b, loc, input);
  Value s = splatLike(b, loc, emitExtendToF32(b, loc, scale), x);
  if (scheme.hasZeroPoint()) {
    assert(zeroPoint && "asymmetric scheme needs a zero point");
    Value z = splatLike(b, loc, emitExtendToF32(b, loc, zeroPoint), x);
    x = arith::SubFOp::create(b, loc, x, z);
  }
  Value values = arith::DivFOp::create(b, loc, x, s);
  return emitEncodeCodes(b, loc, scheme, values);
}

unsigned mlir::kvq::getNumQuantStatistics(QuantSchemeAttr scheme) {
  return scheme.hasZeroPoint() ? 2 : 1;
}

SmallVector<Value> mlir::kvq::emitQuantStatisticsInit(OpBuilder &b,
                                                      Location loc,
                                                      QuantSchemeAttr scheme,
                                                      Type type) {
  double inf = std::numeric_limits<double>::infinity();
  if (scheme.hasZeroPoint())
    return {floatConstant(b, loc, type, inf),
            floatConstant(b, loc, type, -inf)};
  return {floatConstant(b, loc, type, 0.0)};
}

SmallVector<Value> mlir::kvq::emitUpdateQuantStatistics(OpBuilder &b,
                                                        Location loc,
                                                        QuantSchemeAttr scheme,
                                                        Value value,
                                                        ValueRange stats) {
  assert(stats.size() == getNumQuantStatistics(scheme) && "bad statistics");
  Value x = emitExtendToF32(b, loc, value);
  Type type = x.getType();
  double inf = std::numeric_limits<double>::infinity();
  Value magnitude = math::AbsFOp::create(b, loc, x);
  // |x| < Inf is false for NaN and +-Inf.
  Value isFinite = cmpF(b, loc, arith::CmpFPredicate::OLT, magnitude,
                        floatConstant(b, loc, type, inf));
  if (!scheme.hasZeroPoint()) {
    Value candidate =
        select(b, loc, isFinite, magnitude, floatConstant(b, loc, type, 0.0));
    Value amax = stats[0];
    return {select(b, loc,
                   cmpF(b, loc, arith::CmpFPredicate::OGT, candidate, amax),
                   candidate, amax)};
  }
  // NumPy's reduction keeps the running value only when it is strictly
  // smaller (larger); an equal new value replaces it. This matters only for
  // the sign of a zero minimum, which becomes the zero point.
  Value lo = stats[0], hi = stats[1];
  Value loCandidate =
      select(b, loc, isFinite, x, floatConstant(b, loc, type, inf));
  Value hiCandidate =
      select(b, loc, isFinite, x, floatConstant(b, loc, type, -inf));
  Value newLo =
      select(b, loc, cmpF(b, loc, arith::CmpFPredicate::OLT, lo, loCandidate),
             lo, loCandidate);
  Value newHi =
      select(b, loc, cmpF(b, loc, arith::CmpFPredicate::OGT, hi, hiCandidate),
             hi, hiCandidate);
  return {newLo, newHi};
}

SmallVector<Value> mlir::kvq::emitScaleFromStatistics(OpBuilder &b,
                                                      Location loc,
                                                      QuantSchemeAttr scheme,
                                                      ValueRange stats) {
  assert(stats.size() == getNumQuantStatistics(scheme) && "bad statistics");
  Type type = stats[0].getType();
  Value maxCode = floatConstant(b, loc, type, scheme.getMaxCode());
  Value zero = floatConstant(b, loc, type, 0.0);

  // R(range / max_code), or 1 when that rounds to 0 in the scale type.
  auto scaleOf = [&](Value range) {
    Value quotient = arith::DivFOp::create(b, loc, range, maxCode);
    Value scale = emitRoundToScaleType(b, loc, scheme, quotient);
    Value isZero = cmpF(b, loc, arith::CmpFPredicate::OEQ,
                        emitExtendToF32(b, loc, scale), zero);
    Value one = floatConstant(b, loc, scale.getType(), 1.0);
    return select(b, loc, isZero, one, scale);
  };

  // Symmetric: a block without finite values has amax 0, hence scale 1.
  if (!scheme.hasZeroPoint())
    return {scaleOf(stats[0])};

  // Asymmetric: without finite values lo = +Inf > hi = -Inf; use 0 for both
  // (scale 1, zero point 0).
  Value anyFinite = cmpF(b, loc, arith::CmpFPredicate::OLE, stats[0], stats[1]);
  Value lo = select(b, loc, anyFinite, stats[0], zero);
  Value hi = select(b, loc, anyFinite, stats[1], zero);
  Value scale = scaleOf(arith::SubFOp::create(b, loc, hi, lo));
  Value zeroPoint = emitRoundToScaleType(b, loc, scheme, lo);
  return {scale, zeroPoint};
}
