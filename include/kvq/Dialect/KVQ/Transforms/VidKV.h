//===- VidKV.h - VidKV numerics shared by its lowerings ---------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_TRANSFORMS_VIDKV_H
#define KVQ_DIALECT_KVQ_TRANSFORMS_VIDKV_H

#include "kvq/Dialect/KVQ/IR/KVQAttrs.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/PatternMatch.h"

#include <vector>

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace mlir {
namespace kvq {

/// The real DFT of n values as an n x n row-major matrix (f64 rounded to
/// f32): row m < n/2 + 1 gives Re X_m, row n/2 + j gives Im X_j.
std::vector<float> getVidKVForwardDFT(int64_t n);

/// Its inverse for conjugate-symmetric spectra: x = G r.
std::vector<float> getVidKVInverseDFT(int64_t n);

/// The 2-bit scheme of the high key channels (KIVI: i2 asymmetric, groups
/// of `groupSize` tokens).
QuantSchemeAttr getVidKVHighScheme(MLIRContext *ctx, int64_t groupSize,
                                   Type scaleType);

/// The ternary value (-1, 0, 1, as i32) of channel `channel` (an index) in
/// its packed i8 `byte`.
Value emitVidKVTrit(OpBuilder &b, Location loc, Value byte, Value channel);

/// Spectral component `component` (an index) decoded from its packed sign
/// bit in `byte` (i8, 8 components per byte, LSB first) and its `scale`
/// (a float scalar): `+scale` for a set bit, `-scale` otherwise, as f32.
Value emitVidKVSignedScale(OpBuilder &b, Location loc, Value byte,
                           Value component, Value scale);

/// Inverse-DFT coefficients by angle index t in [0, n): cos(2 pi t / n) / n
/// (`imag` false) or -2 sin(2 pi t / n) / n (`imag` true).
std::vector<float> getVidKVInverseDFTTable(int64_t n, bool imag);

/// Attaches KVDecoderOpInterface to kvq.vidkv_decode_key and
/// kvq.vidkv_decode_value (called by registerKVDecoderExternalModels).
void registerVidKVDecoderModels(DialectRegistry &registry);

} // namespace kvq
} // namespace mlir

#endif // KVQ_DIALECT_KVQ_TRANSFORMS_VIDKV_H
