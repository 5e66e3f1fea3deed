//===- KVQOps.cpp - kvq operations ------------------------------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Dialect/KVQ/Utils/Polar.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::kvq;

//===----------------------------------------------------------------------===//
// Shared helpers
//===----------------------------------------------------------------------===//

/// Formats a shape as `[2, ?, 8]` for diagnostics.
static std::string formatShape(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "[";
  llvm::interleaveComma(shape, os, [&](int64_t d) {
    if (ShapedType::isDynamic(d))
      os << "?";
    else
      os << d;
  });
  os << "]";
  return s;
}

/// Whether static dims `a` and `b` may be equal.
static bool compatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// Whether `shape` is compatible with `expected` dim by dim.
static bool compatibleShape(ArrayRef<int64_t> shape,
                            ArrayRef<int64_t> expected) {
  return shape.size() == expected.size() &&
         llvm::all_of(llvm::seq<size_t>(0, shape.size()), [&](size_t i) {
           return compatible(shape[i], expected[i]);
         });
}

/// Fails with "<what> <shape> <requirement> <expected>" unless `shape` is
/// compatible with `expected`, e.g. "b [2, 3] must be [B, H, R, D] = [...]".
static LogicalResult verifyShape(Operation *op, const Twine &what,
                                 ArrayRef<int64_t> shape,
                                 ArrayRef<int64_t> expected,
                                 StringRef requirement) {
  if (compatibleShape(shape, expected))
    return success();
  return op->emitOpError() << what << " " << formatShape(shape) << " "
                           << requirement << " " << formatShape(expected);
}

/// Formats one extent: `8` or `?`.
static std::string formatDim(int64_t d) {
  return ShapedType::isDynamic(d) ? "?" : std::to_string(d);
}

/// Two extents agree unless both are static and differ.
static bool dimsCompatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

static bool shapesCompatible(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  return a.size() == b.size() &&
         llvm::all_of(llvm::zip_equal(a, b), [](auto pair) {
           return dimsCompatible(std::get<0>(pair), std::get<1>(pair));
         });
}

/// Verifies the codes / scale / zero-point triple of data with `dataShape`
/// stored under `scheme`. `what` names the operand group in messages.
static LogicalResult verifyQuantizedData(Operation *op, StringRef what,
                                         QuantSchemeAttr scheme,
                                         ArrayRef<int64_t> dataShape,
                                         RankedTensorType codesType,
                                         Value scale, Value zeroPoint) {
  auto emitError = [&]() { return op->emitOpError(); };
  if (failed(scheme.verifyRank(dataShape.size(), [&]() {
        return op->emitOpError() << what << ": ";
      })))
    return failure();
  if (codesType.getElementType() != scheme.getStorageType())
    return emitError() << what << " codes must have the scheme's storage type "
                       << scheme.getStorageType() << ", but got "
                       << codesType.getElementType();
  if (!scale)
    return emitError() << what << " is quantized but has no scale operand";
  SmallVector<int64_t> expected = scheme.getScaleShape(dataShape);
  for (auto [name, side] : {std::pair<StringRef, Value>{"scale", scale},
                            {"zero point", zeroPoint}}) {
    if (!side)
      continue;
    auto type = cast<RankedTensorType>(side.getType());
    if (type.getElementType() != scheme.getScaleType())
      return emitError() << what << " " << name
                         << " must have the scheme's scale type "
                         << scheme.getScaleType() << ", but got "
                         << type.getElementType();
    if (!shapesCompatible(type.getShape(), expected))
      return emitError() << what << " " << name << " shape must be "
                         << formatShape(expected) << " for the scheme's '"
                         << stringifyGranularity(scheme.getGranularity())
                         << "' granularity on data of shape "
                         << formatShape(dataShape) << ", but got "
                         << formatShape(type.getShape());
  }
  if (scheme.hasZeroPoint() && !zeroPoint)
    return emitError() << what
                       << " uses an asymmetric scheme and needs a zero point";
  if (!scheme.hasZeroPoint() && zeroPoint)
    return emitError() << what
                       << " uses a symmetric scheme and takes no zero point";
  return success();
}

/// Parses a scheme attribute written in full (`#kvq.quant<...>`). The ops
/// print it before their operands: an extended attribute directly followed
/// by `:` would take the op's type list as its own type.
static ParseResult parseScheme(OpAsmParser &parser, QuantSchemeAttr &scheme) {
  SMLoc loc = parser.getCurrentLocation();
  Attribute attr;
  if (parser.parseAttribute(attr, NoneType::get(parser.getContext())))
    return failure();
  scheme = dyn_cast<QuantSchemeAttr>(attr);
  if (!scheme)
    return parser.emitError(loc, "expected a #kvq.quant scheme attribute");
  return success();
}

static void printScheme(OpAsmPrinter &printer, Operation *,
                        QuantSchemeAttr scheme) {
  printer.printAttribute(scheme);
}

//===----------------------------------------------------------------------===//
// QuantizeOp
//===----------------------------------------------------------------------===//

LogicalResult QuantizeOp::verify() {
  RankedTensorType inputType = getInput().getType();
  auto codesType = cast<RankedTensorType>(getCodes().getType());
  if (!shapesCompatible(inputType.getShape(), codesType.getShape()))
    return emitOpError() << "codes shape " << formatShape(codesType.getShape())
                         << " must match the input shape "
                         << formatShape(inputType.getShape());
  return verifyQuantizedData(*this, "result", getScheme(), inputType.getShape(),
                             codesType, getScale(), getZeroPoint());
}

//===----------------------------------------------------------------------===//
// DequantizeOp
//===----------------------------------------------------------------------===//

