//===- KernelABI.cpp - Entry points of a compiled kvq library ---*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "KernelABI.h"

#include "CSymbols.h"

#include "kvq/Dialect/KVQ/IR/KVQDialect.h"
#include "kvq/Dialect/KVQ/IR/KVQOps.h"
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
#include "llvm/ADT/APInt.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <cctype>
#include <set>

using namespace mlir;
using namespace mlir::kvq;

static constexpr StringLiteral kKernelPrefix = "__kvq_kernel_";
static constexpr StringLiteral kShapePrefix = "__kvq_shape_";
static constexpr StringLiteral kShapesSuffix = "_output_shapes";

//===----------------------------------------------------------------------===//
// Signatures
//===----------------------------------------------------------------------===//

/// The ABI element type of `type`, if it has one.
static std::optional<DTypeInfo> getDType(Type type) {
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
static std::optional<std::string> getOverflowingByteSize(Type type) {
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

/// The ABI signature of one argument or result of `fn`, or a diagnostic.
static FailureOr<BufferSignature>
getBufferSignature(func::FuncOp fn, Type type, StringRef what, bool isResult) {
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

  std::optional<DTypeInfo> dtype = getDType(elementType);
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
/// loops constrain dynamic operand dims (1 when they agree). The copy is
/// simplified until it reads only the inputs' shapes; the number of flags
/// is returned, or nothing (and no function is added) when the shapes
/// depend on more than that.
static std::optional<int64_t>
addShapeFunction(func::FuncOp fn, StringRef shapeName, int64_t numOutputDims) {
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
  PassManager pm(ctx, func::FuncOp::getOperationName());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(memref::createResolveShapedTypeResultDimsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (failed(pm.run(shapeFn)) || !shapeFn.getBody().hasOneBlock())
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
    std::optional<DTypeInfo> dtype =
        type && type.hasRank() ? getDType(type.getElementType()) : std::nullopt;
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
// Preparing the module
//===----------------------------------------------------------------------===//

FailureOr<std::vector<EntryPoint>>
mlir::kvq::prepareEntryPoints(ModuleOp module, StringRef libraryName) {
  MLIRContext *ctx = module.getContext();
  // The shape functions are built from ops of these dialects, which the
  // input need not use (a module of kvq ops alone loads none of tensor or
  // memref). `OpTy::create` on a dialect that is not loaded builds an
  // unregistered op, which then casts to a null `OpTy`.
  ctx->loadDialect<affine::AffineDialect, arith::ArithDialect,
                   bufferization::BufferizationDialect, func::FuncDialect,
                   index::IndexDialect, LLVM::LLVMDialect,
                   memref::MemRefDialect, tensor::TensorDialect>();
  SmallVector<func::FuncOp> functions;
  llvm::StringSet<> symbols;
  if (failed(checkStaticSizes(module)))
    return failure();
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
    return failure();
  }

  std::vector<EntryPoint> entries;
  for (func::FuncOp fn : functions) {
    EntryPoint entry;
    entry.mlirName = fn.getSymName().str();
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
      return failure();
    }

  SymbolTable symbolTable(module);
  auto readOnly = StringAttr::get(
      ctx, bufferization::BufferizationDialect::kWritableAttrName);
  auto cInterface =
      StringAttr::get(ctx, LLVM::LLVMDialect::getEmitCWrapperAttrName());
  for (auto [fn, entry] : llvm::zip_equal(functions, entries)) {
    // Inputs are `const`: bufferization copies instead of writing into them.
    for (unsigned i = 0, e = fn.getNumArguments(); i < e; ++i)
      if (isa<TensorType>(fn.getArgumentTypes()[i]))
        fn.setArgAttr(i, readOnly, BoolAttr::get(ctx, false));
    // The C entry point takes the function's name; the kernel moves aside.
    if (failed(symbolTable.rename(fn, entry.kernelSymbol))) {
      fn.emitError() << "cannot rename '@" << entry.mlirName << "'";
      return failure();
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
      if (std::optional<int64_t> numChecks =
              addShapeFunction(fn, shapeName, entry.numDynamicOutputDims)) {
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
  }
  return entries;
}

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

//===----------------------------------------------------------------------===//
// C header
//===----------------------------------------------------------------------===//

static std::string formatShape(ArrayRef<int64_t> shape) {
  std::string text = "[";
  for (auto [i, dim] : llvm::enumerate(shape))
    text +=
        (i ? ", " : "") + (dim < 0 ? std::string("?") : std::to_string(dim));
  return text + "]";
}

static std::string describe(const BufferSignature &sig) {
  return std::string(sig.dtype.name) + " " +
         (sig.isScalar ? std::string("scalar") : formatShape(sig.shape));
}

void mlir::kvq::emitCHeader(raw_ostream &os, StringRef libraryName,
                            StringRef abiHeaderText,
                            ArrayRef<EntryPoint> entries) {
  std::string guard = "KVQ_GENERATED_";
  for (char c : libraryName)
    guard += isalnum(static_cast<unsigned char>(c))
                 ? static_cast<char>(toupper(static_cast<unsigned char>(c)))
                 : '_';
  guard += "_H";
  os << "/* " << libraryName
     << ".h - generated by kvq-compile; do not edit. */\n\n"
     << "#ifndef " << guard << "\n#define " << guard << "\n\n"
     << abiHeaderText << "\n"
     << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n";
  for (const EntryPoint &entry : entries) {
    os << "\n/* " << entry.name;
    // The C symbol of a function whose MLIR name is not one.
    if (entry.name != entry.mlirName) {
      // No "*/" of the name may end the comment.
      std::string mlirName = entry.mlirName;
      for (size_t at; (at = mlirName.find("*/")) != std::string::npos;)
        mlirName.replace(at, 2, "* /");
      os << ": exports the MLIR function @" << mlirName << ", a name that "
         << whyNotExportable(entry.mlirName);
    }
    os << "\n";
    for (auto [i, sig] : llvm::enumerate(entry.inputs))
      os << " *   input  " << i
         << (i < entry.inputNames.size() ? " (" + entry.inputNames[i] + ")"
                                         : std::string())
         << ": " << describe(sig) << "\n";
    for (auto [i, sig] : llvm::enumerate(entry.outputs))
      os << " *   output " << i << ": " << describe(sig) << "\n";
    if (entry.numDynamicOutputDims && entry.shapeFnSymbol.empty())
      os << " *   (dynamic output dims are not checked: pass the right ones)\n";
    os << " */\n"
       << "int32_t " << entry.name
       << "(const kvq_buffer *inputs, int64_t num_inputs,\n"
       << "    kvq_buffer *outputs, int64_t num_outputs);\n";
    if (!entry.shapesSymbol.empty())
      os << "int32_t " << entry.shapesSymbol
         << "(const kvq_buffer *inputs, int64_t num_inputs,\n"
         << "    int64_t *shapes, int64_t num_dims);\n";
  }
  os << "\n#ifdef __cplusplus\n} /* extern \"C\" */\n#endif\n\n#endif /* "
     << guard << " */\n";
}

//===----------------------------------------------------------------------===//
// C wrapper
//===----------------------------------------------------------------------===//

namespace {
/// Writes the C implementation of the entry points.
class WrapperEmitter {
public:
  WrapperEmitter(raw_ostream &os, bool deviceErrors, bool openMP)
      : deviceErrors(deviceErrors), openMP(openMP), os(os) {}
  void emit(StringRef headerFileName, ArrayRef<EntryPoint> entries);

private:
  void emitDescriptor(int64_t rank);
  void emitArguments(const EntryPoint &entry);
  void emitCheck(const BufferSignature &sig, StringRef buffer,
                 StringRef dimsName);
  void emitEntry(const EntryPoint &entry);
  void emitOutputShapes(const EntryPoint &entry);
  static int64_t perByte(const BufferSignature &sig) {
    return sig.dtype.packedBits ? 8 / sig.dtype.packedBits : 1;
  }
  std::string argType(const BufferSignature &sig) {
    return sig.isScalar ? sig.dtype.cType
                        : "kvq_memref_" + std::to_string(sig.shape.size());
  }

  bool deviceErrors; // GPU library: report failed CUDA calls
  bool openMP;       // kernels with OpenMP parallel regions (libomp)
  raw_ostream &os;
};
} // namespace

void WrapperEmitter::emitDescriptor(int64_t rank) {
  // The memref descriptor of MLIR's LLVM lowering, for one rank.
  os << "typedef struct {\n  void *allocated;\n  void *aligned;\n"
     << "  int64_t offset;\n";
  if (rank)
    os << "  int64_t sizes[" << rank << "];\n  int64_t strides[" << rank
       << "];\n";
  os << "} kvq_memref_" << rank << ";\n\n";
  // `per_byte` > 1: codes packed along the last dim, which then counts
  // bytes.
  os << "static KVQ_UNUSED void kvq_fill_" << rank << "(kvq_memref_" << rank
     << " *d, const kvq_buffer *b, int64_t per_byte) {\n"
     << "  d->allocated = b->data;\n  d->aligned = b->data;\n"
     << "  d->offset = 0;\n";
  if (rank) {
    os << "  int64_t stride = 1;\n"
       << "  for (int64_t i = " << rank - 1 << "; i >= 0; --i) {\n"
       << "    int64_t size = b->shape[i];\n"
       << "    if (i == " << rank - 1
       << ")\n      size = size / per_byte + (size % per_byte != 0);\n"
       << "    d->sizes[i] = size;\n    d->strides[i] = stride;\n"
       << "    stride *= size;\n  }\n";
  } else {
    os << "  (void)per_byte;\n";
  }
  os << "}\n\n";
}

void WrapperEmitter::emitCheck(const BufferSignature &sig, StringRef buffer,
                               StringRef dimsName) {
  os << "  if ((status = kvq_check(" << buffer << ", " << sig.dtype.code << ", "
     << sig.shape.size() << ", " << dimsName << ", " << sig.dtype.byteWidth
     << ")) != KVQ_OK)\n    return status;\n";
}

void WrapperEmitter::emitArguments(const EntryPoint &entry) {
  // The kernel's arguments, and the functions that check the buffers and
  // build them; the shape function, if any, runs right after the inputs.
  StringRef name = entry.name;
  os << "typedef struct {\n";
  for (auto [i, sig] : llvm::enumerate(entry.inputs))
    os << "  " << argType(sig) << " in" << i << ";\n";
  for (auto [i, sig] : llvm::enumerate(entry.outputs))
    os << "  " << argType(sig) << " out" << i << ";\n";
  if (!entry.shapeFnSymbol.empty())
    os << "  int64_t dims[" << entry.numDynamicOutputDims + entry.numShapeChecks
       << "];\n";
  os << "} " << name << "__args;\n\n";

  auto emitShape = [&](const BufferSignature &sig, StringRef dimsName) {
    os << "  static const int64_t " << dimsName << "["
       << std::max<size_t>(sig.shape.size(), 1) << "] = {";
    if (sig.shape.empty())
      os << "0";
    for (auto [d, dim] : llvm::enumerate(sig.shape))
      os << (d ? ", " : "") << dim;
    os << "};\n";
  };

  os << "static int32_t " << name << "__load_inputs(const kvq_buffer *inputs, "
     << name << "__args *a) {\n  int32_t status = KVQ_OK;\n"
     << "  (void)status;\n  (void)inputs;\n  (void)a;\n";
  for (auto [i, sig] : llvm::enumerate(entry.inputs)) {
    std::string dimsName = "in" + std::to_string(i) + "_dims";
    std::string buffer = "&inputs[" + std::to_string(i) + "]";
    emitShape(sig, dimsName);
    emitCheck(sig, buffer, dimsName);
    if (sig.isScalar)
      os << "  a->in" << i << " = *(const " << sig.dtype.cType << " *)inputs["
         << i << "].data;\n";
    else
      os << "  kvq_fill_" << sig.shape.size() << "(&a->in" << i << ", "
         << buffer << ", " << perByte(sig) << ");\n";
  }
  if (!entry.shapeFnSymbol.empty()) {
    // Output dims, then one flag per group of input dims that must agree.
    int64_t numSlots = entry.numDynamicOutputDims + entry.numShapeChecks;
    os << "  kvq_memref_1 dims = {a->dims, a->dims, 0, {" << numSlots
       << "}, {1}};\n"
       << "  _mlir_ciface_" << entry.shapeFnSymbol << "(";
    for (auto [i, sig] : llvm::enumerate(entry.inputs))
      os << (sig.isScalar ? "a->in" : "&a->in") << i << ", ";
    os << "&dims);\n";
    if (entry.numShapeChecks)
      os << "  for (int64_t i = " << entry.numDynamicOutputDims << "; i < "
         << numSlots << "; ++i)\n    if (a->dims[i] != 1)\n"
         << "      return KVQ_ERR_SHAPE;\n";
  }
  os << "  return KVQ_OK;\n}\n\n";

  os << "static int32_t " << name << "__load_outputs(kvq_buffer *outputs, "
     << name << "__args *a) {\n  int32_t status = KVQ_OK;\n"
     << "  (void)status;\n  (void)outputs;\n  (void)a;\n";
  int64_t next = 0;
  for (auto [i, sig] : llvm::enumerate(entry.outputs)) {
    std::string dimsName = "out" + std::to_string(i) + "_dims";
    std::string buffer = "&outputs[" + std::to_string(i) + "]";
    emitShape(sig, dimsName);
    emitCheck(sig, buffer, dimsName);
    for (auto [d, dim] : llvm::enumerate(sig.shape)) {
      if (dim >= 0)
        continue;
      if (!entry.shapeFnSymbol.empty())
        os << "  if (outputs[" << i << "].shape[" << d << "] != a->dims["
           << next << "])\n    return KVQ_ERR_SHAPE;\n";
      ++next;
    }
    os << "  kvq_fill_" << sig.shape.size() << "(&a->out" << i << ", " << buffer
       << ", " << perByte(sig) << ");\n";
  }
  os << "  return KVQ_OK;\n}\n\n";
}

void WrapperEmitter::emitEntry(const EntryPoint &entry) {
  size_t numIn = entry.inputs.size(), numOut = entry.outputs.size();
  os << "KVQ_EXPORT int32_t " << entry.name
     << "(const kvq_buffer *inputs, int64_t num_inputs,\n"
     << "    kvq_buffer *outputs, int64_t num_outputs) {\n"
     << "  if (num_inputs != " << numIn << " || num_outputs != " << numOut
     << ")\n    return KVQ_ERR_COUNT;\n";
  if (numIn)
    os << "  if (inputs == NULL)\n    return KVQ_ERR_NULL;\n";
  if (numOut)
    os << "  if (outputs == NULL)\n    return KVQ_ERR_NULL;\n";
  os << "  " << entry.name << "__args a;\n  int32_t status;\n"
     << "  if ((status = " << entry.name
     << "__load_inputs(inputs, &a)) != KVQ_OK)\n    return status;\n"
     << "  if ((status = " << entry.name
     << "__load_outputs(outputs, &a)) != KVQ_OK)\n    return status;\n";
  if (deviceErrors)
    os << "  kvqCudaClearError();\n";
  if (openMP)
    os << "  kvq_threads_state threads;\n  kvq_threads_enter(&threads);\n";
  os << "  _mlir_ciface_" << entry.kernelSymbol << "(";
  bool first = true;
  for (auto [i, sig] : llvm::enumerate(entry.inputs)) {
    os << (first ? "" : ", ") << (sig.isScalar ? "a.in" : "&a.in") << i;
    first = false;
  }
  for (size_t i = 0; i < numOut; ++i) {
    os << (first ? "" : ", ") << "&a.out" << i;
    first = false;
  }
  os << ");\n";
  if (openMP)
    os << "  kvq_threads_exit(&threads);\n";
  if (deviceErrors)
    os << "  if (kvqCudaGetLastError(NULL, 0) != 0)\n"
       << "    return KVQ_ERR_DEVICE;\n";
  os << "  return KVQ_OK;\n}\n\n";
}

void WrapperEmitter::emitOutputShapes(const EntryPoint &entry) {
  int64_t numDims = 0;
  for (const BufferSignature &sig : entry.outputs)
    numDims += sig.shape.size();
  os << "KVQ_EXPORT int32_t " << entry.shapesSymbol
     << "(const kvq_buffer *inputs, int64_t num_inputs,\n"
     << "    int64_t *shapes, int64_t num_dims) {\n"
     << "  (void)shapes;\n"
     << "  if (num_inputs != " << entry.inputs.size()
     << " || num_dims != " << numDims << ")\n    return KVQ_ERR_COUNT;\n";
  if (!entry.inputs.empty())
    os << "  if (inputs == NULL)\n    return KVQ_ERR_NULL;\n";
  if (numDims)
    os << "  if (shapes == NULL)\n    return KVQ_ERR_NULL;\n";
  os << "  " << entry.name << "__args a;\n  int32_t status;\n"
     << "  if ((status = " << entry.name
     << "__load_inputs(inputs, &a)) != KVQ_OK)\n    return status;\n";
  int64_t position = 0, next = 0;
  for (const BufferSignature &sig : entry.outputs) {
    for (int64_t dim : sig.shape) {
      os << "  shapes[" << position++ << "] = ";
      if (dim >= 0)
        os << dim << ";\n";
      else
        os << "a.dims[" << next++ << "];\n";
    }
  }
  os << "  return KVQ_OK;\n}\n\n";
}

/// kvq_set_num_threads / kvq_get_num_threads (kvq_abi.h). Weak and
/// exported: the kvq libraries a program links share one setting (the first
/// definition), and the objects of several libraries (--emit=obj) link
/// together.
static const char kThreadsSetting[] =
    R"c(/* Threads (kvq_abi.h): one setting for the kvq libraries a program links. */
KVQ_EXPORT __attribute__((weak)) int32_t kvq_num_threads_setting = 0;

KVQ_EXPORT __attribute__((weak)) int32_t kvq_set_num_threads(int32_t n) {
  if (n < 0)
    return -1;
  return __atomic_exchange_n(&kvq_num_threads_setting, n, __ATOMIC_RELAXED);
}

KVQ_EXPORT __attribute__((weak)) int32_t kvq_get_num_threads(void) {
  return __atomic_load_n(&kvq_num_threads_setting, __ATOMIC_RELAXED);
}

)c";

/// Around each kernel with OpenMP parallel regions: the thread count of
/// kvq_set_num_threads, and passive waiting (libomp's block time 0, so
/// that idle workers sleep instead of spinning for 200 ms after the
/// kernel) unless the environment chose a wait policy. Both are ICVs of the
/// calling thread, restored on return.
static const char kOpenMPThreads[] = R"c(extern int omp_get_max_threads(void);
extern void omp_set_num_threads(int n);
extern int kmp_get_blocktime(void);
extern void kmp_set_blocktime(int msec);
extern char *getenv(const char *name);

typedef struct {
  int threads;   /* the caller's thread count to restore, or 0 */
  int blocktime; /* the caller's block time to restore, or -1 */
} kvq_threads_state;

/* 1: wait passively; 0: KMP_BLOCKTIME or OMP_WAIT_POLICY decide; -1: unknown. */
static int kvq_passive_wait = -1;

static void kvq_threads_enter(kvq_threads_state *s) {
  int32_t n = kvq_get_num_threads();
  s->threads = 0;
  if (n > 0) {
    s->threads = omp_get_max_threads();
    omp_set_num_threads(n);
  }
  int passive = __atomic_load_n(&kvq_passive_wait, __ATOMIC_RELAXED);
  if (passive < 0) {
    passive = getenv("KMP_BLOCKTIME") == NULL &&
              getenv("OMP_WAIT_POLICY") == NULL;
    __atomic_store_n(&kvq_passive_wait, passive, __ATOMIC_RELAXED);
  }
  s->blocktime = -1;
  if (passive) {
    s->blocktime = kmp_get_blocktime();
    kmp_set_blocktime(0);
  }
}

static void kvq_threads_exit(const kvq_threads_state *s) {
  if (s->blocktime >= 0)
    kmp_set_blocktime(s->blocktime);
  if (s->threads > 0)
    omp_set_num_threads(s->threads);
}

)c";

void WrapperEmitter::emit(StringRef headerFileName,
                          ArrayRef<EntryPoint> entries) {
  os << "/* Entry points of the kvq ABI - generated by kvq-compile; do not "
        "edit. */\n\n"
     << "#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n\n"
     << "#include \"" << headerFileName << "\"\n\n"
     << "#define KVQ_EXPORT __attribute__((visibility(\"default\")))\n"
     << "#define KVQ_UNUSED __attribute__((unused))\n\n";

  os << kThreadsSetting;
  if (openMP)
    os << kOpenMPThreads;

  std::set<int64_t> ranks;
  for (const EntryPoint &entry : entries) {
    for (const BufferSignature &sig : entry.inputs)
      if (!sig.isScalar)
        ranks.insert(sig.shape.size());
    for (const BufferSignature &sig : entry.outputs)
      ranks.insert(sig.shape.size());
    if (!entry.shapeFnSymbol.empty())
      ranks.insert(1);
  }
  for (int64_t rank : ranks)
    emitDescriptor(rank);

  // Checks one buffer against the signature; `dims` holds -1 for a dynamic
  // dim. The element count (zero-size dims counted as one) must fit in
  // bytes, so that no stride or size computation overflows.
  os << R"c(static KVQ_UNUSED int32_t kvq_check(const kvq_buffer *b, int32_t dtype,
                         int64_t rank, const int64_t *dims,
                         int64_t elem_bytes) {
  if (b->data == NULL)
    return KVQ_ERR_NULL;
  if (b->rank != rank)
    return KVQ_ERR_RANK;
  if (rank > 0 && b->shape == NULL)
    return KVQ_ERR_NULL;
  if (b->dtype != dtype)
    return KVQ_ERR_DTYPE;
  int64_t limit = INT64_MAX / elem_bytes, count = 1;
  for (int64_t i = 0; i < rank; ++i) {
    int64_t d = b->shape[i];
    if (d < 0 || (dims[i] >= 0 && d != dims[i]))
      return KVQ_ERR_SHAPE;
    if (d > 1) {
      if (count > limit / d)
        return KVQ_ERR_SHAPE;
      count *= d;
    }
  }
  return KVQ_OK;
}

)c";

  for (const EntryPoint &entry : entries) {
    os << "/* " << entry.name << " */\n\n";
    os << "extern void _mlir_ciface_" << entry.kernelSymbol << "(";
    bool first = true;
    for (const BufferSignature &sig : entry.inputs) {
      os << (first ? "" : ", ") << argType(sig) << (sig.isScalar ? "" : " *");
      first = false;
    }
    for (const BufferSignature &sig : entry.outputs) {
      os << (first ? "" : ", ") << argType(sig) << " *";
      first = false;
    }
    os << (first ? "void" : "") << ");\n";
    if (!entry.shapeFnSymbol.empty()) {
      os << "extern void _mlir_ciface_" << entry.shapeFnSymbol << "(";
      for (const BufferSignature &sig : entry.inputs)
        os << argType(sig) << (sig.isScalar ? ", " : " *, ");
      os << "kvq_memref_1 *);\n";
    }
    os << "\n";
    emitArguments(entry);
    emitEntry(entry);
    if (!entry.shapesSymbol.empty())
      emitOutputShapes(entry);
  }
}

/// `memrefCopy(elem_size, src, dst)` over unranked descriptors
/// (mlir/lib/ExecutionEngine/CRunnerUtils.cpp has the reference version).
static const char kMemrefCopy[] = R"c(/* memref.copy of non-contiguous views. */
typedef struct {
  int64_t rank;
  void *descriptor;
} kvq_unranked_memref;

void memrefCopy(int64_t elem_size, kvq_unranked_memref *src,
                kvq_unranked_memref *dst) {
  int64_t rank = src->rank;
  char *const *src_ptrs = (char *const *)src->descriptor;
  char *const *dst_ptrs = (char *const *)dst->descriptor;
  const int64_t *src_meta = (const int64_t *)(src_ptrs + 2);
  const int64_t *dst_meta = (const int64_t *)(dst_ptrs + 2);
  char *from = src_ptrs[1] + src_meta[0] * elem_size;
  char *to = dst_ptrs[1] + dst_meta[0] * elem_size;
  if (rank == 0) {
    memcpy(to, from, elem_size);
    return;
  }
  const int64_t *sizes = src_meta + 1;
  const int64_t *src_strides = src_meta + 1 + rank;
  const int64_t *dst_strides = dst_meta + 1 + rank;
  for (int64_t i = 0; i < rank; ++i)
    if (sizes[i] == 0)
      return;
  int64_t index[rank];
  for (int64_t i = 0; i < rank; ++i)
    index[i] = 0;
  int64_t inner = sizes[rank - 1];
  int contiguous = src_strides[rank - 1] == 1 && dst_strides[rank - 1] == 1;
  for (;;) {
    int64_t src_at = 0, dst_at = 0;
    for (int64_t i = 0; i < rank - 1; ++i) {
      src_at += index[i] * src_strides[i];
      dst_at += index[i] * dst_strides[i];
    }
    if (contiguous) {
      memcpy(to + dst_at * elem_size, from + src_at * elem_size,
             inner * elem_size);
    } else {
      for (int64_t j = 0; j < inner; ++j)
        memcpy(to + (dst_at + j * dst_strides[rank - 1]) * elem_size,
               from + (src_at + j * src_strides[rank - 1]) * elem_size,
               elem_size);
    }
    int64_t k = rank - 2;
    while (k >= 0 && ++index[k] == sizes[k])
      index[k--] = 0;
    if (k < 0)
      return;
  }
}

)c";

void mlir::kvq::emitCWrapper(raw_ostream &os, StringRef headerFileName,
                             ArrayRef<EntryPoint> entries,
                             bool defineMemrefCopy, bool deviceErrors,
                             bool openMP) {
  if (deviceErrors)
    os << "#include <stddef.h>\n#include <stdint.h>\n"
       << "extern int32_t kvqCudaGetLastError(char *message, size_t size);\n"
       << "extern void kvqCudaClearError(void);\n";
  WrapperEmitter(os, deviceErrors, openMP).emit(headerFileName, entries);
  if (defineMemrefCopy)
    os << kMemrefCopy;
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

//===----------------------------------------------------------------------===//
// Manifest
//===----------------------------------------------------------------------===//

void mlir::kvq::emitManifest(raw_ostream &os, StringRef libraryName,
                             StringRef libraryFileName, StringRef target,
                             StringRef targetCPU, StringRef gpuChip,
                             ArrayRef<EntryPoint> entries) {
  auto buffers = [](ArrayRef<BufferSignature> sigs,
                    ArrayRef<std::string> names = {}) {
    llvm::json::Array array;
    for (auto [i, sig] : llvm::enumerate(sigs)) {
      llvm::json::Array shape;
      for (int64_t dim : sig.shape)
        shape.push_back(dim);
      llvm::json::Object object{{"dtype", sig.dtype.name},
                                {"dtype_code", sig.dtype.code},
                                {"shape", std::move(shape)},
                                {"kind", sig.isScalar ? "scalar" : "tensor"}};
      if (i < names.size())
        object["name"] = names[i];
      array.push_back(std::move(object));
    }
    return array;
  };
  llvm::json::Array entryArray;
  for (const EntryPoint &entry : entries) {
    llvm::json::Value shapes = nullptr;
    if (!entry.shapesSymbol.empty())
      shapes = entry.shapesSymbol;
    entryArray.push_back(
        llvm::json::Object{{"name", entry.mlirName},
                           {"symbol", entry.name},
                           {"output_shapes_symbol", std::move(shapes)},
                           {"inputs", buffers(entry.inputs, entry.inputNames)},
                           {"outputs", buffers(entry.outputs)}});
  }
  llvm::json::Object manifest{
      {"abi_version", 1},           {"name", libraryName},
      {"library", libraryFileName}, {"target", target},
      {"cpu", targetCPU},           {"entries", std::move(entryArray)}};
  // GPU libraries take device pointers; the chip the binary was built for.
  if (!gpuChip.empty())
    manifest["gpu_chip"] = gpuChip;
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(manifest))) << "\n";
}
