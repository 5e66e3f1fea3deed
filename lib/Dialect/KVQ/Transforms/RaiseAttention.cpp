//===- RaiseAttention.cpp - Recognize attention written by importers ------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// Importers (torch-mlir, IREE's input conversion, tf / tflite -> tosa)
// write scaled dot-product attention as two contractions around a softmax.
// This pass matches that pattern from the P V contraction backwards and
// replaces it with kvq.attention, so that the compressed-cache lowerings and
// fusions apply to imported models.
//
// Matching is by meaning rather than by spelling. Every tensor of the
// pattern has dims that play a role: the query and key positions, the head
// and value dims, and batch dims. Importers split and merge the batch dims
// (`[B * H, S, D]` contractions around a `[B, H, S, S]` softmax, GQA repeats
// `[B, Hkv, g, S, D]` collapsed in any grouping, unit dims folded away), so
// batch dims are described as lists of "atoms": the mixed-radix digits of
// the flattened batch index, which reshapes split into finer digits. Two
// tensors reshaped differently then agree digit by digit, a repeat of K / V
// is a digit K / V do not have, and a mask broadcast along heads is one the
// mask does not have. kvq.attention's [B, Hq] is a split of the digits that
// keeps the GQA repeat inside the heads and the mask's broadcasts whole.
//
// Every structural fact is verified (roles of every dim, element types,
// reductions and their initial values, broadcasts, splat constants, uses of
// the intermediates). A softmax that is not raised gets a remark with
// `report`, naming the first fact that failed.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Dialect/KVQ/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <optional>

namespace mlir {
namespace kvq {
#define GEN_PASS_DEF_KVQRAISEATTENTION
#include "kvq/Dialect/KVQ/Transforms/Passes.h.inc"
} // namespace kvq
} // namespace mlir

using namespace mlir;
using namespace mlir::kvq;