LogicalResult DequantizeOp::verify() {
  auto codesType = cast<RankedTensorType>(getCodes().getType());
  RankedTensorType resultType = getResult().getType();
  if (!shapesCompatible(resultType.getShape(), codesType.getShape()))
    return emitOpError() << "result shape "
                         << formatShape(resultType.getShape())
                         << " must match the codes shape "
                         << formatShape(codesType.getShape());
  return verifyQuantizedData(*this, "operand", getScheme(),
                             codesType.getShape(), codesType, getScale(),
                             getZeroPoint());
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

/// Parses the operand group of K or V:
/// `%x : type [, #kvq.quant<...>, scale %s : type [, zero_point %z : type]]`.
static ParseResult
parseKVOperand(OpAsmParser &parser, OpAsmParser::UnresolvedOperand &data,
               Type &dataType, QuantSchemeAttr &scheme,
               std::optional<OpAsmParser::UnresolvedOperand> &scale,
               Type &scaleType,
               std::optional<OpAsmParser::UnresolvedOperand> &zeroPoint,
               Type &zeroPointType) {
  if (parser.parseOperand(data) || parser.parseColonType(dataType))
    return failure();
  if (failed(parser.parseOptionalComma()))
    return success();
  OpAsmParser::UnresolvedOperand operand;
  if (parseScheme(parser, scheme) || parser.parseComma() ||
      parser.parseKeyword("scale") || parser.parseOperand(operand) ||
      parser.parseColonType(scaleType))
    return failure();
  scale = operand;
  if (failed(parser.parseOptionalComma()))
    return success();
  if (parser.parseKeyword("zero_point") || parser.parseOperand(operand) ||
      parser.parseColonType(zeroPointType))
    return failure();
  zeroPoint = operand;
  return success();
}

static void printKVOperand(OpAsmPrinter &printer, Operation *, Value data,
                           Type dataType, QuantSchemeAttr scheme, Value scale,
                           Type scaleType, Value zeroPoint,
                           Type zeroPointType) {
  printer << data << " : " << dataType;
  if (!scheme)
    return;
  printer << ", ";
  printer.printAttribute(scheme);
  printer << ", scale " << scale << " : " << scaleType;
  if (zeroPoint)
    printer << ", zero_point " << zeroPoint << " : " << zeroPointType;
}

/// Parses the operand group of Q: `%q : type [, #kvq.quant<...>, scale %s :
/// type]` (quantized queries take no zero point).
static ParseResult
parseQueryOperand(OpAsmParser &parser, OpAsmParser::UnresolvedOperand &data,
                  Type &dataType, QuantSchemeAttr &scheme,
                  std::optional<OpAsmParser::UnresolvedOperand> &scale,
                  Type &scaleType) {
  std::optional<OpAsmParser::UnresolvedOperand> zeroPoint;
  Type zeroPointType;
  SMLoc loc = parser.getCurrentLocation();
  if (parseKVOperand(parser, data, dataType, scheme, scale, scaleType,
                     zeroPoint, zeroPointType))
    return failure();
  if (zeroPoint)
    return parser.emitError(loc, "quantized queries take no zero point");
  return success();
}

static void printQueryOperand(OpAsmPrinter &printer, Operation *op, Value data,
                              Type dataType, QuantSchemeAttr scheme,
                              Value scale, Type scaleType) {
  printKVOperand(printer, op, data, dataType, scheme, scale, scaleType, Value(),
                 Type());
}

double AttentionOp::getEffectiveScale() {
  if (std::optional<APFloat> scale = getScale())
    return scale->convertToDouble();
  int64_t d = getQuery().getType().getShape()[3];
  // A dynamic head dimension has no compile-time default; lowering reads it
  // from the runtime shape instead.
  if (ShapedType::isDynamic(d))
    return std::nan("");
  return 1.0 / std::sqrt(static_cast<double>(d));
}

int64_t AttentionOp::getGroupSize() {
  int64_t hq = getQuery().getType().getShape()[1];
  int64_t hkv = cast<RankedTensorType>(getKey().getType()).getShape()[1];
  if (ShapedType::isDynamic(hq) || ShapedType::isDynamic(hkv))
    return ShapedType::kDynamic;
  return hq / hkv;
}

/// Verifies K or V: plain floating point, or codes described by `scheme`.
static LogicalResult verifyKeyOrValue(AttentionOp op, StringRef what,
                                      RankedTensorType type,
                                      QuantSchemeAttr scheme, Value scale,
                                      Value zeroPoint) {
  if (!scheme) {
    if (scale || zeroPoint)
      return op.emitOpError()
             << what << " has a scale or zero point but no scheme";
    if (!isa<FloatType>(type.getElementType()))
      return op.emitOpError()
             << what << " must be floating point unless a quantization "
             << "scheme is given, but has element type "
             << type.getElementType();
    return success();
  }
  return verifyQuantizedData(op, what, scheme, type.getShape(), type, scale,
                             zeroPoint);
}

LogicalResult AttentionOp::verify() {
  auto qType = cast<RankedTensorType>(getQuery().getType());
  auto kType = cast<RankedTensorType>(getKey().getType());
  auto vType = cast<RankedTensorType>(getValue().getType());
  RankedTensorType oType = getResult().getType();

  for (auto [name, type] :
       {std::pair<StringRef, RankedTensorType>{"query", qType},
        {"key", kType},
        {"value", vType},
        {"result", oType}}) {
    if (type.getRank() != 4)
      return emitOpError() << name
                           << " must have rank 4 [batch, heads, seq, dim], "
                              "but got rank "
                           << type.getRank();
  }
  ArrayRef<int64_t> q = qType.getShape(), k = kType.getShape(),
                    v = vType.getShape(), o = oType.getShape();
  if (!dimsCompatible(q[0], k[0]) || !dimsCompatible(q[0], v[0]))
    return emitOpError() << "query, key and value must have the same batch "
                            "size, but got "
                         << formatShape(q) << ", " << formatShape(k) << ", "
                         << formatShape(v);
  if (!dimsCompatible(k[1], v[1]))
    return emitOpError() << "key and value must have the same number of heads";
  if (!ShapedType::isDynamic(k[1]) && k[1] == 0)
    return emitOpError() << "key/value must have at least one head";
  if (!ShapedType::isDynamic(q[1]) && !ShapedType::isDynamic(k[1]) &&
      q[1] % k[1] != 0)
    return emitOpError() << "query heads (" << q[1]
                         << ") must be a multiple of key/value heads (" << k[1]
                         << ") for grouped-query attention";
  if (!dimsCompatible(k[2], v[2]))
    return emitOpError() << "key and value must have the same sequence length";
  if (!dimsCompatible(q[3], k[3]))
    return emitOpError() << "query and key must have the same head dimension, "
                            "but got "
                         << formatDim(q[3]) << " and " << formatDim(k[3]);
  SmallVector<int64_t> expected = {q[0], q[1], q[2], v[3]};
  if (!shapesCompatible(o, expected))
    return emitOpError() << "result shape must be [B, Hq, Sq, Dv] = "
                         << formatShape(expected) << ", but got "
                         << formatShape(o);
  if (!isQueryQuantized() && isa<FloatType>(qType.getElementType()) &&
      oType.getElementType() != qType.getElementType())
    return emitOpError() << "result element type must match the query's "
                         << qType.getElementType();

  // Quantized queries (SageAttention2): symmetric codes and a scale.
  if (QuantSchemeAttr qScheme = getQuerySchemeAttr()) {
    if (!qScheme.getSymmetric())
      return emitOpError() << "query scheme must be symmetric, but got "
                           << qScheme;
    if (failed(verifyQuantizedData(*this, "query", qScheme, q, qType,
                                   getQueryScale(), Value())))
      return failure();
  } else if (getQueryScale()) {
    return emitOpError() << "query has a scale but no scheme";
  } else if (!isa<FloatType>(qType.getElementType())) {
    return emitOpError() << "query must be floating point unless a "
                            "quantization scheme is given, but has element "
                            "type "
                         << qType.getElementType();
  }

  // Delta-S: one row of score offsets per group of `delta_s_rows` queries.
  if (Value deltaS = getDeltaS()) {
    std::optional<uint64_t> rows = getDeltaSRows();
    if (!rows)
      return emitOpError() << "delta_s needs the delta_s_rows attribute";
    auto dType = cast<RankedTensorType>(deltaS.getType());
    int64_t groups = ShapedType::isDynamic(q[2])
                         ? ShapedType::kDynamic
                         : llvm::divideCeil(q[2], static_cast<int64_t>(*rows));
    SmallVector<int64_t> expectedDs = {q[0], q[1], groups, k[2]};
    if (!dType.getElementType().isF32() ||
        !shapesCompatible(dType.getShape(), expectedDs))
      return emitOpError()
             << "delta_s must be f32 [B, Hq, ceildiv(Sq, delta_s_rows), Skv] "
                "= "
             << formatShape(expectedDs) << ", but got " << dType;
  } else if (getDeltaSRows()) {
    return emitOpError() << "delta_s_rows is given without delta_s";
  }

  if (std::optional<Type> pType = getPType())
    if (!isa<Float8E4M3FNType, Float16Type, BFloat16Type>(*pType))
      return emitOpError() << "p_type must be f8E4M3FN, f16 or bf16, but got "
                           << *pType;

  if (failed(verifyKeyOrValue(*this, "key", kType, getKeySchemeAttr(),
                              getKeyScale(), getKeyZeroPoint())) ||
      failed(verifyKeyOrValue(*this, "value", vType, getValueSchemeAttr(),
                              getValueScale(), getValueZeroPoint())))
    return failure();

  if (Value mask = getMask()) {
    auto mType = cast<RankedTensorType>(mask.getType());
    ArrayRef<int64_t> m = mType.getShape();
    if (mType.getRank() != 4 || !(m[0] == 1 || dimsCompatible(m[0], q[0])) ||
        !(m[1] == 1 || dimsCompatible(m[1], q[1])) ||
        !(m[2] == 1 || dimsCompatible(m[2], q[2])) ||
        !dimsCompatible(m[3], k[2]))
      return emitOpError() << "mask shape must be [B or 1, Hq or 1, Sq or 1, "
                              "Skv] = ["
                           << formatDim(q[0]) << " or 1, " << formatDim(q[1])
                           << " or 1, " << formatDim(q[2]) << " or 1, "
                           << formatDim(k[2]) << "], but got "
                           << formatShape(m);
  }

  if (std::optional<APFloat> scale = getScale())
    if (!scale->isFiniteNonZero())
      return emitOpError() << "scale must be finite and non-zero, but got "
                           << scale->convertToDouble();
  return success();
}

namespace {
/// extract_slice(unpack(bytes)) -> unpack(extract_slice(bytes)) when the
/// slice keeps whole rows (the packed dimension untouched, unit strides):
/// consumers such as tiled attention then read the packed bytes directly
/// instead of a repacked copy.
struct SliceBeforeUnpack : OpRewritePattern<tensor::ExtractSliceOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(tensor::ExtractSliceOp slice,
                                PatternRewriter &rewriter) const override {
    auto unpack = slice.getSource().getDefiningOp<UnpackOp>();
    if (!unpack)
      return failure();
    auto codesType = unpack.getCodes().getType();
    int64_t rank = codesType.getRank();
    if (slice.getResultType().getRank() != rank ||
        !llvm::all_of(slice.getMixedStrides(),
                      [](OpFoldResult s) { return isConstantIntValue(s, 1); }))
      return rewriter.notifyMatchFailure(slice, "rank-reducing or strided");
    SmallVector<OpFoldResult> offsets = slice.getMixedOffsets();
    SmallVector<OpFoldResult> sizes = slice.getMixedSizes();
    if (!isConstantIntValue(offsets.back(), 0) ||
        !isConstantIntValue(sizes.back(), codesType.getShape().back()))
      return rewriter.notifyMatchFailure(slice, "cuts the packed dimension");
    auto bytesType = unpack.getBytes().getType();
    sizes.back() = rewriter.getIndexAttr(bytesType.getShape().back());
    SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
    Value bytes = tensor::ExtractSliceOp::create(
        rewriter, slice.getLoc(), unpack.getBytes(), offsets, sizes, strides);
    rewriter.replaceOpWithNewOp<UnpackOp>(slice, slice.getResultType(), bytes);
    return success();
  }
};
} // namespace

void UnpackOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                           MLIRContext *context) {
  results.add<SliceBeforeUnpack>(context);
}

#define GET_OP_CLASSES
#include "kvq/Dialect/KVQ/IR/KVQOps.cpp.inc"

//===----------------------------------------------------------------------===//
// PackOp and UnpackOp
//===----------------------------------------------------------------------===//

/// Verifies that `bytesType` holds `codesType` packed along the last
/// dimension, `8 / bits` codes per byte.
static LogicalResult verifyPackedShapes(Operation *op,
                                        RankedTensorType codesType,
                                        RankedTensorType bytesType) {
  if (codesType.getRank() != bytesType.getRank())
    return op->emitOpError()
           << "codes and bytes must have the same rank, but got "
           << codesType.getRank() << " and " << bytesType.getRank();
  if (codesType.getRank() == 0)
    return op->emitOpError()
           << "codes and bytes must have rank >= 1: packing runs along the "
              "last dimension";
  ArrayRef<int64_t> codes = codesType.getShape();
  ArrayRef<int64_t> bytes = bytesType.getShape();
  if (!shapesCompatible(codes.drop_back(), bytes.drop_back()))
    return op->emitOpError()
           << "codes and bytes must have the same leading dimensions, but got "
           << formatShape(codes) << " and " << formatShape(bytes);
  if (ShapedType::isDynamic(codes.back()) ||
      ShapedType::isDynamic(bytes.back()))
    return op->emitOpError()
           << "the last dimension of codes and bytes must be static, but got "
           << formatShape(codes) << " and " << formatShape(bytes);
  unsigned bits = codesType.getElementTypeBitWidth();
  int64_t perByte = 8 / bits;
  if (codes.back() % perByte != 0)
    return op->emitOpError()
           << "the last dimension of the codes (" << codes.back()
           << ") must be a multiple of " << perByte << ", the number of "
           << codesType.getElementType() << " codes in a byte";
  int64_t expected = codes.back() / perByte;
  if (bytes.back() != expected)
    return op->emitOpError() << "the last dimension of the bytes must be "
                             << expected << " (" << codes.back() << " codes x "
                             << bits << " bits / 8), but got " << bytes.back();
  return success();
}

LogicalResult PackOp::verify() {
  return verifyPackedShapes(*this, getCodes().getType(), getBytes().getType());
}

OpFoldResult PackOp::fold(FoldAdaptor) {
  // pack(unpack(x)) -> x: the bytes round-trip unchanged.
  if (auto unpack = getCodes().getDefiningOp<UnpackOp>())
    if (unpack.getBytes().getType() == getType())
      return unpack.getBytes();
  return {};
}

LogicalResult UnpackOp::verify() {
  return verifyPackedShapes(*this, getCodes().getType(), getBytes().getType());
}

OpFoldResult UnpackOp::fold(FoldAdaptor) {
  // unpack(pack(x)) -> x: every code bit is kept by the packing.
  if (auto pack = getBytes().getDefiningOp<PackOp>())
    if (pack.getCodes().getType() == getType())
      return pack.getCodes();
  return {};
}

//===----------------------------------------------------------------------===//
// ProjectOp / ReconstructOp
//===----------------------------------------------------------------------===//

/// Shared verifier: `input` [B, H, S, In] and `basis` [Hb, D, R] give a
/// result [B, H, S, Out]; `projecting` says whether In = D, Out = R (project)
/// or In = R, Out = D (reconstruct).
static LogicalResult verifyLowRank(Operation *op, RankedTensorType input,
                                   RankedTensorType basis, Value mean,
                                   RankedTensorType result, bool projecting) {
  if (input.getRank() != 4)
    return op->emitOpError()
           << "input must have rank 4 ([B, H, S, " << (projecting ? "D" : "R")
           << "]), got rank " << input.getRank();
  if (basis.getRank() != 3)
    return op->emitOpError() << "basis must have rank 3 ([Hb, D, R]), got rank "
                             << basis.getRank();
  if (result.getRank() != 4)
    return op->emitOpError()
           << "result must have rank 4, got rank " << result.getRank();
  ArrayRef<int64_t> in = input.getShape(), u = basis.getShape(),
                    out = result.getShape();
  int64_t heads = in[1], bases = u[0];
  if (bases == 0 || (!ShapedType::isDynamic(heads) &&
                     !ShapedType::isDynamic(bases) && heads % bases != 0))
    return op->emitOpError()
           << "input has " << heads << " heads, not a multiple of the " << bases
           << " bases";
  int64_t inDim = projecting ? u[1] : u[2];
  int64_t outDim = projecting ? u[2] : u[1];
  if (!compatible(in[3], inDim))
    return op->emitOpError()
           << "input's last dimension " << in[3] << " does not match the "
           << (projecting ? "basis rows D = " : "basis columns R = ") << inDim;
  for (int i = 0; i < 3; ++i)
    if (!compatible(in[i], out[i]))
      return op->emitOpError()
             << "result shape " << formatShape(out)
             << " does not keep the input's leading dimensions "
             << formatShape(in.take_front(3));
  if (!compatible(out[3], outDim))
    return op->emitOpError()
           << "result's last dimension " << out[3] << " must be "
           << (projecting ? "the rank R = " : "the head dimension D = ")
           << outDim;
  if (mean) {
    auto meanType = cast<RankedTensorType>(mean.getType());
    if (meanType.getRank() != 2 || !compatible(meanType.getDimSize(0), u[0]) ||
        !compatible(meanType.getDimSize(1), u[1]))
      return op->emitOpError()
             << "mean must be [Hb, D] = " << formatShape({u[0], u[1]})
             << ", got " << formatShape(meanType.getShape());
  }
  return success();
}

static int64_t headsPerBasis(Type input, Type basis) {
  int64_t heads = cast<RankedTensorType>(input).getDimSize(1);
  int64_t bases = cast<RankedTensorType>(basis).getDimSize(0);
  if (ShapedType::isDynamic(heads) || ShapedType::isDynamic(bases) ||
      bases == 0)
    return ShapedType::kDynamic;
  return heads / bases;
}

LogicalResult ProjectOp::verify() {
  return verifyLowRank(*this, getInput().getType(), getBasis().getType(),
                       getMean(), getResult().getType(), /*projecting=*/true);
}

int64_t ProjectOp::getHeadsPerBasis() {
  return headsPerBasis(getInput().getType(), getBasis().getType());
}

LogicalResult ReconstructOp::verify() {
  return verifyLowRank(*this, getInput().getType(), getBasis().getType(),
                       getMean(), getResult().getType(), /*projecting=*/false);
}

int64_t ReconstructOp::getHeadsPerBasis() {
  return headsPerBasis(getInput().getType(), getBasis().getType());
}

//===----------------------------------------------------------------------===//
// SmoothOp
//===----------------------------------------------------------------------===//

LogicalResult SmoothOp::verify() {
  RankedTensorType input = getInput().getType();
  if (input.getRank() != 4)
    return emitOpError() << "input must have rank 4 ([B, H, S, D]), got rank "
                         << input.getRank();
  ArrayRef<int64_t> in = input.getShape();
  ArrayRef<int64_t> centered = getCentered().getType().getShape();
  ArrayRef<int64_t> mean = getMean().getType().getShape();
  if (failed(verifyShape(*this, "centered result", centered, in,
                         "must have the input's shape")))
    return failure();
  if (mean.size() != 4 || !compatible(mean[0], in[0]) ||
      !compatible(mean[1], in[1]) || mean[2] != 1 ||
      !compatible(mean[3], in[3]))
    return emitOpError() << "mean " << formatShape(mean)
                         << " must be [B, H, 1, D] = "
                         << formatShape({in[0], in[1], 1, in[3]});
  return success();
}

