//===- SubByteTest.cpp - Sub-byte code field builders -----------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// The builders of kvq/Dialect/KVQ/Utils/SubByte.h applied to constants and
// evaluated by the ops' folders, against the LSB-first layout written out
// by hand: field j of a byte is bits [j * bits, (j + 1) * bits). Every
// byte, field, width, extension and offset form (static, per lane,
// dynamic) is checked, so a wrong shift amount, mask or sign extension in
// any of them fails here.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/Utils/SubByte.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Matchers.h"

#include "gtest/gtest.h"

using namespace mlir;
using namespace mlir::kvq;

namespace {

/// The field by hand: zero- or sign-extended.
int64_t expectedField(uint8_t byte, unsigned bits, unsigned field,
                      bool isSigned) {
  int64_t value = (byte >> (field * bits)) & ((1 << bits) - 1);
  if (isSigned && value >= (int64_t(1) << (bits - 1)))
    value -= int64_t(1) << bits;
  return value;
}

class SubByteTest : public ::testing::Test {
protected:
  SubByteTest()
      : module(ModuleOp::create(UnknownLoc::get(&context))),
        b(module->getBodyRegion()), loc(b.getUnknownLoc()) {
    context.loadDialect<arith::ArithDialect>();
  }

  /// `value` evaluated with the folders of the ops that compute it from
  /// constants: an IntegerAttr or DenseIntElementsAttr.
  Attribute evaluate(Value value) {
    if (Attribute known = values.lookup(value))
      return known;
    Operation *op = value.getDefiningOp();
    EXPECT_NE(op, nullptr);
    Attribute constant;
    if (matchPattern(value, m_Constant(&constant)))
      return constant;
    SmallVector<Attribute> operands;
    for (Value operand : op->getOperands())
      operands.push_back(evaluate(operand));
    SmallVector<OpFoldResult> results;
    if (failed(op->fold(operands, results)) || results.size() != 1) {
      ADD_FAILURE() << "cannot fold " << op->getName().getStringRef().str();
      return {};
    }
    Attribute result = dyn_cast<Attribute>(results.front());
    if (!result)
      result = evaluate(cast<Value>(results.front()));
    values[value] = result;
    return result;
  }

  int64_t evaluateInt(Value value) {
    auto attr = dyn_cast_or_null<IntegerAttr>(evaluate(value));
    EXPECT_TRUE(attr);
    return attr ? attr.getValue().getSExtValue() : 0;
  }

  SmallVector<int64_t> evaluateLanes(Value value) {
    auto attr = dyn_cast_or_null<DenseIntElementsAttr>(evaluate(value));
    EXPECT_TRUE(attr);
    SmallVector<int64_t> lanes;
    if (attr)
      for (const APInt &lane : attr.getValues<APInt>())
        lanes.push_back(lane.getSExtValue());
    return lanes;
  }

