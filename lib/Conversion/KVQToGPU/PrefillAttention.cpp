//===- PrefillAttention.cpp - kvq.attention as tensor-core GPU kernels ----===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// The prefill strategy of kvq-gpu-attention: a flash-style kernel on
// warp-level tensor cores (nvgpu.mma.sync m16n8k16, f16 operands, f32
// accumulation) fed by double-buffered cp.async copies of K / V blocks,
// quantized codes decoded in registers, and a combine kernel for split-KV.
// CTAs whose f16 operands overflow recompute with bf16 operands (same
// fragment layout). It handles every kvq.attention; decode-shaped ones go
// to the decode strategy (DecodeAttention.cpp) unless the schedule asks for
// this one. See Passes.td for the schedule and docs/GPU.md for the mapping.
//
// Fragment layouts (PTX ISA, mma.m16n8k16 with .f16 operands), for lane
// `l` of a warp, `g = l / 4` and `t = l % 4`:
//   A (16 x 16, row major), vector<4x2xf16>:
//     [0] = (g, 2t..2t+1)  [1] = (g+8, 2t..2t+1)
//     [2] = (g, 2t+8..2t+9) [3] = (g+8, 2t+8..2t+9)
//   B (16 x 8, k x n), vector<2x2xf16>:
//     [0] = (k 2t..2t+1, n g)  [1] = (k 2t+8..2t+9, n g)
//   C / D (16 x 8), vector<2x2xf32>:
//     [0] = (g, 2t..2t+1)  [1] = (g+8, 2t..2t+1)
// S = Q K^T takes Q as A and K rows as B (B's k index is the channel, its
// n index the key: two adjacent channels of one key row). P V takes the
// probabilities straight from S's accumulators as A and V as B.
//
//===----------------------------------------------------------------------===//

#include "GPUKernelUtils.h"

#include "kvq/Conversion/KVQToGPU/KVQToGPU.h"

#include "kvq/Conversion/AttentionLowering.h"
#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Dialect/KVQ/Transforms/AttentionSchedule.h"
#include "kvq/Dialect/KVQ/Utils/AttentionOperands.h"
#include "kvq/Dialect/KVQ/Utils/QuantCodegen.h"
#include "kvq/Dialect/KVQ/Utils/SubByte.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <array>
#include <cmath>
#include <limits>
#include <optional>

using namespace mlir;
using namespace mlir::kvq;

namespace {

/// A K or V operand plus its shared-memory staging.
struct KVTile : KVOperand {
  /// When set, K / V is this op's result, decoded block by block into
  /// shared memory as f16 (`data` is then unused).
  mutable KVDecoderOpInterface decoder;
  Type elementType; // of `data` (i8 for packed codes)
  int64_t elementBytes;
  int64_t rowElements; // elements of one row of `data`
  int64_t stride;      // elements between rows in shared memory
  Value smem;          // memref<2 x blockKV x stride>, workgroup
};

constexpr double kLog2e = 1.4426950408889634;

/// The GPU lowering's KVChunkReader: the decoders' operands are read from
/// global memory element by element (decoded blocks are staged in shared
/// memory by the caller).
class GPUChunkReader : public PreparedKVChunkReader {
public:
  GPUChunkReader(AttentionOp op)
      : PreparedKVChunkReader(op, "kvq-gpu-attention") {}

  Value readChunk(OpBuilder &b, Location loc, Value tensor, ValueRange coords,
                  int64_t start, int64_t width) override;
  Value readQuantizedChunk(OpBuilder &b, Location loc, Value codes, Value scale,
                           Value zeroPoint, Attribute scheme, ValueRange coords,
                           int64_t start, int64_t width) override;
  Value loadChunk(OpBuilder &b, Location loc, Value buffer, ValueRange prefix,
                  int64_t start, int64_t width) override;
};

/// The `bits`-bit code at bit `shift` (i32) of `byte` (i8), LSB first, as
/// f32: sign-extended for symmetric schemes, unsigned otherwise.
static Value extractPackedCode(OpBuilder &b, Location loc, Value byte,
                               Value shift, unsigned bits, bool symmetric) {
  FieldExtension extension =
      symmetric ? FieldExtension::SignByShifts : FieldExtension::Zero;
  return emitFieldToF32(
      b, loc,
      emitExtractField(b, loc, byte, shift, bits, extension, b.getI32Type()),
      extension);
}

/// The byte index and bit shift (i32) of packed code `channel` (index).
static std::pair<Value, Value> packedPosition(OpBuilder &b, Location loc,
                                              Value channel, unsigned bits) {
  return {emitCodeByte(b, loc, channel, bits),
          emitCodeBitOffset(b, loc, channel, bits, b.getI32Type())};
}

/// Decodes and dequantizes element `coords` = (batch, head, token,
/// channel) of quantized operand `src`, read from global memory.
static Value decodeGlobalElement(OpBuilder &b, Location loc,
                                 const KVOperand &src, ValueRange coords) {
  Value value;
  if (src.packedBits) {
    auto [byteIdx, shift] = packedPosition(b, loc, coords[3], src.packedBits);
    Value byte = memref::LoadOp::create(
        b, loc, src.data, ValueRange{coords[0], coords[1], coords[2], byteIdx});
    value = extractPackedCode(b, loc, byte, shift, src.packedBits,
                              src.scheme.getSymmetric());
  } else {
    value = emitDecodeCodes(b, loc, src.scheme,
                            memref::LoadOp::create(b, loc, src.data, coords));
  }
  Value scale = memref::LoadOp::create(b, loc, src.scale,
                                       getSideIndices(b, loc, src, coords));
  Value zeroPoint;
  if (src.zeroPoint)
    zeroPoint = memref::LoadOp::create(b, loc, src.zeroPoint,
                                       getSideIndices(b, loc, src, coords));
  return emitDequantize(b, loc, src.scheme, value, scale, zeroPoint);
}

/// Builds vector<width x f32> from `lane(i)` for the lanes below `dim`
/// (zeros past it).
static Value buildLanes(OpBuilder &b, Location loc, int64_t start,
                        int64_t width, int64_t dim,
                        function_ref<Value(int64_t)> lane) {
  auto type = VectorType::get({width}, b.getF32Type());
  Value result = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, b.getF32FloatAttr(0.0)));
  for (int64_t i = 0; i < width && start + i < dim; ++i)
    result = vector::InsertOp::create(b, loc, lane(start + i), result, i);
  return result;
}

Value GPUChunkReader::readChunk(OpBuilder &b, Location loc, Value tensor,
                                ValueRange coords, int64_t start,
                                int64_t width) {
  if (KVDecoderOpInterface decoder = getPreparedDecoder(tensor))
    return decoder.emitDecodeChunk(b, loc, *this, coords, start, width);
  Value buffer = getBuffer(tensor);
  int64_t dim = cast<RankedTensorType>(tensor.getType()).getShape()[3];
  return buildLanes(b, loc, start, width, dim, [&](int64_t ch) {
    Value c = arith::ConstantIndexOp::create(b, loc, ch);
    Value v = memref::LoadOp::create(
        b, loc, buffer, ValueRange{coords[0], coords[1], coords[2], c});
    return emitExtendToF32(b, loc, v);
  });
}

