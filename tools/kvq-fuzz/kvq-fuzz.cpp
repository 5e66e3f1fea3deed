//===- kvq-fuzz.cpp - libFuzzer target: parse, verify, lower --------------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// kvq must not crash on any input. An input that starts with '{' is a KV
// policy (kvq-compress-kv's JSON), parsed and, if valid, applied to a
// fixed attention; anything else is MLIR text, parsed (which verifies)
// and, if valid, run through kvq's passes: the tensor front end of the
// pipelines (inlining, raising, ABI legalization, MLA absorption,
// SageAttention expansion, fusion) and both attention lowerings (the CPU
// loop nest, and on a copy the GPU kernels) and the method lowerings to
// linalg. Diagnostics are expected and swallowed; crashes, sanitizer
// reports and hangs are findings. scripts/fuzz.sh builds the seed corpus
// from test/ and runs it.
//
// The fuzzed text is parsed in a context that knows only the dialects of
// kvq's inputs (builtin, func, arith, tensor, math, kvq): the parsers of
// other upstream dialects are LLVM's to fuzz (LLVM 22's linalg.transpose
// parser, for one, crashes on a malformed permutation). What parses is
// printed and re-read in a context with every dialect for the passes.
//
//===----------------------------------------------------------------------===//

#include "kvq/Conversion/Passes.h"
#include "kvq/Dialect/KVQ/IR/KVQDialect.h"
#include "kvq/Dialect/KVQ/Transforms/KVPolicy.h"
#include "kvq/Dialect/KVQ/Transforms/Passes.h"
#include "kvq/InitAllKVQ.h"
#include "kvq/Pipelines/Pipelines.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

#include <cstddef>
#include <cstdint>
#include <string>

using namespace mlir;

/// Parses the fuzzed text: only the dialects kvq's inputs use.
static MLIRContext *inputContext;
/// Runs the passes: every dialect, extension and kvq interface model.
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

static void swallowDiagnostics(MLIRContext *ctx) {
  ctx->disableMultithreading();
  ctx->getDiagEngine().registerHandler([](Diagnostic &) { return success(); });
}

extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv) {
  DialectRegistry inputs;
  inputs.insert<arith::ArithDialect, func::FuncDialect, math::MathDialect,
                tensor::TensorDialect, kvq::KVQDialect>();
  inputContext = new MLIRContext(inputs);
  swallowDiagnostics(inputContext);

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  kvq::registerAllKVQ(registry);
  context = new MLIRContext(registry);
  context->loadAllAvailableDialects();
  // Errors are the expected outcome for most inputs.
  swallowDiagnostics(context);
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

/// kvq's passes, as the pipelines run them, up to (not including)
/// bufferization; `gpu` picks the attention lowering.
static void addKVQPasses(PassManager &pm, bool gpu) {
  pm.addPass(createInlinerPass());
  pm.addNestedPass<func::FuncOp>(kvq::createKVQRaiseAttention());
  pm.addPass(kvq::createKVQLegalizeABI());
  pm.addPass(kvq::createKVQAbsorbLatentAttention());
  pm.addPass(kvq::createKVQExpandSageAttention());
  pm.addPass(kvq::createKVQFuse());
  pm.addPass(createCanonicalizerPass());
  if (gpu)
    pm.addPass(kvq::createKVQGPUAttention());
  else
    pm.addPass(kvq::createKVQTileAttention());
  pm.addPass(kvq::createConvertKVQToLinalg());
  pm.addPass(kvq::createKVQApproximateMath());
}

static void fuzzModule(llvm::StringRef text) {
  std::string printed;
  {
    OwningOpRef<ModuleOp> parsed =
        parseSourceString<ModuleOp>(text, inputContext);
    if (!parsed)
      return;
    llvm::raw_string_ostream os(printed);
    parsed->print(os);
  }
  for (bool gpu : {false, true}) {
    OwningOpRef<ModuleOp> module =
        parseSourceString<ModuleOp>(printed, context);
    if (!module)
      __builtin_trap(); // What kvq printed must parse again.
    PassManager pm(context);
    addKVQPasses(pm, gpu);
    (void)pm.run(*module);
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // MLIR's lexer reads the byte past the end of its buffer, which files and
  // std::string provide as a NUL; libFuzzer's data has no such byte.
  std::string copy(reinterpret_cast<const char *>(data), size);
  llvm::StringRef text(copy);
  if (text.ltrim().starts_with("{"))
    fuzzPolicy(text);
  else
    fuzzModule(text);
  return 0;
}
