//===- DecodeAttention.cpp - Flash decoding for NVIDIA GPUs ---------------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// The decode strategy of kvq-gpu-attention, for kvq.attention ops whose KV
// heads have at most 8 query rows (g * Sq, g = Hq / Hkv): the regime where
// attention reads every K / V byte once and does little arithmetic per
// byte, so it runs at the speed of DRAM if enough bytes are in flight and
// decoding is cheap. docs/GPU.md describes the schedule; in short:
//
// * Grid (splits, batch x KV heads): each CTA takes one KV head and one
//   split of its keys; its warps each stream their own contiguous run of
//   16-key tiles through a ring of `stages` shared-memory buffers filled by
//   16-byte cp.async copies (stages - 1 tiles in flight per warp). Every
//   query row of the head (the whole GQA group) is handled together, so
//   each K / V byte is read once.
// * Math on mma.sync.m16n8k16 with the keys as the 16 rows and the query
//   rows as the 8 columns: S^T = K Q^T (K the A operand, Q^T the B
//   operand, loaded once), O^T += V^T P^T (V^T the A operand, P^T the B
//   operand). For lane l, g = l / 4 and t = l % 4:
//     K A fragment: keys g and g + 8; lane t owns a quarter of each key row
//       and its 4 channel slots per k step are pairs of that quarter, in
//       the order its storage decodes them (Q's B fragment gathers the same
//       channels, so any order works);
//     S^T C fragment: keys g, g + 8 x query rows 2t, 2t + 1;
//     P^T B fragment: keys 2t, 2t + 1, 2t + 8, 2t + 9 x query row g: the
//       transpose of the C fragment's f16 pairs, by movmatrix;
//     V^T A fragment: lane g owns an eighth of each value row; slots g and
//       g + 8 of an m tile are two of its channels, for the key pairs
//       (2t, 2t + 1) and (2t + 8, 2t + 9);
//     O^T C fragment: those channels x query rows 2t, 2t + 1.
// * Codes are decoded from the shared-memory words straight into f16x2
//   fragment registers: i4 / i2 with lop3 magic numbers (0x6400 is 1024
//   in f16, so OR-ing a field below its mantissa gives 1024 + field, and
//   one subtract or fma gives the exact code), i8 with prmt against 0x64
//   bytes, FP8 with the hardware cvt (sm_89+) or, for e5m2, as the top
//   byte of an f16. Scales and zero points are loaded once per key (or
//   group) and applied per f16x2 pair, to the scores (per-key K scales),
//   folded into Q (per-channel K scales constant over a tile), or to the
//   output (per-channel V scales).
// * The warps' online-softmax states are merged through shared memory; a
//   second kernel merges the splits.
// * f16 operands overflow beyond 65504. Unless every operand is plain f16
//   and the scale small, a non-finite raw score becomes NaN, and after the
//   block loop the CTA votes (bar.red.or) on any non-finite row maximum,
//   sum or accumulator; if any thread saw one, the CTA runs the block loop
//   again with bf16 operands, every K / V row decoded by the warp into
//   bf16 stage rows (in as many stages as the rings' shared memory holds),
//   before the merge.
//
// K / V produced by KVDecoderOpInterface ops, and layouts the register
// decoders do not cover (head dimensions that are not multiples of 16,
// narrow scale groups, FP8 e4m3 before sm_89), are decoded chunk by chunk
// into f16 stage rows by the warp itself, then read like f16 K / V.
//
//===----------------------------------------------------------------------===//

#include "GPUKernelUtils.h"

#include "kvq/Conversion/KVQToGPU/DecodeCostModel.h"
#include "kvq/Conversion/KVQToGPU/KVQToGPU.h"
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
namespace gk = mlir::kvq::gpukernel;

static constexpr double kLog2e = 1.4426950408889634;
static constexpr int64_t kTileKeys = DecodePlan::kTileKeys;

namespace {

/// How the rows of K or V sit in a pipeline stage: what the register
/// decoders read.
enum class RowKind { F16, BF16, F32, I8, I4, I2, E4M3, E5M2 };

/// Where the scales and zero points of a quantized K / V are applied.
enum class ScaleMode {
  /// Plain K / V, or rows decoded to f16 already.
  None,
  /// K whose scale depends on the key only: scores * scale + zp * sum(q).
  AfterMma,
  /// Scale constant over each lane's part of a row: each f16x2 pair is
  /// `code * scale (+ zp)` before the mma.
  InDecode,
  /// K whose scale depends on the channel and is constant over a tile: Q
  /// times the scales is the B operand, sum(q * zp) the initial scores.
  FoldIntoQuery,
  /// V whose scale depends on the channel only: `o * scale + zp` at the
  /// end.
  Epilogue,
};

/// Bits of a stored element.
static int64_t getBits(RowKind kind) {
  switch (kind) {
  case RowKind::F32:
    return 32;
  case RowKind::F16:
  case RowKind::BF16:
    return 16;
  case RowKind::I8:
  case RowKind::E4M3:
  case RowKind::E5M2:
    return 8;
  case RowKind::I4:
    return 4;
  case RowKind::I2:
    return 2;
  }
  llvm_unreachable("row kind");
}

/// Channels one decoding unit covers (a unit is one word, two for f32)
/// and, for K, the channel pairs (within the unit) it yields, in order.
static int64_t getUnitChannels(RowKind kind) {
  switch (kind) {
  case RowKind::F32:
  case RowKind::F16:
  case RowKind::BF16:
    return 2;
  case RowKind::I8:
  case RowKind::E4M3:
  case RowKind::E5M2:
    return 4;
  case RowKind::I4:
    return 8;
  case RowKind::I2:
    return 16;
  }
  llvm_unreachable("row kind");
}

static int64_t getUnitWords(RowKind kind) {
  return kind == RowKind::F32 ? 2 : 1;
}

static SmallVector<std::pair<int64_t, int64_t>> getUnitKeyPairs(RowKind kind) {
  switch (kind) {
  case RowKind::F32:
  case RowKind::F16:
  case RowKind::BF16:
    return {{0, 1}};
  case RowKind::I8:
  case RowKind::E4M3:
  case RowKind::E5M2:
    return {{0, 1}, {2, 3}};
  case RowKind::I4:
    // lop3 on fields 0 / 4 (bits 0 and 16), 1 / 5, then on the word >> 8.
    return {{0, 4}, {1, 5}, {2, 6}, {3, 7}};
  case RowKind::I2:
    return {{0, 8},  {1, 9},  {2, 10}, {3, 11},
            {4, 12}, {5, 13}, {6, 14}, {7, 15}};
  }
  llvm_unreachable("row kind");
}

/// One K or V operand of the decode kernel.
struct DecodeOperand {
  bool isKey = true;
  StringRef what;
  /// Raw operands: data, scheme, scales (src.data null for decoders).
  KVOperand src;
  /// Staged through this decoder op.
  KVDecoderOpInterface decoder;
  /// Rows are decoded to f16 in the stage by the warp (decoders, layouts
  /// the register decoders do not cover).
  bool staged = false;
  RowKind kind = RowKind::F16;
  bool isSigned = false;
  bool hasZeroPoint = false;
  ScaleMode scaleMode = ScaleMode::None;
  /// Logical head dimension and channels of a stage row (multiple of 16).
  int64_t dim = 0, paddedDim = 0;
  /// Bytes of a stage row, between stage rows, of a row one lane reads
  /// (K: a quarter, V: an eighth).
  int64_t rowBytes = 0, strideBytes = 0, laneBytes = 0;
  /// Element type of the stage rows (the global rows' for cp.async).
  Type elementType;
  int64_t elementBytes = 0;
  /// Scale and zero-point bytes per key (cost model).
  double sideBytesPerKey = 0;
  /// Byte offset of this operand's rings in dynamic shared memory.
  int64_t stageOffset = 0;
  /// Views of the rings: [warps * stages * 16, stride] of elementType and
  /// of i32 words.
  Value stage, words;

  int64_t laneChannels() const { return paddedDim / (isKey ? 4 : 8); }
  int64_t laneWords() const { return laneBytes / 4; }
};

/// The decode kernel's KVChunkReader: decoders' operands are read from
/// global memory with scalar loads, quantized ones with their scale loaded
/// once per chunk when the chunk lies in one scale group.
class DecodeChunkReader : public PreparedKVChunkReader {
public:
  DecodeChunkReader(AttentionOp op)
      : PreparedKVChunkReader(op, "kvq-gpu-attention") {}

  Value readChunk(OpBuilder &b, Location loc, Value tensor, ValueRange coords,
                  int64_t start, int64_t width) override;
  Value readQuantizedChunk(OpBuilder &b, Location loc, Value codes, Value scale,
                           Value zeroPoint, Attribute scheme, ValueRange coords,
                           int64_t start, int64_t width) override;
  Value loadChunk(OpBuilder &b, Location loc, Value buffer, ValueRange prefix,
                  int64_t start, int64_t width) override;

  /// Channels [start, start + width) of row `coords` of a raw operand.
  static Value decodeRawChunk(OpBuilder &b, Location loc, const KVOperand &src,
                              ValueRange coords, int64_t start, int64_t width);
};

/// The code of channel `channel` (static) of row `coords` of packed or
/// plain quantized data, as f32 (not yet scaled).
static Value loadCode(OpBuilder &b, Location loc, const KVOperand &src,
                      ValueRange coords, int64_t channel) {
  Value c = arith::ConstantIndexOp::create(b, loc, channel);
  if (!src.packedBits)
    return emitDecodeCodes(
        b, loc, src.scheme,
        memref::LoadOp::create(b, loc, src.data,
                               ValueRange{coords[0], coords[1], coords[2], c}));
  unsigned bits = src.packedBits;
  Value byte = memref::LoadOp::create(
      b, loc, src.data,
      ValueRange{
          coords[0], coords[1], coords[2],
          arith::ConstantIndexOp::create(b, loc, getCodeByte(channel, bits))});
  FieldExtension extension = src.scheme.getSymmetric()
                                 ? FieldExtension::SignByShifts
                                 : FieldExtension::Zero;
  return emitFieldToF32(b, loc,
                        emitExtractField(b, loc, byte,
                                         getCodeBitOffset(channel, bits), bits,
                                         extension, b.getI32Type()),
                        extension);
}

Value DecodeChunkReader::decodeRawChunk(OpBuilder &b, Location loc,
                                        const KVOperand &src, ValueRange coords,
                                        int64_t start, int64_t width) {
  auto type = VectorType::get({width}, b.getF32Type());
  Value result = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, b.getF32FloatAttr(0.0)));
  // One scale (and zero point) for the chunk when one block covers it.
  bool oneGroup =
      src.scheme &&
      (src.whole[3] || (src.extent[3] % width == 0 &&
                        start % src.extent[3] + width <= src.extent[3]));
  Value scale, zeroPoint;
  auto loadSide = [&](int64_t channel) {
    SmallVector<Value> idx = getSideIndices(
        b, loc, src,
        {coords[0], coords[1], coords[2],
         arith::ConstantIndexOp::create(b, loc, channel).getResult()});
    scale = memref::LoadOp::create(b, loc, src.scale, idx);
    zeroPoint = src.zeroPoint
                    ? Value(memref::LoadOp::create(b, loc, src.zeroPoint, idx))
                    : Value();
  };
  if (oneGroup)
    loadSide(start);
  for (int64_t i = 0; i < width && start + i < src.dim; ++i) {
    int64_t channel = start + i;
    Value v;
    if (!src.scheme) {
      v = emitExtendToF32(
          b, loc,
          memref::LoadOp::create(
              b, loc, src.data,
              ValueRange{coords[0], coords[1], coords[2],
                         arith::ConstantIndexOp::create(b, loc, channel)}));
    } else {
      if (!oneGroup)
        loadSide(channel);
      v = emitDequantize(b, loc, src.scheme,
                         loadCode(b, loc, src, coords, channel), scale,
                         zeroPoint);
    }
    result = vector::InsertOp::create(b, loc, v, result, i);
  }
  return result;
}

Value DecodeChunkReader::readChunk(OpBuilder &b, Location loc, Value tensor,
                                   ValueRange coords, int64_t start,
                                   int64_t width) {
  if (KVDecoderOpInterface decoder = getPreparedDecoder(tensor))
    return decoder.emitDecodeChunk(b, loc, *this, coords, start, width);
  return loadChunk(b, loc, getBuffer(tensor),
                   ValueRange{coords[0], coords[1], coords[2]}, start, width);
}

Value DecodeChunkReader::readQuantizedChunk(OpBuilder &b, Location loc,
                                            Value codes, Value scale, Value,
                                            Attribute, ValueRange coords,
                                            int64_t start, int64_t width) {
  return decodeRawChunk(b, loc, getQuantized(codes, scale), coords, start,
                        width);
}