namespace {

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

RankedTensorType getTensorType(Value v) {
  return v ? dyn_cast<RankedTensorType>(v.getType()) : RankedTensorType();
}

/// The value of a splat floating-point constant, if `v` is one: a scalar, a
/// dense splat, a linalg.fill of one, or a float cast (`arith.truncf`,
/// `arith.extf`) of one, which is folded as the cast would round it (torch-
/// mlir writes its scales as f64 constants truncated in the body).
std::optional<double> getSplatFloat(Value v) {
  if (!v)
    return std::nullopt;
  if (auto fill = v.getDefiningOp<linalg::FillOp>())
    return getSplatFloat(fill.getInputs()[0]);
  Operation *def = v.getDefiningOp();
  if (isa_and_nonnull<arith::TruncFOp, arith::ExtFOp>(def)) {
    std::optional<double> in = getSplatFloat(def->getOperand(0));
    auto type = dyn_cast<FloatType>(v.getType());
    if (!in || !type)
      return std::nullopt;
    APFloat value(*in);
    bool lost = false;
    value.convert(type.getFloatSemantics(), APFloat::rmNearestTiesToEven,
                  &lost);
    return value.convertToDouble();
  }
  Attribute attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  if (auto scalar = dyn_cast<FloatAttr>(attr))
    return scalar.getValueAsDouble();
  if (auto dense = dyn_cast<DenseFPElementsAttr>(attr))
    if (dense.isSplat())
      return FloatAttr::getValueAsDouble(dense.getSplatValue<APFloat>());
  return std::nullopt;
}

/// A constant, or an op of a linalg body computed from constants only (the
/// cast of a constant scale): not part of the computation of the body.
bool isConstantComputation(Operation *op) {
  if (op->hasTrait<OpTrait::ConstantLike>())
    return true;
  if (!isa<arith::TruncFOp, arith::ExtFOp>(op))
    return false;
  return llvm::all_of(op->getOperands(), [](Value operand) {
    Operation *def = operand.getDefiningOp();
    return def && isConstantComputation(def);
  });
}

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

enum class EwKind {
  Copy,
  Add,
  Sub,
  Mul,
  Div,
  Exp,
  ExpSub,
  Reciprocal,
  Cast,     // arith.extf / arith.truncf
  Select,   // arith.select %cond, %a, %b
  IsNegInf, // arith.cmpf oeq %x, -inf (through a float cast of %x)
};

/// An operand of an elementwise op: a tensor read through `map` (from the
/// result's dims to the operand's dims), or a splat constant.
struct EwOperand {
  Value value;
  AffineMap map;
  std::optional<double> splat;
  /// The broadcasts, transposes and unit-dim reshapes read through.
  SmallVector<Operation *, 1> copies = {};
  /// The operand as the op reads it, before reading through copies.
  Value raw = {};
  AffineMap rawMap = {};
};

/// An elementwise op on tensors (linalg named / generic, tosa, arith, math).
struct Elementwise {
  Operation *op = nullptr;
  EwKind kind = EwKind::Copy;
  SmallVector<EwOperand, 3> operands;
};

/// The map of a tosa operand broadcast (size-1 dims) to the result.
AffineMap getBroadcastMap(RankedTensorType operand, RankedTensorType result) {
  MLIRContext *ctx = result.getContext();
  SmallVector<AffineExpr> exprs;
  for (auto [i, size] : llvm::enumerate(operand.getShape())) {
    if (size == 1 && result.getDimSize(i) != 1)
      exprs.push_back(getAffineConstantExpr(0, ctx));
    else
      exprs.push_back(getAffineDimExpr(i, ctx));
  }
  return AffineMap::get(result.getRank(), 0, exprs, ctx);
}

std::optional<Elementwise> matchElementwise(Value v);

/// Reads an operand through a reshape that only inserts or removes unit
/// dims (torch-mlir's keepdim `expand_shape` of a row max): the reshape's
/// source read through the composed map.
bool peelUnitReshape(EwOperand &operand) {
  auto isUnit = [](int64_t size) { return size == 1; };
  AffineMap map = operand.map;
  MLIRContext *ctx = map.getContext();
  SmallVector<AffineExpr> exprs;
  Value source;
  if (auto expand = operand.value.getDefiningOp<tensor::ExpandShapeOp>()) {
    // Source dim j is the one non-unit result dim of its group, or a unit.
    ArrayRef<int64_t> shape = expand.getResultType().getShape();
    for (const ReassociationIndices &group : expand.getReassociationIndices()) {
      if (group.size() == 1) {
        exprs.push_back(map.getResult(group[0]));
        continue;
      }
      SmallVector<int64_t> nonUnit;
      for (int64_t r : group)
        if (!isUnit(shape[r]))
          nonUnit.push_back(r);
      if (nonUnit.size() > 1)
        return false;
      exprs.push_back(nonUnit.empty() ? getAffineConstantExpr(0, ctx)
                                      : map.getResult(nonUnit[0]));
    }
    source = expand.getSrc();
  } else if (auto collapse =
                 operand.value.getDefiningOp<tensor::CollapseShapeOp>()) {
    ArrayRef<int64_t> shape = collapse.getSrcType().getShape();
    for (auto [i, group] :
         llvm::enumerate(collapse.getReassociationIndices())) {
      if (llvm::count_if(group, [&](int64_t d) { return !isUnit(shape[d]); }) >
          1)
        return false;
      for (int64_t d : group)
        exprs.push_back(group.size() == 1 || !isUnit(shape[d])
                            ? map.getResult(i)
                            : getAffineConstantExpr(0, ctx));
    }
    source = collapse.getSrc();
  } else {
    return false;
  }
  operand.map = AffineMap::get(map.getNumDims(), 0, exprs, ctx);
  operand.copies.push_back(operand.value.getDefiningOp());
  operand.value = source;
  return true;
}

/// Reads through copies that broadcast or permute (linalg.broadcast,
/// linalg.transpose, copy-only linalg.generic) and unit-dim reshapes: the
/// operand becomes the source read through the composed map.
void peelCopies(EwOperand &operand) {
  operand.raw = operand.value;
  operand.rawMap = operand.map;
  while (operand.value && !operand.splat) {
    if (operand.map && peelUnitReshape(operand))
      continue;
    std::optional<Elementwise> copy = matchElementwise(operand.value);
    if (!copy || copy->kind != EwKind::Copy || copy->operands[0].splat)
      return;
    operand.map = copy->operands[0].map.compose(operand.map);
    operand.value = copy->operands[0].value;
    operand.copies.push_back(copy->op);
  }
}

std::optional<Elementwise> matchLinalgElementwise(linalg::LinalgOp op,
                                                  Value result) {
  if (op->getNumResults() != 1 || op.getNumDpsInits() != 1 ||
      op.getNumParallelLoops() != op.getNumLoops())
    return std::nullopt;
  auto type = getTensorType(result);
  if (!type || op.getNumLoops() != static_cast<unsigned>(type.getRank()) ||
      !op.getMatchingIndexingMap(op.getDpsInitOperand(0)).isIdentity())
    return std::nullopt;
  Block *body = op.getBlock();
  auto yield = dyn_cast<linalg::YieldOp>(body->getTerminator());
  if (!yield || yield.getNumOperands() != 1)
    return std::nullopt;

  Elementwise ew;
  ew.op = op;
  unsigned numInputs = op.getNumDpsInputs();
  auto leaf = [&](Value x) -> bool {
    if (auto arg = dyn_cast<BlockArgument>(x)) {
      if (arg.getOwner() != body || arg.getArgNumber() >= numInputs)
        return false;
      OpOperand *input = op.getDpsInputOperand(arg.getArgNumber());
      EwOperand operand{input->get(), op.getMatchingIndexingMap(input),
                        getSplatFloat(input->get())};
      peelCopies(operand);
      ew.operands.push_back(operand);
      return true;
    }
    std::optional<double> splat = getSplatFloat(x);
    if (!splat)
      return false;
    ew.operands.push_back({x, AffineMap(), splat});
    return true;
  };
  // The body must be exactly the recognized computation (plus constants
  // and casts of constants).
  unsigned numComputeOps = 0;
  for (Operation &inner : body->without_terminator())
    if (!isConstantComputation(&inner))
      ++numComputeOps;

  Value y = yield.getOperand(0);
  Operation *def = y.getDefiningOp();
  if (!def || def->getBlock() != body || isConstantComputation(def)) {
    if (numComputeOps != 0 || !leaf(y))
      return std::nullopt;
    ew.kind = EwKind::Copy;
    return ew;
  }
  unsigned expectedOps = 1;
  if (isa<arith::AddFOp, arith::SubFOp, arith::MulFOp, arith::DivFOp>(def)) {
    if (!leaf(def->getOperand(0)) || !leaf(def->getOperand(1)))
      return std::nullopt;
    ew.kind = TypeSwitch<Operation *, EwKind>(def)
                  .Case([](arith::AddFOp) { return EwKind::Add; })
                  .Case([](arith::SubFOp) { return EwKind::Sub; })
                  .Case([](arith::MulFOp) { return EwKind::Mul; })
                  .Default([](Operation *) { return EwKind::Div; });
    if (ew.kind == EwKind::Div && ew.operands[0].splat == 1.0) {
      ew.kind = EwKind::Reciprocal;
      ew.operands.erase(ew.operands.begin());
    }
  } else if (auto exp = dyn_cast<math::ExpOp>(def)) {
    auto sub = exp.getOperand().getDefiningOp<arith::SubFOp>();
    if (sub && sub->getBlock() == body) {
      expectedOps = 2;
      if (!leaf(sub.getLhs()) || !leaf(sub.getRhs()))
        return std::nullopt;
      ew.kind = EwKind::ExpSub;
    } else {
      if (!leaf(exp.getOperand()))
        return std::nullopt;
      ew.kind = EwKind::Exp;
    }
  } else if (isa<arith::ExtFOp, arith::TruncFOp>(def)) {
    if (!leaf(def->getOperand(0)))
      return std::nullopt;
    ew.kind = EwKind::Cast;
  } else if (auto select = dyn_cast<arith::SelectOp>(def)) {
    if (!leaf(select.getCondition()) || !leaf(select.getTrueValue()) ||
        !leaf(select.getFalseValue()))
      return std::nullopt;
    ew.kind = EwKind::Select;
  } else if (auto cmp = dyn_cast<arith::CmpFOp>(def)) {
    // x == -inf, x possibly widened first (torch-mlir compares in f64).
    if (cmp.getPredicate() != arith::CmpFPredicate::OEQ ||
        getSplatFloat(cmp.getRhs()) != -INFINITY)
      return std::nullopt;
    Value x = cmp.getLhs();
    if (auto ext = x.getDefiningOp<arith::ExtFOp>();
        ext && ext->getBlock() == body) {
      x = ext.getIn();
      expectedOps = 2;
    }
    if (!leaf(x))
      return std::nullopt;
    ew.kind = EwKind::IsNegInf;
  } else {
    return std::nullopt;
  }
  if (numComputeOps != expectedOps)
    return std::nullopt;
  return ew;
}

std::optional<Elementwise> matchElementwise(Value v) {
  auto result = dyn_cast_or_null<OpResult>(v);
  auto type = getTensorType(v);
  if (!result || !type)
    return std::nullopt;
  Operation *op = result.getOwner();
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
    return matchLinalgElementwise(linalgOp, v);

  Elementwise ew;
  ew.op = op;
  auto add = [&](Value x, AffineMap map) {
    EwOperand operand{x, map, getSplatFloat(x)};
    peelCopies(operand);
    ew.operands.push_back(operand);
  };
  auto addTosa = [&](Value x) {
    auto xType = getTensorType(x);
    if (!xType || xType.getRank() != type.getRank())
      return false;
    add(x, getBroadcastMap(xType, type));
    return true;
  };
  if (isa<tosa::AddOp, tosa::SubOp, tosa::MulOp>(op)) {
    if (auto mul = dyn_cast<tosa::MulOp>(op))
      if (!matchPattern(mul.getShift(), m_Zero()))
        return std::nullopt;
    if (!addTosa(op->getOperand(0)) || !addTosa(op->getOperand(1)))
      return std::nullopt;
    ew.kind = isa<tosa::AddOp>(op)   ? EwKind::Add
              : isa<tosa::SubOp>(op) ? EwKind::Sub
                                     : EwKind::Mul;
    return ew;
  }
  if (isa<tosa::ExpOp, tosa::ReciprocalOp, tosa::CastOp>(op)) {
    if (!addTosa(op->getOperand(0)))
      return std::nullopt;
    ew.kind = isa<tosa::ExpOp>(op)          ? EwKind::Exp
              : isa<tosa::ReciprocalOp>(op) ? EwKind::Reciprocal
                                            : EwKind::Cast;
    if (ew.kind == EwKind::Cast &&
        !isa<FloatType>(getTensorType(op->getOperand(0)).getElementType()))
      return std::nullopt;
    return ew;
  }
  if (isa<arith::AddFOp, arith::SubFOp, arith::MulFOp, arith::DivFOp,
          math::ExpOp, arith::ExtFOp, arith::TruncFOp>(op)) {
    AffineMap identity =
        AffineMap::getMultiDimIdentityMap(type.getRank(), op->getContext());
    for (Value operand : op->getOperands())
      add(operand, identity);
    ew.kind = TypeSwitch<Operation *, EwKind>(op)
                  .Case([](arith::AddFOp) { return EwKind::Add; })
                  .Case([](arith::SubFOp) { return EwKind::Sub; })
                  .Case([](arith::MulFOp) { return EwKind::Mul; })
                  .Case([](arith::DivFOp) { return EwKind::Div; })
                  .Case([](math::ExpOp) { return EwKind::Exp; })
                  .Default([](Operation *) { return EwKind::Cast; });
    return ew;
  }
  return std::nullopt;
}

/// True if `operand` reads a tensor of `type`'s shape element for element
/// (its `raw` value, not looking through copies or reshapes).
bool isIdentityOperand(const EwOperand &operand, RankedTensorType type) {
  return !operand.splat && operand.rawMap && operand.rawMap.isIdentity() &&
         getTensorType(operand.raw) &&
         getTensorType(operand.raw).getShape() == type.getShape();
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

enum class RedKind { Max, Add, And };

/// A reduction over one dim of `input` (linalg.reduce, a reduction
/// linalg.generic, tosa.reduce_max / reduce_sum). `keepDim`: the reduced dim
/// stays with size 1. A generic may compute more results (torch-mlir's max
/// also computes the argmax) if they are unused.
struct Reduction {
  Operation *op = nullptr;
  RedKind kind = RedKind::Add;
  Value input;
  int64_t dim = -1;
  bool keepDim = false;
  std::optional<double> init;
  bool initTrue = false; // RedKind::And
};

/// The combiner of result `index` of a reduction body whose operands are
/// `numInputs` inputs then the inits: `in0 op init_index`.
std::optional<RedKind> matchCombiner(Block *body, unsigned index,
                                     unsigned numInputs) {
  auto yield = dyn_cast<linalg::YieldOp>(body->getTerminator());
  if (!yield || index >= yield.getNumOperands() ||
      body->getNumArguments() != numInputs + yield.getNumOperands())
    return std::nullopt;
  // With one result, the body is the combiner alone.
  if (yield.getNumOperands() == 1 &&
      !llvm::hasSingleElement(body->without_terminator()))
    return std::nullopt;
  Operation *def = yield.getOperand(index).getDefiningOp();
  if (!def || def->getBlock() != body || def->getNumOperands() != 2)
    return std::nullopt;
  Value a = def->getOperand(0), b = def->getOperand(1);
  Value in = body->getArgument(0), acc = body->getArgument(numInputs + index);
  if (!((a == in && b == acc) || (a == acc && b == in)) || numInputs != 1)
    return std::nullopt;
  if (isa<arith::AddFOp>(def))
    return RedKind::Add;
  if (isa<arith::MaximumFOp, arith::MaxNumFOp>(def))
    return RedKind::Max;
  if (isa<arith::AndIOp>(def))
    return RedKind::And;
  return std::nullopt;
}

std::optional<Reduction> matchReduction(Value v) {
  auto result = dyn_cast_or_null<OpResult>(v);
  if (!result)
    return std::nullopt;
  Operation *op = result.getOwner();
  Reduction red;
  red.op = op;
  auto initOf = [&](Value init) {
    red.init = getSplatFloat(init);
    if (auto fill = init.getDefiningOp<linalg::FillOp>())
      red.initTrue = matchPattern(fill.getInputs()[0], m_One());
    else
      red.initTrue = matchPattern(init, m_One());
  };
  if (auto reduce = dyn_cast<linalg::ReduceOp>(op)) {
    if (reduce.getInputs().size() != 1 || reduce.getDimensions().size() != 1 ||
        op->getNumResults() != 1)
      return std::nullopt;
    std::optional<RedKind> kind = matchCombiner(reduce.getBlock(), 0, 1);
    if (!kind)
      return std::nullopt;
    red.kind = *kind;
    red.input = reduce.getInputs()[0];
    red.dim = reduce.getDimensions()[0];
    initOf(reduce.getInits()[0]);
    return red;
  }
  if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
    unsigned index = result.getResultNumber();
    if (generic.getNumDpsInputs() != 1 || generic.getNumReductionLoops() != 1)
      return std::nullopt;
    // Other results (an argmax) must be unused.
    for (OpResult other : op->getResults())
      if (other != result && !other.use_empty())
        return std::nullopt;
    std::optional<RedKind> kind = matchCombiner(generic.getBody(), index, 1);
    if (!kind)
      return std::nullopt;
    SmallVector<unsigned> reductionDims;
    generic.getReductionDims(reductionDims);
    unsigned r = reductionDims[0];
    AffineMap inMap =
        generic.getMatchingIndexingMap(generic.getDpsInputOperand(0));
    AffineMap outMap =
        generic.getMatchingIndexingMap(generic.getDpsInitOperand(index));
    if (!inMap.isIdentity())
      return std::nullopt;
    // The result keeps every other dim in order, and the reduced one either
    // dropped or as a size-1 dim read at 0.
    unsigned n = generic.getNumLoops();
    MLIRContext *ctx = op->getContext();
    SmallVector<AffineExpr> dropped, kept;
    for (unsigned i = 0; i < n; ++i) {
      if (i != r)
        dropped.push_back(getAffineDimExpr(i, ctx));
      kept.push_back(i == r ? getAffineConstantExpr(0, ctx)
                            : getAffineDimExpr(i, ctx));
    }
    if (outMap == AffineMap::get(n, 0, dropped, ctx))
      red.keepDim = false;
    else if (outMap == AffineMap::get(n, 0, kept, ctx))
      red.keepDim = true;
    else
      return std::nullopt;
    red.kind = *kind;
    red.input = generic.getDpsInputOperand(0)->get();
    red.dim = r;
    initOf(generic.getDpsInitOperand(index)->get());
    return red;
  }
  if (isa<tosa::ReduceMaxOp, tosa::ReduceSumOp>(op)) {
    red.kind = isa<tosa::ReduceMaxOp>(op) ? RedKind::Max : RedKind::Add;
    red.input = op->getOperand(0);
    red.dim = isa<tosa::ReduceMaxOp>(op)
                  ? cast<tosa::ReduceMaxOp>(op).getAxis()
                  : cast<tosa::ReduceSumOp>(op).getAxis();
    red.keepDim = true;
    // tosa reductions start from the identity of their combiner.
    red.init = red.kind == RedKind::Add ? 0.0 : -INFINITY;
    return red;
  }
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

/// A contraction C[out] = sum_k A[lhs] * B[rhs] with maps over its loops.
struct Contraction {
  Operation *op = nullptr;
  Value lhs, rhs;
  AffineMap lhsMap, rhsMap, outMap;
  SmallVector<unsigned> batch;
  unsigned m = 0, n = 0, k = 0;
  unsigned numLoops = 0;
};

bool isContractionLike(Operation *op) {
  if (isa<tosa::MatMulOp>(op))
    return true;
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  return linalgOp && linalg::isaContractionOpInterface(linalgOp);
}

/// Linalg contractions (named or generic) with one m, n and k dim and a
/// zero init, and tosa.matmul. `why` says what disqualified a contraction.
FailureOr<Contraction> matchContraction(Operation *op, std::string &why) {
  Contraction c;
  c.op = op;
  if (auto matmul = dyn_cast<tosa::MatMulOp>(op)) {
    // Only integer tosa.matmuls have non-zero zero points, and integer
    // scores or probabilities are no softmax's.
    std::optional<double> azp = getSplatFloat(matmul.getAZp());
    std::optional<double> bzp = getSplatFloat(matmul.getBZp());
    if (azp != 0.0 || bzp != 0.0)
      return failure();
    MLIRContext *ctx = op->getContext();
    AffineExpr b, m, n, k;
    bindDims(ctx, b, m, n, k);
    c.lhs = matmul.getA();
    c.rhs = matmul.getB();
    c.lhsMap = AffineMap::get(4, 0, {b, m, k}, ctx);
    c.rhsMap = AffineMap::get(4, 0, {b, k, n}, ctx);
    c.outMap = AffineMap::get(4, 0, {b, m, n}, ctx);
    c.batch = {0};
    c.m = 1;
    c.n = 2;
    c.k = 3;
    c.numLoops = 4;
    return c;
  }
  // Callers check isContractionLike first: two inputs, one init, maps
  // that are projected permutations.
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  if (!linalgOp || !linalg::isaContractionOpInterface(linalgOp) ||
      linalgOp.getNumDpsInputs() != 2 || op->getNumResults() != 1)
    return failure();
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(linalgOp);
  if (failed(dims) || dims->m.size() != 1 || dims->n.size() != 1 ||
      dims->k.size() != 1) {
    why = "the contraction does not have exactly one M, N and K dim";
    return failure();
  }
  if (getSplatFloat(linalgOp.getDpsInitOperand(0)->get()) != 0.0) {
    why = "the contraction accumulates into a tensor that is not zero";
    return failure();
  }
  c.lhs = linalgOp.getDpsInputOperand(0)->get();
  c.rhs = linalgOp.getDpsInputOperand(1)->get();
  c.lhsMap = linalgOp.getMatchingIndexingMap(linalgOp.getDpsInputOperand(0));
  c.rhsMap = linalgOp.getMatchingIndexingMap(linalgOp.getDpsInputOperand(1));
  c.outMap = linalgOp.getMatchingIndexingMap(linalgOp.getDpsInitOperand(0));
  c.batch.assign(dims->batch.begin(), dims->batch.end());
  c.m = dims->m[0];
  c.n = dims->n[0];
  c.k = dims->k[0];
  c.numLoops = linalgOp.getNumLoops();
  return c;
}

//===----------------------------------------------------------------------===//
// Atoms: digits of the flattened batch index
//===----------------------------------------------------------------------===//

/// A digit of the flattened batch index. Atoms are split into finer atoms
/// (major first) when a reshape groups batch dims differently.
struct Atom {
  int64_t size = 1; // static, or ShapedType::kDynamic
  SmallVector<unsigned, 2> parts;
  /// A tensor dim of this size, for dynamic sizes.
  Value sizeOf;
  int64_t sizeDim = -1;
};

class AtomTable {
public:
  unsigned create(int64_t size, Value sizeOf = {}, int64_t sizeDim = -1) {
    atoms.push_back(Atom{size, {}, sizeOf, sizeDim});
    return atoms.size() - 1;
  }
  int64_t size(unsigned a) const { return atoms[a].size; }

  /// The finest atoms `list` stands for, major first, without size-1 atoms.
  SmallVector<unsigned> leaves(ArrayRef<unsigned> list) const {
    SmallVector<unsigned> result;
    for (unsigned a : list) {
      if (atoms[a].parts.empty()) {
        if (atoms[a].size != 1)
          result.push_back(a);
        continue;
      }
      result.append(leaves(atoms[a].parts));
    }
    return result;
  }

  /// Splits the atoms of `list` into consecutive groups of the sizes
  /// `sizes` (of dims of `tensor`, for their dynamic sizes), splitting atoms
  /// where a group ends inside one. Fails if the sizes do not divide the
  /// atoms that way, or if that needs a dynamic size to be split.
  std::optional<SmallVector<SmallVector<unsigned>>>
  split(ArrayRef<unsigned> list, ArrayRef<int64_t> sizes, Value tensor,
        ArrayRef<int64_t> tensorDims) {
    SmallVector<unsigned> queue = leaves(list);
    std::reverse(queue.begin(), queue.end()); // pop_back is the major atom
    SmallVector<SmallVector<unsigned>> groups;
    for (auto [size, dim] : llvm::zip_equal(sizes, tensorDims)) {
      SmallVector<unsigned> group;
      if (ShapedType::isDynamic(size)) {
        // A dynamic dim takes one whole dynamic atom (the static sizes
        // around it have been matched exactly).
        if (queue.empty() || !ShapedType::isDynamic(atoms[queue.back()].size))
          return std::nullopt;
        group.push_back(queue.pop_back_val());
        if (!atoms[group[0]].sizeOf) {
          atoms[group[0]].sizeOf = tensor;
          atoms[group[0]].sizeDim = dim;
        }
        groups.push_back(group);
        continue;
      }
      int64_t product = 1;
      while (product < size) {
        if (queue.empty())
          return std::nullopt;
        unsigned a = queue.back();
        int64_t s = atoms[a].size;
        if (ShapedType::isDynamic(s) || size % product != 0)
          return std::nullopt;
        int64_t need = size / product;
        if (s <= need) {
          if (need % s != 0)
            return std::nullopt;
          queue.pop_back();
          group.push_back(a);
          product *= s;
          continue;
        }
        if (s % need != 0)
          return std::nullopt;
        // Split a into [need, s / need]: the major part ends this group.
        unsigned major = create(need), minor = create(s / need);
        atoms[a].parts = {major, minor};
        queue.pop_back();
        queue.push_back(minor);
        group.push_back(major);
        product *= need;
      }
      if (product != size)
        return std::nullopt;
      groups.push_back(group);
    }
    if (!queue.empty())
      return std::nullopt;
    return groups;
  }

  /// The size of `list` as an index value.
  OpFoldResult getSize(OpBuilder &b, Location loc,
                       ArrayRef<unsigned> list) const {
    int64_t product = 1;
    Value dynamic;
    for (unsigned a : leaves(list)) {
      const Atom &atom = atoms[a];
      if (!ShapedType::isDynamic(atom.size)) {
        product *= atom.size;
        continue;
      }
      Value size = tensor::DimOp::create(b, loc, atom.sizeOf, atom.sizeDim);
      dynamic = dynamic ? arith::MulIOp::create(b, loc, dynamic, size) : size;
    }
    if (!dynamic)
      return b.getIndexAttr(product);
    if (product != 1)
      dynamic = arith::MulIOp::create(
          b, loc, dynamic, arith::ConstantIndexOp::create(b, loc, product));
    return dynamic;
  }

  int64_t getStaticSize(ArrayRef<unsigned> list) const {
    int64_t product = 1;
    for (unsigned a : leaves(list)) {
      if (ShapedType::isDynamic(atoms[a].size))
        return ShapedType::kDynamic;
      product *= atoms[a].size;
    }
    return product;
  }

private:
  SmallVector<Atom> atoms;
};

//===----------------------------------------------------------------------===//
// Views: what each dim of a tensor of the pattern is
//===----------------------------------------------------------------------===//

enum class Role { Batch, Query, Key, Head, Value };

/// One dim: a batch dim made of atoms (none: a unit dim), or a query / key
/// position, or the head dim of Q and K, or the value dim of V.
struct DimView {
  Role role = Role::Batch;
  SmallVector<unsigned, 2> atoms;
};
using View = SmallVector<DimView, 4>;

bool isBatch(const DimView &d) { return d.role == Role::Batch; }

/// The view of the source of `map` (a projected permutation with constant
/// zeros for unit dims) when its result dims have `view`.
std::optional<View> viewThroughMap(AffineMap map, const View &view) {
  View result;
  for (AffineExpr expr : map.getResults()) {
    if (auto dim = dyn_cast<AffineDimExpr>(expr)) {
      if (dim.getPosition() >= view.size())
        return std::nullopt;
      result.push_back(view[dim.getPosition()]);
      continue;
    }
    auto cst = dyn_cast<AffineConstantExpr>(expr);
    if (!cst || cst.getValue() != 0)
      return std::nullopt;
    result.push_back(DimView{}); // a unit dim
  }
  return result;
}

/// A tensor that an operand of the pattern reads through reshapes,
/// transposes, splat scales and broadcasts, with the view of its dims.
struct Leaf {
  Value base;
  View view;
  double scale = 1.0;
  /// Batch atoms the operand has and `base` does not (repeated K / V heads,
  /// a mask broadcast along batch or heads).
  SmallVector<unsigned> broadcast = {};
  /// A mask broadcast along the queries.
  bool queryBroadcast = false;
};

enum WalkFlags : unsigned {
  kPeelScale = 1,     // fold splat multiplies / divides into `scale`
  kPeelBroadcast = 2, // read through broadcasts of batch dims (and queries)
};

/// The view of the source of a reshape whose result has `view`: `groups`
/// are the source dims of each result dim (collapse) or the result dims of
/// each source dim (expand).
std::optional<View> viewThroughCollapse(AtomTable &atoms, const View &view,
                                        ArrayRef<ReassociationIndices> groups,
                                        Value source) {
  auto type = getTensorType(source);
  View result(type.getRank());
  for (auto [i, group] : llvm::enumerate(groups)) {
    const DimView &d = view[i];
    if (isBatch(d)) {
      SmallVector<int64_t> sizes, dims;
      for (int64_t j : group) {
        sizes.push_back(type.getDimSize(j));
        dims.push_back(j);
      }
      std::optional<SmallVector<SmallVector<unsigned>>> parts =
          atoms.split(d.atoms, sizes, source, dims);
      if (!parts)
        return std::nullopt;
      for (auto [j, part] : llvm::zip_equal(group, *parts))
        result[j] = DimView{Role::Batch,
                            SmallVector<unsigned, 2>(part.begin(), part.end())};
      continue;
    }
    // A position or head dim: one source dim of the group has it, the
    // others are unit dims.
    int64_t kept = -1;
    for (int64_t j : group) {
      if (type.getDimSize(j) == 1)
        continue;
      if (kept != -1)
        return std::nullopt;
      kept = j;
    }
    if (kept == -1)
      kept = group.back();
    for (int64_t j : group)
      result[j] = j == kept ? d : DimView{};
  }
  return result;
}

std::optional<View> viewThroughExpand(const View &view,
                                      ArrayRef<ReassociationIndices> groups,
                                      RankedTensorType resultType) {
  View result;
  for (const ReassociationIndices &group : groups) {
    DimView combined;
    int64_t roleDim = -1;
    for (int64_t r : group) {
      const DimView &d = view[r];
      if (isBatch(d)) {
        combined.atoms.append(d.atoms.begin(), d.atoms.end());
        continue;
      }
      if (roleDim != -1)
        return std::nullopt;
      roleDim = r;
    }
    if (roleDim != -1) {
      // A position or head dim may only come with unit dims.
      for (int64_t r : group)
        if (r != roleDim && (!isBatch(view[r]) || !view[r].atoms.empty() ||
                             resultType.getDimSize(r) != 1))
          return std::nullopt;
      combined = view[roleDim];
    }
    result.push_back(combined);
  }
  return result;
}

/// The reassociation of a static tosa.reshape that only collapses (or only
/// expands) dims.
std::optional<SmallVector<ReassociationIndices>>
getTosaReassociation(tosa::ReshapeOp reshape, bool &isCollapse) {
  auto src = getTensorType(reshape.getInput1());
  auto dst = getTensorType(reshape.getResult());
  if (!src || !dst || !src.hasStaticShape() || !dst.hasStaticShape())
    return std::nullopt;
  if (src.getRank() >= dst.getRank()) {
    isCollapse = true;
    return getReassociationIndicesForCollapse(src.getShape(), dst.getShape());
  }
  isCollapse = false;
  return getReassociationIndicesForCollapse(dst.getShape(), src.getShape());
}

/// One step back from `leaf.base` through a reshape, transpose, copy,
/// broadcast or splat scale (as `flags` allow). False if there is none.
bool walkStep(AtomTable &atoms, Leaf &leaf, unsigned flags) {
  Value v = leaf.base;
  auto type = getTensorType(v);
  if (!type)
    return false;
  // Splat scales.
  if (flags & kPeelScale) {
    std::optional<Elementwise> ew = matchElementwise(v);
    if (ew && (ew->kind == EwKind::Mul || ew->kind == EwKind::Div)) {
      const EwOperand &a = ew->operands[0], &b = ew->operands[1];
      std::optional<double> factor;
      Value next;
      if (isIdentityOperand(a, type) && b.splat) {
        factor = ew->kind == EwKind::Mul ? *b.splat : 1.0 / *b.splat;
        next = a.raw;
      } else if (ew->kind == EwKind::Mul && isIdentityOperand(b, type) &&
                 a.splat) {
        factor = *a.splat;
        next = b.raw;
      }
      if (factor && std::isfinite(*factor) && *factor != 0.0 &&
          getTensorType(next) == type) {
        leaf.scale *= *factor;
        leaf.base = next;
        return true;
      }
    }
  }
  // Reshapes.
  if (auto collapse = v.getDefiningOp<tensor::CollapseShapeOp>()) {
    std::optional<View> view = viewThroughCollapse(
        atoms, leaf.view, collapse.getReassociationIndices(),
        collapse.getSrc());
    if (!view)
      return false;
    leaf.view = *view;
    leaf.base = collapse.getSrc();
    return true;
  }
  if (auto expand = v.getDefiningOp<tensor::ExpandShapeOp>()) {
    std::optional<View> view = viewThroughExpand(
        leaf.view, expand.getReassociationIndices(), expand.getResultType());
    if (!view)
      return false;
    leaf.view = *view;
    leaf.base = expand.getSrc();
    return true;
  }
  if (auto reshape = v.getDefiningOp<tosa::ReshapeOp>()) {
    bool isCollapse = false;
    std::optional<SmallVector<ReassociationIndices>> groups =
        getTosaReassociation(reshape, isCollapse);
    if (!groups)
      return false;
    std::optional<View> view =
        isCollapse ? viewThroughCollapse(atoms, leaf.view, *groups,
                                         reshape.getInput1())
                   : viewThroughExpand(leaf.view, *groups, type);
    if (!view)
      return false;
    leaf.view = *view;
    leaf.base = reshape.getInput1();
    return true;
  }
  if (auto transpose = v.getDefiningOp<tosa::TransposeOp>()) {
    // Result dim i is input dim perms[i].
    ArrayRef<int32_t> perms = transpose.getPerms();
    View view(leaf.view.size());
    for (auto [i, p] : llvm::enumerate(perms))
      view[p] = leaf.view[i];
    leaf.view = view;
    leaf.base = transpose.getInput1();
    return true;
  }
  if (auto tile = v.getDefiningOp<tosa::TileOp>()) {
    if (!(flags & kPeelBroadcast))
      return false;
    auto inType = getTensorType(tile.getInput1());
    View view(leaf.view);
    SmallVector<unsigned> repeated;
    for (int64_t i = 0; i < type.getRank(); ++i) {
      int64_t in = inType.getDimSize(i), out = type.getDimSize(i);
      if (in == out)
        continue;
      // The result repeats the input `out / in` times: the major digit is
      // the repeat.
      if (!isBatch(leaf.view[i]) || ShapedType::isDynamic(in) ||
          ShapedType::isDynamic(out))
        return false;
      std::optional<SmallVector<SmallVector<unsigned>>> parts =
          atoms.split(leaf.view[i].atoms, {out / in, in}, v, {i, i});
      if (!parts)
        return false;
      repeated.append((*parts)[0]);
      view[i] =
          DimView{Role::Batch, SmallVector<unsigned, 2>((*parts)[1].begin(),
                                                        (*parts)[1].end())};
    }
    leaf.broadcast.append(repeated);
    leaf.view = view;
    leaf.base = tile.getInput1();
    return true;
  }
  // Copies: transposes, broadcasts (linalg.broadcast, generics).
  std::optional<Elementwise> copy = matchElementwise(v);
  if (!copy || copy->kind != EwKind::Copy || copy->operands[0].splat)
    return false;
  AffineMap map = copy->operands[0].map;
  if (!map || map.getNumDims() != leaf.view.size())
    return false;
  std::optional<View> view = viewThroughMap(map, leaf.view);
  if (!view)
    return false;
  // Result dims the source does not have, or has with size 1, are
  // broadcast.
  SmallVector<bool> read(map.getNumDims(), false);
  for (AffineExpr expr : map.getResults())
    if (auto dim = dyn_cast<AffineDimExpr>(expr)) {
      if (read[dim.getPosition()])
        return false; // a diagonal
      read[dim.getPosition()] = true;
    }
  SmallVector<unsigned> repeated;
  bool queries = false;
  for (auto [i, d] : llvm::enumerate(leaf.view)) {
    if (read[i])
      continue;
    if (!(flags & kPeelBroadcast))
      return false;
    if (isBatch(d))
      repeated.append(d.atoms.begin(), d.atoms.end());
    else if (d.role == Role::Query)
      queries = true;
    else
      return false; // broadcast along keys or channels
  }
  leaf.broadcast.append(repeated);
  leaf.queryBroadcast |= queries;
  leaf.view = *view;
  leaf.base = copy->operands[0].value;
  return true;
}

Leaf walkBack(AtomTable &atoms, Value v, const View &view, unsigned flags) {
  Leaf leaf{v, view};
  while (walkStep(atoms, leaf, flags)) {
  }
  return leaf;
}

//===----------------------------------------------------------------------===//
// The attention pattern
//===----------------------------------------------------------------------===//

/// Where the batch dims of an operand go in kvq.attention's [B, H]: the
/// permutation of its base that puts unit dims, batch dims (in frame order),
/// the position dim and the last dim in that order.
struct OperandLayout {
  SmallVector<int64_t> perm;
  int64_t numLeading = 0; // unit and batch dims
  bool hasSeq = true;
};

/// What the matcher proved about one P V contraction.
struct Plan {
  Operation *pv = nullptr;
  /// The softmax (linalg.softmax or the exponential) of the pattern.
  Operation *anchor = nullptr;
  llvm::SetVector<Operation *> chain; // ops replaced by kvq.attention
  AtomTable atoms;
  SmallVector<unsigned> frame; // the P V batch loops' atoms, in loop order
  Leaf q, k, v;
  /// K / V read through their GQA repeat, and without it.
  Leaf kGrouped, vGrouped, kPlain, vPlain;
  std::optional<Leaf> mask;
  /// The mask as the add op reads it, for when its broadcasts cannot be
  /// kept: it is then materialized at the scores' shape.
  std::optional<EwOperand> maskRead;
  View maskAddView;
  Value maskAddValue; // the result of the add op

  bool maskFull = false;
  double scale = 1.0;
  /// Scales applied after the mask multiply it too.
  double maskScale = 1.0;
  View out; // the P V result
  Type elementType;
  // Decided by `decide()`.
  SmallVector<unsigned> leaves; // the frame's leaves
  SmallVector<unsigned> repeat; // the GQA repeat (a suffix of `leaves`)
  int64_t split = 0;            // leaves [0, split) are kvq's B
  OperandLayout qLayout, kLayout, vLayout, maskLayout, outLayout;
};

class AttentionMatcher {
public:
  explicit AttentionMatcher(Plan &plan) : plan(plan) {}

  /// Set once the P V contraction is known to consume a softmax: a failure
  /// then has a reason worth a remark.
  bool candidate = false;
  std::string reason;

  LogicalResult match(Operation *op);

private:
  LogicalResult fail(const Twine &why) {
    reason = why.str();
    return failure();
  }
  /// A check that the forms recognized so far cannot fail: still a remark.
  LogicalResult unexpected(const Twine &what) {
    return fail("unexpected: " + what + " (please report this with the input)");
  }
  LogicalResult walkProbabilities(Value p, View view, Value &softmax,
                                  View &softmaxView);
  LogicalResult matchSoftmax(Value p, const View &view, Value &x);
  LogicalResult matchScores(Value x, View view, Contraction &qk,
                            View &scoresView);
  LogicalResult matchMask(const EwOperand &mask, const View &addView);
  bool isRowBroadcast(const EwOperand &operand, Value reduced,
                      RankedTensorType full, int64_t keyDim);
  LogicalResult checkLeaf(const Leaf &leaf, StringRef name, Role seq, Role last,
                          ArrayRef<unsigned> absent, OperandLayout &layout,
                          bool seqOptional, RankedTensorType type = {});
  LogicalResult decide();
  LogicalResult checkUses();

  Plan &plan;
  /// The scores that the all-masked guard compares with -inf, if any.
  Value guardScores;
};

/// The size of loop `l` of a contraction, and a tensor dim of that size.
std::tuple<int64_t, Value, int64_t> getLoopSize(const Contraction &c,
                                                unsigned l) {
  auto find =
      [&](Value value,
          AffineMap map) -> std::optional<std::tuple<int64_t, Value, int64_t>> {
    std::optional<unsigned> pos =
        map.getResultPosition(getAffineDimExpr(l, map.getContext()));
    if (!pos)
      return std::nullopt;
    return std::make_tuple(getTensorType(value).getDimSize(*pos), value,
                           static_cast<int64_t>(*pos));
  };
  if (auto found = find(c.lhs, c.lhsMap))
    return *found;
  if (auto found = find(c.rhs, c.rhsMap))
    return *found;
  if (auto found = find(c.op->getResult(0), c.outMap))
    return *found;
  return {ShapedType::kDynamic, Value(), -1};
}

/// The view of a contraction operand read through `map` from loops with
/// `loops` views.
View viewOfOperand(AffineMap map, ArrayRef<DimView> loops) {
  View view;
  for (AffineExpr expr : map.getResults())
    view.push_back(loops[cast<AffineDimExpr>(expr).getPosition()]);
  return view;
}

int64_t findRole(const View &view, Role role) {
  for (auto [i, d] : llvm::enumerate(view))
    if (d.role == role)
      return i;
  return -1;
}

/// The softmax-like op that `p` is computed from through the steps allowed
/// between a softmax and P V (float casts, reshapes, the all-masked guard),
/// if any: a linalg.softmax, or the exponential that is divided by its row
/// sums. A contraction that consumes one is a candidate for a remark.
Operation *findSoftmaxBackward(Value p) {
  for (int steps = 0; p && steps < 16; ++steps) {
    Operation *def = p.getDefiningOp();
    if (!def)
      return nullptr;
    if (isa<linalg::SoftmaxOp>(def))
      return def;
    if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp, tosa::ReshapeOp>(
            def)) {
      p = def->getOperand(0);
      continue;
    }
    std::optional<Elementwise> ew = matchElementwise(p);
    if (!ew)
      return nullptr;
    if (ew->kind == EwKind::Cast) {
      p = ew->operands[0].raw;
      continue;
    }
    if (ew->kind == EwKind::Select) {
      p = ew->operands[2].raw;
      continue;
    }
    if (ew->kind != EwKind::Div && ew->kind != EwKind::Mul)
      return nullptr;
    // A normalization by a row statistic (a reduction, or its reciprocal).
    for (int i = 0; i < 2; ++i) {
      const EwOperand &r = ew->operands[i], &e = ew->operands[1 - i];
      if (r.splat || e.splat || (ew->kind == EwKind::Div && i == 0))
        continue;
      Value statistic = r.value;
      if (std::optional<Elementwise> recip = matchElementwise(statistic);
          recip && recip->kind == EwKind::Reciprocal &&
          !recip->operands[0].splat)
        statistic = recip->operands[0].value;
      if (!matchReduction(statistic))
        continue;
      std::optional<Elementwise> exp = matchElementwise(e.raw);
      if (exp && (exp->kind == EwKind::Exp || exp->kind == EwKind::ExpSub))
        return exp->op;
      return ew->op;
    }
    return nullptr;
  }
  return nullptr;
}

/// `operand` reads the row statistic `reduced` (the reduction of a tensor
/// of type `full` over `keyDim`) at every key of the row.
/// `map` (from the dims of a tensor of `shape`) with the dims of size 1
/// read as 0: reading them either way is the same.
AffineMap withUnitDimsAsZero(AffineMap map, ArrayRef<int64_t> shape) {
  SmallVector<AffineExpr> exprs;
  for (AffineExpr expr : map.getResults()) {
    auto dim = dyn_cast<AffineDimExpr>(expr);
    if (dim && dim.getPosition() < shape.size() &&
        shape[dim.getPosition()] == 1)
      expr = getAffineConstantExpr(0, map.getContext());
    exprs.push_back(expr);
  }
  return AffineMap::get(map.getNumDims(), map.getNumSymbols(), exprs,
                        map.getContext());
}

bool AttentionMatcher::isRowBroadcast(const EwOperand &given, Value reduced,
                                      RankedTensorType full, int64_t keyDim) {
  if (given.splat || given.value != reduced || !given.map)
    return false;
  EwOperand operand = given;
  operand.map = withUnitDimsAsZero(given.map, full.getShape());
  int64_t rank = full.getRank();
  MLIRContext *ctx = full.getContext();
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < rank; ++i)
    if (i != keyDim)
      exprs.push_back(getAffineDimExpr(i, ctx));
  if (operand.map ==
      withUnitDimsAsZero(AffineMap::get(rank, 0, exprs, ctx), full.getShape()))
    return true;
  // The reduced dim kept with size 1.
  exprs.clear();
  for (int64_t i = 0; i < rank; ++i)
    exprs.push_back(i == keyDim ? getAffineConstantExpr(0, ctx)
                                : getAffineDimExpr(i, ctx));
  if (operand.map ==
      withUnitDimsAsZero(AffineMap::get(rank, 0, exprs, ctx), full.getShape()))
    return getTensorType(reduced).getRank() == rank &&
           getTensorType(reduced).getDimSize(keyDim) == 1;
  // A size-1 key dim read as it is.
  return operand.map.isIdentity() && full.getDimSize(keyDim) == 1 &&
         getTensorType(reduced) == full;
}

