//===- WrapEntryPoints.cpp - Prepare a module's entry points ----*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// kvq-wrap-entry-points: every public function of the module becomes a
// kernel that the C ABI of a kvq library wraps (EntryPoints.h), with a
// shape function that computes its dynamic output dims and checks its
// dynamic input dims.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/IR/KVQDialect.h"
#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Dialect/KVQ/Transforms/EntryPoints.h"
#include "kvq/Dialect/KVQ/Transforms/Passes.h"
#include "kvq/Dialect/KVQ/Utils/CSymbols.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Index/IR/IndexDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringSet.h"

namespace mlir {
namespace kvq {
#define GEN_PASS_DEF_KVQWRAPENTRYPOINTS
#include "kvq/Dialect/KVQ/Transforms/Passes.h.inc"
} // namespace kvq
} // namespace mlir

using namespace mlir;
using namespace mlir::kvq;

/// Fails with an error at the first value of `module` whose static dims
/// alone hold more bytes than int64_t can count: its allocation size, its
/// strides and the ABI's size checks would all overflow.
static LogicalResult checkStaticSizes(ModuleOp module) {
  auto check = [&](Value value, Location loc) -> LogicalResult {
    std::optional<std::string> size = getOverflowingByteSize(value.getType());
    if (!size)
      return success();
    return emitError(loc) << "the static dims of " << value.getType()
                          << " hold " << *size
                          << " bytes, more than an int64_t byte size can "
                             "count";
  };
  WalkResult result = module.walk([&](Operation *op) {
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument arg : block.getArguments())
          if (failed(check(arg, arg.getLoc())))
            return WalkResult::interrupt();
    for (Value value : op->getResults())
      if (failed(check(value, op->getLoc())))
        return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

//===----------------------------------------------------------------------===//
// Shape functions
//===----------------------------------------------------------------------===//

/// Whether `op`, in a shape function that writes its results into `slots`,
/// only computes with input shapes and scalars: the wrapper runs it before
/// the kernel, on inputs whose data it has not looked at.
static bool isShapeComputation(Operation *op, func::FuncOp fn, Value slots) {
  auto isArgument = [&](Value v) {
    auto arg = dyn_cast<BlockArgument>(v);
    return arg && arg.getOwner() == &fn.getBody().front();
  };
  if (isa<func::ReturnOp, arith::ConstantOp>(op))
    return true;
  if (auto dim = dyn_cast<tensor::DimOp>(op))
    return isArgument(dim.getSource()) && dim.getConstantIndex();
  if (auto dim = dyn_cast<memref::DimOp>(op))
    return isArgument(dim.getSource()) && dim.getConstantIndex();
  if (auto store = dyn_cast<memref::StoreOp>(op))
    return store.getMemRef() == slots;
  if (isa<affine::AffineApplyOp, affine::AffineMinOp, affine::AffineMaxOp>(op))
    return true;
  if (!isa_and_nonnull<arith::ArithDialect, index::IndexDialect>(
          op->getDialect()) ||
      !isPure(op))
    return false;
  // A division by a dim that may be zero would trap before the checks:
  // divisors are constants or `max(x, c)` of a constant c > 0.
  StringRef name = op->getName().stripDialect();
  if (!name.contains("div") && !name.contains("rem"))
    return true;
  auto isPositiveConstant = [](Value v) {
    APInt value;
    return matchPattern(v, m_ConstantInt(&value)) && value.isStrictlyPositive();
  };
  Value divisor = op->getOperand(1);
  if (isPositiveConstant(divisor))
    return true;
  Operation *def = divisor.getDefiningOp();
  return isa_and_nonnull<arith::MaxUIOp, arith::MaxSIOp>(def) &&
         llvm::any_of(def->getOperands(), isPositiveConstant);
}

static Value createDim(OpBuilder &builder, Location loc, Value value,
                       int64_t dim) {
  auto type = cast<ShapedType>(value.getType());
  if (!type.isDynamicDim(dim))
    return arith::ConstantIndexOp::create(builder, loc, type.getDimSize(dim));
  if (isa<TensorType>(type))
    return tensor::DimOp::create(builder, loc, value, dim);
  return memref::DimOp::create(builder, loc, value, dim);
}

/// One condition on the runtime dims of an op's operands that the kernel
/// relies on. `Equal`: dim `aDim` of `a` is `ceildiv(dim bDim of b,
/// divisor)`, or `constant` when `b` is null; `EqualOrOne`: the same, or 1
/// (broadcast); `Multiple`: dim `aDim` of `a` is a multiple of dim `bDim`
/// of `b`, which is not zero.
struct DimCheck {
  enum Kind { Equal, EqualOrOne, Multiple };
  Kind kind;
  Value a;
  int64_t aDim;
  Value b;
  int64_t bDim = 0;
  int64_t divisor = 1;
  int64_t constant = 0;
};
using OpConstraints = std::pair<Operation *, SmallVector<DimCheck>>;

static bool isDynamicDim(Value value, int64_t dim) {
  return cast<ShapedType>(value.getType()).isDynamicDim(dim);
}

/// Adds `check` unless both sides are static (the verifiers saw those).
static void addCheck(SmallVectorImpl<DimCheck> &checks, DimCheck check) {
  if (isDynamicDim(check.a, check.aDim) ||
      (check.b && isDynamicDim(check.b, check.bDim)))
    checks.push_back(check);
}

/// The extent of one quantization block of `scheme` along each dim of data
/// of rank `rank`: dynamic where a block spans the whole dim.
static SmallVector<int64_t> getBlockExtents(QuantSchemeAttr scheme,
                                            int64_t rank) {
  return scheme.getBlockShape(SmallVector<int64_t>(rank, ShapedType::kDynamic));
}

/// The dims of the scale / zero point of `codes` under `scheme`.
static void addQuantChecks(SmallVectorImpl<DimCheck> &checks,
                           QuantSchemeAttr scheme, Value codes,
                           ArrayRef<Value> sides) {
  if (!scheme)
    return;
  int64_t rank = cast<ShapedType>(codes.getType()).getRank();
  SmallVector<int64_t> blocks = getBlockExtents(scheme, rank);
  for (Value side : sides) {
    if (!side || cast<ShapedType>(side.getType()).getRank() != rank)
      continue;
    for (int64_t d = 0; d < rank; ++d) {
      // ceildiv(S, W) * (P / R) fragment groups: not a DimCheck form; the
      // lowering reads the scale of each token's group.
      if (scheme.getGranularity() == Granularity::Fragment && d == rank - 2)
        continue;
      if (ShapedType::isDynamic(blocks[d]))
        addCheck(checks, {DimCheck::Equal, side, d, Value(), 0, 1, 1});
      else
        addCheck(checks, {DimCheck::Equal, side, d, codes, d, blocks[d]});
    }
  }
}

/// The conditions on the dynamic operand dims of a kvq op that its
/// lowering assumes (the op verifiers check the static ones).
static SmallVector<DimCheck> getKVQChecks(Operation *op) {
  SmallVector<DimCheck> checks;
  if (auto attention = dyn_cast<AttentionOp>(op)) {
    Value q = attention.getQuery(), k = attention.getKey(),
          v = attention.getValue();
    // [B, Hq, Sq, D], [B, Hkv, Skv, D], [B, Hkv, Skv, Dv].
    addCheck(checks, {DimCheck::Equal, k, 0, q, 0});
    addCheck(checks, {DimCheck::Equal, v, 0, q, 0});
    addCheck(checks, {DimCheck::Equal, v, 1, k, 1});
    addCheck(checks, {DimCheck::Equal, v, 2, k, 2});
    addCheck(checks, {DimCheck::Equal, k, 3, q, 3});
    addCheck(checks, {DimCheck::Multiple, q, 1, k, 1});
    addQuantChecks(checks, attention.getKeySchemeAttr(), k,
                   {attention.getKeyScale(), attention.getKeyZeroPoint()});
    addQuantChecks(checks, attention.getValueSchemeAttr(), v,
                   {attention.getValueScale(), attention.getValueZeroPoint()});
    addQuantChecks(checks, attention.getQuerySchemeAttr(), q,
                   {attention.getQueryScale()});
    if (Value ds = attention.getDeltaS()) {
      // [B, Hq, ceildiv(Sq, delta_s_rows), Skv].
      addCheck(checks, {DimCheck::Equal, ds, 0, q, 0});
      addCheck(checks, {DimCheck::Equal, ds, 1, q, 1});
      addCheck(checks, {DimCheck::Equal, ds, 2, q, 2,
                        static_cast<int64_t>(*attention.getDeltaSRows())});
      addCheck(checks, {DimCheck::Equal, ds, 3, k, 2});
    }
    if (Value mask = attention.getMask()) {
      // [B or 1, Hq or 1, Sq or 1, Skv].
      addCheck(checks, {DimCheck::EqualOrOne, mask, 0, q, 0});
      addCheck(checks, {DimCheck::EqualOrOne, mask, 1, q, 1});
      addCheck(checks, {DimCheck::EqualOrOne, mask, 2, q, 2});
      addCheck(checks, {DimCheck::Equal, mask, 3, k, 2});
    }
  } else if (auto dequantize = dyn_cast<DequantizeOp>(op)) {
    addQuantChecks(checks, dequantize.getScheme(), dequantize.getCodes(),
                   {dequantize.getScale(), dequantize.getZeroPoint()});
  } else if (auto sage = dyn_cast<SageAttentionOp>(op)) {
    Value q = sage.getQuery(), k = sage.getKey(), v = sage.getValue();
    addCheck(checks, {DimCheck::Equal, k, 0, q, 0});
    addCheck(checks, {DimCheck::Equal, v, 0, q, 0});
    addCheck(checks, {DimCheck::Equal, v, 1, k, 1});
    addCheck(checks, {DimCheck::Equal, v, 2, k, 2});
    addCheck(checks, {DimCheck::Multiple, q, 1, k, 1});
  } else if (auto poly = dyn_cast<PolyAttentionOp>(op)) {
    Value q = poly.getQuery(), k = poly.getKey(), v = poly.getValue();
    addCheck(checks, {DimCheck::Equal, k, 0, q, 0});
    addCheck(checks, {DimCheck::Equal, v, 0, q, 0});
    addCheck(checks, {DimCheck::Equal, v, 1, k, 1});
    addCheck(checks, {DimCheck::Equal, v, 2, k, 2});
    addCheck(checks, {DimCheck::Multiple, q, 1, k, 1});
  } else if (isa<ProjectOp, ReconstructOp>(op)) {
    // input [B, H, S, In], basis [Hb, D, R], mean [Hb, D]: H a multiple of
    // Hb, In = D (project) or R (reconstruct).
    bool projecting = isa<ProjectOp>(op);
    Value input = op->getOperand(0), basis = op->getOperand(1);
    addCheck(checks, {DimCheck::Multiple, input, 1, basis, 0});
    addCheck(checks, {DimCheck::Equal, input, 3, basis, projecting ? 1 : 2});
    if (op->getNumOperands() > 2) {
      Value mean = op->getOperand(2);
      addCheck(checks, {DimCheck::Equal, mean, 0, basis, 0});
      addCheck(checks, {DimCheck::Equal, mean, 1, basis, 1});
    }
  }
  return checks;
}

/// The conditions on dynamic operand dims that the ops at the top level of
/// `fn` need for the kernel not to read out of bounds: for every loop of a
/// linalg op, the operand dims that the loop ranges over agree; kvq ops
/// need the operand shapes their verifiers describe. Returns each op with
/// such a condition on a dynamic dim and its conditions.
static SmallVector<OpConstraints> collectShapeConstraints(func::FuncOp fn) {
  SmallVector<OpConstraints> result;
  for (Operation &op : fn.getBody().front()) {
    if (isa_and_nonnull<KVQDialect>(op.getDialect())) {
      SmallVector<DimCheck> checks = getKVQChecks(&op);
      if (!checks.empty())
        result.push_back({&op, std::move(checks)});
      continue;
    }
    auto linalgOp = dyn_cast<linalg::LinalgOp>(&op);
    if (!linalgOp)
      continue;
    using DimGroup = SmallVector<std::pair<Value, int64_t>>;
    SmallVector<DimGroup> groups(linalgOp.getNumLoops());
    for (OpOperand &operand : op.getOpOperands()) {
      auto type = dyn_cast<ShapedType>(operand.get().getType());
      if (!type || !type.hasRank())
        continue;
      AffineMap map = linalgOp.getMatchingIndexingMap(&operand);
      for (auto [d, expr] : llvm::enumerate(map.getResults()))
        if (auto dimExpr = dyn_cast<AffineDimExpr>(expr))
          groups[dimExpr.getPosition()].push_back({operand.get(), d});
    }
    SmallVector<DimCheck> checks;
    for (DimGroup &group : groups) {
      bool dynamic = llvm::any_of(group, [](auto &entry) {
        return isDynamicDim(entry.first, entry.second);
      });
      if (group.size() < 2 || !dynamic)
        continue;
      for (auto [value, dim] : ArrayRef(group).drop_front())
        checks.push_back({DimCheck::Equal, value, static_cast<int64_t>(dim),
                          group[0].first, group[0].second});
    }
    if (!checks.empty())
      result.push_back({&op, std::move(checks)});
  }
  return result;
}

/// Builds the i1 that holds when `check` does.
static Value createCheck(OpBuilder &builder, Location loc,
                         const DimCheck &check) {
  auto constant = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(builder, loc, value);
  };
  auto equal = [&](Value lhs, Value rhs) -> Value {
    return arith::CmpIOp::create(builder, loc, arith::CmpIPredicate::eq, lhs,
                                 rhs);
  };
  Value a = createDim(builder, loc, check.a, check.aDim);
  Value b = check.b ? createDim(builder, loc, check.b, check.bDim)
                    : constant(check.constant);
  switch (check.kind) {
  case DimCheck::Multiple: {
    // `a % max(b, 1) == 0 && b != 0`: no division by zero, even before the
    // check on `b` fails.
    Value divisor = arith::MaxUIOp::create(builder, loc, b, constant(1));
    Value rem = arith::RemUIOp::create(builder, loc, a, divisor);
    Value nonZero = arith::CmpIOp::create(
        builder, loc, arith::CmpIPredicate::ne, b, constant(0));
    return arith::AndIOp::create(builder, loc, equal(rem, constant(0)),
                                 nonZero);
  }
  case DimCheck::Equal:
  case DimCheck::EqualOrOne: {
    if (check.divisor > 1)
      b = arith::CeilDivUIOp::create(builder, loc, b, constant(check.divisor));
    Value ok = equal(a, b);
    if (check.kind == DimCheck::EqualOrOne)
      ok = arith::OrIOp::create(builder, loc, ok, equal(a, constant(1)));
    return ok;
  }
  }
  llvm_unreachable("unknown DimCheck kind");
}

/// Adds `shapeName`, a copy of `fn` that, instead of returning results,
/// stores into a trailing `memref<N x index>` argument the dynamic dims of
/// its results (slots 0 .. numOutputDims-1) and one flag per linalg op whose
/// loops constrain dynamic operand dims (1 when they agree). `simplify`
/// folds the copy until it reads only the inputs' shapes; the number of
/// flags is returned, or nothing (and no function is added) when the shapes
/// depend on more than that.
static std::optional<int64_t>
addShapeFunction(func::FuncOp fn, StringRef shapeName, int64_t numOutputDims,
                 function_ref<LogicalResult(func::FuncOp)> simplify) {
  MLIRContext *ctx = fn.getContext();
  OpBuilder builder(ctx);
  builder.setInsertionPointAfter(fn);
  auto shapeFn = cast<func::FuncOp>(builder.clone(*fn));
  shapeFn.setSymName(shapeName);
  // Host code on host memory, also in GPU libraries (kvq-gpu-map-loops).
  shapeFn->setAttr("kvq.host", builder.getUnitAttr());
  Location loc = fn.getLoc();
  auto giveUp = [&]() -> std::optional<int64_t> {
    shapeFn.erase();
    return std::nullopt;
  };
  if (!shapeFn.getBody().hasOneBlock())
    return giveUp();

  SmallVector<OpConstraints> constraints = collectShapeConstraints(shapeFn);
  int64_t numChecks = constraints.size();
  int64_t numSlots = numOutputDims + numChecks;
  if (numSlots == 0)
    return giveUp();
  unsigned slotsIndex = shapeFn.getNumArguments();
  auto slotsType = MemRefType::get({numSlots}, builder.getIndexType());
  if (failed(shapeFn.insertArgument(slotsIndex, slotsType, {}, loc)))
    return giveUp();
  Value slots = shapeFn.getArgument(slotsIndex);
  auto store = [&](Value value, int64_t slot) {
    Value position = arith::ConstantIndexOp::create(builder, loc, slot);
    memref::StoreOp::create(builder, loc, value, slots, position);
  };

  for (auto [i, constraint] : llvm::enumerate(constraints)) {
    auto &[op, checks] = constraint;
    builder.setInsertionPointAfter(op);
    Value ok;
    for (const DimCheck &check : checks) {
      Value holds = createCheck(builder, loc, check);
      ok = ok ? arith::AndIOp::create(builder, loc, ok, holds) : holds;
    }
    Value one = arith::ConstantIndexOp::create(builder, loc, 1);
    Value zero = arith::ConstantIndexOp::create(builder, loc, 0);
    store(arith::SelectOp::create(builder, loc, ok, one, zero),
          numOutputDims + i);
  }

  auto ret = cast<func::ReturnOp>(shapeFn.getBody().front().getTerminator());
  builder.setInsertionPoint(ret);
  int64_t next = 0;
  for (Value result : ret.getOperands()) {
    auto type = cast<ShapedType>(result.getType());
    for (int64_t d = 0, e = type.getRank(); d < e; ++d)
      if (type.isDynamicDim(d))
        store(createDim(builder, loc, result, d), next++);
  }
  func::ReturnOp::create(builder, ret.getLoc());
  ret.erase();
  shapeFn.setFunctionType(
      FunctionType::get(ctx, shapeFn.getArgumentTypes(), TypeRange()));
  shapeFn.removeResAttrsAttr();

  // Fold every dim through the computation (destination-style ops,
  // tensor.empty, reshapes, and the kvq ops, which reify their result
  // shapes); the computation itself is then dead.
  if (failed(simplify(shapeFn)) || !shapeFn.getBody().hasOneBlock())
    return giveUp();

  // Whatever the stores do not use goes, side effects or not: what stays
  // must read no memory (checked below), so nothing removed can matter.
  Block &body = shapeFn.getBody().front();
  auto isSlotStore = [&](Operation &op) {
    auto storeOp = dyn_cast<memref::StoreOp>(op);
    return storeOp && storeOp.getMemRef() == slots;
  };
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body)))
    if (!op.hasTrait<OpTrait::IsTerminator>() && !isSlotStore(op) &&
        op.use_empty())
      op.erase();
  // Every slot is written exactly once, by a store that stayed.
  if (llvm::count_if(body, isSlotStore) != numSlots)
    return giveUp();
  WalkResult walk = shapeFn.walk([&](Operation *op) {
    if (op == shapeFn.getOperation() || isShapeComputation(op, shapeFn, slots))
      return WalkResult::advance();
    return WalkResult::interrupt();
  });
  if (walk.wasInterrupted())
    return giveUp();

  // The wrapper passes i4 / i2 codes packed into bytes along the last dim
  // (see `expectedArgument`); the shape function reads only dims that
  // packing keeps, so it takes the bytes as they come and the pipeline has
  // no codes of it to unpack.
  for (BlockArgument arg : body.getArguments()) {
    auto type = dyn_cast<ShapedType>(arg.getType());
    std::optional<DTypeInfo> dtype = type && type.hasRank()
                                         ? getABIDType(type.getElementType())
                                         : std::nullopt;
    if (!dtype || !dtype->packedBits)
      continue;
    for (Operation *user : arg.getUsers()) {
      std::optional<int64_t> index;
      if (auto dim = dyn_cast<tensor::DimOp>(user))
        index = dim.getConstantIndex();
      else if (auto dim = dyn_cast<memref::DimOp>(user))
        index = dim.getConstantIndex();
      if (!index || *index + 1 >= type.getRank())
        return giveUp();
    }
    SmallVector<int64_t> shape(type.getShape());
    if (!ShapedType::isDynamic(shape.back()))
      shape.back() = llvm::divideCeil(shape.back() * dtype->packedBits, 8);
    arg.setType(type.clone(shape, builder.getI8Type()));
  }
  shapeFn.setFunctionType(FunctionType::get(
      ctx, body.getArgumentTypes(), shapeFn.getFunctionType().getResults()));
  return numChecks;
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

