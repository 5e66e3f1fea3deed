//===- SubByte.cpp - Packing and extracting sub-byte code fields ----------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/Utils/SubByte.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/TypeUtilities.h"

#include <algorithm>
#include <limits>

using namespace mlir;
using namespace mlir::kvq;

/// A constant of `type` (an integer or a vector of integers): `values`
/// lane by lane, or one value for every lane.
static Value intConstant(OpBuilder &b, Location loc, Type type,
                         ArrayRef<int64_t> values) {
  auto elementType = cast<IntegerType>(getElementTypeOrSelf(type));
  auto element = [&](int64_t v) { return b.getIntegerAttr(elementType, v); };
  auto vectorType = dyn_cast<VectorType>(type);
  if (!vectorType)
    return arith::ConstantOp::create(b, loc, element(values.front()));
  if (values.size() == 1)
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(vectorType, element(values.front())));
  SmallVector<Attribute> lanes;
  for (int64_t v : values)
    lanes.push_back(element(v));
  return arith::ConstantOp::create(b, loc,
                                   DenseElementsAttr::get(vectorType, lanes));
}

Value mlir::kvq::emitCodeByte(OpBuilder &b, Location loc, Value code,
                              unsigned bits) {
  return arith::DivUIOp::create(
      b, loc, code,
      arith::ConstantIndexOp::create(b, loc, getCodesPerByte(bits)));
}

Value mlir::kvq::emitFieldBitOffset(OpBuilder &b, Location loc, Value field,
                                    unsigned bits, Type type) {
  if (bits != 1)
    field = arith::MulIOp::create(b, loc, field,
                                  arith::ConstantIndexOp::create(b, loc, bits));
  return arith::IndexCastUIOp::create(b, loc, type, field);
}

Value mlir::kvq::emitCodeBitOffset(OpBuilder &b, Location loc, Value code,
                                   unsigned bits, Type type) {
  Value field = arith::RemUIOp::create(
      b, loc, code,
      arith::ConstantIndexOp::create(b, loc, getCodesPerByte(bits)));
  return emitFieldBitOffset(b, loc, field, bits, type);
}

namespace {
/// A field's bit offset: a value, or static per lane (one entry: all
/// lanes).
struct Offset {
  Value dynamic;
  SmallVector<int64_t, 1> lanes;

  bool isZero() const {
    return !dynamic && llvm::all_of(lanes, [](int64_t v) { return v == 0; });
  }
  /// `base - offset` as a value of `type`.
  Value emitBaseMinus(OpBuilder &b, Location loc, Type type,
                      int64_t base) const {
    if (dynamic)
      return arith::SubIOp::create(b, loc, intConstant(b, loc, type, base),
                                   dynamic);
    SmallVector<int64_t> values;
    for (int64_t v : lanes)
      values.push_back(base - v);
    return intConstant(b, loc, type, values);
  }
  Value emit(OpBuilder &b, Location loc, Type type) const {
    return dynamic ? dynamic : intConstant(b, loc, type, lanes);
  }
};
} // namespace

static Value extractField(OpBuilder &b, Location loc, Value value,
                          const Offset &offset, unsigned bits,
                          FieldExtension extension, Type resultType) {
  Type type = value.getType();
  if (!resultType)
    resultType = type;
  unsigned width = getElementTypeOrSelf(type).getIntOrFloatBitWidth();
  unsigned resultWidth =
      getElementTypeOrSelf(resultType).getIntOrFloatBitWidth();
  if (resultWidth < width) {
    // Shift the field down and truncate; extend within the narrow type
    // when the field does not fill it.
    if (!offset.isZero())
      value = arith::ShRUIOp::create(b, loc, value, offset.emit(b, loc, type));
    value = arith::TruncIOp::create(b, loc, resultType, value);
    if (resultWidth == bits)
      return value;
    return extractField(b, loc, value, Offset{Value(), {0}}, bits, extension,
                        resultType);
  }
  if (resultWidth > width) {
    if (extension == FieldExtension::SignByShifts)
      value = arith::ExtSIOp::create(b, loc, resultType, value);
    else
      value = arith::ExtUIOp::create(b, loc, resultType, value);
    type = resultType;
    width = resultWidth;
  }

  if (extension == FieldExtension::SignByShifts) {
    // The field to the top of the container, then down arithmetically.
    Value up = value;
    if (offset.dynamic || !llvm::all_of(offset.lanes, [&](int64_t v) {
          return v + bits == width;
        }))
      up = arith::ShLIOp::create(
          b, loc, value, offset.emitBaseMinus(b, loc, type, width - bits));
    return arith::ShRSIOp::create(b, loc, up,
                                  intConstant(b, loc, type, width - bits));
  }
  Value field = value;
  if (!offset.isZero())
    field = arith::ShRUIOp::create(b, loc, field, offset.emit(b, loc, type));
  field = arith::AndIOp::create(b, loc, field,
                                intConstant(b, loc, type, (1 << bits) - 1));
  if (extension == FieldExtension::SignByXorSub) {
    Value half = intConstant(b, loc, type, 1 << (bits - 1));
    field = arith::SubIOp::create(
        b, loc, arith::XOrIOp::create(b, loc, field, half), half);
  }
  return field;
}