//===----------------------------------------------------------------------===//
// LatentAttentionOp
//===----------------------------------------------------------------------===//

LogicalResult LatentAttentionOp::verify() {
  auto shape = [](Value v) {
    return cast<RankedTensorType>(v.getType()).getShape();
  };
  struct Named {
    Value value;
    StringRef name;
    int64_t rank;
    StringRef layout;
  };
  for (const Named &n : {Named{getQuery(), "q", 4, "[B, H, Sq, Dn]"},
                         Named{getQueryRope(), "q_rope", 4, "[B, H, Sq, Dr]"},
                         Named{getCache(), "cache", 4, "[B, 1, Skv, Dc + Dr]"},
                         Named{getWUk(), "w_uk", 3, "[H, Dn, Dc]"},
                         Named{getWUv(), "w_uv", 3, "[H, Dv, Dc]"},
                         Named{getResult(), "result", 4, "[B, H, Sq, Dv]"}})
    if (static_cast<int64_t>(shape(n.value).size()) != n.rank)
      return emitOpError() << n.name << " must have rank " << n.rank << " ("
                           << n.layout << "), got rank "
                           << shape(n.value).size();
  ArrayRef<int64_t> q = shape(getQuery()), qr = shape(getQueryRope()),
                    c = shape(getCache()), uk = shape(getWUk()),
                    uv = shape(getWUv()), out = shape(getResult());
  auto mismatch = [&](StringRef what, int64_t a, int64_t b) {
    return emitOpError() << what << " (" << a << " vs " << b << ")";
  };
  for (int i = 0; i < 3; ++i)
    if (!compatible(q[i], qr[i]))
      return mismatch("q and q_rope must agree on [B, H, Sq]", q[i], qr[i]);
  if (getQuery().getType().getElementType() !=
      getQueryRope().getType().getElementType())
    return emitOpError() << "q and q_rope must have the same element type";
  if (!compatible(c[0], q[0]))
    return mismatch("cache batch must match q", c[0], q[0]);
  if (c[1] != 1)
    return emitOpError() << "cache must have one shared head (dim 1 = 1), got "
                         << c[1];
  if (!compatible(uk[0], q[1]) || !compatible(uv[0], q[1]))
    return emitOpError() << "w_uk and w_uv must have one matrix per head ("
                         << q[1] << ")";
  if (!compatible(uk[1], q[3]))
    return mismatch("w_uk rows must be q's head dim Dn", uk[1], q[3]);
  if (!compatible(uk[2], uv[2]))
    return mismatch("w_uk and w_uv must share the latent width Dc", uk[2],
                    uv[2]);
  if (ShapedType::isDynamic(uk[2]))
    return emitOpError() << "the latent width Dc (w_uk dim 2) must be static";
  if (!ShapedType::isDynamic(c[3]) && !ShapedType::isDynamic(qr[3]) &&
      c[3] != uk[2] + qr[3])
    return emitOpError() << "cache width " << c[3]
                         << " must be Dc + Dr = " << uk[2] << " + " << qr[3];
  for (int i = 0; i < 3; ++i)
    if (!compatible(out[i], q[i]))
      return mismatch("result must keep q's [B, H, Sq]", out[i], q[i]);
  if (!compatible(out[3], uv[1]))
    return mismatch("result's last dimension must be w_uv's Dv", out[3], uv[1]);
  return success();
}

double LatentAttentionOp::getEffectiveScale() {
  if (std::optional<APFloat> scale = getScale())
    return scale->convertToDouble();
  int64_t dn = getQuery().getType().getDimSize(3);
  int64_t dr = getQueryRope().getType().getDimSize(3);
  if (ShapedType::isDynamic(dn) || ShapedType::isDynamic(dr))
    return std::nan("");
  return 1.0 / std::sqrt(static_cast<double>(dn + dr));
}

//===----------------------------------------------------------------------===//
// PolySketchOp / PolyAttentionOp
//===----------------------------------------------------------------------===//

LogicalResult PolySketchOp::verify() {
  ArrayRef<int64_t> in = getInput().getType().getShape();
  ArrayRef<int64_t> out = getResult().getType().getShape();
  if (in.empty())
    return emitOpError() << "input must have rank >= 1";
  if (out.size() != in.size())
    return emitOpError() << "result must have the input's rank " << in.size();
  if (ShapedType::isDynamic(in.back()))
    return emitOpError() << "the last (feature) dimension must be static";
  for (size_t i = 0; i + 1 < in.size(); ++i)
    if (!compatible(in[i], out[i]))
      return emitOpError() << "result shape " << formatShape(out)
                           << " must keep the input's leading dimensions "
                           << formatShape(in.drop_back());
  if (static_cast<uint64_t>(out.back()) != getSketch())
    return emitOpError() << "result's last dimension " << out.back()
                         << " must be the sketch size " << getSketch();
  return success();
}

LogicalResult PolyAttentionOp::verify() {
  ArrayRef<int64_t> q = getQuery().getType().getShape(),
                    k = getKey().getType().getShape(),
                    v = getValue().getType().getShape(),
                    out = getResult().getType().getShape();
  if (q.size() != 4 || k.size() != 4 || v.size() != 4 || out.size() != 4)
    return emitOpError() << "q, k, v and the result must have rank 4";
  // I64Attr getters are unsigned: read the attributes as signed values.
  int64_t degree = static_cast<int64_t>(getDegree());
  int64_t sketch = static_cast<int64_t>(getSketch());
  int64_t block = static_cast<int64_t>(getBlock());
  if (degree < 2 || degree % 2)
    return emitOpError() << "degree must be even and >= 2, got " << degree;
  if (sketch < 0)
    return emitOpError() << "sketch must be >= 0 (0: exact), got " << sketch;
  if (sketch > 0 && degree != 4)
    return emitOpError() << "the sketched form is degree 4 (the square of a "
                            "degree-2 sketch), got degree "
                         << degree;
  if (block < 1)
    return emitOpError() << "block must be positive, got " << block;
  if (!compatible(k[0], q[0]) || !compatible(v[0], q[0]))
    return emitOpError() << "q, k and v must have the same batch";
  if (!compatible(k[3], q[3]))
    return emitOpError() << "q and k head dims differ (" << q[3] << " vs "
                         << k[3] << ")";
  if (ShapedType::isDynamic(q[3]))
    return emitOpError() << "the head dimension must be static";
  if (!compatible(v[1], k[1]) || !compatible(v[2], k[2]))
    return emitOpError() << "k and v must have the same heads and length";
  if (!ShapedType::isDynamic(q[1]) && !ShapedType::isDynamic(k[1]) &&
      (k[1] == 0 || q[1] % k[1]))
    return emitOpError() << "query heads " << q[1]
                         << " are not a multiple of the key/value heads "
                         << k[1];
  if (!compatible(out[0], q[0]) || !compatible(out[1], q[1]) ||
      !compatible(out[2], q[2]) || !compatible(out[3], v[3]))
    return emitOpError() << "result shape " << formatShape(out)
                         << " must be [B, Hq, Sq, Dv] = "
                         << formatShape({q[0], q[1], q[2], v[3]});
  return success();
}

//===----------------------------------------------------------------------===//
// LeverageScoresOp / SelectKeysOp
//===----------------------------------------------------------------------===//

LogicalResult LeverageScoresOp::verify() {
  ArrayRef<int64_t> in = getInput().getType().getShape();
  ArrayRef<int64_t> out = getResult().getType().getShape();
  if (in.size() != 4)
    return emitOpError() << "input must have rank 4 ([B, H, S, D]), got rank "
                         << in.size();
  if (ShapedType::isDynamic(in[3]))
    return emitOpError() << "the head dimension must be static";
  if (failed(verifyShape(*this, "result", out, in.take_front(3),
                         "must be [B, H, S] =")))
    return failure();
  if (!(getRidge().convertToDouble() > 0.0))
    return emitOpError() << "ridge must be positive";
  return success();
}

