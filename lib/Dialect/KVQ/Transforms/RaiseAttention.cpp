//===- RaiseAttention.cpp - Recognize attention written by importers ------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// Importers (torch-mlir, tf / tflite -> tosa, IREE's input conversions)
// write scaled dot-product attention as two contractions around a softmax.
// This pass matches that pattern from the P V contraction backwards and
// replaces it with kvq.attention, so that the compressed-cache lowerings and
// fusions apply to imported models. Every structural fact is verified
// (element types, contraction and reduction dims, broadcasts, splat
// constants, uses of the intermediates); anything else is left untouched.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Dialect/KVQ/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
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
// Views of the ops that importers emit
//===----------------------------------------------------------------------===//

/// The value of a splat floating-point constant (a scalar, a dense splat,
/// a linalg.fill of a constant), if `v` is one.
std::optional<double> getSplatFloat(Value v) {
  if (!v)
    return std::nullopt;
  if (auto fill = v.getDefiningOp<linalg::FillOp>())
    return getSplatFloat(fill.getInputs()[0]);
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

RankedTensorType getTensorType(Value v) {
  return dyn_cast<RankedTensorType>(v.getType());
}

enum class EwKind { Copy, Add, Sub, Mul, Div, Exp, ExpSub, Reciprocal };

/// An operand of an elementwise op: a tensor read through `map` (from the
/// result's dims to the operand's dims), or a splat constant.
struct EwOperand {
  Value value;
  AffineMap map;
  std::optional<double> splat;
  /// The broadcasts / transposes read through.
  SmallVector<Operation *, 1> copies = {};
};

/// An elementwise op on tensors (linalg named / generic, tosa, arith, math).
struct Elementwise {
  Operation *op = nullptr;
  EwKind kind = EwKind::Copy;
  SmallVector<EwOperand, 2> operands;
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

/// Reads through copies that broadcast or permute (linalg.broadcast,
/// linalg.transpose, copy-only linalg.generic): the operand becomes the
/// copy's source read through the composed map.
void peelCopies(EwOperand &operand) {
  while (operand.value && !operand.splat) {
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
  // The body must be exactly the recognized computation (plus constants).
  unsigned numComputeOps = 0;
  for (Operation &inner : body->without_terminator())
    if (!inner.hasTrait<OpTrait::ConstantLike>())
      ++numComputeOps;

  Value y = yield.getOperand(0);
  Operation *def = y.getDefiningOp();
  if (!def || def->getBlock() != body) {
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
  if (isa<tosa::ExpOp, tosa::ReciprocalOp>(op)) {
    if (!addTosa(op->getOperand(0)))
      return std::nullopt;
    ew.kind = isa<tosa::ExpOp>(op) ? EwKind::Exp : EwKind::Reciprocal;
    return ew;
  }
  if (isa<arith::AddFOp, arith::SubFOp, arith::MulFOp, arith::DivFOp,
          math::ExpOp>(op)) {
    AffineMap identity =
        AffineMap::getMultiDimIdentityMap(type.getRank(), op->getContext());
    for (Value operand : op->getOperands())
      add(operand, identity);
    ew.kind = TypeSwitch<Operation *, EwKind>(op)
                  .Case([](arith::AddFOp) { return EwKind::Add; })
                  .Case([](arith::SubFOp) { return EwKind::Sub; })
                  .Case([](arith::MulFOp) { return EwKind::Mul; })
                  .Case([](arith::DivFOp) { return EwKind::Div; })
                  .Default([](Operation *) { return EwKind::Exp; });
    return ew;
  }
  return std::nullopt;
}

/// True if `operand` reads a tensor of `type`'s shape element for element.
bool isIdentityOperand(const EwOperand &operand, RankedTensorType type) {
  return !operand.splat && operand.map && operand.map.isIdentity() &&
         operand.value.getType() == type;
}

enum class RedKind { Max, Add };

/// A reduction over one dim of `input` (linalg.reduce, a reduction
/// linalg.generic, tosa.reduce_max / reduce_sum). `keepDim`: the reduced dim
/// stays with size 1 (tosa).
struct Reduction {
  Operation *op = nullptr;
  RedKind kind = RedKind::Add;
  Value input;
  int64_t dim = -1;
  bool keepDim = false;
  std::optional<double> init;
};

std::optional<RedKind> matchCombiner(Block *body) {
  auto yield = dyn_cast<linalg::YieldOp>(body->getTerminator());
  if (!yield || yield.getNumOperands() != 1 || body->getNumArguments() != 2 ||
      !llvm::hasSingleElement(body->without_terminator()))
    return std::nullopt;
  Operation *def = yield.getOperand(0).getDefiningOp();
  if (!def || def->getNumOperands() != 2)
    return std::nullopt;
  Value a = def->getOperand(0), b = def->getOperand(1);
  bool argsOk = (a == body->getArgument(0) && b == body->getArgument(1)) ||
                (a == body->getArgument(1) && b == body->getArgument(0));
  if (!argsOk)
    return std::nullopt;
  if (isa<arith::AddFOp>(def))
    return RedKind::Add;
  if (isa<arith::MaximumFOp, arith::MaxNumFOp>(def))
    return RedKind::Max;
  return std::nullopt;
}

std::optional<Reduction> matchReduction(Value v) {
  auto result = dyn_cast_or_null<OpResult>(v);
  if (!result)
    return std::nullopt;
  Operation *op = result.getOwner();
  Reduction red;
  red.op = op;
  if (auto reduce = dyn_cast<linalg::ReduceOp>(op)) {
    if (reduce.getInputs().size() != 1 || reduce.getDimensions().size() != 1)
      return std::nullopt;
    std::optional<RedKind> kind = matchCombiner(reduce.getBlock());
    if (!kind)
      return std::nullopt;
    red.kind = *kind;
    red.input = reduce.getInputs()[0];
    red.dim = reduce.getDimensions()[0];
    red.init = getSplatFloat(reduce.getInits()[0]);
    return red;
  }
  if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
    if (generic.getNumDpsInputs() != 1 || generic.getNumDpsInits() != 1 ||
        generic.getNumReductionLoops() != 1)
      return std::nullopt;
    std::optional<RedKind> kind = matchCombiner(generic.getBody());
    if (!kind)
      return std::nullopt;
    SmallVector<unsigned> reductionDims;
    generic.getReductionDims(reductionDims);
    unsigned r = reductionDims[0];
    AffineMap inMap =
        generic.getMatchingIndexingMap(generic.getDpsInputOperand(0));
    AffineMap outMap =
        generic.getMatchingIndexingMap(generic.getDpsInitOperand(0));
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
    red.init = getSplatFloat(generic.getDpsInitOperand(0)->get());
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

/// A contraction C[out] = sum_k A[lhs] * B[rhs] with maps over its loops.
struct Contraction {
  Operation *op = nullptr;
  Value lhs, rhs;
  AffineMap lhsMap, rhsMap, outMap;
  SmallVector<unsigned> batch;
  unsigned m = 0, n = 0, k = 0;
};

/// Linalg contractions (named or generic) with one m, n and k dim and a
/// zero init, and tosa.matmul. `why` says what disqualified a contraction.
FailureOr<Contraction> matchContraction(Operation *op, std::string &why) {
  Contraction c;
  c.op = op;
  if (auto matmul = dyn_cast<tosa::MatMulOp>(op)) {
    std::optional<double> azp = getSplatFloat(matmul.getAZp());
    std::optional<double> bzp = getSplatFloat(matmul.getBZp());
    if (azp != 0.0 || bzp != 0.0) {
      why = "tosa.matmul has non-zero zero points";
      return failure();
    }
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
    return c;
  }
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  if (!linalgOp || !linalg::isaContractionOpInterface(linalgOp) ||
      linalgOp.getNumDpsInputs() != 2 || op->getNumResults() != 1)
    return failure();
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(linalgOp);
  if (failed(dims))
    return failure();
  if (dims->m.size() != 1 || dims->n.size() != 1 || dims->k.size() != 1 ||
      dims->batch.size() > 2) {
    why = "the contraction does not have exactly one M, N and K dim and at "
          "most two batch dims";
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
  return c;
}

//===----------------------------------------------------------------------===//
// Layouts: a tensor read in a canonical dim order
//===----------------------------------------------------------------------===//

/// `base` read so that canonical dim i is base dim perm[i].
struct Layout {
  Value base;
  SmallVector<int64_t> perm;

  int64_t rank() const { return perm.size(); }
  bool isIdentity() const {
    for (auto [i, p] : llvm::enumerate(perm))
      if (static_cast<int64_t>(i) != p)
        return false;
    return true;
  }
  int64_t size(int64_t i) const {
    return getTensorType(base).getDimSize(perm[i]);
  }
};

/// The layout of a contraction operand read through `map` whose canonical
/// dims are the loops `loops`, if the map reads exactly those loops.
std::optional<Layout> getOperandLayout(Value operand, AffineMap map,
                                       ArrayRef<unsigned> loops) {
  if (!map.isProjectedPermutation() || map.getNumResults() != loops.size())
    return std::nullopt;
  Layout layout{operand, {}};
  for (unsigned loop : loops) {
    std::optional<unsigned> pos =
        map.getResultPosition(getAffineDimExpr(loop, map.getContext()));
    if (!pos)
      return std::nullopt;
    layout.perm.push_back(*pos);
  }
  return layout;
}

/// Looks through transposes (unless the layout is already canonical 4-D)
/// and, when `scale` is given, multiplications / divisions by a splat
/// constant, which it folds into `*scale`.
void peelLayout(Layout &layout, double *scale) {
  while (true) {
    if (scale) {
      std::optional<Elementwise> ew = matchElementwise(layout.base);
      if (ew && (ew->kind == EwKind::Mul || ew->kind == EwKind::Div)) {
        auto type = getTensorType(layout.base);
        const EwOperand &a = ew->operands[0], &b = ew->operands[1];
        if (isIdentityOperand(a, type) && b.splat && std::isfinite(*b.splat) &&
            *b.splat != 0.0) {
          *scale *= ew->kind == EwKind::Mul ? *b.splat : 1.0 / *b.splat;
          layout.base = a.value;
          continue;
        }
        if (ew->kind == EwKind::Mul && isIdentityOperand(b, type) && a.splat &&
            std::isfinite(*a.splat) && *a.splat != 0.0) {
          *scale *= *a.splat;
          layout.base = b.value;
          continue;
        }
      }
    }
    if (layout.rank() == 4 && layout.isIdentity())
      return;
    if (auto transpose = layout.base.getDefiningOp<tosa::TransposeOp>()) {
      ArrayRef<int32_t> perms = transpose.getPerms();
      for (int64_t &p : layout.perm)
        p = perms[p];
      layout.base = transpose.getInput1();
      continue;
    }
    std::optional<Elementwise> copy = matchElementwise(layout.base);
    if (copy && copy->kind == EwKind::Copy && !copy->operands[0].splat &&
        copy->operands[0].map.isPermutation()) {
      // Result dim i is read at input dim j where map(j) = d_i.
      AffineMap map = copy->operands[0].map;
      SmallVector<int64_t> inverse(map.getNumResults());
      for (unsigned j = 0; j < map.getNumResults(); ++j)
        inverse[map.getDimPosition(j)] = j;
      for (int64_t &p : layout.perm)
        p = inverse[p];
      layout.base = copy->operands[0].value;
      continue;
    }
    return;
  }
}

/// `v` as a reshape that merges dims (tensor.collapse_shape, a static
/// tosa.reshape): its source and the groups of source dims.
std::optional<std::pair<Value, SmallVector<ReassociationIndices>>>
getCollapse(Value v) {
  if (auto collapse = v.getDefiningOp<tensor::CollapseShapeOp>())
    return std::make_pair(collapse.getSrc(),
                          collapse.getReassociationIndices());
  if (auto reshape = v.getDefiningOp<tosa::ReshapeOp>()) {
    auto src = getTensorType(reshape.getInput1());
    auto dst = getTensorType(reshape.getResult());
    if (!src || !dst || !src.hasStaticShape() || !dst.hasStaticShape())
      return std::nullopt;
    std::optional<SmallVector<ReassociationIndices>> groups =
        getReassociationIndicesForCollapse(src.getShape(), dst.getShape());
    if (!groups)
      return std::nullopt;
    return std::make_pair(reshape.getInput1(), *groups);
  }
  return std::nullopt;
}

/// `v` [a, b, 1, c, d] as the insertion of a unit dim 2 into a 4-D tensor.
Value getUnitDimSource(Value v) {
  if (auto expand = v.getDefiningOp<tensor::ExpandShapeOp>()) {
    SmallVector<ReassociationIndices> groups = expand.getReassociationIndices();
    if (getTensorType(expand.getSrc()).getRank() == 4 &&
        groups == SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}} &&
        getTensorType(v).getDimSize(2) == 1)
      return expand.getSrc();
    return {};
  }
  if (auto reshape = v.getDefiningOp<tosa::ReshapeOp>()) {
    auto src = getTensorType(reshape.getInput1());
    auto dst = getTensorType(v);
    if (src && src.hasStaticShape() && dst.hasStaticShape() &&
        src.getRank() == 4 && dst.getRank() == 5 && dst.getDimSize(2) == 1 &&
        src.getShape().take_front(2) == dst.getShape().take_front(2) &&
        src.getShape().take_back(2) == dst.getShape().take_back(2))
      return reshape.getInput1();
  }
  return {};
}

/// A 4-D layout with the number of query heads that share each of its
/// heads (1 unless K / V were repeated for grouped-query attention).
struct Lifted {
  Layout layout;
  int64_t group = 1;
  /// Splat factors peeled off the 4-D tensor (folded into the softmax
  /// scale when this lift is used).
  double scale = 1.0;
};

/// A 5-D layout [B, Hkv, g, S, D] (canonical dims 0-2 in place) that
/// repeats a [B, Hkv, S, D] tensor along dim 2: that tensor.
std::optional<Lifted> peelRepeat5(const Layout &l) {
  if (l.perm[0] != 0 || l.perm[1] != 1 || l.perm[2] != 2)
    return std::nullopt;
  auto type = getTensorType(l.base);
  int64_t group = type.getDimSize(2);
  if (ShapedType::isDynamic(group))
    return std::nullopt;
  Value source;
  if (auto tile = l.base.getDefiningOp<tosa::TileOp>()) {
    auto inType = getTensorType(tile.getInput1());
    for (int64_t i = 0; i < 5; ++i)
      if (inType.getDimSize(i) != (i == 2 ? 1 : type.getDimSize(i)))
        return std::nullopt;
    source = getUnitDimSource(tile.getInput1());
  } else if (std::optional<Elementwise> copy = matchElementwise(l.base);
             copy && copy->kind == EwKind::Copy && !copy->operands[0].splat) {
    AffineMap map = copy->operands[0].map;
    MLIRContext *ctx = map.getContext();
    AffineExpr d0, d1, d2, d3, d4;
    bindDims(ctx, d0, d1, d2, d3, d4);
    AffineExpr zero = getAffineConstantExpr(0, ctx);
    if (map == AffineMap::get(5, 0, {d0, d1, d3, d4}, ctx))
      source = copy->operands[0].value;
    else if (map == AffineMap::get(5, 0, {d0, d1, zero, d3, d4}, ctx))
      source = getUnitDimSource(copy->operands[0].value);
  }
  if (!source)
    return std::nullopt;
  Lifted lifted{Layout{source, {0, 1, l.perm[3] - 1, l.perm[4] - 1}}, group};
  peelLayout(lifted.layout, nullptr);
  return lifted;
}

/// A 4-D layout [B, Hq, S, D] that collapses a repetition of
/// [B, Hkv, S, D] heads (query head h reads head h / g): the Hkv tensor.
std::optional<Lifted> peelRepeat(const Layout &l) {
  if (l.perm[0] != 0 || l.perm[1] != 1)
    return std::nullopt;
  auto collapse = getCollapse(l.base);
  if (!collapse || collapse->second !=
                       SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}})
    return std::nullopt;
  return peelRepeat5(
      Layout{collapse->first, {0, 1, 2, l.perm[2] + 1, l.perm[3] + 1}});
}

/// A 3-D layout [N, S, D] (N first) that collapses [B, H, S, D] (or a
/// repetition [B, Hkv, g, S, D] of K / V heads): the 4-D tensor.
std::optional<Lifted> liftBatch(const Layout &l, bool peelScale) {
  if (l.perm[0] != 0)
    return std::nullopt;
  auto collapse = getCollapse(l.base);
  if (!collapse)
    return std::nullopt;
  if (collapse->second == SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}}) {
    Lifted lifted{
        Layout{collapse->first, {0, 1, l.perm[1] + 1, l.perm[2] + 1}}};
    peelLayout(lifted.layout, peelScale ? &lifted.scale : nullptr);
    if (std::optional<Lifted> repeat = peelRepeat(lifted.layout)) {
      repeat->scale *= lifted.scale;
      return repeat;
    }
    return lifted;
  }
  if (collapse->second ==
      SmallVector<ReassociationIndices>{{0, 1, 2}, {3}, {4}})
    return peelRepeat5(
        Layout{collapse->first, {0, 1, 2, l.perm[1] + 2, l.perm[2] + 2}});
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// The attention pattern
//===----------------------------------------------------------------------===//

/// What the matcher proved about one P V contraction.
struct Plan {
  Operation *pv = nullptr;
  unsigned numBatch = 0;         // batch dims of both contractions (0-2)
  Layout q, k, v;                // [batch..., S, D] canonical
  SmallVector<int64_t> outPerm;  // P V result dim order from canonical
  std::optional<EwOperand> mask; // read from the scores' dims
  double scale = 1.0;
  llvm::SetVector<Operation *> chain; // ops replaced by kvq.attention
};

class AttentionMatcher {
public:
  explicit AttentionMatcher(Plan &plan) : plan(plan) {}

  /// Empty when the op is not a candidate (its lhs is not produced by
  /// anything that looks like a softmax): no remark then.
  std::string reason;
  bool candidate = false;

  LogicalResult match(Operation *op);

private:
  LogicalResult fail(const Twine &why) {
    reason = why.str();
    return failure();
  }
  LogicalResult matchSoftmax(Value p, Value &x);
  LogicalResult matchScores(Value x, Contraction &qk);
  bool isRowBroadcast(const EwOperand &operand, Value reduced,
                      RankedTensorType full);
  LogicalResult checkUses();

  Plan &plan;
};

/// `operand` reads the row statistic `reduced` (the reduction of a tensor
/// of type `full` over its last dim) at every key of the row.
bool AttentionMatcher::isRowBroadcast(const EwOperand &operand, Value reduced,
                                      RankedTensorType full) {
  if (operand.splat || operand.value != reduced || !operand.map)
    return false;
  int64_t rank = full.getRank();
  MLIRContext *ctx = full.getContext();
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i + 1 < rank; ++i)
    exprs.push_back(getAffineDimExpr(i, ctx));
  if (getTensorType(reduced).getRank() == rank) {
    if (getTensorType(reduced).getDimSize(rank - 1) != 1)
      return false;
    if (operand.map.isIdentity())
      return full.getDimSize(rank - 1) == 1;
    exprs.push_back(getAffineConstantExpr(0, ctx));
  }
  return operand.map == AffineMap::get(rank, 0, exprs, ctx);
}

