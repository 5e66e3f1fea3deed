//===- kvq-compile.cpp - kvq module to loadable kernel library --*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// One command from an MLIR module (kvq / linalg / tensor / arith / math /
// vector / scf) to a shared library for the host CPU, plus the C header
// and JSON manifest of its entry points:
//
//   kvq-compile in.mlir -o out/ [--name=lib] [-O3] [--emit=so] [--block-kv=64]
//
// Every public function becomes `int32_t <name>(const kvq_buffer *, int64_t,
// kvq_buffer *, int64_t)` (include/kvq/Runtime/kvq_abi.h, docs/ABI.md).
//
//===----------------------------------------------------------------------===//

#include "HostCodegen.h"
#include "KVQVersion.h"
#include "KernelABI.h"

#include "kvq/Conversion/Passes.h"
#include "kvq/Dialect/KVQ/Transforms/Passes.h"
#include "kvq/Dialect/KVQ/Utils/ClosestName.h"
#include "kvq/InitAllKVQ.h"
#include "kvq/Pipelines/Pipelines.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/AsmParser/AsmParserState.h"
#include "mlir/Bytecode/BytecodeReader.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/CrashRecoveryContext.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/PrettyStackTrace.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

using namespace mlir;
using namespace llvm;

/// The text of include/kvq/Runtime/kvq_abi.h, copied into every header.
static const char kABIHeaderText[] =
#include "KVQABIHeader.inc"
    ;

namespace {
enum class EmitKind { MLIR, LLVM, Object, Shared };
} // namespace

static cl::OptionCategory toolCategory("kvq-compile options");

static cl::opt<std::string> inputFilename(cl::Positional,
                                          cl::desc("<input .mlir>"),
                                          cl::init("-"), cl::cat(toolCategory));

static cl::opt<std::string> outputPath(
    "o",
    cl::desc("Output directory (existing, or ending in '/') or path prefix; "
             "'-' writes --emit=mlir|llvm to stdout"),
    cl::value_desc("dir/ or prefix"), cl::init("."), cl::cat(toolCategory));

static cl::opt<std::string>
    libraryNameOpt("name",
                   cl::desc("Library name (file names, header guard); "
                            "default: the prefix, or the input's stem"),
                   cl::value_desc("libname"), cl::cat(toolCategory));

static cl::opt<std::string>
    target("target",
           cl::desc("cpu (kernels for the host CPU), nvvm (NVIDIA GPU "
                    "kernels launched from host code; buffers are device "
                    "pointers; links libkvq_cuda_runtime) or nvvm-emulated "
                    "(the nvvm path with its kernels run on the host by the "
                    "GPU emulator, for testing without a GPU; host buffers; "
                    "links libkvq_gpu_emulator)"),
           cl::init("cpu"), cl::cat(toolCategory));

static cl::opt<unsigned> optLevel("O", cl::desc("LLVM optimization level"),
                                  cl::value_desc("0-3"), cl::Prefix,
                                  cl::init(3), cl::cat(toolCategory));

static cl::opt<EmitKind> emitKind(
    "emit", cl::desc("What to produce"), cl::init(EmitKind::Shared),
    cl::values(clEnumValN(EmitKind::MLIR, "mlir", "LLVM-dialect MLIR (.mlir)"),
               clEnumValN(EmitKind::LLVM, "llvm", "optimized LLVM IR (.ll)"),
               clEnumValN(EmitKind::Object, "obj",
                          "relocatable object with the entry points (.o)"),
               clEnumValN(EmitKind::Shared, "so", "shared library (.so)")),
    cl::cat(toolCategory));

static cl::opt<std::string>
    mcpu("mcpu", cl::desc("CPU to compile for (default: the host's)"),
         cl::value_desc("name"), cl::cat(toolCategory));

static cl::opt<std::string>
    mattr("mattr",
          cl::desc("CPU features, e.g. +avx2,-avx512f (default: the host's for "
                   "the host CPU, the named CPU's with --mcpu)"),
          cl::value_desc("features"), cl::cat(toolCategory));

static cl::opt<int> vectorWidth(
    "vector-bits",
    cl::desc("Preferred vector width of the generated code in bits (-1: 512 "
             "where AVX-512 is available; 0: LLVM's tuning for the CPU)"),
    cl::value_desc("bits"), cl::init(-1), cl::cat(toolCategory));

static cl::opt<std::string> kvPolicy(
    "kv-policy",
    cl::desc("Compress the K and V of every kvq.attention by this policy "
             "(JSON file, see kvq-compress-kv) before lowering"),
    cl::value_desc("policy.json"), cl::cat(toolCategory));

static cl::opt<std::string> clangPath(
    "clang",
    cl::desc("C compiler and linker driver (default: $KVQ_CLANG, else the "
             "LLVM toolchain's clang)"),
    cl::value_desc("path"), cl::cat(toolCategory));

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

static int fail(const Twine &message) {
  WithColor::error(errs(), "kvq-compile") << message << "\n";
  return 1;
}

/// Adds the names of the options of a pipeline to `names`, from their
/// printed form `{block-kv=64 block-rows=4 ...}`, which goes to `printed`.
template <typename Options>
static void addPipelineOptionNames(llvm::StringSet<> &names,
                                   std::string &printed) {
  Options options;
  raw_string_ostream os(printed);
  options.print(os);
  SmallVector<StringRef> fields;
  StringRef(printed).trim("{}").split(fields, ' ', -1, false);
  for (StringRef field : fields)
    names.insert(field.split('=').first);
}