Value DecodeChunkReader::loadChunk(OpBuilder &b, Location loc, Value buffer,
                                   ValueRange prefix, int64_t start,
                                   int64_t width) {
  int64_t dim = cast<MemRefType>(buffer.getType()).getShape().back();
  auto type = VectorType::get({width}, b.getF32Type());
  Value result = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, b.getF32FloatAttr(0.0)));
  for (int64_t i = 0; i < width && start + i < dim; ++i) {
    SmallVector<Value> indices(prefix);
    indices.push_back(arith::ConstantIndexOp::create(b, loc, start + i));
    Value v = emitExtendToF32(b, loc,
                              memref::LoadOp::create(b, loc, buffer, indices));
    result = vector::InsertOp::create(b, loc, v, result, i);
  }
  return result;
}

/// A decoded f16x2 of K (two channels of one key, offsets within the
/// lane's part of the row) or of V (one channel of two keys).
struct Half2 {
  Value value;
  int64_t a = 0, b = 0;
};

/// Emits the decode kernel and its split combine for one kvq.attention.
class DecodeKernelEmitter {
public:
  DecodeKernelEmitter(ImplicitLocOpBuilder &b, AttentionOp op,
                      const GPUAttentionSchedule &schedule,
                      const NVIDIATargetInfo &target)
      : b(b), op(op), schedule(schedule), target(target), reader(op) {}

  LogicalResult emit();
  Value getReplacement() const { return replacement; }

private:
  // Constants and arithmetic.
  Value cIdx(int64_t v) { return arith::ConstantIndexOp::create(b, v); }
  Value cI32(int64_t v) { return gk::constI32(b, b.getLoc(), v); }
  Value cF32(double v) { return gk::constF32(b, b.getLoc(), v); }
  Value negInf() { return cF32(-std::numeric_limits<double>::infinity()); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, x, y); }
  Value divU(Value x, Value y) { return arith::DivUIOp::create(b, x, y); }
  Value remU(Value x, Value y) { return arith::RemUIOp::create(b, x, y); }
  Value minU(Value x, Value y) { return arith::MinUIOp::create(b, x, y); }
  Value maxU(Value x, Value y) { return arith::MaxUIOp::create(b, x, y); }
  Value ult(Value x, Value y) {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::ult, x, y);
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, c, x, y);
  }
  Value dimOf(Value memref, int64_t i) {
    return memref::DimOp::create(b, memref, i);
  }

  LogicalResult prepare(DecodeOperand &x, bool isKey, Value data,
                        QuantSchemeAttr scheme, Value scale, Value zeroPoint);
  DecodeOperandCost getCost(const DecodeOperand &x) const;

  // Kernel pieces.
  SmallVector<Half2> decodeKeyUnit(const DecodeOperand &x, ValueRange words,
                                   int64_t channelBase);
  SmallVector<Half2> decodeValueUnit(const DecodeOperand &x, ValueRange wa,
                                     ValueRange wb, int64_t channelBase);
  Value halfSub(Value v, double c);
  Value halfFma(Value v, double m, double c);
  Value toHalf(Value scalar);
  Value splatHalf2(Value scalar);
  Value pairHalf2(Value lo, Value hi);
  Value asPair(Value word);
  Value mma(Value a, Value bFrag, Value acc) {
    return gk::mma(b, b.getLoc(), a, bFrag, acc);
  }
  Value loadSide(const DecodeOperand &x, Value side, Value keyIndex,
                 Value channel);
  Value loadWords(const DecodeOperand &x, Value row, Value firstWord,
                  int64_t count, int64_t alignment);
  SmallVector<Value> issueTile(DecodeOperand &x, Value row0, Value kb);
  void stageTile(DecodeOperand &x, Value row0, Value kb, Value rowInTile);
  LogicalResult emitCombine(Value partial, Value partialLse, Value splits,
                            Value batchHeads, Value out, Value &token);

  /// The thread's warp and the warp's run of tiles: a contiguous share of
  /// its CTA's split.
  struct WarpRun {
    Value warp, nTiles, firstTile;
  };
  /// The block loop of one pass (f16 operands, or with `rerun` bf16 in the
  /// recomputation) over the warp's tiles with `stages` ring buffers;
  /// returns the warp's online-softmax state: the row maxima and
  /// (lane-partial) sums of rows 2t, 2t + 1 and the O^T accumulators. With
  /// `checkScores`, a non-finite raw score (an f16 operand overflowed)
  /// becomes NaN, so that the row maximum shows it.
  SmallVector<Value> runBlocks(int64_t stages, const WarpRun &run, bool rerun);
  /// The end of the kernel from the warps' online-softmax `state`: the
  /// warps' partial results through shared memory, merged per (row,
  /// channel), V's epilogue scales (unless the bf16 recomputation, `rerun`,
  /// staged scaled rows), and the output or the split's partial result.
  void emitEpilogue(ArrayRef<Value> state, Value warp, Value rerun);

  ImplicitLocOpBuilder &b;
  AttentionOp op;
  GPUAttentionSchedule schedule;
  const NVIDIATargetInfo &target;
  DecodeChunkReader reader;
  DecodeOperand key, value;
  /// The mma operand type of the pass being emitted: f16, or bf16 in the
  /// recomputation after an f16 overflow (every operand staged as bf16
  /// rows then).
  Type opType;
  Value replacement;
  // Kernel-wide values, set by emit() for the pieces of the kernel.
  Value skv, skvLast, bi, hk, lane, g, t;
  int64_t rows = 0, group = 0, hkv = 0;
  int64_t d = 0, sq = 0, kSteps = 0, mTiles = 0, warps = 0;
  /// Words per warp of the Q fragments kept in shared memory when K scales
  /// fold into Q, and where they start.
  int64_t stashWords = 0, stashOffset = 0;
  bool mayOverflow = false;
  /// Whether the splits are merged by a second kernel (split-kv != 1).
  bool combine = false;
  int64_t dv = 0;
  DecodePlan plan;
  Value q, mask, c0, c1, qScale, zeroAcc;
  /// The output, and the splits' partial outputs and log-sum-exps.
  Value out, partial, partialLse;
  Type outElementType;
  /// The thread, its CTA's split and (batch x KV head), and their count.
  Value tid, split, bhk, batchHeads;
  /// The dynamic shared memory (bytes) and its address space.
  Value base;
  gpu::AddressSpaceAttr workgroup;
  Type tokenType;
  VectorType cType;
};

} // namespace

//===----------------------------------------------------------------------===//
// Which ops the decode kernel takes
//===----------------------------------------------------------------------===//

bool mlir::kvq::isDecodeAttention(AttentionOp op,
                                  const NVIDIATargetInfo &target,
                                  std::string *reason) {
  auto fail = [&](const Twine &why) {
    if (reason)
      *reason = why.str();
    return false;
  };
  if (!target.hasMmaM16N8K16() || !target.hasAsyncCopy() ||
      !target.hasMovMatrix())
    return fail("the chip has no mma.sync.m16n8k16, cp.async or movmatrix");
  if (op.isQueryQuantized() || op.getDeltaS() || op.getPType())
    return fail("quantized queries (SageAttention) take the prefill kernel");
  auto qType = cast<RankedTensorType>(op.getQuery().getType());
  auto kType = cast<RankedTensorType>(op.getKey().getType());
  auto vType = cast<RankedTensorType>(op.getValue().getType());
  if (qType.isDynamicDim(1) || qType.isDynamicDim(2) || kType.isDynamicDim(1))
    return fail("the query heads, query length and KV heads must be static");
  int64_t hq = qType.getDimSize(1), sq = qType.getDimSize(2);
  int64_t hkv = kType.getDimSize(1);
  if (hkv == 0 || hq % hkv != 0)
    return fail("the query heads must be a multiple of the KV heads");
  int64_t rows = hq / hkv * sq;
  if (rows > kMaxDecodeRows)
    return fail("a KV head has " + Twine(rows) +
                " query rows (heads per KV head x query length), more than " +
                Twine(kMaxDecodeRows));
  int64_t d = qType.getDimSize(3), dv = vType.getDimSize(3);
  if (ShapedType::isDynamic(d) || ShapedType::isDynamic(dv))
    return fail("the head dimensions must be static");
  if (llvm::alignTo(d, 16) > kMaxDecodeHeadDim ||
      llvm::alignTo(dv, 16) > kMaxDecodeHeadDim)
    return fail("head dimensions above " + Twine(kMaxDecodeHeadDim) +
                " take the prefill kernel");
  return true;
}

bool mlir::kvq::decodeOperandsMayOverflowF16(AttentionOp op) {
  auto isPlainF16 = [](Value tensor, QuantSchemeAttr scheme) {
    return !scheme && !getAttentionDecoder(tensor) &&
           cast<RankedTensorType>(tensor.getType()).getElementType().isF16();
  };
  return !isPlainF16(op.getQuery(), op.getQuerySchemeAttr()) ||
         !isPlainF16(op.getKey(), op.getKeySchemeAttr()) ||
         !isPlainF16(op.getValue(), op.getValueSchemeAttr()) ||
         std::abs(op.getEffectiveScale() * kLog2e) > 1.0;
}

/// Bytes of scales and zero points per key of `scheme` over a K / V of
/// `shape` (as prepareKVOperand indexes them).
static double getSideBytesPerKey(QuantSchemeAttr scheme,
                                 ArrayRef<int64_t> shape) {
  SmallVector<int64_t> block = scheme.getBlockShape(shape);
  double sideBits = scheme.getScaleType().getIntOrFloatBitWidth() *
                    (scheme.hasZeroPoint() ? 2.0 : 1.0);
  double perChannel = 1.0, perKey = 1.0;
  switch (scheme.getGranularity()) {
  case Granularity::Tensor:
    perKey = 0.0;
    break;
  case Granularity::Token:
  case Granularity::Fragment:
    break;
  case Granularity::Channel:
    perKey = 0.0;
    perChannel = static_cast<double>(shape[3]);
    break;
  default:
    if (!ShapedType::isDynamic(block[3]) && block[3] > 0)
      perChannel = static_cast<double>(shape[3]) / block[3];
    if (!ShapedType::isDynamic(block[2]) && block[2] > 0)
      perKey = 1.0 / static_cast<double>(block[2]);
    break;
  }
  return sideBits / 8.0 * perChannel * perKey;
}

/// DRAM bytes per key a decoder op reads, for the cost model: its operands
/// with a token dimension (rank 4, dim 2 dynamic or the decoded length),
/// decoded operands through their own decoder (the largest input of a
/// concatenation). Operands shared by all tokens are not counted.
static double estimateDecoderBytesPerKey(KVDecoderOpInterface decoder) {
  if (auto dequantize = dyn_cast<DequantizeOp>(decoder.getOperation())) {
    auto type = cast<RankedTensorType>(dequantize.getCodes().getType());
    QuantSchemeAttr scheme = dequantize.getSchemeAttr();
    return static_cast<double>(type.getDimSize(3)) *
               scheme.getStorageBitWidth() / 8.0 +
           getSideBytesPerKey(scheme, type.getShape());
  }
  SmallVector<Value> decoded = decoder.getDecodedOperands();
  auto result = cast<RankedTensorType>(decoder->getResult(0).getType());
  double bytes = 0, largestDecoded = 0;
  for (Value operand : decoder->getOperands()) {
    auto type = dyn_cast<RankedTensorType>(operand.getType());
    if (!type || type.getRank() != 4 || type.isDynamicDim(3))
      continue;
    if (llvm::is_contained(decoded, operand)) {
      double inner = 0;
      if (KVDecoderOpInterface innerDecoder = getAttentionDecoder(operand))
        inner = estimateDecoderBytesPerKey(innerDecoder);
      else
        inner = static_cast<double>(type.getDimSize(3)) *
                type.getElementTypeBitWidth() / 8.0;
      largestDecoded = std::max(largestDecoded, inner);
      continue;
    }
    bool perToken =
        type.isDynamicDim(2) ||
        (!result.isDynamicDim(2) && type.getDimSize(2) == result.getDimSize(2));
    if (perToken)
      bytes += static_cast<double>(type.getDimSize(3)) *
               type.getElementTypeBitWidth() / 8.0;
  }
  return bytes + largestDecoded;
}

//===----------------------------------------------------------------------===//
// Operands
//===----------------------------------------------------------------------===//

