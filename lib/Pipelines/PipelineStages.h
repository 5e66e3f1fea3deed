//===- PipelineStages.h - Stages shared by the kvq pipelines ----*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_LIB_PIPELINES_PIPELINESTAGES_H
#define KVQ_LIB_PIPELINES_PIPELINESTAGES_H

namespace mlir {
class OpPassManager;
namespace kvq {

/// The target-independent tensor-level front: inlining (buffer-results-to-
/// out-params cannot give a call site an out-parameter of dynamic shape),
/// raising attention written as linalg ops to kvq.attention, i4 / i2 function
/// boundaries as packed bytes (the kernel ABI), MLA absorption, fusion of
/// dequantization and low-rank reconstruction into attention, canonicalization
/// (which also moves slices of unpacked codes onto the packed bytes the
/// attention lowerings read).
void addTensorFrontEnd(OpPassManager &pm);

/// The kvq ops left after the attention lowering (quantization, low rank,
/// poly attention, leverage scores, GEAR, VidKV, PolarQuant) become linalg
/// on tensors; elementwise arith on tensors becomes linalg too.
void addMethodLowerings(OpPassManager &pm);

/// One-shot bufferization with identity-layout function boundaries;
/// results become caller-allocated out-parameters (also of public
/// functions): an allocation that becomes a result is replaced by the
/// out-parameter itself, static or dynamic, so no copy is made.
void addBufferization(OpPassManager &pm);

/// Host loops (scf, vector, memref, math; OpenMP if `openMP`) to the LLVM
/// dialect.
void addHostToLLVM(OpPassManager &pm, bool openMP);

} // namespace kvq
} // namespace mlir

#endif // KVQ_LIB_PIPELINES_PIPELINESTAGES_H