static bool isValidLibraryName(StringRef name) {
  return !name.empty() && name.front() != '-' && name.front() != '.' &&
         all_of(name, [](char c) {
           return isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                  c == '-' || c == '.' || c == '+';
         });
}

/// Runs `args` (args[0] is the program), its output going to ours.
static LogicalResult runTool(ArrayRef<std::string> args) {
  SmallVector<StringRef> refs(args.begin(), args.end());
  std::string error;
  int rc =
      sys::ExecuteAndWait(args.front(), refs, std::nullopt, {}, 0, 0, &error);
  if (rc == 0)
    return success();
  std::string command;
  for (const std::string &arg : args)
    command += (command.empty() ? "" : " ") + arg;
  fail("'" + command + "' failed" +
       (error.empty() ? " with exit code " + Twine(rc) : ": " + error));
  return failure();
}

/// `name` itself when it is a path, else the program of that name on PATH.
static std::string resolveProgram(StringRef name) {
  if (!name.contains('/'))
    if (ErrorOr<std::string> found = sys::findProgramByName(name))
      return *found;
  return name.str();
}

static std::string findClang() {
  if (!clangPath.empty())
    return resolveProgram(clangPath);
  if (std::optional<std::string> env = sys::Process::GetEnv("KVQ_CLANG"))
    return resolveProgram(*env);
  if (sys::fs::can_execute(KVQ_DEFAULT_CLANG))
    return KVQ_DEFAULT_CLANG;
  if (ErrorOr<std::string> found = sys::findProgramByName("clang"))
    return *found;
  return KVQ_DEFAULT_CLANG;
}

static LogicalResult writeFile(StringRef path,
                               llvm::function_ref<void(raw_ostream &)> write) {
  std::string error;
  std::unique_ptr<ToolOutputFile> file = openOutputFile(path, &error);
  if (!file) {
    fail(error);
    return failure();
  }
  write(file->os());
  file->keep();
  return success();
}

/// The output files of one compile. They are written into a temporary
/// directory next to their destination and moved there only when the
/// compile succeeds, so that a failed compile leaves nothing behind: no
/// header without its library, no empty output directory.
class OutputStaging {
public:
  /// Prepares writing into `dir`, which is created (without its parents)
  /// when it does not exist yet.
  LogicalResult prepare(StringRef outputDir, StringRef asGiven) {
    dir = outputDir;
    while (dir.size() > 1 && sys::path::is_separator(dir.back()))
      dir.pop_back();
    dirExisted = sys::fs::exists(dir);
    SmallString<256> parent(dir);
    if (dirExisted) {
      if (!sys::fs::is_directory(dir)) {
        fail("cannot write to '" + asGiven + "': '" + dir +
             "' exists and is not a directory");
        return failure();
      }
    } else {
      sys::path::remove_filename(parent);
      if (parent.empty())
        parent = ".";
      if (!sys::fs::is_directory(parent)) {
        fail("cannot write to '" + asGiven + "': the directory '" + parent +
             "' does not exist (kvq-compile creates the output directory, "
             "not its parents)");
        return failure();
      }
    }
    // (createUniqueDirectory puts a relative prefix in the temporary
    // directory, not here.)
    SmallString<256> prefix(dirExisted ? dir : parent);
    sys::path::append(prefix, ".kvq-compile");
    sys::fs::make_absolute(prefix);
    if (std::error_code ec = sys::fs::createUniqueDirectory(prefix, staging)) {
      fail("cannot write to '" + asGiven + "': " + ec.message());
      staging.clear();
      return failure();
    }
    return success();
  }

  /// Where to write the output file `fileName` for now.
  std::string path(StringRef fileName) {
    if (!llvm::is_contained(files, fileName))
      files.push_back(fileName.str());
    SmallString<256> result(staging);
    sys::path::append(result, fileName);
    return std::string(result);
  }

  /// Moves the files written into place.
  LogicalResult commit() {
    // A new directory arrives whole.
    if (!dirExisted && !sys::fs::rename(staging, dir)) {
      staging.clear();
      return success();
    }
    if (std::error_code ec = sys::fs::create_directory(dir)) {
      fail("cannot create '" + dir + "': " + ec.message());
      return failure();
    }
    for (const std::string &file : files) {
      SmallString<256> from(staging), to(dir);
      sys::path::append(from, file);
      sys::path::append(to, file);
      if (std::error_code ec = sys::fs::rename(from, to)) {
        fail("cannot move '" + from + "' to '" + to + "': " + ec.message());
        return failure();
      }
    }
    return success();
  }

  ~OutputStaging() {
    if (!staging.empty())
      sys::fs::remove_directories(staging, /*IgnoreErrors=*/true);
  }

private:
  SmallString<256> dir, staging;
  bool dirExisted = false;
  std::vector<std::string> files;
};