Value GPUChunkReader::readQuantizedChunk(OpBuilder &b, Location loc,
                                         Value codes, Value scale, Value,
                                         Attribute, ValueRange coords,
                                         int64_t start, int64_t width) {
  const KVOperand &src = getQuantized(codes, scale);
  return buildLanes(b, loc, start, width, src.dim, [&](int64_t ch) {
    return decodeGlobalElement(
        b, loc, src,
        {coords[0], coords[1], coords[2],
         arith::ConstantIndexOp::create(b, loc, ch).getResult()});
  });
}

Value GPUChunkReader::loadChunk(OpBuilder &b, Location loc, Value buffer,
                                ValueRange prefix, int64_t start,
                                int64_t width) {
  int64_t dim = cast<MemRefType>(buffer.getType()).getShape().back();
  return buildLanes(b, loc, start, width, dim, [&](int64_t ch) {
    SmallVector<Value> indices(prefix);
    indices.push_back(arith::ConstantIndexOp::create(b, loc, ch));
    return emitExtendToF32(b, loc,
                           memref::LoadOp::create(b, loc, buffer, indices));
  });
}

/// Emits the kernels of one kvq.attention.
class GPUAttentionEmitter {
public:
  GPUAttentionEmitter(ImplicitLocOpBuilder &b, AttentionOp op,
                      const GPUAttentionSchedule &opts)
      : b(b), op(op), opts(opts), f32(b.getF32Type()), f16(b.getF16Type()),
        reader(op) {}

  /// Emits the kernel before the op; getReplacement() is then its result.
  LogicalResult emit();
  Value getReplacement() const { return replacement; }

private:
  Value replacement;
  Value cIdx(int64_t v) { return arith::ConstantIndexOp::create(b, v); }
  Value cF32(double v) {
    return arith::ConstantOp::create(b, b.getF32FloatAttr(v));
  }
  Value negInf() { return cF32(-std::numeric_limits<double>::infinity()); }
  Value dimOf(Value memref, int64_t i) {
    return memref::DimOp::create(b, memref, i);
  }
  Value minU(Value x, Value y) { return arith::MinUIOp::create(b, x, y); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, x, y); }
  Value ult(Value x, Value y) {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::ult, x, y);
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, c, x, y);
  }
  Value quadReduce(Value v, bool isMax);
  // 2^x and log2(x) as the PTX approximations (ex2.approx.f32,
  // lg2.approx.f32) through their NVVM intrinsics: math.exp2 / math.log2
  // would become libdevice calls, which PTX for JIT (format=isa, no CUDA
  // toolkit) cannot resolve.
  Value exp2(Value x) { return callIntrinsic("llvm.nvvm.ex2.approx.f32", x); }
  Value log2(Value x) { return callIntrinsic("llvm.nvvm.lg2.approx.f", x); }
  Value callIntrinsic(StringRef name, Value x) {
    return LLVM::CallIntrinsicOp::create(b, f32, b.getStringAttr(name),
                                         ValueRange{x})
        .getResult(0);
  }

  Value mma(Value a, Value bFrag, Value acc) {
    return gpukernel::mma(b, b.getLoc(), a, bFrag, acc);
  }

  LogicalResult prepareTile(KVTile &tile, StringRef what, Value data,
                            QuantSchemeAttr scheme, Value scale,
                            Value zeroPoint);
  SmallVector<Value> emitCopies(KVTile &tile, Value buf, Value kb, Value hi,
                                Value bi, Value hk, Value tid);
  /// A thread's place in its warp's mma fragments (g = lane / 4, t =
  /// lane % 4) and the two rows of the warp's tile it holds: g and g + 8.
  struct Lane {
    Value tid, g, t, t2, rowValid[2], head[2], pos[2], rowIdx[2];
  };
  /// One pass over the CTA's key blocks with tensor-core operands of
  /// `opType` for the thread `lane`: the double-buffered copies, the block
  /// loop, and the retired last prefetch. Returns the loop's row maxima,
  /// lane-partial row sums and output accumulators.
  SmallVector<Value> runBlocks(Type opType, const Lane &lane,
                               SmallVector<Value> qFrags);
  /// The second kernel of a split key range: out = sum_s 2^(lse_s - max)
  /// O_s / sum_s 2^(lse_s - max), one CTA per (row, batch x KV head), after
  /// `token`, which it advances.
  void emitCombineKernel(Value &token);

  Value fetch(const KVTile &tile, Value buf, Value row, Value channel, Value bi,
              Value hk, Value key, Value byteIdx = Value(),
              int64_t bitOffset = -1);

  ImplicitLocOpBuilder &b;
  AttentionOp op;
  GPUAttentionSchedule opts;
  Type f32, f16;
  int64_t threads = 0, blockKV = 0;
  // Kernel-wide values, set by emit() for the pieces of the kernel.
  KVTile key, value;
  /// Head dimensions, k steps of S = Q K^T and n tiles of O = P V.
  int64_t d = 0, dv = 0, kChunks = 0, vTiles = 0;
  /// 8-key accumulators per 16-key step.
  static constexpr int64_t nTiles = 2;
  bool fp8P = false, mayOverflow = false;
  double pScale = 1.0;
  Value mask, deltaS, c0, c1, skv, causalOffset, qScale;
  /// The CTA's (batch, KV head) and its key range [lo, hi) in numBlocks
  /// blocks.
  Value bi, hk, lo, hi, numBlocks;
  VectorType cType;
  /// Rows (head x position) and heads per KV head, KV heads, batch x KV
  /// heads (grid y) and key-range splits (grid z).
  Value rows, group, hkv, gridY, splits;
  /// The output, and the splits' partial outputs and log-sum-exps.
  Value out, partial, partialLse;
  Type outElementType;
  gpu::AsyncTokenType asyncType;
  GPUChunkReader reader;
};

} // namespace

/// Reduces `v` over the 4 lanes of a quad (the lanes holding one row of an
/// mma accumulator) with butterfly shuffles.
Value GPUAttentionEmitter::quadReduce(Value v, bool isMax) {
  for (int32_t offset : {1, 2}) {
    Value other =
        gpu::ShuffleOp::create(b, v, offset, 32, gpu::ShuffleMode::XOR)
            .getShuffleResult();
    v = isMax ? Value(arith::MaximumFOp::create(b, v, other))
              : Value(arith::AddFOp::create(b, v, other));
  }
  return v;
}