LogicalResult DecodeKernelEmitter::prepare(DecodeOperand &x, bool isKey,
                                           Value data, QuantSchemeAttr scheme,
                                           Value scale, Value zeroPoint) {
  x.isKey = isKey;
  x.what = isKey ? "key" : "value";
  auto stageAsF16 = [&](int64_t dim) {
    x.staged = true;
    x.kind = RowKind::F16;
    x.scaleMode = ScaleMode::None;
    x.dim = dim;
    x.paddedDim = llvm::alignTo(dim, 16);
    x.elementType = b.getF16Type();
    x.elementBytes = 2;
    x.rowBytes = 2 * x.paddedDim;
  };
  if (!scheme) {
    if (KVDecoderOpInterface decoder = getAttentionDecoder(data)) {
      if (failed(reader.prepare(b, decoder)))
        return failure();
      x.decoder = decoder;
      stageAsF16(cast<RankedTensorType>(data.getType()).getShape()[3]);
    }
  }
  if (!x.decoder) {
    FailureOr<KVOperand> src = prepareKVOperand(
        b, op, "kvq-gpu-attention", x.what, data, scheme, scale, zeroPoint);
    if (failed(src))
      return failure();
    x.src = *src;
    x.dim = src->dim;
    if (scheme)
      x.sideBytesPerKey = getSideBytesPerKey(
          scheme, cast<RankedTensorType>(data.getType()).getShape());
    Type element = cast<MemRefType>(src->data.getType()).getElementType();
    std::optional<RowKind> kind;
    if (!scheme) {
      if (element.isF16())
        kind = RowKind::F16;
      else if (element.isBF16())
        kind = RowKind::BF16;
      else if (element.isF32())
        kind = RowKind::F32;
    } else {
      Type storage = scheme.getStorageType();
      if (storage.isInteger(8))
        kind = RowKind::I8;
      else if (storage.isInteger(4))
        kind = RowKind::I4;
      else if (storage.isInteger(2))
        kind = RowKind::I2;
      else if (isa<Float8E5M2Type>(storage))
        kind = RowKind::E5M2;
      else if (isa<Float8E4M3FNType>(storage) && target.hasFP8Conversion())
        kind = RowKind::E4M3;
      x.isSigned = scheme.getSymmetric() && isa<IntegerType>(storage);
      x.hasZeroPoint = scheme.hasZeroPoint();
    }
    // The register decoders read whole words per lane and whole k steps /
    // m tiles: rows a multiple of 16 channels, a lane's part (a quarter of
    // a K row, an eighth of a V row) whole 16-byte groups for K and words
    // for V.
    int64_t rowBytes = kind ? x.dim * getBits(*kind) / 8 : 0;
    bool fits = kind && x.dim % 16 == 0 && rowBytes % (isKey ? 16 : 32) == 0;
    if (fits && scheme) {
      // Scale blocks along the channels (0: the whole row) and the keys.
      int64_t channelExtent = x.src.whole[3] ? 0 : x.src.extent[3];
      if (channelExtent >= x.dim)
        channelExtent = 0;
      bool perKeyBlock = scheme.getGranularity() != Granularity::Fragment &&
                         (x.src.whole[2] || x.src.extent[2] % kTileKeys == 0);
      int64_t lane = x.dim / (isKey ? 4 : 8);
      if (isKey) {
        if (channelExtent == 0)
          x.scaleMode = ScaleMode::AfterMma;
        else if (channelExtent % lane == 0)
          x.scaleMode = ScaleMode::InDecode;
        else if (perKeyBlock)
          x.scaleMode = ScaleMode::FoldIntoQuery;
        else
          fits = false;
      } else {
        if (channelExtent == 0 || channelExtent % lane == 0)
          x.scaleMode = ScaleMode::InDecode;
        else if (x.src.whole[2])
          x.scaleMode = ScaleMode::Epilogue;
        else
          fits = false;
      }
    }
    if (fits) {
      x.kind = *kind;
      x.paddedDim = x.dim;
      x.elementType = element;
      x.elementBytes =
          std::max<int64_t>(1, element.getIntOrFloatBitWidth() / 8);
      x.rowBytes = rowBytes;
    } else {
      stageAsF16(x.dim);
    }
  }
  // Rows padded by 16 bytes: 16-byte aligned for cp.async, and rows g and
  // g + 8 (K) or 2t and 2t + 1 (V) a bank offset apart.
  x.strideBytes = x.rowBytes + 16;
  x.laneBytes = x.rowBytes / (isKey ? 4 : 8);
  return success();
}

/// Warp instructions per tile of one operand: per lane, the words it loads
/// from shared memory and decodes, the scale work and the mma.
DecodeOperandCost DecodeKernelEmitter::getCost(const DecodeOperand &x) const {
  DecodeOperandCost cost;
  cost.staged = x.staged;
  cost.stageBytesPerKey = x.strideBytes;
  // Estimates of the PTX the emitter generates per 16-key tile (checked
  // against the emitted loops: within ~10% for the benchmark schemes).
  int64_t keysPerLane = x.isKey ? 2 : 4;
  double pairs = static_cast<double>(keysPerLane * x.laneChannels()) / 2.0;
  // Instructions per f16x2 pair by row kind: byte moves (prmt, shifts,
  // word splits), the lop3 / cvt, the exact fix-up of magic-number codes.
  double perPair = 0;
  switch (x.kind) {
  case RowKind::F16:
    perPair = x.isKey ? 0 : 1;
    break;
  case RowKind::BF16:
    perPair = x.isKey ? 3 : 4;
    break;
  case RowKind::F32:
    perPair = 1;
    break;
  case RowKind::I8:
    perPair = x.isKey ? 2.5 : 3;
    break;
  case RowKind::I4:
    perPair = x.isKey ? 2.25 : 2.5;
    break;
  case RowKind::I2:
    perPair = x.isKey ? 2.1 : 2.4;
    break;
  case RowKind::E4M3:
    perPair = x.isKey ? 2 : 2.5;
    break;
  case RowKind::E5M2:
    perPair = x.isKey ? 1 : 1.5;
    break;
  }
  // The scale (and zero point) per pair.
  if (x.scaleMode == ScaleMode::InDecode)
    perPair += 1;
  double loads = keysPerLane * std::ceil(x.laneBytes / 16.0);
  double mma = static_cast<double>(x.paddedDim) / 16.0;
  cost.issuePerTile = pairs * perPair + loads + mma;
  // cp.async of the tile: 16 keys x rowBytes / 16 copies over 32 lanes,
  // each about 5 instructions with its address arithmetic.
  cost.issuePerTile += 5.0 * std::ceil(kTileKeys * x.rowBytes / 16.0 / 32.0);
  if (x.scaleMode == ScaleMode::AfterMma)
    cost.issuePerTile += 4 * (x.hasZeroPoint ? 2 : 1);
  if (x.scaleMode == ScaleMode::FoldIntoQuery) {
    // Per scale block: the lane's channel scales and zero points (loads,
    // conversions, pairing), Q times the scales, the zero points' mma.
    double perBlock = 6.0 * x.laneChannels() + 2.0 * x.paddedDim / 16.0;
    double tilesPerBlock =
        x.src.whole[2] ? 64.0
                       : static_cast<double>(x.src.extent[2]) / kTileKeys;
    cost.issuePerTile += perBlock / tilesPerBlock;
  }
  if (x.staged) {
    // Rows decoded by the warp: per element a load and conversion.
    cost.issuePerTile += 4.0 * kTileKeys * x.paddedDim / 32.0;
  }
  // DRAM bytes per key: the codes, plus the side data per key.
  double bytes = 0;
  if (x.decoder) {
    bytes = estimateDecoderBytesPerKey(x.decoder);
  } else {
    bytes = static_cast<double>(x.dim) *
            (x.src.scheme ? x.src.scheme.getStorageBitWidth()
                          : cast<MemRefType>(x.src.data.getType())
                                .getElementTypeBitWidth()) /
            8.0;
    bytes += x.sideBytesPerKey;
  }
  cost.dramBytesPerKey = bytes;
  return cost;
}

//===----------------------------------------------------------------------===//
// Register decoders
//===----------------------------------------------------------------------===//

Value DecodeKernelEmitter::halfSub(Value v, double c) {
  return arith::SubFOp::create(b, v, gk::constHalf2(b, b.getLoc(), c, c));
}

Value DecodeKernelEmitter::halfFma(Value v, double m, double c) {
  return LLVM::FMAOp::create(b, v, gk::constHalf2(b, b.getLoc(), m, m),
                             gk::constHalf2(b, b.getLoc(), c, c));
}

/// `scalar` as the pass's operand type (f16, or bf16 in the recomputation).
Value DecodeKernelEmitter::toHalf(Value scalar) {
  Type type = scalar.getType();
  if (type == opType)
    return scalar;
  if (!type.isF32())
    scalar = emitExtendToF32(b, b.getLoc(), scalar);
  return arith::TruncFOp::create(b, opType, scalar);
}

Value DecodeKernelEmitter::splatHalf2(Value scalar) {
  return vector::BroadcastOp::create(b, VectorType::get({2}, opType),
                                     toHalf(scalar));
}

Value DecodeKernelEmitter::pairHalf2(Value lo, Value hi) {
  return vector::FromElementsOp::create(b, VectorType::get({2}, opType),
                                        ValueRange{toHalf(lo), toHalf(hi)});
}

/// A word as two elements of the pass's operand type.
Value DecodeKernelEmitter::asPair(Value word) {
  return LLVM::BitcastOp::create(b, VectorType::get({2}, opType), word);
}

/// bf16x2 (a word) to f16x2.
static Value bf16PairToHalf2(ImplicitLocOpBuilder &b, Value word) {
  Type f32 = b.getF32Type();
  Value lo = arith::BitcastOp::create(
      b, f32, arith::ShLIOp::create(b, word, gk::constI32(b, b.getLoc(), 16)));
  Value hi = arith::BitcastOp::create(
      b, f32,
      arith::AndIOp::create(b, word,
                            gk::constI32(b, b.getLoc(), 0xFFFF0000LL)));
  Value pair = vector::FromElementsOp::create(b, VectorType::get({2}, f32),
                                              ValueRange{lo, hi});
  return arith::TruncFOp::create(b, VectorType::get({2}, b.getF16Type()), pair);
}

/// Two FP8 e4m3 codes (the low or high half of `word`) to f16x2 with the
/// hardware conversion.
static Value e4m3PairToHalf2(ImplicitLocOpBuilder &b, Value word, bool high) {
  Value bits = word;
  if (high)
    bits = arith::ShRUIOp::create(b, bits, gk::constI32(b, b.getLoc(), 16));
  Value half = arith::TruncIOp::create(b, b.getI16Type(), bits);
  Value bytes =
      LLVM::BitcastOp::create(b, VectorType::get({2}, b.getI8Type()), half);
  return NVVM::ConvertF8x2ToF16x2Op::create(
      b, VectorType::get({2}, b.getF16Type()), bytes, /*relu=*/false,
      b.getType<Float8E4M3FNType>());
}

SmallVector<Half2> DecodeKernelEmitter::decodeKeyUnit(const DecodeOperand &x,
                                                      ValueRange w,
                                                      int64_t base) {
  Location loc = b.getLoc();
  SmallVector<std::pair<int64_t, int64_t>> pairs = getUnitKeyPairs(x.kind);
  SmallVector<Half2> out;
  auto push = [&](Value v, size_t i) {
    out.push_back({v, base + pairs[i].first, base + pairs[i].second});
  };
  switch (x.kind) {
  case RowKind::F16:
    push(gk::asHalf2(b, loc, w[0]), 0);
    break;
  case RowKind::BF16:
    push(opType.isBF16() ? asPair(w[0]) : bf16PairToHalf2(b, w[0]), 0);
    break;
  case RowKind::F32: {
    Type f32 = b.getF32Type();
    Value pair = vector::FromElementsOp::create(
        b, VectorType::get({2}, f32),
        ValueRange{arith::BitcastOp::create(b, f32, w[0]),
                   arith::BitcastOp::create(b, f32, w[1])});
    push(arith::TruncFOp::create(b, VectorType::get({2}, b.getF16Type()), pair),
         0);
    break;
  }
  case RowKind::I8: {
    // 0x64XX is 1024 + XX in f16; signed codes are offset by 128 first.
    Value v = x.isSigned
                  ? Value(arith::XOrIOp::create(b, w[0], cI32(0x80808080LL)))
                  : w[0];
    Value magic = cI32(0x64646464);
    for (auto [i, selector] :
         llvm::enumerate(std::array<uint32_t, 2>{0x5140u, 0x5342u}))
      push(halfSub(gk::asHalf2(b, loc, gk::prmt(b, loc, v, magic, selector)),
                   x.isSigned ? 1152 : 1024),
           i);
    break;
  }
  case RowKind::I4: {
    // Fields 0 and 4 at bits 0 and 16: (w & 0x000F000F) | 0x6400_6400 is
    // 1024 + field in each half; fields 1 and 5 sit 4 bits higher (16x);
    // the word >> 8 gives fields 2, 6 and 3, 7. Signed codes flip their
    // sign bit (two's complement to offset binary) in the same lop3.
    int64_t flip = x.isSigned ? 0x00080008 : 0;
    for (int64_t half = 0; half < 2; ++half) {
      Value ws = half ? Value(arith::ShRUIOp::create(b, w[0], cI32(8))) : w[0];
      Value lo = gk::asHalf2(
          b, loc, gk::andXor(b, loc, ws, 0x000F000F, 0x64006400 ^ flip));
      push(halfSub(lo, x.isSigned ? 1032 : 1024), 2 * half);
      Value hi = gk::asHalf2(
          b, loc, gk::andXor(b, loc, ws, 0x00F000F0, 0x64006400 ^ (flip << 4)));
      push(halfFma(hi, 1.0 / 16, x.isSigned ? -72 : -64), 2 * half + 1);
    }
    break;
  }
  case RowKind::I2: {
    for (int64_t half = 0; half < 2; ++half) {
      Value ws = half ? Value(arith::ShRUIOp::create(b, w[0], cI32(8))) : w[0];
      for (int64_t f = 0; f < 4; ++f) {
        int64_t mask = (3LL << (2 * f)) | (3LL << (2 * f + 16));
        int64_t flip = x.isSigned ? (0x00020002LL << (2 * f)) : 0;
        double factor = static_cast<double>(1 << (2 * f));
        Value h = gk::asHalf2(b, loc,
                              gk::andXor(b, loc, ws, mask, 0x64006400 ^ flip));
        push(halfFma(h, 1.0 / factor,
                     -1024.0 / factor - (x.isSigned ? 2.0 : 0.0)),
             4 * half + f);
      }
    }
    break;
  }
  case RowKind::E4M3:
    push(e4m3PairToHalf2(b, w[0], /*high=*/false), 0);
    push(e4m3PairToHalf2(b, w[0], /*high=*/true), 1);
    break;
  case RowKind::E5M2:
    // An e5m2 code is the top byte of the f16 of the same value.
    push(gk::asHalf2(b, loc, gk::prmt(b, loc, w[0], cI32(0), 0x1404)), 0);
    push(gk::asHalf2(b, loc, gk::prmt(b, loc, w[0], cI32(0), 0x3424)), 1);
    break;
  }
  return out;
}

