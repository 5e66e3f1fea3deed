//===- AttentionOperands.cpp - K / V operands of kvq.attention ------------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/Utils/AttentionOperands.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::kvq;

Value mlir::kvq::createReadOnlyBuffer(OpBuilder &b, Location loc,
                                      Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<int64_t> strides(type.getRank(), ShapedType::kDynamic);
  strides.back() = 1;
  auto layout =
      StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic, strides);
  auto memrefType =
      MemRefType::get(type.getShape(), type.getElementType(), layout);
  return bufferization::ToBufferOp::create(b, loc, memrefType, tensor,
                                           /*read_only=*/true);
}

Value mlir::kvq::createOutputBuffer(OpBuilder &b, Location loc, AttentionOp op,
                                    Value query, int64_t dv) {
  ArrayRef<int64_t> qShape =
      cast<RankedTensorType>(op.getQuery().getType()).getShape();
  auto outType = MemRefType::get({qShape[0], qShape[1], qShape[2], dv},
                                 op.getResult().getType().getElementType());
  SmallVector<Value> dynSizes;
  for (int64_t i = 0; i < 3; ++i)
    if (ShapedType::isDynamic(qShape[i]))
      dynSizes.push_back(memref::DimOp::create(b, loc, query, i));
  return memref::AllocOp::create(b, loc, outType, dynSizes);
}

FailureOr<KVOperand> mlir::kvq::prepareKVOperand(OpBuilder &b, AttentionOp op,
                                                 StringRef passName,
                                                 StringRef what, Value data,
                                                 QuantSchemeAttr scheme,
                                                 Value scale, Value zeroPoint) {
  Location loc = op.getLoc();
  KVOperand src;
  auto type = cast<RankedTensorType>(data.getType());
  src.dim = type.getShape()[3];
  src.scheme = scheme;
  if (ShapedType::isDynamic(src.dim))
    return op.emitOpError()
           << passName << " needs a static " << what << " head dimension";
  if (!scheme) {
    src.data = createReadOnlyBuffer(b, loc, data);
    return src;
  }
  unsigned bits = scheme.getStorageBitWidth();
  if (bits < 8) {
    if ((src.dim * bits) % 8 != 0)
      return op.emitOpError() << what << " head dimension " << src.dim << " of "
                              << bits << "-bit codes does not fill whole bytes";
    // Read the packed bytes: look through an unpack, or pack the codes.
    Value bytes;
    if (auto unpack = data.getDefiningOp<UnpackOp>())
      bytes = unpack.getBytes();
    else
      bytes = PackOp::create(
          b, loc,
          RankedTensorType::get({type.getShape()[0], type.getShape()[1],
                                 type.getShape()[2], src.dim * bits / 8},
                                b.getI8Type()),
          data);
    src.data = createReadOnlyBuffer(b, loc, bytes);
    src.packedBits = bits;
  } else {
    src.data = createReadOnlyBuffer(b, loc, data);
  }
  src.scale = createReadOnlyBuffer(b, loc, scale);
  if (zeroPoint)
    src.zeroPoint = createReadOnlyBuffer(b, loc, zeroPoint);
  SmallVector<int64_t> blockShape = scheme.getBlockShape(type.getShape());
  for (int64_t i = 0; i < 4; ++i) {
    bool isWhole = false;
    switch (scheme.getGranularity()) {
    case Granularity::Tensor:
      isWhole = true;
      break;
    case Granularity::Token:
      isWhole = i == 3;
      break;
    case Granularity::Channel:
      isWhole = i == 2;
      break;
    case Granularity::Fragment:
      // Tokens find their group with getTokenSideIndex.
      isWhole = i == 3;
      break;
    default:
      break;
    }
    src.whole.push_back(isWhole);
    src.extent.push_back(isWhole ? 0 : blockShape[i]);
  }
  return src;
}

