//===- KVDecoderModels.h - Decoder models of kvq and upstream ops -*- C++
//-*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_TRANSFORMS_KVDECODERMODELS_H
#define KVQ_DIALECT_KVQ_TRANSFORMS_KVDECODERMODELS_H

namespace mlir {
class DialectRegistry;
namespace kvq {

/// Attaches KVDecoderOpInterface to kvq.dequantize and to tensor.concat
/// (of decoded K / V along the token axis: a KIVI cache's quantized part
/// followed by its full-precision window of recent tokens) and to
/// kvq.polar_decode. Tools and
/// embedders that run kvq's attention lowerings must call it.
void registerKVDecoderExternalModels(DialectRegistry &registry);

} // namespace kvq
} // namespace mlir

#endif // KVQ_DIALECT_KVQ_TRANSFORMS_KVDECODERMODELS_H