/// Words per V decoding unit and the channels it covers.
static int64_t getValueUnitChannels(RowKind kind) { return 32 / getBits(kind); }

SmallVector<Half2> DecodeKernelEmitter::decodeValueUnit(const DecodeOperand &x,
                                                        ValueRange wa,
                                                        ValueRange wb,
                                                        int64_t base) {
  // Pairs of keys (a, b) at one channel: prmt interleaves the two words'
  // bytes so that the same field of both keys lands in the two halves.
  Location loc = b.getLoc();
  SmallVector<Half2> out;
  auto push = [&](Value v, int64_t channel) {
    out.push_back({v, base + channel, 0});
  };
  Value a = wa[0], c = wb[0];
  switch (x.kind) {
  case RowKind::F16:
    push(gk::asHalf2(b, loc, gk::prmt(b, loc, a, c, 0x5410)), 0);
    push(gk::asHalf2(b, loc, gk::prmt(b, loc, a, c, 0x7632)), 1);
    break;
  case RowKind::BF16:
    for (auto [i, selector] :
         llvm::enumerate(std::array<uint32_t, 2>{0x5410u, 0x7632u})) {
      Value pair = gk::prmt(b, loc, a, c, selector);
      push(opType.isBF16() ? asPair(pair) : bf16PairToHalf2(b, pair), i);
    }
    break;
  case RowKind::F32: {
    Type f32 = b.getF32Type();
    Value pair = vector::FromElementsOp::create(
        b, VectorType::get({2}, f32),
        ValueRange{arith::BitcastOp::create(b, f32, a),
                   arith::BitcastOp::create(b, f32, c)});
    push(arith::TruncFOp::create(b, VectorType::get({2}, b.getF16Type()), pair),
         0);
    break;
  }
  case RowKind::I8: {
    for (int64_t ch = 0; ch < 4; ++ch) {
      uint32_t selector = ch | (ch << 4) | ((4 + ch) << 8) | ((4 + ch) << 12);
      Value v = gk::prmt(b, loc, a, c, selector);
      Value h = gk::andXor(b, loc, v, 0x00FF00FF,
                           0x64006400 ^ (x.isSigned ? 0x00800080 : 0));
      push(halfSub(gk::asHalf2(b, loc, h), x.isSigned ? 1152 : 1024), ch);
    }
    break;
  }
  case RowKind::I4: {
    int64_t flip = x.isSigned ? 0x00080008 : 0;
    for (auto [i, selector] :
         llvm::enumerate(std::array<uint32_t, 2>{0x5410u, 0x7632u})) {
      Value v = gk::prmt(b, loc, a, c, selector);
      for (int64_t half = 0; half < 2; ++half) {
        Value vs = half ? Value(arith::ShRUIOp::create(b, v, cI32(8))) : v;
        Value lo = gk::asHalf2(
            b, loc, gk::andXor(b, loc, vs, 0x000F000F, 0x64006400 ^ flip));
        push(halfSub(lo, x.isSigned ? 1032 : 1024), 4 * i + 2 * half);
        Value hi = gk::asHalf2(
            b, loc,
            gk::andXor(b, loc, vs, 0x00F000F0, 0x64006400 ^ (flip << 4)));
        push(halfFma(hi, 1.0 / 16, x.isSigned ? -72 : -64),
             4 * i + 2 * half + 1);
      }
    }
    break;
  }
  case RowKind::I2: {
    for (auto [i, selector] :
         llvm::enumerate(std::array<uint32_t, 2>{0x5410u, 0x7632u})) {
      Value v = gk::prmt(b, loc, a, c, selector);
      for (int64_t half = 0; half < 2; ++half) {
        Value vs = half ? Value(arith::ShRUIOp::create(b, v, cI32(8))) : v;
        for (int64_t f = 0; f < 4; ++f) {
          int64_t mask = (3LL << (2 * f)) | (3LL << (2 * f + 16));
          int64_t flip = x.isSigned ? (0x00020002LL << (2 * f)) : 0;
          double factor = static_cast<double>(1 << (2 * f));
          Value h = gk::asHalf2(
              b, loc, gk::andXor(b, loc, vs, mask, 0x64006400 ^ flip));
          push(halfFma(h, 1.0 / factor,
                       -1024.0 / factor - (x.isSigned ? 2.0 : 0.0)),
               8 * i + 4 * half + f);
        }
      }
    }
    break;
  }
  case RowKind::E4M3:
    for (auto [i, selector] :
         llvm::enumerate(std::array<uint32_t, 2>{0x5140u, 0x7362u})) {
      Value v = gk::prmt(b, loc, a, c, selector);
      push(e4m3PairToHalf2(b, v, /*high=*/false), 2 * i);
      push(e4m3PairToHalf2(b, v, /*high=*/true), 2 * i + 1);
    }
    break;
  case RowKind::E5M2:
    for (auto [i, selector] :
         llvm::enumerate(std::array<uint32_t, 2>{0x5140u, 0x7362u})) {
      Value v = gk::prmt(b, loc, a, c, selector);
      push(gk::asHalf2(b, loc, gk::prmt(b, loc, v, cI32(0), 0x1404)), 2 * i);
      push(gk::asHalf2(b, loc, gk::prmt(b, loc, v, cI32(0), 0x3424)),
           2 * i + 1);
    }
    break;
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Loads, copies and staging
//===----------------------------------------------------------------------===//

Value DecodeKernelEmitter::loadSide(const DecodeOperand &x, Value side,
                                    Value keyIndex, Value channel) {
  SmallVector<Value> idx =
      getSideIndices(b, b.getLoc(), x.src, {bi, hk, keyIndex, channel});
  return memref::LoadOp::create(b, side, idx);
}

Value DecodeKernelEmitter::loadWords(const DecodeOperand &x, Value row,
                                     Value firstWord, int64_t count,
                                     int64_t alignment) {
  auto type = VectorType::get({count}, b.getI32Type());
  return vector::LoadOp::create(b, type, x.words, ValueRange{row, firstWord},
                                /*nontemporal=*/false,
                                llvm::MaybeAlign(alignment));
}

SmallVector<Value> DecodeKernelEmitter::issueTile(DecodeOperand &x, Value row0,
                                                  Value kb) {
  // 16-byte copies, bypassing L1, spread over the lanes. Each chunk has
  // exactly one owner: when the count is not a multiple of 32 the lanes past
  // the last chunk copy nothing in the last round (two lanes copying the
  // same shared bytes, even identical ones, is a write-write race).
  int64_t perRow = x.rowBytes / 16;
  int64_t total = kTileKeys * perRow;
  int64_t elements = 16 / x.elementBytes;
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
  SmallVector<Value> tokens;
  int64_t copies = static_cast<int64_t>(llvm::divideCeil(total, 32));
  for (int64_t u = 0; u < copies; ++u) {
    Value c = add(lane, cIdx(32 * u));
    bool partial = (u + 1) * 32 > total;
    std::optional<OpBuilder::InsertionGuard> guard;
    if (partial) {
      auto ifOp = scf::IfOp::create(b, ult(c, cIdx(total)),
                                    /*withElseRegion=*/false);
      guard.emplace(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
    }
    Value row = divU(c, cIdx(perRow));
    Value col = mul(remU(c, cIdx(perRow)), cIdx(elements));
    Value keyIndex = minU(add(kb, row), skvLast);
    auto copy = nvgpu::DeviceAsyncCopyOp::create(
        b, tokenType, x.stage, ValueRange{add(row0, row), col}, x.src.data,
        ValueRange{bi, hk, keyIndex, col}, b.getIndexAttr(elements),
        /*srcElements=*/Value(), b.getUnitAttr());
    // A copy under the guard is committed by the same commit_group as the
    // others (a cp.async group holds every copy the lane issued since the
    // last commit); its token cannot leave the scf.if.
    if (!partial)
      tokens.push_back(copy.getAsyncToken());
  }
  return tokens;
}

void DecodeKernelEmitter::stageTile(DecodeOperand &x, Value row0, Value kb,
                                    Value rowInTile) {
  // One lane per row decodes it in chunks of 8 channels (the decoders take
  // static chunk starts) and stores them as f16 (bf16 in the recomputation);
  // channels past the head dimension are zero.
  Value keyIndex = minU(add(kb, rowInTile), skvLast);
  SmallVector<Value> coords = {bi, hk, keyIndex};
  auto f16x8 = VectorType::get({8}, x.elementType);
  for (int64_t start = 0; start < x.paddedDim; start += 8) {
    Value v;
    if (start >= x.dim)
      v = arith::ConstantOp::create(
          b, DenseElementsAttr::get(f16x8, FloatAttr::get(x.elementType, 0.0)));
    else if (x.decoder)
      v = arith::TruncFOp::create(
          b, f16x8,
          x.decoder.emitDecodeChunk(b, b.getLoc(), reader, coords, start, 8));
    else
      v = arith::TruncFOp::create(b, f16x8,
                                  DecodeChunkReader::decodeRawChunk(
                                      b, b.getLoc(), x.src, coords, start, 8));
    vector::StoreOp::create(b, v, x.stage,
                            ValueRange{add(row0, rowInTile), cIdx(start)},
                            /*nontemporal=*/false, llvm::MaybeAlign(16));
  }
}

//===----------------------------------------------------------------------===//
// The kernels
//===----------------------------------------------------------------------===//

LogicalResult DecodeKernelEmitter::emit() {
  Location loc = b.getLoc();
  MLIRContext *ctx = b.getContext();
  auto qType = cast<RankedTensorType>(op.getQuery().getType());
  d = qType.getDimSize(3);
  int64_t hq = qType.getDimSize(1);
  sq = qType.getDimSize(2);
  hkv = cast<RankedTensorType>(op.getKey().getType()).getDimSize(1);
  group = hq / hkv;
  rows = group * sq;
  if (failed(prepare(key, /*isKey=*/true, op.getKey(), op.getKeySchemeAttr(),
                     op.getKeyScale(), op.getKeyZeroPoint())) ||
      failed(prepare(value, /*isKey=*/false, op.getValue(),
                     op.getValueSchemeAttr(), op.getValueScale(),
                     op.getValueZeroPoint())))
    return failure();
  if (key.dim != d)
    return op.emitOpError() << "kvq-gpu-attention: key head dimension "
                            << key.dim << " differs from the query's " << d;
  dv = value.dim;
  kSteps = key.paddedDim / 16;
  mTiles = value.paddedDim / 16;
  opType = b.getF16Type();

  // The schedule.
  std::string error;
  // K scales folded into Q keep the unscaled Q fragments in shared memory
  // (32 lanes x 2 words per k step, rows padded by 2 words against bank
  // conflicts, per warp) rather than in registers.
  stashWords = 2 * kSteps + 2;
  int64_t stashBytesPerWarp =
      key.scaleMode == ScaleMode::FoldIntoQuery ? 32 * stashWords * 4 : 0;
  // f16 operands overflow beyond 65504: an input (or a decoded K / V value,
  // or Q times the softmax scale) beyond that range makes a score or an
  // output accumulator non-finite. Unless every operand is plain f16 and
  // the scale small, a CTA where any thread saw a non-finite score, row
  // maximum, row sum or accumulator computes its keys again with bf16
  // operands (f32's range, 8-bit significand): every K / V row decoded by
  // the warp into bf16 stage rows in the same shared memory, as many
  // stages as the f16 pass's rings hold (the plan reserves at least one).
  mayOverflow = decodeOperandsMayOverflowF16(op);
  DecodeOperand rerunKey = key, rerunValue = value;
  int64_t rerunBytesPerWarp = 0;
  if (mayOverflow) {
    for (DecodeOperand *x : {&rerunKey, &rerunValue}) {
      x->staged = true;
      x->kind = RowKind::BF16;
      x->scaleMode = ScaleMode::None;
      x->isSigned = x->hasZeroPoint = false;
      x->paddedDim = llvm::alignTo(x->dim, 16);
      x->elementType = b.getBF16Type();
      x->elementBytes = 2;
      x->rowBytes = 2 * x->paddedDim;
      x->strideBytes = x->rowBytes + 16;
      x->laneBytes = x->rowBytes / (x->isKey ? 4 : 8);
    }
    assert(rerunKey.paddedDim == key.paddedDim &&
           rerunValue.paddedDim == value.paddedDim);
    rerunBytesPerWarp =
        kTileKeys * (rerunKey.strideBytes + rerunValue.strideBytes);
  }

  FailureOr<DecodePlan> maybePlan = planDecodeKernel(
      target, getCost(key), getCost(value), rows, value.paddedDim,
      stashBytesPerWarp, rerunBytesPerWarp, schedule.warps, schedule.stages,
      schedule.sharedMemory, error);
  if (failed(maybePlan))
    return op.emitOpError() << "kvq-gpu-attention: " << error;
  plan = *maybePlan;
  warps = plan.warps;
  int64_t ringRows = warps * plan.stages * kTileKeys;
  key.stageOffset = 0;
  value.stageOffset = llvm::alignTo(ringRows * key.strideBytes, 16);
  stashOffset =
      llvm::alignTo(value.stageOffset + ringRows * value.strideBytes, 16);
  int64_t rerunStages = 0;
  if (mayOverflow) {
    rerunStages = std::clamp<int64_t>(
        plan.sharedMemoryBytes / (warps * rerunBytesPerWarp), 1, plan.stages);
    int64_t rerunRows = warps * rerunStages * kTileKeys;
    rerunKey.stageOffset = 0;
    rerunValue.stageOffset =
        llvm::alignTo(rerunRows * rerunKey.strideBytes, 16);
    assert(rerunValue.stageOffset + rerunRows * rerunValue.strideBytes <=
           plan.sharedMemoryBytes);
  }

  // Host side: sizes, split count, output and scratch.
  q = createReadOnlyBuffer(b, loc, op.getQuery());
  mask = op.getMask() ? createReadOnlyBuffer(b, loc, op.getMask()) : Value();
  c0 = cIdx(0);
  c1 = cIdx(1);
  Value batch = dimOf(q, 0);
  skv = key.decoder ? key.decoder.emitDecodedSize(b, loc, reader, 2)
                    : dimOf(key.src.data, 2);
  batchHeads = mul(batch, cIdx(hkv));
  Value numTiles = arith::CeilDivUIOp::create(b, skv, cIdx(kTileKeys));
  Value splits;
  combine = schedule.splitKV != 1;
  if (schedule.splitKV > 0) {
    splits = cIdx(schedule.splitKV);
  } else {
    // getDecodeSplits: one wave of ctasPerSM CTAs on every SM, as long as
    // every warp keeps minTilesPerWarp tiles.
    Value want =
        maxU(c1, divU(cIdx(target.getNumSMs() * plan.ctasPerSM), batchHeads));
    Value byKeys =
        maxU(c1, divU(numTiles, cIdx(plan.warps * plan.minTilesPerWarp)));
    splits = minU(want, byKeys);
  }
  Value tilesPerSplit = arith::CeilDivUIOp::create(b, numTiles, splits);

  outElementType = op.getResult().getType().getElementType();
  out = createOutputBuffer(b, loc, op, q, dv);

  auto asyncType = gpu::AsyncTokenType::get(ctx);
  Value token = gpu::WaitOp::create(b, asyncType, ValueRange{}).getAsyncToken();
  if (combine) {
    // [split, batch x KV head, row, channel] and [split, batch x KV head,
    // row], in device memory.
    std::tie(partial, partialLse) = gk::allocSplitPartials(
        b, b.getLoc(), mul(mul(splits, batchHeads), cIdx(rows)), cIdx(dv),
        token);
  }

  auto launch = gpu::LaunchOp::create(
      b, splits, batchHeads, c1, cIdx(32 * warps), c1, c1,
      arith::ConstantOp::create(
          b, b.getI32IntegerAttr(static_cast<int32_t>(plan.sharedMemoryBytes))),
      asyncType, ValueRange{token});
  token = launch.getAsyncToken();
  // The plan, and what the model predicts when the shape is static.
  DictionaryAttr planAttr;
  {
    std::optional<DecodePrediction> prediction;
    if (!qType.isDynamicDim(0)) {
      std::optional<int64_t> keys;
      if (auto type = dyn_cast<RankedTensorType>(op.getKey().getType());
          type && !type.isDynamicDim(2))
        keys = type.getDimSize(2);
      if (keys) {
        int64_t bh = qType.getDimSize(0) * hkv;
        int64_t n = schedule.splitKV > 0
                        ? schedule.splitKV
                        : getDecodeSplits(plan, target, bh, *keys);
        prediction = predictDecode(plan, target, bh, *keys, n);
      }
    }
    planAttr = getDecodePlanAttr(ctx, plan, target,
                                 prediction ? &*prediction : nullptr);
    launch->setAttr("kvq.decode_plan", planAttr);
    // The schedule used: the cost model's warps, stages and shared memory
    // where the schedule left them automatic (0).
    AttentionSchedule used = schedule;
    used.warps = plan.warps;
    used.stages = plan.stages;
    if (plan.sharedMemoryBytes >= 1024)
      used.sharedMemory = plan.sharedMemoryBytes;
    launch->setAttr(kKernelScheduleAttrName, ScheduleAttr::get(ctx, used));
  }
  {
    OpBuilder::InsertionGuard launchGuard(b);
    b.setInsertionPointToStart(&launch.getBody().front());
    workgroup = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
    base = gpu::DynamicSharedMemoryOp::create(
        b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                           MemRefLayoutAttrInterface(), workgroup));
    // The register budget the schedule assumed (kvq-gpu-kernel-bounds
    // moves it onto the outlined kernel) and the plan, which stays with
    // the kernel until then (scripts/ptx-resources.py reads it there).
    base.getDefiningOp()->setAttr(
        "kvq.kernel_bounds",
        b.getDictionaryAttr(
            {b.getNamedAttr("max_registers",
                            b.getI32IntegerAttr(DecodePlan::kRegisterBudget)),
             b.getNamedAttr("min_ctas_per_sm",
                            b.getI32IntegerAttr(plan.ctasPerSM)),
             b.getNamedAttr("plan", planAttr)}));
    auto makeViews = [&](DecodeOperand &x, int64_t viewRows) {
      x.stage = memref::ViewOp::create(
          b,
          MemRefType::get({viewRows, x.strideBytes / x.elementBytes},
                          x.elementType, MemRefLayoutAttrInterface(),
                          workgroup),
          base, cIdx(x.stageOffset), ValueRange{});
      x.words = memref::ViewOp::create(
          b,
          MemRefType::get({viewRows, x.strideBytes / 4}, b.getI32Type(),
                          MemRefLayoutAttrInterface(), workgroup),
          base, cIdx(x.stageOffset), ValueRange{});
    };
    makeViews(key, ringRows);
    makeViews(value, ringRows);

    tid = launch.getThreadIds().x;
    split = launch.getBlockIds().x;
    bhk = launch.getBlockIds().y;
    bi = divU(bhk, cIdx(hkv));
    hk = remU(bhk, cIdx(hkv));
    skvLast = arith::SubIOp::create(b, maxU(skv, c1), c1);
    Value ctaTile0 = mul(split, tilesPerSplit);
    Value ctaTiles = select(
        ult(ctaTile0, numTiles),
        minU(tilesPerSplit, arith::SubIOp::create(b, numTiles, ctaTile0)), c0);
    Value perWarp = arith::CeilDivUIOp::create(b, ctaTiles, cIdx(warps));

    // The thread's warp, lane (g, t) and the warp's run of tiles: a
    // contiguous share of its CTA's split.
    auto setThread = [&](Value id) {
      WarpRun run;
      run.warp = divU(id, cIdx(32));
      lane = remU(id, cIdx(32));
      g = divU(lane, cIdx(4));
      t = remU(lane, cIdx(4));
      Value w0 = minU(mul(run.warp, perWarp), ctaTiles);
      Value w1 = minU(add(w0, perWarp), ctaTiles);
      run.nTiles = arith::SubIOp::create(b, w1, w0);
      run.firstTile = add(ctaTile0, w0);
      return run;
    };
    WarpRun self = setThread(tid);
    Value warp = self.warp;
    qScale = cF32(op.getEffectiveScale() * kLog2e);
    tokenType = nvgpu::DeviceAsyncTokenType::get(ctx);
    cType = VectorType::get({2, 2}, b.getF32Type());
    zeroAcc = arith::ConstantOp::create(
        b, DenseElementsAttr::get(cType, b.getF32FloatAttr(0.0)));

    // The block loop of one pass (f16 operands, or with `rerun` bf16 in
    // the recomputation) over the warp's tiles with `stages` ring buffers;
    // returns the warp's online-softmax state: the row maxima and
    // (lane-partial) sums of rows 2t, 2t + 1 and the O^T accumulators.
    // With `checkScores`, a non-finite raw score (an f16 operand
    // overflowed) becomes NaN, so that the row maximum shows it.
    SmallVector<Value> state = runBlocks(plan.stages, self, /*rerun=*/false);

    // After an f16 overflow anywhere in the CTA, the bf16 recomputation.
    // The decision is CTA-wide (bar.red.or, which every thread reaches
    // whatever its warp's trip count), so every thread takes the same
    // path; NaN or infinities in the data itself give the same result the
    // second time.
    Value rerun;
    if (mayOverflow) {
      // Row maxima (-inf while a row saw no key; NaN after a non-finite
      // raw score), sums and accumulators.
      rerun = gk::anyNonFiniteInCTA(b, b.getLoc(), ValueRange(state).take_front(4),
                                    ValueRange(state).slice(4, mTiles));
      auto retry = scf::IfOp::create(b, ValueRange(state).getTypes(), rerun,
                                     /*withElseRegion=*/true);
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(retry.thenBlock());
        DecodeOperand f16Key = key, f16Value = value;
        Value f16Lane = lane, f16G = g, f16T = t;
        key = rerunKey;
        value = rerunValue;
        opType = b.getBF16Type();
        int64_t rerunRows = warps * rerunStages * kTileKeys;
        makeViews(key, rerunRows);
        makeViews(value, rerunRows);
        // The second pass derives its indices from an opaque copy of the
        // thread id: otherwise LLVM reuses the first pass's addresses and
        // keeps them live through the first pass.
        WarpRun opaqueRun = setThread(gk::opaqueIndex(b, loc, tid));
        scf::YieldOp::create(b, runBlocks(rerunStages, opaqueRun,
                                          /*rerun=*/true));
        key = f16Key;
        value = f16Value;
        opType = b.getF16Type();
        lane = f16Lane;
        g = f16G;
        t = f16T;
        b.setInsertionPointToStart(retry.elseBlock());
        scf::YieldOp::create(b, state);
      }
      state = SmallVector<Value>(retry.getResults());
      // The epilogue's indices from another opaque copy: the first pass's
      // would stay live through the recomputation.
      warp = setThread(gk::opaqueIndex(b, loc, tid)).warp;
    }

    emitEpilogue(state, warp, rerun);
    gpu::TerminatorOp::create(b);
  }

  if (combine) {
    if (failed(
            emitCombine(partial, partialLse, splits, batchHeads, out, token)))
      return failure();
    token = gpu::DeallocOp::create(b, asyncType, ValueRange{token}, partial)
                .getAsyncToken();
    token = gpu::DeallocOp::create(b, asyncType, ValueRange{token}, partialLse)
                .getAsyncToken();
  }
  gpu::WaitOp::create(b, Type(), ValueRange{token});
  replacement = bufferization::ToTensorOp::create(
      b, op.getResult().getType(), out, /*restrict=*/true, /*writable=*/true);
  return success();
}

void DecodeKernelEmitter::emitEpilogue(ArrayRef<Value> state, Value warp,
                                       Value rerun) {
  Location loc = b.getLoc();
  // Epilogue. The value channel of each O^T accumulator element: lane g's
  // part of the row, in decode order (m tile mt: slots g and g + 8 are
  // its channels 2 mt and 2 mt + 1).
  SmallVector<int64_t> vOrder;
  for (int64_t w = 0; w < value.laneWords(); ++w)
    for (int64_t c = 0; c < getValueUnitChannels(value.kind); ++c)
      vOrder.push_back(w * getValueUnitChannels(value.kind) + c);
  Value vBase = mul(g, cIdx(value.laneChannels()));
  Value t2 = mul(t, cIdx(2));
  Value rowSum[2];
  for (int64_t e = 0; e < 2; ++e) {
    rowSum[e] = state[2 + e];
    for (int32_t offset : {4, 8, 16})
      rowSum[e] = arith::AddFOp::create(
          b, rowSum[e], gk::shuffleXor(b, loc, rowSum[e], offset));
  }
  // Retire every copy, then reuse the rings for the warps' partial
  // results: O [warp][row][padded Dv], then maxima and sums [warp][row].
  nvgpu::DeviceAsyncWaitOp::create(
      b, nvgpu::DeviceAsyncCreateGroupOp::create(b, tokenType, ValueRange{}),
      b.getI32IntegerAttr(0));
  gpu::BarrierOp::create(b);
  int64_t dvp = value.paddedDim;
  auto scratchType = MemRefType::get({plan.epilogueBytes / 4}, b.getF32Type(),
                                     MemRefLayoutAttrInterface(), workgroup);
  Value scratch =
      memref::ViewOp::create(b, scratchType, base, c0, ValueRange{});
  int64_t oSize = warps * rows * dvp;
  auto oIndex = [&](Value w, Value r, Value c) {
    return add(mul(add(mul(w, cIdx(rows)), r), cIdx(dvp)), c);
  };
  auto mIndex = [&](Value w, Value r) {
    return add(cIdx(oSize), add(mul(w, cIdx(rows)), r));
  };
  auto lIndex = [&](Value w, Value r) {
    return add(cIdx(oSize + warps * rows), add(mul(w, cIdx(rows)), r));
  };
  for (int64_t e = 0; e < 2; ++e) {
    Value r = add(t2, cIdx(e));
    auto ifOp = scf::IfOp::create(b, ult(r, cIdx(rows)), false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    for (int64_t mt = 0; mt < mTiles; ++mt)
      for (int64_t i = 0; i < 2; ++i) {
        Value ch = add(vBase, cIdx(vOrder[2 * mt + i]));
        memref::StoreOp::create(b,
                                vector::ExtractOp::create(
                                    b, state[4 + mt], ArrayRef<int64_t>{i, e}),
                                scratch, ValueRange{oIndex(warp, r, ch)});
      }
    auto first = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, g, c0), false);
    b.setInsertionPointToStart(first.thenBlock());
    memref::StoreOp::create(b, state[e], scratch, ValueRange{mIndex(warp, r)});
    memref::StoreOp::create(b, rowSum[e], scratch, ValueRange{lIndex(warp, r)});
  }
  gpu::BarrierOp::create(b);

  // Merge the warps: every thread takes (row, channel) elements.
  auto merge = scf::ForOp::create(b, tid, cIdx(rows * dv), cIdx(32 * warps));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(merge.getBody());
    Value idx = merge.getInductionVar();
    Value r = divU(idx, cIdx(dv));
    Value c = remU(idx, cIdx(dv));
    Value maxAll = negInf();
    for (int64_t w = 0; w < warps; ++w)
      maxAll = arith::MaximumFOp::create(
          b, maxAll,
          memref::LoadOp::create(b, scratch, ValueRange{mIndex(cIdx(w), r)}));
    Value ref = select(
        arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, maxAll, negInf()),
        cF32(0.0), maxAll);
    Value sum = cF32(0.0), acc = cF32(0.0);
    for (int64_t w = 0; w < warps; ++w) {
      Value weight = gk::exp2Approx(
          b, loc,
          arith::SubFOp::create(b,
                                memref::LoadOp::create(
                                    b, scratch, ValueRange{mIndex(cIdx(w), r)}),
                                ref));
      sum = LLVM::FMAOp::create(
          b, weight,
          memref::LoadOp::create(b, scratch, ValueRange{lIndex(cIdx(w), r)}),
          sum);
      acc = LLVM::FMAOp::create(
          b, weight,
          memref::LoadOp::create(b, scratch, ValueRange{oIndex(cIdx(w), r, c)}),
          acc);
    }
    // A row with no key has sum 0 and outputs 0; a NaN sum (NaN or +-inf
    // in the scores of a key the row sees) must stay NaN, not become 0.
    Value hasMass =
        arith::CmpFOp::create(b, arith::CmpFPredicate::UNE, sum, cF32(0.0));
    Value o = arith::DivFOp::create(b, acc, sum);
    if (value.scaleMode == ScaleMode::Epilogue) {
      Value s =
          emitExtendToF32(b, loc, loadSide(value, value.src.scale, c0, c));
      Value scaled = arith::MulFOp::create(b, o, s);
      if (value.hasZeroPoint)
        scaled = arith::AddFOp::create(
            b, scaled,
            emitExtendToF32(b, loc,
                            loadSide(value, value.src.zeroPoint, c0, c)));
      // The recomputation's stage rows hold V scaled already.
      o = rerun ? select(rerun, o, scaled) : scaled;
    }
    o = select(hasMass, o, cF32(0.0));
    if (combine) {
      Value lseIdx = add(mul(add(mul(split, batchHeads), bhk), cIdx(rows)), r);
      memref::StoreOp::create(b, o, partial,
                              ValueRange{add(mul(lseIdx, cIdx(dv)), c)});
      auto ifOp = scf::IfOp::create(
          b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, c, c0), false);
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      Value lse = select(
          hasMass, arith::AddFOp::create(b, ref, gk::log2Approx(b, loc, sum)),
          negInf());
      memref::StoreOp::create(b, lse, partialLse, ValueRange{lseIdx});
    } else {
      Value head = add(mul(hk, cIdx(group)), remU(r, cIdx(group)));
      Value pos = divU(r, cIdx(group));
      if (outElementType != b.getF32Type())
        o = arith::TruncFOp::create(b, outElementType, o);
      memref::StoreOp::create(b, o, out, ValueRange{bi, head, pos, c});
    }
  }
}

