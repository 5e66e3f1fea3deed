//===- KVQInterfaces.cpp - kvq op interfaces --------------------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/IR/KVQInterfaces.h"

using namespace mlir;
using namespace mlir::kvq;

KVChunkReader::~KVChunkReader() = default;

#include "kvq/Dialect/KVQ/IR/KVQInterfaces.cpp.inc"