LogicalResult GPUAttentionEmitter::prepareTile(KVTile &tile, StringRef what,
                                               Value data,
                                               QuantSchemeAttr scheme,
                                               Value scale, Value zeroPoint) {
  if (!scheme) {
    if (KVDecoderOpInterface decoder = getAttentionDecoder(data)) {
      if (failed(reader.prepare(b, decoder)))
        return failure();
      tile.decoder = decoder;
      tile.dim = cast<RankedTensorType>(data.getType()).getShape()[3];
      if (tile.dim % kDecodedChannelBlock != 0)
        return op.emitOpError()
               << "kvq-gpu-attention decodes " << what << " from '"
               << decoder->getName() << "' in blocks of "
               << kDecodedChannelBlock << " channels; its head dimension "
               << tile.dim << " is not a multiple of " << kDecodedChannelBlock;
      tile.elementType = f16;
      tile.elementBytes = 2;
      tile.rowElements = tile.dim;
      tile.stride = tile.dim + 8;
      return success();
    }
  }
  FailureOr<KVOperand> src = prepareKVOperand(b, op, "kvq-gpu-attention", what,
                                              data, scheme, scale, zeroPoint);
  if (failed(src))
    return failure();
  static_cast<KVOperand &>(tile) = *src;
  auto type = cast<MemRefType>(tile.data.getType());
  tile.elementType = type.getElementType();
  unsigned bits = tile.elementType.getIntOrFloatBitWidth();
  if (bits % 8 != 0)
    return op.emitOpError() << "kvq-gpu-attention: unsupported " << what
                            << " element type " << tile.elementType;
  tile.elementBytes = bits / 8;
  tile.rowElements = type.getShape()[3];
  // Pad each shared-memory row by 16 bytes: keeps rows 16-byte aligned for
  // cp.async and spreads the 8 rows a fragment reads over the banks.
  tile.stride = tile.rowElements + 16 / tile.elementBytes;
  return success();
}

/// Issues the copies of one block of keys [kb, kb + blockKV) of `tile` into
/// shared buffer `buf`, spread over the CTA's threads. Rows past `hi` (the
/// end of the CTA's key range) repeat row hi - 1: they are masked out of the
/// softmax, and no copy reads outside the cache. Rows of a multiple of 4
/// bytes use cp.async (16 bytes at a time when possible, bypassing L1);
/// others fall back to element loads and stores.
SmallVector<Value> GPUAttentionEmitter::emitCopies(KVTile &tile, Value buf,
                                                   Value kb, Value hi, Value bi,
                                                   Value hk, Value tid) {
  SmallVector<Value> tokens;
  int64_t rowBytes = tile.rowElements * tile.elementBytes;
  Value lastKey = arith::SubIOp::create(b, hi, cIdx(1));
  if (tile.decoder) {
    // Decode the block chunk by chunk, spread over the threads, and store
    // it to shared memory as the mma operands' type (f16; bf16 when a CTA
    // recomputes its rows with bf16 operands).
    int64_t width = tile.dim % 8 == 0 ? 8 : 4;
    int64_t chunksPerRow = tile.dim / width;
    auto loop =
        scf::ForOp::create(b, tid, cIdx(blockKV * chunksPerRow), cIdx(threads));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value c = loop.getInductionVar();
    Value row = arith::DivUIOp::create(b, c, cIdx(chunksPerRow));
    Value key = minU(add(kb, row), lastKey);
    Value chunk = arith::RemUIOp::create(b, c, cIdx(chunksPerRow));
    // Chunk starts are static in the interface: switch over them.
    SmallVector<int64_t> cases;
    for (int64_t i = 0; i < chunksPerRow; ++i)
      cases.push_back(i);
    auto sw =
        scf::IndexSwitchOp::create(b, TypeRange{}, chunk, cases, cases.size());
    auto emitCase = [&](Region &region, int64_t i) {
      OpBuilder::InsertionGuard caseGuard(b);
      b.setInsertionPointToStart(&region.emplaceBlock());
      Value v = tile.decoder.emitDecodeChunk(b, b.getLoc(), reader,
                                             {bi, hk, key}, i * width, width);
      Value h = arith::TruncFOp::create(
          b, VectorType::get({width}, tile.elementType), v);
      vector::StoreOp::create(b, h, tile.smem,
                              ValueRange{buf, row, cIdx(i * width)});
      scf::YieldOp::create(b);
    };
    for (int64_t i = 0; i < chunksPerRow; ++i)
      emitCase(sw.getCaseRegions()[i], i);
    {
      OpBuilder::InsertionGuard caseGuard(b);
      b.setInsertionPointToStart(&sw.getDefaultRegion().emplaceBlock());
      scf::YieldOp::create(b);
    }
    return tokens;
  }
  if (rowBytes % 4 == 0) {
    int64_t chunkBytes = rowBytes % 16 == 0 ? 16 : rowBytes % 8 == 0 ? 8 : 4;
    int64_t chunkElements = chunkBytes / tile.elementBytes;
    int64_t chunksPerRow = rowBytes / chunkBytes;
    int64_t total = blockKV * chunksPerRow;
    int64_t perThread = llvm::divideCeil(total, threads);
    auto tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
    for (int64_t u = 0; u < perThread; ++u) {
      Value c = add(tid, cIdx(u * threads));
      // Each chunk has exactly one owner: when the chunks do not divide
      // evenly, the threads past the last one copy nothing in the last
      // round (two threads writing the same shared bytes, even identical
      // ones, is a write-write race).
      bool partial = (u + 1) * threads > total;
      std::optional<OpBuilder::InsertionGuard> guard;
      if (partial) {
        auto ifOp = scf::IfOp::create(b, ult(c, cIdx(total)), false);
        guard.emplace(b);
        b.setInsertionPointToStart(ifOp.thenBlock());
      }
      Value row = arith::DivUIOp::create(b, c, cIdx(chunksPerRow));
      Value col = mul(arith::RemUIOp::create(b, c, cIdx(chunksPerRow)),
                      cIdx(chunkElements));
      Value key = minU(add(kb, row), lastKey);
      auto copy = nvgpu::DeviceAsyncCopyOp::create(
          b, tokenType, tile.smem, ValueRange{buf, row, col}, tile.data,
          ValueRange{bi, hk, key, col}, b.getIndexAttr(chunkElements),
          /*srcElements=*/Value(),
          chunkBytes == 16 ? b.getUnitAttr() : UnitAttr());
      // A copy under the guard is committed by the same commit_group as
      // the others (cp.async groups hold every copy the thread issued
      // since the last commit); its token cannot leave the scf.if.
      if (!partial)
        tokens.push_back(copy.getAsyncToken());
    }
    return tokens;
  }
  int64_t total = blockKV * tile.rowElements;
  auto loop = scf::ForOp::create(b, tid, cIdx(total), cIdx(threads));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  Value c = loop.getInductionVar();
  Value row = arith::DivUIOp::create(b, c, cIdx(tile.rowElements));
  Value col = arith::RemUIOp::create(b, c, cIdx(tile.rowElements));
  Value key = minU(add(kb, row), lastKey);
  Value v = memref::LoadOp::create(b, tile.data, ValueRange{bi, hk, key, col});
  memref::StoreOp::create(b, v, tile.smem, ValueRange{buf, row, col});
  return tokens;
}