SmallVector<Value>
DecodeKernelEmitter::runBlocks(int64_t stages, const WarpRun &run, bool rerun) {
  Location loc = b.getLoc();
  bool checkScores = mayOverflow && !rerun;
  Value nTiles = run.nTiles, firstTile = run.firstTile;
  Value ringRow0 = mul(run.warp, cIdx(stages * kTileKeys));
  bool fold = key.scaleMode == ScaleMode::FoldIntoQuery;
  Value rowValid = ult(g, cIdx(rows));

  // Q^T as B fragments, one per k step: lane (g, t) holds query row g at
  // the channels of the pairs its K A fragment holds. Scaled by softmax
  // scale * log2(e) (the softmax runs in base 2); zero past the rows and
  // the head dimension.
  Value qRow = minU(g, cIdx(rows - 1));
  Value qHead = add(mul(hk, cIdx(group)), remU(qRow, cIdx(group)));
  Value qPos = divU(qRow, cIdx(group));
  int64_t kLane = key.laneChannels();
  Value kBase = mul(t, cIdx(kLane));
  SmallVector<std::pair<int64_t, int64_t>> kPairs;
  for (int64_t u = 0; u < kLane / getUnitChannels(key.kind); ++u)
    for (auto [a, c] : getUnitKeyPairs(key.kind))
      kPairs.push_back({u * getUnitChannels(key.kind) + a,
                        u * getUnitChannels(key.kind) + c});
  assert(static_cast<int64_t>(kPairs.size()) == 2 * kSteps);
  auto qValue = [&](int64_t offset) -> Value {
    Value ch = add(kBase, cIdx(offset));
    Value ok = rowValid;
    if (key.paddedDim != d) {
      ok = arith::AndIOp::create(b, ok, ult(ch, cIdx(d)));
      ch = minU(ch, cIdx(d - 1));
    }
    Value v = emitExtendToF32(
        b, loc, memref::LoadOp::create(b, q, ValueRange{bi, qHead, qPos, ch}));
    return select(ok, arith::MulFOp::create(b, v, qScale), cF32(0.0));
  };
  auto aType = VectorType::get({4, 2}, opType);
  auto bType = VectorType::get({2, 2}, opType);
  auto makeB = [&](Value lo, Value hi) -> Value {
    Value frag = arith::ConstantOp::create(
        b, DenseElementsAttr::get(bType, FloatAttr::get(opType, 0.0)));
    frag = vector::InsertOp::create(b, lo, frag, 0);
    return vector::InsertOp::create(b, hi, frag, 1);
  };
  auto makeA = [&](Value a0, Value a1, Value a2, Value a3) -> Value {
    Value frag = arith::ConstantOp::create(
        b, DenseElementsAttr::get(aType, FloatAttr::get(opType, 0.0)));
    std::array<Value, 4> parts = {a0, a1, a2, a3};
    for (int64_t i = 0; i < 4; ++i)
      frag = vector::InsertOp::create(b, parts[i], frag, i);
    return frag;
  };
  auto loadQFrags = [&]() {
    SmallVector<Value> frags;
    for (int64_t s = 0; s < kSteps; ++s) {
      auto [a0, b0] = kPairs[2 * s];
      auto [a1, b1] = kPairs[2 * s + 1];
      frags.push_back(makeB(pairHalf2(qValue(a0), qValue(b0)),
                            pairHalf2(qValue(a1), qValue(b1))));
    }
    return frags;
  };
  // The recomputation reloads them for every tile (from the caches)
  // rather than keeping them in registers through its loop.
  SmallVector<Value> qFrags;
  if (!rerun)
    qFrags = loadQFrags();
  // With K scales folded into Q, the unscaled fragments wait in the
  // warp's stash (row warp * 32 + lane) for each new scale block.
  Value qStash, stashRow;
  if (fold) {
    qStash = memref::ViewOp::create(
        b,
        MemRefType::get({32 * warps, stashWords}, b.getI32Type(),
                        MemRefLayoutAttrInterface(), workgroup),
        base, cIdx(stashOffset), ValueRange{});
    stashRow = add(mul(run.warp, cIdx(32)), lane);
    for (int64_t s = 0; s < kSteps; ++s) {
      Value words = vector::FromElementsOp::create(
          b, VectorType::get({2}, b.getI32Type()),
          ValueRange{
              gk::asWord(b, loc, vector::ExtractOp::create(b, qFrags[s], 0)),
              gk::asWord(b, loc, vector::ExtractOp::create(b, qFrags[s], 1))});
      vector::StoreOp::create(b, words, qStash,
                              ValueRange{stashRow, cIdx(2 * s)},
                              /*nontemporal=*/false, llvm::MaybeAlign(8));
    }
  }
  // sum_c q[r][c] for rows 2t, 2t + 1 (per-key K zero points): one more
  // S^T with all-ones keys.
  Value qSum[2];
  if (key.scaleMode == ScaleMode::AfterMma && key.hasZeroPoint) {
    Value ones = arith::ConstantOp::create(
        b, DenseElementsAttr::get(aType, b.getF16FloatAttr(1.0)));
    Value acc = zeroAcc;
    for (Value frag : qFrags)
      acc = mma(ones, frag, acc);
    for (int64_t e = 0; e < 2; ++e)
      qSum[e] = vector::ExtractOp::create(b, acc, ArrayRef<int64_t>{0, e});
  }

  // The pipeline: stages - 1 tiles in flight ahead of the one computed.
  bool async = !key.staged || !value.staged;
  auto issue = [&](Value tileIndex, Value stage) -> Value {
    Value kb = mul(tileIndex, cIdx(kTileKeys));
    Value row0 = add(ringRow0, mul(stage, cIdx(kTileKeys)));
    SmallVector<Value> tokens;
    if (!key.staged)
      llvm::append_range(tokens, issueTile(key, row0, kb));
    if (!value.staged)
      llvm::append_range(tokens, issueTile(value, row0, kb));
    // Staged rows: lanes 0-15 decode K rows, 16-31 V rows (or 0-15 the
    // only staged operand).
    if (key.staged || value.staged) {
      Value rowInTile = remU(lane, cIdx(kTileKeys));
      Value upper = arith::CmpIOp::create(b, arith::CmpIPredicate::uge, lane,
                                          cIdx(kTileKeys));
      auto stageIf = [&](DecodeOperand &x, Value cond) {
        auto ifOp = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(ifOp.thenBlock());
        stageTile(x, row0, kb, rowInTile);
      };
      Value lower = arith::XOrIOp::create(
          b, upper, arith::ConstantOp::create(b, b.getBoolAttr(true)));
      if (key.staged)
        stageIf(key, lower);
      if (value.staged)
        stageIf(value, key.staged ? upper : lower);
    }
    if (!async)
      return Value();
    return nvgpu::DeviceAsyncCreateGroupOp::create(b, tokenType, tokens)
        .getAsyncToken();
  };
  auto issueIf = [&](Value n) -> Value {
    // Tile n of this warp, if it has one; an empty group otherwise, so
    // that every iteration commits one group (no groups at all when
    // every operand is staged by the warp).
    auto ifOp = scf::IfOp::create(b, async ? TypeRange{tokenType} : TypeRange{},
                                  ult(n, nTiles),
                                  /*withElseRegion=*/async);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    Value token = issue(add(firstTile, n), remU(n, cIdx(stages)));
    if (!async)
      return Value();
    scf::YieldOp::create(b, token);
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(
        b, nvgpu::DeviceAsyncCreateGroupOp::create(b, tokenType, ValueRange{})
               .getAsyncToken());
    return ifOp.getResult(0);
  };
  for (int64_t i = 0; i + 1 < stages; ++i)
    issueIf(cIdx(i));

  // Scales and zero points of a tile, loaded one tile ahead.
  auto sideLoads = [&](Value tileIndex) {
    Value kb = mul(tileIndex, cIdx(kTileKeys));
    SmallVector<Value> values;
    auto keyAt = [&](Value offset) { return minU(add(kb, offset), skvLast); };
    if (key.scaleMode == ScaleMode::AfterMma ||
        key.scaleMode == ScaleMode::InDecode) {
      Value channel = key.scaleMode == ScaleMode::InDecode ? kBase : c0;
      for (Value side : {key.src.scale, key.src.zeroPoint}) {
        if (!side)
          continue;
        for (int64_t i = 0; i < 2; ++i) {
          Value v = loadSide(key, side, keyAt(add(g, cIdx(8 * i))), channel);
          values.push_back(key.scaleMode == ScaleMode::AfterMma
                               ? emitExtendToF32(b, loc, v)
                               : splatHalf2(v));
        }
      }
    }
    if (value.scaleMode == ScaleMode::InDecode) {
      Value channel = mul(g, cIdx(value.laneChannels()));
      Value t2 = mul(t, cIdx(2));
      for (Value side : {value.src.scale, value.src.zeroPoint}) {
        if (!side)
          continue;
        for (int64_t i = 0; i < 2; ++i) {
          Value k0 = keyAt(add(t2, cIdx(8 * i)));
          Value k1 = keyAt(add(t2, cIdx(8 * i + 1)));
          values.push_back(pairHalf2(loadSide(value, side, k0, channel),
                                     loadSide(value, side, k1, channel)));
        }
      }
    }
    return values;
  };
  SmallVector<Value> firstSides;
  auto sideIf = [&](Value cond, Value tileIndex,
                    ArrayRef<Value> otherwise) -> SmallVector<Value> {
    if (otherwise.empty())
      return {};
    SmallVector<Type> types;
    for (Value v : otherwise)
      types.push_back(v.getType());
    auto ifOp = scf::IfOp::create(b, types, cond, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    scf::YieldOp::create(b, sideLoads(tileIndex));
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, otherwise);
    return SmallVector<Value>(ifOp.getResults());
  };
  // Placeholders of the right types for the else branches.
  SmallVector<Value> sidePlaceholders;
  {
    Value f32Zero = cF32(0.0);
    Value halfOne = gk::constHalf2(b, loc, 1.0, 1.0);
    int64_t kCount = (key.scaleMode == ScaleMode::AfterMma ||
                      key.scaleMode == ScaleMode::InDecode)
                         ? 2 * (key.hasZeroPoint ? 2 : 1)
                         : 0;
    for (int64_t i = 0; i < kCount; ++i)
      sidePlaceholders.push_back(
          key.scaleMode == ScaleMode::AfterMma ? f32Zero : halfOne);
    int64_t vCount = value.scaleMode == ScaleMode::InDecode
                         ? 2 * (value.hasZeroPoint ? 2 : 1)
                         : 0;
    for (int64_t i = 0; i < vCount; ++i)
      sidePlaceholders.push_back(halfOne);
  }
  firstSides = sideIf(ult(c0, nTiles), firstTile, sidePlaceholders);

  // Loop state: row maxima and (lane-partial) sums of rows 2t, 2t + 1,
  // the O^T accumulators, the tile's side values, and for K scales
  // folded into Q the scale block they were folded for, the scaled Q
  // fragments and the initial scores.
  SmallVector<Value> init = {negInf(), negInf(), cF32(0.0), cF32(0.0)};
  for (int64_t mt = 0; mt < mTiles; ++mt)
    init.push_back(zeroAcc);
  int64_t sideStart = init.size();
  llvm::append_range(init, firstSides);
  int64_t foldStart = init.size();
  if (fold) {
    init.push_back(cIdx(std::numeric_limits<int32_t>::max()));
    llvm::append_range(init, qFrags);
    init.push_back(cF32(0.0));
    init.push_back(cF32(0.0));
  }
  auto loop = scf::ForOp::create(b, c0, nTiles, c1, init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value n = loop.getInductionVar();
    ValueRange args = loop.getRegionIterArgs();
    Value tileIndex = add(firstTile, n);
    Value kb = mul(tileIndex, cIdx(kTileKeys));
    Value row0 = add(ringRow0, mul(remU(n, cIdx(stages)), cIdx(kTileKeys)));
    // Keep stages - 1 tiles in flight, then wait for this one.
    Value pending = issueIf(add(n, cIdx(stages - 1)));
    if (async)
      nvgpu::DeviceAsyncWaitOp::create(b, pending,
                                       b.getI32IntegerAttr(stages - 1));
    gk::syncWarp(b, loc);
    ValueRange sides = args.slice(sideStart, firstSides.size());
    SmallVector<Value> nextSides = sideIf(
        ult(add(n, c1), nTiles), add(tileIndex, c1), llvm::to_vector(sides));
    size_t sideIdx = 0;
    auto takeSide = [&]() { return sides[sideIdx++]; };
    Value kScale[2], kZero[2], vScale[2], vZero[2];
    if (key.scaleMode == ScaleMode::AfterMma ||
        key.scaleMode == ScaleMode::InDecode) {
      kScale[0] = takeSide();
      kScale[1] = takeSide();
      if (key.hasZeroPoint) {
        kZero[0] = takeSide();
        kZero[1] = takeSide();
      }
    }
    if (value.scaleMode == ScaleMode::InDecode) {
      vScale[0] = takeSide();
      vScale[1] = takeSide();
      if (value.hasZeroPoint) {
        vZero[0] = takeSide();
        vZero[1] = takeSide();
      }
    }

    // K scales folded into Q: recompute when the tile enters another
    // scale block.
    SmallVector<Value> qB = rerun ? loadQFrags() : qFrags;
    Value sInit = zeroAcc;
    SmallVector<Value> foldResults;
    if (fold) {
      Value blockIdx =
          key.src.whole[2] ? c0 : divU(kb, cIdx(key.src.extent[2]));
      Value current = args[foldStart];
      Value changed =
          arith::CmpIOp::create(b, arith::CmpIPredicate::ne, blockIdx, current);
      SmallVector<Type> types = {b.getIndexType()};
      for (int64_t s = 0; s < kSteps; ++s)
        types.push_back(bType);
      types.push_back(b.getF32Type());
      types.push_back(b.getF32Type());
      auto ifOp = scf::IfOp::create(b, types, changed, /*withElse=*/true);
      {
        OpBuilder::InsertionGuard g2(b);
        b.setInsertionPointToStart(ifOp.thenBlock());
        // Scales (and zero points) of the lane's K channels, paired as
        // the K A fragment pairs them: 16-byte loads of the lane's
        // contiguous channels when the side data is per channel.
        bool vectorSides =
            !key.src.whole[3] && key.src.extent[3] == 1 && kLane % 8 == 0;
        auto loadChannels = [&](Value side) {
          SmallVector<Value> values;
          if (!vectorSides) {
            for (int64_t c = 0; c < kLane; ++c)
              values.push_back(
                  toHalf(loadSide(key, side, kb, add(kBase, cIdx(c)))));
            return values;
          }
          Type element = cast<MemRefType>(side.getType()).getElementType();
          auto vecType = VectorType::get({8}, element);
          int64_t bytes = 8 * element.getIntOrFloatBitWidth() / 8;
          for (int64_t c = 0; c < kLane; c += 8) {
            SmallVector<Value> idx = getSideIndices(
                b, loc, key.src, {bi, hk, kb, add(kBase, cIdx(c))});
            Value vec = vector::LoadOp::create(
                b, vecType, side, idx, /*nontemporal=*/false,
                llvm::MaybeAlign(std::min<int64_t>(16, bytes)));
            for (int64_t i = 0; i < 8; ++i)
              values.push_back(toHalf(vector::ExtractOp::create(b, vec, i)));
          }
          return values;
        };
        SmallVector<Value> scales = loadChannels(key.src.scale);
        SmallVector<Value> zeros;
        if (key.hasZeroPoint)
          zeros = loadChannels(key.src.zeroPoint);
        auto sidePair = [&](ArrayRef<Value> values, int64_t a, int64_t c) {
          return pairHalf2(values[a], values[c]);
        };
        SmallVector<Value> results = {blockIdx};
        Value bias = zeroAcc;
        for (int64_t s = 0; s < kSteps; ++s) {
          // The unscaled Q fragment, from the warp's stash.
          Value stashed = vector::LoadOp::create(
              b, VectorType::get({2}, b.getI32Type()), qStash,
              ValueRange{stashRow, cIdx(2 * s)}, /*nontemporal=*/false,
              llvm::MaybeAlign(8));
          Value frag = makeB(
              gk::asHalf2(b, loc, vector::ExtractOp::create(b, stashed, 0)),
              gk::asHalf2(b, loc, vector::ExtractOp::create(b, stashed, 1)));
          Value s0 =
              sidePair(scales, kPairs[2 * s].first, kPairs[2 * s].second);
          Value s1 = sidePair(scales, kPairs[2 * s + 1].first,
                              kPairs[2 * s + 1].second);
          Value scaled =
              makeB(arith::MulFOp::create(
                        b, vector::ExtractOp::create(b, frag, 0), s0),
                    arith::MulFOp::create(
                        b, vector::ExtractOp::create(b, frag, 1), s1));
          results.push_back(scaled);
          if (key.hasZeroPoint) {
            // Keys that are all zero points: their scores are the bias.
            Value z0 =
                sidePair(zeros, kPairs[2 * s].first, kPairs[2 * s].second);
            Value z1 = sidePair(zeros, kPairs[2 * s + 1].first,
                                kPairs[2 * s + 1].second);
            bias = mma(makeA(z0, z0, z1, z1), frag, bias);
          }
        }
        for (int64_t e = 0; e < 2; ++e)
          results.push_back(
              vector::ExtractOp::create(b, bias, ArrayRef<int64_t>{0, e}));
        scf::YieldOp::create(b, results);
        b.setInsertionPointToStart(ifOp.elseBlock());
        scf::YieldOp::create(b, args.slice(foldStart, kSteps + 3));
      }
      foldResults = SmallVector<Value>(ifOp.getResults());
      for (int64_t s = 0; s < kSteps; ++s)
        qB[s] = foldResults[1 + s];
      Value b0 = foldResults[1 + kSteps], b1 = foldResults[2 + kSteps];
      sInit =
          vector::FromElementsOp::create(b, cType, ValueRange{b0, b1, b0, b1});
    }

    // S^T = K Q^T: rows g and g + 8 of the tile.
    Value rowK[2] = {add(row0, g), add(row0, add(g, cIdx(8)))};
    int64_t kLaneWords = key.laneWords();
    int64_t kUnitWords = getUnitWords(key.kind);
    int64_t kUnitChannels = getUnitChannels(key.kind);
    int64_t kAlign = 4 * std::min<int64_t>(4, kLaneWords & -kLaneWords);
    Value kWord0 = mul(t, cIdx(kLaneWords));
    SmallVector<Half2> kPairsOf[2];
    Value acc = sInit;
    int64_t step = 0;
    for (int64_t w = 0; w < kLaneWords; w += 4) {
      int64_t count = std::min<int64_t>(4, kLaneWords - w);
      for (int64_t r = 0; r < 2; ++r) {
        Value vec = loadWords(key, rowK[r], add(kWord0, cIdx(w)), count,
                              std::min<int64_t>(kAlign, 16));
        for (int64_t u = 0; u < count; u += kUnitWords) {
          SmallVector<Value> unitWords;
          for (int64_t i = 0; i < kUnitWords; ++i)
            unitWords.push_back(vector::ExtractOp::create(b, vec, u + i));
          int64_t unitBase = (w + u) / kUnitWords * kUnitChannels;
          for (Half2 h : decodeKeyUnit(key, unitWords, unitBase)) {
            if (key.scaleMode == ScaleMode::InDecode)
              h.value =
                  key.hasZeroPoint
                      ? Value(LLVM::FMAOp::create(b, h.value, kScale[r],
                                                  kZero[r]))
                      : Value(arith::MulFOp::create(b, h.value, kScale[r]));
            kPairsOf[r].push_back(h);
          }
        }
      }
      while (static_cast<int64_t>(kPairsOf[0].size()) >= 2 * (step + 1) &&
             step < kSteps) {
        Value a = makeA(
            kPairsOf[0][2 * step].value, kPairsOf[1][2 * step].value,
            kPairsOf[0][2 * step + 1].value, kPairsOf[1][2 * step + 1].value);
        acc = mma(a, qB[step], acc);
        ++step;
      }
    }
    assert(step == kSteps && "K pairs do not fill the k steps");

    // Scores of keys g, g + 8 (i) for rows 2t, 2t + 1 (e), in base 2.
    Value t2 = mul(t, cIdx(2));
    Value causalOffset = arith::SubIOp::create(b, skv, cIdx(sq));
    Value scores[2][2];
    for (int64_t i = 0; i < 2; ++i) {
      Value j = add(kb, add(g, cIdx(8 * i)));
      Value inRange = ult(j, skv);
      for (int64_t e = 0; e < 2; ++e) {
        Value v = vector::ExtractOp::create(b, acc, ArrayRef<int64_t>{i, e});
        if (checkScores)
          v = gk::nanIfNotFinite(b, b.getLoc(), v);
        if (key.scaleMode == ScaleMode::AfterMma) {
          v = arith::MulFOp::create(b, v, kScale[i]);
          if (key.hasZeroPoint)
            v = LLVM::FMAOp::create(b, kZero[i], qSum[e], v);
        }
        Value r = minU(add(t2, cIdx(e)), cIdx(rows - 1));
        Value pos = divU(r, cIdx(group));
        Value ok = inRange;
        if (op.getCausal())
          ok = arith::AndIOp::create(
              b, ok,
              arith::CmpIOp::create(b, arith::CmpIPredicate::sle, j,
                                    add(pos, causalOffset)));
        if (mask) {
          auto pick = [&](int64_t dim, Value index) {
            return select(arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                                dimOf(mask, dim), c1),
                          c0, index);
          };
          Value head = add(mul(hk, cIdx(group)), remU(r, cIdx(group)));
          Value m =
              emitExtendToF32(b, loc,
                              memref::LoadOp::create(
                                  b, mask,
                                  ValueRange{pick(0, bi), pick(1, head),
                                             pick(2, pos), minU(j, skvLast)}));
          v = arith::AddFOp::create(b, v,
                                    arith::MulFOp::create(b, m, cF32(kLog2e)));
        }
        scores[i][e] = select(ok, v, negInf());
      }
    }

    // Online softmax per row; sums stay lane-partial (each lane's keys)
    // until the end, maxima are reduced over the 8 lanes of a row.
    SmallVector<Value> results;
    Value corr[2], p[2][2];
    Value newMax[2], rowSum[2];
    for (int64_t e = 0; e < 2; ++e) {
      Value blockMax = arith::MaximumFOp::create(b, scores[0][e], scores[1][e]);
      for (int32_t offset : {4, 8, 16})
        blockMax = arith::MaximumFOp::create(
            b, blockMax, gk::shuffleXor(b, loc, blockMax, offset));
      newMax[e] = arith::MaximumFOp::create(b, args[e], blockMax);
      // While every key so far is masked, exponentiate against 0 so that
      // exp2(-inf - x) stays 0 instead of NaN.
      Value ref = select(arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ,
                                               newMax[e], negInf()),
                         cF32(0.0), newMax[e]);
      corr[e] = gk::exp2Approx(b, loc, arith::SubFOp::create(b, args[e], ref));
      rowSum[e] = arith::MulFOp::create(b, args[2 + e], corr[e]);
      for (int64_t i = 0; i < 2; ++i) {
        p[i][e] =
            gk::exp2Approx(b, loc, arith::SubFOp::create(b, scores[i][e], ref));
        rowSum[e] = arith::AddFOp::create(b, rowSum[e], p[i][e]);
      }
    }
    results.append({newMax[0], newMax[1], rowSum[0], rowSum[1]});

    // P^T as the B operand: the C fragment's (key, rows 2t, 2t + 1)
    // pairs transposed to (keys 2t, 2t + 1, row g).
    Value pB[2];
    for (int64_t i = 0; i < 2; ++i)
      pB[i] = asPair(gk::transpose8x8(
          b, loc, gk::asWord(b, loc, pairHalf2(p[i][0], p[i][1]))));
    Value pFrag = makeB(pB[0], pB[1]);

    // O^T = O^T * corr + V^T P^T. Once the row maxima settle every
    // correction is exactly 1: the warp skips the rescale when no lane
    // needs it (a uniform branch on vote.any).
    Value corrVec = vector::FromElementsOp::create(
        b, cType, ValueRange{corr[0], corr[1], corr[0], corr[1]});
    SmallVector<Value> oAcc;
    {
      Value one = cF32(1.0);
      Value needs = arith::OrIOp::create(
          b, arith::CmpFOp::create(b, arith::CmpFPredicate::UNE, corr[0], one),
          arith::CmpFOp::create(b, arith::CmpFPredicate::UNE, corr[1], one));
      Value any = NVVM::VoteSyncOp::create(b, b.getI1Type(), cI32(-1), needs,
                                           NVVM::VoteSyncKind::any);
      SmallVector<Type> types(mTiles, cType);
      auto ifOp = scf::IfOp::create(b, types, any, /*withElse=*/true);
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      SmallVector<Value> scaled;
      for (int64_t mt = 0; mt < mTiles; ++mt)
        scaled.push_back(arith::MulFOp::create(b, args[4 + mt], corrVec));
      scf::YieldOp::create(b, scaled);
      b.setInsertionPointToStart(ifOp.elseBlock());
      scf::YieldOp::create(b, args.slice(4, mTiles));
      oAcc = SmallVector<Value>(ifOp.getResults());
    }
    // Rows 2t, 2t + 1 (pair 0) and 2t + 8, 2t + 9 (pair 1) of the tile.
    Value rowV[2][2] = {
        {add(row0, t2), add(row0, add(t2, c1))},
        {add(row0, add(t2, cIdx(8))), add(row0, add(t2, cIdx(9)))}};
    int64_t vLaneWords = value.laneWords();
    int64_t vUnitChannels = getValueUnitChannels(value.kind);
    int64_t vAlign = 4 * std::min<int64_t>(4, vLaneWords & -vLaneWords);
    Value vWord0 = mul(g, cIdx(vLaneWords));
    SmallVector<Half2> vPairs[2];
    int64_t mt = 0;
    for (int64_t w = 0; w < vLaneWords; w += 4) {
      int64_t count = std::min<int64_t>(4, vLaneWords - w);
      Value vec[2][2];
      for (int64_t pr = 0; pr < 2; ++pr)
        for (int64_t k = 0; k < 2; ++k)
          vec[pr][k] = loadWords(value, rowV[pr][k], add(vWord0, cIdx(w)),
                                 count, std::min<int64_t>(vAlign, 16));
      for (int64_t u = 0; u < count; ++u) {
        for (int64_t pr = 0; pr < 2; ++pr) {
          Value wa = vector::ExtractOp::create(b, vec[pr][0], u);
          Value wb = vector::ExtractOp::create(b, vec[pr][1], u);
          for (Half2 h :
               decodeValueUnit(value, wa, wb, (w + u) * vUnitChannels)) {
            if (value.scaleMode == ScaleMode::InDecode)
              h.value =
                  value.hasZeroPoint
                      ? Value(LLVM::FMAOp::create(b, h.value, vScale[pr],
                                                  vZero[pr]))
                      : Value(arith::MulFOp::create(b, h.value, vScale[pr]));
            vPairs[pr].push_back(h);
          }
        }
        while (static_cast<int64_t>(vPairs[0].size()) >= 2 * (mt + 1) &&
               mt < mTiles) {
          Value a = makeA(vPairs[0][2 * mt].value, vPairs[0][2 * mt + 1].value,
                          vPairs[1][2 * mt].value, vPairs[1][2 * mt + 1].value);
          oAcc[mt] = mma(a, pFrag, oAcc[mt]);
          ++mt;
        }
      }
    }
    assert(mt == mTiles && "V pairs do not fill the m tiles");
    llvm::append_range(results, oAcc);
    llvm::append_range(results, nextSides);
    if (fold)
      llvm::append_range(results, foldResults);
    // Every lane is done with this stage before it is refilled.
    gk::syncWarp(b, loc);
    scf::YieldOp::create(b, results);
  }
  return SmallVector<Value>(loop.getResults().take_front(4 + mTiles));
}

