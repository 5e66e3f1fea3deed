//===- LinalgBuilders.cpp - Small linalg-on-tensors builders --------------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/Utils/LinalgBuilders.h"

#include "kvq/Dialect/KVQ/Utils/QuantCodegen.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::kvq;

Value mlir::kvq::createZeros(OpBuilder &b, Location loc,
                             ArrayRef<OpFoldResult> sizes, Type elementType) {
  Value empty = tensor::EmptyOp::create(b, loc, sizes, elementType);
  Value zero =
      arith::ConstantOp::create(b, loc, b.getFloatAttr(elementType, 0.0));
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

Value mlir::kvq::createConvertFromF32(OpBuilder &b, Location loc, Value tensor,
                                      RankedTensorType type) {
  if (cast<RankedTensorType>(tensor.getType()).getElementType() ==
      type.getElementType())
    return tensor;
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> sizes;
  for (int64_t i = 0; i < rank; ++i)
    sizes.push_back(tensor::getMixedSize(b, loc, tensor, i));
  Value empty = tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  AffineMap id = b.getMultiDimIdentityMap(rank);
  return linalg::GenericOp::create(
             b, loc, empty.getType(), ValueRange{tensor}, ValueRange{empty},
             ArrayRef<AffineMap>{id, id},
             SmallVector<utils::IteratorType>(rank,
                                              utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               Value x = args[0];
               if (!x.getType().isF32())
                 x = arith::TruncFOp::create(nb, nl, nb.getF32Type(), x);
               linalg::YieldOp::create(
                   nb, nl,
                   emitConvertFromF32(nb, nl, x, type.getElementType()));
             })
      .getResult(0);
}

Value mlir::kvq::createContraction(OpBuilder &b, Location loc,
                                   unsigned numLoops, ValueRange ins,
                                   ArrayRef<SmallVector<AffineExpr>> inExprs,
                                   Value init, ArrayRef<AffineExpr> outExprs) {
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps;
  for (const auto &exprs : inExprs)
    maps.push_back(AffineMap::get(numLoops, 0, exprs, ctx));
  maps.push_back(AffineMap::get(numLoops, 0, outExprs, ctx));
  SmallVector<utils::IteratorType> iters(numLoops,
                                         utils::IteratorType::reduction);
  for (AffineExpr e : outExprs)
    iters[cast<AffineDimExpr>(e).getPosition()] = utils::IteratorType::parallel;
  Type accType = cast<RankedTensorType>(init.getType()).getElementType();
  return linalg::GenericOp::create(
             b, loc, init.getType(), ins, ValueRange{init}, maps, iters,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               auto widen = [&](Value a) {
                 if (a.getType() == accType)
                   return a;
                 Value f = emitExtendToF32(nb, nl, a);
                 return f.getType() == accType
                            ? f
                            : Value(arith::ExtFOp::create(nb, nl, accType, f));
               };
               Value prod = widen(args[0]);
               for (Value a : args.drop_front().drop_back())
                 prod = arith::MulFOp::create(nb, nl, prod, widen(a));
               linalg::YieldOp::create(nb, nl,
                                       ValueRange{arith::AddFOp::create(
                                           nb, nl, args.back(), prod)});
             })
      .getResult(0);
}

Value mlir::kvq::createRanksAhead(OpBuilder &b, Location loc, Value mine,
                                  Value other, unsigned mineLoop,
                                  unsigned otherLoop) {
  Value earlier =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                            linalg::IndexOp::create(b, loc, otherLoop),
                            linalg::IndexOp::create(b, loc, mineLoop));
  return arith::OrIOp::create(
      b, loc,
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, other, mine),
      arith::AndIOp::create(
          b, loc,
          arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, other, mine),
          earlier));
}
