//===- QuantCodegen.h - Emit scheme encode / decode arithmetic --*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// Builders shared by every lowering that reads or writes quantized data
// (standalone quantize / dequantize, the fused attention loop on CPU and
// GPU). They work elementwise on scalars and on vectors alike, so a
// lowering decodes a whole register of codes at once. The numerics are
// specified in docs/Quantization.md and mirrored by python/kvq/reference.py.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_UTILS_QUANTCODEGEN_H
#define KVQ_DIALECT_KVQ_UTILS_QUANTCODEGEN_H

#include "kvq/Dialect/KVQ/IR/KVQAttrs.h"
#include "mlir/IR/Builders.h"

namespace mlir {
namespace kvq {

/// Returns `type` (a scalar or vector type) with its element type replaced.
Type withElementType(Type type, Type elementType);

/// Converts `value` (scalar or vector, any float type) to f32 elements.
Value emitExtendToF32(OpBuilder &b, Location loc, Value value);

/// Decodes codes of the scheme's storage type into the f32 value of the
/// code: the signed (symmetric) or unsigned (asymmetric) integer, or the
/// FP8 number. FP8 is decoded with integer arithmetic so that no FP8 type
/// reaches the LLVM backend.
Value emitDecodeCodes(OpBuilder &b, Location loc, QuantSchemeAttr scheme,
                      Value codes);

/// Reconstructs f32 values: `code * scale` or `code * scale + zeroPoint`.
/// `codeValues` is the result of emitDecodeCodes; `scale` / `zeroPoint` are
/// any float type and are splatted to the shape of `codeValues` when they
/// are scalars. `zeroPoint` is null for symmetric schemes.
Value emitDequantize(OpBuilder &b, Location loc, QuantSchemeAttr scheme,
                     Value codeValues, Value scale, Value zeroPoint);

/// Decodes codes and reconstructs f32 values in one step.
Value emitDecodeAndDequantize(OpBuilder &b, Location loc,
                              QuantSchemeAttr scheme, Value codes, Value scale,
                              Value zeroPoint);

} // namespace kvq
} // namespace mlir

#endif // KVQ_DIALECT_KVQ_UTILS_QUANTCODEGEN_H
