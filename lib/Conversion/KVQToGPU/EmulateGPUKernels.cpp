//===- EmulateGPUKernels.cpp - NVVM kernels as host code ------------------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// Testing the GPU path without a GPU: the kernels of each gpu.module, as
// convert-gpu-to-nvvm left them (LLVM dialect with NVVM ops: exactly what
// NVPTX would compile), become host functions run by the GPU emulator
// runtime (libkvq_gpu_emulator, include/kvq/Runtime/kvq_gpu_emulator.h):
//
// * NVVM ops become calls of the runtime (special registers, barriers,
//   shfl.sync, vote.sync, mma.sync, ldmatrix, cp.async and its groups), as
//   do the NVVM intrinsics without a host equivalent (ex2.approx, ...);
// * shared memory (address space 3) becomes per-CTA memory of the runtime:
//   static and dynamic shared globals are offsets from
//   __kvq_emu_shared_base(), and every shared load, store or atomic goes
//   through __kvq_emu_shared_access (bounds, alignment, race checks);
// * address spaces are erased (host pointers), NVVM attributes dropped;
// * the functions move into the host module, with an entry per kernel that
//   unpacks the parameter array of mgpuLaunchKernel, registered with the
//   runtime by a global constructor;
// * the gpu.module becomes a gpu.binary whose object names the module, so
//   the host code (gpu-to-llvm's launches, module loading, streams,
//   allocations) stays exactly as for a GPU.
//
// Anything else NVVM-specific (other NVVM ops or intrinsics, inline PTX,
// calls of unknown external functions, unchecked shared-memory accesses) is
// an error naming it: an op the emulator cannot run is never skipped.
//
//===----------------------------------------------------------------------===//

#include "kvq/Conversion/KVQToGPU/KVQToGPU.h"
#include "kvq/Conversion/Passes.h"
#include "kvq/Runtime/kvq_gpu_emulator.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/AttrTypeSubElements.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/DataLayoutInterfaces.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/xxhash.h"

namespace mlir {
namespace kvq {
#define GEN_PASS_DEF_KVQEMULATEGPUKERNELS
#include "kvq/Conversion/Passes.h.inc"
} // namespace kvq
} // namespace mlir

using namespace mlir;

/// The address space of shared memory in the NVVM lowering.
static constexpr unsigned kSharedSpace = 3;

static bool isSharedPointer(Type type) {
  auto ptr = dyn_cast<LLVM::LLVMPointerType>(type);
  return ptr && ptr.getAddressSpace() == kSharedSpace;
}

//===----------------------------------------------------------------------===//
// Runtime functions
//===----------------------------------------------------------------------===//

/// The declaration of runtime function `name` in the symbol table around
/// `from`, created when missing.
static LLVM::LLVMFuncOp getOrDeclare(RewriterBase &rewriter, Operation *from,
                                     StringRef name, Type result,
                                     ArrayRef<Type> args,
                                     bool convergent = false,
                                     bool pure = false) {
  Operation *table = SymbolTable::getNearestSymbolTable(from);
  if (auto fn = dyn_cast_or_null<LLVM::LLVMFuncOp>(
          SymbolTable::lookupSymbolIn(table, name)))
    return fn;
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPointToStart(&table->getRegion(0).front());
  auto type = LLVM::LLVMFunctionType::get(
      result ? result : LLVM::LLVMVoidType::get(rewriter.getContext()), args);
  auto fn = LLVM::LLVMFuncOp::create(rewriter, from->getLoc(), name, type);
  if (convergent)
    fn.setConvergent(true);
  if (pure) {
    // Special registers: constant for the thread that reads them.
    fn.setMemoryEffectsAttr(LLVM::MemoryEffectsAttr::get(
        rewriter.getContext(),
        {LLVM::ModRefInfo::NoModRef, LLVM::ModRefInfo::NoModRef,
         LLVM::ModRefInfo::NoModRef, LLVM::ModRefInfo::NoModRef,
         LLVM::ModRefInfo::NoModRef, LLVM::ModRefInfo::NoModRef}));
    fn.setNoUnwind(true);
    fn.setWillReturn(true);
  }
  return fn;
}

static Value callRuntime(RewriterBase &rewriter, Operation *at, StringRef name,
                         Type result, ValueRange args, bool convergent = false,
                         bool pure = false) {
  SmallVector<Type> types(args.getTypes());
  LLVM::LLVMFuncOp fn =
      getOrDeclare(rewriter, at, name, result, types, convergent, pure);
  auto call = LLVM::CallOp::create(rewriter, at->getLoc(), fn, args);
  if (convergent)
    call.setConvergent(true);
  return result ? call.getResult() : Value();
}

static Value i32Const(RewriterBase &rewriter, Location loc, int64_t v) {
  return LLVM::ConstantOp::create(rewriter, loc, rewriter.getI32Type(),
                                  rewriter.getI32IntegerAttr(v));
}
static Value i64Const(RewriterBase &rewriter, Location loc, int64_t v) {
  return LLVM::ConstantOp::create(rewriter, loc, rewriter.getI64Type(),
                                  rewriter.getI64IntegerAttr(v));
}

/// A pointer in address space 0 (the host's) to what `ptr` points to.
static Value toGeneric(RewriterBase &rewriter, Location loc, Value ptr) {
  auto type = cast<LLVM::LLVMPointerType>(ptr.getType());
  if (type.getAddressSpace() == 0)
    return ptr;
  return LLVM::AddrSpaceCastOp::create(
      rewriter, loc, LLVM::LLVMPointerType::get(rewriter.getContext()), ptr);
}

/// An i32 array of `words` elements allocated at the entry of the function
/// around `at` (scratch for the registers of warp instructions).
static Value entryAlloca(RewriterBase &rewriter, Operation *at, int64_t words) {
  auto func = at->getParentOfType<LLVM::LLVMFuncOp>();
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPointToStart(&func.getBody().front());
  Location loc = at->getLoc();
  return LLVM::AllocaOp::create(
      rewriter, loc, LLVM::LLVMPointerType::get(rewriter.getContext()),
      rewriter.getI32Type(), i64Const(rewriter, loc, words), /*alignment=*/8);
}

/// Stores `value` (32 or 64 bits) at word `word` of the i32 array `base`.
static void storeWords(RewriterBase &rewriter, Location loc, Value base,
                       int64_t word, Value value) {
  Type type = value.getType();
  unsigned bits = type.isIntOrFloat() ? type.getIntOrFloatBitWidth() : 32;
  if (auto vec = dyn_cast<VectorType>(type))
    bits = vec.getNumElements() * vec.getElementType().getIntOrFloatBitWidth();
  Type intType = rewriter.getIntegerType(bits);
  if (type != intType)
    value = LLVM::BitcastOp::create(rewriter, loc, intType, value);
  auto ptrType = LLVM::LLVMPointerType::get(rewriter.getContext());
  Value at =
      LLVM::GEPOp::create(rewriter, loc, ptrType, rewriter.getI32Type(), base,
                          ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(word)});
  LLVM::StoreOp::create(rewriter, loc, value, at, /*alignment=*/4);
}