LogicalResult SelectKeysOp::verify() {
  ArrayRef<int64_t> in = getScores().getType().getShape();
  ArrayRef<int64_t> out = getResult().getType().getShape();
  if (in.size() != 3)
    return emitOpError() << "scores must have rank 3 ([B, H, S]), got rank "
                         << in.size();
  if (out.size() != 4)
    return emitOpError() << "result must have rank 4 ([B, Hm, Sm, S]), got "
                            "rank "
                         << out.size();
  if (!compatible(out[0], in[0]) || !compatible(out[3], in[2]))
    return emitOpError() << "result " << formatShape(out)
                         << " must keep the scores' batch and length "
                         << formatShape(in);
  if (ShapedType::isDynamic(in[1]) || ShapedType::isDynamic(out[1]) ||
      in[1] == 0 || out[1] % in[1])
    return emitOpError() << "result heads " << out[1]
                         << " must be a static multiple of the score heads "
                         << in[1];
  if (static_cast<bool>(getEpsilon()) == static_cast<bool>(getTop()))
    return emitOpError() << "needs exactly one of 'epsilon' (threshold) and "
                            "'top' (the m best keys)";
  if (getTop() && static_cast<int64_t>(*getTop()) < 1)
    return emitOpError() << "top must be positive, got "
                         << static_cast<int64_t>(*getTop());
  return success();
}

//===----------------------------------------------------------------------===//
// Canonicalization of smoothing
//===----------------------------------------------------------------------===//

namespace {
/// attention(q, smooth(k).centered, v) -> attention(q, k, v): the mean of
/// the keys shifts every score of a row equally.
struct AttentionOverSmoothedKeys : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    if (op.isKeyQuantized())
      return failure();
    auto smooth = op.getKey().getDefiningOp<SmoothOp>();
    if (!smooth || op.getKey() != smooth.getCentered() ||
        smooth.getInput().getType() != op.getKey().getType())
      return failure();
    rewriter.modifyOpInPlace(
        op, [&]() { op.getKeyMutable().assign(smooth.getInput()); });
    return success();
  }
};

/// smooth(smooth(x).centered) -> (smooth(x).centered, 0).
struct SmoothOfSmoothed : OpRewritePattern<SmoothOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SmoothOp op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<SmoothOp>();
    if (!inner || op.getInput() != inner.getCentered() ||
        op.getCentered().getType() != op.getInput().getType() ||
        !op.getMean().getType().hasStaticShape())
      return failure();
    Value zeros = arith::ConstantOp::create(
        rewriter, op.getLoc(),
        DenseElementsAttr::get(
            op.getMean().getType(),
            rewriter.getFloatAttr(op.getMean().getType().getElementType(),
                                  0.0)));
    rewriter.replaceOp(op, {op.getInput(), zeros});
    return success();
  }
};
} // namespace

void AttentionOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                              MLIRContext *context) {
  results.add<AttentionOverSmoothedKeys>(context);
}

void SmoothOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                           MLIRContext *context) {
  results.add<SmoothOfSmoothed>(context);
}

//===----------------------------------------------------------------------===//
// RotateOp
//===----------------------------------------------------------------------===//

LogicalResult DotI8Op::verify() {
  auto acc = cast<VectorType>(getAcc().getType());
  auto bytes = cast<VectorType>(getLhs().getType());
  if (acc.isScalable() || bytes.isScalable())
    return emitOpError("needs fixed-length vectors");
  if (bytes.getNumElements() != 4 * acc.getNumElements())
    return emitOpError() << "needs 4 bytes per i32 lane: " << acc
                         << " takes vector<" << 4 * acc.getNumElements()
                         << "xi8> operands, got " << bytes;
  return success();
}

LogicalResult LookupOp::inferReturnTypes(
    MLIRContext *context, std::optional<Location> location, ValueRange operands,
    DictionaryAttr attributes, OpaqueProperties properties, RegionRange regions,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  LookupOp::Adaptor adaptor(operands, attributes, properties, regions);
  auto table = dyn_cast<VectorType>(adaptor.getTable().getType());
  auto indices = dyn_cast<VectorType>(adaptor.getIndices().getType());
  if (!table || !indices)
    return failure();
  // The indices' shape and the table's element type.
  inferredReturnTypes.push_back(indices.clone(table.getElementType()));
  return success();
}

LogicalResult LookupOp::verify() {
  auto table = cast<VectorType>(getTable().getType());
  auto indices = cast<VectorType>(getIndices().getType());
  if (table.isScalable() || indices.isScalable())
    return emitOpError("needs fixed-length vectors");
  int64_t n = table.getNumElements();
  if (n < 2 || n > kMaxTableSize || (n & (n - 1)) != 0)
    return emitOpError() << "needs a table of a power of two from 2 to "
                         << kMaxTableSize << " elements, got " << table;
  return success();
}

LogicalResult RotateOp::verify() {
  RankedTensorType type = getInput().getType();
  if (type.getRank() != 4)
    return emitOpError() << "input must have rank 4 ([B, H, S, D]), got rank "
                         << type.getRank();
  int64_t d = type.getDimSize(3);
  if (ShapedType::isDynamic(d))
    return emitOpError() << "the rotated (last) dimension must be static";
  if (getKind() == "hadamard") {
    if (d < 1 || (d & (d - 1)) != 0)
      return emitOpError() << "a Hadamard rotation needs a power-of-two "
                              "dimension, got "
                           << d;
  } else if (getKind() != "orthogonal") {
    return emitOpError() << "kind must be 'hadamard' or 'orthogonal', got '"
                         << getKind() << "'";
  }
  return success();
}

OpFoldResult RotateOp::fold(FoldAdaptor) {
  // S^T (S x) = S (S^T x) = x.
  auto inner = getInput().getDefiningOp<RotateOp>();
  if (!inner || inner.getKind() != getKind() || inner.getSeed() != getSeed() ||
      inner.getInverse() == getInverse() ||
      inner.getInput().getType() != getType())
    return {};
  return inner.getInput();
}

//===----------------------------------------------------------------------===//
// GEAR: ExtractOutliersOp, LowRankApproxOp, GearDecodeOp
//===----------------------------------------------------------------------===//

/// Rank 4 with a static last dimension.
static LogicalResult verifyTokens(Operation *op, StringRef what,
                                  RankedTensorType type) {
  if (type.getRank() != 4)
    return op->emitOpError() << what << " must have rank 4 ([B, H, S, D]), got "
                             << "rank " << type.getRank();
  if (type.isDynamicDim(3))
    return op->emitOpError() << what << "'s head dimension must be static";
  return success();
}

LogicalResult ExtractOutliersOp::verify() {
  if (failed(verifyTokens(*this, "input", getInput().getType())))
    return failure();
  ArrayRef<int64_t> in = getInput().getType().getShape();
  int64_t count = static_cast<int64_t>(getCount());
  if (count > in[3])
    return emitOpError() << "count " << count << " exceeds the head dimension "
                         << in[3];
  if (failed(verifyShape(*this, "remainder",
                         getRemainder().getType().getShape(), in,
                         "must have the input's shape")))
    return failure();
  SmallVector<int64_t> sparse = {in[0], in[1], in[2], count};
  for (auto [what, type] : {std::pair<StringRef, RankedTensorType>{
                                "indices", getIndices().getType()},
                            {"values", getValues().getType()}})
    if (failed(verifyShape(*this, what, type.getShape(), sparse,
                           "must be [B, H, S, count] =")))
      return failure();
  return success();
}

LogicalResult LowRankApproxOp::verify() {
  if (failed(verifyTokens(*this, "input", getInput().getType())))
    return failure();
  ArrayRef<int64_t> in = getInput().getType().getShape();
  int64_t rank = static_cast<int64_t>(getRank());
  if (rank > in[3])
    return emitOpError() << "rank " << rank << " exceeds the head dimension "
                         << in[3];
  if (static_cast<int64_t>(getIterations()) < 0)
    return emitOpError() << "iterations must be non-negative, got "
                         << static_cast<int64_t>(getIterations());
  SmallVector<int64_t> a = {in[0], in[1], in[2], rank};
  SmallVector<int64_t> b = {in[0], in[1], rank, in[3]};
  if (failed(verifyShape(*this, "a", getA().getType().getShape(), a,
                         "must be [B, H, S, rank] =")))
    return failure();
  return verifyShape(*this, "b", getB().getType().getShape(), b,
                     "must be [B, H, rank, D] =");
}