/// From the P V contraction's left operand back to the softmax: float
/// casts, reshapes of batch dims, and the guard that zeroes rows whose
/// scores are all -inf (PyTorch's decomposition of scaled_dot_product_
/// attention), which is kvq.attention's convention.
LogicalResult AttentionMatcher::walkProbabilities(Value p, View view,
                                                  Value &softmax,
                                                  View &softmaxView) {
  std::optional<EwOperand> guard;
  while (true) {
    auto type = getTensorType(p);
    Operation *def = p.getDefiningOp();
    if (isa_and_nonnull<tensor::CollapseShapeOp, tensor::ExpandShapeOp,
                        tosa::ReshapeOp>(def)) {
      Leaf leaf{p, view};
      if (!walkStep(plan.atoms, leaf, /*flags=*/0))
        return fail("the probabilities are reshaped other than by splitting "
                    "or merging batch dims ('" +
                    def->getName().getStringRef() + "')");
      plan.chain.insert(def);
      p = leaf.base;
      view = leaf.view;
      continue;
    }
    std::optional<Elementwise> ew = matchElementwise(p);
    if (ew && ew->kind == EwKind::Cast &&
        isIdentityOperand(ew->operands[0], type)) {
      plan.chain.insert(ew->op);
      p = ew->operands[0].raw;
      continue;
    }
    if (ew && ew->kind == EwKind::Select && !guard) {
      // select(all of the row's scores are -inf, 0, softmax)
      const EwOperand &cond = ew->operands[0], &zero = ew->operands[1],
                      &value = ew->operands[2];
      if (zero.splat != 0.0 || !isIdentityOperand(value, type))
        return fail("the probabilities are selected from something other "
                    "than zero and the softmax");
      plan.chain.insert(ew->op);
      plan.chain.insert(cond.copies.begin(), cond.copies.end());
      guard = cond;
      p = value.raw;
      continue;
    }
    break;
  }
  softmax = p;
  softmaxView = view;
  if (guard) {
    // The condition: every score of the row is -inf, i.e. an and-reduction
    // (from true) over the key dim of `x == -inf`, read per row. The scores
    // compared must be the softmax input: checked in match().
    std::optional<Reduction> all = matchReduction(guard->value);
    int64_t keyDim = findRole(view, Role::Key);
    if (!all || all->kind != RedKind::And || !all->initTrue ||
        all->dim != keyDim ||
        !isRowBroadcast(*guard, guard->value, getTensorType(p), keyDim))
      return fail("the probabilities are zeroed under a condition other "
                  "than all the row's scores being -inf");
    std::optional<Elementwise> isInf = matchElementwise(all->input);
    if (!isInf || isInf->kind != EwKind::IsNegInf ||
        !isIdentityOperand(isInf->operands[0], getTensorType(p)))
      return fail("the probabilities are zeroed under a condition other "
                  "than all the row's scores being -inf");
    plan.chain.insert(all->op);
    plan.chain.insert(isInf->op);
    guardScores = isInf->operands[0].raw;
  }
  return success();
}