/// Fails on the first argument of `args` that names no option: LLVM's own
/// suggestion would range over every option it registers, most of them
/// hidden ('--o=32' for '--block-k=32'); this one is taken from the
/// options kvq-compile shows and the pipelines' options.
static LogicalResult checkOptionNames(ArrayRef<char *> args,
                                      ArrayRef<StringRef> pipelineNames) {
  auto &registered = cl::getRegisteredOptions();
  SmallVector<StringRef> candidates(pipelineNames.begin(), pipelineNames.end());
  for (auto &[name, option] : registered)
    if (llvm::is_contained(option->Categories, &toolCategory) ||
        name == "help" || name == "version")
      candidates.push_back(name);
  bool valueNext = false;
  for (StringRef arg : args.drop_front()) {
    if (valueNext) {
      valueNext = false;
      continue;
    }
    if (arg == "--")
      break;
    if (!arg.starts_with("-") || arg == "-")
      continue;
    auto [nameRef, value] = arg.ltrim('-').split('=');
    StringRef name = nameRef;
    if (cl::Option *option = registered.lookup(name)) {
      valueNext = !arg.contains('=') &&
                  option->getValueExpectedFlag() == cl::ValueRequired &&
                  option->getFormattingFlag() != cl::Positional;
      continue;
    }
    // -O3: an option written with its value attached.
    if (llvm::any_of(registered, [&](const auto &entry) {
          return entry.second->getFormattingFlag() == cl::Prefix &&
                 !entry.first.empty() && name.starts_with(entry.first);
        }))
      continue;
    std::string message = "unknown option '" + arg.str() + "'";
    if (StringRef best = kvq::getClosestName(name, candidates); !best.empty())
      message += "; did you mean '--" + best.str() +
                 (arg.contains('=') ? "=" + value.str() : "") + "'?";
    fail(message + " (kvq-compile --help lists the options)");
    return failure();
  }
  return success();
}

/// `<prefix>/lib` for the kvq-compile at `<prefix>/bin`: where the libraries
/// installed with it are (the CUDA runtime that GPU libraries link).
static std::string getToolLibraryDir(const char *argv0) {
  std::string executable =
      sys::fs::getMainExecutable(argv0, (void *)&getToolLibraryDir);
  SmallString<256> dir(sys::path::parent_path(executable));
  sys::path::remove_filename(dir);
  sys::path::append(dir, "lib");
  return std::string(dir);
}

/// Parses the input. For MLIR text, `argumentNames` gets the names of the
/// arguments of each top-level function as written (`%q` -> "q").
static OwningOpRef<ModuleOp>
parseInput(SourceMgr &sourceMgr, MLIRContext *context,
           llvm::StringMap<SmallVector<std::string>> &argumentNames) {
  const MemoryBuffer *buffer =
      sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
  if (isBytecode(*buffer))
    return parseSourceFile<ModuleOp>(sourceMgr, context);
  Block parsed;
  AsmParserState state;
  if (failed(parseAsmSourceFile(sourceMgr, &parsed, ParserConfig(context),
                                &state)))
    return nullptr;
  for (Operation &op : parsed.getOperations())
    op.walk([&](func::FuncOp fn) {
      const AsmParserState::BlockDefinition *entry =
          fn.getBody().empty() ? nullptr
                               : state.getBlockDef(&fn.getBody().front());
      if (!entry)
        return;
      SmallVector<std::string> &names = argumentNames[fn.getSymName()];
      for (const AsmParserState::SMDefinition &arg : entry->arguments) {
        SMRange range = arg.loc;
        names.push_back(
            StringRef(range.Start.getPointer(),
                      range.End.getPointer() - range.Start.getPointer())
                .ltrim('%')
                .str());
      }
    });
  StringRef name = buffer->getBufferIdentifier();
  return mlir::detail::constructContainerOpForParserIfNecessary<ModuleOp>(
      &parsed, context, FileLineColLoc::get(context, name, 0, 0));
}