SmallVector<Value, 4> mlir::kvq::getSideIndices(OpBuilder &b, Location loc,
                                                const KVOperand &src,
                                                ValueRange coords) {
  SmallVector<Value, 4> indices;
  for (int i = 0; i < 4; ++i) {
    if (i == 2)
      indices.push_back(getTokenSideIndex(b, loc, src, coords[2]));
    else if (src.whole[i])
      indices.push_back(arith::ConstantIndexOp::create(b, loc, 0));
    else if (src.extent[i] == 1)
      indices.push_back(coords[i]);
    else
      indices.push_back(arith::DivUIOp::create(
          b, loc, coords[i],
          arith::ConstantIndexOp::create(b, loc, src.extent[i])));
  }
  return indices;
}

Value mlir::kvq::getTokenSideIndex(OpBuilder &b, Location loc,
                                   const KVOperand &src, Value token) {
  auto cst = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  if (src.scheme && src.scheme.getGranularity() == Granularity::Fragment) {
    QuantSchemeAttr s = src.scheme;
    Value window =
        arith::DivUIOp::create(b, loc, token, cst(s.getFragmentRows()));
    Value inWindow = arith::DivUIOp::create(
        b, loc,
        arith::RemUIOp::create(b, loc, token, cst(s.getFragmentPeriod())),
        cst(s.getFragmentRun()));
    return arith::AddIOp::create(
        b, loc,
        arith::MulIOp::create(b, loc, window, cst(s.getFragmentGroups())),
        inWindow);
  }
  if (src.whole[2])
    return cst(0);
  if (src.extent[2] == 1)
    return token;
  return arith::DivUIOp::create(b, loc, token, cst(src.extent[2]));
}

KVDecoderOpInterface mlir::kvq::getAttentionDecoder(Value value) {
  auto decoder = value.getDefiningOp<KVDecoderOpInterface>();
  if (decoder && decoder->getNumResults() == 1 &&
      decoder.canDecodeInAttention())
    return decoder;
  return {};
}

LogicalResult PreparedKVChunkReader::prepare(OpBuilder &b,
                                             KVDecoderOpInterface decoder) {
  if (!decoders.insert(decoder).second)
    return success();
  Location loc = op.getLoc();
  // Quantized codes are read the way kvq.attention reads quantized K / V
  // (packed sub-byte codes as bytes).
  if (auto dequantize = dyn_cast<DequantizeOp>(decoder.getOperation())) {
    FailureOr<KVOperand> src =
        prepareKVOperand(b, op, passName, "decoded", dequantize.getCodes(),
                         dequantize.getSchemeAttr(), dequantize.getScale(),
                         dequantize.getZeroPoint());
    if (failed(src))
      return failure();
    quantized[{dequantize.getCodes(), dequantize.getScale()}] = *src;
    return success();
  }
  SmallVector<Value> decoded = decoder.getDecodedOperands();
  for (Value operand : decoder->getOperands()) {
    if (!isa<RankedTensorType>(operand.getType()) || buffers.count(operand))
      continue;
    if (llvm::is_contained(decoded, operand)) {
      if (KVDecoderOpInterface inner = getAttentionDecoder(operand)) {
        if (failed(prepare(b, inner)))
          return failure();
        continue;
      }
      if (cast<RankedTensorType>(operand.getType()).isDynamicDim(3))
        return decoder->emitOpError()
               << "is decoded inside attention, which needs a static head "
                  "dimension for its operand";
    }
    buffers[operand] = createReadOnlyBuffer(b, loc, operand);
  }
  return success();
}

KVDecoderOpInterface
PreparedKVChunkReader::getPreparedDecoder(Value tensor) const {
  KVDecoderOpInterface decoder = getAttentionDecoder(tensor);
  if (decoder && decoders.contains(decoder))
    return decoder;
  return {};
}

const KVOperand &PreparedKVChunkReader::getQuantized(Value codes,
                                                     Value scale) const {
  return quantized.find({codes, scale})->second;
}

Value PreparedKVChunkReader::getSize(OpBuilder &b, Location loc, Value tensor,
                                     int64_t dim) {
  if (KVDecoderOpInterface decoder = getPreparedDecoder(tensor))
    return decoder.emitDecodedSize(b, loc, *this, dim);
  for (auto &[key, src] : quantized)
    if (key.first == tensor)
      return memref::DimOp::create(b, loc, src.data, dim);
  return memref::DimOp::create(b, loc, buffers.lookup(tensor), dim);
}