LogicalResult GearDecodeOp::verify() {
  if (failed(verifyTokens(*this, "base", getBase().getType())))
    return failure();
  ArrayRef<int64_t> base = getBase().getType().getShape();
  ArrayRef<int64_t> a = getA().getType().getShape();
  ArrayRef<int64_t> b = getB().getType().getShape();
  ArrayRef<int64_t> idx = getIndices().getType().getShape();
  ArrayRef<int64_t> vals = getValues().getType().getShape();
  if (a.size() != 4 || a[3] == ShapedType::kDynamic ||
      !compatibleShape(a.take_front(3), base.take_front(3)))
    return emitOpError() << "a " << formatShape(a)
                         << " must be [B, H, S, R] with a static R, [B, H, S] "
                            "= "
                         << formatShape(base.take_front(3));
  SmallVector<int64_t> bShape = {base[0], base[1], a[3], base[3]};
  if (failed(verifyShape(*this, "b", b, bShape, "must be [B, H, R, D] =")))
    return failure();
  if (idx.size() != 4 || idx[3] == ShapedType::kDynamic ||
      !compatibleShape(idx.take_front(3), base.take_front(3)))
    return emitOpError() << "indices " << formatShape(idx)
                         << " must be [B, H, S, K] with a static K, [B, H, S] "
                            "= "
                         << formatShape(base.take_front(3));
  if (failed(verifyShape(*this, "values", vals, idx,
                         "must have the shape of the indices")))
    return failure();
  return verifyShape(*this, "result", getResult().getType().getShape(), base,
                     "must have the base's shape");
}

//===----------------------------------------------------------------------===//
// CrossLayerBasisOp
//===----------------------------------------------------------------------===//

