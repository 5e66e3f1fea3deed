//===- KVQTransformOps.h - Transform dialect ops of kvq ---------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_TRANSFORMOPS_KVQTRANSFORMOPS_H
#define KVQ_DIALECT_KVQ_TRANSFORMOPS_KVQTRANSFORMOPS_H

#include "kvq/Dialect/KVQ/IR/KVQAttrs.h"

#include "mlir/Dialect/Transform/IR/TransformDialect.h"
#include "mlir/Dialect/Transform/IR/TransformTypes.h"
#include "mlir/Dialect/Transform/Interfaces/TransformInterfaces.h"
#include "mlir/IR/OpImplementation.h"

#define GET_OP_CLASSES
#include "kvq/Dialect/KVQ/TransformOps/KVQTransformOps.h.inc"

namespace mlir {
class DialectRegistry;
namespace kvq {
/// Registers the transform.kvq.* ops (a transform dialect extension).
void registerTransformDialectExtension(DialectRegistry &registry);
} // namespace kvq
} // namespace mlir

#endif // KVQ_DIALECT_KVQ_TRANSFORMOPS_KVQTRANSFORMOPS_H
