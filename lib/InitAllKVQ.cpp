//===- InitAllKVQ.cpp - Register everything kvq provides -----------------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/InitAllKVQ.h"

#include "kvq/Conversion/Passes.h"
#include "kvq/Dialect/KVQ/IR/KVQDialect.h"
#include "kvq/Dialect/KVQ/TransformOps/KVQTransformOps.h"
#include "kvq/Dialect/KVQ/Transforms/KVDecoderModels.h"
#include "kvq/Dialect/KVQ/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"

void mlir::kvq::registerAllKVQ(DialectRegistry &registry) {
  registry.insert<KVQDialect>();
  registerKVDecoderExternalModels(registry);
  registerTransformDialectExtension(registry);
}

void mlir::kvq::registerAllKVQPasses() {
  registerKVQPasses();
  registerKVQConversionPasses();
}
