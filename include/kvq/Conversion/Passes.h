//===- Passes.h - kvq conversion passes -------------------------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// Passes that turn kvq ops into target code: kvq-gpu-attention
// (kvq.attention to NVIDIA GPU kernels, lib/Conversion/KVQToGPU).
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_CONVERSION_PASSES_H
#define KVQ_CONVERSION_PASSES_H

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
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
namespace kvq {

#define GEN_PASS_DECL
#include "kvq/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kvq/Conversion/Passes.h.inc"

} // namespace kvq
} // namespace mlir

#endif // KVQ_CONVERSION_PASSES_H