LogicalResult AttentionMatcher::matchSoftmax(Value p, const View &view,
                                             Value &x) {
  auto type = getTensorType(p);
  int64_t keyDim = findRole(view, Role::Key);
  if (auto softmax = p.getDefiningOp<linalg::SoftmaxOp>()) {
    plan.chain.insert(softmax);
    if (static_cast<int64_t>(softmax.getDimension()) != keyDim)
      return fail("linalg.softmax normalizes dim " +
                  Twine(softmax.getDimension()) + ", not the key dim " +
                  Twine(keyDim) + " that P V reduces over");
    x = softmax.getInput();
    return success();
  }

  // P = E / sum(E) or E * (1 / sum(E)).
  std::optional<Elementwise> norm = matchElementwise(p);
  if (!norm || (norm->kind != EwKind::Div && norm->kind != EwKind::Mul))
    return fail("the probabilities are not a softmax");
  plan.chain.insert(norm->op);
  const EwOperand *e = &norm->operands[0], *r = &norm->operands[1];
  if (norm->kind == EwKind::Mul && !isIdentityOperand(*e, type))
    std::swap(e, r);
  if (!isIdentityOperand(*e, type) || r->splat)
    return fail("the probabilities are not a softmax: expected the "
                "exponentials divided by their row sums");
  Value sum = r->value;
  if (norm->kind == EwKind::Mul) {
    std::optional<Elementwise> recip = matchElementwise(r->value);
    if (!recip || recip->kind != EwKind::Reciprocal ||
        !isIdentityOperand(recip->operands[0], getTensorType(r->value)))
      return fail("the probabilities are not a softmax: expected the "
                  "exponentials times the reciprocal of their row sums");
    plan.chain.insert(recip->op);
    sum = recip->operands[0].raw;
  }
  std::optional<Reduction> sumRed = matchReduction(sum);
  if (!sumRed || sumRed->kind != RedKind::Add || sumRed->input != e->raw)
    return fail("the softmax denominator is not a sum of its numerators");
  plan.chain.insert(sumRed->op);
  if (sumRed->dim != keyDim)
    return fail("the softmax sums over dim " + Twine(sumRed->dim) +
                ", not the key dim " + Twine(keyDim) +
                " that P V reduces over");
  if (sumRed->init != 0.0)
    return fail("the softmax sum does not start from zero");
  // The sum's result, after a reciprocal when there is one, must be read
  // per row.
  if (!isRowBroadcast(*r, r->value, type, keyDim))
    return fail("the softmax denominator is not broadcast along the key dim");
  plan.chain.insert(r->copies.begin(), r->copies.end());

  // E = exp(X - max(X)) or exp(X).
  std::optional<Elementwise> exp = matchElementwise(e->raw);
  if (!exp || (exp->kind != EwKind::Exp && exp->kind != EwKind::ExpSub))
    return fail("the softmax numerator is not an exponential");
  plan.chain.insert(exp->op);
  EwOperand arg = exp->operands[0];
  std::optional<EwOperand> sub;
  if (exp->kind == EwKind::ExpSub) {
    sub = exp->operands[1];
  } else if (std::optional<Elementwise> s = matchElementwise(arg.raw);
             s && s->kind == EwKind::Sub && isIdentityOperand(arg, type) &&
             isIdentityOperand(s->operands[0], type) && !s->operands[1].splat) {
    if (std::optional<Reduction> m = matchReduction(s->operands[1].value);
        m && m->kind == RedKind::Max) {
      plan.chain.insert(s->op);
      arg = s->operands[0];
      sub = s->operands[1];
    }
  }
  if (!isIdentityOperand(arg, type))
    return fail("the softmax exponentiates a broadcast or constant");
  x = arg.raw;
  if (sub) {
    // Softmax is invariant to a per-row shift, so the subtrahend may be any
    // row max of X (any init no larger than the type's lowest value).
    std::optional<Reduction> max = matchReduction(sub->value);
    if (!max || max->kind != RedKind::Max || max->input != x)
      return fail("the softmax subtracts something other than the row max");
    plan.chain.insert(max->op);
    if (max->dim != keyDim)
      return fail("the softmax subtracts the max over dim " + Twine(max->dim) +
                  ", not the key dim " + Twine(keyDim));
    auto elementType = cast<FloatType>(type.getElementType());
    double lowest =
        APFloat::getLargest(elementType.getFloatSemantics(), /*Negative=*/true)
            .convertToDouble();
    if (!max->init || *max->init > lowest)
      return fail("the softmax row max starts from a value above the "
                  "lowest finite value");
    if (!isRowBroadcast(*sub, sub->value, type, keyDim))
      return fail("the softmax row max is not broadcast along the key dim");
    plan.chain.insert(sub->copies.begin(), sub->copies.end());
  }
  return success();
}

