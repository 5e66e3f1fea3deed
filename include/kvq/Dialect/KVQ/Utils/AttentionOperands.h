//===- AttentionOperands.h - K / V operands of kvq.attention ----*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// The lowerings of kvq.attention (CPU loop nest, GPU kernels) read K and V
// the same way: plain floats, codes of a scheme, or sub-byte codes packed
// into bytes, with the scheme's scale / zero-point buffers. This header
// prepares those buffers and computes the side-data indices of an element.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_UTILS_ATTENTIONOPERANDS_H
#define KVQ_DIALECT_KVQ_UTILS_ATTENTIONOPERANDS_H

#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseSet.h"

namespace mlir {
namespace kvq {

/// A K or V operand as seen by a lowering of kvq.attention.
struct KVOperand {
  Value data;              // memref [B, Hkv, Skv, D or packed bytes]
  QuantSchemeAttr scheme;  // null when plain
  Value scale, zeroPoint;  // memrefs or null
  int64_t dim;             // logical head dimension (static)
  unsigned packedBits = 0; // 4 or 2 when `data` holds packed bytes
  // Scale indexing: for each of the 4 dims, whether one block covers it
  // whole (index 0) and otherwise the block extent along it.
  SmallVector<bool, 4> whole;
  SmallVector<int64_t, 4> extent;
};

/// `bufferization.to_buffer` of `tensor` (read-only) with unit innermost
/// stride and otherwise dynamic layout, so any buffer the bufferization
/// picks can be cast to it.
Value createReadOnlyBuffer(OpBuilder &b, Location loc, Value tensor);

/// Prepares the K (`what` = "key") or V operand of `op` for `passName`:
/// buffers of the data and side data; sub-byte codes are read as packed
/// bytes (looking through a kvq.unpack, else packing them). Emits an error
/// on `op` and fails when the head dimension is dynamic or sub-byte codes
/// do not fill whole bytes.
FailureOr<KVOperand> prepareKVOperand(OpBuilder &b, AttentionOp op,
                                      StringRef passName, StringRef what,
                                      Value data, QuantSchemeAttr scheme,
                                      Value scale, Value zeroPoint);

/// The indices into the scale / zero-point buffer of `src` of the element
/// at `coords` = (batch, head, position, channel).
SmallVector<Value, 4> getSideIndices(OpBuilder &b, Location loc,
                                     const KVOperand &src, ValueRange coords);

/// The index along the token dimension of the scale / zero-point buffer of
/// `src` for the token `token`: its block, or for fragment granularity its
/// group `(t / W) * (P / R) + (t % P) / R`.
Value getTokenSideIndex(OpBuilder &b, Location loc, const KVOperand &src,
                        Value token);

/// The output buffer of a lowering of `op`: a memref [B, Hq, Sq, dv] of
/// the result's element type, its dynamic sizes read from `query` (the
/// query's buffer, [B, Hq, Sq, ...]). The lowering bridges it back to a
/// tensor.
Value createOutputBuffer(OpBuilder &b, Location loc, AttentionOp op,
                         Value query, int64_t dv);

/// The channels of a K / V decoded inside kvq.attention come in blocks of
/// this many: the GPU kernels fill their shared-memory tiles so. Decoders
/// whose size is not a multiple are refused by them (and materialized by
/// the generic models, which check it in canDecodeInAttention).
constexpr int64_t kDecodedChannelBlock = 4;

/// The decoder producing `value` when kvq.attention may decode it in its
/// loop (a single-result KVDecoderOpInterface op whose
/// canDecodeInAttention() holds), else null.
KVDecoderOpInterface getAttentionDecoder(Value value);

/// The part of a KVChunkReader that the CPU and GPU attention lowerings
/// share: prepare() creates, before the loops, the buffers a tree of
/// decoders reads (kvq.dequantize codes as quantized operands); getBuffer
/// and getSize answer from them. Subclasses read chunks their own way.
class PreparedKVChunkReader : public KVChunkReader {
public:
  PreparedKVChunkReader(AttentionOp op, StringRef passName)
      : op(op), passName(passName) {}

  /// Creates the buffers that decoding `decoder`'s result needs at the
  /// insertion point of `b`; emits an error and fails when an operand
  /// cannot be read (for example a dynamic head dimension).
  LogicalResult prepare(OpBuilder &b, KVDecoderOpInterface decoder);

  Value getBuffer(Value tensor) override { return buffers.lookup(tensor); }
  Value getSize(OpBuilder &b, Location loc, Value tensor, int64_t dim) override;

protected:
  /// The prepared decoder producing `tensor`, or null.
  KVDecoderOpInterface getPreparedDecoder(Value tensor) const;
  /// The quantized operand prepared for (codes, scale).
  const KVOperand &getQuantized(Value codes, Value scale) const;

  AttentionOp op;
  StringRef passName;

private:
  llvm::DenseSet<Operation *> decoders;
  llvm::DenseMap<Value, Value> buffers;
  llvm::DenseMap<std::pair<Value, Value>, KVOperand> quantized;
};

} // namespace kvq
} // namespace mlir

#endif // KVQ_DIALECT_KVQ_UTILS_ATTENTIONOPERANDS_H
