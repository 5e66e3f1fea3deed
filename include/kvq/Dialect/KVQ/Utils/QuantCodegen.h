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

/// f8E4M3FN codes to f32 through f16, for targets that convert f16 in
/// hardware (x86 F16C / AVX-512): the byte's sign and 7 exponent-mantissa
/// bits placed in an f16 (exponent bias 15, not 7), converted to f32 and
/// scaled by 2^8; exact for every code (subnormals included), S.1111.111
/// is NaN. Half the instructions of emitDecodeCodes' integer decoding, in
/// 16-bit lanes.
Value emitDecodeF8E4M3FNByHalf(OpBuilder &b, Location loc, Value codes);

/// f8E4M3FN codes to f32 in units of 2^-8 (the value times 2^-8), through
/// f16 with three integer operations (sign-extend, shift, clear bit 14):
/// exact for every finite code, subnormals included, but NaN codes
/// (S.1111.111) decode to +-1.875. For rows known to hold no NaN code
/// (emitAnyF8E4M3FNNaN), with the 2^8 folded into the scale.
Value emitDecodeF8E4M3FNHalfUnits(OpBuilder &b, Location loc, Value codes);

/// Whether any of `bytes` (a vector of i8, f8E4M3FN codes) is a NaN code
/// (S.1111.111): an i1.
Value emitAnyF8E4M3FNNaN(OpBuilder &b, Location loc, Value bytes);

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

//===----------------------------------------------------------------------===//
// Encoding (quantize)
//===----------------------------------------------------------------------===//
//
// The builders below mirror kvq.reference.quantize operation by operation,
// in f32, so that compiled code reproduces it bit for bit. Like the decode
// builders they take scalars or vectors.

/// Converts f32 `value` to `elementType` elements, rounding to nearest even:
/// f16 and bf16 with integer arithmetic on the bits (no conversion libcall,
/// and immune to LLVM narrowing `fptrunc(fmul(fpext, fpext))`; overflow
/// gives Inf, a NaN stays a quiet NaN of the same sign), f8E4M3FN / f8E5M2
/// with integer arithmetic too (no saturation: overflow gives NaN / Inf, as
/// ml_dtypes does), f32 (unchanged) or f64 (exact). Other float types use
/// `arith.truncf`.
Value emitConvertFromF32(OpBuilder &b, Location loc, Value value,
                         Type elementType);

/// Rounds f32 `value` to the scheme's scale type: clamps it to +-the largest
/// finite value of that type, then rounds to nearest even (the reference's
/// `round_to_scale_dtype`). Returns values of the scale type.
Value emitRoundToScaleType(OpBuilder &b, Location loc, QuantSchemeAttr scheme,
                           Value value);

/// Rounds f32 `value` half away from zero with the literal f32 formula
/// `sign(v) * floor(|v| + 0.5)` (emitted as `copysign(floor(|v| + 0.5), v)`,
/// which differs only in the sign of a zero result). NaN and +-Inf pass
/// through.
Value emitRoundHalfAwayFromZero(OpBuilder &b, Location loc, Value value);

/// Encodes f32 `values` (`x / scale` when symmetric, `(x - zero_point) /
/// scale` when asymmetric) into codes of the scheme's storage type:
/// * integers: `clamp(round_half_away(v), min_code, max_code)`, NaN -> 0;
///   asymmetric codes are unsigned values in the signless storage type
///   (the i8 code 200 is the bit pattern 0xC8);
/// * FP8: round to nearest even with saturation to +-max finite (+-Inf
///   included), NaN -> the type's NaN with the input's sign. Encoded with
///   integer arithmetic on the f32 bits so that no FP8 type reaches LLVM.
Value emitEncodeCodes(OpBuilder &b, Location loc, QuantSchemeAttr scheme,
                      Value values);

/// Quantizes `input` (any float type, converted to f32 first) with the block
/// `scale` (and `zeroPoint`, null when symmetric), both of any float type and
/// splatted to the input's shape when they are scalars: emitEncodeCodes of
/// `x / scale` or `(x - zeroPoint) / scale`, each step rounded in f32.
Value emitQuantize(OpBuilder &b, Location loc, QuantSchemeAttr scheme,
                   Value input, Value scale, Value zeroPoint);

/// Number of running statistics a block needs to compute its scale: 1
/// (max |x|) for symmetric schemes, 2 (min, max) for asymmetric ones.
unsigned getNumQuantStatistics(QuantSchemeAttr scheme);

/// The initial (empty-block) statistics as constants of the f32 scalar or
/// vector `type`: `{0}` (max |x|) or `{+Inf, -Inf}` (min, max).
SmallVector<Value> emitQuantStatisticsInit(OpBuilder &b, Location loc,
                                           QuantSchemeAttr scheme, Type type);

/// Folds `value` (any float type) into the running statistics `stats`
/// (f32), skipping NaN and +-Inf. Returns the updated statistics.
SmallVector<Value> emitUpdateQuantStatistics(OpBuilder &b, Location loc,
                                             QuantSchemeAttr scheme,
                                             Value value, ValueRange stats);

/// Computes a block's side data from its final statistics, in the scale
/// type: `{scale}` or `{scale, zero_point}`. `scale` is R(amax / max_code)
/// or R((hi - lo) / max_code), replaced by 1 when it rounds to 0; the zero
/// point is R(lo); a block without finite values gets scale 1 (and zero
/// point 0). R is emitRoundToScaleType.
SmallVector<Value> emitScaleFromStatistics(OpBuilder &b, Location loc,
                                           QuantSchemeAttr scheme,
                                           ValueRange stats);

} // namespace kvq
} // namespace mlir

#endif // KVQ_DIALECT_KVQ_UTILS_QUANTCODEGEN_H
