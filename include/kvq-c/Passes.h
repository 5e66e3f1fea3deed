/*===- kvq-c/Passes.h - C API of kvq's passes and pipelines ------*- C -*-===*\
|*                                                                            *|
|* Part of the kvq project: attention over compressed KV caches.             *|
|*                                                                            *|
|* Registration of every kvq pass (kvq-fuse, kvq-tile-attention,              *|
|* kvq-compress-kv, ...) and pipeline (kvq-cpu-pipeline, kvq-nvvm-pipeline,   *|
|* kvq-nvvm-emulation-pipeline) with the global registry, so that            *|
|* mlirParsePassPipeline / mlirOpPassManagerAddPipeline accept their names,  *|
|* and direct construction of the two main pipelines.                        *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef KVQ_C_PASSES_H
#define KVQ_C_PASSES_H

#include "mlir-c/Pass.h"
#include "mlir-c/Support.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Registers every kvq pass with the global pass registry.
MLIR_CAPI_EXPORTED void kvqRegisterPasses(void);

/// Registers kvq-cpu-pipeline, kvq-nvvm-pipeline and
/// kvq-nvvm-emulation-pipeline with the global pass-pipeline registry.
MLIR_CAPI_EXPORTED void kvqRegisterPipelines(void);

/// Adds kvq-cpu-pipeline (or kvq-nvvm-pipeline if `gpu`) with the given
/// options (the text between the braces of the textual form, e.g.
/// "block-kv=64 threads=false"; empty for the defaults) to `pm`. Returns
/// failure if the options do not parse: unknown options are reported to
/// `errorCallback`, invalid values by LLVM's option library on stderr.
MLIR_CAPI_EXPORTED MlirLogicalResult
kvqAddPipeline(MlirOpPassManager pm, bool gpu, MlirStringRef options,
               MlirStringCallback errorCallback, void *userData);

#ifdef __cplusplus
}
#endif

#endif // KVQ_C_PASSES_H
