//===- HostCodegen.cpp - LLVM optimization and codegen for the host -------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "HostCodegen.h"

#include "kvq/Dialect/KVQ/Utils/ClosestName.h"

#include "llvm/Analysis/TargetTransformInfo.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Passes/StandardInstrumentations.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/TargetParser/Triple.h"

using namespace llvm;

/// "; did you mean 'x'?" for the name of `names` closest to `name`, or "".
static std::string suggest(StringRef name, ArrayRef<StringRef> names) {
  StringRef best = mlir::kvq::getClosestName(name, names);
  return best.empty() ? "" : ("; did you mean '" + best + "'?").str();
}

void mlir::kvq::printHostTargetHelp(raw_ostream &os, bool features) {
  InitializeNativeTarget();
  Triple triple(sys::getProcessTriple());
  std::string error;
  const Target *target = TargetRegistry::lookupTarget(triple, error);
  if (!target) {
    os << "no LLVM target for the host triple '" << triple.str() << "'\n";
    return;
  }
  std::unique_ptr<MCSubtargetInfo> info(
      target->createMCSubtargetInfo(triple, "", ""));
  if (!features) {
    os << "CPUs for " << triple.str() << " (--mcpu=<name>; the host is "
       << sys::getHostCPUName() << "):\n";
    for (const SubtargetSubTypeKV &kv : info->getAllProcessorDescriptions())
      os << "  " << kv.Key << "\n";
    return;
  }
  os << "CPU features for " << triple.str()
     << " (--mattr=+<name>,-<name>,...):\n";
  for (const SubtargetFeatureKV &kv : info->getAllProcessorFeatures())
    os << "  " << kv.Key << " - " << kv.Desc << "\n";
}

Expected<std::unique_ptr<TargetMachine>>
mlir::kvq::createHostTargetMachine(unsigned optLevel, StringRef cpu,
                                   StringRef features) {
  InitializeNativeTarget();
  InitializeNativeTargetAsmPrinter();

  Triple triple(sys::getProcessTriple());
  std::string error;
  const Target *target = TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return createStringError(inconvertibleErrorCode(),
                             "no LLVM target for the host triple '" +
                                 triple.str() + "': " + error);

  // A CPU or feature LLVM does not know is an error (LLVM itself would only
  // warn, and compile for a generic CPU).
  if (!cpu.empty() || !features.empty()) {
    std::unique_ptr<MCSubtargetInfo> info(
        target->createMCSubtargetInfo(triple, "", ""));
    if (info && !cpu.empty() && !info->isCPUStringValid(cpu)) {
      SmallVector<StringRef> names;
      for (const SubtargetSubTypeKV &kv : info->getAllProcessorDescriptions())
        names.push_back(kv.Key);
      return createStringError(inconvertibleErrorCode(),
                               "unknown CPU '" + cpu + "' for " + triple.str() +
                                   suggest(cpu, names) +
                                   " (--mcpu=help lists the CPUs)");
    }
    if (info && !features.empty()) {
      SmallVector<StringRef> names;
      for (const SubtargetFeatureKV &kv : info->getAllProcessorFeatures())
        names.push_back(kv.Key);
      SmallVector<StringRef> requested;
      features.split(requested, ',', -1, /*KeepEmpty=*/false);
      for (StringRef feature : requested) {
        StringRef name = feature.trim();
        if (!name.consume_front("+") && !name.consume_front("-"))
          return createStringError(
              inconvertibleErrorCode(),
              "CPU feature '" + feature +
                  "' must start with '+' (enable) or '-' (disable)");
        if (!llvm::is_contained(names, name))
          return createStringError(inconvertibleErrorCode(),
                                   "unknown CPU feature '" + name + "' for " +
                                       triple.str() + suggest(name, names) +
                                       " (--mattr=help lists the features)");
      }
    }
  }

  std::string cpuName = cpu.empty() ? sys::getHostCPUName().str() : cpu.str();
  std::string featureString = features.str();
  // The host's features for the host CPU; a CPU given by name brings its
  // own (--mcpu=x86-64-v3 is AVX2 even on an AVX-512 host).
  if (features.empty() && cpu.empty()) {
    SubtargetFeatures hostFeatures;
    for (const auto &feature : sys::getHostCPUFeatures())
      hostFeatures.AddFeature(feature.first(), feature.second);
    featureString = hostFeatures.getString();
  }

  CodeGenOptLevel level = CodeGenOptLevel::Default;
  if (std::optional<CodeGenOptLevel> parsed = CodeGenOpt::getLevel(optLevel))
    level = *parsed;
  // Constructors (the GPU module loaders that gpu-module-to-binary emits
  // as llvm.global_ctors) go to .init_array, which the dynamic loader
  // runs; with the default options they land in .ctors, which lld links
  // unchanged and nothing runs.
  TargetOptions options;
  options.UseInitArray = true;
  std::unique_ptr<TargetMachine> tm(
      target->createTargetMachine(triple, cpuName, featureString, options,
                                  Reloc::PIC_, std::nullopt, level));
  if (!tm)
    return createStringError(inconvertibleErrorCode(),
                             "cannot create a target machine for '" +
                                 triple.str() + "' (" + cpuName + ")");
  return tm;
}

