//===- QuantCodegen.cpp - Emit scheme encode / decode arithmetic -*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/Utils/QuantCodegen.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::kvq;

Type mlir::kvq::withElementType(Type type, Type elementType) {
  if (auto vectorType = dyn_cast<VectorType>(type))
    return vectorType.clone(elementType);
  return elementType;
}

/// A constant of `type` (scalar or vector: splat) holding `value`.
static Value intConstant(OpBuilder &b, Location loc, Type type,
                         int64_t value) {
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
  Value em = arith::AndIOp::create(b, loc, u, intConstant(b, loc, i32Type, 0x7F));
  // Normal numbers: rebias the exponent (7 -> 127) and widen the mantissa.
  Value normal = arith::ShLIOp::create(
      b, loc,
      arith::AddIOp::create(b, loc, em, intConstant(b, loc, i32Type, 120 << 3)),
      intConstant(b, loc, i32Type, 20));
  // Subnormals (exponent field 0): m * 2^-9, exact in f32.
  Value mant = arith::AndIOp::create(b, loc, em, intConstant(b, loc, i32Type, 7));
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