LogicalResult AttentionMatcher::matchSoftmax(Value p, Value &x) {
  auto type = getTensorType(p);
  int64_t last = type.getRank() - 1;
  if (auto softmax = p.getDefiningOp<linalg::SoftmaxOp>()) {
    candidate = true;
    plan.chain.insert(softmax);
    if (static_cast<int64_t>(softmax.getDimension()) != last)
      return fail("linalg.softmax normalizes dim " +
                  Twine(softmax.getDimension()) + ", not the key dim " +
                  Twine(last));
    x = softmax.getInput();
    return success();
  }

  // P = E / sum(E) or E * (1 / sum(E)).
  std::optional<Elementwise> norm = matchElementwise(p);
  if (!norm || (norm->kind != EwKind::Div && norm->kind != EwKind::Mul))
    return failure();
  const EwOperand *e = &norm->operands[0], *r = &norm->operands[1];
  if (norm->kind == EwKind::Mul && !isIdentityOperand(*e, type))
    std::swap(e, r);
  // Only a normalization by a row statistic makes this a candidate worth a
  // remark (a plain scale of Q or V is not).
  if (r->splat)
    return failure();
  Value statistic = r->value;
  if (std::optional<Elementwise> recip = matchElementwise(statistic);
      recip && recip->kind == EwKind::Reciprocal && !recip->operands[0].splat)
    statistic = recip->operands[0].value;
  if (!matchReduction(statistic))
    return failure();
  candidate = true;
  plan.chain.insert(norm->op);
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
    sum = recip->operands[0].value;
  }
  std::optional<Reduction> sumRed = matchReduction(sum);
  if (!sumRed || sumRed->kind != RedKind::Add || sumRed->input != e->value)
    return fail("the softmax denominator is not a sum of its numerators");
  plan.chain.insert(sumRed->op);
  if (sumRed->dim != last)
    return fail("the softmax sums over dim " + Twine(sumRed->dim) +
                ", not the key dim " + Twine(last));
  if (sumRed->init != 0.0)
    return fail("the softmax sum does not start from zero");
  // The sum's result, after a reciprocal when there is one, must be read
  // per row.
  if (!isRowBroadcast(*r, r->value, type))
    return fail("the softmax denominator is not broadcast along the key dim");
  plan.chain.insert(r->copies.begin(), r->copies.end());

  // E = exp(X - max(X)) or exp(X).
  std::optional<Elementwise> exp = matchElementwise(e->value);
  if (!exp || (exp->kind != EwKind::Exp && exp->kind != EwKind::ExpSub))
    return fail("the softmax numerator is not an exponential");
  plan.chain.insert(exp->op);
  EwOperand arg = exp->operands[0];
  std::optional<EwOperand> sub;
  if (exp->kind == EwKind::ExpSub) {
    sub = exp->operands[1];
  } else if (std::optional<Elementwise> s = matchElementwise(arg.value);
             s && s->kind == EwKind::Sub && isIdentityOperand(arg, type) &&
             isIdentityOperand(s->operands[0], type)) {
    if (std::optional<Reduction> m = matchReduction(s->operands[1].value);
        m && m->kind == RedKind::Max) {
      plan.chain.insert(s->op);
      arg = s->operands[0];
      sub = s->operands[1];
    }
  }
  if (!isIdentityOperand(arg, type))
    return fail("the softmax exponentiates a broadcast or constant");
  x = arg.value;
  if (sub) {
    // Softmax is invariant to a per-row shift, so the subtrahend may be any
    // row max of X (any init no larger than the type's lowest value).
    std::optional<Reduction> max = matchReduction(sub->value);
    if (!max || max->kind != RedKind::Max || max->input != x)
      return fail("the softmax subtracts something other than the row max");
    plan.chain.insert(max->op);
    if (max->dim != last)
      return fail("the softmax subtracts the max over dim " + Twine(max->dim) +
                  ", not the key dim " + Twine(last));
    auto elementType = cast<FloatType>(type.getElementType());
    double lowest =
        APFloat::getLargest(elementType.getFloatSemantics(), /*Negative=*/true)
            .convertToDouble();
    if (!max->init || *max->init > lowest)
      return fail("the softmax row max starts from a value above the "
                  "lowest finite value");
    if (!isRowBroadcast(*sub, sub->value, type))
      return fail("the softmax row max is not broadcast along the key dim");
    plan.chain.insert(sub->copies.begin(), sub->copies.end());
  }
  return success();
}

