//===- EntryPoints.cpp - Entry points of a kvq kernel library ---*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/Transforms/EntryPoints.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassInstrumentation.h"
#include "llvm/ADT/APInt.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::kvq;

//===----------------------------------------------------------------------===//
// Signatures
//===----------------------------------------------------------------------===//

/// The ABI element type of `type`, if it has one.
std::optional<DTypeInfo> mlir::kvq::getABIDType(Type type) {
  if (type.isF32())
    return DTypeInfo{1, "f32", "float", 4};
  if (type.isF16())
    return DTypeInfo{2, "f16", "_Float16", 2};
  if (type.isBF16())
    return DTypeInfo{3, "bf16", "__bf16", 2};
  if (type.isF64())
    return DTypeInfo{4, "f64", "double", 8};
  // `index` is 64 bits wide in the lowered code.
  if (type.isIndex())
    return DTypeInfo{8, "i64", "int64_t", 8};
  // FP8 values are lowered to their bit patterns.
  if (isa<Float8E4M3FNType>(type))
    return DTypeInfo{12, "f8E4M3FN", "uint8_t", 1};
  if (isa<Float8E5M2Type>(type))
    return DTypeInfo{13, "f8E5M2", "uint8_t", 1};
  auto intType = dyn_cast<IntegerType>(type);
  if (!intType || !intType.isSignless())
    return std::nullopt;
  switch (intType.getWidth()) {
  case 1:
    return DTypeInfo{9, "i1", "_Bool", 1};
  case 2:
    return DTypeInfo{11, "i2", "uint8_t", 1, 2};
  case 4:
    return DTypeInfo{10, "i4", "uint8_t", 1, 4};
  case 8:
    return DTypeInfo{5, "i8", "int8_t", 1};
  case 16:
    return DTypeInfo{6, "i16", "int16_t", 2};
  case 32:
    return DTypeInfo{7, "i32", "int32_t", 4};
  case 64:
    return DTypeInfo{8, "i64", "int64_t", 8};
  default:
    return std::nullopt;
  }
}

/// When the static dims of `type` (a ranked tensor or memref; dynamic dims
/// count as 1) hold more bytes than int64_t can count, that byte count in
/// decimal; otherwise nothing. Sub-byte elements are counted packed.
std::optional<std::string> mlir::kvq::getOverflowingByteSize(Type type) {
  auto shaped = dyn_cast<ShapedType>(type);
  if (!shaped || !shaped.hasRank() || !shaped.getElementType().isIntOrFloat())
    return std::nullopt;
  unsigned bits = shaped.getElementType().getIntOrFloatBitWidth();
  // Exact: up to 2^64 per dim, times the rank, fits easily.
  APInt count(64, 1);
  unsigned width = 64;
  for (int64_t dim : shaped.getShape()) {
    if (ShapedType::isDynamic(dim) || dim <= 1)
      continue;
    width += 64;
    count = count.zext(width) * APInt(width, dim);
  }
  APInt total = count.zext(width + 8) * APInt(width + 8, bits);
  APInt bytes =
      total.udiv(APInt(width + 8, 8)) + APInt(width + 8, total.urem(8) != 0);
  if (bytes.getActiveBits() < 64)
    return std::nullopt;
  return llvm::toString(bytes, 10, /*Signed=*/false);
}

/// The ABI signature of one argument or result of `fn`, or a diagnostic.
FailureOr<BufferSignature> mlir::kvq::getBufferSignature(func::FuncOp fn,
                                                         Type type,
                                                         StringRef what,
                                                         bool isResult) {
  auto fail = [&](const Twine &why) -> FailureOr<BufferSignature> {
    fn.emitError() << "cannot export '@" << fn.getSymName() << "': " << what
                   << " of type " << type << " " << why;
    return failure();
  };
  BufferSignature sig;
  Type elementType = type;
  if (auto shaped = dyn_cast<ShapedType>(type)) {
    if (!isa<RankedTensorType, MemRefType>(type))
      return fail("is not a ranked tensor or memref");
    if (auto memref = dyn_cast<MemRefType>(type)) {
      if (!memref.getLayout().isIdentity())
        return fail("has a non-identity layout (the ABI passes dense "
                    "row-major buffers)");
      if (memref.getMemorySpace())
        return fail("has a memory space");
    } else if (cast<RankedTensorType>(type).getEncoding()) {
      return fail("has an encoding");
    }
    elementType = shaped.getElementType();
    for (int64_t dim : shaped.getShape())
      sig.shape.push_back(ShapedType::isDynamic(dim) ? -1 : dim);
  } else if (isResult) {
    return fail("is not a tensor or memref (results are returned in "
                "caller-allocated buffers)");
  } else {
    sig.isScalar = true;
  }

  std::optional<DTypeInfo> dtype = getABIDType(elementType);
  if (!dtype)
    return fail("has an element type that the kvq ABI does not support");
  if (sig.isScalar && elementType.isInteger(1))
    return fail("is an i1 scalar; pass a rank-0 tensor<i1> instead");
  if (dtype->packedBits && sig.shape.empty())
    return fail("holds sub-byte codes without a last dim to pack them along");
  if (std::optional<std::string> size = getOverflowingByteSize(type))
    return fail("is too large: its static dims alone hold " + *size +
                " bytes, more than an int64_t byte size can count");
  sig.dtype = *dtype;
  sig.elementType = elementType;
  return sig;
}