/// Loads a value of `type` (32 or 64 bits) from word `word` of `base`.
static Value loadWords(RewriterBase &rewriter, Location loc, Value base,
                       int64_t word, Type type) {
  unsigned bits = type.isIntOrFloat() ? type.getIntOrFloatBitWidth() : 32;
  if (auto vec = dyn_cast<VectorType>(type))
    bits = vec.getNumElements() * vec.getElementType().getIntOrFloatBitWidth();
  Type intType = rewriter.getIntegerType(bits);
  auto ptrType = LLVM::LLVMPointerType::get(rewriter.getContext());
  Value at =
      LLVM::GEPOp::create(rewriter, loc, ptrType, rewriter.getI32Type(), base,
                          ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(word)});
  Value v = LLVM::LoadOp::create(rewriter, loc, intType, at, /*alignment=*/4);
  if (type != intType)
    v = LLVM::BitcastOp::create(rewriter, loc, type, v);
  return v;
}

static unsigned wordsOf(Type type) {
  if (auto vec = dyn_cast<VectorType>(type))
    return vec.getNumElements() * vec.getElementType().getIntOrFloatBitWidth() /
           32;
  return type.isIntOrFloat() && type.getIntOrFloatBitWidth() == 64 ? 2 : 1;
}

//===----------------------------------------------------------------------===//
// Shared memory layout
//===----------------------------------------------------------------------===//

namespace {
/// Offsets of the shared-memory globals of a GPU module in the CTA's shared
/// memory: static ones first, in order; dynamic ones (external or
/// zero-sized) all at the 16-byte aligned end of the static ones, where the
/// runtime puts the launch's dynamic shared memory.
struct SharedLayout {
  llvm::StringMap<int64_t> offsets;
  int64_t staticBytes = 0;

  explicit SharedLayout(Operation *module) {
    DataLayout layout = DataLayout::closest(module);
    SmallVector<LLVM::GlobalOp> dynamic;
    for (auto global : module->getRegion(0).getOps<LLVM::GlobalOp>()) {
      if (global.getAddrSpace() != kSharedSpace)
        continue;
      int64_t size = layout.getTypeSize(global.getGlobalType());
      if (global.getLinkage() == LLVM::Linkage::External || size == 0) {
        dynamic.push_back(global);
        continue;
      }
      int64_t align = global.getAlignment().value_or(
          layout.getTypeABIAlignment(global.getGlobalType()));
      staticBytes = llvm::alignTo(staticBytes, std::max<int64_t>(align, 1));
      offsets[global.getSymName()] = staticBytes;
      staticBytes += size;
    }
    for (LLVM::GlobalOp global : dynamic)
      offsets[global.getSymName()] = llvm::alignTo(staticBytes, 16);
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

namespace {

/// nvvm.read.ptx.sreg.* -> __kvq_emu_sreg_*().
template <typename OpT> struct SpecialRegisterToCall : OpRewritePattern<OpT> {
  SpecialRegisterToCall(MLIRContext *context, StringRef name)
      : OpRewritePattern<OpT>(context), name(name) {}

  LogicalResult matchAndRewrite(OpT op,
                                PatternRewriter &rewriter) const override {
    Type i32 = rewriter.getI32Type();
    Value v = callRuntime(rewriter, op, name, i32, {}, false, /*pure=*/true);
    Type type = op.getType();
    if (type != i32) {
      if (!type.isInteger())
        return failure();
      v = type.getIntOrFloatBitWidth() > 32
              ? Value(LLVM::ZExtOp::create(rewriter, op.getLoc(), type, v))
              : Value(LLVM::TruncOp::create(rewriter, op.getLoc(), type, v));
    }
    rewriter.replaceOp(op, v);
    return success();
  }

  std::string name;
};

struct Barrier0ToCall : OpRewritePattern<NVVM::Barrier0Op> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NVVM::Barrier0Op op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    callRuntime(rewriter, op, "__kvq_emu_barrier", rewriter.getI32Type(),
                {i32Const(rewriter, loc, 0), i32Const(rewriter, loc, -1),
                 i32Const(rewriter, loc, -1), i32Const(rewriter, loc, 0)},
                /*convergent=*/true);
    rewriter.eraseOp(op);
    return success();
  }
};

struct BarrierToCall : OpRewritePattern<NVVM::BarrierOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NVVM::BarrierOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value id =
        op.getBarrierId() ? op.getBarrierId() : i32Const(rewriter, loc, 0);
    Value count = op.getNumberOfThreads() ? op.getNumberOfThreads()
                                          : i32Const(rewriter, loc, -1);
    int32_t reduction = -1;
    if (std::optional<NVVM::BarrierReduction> r = op.getReductionOp())
      reduction = static_cast<int32_t>(*r); // popc 0, and 1, or 2
    Value predicate = op.getReductionPredicate() ? op.getReductionPredicate()
                                                 : i32Const(rewriter, loc, 0);
    Value result =
        callRuntime(rewriter, op, "__kvq_emu_barrier", rewriter.getI32Type(),
                    {id, count, i32Const(rewriter, loc, reduction), predicate},
                    /*convergent=*/true);
    if (op->getNumResults())
      rewriter.replaceOp(op, result);
    else
      rewriter.eraseOp(op);
    return success();
  }
};

struct ShflToCall : OpRewritePattern<NVVM::ShflOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NVVM::ShflOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type i32 = rewriter.getI32Type(), valType = op.getVal().getType();
    int32_t mode = 0;
    switch (op.getKind()) {
    case NVVM::ShflKind::up:
      mode = 0;
      break;
    case NVVM::ShflKind::down:
      mode = 1;
      break;
    case NVVM::ShflKind::bfly:
      mode = 2;
      break;
    case NVVM::ShflKind::idx:
      mode = 3;
      break;
    }
    Value val = op.getVal();
    if (valType != i32)
      val = LLVM::BitcastOp::create(rewriter, loc, i32, val);
    Value packed =
        callRuntime(rewriter, op, "__kvq_emu_shfl_sync", rewriter.getI64Type(),
                    {i32Const(rewriter, loc, mode), op.getThreadMask(), val,
                     op.getOffset(), op.getMaskAndClamp()},
                    /*convergent=*/true);
    Value result = LLVM::TruncOp::create(rewriter, loc, i32, packed);
    if (valType != i32)
      result = LLVM::BitcastOp::create(rewriter, loc, valType, result);
    if (!op.getReturnValueAndIsValid()) {
      rewriter.replaceOp(op, result);
      return success();
    }
    Value valid = LLVM::TruncOp::create(
        rewriter, loc, rewriter.getI1Type(),
        LLVM::LShrOp::create(rewriter, loc, packed,
                             i64Const(rewriter, loc, 32)));
    Value s = LLVM::PoisonOp::create(rewriter, loc, op.getType());
    s = LLVM::InsertValueOp::create(rewriter, loc, s, result,
                                    ArrayRef<int64_t>{0});
    s = LLVM::InsertValueOp::create(rewriter, loc, s, valid,
                                    ArrayRef<int64_t>{1});
    rewriter.replaceOp(op, s);
    return success();
  }
};

struct VoteToCall : OpRewritePattern<NVVM::VoteSyncOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NVVM::VoteSyncOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type i32 = rewriter.getI32Type();
    Value pred = LLVM::ZExtOp::create(rewriter, loc, i32, op.getPred());
    Value r = callRuntime(
        rewriter, op, "__kvq_emu_vote_sync", i32,
        {i32Const(rewriter, loc, static_cast<int32_t>(op.getKind())),
         op.getMask(), pred},
        /*convergent=*/true);
    if (op.getType() != i32)
      r = LLVM::TruncOp::create(rewriter, loc, op.getType(), r);
    rewriter.replaceOp(op, r);
    return success();
  }
};