LogicalResult AttentionMatcher::matchScores(Value x, Contraction &qk) {
  auto type = getTensorType(x);
  // x = s2 * ((s1 * Q K^T) + mask), the scales splat constants.
  auto peelScale = [&](Value &v, double &scale) {
    while (true) {
      std::optional<Elementwise> ew = matchElementwise(v);
      if (!ew || (ew->kind != EwKind::Mul && ew->kind != EwKind::Div))
        return;
      const EwOperand &a = ew->operands[0], &b = ew->operands[1];
      Value next;
      double factor = 0.0;
      if (isIdentityOperand(a, type) && b.splat) {
        next = a.value;
        factor = ew->kind == EwKind::Mul ? *b.splat : 1.0 / *b.splat;
      } else if (ew->kind == EwKind::Mul && isIdentityOperand(b, type) &&
                 a.splat) {
        next = b.value;
        factor = *a.splat;
      } else {
        return;
      }
      if (!std::isfinite(factor) || factor == 0.0)
        return;
      plan.chain.insert(ew->op);
      scale *= factor;
      v = next;
    }
  };
  double outer = 1.0;
  Value v = x;
  peelScale(v, outer);
  std::string why;
  if (std::optional<Elementwise> add = matchElementwise(v);
      add && add->kind == EwKind::Add) {
    for (int i = 0; i < 2; ++i) {
      const EwOperand &scores = add->operands[i], &mask = add->operands[1 - i];
      if (!isIdentityOperand(scores, type))
        continue;
      Value s = scores.value;
      double inner = 1.0;
      peelScale(s, inner);
      if (!isa_and_nonnull<linalg::LinalgOp, tosa::MatMulOp>(
              s.getDefiningOp()) ||
          failed(matchContraction(s.getDefiningOp(), why)))
        continue;
      if (outer != 1.0)
        return fail("a scale multiplies the mask too");
      if (mask.splat)
        return fail("the additive mask is a constant");
      plan.chain.insert(add->op);
      plan.mask = mask;
      plan.scale = inner;
      v = s;
      break;
    }
  }
  if (!plan.mask)
    plan.scale = outer;
  Operation *def = v.getDefiningOp();
  FailureOr<Contraction> c = failure();
  if (def)
    c = matchContraction(def, why);
  if (failed(c))
    return fail(why.empty() ? "the softmax input is not a (scaled, masked) "
                              "contraction of queries and keys"
                            : "scores: " + why);
  plan.chain.insert(def);
  qk = *c;
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
  plan.pv = op;
  std::string why;
  FailureOr<Contraction> pv = matchContraction(op, why);
  if (failed(pv))
    return failure();
  Value x;
  if (failed(matchSoftmax(pv->lhs, x)))
    return failure();
  plan.chain.insert(op);
  unsigned nb = pv->batch.size();
  plan.numBatch = nb;
  auto pType = getTensorType(pv->lhs);
  auto xType = getTensorType(x);
  if (!xType || xType != pType)
    return fail("the softmax changes the type of the scores");

  // P [batch..., Sq, Skv] is read as (batch..., m, k).
  AffineMap pMap = pv->lhsMap;
  if (!pMap.isProjectedPermutation() || pMap.getNumResults() != nb + 2)
    return fail("the probabilities are not read as [batch..., query, key]");
  SmallVector<unsigned> batch;
  for (unsigned i = 0; i < nb; ++i) {
    unsigned d = pMap.getDimPosition(i);
    if (!llvm::is_contained(pv->batch, d))
      return fail("the probabilities' dim " + Twine(i) +
                  " is not a batch dim of the P V contraction");
    batch.push_back(d);
  }
  if (pMap.getDimPosition(nb) == pv->k && pMap.getDimPosition(nb + 1) == pv->m)
    return fail("the P V contraction reduces over the query dim of the "
                "probabilities, not the key dim");
  if (pMap.getDimPosition(nb) != pv->m || pMap.getDimPosition(nb + 1) != pv->k)
    return fail("the probabilities are not read as [batch..., query, key]");
  SmallVector<unsigned> vLoops(batch), outLoops(batch);
  vLoops.append({pv->k, pv->n});
  outLoops.append({pv->m, pv->n});
  std::optional<Layout> v = getOperandLayout(pv->rhs, pv->rhsMap, vLoops);
  std::optional<Layout> out =
      getOperandLayout(op->getResult(0), pv->outMap, outLoops);
  if (!v || !out)
    return fail("the P V contraction does not read V as [batch..., key, "
                "value dim]");
  plan.v = *v;
  plan.outPerm = out->perm;

  Contraction qk;
  if (failed(matchScores(x, qk)))
    return failure();
  if (qk.batch.size() != nb)
    return fail("the two contractions have different batch dims");
  // Scores [batch..., Sq, Skv] written as (batch..., m, n).
  AffineMap sMap = qk.outMap;
  if (!sMap.isProjectedPermutation() || sMap.getNumResults() != nb + 2 ||
      sMap.getDimPosition(nb) != qk.m || sMap.getDimPosition(nb + 1) != qk.n)
    return fail("the scores are not written as [batch..., query, key]");
  SmallVector<unsigned> qkBatch;
  for (unsigned i = 0; i < nb; ++i)
    qkBatch.push_back(sMap.getDimPosition(i));
  SmallVector<unsigned> qLoops(qkBatch), kLoops(qkBatch);
  qLoops.append({qk.m, qk.k});
  kLoops.append({qk.n, qk.k});
  std::optional<Layout> q = getOperandLayout(qk.lhs, qk.lhsMap, qLoops);
  std::optional<Layout> k = getOperandLayout(qk.rhs, qk.rhsMap, kLoops);
  if (!q || !k)
    return fail("the scores contraction does not read Q as [batch..., query, "
                "head dim] and K as [batch..., key, head dim]");
  plan.q = *q;
  plan.k = *k;

  // One floating-point element type throughout.
  Type elementType = pType.getElementType();
  for (Value value : {qk.lhs, qk.rhs, Value(qk.op->getResult(0)), pv->rhs,
                      Value(op->getResult(0))})
    if (getTensorType(value).getElementType() != elementType)
      return fail("the pattern mixes element types");
  if (!isa<FloatType>(elementType))
    return fail("the pattern is not floating point");

  if (plan.mask) {
    const EwOperand &mask = *plan.mask;
    auto maskType = getTensorType(mask.value);
    if (!maskType || maskType.getElementType() != elementType)
      return fail("the mask has another element type");
    AffineMap map = mask.map;
    bool hasKey = false;
    int64_t previous = -1;
    for (auto [j, expr] : llvm::enumerate(map.getResults())) {
      if (auto cst = dyn_cast<AffineConstantExpr>(expr)) {
        if (cst.getValue() != 0 || maskType.getDimSize(j) != 1 ||
            map.getNumResults() != nb + 2)
          return fail("the mask is not broadcastable to the scores");
        continue;
      }
      auto dim = dyn_cast<AffineDimExpr>(expr);
      if (!dim || static_cast<int64_t>(dim.getPosition()) <= previous ||
          (map.getNumResults() == nb + 2 && dim.getPosition() != j))
        return fail("the mask is not broadcastable to the scores");
      previous = dim.getPosition();
      hasKey |= dim.getPosition() == nb + 1;
    }
    if (!hasKey)
      return fail("the mask is broadcast along the key dim");
  }
  return checkUses();
}