/// Whether `v` reaches a contraction through the steps matchScores takes
/// (to tell the scores from the mask in `scores + mask`).
bool reachesContraction(Value v) {
  for (int steps = 0; v && steps < 16; ++steps) {
    Operation *def = v.getDefiningOp();
    if (!def)
      return false;
    if (isContractionLike(def))
      return true;
    if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp, tosa::ReshapeOp>(
            def)) {
      v = def->getOperand(0);
      continue;
    }
    std::optional<Elementwise> ew = matchElementwise(v);
    if (!ew)
      return false;
    if (ew->kind == EwKind::Cast) {
      v = ew->operands[0].raw;
    } else if (ew->kind == EwKind::Mul || ew->kind == EwKind::Div) {
      v = ew->operands[0].splat ? ew->operands[1].raw : ew->operands[0].raw;
    } else if (ew->kind == EwKind::Add) {
      return reachesContraction(ew->operands[0].raw) ||
             reachesContraction(ew->operands[1].raw);
    } else {
      return false;
    }
  }
  return false;
}

/// From the softmax input back to the Q K^T contraction: splat scales
/// (before and after the mask), one additive mask, float casts, reshapes
/// of batch dims.
LogicalResult AttentionMatcher::matchScores(Value x, View view, Contraction &qk,
                                            View &scoresView) {
  Value v = x;
  bool masked = false;
  while (true) {
    auto type = getTensorType(v);
    Operation *def = v.getDefiningOp();
    if (!def)
      return fail("the softmax input is not computed from a contraction of "
                  "queries and keys");
    if (isContractionLike(def)) {
      std::string why;
      FailureOr<Contraction> c = matchContraction(def, why);
      if (failed(c))
        return fail("scores: " + why);
      plan.chain.insert(def);
      qk = *c;
      scoresView = view;
      return success();
    }
    if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp, tosa::ReshapeOp>(
            def)) {
      Leaf leaf{v, view};
      if (!walkStep(plan.atoms, leaf, /*flags=*/0))
        return fail("the scores are reshaped other than by splitting or "
                    "merging batch dims ('" +
                    def->getName().getStringRef() + "')");
      plan.chain.insert(def);
      v = leaf.base;
      view = leaf.view;
      continue;
    }
    std::optional<Elementwise> ew = matchElementwise(v);
    if (!ew)
      return fail("the scores go through '" + def->getName().getStringRef() +
                  "', which is not a scale, an additive mask, a float cast "
                  "or a reshape of batch dims");
    const EwOperand &a = ew->operands[0];
    const EwOperand *b = ew->operands.size() > 1 ? &ew->operands[1] : nullptr;
    if (ew->kind == EwKind::Cast && isIdentityOperand(a, type)) {
      plan.chain.insert(ew->op);
      v = a.raw;
      continue;
    }
    if (ew->kind == EwKind::Mul || ew->kind == EwKind::Div) {
      std::optional<double> factor;
      Value next;
      if (isIdentityOperand(a, type) && b->splat) {
        factor = ew->kind == EwKind::Mul ? *b->splat : 1.0 / *b->splat;
        next = a.raw;
      } else if (ew->kind == EwKind::Mul && isIdentityOperand(*b, type) &&
                 a.splat) {
        factor = *a.splat;
        next = b->raw;
      }
      if (!factor)
        return fail("the scores are multiplied by something other than a "
                    "splat constant");
      if (!std::isfinite(*factor) || *factor == 0.0)
        return fail("the scores are scaled by " + std::to_string(*factor));
      plan.chain.insert(ew->op);
      plan.scale *= *factor;
      // A scale applied after the mask multiplies it too.
      if (!masked)
        plan.maskScale *= *factor;
      v = next;
      continue;
    }
    if (ew->kind == EwKind::Add) {
      if (masked)
        return fail("the scores have more than one additive mask");
      const EwOperand *scores = nullptr, *mask = nullptr;
      for (int i = 0; i < 2 && !scores; ++i) {
        const EwOperand &s = ew->operands[i], &m = ew->operands[1 - i];
        if (isIdentityOperand(s, type) && reachesContraction(s.raw)) {
          scores = &s;
          mask = &m;
        }
      }
      if (!scores)
        return fail("the scores are added to something, but neither side "
                    "is the scores read element for element");
      if (mask->splat)
        return fail("the additive mask is a constant");
      plan.chain.insert(ew->op);
      plan.maskRead = *mask;
      plan.maskAddView = view;
      plan.maskAddValue = v;
      if (failed(matchMask(*mask, view)))
        return failure();
      masked = true;
      v = scores->raw;
      continue;
    }
    return fail("the scores go through '" + def->getName().getStringRef() +
                "', which is not a scale, an additive mask, a float cast or "
                "a reshape of batch dims");
  }
}

