//===- KVQToLinalg.h - kvq method ops to linalg -----------------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// Per-method patterns that lower the kvq ops other than kvq.attention
// (quantization, low rank, GEAR / xKV, PolarQuant, VidKV, PolySketch,
// LevAttention) on tensors to linalg, tensor, arith and math.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_CONVERSION_KVQTOLINALG_KVQTOLINALG_H
#define KVQ_CONVERSION_KVQTOLINALG_KVQTOLINALG_H

#include <string>

namespace mlir {
class ConversionTarget;
class Operation;
class RewritePatternSet;
namespace kvq {

/// Every pattern of convert-kvq-to-linalg: the per-method sets below, and
/// kvq.rotate expanded to a projection (populateExpandRotationPatterns), for
/// a driver of one's own (the pass applies them method by method).
void populateKVQToLinalgConversionPatterns(RewritePatternSet &patterns);

/// Marks the ops those patterns lower illegal in `target` (kvq.attention,
/// lowered by the CPU or GPU attention conversion, and kvq.latent_attention,
/// absorbed before, are not among them).
void configureKVQToLinalgConversionLegality(ConversionTarget &target);

/// Why convert-kvq-to-linalg cannot lower `op` (a static shape its pattern
/// needs), or "" when it can or `op` is not one of its ops.
std::string getKVQToLinalgFailure(Operation *op);

/// kvq.quantize, kvq.dequantize, kvq.pack and kvq.unpack.
void populateLowerQuantPatterns(RewritePatternSet &patterns);

/// kvq.project, kvq.reconstruct and kvq.smooth.
void populateLowerLowRankPatterns(RewritePatternSet &patterns);

/// The GEAR ops (kvq.extract_outliers, kvq.low_rank_approx,
/// kvq.gear_decode) and xKV's kvq.cross_layer_basis (linalg, tensor, scf).
void populateLowerGearPatterns(RewritePatternSet &patterns);

/// kvq.polar_encode and kvq.polar_decode.
void populateLowerPolarPatterns(RewritePatternSet &patterns);

/// The VidKV encoders and decoders.
void populateLowerVidKVPatterns(RewritePatternSet &patterns);

/// kvq.poly_sketch and kvq.poly_attention (PolySketchFormer).
void populateLowerPolyAttentionPatterns(RewritePatternSet &patterns);

/// kvq.leverage_scores and kvq.select_keys (LevAttention).
void populateLowerLeveragePatterns(RewritePatternSet &patterns);

/// Why a pattern of one method cannot lower `op`, or "".
std::string getLowRankToLinalgFailure(Operation *op);
std::string getLeverageToLinalgFailure(Operation *op);
std::string getPolyAttentionToLinalgFailure(Operation *op);

} // namespace kvq
} // namespace mlir

#endif // KVQ_CONVERSION_KVQTOLINALG_KVQTOLINALG_H
