//===- KVQAttrs.h - kvq attributes ------------------------------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_IR_KVQATTRS_H
#define KVQ_DIALECT_KVQ_IR_KVQATTRS_H

#include "kvq/Dialect/KVQ/IR/AttentionSchedule.h"

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"

#include "kvq/Dialect/KVQ/IR/KVQEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "kvq/Dialect/KVQ/IR/KVQAttrs.h.inc"

#endif // KVQ_DIALECT_KVQ_IR_KVQATTRS_H