//===----------------------------------------------------------------------===//
// Reading the entry points
//===----------------------------------------------------------------------===//

FailureOr<std::vector<EntryPoint>> mlir::kvq::getEntryPoints(ModuleOp module) {
  std::vector<EntryPoint> entries;
  for (auto fn : module.getOps<func::FuncOp>()) {
    auto attr = fn->getAttrOfType<DictionaryAttr>(kEntryPointAttrName);
    if (!attr)
      continue;
    auto name = attr.getAs<StringAttr>("name");
    auto symbol = attr.getAs<StringAttr>("symbol");
    if (!name || !symbol)
      return fn.emitError() << "'" << kEntryPointAttrName
                            << "' needs the string entries 'name' and "
                               "'symbol', got "
                            << attr;
    EntryPoint entry;
    entry.mlirName = name.str();
    entry.name = symbol.str();
    entry.kernelSymbol = fn.getSymName().str();
    if (auto shapeFn = attr.getAs<FlatSymbolRefAttr>("shape_function"))
      entry.shapeFnSymbol = shapeFn.getValue().str();
    if (auto checks = attr.getAs<IntegerAttr>("shape_checks"))
      entry.numShapeChecks = checks.getInt();
    if (auto shapes = attr.getAs<StringAttr>("output_shapes_symbol"))
      entry.shapesSymbol = shapes.str();
    for (Type type : fn.getArgumentTypes()) {
      FailureOr<BufferSignature> sig = getBufferSignature(
          fn, type, "input " + std::to_string(entry.inputs.size()), false);
      if (failed(sig))
        return failure();
      entry.inputs.push_back(*sig);
    }
    for (Type type : fn.getResultTypes()) {
      FailureOr<BufferSignature> sig = getBufferSignature(
          fn, type, "result " + std::to_string(entry.outputs.size()), true);
      if (failed(sig))
        return failure();
      entry.outputs.push_back(*sig);
      entry.numDynamicOutputDims += llvm::count(sig->shape, -1);
    }
    entries.push_back(std::move(entry));
  }
  if (entries.empty())
    return module.emitError()
           << "no function is marked '" << kEntryPointAttrName
           << "' (kvq-wrap-entry-points marks the functions to export)";
  return entries;
}

//===----------------------------------------------------------------------===//
// Checking the lowered kernels
//===----------------------------------------------------------------------===//

namespace {
/// Records the kernels' signatures right before convert-func-to-llvm.
class RecordSignatures : public PassInstrumentation {
public:
  RecordSignatures(std::shared_ptr<llvm::StringMap<FunctionType>> types,
                   SmallVector<std::string> kernels)
      : types(std::move(types)), kernels(std::move(kernels)) {}

  void runBeforePass(Pass *pass, Operation *op) override {
    auto module = dyn_cast<ModuleOp>(op);
    if (!module || pass->getArgument() != "convert-func-to-llvm")
      return;
    for (const std::string &kernel : kernels)
      if (auto fn = module.lookupSymbol<func::FuncOp>(kernel))
        (*types)[kernel] = fn.getFunctionType();
  }

private:
  std::shared_ptr<llvm::StringMap<FunctionType>> types;
  SmallVector<std::string> kernels;
};
} // namespace

void KernelSignatureRecorder::attach(PassManager &pm,
                                     ArrayRef<EntryPoint> entries) {
  SmallVector<std::string> kernels;
  for (const EntryPoint &entry : entries)
    kernels.push_back(entry.kernelSymbol);
  pm.addInstrumentation(
      std::make_unique<RecordSignatures>(types, std::move(kernels)));
}