struct SyncWarpToCall : OpRewritePattern<NVVM::SyncWarpOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NVVM::SyncWarpOp op,
                                PatternRewriter &rewriter) const override {
    callRuntime(rewriter, op, "__kvq_emu_syncwarp", Type(), {op.getMask()},
                /*convergent=*/true);
    rewriter.eraseOp(op);
    return success();
  }
};

/// The emulator's code for an mma operand type, or -1.
static int32_t mmaTypeCode(NVVM::MMATypes type) {
  switch (type) {
  case NVVM::MMATypes::f16:
    return KVQ_EMU_F16;
  case NVVM::MMATypes::bf16:
    return KVQ_EMU_BF16;
  case NVVM::MMATypes::tf32:
    return KVQ_EMU_TF32;
  case NVVM::MMATypes::f32:
    return KVQ_EMU_F32;
  case NVVM::MMATypes::s8:
    return KVQ_EMU_S8;
  case NVVM::MMATypes::u8:
    return KVQ_EMU_U8;
  case NVVM::MMATypes::s32:
    return KVQ_EMU_S32;
  case NVVM::MMATypes::f64:
    return KVQ_EMU_F64;
  default:
    return -1;
  }
}

/// The type code of an operand register type: f16 pairs, f32, f64, i32
/// (integer accumulators).
static int32_t registerTypeCode(Type type) {
  if (auto vec = dyn_cast<VectorType>(type)) {
    if (vec.getElementType().isF16())
      return KVQ_EMU_F16;
    if (vec.getElementType().isBF16())
      return KVQ_EMU_BF16;
    return -1;
  }
  if (type.isF32())
    return KVQ_EMU_F32;
  if (type.isF64())
    return KVQ_EMU_F64;
  if (type.isInteger(32))
    return KVQ_EMU_S32;
  return -1;
}

/// Whether the emulator runtime implements this mma.sync (row.col): the
/// same table as its Mma.cpp.
static bool isEmulatedMma(int64_t m, int64_t n, int64_t k, int32_t a, int32_t b,
                          int32_t c, int32_t d) {
  bool m16n8 = m == 16 && n == 8;
  switch (a) {
  case KVQ_EMU_F16:
    return b == a && m16n8 && (k == 16 || k == 8) &&
           (c == KVQ_EMU_F32 || c == KVQ_EMU_F16) &&
           (d == KVQ_EMU_F32 || d == KVQ_EMU_F16);
  case KVQ_EMU_BF16:
    return b == a && m16n8 && (k == 16 || k == 8) && c == KVQ_EMU_F32 &&
           d == KVQ_EMU_F32;
  case KVQ_EMU_TF32:
    return b == a && m16n8 && (k == 8 || k == 4) && c == KVQ_EMU_F32 &&
           d == KVQ_EMU_F32;
  case KVQ_EMU_S8:
  case KVQ_EMU_U8:
    return (b == KVQ_EMU_S8 || b == KVQ_EMU_U8) && m16n8 &&
           (k == 32 || k == 16) && c == KVQ_EMU_S32 && d == KVQ_EMU_S32;
  case KVQ_EMU_F64:
    return b == a && m == 8 && n == 8 && k == 4 && c == KVQ_EMU_F64 &&
           d == KVQ_EMU_F64;
  default:
    return false;
  }
}

/// nvvm.mma.sync -> __kvq_emu_mma_sync(shape, types, in, out): the lane's
/// A, B, C registers go to a scratch array, D comes back in another.
struct MmaToCall : OpRewritePattern<NVVM::MmaOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NVVM::MmaOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getLayoutA() != NVVM::MMALayout::row ||
        op.getLayoutB() != NVVM::MMALayout::col || op.getB1Op() ||
        op.getOperandA().empty() || op.getOperandB().empty() ||
        op.getOperandC().empty())
      return failure();
    auto resultType = dyn_cast<LLVM::LLVMStructType>(op.getType());
    if (!resultType || resultType.getBody().empty())
      return failure();
    NVVM::MMAShapeAttr shape = op.getShapeAttr();
    auto operandType = [&](ValueRange regs,
                           std::optional<NVVM::MMATypes> ptx) -> int32_t {
      if (ptx)
        return mmaTypeCode(*ptx);
      int32_t code = registerTypeCode(regs.front().getType());
      // A / B registers of f32 are tf32 operands.
      return code == KVQ_EMU_F32 ? KVQ_EMU_TF32 : code;
    };
    int32_t a = operandType(op.getOperandA(), op.getMultiplicandAPtxType());
    int32_t b = operandType(op.getOperandB(), op.getMultiplicandBPtxType());
    int32_t c = registerTypeCode(op.getOperandC().front().getType());
    Type dRegType = resultType.getBody().front();
    int32_t d = registerTypeCode(dRegType);
    if (!isEmulatedMma(shape.getM(), shape.getN(), shape.getK(), a, b, c, d))
      return failure();
    bool satfinite =
        !op.getIntOverflowBehavior() ||
        *op.getIntOverflowBehavior() == NVVM::MMAIntOverflow::satfinite;

    Location loc = op.getLoc();
    int64_t inWords = 0, outWords = 0;
    for (Value v : op.getOperands())
      inWords += wordsOf(v.getType());
    for (Type t : resultType.getBody())
      outWords += wordsOf(t);
    Value in = entryAlloca(rewriter, op, inWords);
    Value out = entryAlloca(rewriter, op, outWords);
    int64_t word = 0;
    for (Value v : op.getOperands()) {
      storeWords(rewriter, loc, in, word, v);
      word += wordsOf(v.getType());
    }
    callRuntime(rewriter, op, "__kvq_emu_mma_sync", Type(),
                {i32Const(rewriter, loc, shape.getM()),
                 i32Const(rewriter, loc, shape.getN()),
                 i32Const(rewriter, loc, shape.getK()),
                 i32Const(rewriter, loc, a), i32Const(rewriter, loc, b),
                 i32Const(rewriter, loc, c), i32Const(rewriter, loc, d),
                 i32Const(rewriter, loc, satfinite), in, out},
                /*convergent=*/true);
    Value s = LLVM::PoisonOp::create(rewriter, loc, resultType);
    word = 0;
    for (auto [i, t] : llvm::enumerate(resultType.getBody())) {
      s = LLVM::InsertValueOp::create(
          rewriter, loc, s, loadWords(rewriter, loc, out, word, t),
          ArrayRef<int64_t>{static_cast<int64_t>(i)});
      word += wordsOf(t);
    }
    rewriter.replaceOp(op, s);
    return success();
  }
};

/// nvvm.ldmatrix (m8n8, b16) -> __kvq_emu_ldmatrix(num, trans, row, out).
struct LdMatrixToCall : OpRewritePattern<NVVM::LdMatrixOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NVVM::LdMatrixOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getShape().getM() != 8 || op.getShape().getN() != 8 ||
        op.getEltType() != NVVM::LdStMatrixEltType::B16)
      return failure();
    Location loc = op.getLoc();
    int64_t num = op.getNum();
    Value out = entryAlloca(rewriter, op, num);
    callRuntime(
        rewriter, op, "__kvq_emu_ldmatrix", Type(),
        {i32Const(rewriter, loc, num),
         i32Const(rewriter, loc, op.getLayout() == NVVM::MMALayout::col),
         toGeneric(rewriter, loc, op.getPtr()), out},
        /*convergent=*/true);
    Type i32 = rewriter.getI32Type();
    if (op.getType() == i32) {
      rewriter.replaceOp(op, loadWords(rewriter, loc, out, 0, i32));
      return success();
    }
    auto structType = dyn_cast<LLVM::LLVMStructType>(op.getType());
    if (!structType)
      return failure();
    Value s = LLVM::PoisonOp::create(rewriter, loc, structType);
    for (int64_t i = 0; i < num; ++i)
      s = LLVM::InsertValueOp::create(rewriter, loc, s,
                                      loadWords(rewriter, loc, out, i, i32),
                                      ArrayRef<int64_t>{i});
    rewriter.replaceOp(op, s);
    return success();
  }
};

