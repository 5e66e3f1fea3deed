//===- Passes.h - kvq transformation passes ---------------------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_TRANSFORMS_PASSES_H
#define KVQ_DIALECT_KVQ_TRANSFORMS_PASSES_H

#include "kvq/Dialect/KVQ/IR/KVQDialect.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace kvq {

#define GEN_PASS_DECL
#include "kvq/Dialect/KVQ/Transforms/Passes.h.inc"

/// Patterns that fold `kvq.dequantize` producers into `kvq.attention`.
void populateFuseDequantizePatterns(RewritePatternSet &patterns);

/// Patterns that keep low-rank caches low rank inside kvq.attention: a
/// reconstructed K becomes projected queries, a reconstructed V moves after
/// the attention.
void populateFuseLowRankPatterns(RewritePatternSet &patterns);

/// Patterns that expand kvq.rotate into kvq.project / kvq.reconstruct with
/// the rotation as a constant basis.
void populateExpandRotationPatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "kvq/Dialect/KVQ/Transforms/Passes.h.inc"

} // namespace kvq
} // namespace mlir

#endif // KVQ_DIALECT_KVQ_TRANSFORMS_PASSES_H
