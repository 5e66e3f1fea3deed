//===- LowerLookup.cpp - kvq.lookup to AVX-512, AVX2 or vectors -*- C++ -*-===//
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
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/MathExtras.h"

namespace mlir {
namespace kvq {
#define GEN_PASS_DEF_KVQLOWERLOOKUP
#include "kvq/Conversion/Passes.h.inc"
} // namespace kvq
} // namespace mlir

using namespace mlir;
using namespace mlir::kvq;

namespace {
/// How one piece of lanes reads a table of at most `leafSize` elements in
/// one permute: AVX-512 (16 lanes, up to 32 elements in two registers),
/// AVX2 (8 lanes, up to 8 elements) or, for bytes, AVX512-VBMI (64 lanes,
/// up to 128 elements in two registers).
struct Permute {
  enum Kind { AVX2, AVX512, VBMI };
  int64_t lanes;
  int64_t leafSize;
  Kind kind;
};

class LookupLowering {
public:
  LookupLowering(RewriterBase &rewriter, LookupOp op)
      : rewriter(rewriter), loc(op.getLoc()), table(op.getTable()),
        elementType(cast<VectorType>(op.getTable().getType()).getElementType()),
        tableSize(cast<VectorType>(op.getTable().getType()).getNumElements()) {}

  /// Elements [start, start + size) of the table, repeated to `size *
  /// copies` lanes.
  Value slice(int64_t start, int64_t size, int64_t copies) {
    if (start == 0 && size == tableSize && copies == 1)
      return table;
    SmallVector<int64_t> mask;
    for (int64_t c = 0; c < copies; ++c)
      for (int64_t i = 0; i < size; ++i)
        mask.push_back(start + i);
    return vector::ShuffleOp::create(rewriter, loc, table, table, mask);
  }

  /// Lanes of `indices` whose index has bit `bit` set (one test per value
  /// and bit).
  Value bitSet(Value indices, int64_t bit) {
    Value &test = bitTests[{indices, bit}];
    if (test)
      return test;
    auto type = cast<VectorType>(indices.getType());
    auto splat = [&](int64_t v) {
      return arith::ConstantOp::create(
          rewriter, loc,
          DenseElementsAttr::get(
              type, rewriter.getIntegerAttr(
                        type.getElementType(),
                        APInt(type.getElementTypeBitWidth(), uint64_t(v)))));
    };
    test = arith::CmpIOp::create(
        rewriter, loc, arith::CmpIPredicate::ne,
        arith::AndIOp::create(rewriter, loc, indices, splat(int64_t(1) << bit)),
        splat(0));
    return test;
  }

  /// Table elements [start, start + size) read by `indices` (their bits
  /// from log2(size) up ignored): `leaf` reads a slice of at most
  /// `leafSize` elements; larger ones are two halves chosen by the highest
  /// bit, recursively.
  Value readRange(Value indices, int64_t start, int64_t size, int64_t leafSize,
                  function_ref<Value(int64_t, int64_t)> leaf) {
    if (size <= leafSize)
      return leaf(start, size);
    int64_t half = size / 2;
    Value low = readRange(indices, start, half, leafSize, leaf);
    Value high = readRange(indices, start + half, half, leafSize, leaf);
    return arith::SelectOp::create(
        rewriter, loc, bitSet(indices, llvm::Log2_64(half)), high, low);
  }