struct CpAsyncToCall : OpRewritePattern<NVVM::CpAsyncOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NVVM::CpAsyncOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value size = i32Const(rewriter, loc, op.getSize());
    Value srcSize = op.getCpSize() ? op.getCpSize() : size;
    callRuntime(rewriter, op, "__kvq_emu_cp_async", Type(),
                {toGeneric(rewriter, loc, op.getDst()),
                 toGeneric(rewriter, loc, op.getSrc()), size, srcSize});
    rewriter.eraseOp(op);
    return success();
  }
};

struct CpAsyncCommitToCall : OpRewritePattern<NVVM::CpAsyncCommitGroupOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NVVM::CpAsyncCommitGroupOp op,
                                PatternRewriter &rewriter) const override {
    callRuntime(rewriter, op, "__kvq_emu_cp_async_commit_group", Type(), {});
    rewriter.eraseOp(op);
    return success();
  }
};

struct CpAsyncWaitToCall : OpRewritePattern<NVVM::CpAsyncWaitGroupOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NVVM::CpAsyncWaitGroupOp op,
                                PatternRewriter &rewriter) const override {
    callRuntime(rewriter, op, "__kvq_emu_cp_async_wait_group", Type(),
                {i32Const(rewriter, op.getLoc(), op.getN())},
                /*convergent=*/true);
    rewriter.eraseOp(op);
    return success();
  }
};

struct RcpApproxToCall : OpRewritePattern<NVVM::RcpApproxFtzF32Op> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NVVM::RcpApproxFtzF32Op op,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOp(op,
                       callRuntime(rewriter, op, "__kvq_emu_rcp_approx_ftz_f32",
                                   op.getType(), op->getOperands()));
    return success();
  }
};

/// The runtime function for an NVVM intrinsic called by name, or "".
static StringRef runtimeForIntrinsic(StringRef name) {
  return llvm::StringSwitch<StringRef>(name)
      .Cases({"llvm.nvvm.ex2.approx.f32", "llvm.nvvm.ex2.approx.f"},
             "__kvq_emu_ex2_approx_f32")
      .Cases({"llvm.nvvm.ex2.approx.ftz.f32", "llvm.nvvm.ex2.approx.ftz.f"},
             "__kvq_emu_ex2_approx_ftz_f32")
      .Cases({"llvm.nvvm.lg2.approx.f", "llvm.nvvm.lg2.approx.f32"},
             "__kvq_emu_lg2_approx_f32")
      .Cases({"llvm.nvvm.lg2.approx.ftz.f", "llvm.nvvm.lg2.approx.ftz.f32"},
             "__kvq_emu_lg2_approx_ftz_f32")
      .Case("llvm.nvvm.rcp.approx.ftz.f", "__kvq_emu_rcp_approx_ftz_f32")
      .Case("llvm.nvvm.rsqrt.approx.f", "__kvq_emu_rsqrt_approx_f32")
      .Case("llvm.nvvm.rsqrt.approx.ftz.f", "__kvq_emu_rsqrt_approx_ftz_f32")
      .Case("llvm.nvvm.sqrt.approx.f", "__kvq_emu_sqrt_approx_f32")
      .Case("llvm.nvvm.sin.approx.f", "__kvq_emu_sin_approx_f32")
      .Case("llvm.nvvm.cos.approx.f", "__kvq_emu_cos_approx_f32")
      .Case("llvm.nvvm.tanh.approx.f32", "__kvq_emu_tanh_approx_f32")
      .Default("");
}

struct NVVMIntrinsicToCall : OpRewritePattern<LLVM::CallIntrinsicOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LLVM::CallIntrinsicOp op,
                                PatternRewriter &rewriter) const override {
    StringRef fn = runtimeForIntrinsic(op.getIntrin());
    if (fn.empty() || op->getNumResults() != 1 || op->getNumOperands() != 1 ||
        !op->getResult(0).getType().isF32() ||
        !op->getOperand(0).getType().isF32())
      return failure();
    rewriter.replaceOp(op, callRuntime(rewriter, op, fn, rewriter.getF32Type(),
                                       op->getOperands()));
    return success();
  }
};

/// The inline PTX the kernels use, as runtime calls (any other inline
/// assembly is reported by the pass):
/// * `mov.b32` / `mov.b64 $0, $1;` (hides a value from the optimizers) ->
///   __kvq_emu_mov_b32 / _b64, an identity the host's optimizers cannot
///   see through either;
/// * `lop3.b32 $0, $1, $2, $3, <lut>;` -> __kvq_emu_lop3(a, b, c, lut);
/// * `movmatrix.sync.aligned.m8n8.trans.b16 $0, $1;` -> __kvq_emu_movmatrix
///   (warp-synchronous).
struct InlinePTXToCall : OpRewritePattern<LLVM::InlineAsmOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LLVM::InlineAsmOp op,
                                PatternRewriter &rewriter) const override {
    if (op->getNumResults() != 1 || op.getAsmDialect() ||
        llvm::any_of(op->getOperandTypes(),
                     [&](Type t) { return t != op->getResult(0).getType(); }))
      return failure();
    Type type = op->getResult(0).getType();
    StringRef text = op.getAsmString().trim();
    StringRef constraints = op.getConstraints();
    Location loc = op.getLoc();
    Value result;
    if (op->getNumOperands() == 1 && !op.getHasSideEffects() &&
        ((type.isInteger(64) && text == "mov.b64 $0, $1;" &&
          constraints == "=l,l") ||
         (type.isInteger(32) && text == "mov.b32 $0, $1;" &&
          constraints == "=r,r"))) {
      result = callRuntime(rewriter, op,
                           type.isInteger(64) ? "__kvq_emu_mov_b64"
                                              : "__kvq_emu_mov_b32",
                           type, op->getOperands());
    } else if (op->getNumOperands() == 3 && type.isInteger(32) &&
               constraints == "=r,r,r,r" &&
               text.consume_front("lop3.b32 $0, $1, $2, $3, ") &&
               text.consume_back(";")) {
      uint64_t lut;
      if (text.trim().getAsInteger(0, lut) || lut > 0xff)
        return failure();
      SmallVector<Value> args(op->getOperands());
      args.push_back(i32Const(rewriter, loc, static_cast<int64_t>(lut)));
      result = callRuntime(rewriter, op, "__kvq_emu_lop3", type, args,
                           /*convergent=*/false, /*pure=*/true);
    } else if (op->getNumOperands() == 1 && type.isInteger(32) &&
               constraints == "=r,r" &&
               text == "movmatrix.sync.aligned.m8n8.trans.b16 $0, $1;") {
      result = callRuntime(rewriter, op, "__kvq_emu_movmatrix", type,
                           op->getOperands(), /*convergent=*/true);
    } else {
      return failure();
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// nvvm.prmt (default mode) -> __kvq_emu_prmt(lo, hi, selector).
struct PermuteToCall : OpRewritePattern<NVVM::PermuteOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NVVM::PermuteOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getMode() != NVVM::PermuteMode::DEFAULT || !op.getHi())
      return failure();
    rewriter.replaceOp(
        op, callRuntime(rewriter, op, "__kvq_emu_prmt", rewriter.getI32Type(),
                        {op.getLo(), op.getHi(), op.getSelector()},
                        /*convergent=*/false, /*pure=*/true));
    return success();
  }
};

