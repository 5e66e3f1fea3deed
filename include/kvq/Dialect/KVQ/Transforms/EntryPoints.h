//===- EntryPoints.h - Entry points of a kvq kernel library -----*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// A kernel library exports every public function of a module through the C
// ABI of include/kvq/Runtime/kvq_abi.h. `kvq-wrap-entry-points` prepares
// the module for it: each exported function becomes a kernel with a C
// interface, marked `kvq.entry_point`, with a companion function that
// computes its dynamic output dims and checks its dynamic input dims. This
// file describes what the pass leaves in the IR, as the writers of the C
// header, wrapper and manifest need it (`getEntryPoints`), and checks the
// lowered kernels against it (`KernelSignatureRecorder`).
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_TRANSFORMS_ENTRYPOINTS_H
#define KVQ_DIALECT_KVQ_TRANSFORMS_ENTRYPOINTS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mlir {
namespace kvq {

/// The attribute that marks a kernel of an entry point (a dictionary; see
/// kvq-wrap-entry-points).
inline constexpr StringLiteral kEntryPointAttrName = "kvq.entry_point";
/// Prefixes of the kernels and shape functions, and the suffix of the C
/// function that returns the output shapes.
inline constexpr StringLiteral kKernelPrefix = "__kvq_kernel_";
inline constexpr StringLiteral kShapePrefix = "__kvq_shape_";
inline constexpr StringLiteral kShapesSuffix = "_output_shapes";

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

/// The ABI element type of `type`, if it has one.
std::optional<DTypeInfo> getABIDType(Type type);

/// When the static dims of `type` (a ranked tensor or memref; dynamic dims
/// count as 1) hold more bytes than int64_t can count, that byte count in
/// decimal; otherwise nothing. Sub-byte elements are counted packed.
std::optional<std::string> getOverflowingByteSize(Type type);

/// One input or output of an entry point, as the original signature has it.
struct BufferSignature {
  DTypeInfo dtype;
  Type elementType;           // in the original signature
  SmallVector<int64_t> shape; // -1 for a dynamic dim
  /// A scalar argument: passed to the kernel by value, to the entry point as
  /// a rank-0 buffer.
  bool isScalar = false;
};

/// The ABI signature of `type`, an argument (`what` = "input 0") or result
/// (`isResult`, "result 0") of `fn`; emits an error at `fn` and fails when
/// the ABI cannot express it.
FailureOr<BufferSignature> getBufferSignature(func::FuncOp fn, Type type,
                                              StringRef what, bool isResult);

/// One exported function.
struct EntryPoint {
  std::string mlirName;      // the MLIR function's name
  std::string name;          // its C symbol (Utils/CSymbols.h)
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

/// The entry points of a module that kvq-wrap-entry-points prepared, in
/// module order: every function marked `kvq.entry_point`, with the
/// signature it still has before lowering. Emits an error and fails when
/// there is none or one cannot be exported.
FailureOr<std::vector<EntryPoint>> getEntryPoints(ModuleOp module);

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

/// Whether the lowered module calls `memrefCopy`.
bool needsMemrefCopy(ModuleOp module);

/// Whether the lowered module has OpenMP (omp dialect) operations.
bool usesOpenMP(ModuleOp module);

} // namespace kvq
} // namespace mlir

#endif // KVQ_DIALECT_KVQ_TRANSFORMS_ENTRYPOINTS_H
