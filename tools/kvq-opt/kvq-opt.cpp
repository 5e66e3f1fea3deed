//===- kvq-opt.cpp - kvq optimizer driver -----------------------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// An mlir-opt with every upstream dialect, extension, pass and LLVM-IR
// translation registered, plus the kvq dialect, passes and pipelines.
//
//===----------------------------------------------------------------------===//

#include "kvq/Conversion/Passes.h"
#include "kvq/Dialect/KVQ/IR/KVQDialect.h"
#include "kvq/Dialect/KVQ/TransformOps/KVQTransformOps.h"
#include "kvq/Dialect/KVQ/Transforms/KVDecoderModels.h"
#include "kvq/Dialect/KVQ/Transforms/Passes.h"
#include "kvq/Pipelines/Pipelines.h"

#include "KVQVersion.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::kvq::registerKVQVersionPrinter();
  mlir::registerAllPasses();
  mlir::kvq::registerKVQPasses();
  mlir::kvq::registerKVQConversionPasses();
  mlir::kvq::registerKVQPipelines();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // GPU serialization (gpu-module-to-binary) translates to LLVM IR.
  mlir::registerAllToLLVMIRTranslations(registry);
  registry.insert<mlir::kvq::KVQDialect>();
  mlir::kvq::registerKVDecoderExternalModels(registry);
  mlir::kvq::registerTransformDialectExtension(registry);

  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "kvq optimizer driver\n", registry));
}
