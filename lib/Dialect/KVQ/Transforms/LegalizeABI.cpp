//===- LegalizeABI.cpp - Pass sub-byte codes as packed bytes ----*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// Sub-byte tensors may live inside a function (they bufferize to internal
// buffers that kvq-emulate-narrow-types packs), but they cannot cross a
// function boundary: LLVM 22's narrow-type emulation does not convert
// memref<...xi4> block arguments. The kernel ABI therefore passes i4 / i2
// codes as bytes packed along the last dimension (kvq.pack's layout), and
// this pass makes every function signature say so.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Dialect/KVQ/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/MapVector.h"

namespace mlir {
namespace kvq {
#define GEN_PASS_DEF_KVQLEGALIZEABI
#include "kvq/Dialect/KVQ/Transforms/Passes.h.inc"
} // namespace kvq
} // namespace mlir

using namespace mlir;
using namespace mlir::kvq;

/// The bit width of a sub-byte code tensor's elements (4 or 2), else 0.
static unsigned getSubByteWidth(Type type) {
  auto tensorType = dyn_cast<TensorType>(type);
  if (!tensorType)
    return 0;
  Type elementType = tensorType.getElementType();
  if (elementType.isSignlessInteger(4) || elementType.isSignlessInteger(2))
    return elementType.getIntOrFloatBitWidth();
  return 0;
}

/// The packed-bytes type of the sub-byte tensor `type`, or null when its
/// last dimension is dynamic or not a multiple of the codes per byte.
static RankedTensorType getPackedType(Type type, unsigned bits) {
  auto rankedType = dyn_cast<RankedTensorType>(type);
  if (!rankedType || rankedType.getRank() == 0)
    return {};
  int64_t last = rankedType.getShape().back();
  int64_t perByte = 8 / bits;
  if (ShapedType::isDynamic(last) || last % perByte != 0)
    return {};
  SmallVector<int64_t> shape(rankedType.getShape());
  shape.back() = last / perByte;
  return RankedTensorType::get(shape, IntegerType::get(type.getContext(), 8));
}

namespace {

/// The new types of one function: the packed type at every position that
/// changes, null elsewhere.
struct PackedSignature {
  SmallVector<RankedTensorType> inputs;
  SmallVector<RankedTensorType> results;
};

struct KVQLegalizeABIPass : kvq::impl::KVQLegalizeABIBase<KVQLegalizeABIPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();

    // Collect the new signatures first so that an unpackable argument
    // leaves the whole module untouched.
    llvm::MapVector<Operation *, PackedSignature> signatures;
    bool failed = false;
    module.walk([&](func::FuncOp func) {
      if (func.isExternal())
        return;
      FunctionType type = func.getFunctionType();
      PackedSignature signature;
      bool changes = false;
      auto convert = [&](StringRef what, unsigned index,
                         Type type) -> RankedTensorType {
        unsigned bits = getSubByteWidth(type);
        if (!bits)
          return {};
        if (RankedTensorType packed = getPackedType(type, bits)) {
          changes = true;
          return packed;
        }
        func.emitError() << what << " #" << index << " of @"
                         << func.getSymName() << " has type " << type
                         << ", which the kernel ABI cannot pass as packed "
                            "bytes: its last dimension must be static and a "
                            "multiple of "
                         << 8 / bits << " (the i" << bits
                         << " codes in a byte)";
        failed = true;
        return {};
      };
      for (auto [i, input] : llvm::enumerate(type.getInputs()))
        signature.inputs.push_back(convert("argument", i, input));
      for (auto [i, result] : llvm::enumerate(type.getResults()))
        signature.results.push_back(convert("result", i, result));
      if (changes)
        signatures.insert({func, std::move(signature)});
    });
    if (failed)
      return signalPassFailure();