/// nvvm.convert.f8x2.to.f16x2 -> __kvq_emu_cvt_f16x2_f8x2 on the codes as a
/// word; the f16 pair comes back as a word.
struct ConvertF8x2ToCall : OpRewritePattern<NVVM::ConvertF8x2ToF16x2Op> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NVVM::ConvertF8x2ToF16x2Op op,
                                PatternRewriter &rewriter) const override {
    Type srcType = op.getSrcType();
    bool e5m2 = isa<Float8E5M2Type>(srcType);
    if (!e5m2 && !isa<Float8E4M3FNType>(srcType))
      return failure();
    Location loc = op.getLoc();
    Type i16 = rewriter.getI16Type(), i32 = rewriter.getI32Type();
    Value codes = LLVM::ZExtOp::create(
        rewriter, loc, i32,
        LLVM::BitcastOp::create(rewriter, loc, i16, op.getSrc()));
    Value word = callRuntime(rewriter, op, "__kvq_emu_cvt_f16x2_f8x2", i32,
                             {codes, i32Const(rewriter, loc, e5m2),
                              i32Const(rewriter, loc, op.getRelu())},
                             /*convergent=*/false, /*pure=*/true);
    rewriter.replaceOpWithNewOp<LLVM::BitcastOp>(op, op->getResult(0).getType(),
                                                 word);
    return success();
  }
};

/// llvm.mlir.addressof of a shared-memory global -> the runtime's shared
/// memory base plus the global's offset.
struct SharedGlobalAddress : OpRewritePattern<LLVM::AddressOfOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LLVM::AddressOfOp op,
                                PatternRewriter &rewriter) const override {
    if (!isSharedPointer(op.getType()))
      return failure();
    Operation *table = SymbolTable::getNearestSymbolTable(op);
    if (op->getParentOfType<LLVM::GlobalOp>())
      return failure(); // in an initializer: reported by the pass
    SharedLayout layout(table);
    auto it = layout.offsets.find(op.getGlobalName());
    if (it == layout.offsets.end())
      return failure();
    Location loc = op.getLoc();
    auto ptr = LLVM::LLVMPointerType::get(rewriter.getContext());
    Value base = callRuntime(rewriter, op, "__kvq_emu_shared_base", ptr, {},
                             false, /*pure=*/true);
    Value at = LLVM::GEPOp::create(
        rewriter, loc, ptr, rewriter.getI8Type(), base,
        ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(it->second)});
    rewriter.replaceOpWithNewOp<LLVM::AddrSpaceCastOp>(op, op.getType(), at);
    return success();
  }
};

/// A load, store or atomic on shared memory: its address goes through
/// __kvq_emu_shared_access(address, size, kind, alignment) first.
template <typename OpT> struct InstrumentSharedAccess : OpRewritePattern<OpT> {
  InstrumentSharedAccess(MLIRContext *context, int32_t kind)
      : OpRewritePattern<OpT>(context), kind(kind) {}

  LogicalResult matchAndRewrite(OpT op,
                                PatternRewriter &rewriter) const override {
    Value addr = addressOf(op);
    if (!isSharedPointer(addr.getType()))
      return failure();
    Type accessed = accessedType(op);
    DataLayout layout = DataLayout::closest(op);
    // The bytes the access touches (LLVM's store size): MLIR's type size of
    // a vector rounds its length up to a power of two (vector<3xi32>: 16
    // bytes), but a load of it reads 12.
    int64_t size = layout.getTypeSize(accessed);
    if (auto vector = dyn_cast<VectorType>(accessed))
      size = llvm::divideCeil(
          vector.getNumElements() *
              static_cast<int64_t>(
                  layout.getTypeSizeInBits(vector.getElementType())),
          int64_t{8});
    int64_t align = alignmentOf(op);
    if (align == 0)
      align = layout.getTypeABIAlignment(accessed);
    Location loc = op.getLoc();
    auto ptr = LLVM::LLVMPointerType::get(rewriter.getContext());
    Value checked = callRuntime(
        rewriter, op, "__kvq_emu_shared_access", ptr,
        {toGeneric(rewriter, loc, addr), i64Const(rewriter, loc, size),
         i32Const(rewriter, loc, kind), i64Const(rewriter, loc, align)});
    rewriter.modifyOpInPlace(op, [&] { addressOperand(op).set(checked); });
    return success();
  }

  static Value addressOf(LLVM::LoadOp op) { return op.getAddr(); }
  static Value addressOf(LLVM::StoreOp op) { return op.getAddr(); }
  static Value addressOf(LLVM::AtomicRMWOp op) { return op.getPtr(); }
  static Value addressOf(LLVM::AtomicCmpXchgOp op) { return op.getPtr(); }
  static OpOperand &addressOperand(LLVM::LoadOp op) {
    return op.getAddrMutable();
  }
  static OpOperand &addressOperand(LLVM::StoreOp op) {
    return op.getAddrMutable();
  }
  static OpOperand &addressOperand(LLVM::AtomicRMWOp op) {
    return op.getPtrMutable();
  }
  static OpOperand &addressOperand(LLVM::AtomicCmpXchgOp op) {
    return op.getPtrMutable();
  }

  static Type accessedType(LLVM::LoadOp op) { return op.getType(); }
  static Type accessedType(LLVM::StoreOp op) { return op.getValue().getType(); }
  static Type accessedType(LLVM::AtomicRMWOp op) {
    return op.getVal().getType();
  }
  static Type accessedType(LLVM::AtomicCmpXchgOp op) {
    return op.getVal().getType();
  }
  static int64_t alignmentOf(LLVM::LoadOp op) {
    return op.getAlignment().value_or(0);
  }
  static int64_t alignmentOf(LLVM::StoreOp op) {
    return op.getAlignment().value_or(0);
  }
  static int64_t alignmentOf(LLVM::AtomicRMWOp op) {
    return op.getAlignment().value_or(0);
  }
  static int64_t alignmentOf(LLVM::AtomicCmpXchgOp op) {
    return op.getAlignment().value_or(0);
  }

  int32_t kind;
};

} // namespace