//===----------------------------------------------------------------------===//
// Rewriting
//===----------------------------------------------------------------------===//

Value materialize(OpBuilder &b, Location loc, const Layout &layout) {
  if (layout.isIdentity())
    return layout.base;
  SmallVector<OpFoldResult> sizes;
  for (int64_t p : layout.perm)
    sizes.push_back(tensor::getMixedSize(b, loc, layout.base, p));
  Value init = tensor::EmptyOp::create(
      b, loc, sizes, getTensorType(layout.base).getElementType());
  return linalg::TransposeOp::create(b, loc, layout.base, init, layout.perm)
      ->getResult(0);
}

/// Expands the leading dim of `value` into `leading` (their product is
/// that dim; a unit list inserts unit dims).
Value expandLeading(OpBuilder &b, Location loc, Value value,
                    ArrayRef<OpFoldResult> leading) {
  auto type = getTensorType(value);
  SmallVector<OpFoldResult> sizes(leading);
  SmallVector<int64_t> shape;
  for (OpFoldResult size : leading)
    shape.push_back(getConstantIntValue(size).value_or(ShapedType::kDynamic));
  SmallVector<ReassociationIndices> groups;
  ReassociationIndices first;
  for (size_t i = 0; i < leading.size(); ++i)
    first.push_back(i);
  groups.push_back(first);
  for (int64_t i = 1; i < type.getRank(); ++i) {
    groups.push_back({static_cast<int64_t>(leading.size()) + i - 1});
    sizes.push_back(tensor::getMixedSize(b, loc, value, i));
    shape.push_back(type.getDimSize(i));
  }
  if (type.getRank() == 0)
    return value;
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  return tensor::ExpandShapeOp::create(b, loc, resultType, value, groups,
                                       sizes);
}