    OpBuilder builder(&getContext());
    // Call sites first, while the callees still have their old types.
    SymbolTableCollection symbolTables;
    module.walk([&](func::CallOp call) {
      Operation *callee =
          symbolTables.lookupNearestSymbolFrom(call, call.getCalleeAttr());
      auto it = signatures.find(callee);
      if (it == signatures.end())
        return;
      rewriteCall(builder, call, it->second);
    });
    for (auto &[func, signature] : signatures)
      rewriteFunction(builder, cast<func::FuncOp>(func), signature);

    // Splat constants of i1 / i2 / i4 (importers build masks from
    // `dense<true> : tensor<SxSxi1>`) become linalg.fill: a filled buffer,
    // where a constant would be a memref.global that narrow-type emulation
    // cannot read.
    module.walk([&](arith::ConstantOp constant) {
      auto type = dyn_cast<RankedTensorType>(constant.getType());
      auto value = dyn_cast<SplatElementsAttr>(constant.getValue());
      if (!type || !value || !type.hasStaticShape() ||
          !type.getElementType().isSignlessInteger() ||
          type.getElementType().getIntOrFloatBitWidth() >= 8)
        return;
      builder.setInsertionPoint(constant);
      Value scalar = arith::ConstantOp::create(
          builder, constant.getLoc(), value.getSplatValue<TypedAttr>());
      Value empty = tensor::EmptyOp::create(
          builder, constant.getLoc(), type.getShape(), type.getElementType());
      constant.replaceAllUsesWith(
          linalg::FillOp::create(builder, constant.getLoc(), scalar, empty)
              .getResult(0));
      constant.erase();
    });
  }

  /// Packs the sub-byte operands of `call` and unpacks its results.
  static void rewriteCall(OpBuilder &builder, func::CallOp call,
                          const PackedSignature &signature) {
    builder.setInsertionPoint(call);
    for (auto [i, packed] : llvm::enumerate(signature.inputs))
      if (packed)
        call->setOperand(i, PackOp::create(builder, call.getLoc(), packed,
                                           call->getOperand(i)));
    builder.setInsertionPointAfter(call);
    for (auto [i, packed] : llvm::enumerate(signature.results))
      if (packed)
        unpackInPlace(builder, call->getResult(i), packed);
  }

  /// Gives the function its packed signature: unpack on entry, pack before
  /// every return.
  static void rewriteFunction(OpBuilder &builder, func::FuncOp func,
                              const PackedSignature &signature) {
    Block &entry = func.front();
    builder.setInsertionPointToStart(&entry);
    for (auto [i, packed] : llvm::enumerate(signature.inputs))
      if (packed)
        unpackInPlace(builder, entry.getArgument(i), packed);
    for (Block &block : func.getBody()) {
      auto ret = dyn_cast<func::ReturnOp>(block.getTerminator());
      if (!ret)
        continue;
      builder.setInsertionPoint(ret);
      for (auto [i, packed] : llvm::enumerate(signature.results))
        if (packed)
          ret->setOperand(i, PackOp::create(builder, ret.getLoc(), packed,
                                            ret->getOperand(i)));
    }
    SmallVector<Type> inputs(func.getArgumentTypes());
    for (auto [i, packed] : llvm::enumerate(signature.inputs))
      if (packed)
        inputs[i] = packed;
    SmallVector<Type> results(func.getResultTypes());
    for (auto [i, packed] : llvm::enumerate(signature.results))
      if (packed)
        results[i] = packed;
    func.setType(builder.getFunctionType(inputs, results));
  }

  /// Retypes `value` (a block argument or call result of sub-byte codes) to
  /// `packed` and routes its uses through a `kvq.unpack` at the builder's
  /// insertion point.
  static void unpackInPlace(OpBuilder &builder, Value value,
                            RankedTensorType packed) {
    Type codesType = value.getType();
    value.setType(packed);
    auto unpack = UnpackOp::create(builder, value.getLoc(), codesType, value);
    value.replaceAllUsesExcept(unpack.getResult(), unpack);
  }
};

} // namespace