/// The memref type through which the wrapper passes a buffer of `sig`.
static std::string expectedArgument(const BufferSignature &sig) {
  std::string text;
  llvm::raw_string_ostream os(text);
  if (sig.isScalar) {
    os << sig.elementType;
    return text;
  }
  os << "memref<";
  for (auto [d, dim] : llvm::enumerate(sig.shape)) {
    bool packedDim = sig.dtype.packedBits && d + 1 == sig.shape.size();
    if (dim < 0)
      os << "?";
    else if (packedDim)
      os << llvm::divideCeil(dim * sig.dtype.packedBits, 8);
    else
      os << dim;
    os << "x";
  }
  if (sig.dtype.packedBits)
    os << "i8";
  else
    os << sig.elementType;
  os << ">";
  return text;
}

/// Whether the kernel argument `type` takes a buffer of `sig` as the
/// wrapper passes it.
static bool isPassedAs(const BufferSignature &sig, Type type) {
  if (sig.isScalar)
    return type == sig.elementType;
  auto memref = dyn_cast<MemRefType>(type);
  if (!memref || !memref.getLayout().isIdentity() ||
      memref.getRank() != static_cast<int64_t>(sig.shape.size()))
    return false;
  if (sig.dtype.packedBits ? !memref.getElementType().isInteger(8)
                           : memref.getElementType() != sig.elementType)
    return false;
  for (auto [d, dim] : llvm::enumerate(sig.shape)) {
    int64_t expected = dim;
    if (dim >= 0 && sig.dtype.packedBits && d + 1 == sig.shape.size())
      expected = llvm::divideCeil(dim * sig.dtype.packedBits, 8);
    // A dynamic dim reads the size the wrapper passes; a static one must
    // be the signature's.
    if (!memref.isDynamicDim(d) && memref.getDimSize(d) != expected)
      return false;
  }
  return true;
}

LogicalResult
KernelSignatureRecorder::verify(ModuleOp module,
                                ArrayRef<EntryPoint> entries) const {
  for (const EntryPoint &entry : entries) {
    for (const std::string &symbol :
         {entry.kernelSymbol, entry.shapeFnSymbol}) {
      if (symbol.empty())
        continue;
      std::string cInterface = "_mlir_ciface_" + symbol;
      auto fn = module.lookupSymbol<LLVM::LLVMFuncOp>(cInterface);
      if (!fn || fn.isExternal())
        return module.emitError()
               << "internal error: the lowered module has no C interface '"
               << cInterface << "' for entry point '" << entry.name << "'";
    }

    // Diagnostics point at the function the kernel comes from.
    Operation *kernel = module.lookupSymbol(entry.kernelSymbol);
    if (!kernel)
      kernel = module;
    auto recorded = types->find(entry.kernelSymbol);
    if (recorded == types->end())
      return kernel->emitError()
             << "internal error: the signature of the kernel of '" << entry.name
             << "' was not seen before convert-func-to-llvm";
    FunctionType type = recorded->second;
    SmallVector<const BufferSignature *> buffers;
    for (const BufferSignature &sig : entry.inputs)
      buffers.push_back(&sig);
    for (const BufferSignature &sig : entry.outputs)
      buffers.push_back(&sig);
    if (type.getNumResults() != 0 || type.getNumInputs() != buffers.size())
      return kernel->emitError()
             << "the lowered kernel of '" << entry.name << "' has type " << type
             << "; the kvq ABI needs " << entry.inputs.size()
             << " inputs followed by " << entry.outputs.size()
             << " out-parameters and no results";
    for (auto [i, sig] : llvm::enumerate(buffers)) {
      if (isPassedAs(*sig, type.getInput(i)))
        continue;
      bool isOutput = i >= entry.inputs.size();
      InFlightDiagnostic diag =
          kernel->emitError()
          << "the lowered kernel of '" << entry.name << "' takes "
          << (isOutput ? "output " : "input ")
          << (isOutput ? i - entry.inputs.size() : i) << " as "
          << type.getInput(i) << ", but the kvq ABI passes it as "
          << expectedArgument(*sig);
      if (sig->dtype.packedBits)
        diag << " (" << sig->dtype.name
             << " codes packed into bytes along the last dim; no pass of "
                "this pipeline packs them)";
      return diag;
    }
  }
  return success();
}

bool mlir::kvq::needsMemrefCopy(ModuleOp module) {
  return static_cast<bool>(module.lookupSymbol("memrefCopy"));
}

bool mlir::kvq::usesOpenMP(ModuleOp module) {
  return module
      .walk([](Operation *op) {
        return op->getDialect() && op->getDialect()->getNamespace() == "omp"
                   ? WalkResult::interrupt()
                   : WalkResult::advance();
      })
      .wasInterrupted();
}