/// out = sum_s 2^(lse_s - max) O_s / sum_s 2^(lse_s - max) per row; rows
/// whose splits all saw no key output 0. Grid (rows, batch x KV heads),
/// 128 threads over the channels.
LogicalResult DecodeKernelEmitter::emitCombine(Value partial, Value partialLse,
                                               Value splits, Value batchHeads,
                                               Value out, Value &token) {
  Location loc = b.getLoc();
  int64_t dv = value.dim;
  int64_t threads = 128;
  Value c0 = cIdx(0), c1 = cIdx(1);
  auto asyncType = gpu::AsyncTokenType::get(b.getContext());
  auto launch =
      gpu::LaunchOp::create(b, cIdx(rows), batchHeads, c1, cIdx(threads), c1,
                            c1, Value(), asyncType, ValueRange{token});
  token = launch.getAsyncToken();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());
  Value r = launch.getBlockIds().x;
  Value bhk = launch.getBlockIds().y;
  Value bIdx = divU(bhk, cIdx(hkv));
  Value hIdx = remU(bhk, cIdx(hkv));
  Value head = add(mul(hIdx, cIdx(group)), remU(r, cIdx(group)));
  Value pos = divU(r, cIdx(group));
  auto lseAt = [&](Value s) {
    return add(mul(add(mul(s, batchHeads), bhk), cIdx(rows)), r);
  };
  Value ref =
      gk::emitSplitLseReference(b, b.getLoc(), partialLse, splits, lseAt);
  auto chLoop =
      scf::ForOp::create(b, launch.getThreadIds().x, cIdx(dv), cIdx(threads));
  {
    OpBuilder::InsertionGuard g2(b);
    b.setInsertionPointToStart(chLoop.getBody());
    Value ch = chLoop.getInductionVar();
    auto sLoop =
        scf::ForOp::create(b, c0, splits, c1, ValueRange{cF32(0.0), cF32(0.0)});
    {
      OpBuilder::InsertionGuard g3(b);
      b.setInsertionPointToStart(sLoop.getBody());
      Value idx = lseAt(sLoop.getInductionVar());
      Value w = gk::exp2Approx(
          b, loc,
          arith::SubFOp::create(
              b, memref::LoadOp::create(b, partialLse, ValueRange{idx}), ref));
      Value o = memref::LoadOp::create(b, partial,
                                       ValueRange{add(mul(idx, cIdx(dv)), ch)});
      scf::YieldOp::create(
          b, ValueRange{
                 LLVM::FMAOp::create(b, w, o, sLoop.getRegionIterArgs()[0]),
                 arith::AddFOp::create(b, sLoop.getRegionIterArgs()[1], w)});
    }
    Value den = sLoop.getResult(1);
    // No split saw a key: 0; a NaN split (NaN lse) makes the row NaN.
    Value o = select(
        arith::CmpFOp::create(b, arith::CmpFPredicate::UNE, den, cF32(0.0)),
        arith::DivFOp::create(b, sLoop.getResult(0), den), cF32(0.0));
    Type outElementType = cast<MemRefType>(out.getType()).getElementType();
    if (outElementType != b.getF32Type())
      o = arith::TruncFOp::create(b, outElementType, o);
    memref::StoreOp::create(b, o, out, ValueRange{bIdx, head, pos, ch});
  }
  gpu::TerminatorOp::create(b);
  return success();
}

LogicalResult mlir::kvq::lowerAttentionWithDecodeKernel(
    RewriterBase &rewriter, AttentionOp op,
    const GPUAttentionSchedule &schedule, const NVIDIATargetInfo &target) {
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  ImplicitLocOpBuilder b(op.getLoc(), rewriter);
  DecodeKernelEmitter emitter(b, op, schedule, target);
  if (failed(emitter.emit()))
    return failure();
  rewriter.replaceOp(op, emitter.getReplacement());
  return success();
}
