//===- KVQDialect.h - kvq dialect -------------------------------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_IR_KVQDIALECT_H
#define KVQ_DIALECT_KVQ_IR_KVQDIALECT_H

#include "mlir/IR/Dialect.h"

#include "kvq/Dialect/KVQ/IR/KVQOpsDialect.h.inc"

#endif // KVQ_DIALECT_KVQ_IR_KVQDIALECT_H
