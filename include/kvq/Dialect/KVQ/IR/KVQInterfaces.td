//===- KVQInterfaces.td - kvq op interfaces ----------------*- tablegen -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_IR_KVQINTERFACES_TD
#define KVQ_DIALECT_KVQ_IR_KVQINTERFACES_TD

include "mlir/IR/OpBase.td"

def KVQ_KVDecoderOpInterface : OpInterface<"KVDecoderOpInterface"> {
  let cppNamespace = "::mlir::kvq";
  let description = [{
    An op whose single result is a K or V tensor `[B, H, S, D]` (floating
    point, static `D`) decoded from compressed operands, such that any row
    chunk can be decoded on its own. Lowerings of `kvq.attention` read a K
    or V produced by such an op chunk by chunk inside their loop over keys,
    so the decoded tensor never exists in memory.

    Decoders compose: an operand that is itself a decoded `[B, H, S, D']`
    tensor (for example a `kvq.dequantize` result) is read through the
    `KVChunkReader`, which decodes it recursively. Every other operand is
    read from its buffer (`KVChunkReader::getBuffer`), created once before
    the loops.

    The op keeps its standalone lowering for every other use.
  }];
  let methods = [
    InterfaceMethod<[{
        The operands that are decoded K / V tensors `[B, H, S, D']`, read
        with `KVChunkReader::readChunk`. The other operands are read from
        their buffers.
      }],
      "::llvm::SmallVector<::mlir::Value>", "getDecodedOperands", (ins),
      /*methodBody=*/"",
      /*defaultImplementation=*/"return {};">,
    InterfaceMethod<[{
        Whether attention may decode this op in its loop: by default when
        the result is `[B, H, S, D]` with a static `D`. When false, the
        result is materialized by the op's own lowering.
      }],
      "bool", "canDecodeInAttention", (ins),
      /*methodBody=*/"",
      /*defaultImplementation=*/[{
        auto type = ::llvm::cast<::mlir::RankedTensorType>(
            $_op->getResult(0).getType());
        return type.getRank() == 4 && !type.isDynamicDim(3);
      }]>,
    InterfaceMethod<[{
        Emits dimension `dim` (0: batch, 1: heads, 2: tokens) of the
        decoded tensor as an index. The default reads it from the first
        operand.
      }],
      "::mlir::Value", "emitDecodedSize",
      (ins "::mlir::OpBuilder &":$b, "::mlir::Location":$loc,
           "::mlir::kvq::KVChunkReader &":$reader, "int64_t":$dim),
      /*methodBody=*/"",
      /*defaultImplementation=*/[{
        return reader.getSize(b, loc, $_op->getOperand(0), dim);
      }]>,
    InterfaceMethod<[{
        Emits the decoded channels `[start, start + width)` of the row
        `coords` = (batch, head, token) as `vector<width x f32>`; lanes at
        or past the head dimension must be 0.
      }],
      "::mlir::Value", "emitDecodeChunk",
      (ins "::mlir::OpBuilder &":$b, "::mlir::Location":$loc,
           "::mlir::kvq::KVChunkReader &":$reader,
           "::mlir::ValueRange":$coords, "int64_t":$start,
           "int64_t":$width)>,
  ];
}

#endif // KVQ_DIALECT_KVQ_IR_KVQINTERFACES_TD