/// Loads element (row, channel) of the staged block of `tile` and decodes
/// it to f32; `key` is the element's position in the cache (for its scale).
/// For packed codes, callers that know the byte and bit offset of the
/// element statically pass them (`byteIdx`, `bitOffset`), so that the two
/// codes of one byte share its load.
Value GPUAttentionEmitter::fetch(const KVTile &tile, Value buf, Value row,
                                 Value channel, Value bi, Value hk, Value key,
                                 Value byteIdx, int64_t bitOffset) {
  Value value;
  if (tile.packedBits) {
    Value shift;
    if (byteIdx)
      shift = arith::ConstantOp::create(b, b.getI32IntegerAttr(bitOffset));
    else
      std::tie(byteIdx, shift) =
          packedPosition(b, b.getLoc(), channel, tile.packedBits);
    Value byte =
        memref::LoadOp::create(b, tile.smem, ValueRange{buf, row, byteIdx});
    value = extractPackedCode(b, b.getLoc(), byte, shift, tile.packedBits,
                              tile.scheme.getSymmetric());
  } else {
    Value raw =
        memref::LoadOp::create(b, tile.smem, ValueRange{buf, row, channel});
    if (!tile.scheme)
      return emitExtendToF32(b, b.getLoc(), raw);
    value = emitDecodeCodes(b, b.getLoc(), tile.scheme, raw);
  }
  SmallVector<Value> coords = {bi, hk, key, channel};
  Value scale = memref::LoadOp::create(
      b, tile.scale, getSideIndices(b, b.getLoc(), tile, coords));
  Value zeroPoint;
  if (tile.zeroPoint)
    zeroPoint = memref::LoadOp::create(
        b, tile.zeroPoint, getSideIndices(b, b.getLoc(), tile, coords));
  return emitDequantize(b, b.getLoc(), tile.scheme, value, scale, zeroPoint);
}

/// Rounds f32 `value` to FP8 e4m3 (saturating, nearest even) and back.
static Value roundToE4M3(OpBuilder &b, Location loc, Value value) {
  auto scheme = QuantSchemeAttr::get(
      b.getContext(), b.getType<Float8E4M3FNType>(),
      /*symmetric=*/true, Granularity::Tensor, {}, b.getF32Type());
  return emitDecodeCodes(b, loc, scheme,
                         emitEncodeCodes(b, loc, scheme, value));
}

