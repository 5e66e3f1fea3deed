//===- Pipelines.cpp - Registration of the kvq pipelines --------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Pipelines/Pipelines.h"

#include "PipelineStages.h"

#include "kvq/Conversion/Passes.h"
#include "kvq/Dialect/KVQ/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

void mlir::kvq::addTensorFrontEnd(OpPassManager &pm) {
  pm.addPass(createInlinerPass());
  pm.addNestedPass<func::FuncOp>(createKVQRaiseAttention());
  pm.addPass(createKVQLegalizeABI());
  pm.addPass(createKVQAbsorbLatentAttention());
  pm.addPass(createKVQExpandSageAttention());
  pm.addPass(createKVQFuse());
  pm.addPass(createCanonicalizerPass());
}

void mlir::kvq::addMethodLowerings(OpPassManager &pm) {
  pm.addPass(createConvertKVQToLinalg());
  // Elementwise arith on tensors (e.g. GEAR's residual `x - dequantize(..)`).
  pm.addNestedPass<func::FuncOp>(createConvertElementwiseToLinalgPass());
  pm.addPass(createKVQApproximateMath());
  pm.addPass(createCanonicalizerPass());
}

void mlir::kvq::addBufferization(OpPassManager &pm) {
  bufferization::OneShotBufferizePassOptions bufferizeOptions;
  bufferizeOptions.bufferizeFunctionBoundaries = true;
  bufferizeOptions.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferizeOptions));
  bufferization::BufferResultsToOutParamsPassOptions outParamsOptions;
  outParamsOptions.hoistStaticAllocs = true;
  outParamsOptions.hoistDynamicAllocs = true;
  outParamsOptions.modifyPublicFunctions = true;
  pm.addPass(
      bufferization::createBufferResultsToOutParamsPass(outParamsOptions));
}

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
  PassPipelineRegistration<KVQNVVMPipelineOptions>(
      "kvq-nvvm-emulation-pipeline",
      "kvq-nvvm-pipeline with its NVVM kernels made host code for the GPU "
      "emulator runtime (libkvq_gpu_emulator: CTAs' threads as fibers, "
      "barriers, shuffles, tensor-core mma, cp.async, shared memory) instead "
      "of PTX: runs every kernel, attention included, with CUDA semantics on "
      "machines without a GPU; the host code is the GPU path's",
      buildKVQNVVMEmulationPipeline);
}