LogicalResult CrossLayerBasisOp::verify() {
  if (getInputs().empty())
    return emitOpError() << "needs at least one input";
  auto first = cast<RankedTensorType>(getInputs().front().getType());
  if (failed(verifyTokens(*this, "input", first)))
    return failure();
  ArrayRef<int64_t> in = first.getShape();
  for (auto [i, input] : llvm::enumerate(getInputs()))
    if (failed(verifyShape(*this, "input " + Twine(i),
                           cast<RankedTensorType>(input.getType()).getShape(),
                           in, "must have the shape of input 0")))
      return failure();
  int64_t rank = static_cast<int64_t>(getRank());
  int64_t features = in[3] * static_cast<int64_t>(getInputs().size());
  if (rank > features)
    return emitOpError() << "rank " << rank
                         << " exceeds the stacked feature count G * D = "
                         << features;
  if (static_cast<int64_t>(getIterations()) < 0)
    return emitOpError() << "iterations must be non-negative, got "
                         << static_cast<int64_t>(getIterations());
  SmallVector<int64_t> coords = {in[0], in[1], in[2], rank};
  if (failed(verifyShape(*this, "coordinates",
                         getCoordinates().getType().getShape(), coords,
                         "must be [B, H, S, rank] =")))
    return failure();
  if (getBases().size() != getInputs().size())
    return emitOpError() << "needs one basis per input (" << getInputs().size()
                         << "), got " << getBases().size();
  SmallVector<int64_t> basis = {in[1], in[3], rank};
  for (auto [i, b] : llvm::enumerate(getBases())) {
    if (failed(verifyShape(*this, "basis " + Twine(i),
                           cast<RankedTensorType>(b.getType()).getShape(),
                           basis, "must be [H, D, rank] =")))
      return failure();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Result shapes of the GEAR and xKV ops
//===----------------------------------------------------------------------===//

/// `[dims of `from` at `fromDims`]` where a dim index is >= 0, else the
/// static size `-index - 1`.
static SmallVector<OpFoldResult>
mixedSizes(OpBuilder &b, Location loc, Value from, ArrayRef<int64_t> fromDims) {
  SmallVector<OpFoldResult> sizes;
  for (int64_t d : fromDims)
    sizes.push_back(d >= 0 ? tensor::getMixedSize(b, loc, from, d)
                           : OpFoldResult(b.getIndexAttr(-d - 1)));
  return sizes;
}

LogicalResult
ExtractOutliersOp::reifyResultShapes(OpBuilder &b,
                                     ReifiedRankedShapedTypeDims &shapes) {
  Location loc = getLoc();
  int64_t count = -static_cast<int64_t>(getCount()) - 1;
  shapes.push_back(mixedSizes(b, loc, getInput(), {0, 1, 2, 3}));
  shapes.push_back(mixedSizes(b, loc, getInput(), {0, 1, 2, count}));
  shapes.push_back(mixedSizes(b, loc, getInput(), {0, 1, 2, count}));
  return success();
}

LogicalResult
LowRankApproxOp::reifyResultShapes(OpBuilder &b,
                                   ReifiedRankedShapedTypeDims &shapes) {
  Location loc = getLoc();
  int64_t rank = -static_cast<int64_t>(getRank()) - 1;
  shapes.push_back(mixedSizes(b, loc, getInput(), {0, 1, 2, rank}));
  shapes.push_back(mixedSizes(b, loc, getInput(), {0, 1, rank, 3}));
  return success();
}

LogicalResult
GearDecodeOp::reifyResultShapes(OpBuilder &b,
                                ReifiedRankedShapedTypeDims &shapes) {
  shapes.push_back(mixedSizes(b, getLoc(), getBase(), {0, 1, 2, 3}));
  return success();
}

LogicalResult
CrossLayerBasisOp::reifyResultShapes(OpBuilder &b,
                                     ReifiedRankedShapedTypeDims &shapes) {
  Location loc = getLoc();
  Value input = getInputs().front();
  int64_t rank = -static_cast<int64_t>(getRank()) - 1;
  shapes.push_back(mixedSizes(b, loc, input, {0, 1, 2, rank}));
  for (size_t i = 0; i < getBases().size(); ++i)
    shapes.push_back(mixedSizes(b, loc, input, {1, 3, rank}));
  return success();
}

//===----------------------------------------------------------------------===//
// SageAttentionOp
//===----------------------------------------------------------------------===//

Type SageAttentionOp::getQKType() {
  if (std::optional<Type> type = getQk())
    return *type;
  return IntegerType::get(getContext(), 8);
}

Type SageAttentionOp::getPVType() {
  if (std::optional<Type> type = getPv())
    return *type;
  return Float8E4M3FNType::get(getContext());
}

LogicalResult SageAttentionOp::verify() {
  RankedTensorType qType = getQuery().getType(), kType = getKey().getType(),
                   vType = getValue().getType(), oType = getResult().getType();
  for (auto [name, type] :
       {std::pair<StringRef, RankedTensorType>{"query", qType},
        {"key", kType},
        {"value", vType},
        {"result", oType}})
    if (type.getRank() != 4)
      return emitOpError() << name
                           << " must have rank 4 [batch, heads, seq, dim], "
                              "but got rank "
                           << type.getRank();
  ArrayRef<int64_t> q = qType.getShape(), k = kType.getShape(),
                    v = vType.getShape();
  if (!dimsCompatible(q[0], k[0]) || !dimsCompatible(q[0], v[0]) ||
      !dimsCompatible(k[1], v[1]) || !dimsCompatible(k[2], v[2]))
    return emitOpError() << "query, key and value shapes are incompatible: "
                         << formatShape(q) << ", " << formatShape(k) << ", "
                         << formatShape(v);
  if (ShapedType::isDynamic(q[3]) || q[3] != k[3])
    return emitOpError() << "query and key must have the same static head "
                            "dimension, but got "
                         << formatDim(q[3]) << " and " << formatDim(k[3]);
  if (ShapedType::isDynamic(v[3]))
    return emitOpError() << "the value head dimension must be static";
  if (!ShapedType::isDynamic(q[1]) && !ShapedType::isDynamic(k[1]) &&
      (k[1] == 0 || q[1] % k[1] != 0))
    return emitOpError() << "query heads (" << q[1]
                         << ") must be a multiple of key/value heads (" << k[1]
                         << ")";
  SmallVector<int64_t> expected = {q[0], q[1], q[2], v[3]};
  if (!shapesCompatible(oType.getShape(), expected) ||
      oType.getElementType() != qType.getElementType())
    return emitOpError() << "result must be [B, Hq, Sq, Dv] = "
                         << formatShape(expected) << " of the query's element "
                         << "type, but got " << oType;
  Type qk = getQKType();
  if (!qk.isSignlessInteger(8) && !qk.isSignlessInteger(4))
    return emitOpError() << "qk must be i8 or i4, but got " << qk;
  if (qk.isSignlessInteger(4) && q[3] % 2 != 0)
    return emitOpError() << "i4 queries and keys need an even head "
                            "dimension, but got "
                         << q[3];
  Type pv = getPVType();
  if (!isa<Float8E4M3FNType, Float16Type>(pv))
    return emitOpError() << "pv must be f8E4M3FN or f16, but got " << pv;
  StringRef gran = getGranularity();
  if (gran != "block" && gran != "warp" && gran != "thread")
    return emitOpError() << "granularity must be \"block\", \"warp\" or "
                            "\"thread\", but got \""
                         << gran << "\"";
  if (std::optional<APFloat> scale = getScale())
    if (!scale->isFiniteNonZero())
      return emitOpError() << "scale must be finite and non-zero, but got "
                           << scale->convertToDouble();
  return success();
}

//===----------------------------------------------------------------------===//
// VidKV
//===----------------------------------------------------------------------===//

static int64_t ceilDivDim(int64_t n, int64_t d) {
  return ShapedType::isDynamic(n) ? ShapedType::kDynamic : (n + d - 1) / d;
}

/// Checks that tensor `value` has a shape compatible with `expected`
/// (described as `what`).
static LogicalResult checkVidKVShape(Operation *op, StringRef name, Value value,
                                     ArrayRef<int64_t> expected,
                                     StringRef what) {
  ArrayRef<int64_t> shape = cast<RankedTensorType>(value.getType()).getShape();
  if (shape.size() == expected.size() &&
      llvm::all_of(llvm::zip_equal(shape, expected), [](auto p) {
        return compatible(std::get<0>(p), std::get<1>(p));
      }))
    return success();
  return op->emitOpError() << name << " " << formatShape(shape) << " must be "
                           << what << " = " << formatShape(expected);
}

/// The rules shared by the VidKV ops on the uncompressed side `kv`
/// ([B, H, S, D]) and the group size.
static LogicalResult verifyVidKVTensor(Operation *op, StringRef name,
                                       RankedTensorType kv, int64_t groupSize) {
  if (kv.getRank() != 4)
    return op->emitOpError() << name << " must have rank 4 ([B, H, S, D]), "
                             << "got rank " << kv.getRank();
  if (kv.isDynamicDim(3))
    return op->emitOpError() << "the head dimension must be static";
  if (groupSize < 1)
    return op->emitOpError()
           << "group_size must be positive, got " << groupSize;
  return success();
}

/// Shapes and types of the six parts of a VidKV key encoding of `kv`.
static LogicalResult verifyVidKVKeyParts(Operation *op, ArrayRef<int64_t> kv,
                                         int64_t nHigh, int64_t groupSize,
                                         Value highCodes, Value highScale,
                                         Value highMin, Value lowCodes,
                                         Value lowScale, Value channels) {
  int64_t b = kv[0], h = kv[1], s = kv[2], d = kv[3];
  int64_t nLow = d - nHigh, groups = ceilDivDim(s, groupSize);
  if (failed(checkVidKVShape(op, "high_codes", highCodes,
                             {b, h, s, (nHigh + 3) / 4},
                             "[B, H, S, ceil(n_high / 4)]")) ||
      failed(checkVidKVShape(op, "high_scale", highScale, {b, h, groups, nHigh},
                             "[B, H, ceil(S / G), n_high]")) ||
      failed(checkVidKVShape(op, "high_min", highMin, {b, h, groups, nHigh},
                             "[B, H, ceil(S / G), n_high]")) ||
      failed(checkVidKVShape(op, "low_codes", lowCodes,
                             {b, h, s, (nLow + 7) / 8},
                             "[B, H, S, ceil(N / 8)]")) ||
      failed(checkVidKVShape(op, "low_scale", lowScale, {b, h, groups, nLow},
                             "[B, H, ceil(S / G), N]")) ||
      failed(checkVidKVShape(op, "channels", channels, {b, h, d}, "[B, H, D]")))
    return failure();
  Type scaleType = getElementTypeOrSelf(highScale.getType());
  if (getElementTypeOrSelf(highMin.getType()) != scaleType ||
      getElementTypeOrSelf(lowScale.getType()) != scaleType)
    return op->emitOpError()
           << "high_scale, high_min and low_scale must share one element type";
  return success();
}

LogicalResult VidKVEncodeKeyOp::verify() {
  RankedTensorType type = getInput().getType();
  if (failed(verifyVidKVTensor(*this, "input", type, getGroupSize())))
    return failure();
  int64_t d = type.getDimSize(3);
  double ratio = getRatio().convertToDouble();
  int64_t nHigh = ratio >= 0.0 && ratio <= 1.0
                      ? static_cast<int64_t>(std::floor(d * ratio))
                      : -1;
  if (nHigh < 1 || nHigh > d - 1)
    return emitOpError() << "ratio " << ratio << " must leave at least one "
                         << "high and one low channel of " << d;
  return verifyVidKVKeyParts(*this, type.getShape(), nHigh, getGroupSize(),
                             getHighCodes(), getHighScale(), getHighMin(),
                             getLowCodes(), getLowScale(), getChannels());
}

LogicalResult VidKVDecodeKeyOp::verify() {
  RankedTensorType type = getResult().getType();
  if (failed(verifyVidKVTensor(*this, "result", type, getGroupSize())))
    return failure();
  int64_t nHigh = getHighScale().getType().getRank() == 4
                      ? getHighScale().getType().getDimSize(3)
                      : ShapedType::kDynamic;
  int64_t nLow = getLowScale().getType().getRank() == 4
                     ? getLowScale().getType().getDimSize(3)
                     : ShapedType::kDynamic;
  int64_t d = type.getDimSize(3);
  if (ShapedType::isDynamic(nHigh) || ShapedType::isDynamic(nLow) ||
      nHigh < 1 || nLow < 1 || nHigh + nLow != d)
    return emitOpError() << "the channel counts of high_scale and low_scale "
                         << "must be static, positive and sum to D = " << d;
  return verifyVidKVKeyParts(*this, type.getShape(), nHigh, getGroupSize(),
                             getHighCodes(), getHighScale(), getHighMin(),
                             getLowCodes(), getLowScale(), getChannels());
}

/// Shapes of the codes and scales of a VidKV value encoding of `kv`.
static LogicalResult verifyVidKVValueParts(Operation *op, ArrayRef<int64_t> kv,
                                           int64_t groupSize, Value codes,
                                           Value scale) {
  int64_t b = kv[0], h = kv[1], s = kv[2], d = kv[3];
  if (failed(checkVidKVShape(op, "codes", codes, {b, h, s, (d + 4) / 5},
                             "[B, H, S, ceil(D / 5)]")))
    return failure();
  return checkVidKVShape(op, "scale", scale,
                         {b, h, ceilDivDim(s, groupSize), d},
                         "[B, H, ceil(S / G), D]");
}

LogicalResult VidKVEncodeValueOp::verify() {
  RankedTensorType type = getInput().getType();
  if (failed(verifyVidKVTensor(*this, "input", type, getGroupSize())))
    return failure();
  return verifyVidKVValueParts(*this, type.getShape(), getGroupSize(),
                               getCodes(), getScale());
}

LogicalResult VidKVDecodeValueOp::verify() {
  RankedTensorType type = getResult().getType();
  if (failed(verifyVidKVTensor(*this, "result", type, getGroupSize())))
    return failure();
  return verifyVidKVValueParts(*this, type.getShape(), getGroupSize(),
                               getCodes(), getScale());
}

LogicalResult VidKVDecodeKeySlotsOp::verify() {
  RankedTensorType type = getResult().getType();
  if (failed(verifyVidKVTensor(*this, "result", type, getGroupSize())))
    return failure();
  RankedTensorType highType = getHigh().getType();
  RankedTensorType lowScaleType = getLowScale().getType();
  if (highType.getRank() != 4 || lowScaleType.getRank() != 4)
    return emitOpError() << "high and low_scale must have rank 4";
  int64_t nHigh = highType.getDimSize(3), nLow = lowScaleType.getDimSize(3);
  int64_t d = type.getDimSize(3);
  if (ShapedType::isDynamic(nHigh) || ShapedType::isDynamic(nLow) ||
      nHigh < 1 || nLow < 1 || nHigh + nLow != d)
    return emitOpError() << "the channel counts of high and low_scale must "
                         << "be static, positive and sum to D = " << d;
  ArrayRef<int64_t> kv = type.getShape();
  int64_t b = kv[0], h = kv[1], s = kv[2];
  return failure(
      failed(checkVidKVShape(*this, "high", getHigh(), {b, h, s, nHigh},
                             "[B, H, S, n_high]")) ||
      failed(checkVidKVShape(*this, "low_codes", getLowCodes(),
                             {b, h, s, (nLow + 7) / 8},
                             "[B, H, S, ceil(N / 8)]")) ||
      failed(checkVidKVShape(*this, "low_scale", getLowScale(),
                             {b, h, ceilDivDim(s, getGroupSize()), nLow},
                             "[B, H, ceil(S / G), N]")));
}

LogicalResult VidKVProjectQueryOp::verify() {
  RankedTensorType type = getQuery().getType();
  if (failed(verifyVidKVTensor(*this, "query", type, /*groupSize=*/1)))
    return failure();
  int64_t d = type.getDimSize(3), nHigh = getNHigh();
  if (nHigh < 1 || nHigh > d - 1)
    return emitOpError() << "n_high " << nHigh << " must leave at least one "
                         << "high and one low channel of " << d;
  RankedTensorType channels = getChannels().getType();
  if (channels.getRank() != 3)
    return emitOpError() << "channels must have rank 3 ([B, Hk, D]), got rank "
                         << channels.getRank();
  int64_t heads = type.getDimSize(1), kvHeads = channels.getDimSize(1);
  if (failed(checkVidKVShape(*this, "channels", getChannels(),
                             {type.getDimSize(0), kvHeads, d}, "[B, Hk, D]")))
    return failure();
  if (kvHeads == 0 || (!ShapedType::isDynamic(heads) &&
                       !ShapedType::isDynamic(kvHeads) && heads % kvHeads != 0))
    return emitOpError() << "query has " << heads
                         << " heads, not a multiple of the " << kvHeads
                         << " heads of channels";
  return checkVidKVShape(*this, "result", getResult(), type.getShape(),
                         "the query's shape");
}

/// [B, H, S or ceil(S / G), last] for the VidKV parts of `kv`, whose first
/// three dims are those of [B, H, S, *] tensor `from`.
static SmallVector<OpFoldResult> vidkvShape(OpBuilder &b, Location loc,
                                            Value from, bool grouped,
                                            int64_t groupSize, int64_t last) {
  SmallVector<OpFoldResult> sizes = {tensor::getMixedSize(b, loc, from, 0),
                                     tensor::getMixedSize(b, loc, from, 1),
                                     tensor::getMixedSize(b, loc, from, 2),
                                     b.getIndexAttr(last)};
  if (grouped) {
    Value s = getValueOrCreateConstantIndexOp(b, loc, sizes[2]);
    sizes[2] = getAsOpFoldResult(b.createOrFold<arith::CeilDivUIOp>(
        loc, s, arith::ConstantIndexOp::create(b, loc, groupSize)));
  }
  return sizes;
}

LogicalResult VidKVEncodeKeyOp::reifyResultShapes(
    OpBuilder &b, ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  Location loc = getLoc();
  Value x = getInput();
  int64_t g = getGroupSize();
  int64_t nHigh = getHighScale().getType().getDimSize(3);
  int64_t nLow = getLowScale().getType().getDimSize(3);
  reifiedReturnShapes.push_back(
      vidkvShape(b, loc, x, false, g, (nHigh + 3) / 4));
  reifiedReturnShapes.push_back(vidkvShape(b, loc, x, true, g, nHigh));
  reifiedReturnShapes.push_back(vidkvShape(b, loc, x, true, g, nHigh));
  reifiedReturnShapes.push_back(
      vidkvShape(b, loc, x, false, g, (nLow + 7) / 8));
  reifiedReturnShapes.push_back(vidkvShape(b, loc, x, true, g, nLow));
  reifiedReturnShapes.push_back({tensor::getMixedSize(b, loc, x, 0),
                                 tensor::getMixedSize(b, loc, x, 1),
                                 tensor::getMixedSize(b, loc, x, 3)});
  return success();
}

LogicalResult VidKVDecodeKeyOp::reifyResultShapes(
    OpBuilder &b, ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  reifiedReturnShapes.push_back(
      vidkvShape(b, getLoc(), getHighCodes(), false, getGroupSize(),
                 getResult().getType().getDimSize(3)));
  return success();
}

LogicalResult VidKVEncodeValueOp::reifyResultShapes(
    OpBuilder &b, ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  Location loc = getLoc();
  int64_t d = getInput().getType().getDimSize(3);
  reifiedReturnShapes.push_back(
      vidkvShape(b, loc, getInput(), false, getGroupSize(), (d + 4) / 5));
  reifiedReturnShapes.push_back(
      vidkvShape(b, loc, getInput(), true, getGroupSize(), d));
  return success();
}

LogicalResult VidKVDecodeValueOp::reifyResultShapes(
    OpBuilder &b, ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  reifiedReturnShapes.push_back(
      vidkvShape(b, getLoc(), getCodes(), false, getGroupSize(),
                 getResult().getType().getDimSize(3)));
  return success();
}

LogicalResult VidKVDecodeKeySlotsOp::reifyResultShapes(
    OpBuilder &b, ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  reifiedReturnShapes.push_back(
      vidkvShape(b, getLoc(), getLowCodes(), false, getGroupSize(),
                 getResult().getType().getDimSize(3)));
  return success();
}

LogicalResult VidKVProjectQueryOp::reifyResultShapes(
    OpBuilder &b, ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  reifiedReturnShapes.push_back(tensor::getMixedSizes(b, getLoc(), getQuery()));
  return success();
}

//===----------------------------------------------------------------------===//
// PolarEncodeOp / PolarDecodeOp
//===----------------------------------------------------------------------===//

/// Checks `levels` / `bits` and the radius and code tensors of data `[B, H,
/// S, D]` (`data`, D static) coded with them; `what` names the data.
static LogicalResult verifyPolarLayout(Operation *op, int64_t levels,
                                       ArrayRef<int64_t> bits,
                                       ArrayRef<int64_t> data, StringRef what,
                                       RankedTensorType radius,
                                       TypeRange codes) {
  if (levels < 1 || levels > 16)
    return op->emitOpError()
           << "levels must be between 1 and 16, got " << levels;
  if (static_cast<int64_t>(bits.size()) != levels)
    return op->emitOpError() << "bits must give one width per level (" << levels
                             << "), got " << bits.size();
  for (auto [i, b] : llvm::enumerate(bits))
    if (!isValidPolarBits(b))
      return op->emitOpError()
             << "bits of level " << i + 1 << " must be 1, 2 or 4, got " << b;
  int64_t d = data[3];
  int64_t block = int64_t(1) << levels;
  if (d % block)
    return op->emitOpError() << what << " head dimension " << d
                             << " must be a multiple of 2^levels = " << block;
  SmallVector<int64_t> expected(data.take_front(3));
  expected.push_back(d / block);
  if (radius.getRank() != 4 || !shapesCompatible(radius.getShape(), expected))
    return op->emitOpError()
           << "radius " << formatShape(radius.getShape())
           << " must be [B, H, S, D / 2^levels] = " << formatShape(expected);
  if (static_cast<int64_t>(codes.size()) != levels)
    return op->emitOpError() << "expected one code tensor per level (" << levels
                             << "), got " << codes.size();
  for (auto [i, type] : llvm::enumerate(codes)) {
    int64_t level = i + 1;
    expected.back() = polarCodeBytes(d, level, bits[i]);
    ArrayRef<int64_t> shape = cast<RankedTensorType>(type).getShape();
    if (shape.size() != 4 || !shapesCompatible(shape, expected))
      return op->emitOpError()
             << "codes of level " << level << " " << formatShape(shape)
             << " must be [B, H, S, ceil(D / 2^" << level << " * " << bits[i]
             << " / 8)] = " << formatShape(expected);
  }
  return success();
}

LogicalResult PolarEncodeOp::verify() {
  RankedTensorType input = getInput().getType();
  if (input.getRank() != 4)
    return emitOpError() << "input must have rank 4 ([B, H, S, D]), got rank "
                         << input.getRank();
  if (input.isDynamicDim(3))
    return emitOpError() << "the head dimension must be static";
  return verifyPolarLayout(*this, static_cast<int64_t>(getLevels()), getBits(),
                           input.getShape(), "input", getRadius().getType(),
                           getCodes().getTypes());
}

LogicalResult PolarDecodeOp::verify() {
  RankedTensorType result = getResult().getType();
  if (result.getRank() != 4)
    return emitOpError() << "result must have rank 4 ([B, H, S, D]), got "
                            "rank "
                         << result.getRank();
  if (result.isDynamicDim(3))
    return emitOpError() << "the head dimension must be static";
  return verifyPolarLayout(*this, static_cast<int64_t>(getLevels()), getBits(),
                           result.getShape(), "result", getRadius().getType(),
                           getCodes().getTypes());
}
