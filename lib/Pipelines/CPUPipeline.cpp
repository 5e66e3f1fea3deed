//===- CPUPipeline.cpp - kvq lowering pipeline for CPUs ---------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// Tensors in, LLVM dialect out. The order follows upstream's own CPU
// lowerings (mlir/test/lib/Dialect/LLVM/TestLowerToLLVM.cpp): everything
// that still creates affine / arith / memref ops runs before the
// conversion that removes that dialect.
//
//===----------------------------------------------------------------------===//

#include "kvq/Pipelines/Pipelines.h"

#include "PipelineStages.h"

#include "kvq/Conversion/Passes.h"
#include "kvq/Dialect/KVQ/Transforms/AttentionSchedule.h"
#include "kvq/Dialect/KVQ/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::kvq::buildKVQCPUPipeline(OpPassManager &pm,
                                    const KVQCPUPipelineOptions &options) {
  // Tensor level; the quantization and method ops left after fusion
  // become linalg.
  addTensorFrontEnd(pm);
  // A model's layers repeat the same ops: each distinct one is lowered and
  // compiled once, and no function grows with the depth.
  if (options.outlineKernels)
    pm.addPass(createKVQOutlineKernels());
  pm.addPass(createKVQAttentionSchedulePass(ScheduleTarget::CPU,
                                            options.getScheduleOverrides()));
  KVQTileAttentionOptions tileOptions;
  tileOptions.avx512BF16 = options.avx512BF16;
  tileOptions.vectorRegisters = options.vectorRegisters;
  tileOptions.registerBits = options.registerBits;
  // AVX2 without VNNI: int8 codes in 4-bit halves, which its dot products
  // sum in i16.
  tileOptions.int8Nibbles = options.avx2 && !options.vnni;
  // Codebooks as kvq.lookup where it becomes a permute.
  tileOptions.tableLookup = options.avx512 || options.avx2;
  // Byte tables as kvq.lookup where it becomes vpermi2b.
  tileOptions.byteTables = options.avx512Vbmi;
  pm.addPass(createKVQTileAttention(tileOptions));
  addMethodLowerings(pm);

  // Buffers, results as out-parameters (the kernel ABI).
  addBufferization(pm);
  bufferization::buildBufferDeallocationPipeline(pm);

  // Loops. Narrow-type emulation needs the loads and stores that the
  // linalg lowering creates.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(createKVQEmulateNarrowTypes());
  // scf.parallel -> OpenMP. The conversion wraps each parallel body in an
  // alloca scope; canonicalization dissolves it (the bodies allocate on the
  // heap), which must happen before the nested loops turn into blocks.
  if (options.threads) {
    pm.addPass(createConvertSCFToOpenMPPass());
    pm.addPass(createCanonicalizerPass());
    KVQOpenMPScheduleOptions scheduleOptions;
    scheduleOptions.kind = options.ompSchedule;
    pm.addPass(createKVQOpenMPSchedule(scheduleOptions));
  }
  // The int8 dot products and lookups last: the intrinsic calls they may
  // become have no declared memory effects, which buffer deallocation
  // rejects and which keeps the canonicalizer from dissolving the OpenMP
  // regions' alloca scopes.
  KVQLowerDotI8Options dotOptions;
  dotOptions.vnni = options.vnni;
  dotOptions.avx2 = options.avx2;
  pm.addPass(createKVQLowerDotI8(dotOptions));
  KVQLowerLookupOptions lookupOptions;
  lookupOptions.avx512 = options.avx512;
  lookupOptions.avx2 = options.avx2;
  lookupOptions.vbmi = options.avx512Vbmi;
  pm.addPass(createKVQLowerLookup(lookupOptions));
  addHostToLLVM(pm, options.threads);
}

void mlir::kvq::addHostToLLVM(OpPassManager &pm, bool openMP) {
  pm.addNestedPass<func::FuncOp>(createConvertVectorToSCFPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  // LLVM. expand-strided-metadata creates affine.apply, hence the second
  // lower-affine; math ops without an LLVM intrinsic become libm calls.
  // x86vector ops (AVX512-BF16 dot products) become LLVM intrinsics.
  ConvertVectorToLLVMPassOptions vectorOptions;
  vectorOptions.x86Vector = true;
  pm.addPass(createConvertVectorToLLVMPass(vectorOptions));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(arith::createArithExpandOpsPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  if (openMP)
    pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}