/// The mask read by the add op whose result has `addView`.
LogicalResult AttentionMatcher::matchMask(const EwOperand &mask,
                                          const View &addView) {
  std::optional<View> view = viewThroughMap(mask.map, addView);
  if (!view)
    return fail("the mask is not broadcastable to the scores");
  Leaf leaf{mask.value, *view};
  // Dims of the scores the mask does not read are broadcast.
  SmallVector<bool> read(addView.size(), false);
  for (AffineExpr expr : mask.map.getResults())
    if (auto dim = dyn_cast<AffineDimExpr>(expr)) {
      if (read[dim.getPosition()])
        return fail("the mask is not broadcastable to the scores");
      read[dim.getPosition()] = true;
    }
  for (auto [i, d] : llvm::enumerate(addView)) {
    if (read[i])
      continue;
    if (isBatch(d))
      leaf.broadcast.append(d.atoms.begin(), d.atoms.end());
    else if (d.role == Role::Query)
      leaf.queryBroadcast = true;
    else
      return fail("the mask is broadcast along the key dim");
  }
  Leaf walked = walkBack(plan.atoms, leaf.base, leaf.view, kPeelBroadcast);
  walked.broadcast.append(leaf.broadcast);
  walked.queryBroadcast |= leaf.queryBroadcast;
  plan.mask = walked;
  return success();
}

/// Checks that `leaf` is an operand kvq.attention can read after a
/// transpose and a reshape of its batch dims: the `seq` and `last` role
/// dims (`seq` may be missing if `seqOptional`), unit dims, and batch dims
/// that hold the frame's atoms but `absent`, each a run in frame order.
LogicalResult AttentionMatcher::checkLeaf(const Leaf &leaf, StringRef name,
                                          Role seq, Role last,
                                          ArrayRef<unsigned> absent,
                                          OperandLayout &layout,
                                          bool seqOptional,
                                          RankedTensorType type) {
  if (!type)
    type = getTensorType(leaf.base);
  int64_t seqDim = -1, lastDim = -1;
  SmallVector<int64_t> units;
  SmallVector<std::pair<int64_t, SmallVector<unsigned>>> batch;
  for (auto [i, d] : llvm::enumerate(leaf.view)) {
    int64_t dim = i;
    if (d.role == seq && seqDim == -1) {
      seqDim = dim;
    } else if (d.role == last && lastDim == -1) {
      lastDim = dim;
    } else if (isBatch(d)) {
      SmallVector<unsigned> leaves = plan.atoms.leaves(d.atoms);
      if (!leaves.empty())
        batch.push_back({dim, leaves});
      else if (type.getDimSize(dim) == 1)
        units.push_back(dim);
      else
        return unexpected(name + " has a batch dim of unknown extent");
    } else {
      return unexpected(name + " has a dim that is not one of its batch, "
                               "position or channel dims");
    }
  }
  if (lastDim == -1 || (seqDim == -1 && !seqOptional))
    return unexpected(name + " lacks its position or channel dim");
  auto position = [&](unsigned a) {
    return llvm::find(plan.leaves, a) - plan.leaves.begin();
  };
  for (auto &[dim, leaves] : batch)
    for (unsigned a : leaves)
      if (position(a) == static_cast<int64_t>(plan.leaves.size()))
        return unexpected(name + " has batch dims the attention does not have");
  llvm::sort(batch, [&](const auto &a, const auto &b) {
    return position(a.second.front()) < position(b.second.front());
  });
  SmallVector<unsigned> have, want;
  for (auto &[dim, leaves] : batch)
    have.append(leaves);
  for (unsigned a : plan.leaves)
    if (!llvm::is_contained(absent, a))
      want.push_back(a);
  if (have != want)
    return unexpected(name + "'s batch and head dims are not a reshape of "
                             "the attention's batch and heads");
  layout.perm.assign(units.begin(), units.end());
  for (auto &[dim, leaves] : batch)
    layout.perm.push_back(dim);
  layout.numLeading = layout.perm.size();
  layout.hasSeq = seqDim != -1;
  if (seqDim != -1)
    layout.perm.push_back(seqDim);
  layout.perm.push_back(lastDim);
  return success();
}

