//===- kvq-opt.cpp - kvq optimizer driver -----------------------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// An mlir-opt with every upstream dialect, extension, pass and LLVM-IR
// translation registered, plus the kvq dialect, passes and pipelines.
//
//===----------------------------------------------------------------------===//

#include "kvq/InitAllKVQ.h"
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
  mlir::kvq::registerAllKVQPasses();
  mlir::kvq::registerKVQPipelines();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // GPU serialization (gpu-module-to-binary) translates to LLVM IR.
  mlir::registerAllToLLVMIRTranslations(registry);
  mlir::kvq::registerAllKVQ(registry);

  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "kvq optimizer driver\n", registry));
}