/// A temporary file removed on destruction.
struct TempFile {
  SmallString<128> path;
  ~TempFile() {
    if (!path.empty())
      sys::fs::remove(path);
  }
  LogicalResult create(StringRef suffix) {
    if (std::error_code ec =
            sys::fs::createTemporaryFile("kvq-compile", suffix, path)) {
      fail("cannot create a temporary file: " + ec.message());
      return failure();
    }
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Command line
//===----------------------------------------------------------------------===//

namespace {
/// The options of the pipelines, and the arguments that name them.
struct PipelineArgs {
  llvm::StringSet<> cpuNames, nvvmNames;
  /// The defaults, `{block-kv=64 ...}`, for --help.
  std::string printedCPU, printedNVVM;
  /// --<name>=<value> of a pipeline option, as (<name>, <name>=<value>).
  SmallVector<std::pair<std::string, std::string>> list;
};

/// What one run of kvq-compile builds, as the command line says.
struct Job {
  bool isGPU = false;
  /// The GPU path with its kernels run by the GPU emulator: host buffers.
  bool isEmulated = false;
  kvq::KVQCPUPipelineOptions cpuOptions;
  kvq::KVQNVVMPipelineOptions nvvmOptions;
  /// The mgpu* runtime that a GPU library links (CUDA's, or the GPU
  /// emulator's), and its directory; empty: none.
  StringRef runtimeName;
  std::string runtimeDir;
  /// -o -: --emit=mlir|llvm to stdout, and no other file.
  bool toStdout = false;
  /// The files are `<outputDir>/<baseName>.<ext>`.
  SmallString<256> outputDir, baseName;
  std::string libraryName;
};
} // namespace

static LogicalResult reportError(const Twine &message) {
  fail(message);
  return failure();
}

/// Splits the command line: arguments naming a pipeline option
/// (--block-kv=64) go to `pipeline`, for the pipeline of the target; the
/// others, returned, to the command-line parser.
static SmallVector<char *> splitPipelineArgs(int argc, char **argv,
                                             PipelineArgs &pipeline) {
  addPipelineOptionNames<kvq::KVQCPUPipelineOptions>(pipeline.cpuNames,
                                                     pipeline.printedCPU);
  addPipelineOptionNames<kvq::KVQNVVMPipelineOptions>(pipeline.nvvmNames,
                                                      pipeline.printedNVVM);
  SmallVector<char *> toolArgs;
  for (int i = 0; i < argc; ++i) {
    StringRef arg(argv[i]);
    StringRef name = arg.ltrim('-').split('=').first;
    if (i > 0 && arg.starts_with("-") &&
        (pipeline.cpuNames.contains(name) ||
         pipeline.nvvmNames.contains(name))) {
      pipeline.list.emplace_back(name.str(), arg.ltrim('-').str());
      continue;
    }
    toolArgs.push_back(argv[i]);
  }
  return toolArgs;
}

/// Parses kvq-compile's own options; fails on a name that is no option.
static LogicalResult parseToolOptions(ArrayRef<char *> toolArgs,
                                      const PipelineArgs &pipeline) {
  std::string overview =
      "kvq-compile: compile a kvq / linalg module into a kernel library "
      "with a C ABI\n\n  kvq-compile in.mlir -o out/ [--name=lib] [-O3] "
      "[--emit=so|obj|llvm|mlir] [--target=cpu|nvvm|nvvm-emulated]\n\nThe "
      "options of the "
      "target's pipeline are accepted as --<name>=<value>; defaults:\n  "
      "kvq-cpu-pipeline:  " +
      pipeline.printedCPU + "\n  kvq-nvvm-pipeline: " + pipeline.printedNVVM +
      "\n";
  cl::HideUnrelatedOptions({&toolCategory, &getColorCategory()});
  SmallVector<StringRef> pipelineNames;
  for (const llvm::StringSet<> *names :
       {&pipeline.cpuNames, &pipeline.nvvmNames})
    for (const auto &name : *names)
      pipelineNames.push_back(name.getKey());
  llvm::sort(pipelineNames);
  if (failed(checkOptionNames(toolArgs, pipelineNames)))
    return failure();
  cl::ParseCommandLineOptions(toolArgs.size(), toolArgs.data(), overview);
  return success();
}

/// Checks the target and the optimization level, and parses the options of
/// the target's pipeline into `job`: each must belong to that pipeline.
static LogicalResult parseTargetOptions(const PipelineArgs &pipeline,
                                        Job &job) {
  if (target != "cpu" && target != "nvvm" && target != "nvvm-emulated")
    return reportError("unsupported target '" + target +
                       "' (supported: cpu, nvvm, nvvm-emulated)");
  job.isGPU = target == "nvvm";
  job.isEmulated = target == "nvvm-emulated";
  bool nvvmPipeline = job.isGPU || job.isEmulated;
  std::string pipelineArgs;
  for (const auto &[name, arg] : pipeline.list) {
    if (nvvmPipeline ? !pipeline.nvvmNames.contains(name)
                     : !pipeline.cpuNames.contains(name))
      return reportError(nvvmPipeline
                             ? "--" + name +
                                   " is an option of the CPU pipeline "
                                   "(kvq-cpu-pipeline), not of --target=" +
                                   target
                             : "--" + name +
                                   " is an option of the GPU pipeline "
                                   "(kvq-nvvm-pipeline): add --target=nvvm (or "
                                   "--target=nvvm-emulated)");
    pipelineArgs += (pipelineArgs.empty() ? "" : " ") + arg;
  }
  if (!pipelineArgs.empty() &&
      failed(nvvmPipeline
                 ? job.nvvmOptions.parseFromString(pipelineArgs, errs())
                 : job.cpuOptions.parseFromString(pipelineArgs, errs())))
    return reportError(
        "invalid kvq-" +
        (job.isEmulated ? std::string("nvvm") : target.getValue()) +
        "-pipeline option in '" + pipelineArgs + "'");
  return success();
}

/// The CPU pipeline's int8 dot products become AVX512-VNNI instructions
/// (or AVX2's for narrow codes), codebook lookups AVX-512 (or AVX2)
/// permutes, and bf16 prefill uses AVX512-BF16 dot products, where the
/// target CPU has them (unless --vnni / --avx2 / --avx512 / --avx512-bf16
/// say otherwise); asking for them on a CPU without is an
/// error. The register file the kernels budget their accumulators for
/// (--vector-registers, --register-bits) is the target's unless given.
/// Without a target machine (its error is reported when the code is
/// generated) there is nothing to choose.
static LogicalResult chooseCPUFeatures(Job &job, TargetMachine *tm) {
  if (job.isGPU || job.isEmulated || !tm)
    return success();
  struct {
    StringRef option, feature, name, without;
    mlir::detail::PassOptions::Option<bool> &value;
  } uses[] = {{"vnni", "avx512vnni", "AVX512-VNNI",
               "int8 dot products use AVX2 or portable vector code",
               job.cpuOptions.vnni},
              {"avx2", "avx2", "AVX2",
               "int8 dot products use portable vector code",
               job.cpuOptions.avx2},
              {"avx512", "avx512f", "AVX-512",
               "codebooks are read with AVX2 permutes or selects",
               job.cpuOptions.avx512},
              {"avx512-bf16", "avx512bf16", "AVX512-BF16",
               "bf16 prefill computes in f32", job.cpuOptions.avx512BF16},
              {"avx512-vbmi", "avx512vbmi", "AVX512-VBMI",
               "VidKV's int8 P V computes its value digits by "
               "multiply-shift division",
               job.cpuOptions.avx512Vbmi}};
  for (auto &use : uses) {
    bool has = kvq::hasTargetFeature(*tm, use.feature);
    if (!use.value.hasValue())
      use.value = has;
    else if (use.value && !has)
      return reportError("--" + use.option + " needs " + use.name +
                         ", which the target CPU '" + tm->getTargetCPU() +
                         "' lacks (without --" + use.option + ", " +
                         use.without + ")");
  }
  // On a CPU with neither VNNI nor AVX2 (as chosen above) the int8 dot
  // products are portable vector code, several times slower than the f32
  // kernels: say so when they were asked for (per-op schedules are not
  // seen here). AVX2 takes every code width (int8 codes as 4-bit halves);
  // --vnni=0 on a CPU with VNNI is a choice, not warned about.
  bool portable =
      !job.cpuOptions.avx2 && !kvq::hasTargetFeature(*tm, "avx512vnni");
  for (auto [option, value] :
       {std::pair<StringRef, mlir::detail::PassOptions::Option<int64_t> *>{
            "int8-dot", &job.cpuOptions.int8Dot},
        {"int8-pv", &job.cpuOptions.int8PV}})
    if (portable && value->hasValue() && *value != 0)
      WithColor::warning(errs(), "kvq-compile")
          << "--" << option << " without AVX512-VNNI or AVX2 (target CPU '"
          << tm->getTargetCPU()
          << "'): the int8 dot products are portable vector code, several "
             "times slower than the f32 kernels on such CPUs\n";
  // The accumulators the kernels keep in registers follow the target's
  // register file (AVX2 has half the registers of AVX-512, half as wide).
  kvq::VectorRegisterFile file = kvq::getVectorRegisterFile(*tm);
  if (!job.cpuOptions.vectorRegisters.hasValue())
    job.cpuOptions.vectorRegisters = file.registers;
  if (!job.cpuOptions.registerBits.hasValue())
    job.cpuOptions.registerBits = file.bits;
  return success();
}

/// Finds the runtime library that a GPU library links: the host side of
/// GPU kernels calls the mgpu* runtime, CUDA's or the GPU emulator's.
static LogicalResult findGPURuntime(const char *argv0, Job &job) {
  if (!(job.isGPU || job.isEmulated) || emitKind != EmitKind::Shared)
    return success();
  job.runtimeName = job.isGPU ? "kvq_cuda_runtime" : "kvq_gpu_emulator";
  // Next to kvq-compile: build/lib for build/bin, <prefix>/lib when
  // installed, kvq/_tools/lib in the Python wheel.
  job.runtimeDir = getToolLibraryDir(argv0);
  if (std::optional<std::string> env = sys::Process::GetEnv("KVQ_RUNTIME_DIR"))
    job.runtimeDir = *env;
  SmallString<256> lib(job.runtimeDir);
  sys::path::append(lib, "lib" + job.runtimeName + ".so");
  if (sys::fs::exists(lib))
    return success();
  return reportError(
      job.isGPU
          ? "--target=nvvm needs the CUDA runtime library '" + lib +
                "' (built when CMake finds the CUDA toolkit; or set "
                "KVQ_RUNTIME_DIR); --emit=obj|llvm|mlir do not"
          : "--target=nvvm-emulated needs the GPU emulator library '" + lib +
                "' (built with kvq; or set KVQ_RUNTIME_DIR); "
                "--emit=obj|llvm|mlir do not");
}

/// Decides where the files go, `dir/<name>.<ext>` or `<prefix>.<ext>`, and
/// the library's name.
static LogicalResult resolveOutputs(Job &job) {
  job.toStdout = outputPath == "-";
  if (job.toStdout && emitKind != EmitKind::MLIR && emitKind != EmitKind::LLVM)
    return reportError("-o - is only valid with --emit=mlir or --emit=llvm");
  if (!job.toStdout) {
    if (sys::fs::is_directory(outputPath) ||
        sys::path::is_separator(outputPath.getValue().back())) {
      job.outputDir = outputPath;
      job.baseName = libraryNameOpt;
      if (job.baseName.empty()) {
        StringRef stem = sys::path::stem(inputFilename);
        job.baseName = inputFilename == "-" || stem.empty() ? "kernel" : stem;
      }
    } else {
      job.outputDir = sys::path::parent_path(outputPath);
      job.baseName = sys::path::filename(outputPath);
    }
    if (job.outputDir.empty())
      job.outputDir = ".";
  }
  job.libraryName = libraryNameOpt.empty() ? job.baseName.str().str()
                                           : libraryNameOpt.getValue();
  if (job.toStdout && job.libraryName.empty())
    job.libraryName = "kernel";
  if (!isValidLibraryName(job.libraryName))
    return reportError("invalid library name '" + job.libraryName +
                       "' (letters, digits, '_', '-', '.', '+')");
  return success();
}

//===----------------------------------------------------------------------===//
// Compilation
//===----------------------------------------------------------------------===//

static DialectRegistry getRegistry() {
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  kvq::registerAllKVQ(registry);
  return registry;
}

namespace {
/// One compile of the input into files in the staging directory. `stage`
/// says what runs, for the report of a crash.
class Compilation {
public:
  /// `tm` is the target machine, or null with `tmError` saying why.
  Compilation(const Job &job, OutputStaging &staging, std::string &stage,
              TargetMachine *tm, StringRef tmError)
      : job(job), staging(staging), stage(stage), tm(tm), tmError(tmError),
        context(getRegistry()) {
    applyDefaultTimingManagerCLOptions(timing);
    rootTiming = timing.getRootScope();
    // Diagnostics are `file:line:col: error: ...`, without an IR dump.
    context.printOpOnDiagnostic(false);
  }

  LogicalResult run();

private:
  LogicalResult parse();
  LogicalResult applyKVPolicy();
  LogicalResult prepareEntryPoints();
  LogicalResult lower();
  LogicalResult writeABIFiles(StringRef cpuName);
  LogicalResult writeMLIR();
  LogicalResult generateCode(TargetMachine &tm);
  LogicalResult link(llvm::Module &llvmModule, TargetMachine &tm);

  /// Runs `pm` on the module, timed as `name`.
  LogicalResult runTimed(mlir::PassManager &pm, StringRef name) {
    TimingScope scope = rootTiming.nest(name);
    pm.enableTiming(scope);
    return pm.run(*module);
  }
  /// Fails, with an error unless one was reported already: no failure
  /// goes without one.
  LogicalResult failedSilently(const Twine &what) {
    if (numErrors == 0)
      fail(what + " failed without a diagnostic");
    return failure();
  }
  std::string outputFile(StringRef extension) {
    return staging.path((job.baseName + extension).str());
  }
  std::string libraryFileName() const {
    return job.baseName.str().str() + (emitKind == EmitKind::Shared   ? ".so"
                                       : emitKind == EmitKind::Object ? ".o"
                                       : emitKind == EmitKind::LLVM   ? ".ll"
                                                                    : ".mlir");
  }

  const Job &job;
  OutputStaging &staging;
  std::string &stage;
  TargetMachine *tm;
  std::string tmError;
  MLIRContext context;
  DefaultTimingManager timing;
  TimingScope rootTiming;
  SourceMgr sourceMgr;
  /// Counts the errors reported (the diagnostic handler registered last
  /// runs first, then passes them on to the SourceMgr handler).
  int64_t numErrors = 0;
  /// The names of the arguments of each function, as written.
  llvm::StringMap<SmallVector<std::string>> argumentNames;
  OwningOpRef<ModuleOp> module;
  std::vector<kvq::EntryPoint> entries;
  kvq::KernelSignatureRecorder signatures;
  /// The lowered module calls memrefCopy / has OpenMP regions.
  bool callsMemrefCopy = false, hasOpenMP = false;
};
} // namespace

LogicalResult Compilation::run() {
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  ScopedDiagnosticHandler errorCounter(&context, [&](Diagnostic &diag) {
    if (diag.getSeverity() == mlir::DiagnosticSeverity::Error)
      ++numErrors;
    return failure();
  });
  if (failed(parse()) || failed(applyKVPolicy()) ||
      failed(prepareEntryPoints()) || failed(lower()))
    return failure();

  stage = "generating code";
  if (!tm)
    return reportError(tmError);
  // The ABI description comes with every file output.
  if (!job.toStdout && failed(writeABIFiles(tm->getTargetCPU())))
    return failure();
  stage = "writing the output";
  if (emitKind == EmitKind::MLIR)
    return writeMLIR();
  return generateCode(*tm);
}

/// Parses and verifies the input, and records its functions' argument
/// names.
LogicalResult Compilation::parse() {
  std::string error;
  std::unique_ptr<MemoryBuffer> input = openInputFile(inputFilename, &error);
  if (!input)
    return reportError(error);
  sourceMgr.AddNewSourceBuffer(std::move(input), SMLoc());
  module = parseInput(sourceMgr, &context, argumentNames);
  if (!module)
    return failedSilently("parsing '" + inputFilename + "'");
  return success();
}

/// The KV policy names functions and layers as written: attention is
/// raised and the policy applied before inlining.
LogicalResult Compilation::applyKVPolicy() {
  if (kvPolicy.empty())
    return success();
  stage = "applying the KV policy";
  mlir::PassManager pm(&context);
  kvq::KVQCompressKVOptions policyOptions;
  policyOptions.policyFile = kvPolicy;
  // Attention written as importers write it becomes kvq.attention first,
  // so that the policy sees every layer.
  pm.addPass(kvq::createKVQRaiseAttention());
  pm.addPass(kvq::createKVQCompressKV(policyOptions));
  if (failed(runTimed(pm, "KV policy")))
    return failedSilently("applying the KV policy '" + kvPolicy + "'");
  return success();
}

/// Inlines (so that the shape functions see through calls), then prepares
/// the entry points (kvq-wrap-entry-points) and reads them back.
LogicalResult Compilation::prepareEntryPoints() {
  stage = "inlining";
  mlir::PassManager inliner(&context);
  inliner.addPass(createInlinerPass());
  if (failed(runTimed(inliner, "inlining")))
    return failedSilently("inlining");

  stage = "preparing the entry points";
  mlir::PassManager wrap(&context);
  kvq::KVQWrapEntryPointsOptions wrapOptions;
  wrapOptions.libraryName = job.libraryName;
  wrap.addPass(kvq::createKVQWrapEntryPoints(wrapOptions));
  if (failed(runTimed(wrap, "entry points")))
    return failedSilently("preparing the entry points");
  FailureOr<std::vector<kvq::EntryPoint>> found = kvq::getEntryPoints(*module);
  if (failed(found))
    return failedSilently("reading the entry points");
  entries = std::move(*found);
  for (kvq::EntryPoint &entry : entries) {
    auto names = argumentNames.find(entry.mlirName);
    if (names != argumentNames.end() &&
        names->second.size() == entry.inputs.size())
      entry.inputNames.assign(names->second.begin(), names->second.end());
  }
  return success();
}

/// Runs the target's pipeline, and checks the kernels it leaves against
/// what the entry points pass them.
LogicalResult Compilation::lower() {
  mlir::PassManager pm(&context);
  if (failed(applyPassManagerCLOptions(pm)))
    return failedSilently("applying the pass manager options");
  signatures.attach(pm, entries);
  if (job.isGPU)
    kvq::buildKVQNVVMPipeline(pm, job.nvvmOptions);
  else if (job.isEmulated)
    kvq::buildKVQNVVMEmulationPipeline(pm, job.nvvmOptions);
  else
    kvq::buildKVQCPUPipeline(pm, job.cpuOptions);
  stage = job.isEmulated ? std::string("lowering (kvq-nvvm-emulation-pipeline)")
                         : "lowering (kvq-" + target + "-pipeline)";
  if (failed(runTimed(pm, "lowering")))
    return failedSilently(stage);
  if (failed(signatures.verify(*module, entries)))
    return failedSilently("checking the kernel signatures");
  callsMemrefCopy = kvq::needsMemrefCopy(*module);
  hasOpenMP = kvq::usesOpenMP(*module);
  return success();
}

/// Writes the header, the manifest and the C wrapper of the entry points.
LogicalResult Compilation::writeABIFiles(StringRef cpuName) {
  std::string wrapperPath = outputFile(".abi.c");
  std::string headerName = job.baseName.str().str() + ".h";
  std::string libraryFile = libraryFileName();
  StringRef gpuChip =
      job.isGPU ? StringRef(job.nvvmOptions.chip.getValue()) : StringRef();
  if (failed(writeFile(outputFile(".h"), [&](raw_ostream &os) {
        kvq::emitCHeader(os, job.libraryName, kABIHeaderText, entries);
      })))
    return failure();
  if (failed(writeFile(outputFile(".json"), [&](raw_ostream &os) {
        kvq::emitManifest(os, job.libraryName, libraryFile, target, cpuName,
                          gpuChip, entries);
      })))
    return failure();
  return writeFile(wrapperPath, [&](raw_ostream &os) {
    kvq::emitCWrapper(os, headerName, entries, callsMemrefCopy,
                      job.isGPU || job.isEmulated, hasOpenMP);
  });
}

LogicalResult Compilation::writeMLIR() {
  if (job.toStdout) {
    module->print(outs());
    return success();
  }
  return writeFile(outputFile(".mlir"),
                   [&](raw_ostream &os) { module->print(os); });
}

/// Translates the lowered module to LLVM IR and optimizes it; writes it
/// (--emit=llvm), or compiles and links it.
LogicalResult Compilation::generateCode(TargetMachine &tm) {
  stage = "translating to LLVM IR";
  llvm::LLVMContext llvmContext;
  TimingScope translateTiming = rootTiming.nest("translation to LLVM IR");
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(*module, llvmContext, job.libraryName);
  translateTiming.stop();
  stage = "optimizing and generating code";
  if (!llvmModule)
    return reportError("cannot translate the lowered module to LLVM IR");
  TimingScope optimizeTiming = rootTiming.nest("LLVM optimization");
  kvq::optimizeModule(*llvmModule, tm, optLevel,
                      vectorWidth < 0 ? kvq::getDefaultVectorWidth(tm)
                                      : vectorWidth);
  optimizeTiming.stop();

  if (emitKind != EmitKind::LLVM)
    return link(*llvmModule, tm);
  if (job.toStdout) {
    llvmModule->print(outs(), nullptr);
    return success();
  }
  return writeFile(outputFile(".ll"),
                   [&](raw_ostream &os) { llvmModule->print(os, nullptr); });
}

/// Compiles the kernels and the entry points into objects, then links them
/// into one object (--emit=obj) or a shared library.
LogicalResult Compilation::link(llvm::Module &llvmModule, TargetMachine &tm) {
  TempFile kernelObject, wrapperObject;
  if (failed(kernelObject.create("o")) || failed(wrapperObject.create("o")))
    return failure();
  {
    TimingScope codegenTiming = rootTiming.nest("LLVM code generation");
    std::error_code ec;
    raw_fd_ostream os(kernelObject.path, ec, sys::fs::OF_None);
    if (ec)
      return reportError("cannot write '" + kernelObject.path +
                         "': " + ec.message());
    if (Error err = kvq::emitObjectFile(llvmModule, tm, os))
      return reportError(toString(std::move(err)));
  }
  stage = "compiling the entry points and linking";
  TimingScope linkTiming = rootTiming.nest("entry points and linking");
  std::string clang = findClang();
  if (failed(runTool({clang, "-c", "-std=c11", "-O2", "-fPIC",
                      "-fvisibility=hidden", "-Wall", "-Wextra", "-o",
                      wrapperObject.path.str().str(), outputFile(".abi.c")})))
    return failure();

  std::vector<std::string> command;
  if (emitKind == EmitKind::Object)
    command = {clang,
               "-fuse-ld=lld",
               "-r",
               "-nostdlib",
               "-o",
               outputFile(".o"),
               kernelObject.path.str().str(),
               wrapperObject.path.str().str()};
  else
    command = {clang,
               "-shared",
               "-fuse-ld=lld",
               "-Wl,-z,defs",
               "-Wl,-soname," + libraryFileName(),
               "-o",
               outputFile(".so"),
               kernelObject.path.str().str(),
               wrapperObject.path.str().str(),
               "-lm"};
  // Kernels that run on OpenMP threads (scf.parallel) call libomp; the
  // library records where LLVM's libomp lives so it loads without setup.
  if (emitKind != EmitKind::Object &&
      llvm::any_of(llvmModule.functions(), [](const llvm::Function &f) {
        return f.isDeclaration() && f.getName().starts_with("__kmpc_");
      })) {
    std::string libDir = (Twine(LLVM_LIBRARY_DIR)).str();
    command.push_back("-L" + libDir);
    command.push_back("-Wl,-rpath," + libDir);
    command.push_back("-lomp");
  }
  // compiler-rt's builtins back any soft-float helper the backend calls
  // on CPUs without a native type (e.g. __truncsfbf2 without AVX512-BF16);
  // only the helpers used are linked, statically.
  if (emitKind != EmitKind::Object) {
    SmallString<256> builtins(KVQ_CLANG_RESOURCE_LIB_DIR);
    sys::path::append(builtins, "libclang_rt.builtins-x86_64.a");
    if (sys::fs::exists(builtins))
      command.push_back(builtins.str().str());
  }
  if (!job.runtimeDir.empty()) {
    command.push_back("-L" + job.runtimeDir);
    command.push_back("-Wl,-rpath," + job.runtimeDir);
    command.push_back(("-l" + job.runtimeName).str());
  }
  return runTool(command);
}

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

int main(int argc, char **argv) {
  InitLLVM initLLVM(argc, argv);
  kvq::registerKVQVersionPrinter();
  setBugReportMsg("kvq-compile crashed: please report it with the input and "
                  "the stack dump below.\n");
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  // -mlir-timing: the time of every MLIR pass and of the LLVM stages
  // (LLVM's own -time-passes breaks those down further).
  registerDefaultTimingManagerCLOptions();

  PipelineArgs pipelineArgs;
  SmallVector<char *> toolArgs = splitPipelineArgs(argc, argv, pipelineArgs);
  if (failed(parseToolOptions(toolArgs, pipelineArgs)))
    return 1;
  if (mcpu == "help" || mattr == "help") {
    kvq::printHostTargetHelp(outs(), mattr == "help");
    return 0;
  }
  Job job;
  // One target machine for the feature choice and the code generation.
  std::string tmError;
  std::unique_ptr<TargetMachine> tm;
  if (Expected<std::unique_ptr<TargetMachine>> created =
          kvq::createHostTargetMachine(optLevel, mcpu, mattr))
    tm = std::move(*created);
  else
    tmError = toString(created.takeError());
  if (failed(parseTargetOptions(pipelineArgs, job)) ||
      failed(chooseCPUFeatures(job, tm.get())) ||
      failed(findGPURuntime(argv[0], job)))
    return 1;
  if (optLevel > 3)
    return fail("invalid optimization level -O" + Twine(optLevel) + " (0-3)");
  if (failed(resolveOutputs(job)))
    return 1;
  // Files are written into a staging directory, moved into place when the
  // compile succeeds.
  OutputStaging staging;
  if (!job.toStdout && failed(staging.prepare(job.outputDir, outputPath)))
    return 1;

  // The compile runs under crash recovery: a crash (a bug, in kvq or in
  // MLIR / LLVM) becomes an error naming the stage, after the stack trace,
  // and exit code 1. Crashes on MLIR's worker threads are not recoverable
  // and still end the process.
  std::string stage = "parsing the input";
  CrashRecoveryContext::Enable();
  CrashRecoveryContext crashRecovery;
  crashRecovery.DumpStackAndCleanupOnFailure = true;
  LogicalResult result = failure();
  if (!crashRecovery.RunSafely([&] {
        result = Compilation(job, staging, stage, tm.get(), tmError).run();
      }))
    return fail("internal error: kvq-compile crashed while " + stage +
                "; please report this with the input");
  if (failed(result) || (!job.toStdout && failed(staging.commit())))
    return 1;
  return 0;
}