/// Chooses the GQA grouping and kvq.attention's [B, H] split of the batch
/// atoms, and the layout of every operand.
LogicalResult AttentionMatcher::decide() {
  plan.leaves = plan.atoms.leaves(plan.frame);
  ArrayRef<unsigned> leaves = plan.leaves;
  int64_t n = leaves.size();
  auto position = [&](unsigned a) {
    return llvm::find(leaves, a) - leaves.begin();
  };
  auto sorted = [&](ArrayRef<unsigned> atoms) {
    SmallVector<unsigned> list = plan.atoms.leaves(atoms);
    llvm::sort(list, [&](unsigned a, unsigned b) {
      return position(a) < position(b);
    });
    return list;
  };

  int64_t querySize = getTensorType(plan.pv->getResult(0))
                          .getDimSize(findRole(plan.out, Role::Query));
  if (failed(checkLeaf(plan.q, "Q", Role::Query, Role::Head, {}, plan.qLayout,
                       querySize == 1)))
    return failure();
  Leaf outLeaf{plan.pv->getResult(0), plan.out};
  if (failed(checkLeaf(outLeaf, "the P V result", Role::Query, Role::Value, {},
                       plan.outLayout, false)))
    return failure();

  // GQA: K and V repeated along the same minor digits of the heads.
  SmallVector<unsigned> repeat = sorted(plan.kGrouped.broadcast);
  bool grouped = !repeat.empty() && repeat == sorted(plan.vGrouped.broadcast) &&
                 static_cast<int64_t>(repeat.size()) <= n &&
                 ArrayRef<unsigned>(repeat) == leaves.take_back(repeat.size());
  OperandLayout kLayout, vLayout;
  if (grouped) {
    std::string saved = reason;
    grouped = succeeded(checkLeaf(plan.kGrouped, "K", Role::Key, Role::Head,
                                  repeat, kLayout, false)) &&
              succeeded(checkLeaf(plan.vGrouped, "V", Role::Key, Role::Value,
                                  repeat, vLayout, false));
    reason = saved;
  }
  if (grouped) {
    plan.k = plan.kGrouped;
    plan.v = plan.vGrouped;
    plan.repeat = repeat;
  } else {
    plan.k = plan.kPlain;
    plan.v = plan.vPlain;
    plan.repeat.clear();
    if (failed(checkLeaf(plan.k, "K", Role::Key, Role::Head, {}, kLayout,
                         false)) ||
        failed(
            checkLeaf(plan.v, "V", Role::Key, Role::Value, {}, vLayout, false)))
      return failure();
  }
  plan.kLayout = kLayout;
  plan.vLayout = vLayout;
  plan.scale *= plan.q.scale * plan.k.scale;

  // The split: kvq's B and H must each be wholly read or wholly broadcast
  // by the mask, and the GQA repeat must be inside H. Q's own [B, H] comes
  // first.
  SmallVector<unsigned> maskAbsent;
  if (plan.mask)
    maskAbsent = sorted(plan.mask->broadcast);
  auto uniform = [&](ArrayRef<unsigned> part) {
    int64_t absent = llvm::count_if(
        part, [&](unsigned a) { return llvm::is_contained(maskAbsent, a); });
    return absent == 0 || absent == static_cast<int64_t>(part.size());
  };
  auto valid = [&](int64_t p) {
    if (p > n - static_cast<int64_t>(plan.repeat.size()))
      return false;
    return !plan.mask ||
           (uniform(leaves.take_front(p)) && uniform(leaves.drop_front(p)));
  };
  int64_t natural = 0;
  SmallVector<int64_t> qBatch;
  for (int64_t i = 0; i < plan.qLayout.numLeading; ++i) {
    int64_t d = plan.qLayout.perm[i];
    if (!plan.atoms.leaves(plan.q.view[d].atoms).empty())
      qBatch.push_back(d);
  }
  if (qBatch.size() >= 2)
    natural = plan.atoms.leaves(plan.q.view[qBatch[0]].atoms).size();
  std::optional<int64_t> split;
  if (valid(natural))
    split = natural;
  for (int64_t p = 0; p <= n && !split; ++p)
    if (valid(p))
      split = p;
  if (!split) {
    // The mask's broadcasts do not fit kvq's [B, H]: read it at the
    // scores' shape instead.
    plan.maskFull = true;
    maskAbsent.clear();
    split = valid(natural) ? natural : n - plan.repeat.size();
  }
  plan.split = *split;
  if (plan.mask) {
    RankedTensorType type;
    if (plan.maskFull) {
      // The layout of the mask materialized at the add op's shape.
      plan.mask = Leaf{plan.maskAddValue, plan.maskAddView};
      type = getTensorType(plan.maskAddValue);
    }
    if (failed(checkLeaf(*plan.mask, "the mask", Role::Query, Role::Key,
                         maskAbsent, plan.maskLayout, true, type)))
      return failure();
  }
  return success();
}

LogicalResult AttentionMatcher::checkUses() {
  for (Operation *op : plan.chain) {
    if (op == plan.pv)
      continue;
    for (Operation *user : op->getUsers())
      if (!plan.chain.contains(user))
        return fail("'" + op->getName().getStringRef() +
                    "' in the pattern has a use outside it");
  }
  return success();
}

LogicalResult AttentionMatcher::match(Operation *op) {
  std::string why;
  FailureOr<Contraction> pv = matchContraction(op, why);
  if (failed(pv))
    return failure();
  plan.anchor = findSoftmaxBackward(pv->lhs);
  if (!plan.anchor)
    return failure();
  candidate = true;
  plan.pv = op;
  plan.chain.insert(op);

  // The loops of P V: batch loops (the frame's atoms), queries, keys and
  // the value dim.
  SmallVector<DimView> loops(pv->numLoops);
  for (unsigned b : pv->batch) {
    auto [size, value, dim] = getLoopSize(*pv, b);
    unsigned atom = plan.atoms.create(size, value, dim);
    loops[b] = DimView{Role::Batch, {atom}};
    plan.frame.push_back(atom);
  }
  loops[pv->m].role = Role::Query;
  loops[pv->k].role = Role::Key;
  loops[pv->n].role = Role::Value;
  View pView = viewOfOperand(pv->lhsMap, loops);
  View vView = viewOfOperand(pv->rhsMap, loops);
  plan.out = viewOfOperand(pv->outMap, loops);

  Value softmax, x;
  View softmaxView;
  if (failed(walkProbabilities(pv->lhs, pView, softmax, softmaxView)) ||
      failed(matchSoftmax(softmax, softmaxView, x)))
    return failure();
  if (guardScores && guardScores != x)
    return fail("the probabilities are zeroed where other scores than the "
                "softmax input are all -inf");

  Contraction qk;
  View scoresView;
  if (failed(matchScores(x, softmaxView, qk, scoresView)))
    return failure();
  // The loops of Q K^T, from the dims of the scores.
  SmallVector<DimView> qkLoops(qk.numLoops);
  SmallVector<bool> known(qk.numLoops, false);
  for (auto [j, expr] : llvm::enumerate(qk.outMap.getResults())) {
    unsigned l = cast<AffineDimExpr>(expr).getPosition();
    qkLoops[l] = scoresView[j];
    known[l] = true;
  }
  // The contraction's M and N are the queries and the keys, in either
  // order (K Q^T written as the scores' transpose is Q K^T), its other
  // parallel loops batch dims.
  bool swapped = qkLoops[qk.m].role == Role::Key;
  unsigned qLoop = swapped ? qk.n : qk.m, kLoop = swapped ? qk.m : qk.n;
  if (!known[qk.m] || !known[qk.n] || qkLoops[qLoop].role != Role::Query ||
      qkLoops[kLoop].role != Role::Key ||
      llvm::any_of(qk.batch, [&](unsigned b) { return !isBatch(qkLoops[b]); }))
    return fail("the scores contraction does not compute [queries, keys] "
                "per batch and head");
  qkLoops[qk.k].role = Role::Head;
  Value qOperand = swapped ? qk.rhs : qk.lhs;
  Value kOperand = swapped ? qk.lhs : qk.rhs;
  View qView = viewOfOperand(swapped ? qk.rhsMap : qk.lhsMap, qkLoops);
  View kView = viewOfOperand(swapped ? qk.lhsMap : qk.rhsMap, qkLoops);

  plan.q = walkBack(plan.atoms, qOperand, qView, kPeelScale);
  plan.kGrouped =
      walkBack(plan.atoms, kOperand, kView, kPeelScale | kPeelBroadcast);
  plan.vGrouped = walkBack(plan.atoms, pv->rhs, vView, kPeelBroadcast);
  plan.kPlain = walkBack(plan.atoms, kOperand, kView, kPeelScale);
  plan.vPlain = walkBack(plan.atoms, pv->rhs, vView, /*flags=*/0);

  // Q, K and V in one floating-point type; kvq.attention computes in f32
  // and rounds its result to that type.
  plan.elementType = getTensorType(plan.q.base).getElementType();
  if (!isa<FloatType>(plan.elementType) ||
      llvm::any_of(
          std::initializer_list<const Leaf *>{&plan.kPlain, &plan.vPlain},
          [&](const Leaf *leaf) {
            return getTensorType(leaf->base).getElementType() !=
                   plan.elementType;
          }))
    return fail("Q, K and V are not of one floating-point type");
  if (failed(decide()))
    return failure();
  if (plan.maskFull && !getTensorType(plan.maskAddValue).hasStaticShape())
    return fail("the mask's broadcasts do not split into kvq.attention's "
                "batch and heads, and the scores have a dynamic shape");
  return checkUses();
}

//===----------------------------------------------------------------------===//
// Rewriting
//===----------------------------------------------------------------------===//

/// `value` with its dims permuted: result dim i is `value`'s dim perm[i].
Value transpose(OpBuilder &b, Location loc, Value value,
                ArrayRef<int64_t> perm) {
  if (llvm::equal(perm, llvm::seq<int64_t>(0, perm.size())))
    return value;
  SmallVector<OpFoldResult> sizes;
  for (int64_t p : perm)
    sizes.push_back(tensor::getMixedSize(b, loc, value, p));
  Value init = tensor::EmptyOp::create(b, loc, sizes,
                                       getTensorType(value).getElementType());
  return linalg::TransposeOp::create(b, loc, value, init, perm)->getResult(0);
}

/// A float cast and / or a splat multiply of every element of `value`.
Value castAndScale(OpBuilder &b, Location loc, Value value, Type elementType,
                   double scale) {
  auto type = getTensorType(value);
  if (type.getElementType() == elementType && scale == 1.0)
    return value;
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, value);
  Value init = tensor::EmptyOp::create(b, loc, sizes, elementType);
  AffineMap id = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<utils::IteratorType> iterators(type.getRank(),
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, init.getType(), ValueRange{value}, ValueRange{init},
             ArrayRef<AffineMap>{id, id}, iterators,
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               Value x = args[0];
               auto from = cast<FloatType>(x.getType());
               auto to = cast<FloatType>(elementType);
               if (from.getWidth() < to.getWidth())
                 x = arith::ExtFOp::create(nb, nloc, to, x);
               else if (from != to)
                 x = arith::TruncFOp::create(nb, nloc, to, x);
               if (scale != 1.0)
                 x = arith::MulFOp::create(
                     nb, nloc, x,
                     arith::ConstantOp::create(nb, nloc,
                                               nb.getFloatAttr(to, scale)));
               linalg::YieldOp::create(nb, nloc, x);
             })
      ->getResult(0);
}

/// `leaf` as a 4-D kvq.attention operand [d0, d1, seq or 1, last], given
/// its layout and the sizes of d0 and d1.
Value materialize(OpBuilder &b, Location loc, Value base,
                  const OperandLayout &layout, OpFoldResult d0,
                  OpFoldResult d1) {
  Value t = transpose(b, loc, base, layout.perm);
  auto type = getTensorType(t);
  int64_t rank = type.getRank();
  int64_t lead = layout.numLeading;
  // Already [d0, d1, seq, last]?
  if (lead == 2 && layout.hasSeq &&
      getConstantIntValue(d0) == type.getDimSize(0) &&
      getConstantIntValue(d1) == type.getDimSize(1) && !type.isDynamicDim(0) &&
      !type.isDynamicDim(1))
    return t;
  // Merge the leading dims into one, then split it into d0 and d1 (and
  // insert the missing position dim).
  if (lead > 1) {
    SmallVector<ReassociationIndices> groups;
    ReassociationIndices first;
    for (int64_t i = 0; i < lead; ++i)
      first.push_back(i);
    groups.push_back(first);
    for (int64_t i = lead; i < rank; ++i)
      groups.push_back({i});
    t = tensor::CollapseShapeOp::create(b, loc, t, groups);
    lead = 1;
    type = getTensorType(t);
    rank = type.getRank();
  }
  // Source dims: [N] if lead == 1, [seq] if present, [last]; target dims
  // [d0, d1, seq or 1, last]. Missing source dims' targets (size 1) join
  // the group of the next source dim.
  SmallVector<int64_t> targetOf; // first target dim of each source dim
  if (lead == 1)
    targetOf.push_back(0);
  if (layout.hasSeq)
    targetOf.push_back(2);
  targetOf.push_back(3);
  SmallVector<ReassociationIndices> groups;
  int64_t next = 0;
  for (auto [i, target] : llvm::enumerate(targetOf)) {
    ReassociationIndices group;
    int64_t end = i + 1 < targetOf.size() ? targetOf[i + 1] : 4;
    for (; next < end; ++next)
      group.push_back(next);
    groups.push_back(group);
  }
  SmallVector<OpFoldResult> sizes = {d0, d1};
  sizes.push_back(layout.hasSeq ? tensor::getMixedSize(b, loc, t, rank - 2)
                                : OpFoldResult(b.getIndexAttr(1)));
  sizes.push_back(tensor::getMixedSize(b, loc, t, rank - 1));
  SmallVector<int64_t> shape;
  for (OpFoldResult size : sizes)
    shape.push_back(getConstantIntValue(size).value_or(ShapedType::kDynamic));
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  return tensor::ExpandShapeOp::create(b, loc, resultType, t, groups, sizes);
}

