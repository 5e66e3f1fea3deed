//===- QuantSchemeTest.cpp - #kvq.quant shape logic -------------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/IR/KVQAttrs.h"
#include "kvq/Dialect/KVQ/IR/KVQDialect.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/MLIRContext.h"

#include "gtest/gtest.h"

using namespace mlir;
using namespace mlir::kvq;

namespace {
class QuantSchemeTest : public ::testing::Test {
protected:
  QuantSchemeTest() { context.loadDialect<KVQDialect>(); }

  QuantSchemeAttr parse(StringRef text) {
    return dyn_cast_or_null<QuantSchemeAttr>(parseAttribute(text, &context));
  }

  MLIRContext context;
};

constexpr int64_t kDyn = ShapedType::kDynamic;

TEST_F(QuantSchemeTest, ScaleShapePerGranularity) {
  SmallVector<int64_t> shape = {2, 8, 100, 128};
  EXPECT_EQ(parse("#kvq.quant<i8, symmetric, tensor>").getScaleShape(shape),
            (SmallVector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(parse("#kvq.quant<i8, symmetric, token>").getScaleShape(shape),
            (SmallVector<int64_t>{2, 8, 100, 1}));
  EXPECT_EQ(parse("#kvq.quant<i8, symmetric, channel>").getScaleShape(shape),
            (SmallVector<int64_t>{2, 8, 1, 128}));
  // KIVI keys: per channel over groups of 32 tokens; 100 is ragged.
  EXPECT_EQ(parse("#kvq.quant<i4, asymmetric, group(axis = 2, size = 32)>")
                .getScaleShape(shape),
            (SmallVector<int64_t>{2, 8, 4, 128}));
  EXPECT_EQ(parse("#kvq.quant<i8, symmetric, block(rows = 64, cols = 48)>")
                .getScaleShape(shape),
            (SmallVector<int64_t>{2, 8, 2, 3}));
}

TEST_F(QuantSchemeTest, DynamicShapes) {
  SmallVector<int64_t> shape = {1, 8, kDyn, 128};
  EXPECT_EQ(parse("#kvq.quant<i8, symmetric, channel>").getScaleShape(shape),
            (SmallVector<int64_t>{1, 8, 1, 128}));
  EXPECT_EQ(parse("#kvq.quant<i4, symmetric, group(axis = 2, size = 32)>")
                .getScaleShape(shape),
            (SmallVector<int64_t>{1, 8, kDyn, 128}));
  EXPECT_EQ(parse("#kvq.quant<i8, symmetric, channel>").getBlockShape(shape),
            (SmallVector<int64_t>{1, 1, kDyn, 1}));
}

TEST_F(QuantSchemeTest, CodeRanges) {
  EXPECT_EQ(parse("#kvq.quant<i8, symmetric, token>").getMaxCode(), 127.0);
  EXPECT_EQ(parse("#kvq.quant<i4, symmetric, token>").getMinCode(), -7.0);
  EXPECT_EQ(parse("#kvq.quant<i2, asymmetric, token>").getMaxCode(), 3.0);
  EXPECT_EQ(parse("#kvq.quant<i2, asymmetric, token>").getMinCode(), 0.0);
  EXPECT_EQ(parse("#kvq.quant<f8E4M3FN, symmetric, token>").getMaxCode(),
            448.0);
  EXPECT_EQ(parse("#kvq.quant<f8E5M2, symmetric, token>").getMaxCode(),
            57344.0);
  EXPECT_EQ(parse("#kvq.quant<i4, symmetric, token>").getStorageBitWidth(),
            4u);
}

TEST_F(QuantSchemeTest, PrintParseRoundTrip) {
  for (StringRef text :
       {"#kvq.quant<i8, symmetric, token>",
        "#kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>",
        "#kvq.quant<f8E5M2, symmetric, block(rows = 16, cols = 8), scale = "
        "bf16>"}) {
    QuantSchemeAttr attr = parse(text);
    ASSERT_TRUE(attr) << text.str();
    std::string printed;
    llvm::raw_string_ostream os(printed);
    os << Attribute(attr);
    EXPECT_EQ(printed, text.str());
  }
}

TEST_F(QuantSchemeTest, RejectsBadSchemes) {
  context.getDiagEngine().registerHandler([](Diagnostic &) {});
  EXPECT_FALSE(parse("#kvq.quant<i16, symmetric, token>"));
  EXPECT_FALSE(parse("#kvq.quant<f8E4M3FN, asymmetric, token>"));
  EXPECT_FALSE(parse("#kvq.quant<i8, symmetric, group(axis = 0, size = 0)>"));
  EXPECT_FALSE(parse("#kvq.quant<i8, symmetric, token, scale = f64>"));
}
} // namespace
