//===- KVDecoderModels.cpp - Decoder models of kvq and upstream ops -------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// KVDecoderOpInterface models for ops whose decoding needs the lowering
// utilities: kvq.dequantize (its codes are read the way kvq.attention reads
// quantized K / V) and tensor.concat along the token axis.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/Transforms/KVDecoderModels.h"
#include "kvq/Dialect/KVQ/IR/KVQOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::kvq;

namespace {

/// A kvq.dequantize result read chunk by chunk: the codes are decoded in
/// registers by the attention lowering's own quantized-operand reader.
struct DequantizeDecoderModel
    : KVDecoderOpInterface::ExternalModel<DequantizeDecoderModel,
                                          DequantizeOp> {
  Value emitDecodeChunk(Operation *op, OpBuilder &b, Location loc,
                        KVChunkReader &reader, ValueRange coords, int64_t start,
                        int64_t width) const {
    auto dequantize = cast<DequantizeOp>(op);
    return reader.readQuantizedChunk(
        b, loc, dequantize.getCodes(), dequantize.getScale(),
        dequantize.getZeroPoint(), dequantize.getSchemeAttr(), coords, start,
        width);
  }
};

/// tensor.concat of decoded K / V along the token axis (dim 2): a row comes
/// from the input holding its token.
struct ConcatDecoderModel
    : KVDecoderOpInterface::ExternalModel<ConcatDecoderModel,
                                          tensor::ConcatOp> {
  bool canDecodeInAttention(Operation *op) const {
    auto concat = cast<tensor::ConcatOp>(op);
    RankedTensorType type = concat.getResultType();
    return type.getRank() == 4 && concat.getDim() == 2 &&
           !type.isDynamicDim(3) && isa<FloatType>(type.getElementType());
  }

  SmallVector<Value> getDecodedOperands(Operation *op) const {
    return llvm::to_vector(cast<tensor::ConcatOp>(op).getInputs());
  }

  Value emitDecodedSize(Operation *op, OpBuilder &b, Location loc,
                        KVChunkReader &reader, int64_t dim) const {
    auto inputs = cast<tensor::ConcatOp>(op).getInputs();
    if (dim != 2)
      return reader.getSize(b, loc, inputs.front(), dim);
    Value total = reader.getSize(b, loc, inputs.front(), 2);
    for (Value input : inputs.drop_front())
      total = arith::AddIOp::create(b, loc, total,
                                    reader.getSize(b, loc, input, 2));
    return total;
  }

  Value emitDecodeChunk(Operation *op, OpBuilder &b, Location loc,
                        KVChunkReader &reader, ValueRange coords, int64_t start,
                        int64_t width) const {
    auto inputs = cast<tensor::ConcatOp>(op).getInputs();
    return emitFrom(b, loc, reader, inputs, coords, coords[2], start, width);
  }

private:
  /// Decodes token `token` (relative to inputs.front()) from `inputs`.
  static Value emitFrom(OpBuilder &b, Location loc, KVChunkReader &reader,
                        ValueRange inputs, ValueRange coords, Value token,
                        int64_t start, int64_t width) {
    auto read = [&](Value input, Value t) {
      return reader.readChunk(b, loc, input, {coords[0], coords[1], t}, start,
                              width);
    };
    if (inputs.size() == 1)
      return read(inputs.front(), token);
    Value size = reader.getSize(b, loc, inputs.front(), 2);
    Value inFirst =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, token, size);
    auto vecType = VectorType::get({width}, b.getF32Type());
    auto ifOp = scf::IfOp::create(b, loc, TypeRange{vecType}, inFirst,
                                  /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      scf::YieldOp::create(b, loc, read(inputs.front(), token));
      b.setInsertionPointToStart(ifOp.elseBlock());
      Value rest = arith::SubIOp::create(b, loc, token, size);
      scf::YieldOp::create(b, loc,
                           emitFrom(b, loc, reader, inputs.drop_front(), coords,
                                    rest, start, width));
    }
    return ifOp.getResult(0);
  }
};

} // namespace

void mlir::kvq::registerKVDecoderExternalModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, KVQDialect *) {
    DequantizeOp::attachInterface<DequantizeDecoderModel>(*ctx);
  });
  registry.addExtension(+[](MLIRContext *ctx, tensor::TensorDialect *) {
    tensor::ConcatOp::attachInterface<ConcatDecoderModel>(*ctx);
  });
}
