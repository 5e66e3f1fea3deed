//===- OutlineKernels.cpp - One function per distinct compute op ---------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// Outlines every compute op at the top level of a function into a private
// function, sharing one function among identical ops, so that a model's
// repeated layers are lowered and compiled once and no function grows with
// the model's depth (see the pass description in Passes.td).
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/IR/KVQDialect.h"
#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Dialect/KVQ/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringMap.h"

namespace mlir {
namespace kvq {
#define GEN_PASS_DEF_KVQOUTLINEKERNELS
#include "kvq/Dialect/KVQ/Transforms/Passes.h.inc"
} // namespace kvq
} // namespace mlir

using namespace mlir;

namespace {

/// Constants with more elements than this (weights) are passed to the
/// outlined function instead of copied into it, so that layers that differ
/// only in their weights share a function.
constexpr int64_t kMaxInlinedConstantElements = 64;

bool isOnTensors(Operation *op) {
  auto isMemRef = [](Type type) { return isa<BaseMemRefType>(type); };
  return llvm::none_of(op->getOperandTypes(), isMemRef) &&
         llvm::none_of(op->getResultTypes(), isMemRef);
}

/// Tensors of i1 / i2 / i4 elements, which buffers hold packed (memref
/// narrow-type emulation), do not cross function boundaries: their
/// producers are outlined with their consumers.
bool isSubByte(Type type) {
  Type element = getElementTypeOrSelf(type);
  return isa<ShapedType>(type) && element.isIntOrFloat() &&
         element.getIntOrFloatBitWidth() < 8;
}

/// An op worth a function of its own: a linalg op on tensors (a fill is not
/// worth a call), or a kvq op on tensors without side effects.
bool isKernelRoot(Operation *op) {
  // A dynamically shaped result would be allocated inside the function,
  // which bufferization cannot turn into a caller-allocated out-parameter.
  auto isDynamic = [](Type type) {
    auto shaped = dyn_cast<ShapedType>(type);
    return !shaped || !shaped.hasStaticShape();
  };
  if (op->getNumResults() == 0 || !isOnTensors(op) ||
      llvm::any_of(op->getResultTypes(), isSubByte) ||
      llvm::any_of(op->getResultTypes(), isDynamic))
    return false;
  if (isa<linalg::FillOp>(op))
    return false;
  if (isa<linalg::LinalgDialect>(op->getDialect()))
    return isa<DestinationStyleOpInterface>(op) && isMemoryEffectFree(op);
  if (isa<kvq::KVQDialect>(op->getDialect()))
    return isMemoryEffectFree(op);
  return false;
}

/// A producer that the outlined function recomputes instead of taking its
/// result as an argument: free or cheap, and without side effects.
bool isRecomputable(Operation *op) {
  if (!isMemoryEffectFree(op) || !isOnTensors(op))
    return false;
  if (isa<linalg::FillOp>(op))
    return true;
  if (op->getNumRegions())
    return false;
  if (op->hasTrait<OpTrait::ConstantLike>()) {
    Attribute value;
    if (op->getNumResults() != 1 ||
        !matchPattern(op->getResult(0), m_Constant(&value)))
      return false;
    auto elements = dyn_cast<ElementsAttr>(value);
    if (!elements)
      return true;
    if (auto dense = dyn_cast<DenseElementsAttr>(elements);
        dense && dense.isSplat())
      return true;
    return elements.getNumElements() <= kMaxInlinedConstantElements;
  }
  if (isa<tensor::EmptyOp, tensor::CollapseShapeOp, tensor::ExpandShapeOp,
          tensor::ExtractSliceOp, tensor::CastOp, tensor::DimOp,
          affine::AffineApplyOp>(op))
    return true;
  // Scalar (index) arithmetic.
  return isa<arith::ArithDialect>(op->getDialect()) &&
         llvm::none_of(op->getResultTypes(),
                       [](Type type) { return isa<ShapedType>(type); });
}

/// A producer of a kvq.attention operand that the attention lowerings
/// decode inside their loop (kvq.dequantize, kvq.unpack, a KIVI-style
/// concat of decoded codes and a residual, ...): it stays with the
/// attention, or the cache would be decoded into memory first.
bool isAttentionInput(Operation *op) {
  return (isa<kvq::KVQDialect>(op->getDialect()) ||
          isa<tensor::ConcatOp>(op)) &&
         isOnTensors(op) && isMemoryEffectFree(op);
}

struct OutlineKernels
    : public kvq::impl::KVQOutlineKernelsBase<OutlineKernels> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<func::FuncOp> functions(module.getOps<func::FuncOp>());
    for (func::FuncOp fn : functions) {
      if (fn.isExternal() || fn->hasAttr("kvq.host"))
        continue;
      SmallVector<Operation *> roots;
      for (Block &block : fn.getBody())
        for (Operation &op : block)
          if (isKernelRoot(&op))
            roots.push_back(&op);
      // Consumers first: an attention takes the producers it decodes in
      // its loop (and the producers of packed tensors) with it, before
      // they could be outlined alone.
      for (Operation *root : llvm::reverse(roots))
        if (!erased.contains(root))
          outline(root, symbols);
    }
  }

