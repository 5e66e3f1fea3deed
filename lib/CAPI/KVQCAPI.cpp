//===- KVQCAPI.cpp - C API of the kvq dialect, passes and pipelines -------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq-c/Dialects.h"
#include "kvq-c/Passes.h"

#include "kvq/Dialect/KVQ/IR/KVQDialect.h"
#include "kvq/InitAllKVQ.h"
#include "kvq/Pipelines/Pipelines.h"

#include "mlir/CAPI/IR.h"
#include "mlir/CAPI/Pass.h"
#include "mlir/CAPI/Registration.h"
#include "mlir/CAPI/Support.h"
#include "mlir/CAPI/Utils.h"

using namespace mlir;

MLIR_DEFINE_CAPI_DIALECT_REGISTRATION(KVQ, kvq, mlir::kvq::KVQDialect)

void kvqRegisterExternalModels(MlirDialectRegistry registry) {
  kvq::registerAllKVQ(*unwrap(registry));
}

void kvqRegisterPasses(void) { kvq::registerAllKVQPasses(); }

void kvqRegisterPipelines(void) { kvq::registerKVQPipelines(); }

MlirLogicalResult kvqAddPipeline(MlirOpPassManager pm, bool gpu,
                                 MlirStringRef options,
                                 MlirStringCallback errorCallback,
                                 void *userData) {
  detail::CallbackOstream error(errorCallback, userData);
  OpPassManager &passManager = *unwrap(pm);
  StringRef text = unwrap(options);
  if (gpu) {
    kvq::KVQNVVMPipelineOptions parsed;
    if (!text.empty() && failed(parsed.parseFromString(text, error)))
      return wrap(failure());
    kvq::buildKVQNVVMPipeline(passManager, parsed);
  } else {
    kvq::KVQCPUPipelineOptions parsed;
    if (!text.empty() && failed(parsed.parseFromString(text, error)))
      return wrap(failure());
    kvq::buildKVQCPUPipeline(passManager, parsed);
  }
  return wrap(success());
}
