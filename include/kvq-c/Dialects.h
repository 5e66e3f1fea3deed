/*===- kvq-c/Dialects.h - C API of the kvq dialect ---------------*- C -*-===*\
|*                                                                            *|
|* Part of the kvq project: attention over compressed KV caches.             *|
|*                                                                            *|
|* The kvq dialect in the MLIR C API style: a dialect handle for             *|
|* mlirDialectHandleRegisterDialect / mlirDialectHandleInsertDialect, and    *|
|* the registration of kvq's external interface models (the KV decoders of   *|
|* upstream ops such as tensor.concat) into a dialect registry.              *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef KVQ_C_DIALECTS_H
#define KVQ_C_DIALECTS_H

#include "mlir-c/IR.h"

#ifdef __cplusplus
extern "C" {
#endif

MLIR_DECLARE_CAPI_DIALECT_REGISTRATION(KVQ, kvq);

/// Registers kvq's external interface models (KVDecoderOpInterface for
/// tensor.concat, and the kvq decoders' models) and the transform dialect
/// extension (transform.kvq.*) into `registry`. Call it with the registry a
/// context is created from, as kvq-opt does, so that kvq.attention decodes
/// such operands inside its loops.
MLIR_CAPI_EXPORTED void kvqRegisterExternalModels(MlirDialectRegistry registry);

#ifdef __cplusplus
}
#endif

#endif // KVQ_C_DIALECTS_H
