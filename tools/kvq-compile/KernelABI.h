//===- KernelABI.h - Entry points of a compiled kvq library -----*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// kvq-compile exports every public function of a module through the C ABI
// of include/kvq/Runtime/kvq_abi.h. This file records each function's
// original (tensor) signature before lowering, prepares the module for it
// (renamed kernel with a C interface, a function that computes the dynamic
// output dims from the inputs and checks that dynamic input dims agree), and
// writes the generated C header, the C wrapper that checks and unpacks
// `kvq_buffer`s, and the JSON manifest.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_TOOLS_KVQCOMPILE_KERNELABI_H
#define KVQ_TOOLS_KVQCOMPILE_KERNELABI_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <string>
#include <vector>

namespace mlir {
namespace kvq {

/// One element type of the ABI (the values of `enum kvq_dtype`).
struct DTypeInfo {
  int32_t code;      // KVQ_DTYPE_*
  const char *name;  // manifest name: "f32", "bf16", "f8E4M3FN", ...
  const char *cType; // C type of one element passed by value
  int64_t byteWidth; // bytes per element in memory (1 for packed codes)
  /// 4 or 2 for i4 / i2 codes, which buffers hold packed along the last
  /// dim (LSB first, rows padded to whole bytes); 0 otherwise.
  int64_t packedBits = 0;
};

/// One input or output of an entry point, as the original signature has it.
struct BufferSignature {
  DTypeInfo dtype;
  Type elementType;           // in the original signature
  SmallVector<int64_t> shape; // -1 for a dynamic dim
  /// A scalar argument: passed to the kernel by value, to the entry point as
  /// a rank-0 buffer.
  bool isScalar = false;
};

/// One exported function.
struct EntryPoint {
  std::string mlirName;      // the MLIR function's name
  std::string name;          // its C symbol (CSymbols.h)
  std::string kernelSymbol;  // the renamed MLIR function (C interface)
  std::string shapeFnSymbol; // the shape function (see below), or empty
  std::string shapesSymbol;  // `<name>_output_shapes`, or empty
  SmallVector<BufferSignature> inputs;
  SmallVector<BufferSignature> outputs;
  /// The inputs' names in the source (`%q` -> "q"), for the header and the
  /// manifest (Python calls take them as keywords); empty when unknown.
  SmallVector<std::string> inputNames;
  /// Number of dynamic output dims, in output order. The shape function
  /// computes them from the inputs, followed by `numShapeChecks` flags that
  /// are 1 when the dynamic input dims agree as the kernel needs (one per
  /// linalg or kvq op that constrains them).
  int64_t numDynamicOutputDims = 0;
  int64_t numShapeChecks = 0;
};

/// Records the signature of every public function of `module` and prepares
/// the module for the ABI: tensor arguments become read-only for
/// bufferization, each function is renamed to its kernel symbol and gets a
/// C interface, and, where the dynamic output dims follow from the inputs'
/// shapes alone, a companion function that computes them is added. Emits a
/// diagnostic and fails on a signature the ABI cannot express. Functions
/// whose name is no C symbol it can export get `<libraryName>_<name>`.
FailureOr<std::vector<EntryPoint>> prepareEntryPoints(ModuleOp module,
                                                      StringRef libraryName);

/// Records, while a pipeline runs, each kernel's signature as it is right
/// before `convert-func-to-llvm` (memrefs, element types still visible), to
/// check it against what the entry points will pass.
class KernelSignatureRecorder {
public:
  /// Adds the instrumentation that records the signatures to `pm`.
  void attach(PassManager &pm, ArrayRef<EntryPoint> entries);

  /// Checks that the lowered module has the C interface of every kernel and
  /// shape function that the wrapper calls, and that each kernel takes its
  /// buffers as the wrapper passes them: row-major memrefs of the recorded
  /// element type and shape (for i4 / i2, i8 bytes packed along the last
  /// dim), then one out-parameter per result, and scalars by value.
  LogicalResult verify(ModuleOp module, ArrayRef<EntryPoint> entries) const;

private:
  std::shared_ptr<llvm::StringMap<FunctionType>> types =
      std::make_shared<llvm::StringMap<FunctionType>>();
};

/// Writes `<library>.h`: the ABI definitions and one prototype per entry.
void emitCHeader(raw_ostream &os, StringRef libraryName,
                 StringRef abiHeaderText, ArrayRef<EntryPoint> entries);

/// Writes the C wrapper that implements the entry points over the kernels'
/// C interfaces; it includes `headerFileName`. With `defineMemrefCopy`, it
/// also defines `memrefCopy`, the strided copy that lowered `memref.copy`
/// calls (MLIR's C runner utilities have it too, but would pull libMLIR
/// into every process that loads a kernel).
/// With `deviceErrors` (GPU libraries), an entry point returns
/// KVQ_ERR_DEVICE when a CUDA call of the run failed. Every wrapper defines
/// kvq_set_num_threads / kvq_get_num_threads; with `openMP` (kernels with
/// OpenMP regions, linked with libomp) each call applies that thread count
/// and waits passively.
void emitCWrapper(raw_ostream &os, StringRef headerFileName,
                  ArrayRef<EntryPoint> entries, bool defineMemrefCopy,
                  bool deviceErrors = false, bool openMP = false);

/// Whether the lowered module calls `memrefCopy`.
bool needsMemrefCopy(ModuleOp module);

/// Whether the lowered module has OpenMP (omp dialect) operations.
bool usesOpenMP(ModuleOp module);

/// Writes `<library>.json`, the manifest the Python loader reads. `target`
/// is "cpu" or "nvvm" (buffers are device pointers); `gpuChip` (nvvm only)
/// the GPU architecture of the embedded binary.
void emitManifest(raw_ostream &os, StringRef libraryName,
                  StringRef libraryFileName, StringRef target,
                  StringRef targetCPU, StringRef gpuChip,
                  ArrayRef<EntryPoint> entries);

} // namespace kvq
} // namespace mlir

#endif // KVQ_TOOLS_KVQCOMPILE_KERNELABI_H