private:
  void outline(Operation *root, SymbolTable &symbols);

  /// Outlined functions by their printed body.
  llvm::StringMap<func::FuncOp> functionsByBody;
  /// Ops outlined or cloned into a function and erased.
  DenseSet<Operation *> erased;
};

void OutlineKernels::outline(Operation *root, SymbolTable &symbols) {
  Block *block = root->getBlock();
  // The ops to clone: the root and the recomputable producers in its block,
  // in program order; every other value it uses becomes an argument.
  llvm::SetVector<Operation *> cluster;
  llvm::SetVector<Value> arguments;
  SmallVector<Value> worklist;
  auto visitOperands = [&](Operation *op) {
    for (Value operand : op->getOperands())
      worklist.push_back(operand);
    llvm::SetVector<Value> captured;
    getUsedValuesDefinedAbove(op->getRegions(), captured);
    worklist.append(captured.begin(), captured.end());
  };
  cluster.insert(root);
  visitOperands(root);
  while (!worklist.empty()) {
    Value value = worklist.pop_back_val();
    Operation *def = value.getDefiningOp();
    bool inBlock = def && def->getBlock() == block;
    if (inBlock && isRecomputable(def)) {
      if (cluster.insert(def))
        visitOperands(def);
      continue;
    }
    if (inBlock && isa<kvq::AttentionOp>(root) && isAttentionInput(def)) {
      if (cluster.insert(def))
        visitOperands(def);
      continue;
    }
    if (isSubByte(value.getType())) {
      // Computed here with its consumer, or not outlined at all.
      if (!inBlock || !isOnTensors(def) || !isMemoryEffectFree(def))
        return;
      if (cluster.insert(def))
        visitOperands(def);
      continue;
    }
  }
  SmallVector<Operation *> ops(cluster.begin(), cluster.end());
  llvm::sort(ops,
             [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  // Arguments: what the cloned ops use that none of them defines (a value
  // first seen as an argument may come from a producer that joined the
  // cluster later, for a sub-byte result of the same op), in the order the
  // ops first use them, so that identical ops get identical signatures.
  for (Operation *op : ops) {
    SmallVector<Value> used(op->getOperands());
    llvm::SetVector<Value> captured;
    getUsedValuesDefinedAbove(op->getRegions(), captured);
    used.append(captured.begin(), captured.end());
    for (Value value : used) {
      Operation *def = value.getDefiningOp();
      if (!def || !cluster.contains(def))
        arguments.insert(value);
    }
  }

  MLIRContext *ctx = root->getContext();
  OpBuilder builder(ctx);
  auto type = FunctionType::get(ctx, TypeRange(arguments.getArrayRef()),
                                root->getResultTypes());
  auto fn =
      func::FuncOp::create(builder, root->getLoc(), "__kvq_candidate", type);
  fn.setPrivate();
  Block *body = fn.addEntryBlock();
  IRMapping mapping;
  for (auto [value, argument] :
       llvm::zip_equal(arguments, body->getArguments()))
    mapping.map(value, argument);
  builder.setInsertionPointToEnd(body);
  for (Operation *op : ops)
    builder.clone(*op, mapping);
  SmallVector<Value> results;
  for (Value result : root->getResults())
    results.push_back(mapping.lookup(result));
  func::ReturnOp::create(builder, root->getLoc(), results);

  // One function per distinct body.
  std::string key;
  {
    llvm::raw_string_ostream os(key);
    fn->print(os, OpPrintingFlags().printGenericOpForm().useLocalScope());
  }
  func::FuncOp callee = functionsByBody.lookup(key);
  if (callee) {
    fn->erase();
  } else {
    std::string name = "__kvq_op_" + root->getName().getStringRef().str();
    std::replace(name.begin(), name.end(), '.', '_');
    fn.setSymName(name);
    // Compiled once, called from each layer: LLVM must not inline it back.
    fn->setAttr("passthrough",
                builder.getArrayAttr({builder.getStringAttr("noinline")}));
    symbols.insert(fn); // renames it if the name is taken
    functionsByBody[key] = fn;
    callee = fn;
    ++numFunctions;
  }
  ++numOutlined;

  builder.setInsertionPoint(root);
  auto call = func::CallOp::create(builder, root->getLoc(), callee,
                                   arguments.getArrayRef());
  root->replaceAllUsesWith(call.getResults());
  for (Operation *op : llvm::reverse(ops))
    if (op == root || isOpTriviallyDead(op)) {
      erased.insert(op);
      op->erase();
    }
}

} // namespace
