//===- LowerDotI8.cpp - kvq.dot_i8 to VNNI, AVX2 or vectors -----*- C++ -*-===//
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
#include "llvm/ADT/DenseSet.h"

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

/// The largest pair bound AVX2's path takes: vpmaddubsw saturates its
/// i16 pair sums, so they (and the chain's sum of them) must fit.
static constexpr int64_t kI16Max = 32767;

/// Lane counts AVX2's path splits into 128- or 256-bit pieces.
static bool fitsAVX2(DotI8Op op) {
  int64_t lanes = cast<VectorType>(op.getAcc().getType()).getNumElements();
  return lanes % 4 == 0 && op.getPairBound() <= kI16Max;
}

/// A chain of ops (each the next one's accumulator, used nowhere else) as
/// AVX2 code: per 256-bit piece (128-bit unless the lanes are a multiple
/// of 8), vpmaddubsw of each op's bytes (u8 x s8, pairs summed to i16),
/// the chain's results summed in i16 (exact: the pair bounds add up to at
/// most kI16Max), vpmaddwd against ones (pairs of i16 summed to i32) and
/// the first op's accumulator added.
static Value lowerToAVX2(RewriterBase &rewriter, ArrayRef<DotI8Op> chain) {
  DotI8Op first = chain.front(), last = chain.back();
  Location loc = last.getLoc();
  auto acc = cast<VectorType>(first.getAcc().getType());
  int64_t lanes = acc.getNumElements();
  int64_t pieceLanes = lanes % 8 == 0 ? 8 : 4;
  bool wide = pieceLanes == 8;
  auto pairsType = VectorType::get({2 * pieceLanes}, rewriter.getI16Type());
  auto pieceType = VectorType::get({pieceLanes}, rewriter.getI32Type());
  StringAttr maddubs = rewriter.getStringAttr(
      wide ? "llvm.x86.avx2.pmadd.ub.sw" : "llvm.x86.ssse3.pmadd.ub.sw.128");
  StringAttr maddwd = rewriter.getStringAttr(wide ? "llvm.x86.avx2.pmadd.wd"
                                                  : "llvm.x86.sse2.pmadd.wd");
  Value ones = arith::ConstantOp::create(
      rewriter, loc,
      DenseElementsAttr::get(pairsType, rewriter.getI16IntegerAttr(1)));
  Value sums = arith::ConstantOp::create(
      rewriter, loc,
      DenseElementsAttr::get(acc, rewriter.getI32IntegerAttr(0)));
  auto slice = [&](Value bytes, int64_t piece) {
    return vector::ExtractStridedSliceOp::create(
        rewriter, loc, bytes, ArrayRef<int64_t>{4 * pieceLanes * piece},
        ArrayRef<int64_t>{4 * pieceLanes}, ArrayRef<int64_t>{1});
  };
  for (int64_t piece = 0; piece < lanes / pieceLanes; ++piece) {
    Value pairs;
    for (DotI8Op op : chain) {
      Value products =
          LLVM::CallIntrinsicOp::create(
              rewriter, loc, pairsType, maddubs,
              ValueRange{slice(op.getLhs(), piece), slice(op.getRhs(), piece)})
              .getResult(0);
      pairs = pairs ? arith::AddIOp::create(rewriter, loc, pairs, products)
                    : products;
    }
    Value sum = LLVM::CallIntrinsicOp::create(rewriter, loc, pieceType, maddwd,
                                              ValueRange{pairs, ones})
                    .getResult(0);
    sums = vector::InsertStridedSliceOp::create(
        rewriter, loc, sum, sums, ArrayRef<int64_t>{pieceLanes * piece},
        ArrayRef<int64_t>{1});
  }
  return arith::AddIOp::create(rewriter, loc, first.getAcc(), sums);
}

/// The ops after `op` that AVX2's path can fold into one widening: each
/// the only use of the previous result, as its accumulator, in the same
/// block, while the pair bounds add up to at most kI16Max.
static SmallVector<DotI8Op> avx2Chain(DotI8Op op) {
  SmallVector<DotI8Op> chain{op};
  int64_t bound = op.getPairBound();
  while (true) {
    Value result = chain.back().getResult();
    if (!result.hasOneUse())
      break;
    auto next = dyn_cast<DotI8Op>(*result.getUsers().begin());
    if (!next || next.getAcc() != result ||
        next->getBlock() != op->getBlock() || !fitsAVX2(next) ||
        bound + next.getPairBound() > kI16Max)
      break;
    bound += next.getPairBound();
    chain.push_back(next);
  }
  return chain;
}

namespace {
struct KVQLowerDotI8Pass : kvq::impl::KVQLowerDotI8Base<KVQLowerDotI8Pass> {
  using Base::Base;
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    SmallVector<DotI8Op> ops;
    getOperation()->walk([&](DotI8Op op) { ops.push_back(op); });
    // Ops lowered as part of an earlier op's AVX2 chain (erased: compared
    // by address only).
    DenseSet<Operation *> folded;
    for (DotI8Op op : ops) {
      if (folded.contains(op))
        continue;
      int64_t lanes = cast<VectorType>(op.getAcc().getType()).getNumElements();
      if (vnni) {
        if (lanes != 4 && lanes != 8 && lanes != 16) {
          op.emitOpError() << "kvq-lower-dot-i8: vpdpbusd takes 4, 8 or 16 "
                              "i32 lanes, got "
                           << lanes;
          return signalPassFailure();
        }
        rewriter.setInsertionPoint(op);
        rewriter.replaceOp(op, lowerToVNNI(rewriter, op));
        continue;
      }
      if (avx2 && fitsAVX2(op)) {
        SmallVector<DotI8Op> chain = avx2Chain(op);
        rewriter.setInsertionPoint(chain.back());
        Value result = lowerToAVX2(rewriter, chain);
        for (DotI8Op link : chain)
          folded.insert(link);
        rewriter.replaceOp(chain.back(), result);
        for (DotI8Op link : llvm::reverse(ArrayRef(chain).drop_back()))
          rewriter.eraseOp(link);
        continue;
      }
      rewriter.setInsertionPoint(op);
      rewriter.replaceOp(op, lowerToVectors(rewriter, op));
    }
  }
};
} // namespace
