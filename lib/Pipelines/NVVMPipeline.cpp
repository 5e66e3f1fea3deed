//===- NVVMPipeline.cpp - kvq lowering pipeline for NVIDIA GPUs -*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// Tensors in; LLVM dialect host code with an embedded GPU binary out. The
// kvq-specific part (fusion, kernels, buffers as out-parameters) runs
// first; the rest follows upstream's gpu-lower-to-nvvm-pipeline
// (outlining, nvgpu / gpu -> NVVM, gpu-module-to-binary, host gpu -> LLVM
// calls of the mgpu* runtime), with dynamic shared memory declared
// `.extern` before the GPU modules are serialized. The emulation pipeline
// is the same up to the serialization, where kvq-emulate-gpu-kernels makes
// the NVVM kernels host code for the GPU emulator runtime instead.
//
//===----------------------------------------------------------------------===//

#include "kvq/Pipelines/Pipelines.h"

#include "PipelineStages.h"

#include "kvq/Conversion/Passes.h"
#include "kvq/Dialect/KVQ/Transforms/AttentionSchedule.h"
#include "kvq/Dialect/KVQ/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/Transforms/OptimizeForNVVM.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::kvq;

/// Tensors to buffers and host code around gpu.launch ops: the kernels'
/// bodies are still scf / gpu / nvgpu.
static void addGPUFront(OpPassManager &pm,
                        const KVQNVVMPipelineOptions &options) {
  // Tensor level, as on the CPU, then the GPU kernels.
  addTensorFrontEnd(pm);
  pm.addPass(createKVQAttentionSchedulePass(ScheduleTarget::GPU,
                                            options.getScheduleOverrides()));
  KVQGPUAttentionOptions kernelOptions;
  kernelOptions.chip = options.chip;
  kernelOptions.kernel = options.kernel;
  pm.addPass(createKVQGPUAttention(kernelOptions));
  pm.addPass(createCanonicalizerPass());
  // What the attention kernels did not absorb (prefill-side method ops,
  // linalg around them) becomes linalg, as on the CPU.
  addMethodLowerings(pm);

  // Buffers: the output allocation becomes the caller's out-parameter, so
  // kernels write the caller's device buffer; nothing is copied on the host.
  addBufferization(pm);
  // The remaining loops become plain element-wise kernels, their buffers
  // device allocations (kvq-gpu-map-loops); then every buffer a kernel
  // captures must be device memory.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createKVQEmulateNarrowTypes());
  pm.addPass(createKVQGPUMapLoops());
  pm.addPass(createKVQCheckDeviceBuffers());
  pm.addPass(createCanonicalizerPass());
}

/// GPU and host code to the LLVM dialect: kernels outlined into gpu.modules
/// that carry the NVVM target and are lowered to NVVM, launches lowered to
/// mgpu* calls. The GPU modules are left for serialization (or emulation).
static void addNVVMLowering(OpPassManager &pm,
                            const KVQNVVMPipelineOptions &options) {
  // Constants and index arithmetic the kernels use move back into them
  // (canonicalization hoisted them out of the launches) before outlining,
  // so that the kernels see constant strides and divisors, not arguments.
  pm.addPass(createKVQGPUFoldCopyCasts());
  pm.addNestedPass<func::FuncOp>(createGpuLaunchSinkIndexComputationsPass());
  pm.addPass(createConvertNVGPUToNVVMPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertNVVMToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.features = options.features;
  target.optLevel = options.optLevel;
  pm.addPass(createGpuNVVMAttachTarget(target));
  pm.addPass(createLowerAffinePass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  // Kernels: gpu -> NVVM.
  pm.addNestedPass<gpu::GPUModuleOp>(createStripDebugInfoPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createKVQGPUKernelBounds());
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps());
  pm.addNestedPass<gpu::GPUModuleOp>(LLVM::createNVVMOptimizeForTargetPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createCanonicalizerPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createCSEPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createReconcileUnrealizedCastsPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createKVQExternDynamicSharedMemory());

  // Host: launches become mgpu* calls.
  pm.addPass(createGpuToLLVMConversionPass());
}

/// What is left of the host code after the GPU modules became binaries.
static void addHostTail(OpPassManager &pm) {
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::kvq::buildKVQNVVMPipeline(OpPassManager &pm,
                                     const KVQNVVMPipelineOptions &options) {
  addGPUFront(pm, options);
  addNVVMLowering(pm, options);
  // GPU modules become binaries (PTX / cubin).
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = options.format;
  pm.addPass(createGpuModuleToBinaryPass(binary));
  addHostTail(pm);
}

void mlir::kvq::buildKVQNVVMEmulationPipeline(
    OpPassManager &pm, const KVQNVVMPipelineOptions &options) {
  addGPUFront(pm, options);
  addNVVMLowering(pm, options);
  // The NVVM kernels become host code run by the GPU emulator runtime; the
  // host code around them is unchanged.
  pm.addPass(createKVQEmulateGPUKernels());
  addHostTail(pm);
}