  Value constant(Type type, int64_t v) {
    APInt bits(type.getIntOrFloatBitWidth(), v, /*isSigned=*/true,
               /*implicitTrunc=*/true);
    return arith::ConstantOp::create(b, loc, IntegerAttr::get(type, bits));
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> module;
  OpBuilder b;
  Location loc;
  DenseMap<Value, Attribute> values;
};

constexpr FieldExtension kExtensions[] = {FieldExtension::Zero,
                                          FieldExtension::SignByShifts,
                                          FieldExtension::SignByXorSub};

TEST_F(SubByteTest, StaticPositions) {
  EXPECT_EQ(getCodesPerByte(4), 2);
  EXPECT_EQ(getCodesPerByte(2), 4);
  EXPECT_EQ(getCodesPerByte(1), 8);
  for (unsigned bits : {1u, 2u, 4u})
    for (int64_t code = 0; code < 64; ++code) {
      EXPECT_EQ(getCodeByte(code, bits), code * bits / 8);
      EXPECT_EQ(getCodeBitOffset(code, bits), code * bits % 8);
    }
}

TEST_F(SubByteTest, DynamicPositions) {
  for (Type type : {Type(b.getI8Type()), Type(b.getI32Type())})
    for (unsigned bits : {1u, 2u, 4u})
      for (int64_t code = 0; code < 40; ++code) {
        Value c = arith::ConstantIndexOp::create(b, loc, code);
        EXPECT_EQ(evaluateInt(emitCodeByte(b, loc, c, bits)), code * bits / 8);
        EXPECT_EQ(evaluateInt(emitCodeBitOffset(b, loc, c, bits, type)),
                  code * bits % 8);
        if (code < 8 / bits) {
          EXPECT_EQ(evaluateInt(emitFieldBitOffset(b, loc, c, bits, type)),
                    code * bits);
        }
      }
}

TEST_F(SubByteTest, ExtractScalarEveryByteFieldAndExtension) {
  Type i8 = b.getI8Type(), i32 = b.getI32Type();
  for (unsigned bits : {1u, 2u, 4u})
    for (unsigned byte = 0; byte < 256; ++byte) {
      Value v = constant(i8, byte);
      for (FieldExtension ext : kExtensions) {
        bool isSigned = ext != FieldExtension::Zero;
        for (unsigned field = 0; field < 8 / bits; ++field) {
          int64_t want = expectedField(byte, bits, field, isSigned);
          int64_t offset = field * bits;
          SCOPED_TRACE(testing::Message()
                       << "bits " << bits << " byte " << byte << " field "
                       << field << " extension " << static_cast<int>(ext));
          // In the byte's own width, wider, and with a dynamic offset.
          EXPECT_EQ(evaluateInt(emitExtractField(b, loc, v, offset, bits, ext)),
                    want);
          EXPECT_EQ(
              evaluateInt(emitExtractField(b, loc, v, offset, bits, ext, i32)),
              want);
          EXPECT_EQ(evaluateInt(emitExtractField(
                        b, loc, v, constant(i32, offset), bits, ext, i32)),
                    want);
          EXPECT_EQ(evaluateInt(emitExtractField(
                        b, loc, v, constant(i8, offset), bits, ext)),
                    want);
          // The codes' own type iN: the field's bits, whatever the
          // extension.
          Type iN = b.getIntegerType(bits);
          int64_t raw = expectedField(byte, bits, field, /*isSigned=*/false);
          APInt got(bits, 0);
          if (auto attr = dyn_cast_or_null<IntegerAttr>(
                  evaluate(emitExtractField(b, loc, v, offset, bits, ext, iN))))
            got = attr.getValue();
          EXPECT_EQ(got.getZExtValue(), static_cast<uint64_t>(raw));
        }
      }
    }
}

TEST_F(SubByteTest, ExtractVectorsSplatAndPerLane) {
  // Lane i holds byte 37 * i + 11; per-lane offsets cycle over the fields.
  constexpr int64_t kLanes = 16;
  auto i8Vec = VectorType::get({kLanes}, b.getI8Type());
  auto i32Vec = VectorType::get({kLanes}, b.getI32Type());
  SmallVector<int8_t> bytes;
  for (int64_t i = 0; i < kLanes; ++i)
    bytes.push_back(static_cast<int8_t>((37 * i + 11) & 0xFF));
  Value v = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(i8Vec, ArrayRef<int8_t>(bytes)));
  Value wide = arith::ExtUIOp::create(b, loc, i32Vec, v);
  for (unsigned bits : {2u, 4u})
    for (FieldExtension ext : kExtensions) {
      bool isSigned = ext != FieldExtension::Zero;
      for (unsigned field = 0; field < 8 / bits; ++field) {
        SmallVector<int64_t> want;
        for (int8_t byte : bytes)
          want.push_back(expectedField(byte, bits, field, isSigned));
        EXPECT_EQ(
            evaluateLanes(emitExtractField(b, loc, v, field * bits, bits, ext)),
            want);
        EXPECT_EQ(evaluateLanes(emitExtractField(b, loc, v, field * bits, bits,
                                                 ext, i32Vec)),
                  want);
      }
      SmallVector<int64_t> offsets, want;
      for (int64_t i = 0; i < kLanes; ++i) {
        unsigned field = i % (8 / bits);
        offsets.push_back(field * bits);
        want.push_back(expectedField(bytes[i], bits, field, isSigned));
      }
      EXPECT_EQ(
          evaluateLanes(emitExtractField(b, loc, wide, offsets, bits, ext)),
          want);
    }
}

TEST_F(SubByteTest, PackAndInsertRoundTrip) {
  Type i8 = b.getI8Type();
  for (unsigned bits : {1u, 2u, 4u})
    for (unsigned byte = 0; byte < 256; ++byte) {
      SmallVector<Value> fields;
      Value acc = constant(i8, 0);
      for (unsigned field = 0; field < 8 / bits; ++field) {
        Value f = constant(i8, expectedField(byte, bits, field, false));
        fields.push_back(f);
        acc = emitInsertField(b, loc, acc, f, constant(i8, field * bits));
      }
      EXPECT_EQ(evaluateInt(emitPackFields(b, loc, fields, bits)) & 0xFF, byte);
      EXPECT_EQ(evaluateInt(acc) & 0xFF, byte);
    }
}

} // namespace
