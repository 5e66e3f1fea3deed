//===- LinalgBuilders.h - Small linalg-on-tensors builders ------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// Builders shared by the lowerings of kvq ops to linalg on tensors.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_UTILS_LINALGBUILDERS_H
#define KVQ_DIALECT_KVQ_UTILS_LINALGBUILDERS_H

#include "mlir/IR/Builders.h"

namespace mlir {
namespace kvq {

/// A tensor of `sizes` and `elementType` (a float type) filled with zeros.
Value createZeros(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                  Type elementType);

/// `tensor` (f32 or f64 elements; f64 is rounded to f32 first) converted
/// elementwise to `type`'s element type with emitConvertFromF32's
/// rounding; `tensor` itself when the element types match. Dynamic sizes
/// come from `tensor`.
Value createConvertFromF32(OpBuilder &b, Location loc, Value tensor,
                           RankedTensorType type);

/// `init[outExprs] += prod_k ins[k][inExprs[k]]` as a linalg.generic over
/// `numLoops` loops, the loops missing from `outExprs` being reductions.
/// Inputs are widened to init's element type (f32 or f64) before the
/// products.
Value createContraction(OpBuilder &b, Location loc, unsigned numLoops,
                        ValueRange ins,
                        ArrayRef<SmallVector<AffineExpr>> inExprs, Value init,
                        ArrayRef<AffineExpr> outExprs);

/// In the body of a ranking linalg.generic: whether `other` (at loop index
/// `otherLoop`) ranks ahead of `mine` (at loop `mineLoop`), i.e. it is
/// larger, or equal and earlier (ties go to the earlier position). Summing
/// it over `otherLoop` gives `mine`'s rank.
Value createRanksAhead(OpBuilder &b, Location loc, Value mine, Value other,
                       unsigned mineLoop, unsigned otherLoop);

} // namespace kvq
} // namespace mlir

#endif // KVQ_DIALECT_KVQ_UTILS_LINALGBUILDERS_H
