//===- GPUKernelUtils.h - Builders shared by the GPU kernels ----*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// Small builders the GPU kernel strategies share: PTX instructions MLIR has
// no op for (lop3, movmatrix) as inline assembly, byte permutes, packed
// f16x2 <-> i32 views, warp shuffles and the ex2 / lg2 approximations.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_LIB_CONVERSION_KVQTOGPU_GPUKERNELUTILS_H
#define KVQ_LIB_CONVERSION_KVQTOGPU_GPUKERNELUTILS_H

#include "mlir/IR/Builders.h"

namespace mlir {
namespace kvq {
namespace gpukernel {

Value constI32(OpBuilder &b, Location loc, int64_t value);
Value constF32(OpBuilder &b, Location loc, double value);
Value constIndex(OpBuilder &b, Location loc, int64_t value);
/// An f16x2 (vector<2xf16>) constant.
Value constHalf2(OpBuilder &b, Location loc, double lo, double hi);

/// `lop3.b32 d, a, b, c, lut` (PTX; no MLIR op exists): any function of
/// three words given by its truth table `lut` over a = 0xF0, b = 0xCC,
/// c = 0xAA.
Value lop3(OpBuilder &b, Location loc, Value x, Value y, Value z, uint8_t lut);
/// lop3 computing `(x & y) ^ z`.
Value andXor(OpBuilder &b, Location loc, Value x, int64_t y, int64_t z);

/// `prmt.b32 d, a, b, selector` (nvvm.prmt): byte i of the result is byte
/// `selector[4i+2:4i]` of the 8-byte pool {b, a} (a: bytes 0-3).
Value prmt(OpBuilder &b, Location loc, Value x, Value y, uint32_t selector);

/// The 32-bit word of an f16x2 and back (bit casts).
Value asHalf2(OpBuilder &b, Location loc, Value word);
Value asWord(OpBuilder &b, Location loc, Value half2);

/// acc + a * bFrag on tensor cores (mma.sync m16n8k16, f32 accumulators
/// vector<2x2xf32>) with f16 or bf16 operands (a: vector<4x2x...>, bFrag:
/// vector<2x2x...>); both have the same fragment layout. f16 goes through
/// nvgpu.mma.sync, bf16 (which nvgpu does not lower) through nvvm.mma.sync.
Value mma(OpBuilder &b, Location loc, Value a, Value bFrag, Value acc);

/// The split-KV kernels' scratch in device memory: the partial outputs of
/// `rows` rows (f32 [rows * channels]) and their log2-sum-exps (f32
/// [rows]), allocated on the stream after `token`, which becomes the
/// allocations' token.
std::pair<Value, Value> allocSplitPartials(OpBuilder &b, Location loc,
                                           Value rows, Value channels,
                                           Value &token);

/// The reference of a row's split merge: the largest log2-sum-exp of its
/// `splits` partial results (`partialLse` at `lseIndex(split)`), or 0 when
/// no split saw a key (all -inf), so that their weights 2^(lse - ref) stay
/// finite.
Value emitSplitLseReference(OpBuilder &b, Location loc, Value partialLse,
                            Value splits,
                            llvm::function_ref<Value(Value)> lseIndex);

/// `movmatrix.sync.aligned.m8n8.trans.b16` (sm_75+): transposes the 8x8
/// matrix of 16-bit elements whose row `lane / 4`, elements
/// `2 (lane % 4) .. +1`, each lane holds as a word.
Value transpose8x8(OpBuilder &b, Location loc, Value word);

/// `v` (an index) unchanged, through an inline-asm move the optimizers
/// cannot see through: what is computed from the result is not merged with
/// what was computed from `v` (a second pass of a kernel that should not
/// keep the first pass's addresses live).
Value opaqueIndex(OpBuilder &b, Location loc, Value v);

/// `v + (v - v)`: the f32 `v` when it is finite, NaN otherwise (no
/// math.absf, which would become a libdevice call).
Value nanIfNotFinite(OpBuilder &b, Location loc, Value v);

/// Whether any thread of the CTA ends a flash-attention pass with a
/// non-finite state: a row maximum or sum (`rowStats`, f32) that is NaN or
/// +inf, or an element of an accumulator (`accumulators`,
/// vector<2x2xf32>) that is not finite. The answer (i1) is CTA-wide
/// (bar.red.or), so every thread takes the same path after it: the f16
/// kernels' decision to recompute with bf16 operands.
Value anyNonFiniteInCTA(OpBuilder &b, Location loc, ValueRange rowStats,
                        ValueRange accumulators);

/// `__syncwarp()` over the full warp.
void syncWarp(OpBuilder &b, Location loc);

/// `v` from lane `lane ^ offset` (f32).
Value shuffleXor(OpBuilder &b, Location loc, Value v, int32_t offset);

/// 2^x and log2(x) as the PTX approximations (ex2.approx.f32,
/// lg2.approx.f32) through their NVVM intrinsics: math.exp2 / math.log2
/// would become libdevice calls, which PTX for JIT (format=isa, no CUDA
/// toolkit) cannot resolve.
Value exp2Approx(OpBuilder &b, Location loc, Value x);
Value log2Approx(OpBuilder &b, Location loc, Value x);

} // namespace gpukernel
} // namespace kvq
} // namespace mlir

#endif // KVQ_LIB_CONVERSION_KVQTOGPU_GPUKERNELUTILS_H
