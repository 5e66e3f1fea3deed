//===- embed.cpp - A compiler that embeds kvq through its C++ API ---------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// Registers the kvq dialect, its external models and its passes next to
// upstream MLIR's, then lowers an INT4-cache attention with
// mlir::kvq::buildKVQCPUPipeline and reports what came out. Built against
// the installed kvq package (find_package(KVQ)) by test/Embedding.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/IR/KVQDialect.h"
#include "kvq/InitAllKVQ.h"
#include "kvq/Pipelines/Pipelines.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

static const char *kModule = R"mlir(
func.func @decode(%q: tensor<1x8x1x64xf32>, %k: tensor<1x2x?x64xi4>,
                  %ks: tensor<1x2x?x64xf16>, %kz: tensor<1x2x?x64xf16>,
                  %v: tensor<1x2x?x64xf32>) -> tensor<1x8x1x64xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x64xf32>)
      k(%k : tensor<1x2x?x64xi4>,
        #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>,
        scale %ks : tensor<1x2x?x64xf16>, zero_point %kz : tensor<1x2x?x64xf16>)
      v(%v : tensor<1x2x?x64xf32>) -> tensor<1x8x1x64xf32>
  return %o : tensor<1x8x1x64xf32>
}
)mlir";

int main() {
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::kvq::registerAllKVQ(registry);
  mlir::MLIRContext context(registry);
  context.disableMultithreading();

  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(kModule, &context);
  if (!module)
    return 1;
  llvm::outs() << "parsed: " << module->getOperation()->getName() << "\n";

  // The pipeline, built in C++ with options...
  mlir::PassManager pm(&context);
  mlir::kvq::KVQCPUPipelineOptions options;
  options.blockKV = 32;
  options.threads = false;
  mlir::kvq::buildKVQCPUPipeline(pm, options);
  if (mlir::failed(pm.run(*module)))
    return 2;
  int llvmFuncs = 0;
  module->walk([&](mlir::LLVM::LLVMFuncOp) { ++llvmFuncs; });
  llvm::outs() << "kvq-cpu-pipeline: " << llvmFuncs << " llvm.func\n";

  // ...and by name, after registering kvq's passes and pipelines (the
  // text is the pipeline nested in the pass manager's builtin.module).
  mlir::kvq::registerAllKVQPasses();
  mlir::kvq::registerKVQPipelines();
  mlir::OwningOpRef<mlir::ModuleOp> again =
      mlir::parseSourceString<mlir::ModuleOp>(kModule, &context);
  mlir::PassManager byName(&context, mlir::ModuleOp::getOperationName());
  if (mlir::failed(mlir::parsePassPipeline(
          "kvq-fuse,kvq-tile-attention{block-kv=16}", byName, llvm::errs())) ||
      mlir::failed(byName.run(*again)))
    return 3;
  bool attentionLeft = false;
  again->walk([&](mlir::Operation *op) {
    attentionLeft |= op->getName().getStringRef() == "kvq.attention";
  });
  llvm::outs() << "kvq-tile-attention by name: "
               << (attentionLeft ? "attention left" : "attention tiled")
               << "\n";
  return 0;
}