LogicalResult GPUAttentionEmitter::emit() {
  auto qType = cast<RankedTensorType>(op.getQuery().getType());
  d = qType.getShape()[3];
  if (ShapedType::isDynamic(d))
    return op.emitOpError()
           << "kvq-gpu-attention needs a static head dimension";
  if (failed(prepareTile(key, "key", op.getKey(), op.getKeySchemeAttr(),
                         op.getKeyScale(), op.getKeyZeroPoint())) ||
      failed(prepareTile(value, "value", op.getValue(), op.getValueSchemeAttr(),
                         op.getValueScale(), op.getValueZeroPoint())))
    return failure();
  dv = value.dim;
  kChunks = llvm::divideCeil(d, 16); // k steps of S = Q K^T
  vTiles = llvm::divideCeil(dv, 8);  // n tiles of O = P V

  // Warps per CTA: one 16-row tile each. Decode (at most 16 rows per KV
  // head) uses one warp per CTA and more CTAs along the keys instead.
  int64_t warps = opts.warps;
  if (warps == 0) {
    int64_t group = ShapedType::isDynamic(qType.getShape()[1]) ||
                            ShapedType::isDynamic(qType.getShape()[2])
                        ? -1
                        : qType.getShape()[1] * qType.getShape()[2];
    auto kShape = cast<RankedTensorType>(op.getKey().getType()).getShape();
    if (group > 0 && !ShapedType::isDynamic(kShape[1]))
      group /= kShape[1];
    warps = group > 0 && group <= 16 ? 1 : 4;
  }
  threads = 32 * warps;

  // Keys per block: the largest multiple of 16 up to block-kv whose double
  // buffers of K and V fit the shared-memory budget.
  int64_t bytesPerKey =
      2 * (key.stride * key.elementBytes + value.stride * value.elementBytes);
  blockKV = std::max<int64_t>(16, llvm::alignDown(opts.blockKV, 16));
  while (blockKV > 16 && blockKV * bytesPerKey > opts.sharedMemory)
    blockKV -= 16;
  if (blockKV * bytesPerKey > opts.sharedMemory)
    return op.emitOpError()
           << "kvq-gpu-attention: one block of 16 keys needs "
           << 16 * bytesPerKey << " bytes of shared memory, more than the "
           << opts.sharedMemory << " allowed (option shared-memory)";

  // SageAttention2: quantized queries are decoded as they are loaded into
  // the A fragments; Delta-S is added to the scores; FP8 probabilities are
  // scaled by 2^8.807 and rounded to e4m3 before the P V mma (their row
  // sums take the unrounded values, scaled alike, which cancels).
  std::optional<KVOperand> qSource;
  Value q;
  if (op.isQueryQuantized()) {
    FailureOr<KVOperand> source =
        prepareKVOperand(b, op, "kvq-gpu-attention", "query", op.getQuery(),
                         op.getQuerySchemeAttr(), op.getQueryScale(), Value());
    if (failed(source))
      return failure();
    qSource = *source;
    q = qSource->data;
  } else {
    q = createReadOnlyBuffer(b, b.getLoc(), op.getQuery());
  }
  deltaS = op.getDeltaS() ? createReadOnlyBuffer(b, b.getLoc(), op.getDeltaS())
                          : Value();
  std::optional<Type> pType = op.getPType();
  fp8P = pType && isa<Float8E4M3FNType>(*pType);
  pScale = fp8P ? std::exp2(8.807) : 1.0;
  mask = op.getMask() ? createReadOnlyBuffer(b, b.getLoc(), op.getMask())
                      : Value();
  c0 = cIdx(0);
  c1 = cIdx(1);
  Value batch = dimOf(q, 0), hq = dimOf(q, 1), sq = dimOf(q, 2);
  auto kvSize = [&](const KVTile &tile, int64_t i) {
    if (tile.decoder)
      return tile.decoder.emitDecodedSize(b, b.getLoc(), reader, i);
    return dimOf(tile.data, i);
  };
  hkv = kvSize(key, 1);
  skv = kvSize(key, 2);
  group = arith::DivUIOp::create(b, hq, hkv);
  rows = mul(group, sq);
  causalOffset = arith::SubIOp::create(b, skv, sq);
  Value gridX = arith::CeilDivUIOp::create(b, rows, cIdx(16 * warps));
  gridY = mul(batch, hkv);

  // Split-KV: a fixed count, or enough CTAs to fill the GPU.
  bool combine = opts.splitKV != 1;
  if (opts.splitKV > 0) {
    splits = cIdx(opts.splitKV);
  } else {
    Value want =
        arith::CeilDivUIOp::create(b, cIdx(opts.targetCTAs), mul(gridX, gridY));
    Value blocks = arith::MaxUIOp::create(
        b, c1, arith::CeilDivUIOp::create(b, skv, cIdx(blockKV)));
    splits = arith::MaxUIOp::create(b, c1, minU(want, minU(blocks, cIdx(64))));
  }

  outElementType = op.getResult().getType().getElementType();
  // Becomes the caller's out-parameter (device memory) in the pipeline.
  out = createOutputBuffer(b, b.getLoc(), op, q, dv);

  // Partial results of the splits: [split, batch * kv head, row, channel]
  // and their log2-sum-exp, in device memory.
  // Everything runs in order on one stream: scratch allocation, kernels,
  // deallocation; the function waits for it at the end.
  asyncType = gpu::AsyncTokenType::get(b.getContext());
  Value token = gpu::WaitOp::create(b, asyncType, ValueRange{}).getAsyncToken();
  if (combine) {
    std::tie(partial, partialLse) = gpukernel::allocSplitPartials(
        b, b.getLoc(), mul(mul(splits, gridY), rows), cIdx(dv), token);
  }

  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  auto smemType = [&](const KVTile &t) {
    return MemRefType::get({2, blockKV, t.stride}, t.elementType,
                           MemRefLayoutAttrInterface(), workgroup);
  };
  // K and V blocks live in dynamic shared memory, whose base is aligned
  // for 16-byte cp.async (static workgroup buffers get no alignment).
  // Whether f16 operands can overflow: not when Q, K and V are f16 arrays
  // (no decoding) and the softmax scale (times log2 e) is at most 1.
  auto isPlainF16 = [](const KVTile &tile) {
    return !tile.decoder && !tile.scheme && tile.elementType.isF16();
  };
  mayOverflow = qSource || !qType.getElementType().isF16() ||
                std::abs(op.getEffectiveScale() * kLog2e) > 1.0 ||
                !isPlainF16(key) || !isPlainF16(value);
  int64_t kBytes = 2 * blockKV * key.stride * key.elementBytes;
  int64_t vBytes = 2 * blockKV * value.stride * value.elementBytes;
  auto launch = gpu::LaunchOp::create(
      b, gridX, gridY, splits, cIdx(threads), c1, c1,
      arith::ConstantOp::create(b, b.getI32IntegerAttr(kBytes + vBytes)),
      asyncType, ValueRange{token});
  token = launch.getAsyncToken();
  {
    // The schedule used, after the rounding of block-kv and the choice of
    // warps above.
    AttentionSchedule used = opts;
    used.warps = threads / 32;
    used.blockKV = blockKV;
    launch->setAttr(kKernelScheduleAttrName,
                    ScheduleAttr::get(b.getContext(), used));
  }
  {
    OpBuilder::InsertionGuard launchGuard(b);
    b.setInsertionPointToStart(&launch.getBody().front());
    Value base = gpu::DynamicSharedMemoryOp::create(
        b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                           MemRefLayoutAttrInterface(), workgroup));
    key.smem =
        memref::ViewOp::create(b, smemType(key), base, cIdx(0), ValueRange{});
    value.smem = memref::ViewOp::create(b, smemType(value), base, cIdx(kBytes),
                                        ValueRange{});
    Value tid = launch.getThreadIds().x;
    Value bhk = launch.getBlockIds().y;
    Value split = launch.getBlockIds().z;
    bi = arith::DivUIOp::create(b, bhk, hkv);
    hk = arith::RemUIOp::create(b, bhk, hkv);
    Value ctaRow0 = mul(launch.getBlockIds().x, cIdx(16 * warps));
    Value lastRow = arith::SubIOp::create(b, rows, c1);

    auto laneOf = [&](Value tid) {
      Lane l;
      l.tid = tid;
      Value warp = arith::DivUIOp::create(b, tid, cIdx(32));
      Value lane = arith::RemUIOp::create(b, tid, cIdx(32));
      l.g = arith::DivUIOp::create(b, lane, cIdx(4));
      l.t = arith::RemUIOp::create(b, lane, cIdx(4));
      l.t2 = mul(l.t, cIdx(2));
      Value rowBase = add(ctaRow0, mul(warp, cIdx(16)));
      for (int i = 0; i < 2; ++i) {
        Value r = add(rowBase, add(l.g, cIdx(8 * i)));
        l.rowValid[i] = ult(r, rows);
        Value rr = minU(r, lastRow);
        l.rowIdx[i] = rr;
        l.pos[i] = arith::DivUIOp::create(b, rr, group);
        l.head[i] = add(mul(hk, group), arith::RemUIOp::create(b, rr, group));
      }
      return l;
    };
    Lane lanes = laneOf(tid);
    Value t = lanes.t, t2 = lanes.t2;
    Value *rowValid = lanes.rowValid, *head = lanes.head, *pos = lanes.pos,
          *rowIdx = lanes.rowIdx;

    // Q fragments, scaled by softmax scale * log2(e) (the softmax runs in
    // base 2), zero past the head dimension.
    qScale = cF32(op.getEffectiveScale() * kLog2e);
    auto qElement = [&](const Lane &l, int i, Value channel, int64_t chunkEnd,
                        Type opType) {
      Value ch = chunkEnd > d ? minU(channel, cIdx(d - 1)) : channel;
      Value v = qSource
                    ? decodeGlobalElement(b, b.getLoc(), *qSource,
                                          {bi, l.head[i], l.pos[i], ch})
                    : emitExtendToF32(
                          b, b.getLoc(),
                          memref::LoadOp::create(
                              b, q, ValueRange{bi, l.head[i], l.pos[i], ch}));
      v = arith::MulFOp::create(b, v, qScale);
      if (chunkEnd > d)
        v = select(ult(channel, cIdx(d)), v, cF32(0.0));
      return arith::TruncFOp::create(b, opType, v).getResult();
    };
    cType = VectorType::get({2, 2}, f32);
    auto qFragments = [&](Type opType, const Lane &l) {
      SmallVector<Value> qFrags;
      for (int64_t kc = 0; kc < kChunks; ++kc) {
        SmallVector<Value> elems;
        for (int64_t half : {0, 8})
          for (int i = 0; i < 2; ++i)
            for (int64_t e = 0; e < 2; ++e)
              elems.push_back(qElement(l, i,
                                       add(l.t2, cIdx(kc * 16 + half + e)),
                                       kc * 16 + 16, opType));
        qFrags.push_back(vector::FromElementsOp::create(
            b, VectorType::get({4, 2}, opType), elems));
      }
      return qFrags;
    };
    SmallVector<Value> qFrags16 = qFragments(f16, lanes);

    // The CTA's key range: causal rows end at their last visible key; a
    // split takes a contiguous share of whole blocks.
    Value kvEnd = skv;
    if (op.getCausal()) {
      Value ctaLast = minU(add(ctaRow0, cIdx(16 * warps - 1)), lastRow);
      Value lastVisible =
          add(add(arith::DivUIOp::create(b, ctaLast, group), causalOffset), c1);
      kvEnd = arith::MaxSIOp::create(
          b, c0, arith::MinSIOp::create(b, skv, lastVisible));
    }
    Value splitLen =
        mul(arith::CeilDivUIOp::create(
                b, arith::CeilDivUIOp::create(b, kvEnd, splits), cIdx(blockKV)),
            cIdx(blockKV));
    lo = minU(mul(split, splitLen), kvEnd);
    hi = minU(add(lo, splitLen), kvEnd);
    numBlocks = arith::CeilDivUIOp::create(b, arith::SubIOp::create(b, hi, lo),
                                           cIdx(blockKV));

    SmallVector<Value> state = runBlocks(f16, lanes, qFrags16);
    if (mayOverflow) {
      // f16 operands overflow beyond 65504: an input (or a decoded K / V
      // value, or Q times the softmax scale) beyond that range makes a
      // score or an output accumulator non-finite. A CTA where any thread
      // ends with a non-finite row maximum (NaN or +inf), row sum or
      // accumulator computes its rows again with bf16 operands (f32's
      // range, 8-bit significand); NaN or infinities in the data itself
      // give the same result the second time. The decision is CTA-wide
      // (bar.red.or), so every thread takes the same path through the
      // block loop's barriers.
      // Row maxima (-inf for a row without keys), sums and accumulators.
      auto retry = scf::IfOp::create(
          b, ValueRange(state).getTypes(),
          gpukernel::anyNonFiniteInCTA(b, b.getLoc(),
                                       ValueRange(state).take_front(4),
                                       ValueRange(state).slice(4, vTiles)),
          /*withElseRegion=*/true);
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(retry.thenBlock());
        // Decoded tiles are staged as bf16 in the same shared memory.
        auto bf16 = b.getBF16Type();
        KVTile f16Key = key, f16Value = value;
        for (auto [tile, offset] :
             {std::pair<KVTile *, int64_t>{&key, 0}, {&value, kBytes}})
          if (tile->decoder) {
            tile->elementType = bf16;
            tile->smem = memref::ViewOp::create(b, smemType(*tile), base,
                                                cIdx(offset), ValueRange{});
          }
        // The second pass derives its indices from an opaque copy of the
        // thread id: otherwise LLVM reuses the first pass's addresses (Q's,
        // for instance) and keeps them live through the first pass, which
        // then needed up to twice the registers; this way about 10% more.
        Lane opaqueLane = laneOf(gpukernel::opaqueIndex(b, b.getLoc(), tid));
        scf::YieldOp::create(
            b, runBlocks(bf16, opaqueLane, qFragments(bf16, opaqueLane)));
        key = f16Key;
        value = f16Value;
        b.setInsertionPointToStart(retry.elseBlock());
        scf::YieldOp::create(b, state);
      }
      state = SmallVector<Value>(retry.getResults());
    }

    // Epilogue: normalise and store (or store the split's partial result
    // and its log2-sum-exp).
    for (int i = 0; i < 2; ++i) {
      Value rowMax = state[i];
      Value sum = quadReduce(state[2 + i], /*isMax=*/false);
      // A row with no key has sum 0 and outputs 0; a NaN sum (NaN or +-inf
      // in the scores of a key the row sees) must stay NaN, not become 0.
      Value hasMass =
          arith::CmpFOp::create(b, arith::CmpFPredicate::UNE, sum, cF32(0.0));
      Value inv =
          select(hasMass, arith::DivFOp::create(b, cF32(1.0), sum), cF32(0.0));
      Value lseIdx;
      if (combine) {
        Value rowOffset =
            add(mul(add(mul(split, gridY), bhk), rows), rowIdx[i]);
        lseIdx = rowOffset;
        Value ref = select(arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ,
                                                 rowMax, negInf()),
                           cF32(0.0), rowMax);
        Value lse =
            select(hasMass, arith::AddFOp::create(b, ref, log2(sum)), negInf());
        auto ifOp = scf::IfOp::create(
            b,
            arith::AndIOp::create(
                b, rowValid[i],
                arith::CmpIOp::create(b, arith::CmpIPredicate::eq, t, c0)),
            false);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(ifOp.thenBlock());
        memref::StoreOp::create(b, lse, partialLse, ValueRange{rowOffset});
      }
      for (int64_t n = 0; n < vTiles; ++n)
        for (int64_t e = 0; e < 2; ++e) {
          int64_t first = n * 8 + e; // channel of lane t = 0
          Value ch = add(t2, cIdx(first));
          Value ok = rowValid[i];
          if (first + 6 >= dv)
            ok = arith::AndIOp::create(b, ok, ult(ch, cIdx(dv)));
          Value o = arith::MulFOp::create(
              b,
              vector::ExtractOp::create(b, state[4 + n],
                                        ArrayRef<int64_t>{i, e}),
              inv);
          auto ifOp = scf::IfOp::create(b, ok, false);
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(ifOp.thenBlock());
          if (combine) {
            memref::StoreOp::create(b, o, partial,
                                    ValueRange{add(mul(lseIdx, cIdx(dv)), ch)});
          } else {
            if (outElementType != f32)
              o = arith::TruncFOp::create(b, outElementType, o);
            memref::StoreOp::create(b, o, out,
                                    ValueRange{bi, head[i], pos[i], ch});
          }
        }
    }
    gpu::TerminatorOp::create(b);
  }

  if (combine)
    emitCombineKernel(token);
  if (combine) {
    token = gpu::DeallocOp::create(b, asyncType, ValueRange{token}, partial)
                .getAsyncToken();
    token = gpu::DeallocOp::create(b, asyncType, ValueRange{token}, partialLse)
                .getAsyncToken();
  }
  gpu::WaitOp::create(b, Type(), ValueRange{token});

  Value result = bufferization::ToTensorOp::create(
      b, op.getResult().getType(), out, /*restrict=*/true, /*writable=*/true);
  replacement = result;
  return success();
}