Value mlir::kvq::emitExtractField(OpBuilder &b, Location loc, Value value,
                                  int64_t offset, unsigned bits,
                                  FieldExtension extension, Type resultType) {
  return extractField(b, loc, value, Offset{Value(), {offset}}, bits, extension,
                      resultType);
}

Value mlir::kvq::emitExtractField(OpBuilder &b, Location loc, Value value,
                                  ArrayRef<int64_t> offsets, unsigned bits,
                                  FieldExtension extension, Type resultType) {
  return extractField(b, loc, value,
                      Offset{Value(), llvm::to_vector_of<int64_t, 1>(offsets)},
                      bits, extension, resultType);
}

Value mlir::kvq::emitExtractField(OpBuilder &b, Location loc, Value value,
                                  Value offset, unsigned bits,
                                  FieldExtension extension, Type resultType) {
  return extractField(b, loc, value, Offset{offset, {}}, bits, extension,
                      resultType);
}

Value mlir::kvq::emitFieldToF32(OpBuilder &b, Location loc, Value field,
                                FieldExtension extension) {
  Type f32 = b.getF32Type();
  if (auto vectorType = dyn_cast<VectorType>(field.getType()))
    f32 = vectorType.clone(f32);
  if (extension == FieldExtension::Zero)
    return arith::UIToFPOp::create(b, loc, f32, field);
  return arith::SIToFPOp::create(b, loc, f32, field);
}

Value mlir::kvq::emitInsertField(OpBuilder &b, Location loc, Value acc,
                                 Value field, Value offset) {
  return arith::OrIOp::create(b, loc, acc,
                              arith::ShLIOp::create(b, loc, field, offset));
}

Value mlir::kvq::emitPackFields(OpBuilder &b, Location loc, ValueRange fields,
                                unsigned bits) {
  Value packed = fields.front();
  for (auto [i, field] : llvm::enumerate(fields.drop_front()))
    packed = arith::OrIOp::create(
        b, loc, packed,
        arith::ShLIOp::create(
            b, loc, field,
            intConstant(b, loc, field.getType(), (i + 1) * bits)));
  return packed;
}

Value mlir::kvq::emitLaneFields(OpBuilder &b, Location loc, Value buffer,
                                ValueRange prefix, ArrayRef<int64_t> bitOf,
                                unsigned fieldBits) {
  int64_t width = bitOf.size();
  Type i32 = b.getI32Type();
  auto vecType = VectorType::get({width}, i32);
  auto splat = [&](int64_t v) {
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(vecType, b.getI32IntegerAttr(v)));
  };
  Value result = splat(0);
  SmallVector<bool> done(width);
  for (int64_t l = 0; l < width; ++l)
    done[l] = bitOf[l] < 0;
  while (llvm::is_contained(done, false)) {
    int64_t first = std::numeric_limits<int64_t>::max();
    for (int64_t l = 0; l < width; ++l)
      if (!done[l])
        first = std::min(first, bitOf[l]);
    int64_t base = first / 8, lastByte = base;
    SmallVector<int32_t> shifts(width, 0);
    SmallVector<bool> inWindow(width, false);
    for (int64_t l = 0; l < width; ++l) {
      if (done[l] || bitOf[l] + fieldBits > 8 * base + 32)
        continue;
      inWindow[l] = true;
      shifts[l] = static_cast<int32_t>(bitOf[l] - 8 * base);
      lastByte = std::max(lastByte, (bitOf[l] + fieldBits - 1) / 8);
    }
    Value word;
    for (int64_t k = base; k <= lastByte; ++k) {
      SmallVector<Value> indices(prefix);
      indices.push_back(arith::ConstantIndexOp::create(b, loc, k));
      Value byte = arith::ExtUIOp::create(
          b, loc, i32, memref::LoadOp::create(b, loc, buffer, indices));
      if (k > base)
        byte = arith::ShLIOp::create(
            b, loc, byte,
            arith::ConstantIntOp::create(b, loc, i32, 8 * (k - base)));
      word = word ? arith::OrIOp::create(b, loc, word, byte).getResult() : byte;
    }
    Value fields = arith::AndIOp::create(
        b, loc,
        arith::ShRUIOp::create(
            b, loc, vector::BroadcastOp::create(b, loc, vecType, word),
            arith::ConstantOp::create(
                b, loc,
                DenseElementsAttr::get(vecType, ArrayRef<int32_t>(shifts)))),
        splat((int64_t(1) << fieldBits) - 1));
    // Lanes without a field may hold anything: a window covering every
    // other lane is the whole result.
    bool all = llvm::all_of(llvm::seq<int64_t>(0, width), [&](int64_t l) {
      return inWindow[l] || bitOf[l] < 0;
    });
    result = all ? fields
                 : arith::SelectOp::create(
                       b, loc,
                       arith::ConstantOp::create(
                           b, loc,
                           DenseElementsAttr::get(
                               VectorType::get({width}, b.getI1Type()),
                               ArrayRef<bool>(inWindow))),
                       fields, result)
                       .getResult();
    for (int64_t l = 0; l < width; ++l)
      done[l] = done[l] || inWindow[l];
  }
  return result;
}
