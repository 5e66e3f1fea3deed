//===- KVQDialect.cpp - kvq dialect -----------------------------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/IR/KVQDialect.h"
#include "kvq/Dialect/KVQ/IR/KVQAttrs.h"
#include "kvq/Dialect/KVQ/IR/KVQOps.h"

using namespace mlir;
using namespace mlir::kvq;

#include "kvq/Dialect/KVQ/IR/KVQOpsDialect.cpp.inc"

void KVQDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "kvq/Dialect/KVQ/IR/KVQOps.cpp.inc"
      >();
  registerAttributes();
  // The decoder model lives with the lowerings (KVDecoderModels.cpp).
  declarePromisedInterface<KVDecoderOpInterface, DequantizeOp>();
}