void GPUAttentionEmitter::emitCombineKernel(Value &token) {
  // out = sum_s 2^(lse_s - max) O_s / sum_s 2^(lse_s - max); rows whose
  // splits all saw no key output 0.
  int64_t combineThreads = 128;
  auto combineLaunch =
      gpu::LaunchOp::create(b, rows, gridY, c1, cIdx(combineThreads), c1, c1,
                            Value(), asyncType, ValueRange{token});
  token = combineLaunch.getAsyncToken();
  OpBuilder::InsertionGuard launchGuard(b);
  b.setInsertionPointToStart(&combineLaunch.getBody().front());
  Value r = combineLaunch.getBlockIds().x;
  Value bhk = combineLaunch.getBlockIds().y;
  Value bi = arith::DivUIOp::create(b, bhk, hkv);
  Value hk = arith::RemUIOp::create(b, bhk, hkv);
  Value pos = arith::DivUIOp::create(b, r, group);
  Value head = add(mul(hk, group), arith::RemUIOp::create(b, r, group));
  auto lseAt = [&](Value s) {
    return add(mul(add(mul(s, gridY), bhk), rows), r);
  };
  Value ref = gpukernel::emitSplitLseReference(b, b.getLoc(), partialLse,
                                               splits, lseAt);
  auto chLoop = scf::ForOp::create(b, combineLaunch.getThreadIds().x, cIdx(dv),
                                   cIdx(combineThreads));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(chLoop.getBody());
    Value ch = chLoop.getInductionVar();
    auto sLoop =
        scf::ForOp::create(b, c0, splits, c1, ValueRange{cF32(0.0), cF32(0.0)});
    {
      OpBuilder::InsertionGuard guard2(b);
      b.setInsertionPointToStart(sLoop.getBody());
      Value idx = lseAt(sLoop.getInductionVar());
      Value w = exp2(arith::SubFOp::create(
          b, memref::LoadOp::create(b, partialLse, ValueRange{idx}), ref));
      Value o = memref::LoadOp::create(b, partial,
                                       ValueRange{add(mul(idx, cIdx(dv)), ch)});
      Value num = arith::AddFOp::create(b, sLoop.getRegionIterArgs()[0],
                                        arith::MulFOp::create(b, w, o));
      Value den = arith::AddFOp::create(b, sLoop.getRegionIterArgs()[1], w);
      scf::YieldOp::create(b, ValueRange{num, den});
    }
    Value den = sLoop.getResult(1);
    // No split saw a key: 0; a NaN split (NaN lse) makes the row NaN.
    Value o = select(
        arith::CmpFOp::create(b, arith::CmpFPredicate::UNE, den, cF32(0.0)),
        arith::DivFOp::create(b, sLoop.getResult(0), den), cF32(0.0));
    if (outElementType != f32)
      o = arith::TruncFOp::create(b, outElementType, o);
    memref::StoreOp::create(b, o, out, ValueRange{bi, head, pos, ch});
  }
  gpu::TerminatorOp::create(b);
}

