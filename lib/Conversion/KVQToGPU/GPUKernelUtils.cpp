//===- GPUKernelUtils.cpp - Builders shared by the GPU kernels ------------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "GPUKernelUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include "llvm/Support/Format.h"

#include <array>
#include <limits>
#include <optional>

using namespace mlir;
using namespace mlir::kvq;

Value gpukernel::constI32(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantOp::create(
      b, loc, b.getI32IntegerAttr(static_cast<int32_t>(value)));
}

Value gpukernel::constF32(OpBuilder &b, Location loc, double value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

Value gpukernel::constIndex(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

Value gpukernel::constHalf2(OpBuilder &b, Location loc, double lo, double hi) {
  auto type = VectorType::get({2}, b.getF16Type());
  return arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(type, ArrayRef<Attribute>{b.getF16FloatAttr(lo),
                                                       b.getF16FloatAttr(hi)}));
}

Value gpukernel::lop3(OpBuilder &b, Location loc, Value x, Value y, Value z,
                      uint8_t lut) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "lop3.b32 $0, $1, $2, $3, " << llvm::format_hex(lut, 4) << ";";
  Type i32 = b.getI32Type();
  return LLVM::InlineAsmOp::create(
             b, loc, i32, ValueRange{x, y, z}, text, "=r,r,r,r",
             /*has_side_effects=*/false, /*is_align_stack=*/false,
             LLVM::tailcallkind::TailCallKind::None, /*asm_dialect=*/nullptr,
             /*operand_attrs=*/nullptr)
      .getResult(0);
}

Value gpukernel::andXor(OpBuilder &b, Location loc, Value x, int64_t y,
                        int64_t z) {
  // f(a, b, c) = (a & b) ^ c over a = 0xF0, b = 0xCC, c = 0xAA.
  constexpr uint8_t lut = (0xF0 & 0xCC) ^ 0xAA;
  return lop3(b, loc, x, constI32(b, loc, y), constI32(b, loc, z), lut);
}

Value gpukernel::prmt(OpBuilder &b, Location loc, Value x, Value y,
                      uint32_t selector) {
  return NVVM::PermuteOp::create(b, loc, b.getI32Type(), x, y,
                                 constI32(b, loc, selector),
                                 NVVM::PermuteMode::DEFAULT);
}

Value gpukernel::asHalf2(OpBuilder &b, Location loc, Value word) {
  return LLVM::BitcastOp::create(b, loc, VectorType::get({2}, b.getF16Type()),
                                 word);
}

Value gpukernel::asWord(OpBuilder &b, Location loc, Value half2) {
  return LLVM::BitcastOp::create(b, loc, b.getI32Type(), half2);
}

Value gpukernel::mma(OpBuilder &b, Location loc, Value a, Value bFrag,
                     Value acc) {
  if (cast<VectorType>(a.getType()).getElementType().isF16())
    return nvgpu::MmaSyncOp::create(b, loc, a, bFrag, acc,
                                    ArrayRef<int64_t>{16, 8, 16});
  // The NVVM op takes each fragment as 32-bit registers of two elements
  // (the lower index in the low half).
  auto registers = [&](Value fragment) {
    SmallVector<Value> regs;
    int64_t count = cast<VectorType>(fragment.getType()).getShape()[0];
    for (int64_t i = 0; i < count; ++i)
      regs.push_back(LLVM::BitcastOp::create(
          b, loc, b.getI32Type(),
          vector::ExtractOp::create(b, loc, fragment, ArrayRef<int64_t>{i})));
    return regs;
  };
  SmallVector<Value> c;
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t e = 0; e < 2; ++e)
      c.push_back(
          vector::ExtractOp::create(b, loc, acc, ArrayRef<int64_t>{i, e}));
  Type f32 = b.getF32Type();
  auto resultType =
      LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
  auto op = NVVM::MmaOp::create(
      b, loc, resultType, registers(a), registers(bFrag), c,
      ArrayRef<int64_t>{16, 8, 16}, std::nullopt, std::nullopt,
      std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16, NVVM::MMATypes::bf16},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  SmallVector<Value> d;
  for (int64_t i = 0; i < 4; ++i)
    d.push_back(LLVM::ExtractValueOp::create(b, loc, op, i));
  return vector::FromElementsOp::create(b, loc, acc.getType(), d);
}

std::pair<Value, Value> gpukernel::allocSplitPartials(OpBuilder &b,
                                                      Location loc, Value rows,
                                                      Value channels,
                                                      Value &token) {
  auto asyncType = gpu::AsyncTokenType::get(b.getContext());
  auto dynF32 = MemRefType::get({ShapedType::kDynamic}, b.getF32Type());
  auto allocPartial = gpu::AllocOp::create(
      b, loc, dynF32, asyncType, ValueRange{token},
      ValueRange{arith::MulIOp::create(b, loc, rows, channels)}, ValueRange{},
      UnitAttr());
  auto allocLse = gpu::AllocOp::create(
      b, loc, dynF32, asyncType, ValueRange{allocPartial.getAsyncToken()},
      ValueRange{rows}, ValueRange{}, UnitAttr());
  token = allocLse.getAsyncToken();
  return {allocPartial.getMemref(), allocLse.getMemref()};
}