  /// One piece of lanes by permutes.
  Value permutePiece(Value indices, const Permute &permute) {
    auto pieceType = VectorType::get({permute.lanes}, elementType);
    bool isFloat = isa<FloatType>(elementType);
    auto call = [&](StringRef name, ValueRange operands) {
      return LLVM::CallIntrinsicOp::create(rewriter, loc, pieceType,
                                           rewriter.getStringAttr(name),
                                           operands)
          .getResult(0);
    };
    return readRange(
        indices, 0, tableSize, permute.leafSize,
        [&](int64_t start, int64_t size) -> Value {
          if (permute.kind == Permute::VBMI) {
            if (size <= 64)
              // vpermb: 64 bytes, index bits 0-5.
              return call("llvm.x86.avx512.permvar.qi.512",
                          {slice(start, size, 64 / size), indices});
            // vpermi2b: 128 bytes in two registers, index bits 0-6.
            return call(
                "llvm.x86.avx512.vpermi2var.qi.512",
                {slice(start, 64, 1), indices, slice(start + 64, 64, 1)});
          }
          if (permute.kind == Permute::AVX2)
            // vpermps / vpermd: 8 elements, index bits 0-2.
            return call(isFloat ? "llvm.x86.avx2.permps"
                                : "llvm.x86.avx2.permd",
                        {slice(start, size, 8 / size), indices});
          if (size <= 16)
            // vpermps / vpermd: 16 elements, index bits 0-3.
            return call(isFloat ? "llvm.x86.avx512.permvar.sf.512"
                                : "llvm.x86.avx512.permvar.si.512",
                        {slice(start, size, 16 / size), indices});
          // vpermi2ps / vpermi2d: 32 elements in two registers, bits 0-4.
          return call(isFloat ? "llvm.x86.avx512.vpermi2var.ps.512"
                              : "llvm.x86.avx512.vpermi2var.d.512",
                      {slice(start, 16, 1), indices, slice(start + 16, 16, 1)});
        });
  }

  /// The whole op by permutes, piece by piece of `permute.lanes` lanes.
  Value permute(Value indices, const Permute &permute) {
    auto indexType = cast<VectorType>(indices.getType());
    int64_t lanes = indexType.getNumElements();
    if (lanes == permute.lanes)
      return permutePiece(indices, permute);
    Value result = arith::ConstantOp::create(
        rewriter, loc, rewriter.getZeroAttr(indexType.clone(elementType)));
    for (int64_t first = 0; first < lanes; first += permute.lanes) {
      Value piece = vector::ExtractStridedSliceOp::create(
          rewriter, loc, indices, ArrayRef<int64_t>{first},
          ArrayRef<int64_t>{permute.lanes}, ArrayRef<int64_t>{1});
      result = vector::InsertStridedSliceOp::create(
          rewriter, loc, permutePiece(piece, permute), result,
          ArrayRef<int64_t>{first}, ArrayRef<int64_t>{1});
    }
    return result;
  }

  /// The definition in vector code: a tree of selects on the index bits
  /// over the broadcast table elements.
  Value portable(Value indices) {
    auto type = cast<VectorType>(indices.getType()).clone(elementType);
    return readRange(indices, 0, tableSize, 1,
                     [&](int64_t start, int64_t) -> Value {
                       return vector::BroadcastOp::create(
                           rewriter, loc, type,
                           vector::ExtractOp::create(rewriter, loc, table,
                                                     ArrayRef<int64_t>{start}));
                     });
  }

private:
  RewriterBase &rewriter;
  Location loc;
  Value table;
  Type elementType;
  int64_t tableSize;
  llvm::DenseMap<std::pair<Value, int64_t>, Value> bitTests;
};

struct KVQLowerLookupPass : kvq::impl::KVQLowerLookupBase<KVQLowerLookupPass> {
  using Base::Base;
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    SmallVector<LookupOp> ops;
    getOperation()->walk([&](LookupOp op) { ops.push_back(op); });
    for (LookupOp op : ops) {
      int64_t lanes =
          cast<VectorType>(op.getIndices().getType()).getNumElements();
      rewriter.setInsertionPoint(op);
      LookupLowering lowering(rewriter, op);
      // The permutes of 32-bit elements and indices, or of bytes.
      Type element = op.getTable().getType().getElementType();
      Type index = op.getIndices().getType().getElementType();
      bool words = index.isInteger(32) && !element.isInteger(8);
      bool bytes = index.isInteger(8) && element.isInteger(8);
      Value result;
      if (bytes && vbmi && lanes % 64 == 0)
        result = lowering.permute(op.getIndices(), {64, 128, Permute::VBMI});
      else if (words && avx512 && lanes % 16 == 0)
        result = lowering.permute(op.getIndices(), {16, 32, Permute::AVX512});
      else if (words && avx2 && lanes % 8 == 0)
        result = lowering.permute(op.getIndices(), {8, 8, Permute::AVX2});
      else
        result = lowering.portable(op.getIndices());
      rewriter.replaceOp(op, result);
    }
  }
};
} // namespace
