//===- SubByte.h - Packing and extracting sub-byte code fields --*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// Sub-byte codes (i4, i2, and VidKV's 1-bit signs) are stored packed LSB
// first: field j of a byte holds bits [j * bits, (j + 1) * bits), so code i
// of a row is field i % (8 / bits) of byte i / (8 / bits). Every lowering
// (to linalg, the CPU loop nest, the GPU kernels, the decoders read inside
// kvq.attention) packs and extracts fields with these builders. The GPU
// decode kernel's register decoders (lop3 / prmt magic numbers, which turn
// whole words of fields into f16 pairs) are a conversion of their own and
// do not use them.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_UTILS_SUBBYTE_H
#define KVQ_DIALECT_KVQ_UTILS_SUBBYTE_H

#include "mlir/IR/Builders.h"

namespace mlir {
namespace kvq {

/// Codes of `bits` bits (1, 2, 4 or 8) per byte.
constexpr int64_t getCodesPerByte(unsigned bits) { return 8 / bits; }
/// The byte of its row that holds code `code`.
constexpr int64_t getCodeByte(int64_t code, unsigned bits) {
  return code / getCodesPerByte(bits);
}
/// The bit at which code `code`'s field starts in its byte.
constexpr int64_t getCodeBitOffset(int64_t code, unsigned bits) {
  return (code % getCodesPerByte(bits)) * bits;
}

/// `code / (8 / bits)` (index): the byte of its row holding code `code`
/// (an index).
Value emitCodeByte(OpBuilder &b, Location loc, Value code, unsigned bits);
/// The bit offset of code `code` (an index) in its byte, as `type` (an
/// integer type): `(code % (8 / bits)) * bits`.
Value emitCodeBitOffset(OpBuilder &b, Location loc, Value code, unsigned bits,
                        Type type);
/// The bit offset of field `field` (an index: the field's position in its
/// byte, below 8 / bits), as `type`: `field * bits`.
Value emitFieldBitOffset(OpBuilder &b, Location loc, Value field, unsigned bits,
                         Type type);

/// How an extracted field fills the bits above its own.
enum class FieldExtension {
  /// Zero-extended: `(x >> offset) & (2^bits - 1)`.
  Zero,
  /// Sign-extended by a shift pair: the field moved to the top of the
  /// container, then shifted down arithmetically:
  /// `(x << (w - bits - offset)) >>s (w - bits)`, w the container width.
  SignByShifts,
  /// Sign-extended from the zero-extended field f: `(f ^ h) - h`,
  /// h = 2^(bits - 1). No arithmetic shift: x86 has no byte shifts.
  SignByXorSub,
};

/// The `bits`-bit field at bit `offset` of `value` (an integer or a vector
/// of integers; every lane at the same offset), as `resultType` (null: the
/// type of `value`). A wider result type extends `value` first (signed for
/// SignByShifts, else unsigned) and works in the wide type; a narrower one
/// (for example the iN of the codes themselves) shifts the field down and
/// truncates. Shifts by 0 are left out.
Value emitExtractField(OpBuilder &b, Location loc, Value value, int64_t offset,
                       unsigned bits, FieldExtension extension,
                       Type resultType = {});
/// As above with one static offset per lane of the vector `value`.
Value emitExtractField(OpBuilder &b, Location loc, Value value,
                       ArrayRef<int64_t> offsets, unsigned bits,
                       FieldExtension extension, Type resultType = {});
/// As above with a dynamic `offset` of the (extended) container's type.
Value emitExtractField(OpBuilder &b, Location loc, Value value, Value offset,
                       unsigned bits, FieldExtension extension,
                       Type resultType = {});

/// A vector<n x i32> (n = bitOf.size()) whose lane l is the `bits`-bit
/// field at bit `bitOf[l]` of the row of bytes (an i8 memref) at `prefix`
/// (anything where `bitOf[l]` is negative): the bytes the lanes touch are
/// loaded as scalars and combined into 32-bit words, one per window of four
/// bytes (one for a vector of codes of a CPU chunk), and each lane shifts
/// its broadcast word. No per-lane scalar code.
Value emitLaneFields(OpBuilder &b, Location loc, Value buffer,
                     ValueRange prefix, ArrayRef<int64_t> bitOf, unsigned bits);

/// An extracted `field` (an integer or a vector of integers) as f32 (of the
/// same shape): signed when `extension` sign-extended it.
Value emitFieldToF32(OpBuilder &b, Location loc, Value field,
                     FieldExtension extension);

/// `acc | (field << offset)`: `field` (of `acc`'s type, zero above its
/// bits) placed at bit `offset` (of `acc`'s type) of `acc`.
Value emitInsertField(OpBuilder &b, Location loc, Value acc, Value field,
                      Value offset);
/// `fields[0] | fields[1] << bits | fields[2] << 2 bits | ...`: the byte
/// (or wider integer) holding `fields` (each of the result's type, zero
/// above its bits), the first in the low bits.
Value emitPackFields(OpBuilder &b, Location loc, ValueRange fields,
                     unsigned bits);

} // namespace kvq
} // namespace mlir

#endif // KVQ_DIALECT_KVQ_UTILS_SUBBYTE_H