Value gpukernel::emitSplitLseReference(OpBuilder &b, Location loc,
                                       Value partialLse, Value splits,
                                       function_ref<Value(Value)> lseIndex) {
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Value negInf = constF32(b, loc, -std::numeric_limits<double>::infinity());
  auto maxLoop = scf::ForOp::create(b, loc, c0, splits, c1, ValueRange{negInf});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(maxLoop.getBody());
    Value l = memref::LoadOp::create(
        b, loc, partialLse, ValueRange{lseIndex(maxLoop.getInductionVar())});
    scf::YieldOp::create(b, loc,
                         ValueRange{arith::MaximumFOp::create(
                             b, loc, maxLoop.getRegionIterArgs()[0], l)});
  }
  Value gmax = maxLoop.getResult(0);
  Value empty = arith::CmpFOp::create(
      b, loc, arith::CmpFPredicate::OEQ, gmax,
      constF32(b, loc, -std::numeric_limits<double>::infinity()));
  return arith::SelectOp::create(b, loc, empty, constF32(b, loc, 0.0), gmax);
}

Value gpukernel::transpose8x8(OpBuilder &b, Location loc, Value word) {
  // Warp-synchronous: keep it where it is (has_side_effects).
  return LLVM::InlineAsmOp::create(
             b, loc, b.getI32Type(), ValueRange{word},
             "movmatrix.sync.aligned.m8n8.trans.b16 $0, $1;", "=r,r",
             /*has_side_effects=*/true, /*is_align_stack=*/false,
             LLVM::tailcallkind::TailCallKind::None, /*asm_dialect=*/nullptr,
             /*operand_attrs=*/nullptr)
      .getResult(0);
}

Value gpukernel::opaqueIndex(OpBuilder &b, Location loc, Value v) {
  Value word = arith::IndexCastOp::create(b, loc, b.getI64Type(), v);
  Value copy = LLVM::InlineAsmOp::create(b, loc, b.getI64Type(),
                                         ValueRange{word}, "mov.b64 $0, $1;",
                                         "=l,l", /*has_side_effects=*/false,
                                         /*is_align_stack=*/false,
                                         LLVM::tailcallkind::TailCallKind::None,
                                         LLVM::AsmDialectAttr(), ArrayAttr())
                   .getResult(0);
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), copy);
}

Value gpukernel::nanIfNotFinite(OpBuilder &b, Location loc, Value v) {
  return arith::AddFOp::create(b, loc, v, arith::SubFOp::create(b, loc, v, v));
}

Value gpukernel::anyNonFiniteInCTA(OpBuilder &b, Location loc,
                                   ValueRange rowStats,
                                   ValueRange accumulators) {
  Value bad = arith::ConstantOp::create(b, loc, b.getBoolAttr(false));
  for (Value stat : rowStats)
    bad = arith::OrIOp::create(
        b, loc, bad,
        arith::CmpFOp::create(
            b, loc, arith::CmpFPredicate::UGE, stat,
            constF32(b, loc, std::numeric_limits<double>::infinity())));
  // v - v is NaN exactly when v is not finite.
  for (Value acc : accumulators) {
    Value diff = arith::SubFOp::create(b, loc, acc, acc);
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t e = 0; e < 2; ++e) {
        Value d =
            vector::ExtractOp::create(b, loc, diff, ArrayRef<int64_t>{i, e});
        bad = arith::OrIOp::create(
            b, loc, bad,
            arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, d, d));
      }
  }
  Value anyBad = NVVM::BarrierOp::create(
                     b, loc, b.getI32Type(), Value(), Value(),
                     NVVM::BarrierReductionAttr::get(
                         b.getContext(), NVVM::BarrierReduction::OR),
                     arith::ExtUIOp::create(b, loc, b.getI32Type(), bad))
                     .getResult(0);
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, anyBad,
                               constI32(b, loc, 0));
}

void gpukernel::syncWarp(OpBuilder &b, Location loc) {
  NVVM::SyncWarpOp::create(b, loc, constI32(b, loc, -1));
}

Value gpukernel::shuffleXor(OpBuilder &b, Location loc, Value v,
                            int32_t offset) {
  return gpu::ShuffleOp::create(b, loc, v, offset, 32, gpu::ShuffleMode::XOR)
      .getShuffleResult();
}

static Value callIntrinsic(OpBuilder &b, Location loc, StringRef name,
                           Value x) {
  return LLVM::CallIntrinsicOp::create(b, loc, b.getF32Type(),
                                       b.getStringAttr(name), ValueRange{x})
      .getResult(0);
}

Value gpukernel::exp2Approx(OpBuilder &b, Location loc, Value x) {
  return callIntrinsic(b, loc, "llvm.nvvm.ex2.approx.f32", x);
}

Value gpukernel::log2Approx(OpBuilder &b, Location loc, Value x) {
  return callIntrinsic(b, loc, "llvm.nvvm.lg2.approx.f", x);
}