SmallVector<Value> GPUAttentionEmitter::runBlocks(Type opType, const Lane &lane,
                                                  SmallVector<Value> qFrags) {
  Value tid = lane.tid, g = lane.g, t = lane.t, t2 = lane.t2;
  const Value *head = lane.head, *pos = lane.pos;
  auto aType = VectorType::get({4, 2}, opType);
  auto bType = VectorType::get({2, 2}, opType);
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
  auto issueBlock = [&](Value blockIdx, Value buf) {
    Value kb = add(lo, mul(blockIdx, cIdx(blockKV)));
    SmallVector<Value> tokens = emitCopies(key, buf, kb, hi, bi, hk, tid);
    llvm::append_range(tokens, emitCopies(value, buf, kb, hi, bi, hk, tid));
    return nvgpu::DeviceAsyncCreateGroupOp::create(b, tokenType, tokens)
        .getAsyncToken();
  };
  // Prologue: block 0 into buffer 0.
  {
    auto ifOp = scf::IfOp::create(b, ult(c0, numBlocks), false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    issueBlock(c0, c0);
  }

  SmallVector<Value> init = {negInf(), negInf(), cF32(0.0), cF32(0.0)};
  Value zeroAcc = arith::ConstantOp::create(
      b, DenseElementsAttr::get(cType, b.getF32FloatAttr(0.0)));
  for (int64_t n = 0; n < vTiles; ++n)
    init.push_back(zeroAcc);
  auto loop = scf::ForOp::create(b, c0, numBlocks, c1, init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value it = loop.getInductionVar();
    ValueRange args = loop.getRegionIterArgs();
    Value buf = arith::RemUIOp::create(b, it, cIdx(2));
    Value kbBlock = add(lo, mul(it, cIdx(blockKV)));
    // Prefetch the next block (the last block again at the end, into the
    // buffer nobody reads) and wait for the current one.
    Value next = minU(add(it, c1), arith::SubIOp::create(b, numBlocks, c1));
    Value nextBuf = arith::SubIOp::create(b, c1, buf);
    Value token = issueBlock(next, nextBuf);
    nvgpu::DeviceAsyncWaitOp::create(b, token, b.getI32IntegerAttr(1));
    gpu::BarrierOp::create(b);

    // The staged block, 16 keys at a time: S for 16 keys, online-softmax
    // update, P V. A loop (not unrolled) keeps register pressure at one
    // 16-key step: 8 score, 4 * ceil(Dv / 8) accumulator, 4 * ceil(D / 16)
    // Q registers per lane.
    auto step = scf::ForOp::create(b, c0, cIdx(blockKV / 16), c1, args);
    {
      OpBuilder::InsertionGuard stepGuard(b);
      b.setInsertionPointToStart(step.getBody());
      Value tileRow0 = mul(step.getInductionVar(), cIdx(16));
      ValueRange args = step.getRegionIterArgs();
      Value kb = add(kbBlock, tileRow0); // first key of the step
      // S = Q K^T: two accumulators of 16 rows x 8 keys.
      SmallVector<Value> scores;
      for (int64_t nt = 0; nt < nTiles; ++nt) {
        Value acc = zeroAcc;
        Value kr = add(tileRow0, add(g, cIdx(nt * 8)));
        Value kKey = minU(add(kbBlock, kr), arith::SubIOp::create(b, hi, c1));
        for (int64_t kc = 0; kc < kChunks; ++kc) {
          SmallVector<Value> elems;
          for (int64_t half : {0, 8})
            for (int64_t e = 0; e < 2; ++e) {
              Value ch = add(t2, cIdx(kc * 16 + half + e));
              bool ragged = kc * 16 + 16 > d;
              // i4: channels 2t + c, 2t + c + 1 (c even) are the two
              // nibbles of byte t + c / 2.
              Value byteIdx;
              if (key.packedBits == 4 && !ragged)
                byteIdx = add(t, cIdx((kc * 16 + half) / 2));
              Value v = fetch(key, buf, kr, ragged ? minU(ch, cIdx(d - 1)) : ch,
                              bi, hk, kKey, byteIdx, 4 * e);
              if (ragged)
                v = select(ult(ch, cIdx(d)), v, cF32(0.0));
              elems.push_back(arith::TruncFOp::create(b, opType, v));
            }
          acc = mma(qFrags[kc], vector::FromElementsOp::create(b, bType, elems),
                    acc);
        }
        scores.push_back(acc);
      }

      // Mask, causal limit and the end of the range, in base 2.
      SmallVector<Value> s[2]; // [row][nt * 2 + e]
      for (int64_t nt = 0; nt < nTiles; ++nt)
        for (int i = 0; i < 2; ++i)
          for (int64_t e = 0; e < 2; ++e) {
            Value v = vector::ExtractOp::create(b, scores[nt],
                                                ArrayRef<int64_t>{i, e});
            // With f16 operands that may overflow, a non-finite raw
            // score becomes NaN (v + (v - v)), so that the row maximum
            // shows it: an overflowed product of -inf would otherwise
            // silently drop a key whose true score is moderate.
            if (mayOverflow && opType.isF16())
              v = gpukernel::nanIfNotFinite(b, b.getLoc(), v);
            Value j = add(kb, add(t2, cIdx(nt * 8 + e)));
            Value ok = ult(j, hi);
            if (op.getCausal())
              ok = arith::AndIOp::create(
                  b, ok,
                  arith::CmpIOp::create(b, arith::CmpIPredicate::sle, j,
                                        add(pos[i], causalOffset)));
            if (mask) {
              Value mb =
                  select(arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                               dimOf(mask, 0), c1),
                         c0, bi);
              Value mh =
                  select(arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                               dimOf(mask, 1), c1),
                         c0, head[i]);
              Value mq =
                  select(arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                               dimOf(mask, 2), c1),
                         c0, pos[i]);
              Value jc = minU(j, arith::SubIOp::create(b, skv, c1));
              Value m = emitExtendToF32(
                  b, b.getLoc(),
                  memref::LoadOp::create(b, mask, ValueRange{mb, mh, mq, jc}));
              v = arith::AddFOp::create(
                  b, v, arith::MulFOp::create(b, m, cF32(kLog2e)));
            }
            if (deltaS) {
              // Delta-S of the row's group, under the softmax scale (and
              // in base 2, as the scores are).
              Value jc = minU(j, arith::SubIOp::create(b, skv, c1));
              Value grp = arith::DivUIOp::create(
                  b, pos[i], cIdx(static_cast<int64_t>(*op.getDeltaSRows())));
              Value ds = memref::LoadOp::create(
                  b, deltaS, ValueRange{bi, head[i], grp, jc});
              v = arith::AddFOp::create(b, v,
                                        arith::MulFOp::create(b, ds, qScale));
            }
            s[i].push_back(select(ok, v, negInf()));
          }

      // Online softmax per row; the row sum stays lane-partial until the
      // end (the correction factor is the same for the whole quad).
      SmallVector<Value> results, p[2];
      Value corr[2], rowSum[2];
      for (int i = 0; i < 2; ++i) {
        Value blockMax = negInf();
        for (Value v : s[i])
          blockMax = arith::MaximumFOp::create(b, blockMax, v);
        blockMax = quadReduce(blockMax, /*isMax=*/true);
        Value oldMax = args[i];
        Value newMax = arith::MaximumFOp::create(b, oldMax, blockMax);
        // While every key so far is masked, exponentiate against 0 so that
        // exp2(-inf - x) stays 0 instead of NaN.
        Value ref = select(arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ,
                                                 newMax, negInf()),
                           cF32(0.0), newMax);
        corr[i] = exp2(arith::SubFOp::create(b, oldMax, ref));
        rowSum[i] = arith::MulFOp::create(b, args[2 + i], corr[i]);
        for (Value v : s[i]) {
          Value pv = exp2(arith::SubFOp::create(b, v, ref));
          if (fp8P) {
            pv = arith::MulFOp::create(b, pv, cF32(pScale));
            p[i].push_back(roundToE4M3(b, b.getLoc(), pv));
          } else {
            p[i].push_back(pv);
          }
          rowSum[i] = arith::AddFOp::create(b, rowSum[i], pv);
        }
        results.push_back(newMax);
      }
      results.append({rowSum[0], rowSum[1]});

      // O = O * corr + P V.
      Value corrVec = vector::FromElementsOp::create(
          b, cType, ValueRange{corr[0], corr[0], corr[1], corr[1]});
      SmallVector<Value> accs;
      for (int64_t n = 0; n < vTiles; ++n)
        accs.push_back(arith::MulFOp::create(b, args[4 + n], corrVec));
      for (int64_t kc = 0; kc < 1; ++kc) {
        SmallVector<Value> pe;
        for (int64_t ntOff : {0, 1})
          for (int i = 0; i < 2; ++i)
            for (int64_t e = 0; e < 2; ++e)
              pe.push_back(arith::TruncFOp::create(
                  b, opType, p[i][(2 * kc + ntOff) * 2 + e]));
        Value aFrag = vector::FromElementsOp::create(b, aType, pe);
        for (int64_t n = 0; n < vTiles; ++n) {
          Value ch = add(g, cIdx(n * 8));
          if (n * 8 + 8 > dv)
            ch = minU(ch, cIdx(dv - 1)); // those columns are never stored
          SmallVector<Value> elems;
          for (int64_t half : {0, 8})
            for (int64_t e = 0; e < 2; ++e) {
              Value vr = add(tileRow0, add(t2, cIdx(kc * 16 + half + e)));
              Value vKey =
                  minU(add(kbBlock, vr), arith::SubIOp::create(b, hi, c1));
              elems.push_back(arith::TruncFOp::create(
                  b, opType, fetch(value, buf, vr, ch, bi, hk, vKey)));
            }
          accs[n] = mma(aFrag, vector::FromElementsOp::create(b, bType, elems),
                        accs[n]);
        }
      }
      llvm::append_range(results, accs);
      scf::YieldOp::create(b, results);
    }
    // The buffer is overwritten by the next iteration's prefetch.
    gpu::BarrierOp::create(b);
    scf::YieldOp::create(b, step.getResults());
  }
  // Retire the last (redundant) prefetch before the CTA exits.
  {
    Value empty =
        nvgpu::DeviceAsyncCreateGroupOp::create(b, tokenType, ValueRange{})
            .getAsyncToken();
    nvgpu::DeviceAsyncWaitOp::create(b, empty, b.getI32IntegerAttr(0));
  }
  return SmallVector<Value>(loop.getResults());
}

LogicalResult mlir::kvq::lowerAttentionWithPrefillKernel(
    RewriterBase &rewriter, AttentionOp op,
    const GPUAttentionSchedule &schedule) {
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  ImplicitLocOpBuilder b(op.getLoc(), rewriter);
  GPUAttentionEmitter emitter(b, op, schedule);
  if (failed(emitter.emit()))
    return failure();
  rewriter.replaceOp(op, emitter.getReplacement());
  return success();
}
