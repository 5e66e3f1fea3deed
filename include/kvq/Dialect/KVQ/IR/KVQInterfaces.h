//===- KVQInterfaces.h - kvq op interfaces ----------------------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_IR_KVQINTERFACES_H
#define KVQ_DIALECT_KVQ_IR_KVQINTERFACES_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"

namespace mlir {
namespace kvq {

/// What a lowering of kvq.attention offers to the KVDecoderOpInterface ops
/// that produce its K or V: buffers of their operands, created before the
/// loops, and chunks of operands that are decoded tensors themselves.
class KVChunkReader {
public:
  virtual ~KVChunkReader();

  /// The read-only buffer of tensor operand `tensor` of a decoder.
  virtual Value getBuffer(Value tensor) = 0;

  /// Channels [start, start + width) of row `coords` = (batch, head,
  /// token) of the decoded K / V tensor `tensor` (an operand listed by
  /// getDecodedOperands) as vector<width x f32>, zero past its head dim.
  virtual Value readChunk(OpBuilder &b, Location loc, Value tensor,
                          ValueRange coords, int64_t start, int64_t width) = 0;

  /// Channels [start, start + width) of row `coords` of the tensor that
  /// `codes` of `scheme` with `scale` (and `zeroPoint`, or null) encode, as
  /// vector<width x f32> (what a kvq.dequantize producing it would give).
  virtual Value readQuantizedChunk(OpBuilder &b, Location loc, Value codes,
                                   Value scale, Value zeroPoint,
                                   Attribute scheme, ValueRange coords,
                                   int64_t start, int64_t width) = 0;

  /// Elements [start, start + width) of the innermost dimension of
  /// `buffer` (from getBuffer) at outer indices `prefix`, widened to
  /// vector<width x f32>, zero past that dimension's extent. Lowers to
  /// what the target reads best (vector loads on the CPU, scalar loads in
  /// GPU kernels).
  virtual Value loadChunk(OpBuilder &b, Location loc, Value buffer,
                          ValueRange prefix, int64_t start, int64_t width) = 0;

  /// Dimension `dim` of `tensor` (an operand of a decoder) as an index.
  virtual Value getSize(OpBuilder &b, Location loc, Value tensor,
                        int64_t dim) = 0;

  /// Whether the kernel being emitted applies the sparse terms of decoder
  /// `op` itself (GEAR's outliers, added to the scores and accumulators
  /// once per token instead of into every decoded chunk); the decoder's
  /// chunks then leave them out. False unless a lowering says otherwise.
  virtual bool appliesSparseTerms(Operation *op) const { return false; }

  /// Whether decoders may read small tables (codebooks) with kvq.lookup,
  /// which the target lowers to vector permutes; otherwise they select
  /// among constant vectors. False unless a lowering says otherwise.
  virtual bool hasTableLookup() const { return false; }
};

} // namespace kvq
} // namespace mlir

#include "kvq/Dialect/KVQ/IR/KVQInterfaces.h.inc"

#endif // KVQ_DIALECT_KVQ_IR_KVQINTERFACES_H