/// Inserts unit dims in front of a tensor.
Value prependUnitDims(OpBuilder &b, Location loc, Value value, int64_t count) {
  if (count == 0)
    return value;
  SmallVector<OpFoldResult> leading(count + 1, b.getIndexAttr(1));
  leading.back() = tensor::getMixedSize(b, loc, value, 0);
  return expandLeading(b, loc, value, leading);
}

void rewrite(Plan &plan) {
  Operation *op = plan.pv;
  OpBuilder b(op);
  Location loc = op->getLoc();
  unsigned nb = plan.numBatch;
  double scale = plan.scale;
  Layout q = plan.q, k = plan.k, v = plan.v;
  peelLayout(q, &scale);
  peelLayout(k, &scale);
  peelLayout(v, nullptr);

  Value q4, k4, v4;
  // The 4-D [B, Hq] split of the batch dim (nb = 1), if Q has one.
  SmallVector<OpFoldResult> batchHeads;
  if (nb == 2) {
    q4 = materialize(b, loc, q);
    std::optional<Lifted> kr = peelRepeat(k), vr = peelRepeat(v);
    if (kr && vr && kr->group == vr->group) {
      k4 = materialize(b, loc, kr->layout);
      v4 = materialize(b, loc, vr->layout);
    } else {
      k4 = materialize(b, loc, k);
      v4 = materialize(b, loc, v);
    }
  } else if (nb == 1) {
    std::optional<Lifted> ql = liftBatch(q, /*peelScale=*/true);
    if (ql && ql->group != 1)
      ql.reset();
    if (ql) {
      scale *= ql->scale;
      q4 = materialize(b, loc, ql->layout);
      batchHeads = {tensor::getMixedSize(b, loc, q4, 0),
                    tensor::getMixedSize(b, loc, q4, 1)};
      auto qType = getTensorType(q4);
      // K / V lifted to the same batch and (grouped) heads as Q.
      auto consistent = [&](const std::optional<Lifted> &l) {
        if (!l)
          return false;
        int64_t batchSize = l->layout.size(0), heads = l->layout.size(1);
        return !qType.isDynamicDim(0) && !qType.isDynamicDim(1) &&
               batchSize == qType.getDimSize(0) &&
               !ShapedType::isDynamic(heads) &&
               heads * l->group == qType.getDimSize(1);
      };
      std::optional<Lifted> kl = liftBatch(k, /*peelScale=*/true);
      std::optional<Lifted> vl = liftBatch(v, /*peelScale=*/false);
      if (consistent(kl) && consistent(vl) && kl->group == vl->group) {
        scale *= kl->scale;
        k4 = materialize(b, loc, kl->layout);
        v4 = materialize(b, loc, vl->layout);
      }
    }
    if (!q4) {
      batchHeads = {b.getIndexAttr(1),
                    tensor::getMixedSize(b, loc, q.base, q.perm[0])};
      q4 = expandLeading(b, loc, materialize(b, loc, q), batchHeads);
    }
    if (!k4) {
      k4 = expandLeading(b, loc, materialize(b, loc, k), batchHeads);
      v4 = expandLeading(b, loc, materialize(b, loc, v), batchHeads);
    }
  } else {
    q4 = prependUnitDims(b, loc, materialize(b, loc, q), 2);
    k4 = prependUnitDims(b, loc, materialize(b, loc, k), 2);
    v4 = prependUnitDims(b, loc, materialize(b, loc, v), 2);
  }

  Value mask;
  if (plan.mask) {
    // First the scores' rank, unit dims where the mask broadcasts.
    mask = plan.mask->value;
    AffineMap map = plan.mask->map;
    if (map.getNumResults() != nb + 2) {
      auto type = getTensorType(mask);
      SmallVector<ReassociationIndices> groups;
      SmallVector<OpFoldResult> sizes;
      SmallVector<int64_t> shape;
      ReassociationIndices group;
      unsigned next = 0;
      for (unsigned i = 0; i < nb + 2; ++i) {
        group.push_back(i);
        if (next < map.getNumResults() && map.getDimPosition(next) == i) {
          sizes.push_back(tensor::getMixedSize(b, loc, mask, next));
          shape.push_back(type.getDimSize(next));
          groups.push_back(group);
          group.clear();
          ++next;
        } else {
          sizes.push_back(b.getIndexAttr(1));
          shape.push_back(1);
        }
      }
      mask = tensor::ExpandShapeOp::create(
          b, loc, RankedTensorType::get(shape, type.getElementType()), mask,
          groups, sizes);
    }
    // Then [B or 1, Hq or 1, Sq or 1, Skv].
    if (nb == 0) {
      mask = prependUnitDims(b, loc, mask, 2);
    } else if (nb == 1) {
      if (getTensorType(mask).getDimSize(0) == 1)
        mask = prependUnitDims(b, loc, mask, 1);
      else
        mask = expandLeading(b, loc, mask, batchHeads);
    }
  }

  auto qType = getTensorType(q4), vType = getTensorType(v4);
  auto resultType =
      RankedTensorType::get({qType.getDimSize(0), qType.getDimSize(1),
                             qType.getDimSize(2), vType.getDimSize(3)},
                            qType.getElementType());
  Value result = AttentionOp::create(
      b, loc, resultType, q4, k4, v4, Value(), Value(), Value(), Value(), mask,
      QuantSchemeAttr(), QuantSchemeAttr(),
      b.getF32FloatAttr(static_cast<float>(scale)), UnitAttr());

  // Back to the P V result: batch dims merged, then its dim order.
  if (nb < 2) {
    SmallVector<ReassociationIndices> groups;
    if (nb == 1)
      groups = {{0, 1}, {2}, {3}};
    else
      groups = {{0, 1, 2}, {3}};
    result = tensor::CollapseShapeOp::create(b, loc, result, groups);
  }
  SmallVector<int64_t> inverse(plan.outPerm.size());
  for (auto [i, p] : llvm::enumerate(plan.outPerm))
    inverse[p] = i;
  result = materialize(b, loc, Layout{result, inverse});
  Type expected = op->getResult(0).getType();
  if (result.getType() != expected)
    result = tensor::CastOp::create(b, loc, expected, result);
  op->getResult(0).replaceAllUsesWith(result);
}

struct RaiseAttention
    : public kvq::impl::KVQRaiseAttentionBase<RaiseAttention> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<Operation *> candidates;
    getOperation()->walk([&](Operation *op) {
      if (isa<tosa::MatMulOp>(op) ||
          (isa<linalg::LinalgOp>(op) &&
           linalg::isaContractionOpInterface(cast<linalg::LinalgOp>(op))))
        candidates.push_back(op);
    });
    llvm::SetVector<Operation *> replaced;
    for (Operation *op : candidates) {
      if (replaced.contains(op))
        continue;
      Plan plan;
      AttentionMatcher matcher(plan);
      if (failed(matcher.match(op))) {
        if (report && matcher.candidate && !matcher.reason.empty())
          op->emitRemark() << "not raised to kvq.attention: " << matcher.reason;
        continue;
      }
      rewrite(plan);
      replaced.insert(plan.chain.begin(), plan.chain.end());
    }
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
