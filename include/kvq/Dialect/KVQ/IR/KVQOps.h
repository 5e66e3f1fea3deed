//===- KVQOps.h - kvq operations --------------------------------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_IR_KVQOPS_H
#define KVQ_DIALECT_KVQ_IR_KVQOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/TilingInterface.h"

#include "kvq/Dialect/KVQ/IR/KVQAttrs.h"
#include "kvq/Dialect/KVQ/IR/KVQDialect.h"
#include "kvq/Dialect/KVQ/IR/KVQInterfaces.h"
#include "kvq/Dialect/KVQ/IR/KVQTraits.h"

#define GET_OP_CLASSES
#include "kvq/Dialect/KVQ/IR/KVQOps.h.inc"

#endif // KVQ_DIALECT_KVQ_IR_KVQOPS_H
