//===- Pipelines.cpp - Registration of the kvq pipelines --------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Pipelines/Pipelines.h"

#include "mlir/Pass/PassRegistry.h"

void mlir::kvq::registerKVQPipelines() {
  PassPipelineRegistration<KVQCPUPipelineOptions>(
      "kvq-cpu-pipeline",
      "Lower kvq / linalg on tensors to the LLVM dialect for CPUs, with "
      "results as caller-allocated out-parameters",
      buildKVQCPUPipeline);
  PassPipelineRegistration<KVQNVVMPipelineOptions>(
      "kvq-nvvm-pipeline",
      "Lower kvq attention on tensors to tensor-core kernels for NVIDIA GPUs "
      "(embedded PTX / cubin) and LLVM-dialect host code that launches them "
      "through the mgpu* runtime",
      buildKVQNVVMPipeline);
}
