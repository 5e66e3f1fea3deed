//===- InitAllKVQ.h - Register everything kvq provides ----------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// The one place that knows what a tool, the C API or an embedding compiler
// must register to use kvq: the dialect with its external interface models
// and transform dialect extension, and the passes.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_INITALLKVQ_H
#define KVQ_INITALLKVQ_H

namespace mlir {
class DialectRegistry;
namespace kvq {

/// Adds the kvq dialect, the KVDecoderOpInterface models of kvq and upstream
/// ops (kvq.dequantize, tensor.concat, ...) and the `transform.kvq.*`
/// extension of the transform dialect to `registry`.
void registerAllKVQ(DialectRegistry &registry);

/// Registers every kvq pass, of every layer (`kvq-opt --kvq-...`), with the
/// global pass registry. The pipelines have their own registration
/// (registerKVQPipelines in kvq/Pipelines/Pipelines.h).
void registerAllKVQPasses();

} // namespace kvq
} // namespace mlir

#endif // KVQ_INITALLKVQ_H
