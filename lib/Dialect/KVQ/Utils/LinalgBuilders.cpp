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
