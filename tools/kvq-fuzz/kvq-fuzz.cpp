//===- kvq-fuzz.cpp - libFuzzer target: parse, verify, lower --------------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// kvq must not crash on any input. An input that starts with '{' is a KV
// policy (kvq-compress-kv's JSON), parsed and, if valid, applied to a
// fixed attention; anything else is MLIR text, parsed (which verifies),
// then lowered with kvq-cpu-pipeline. Diagnostics are expected and
// swallowed; crashes, sanitizer reports and hangs are findings.
// scripts/fuzz.sh builds the seed corpus from test/ and runs it.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/IR/KVQDialect.h"
#include "kvq/Dialect/KVQ/TransformOps/KVQTransformOps.h"
#include "kvq/Dialect/KVQ/Transforms/KVDecoderModels.h"
#include "kvq/Dialect/KVQ/Transforms/KVPolicy.h"
#include "kvq/Dialect/KVQ/Transforms/Passes.h"
#include "kvq/Pipelines/Pipelines.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <cstddef>
#include <cstdint>
#include <string>

using namespace mlir;

static MLIRContext *context;

/// The attention a fuzzed policy is applied to.
static const char *kPolicyTarget = R"mlir(
func.func @f(%q: tensor<1x4x3x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>)
    -> tensor<1x4x3x16xf32> {
  %o = kvq.attention q(%q : tensor<1x4x3x16xf32>) k(%k : tensor<1x2x?x16xf32>)
      v(%v : tensor<1x2x?x16xf32>) {causal} -> tensor<1x4x3x16xf32>
  return %o : tensor<1x4x3x16xf32>
}
)mlir";

extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv) {
  kvq::registerKVQPasses();
  kvq::registerKVQPipelines();
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registry.insert<kvq::KVQDialect>();
  kvq::registerKVDecoderExternalModels(registry);
  kvq::registerTransformDialectExtension(registry);
  context = new MLIRContext(registry);
  context->disableMultithreading();
  context->loadAllAvailableDialects();
  // Errors are the expected outcome for most inputs.
  context->getDiagEngine().registerHandler(
      [](Diagnostic &) { return success(); });
  return 0;
}

static void fuzzPolicy(llvm::StringRef text) {
  std::string error;
  std::optional<kvq::KVPolicy> policy =
      kvq::parseKVPolicy(text, context, error);
  if (!policy)
    return;
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(kPolicyTarget, context);
  if (!module)
    __builtin_trap(); // The fixed target must parse.
  PassManager pm(context);
  kvq::KVQCompressKVOptions options;
  options.policy = text.str();
  pm.addPass(kvq::createKVQCompressKV(options));
  (void)pm.run(*module);
}

static void fuzzModule(llvm::StringRef text) {
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, context);
  if (!module)
    return;
  PassManager pm(context);
  kvq::KVQCPUPipelineOptions options;
  options.threads = false;
  kvq::buildKVQCPUPipeline(pm, options);
  (void)pm.run(*module);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  if (text.ltrim().starts_with("{"))
    fuzzPolicy(text);
  else
    fuzzModule(text);
  return 0;
}