bool mlir::kvq::hasTargetFeature(TargetMachine &tm, StringRef feature) {
  // The CPU's own features and the explicit ones together.
  return tm.getMCSubtargetInfo()->checkFeatures(("+" + feature).str());
}

mlir::kvq::VectorRegisterFile
mlir::kvq::getVectorRegisterFile(TargetMachine &tm) {
  if (tm.getTargetTriple().isX86()) {
    // LLVM's cost model answers 256 bits for AVX-512 CPUs whose tuning
    // prefers 256-bit vectors; the kernels ask for 512 (see
    // getDefaultVectorWidth), so the features decide.
    if (hasTargetFeature(tm, "avx512f"))
      return {32, 512};
    return {16, hasTargetFeature(tm, "avx") ? 256 : 128};
  }
  LLVMContext context;
  Module probe("kvq-register-file", context);
  Function *function =
      Function::Create(FunctionType::get(Type::getVoidTy(context), false),
                       GlobalValue::ExternalLinkage, "probe", probe);
  TargetTransformInfo tti = tm.getTargetTransformInfo(*function);
  int64_t registers =
      tti.getNumberOfRegisters(tti.getRegisterClassForType(/*Vector=*/true));
  int64_t bits =
      tti.getRegisterBitWidth(TargetTransformInfo::RGK_FixedWidthVector)
          .getFixedValue();
  // No vector unit: describe scalar registers as the narrowest vectors.
  return {std::max<int64_t>(registers, 8), std::max<int64_t>(bits, 128)};
}

unsigned mlir::kvq::getDefaultVectorWidth(TargetMachine &tm) {
  return hasTargetFeature(tm, "avx512f") ? 512 : 0;
}

void mlir::kvq::optimizeModule(Module &module, TargetMachine &tm,
                               unsigned optLevel, unsigned vectorWidth) {
  module.setTargetTriple(tm.getTargetTriple());
  module.setDataLayout(tm.createDataLayout());
  for (GlobalValue &value : module.global_values())
    if (!value.isDeclaration() && !value.hasLocalLinkage())
      value.setVisibility(GlobalValue::HiddenVisibility);
  if (vectorWidth) {
    // What clang's -mprefer-vector-width does, plus the legal width that
    // lets the backend keep explicit wide vectors whole.
    std::string width = std::to_string(vectorWidth);
    for (Function &function : module)
      if (!function.isDeclaration()) {
        function.addFnAttr("prefer-vector-width", width);
        function.addFnAttr("min-legal-vector-width", width);
      }
  }

  LoopAnalysisManager lam;
  FunctionAnalysisManager fam;
  CGSCCAnalysisManager cgam;
  ModuleAnalysisManager mam;
  PipelineTuningOptions tuning;
  tuning.LoopVectorization = optLevel > 1;
  tuning.SLPVectorization = optLevel > 1;
  // LLVM's -time-passes (and -print-after-all, ...) see this pipeline too.
  PassInstrumentationCallbacks instrumentation;
  StandardInstrumentations standard(module.getContext(),
                                    /*DebugLogging=*/false);
  standard.registerCallbacks(instrumentation, &mam);
  PassBuilder builder(&tm, tuning, std::nullopt, &instrumentation);
  builder.registerModuleAnalyses(mam);
  builder.registerCGSCCAnalyses(cgam);
  builder.registerFunctionAnalyses(fam);
  builder.registerLoopAnalyses(lam);
  builder.crossRegisterProxies(lam, fam, cgam, mam);

  static const OptimizationLevel levels[] = {
      OptimizationLevel::O0, OptimizationLevel::O1, OptimizationLevel::O2,
      OptimizationLevel::O3};
  OptimizationLevel level = levels[std::min(optLevel, 3u)];
  ModulePassManager mpm = level == OptimizationLevel::O0
                              ? builder.buildO0DefaultPipeline(level)
                              : builder.buildPerModuleDefaultPipeline(level);
  mpm.run(module, mam);
}

Error mlir::kvq::emitObjectFile(Module &module, TargetMachine &tm,
                                raw_pwrite_stream &os) {
  legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, CodeGenFileType::ObjectFile))
    return createStringError(inconvertibleErrorCode(),
                             "the target cannot emit object files");
  pm.run(module);
  return Error::success();
}
