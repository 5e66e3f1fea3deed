//===- LowerDotI8.cpp - kvq.dot_i8 to VNNI or portable vectors --*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Conversion/Passes.h"
#include "kvq/Dialect/KVQ/IR/KVQOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir {
namespace kvq {
#define GEN_PASS_DEF_KVQLOWERDOTI8
#include "kvq/Conversion/Passes.h.inc"
} // namespace kvq
} // namespace mlir

using namespace mlir;
using namespace mlir::kvq;

/// `vpdpbusd` (AVX512-VNNI; 4 and 8 lanes need AVX512-VL as well).
static Value lowerToVNNI(RewriterBase &rewriter, DotI8Op op) {
  auto acc = cast<VectorType>(op.getAcc().getType());
  std::string name =
      "llvm.x86.avx512.vpdpbusd." + std::to_string(acc.getNumElements() * 32);
  return LLVM::CallIntrinsicOp::create(
             rewriter, op.getLoc(), acc, rewriter.getStringAttr(name),
             ValueRange{op.getAcc(), op.getLhs(), op.getRhs()})
      .getResult(0);
}

/// The definition in vector code: the products of the bytes in i32, and
/// for each lane the sum of its four products, gathered by four strided
/// shuffles.
static Value lowerToVectors(RewriterBase &rewriter, DotI8Op op) {
  Location loc = op.getLoc();
  auto acc = cast<VectorType>(op.getAcc().getType());
  int64_t lanes = acc.getNumElements();
  auto wide = VectorType::get({4 * lanes}, rewriter.getI32Type());
  Value product = arith::MulIOp::create(
      rewriter, loc, arith::ExtUIOp::create(rewriter, loc, wide, op.getLhs()),
      arith::ExtSIOp::create(rewriter, loc, wide, op.getRhs()));
  Value sum = op.getAcc();
  for (int64_t i = 0; i < 4; ++i) {
    SmallVector<int64_t> mask;
    for (int64_t lane = 0; lane < lanes; ++lane)
      mask.push_back(4 * lane + i);
    sum = arith::AddIOp::create(
        rewriter, loc, sum,
        vector::ShuffleOp::create(rewriter, loc, product, product, mask));
  }
  return sum;
}

namespace {
struct KVQLowerDotI8Pass : kvq::impl::KVQLowerDotI8Base<KVQLowerDotI8Pass> {
  using Base::Base;
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    WalkResult result = getOperation()->walk([&](DotI8Op op) {
      int64_t lanes = cast<VectorType>(op.getAcc().getType()).getNumElements();
      if (vnni && lanes != 4 && lanes != 8 && lanes != 16) {
        op.emitOpError() << "kvq-lower-dot-i8: vpdpbusd takes 4, 8 or 16 "
                            "i32 lanes, got "
                         << lanes;
        return WalkResult::interrupt();
      }
      rewriter.setInsertionPoint(op);
      rewriter.replaceOp(op, vnni ? lowerToVNNI(rewriter, op)
                                  : lowerToVectors(rewriter, op));
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