namespace {
struct WrapEntryPointsPass
    : public kvq::impl::KVQWrapEntryPointsBase<WrapEntryPointsPass> {
  using Base::Base;

  /// What folds a shape function down to the shape computation: every dim
  /// through the computation (destination-style ops, tensor.empty,
  /// reshapes, and the kvq ops, which reify their result shapes), after
  /// which the computation itself is dead.
  static OpPassManager getSimplifyPipeline() {
    OpPassManager pm(func::FuncOp::getOperationName());
    pm.addPass(createCanonicalizerPass());
    pm.addPass(memref::createResolveShapedTypeResultDimsPass());
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
    return pm;
  }

  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    getSimplifyPipeline().getDependentDialects(registry);
  }

  void runOnOperation() override;
};
} // namespace

void WrapEntryPointsPass::runOnOperation() {
  ModuleOp module = getOperation();
  MLIRContext *ctx = &getContext();
  SmallVector<func::FuncOp> functions;
  llvm::StringSet<> symbols;
  if (failed(checkStaticSizes(module)))
    return signalPassFailure();
  for (Operation &op : module.getBody()->getOperations()) {
    if (auto symbol = dyn_cast<SymbolOpInterface>(op))
      symbols.insert(symbol.getName());
    auto fn = dyn_cast<func::FuncOp>(op);
    if (fn && fn.isPublic() && !fn.isExternal())
      functions.push_back(fn);
  }
  if (functions.empty()) {
    module.emitError()
        << "no public function with a body to export (private functions "
           "are not entry points)";
    return signalPassFailure();
  }

  std::vector<EntryPoint> entries;
  for (func::FuncOp fn : functions) {
    EntryPoint entry;
    entry.mlirName = fn.getSymName().str();
    for (Type type : fn.getArgumentTypes()) {
      FailureOr<BufferSignature> sig = getBufferSignature(
          fn, type, "input " + std::to_string(entry.inputs.size()), false);
      if (failed(sig))
        return signalPassFailure();
      entry.inputs.push_back(*sig);
    }
    for (Type type : fn.getResultTypes()) {
      FailureOr<BufferSignature> sig = getBufferSignature(
          fn, type, "result " + std::to_string(entry.outputs.size()), true);
      if (failed(sig))
        return signalPassFailure();
      entry.outputs.push_back(*sig);
      entry.numDynamicOutputDims += llvm::count(sig->shape, -1);
    }
    entries.push_back(std::move(entry));
  }

  // C symbols: the function's name where it is a C identifier that clashes
  // with nothing (nor does its `_output_shapes` companion), else
  // `<library>_<name>` (CSymbols.h). The other symbols of the module stay
  // in the library: no C symbol may take one of theirs.
  llvm::StringSet<> taken;
  for (const auto &symbol : symbols)
    if (llvm::none_of(functions, [&](func::FuncOp fn) {
          return fn.getSymName() == symbol.getKey();
        }))
      taken.insert(symbol.getKey());
  CSymbolTable cSymbols(libraryName, taken);
  StringRef suffixes[] = {kShapesSuffix};
  for (EntryPoint &entry : entries)
    if (cSymbols.tryReserve(entry.mlirName, suffixes))
      entry.name = entry.mlirName;
  for (EntryPoint &entry : entries) {
    if (entry.name.empty())
      entry.name = cSymbols.map(entry.mlirName, suffixes);
    entry.kernelSymbol = (kKernelPrefix + entry.name).str();
  }
  for (const auto &symbol : symbols)
    if (symbol.getKey().starts_with("__kvq_")) {
      module.emitError() << "symbol '@" << symbol.getKey()
                         << "' uses the prefix '__kvq_' reserved by "
                            "the kvq ABI";
      return signalPassFailure();
    }

  OpPassManager simplifyPipeline = getSimplifyPipeline();
  auto simplify = [&](func::FuncOp shapeFn) {
    return runPipeline(simplifyPipeline, shapeFn);
  };
  SymbolTable symbolTable(module);
  auto readOnly = StringAttr::get(
      ctx, bufferization::BufferizationDialect::kWritableAttrName);
  auto cInterface =
      StringAttr::get(ctx, LLVM::LLVMDialect::getEmitCWrapperAttrName());
  Builder b(ctx);
  for (auto [fn, entry] : llvm::zip_equal(functions, entries)) {
    // Inputs are `const`: bufferization copies instead of writing into them.
    for (unsigned i = 0, e = fn.getNumArguments(); i < e; ++i)
      if (isa<TensorType>(fn.getArgumentTypes()[i]))
        fn.setArgAttr(i, readOnly, BoolAttr::get(ctx, false));
    // The C entry point takes the function's name; the kernel moves aside.
    if (failed(symbolTable.rename(fn, entry.kernelSymbol))) {
      fn.emitError() << "cannot rename '@" << entry.mlirName << "'";
      return signalPassFailure();
    }
    fn->setAttr(cInterface, UnitAttr::get(ctx));

    // Output shapes the inputs imply are checked, and offered to callers
    // that do not know them; so is the agreement of dynamic input dims.
    bool dynamic = llvm::any_of(entry.inputs,
                                [](const BufferSignature &sig) {
                                  return llvm::is_contained(sig.shape, -1);
                                }) ||
                   entry.numDynamicOutputDims;
    if (!entry.numDynamicOutputDims && fn.getBody().hasOneBlock() &&
        collectShapeConstraints(fn).empty())
      dynamic = false; // nothing to compute or to check
    if (dynamic) {
      std::string shapeName = (kShapePrefix + entry.name).str();
      if (std::optional<int64_t> numChecks = addShapeFunction(
              fn, shapeName, entry.numDynamicOutputDims, simplify)) {
        entry.shapeFnSymbol = shapeName;
        entry.numShapeChecks = *numChecks;
      } else if (entry.numDynamicOutputDims) {
        fn.emitWarning() << "the dynamic output dims of '@" << entry.mlirName
                         << "' do not follow from its input shapes alone; "
                            "the entry point trusts the output shapes its "
                            "caller passes";
      } else {
        fn.emitWarning() << "the agreement of the dynamic input dims of '@"
                         << entry.mlirName << "' is not checked";
      }
    }
    if (!entry.numDynamicOutputDims || !entry.shapeFnSymbol.empty())
      entry.shapesSymbol = entry.name + kShapesSuffix.str();

    // What the C wrapper needs beyond the signature (getEntryPoints).
    SmallVector<NamedAttribute> fields = {
        b.getNamedAttr("name", b.getStringAttr(entry.mlirName)),
        b.getNamedAttr("symbol", b.getStringAttr(entry.name))};
    if (!entry.shapeFnSymbol.empty()) {
      fields.push_back(b.getNamedAttr(
          "shape_function", FlatSymbolRefAttr::get(ctx, entry.shapeFnSymbol)));
      fields.push_back(b.getNamedAttr(
          "shape_checks", b.getI64IntegerAttr(entry.numShapeChecks)));
    }
    if (!entry.shapesSymbol.empty())
      fields.push_back(b.getNamedAttr("output_shapes_symbol",
                                      b.getStringAttr(entry.shapesSymbol)));
    fn->setAttr(kEntryPointAttrName, b.getDictionaryAttr(fields));
  }
}