void mlir::kvq::populateNVVMToGPUEmulatorPatterns(RewritePatternSet &patterns) {
  MLIRContext *context = patterns.getContext();
#define KVQ_SREG(Op, name)                                                     \
  patterns.add<SpecialRegisterToCall<NVVM::Op>>(context, "__kvq_emu_"          \
                                                         "sreg_" name)
  KVQ_SREG(ThreadIdXOp, "tid_x");
  KVQ_SREG(ThreadIdYOp, "tid_y");
  KVQ_SREG(ThreadIdZOp, "tid_z");
  KVQ_SREG(BlockDimXOp, "ntid_x");
  KVQ_SREG(BlockDimYOp, "ntid_y");
  KVQ_SREG(BlockDimZOp, "ntid_z");
  KVQ_SREG(BlockIdXOp, "ctaid_x");
  KVQ_SREG(BlockIdYOp, "ctaid_y");
  KVQ_SREG(BlockIdZOp, "ctaid_z");
  KVQ_SREG(GridDimXOp, "nctaid_x");
  KVQ_SREG(GridDimYOp, "nctaid_y");
  KVQ_SREG(GridDimZOp, "nctaid_z");
  KVQ_SREG(LaneIdOp, "laneid");
  KVQ_SREG(WarpSizeOp, "warpsize");
  KVQ_SREG(WarpIdOp, "warpid");
  KVQ_SREG(WarpDimOp, "nwarpid");
  KVQ_SREG(LaneMaskEqOp, "lanemask_eq");
  KVQ_SREG(LaneMaskLeOp, "lanemask_le");
  KVQ_SREG(LaneMaskLtOp, "lanemask_lt");
  KVQ_SREG(LaneMaskGeOp, "lanemask_ge");
  KVQ_SREG(LaneMaskGtOp, "lanemask_gt");
  KVQ_SREG(DynamicSmemSize, "dynamic_smem_size");
  KVQ_SREG(TotalSmemSize, "total_smem_size");
#undef KVQ_SREG
  patterns.add<Barrier0ToCall, BarrierToCall, ShflToCall, VoteToCall,
               SyncWarpToCall, MmaToCall, LdMatrixToCall, CpAsyncToCall,
               CpAsyncCommitToCall, CpAsyncWaitToCall, RcpApproxToCall,
               NVVMIntrinsicToCall, InlinePTXToCall, PermuteToCall,
               ConvertF8x2ToCall, SharedGlobalAddress>(context);
  patterns.add<InstrumentSharedAccess<LLVM::LoadOp>>(context, 0);
  patterns.add<InstrumentSharedAccess<LLVM::StoreOp>>(context, 1);
  patterns.add<InstrumentSharedAccess<LLVM::AtomicRMWOp>>(context, 2);
  patterns.add<InstrumentSharedAccess<LLVM::AtomicCmpXchgOp>>(context, 2);
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

/// The external functions an emulated kernel may call: the runtime's and the
/// libdevice functions it implements.
static const llvm::StringSet<> &providedFunctions() {
  static const llvm::StringSet<> names = [] {
    llvm::StringSet<> s;
#define KVQ_LIBDEVICE_UNARY(name)                                              \
  s.insert("__nv_" #name "f");                                                 \
  s.insert("__nv_" #name);
#define KVQ_LIBDEVICE_BINARY(name) KVQ_LIBDEVICE_UNARY(name)
#define KVQ_LIBDEVICE_OTHER(symbol) s.insert(#symbol);
#include "kvq/Runtime/GPUEmulatorLibdevice.def"
    return s;
  }();
  return names;
}

/// Ops that may take a shared-memory pointer without accessing memory.
static bool isAddressArithmetic(Operation *op) {
  return isa<LLVM::GEPOp, LLVM::AddrSpaceCastOp, LLVM::PtrToIntOp,
             LLVM::SelectOp, LLVM::ICmpOp, LLVM::InsertValueOp,
             LLVM::ExtractValueOp, LLVM::BrOp, LLVM::CondBrOp, LLVM::SwitchOp>(
      op);
}

/// Reports what the patterns left that the host cannot run.
static LogicalResult checkEmulable(gpu::GPUModuleOp module) {
  bool ok = true;
  module.walk([&](Operation *op) {
    auto fail = [&](const Twine &why) {
      op->emitOpError() << "cannot be emulated on the host: " << why;
      ok = false;
    };
    Dialect *dialect = op->getDialect();
    if (dialect && isa<NVVM::NVVMDialect>(dialect)) {
      fail("the GPU emulator does not implement it");
      return;
    }
    if (auto asmOp = dyn_cast<LLVM::InlineAsmOp>(op)) {
      fail("inline PTX assembly ('" + asmOp.getAsmString().take_front(60) +
           "')");
      return;
    }
    if (auto intr = dyn_cast<LLVM::CallIntrinsicOp>(op)) {
      if (intr.getIntrin().starts_with("llvm.nvvm."))
        fail("the GPU emulator does not implement the NVVM intrinsic '" +
             intr.getIntrin() + "'");
      return;
    }
    if (auto call = dyn_cast<LLVM::CallOp>(op)) {
      std::optional<StringRef> callee = call.getCallee();
      if (!callee)
        return;
      auto fn = dyn_cast_or_null<LLVM::LLVMFuncOp>(
          SymbolTable::lookupSymbolIn(module, *callee));
      if (fn && fn.isExternal() && !callee->starts_with("__kvq_emu_") &&
          !providedFunctions().contains(*callee))
        fail("it calls the external function '" + *callee +
             "', which the GPU emulator does not provide");
      if (!callee->starts_with("__kvq_emu_") &&
          llvm::any_of(call.getOperandTypes(), isSharedPointer))
        fail("it passes a shared-memory pointer to '" + *callee +
             "', whose accesses the GPU emulator cannot check");
      return;
    }
    if (isa<LLVM::AddressOfOp>(op) &&
        isSharedPointer(op->getResult(0).getType())) {
      fail("the address of a shared-memory global in a global initializer");
      return;
    }
    if (!isAddressArithmetic(op) &&
        llvm::any_of(op->getOperandTypes(), isSharedPointer))
      fail("it accesses shared memory in a way the GPU emulator cannot "
           "check");
  });
  for (auto global : module.getOps<LLVM::GlobalOp>())
    if (global.getAddrSpace() != kSharedSpace &&
        global.getLinkage() == LLVM::Linkage::External &&
        !global.getValueOrNull() && global.getInitializerRegion().empty()) {
      global.emitOpError() << "cannot be emulated on the host: an external "
                              "device global the GPU emulator cannot provide";
      ok = false;
    }
  return success(ok);
}

namespace {
struct KVQEmulateGPUKernelsPass
    : kvq::impl::KVQEmulateGPUKernelsBase<KVQEmulateGPUKernelsPass> {
  void runOnOperation() override {
    ModuleOp host = getOperation();
    SmallVector<gpu::GPUModuleOp> modules(host.getOps<gpu::GPUModuleOp>());
    if (modules.empty())
      return;
    RewritePatternSet set(&getContext());
    kvq::populateNVVMToGPUEmulatorPatterns(set);
    FrozenRewritePatternSet patterns(std::move(set));
    SymbolTable hostSymbols(host);
    SmallVector<LLVM::LLVMFuncOp> ctors, dtors;
    for (gpu::GPUModuleOp module : modules)
      if (failed(emulate(host, hostSymbols, module, patterns, ctors, dtors)))
        return signalPassFailure();
    OpBuilder b(&getContext());
    appendStructors(b, host, ctors, /*ctor=*/true, 100);
    appendStructors(b, host, dtors, /*ctor=*/false, 100);
  }

  LogicalResult emulate(ModuleOp host, SymbolTable &hostSymbols,
                        gpu::GPUModuleOp module,
                        const FrozenRewritePatternSet &patterns,
                        SmallVectorImpl<LLVM::LLVMFuncOp> &ctors,
                        SmallVectorImpl<LLVM::LLVMFuncOp> &dtors);
  static void appendStructors(OpBuilder &b, ModuleOp host,
                              ArrayRef<LLVM::LLVMFuncOp> fns, bool ctor,
                              int32_t priority);
};
} // namespace

/// The kernels' attributes the host has no use for (or would misread:
/// `nvvm.kernel` makes a PTX entry point).
static void stripDeviceAttributes(LLVM::LLVMFuncOp fn) {
  SmallVector<StringAttr> drop;
  for (NamedAttribute attr : fn->getDiscardableAttrs())
    if (attr.getName().strref().starts_with("nvvm.") ||
        attr.getName().strref().starts_with("gpu.") ||
        attr.getName().strref().starts_with("rocdl."))
      drop.push_back(attr.getName());
  for (StringAttr name : drop)
    fn->removeAttr(name);
  fn.removeTargetCpuAttr();
  fn.removeTargetFeaturesAttr();
  fn.removeTuneCpuAttr();
  if (fn.getCConv() == LLVM::CConv::PTX_Kernel ||
      fn.getCConv() == LLVM::CConv::PTX_Device)
    fn.setCConv(LLVM::CConv::C);
  for (unsigned i = 0, e = fn.getNumArguments(); i < e; ++i) {
    SmallVector<NamedAttribute> attrs(fn.getArgAttrDict(i)
                                          ? fn.getArgAttrDict(i).getValue()
                                          : ArrayRef<NamedAttribute>());
    for (NamedAttribute attr : attrs)
      if (attr.getName().strref().starts_with("nvvm."))
        fn.removeArgAttr(i, attr.getName());
  }
}

/// The maximum threads per block a kernel was compiled for (0: any).
static int32_t maxThreadsOf(LLVM::LLVMFuncOp fn) {
  for (StringRef name : {"nvvm.reqntid", "nvvm.maxntid"}) {
    if (auto dims = fn->getAttrOfType<DenseI32ArrayAttr>(name)) {
      int64_t product = 1;
      for (int32_t d : dims.asArrayRef())
        product *= d;
      return static_cast<int32_t>(product);
    }
  }
  return 0;
}

/// A private constant NUL-terminated string global named `name`.
static LLVM::GlobalOp createString(OpBuilder &b, Location loc, StringRef name,
                                   StringRef value) {
  auto type = LLVM::LLVMArrayType::get(b.getI8Type(), value.size() + 1);
  return LLVM::GlobalOp::create(b, loc, type, /*isConstant=*/true,
                                LLVM::Linkage::Private, name,
                                b.getStringAttr(value.str() + '\0'));
}

/// A symbol name not yet used in `table`, starting from `base`.
static std::string uniqueName(SymbolTable &table, StringRef base) {
  std::string name = base.str();
  for (int i = 1; table.lookup(name); ++i)
    name = (base + "." + Twine(i)).str();
  return name;
}

/// Adds `fns` to the global constructors (`ctor`) or destructors of `host`,
/// merging with an existing list. Before the module loaders of gpu.binary
/// (priority 123) with `priority` 100.
void KVQEmulateGPUKernelsPass::appendStructors(OpBuilder &b, ModuleOp host,
                                               ArrayRef<LLVM::LLVMFuncOp> fns,
                                               bool ctor, int32_t priority) {
  if (fns.empty())
    return;
  SmallVector<Attribute> symbols, priorities, data;
  Operation *existing = nullptr;
  for (Operation &op : host.getBody()->getOperations()) {
    if (auto ctors = dyn_cast<LLVM::GlobalCtorsOp>(op); ctors && ctor) {
      existing = &op;
      llvm::append_range(symbols, ctors.getCtorsAttr());
      llvm::append_range(priorities, ctors.getPrioritiesAttr());
      llvm::append_range(data, ctors.getDataAttr());
    } else if (auto dtors = dyn_cast<LLVM::GlobalDtorsOp>(op); dtors && !ctor) {
      existing = &op;
      llvm::append_range(symbols, dtors.getDtorsAttr());
      llvm::append_range(priorities, dtors.getPrioritiesAttr());
      llvm::append_range(data, dtors.getDataAttr());
    }
  }
  for (LLVM::LLVMFuncOp fn : fns) {
    symbols.push_back(FlatSymbolRefAttr::get(fn));
    priorities.push_back(b.getI32IntegerAttr(priority));
    data.push_back(LLVM::ZeroAttr::get(b.getContext()));
  }
  b.setInsertionPointToEnd(host.getBody());
  Location loc = LLVM::LLVMFuncOp(fns.front()).getLoc();
  if (ctor)
    LLVM::GlobalCtorsOp::create(b, loc, b.getArrayAttr(symbols),
                                b.getArrayAttr(priorities),
                                b.getArrayAttr(data));
  else
    LLVM::GlobalDtorsOp::create(b, loc, b.getArrayAttr(symbols),
                                b.getArrayAttr(priorities),
                                b.getArrayAttr(data));
  if (existing)
    existing->erase();
}

LogicalResult
KVQEmulateGPUKernelsPass::emulate(ModuleOp host, SymbolTable &hostSymbols,
                                  gpu::GPUModuleOp module,
                                  const FrozenRewritePatternSet &patterns,
                                  SmallVectorImpl<LLVM::LLVMFuncOp> &ctors,
                                  SmallVectorImpl<LLVM::LLVMFuncOp> &dtors) {
  MLIRContext *context = &getContext();
  Location loc = module.getLoc();
  StringRef moduleName = module.getName();
  for (Operation &op : module.getBody()->getOperations())
    if (isa<gpu::GPUFuncOp>(op) || (!isa<LLVM::LLVMDialect>(op.getDialect()) &&
                                    !isa<gpu::GPUDialect>(op.getDialect())))
      return op.emitOpError()
             << "kvq-emulate-gpu-kernels needs GPU modules lowered to the "
                "LLVM dialect (convert-gpu-to-nvvm)";

  // The binary's text names the module and hashes its code, so that the
  // runtime tells apart same-named modules of different libraries.
  std::string printed;
  {
    llvm::raw_string_ostream os(printed);
    module->print(os, OpPrintingFlags().printGenericOpForm().useLocalScope());
  }
  std::string text = (Twine("kvq-gpu-emulator-module:") + moduleName + ":" +
                      llvm::utohexstr(llvm::xxh3_64bits(printed)))
                         .str();

  // Kernels and their launch properties, before their attributes go.
  SmallVector<LLVM::LLVMFuncOp> kernels;
  DenseMap<Operation *, int32_t> maxThreads;
  DenseMap<Operation *, std::string> kernelNames;
  for (auto fn : module.getOps<LLVM::LLVMFuncOp>())
    if (fn->hasAttr("nvvm.kernel") || fn->hasAttr("gpu.kernel") ||
        fn.getCConv() == LLVM::CConv::PTX_Kernel) {
      kernels.push_back(fn);
      maxThreads[fn] = maxThreadsOf(fn);
      kernelNames[fn] = fn.getName().str();
    }
  int64_t staticShared = SharedLayout(module).staticBytes;

  // NVVM ops -> runtime calls; shared memory -> the runtime's. One walk:
  // no folding or dead-code elimination, the kernels stay as NVPTX would
  // see them.
  walkAndApplyPatterns(module, patterns);
  if (failed(checkEmulable(module)))
    return failure();

  // Host pointers: erase address spaces, then the casts between them.
  AttrTypeReplacer replacer;
  replacer.addReplacement(
      [&](LLVM::LLVMPointerType type) -> std::optional<Type> {
        if (type.getAddressSpace() == 0)
          return std::nullopt;
        return LLVM::LLVMPointerType::get(context);
      });
  replacer.recursivelyReplaceElementsIn(module, /*replaceAttrs=*/true,
                                        /*replaceLocs=*/false,
                                        /*replaceTypes=*/true);
  module.walk([](LLVM::AddrSpaceCastOp cast) {
    if (cast.getArg().getType() == cast.getType()) {
      cast.replaceAllUsesWith(cast.getArg());
      cast.erase();
    }
  });
  for (auto global :
       llvm::make_early_inc_range(module.getOps<LLVM::GlobalOp>())) {
    if (global.getAddrSpace() == kSharedSpace) {
      if (!SymbolTable::symbolKnownUseEmpty(global, module))
        return global.emitOpError()
               << "kvq-emulate-gpu-kernels: shared-memory global still used";
      global.erase();
      continue;
    }
    global.setAddrSpace(0);
  }

  // Move everything into the host module: definitions renamed and made
  // internal, declarations shared.
  OpBuilder b(context);
  for (Operation &op :
       llvm::make_early_inc_range(module.getBody()->getOperations())) {
    auto symbol = dyn_cast<SymbolOpInterface>(op);
    if (!symbol)
      continue;
    auto fn = dyn_cast<LLVM::LLVMFuncOp>(op);
    if (fn && fn.isExternal()) {
      Operation *existing = hostSymbols.lookup(fn.getName());
      if (!existing)
        continue; // moved as is
      auto hostFn = dyn_cast<LLVM::LLVMFuncOp>(existing);
      if (!hostFn || hostFn.getFunctionType() != fn.getFunctionType())
        return fn.emitOpError()
               << "kvq-emulate-gpu-kernels: the host module declares '"
               << fn.getName() << "' differently";
      fn.erase();
      continue;
    }
    std::string name =
        uniqueName(hostSymbols,
                   ("__kvq_emu." + moduleName + "." + symbol.getName()).str());
    if (failed(SymbolTable::replaceAllSymbolUses(
            &op, StringAttr::get(context, name), module)))
      return op.emitOpError() << "kvq-emulate-gpu-kernels: cannot rename";
    SymbolTable::setSymbolName(&op, name);
    if (fn) {
      fn.setLinkage(LLVM::Linkage::Internal);
      stripDeviceAttributes(fn);
    } else if (auto global = dyn_cast<LLVM::GlobalOp>(op)) {
      if (global.getLinkage() != LLVM::Linkage::Private)
        global.setLinkage(LLVM::Linkage::Internal);
    }
  }
  b.setInsertionPoint(module);
  for (Operation &op :
       llvm::make_early_inc_range(module.getBody()->getOperations())) {
    op.moveBefore(module);
    if (auto symbol = dyn_cast<SymbolOpInterface>(op))
      hostSymbols.insert(&op);
  }

  // One entry per kernel: void entry(void **params) loads each parameter
  // from its slot, as mgpuLaunchKernel's `params` holds them, and calls the
  // kernel. A constructor registers the entries, a destructor unregisters
  // them.
  auto ptrType = LLVM::LLVMPointerType::get(context);
  auto i32 = b.getI32Type(), i64 = b.getI64Type();
  auto voidType = LLVM::LLVMVoidType::get(context);
  LLVM::GlobalOp textGlobal = createString(
      b, loc,
      uniqueName(hostSymbols, ("__kvq_emu." + moduleName + ".module").str()),
      text);
  hostSymbols.insert(textGlobal);
  struct Registration {
    LLVM::GlobalOp name;
    LLVM::LLVMFuncOp entry;
    int64_t numParams;
    int32_t maxThreads;
  };
  SmallVector<Registration> registrations;
  for (LLVM::LLVMFuncOp kernel : kernels) {
    // The kernel was renamed: the launches use its original name.
    LLVM::GlobalOp name = createString(
        b, loc, uniqueName(hostSymbols, (kernel.getName() + ".name").str()),
        kernelNames.lookup(kernel));
    hostSymbols.insert(name);
    auto entryType = LLVM::LLVMFunctionType::get(voidType, {ptrType});
    auto entry = LLVM::LLVMFuncOp::create(
        b, kernel.getLoc(),
        uniqueName(hostSymbols, (kernel.getName() + ".entry").str()), entryType,
        LLVM::Linkage::Internal);
    hostSymbols.insert(entry);
    {
      OpBuilder::InsertionGuard guard(b);
      Block *body = entry.addEntryBlock(b);
      b.setInsertionPointToStart(body);
      Value params = body->getArgument(0);
      SmallVector<Value> args;
      for (auto [i, type] :
           llvm::enumerate(kernel.getFunctionType().getParams())) {
        Value slot = LLVM::GEPOp::create(
            b, kernel.getLoc(), ptrType, ptrType, params,
            ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(i)});
        Value arg = LLVM::LoadOp::create(b, kernel.getLoc(), ptrType, slot);
        args.push_back(LLVM::LoadOp::create(b, kernel.getLoc(), type, arg));
      }
      LLVM::CallOp::create(b, kernel.getLoc(), kernel, args);
      LLVM::ReturnOp::create(b, kernel.getLoc(), ValueRange{});
    }
    registrations.push_back({name, entry,
                             static_cast<int64_t>(kernel.getNumArguments()),
                             maxThreads.lookup(kernel)});
  }
  if (!registrations.empty()) {
    auto declare = [&](StringRef fnName, ArrayRef<Type> args) {
      if (auto fn = hostSymbols.lookup<LLVM::LLVMFuncOp>(fnName))
        return fn;
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(host.getBody());
      auto fn = LLVM::LLVMFuncOp::create(
          b, loc, fnName, LLVM::LLVMFunctionType::get(voidType, args));
      hostSymbols.insert(fn);
      return fn;
    };
    LLVM::LLVMFuncOp registerFn =
        declare("__kvq_emu_register_kernel",
                {ptrType, ptrType, ptrType, i64, i64, i32});
    LLVM::LLVMFuncOp unregisterFn =
        declare("__kvq_emu_unregister_kernel", {ptrType, ptrType, ptrType});
    for (bool isRegister : {true, false}) {
      auto fn = LLVM::LLVMFuncOp::create(
          b, loc,
          uniqueName(hostSymbols, ("__kvq_emu." + moduleName +
                                   (isRegister ? ".register" : ".unregister"))
                                      .str()),
          LLVM::LLVMFunctionType::get(voidType, {}), LLVM::Linkage::Internal);
      hostSymbols.insert(fn);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(fn.addEntryBlock(b));
      Value textPtr = LLVM::AddressOfOp::create(b, loc, textGlobal);
      for (const Registration &r : registrations) {
        Value namePtr = LLVM::AddressOfOp::create(b, loc, r.name);
        Value entryPtr = LLVM::AddressOfOp::create(b, loc, r.entry);
        if (isRegister)
          LLVM::CallOp::create(
              b, loc, registerFn,
              ValueRange{textPtr, namePtr, entryPtr,
                         LLVM::ConstantOp::create(b, loc, i64, staticShared),
                         LLVM::ConstantOp::create(b, loc, i64, r.numParams),
                         LLVM::ConstantOp::create(b, loc, i32, r.maxThreads)});
        else
          LLVM::CallOp::create(b, loc, unregisterFn,
                               ValueRange{textPtr, namePtr, entryPtr});
      }
      LLVM::ReturnOp::create(b, loc, ValueRange{});
      (isRegister ? ctors : dtors).push_back(fn);
    }
  }

  // The GPU module becomes a binary naming it: the host code loads and
  // launches it through the mgpu* functions, as any GPU binary.
  Attribute target = module.getTargetsAttr() && !module.getTargetsAttr().empty()
                         ? module.getTargetsAttr()[0]
                         : Attribute(NVVM::NVVMTargetAttr::get(context));
  auto object =
      gpu::ObjectAttr::get(context, target, gpu::CompilationTarget::Binary,
                           b.getStringAttr(text), nullptr, nullptr);
  b.setInsertionPoint(module);
  std::string name = moduleName.str();
  hostSymbols.remove(module);
  auto binary = gpu::BinaryOp::create(b, loc, name, Attribute(),
                                      b.getArrayAttr({object}));
  module.erase();
  hostSymbols.insert(binary);
  return success();
}