void rewrite(Plan &plan) {
  Operation *op = plan.pv;
  OpBuilder b(op);
  Location loc = op->getLoc();
  AtomTable &atoms = plan.atoms;
  ArrayRef<unsigned> leaves = plan.leaves;
  ArrayRef<unsigned> batch = leaves.take_front(plan.split);
  ArrayRef<unsigned> heads = leaves.drop_front(plan.split);
  ArrayRef<unsigned> kvHeads = heads.drop_back(plan.repeat.size());
  OpFoldResult bSize = atoms.getSize(b, loc, batch);
  OpFoldResult hSize = atoms.getSize(b, loc, heads);
  OpFoldResult kvSize = atoms.getSize(b, loc, kvHeads);

  Value q4 = materialize(b, loc, plan.q.base, plan.qLayout, bSize, hSize);
  Value k4 = materialize(b, loc, plan.k.base, plan.kLayout, bSize, kvSize);
  Value v4 = materialize(b, loc, plan.v.base, plan.vLayout, bSize, kvSize);

  Value mask;
  if (plan.mask) {
    Value base = plan.mask->base;
    if (plan.maskFull) {
      // The mask read at the scores' (static) shape.
      auto type = getTensorType(plan.maskAddValue);
      Value init = tensor::EmptyOp::create(
          b, loc, type.getShape(),
          getTensorType(plan.maskRead->value).getElementType());
      AffineMap id = b.getMultiDimIdentityMap(type.getRank());
      SmallVector<utils::IteratorType> iterators(type.getRank(),
                                                 utils::IteratorType::parallel);
      base = linalg::GenericOp::create(
                 b, loc, init.getType(), ValueRange{plan.maskRead->value},
                 ValueRange{init}, ArrayRef<AffineMap>{plan.maskRead->map, id},
                 iterators,
                 [&](OpBuilder &nb, Location nloc, ValueRange args) {
                   linalg::YieldOp::create(nb, nloc, args[0]);
                 })
                 ->getResult(0);
    }
    // Each of kvq's B and H is either read or broadcast by the mask.
    auto present = [&](ArrayRef<unsigned> part) -> OpFoldResult {
      SmallVector<unsigned> absent = atoms.leaves(
          plan.maskFull ? ArrayRef<unsigned>()
                        : ArrayRef<unsigned>(plan.mask->broadcast));
      if (!part.empty() && llvm::is_contained(absent, part.front()))
        return b.getIndexAttr(1);
      return atoms.getSize(b, loc, part);
    };
    mask = materialize(b, loc, base, plan.maskLayout, present(batch),
                       present(heads));
    mask = castAndScale(b, loc, mask, plan.elementType, plan.maskScale);
  }

  auto qType = getTensorType(q4), vType = getTensorType(v4);
  auto resultType =
      RankedTensorType::get({qType.getDimSize(0), qType.getDimSize(1),
                             qType.getDimSize(2), vType.getDimSize(3)},
                            plan.elementType);
  Value result = AttentionOp::create(
      b, loc, resultType, q4, k4, v4, Value(), Value(), Value(), Value(), mask,
      QuantSchemeAttr(), QuantSchemeAttr(),
      b.getF32FloatAttr(static_cast<float>(plan.scale)), UnitAttr());

  // Back to the P V result: [B, H] merged and split into its batch dims,
  // its unit dims, its dim order and its element type.
  auto outType = getTensorType(op->getResult(0));
  const OperandLayout &out = plan.outLayout;
  int64_t lead = out.numLeading;
  // Already [B, H, Sq, Dv] in P V's batch dims?
  bool same = false;
  if (lead == 2) {
    SmallVector<unsigned> first = atoms.leaves(plan.out[out.perm[0]].atoms);
    SmallVector<unsigned> second = atoms.leaves(plan.out[out.perm[1]].atoms);
    same = ArrayRef<unsigned>(first) == batch &&
           ArrayRef<unsigned>(second) == heads;
  }
  if (same) {
    // Nothing to merge or split.
  } else if (lead == 0) {
    result = tensor::CollapseShapeOp::create(
        b, loc, result, SmallVector<ReassociationIndices>{{0, 1, 2}, {3}});
  } else {
    result = tensor::CollapseShapeOp::create(
        b, loc, result, SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}});
    SmallVector<OpFoldResult> sizes;
    SmallVector<int64_t> shape;
    ReassociationIndices first;
    for (int64_t i = 0; i < lead; ++i) {
      int64_t dim = out.perm[i];
      SmallVector<unsigned> dimLeaves = atoms.leaves(plan.out[dim].atoms);
      sizes.push_back(dimLeaves.empty() ? OpFoldResult(b.getIndexAttr(1))
                                        : atoms.getSize(b, loc, dimLeaves));
      shape.push_back(outType.getDimSize(dim));
      first.push_back(i);
    }
    if (lead > 1) {
      for (int64_t i = 1; i < 3; ++i) {
        sizes.push_back(tensor::getMixedSize(b, loc, result, i));
        shape.push_back(getTensorType(result).getDimSize(i));
      }
      SmallVector<ReassociationIndices> groups = {first, {lead}, {lead + 1}};
      result = tensor::ExpandShapeOp::create(
          b, loc,
          RankedTensorType::get(shape, getTensorType(result).getElementType()),
          result, groups, sizes);
    }
  }
  // The canonical order [leading..., queries, value dim] back to P V's.
  SmallVector<int64_t> inverse(out.perm.size());
  for (auto [i, p] : llvm::enumerate(out.perm))
    inverse[p] = i;
  result = transpose(b, loc, result, inverse);
  result = castAndScale(b, loc, result, outType.getElementType(), 1.0);
  if (result.getType() != outType)
    result = tensor::CastOp::create(b, loc, outType, result);
  op->getResult(0).replaceAllUsesWith(result);
}

//===----------------------------------------------------------------------===//
// Near misses
//===----------------------------------------------------------------------===//

/// A softmax-like op: linalg.softmax, or an exponential whose values are
/// summed by a reduction.
bool isSoftmaxAnchor(Operation *op) {
  if (isa<linalg::SoftmaxOp>(op))
    return true;
  if (op->getNumResults() != 1)
    return false;
  std::optional<Elementwise> ew = matchElementwise(op->getResult(0));
  if (!ew || (ew->kind != EwKind::Exp && ew->kind != EwKind::ExpSub))
    return false;
  return llvm::any_of(op->getUsers(), [&](Operation *user) {
    return llvm::any_of(user->getResults(), [&](Value result) {
      std::optional<Reduction> red = matchReduction(result);
      return red && red->kind == RedKind::Add && red->input == op->getResult(0);
    });
  });
}

/// Why the softmax `anchor`, which no P V contraction was matched from, is
/// not attention: follows its probabilities forward to what stops them.
std::string explainSoftmax(Operation *anchor) {
  Value p;
  if (isa<linalg::SoftmaxOp>(anchor)) {
    p = anchor->getResult(0);
  } else {
    // The normalization of the exponentials.
    for (Operation *user : anchor->getUsers()) {
      std::optional<Elementwise> ew = user->getNumResults() == 1
                                          ? matchElementwise(user->getResult(0))
                                          : std::nullopt;
      if (ew && (ew->kind == EwKind::Div || ew->kind == EwKind::Mul) &&
          findSoftmaxBackward(user->getResult(0)) == anchor) {
        p = user->getResult(0);
        break;
      }
    }
    if (!p)
      return "the exponentials are summed but not divided by their sum (not "
             "a softmax)";
  }
  while (true) {
    if (p.use_empty())
      return "the probabilities are unused";
    if (!p.hasOneUse())
      return "the probabilities have " +
             std::to_string(std::distance(p.use_begin(), p.use_end())) +
             " uses";
    OpOperand &use = *p.use_begin();
    Operation *user = use.getOwner();
    if (isContractionLike(user)) {
      std::string why;
      FailureOr<Contraction> c = matchContraction(user, why);
      if (failed(c))
        return "the probabilities feed '" +
               user->getName().getStringRef().str() + "': " + why;
      if (c->lhs != p)
        return "the probabilities are the right operand of '" +
               user->getName().getStringRef().str() +
               "' (V P or P^T V), not the left";
      return "unexpected: the contraction of the probabilities with V is not "
             "recognized (please report this with the input)";
    }
    if (isa<func::ReturnOp>(user))
      return "the probabilities are returned, not multiplied by V";
    if (user->getNumResults() == 1 &&
        (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp, tosa::ReshapeOp>(
             user) ||
         [&] {
           std::optional<Elementwise> ew = matchElementwise(user->getResult(0));
           return ew &&
                  (ew->kind == EwKind::Cast || ew->kind == EwKind::Select);
         }())) {
      p = user->getResult(0);
      continue;
    }
    return "the probabilities go through '" +
           user->getName().getStringRef().str() +
           "', which is neither a float cast, a reshape, the all-masked "
           "guard nor a contraction with V";
  }
}

struct RaiseAttention
    : public kvq::impl::KVQRaiseAttentionBase<RaiseAttention> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<Operation *> candidates;
    getOperation()->walk([&](Operation *op) {
      if (isContractionLike(op))
        candidates.push_back(op);
    });
    llvm::SetVector<Operation *> replaced;
    DenseSet<Operation *> explained; // softmaxes with a remark or raised
    for (Operation *op : candidates) {
      if (replaced.contains(op))
        continue;
      Plan plan;
      AttentionMatcher matcher(plan);
      if (failed(matcher.match(op))) {
        if (matcher.candidate) {
          explained.insert(plan.anchor);
          if (report)
            op->emitRemark()
                << "not raised to kvq.attention: " << matcher.reason;
        }
        continue;
      }
      explained.insert(plan.anchor);
      rewrite(plan);
      replaced.insert(plan.chain.begin(), plan.chain.end());
    }
    // Every other softmax: why it is not attention.
    if (report)
      getOperation()->walk([&](Operation *op) {
        if (!replaced.contains(op) && !explained.contains(op) &&
            isSoftmaxAnchor(op))
          op->emitRemark() << "softmax not raised to kvq.attention: "
                           << explainSoftmax(op);
      });
    // Erase what became dead, consumers first, then their producers.
    SmallVector<Operation *> worklist(replaced.begin(), replaced.end());
    DenseSet<Operation *> erased;
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t i = 0; i < worklist.size(); ++i) {
        Operation *op = worklist[i];
        if (erased.contains(op) || !isOpTriviallyDead(op))
          continue;
        for (Value operand : op->getOperands())
          if (Operation *def = operand.getDefiningOp())
            worklist.push_back(def);
        erased.insert(op);
        op->erase();
        changed = true;
      }
    }
  }
};

} // namespace
