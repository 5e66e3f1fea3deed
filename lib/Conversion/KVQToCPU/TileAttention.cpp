//===- TileAttention.cpp - Flash-style tiled attention for CPUs -*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// Lowers kvq.attention to an scf + vector loop nest over buffers with an
// online softmax over blocks of keys. Quantized K / V are decoded in
// registers right after their codes are loaded; see Passes.td for the
// schedule.
//
//===----------------------------------------------------------------------===//

#include "kvq/Conversion/AttentionLowering.h"
#include "kvq/Conversion/Passes.h"
#include "kvq/Dialect/KVQ/IR/KVQInterfaces.h"
#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Dialect/KVQ/Transforms/AttentionSchedule.h"
#include "kvq/Dialect/KVQ/Utils/AttentionOperands.h"
#include "kvq/Dialect/KVQ/Utils/QuantCodegen.h"
#include "kvq/Dialect/KVQ/Utils/SubByte.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace mlir {
namespace kvq {
#define GEN_PASS_DEF_KVQTILEATTENTION
#include "kvq/Conversion/Passes.h.inc"
} // namespace kvq
} // namespace mlir

using namespace mlir;
using namespace mlir::kvq;

namespace {

/// Runs `body(iv)` inside a new scf.for; the builder is restored after.
template <typename Fn>
static void buildFor(ImplicitLocOpBuilder &b, Value lb, Value ub, Value step,
                     Fn body) {
  auto loop = scf::ForOp::create(b, lb, ub, step);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  body(loop.getInductionVar());
}

/// `n` rounded down to a multiple of `step`.
static Value roundDown(ImplicitLocOpBuilder &b, Value n, int64_t step) {
  Value s = arith::ConstantIndexOp::create(b, step);
  return arith::MulIOp::create(b, arith::DivUIOp::create(b, n, s), s);
}

/// Runs `body(iv, partial)` over [0, n) in steps of `step`: with `split`,
/// the whole steps with `partial` false and then the last, partial step
/// (if any) with it true; otherwise every step with it true.
template <typename Fn>
static void buildWholeThenPartialFor(ImplicitLocOpBuilder &b, Value n,
                                     int64_t step, bool split, Fn body) {
  Value c0 = arith::ConstantIndexOp::create(b, 0);
  Value stepValue = arith::ConstantIndexOp::create(b, step);
  Value whole = split ? roundDown(b, n, step) : c0;
  if (split)
    buildFor(b, c0, whole, stepValue, [&](Value iv) { body(iv, false); });
  buildFor(b, whole, n, stepValue, [&](Value iv) { body(iv, true); });
}

/// Runs `body()` under `scf.if cond`.
template <typename Fn>
static void buildIf(ImplicitLocOpBuilder &b, Value cond, Fn body) {
  auto ifOp = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  body();
}

/// A K / V operand: codes or floats read from buffers, or the result of a
/// KVDecoderOpInterface op decoded chunk by chunk.
struct KVSource : KVOperand {
  mutable KVDecoderOpInterface decoder;
  /// Sub-byte codes read in the split layout: vector `c` holds field
  /// `c % p` (p = 8 / bits codes per byte) of the `vw` bytes of block
  /// `c / p`, so that one shift and mask decodes a whole vector; lane `i`
  /// of it is channel `((c / p) * vw + i) * p + c % p`. The query rows are
  /// stored in the key's layout and the accumulators in the value's, and
  /// put back in channel order when the output is written.
  bool split = false;
  /// Codes per byte of the split layout where that is not 8 / packedBits:
  /// 5 for VidKV's values (base-3 digits) read by int8 P V.
  int64_t fields = 0;
  /// GEAR outliers that the per-key kernel applies as sparse terms (see
  /// findSparseOutliers): the kvq.gear_decode op and the offset of its
  /// channels in this operand (non-zero when it is a later input of a
  /// channel concatenation).
  mutable GearDecodeOp outlierDecoder;
  int64_t outlierOffset = 0;
  /// Outliers per token (0 without outlierDecoder).
  int64_t outlierCount() const {
    return outlierDecoder ? outlierDecoder.getIndices().getType().getDimSize(3)
                          : 0;
  }
};

/// Scratch of the per-key kernel's scores over keys whose scales are folded
/// into the query per token group: each row's scaled query (int8 scores,
/// channelScaledKeys: in natural channel order, quantized per group; f32
/// scores, foldKeyScale: times the group's scales, in the key's layout)
/// and, with a zero point, each row's score offset.
struct KeyScaleFold {
  Value query, offset;
};

class AttentionEmitter;

/// The CPU lowering's KVChunkReader: buffers of the decoders' operands,
/// created before the loop nest, and chunk reads in the emitter's vector
/// width.
class CPUChunkReader : public PreparedKVChunkReader {
public:
  CPUChunkReader(AttentionOp op, AttentionEmitter &emitter)
      : PreparedKVChunkReader(op, "kvq-tile-attention"), emitter(emitter) {}

  Value readChunk(OpBuilder &b, Location loc, Value tensor, ValueRange coords,
                  int64_t start, int64_t width) override;
  Value readQuantizedChunk(OpBuilder &b, Location loc, Value codes, Value scale,
                           Value zeroPoint, Attribute scheme, ValueRange coords,
                           int64_t start, int64_t width) override;
  Value loadChunk(OpBuilder &b, Location loc, Value buffer, ValueRange prefix,
                  int64_t start, int64_t width) override;
  bool appliesSparseTerms(Operation *op) const override {
    return sparse.contains(op);
  }
  bool hasTableLookup() const override;

  /// The decoders whose sparse terms the kernel being emitted applies.
  llvm::SmallPtrSet<Operation *, 2> sparse;
  /// The codes of quantized operands whose chunks are read bare (without
  /// scale and zero point) because the kernel folds their scales into the
  /// query or the probabilities (see AttentionEmitter::keyScaleSource and
  /// valueScaleSource).
  SmallVector<Value, 2> foldedCodes;
  /// The quantized operand prepared for (codes, scale).
  const KVOperand &quantizedOperand(Value codes, Value scale) const {
    return getQuantized(codes, scale);
  }

private:
  AttentionEmitter &emitter;
};

/// Emits the flash-attention loop nest for one kvq.attention.
class AttentionEmitter {
  friend class CPUChunkReader;

public:
  AttentionEmitter(ImplicitLocOpBuilder &b, AttentionOp op,
                   const AttentionSchedule &opts,
                   const CPUKernelFeatures &features)
      : b(b), op(op), opts(opts), features(features), vw(opts.vectorWidth),
        f32(b.getF32Type()), vecF32(VectorType::get({vw}, f32)),
        reader(op, *this) {
    tileKeys = std::max<int64_t>(1, accumulatorBudget(vw) / 2);
    tileVecs = std::max<int64_t>(1, accumulatorBudget(vw) / kTileRows);
  }

  /// Emits the kernel before the op; getReplacement() is then its result.
  LogicalResult emit();
  Value getReplacement() const { return replacement; }

private:
  Value replacement;
  Value cIdx(int64_t v) { return arith::ConstantIndexOp::create(b, v); }
  Value cF32(double v) {
    return arith::ConstantOp::create(b, b.getF32FloatAttr(v));
  }
  Value splat(Value scalar) {
    return vector::BroadcastOp::create(b, vecF32, scalar);
  }
  /// `v` if it is a vector (of vw lanes), else splat(v): a scale read by
  /// loadScaleLanes, one value when the lanes share it.
  Value spread(Value v) { return isa<VectorType>(v.getType()) ? v : splat(v); }
  Value negInf() { return cF32(-std::numeric_limits<double>::infinity()); }
  /// a > b ? a : b: one maxps. Unlike arith.maximumf (a compare, an
  /// unordered compare and a blend on x86 once expanded) it may drop a NaN
  /// operand, so it only serves where a NaN makes the result NaN anyway.
  Value selectMax(Value a, Value c) {
    return arith::SelectOp::create(
        b, arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, a, c), a, c);
  }
  Value dimOf(Value memref, int64_t i) {
    return memref::DimOp::create(b, memref, i);
  }

  Value toBuffer(Value tensor) {
    return createReadOnlyBuffer(b, b.getLoc(), tensor);
  }
  FailureOr<KVSource> prepareKV(StringRef what, Value data,
                                QuantSchemeAttr scheme, Value scale,
                                Value zeroPoint) {
    KVSource src;
    if (!scheme) {
      if (KVDecoderOpInterface decoder = getAttentionDecoder(data)) {
        if (failed(reader.prepare(b, decoder)))
          return failure();
        src.decoder = decoder;
        src.dim = cast<RankedTensorType>(data.getType()).getShape()[3];
        return src;
      }
    }
    FailureOr<KVOperand> operand = prepareKVOperand(
        b, op, "kvq-tile-attention", what, data, scheme, scale, zeroPoint);
    if (failed(operand))
      return failure();
    static_cast<KVOperand &>(src) = *operand;
    return src;
  }
  /// Dimension `i` (< 3) of K / V.
  Value kvSize(const KVSource &src, int64_t i) {
    if (src.decoder)
      return src.decoder.emitDecodedSize(b, b.getLoc(), reader, i);
    return dimOf(src.data, i);
  }
  Value readF32Chunk(Value memref, ValueRange prefix, int64_t start,
                     int64_t dim, int64_t width = 0);
  /// Prefetches the codes of row (b0, h, j) of `src` (every 64-byte line;
  /// nothing for a decoder's operands).
  void emitPrefetchRow(const KVSource &src, Value b0, Value h, Value j);
  /// Prefetches every 64-byte line of the innermost row of `memref` at
  /// the outer indices `prefix` (nothing when that row is dynamic).
  void emitPrefetchLines(Value memref, ValueRange prefix);
  /// With `withScale` false, quantized codes are returned as f32 codes
  /// without their scale and zero point (see foldValueScale).
  Value loadKVChunk(const KVSource &src, Value b0, Value h, Value j,
                    int64_t chunk, bool withScale = true);
  /// Chunks [first, end) of row (b0, h, j), as loadKVChunk would return
  /// them. Symmetric f8E4M3FN codes (fp8HalfUnits) take one NaN test over
  /// the chunks' bytes, then the cheap decoding in 2^-8 units
  /// (emitDecodeF8E4M3FNHalfUnits) with the 2^8 folded into the scale, or,
  /// for a row holding a NaN code, loadKVChunk's. With `halfUnits` (and
  /// `withScale` false) they stay in 2^-8 units, for a caller that folds
  /// the 2^8 into the scales it applies.
  SmallVector<Value> loadKVChunks(const KVSource &src, Value b0, Value h,
                                  Value j, int64_t first, int64_t end,
                                  bool withScale, bool halfUnits = false);
  /// Whether loadKVChunks decodes `src` in 2^-8 units behind a NaN test.
  bool fp8HalfUnits(const KVSource &src) const {
    return !src.decoder && src.scheme && !src.split && !src.packedBits &&
           !src.zeroPoint && isa<Float8E4M3FNType>(src.scheme.getStorageType());
  }
  /// Whether P V reads the values in 2^-8 units (loadKVChunks), their
  /// weights (emitValueWeights) scaled by 2^8.
  bool valueWeightsInHalfUnits() const {
    return foldValueScale && !value->decoder && fp8HalfUnits(*value);
  }
  Value loadScaleChunk(const KVSource &src, Value side, Value b0, Value h,
                       Value j, int64_t chunk);
  /// The scale (or zero point) values of row (b0, h, j) for lanes whose
  /// channels are `channels` (past the head dim: any group's); a scalar
  /// when they are all equal.
  Value loadScaleLanes(const KVSource &src, Value side, Value b0, Value h,
                       Value j, ArrayRef<int64_t> channels);
  /// The batch and head indices into `src`'s scale / zero-point buffers of
  /// batch `b0`, KV head `h`.
  SmallVector<Value> sideRowIndices(const KVSource &src, Value b0, Value h);
  Value unpackSubByte(Value bytes, unsigned bits, bool isSigned);
  /// Codes per vector lane group of `src`'s layout (1 unless split).
  int64_t fieldsOf(const KVSource &src) const {
    if (!src.split)
      return 1;
    return src.fields ? src.fields : 8 / src.packedBits;
  }
  /// Vectors that hold a row of `src` in its layout.
  int64_t numVectors(const KVSource &src) const {
    if (!src.split)
      return llvm::divideCeil(src.dim, vw);
    int64_t bytes = src.fields ? llvm::divideCeil(src.dim, src.fields)
                               : src.dim * src.packedBits / 8;
    return llvm::divideCeil(bytes, vw) * fieldsOf(src);
  }
  /// The channel of lane `lane` of vector `c` in `src`'s layout.
  int64_t channelOf(const KVSource &src, int64_t c, int64_t lane) const {
    int64_t p = fieldsOf(src);
    return ((c / p) * vw + lane) * p + c % p;
  }
  /// Vectors `first`..`first + count` of a row in channel order, from the
  /// natural-order chunks `natural` (chunk k holds channels k*vw...), into
  /// `layout`'s order.
  SmallVector<Value> toLayout(const KVSource &layout, ArrayRef<Value> natural);
  /// The inverse: a row in `layout`'s order back to natural-order chunks.
  /// (Both also for a layout of 5 fields: each vector then one shuffle of
  /// all, joinVectors.)
  SmallVector<Value> toNatural(const KVSource &layout, ArrayRef<Value> vectors);
  Value joinVectors(ArrayRef<Value> vectors);
  /// `combine` (default: addition) and `pad` as for reduceRowsToLanes.
  SmallVector<Value>
  reduceRows(ArrayRef<Value> rows,
             function_ref<Value(Value, Value)> combine = nullptr,
             Value pad = nullptr);
  /// reduceRows before the extraction: vectors in which the sum of row `i`
  /// is lane `(i % rowsPerVector) * lanes` of vector `i / rowsPerVector`
  /// (`lanes` is 1 once the rows fill the lanes).
  /// `combine` (default: addition) instead of the sum combines the lanes;
  /// missing rows are `pad` (default: zeros), which must be its identity.
  SmallVector<Value> reduceRowsToLanes(
      ArrayRef<Value> rows, int64_t &rowsPerVector, int64_t &lanes,
      function_ref<Value(Value, Value)> combine = nullptr, Value pad = nullptr);
  /// Combines the lanes of each `width`-lane segment of `v` by halving
  /// swaps within the segment; the first lane of a segment then holds its
  /// combination.
  Value foldSegments(Value v, int64_t width,
                     function_ref<Value(Value, Value)> combine);
  void writeRow(Value out, Value b0, Value head, Value pos, Value total,
                ValueRange chunks, int64_t dv, Type elementType);
  Value roundProbabilities(Value p);

  /// The phases of emit(), on the state below: the register-blocked kernel
  /// of one (batch, KV head, partition) for prefill-like shapes, the
  /// per-key kernel, and the log-sum-exp combination of the partitions of
  /// (batch, KV head).
  void emitRegisterBlocked(Value bi, Value hk, Value s);
  void emitPerKey(Value bi, Value hk, Value s);
  /// emitPerKey with the decoders of findSparseOutliers leaving their
  /// outliers to it (the register-blocked kernel decodes them per chunk).
  void emitPerKeyWithSparseTerms(Value bi, Value hk, Value s) {
    for (const KVSource *src : {&*key, &*value})
      if (src->outlierDecoder)
        reader.sparse.insert(src->outlierDecoder);
    if (foldKeyScale && key->decoder)
      reader.foldedCodes.push_back(keyScaleCodes);
    if (foldValueScale && value->decoder)
      reader.foldedCodes.push_back(valueScaleCodes);
    emitPerKey(bi, hk, s);
    reader.sparse.clear();
    reader.foldedCodes.clear();
  }
  void emitCombine(Value bi, Value hk);
  /// Finds the kvq.gear_decode whose outliers the per-key kernel applies
  /// itself for `src`: its decoder when that is a kvq.gear_decode, or the
  /// single kvq.gear_decode input of a channel concatenation, with a static
  /// non-zero outlier count and no other use (so that every decoded chunk
  /// of it belongs to this operand).
  void findSparseOutliers(KVSource &src);
  /// Outlier `k` of row (b0, h, j) of `src`: its position in the row of
  /// `src` as an index (0 when out of range), and its value (0 when out of
  /// range: an index outside the head dimension adds nothing).
  std::pair<Value, Value> loadOutlier(const KVSource &src, Value b0, Value h,
                                      Value j, int64_t k);
  /// A 64-byte aligned scratch buffer of `shape` (f32 unless `element`).
  Value scratch(ArrayRef<int64_t> shape, Type element = {});

  /// Int8 dot-product scores (schedule int8_dot) for the per-key kernel.
  /// A key row is read as `dotVectors` vectors of kDotBytes code bytes;
  /// each vector gives `dotPlanes` planes (8 / bits fields per byte) of
  /// unsigned codes `u = code + h` (h = 2^(bits-1); see biasedPlanes), so
  /// plane `k`, byte `i` of vector `v` is channel
  /// `(v * kDotBytes + i) * dotPlanes + k`.
  /// vpdpbusd multiplies them with the query quantized to int8 in the same
  /// layout and sums 4 products per i32 lane; the accumulators start at
  /// `-h * (the lane's sum of query codes)`, so each lane holds the exact
  /// integer dot product of its 4 * dotPlanes channels, which lie in one
  /// query group (kQueryGroup channels) and one key scale group. Each lane
  /// is then scaled by its query and key scales in f32.
  bool canUseInt8Dot() const;
  /// The key the int8 dot products read (dotKey): the key itself, or for
  /// GEAR's keys as kvq-fuse leaves them (a channel concatenation whose
  /// first input is a rank-0 kvq.gear_decode of KIVI's keys, passed
  /// through, and whose other inputs are float channels, the low-rank
  /// coordinates) that dequantization (dotKeySource, channels [0, dotDim)):
  /// its scores then add the other inputs' channels (keyTails) and the
  /// outliers in f32, with the lanes over keys. False for other decoded
  /// keys.
  bool findInt8DotKey();
  std::optional<KVSource> dotKeySource;
  const KVSource *dotKey = nullptr;
  int64_t dotDim = 0;
  /// A float input of a decoded key's channel concatenation that the int8
  /// scores add in f32: its buffer (f32 or f16, [B, Hkv, S, width]), first
  /// channel and width.
  struct KeyTail {
    Value buffer;
    int64_t offset, width;
  };
  SmallVector<KeyTail> keyTails;
  /// VidKV's keys as kvq-fuse leaves them (kvq.vidkv_decode_key_slots over
  /// a dequantization of the 2-bit high channels): the spectral slots after
  /// the high ones, one bit each, whose value is `(2 bit - 1) * scale` with
  /// a scale per slot and group of tokens. Their scores are int8 dot
  /// products too, with the lanes over keys: per token group, each row's
  /// `x = 2 * query * scale` of the slots, quantized per 32 slots (`words`
  /// in the bits' plane order, `steps`), and minus `sum x / 2` in the
  /// fold's offset; per 16 keys, each 32 slots' bits as 8 planes of 0 / 1
  /// bytes against those codes.
  struct SignTail {
    Value codes, scale;
    int64_t offset, width, groupSize;
    Value words, steps;
  };
  std::optional<SignTail> signTail;
  /// Fills signTail's table and subtracts the query's sum from
  /// `fold.offset`, for the token group of key `j` (after emitFoldedQuery).
  void emitSignTailQuery(Value bi, Value hk, Value j, Value qt,
                         const KeyScaleFold &fold);
  /// Bits per code of `src`'s integer codes as the int8 dot products read
  /// them (sub-byte codes in the split layout, or int8 storage); 0 for
  /// any other operand.
  static unsigned dotCodeBits(const KVSource &src);
  /// kvq.dot_i8 with the bounds of its bytes: `lhs` below 2^lhsBits,
  /// `rhs` within signed rhsBits bits (left unstated when 8), which let
  /// AVX2 sum the product pairs in i16.
  Value dotI8(Value acc, Value lhs, Value rhs, unsigned lhsBits,
              unsigned rhsBits) {
    auto bitsAttr = [&](unsigned bits) {
      return bits < 8 ? b.getI64IntegerAttr(bits) : IntegerAttr();
    };
    return DotI8Op::create(b, acc, lhs, rhs, bitsAttr(lhsBits),
                           bitsAttr(rhsBits));
  }
  /// A vector of `lanes` i32 lanes (4 * lanes bytes) holding the 4 bytes
  /// of `buffer` at `indices` (one i32) in every lane: vpdpbusd's
  /// broadcast operand.
  Value broadcastWord(Value buffer, ValueRange indices,
                      int64_t lanes = kDotLanes);
  /// The i32 lanes of the int8 dot products whose lanes run over keys or
  /// value bytes: kDotLanes, or one register's worth where registers are
  /// narrower (AVX2: 8), so that the accumulators stay in registers.
  int64_t registerDotLanes() const {
    return std::min<int64_t>(kDotLanes, features.registerBits / 32);
  }
  /// The planes of `bytes` (vector<n x i8>) of `bits`-bit signed codes,
  /// each as unsigned codes `code + 2^(bits-1)`: plane k holds field k of
  /// every byte, `((bytes >> k * bits) ^ 2^(bits-1)) & (2^bits - 1)` (a
  /// shift and one ternary logic op). For int8, `bytes ^ 0x80`.
  /// With `biased` false (unsigned codes: asymmetric keys), the fields as
  /// they are, `(bytes >> k * bits) & (2^bits - 1)`.
  SmallVector<Value> biasedPlanes(Value bytes, unsigned bits,
                                  bool biased = true);
  /// The 4-bit halves of int8 codes `bytes` biased to `u = code + 128`:
  /// `{lo, hi}` with `u = 16 * hi + lo`, both in [0, 16)
  /// (`bytes & 15` and `(bytes >> 4) ^ 8`): features.int8Nibbles.
  /// With `biased` false (unsigned codes), `hi` is `bytes >> 4`.
  SmallVector<Value> nibblePlanes(Value bytes, bool biased = true);
  /// Whether int8 codes take the dot products as two 4-bit halves.
  bool splitsInt8(unsigned bits) const {
    return bits == 8 && features.int8Nibbles;
  }
  /// `lo + 16 * hi` of two i32 accumulators of nibble planes.
  Value joinNibbleSums(Value lo, Value hi);
  /// The bias int8 P V adds to `bits`-bit value codes to multiply them:
  /// 2^(bits-1) for sub-byte codes, 128 for int8 codes in 4-bit halves
  /// (of u = code + 128), none for whole int8 codes (the signed operand).
  int64_t valueCodeBias(unsigned bits) const {
    return bits < 8 ? int64_t(1) << (bits - 1) : splitsInt8(bits) ? 128 : 0;
  }
  /// The int8 scores of registerDotLanes() keys at a time (16 with 512-bit
  /// registers) with the lanes over keys (keys with per-token scales): the
  /// keys' code rows are read as i32 words and transposed, so that word `w`
  /// of the keys is one vector, and vpdpbusd multiplies its planes with the
  /// query's 4 codes of those channels (one i32 broadcast). The words of one
  /// query group and one key scale group (a `dotGroups` entry) sum in i32,
  /// from the group's bias; each group is then scaled by its query scale and
  /// the keys' scales (a vector of keys) in f32. No horizontal sums: the
  /// scores of the keys come out as one vector per row.
  bool keysByLane = false;
  struct DotGroup {
    int64_t firstWord, words, keyGroup;
  };
  SmallVector<DotGroup> dotGroups;
  /// Per row and dotGroups entry: the i32 bias of the accumulator and the
  /// query scale, from emitQueryInt8's lanes.
  void emitDotGroupData(Value corr, Value sqLanes, Value gcorr, Value gsq);
  /// Stores each row's scores of the keys from `jj` (`rowScores[t]`, one
  /// vector), -inf for keys past the block's `n` and, with causal, for
  /// those row t may not see.
  /// `inRange`: every key of the vector is below n (no mask but causal).
  void storeScores(ArrayRef<Value> rowScores, Value jj, Value j0, Value n,
                   ArrayRef<Value> posIdx, Value scores, bool inRange = false);
  /// `qWords`, where given: each of the query's words ([br, words] of qb)
  /// already in every lane of one vector ([br, words, 4 * lanes] bytes),
  /// which an AVX2 dot product takes as its memory operand instead of a
  /// broadcast (AVX2 has no broadcast operands).
  void emitInt8ScoresByLane(Value bi, Value hk, Value j0, Value n, Value qb,
                            Value qWords, Value gcorr, Value gsq, Value scores,
                            ArrayRef<Value> posIdx, const KeyScaleFold *fold,
                            Value qt);
  /// Keys whose scales are shared by a group of tokens and vary along the
  /// channels (KIVI's keys: a scale and zero point per channel and group
  /// of G tokens): with int8 dot products their scales are folded into the
  /// query once per token group, `q * s` quantized to int8 as above, so
  /// that the keys' codes enter the dot products as they are. Unsigned
  /// (asymmetric) codes `u` are taken as `u - h` (h = 2^(bits-1): their
  /// planes unbiased, the accumulators from the same start values as for
  /// signed codes), and their zero points and that shift give each row a
  /// score offset `sum_c q_c (z_c + h s_c)` in f32, once per group: the
  /// query's rounding error then meets codes in [-h, h) rather than
  /// [0, 2h). Taken with the lanes over keys; G must be
  /// a multiple of kDotLanes and each partition starts at a multiple of
  /// kDotLanes keys, so that the keys of a vector share one group.
  bool channelScaledKeys = false;
  /// The same for the f32 scores (without int8 dot products): where a token
  /// group starts, each row's query in the key's layout times the group's
  /// scales (`fold.query`) and `sum_c q_c z_c` (`fold.offset`, added to the
  /// score with its lanes); each key's chunks are then its bare codes, with
  /// no scale or zero point read per chunk.
  bool foldKeyScale = false;
  /// The quantized operand whose scales fold into the query (foldKeyScale
  /// or channelScaledKeys): the key itself,
  /// or, for a decoded key, a dequantization whose chunks the key's lanes
  /// [keyScaleOffset, keyScaleOffset + its dim) are exactly (GEAR's keys
  /// after kvq-fuse: a channel concatenation of a kvq.gear_decode of rank 0,
  /// whose outliers the kernel adds as sparse terms, and the low-rank
  /// coordinates); the reader then reads that operand's codes bare.
  std::optional<KVSource> keyScaleSource;
  int64_t keyScaleOffset = 0;
  /// For a decoded key, the folded dequantization's codes (a tensor).
  Value keyScaleCodes;
  /// Finds keyScaleSource for a decoded key (see above), or leaves it unset.
  void findFoldedKeyOperand();
  /// The input of decoded `src` (itself, or an input of its channel
  /// concatenation) that is a dequantization, directly or through a rank-0
  /// kvq.gear_decode whose outliers the per-key kernel adds as sparse terms,
  /// read by nothing else, whose operand `accept` takes: that operand, its
  /// first channel in `src` and its codes.
  bool findPassThroughOperand(const KVSource &src,
                              function_ref<bool(const KVSource &)> accept,
                              KVSource &found, int64_t &offset, Value &codes);
  /// The quantized operand whose per-token scales foldValueScale folds into
  /// the probabilities: V itself, or for decoded values a dequantization
  /// passed through as for the keys (GEAR's values), whose vectors of
  /// channels `chunkGroup` then gives (-1 for vectors outside it, which
  /// take the probabilities as they are).
  std::optional<KVSource> valueScaleSource;
  int64_t valueScaleOffset = 0;
  Value valueScaleCodes;
  /// Whether `src`'s scales fold into the probabilities for the vectors of
  /// channels [offset, offset + src.dim) of V: per token, constant within
  /// each vector, and every vector wholly inside or outside those channels.
  bool canFoldValueScaleOf(const KVSource &src, int64_t offset) const;
  void emitFoldedQueryF32(Value bi, Value hk, Value j, Value qt,
                          const KeyScaleFold &fold);
  /// Whether `src`'s scales are per group of tokens (not per token, not for
  /// all tokens) in groups of a multiple of kDotLanes tokens.
  bool hasTokenGroupScales(const KVSource &src) const;
  /// Whether `src` is quantized with scales per token (one per token or per
  /// group of channels), as folding them into the probabilities needs.
  bool hasTokenScales(const KVSource &src) const {
    return src.scheme && !src.decoder && !pType && !src.whole[2] &&
           src.extent[2] == 1;
  }
  /// Prefetches the key scales (and zero points) of the token group after
  /// key `j`'s, which the next fold reads at once (every 64-byte line of
  /// the row; an index past the cache is harmless for a prefetch).
  void emitPrefetchNextKeyGroup(Value bi, Value hk, Value j);
  /// Whether the query is folded again before key `j`: at the block's first
  /// key (`first`) and where keyScaleSource's token group starts.
  Value startsKeyGroup(Value j, Value first);

  /// Quantizes the query for the keys' token group of key `j`
  /// (channelScaledKeys): `fold.query * s` (s the keys' scales of the
  /// group, per channel) quantized as emitQueryInt8 does, into `qb` and the
  /// groups' data `gcorr` and `gsq` (and `qWords` where given), and with a
  /// zero point each row's offset `sum_c query[c] * (z[c] + h * s[c])`
  /// into `fold.offset`.
  void emitFoldedQuery(Value bi, Value hk, Value j, const KeyScaleFold &fold,
                       Value qb, Value qWords, Value gcorr, Value gsq);
  int64_t dotLaneChannel(int64_t v, int64_t lane) const {
    return (v * kDotBytes + 4 * lane) * dotPlanes;
  }
  /// Quantizes the tile's scaled query rows `qn` ([br, natural channels],
  /// zero past the head dim) per kQueryGroup channels into `qb` (int8, the
  /// planes' layout), the accumulators' start values `corr` and the query
  /// scale of each lane `sqLanes`.
  void emitQueryInt8(Value qn, Value qb, Value corr, Value sqLanes);
  /// Each row's query's broadcast words ([br, words, 4 * lanes]) from `qb`.
  void emitQueryWords(Value qb, Value qWords);
  /// Key `j`'s scores for the tile's rows, one vector per row to be summed
  /// over its lanes, from emitQueryInt8's data.
  SmallVector<Value> emitInt8Partials(Value bi, Value hk, Value j, Value qb,
                                      Value corr, Value sqLanes);
  /// P V with V's scales folded into the probabilities: per block, the
  /// weights p * s of each row, scale group and key ([br, valueGroups,
  /// bk], scales read for vw keys at a time) and, for a zero point z, each
  /// row's sum of p * z per group, added to the group's channels after the
  /// block; the value rows are then decoded to codes only. For quantized V
  /// read directly whose scales vary per token and, within a vector of
  /// channels, not at all (`chunkGroup`: each vector's group).
  bool canFoldValueScale() const;
  /// The register-blocked kernel's P V by AVX512-BF16 dot products over
  /// pairs of keys: for ops whose probabilities are rounded to bf16
  /// (p_type = bf16) with plain bf16 values, where the target has them.
  /// 2^x of the probabilities that P V rounds to bf16 (x = s - m <= 0 in
  /// units of log2 e, -inf for hidden keys, NaN kept): a degree-5
  /// polynomial of the fraction (relative error below 1.6e-7, about 1.3
  /// f32 ulp, far below bf16's 2^-9) scaled by 2^floor with AVX-512's
  /// scalef: 10 instructions. Below -150 the result is exactly 0. Other
  /// vector widths use emitExp2.
  Value emitRoundedProbabilityExp(Value x);
  /// 2^x for x <= 0 (a score minus its row's running maximum, in units of
  /// log2 e; -inf for hidden keys, NaN kept) at f32 accuracy (relative error
  /// below 8e-8), 12 vector operations against math.exp's 21: x clamped at
  /// -127, rounded to n by adding 1.5 * 2^23 + 127 (whose low bits are then
  /// n + 127), a degree-6 polynomial of the fraction x - n, and 2^n made
  /// by shifting those bits into the exponent field. Below -126.5 the
  /// result is exactly 0 (the exponent field 0, with a zero mantissa).
  Value emitExp2(Value x);
  bool useBF16ValueDot() const {
    return hasBF16Dot() && pType && pType->isBF16() &&
           isPlain(*value, b.getBF16Type());
  }
  /// AVX512-BF16 dot products on vectors of vw f32 lanes.
  bool hasBF16Dot() const {
    return features.avx512BF16 && (vw == 4 || vw == 8 || vw == 16);
  }
  /// K / V read as they are: no scheme or decoder, elements of `type`.
  static bool isPlain(const KVSource &src, Type type) {
    return !src.scheme && !src.decoder &&
           cast<ShapedType>(src.data.getType()).getElementType() == type;
  }
  void emitValueWeights(Value bi, Value hk, Value j0, Value scores,
                        Value weights, Value zeroSums);
  /// The side data (scales or zero points, per token) of a K / V operand
  /// for the `keys` keys from `j` (default vw): one f32 vector of keys for each
  /// of the first `groups` groups; rows past the cache read as 0.
  SmallVector<Value> readSideKeys(Value side, ArrayRef<Value> prefix, Value j,
                                  int64_t groups, int64_t keys = 0,
                                  bool extend = true);
  /// Int8 P V (schedule int8_pv) for the per-key kernel, over symmetric
  /// int8 / int4 / int2 values whose scales fold into the weights: per
  /// block, each row's weights `w = p * s` of a scale group are quantized
  /// to 8 bits, `u = round_to_even(w * 255 / max w)` (max over the block's
  /// keys), with step `max w / 255`. A value row is read in spans of
  /// kDotLanes code bytes (one scale group each); the spans of 4 keys are
  /// interleaved byte by byte, so that lane `i` of a plane holds the 4
  /// keys' codes of one channel, biased to be non-negative (`code + h`,
  /// h = 2^(bits-1), none for int8), and vpdpbusd multiplies them with the
  /// 4 keys' weights: the exact integer sum of `u * code` per channel
  /// after `h * sum u` is removed, scaled by the step into the f32
  /// accumulators. The planes are the value layout's vectors.
  /// Asymmetric int4 / int2 values (codes `c` in [0, 2^bits), value
  /// `s * c + z`) take the same path with their codes as they are (not
  /// biased), so that the sum is of `u * (c - h)`, and each row's
  /// `sum p * (z + h * s)` per scale group (`wZero`, exact in f32) is added
  /// to the group's channels after the block: the weights' rounding then
  /// meets codes in [-h, h) instead of [0, 2h).
  bool canUseInt8PV() const;
  /// VidKV's values (kvq.vidkv_decode_value: base-3 bytes of 5 ternary
  /// digits along the channels, a scale per channel and group of tokens)
  /// with int8 P V: the value layout is the split one with 5 fields (lane
  /// `i` of vector `c` is channel `((c / 5) * vw + i) * 5 + c % 5`), each
  /// code byte's digits `t` in {-1, 0, 1} are the signed operand of the
  /// dot products with the quantized probabilities of 4 keys, and the i32
  /// sums go into the f32 accumulators, times the channels' scales, where a
  /// token group (or the block) ends.
  struct TernaryValue {
    Value codes, scale;
    int64_t groupSize;
  };
  std::optional<TernaryValue> ternaryValue;
  void findTernaryValue();
  /// Ternary planes `which` (of 0 to 4) of `bytes` (vector<n x i8> of
  /// base-3 bytes): plane `k` holds `floor(byte / 3^k) mod 3 - 1` of each
  /// byte.
  SmallVector<Value> ternaryPlanes(Value bytes, ArrayRef<int64_t> which);
  void emitTernaryValueInt8(Value bi, Value hk, Value j0, Value n, Value wq,
                            Value wStep, Value accs);
  void emitWeightsInt8(Value bi, Value hk, Value j0, Value scores, Value wq,
                       Value wStep, Value wOffset, Value wZero);
  void emitValueInt8(Value bi, Value hk, Value j0, Value n, Value wq,
                     Value wStep, Value wOffset, Value wZero, Value accs);
  bool int8PV = false;
  bool foldValueScale = false;
  int64_t valueGroups = 0;
  SmallVector<int64_t> chunkGroup;
  bool int8Dot = false;
  int64_t dotPlanes = 1, dotVectors = 0;
  unsigned dotBits = 8;
  static constexpr int64_t kDotBytes = 64, kDotLanes = 16, kQueryGroup = 32;

  // The state emit() sets up for its phases: the operands, their sizes and
  // the schedule's tile sizes.
  RankedTensorType qType;
  int64_t d = 0, dv = 0, br = 0, bk = 0, dChunks = 0, dvChunks = 0, dvp = 0;
  std::optional<KVSource> key, value, qSource;
  Value q, mask, deltaS, deltaSRows;
  std::optional<Type> pType;
  double pScale = 1.0, scaleValue = 1.0;
  Value c0, c1, batch, hq, sq, hkv, skv, group, rows, causalOffset;
  Value softmaxScale, out, numSplits, multiSplit, partials;
  Type outElementType;
  bool useTiles = false;
  /// Register-blocked kernel: keys x row vectors of the score micro-tile,
  /// rows x value vectors of the P V micro-tile (tileKeys x 2 and
  /// kTileRows x tileVecs accumulators: the accumulator budget, 16 with
  /// AVX-512, 8 with AVX2 and vw 8).
  int64_t tileKeys, tileVecs;
  static constexpr int64_t kTileRows = 4;
  /// How many vectors of `lanes` 32-bit lanes the kernels keep in
  /// registers across a loop: half the target's register file, the other
  /// half left to the operands (a vector narrower than a register still
  /// takes a whole one; a wider one takes several).
  int64_t accumulatorBudget(int64_t lanes) const {
    int64_t perVector = llvm::divideCeil(32 * lanes, features.registerBits);
    return std::max<int64_t>(1, features.vectorRegisters / 2 / perVector);
  }

  ImplicitLocOpBuilder &b;
  AttentionOp op;
  AttentionSchedule opts;
  CPUKernelFeatures features;
  int64_t vw;
  Type f32;
  VectorType vecF32;
  CPUChunkReader reader;
};

} // namespace

Value CPUChunkReader::readChunk(OpBuilder &, Location, Value tensor,
                                ValueRange coords, int64_t start,
                                int64_t width) {
  assert(width == emitter.vw && "the CPU lowering reads whole vectors");
  ImplicitLocOpBuilder &b = emitter.b;
  if (KVDecoderOpInterface decoder = getPreparedDecoder(tensor))
    return decoder.emitDecodeChunk(b, b.getLoc(), *this, coords, start, width);
  int64_t dim = cast<RankedTensorType>(tensor.getType()).getShape()[3];
  return emitter.readF32Chunk(getBuffer(tensor), coords, start, dim);
}

Value CPUChunkReader::readQuantizedChunk(OpBuilder &, Location, Value codes,
                                         Value scale, Value, Attribute,
                                         ValueRange coords, int64_t start,
                                         int64_t width) {
  assert(width == emitter.vw && start % width == 0 &&
         "the CPU lowering reads whole vectors");
  KVSource src;
  static_cast<KVOperand &>(src) = getQuantized(codes, scale);
  return emitter.loadKVChunk(
      src, coords[0], coords[1], coords[2], start / width,
      /*withScale=*/!llvm::is_contained(foldedCodes, codes));
}

bool CPUChunkReader::hasTableLookup() const {
  return emitter.features.tableLookup;
}

Value CPUChunkReader::loadChunk(OpBuilder &, Location, Value buffer,
                                ValueRange prefix, int64_t start,
                                int64_t width) {
  assert(width == emitter.vw && "the CPU lowering reads whole vectors");
  auto type = cast<MemRefType>(buffer.getType());
  return emitter.readF32Chunk(buffer, prefix, start, type.getShape().back());
}

Value AttentionEmitter::emitExp2(Value x) {
  auto c = [&](double v) { return splat(cF32(v)); };
  // -127 > x ? -127 : x: one maxps that passes a NaN x through.
  Value t = selectMax(c(-127.0), x);
  // t + 1.5 * 2^23 + 127 lies in [2^23, 2^24), where the f32 spacing is 1:
  // the sum is round(t) + 127 above 1.5 * 2^23, in its low mantissa bits.
  Value magic = c(12582912.0 + 127.0);
  Value shifted = arith::AddFOp::create(b, t, magic);
  Value n = arith::SubFOp::create(b, shifted, magic);
  Value f = arith::SubFOp::create(b, t, n);
  // 2^f on [-1/2, 1/2]: iteratively reweighted least squares towards the
  // minimax relative error, c0 = 1 (so 2^0 is exactly 1).
  static constexpr float kCoeffs[] = {1.0f,
                                      0.6931471825f,
                                      0.2402264774f,
                                      0.05550332367f,
                                      0.009618436918f,
                                      0.001339887502f,
                                      0.0001535336050f};
  Value p = c(kCoeffs[6]);
  for (int k = 5; k >= 0; --k)
    p = vector::FMAOp::create(b, p, f, c(kCoeffs[k]));
  // 2^n: the biased exponent n + 127 (0 for n = -127: the value 0).
  auto words = VectorType::get({vw}, b.getI32Type());
  Value exponent = arith::ShLIOp::create(
      b, vector::BitCastOp::create(b, words, shifted),
      arith::ConstantOp::create(
          b, DenseElementsAttr::get(words, b.getI32IntegerAttr(23))));
  return arith::MulFOp::create(b, p,
                               vector::BitCastOp::create(b, vecF32, exponent));
}

Value AttentionEmitter::emitRoundedProbabilityExp(Value x) {
  if (vw != 16)
    return emitExp2(x);
  auto c = [&](double v) { return splat(cF32(v)); };
  // -150 > x ? -150 : x: one maxps that passes a NaN x through.
  Value t = selectMax(c(-150.0), x);
  Value n = math::FloorOp::create(b, t);
  Value f = arith::SubFOp::create(b, t, n);
  // 2^f on [0, 1): weighted least squares at Chebyshev nodes, c0 = 1.
  static constexpr float kCoeffs[] = {1.0f,           0.69315135479f,
                                      0.24016416073f, 0.05580044538f,
                                      0.00901668798f, 0.00186718290f};
  Value p = c(kCoeffs[5]);
  for (int k = 4; k >= 0; --k)
    p = vector::FMAOp::create(b, p, f, c(kCoeffs[k]));
  // The op's operands reach llvm.x86.avx512.mask.scalef.ps.512 as (a, b,
  // src): (src = p, a = n, b = p) computes p * 2^n in every lane.
  Value allLanes = arith::ConstantOp::create(b, b.getI16IntegerAttr(-1));
  Value currentRounding = arith::ConstantOp::create(b, b.getI32IntegerAttr(4));
  return x86vector::MaskScaleFOp::create(b, vecF32, p, n, p, allLanes,
                                         currentRounding);
}

/// Transposes `rows`, n vectors of n lanes (n a power of two): afterwards
/// lane l of vector r holds what lane r of vector l held. Four butterfly
/// stages for n = 16, each swapping one bit of the row index with the same
/// bit of the lane index by two-vector shuffles (n log2 n shuffles in all).
static void transposeSquare(ImplicitLocOpBuilder &b,
                            MutableArrayRef<Value> rows) {
  int64_t n = rows.size();
  for (int64_t bit = 1; bit < n; bit <<= 1)
    for (int64_t r = 0; r < n; ++r) {
      if (r & bit)
        continue;
      SmallVector<int64_t> low, high;
      for (int64_t l = 0; l < n; ++l) {
        low.push_back(l & bit ? n + (l - bit) : l);
        high.push_back(l & bit ? n + l : l + bit);
      }
      Value a = rows[r], c = rows[r + bit];
      rows[r] = vector::ShuffleOp::create(b, a, c, low);
      rows[r + bit] = vector::ShuffleOp::create(b, a, c, high);
    }
}

/// `rows` (vectors of w lanes, w a power of two dividing their number n)
/// transposed into w vectors of n lanes: each w x w block of rows
/// transposed on its own (transposeSquare), then the blocks' vectors of
/// each lane put side by side.
static SmallVector<Value> transposeToLanes(ImplicitLocOpBuilder &b,
                                           ArrayRef<Value> rows) {
  int64_t width = cast<VectorType>(rows.front().getType()).getNumElements();
  SmallVector<Value> blocks(rows);
  for (int64_t r = 0; r < int64_t(rows.size()); r += width)
    transposeSquare(b, MutableArrayRef<Value>(blocks).slice(r, width));
  SmallVector<Value> lanes;
  for (int64_t l = 0; l < width; ++l) {
    SmallVector<Value> parts;
    for (int64_t r = 0; r < int64_t(rows.size()); r += width)
      parts.push_back(blocks[r + l]);
    while (parts.size() > 1) {
      SmallVector<Value> joined;
      for (size_t i = 0; i < parts.size(); i += 2) {
        int64_t size =
            cast<VectorType>(parts[i].getType()).getNumElements() * 2;
        joined.push_back(vector::ShuffleOp::create(
            b, parts[i], parts[i + 1],
            llvm::to_vector(llvm::seq<int64_t>(0, size))));
      }
      parts = std::move(joined);
    }
    lanes.push_back(parts.front());
  }
  return lanes;
}

/// Reads `vw` values of the innermost dimension starting at `start` as f32,
/// padding past `dim` with zeros.
Value AttentionEmitter::readF32Chunk(Value memref, ValueRange prefix,
                                     int64_t start, int64_t dim,
                                     int64_t width) {
  if (!width)
    width = vw;
  auto memrefType = cast<MemRefType>(memref.getType());
  Type elementType = memrefType.getElementType();
  SmallVector<Value> indices(prefix);
  indices.push_back(cIdx(start));
  Value pad = arith::ConstantOp::create(b, b.getZeroAttr(elementType));
  bool inBounds = start + width <= dim;
  Value v = vector::TransferReadOp::create(
      b, VectorType::get({width}, elementType), memref, indices, pad,
      ArrayRef<bool>{inBounds});
  return emitExtendToF32(b, b.getLoc(), v);
}

/// Unpacks `bytes` (vector<n x i8>) of `bits`-bit codes, LSB first, into
/// vector<n * 8 / bits x i8> holding one code per lane.
Value AttentionEmitter::unpackSubByte(Value bytes, unsigned bits,
                                      bool isSigned) {
  SmallVector<Value> fields;
  for (unsigned k = 0; k < getCodesPerByte(bits); ++k)
    fields.push_back(emitExtractField(b, b.getLoc(), bytes, k * bits, bits,
                                      isSigned ? FieldExtension::SignByShifts
                                               : FieldExtension::Zero));
  // Interleave the fields back into element order.
  while (fields.size() > 1) {
    SmallVector<Value> next;
    size_t half = fields.size() / 2;
    for (size_t k = 0; k < half; ++k)
      next.push_back(
          vector::InterleaveOp::create(b, fields[k], fields[k + half]));
    fields = std::move(next);
  }
  return fields.front();
}

Value AttentionEmitter::foldSegments(
    Value v, int64_t width, function_ref<Value(Value, Value)> combine) {
  int64_t vectorLanes = cast<VectorType>(v.getType()).getNumElements();
  for (; width > 1; width /= 2) {
    SmallVector<int64_t> swap;
    for (int64_t lane = 0; lane < vectorLanes; ++lane) {
      int64_t inSegment = lane % width;
      swap.push_back(lane - inSegment + (inSegment + width / 2) % width);
    }
    v = combine(v, vector::ShuffleOp::create(b, v, v, swap));
  }
  return v;
}

/// Sums each of `rows` (vector<vw x f32>) to a scalar. Instead of one
/// horizontal reduction per row, rows are combined pairwise: each step
/// halves the lanes every row occupies and doubles the rows a vector holds
/// (two shuffles and one add per pair), and the last vector is reduced in
/// place, so n rows cost about 2n shuffles instead of n * log2(vw).
SmallVector<Value>
AttentionEmitter::reduceRows(ArrayRef<Value> rows,
                             function_ref<Value(Value, Value)> combine,
                             Value pad) {
  int64_t rowsPerVector, lanes;
  SmallVector<Value> vectors =
      reduceRowsToLanes(rows, rowsPerVector, lanes, combine, pad);
  SmallVector<Value> sums;
  for (size_t i = 0; i < rows.size(); ++i)
    sums.push_back(vector::ExtractOp::create(
        b, vectors[i / rowsPerVector], (int64_t)((i % rowsPerVector) * lanes)));
  return sums;
}

SmallVector<Value> AttentionEmitter::reduceRowsToLanes(
    ArrayRef<Value> rows, int64_t &rowsPerVector, int64_t &lanes,
    function_ref<Value(Value, Value)> combine, Value pad) {
  auto add = [&](Value x, Value y) -> Value {
    if (isa<IntegerType>(getElementTypeOrSelf(x.getType())))
      return arith::AddIOp::create(b, x, y);
    return arith::AddFOp::create(b, x, y);
  };
  if (!combine)
    combine = add;
  SmallVector<Value> vectors(rows);
  auto type = cast<VectorType>(rows.front().getType());
  int64_t vectorLanes = type.getNumElements();
  Value zero = pad ? pad
                   : Value(arith::ConstantOp::create(
                         b, cast<TypedAttr>(b.getZeroAttr(type))));
  lanes = vectorLanes; // lanes per row within each vector
  rowsPerVector = 1;
  while (vectors.size() > 1 && lanes > 1) {
    if (vectors.size() % 2)
      vectors.push_back(zero);
    int64_t half = lanes / 2;
    SmallVector<int64_t> lo, hi;
    for (int64_t side = 0; side < 2; ++side)
      for (int64_t r = 0; r < rowsPerVector; ++r)
        for (int64_t l = 0; l < half; ++l) {
          lo.push_back(side * vectorLanes + r * lanes + l);
          hi.push_back(side * vectorLanes + r * lanes + half + l);
        }
    SmallVector<Value> next;
    for (size_t i = 0; i < vectors.size(); i += 2)
      next.push_back(combine(
          vector::ShuffleOp::create(b, vectors[i], vectors[i + 1], lo),
          vector::ShuffleOp::create(b, vectors[i], vectors[i + 1], hi)));
    vectors = std::move(next);
    lanes = half;
    rowsPerVector *= 2;
  }
  // Reduce the lanes of each row segment in place: the first lane of a
  // segment then holds its sum.
  for (Value &v : vectors)
    v = foldSegments(v, lanes, combine);
  return vectors;
}

/// Loads the scale (or zero point) values that apply to the `vw` lanes of
/// chunk `chunk` of row (b0, h, j); returns a scalar when they are equal.
Value AttentionEmitter::loadScaleChunk(const KVSource &src, Value side,
                                       Value b0, Value h, Value j,
                                       int64_t chunk) {
  SmallVector<int64_t> channels;
  for (int64_t lane = 0; lane < vw; ++lane)
    channels.push_back(channelOf(src, chunk, lane));
  return loadScaleLanes(src, side, b0, h, j, channels);
}

SmallVector<Value> AttentionEmitter::sideRowIndices(const KVSource &src,
                                                    Value b0, Value h) {
  Value coords[2] = {b0, h};
  SmallVector<Value> indices;
  for (int i = 0; i < 2; ++i) {
    if (src.whole[i])
      indices.push_back(cIdx(0));
    else if (src.extent[i] == 1)
      indices.push_back(coords[i]);
    else
      indices.push_back(
          arith::DivUIOp::create(b, coords[i], cIdx(src.extent[i])));
  }
  return indices;
}

Value AttentionEmitter::loadScaleLanes(const KVSource &src, Value side,
                                       Value b0, Value h, Value j,
                                       ArrayRef<int64_t> channels) {
  SmallVector<Value> prefix = sideRowIndices(src, b0, h);
  prefix.push_back(getTokenSideIndex(b, b.getLoc(), src, j));
  if (src.whole[3]) {
    prefix.push_back(cIdx(0));
    return emitExtendToF32(b, b.getLoc(),
                           memref::LoadOp::create(b, side, prefix));
  }
  // The groups that the lanes' channels fall in: one scalar, or a few
  // contiguous values spread over the lanes by one shuffle. Padding lanes
  // (channels past the head dim) take the first group's.
  int64_t ext = src.extent[3];
  int64_t first = channels.front() / ext, last = first;
  SmallVector<int64_t> lanes;
  for (int64_t channel : channels) {
    int64_t group = channel < src.dim ? channel / ext : first;
    last = std::max(last, group);
    lanes.push_back(group - first);
  }
  int64_t count = last - first + 1;
  if (count == 1) {
    prefix.push_back(cIdx(first));
    return emitExtendToF32(b, b.getLoc(),
                           memref::LoadOp::create(b, side, prefix));
  }
  int64_t groups = llvm::divideCeil(src.dim, ext);
  Value values = readF32Chunk(side, prefix, first, groups, count);
  return vector::ShuffleOp::create(b, values, values, lanes);
}

void AttentionEmitter::emitPrefetchRow(const KVSource &src, Value b0, Value h,
                                       Value j) {
  if (!src.decoder)
    emitPrefetchLines(src.data, {b0, h, j});
}

void AttentionEmitter::emitPrefetchLines(Value memref, ValueRange prefix) {
  auto type = cast<MemRefType>(memref.getType());
  int64_t elements = type.getShape().back();
  if (ShapedType::isDynamic(elements))
    return;
  int64_t bits = type.getElementTypeBitWidth();
  int64_t perLine = std::max<int64_t>(1, 64 * 8 / bits);
  for (int64_t off = 0; off < elements; off += perLine) {
    SmallVector<Value> at(prefix);
    at.push_back(cIdx(off));
    memref::PrefetchOp::create(b, memref, at, /*isWrite=*/false,
                               /*localityHint=*/3, /*isDataCache=*/true);
  }
}

SmallVector<Value> AttentionEmitter::loadKVChunks(const KVSource &src, Value b0,
                                                  Value h, Value j,
                                                  int64_t first, int64_t end,
                                                  bool withScale,
                                                  bool halfUnits) {
  auto exact = [&](double factor) {
    SmallVector<Value> chunks;
    for (int64_t c = first; c < end; ++c) {
      Value chunk = loadKVChunk(src, b0, h, j, c, withScale);
      if (factor != 1.0)
        chunk = arith::MulFOp::create(b, chunk, splat(cF32(factor)));
      chunks.push_back(chunk);
    }
    return chunks;
  };
  int64_t lo = first * vw, hi = std::min(end * vw, src.dim);
  if (!fp8HalfUnits(src) || lo >= hi)
    return exact(1.0);
  bool units = halfUnits && !withScale;
  Type storage = src.scheme.getStorageType();
  Value pad = arith::ConstantOp::create(b, b.getZeroAttr(storage));
  SmallVector<Value> prefix = {b0, h, j};
  auto read = [&](int64_t at, int64_t width) {
    SmallVector<Value> indices(prefix);
    indices.push_back(cIdx(at));
    return vector::TransferReadOp::create(
        b, VectorType::get({width}, storage), src.data, indices, pad,
        ArrayRef<bool>{at + width <= src.dim});
  };
  // One test per 64 bytes (one AVX-512 compare), on the bytes themselves.
  Value anyNaN;
  for (int64_t at = lo; at < hi; at += 64) {
    int64_t width = int64_t(llvm::PowerOf2Ceil(std::min<int64_t>(64, hi - at)));
    Value bytes = arith::BitcastOp::create(
        b, VectorType::get({width}, b.getI8Type()), read(at, width));
    Value nan = emitAnyF8E4M3FNNaN(b, b.getLoc(), bytes);
    anyNaN = anyNaN ? arith::OrIOp::create(b, anyNaN, nan).getResult() : nan;
  }
  SmallVector<Type> types(end - first, vecF32);
  auto ifOp = scf::IfOp::create(b, types, anyNaN, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    scf::YieldOp::create(b, exact(units ? 1.0 / 256.0 : 1.0));
    b.setInsertionPointToStart(&ifOp.getElseRegion().front());
    SmallVector<Value> chunks;
    for (int64_t c = first; c < end; ++c) {
      Value v = emitDecodeF8E4M3FNHalfUnits(b, b.getLoc(), read(c * vw, vw));
      if (withScale) {
        Value scale = emitExtendToF32(
            b, b.getLoc(), loadScaleChunk(src, src.scale, b0, h, j, c));
        if (!isa<VectorType>(scale.getType()))
          scale = splat(scale);
        v = arith::MulFOp::create(
            b, v, arith::MulFOp::create(b, scale, splat(cF32(256.0))));
      } else if (!units) {
        v = arith::MulFOp::create(b, v, splat(cF32(256.0)));
      }
      chunks.push_back(v);
    }
    scf::YieldOp::create(b, chunks);
  }
  return SmallVector<Value>(ifOp.getResults());
}

/// Loads and decodes chunk `chunk` (lanes chunk*vw ...) of K/V row
/// (b0, h, j) into vector<vw x f32>; lanes past the head dim are zero.
Value AttentionEmitter::loadKVChunk(const KVSource &src, Value b0, Value h,
                                    Value j, int64_t chunk, bool withScale) {
  SmallVector<Value> prefix = {b0, h, j};
  int64_t start = chunk * vw;
  if (src.decoder)
    return src.decoder.emitDecodeChunk(b, b.getLoc(), reader, prefix, start,
                                       vw);
  if (!src.scheme)
    return readF32Chunk(src.data, prefix, start, src.dim);

  Value codeValues;
  if (src.split) {
    // One field of the block's bytes: a shift and a mask, then for signed
    // codes (x ^ h) - h with h the sign bit, which sign-extends the field
    // without the byte shifts that x86 lacks.
    unsigned bits = src.packedBits;
    int64_t p = fieldsOf(src);
    int64_t byteDim = src.dim * bits / 8;
    int64_t byteStart = (chunk / p) * vw;
    VectorType bytesType = VectorType::get({vw}, b.getI8Type());
    SmallVector<Value> indices(prefix);
    indices.push_back(cIdx(byteStart));
    Value pad = arith::ConstantOp::create(b, b.getI8IntegerAttr(0));
    Value bytes = vector::TransferReadOp::create(
        b, bytesType, src.data, indices, pad,
        ArrayRef<bool>{byteStart + vw <= byteDim});
    FieldExtension extension = src.scheme.getSymmetric()
                                   ? FieldExtension::SignByXorSub
                                   : FieldExtension::Zero;
    codeValues = emitFieldToF32(b, b.getLoc(),
                                emitExtractField(b, b.getLoc(), bytes,
                                                 getCodeBitOffset(chunk, bits),
                                                 bits, extension),
                                extension);
  } else if (src.packedBits) {
    int64_t bytesPerChunk = vw * src.packedBits / 8;
    int64_t byteDim = src.dim * src.packedBits / 8;
    int64_t byteStart = start * src.packedBits / 8;
    SmallVector<Value> indices(prefix);
    indices.push_back(cIdx(byteStart));
    Value pad = arith::ConstantOp::create(b, b.getI8IntegerAttr(0));
    Value bytes = vector::TransferReadOp::create(
        b, VectorType::get({bytesPerChunk}, b.getI8Type()), src.data, indices,
        pad, ArrayRef<bool>{byteStart + bytesPerChunk <= byteDim});
    bool symmetric = src.scheme.getSymmetric();
    codeValues = emitFieldToF32(
        b, b.getLoc(), unpackSubByte(bytes, src.packedBits, symmetric),
        symmetric ? FieldExtension::SignByShifts : FieldExtension::Zero);
  } else {
    Type storage = src.scheme.getStorageType();
    SmallVector<Value> indices(prefix);
    indices.push_back(cIdx(start));
    Value pad = arith::ConstantOp::create(b, b.getZeroAttr(storage));
    Value codes = vector::TransferReadOp::create(
        b, VectorType::get({vw}, storage), src.data, indices, pad,
        ArrayRef<bool>{start + vw <= src.dim});
    // FP8 e4m3 through f16, which x86 converts in hardware.
    codeValues = isa<Float8E4M3FNType>(storage)
                     ? emitDecodeF8E4M3FNByHalf(b, b.getLoc(), codes)
                     : emitDecodeCodes(b, b.getLoc(), src.scheme, codes);
  }
  if (!withScale)
    return codeValues;
  Value scale = loadScaleChunk(src, src.scale, b0, h, j, chunk);
  Value zeroPoint = src.zeroPoint
                        ? loadScaleChunk(src, src.zeroPoint, b0, h, j, chunk)
                        : Value();
  Value values =
      emitDequantize(b, b.getLoc(), src.scheme, codeValues, scale, zeroPoint);
  // Padding lanes decode to the zero point: clear them.
  if (channelOf(src, chunk, vw - 1) >= src.dim && zeroPoint) {
    SmallVector<bool> lanes;
    for (int64_t lane = 0; lane < vw; ++lane)
      lanes.push_back(channelOf(src, chunk, lane) < src.dim);
    Value keep = arith::ConstantOp::create(
        b, DenseElementsAttr::get(VectorType::get({vw}, b.getI1Type()),
                                  ArrayRef<bool>(lanes)));
    values = arith::SelectOp::create(
        b, keep, values,
        arith::ConstantOp::create(
            b, DenseElementsAttr::get(vecF32, b.getF32FloatAttr(0.0))));
  }
  return values;
}

/// `vectors` (of one element type) as one vector, side by side.
Value AttentionEmitter::joinVectors(ArrayRef<Value> vectors) {
  Value all = vectors.front();
  for (Value v : vectors.drop_front()) {
    int64_t n = cast<VectorType>(all.getType()).getNumElements() +
                cast<VectorType>(v.getType()).getNumElements();
    all = vector::ShuffleOp::create(b, all, v,
                                    llvm::to_vector(llvm::seq<int64_t>(0, n)));
  }
  return all;
}

SmallVector<Value> AttentionEmitter::toLayout(const KVSource &layout,
                                              ArrayRef<Value> natural) {
  int64_t p = fieldsOf(layout);
  if (p == 1)
    return SmallVector<Value>(natural);
  if (!llvm::isPowerOf2_64(p)) {
    // Any number of fields (VidKV's 5): every vector of the layout picks
    // its lanes from all natural chunks side by side (zeros past them).
    SmallVector<Value> chunks(natural);
    chunks.push_back(splat(cF32(0.0)));
    Value all = joinVectors(chunks);
    int64_t zero = int64_t(natural.size()) * vw;
    SmallVector<Value> out;
    for (int64_t c = 0; c < numVectors(layout); ++c) {
      SmallVector<int64_t> lanes;
      for (int64_t i = 0; i < vw; ++i) {
        int64_t channel = channelOf(layout, c, i);
        lanes.push_back(channel < zero ? channel : zero);
      }
      out.push_back(vector::ShuffleOp::create(b, all, all, lanes));
    }
    return out;
  }
  SmallVector<Value> out;
  for (size_t k = 0; k < natural.size(); k += p) {
    // The block's p natural chunks as one vector of p * vw lanes.
    SmallVector<Value> parts(natural.begin() + k, natural.begin() + k + p);
    while (parts.size() > 1) {
      SmallVector<Value> next;
      for (size_t i = 0; i < parts.size(); i += 2) {
        int64_t n = cast<VectorType>(parts[i].getType()).getNumElements();
        next.push_back(vector::ShuffleOp::create(
            b, parts[i], parts[i + 1],
            llvm::to_vector(llvm::seq<int64_t>(0, 2 * n))));
      }
      parts = std::move(next);
    }
    for (int64_t f = 0; f < p; ++f) {
      SmallVector<int64_t> lanes;
      for (int64_t i = 0; i < vw; ++i)
        lanes.push_back(i * p + f);
      out.push_back(vector::ShuffleOp::create(b, parts[0], parts[0], lanes));
    }
  }
  return out;
}

SmallVector<Value> AttentionEmitter::toNatural(const KVSource &layout,
                                               ArrayRef<Value> vectors) {
  int64_t p = fieldsOf(layout);
  if (p == 1)
    return SmallVector<Value>(vectors);
  if (!llvm::isPowerOf2_64(p)) {
    // Any number of fields: natural chunk c's lane i is channel c * vw + i,
    // lane (r / p) of the layout's vector (block * p + r % p).
    Value all = joinVectors(vectors);
    SmallVector<Value> out;
    for (int64_t c = 0; c < int64_t(vectors.size()); ++c) {
      SmallVector<int64_t> lanes;
      for (int64_t i = 0; i < vw; ++i) {
        int64_t channel = c * vw + i;
        int64_t block = channel / (vw * p), r = channel % (vw * p);
        lanes.push_back((block * p + r % p) * vw + r / p);
      }
      out.push_back(vector::ShuffleOp::create(b, all, all, lanes));
    }
    return out;
  }
  SmallVector<Value> out;
  for (size_t k = 0; k < vectors.size(); k += p) {
    // Interleaving the fields restores channel order (as unpackSubByte).
    SmallVector<Value> fields(vectors.begin() + k, vectors.begin() + k + p);
    while (fields.size() > 1) {
      SmallVector<Value> next;
      size_t half = fields.size() / 2;
      for (size_t i = 0; i < half; ++i)
        next.push_back(
            vector::InterleaveOp::create(b, fields[i], fields[i + half]));
      fields = std::move(next);
    }
    for (int64_t i = 0; i < p; ++i)
      out.push_back(vector::ExtractStridedSliceOp::create(
          b, fields[0], ArrayRef<int64_t>{i * vw}, ArrayRef<int64_t>{vw},
          ArrayRef<int64_t>{1}));
  }
  return out;
}

/// Writes output row (b0, head, pos): the accumulator `chunks` (vectors of
/// channels) divided by the normaliser `total`, or zeros when `total` is 0
/// (a row that saw no key), converted to `elementType`.
void AttentionEmitter::writeRow(Value out, Value b0, Value head, Value pos,
                                Value total, ValueRange chunks, int64_t dv,
                                Type elementType) {
  Value hasMass =
      arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, total, cF32(0.0));
  Value inv = arith::SelectOp::create(
      b, hasMass, arith::DivFOp::create(b, cF32(1.0), total), cF32(0.0));
  Value invVec = splat(inv);
  for (auto [c, chunk] : llvm::enumerate(chunks)) {
    int64_t start = c * vw;
    if (start >= dv)
      break;
    Value o = arith::MulFOp::create(b, chunk, invVec);
    // bf16 without AVX512-BF16: on the bits (LLVM's fptrunc would call
    // __truncsfbf2 per element, which took a third of a bf16 prefill).
    if (elementType.isBF16() && !features.avx512BF16)
      o = emitConvertFromF32(b, b.getLoc(), o, elementType);
    else if (elementType != f32)
      o = arith::TruncFOp::create(b, VectorType::get({vw}, elementType), o);
    vector::TransferWriteOp::create(b, o, out,
                                    ValueRange{b0, head, pos, cIdx(start)},
                                    ArrayRef<bool>{start + vw <= dv});
  }
}

/// Rounds probabilities (vector<vw x f32>) to the `p_type` of the op and
/// back to f32: FP8 with saturation and round to nearest even (the
/// conversion of the reference kernels), f16 and bf16 to nearest even (bf16
/// on the bits: emitConvertFromF32).
Value AttentionEmitter::roundProbabilities(Value p) {
  Type pType = *op.getPType();
  if (isa<Float8E4M3FNType>(pType)) {
    auto scheme =
        QuantSchemeAttr::get(b.getContext(), pType,
                             /*symmetric=*/true, Granularity::Tensor, {}, f32);
    return emitDecodeCodes(b, b.getLoc(), scheme,
                           emitEncodeCodes(b, b.getLoc(), scheme, p));
  }
  return emitExtendToF32(b, b.getLoc(),
                         emitConvertFromF32(b, b.getLoc(), p, pType));
}

LogicalResult AttentionEmitter::emit() {
  qType = cast<RankedTensorType>(op.getQuery().getType());
  d = qType.getShape()[3];
  if (ShapedType::isDynamic(d))
    return op.emitOpError() << "kvq-tile-attention needs a static head "
                               "dimension";
  FailureOr<KVSource> preparedKey =
      prepareKV("key", op.getKey(), op.getKeySchemeAttr(), op.getKeyScale(),
                op.getKeyZeroPoint());
  if (failed(preparedKey))
    return failure();
  key = *preparedKey;
  FailureOr<KVSource> preparedValue =
      prepareKV("value", op.getValue(), op.getValueSchemeAttr(),
                op.getValueScale(), op.getValueZeroPoint());
  if (failed(preparedValue))
    return failure();
  value = *preparedValue;
  dv = value->dim;
  br = opts.blockRows;
  // Target rounding: a key block is a whole number of vectors (the scores
  // of a block are computed vw keys at a time), so block-kv rounds up to a
  // multiple of vector-width. The schedule used is recorded on the loop.
  bk = llvm::alignTo(opts.blockKV, vw);
  AttentionSchedule used = opts;
  used.target = ScheduleTarget::CPU;
  used.blockKV = bk;
  int64_t ns = opts.splitKV;
  // Sub-byte K / V read directly (not through a decoder) use the split
  // layout; the rest channel order.
  key->split = key->packedBits && !key->decoder;
  value->split = value->packedBits && !value->decoder;
  findTernaryValue();
  if (ternaryValue) {
    value->split = true;
    value->fields = 5;
  }
  dChunks = numVectors(*key);
  dvChunks = numVectors(*value);

  // Quantized queries (SageAttention2) are decoded like K rows.
  if (op.isQueryQuantized()) {
    FailureOr<KVOperand> source =
        prepareKVOperand(b, op, "kvq-tile-attention", "query", op.getQuery(),
                         op.getQuerySchemeAttr(), op.getQueryScale(), Value());
    if (failed(source))
      return failure();
    qSource.emplace();
    static_cast<KVOperand &>(*qSource) = *source;
    q = qSource->data;
  } else {
    q = toBuffer(op.getQuery());
  }
  mask = op.getMask() ? toBuffer(op.getMask()) : Value();
  deltaS = op.getDeltaS() ? toBuffer(op.getDeltaS()) : Value();
  deltaSRows =
      deltaS ? cIdx(static_cast<int64_t>(*op.getDeltaSRows())) : Value();
  // Probabilities rounded to `p_type` are scaled first: FP8 by SageAttention2's
  // static 2^8.807 (just under 448, its S_FP8_OFFSET), so that the row
  // maximum maps near the top of the e4m3 range. Sums and accumulators use
  // the same scale, which cancels in the final division.
  pType = op.getPType();
  pScale = pType && isa<Float8E4M3FNType>(*pType) ? std::exp2(8.807) : 1.0;
  c0 = cIdx(0);
  c1 = cIdx(1);
  batch = dimOf(q, 0);
  hq = dimOf(q, 1);
  sq = dimOf(q, 2);
  hkv = kvSize(*key, 1);
  skv = kvSize(*key, 2);
  group = arith::DivUIOp::create(b, hq, hkv);
  rows = arith::MulIOp::create(b, group, sq);
  causalOffset = arith::SubIOp::create(b, skv, sq);

  scaleValue = op.getEffectiveScale();
  softmaxScale = cF32(scaleValue);

  // The output buffer, bridged back to a tensor at the end.
  outElementType = op.getResult().getType().getElementType();
  out = createOutputBuffer(b, b.getLoc(), op, q, dv);

  // The number of key-range partitions: split-kv, or with 0 (automatic)
  // for decode-like shapes (one row tile per KV head) enough partitions
  // for kMinWorkItems work items, each of at least kMinSplitBlocks key
  // blocks; shapes with more rows have enough work items already. It
  // depends on the shapes only, never on the thread count, so results are
  // the same bits on any number of threads.
  constexpr int64_t kMinWorkItems = 32, kMinSplitBlocks = 4;
  if (ns > 0) {
    numSplits = cIdx(ns);
  } else {
    Value items = arith::MulIOp::create(b, batch, hkv);
    Value wanted = arith::CeilDivUIOp::create(
        b, cIdx(kMinWorkItems), arith::MaxUIOp::create(b, items, c1));
    Value byLength = arith::MaxUIOp::create(
        b, c1, arith::DivUIOp::create(b, skv, cIdx(kMinSplitBlocks * bk)));
    Value autoSplits = arith::MinUIOp::create(b, wanted, byLength);
    Value decodeLike =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ule, rows, cIdx(br));
    numSplits = arith::SelectOp::create(b, decodeLike, autoSplits, c1);
  }
  multiSplit =
      arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, numSplits, c1);
  // With several partitions, each one's statistics and accumulators per
  // row (the maximum, the normaliser, then the channels), combined after.
  dvp = dvChunks * vw;
  partials = memref::AllocOp::create(
      b,
      MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic,
                       ShapedType::kDynamic, ShapedType::kDynamic, dvp + 2},
                      f32),
      ValueRange{arith::SelectOp::create(b, multiSplit, batch, c0), hkv,
                 numSplits, rows},
      b.getI64IntegerAttr(64));

  // The register-blocked kernel for prefill-like shapes: per tile of
  // R = 2 * vw rows, scores as keys x rows with the lanes over rows (a
  // GEMM micro-kernel: tileKeys keys x 2 row vectors of accumulators,
  // each key value broadcast against the transposed query tile), so that
  // the online softmax runs down the columns without cross-lane
  // reductions; P V as kTileRows rows x tileVecs value vectors of
  // accumulators with each probability broadcast. K and V blocks are
  // decoded once per tile into channel-order scratch. Masks, Delta-S,
  // quantized queries and FP8 probabilities (scaled before rounding) use
  // the per-key kernel. Probabilities rounded to bf16 or f16 without bf16
  // dot products: the tiles round them where the softmax stores them, and
  // P V runs in f32.
  useTiles = !mask && !deltaS &&
             (!pType || useBF16ValueDot() || pScale == 1.0) && !qSource &&
             qType.getShape()[2] != 1;

  // GEAR outliers as sparse terms of the per-key kernel (its float paths
  // and the int8 scores over GEAR's keys).
  findSparseOutliers(*key);
  // Int8 dot products for the per-key kernel's scores, where the schedule
  // asks for them and the keys allow (recorded as used or not).
  if (!findInt8DotKey())
    dotKey = nullptr;
  int8Dot = canUseInt8Dot();
  used.int8Dot = int8Dot;
  foldValueScale = canFoldValueScale();
  if (foldValueScale)
    valueScaleSource = *value;
  int8PV = ternaryValue || canUseInt8PV();
  used.int8PV = int8PV;
  // Key scales per token group folded into the query (f32 scores).
  if (!int8Dot) {
    if (hasTokenGroupScales(*key))
      keyScaleSource = *key;
    else
      findFoldedKeyOperand();
  }
  foldKeyScale = !int8Dot && keyScaleSource.has_value();
  if (!int8PV && !foldValueScale)
    findSparseOutliers(*value);
  // Decoded values whose lanes pass a dequantization with per-token scales
  // through fold them into the probabilities too.
  if (!foldValueScale && value->decoder) {
    KVSource found;
    if (findPassThroughOperand(
            *value,
            [&](const KVSource &x) {
              return canFoldValueScaleOf(x, valueScaleOffset);
            },
            found, valueScaleOffset, valueScaleCodes)) {
      valueScaleSource = found;
      foldValueScale = true;
    }
  }
  if (foldValueScale || int8PV) {
    // int8 P V folds the value's own scales, also where the f32 fold cannot.
    const KVSource &src = foldValueScale ? *valueScaleSource : *value;
    valueGroups = ternaryValue || src.whole[3]
                      ? 1
                      : llvm::divideCeil(src.dim, src.extent[3]);
  }
  if (foldValueScale) {
    const KVSource &src = *valueScaleSource;
    for (int64_t c = 0; c < dvChunks; ++c) {
      int64_t channel = channelOf(*value, c, 0) - valueScaleOffset;
      chunkGroup.push_back(channel < 0 || channel >= src.dim ? -1
                           : src.whole[3]                    ? 0
                                          : channel / src.extent[3]);
    }
  }
  if (int8Dot) {
    dotBits = dotCodeBits(*dotKey);
    dotPlanes = 8 / dotBits;
    dotVectors = llvm::divideCeil(dotDim * dotBits / 8, kDotBytes);
    // Scores with the lanes over keys: per-token key scales, whole vectors
    // of keys. The words of a row that hold channels, grouped by query
    // group and key scale group (a word's channels share both).
    // Keys with scales per token group fold them into the query
    // (channelScaledKeys); their words then group by query group only.
    // (Without int8 dot products: foldKeyScale, below.)
    channelScaledKeys = vw == kDotLanes && hasTokenGroupScales(*dotKey);
    if (channelScaledKeys)
      keyScaleSource = *dotKey;
    keysByLane =
        vw == kDotLanes &&
        ((!dotKey->whole[2] && dotKey->extent[2] == 1) || channelScaledKeys);
    int64_t wordChannels = 4 * dotPlanes;
    for (int64_t w = 0; w * wordChannels < dotDim; ++w) {
      int64_t channel = w * wordChannels;
      int64_t keyGroup = dotKey->whole[3] || channelScaledKeys
                             ? 0
                             : channel / dotKey->extent[3];
      if (!dotGroups.empty() && dotGroups.back().keyGroup == keyGroup &&
          (dotGroups.back().firstWord * wordChannels) / kQueryGroup ==
              channel / kQueryGroup) {
        ++dotGroups.back().words;
        continue;
      }
      dotGroups.push_back({w, 1, keyGroup});
    }
  }

  // With several partitions, the item that finishes last for a (batch, KV
  // head) combines its rows, counted by an atomic counter (acquire-release,
  // so it sees the other partitions' results), inside the one parallel loop.
  auto counterType = MemRefType::get(
      {ShapedType::kDynamic, ShapedType::kDynamic}, b.getI32Type());
  Value counters = memref::AllocOp::create(
      b, counterType,
      ValueRange{arith::SelectOp::create(b, multiSplit, batch, c0), hkv});
  buildIf(b, multiSplit, [&]() {
    buildFor(b, c0, batch, c1, [&](Value bi) {
      buildFor(b, c0, hkv, c1, [&](Value hk) {
        memref::StoreOp::create(
            b, arith::ConstantOp::create(b, b.getI32IntegerAttr(0)), counters,
            {bi, hk});
      });
    });
  });

  // (batch, kv head, partition) triples are independent: an scf.parallel,
  // which the CPU pipeline maps to OpenMP threads. Its body is an
  // allocation scope, so each iteration (thread) gets its own scratch.
  auto parallel = scf::ParallelOp::create(b, ValueRange{c0, c0, c0},
                                          ValueRange{batch, hkv, numSplits},
                                          ValueRange{c1, c1, c1});
  parallel->setAttr(kKernelScheduleAttrName,
                    ScheduleAttr::get(b.getContext(), used));
  {
    OpBuilder::InsertionGuard parallelGuard(b);
    b.setInsertionPointToStart(parallel.getBody());
    Value bi = parallel.getInductionVars()[0];
    Value hk = parallel.getInductionVars()[1];
    Value s = parallel.getInductionVars()[2];

    // Prefill-like shapes (at least `vw` rows per KV head) use the
    // register-blocked kernel; decode keeps the per-key dot products.
    if (useTiles) {
      Value many =
          arith::CmpIOp::create(b, arith::CmpIPredicate::uge, rows, cIdx(vw));
      auto choice = scf::IfOp::create(b, many, /*withElse=*/true);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(choice.thenBlock());
      emitRegisterBlocked(bi, hk, s);
      b.setInsertionPointToStart(choice.elseBlock());
      emitPerKeyWithSparseTerms(bi, hk, s);
    } else {
      emitPerKeyWithSparseTerms(bi, hk, s);
    }
    buildIf(b, multiSplit, [&]() {
      Value done = memref::AtomicRMWOp::create(
          b, arith::AtomicRMWKind::addi,
          arith::ConstantOp::create(b, b.getI32IntegerAttr(1)), counters,
          ValueRange{bi, hk});
      Value last = arith::IndexCastOp::create(
          b, b.getI32Type(), arith::SubIOp::create(b, numSplits, c1));
      buildIf(b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, done, last),
              [&]() { emitCombine(bi, hk); });
    });
  }

  Value result = bufferization::ToTensorOp::create(
      b, op.getResult().getType(), out, /*restrict=*/true, /*writable=*/true);
  replacement = result;
  return success();
}

// Scratch of one row tile: scaled Q rows, the block's scores, and the
// per-split statistics and accumulators. Small and static; heap allocated
// once per (batch, kv head) so that parallel iterations never share it and
// no stack grows inside loops. Buffer deallocation frees it.
Value AttentionEmitter::scratch(ArrayRef<int64_t> shape, Type element) {
  return memref::AllocOp::create(
      b, MemRefType::get(shape, element ? element : f32),
      b.getI64IntegerAttr(64));
}

SmallVector<Value> AttentionEmitter::biasedPlanes(Value bytes, unsigned bits,
                                                  bool biased) {
  auto type = cast<VectorType>(bytes.getType());
  auto splatByte = [&](int64_t v) {
    return arith::ConstantOp::create(
        b, DenseElementsAttr::get(type,
                                  b.getI8IntegerAttr(static_cast<int8_t>(v))));
  };
  Value sign = splatByte(int64_t(1) << (bits - 1));
  SmallVector<Value> planes;
  for (unsigned k = 0; k < 8 / bits; ++k) {
    Value field = bytes;
    if (k > 0)
      field = arith::ShRUIOp::create(b, field, splatByte(k * bits));
    if (biased)
      field = arith::XOrIOp::create(b, field, sign);
    if (bits < 8)
      field = arith::AndIOp::create(b, field, splatByte((1 << bits) - 1));
    planes.push_back(field);
  }
  return planes;
}

SmallVector<Value> AttentionEmitter::nibblePlanes(Value bytes, bool biased) {
  auto type = cast<VectorType>(bytes.getType());
  auto splatByte = [&](int64_t v) {
    return arith::ConstantOp::create(
        b, DenseElementsAttr::get(type, b.getI8IntegerAttr(v)));
  };
  Value lo = arith::AndIOp::create(b, bytes, splatByte(15));
  Value hi = arith::ShRUIOp::create(b, bytes, splatByte(4));
  if (biased)
    hi = arith::XOrIOp::create(b, hi, splatByte(8));
  return {lo, hi};
}

Value AttentionEmitter::joinNibbleSums(Value lo, Value hi) {
  auto type = cast<VectorType>(hi.getType());
  Value four = arith::ConstantOp::create(
      b, DenseElementsAttr::get(type, b.getI32IntegerAttr(4)));
  return arith::AddIOp::create(b, lo, arith::ShLIOp::create(b, hi, four));
}

unsigned AttentionEmitter::dotCodeBits(const KVSource &src) {
  if (src.packedBits)
    return src.split ? src.packedBits : 0;
  auto storage = dyn_cast<IntegerType>(src.scheme.getStorageType());
  return storage && storage.getWidth() == 8 ? 8 : 0;
}

Value AttentionEmitter::broadcastWord(Value buffer, ValueRange indices,
                                      int64_t lanes) {
  auto laneI32 = VectorType::get({lanes}, b.getI32Type());
  Value word = vector::LoadOp::create(b, VectorType::get({4}, b.getI8Type()),
                                      buffer, indices);
  word =
      vector::BitCastOp::create(b, VectorType::get({1}, b.getI32Type()), word);
  return vector::BitCastOp::create(
      b, VectorType::get({4 * lanes}, b.getI8Type()),
      vector::BroadcastOp::create(b, laneI32, word));
}

bool AttentionEmitter::hasTokenGroupScales(const KVSource &src) const {
  return src.scheme && !src.decoder &&
         src.scheme.getGranularity() != Granularity::Fragment &&
         !src.whole[2] && src.extent[2] > 1 && src.extent[2] % kDotLanes == 0;
}

bool AttentionEmitter::findInt8DotKey() {
  dotKey = &*key;
  dotDim = d;
  if (!key->decoder)
    return true;
  auto concat = dyn_cast<tensor::ConcatOp>(key->decoder.getOperation());
  auto slots = dyn_cast<VidKVDecodeKeySlotsOp>(key->decoder.getOperation());
  if ((!concat || concat.getDim() != 3) && !slots)
    return false;
  if (vw != kDotLanes)
    return false;
  KVSource found;
  int64_t offset;
  Value codes;
  if (!findPassThroughOperand(
          *key,
          [&](const KVSource &x) {
            KVSource split = x;
            split.split = x.packedBits != 0;
            return hasTokenGroupScales(x) && dotCodeBits(split);
          },
          found, offset, codes) ||
      offset != 0)
    return false;
  found.split = found.packedBits != 0;
  if (slots) {
    // The spectral slots' bits and scales, read as they are; their token
    // groups must each be whole groups of the high channels' (whose starts
    // refill the table), and those have zero points (the fold's offset).
    auto codesType = cast<RankedTensorType>(slots.getLowCodes().getType());
    auto scaleType = cast<RankedTensorType>(slots.getLowScale().getType());
    int64_t width = scaleType.getDimSize(3);
    Value codesBuffer = reader.getBuffer(slots.getLowCodes());
    Value scaleBuffer = reader.getBuffer(slots.getLowScale());
    if (ShapedType::isDynamic(width) || codesType.isDynamicDim(3) ||
        !codesBuffer || !scaleBuffer || !found.zeroPoint ||
        slots.getGroupSize() % found.extent[2] != 0)
      return false;
    signTail = SignTail{codesBuffer,
                        scaleBuffer,
                        found.dim,
                        width,
                        int64_t(slots.getGroupSize()),
                        Value(),
                        Value()};
    dotKeySource = found;
    dotKey = &*dotKeySource;
    dotDim = found.dim;
    return true;
  }
  // The other inputs: float channels read as they are (or widened).
  SmallVector<KeyTail> tails;
  int64_t at = 0;
  for (Value input : concat.getInputs()) {
    int64_t width = cast<RankedTensorType>(input.getType()).getDimSize(3);
    if (ShapedType::isDynamic(width))
      return false;
    if (at > 0) {
      Value leaf = input;
      if (auto ext = leaf.getDefiningOp<arith::ExtFOp>())
        leaf = ext.getIn();
      Value buffer = reader.getBuffer(leaf);
      if (!buffer || !isa<FloatType>(getElementTypeOrSelf(buffer.getType())) ||
          cast<MemRefType>(buffer.getType()).getRank() != 4)
        return false;
      tails.push_back({buffer, at, width});
    }
    at += width;
  }
  dotKeySource = found;
  dotKey = &*dotKeySource;
  dotDim = found.dim;
  keyTails = std::move(tails);
  return true;
}

bool AttentionEmitter::canUseInt8Dot() const {
  if (!opts.int8Dot || mask || deltaS || pType || qSource || !dotKey ||
      !dotKey->scheme)
    return false;
  unsigned bits = dotCodeBits(*dotKey);
  if (!bits)
    return false;
  // Scales per token group fold into the query (any zero point into a
  // score offset), with the lanes over keys.
  if (vw == kDotLanes && hasTokenGroupScales(*dotKey))
    return true;
  if (key->decoder || dotKey->zeroPoint || !dotKey->scheme.getSymmetric())
    return false;
  // Each lane's channels must share one key scale group.
  int64_t laneChannels = 4 * (8 / bits);
  return dotKey->whole[3] || dotKey->extent[3] % laneChannels == 0;
}

bool AttentionEmitter::canFoldValueScale() const {
  return canFoldValueScaleOf(*value, 0);
}

bool AttentionEmitter::canFoldValueScaleOf(const KVSource &src,
                                           int64_t offset) const {
  if (!hasTokenScales(src))
    return false;
  // Every vector of channels within one scale group (padding lanes aside),
  // and wholly inside or outside the operand's channels.
  int64_t ext = src.whole[3] ? src.dim : src.extent[3];
  for (int64_t c = 0; c < dvChunks; ++c) {
    int64_t first = channelOf(*value, c, 0) - offset;
    bool inside = first >= 0 && first < src.dim;
    for (int64_t lane = 0; lane < vw; ++lane) {
      int64_t channel = channelOf(*value, c, lane) - offset;
      if (channel + offset >= dv)
        continue;
      if ((channel >= 0 && channel < src.dim) != inside)
        return false;
      if (inside && channel / ext != first / ext)
        return false;
    }
  }
  return true;
}

SmallVector<Value> AttentionEmitter::readSideKeys(Value side,
                                                  ArrayRef<Value> prefix,
                                                  Value j, int64_t groups,
                                                  int64_t keys, bool extend) {
  if (!keys)
    keys = vw;
  auto type = cast<MemRefType>(side.getType());
  Type element = type.getElementType();
  int64_t width = type.getShape()[3];
  auto blockType = VectorType::get({keys, width}, element);
  SmallVector<Type> resultTypes(
      groups, VectorType::get({keys}, extend ? Type(f32) : element));
  auto widen = [&](Value v) {
    return extend ? emitExtendToF32(b, b.getLoc(), v) : v;
  };
  SmallVector<Value> indices(prefix);
  indices.append({j, c0});
  // All `keys` rows in the cache (every block but the last) and the rows
  // dense (the usual layout): one contiguous read of keys * width values,
  // split by group with one shuffle each. Otherwise a 2-D read (rows past
  // the cache read as 0), transposed.
  auto meta = memref::ExtractStridedMetadataOp::create(b, side);
  Value full = arith::CmpIOp::create(b, arith::CmpIPredicate::ule,
                                     arith::AddIOp::create(b, j, cIdx(keys)),
                                     dimOf(side, 2));
  Value dense = arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                      meta.getStrides()[2], cIdx(width));
  auto choice =
      scf::IfOp::create(b, resultTypes, arith::AndIOp::create(b, full, dense),
                        /*withElse=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(choice.thenBlock());
  {
    // The buffer as one dimension from its offset; the read is within it.
    Value extent =
        arith::MulIOp::create(b, meta.getSizes()[0], meta.getStrides()[0]);
    auto flatType = MemRefType::get(
        {ShapedType::kDynamic}, element,
        StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic, {1}));
    Value flat = memref::ReinterpretCastOp::create(
        b, flatType, meta.getBaseBuffer(), OpFoldResult(meta.getOffset()),
        ArrayRef<OpFoldResult>{extent},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
    Value at = arith::MulIOp::create(b, j, meta.getStrides()[2]);
    for (int i = 0; i < 2; ++i)
      at = arith::AddIOp::create(
          b, at, arith::MulIOp::create(b, prefix[i], meta.getStrides()[i]));
    Value values = vector::LoadOp::create(
        b, VectorType::get({keys * width}, element), flat, ValueRange{at});
    SmallVector<Value> rows;
    for (int64_t g = 0; g < groups; ++g) {
      SmallVector<int64_t> lanes;
      for (int64_t k = 0; k < keys; ++k)
        lanes.push_back(k * width + g);
      rows.push_back(
          widen(vector::ShuffleOp::create(b, values, values, lanes)));
    }
    scf::YieldOp::create(b, rows);
  }
  b.setInsertionPointToStart(choice.elseBlock());
  {
    // Row by row (a 2-D read with rows out of bounds is lowered through a
    // stack buffer, which inside the kernel's loops is allocated again in
    // every iteration): rows past the cache read its last row, then 0.
    Value pad = arith::ConstantOp::create(b, b.getZeroAttr(element));
    auto rowType = VectorType::get({width}, element);
    Value zeroRow = arith::ConstantOp::create(b, b.getZeroAttr(rowType));
    Value lastRow = arith::SubIOp::create(b, dimOf(side, 2), c1);
    Value block = arith::ConstantOp::create(b, b.getZeroAttr(blockType));
    for (int64_t k = 0; k < keys; ++k) {
      Value row = arith::AddIOp::create(b, j, cIdx(k));
      SmallVector<Value> at(prefix);
      at.append({arith::MinUIOp::create(b, row, lastRow), c0});
      Value values = vector::TransferReadOp::create(b, rowType, side, at, pad,
                                                    ArrayRef<bool>{true});
      Value inside =
          arith::CmpIOp::create(b, arith::CmpIPredicate::ule, row, lastRow);
      block = vector::InsertOp::create(
          b, arith::SelectOp::create(b, inside, values, zeroRow), block, k);
    }
    Value byGroup =
        vector::TransposeOp::create(b, block, ArrayRef<int64_t>{1, 0});
    SmallVector<Value> rows;
    for (int64_t g = 0; g < groups; ++g)
      rows.push_back(widen(vector::ExtractOp::create(b, byGroup, g)));
    scf::YieldOp::create(b, rows);
  }
  return SmallVector<Value>(choice.getResults());
}

void AttentionEmitter::emitValueWeights(Value bi, Value hk, Value j0,
                                        Value scores, Value weights,
                                        Value zeroSums) {
  const KVSource &src = *valueScaleSource;
  SmallVector<Value> prefix = sideRowIndices(src, bi, hk);
  SmallVector<Value> zeroAcc;
  auto zeroVec = [&] {
    return arith::ConstantOp::create(
        b, DenseElementsAttr::get(vecF32, b.getF32FloatAttr(0.0)));
  };
  if (zeroSums)
    zeroAcc.assign(br * valueGroups, Value());
  for (int64_t k = 0; k < bk / vw; ++k) {
    Value j = arith::AddIOp::create(b, j0, cIdx(k * vw));
    SmallVector<Value> scales = readSideKeys(src.scale, prefix, j, valueGroups);
    SmallVector<Value> zeros;
    if (zeroSums)
      zeros = readSideKeys(src.zeroPoint, prefix, j, valueGroups);
    // FP8 values decoded in 2^-8 units: the 2^8 goes with the scales.
    if (valueWeightsInHalfUnits())
      for (Value &scale : scales)
        scale = arith::MulFOp::create(b, scale, splat(cF32(256.0)));
    for (int64_t t = 0; t < br; ++t) {
      Value p =
          vector::LoadOp::create(b, vecF32, scores, {cIdx(t), cIdx(k * vw)});
      for (int64_t g = 0; g < valueGroups; ++g) {
        vector::StoreOp::create(b, arith::MulFOp::create(b, p, scales[g]),
                                weights, {cIdx(t), cIdx(g), cIdx(k * vw)});
        if (zeroSums) {
          Value &acc = zeroAcc[t * valueGroups + g];
          acc = vector::FMAOp::create(b, p, zeros[g], acc ? acc : zeroVec());
        }
      }
    }
  }
  if (zeroSums)
    for (int64_t t = 0; t < br; ++t)
      for (int64_t g = 0; g < valueGroups; ++g)
        memref::StoreOp::create(
            b,
            vector::ReductionOp::create(b, vector::CombiningKind::ADD,
                                        zeroAcc[t * valueGroups + g],
                                        arith::FastMathFlags::reassoc),
            zeroSums, {cIdx(t), cIdx(g)});
}

bool AttentionEmitter::canUseInt8PV() const {
  // Scales per token, as the f32 fold of the scales into the probabilities
  // takes (which also needs each f32 vector of channels in one group: not
  // so for 2-bit values in groups of 32 channels, whose split vectors span
  // 64).
  if (!opts.int8PV || vw != kDotLanes || !hasTokenScales(*value))
    return false;
  unsigned bits = dotCodeBits(*value);
  if (!bits)
    return false;
  // Asymmetric codes: sub-byte ones (int8's [0, 256) is not a signed
  // operand), with their zero points.
  if (value->scheme.getSymmetric() ? bool(value->zeroPoint)
                                   : bits == 8 || !value->zeroPoint)
    return false;
  // Each span of kDotLanes code bytes within one scale group, or holding
  // whole groups of at least 4 code bytes (at most 4 of them: lanes of a
  // span then take their own group's weights).
  if (value->whole[3])
    return true;
  int64_t groupBits = value->extent[3] * bits;
  if (groupBits % 8)
    return false;
  int64_t groupBytes = groupBits / 8;
  return groupBytes % kDotLanes == 0 ||
         (kDotLanes % groupBytes == 0 && groupBytes >= 4);
}

void AttentionEmitter::emitWeightsInt8(Value bi, Value hk, Value j0,
                                       Value scores, Value wq, Value wStep,
                                       Value wOffset, Value wZero) {
  auto vecI32 = VectorType::get({vw}, b.getI32Type());
  // VidKV's ternary digits are signed; their scales apply later.
  int64_t bias = ternaryValue ? 0 : valueCodeBias(dotCodeBits(*value));
  int64_t vectors = bk / vw;
  Value zero = cF32(0.0), c255 = cF32(255.0);
  // u = round_to_even(w * inv) as the low byte of the f32 w * inv + 1.5 *
  // 2^23: one fused multiply-add rounds the exact product to an integer.
  constexpr float kMagic = 12582912.0f;
  constexpr int32_t kMagicBits = 0x4B400000;
  Value magic = splat(cF32(kMagic));
  SmallVector<Value> prefix =
      ternaryValue ? SmallVector<Value>() : sideRowIndices(*value, bi, hk);
  SmallVector<SmallVector<Value>> scales, shifted;
  for (int64_t k = 0; k < vectors; ++k) {
    Value j = arith::AddIOp::create(b, j0, cIdx(k * vw));
    if (ternaryValue) {
      scales.push_back({splat(cF32(1.0))});
      continue;
    }
    scales.push_back(readSideKeys(value->scale, prefix, j, valueGroups));
    // Asymmetric values: z + h * s, the zero point and the codes' centring.
    if (wZero) {
      SmallVector<Value> zeros =
          readSideKeys(value->zeroPoint, prefix, j, valueGroups);
      for (int64_t g = 0; g < valueGroups; ++g)
        zeros[g] = math::FmaOp::create(b, scales[k][g],
                                       splat(cF32(double(bias))), zeros[g]);
      shifted.push_back(zeros);
    }
  }
  // Per (row, group) pair, in the order i = t * valueGroups + g: the
  // weights' lane-wise maximum over the block, then all pairs' maxima (and
  // below, their code sums and zero-point sums) from one shuffle tree
  // (reduceRowsToLanes), with the steps and inverse steps computed on its
  // lanes, instead of one horizontal reduction and scalar division per
  // pair.
  auto probabilities = [&](int64_t t) {
    SmallVector<Value> p;
    for (int64_t k = 0; k < vectors; ++k)
      p.push_back(
          vector::LoadOp::create(b, vecF32, scores, {cIdx(t), cIdx(k * vw)}));
    return p;
  };
  SmallVector<Value> maxVecs;
  for (int64_t t = 0; t < br; ++t) {
    SmallVector<Value> p = probabilities(t);
    for (int64_t g = 0; g < valueGroups; ++g) {
      Value maxVec;
      for (int64_t k = 0; k < vectors; ++k) {
        Value w = arith::MulFOp::create(b, p[k], scales[k][g]);
        maxVec = maxVec ? selectMax(maxVec, w) : w;
      }
      maxVecs.push_back(maxVec);
    }
  }
  // Lane `(i % perVector) * lanes` of vector `i / perVector` holds pair i's.
  int64_t perVector, lanes;
  auto laneOf = [&](ArrayRef<Value> lanesOf, int64_t i) -> Value {
    return vector::ExtractOp::create(b, lanesOf[i / perVector],
                                     (i % perVector) * lanes);
  };
  // Each pair's lane into `buffer` [br, valueGroups].
  auto storePairs = [&](ArrayRef<Value> lanesOf, Value buffer) {
    for (int64_t t = 0; t < br; ++t)
      for (int64_t g = 0; g < valueGroups; ++g)
        memref::StoreOp::create(b, laneOf(lanesOf, t * valueGroups + g), buffer,
                                {cIdx(t), cIdx(g)});
  };
  // The weights are >= 0 (NaN only where the row's probabilities are,
  // whose output is NaN through its sum either way); all 0 (a group of a
  // block no row sees) gives codes and step 0.
  SmallVector<Value> maxima =
      reduceRowsToLanes(maxVecs, perVector, lanes,
                        [&](Value x, Value y) { return selectMax(x, y); });
  SmallVector<Value> inverses, steps;
  for (Value max : maxima) {
    Value nonZero =
        arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, max, splat(zero));
    inverses.push_back(arith::SelectOp::create(
        b, nonZero, arith::DivFOp::create(b, splat(c255), max), splat(zero)));
    steps.push_back(arith::DivFOp::create(b, max, splat(c255)));
  }
  storePairs(steps, wStep);
  SmallVector<Value> codeSums, zeroSums;
  for (int64_t t = 0; t < br; ++t) {
    SmallVector<Value> p = probabilities(t);
    for (int64_t g = 0; g < valueGroups; ++g) {
      int64_t i = t * valueGroups + g;
      Value inv = splat(laneOf(inverses, i));
      Value sum;
      for (int64_t k = 0; k < vectors; ++k) {
        Value w = arith::MulFOp::create(b, p[k], scales[k][g]);
        Value rounded = arith::BitcastOp::create(
            b, vecI32, vector::FMAOp::create(b, w, inv, magic));
        vector::StoreOp::create(
            b,
            arith::TruncIOp::create(b, VectorType::get({vw}, b.getI8Type()),
                                    rounded),
            wq, {cIdx(t), cIdx(g), cIdx(k * vw)});
        sum = sum ? arith::AddIOp::create(b, sum, rounded) : rounded;
      }
      codeSums.push_back(sum);
      if (wZero) {
        Value acc;
        for (int64_t k = 0; k < vectors; ++k)
          acc = acc ? Value(vector::FMAOp::create(b, p[k], shifted[k][g], acc))
                    : Value(arith::MulFOp::create(b, p[k], shifted[k][g]));
        zeroSums.push_back(acc);
      }
    }
  }
  if (wZero)
    storePairs(reduceRowsToLanes(zeroSums, perVector, lanes), wZero);
  if (bias) {
    // Wrapping i32 arithmetic: the sum of the codes is exact; each carries
    // the magic number's bits.
    SmallVector<Value> totals = reduceRowsToLanes(codeSums, perVector, lanes);
    auto laneF32 = cast<VectorType>(totals.front().getType()).clone(f32);
    Value magicBits = arith::ConstantOp::create(
        b, DenseElementsAttr::get(
               cast<VectorType>(totals.front().getType()),
               b.getI32IntegerAttr(static_cast<int32_t>(
                   uint32_t(kMagicBits) * uint32_t(vectors * vw)))));
    Value biasVec = arith::ConstantOp::create(
        b, DenseElementsAttr::get(laneF32, b.getF32FloatAttr(float(bias))));
    for (Value &total : totals)
      total = arith::MulFOp::create(
          b,
          arith::SIToFPOp::create(b, laneF32,
                                  arith::SubIOp::create(b, total, magicBits)),
          biasVec);
    storePairs(totals, wOffset);
  }
}

void AttentionEmitter::emitValueInt8(Value bi, Value hk, Value j0, Value n,
                                     Value wq, Value wStep, Value wOffset,
                                     Value wZero, Value accs) {
  // Code bytes per span: one register of i32 lanes (kDotLanes with
  // 512-bit registers, 8 with AVX2, whose 16 registers would spill the
  // accumulators of 16-byte spans). A span lies in one scale group or
  // holds whole ones.
  const int64_t kSpan = registerDotLanes();
  constexpr int64_t kKeys = 4;
  // Quads of keys per iteration (kDotLanes keys, which the weights' rows
  // are padded to), each accumulator a chain of kQuads dot products:
  // AVX2 sums the chain of 4-bit or 2-bit codes in i16 and widens once.
  constexpr int64_t kQuads = kDotLanes / kKeys;
  unsigned bits = dotCodeBits(*value);
  // Channels per code byte (the planes of the value layout), and the
  // accumulators of a span per row: one per plane, or the 2 halves of
  // int8 codes taken as nibbles (one plane of channels).
  int64_t planes = 8 / bits;
  bool nibbles = splitsInt8(bits);
  int64_t fields = nibbles ? 2 : planes;
  int64_t rowBytes = dv * bits / 8;
  int64_t spans = llvm::divideCeil(rowBytes, kSpan);
  auto laneI32 = VectorType::get({kSpan}, b.getI32Type());
  auto laneF32 = VectorType::get({kSpan}, f32);
  // Scale groups within a span (groups narrower than a span, e.g. KIVI's
  // 2-bit values in groups of 32 channels: 8 bytes): lane i of span `sp`
  // (byte sp * kSpan + i) takes group groupOf(sp) + i / groupLanes.
  int64_t groupLanes =
      value->whole[3] ? kSpan
                      : std::min(kSpan, value->extent[3] * int64_t(bits) / 8);
  int64_t spanGroups = kSpan / groupLanes;
  auto groupOf = [&](int64_t span) -> int64_t {
    return value->whole[3] ? 0 : span * kSpan * planes / value->extent[3];
  };
  // One vector of `spanGroups` values spread over their lanes, from
  // `part(p)` per group p of the span (past the head dim, lanes of a
  // ragged last span keep the last group's).
  auto perGroup = [&](function_ref<Value(int64_t)> part) {
    Value spread = part(0);
    for (int64_t p = 1; p < spanGroups; ++p) {
      SmallVector<bool> lanes;
      for (int64_t i = 0; i < kSpan; ++i)
        lanes.push_back(i / groupLanes == p);
      Value mask = arith::ConstantOp::create(
          b, DenseElementsAttr::get(VectorType::get({kSpan}, b.getI1Type()),
                                    lanes));
      spread = arith::SelectOp::create(b, mask, part(p), spread);
    }
    return spread;
  };
  Value zeroAcc = arith::ConstantOp::create(
      b, DenseElementsAttr::get(laneI32, b.getI32IntegerAttr(0)));
  // The accumulator budget (16 with AVX-512, 8 with AVX2) across the keys:
  // the spans in passes.
  int64_t perPass =
      std::max<int64_t>(1, accumulatorBudget(kSpan) / (br * fields));
  for (int64_t s0 = 0; s0 < spans; s0 += perPass) {
    int64_t count = std::min(perPass, spans - s0);
    SmallVector<Value> init(br * count * fields, zeroAcc);
    // Rows of one 64-byte line (int4 and int2 at D 128): the keys of whole
    // iterations, then (in the block's last iteration, when n is not a
    // multiple of kDotLanes) the rest, whose rows past the block read its
    // last key again (their weights are 0): the clamp only there. Longer
    // rows keep one loop with the clamp in every iteration (int8 P V
    // measured slower without it).
    bool splitTail = rowBytes <= kDotBytes;
    Value whole = splitTail ? roundDown(b, n, kKeys * kQuads) : c0;
    auto emitLoop = [&](Value lo, Value hi, ValueRange init,
                        bool clamp) -> scf::ForOp {
      auto loop = scf::ForOp::create(b, lo, hi, cIdx(kKeys * kQuads), init);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value last = clamp ? arith::SubIOp::create(b, n, c1) : Value();
      SmallVector<Value> next(loop.getRegionIterArgs());
      for (int64_t quadIndex = 0; quadIndex < kQuads; ++quadIndex) {
        Value jq = arith::AddIOp::create(b, loop.getInductionVar(),
                                         cIdx(kKeys * quadIndex));
        // 4 keys' spans.
        auto readType = VectorType::get({count * kSpan}, b.getI8Type());
        SmallVector<Value> rows;
        for (int64_t u = 0; u < kKeys; ++u) {
          Value jj = arith::AddIOp::create(b, jq, cIdx(u));
          Value j = arith::AddIOp::create(
              b, j0, clamp ? arith::MinUIOp::create(b, jj, last) : jj);
          Value pad = arith::ConstantOp::create(b, b.getI8IntegerAttr(0));
          rows.push_back(vector::TransferReadOp::create(
              b, readType, value->data, ValueRange{bi, hk, j, cIdx(s0 * kSpan)},
              pad, ArrayRef<bool>{(s0 + count) * kSpan <= rowBytes}));
        }
        // Byte i of keys 0, 1 (and 2, 3) side by side, then those pairs of
        // two keys side by side: lane i of span `sp` holds byte
        // (s0 + sp) * kSpan + i of the 4 keys.
        SmallVector<int64_t> pairLanes;
        for (int64_t i = 0; i < count * kSpan; ++i)
          pairLanes.append({i, count * kSpan + i});
        Value pair01 =
            vector::ShuffleOp::create(b, rows[0], rows[1], pairLanes);
        Value pair23 =
            vector::ShuffleOp::create(b, rows[2], rows[3], pairLanes);
        for (int64_t sp = 0; sp < count; ++sp) {
          SmallVector<int64_t> quadLanes;
          for (int64_t i = 0; i < kSpan; ++i) {
            int64_t at = 2 * (sp * kSpan + i);
            quadLanes.append({at, at + 1, 2 * count * kSpan + at,
                              2 * count * kSpan + at + 1});
          }
          Value quad = vector::ShuffleOp::create(b, pair01, pair23, quadLanes);
          // Sub-byte codes biased to be non-negative; int8 codes are the
          // signed operand as they are, or their biased halves (each in
          // [0, 16): within 5 signed bits).
          SmallVector<Value> parts =
              nibbles ? nibblePlanes(quad)
              : bits < 8
                  ? biasedPlanes(quad, bits, value->scheme.getSymmetric())
                  : SmallVector<Value>{quad};
          unsigned partBits = nibbles ? 5 : bits < 8 ? bits + 1 : 8;
          int64_t g = groupOf(s0 + sp);
          for (int64_t t = 0; t < br; ++t) {
            // The 4 keys' weights as one i32, in every lane (of their
            // group's lanes, with several groups per span).
            Value w = broadcastWord(wq, {cIdx(t), cIdx(g), jq}, kSpan);
            if (spanGroups > 1)
              w = vector::BitCastOp::create(
                  b, w.getType(), perGroup([&](int64_t p) -> Value {
                    int64_t gp = std::min(g + p, valueGroups - 1);
                    return vector::BitCastOp::create(
                        b, laneI32,
                        p ? broadcastWord(wq, {cIdx(t), cIdx(gp), jq}, kSpan)
                          : w);
                  }));
            for (int64_t k = 0; k < fields; ++k) {
              int64_t i = (t * count + sp) * fields + k;
              next[i] = dotI8(next[i], w, parts[k], 8, partBits);
            }
          }
        }
      }
      scf::YieldOp::create(b, next);
      return loop;
    };
    scf::ForOp loop;
    if (splitTail)
      loop = emitLoop(c0, whole, init, /*clamp=*/false);
    loop = emitLoop(whole, n,
                    loop ? ValueRange(loop.getResults()) : ValueRange(init),
                    /*clamp=*/true);
    // Into the f32 accumulators: (sum u * (code + h) - h * sum u) * step.
    // Their vectors (vw = kDotLanes lanes) are the planes of 16-byte spans:
    // a narrower span fills part of one.
    for (int64_t t = 0; t < br; ++t)
      for (int64_t sp = 0; sp < count; ++sp) {
        int64_t g = groupOf(s0 + sp);
        auto side = [&](Value buffer) -> Value {
          return perGroup([&](int64_t p) -> Value {
            int64_t gp = std::min(g + p, valueGroups - 1);
            return vector::BroadcastOp::create(
                b, laneF32,
                memref::LoadOp::create(b, buffer, {cIdx(t), cIdx(gp)}));
          });
        };
        Value step = side(wStep);
        Value offset = valueCodeBias(bits) ? side(wOffset) : Value();
        Value zero = wZero ? side(wZero) : Value();
        int64_t byte0 = (s0 + sp) * kSpan;
        int64_t first = (t * count + sp) * fields;
        for (int64_t k = 0; k < planes; ++k) {
          int64_t c = byte0 / kDotLanes * planes + k;
          // sum u * (code + 128) = sum u * lo + 16 * sum u * hi.
          Value total = nibbles ? joinNibbleSums(loop.getResult(first),
                                                 loop.getResult(first + 1))
                                : loop.getResult(first + k);
          Value sum = arith::SIToFPOp::create(b, laneF32, total);
          if (offset)
            sum = arith::SubFOp::create(b, sum, offset);
          Value idx[2] = {cIdx(t), cIdx(c * vw + byte0 % kDotLanes)};
          Value acc = vector::LoadOp::create(b, laneF32, accs, idx);
          if (zero)
            acc = arith::AddFOp::create(b, acc, zero);
          vector::StoreOp::create(b, vector::FMAOp::create(b, sum, step, acc),
                                  accs, idx);
        }
      }
  }
}

void AttentionEmitter::findTernaryValue() {
  auto decode =
      dyn_cast_or_null<VidKVDecodeValueOp>(value->decoder.getOperation());
  // The per-key kernel of decode shapes (one query token), token groups of
  // whole iterations of kDotLanes keys.
  if (!decode || !opts.int8PV || vw != kDotLanes || qType.getShape()[2] != 1 ||
      decode.getGroupSize() % kDotLanes != 0)
    return;
  auto codesType = cast<RankedTensorType>(decode.getCodes().getType());
  auto scaleType = cast<RankedTensorType>(decode.getScale().getType());
  Value codes = reader.getBuffer(decode.getCodes());
  Value scale = reader.getBuffer(decode.getScale());
  if (!codes || !scale || codesType.isDynamicDim(3) ||
      scaleType.isDynamicDim(3) ||
      codesType.getDimSize(3) != int64_t(llvm::divideCeil(dv, 5)))
    return;
  ternaryValue = TernaryValue{codes, scale, int64_t(decode.getGroupSize())};
}

SmallVector<Value> AttentionEmitter::ternaryPlanes(Value bytes,
                                                   ArrayRef<int64_t> which) {
  auto bytesType = cast<VectorType>(bytes.getType());
  if (features.byteTables && bytesType.getNumElements() % 64 == 0) {
    // One lookup per digit in a table of the 256 byte values (those past
    // 3^5 = 243 are no code: 0).
    SmallVector<Value> planes;
    auto tableType = VectorType::get({256}, b.getI8Type());
    for (int64_t k : which) {
      int64_t power = 1;
      for (int64_t i = 0; i < k; ++i)
        power *= 3;
      SmallVector<int8_t> table(256, 0);
      for (int64_t x = 0; x < 243; ++x)
        table[x] = int8_t((x / power) % 3 - 1);
      Value constant = arith::ConstantOp::create(
          b, DenseElementsAttr::get(tableType, ArrayRef<int8_t>(table)));
      planes.push_back(LookupOp::create(b, constant, bytes));
    }
    return planes;
  }
  // In 16-bit lanes (the even bytes, then the odd ones): q / 3 is
  // (q * 171) >> 9 for q < 256 (in 16 bits, with no widening multiply),
  // so each digit is q - 3 (q / 3) and the next q is q / 3; the last digit
  // is what remains.
  int64_t n = bytesType.getNumElements();
  auto halfType = VectorType::get({n / 2}, b.getI16Type());
  auto splat16 = [&](int64_t v) -> Value {
    return arith::ConstantOp::create(
        b, DenseElementsAttr::get(halfType, b.getI16IntegerAttr(v)));
  };
  Value words = vector::BitCastOp::create(b, halfType, bytes);
  Value q[2] = {arith::AndIOp::create(b, words, splat16(0xff)),
                arith::ShRUIOp::create(b, words, splat16(8))};
  auto third = [&](Value x) -> Value {
    return arith::ShRUIOp::create(b, arith::MulIOp::create(b, x, splat16(171)),
                                  splat16(9));
  };
  SmallVector<Value> planes;
  for (int k = 0; k < 5; ++k) {
    Value digit[2];
    for (int h = 0; h < 2; ++h) {
      if (k == 4) {
        digit[h] = q[h];
        continue;
      }
      Value next = third(q[h]);
      digit[h] = arith::SubIOp::create(
          b, q[h], arith::MulIOp::create(b, next, splat16(3)));
      q[h] = next;
    }
    Value joined = arith::OrIOp::create(
        b, digit[0], arith::ShLIOp::create(b, digit[1], splat16(8)));
    planes.push_back(arith::SubIOp::create(
        b, vector::BitCastOp::create(b, bytesType, joined),
        arith::ConstantOp::create(
            b, DenseElementsAttr::get(bytesType, b.getI8IntegerAttr(1)))));
  }
  SmallVector<Value> chosen;
  for (int64_t k : which)
    chosen.push_back(planes[k]);
  return chosen;
}

void AttentionEmitter::emitTernaryValueInt8(Value bi, Value hk, Value j0,
                                            Value n, Value wq, Value wStep,
                                            Value accs) {
  const TernaryValue &tv = *ternaryValue;
  constexpr int64_t kSpan = kDotLanes;
  constexpr int64_t kKeys = 4;
  constexpr int64_t kQuads = kDotLanes / kKeys;
  constexpr int64_t kPlanes = 5;
  int64_t rowBytes = llvm::divideCeil(dv, kPlanes);
  int64_t spans = llvm::divideCeil(rowBytes, kSpan);
  auto laneI32 = VectorType::get({kSpan}, b.getI32Type());
  auto laneF32 = VectorType::get({kSpan}, f32);
  Value zeroAcc = arith::ConstantOp::create(
      b, DenseElementsAttr::get(laneI32, b.getI32IntegerAttr(0)));
  // One span (16 code bytes, 80 channels) at a time: its planes' i32
  // accumulators for each row. With the byte tables in two passes, planes
  // 0-2 then 3-4 (each lookup reads its own table: a pass holds 3 or 2
  // tables' 4 registers and as many accumulators per row, which all 5 at
  // once would spill); the multiply-shift digits come out of one chain.
  SmallVector<SmallVector<int64_t>> passes =
      features.byteTables ? SmallVector<SmallVector<int64_t>>{{0, 1, 2}, {3, 4}}
                          : SmallVector<SmallVector<int64_t>>{{0, 1, 2, 3, 4}};
  for (int64_t sp = 0; sp < spans; ++sp)
    for (ArrayRef<int64_t> which : passes) {
      int64_t count = which.size();
      SmallVector<Value> init(br * count, zeroAcc);
      // The block's whole iterations of 16 keys, then (when n is not a
      // multiple of 16) the last, whose keys past the block read its last
      // key again (their weights are 0): the clamps only there.
      auto emitLoop = [&](Value lo, Value hi, ValueRange start,
                          bool clamp) -> scf::ForOp {
        auto loop = scf::ForOp::create(b, lo, hi, cIdx(kKeys * kQuads), start);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(loop.getBody());
        Value jj0 = loop.getInductionVar();
        Value last = clamp ? arith::SubIOp::create(b, n, c1) : Value();
        SmallVector<Value> next(loop.getRegionIterArgs());
        for (int64_t quadIndex = 0; quadIndex < kQuads; ++quadIndex) {
          Value jq = arith::AddIOp::create(b, jj0, cIdx(kKeys * quadIndex));
          // 4 keys' bytes of the span (keys past the block read its last key
          // again: their weights are 0), byte i of the 4 keys side by side.
          auto readType = VectorType::get({kSpan}, b.getI8Type());
          SmallVector<Value> rows;
          for (int64_t u = 0; u < kKeys; ++u) {
            Value jj = arith::AddIOp::create(b, jq, cIdx(u));
            if (clamp)
              jj = arith::MinUIOp::create(b, jj, last);
            Value j = arith::AddIOp::create(b, j0, jj);
            Value pad = arith::ConstantOp::create(b, b.getI8IntegerAttr(0));
            rows.push_back(vector::TransferReadOp::create(
                b, readType, tv.codes, ValueRange{bi, hk, j, cIdx(sp * kSpan)},
                pad, ArrayRef<bool>{(sp + 1) * kSpan <= rowBytes}));
          }
          SmallVector<int64_t> pairLanes, quadLanes;
          for (int64_t i = 0; i < kSpan; ++i)
            pairLanes.append({i, kSpan + i});
          for (int64_t i = 0; i < kSpan; ++i)
            quadLanes.append(
                {2 * i, 2 * i + 1, 2 * kSpan + 2 * i, 2 * kSpan + 2 * i + 1});
          Value pair01 =
              vector::ShuffleOp::create(b, rows[0], rows[1], pairLanes);
          Value pair23 =
              vector::ShuffleOp::create(b, rows[2], rows[3], pairLanes);
          Value quad = vector::ShuffleOp::create(b, pair01, pair23, quadLanes);
          SmallVector<Value> planes = ternaryPlanes(quad, which);
          for (int64_t t = 0; t < br; ++t) {
            Value w = broadcastWord(wq, {cIdx(t), c0, jq}, kSpan);
            for (int64_t k = 0; k < count; ++k) {
              int64_t i = t * count + k;
              next[i] = dotI8(next[i], w, planes[k], 8, 2);
            }
          }
        }
        // Where the keys' token group ends (or the block): into the f32
        // accumulators, times the step and the channels' scales, and start
        // again.
        Value jNext = arith::AddIOp::create(b, jj0, cIdx(kKeys * kQuads));
        Value groupEnds = arith::CmpIOp::create(
            b, arith::CmpIPredicate::eq,
            arith::RemUIOp::create(b, arith::AddIOp::create(b, j0, jNext),
                                   cIdx(tv.groupSize)),
            c0);
        Value blockEnds =
            arith::CmpIOp::create(b, arith::CmpIPredicate::uge, jNext, n);
        auto flush = scf::IfOp::create(
            b, ValueRange(next).getTypes(),
            arith::OrIOp::create(b, groupEnds, blockEnds), /*withElse=*/true);
        {
          OpBuilder::InsertionGuard flushGuard(b);
          b.setInsertionPointToStart(flush.thenBlock());
          Value group = arith::DivUIOp::create(
              b, arith::AddIOp::create(b, j0, jj0), cIdx(tv.groupSize));
          SmallVector<Value> natural;
          for (int64_t c = 0, e = llvm::divideCeil(dv, vw); c < e; ++c)
            natural.push_back(
                readF32Chunk(tv.scale, {bi, hk, group}, c * vw, dv));
          SmallVector<Value> scales = toLayout(*value, natural);
          for (int64_t t = 0; t < br; ++t) {
            Value step = vector::BroadcastOp::create(
                b, laneF32, memref::LoadOp::create(b, wStep, {cIdx(t), c0}));
            for (int64_t k = 0; k < count; ++k) {
              int64_t c = sp * kPlanes + which[k];
              Value sum =
                  arith::SIToFPOp::create(b, laneF32, next[t * count + k]);
              Value idx[2] = {cIdx(t), cIdx(c * vw)};
              Value acc = vector::LoadOp::create(b, laneF32, accs, idx);
              vector::StoreOp::create(
                  b,
                  vector::FMAOp::create(
                      b, sum, arith::MulFOp::create(b, step, scales[c]), acc),
                  accs, idx);
            }
          }
          scf::YieldOp::create(b, init);
          b.setInsertionPointToStart(flush.elseBlock());
          scf::YieldOp::create(b, next);
        }
        scf::YieldOp::create(b, flush.getResults());
        return loop;
      };
      Value whole = roundDown(b, n, kKeys * kQuads);
      scf::ForOp first = emitLoop(c0, whole, init, /*clamp=*/false);
      emitLoop(whole, n, first.getResults(), /*clamp=*/true);
    }
}

void AttentionEmitter::emitDotGroupData(Value corr, Value sqLanes, Value gcorr,
                                        Value gsq) {
  for (int64_t t = 0; t < br; ++t)
    for (auto [i, group] : llvm::enumerate(dotGroups)) {
      Value sum;
      for (int64_t w = group.firstWord; w < group.firstWord + group.words;
           ++w) {
        Value c = memref::LoadOp::create(b, corr, {cIdx(t), cIdx(w)});
        sum = sum ? arith::AddIOp::create(b, sum, c) : c;
      }
      memref::StoreOp::create(b, sum, gcorr, {cIdx(t), cIdx(i)});
      memref::StoreOp::create(
          b,
          memref::LoadOp::create(b, sqLanes, {cIdx(t), cIdx(group.firstWord)}),
          gsq, {cIdx(t), cIdx(i)});
    }
}

void AttentionEmitter::emitInt8ScoresByLane(
    Value bi, Value hk, Value j0, Value n, Value qb, Value qWords, Value gcorr,
    Value gsq, Value scores, ArrayRef<Value> posIdx, const KeyScaleFold *fold,
    Value qt) {
  // Keys per iteration: one register of i32 lanes (kDotLanes with 512-bit
  // registers; 8 with AVX2, whose 16 registers would spill the scores and
  // accumulators of 16 keys).
  const int64_t keys = registerDotLanes();
  auto laneI32 = VectorType::get({keys}, b.getI32Type());
  auto laneF32 = VectorType::get({keys}, f32);
  auto bytesType = VectorType::get({4 * keys}, b.getI8Type());
  const KVSource &keyCodes = *dotKey;
  int64_t rowBytes = dotDim * dotBits / 8;
  int64_t wordsPerVector = kDotBytes / 4;
  int64_t keyGroups = cast<MemRefType>(keyCodes.scale.getType()).getShape()[3];
  SmallVector<Value> keyPrefix = sideRowIndices(keyCodes, bi, hk);
  // Words read and transposed at a time: all 16 of a vector (16 x 64 bytes
  // of keys live) with 512-bit registers; 4 (16 x 16 bytes, each 4 x 4
  // block transposed on its own) with narrower ones, whose register file
  // would spill the 64-byte rows.
  int64_t chunkWords = features.registerBits >= 512 ? wordsPerVector : 4;

  bool biased = keyCodes.scheme.getSymmetric();
  // Rows of one 64-byte line (int4 and int2 at D 128): the keys of whole
  // iterations, then (in the block's last iteration, when n is not a
  // multiple of `keys`) the rest, whose rows past the block read its last
  // key again and whose scores are masked: the clamps and the mask only
  // there. Longer rows keep one loop with the clamps and the mask in every
  // iteration: without the clamps LLVM schedules the loads of all 16 keys'
  // lines first and spills, and int8 keys measured slower.
  auto body = [&](Value jj, bool clamp) {
    Value jBase = arith::AddIOp::create(b, j0, jj);
    Value last =
        clamp ? arith::SubIOp::create(b, arith::AddIOp::create(b, j0, n), c1)
              : Value();
    auto clamped = [&](Value j) -> Value {
      return clamp ? arith::MinUIOp::create(b, j, last) : j;
    };
    // The keys' scales, one vector of keys per key group; or, folded into
    // the query, the query of their token group: quantized again where a
    // group starts (and at the block's first keys).
    SmallVector<Value> keyScales;
    if (fold) {
      buildIf(b,
              startsKeyGroup(jBase, arith::CmpIOp::create(
                                        b, arith::CmpIPredicate::eq, jj, c0)),
              [&]() {
                emitFoldedQuery(bi, hk, jBase, *fold, qb, qWords, gcorr, gsq);
                if (signTail)
                  emitSignTailQuery(bi, hk, jBase, qt, *fold);
              });
    } else {
      keyScales =
          readSideKeys(keyCodes.scale, keyPrefix, jBase, keyGroups, keys);
    }
    // Each key's value row, which P V reads after the block's scores, and
    // the code rows of the keys two iterations ahead, so that the loads
    // find them in cache: the core reads one stream at a time otherwise
    // (the keys', then the values'), and one stream per core leaves the
    // memory idle. (Keys whose scales fold into the query: the fold's long
    // dependent chain once per group kept the core from issuing those loads
    // early, and at batch 8, from memory, KIVI 4 bit took 1.35x longer
    // without these prefetches. Keys with group scales, INT4 from memory
    // on Ice Lake: 1.20-1.24x faster with them.)
    Value lastKey = arith::SubIOp::create(b, skv, c1);
    for (int64_t k = 0; k < keys; ++k) {
      Value j = arith::AddIOp::create(b, jBase, cIdx(k));
      emitPrefetchRow(*value, bi, hk, clamped(j));
      emitPrefetchRow(
          keyCodes, bi, hk,
          arith::MinUIOp::create(b, arith::AddIOp::create(b, j, cIdx(2 * keys)),
                                 lastKey));
    }
    SmallVector<Value> score(br);
    size_t nextGroup = 0;
    // With int8 nibbles: the low halves' sums in `acc` (from the bias),
    // the high halves' in `accHi`.
    bool nibbles = splitsInt8(dotBits);
    SmallVector<Value> acc(br), accHi(br);
    for (int64_t v = 0; v < dotVectors; ++v)
      for (int64_t w0 = 0; w0 < wordsPerVector; w0 += chunkWords) {
        int64_t start = v * kDotBytes + 4 * w0;
        if (start >= rowBytes)
          break;
        // `chunkWords` words of each key (keys past the block read its last
        // key again), transposed: word w of the keys.
        auto chunkType = VectorType::get({4 * chunkWords}, b.getI8Type());
        auto chunkWordsType = VectorType::get({chunkWords}, b.getI32Type());
        SmallVector<Value> keyWords;
        for (int64_t k = 0; k < keys; ++k) {
          Value j = clamped(arith::AddIOp::create(b, jBase, cIdx(k)));
          Value pad = arith::ConstantOp::create(b, b.getI8IntegerAttr(0));
          Value bytes = vector::TransferReadOp::create(
              b, chunkType, keyCodes.data, ValueRange{bi, hk, j, cIdx(start)},
              pad, ArrayRef<bool>{start + 4 * chunkWords <= rowBytes});
          keyWords.push_back(
              vector::BitCastOp::create(b, chunkWordsType, bytes));
        }
        SmallVector<Value> words = transposeToLanes(b, keyWords);
        for (int64_t w = w0; w < w0 + chunkWords; ++w) {
          int64_t word = v * wordsPerVector + w;
          if (nextGroup >= dotGroups.size() ||
              word < dotGroups[nextGroup].firstWord)
            continue; // past the head dim
          const DotGroup &group = dotGroups[nextGroup];
          if (word == group.firstWord)
            for (int64_t t = 0; t < br; ++t) {
              acc[t] = vector::BroadcastOp::create(
                  b, laneI32,
                  memref::LoadOp::create(b, gcorr,
                                         {cIdx(t), cIdx(int64_t(nextGroup))}));
              if (nibbles)
                accHi[t] = arith::ConstantOp::create(
                    b, DenseElementsAttr::get(laneI32, b.getI32IntegerAttr(0)));
            }
          Value bytes = vector::BitCastOp::create(b, bytesType, words[w - w0]);
          SmallVector<Value> planes =
              nibbles ? nibblePlanes(bytes, biased)
                      : biasedPlanes(bytes, dotBits, biased);
          for (int64_t t = 0; t < br; ++t)
            for (int64_t k = 0; k < dotPlanes; ++k) {
              // The query's 4 codes of these channels, in every lane.
              int64_t at = (v * dotPlanes + k) * kDotBytes + 4 * w;
              Value qw =
                  qWords
                      ? Value(vector::LoadOp::create(
                            b, bytesType, qWords, {cIdx(t), cIdx(at / 4), c0}))
                      : broadcastWord(qb, {cIdx(t), cIdx(at)}, keys);
              if (nibbles) {
                acc[t] = dotI8(acc[t], planes[0], qw, 4, 8);
                accHi[t] = dotI8(accHi[t], planes[1], qw, 4, 8);
                continue;
              }
              acc[t] = dotI8(acc[t], planes[k], qw, dotBits, 8);
            }
          if (word + 1 < group.firstWord + group.words)
            continue;
          // The group is complete: scale it into the scores.
          for (int64_t t = 0; t < br; ++t) {
            if (nibbles)
              acc[t] = joinNibbleSums(acc[t], accHi[t]);
            Value qs = memref::LoadOp::create(
                b, gsq, {cIdx(t), cIdx(int64_t(nextGroup))});
            Value weight = vector::BroadcastOp::create(b, laneF32, qs);
            if (!fold)
              weight =
                  arith::MulFOp::create(b, keyScales[group.keyGroup], weight);
            Value sum = arith::SIToFPOp::create(b, laneF32, acc[t]);
            score[t] =
                score[t]
                    ? Value(vector::FMAOp::create(b, sum, weight, score[t]))
                    : Value(arith::MulFOp::create(b, sum, weight));
          }
          ++nextGroup;
        }
      }
    // GEAR's keys: the concatenation's float channels (the low-rank
    // coordinates), one vector of keys per channel against the row's
    // scaled query; then each outlier slot's values times the query at the
    // keys' channels (gathered; an index outside the head adds nothing).
    for (const KeyTail &tail : keyTails) {
      SmallVector<Value> channels =
          readSideKeys(tail.buffer, {bi, hk}, jBase, tail.width, keys);
      for (int64_t c = 0; c < tail.width; ++c)
        for (int64_t t = 0; t < br; ++t)
          score[t] = vector::FMAOp::create(
              b,
              vector::BroadcastOp::create(
                  b, laneF32,
                  memref::LoadOp::create(b, qt,
                                         {cIdx(t), cIdx(tail.offset + c)})),
              channels[c], score[t]);
    }
    // VidKV's spectral slots: each 32 slots' bits of the keys as one
    // vector of i32 lanes (a key each), its 8 planes of 0 / 1 bytes
    // (plane k, byte i: slot 8 * i + k) dotted with the row's codes, the
    // sums scaled by the row's step.
    if (signTail) {
      int64_t bytes = llvm::divideCeil(signTail->width, int64_t(8));
      int64_t words = llvm::divideCeil(bytes, int64_t(4));
      SmallVector<Value> columns =
          readSideKeys(signTail->codes, {bi, hk}, jBase, bytes, keys,
                       /*extend=*/false);
      auto laneI8 = VectorType::get({keys}, b.getI8Type());
      while (int64_t(columns.size()) < 4 * words)
        columns.push_back(arith::ConstantOp::create(b, b.getZeroAttr(laneI8)));
      // Lane 4 * k + i of the joined bytes: byte i of key k.
      SmallVector<int64_t> byKey;
      for (int64_t k = 0; k < keys; ++k)
        for (int64_t i = 0; i < 4; ++i)
          byKey.push_back(i * keys + k);
      Value lowBits = arith::ConstantOp::create(
          b, DenseElementsAttr::get(laneI32, b.getI32IntegerAttr(0x01010101)));
      Value zeroAcc = arith::ConstantOp::create(b, b.getZeroAttr(laneI32));
      for (int64_t w = 0; w < words; ++w) {
        auto seq = llvm::to_vector(llvm::seq<int64_t>(0, 2 * keys));
        Value bytes01 = vector::ShuffleOp::create(b, columns[4 * w],
                                                  columns[4 * w + 1], seq);
        Value bytes23 = vector::ShuffleOp::create(b, columns[4 * w + 2],
                                                  columns[4 * w + 3], seq);
        Value word = vector::BitCastOp::create(
            b, laneI32, vector::ShuffleOp::create(b, bytes01, bytes23, byKey));
        SmallVector<Value> acc(br, zeroAcc);
        for (int64_t k = 0; k < 8; ++k) {
          Value shifted =
              k ? Value(arith::ShRUIOp::create(
                      b, word,
                      arith::ConstantOp::create(
                          b, DenseElementsAttr::get(
                                 laneI32, b.getI32IntegerAttr(int32_t(k))))))
                : word;
          Value plane = vector::BitCastOp::create(
              b, bytesType, arith::AndIOp::create(b, shifted, lowBits));
          for (int64_t t = 0; t < br; ++t)
            acc[t] = dotI8(acc[t], plane,
                           broadcastWord(signTail->words,
                                         {cIdx(t), cIdx(32 * w + 4 * k)}, keys),
                           1, 8);
        }
        for (int64_t t = 0; t < br; ++t)
          score[t] = vector::FMAOp::create(
              b, arith::SIToFPOp::create(b, laneF32, acc[t]),
              vector::BroadcastOp::create(
                  b, laneF32,
                  memref::LoadOp::create(b, signTail->steps,
                                         {cIdx(t), cIdx(w)})),
              score[t]);
      }
    }
    if (int64_t count = key->outlierCount()) {
      GearDecodeOp gear = key->outlierDecoder;
      Value indexBuffer = reader.getBuffer(gear.getIndices());
      SmallVector<Value> slots =
          readSideKeys(indexBuffer, {bi, hk}, jBase, count, keys,
                       /*extend=*/false);
      SmallVector<Value> values = readSideKeys(
          reader.getBuffer(gear.getValues()), {bi, hk}, jBase, count, keys);
      int64_t channels = gear.getResult().getType().getDimSize(3);
      Value zeros = arith::ConstantOp::create(
          b, DenseElementsAttr::get(laneF32, b.getF32FloatAttr(0.0)));
      for (int64_t o = 0; o < count; ++o) {
        // Unsigned, so that a negative index is outside too.
        Value inside = arith::CmpIOp::create(
            b, arith::CmpIPredicate::ult, slots[o],
            arith::ConstantOp::create(
                b, DenseElementsAttr::get(
                       laneI32, b.getI32IntegerAttr(int32_t(channels)))));
        Value at = arith::AddIOp::create(
            b, slots[o],
            arith::ConstantOp::create(
                b, DenseElementsAttr::get(laneI32, b.getI32IntegerAttr(int32_t(
                                                       key->outlierOffset)))));
        for (int64_t t = 0; t < br; ++t) {
          Value q = vector::GatherOp::create(b, laneF32, qt, {cIdx(t), c0}, at,
                                             inside, zeros);
          score[t] = vector::FMAOp::create(b, values[o], q, score[t]);
        }
      }
    }
    // The zero points' share of the scores, the same for the group's keys.
    if (fold && fold->offset)
      for (int64_t t = 0; t < br; ++t)
        score[t] = arith::AddFOp::create(
            b, score[t],
            vector::BroadcastOp::create(
                b, laneF32,
                memref::LoadOp::create(b, fold->offset, {cIdx(t)})));
    storeScores(score, jj, j0, n, posIdx, scores, /*inRange=*/!clamp);
  };
  buildWholeThenPartialFor(b, n, keys, /*split=*/rowBytes <= kDotBytes, body);
}

void AttentionEmitter::emitSignTailQuery(Value bi, Value hk, Value j, Value qt,
                                         const KeyScaleFold &fold) {
  const SignTail &tail = *signTail;
  Value group = arith::DivUIOp::create(b, j, cIdx(tail.groupSize));
  // Whole words of 32 slots (two vectors each; vw is kDotLanes), zero past
  // the slots.
  int64_t words = llvm::divideCeil(tail.width, int64_t(32));
  int64_t chunks = 2 * words;
  int64_t qtWidth = cast<MemRefType>(qt.getType()).getShape()[1];
  SmallVector<Value> scales;
  for (int64_t c = 0; c < chunks; ++c)
    scales.push_back(
        c * vw < tail.width
            ? readF32Chunk(tail.scale, {bi, hk, group}, c * vw, tail.width)
            : splat(cF32(0.0)));
  // Byte 4 * k + i of a word's codes: slot 8 * i + k (plane k, byte i).
  SmallVector<int64_t> planeOrder;
  for (int64_t k = 0; k < 8; ++k)
    for (int64_t i = 0; i < 4; ++i)
      planeOrder.push_back(8 * i + k);
  SmallVector<Value> sums, magnitudes;
  SmallVector<SmallVector<Value>> x(br);
  for (int64_t t = 0; t < br; ++t) {
    Value sum;
    for (int64_t c = 0; c < chunks; ++c) {
      int64_t at = tail.offset + c * vw;
      Value q = vector::TransferReadOp::create(
          b, vecF32, qt, ValueRange{cIdx(t), cIdx(at)}, cF32(0.0),
          ArrayRef<bool>{at + vw <= qtWidth});
      Value product = arith::MulFOp::create(b, q, scales[c]);
      sum = sum ? arith::AddFOp::create(b, sum, product) : product;
      x[t].push_back(arith::AddFOp::create(b, product, product));
    }
    sums.push_back(sum);
    for (int64_t w = 0; w < words; ++w)
      magnitudes.push_back(selectMax(math::AbsFOp::create(b, x[t][2 * w]),
                                     math::AbsFOp::create(b, x[t][2 * w + 1])));
  }
  // Pair i = t * words + w: its largest magnitude (all pairs from one
  // shuffle tree), the step max / 127 and the codes round(x * 127 / max).
  int64_t perVector, lanes;
  SmallVector<Value> maxima =
      reduceRowsToLanes(magnitudes, perVector, lanes,
                        [&](Value p, Value q) { return selectMax(p, q); });
  for (int64_t t = 0; t < br; ++t)
    for (int64_t w = 0; w < words; ++w) {
      int64_t i = t * words + w;
      Value m = vector::ExtractOp::create(b, maxima[i / perVector],
                                          (i % perVector) * lanes);
      Value nonZero =
          arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, m, cF32(0.0));
      Value inv = splat(arith::SelectOp::create(
          b, nonZero, arith::DivFOp::create(b, cF32(127.0), m), cF32(0.0)));
      memref::StoreOp::create(b, arith::DivFOp::create(b, m, cF32(127.0)),
                              tail.steps, {cIdx(t), cIdx(w)});
      SmallVector<Value> codes;
      for (int64_t h = 0; h < 2; ++h)
        codes.push_back(arith::FPToSIOp::create(
            b, VectorType::get({vw}, b.getI32Type()),
            math::RoundEvenOp::create(
                b, arith::MulFOp::create(b, x[t][2 * w + h], inv))));
      Value word = arith::TruncIOp::create(
          b, VectorType::get({32}, b.getI8Type()),
          vector::ShuffleOp::create(
              b, codes[0], codes[1],
              llvm::to_vector(llvm::seq<int64_t>(0, 32))));
      vector::StoreOp::create(
          b, vector::ShuffleOp::create(b, word, word, planeOrder), tail.words,
          {cIdx(t), cIdx(32 * w)});
    }
  // All rows' sums from one shuffle tree.
  for (auto [t, total] : llvm::enumerate(reduceRows(sums))) {
    Value offset = memref::LoadOp::create(b, fold.offset, {cIdx(int64_t(t))});
    memref::StoreOp::create(b, arith::SubFOp::create(b, offset, total),
                            fold.offset, {cIdx(int64_t(t))});
  }
}

void AttentionEmitter::emitQueryWords(Value qb, Value qWords) {
  int64_t dotWidth = dotVectors * kDotBytes * dotPlanes;
  for (int64_t t = 0; t < br; ++t)
    for (int64_t w = 0; w < dotWidth / 4; ++w)
      vector::StoreOp::create(
          b, broadcastWord(qb, {cIdx(t), cIdx(4 * w)}, registerDotLanes()),
          qWords, {cIdx(t), cIdx(w), c0});
}

Value AttentionEmitter::startsKeyGroup(Value j, Value first) {
  return arith::OrIOp::create(
      b, first,
      arith::CmpIOp::create(
          b, arith::CmpIPredicate::eq,
          arith::RemUIOp::create(b, j, cIdx(keyScaleSource->extent[2])), c0));
}

void AttentionEmitter::emitPrefetchNextKeyGroup(Value bi, Value hk, Value j) {
  const KVSource &src = *keyScaleSource;
  SmallVector<Value> indices = sideRowIndices(src, bi, hk);
  indices.push_back(
      arith::AddIOp::create(b, getTokenSideIndex(b, b.getLoc(), src, j), c1));
  for (Value side : {src.scale, src.zeroPoint})
    if (side)
      emitPrefetchLines(side, indices);
}

bool AttentionEmitter::findPassThroughOperand(
    const KVSource &src, function_ref<bool(const KVSource &)> accept,
    KVSource &found, int64_t &offset, Value &codes) {
  if (!src.decoder)
    return false;
  auto passThrough = [&](Value v) -> DequantizeOp {
    if (auto gear = v.getDefiningOp<GearDecodeOp>()) {
      if (gear != src.outlierDecoder &&
          gear.getIndices().getType().getDimSize(3) != 0)
        return {};
      if (gear.getA().getType().getDimSize(3) != 0)
        return {};
      v = gear.getBase();
    }
    return v.getDefiningOp<DequantizeOp>();
  };
  Operation *op = src.decoder.getOperation();
  SmallVector<Value> inputs = {op->getResult(0)};
  if (auto concat = dyn_cast<tensor::ConcatOp>(op)) {
    if (concat.getDim() != 3)
      return false;
    inputs = llvm::to_vector(concat.getInputs());
  }
  // VidKV's key slots: the high channels come first, as they are.
  if (auto slots = dyn_cast<VidKVDecodeKeySlotsOp>(op))
    inputs = {slots.getHigh()};
  offset = 0;
  for (Value input : inputs) {
    DequantizeOp dequantize = passThrough(input);
    if (dequantize && dequantize.getScale() && input.hasOneUse() &&
        dequantize.getResult().hasOneUse()) {
      static_cast<KVOperand &>(found) =
          reader.quantizedOperand(dequantize.getCodes(), dequantize.getScale());
      if (accept(found)) {
        codes = dequantize.getCodes();
        return true;
      }
    }
    offset += cast<RankedTensorType>(input.getType()).getDimSize(3);
  }
  return false;
}

void AttentionEmitter::findFoldedKeyOperand() {
  KVSource found;
  if (findPassThroughOperand(
          *key, [&](const KVSource &x) { return hasTokenGroupScales(x); },
          found, keyScaleOffset, keyScaleCodes))
    keyScaleSource = found;
}

void AttentionEmitter::emitFoldedQueryF32(Value bi, Value hk, Value j, Value qt,
                                          const KeyScaleFold &fold) {
  emitPrefetchNextKeyGroup(bi, hk, j);
  const KVSource &src = *keyScaleSource;
  SmallVector<Value> offsets(br);
  for (int64_t c = 0; c < dChunks; ++c) {
    // In the key's layout; lanes past the head dim have a zero query.
    // For a decoded key, the lanes of the folded operand's channels take
    // its scales (zero points), the others 1 (0).
    Value scale, zero;
    if (!key->decoder) {
      scale = spread(loadScaleChunk(*key, key->scale, bi, hk, j, c));
      if (fold.offset)
        zero = spread(loadScaleChunk(*key, key->zeroPoint, bi, hk, j, c));
    } else {
      SmallVector<int64_t> channels;
      SmallVector<bool> inside;
      for (int64_t lane = 0; lane < vw; ++lane) {
        int64_t channel = c * vw + lane - keyScaleOffset;
        inside.push_back(channel >= 0 && channel < src.dim);
        channels.push_back(channel);
      }
      auto first = llvm::find(inside, true);
      if (first == inside.end()) {
        // No lane of the operand: the query as it is.
        for (int64_t t = 0; t < br; ++t) {
          Value idx[2] = {cIdx(t), cIdx(c * vw)};
          vector::StoreOp::create(b, vector::LoadOp::create(b, vecF32, qt, idx),
                                  fold.query, idx);
        }
        continue;
      }
      int64_t firstChannel = channels[first - inside.begin()];
      for (int64_t lane = 0; lane < vw; ++lane)
        if (!inside[lane])
          channels[lane] = firstChannel;
      scale = spread(loadScaleLanes(src, src.scale, bi, hk, j, channels));
      if (fold.offset)
        zero = spread(loadScaleLanes(src, src.zeroPoint, bi, hk, j, channels));
      if (!llvm::all_of(inside, [](bool x) { return x; })) {
        Value mask = arith::ConstantOp::create(
            b, DenseElementsAttr::get(VectorType::get({vw}, b.getI1Type()),
                                      ArrayRef<bool>(inside)));
        scale = arith::SelectOp::create(b, mask, scale, splat(cF32(1.0)));
        if (zero)
          zero = arith::SelectOp::create(b, mask, zero, splat(cF32(0.0)));
      }
    }
    for (int64_t t = 0; t < br; ++t) {
      Value idx[2] = {cIdx(t), cIdx(c * vw)};
      Value qv = vector::LoadOp::create(b, vecF32, qt, idx);
      vector::StoreOp::create(b, arith::MulFOp::create(b, qv, scale),
                              fold.query, idx);
      if (zero)
        offsets[t] = offsets[t]
                         ? Value(vector::FMAOp::create(b, qv, zero, offsets[t]))
                         : Value(arith::MulFOp::create(b, qv, zero));
    }
  }
  if (fold.offset)
    for (auto [t, sum] : llvm::enumerate(reduceRows(offsets)))
      memref::StoreOp::create(b, sum, fold.offset, {cIdx(int64_t(t))});
}

void AttentionEmitter::emitFoldedQuery(Value bi, Value hk, Value j,
                                       const KeyScaleFold &fold, Value qb,
                                       Value qWords, Value gcorr, Value gsq) {
  // Per row and query group of 32 channels (two vectors: vw is kDotLanes),
  // as emitQueryInt8 but in registers: the groups' largest magnitudes and
  // their code sums each come out of one shuffle tree for all pairs.
  int64_t chunks = llvm::divideCeil(dotDim, vw);
  int64_t queryGroups = dotGroups.size();
  int64_t perGroup = kQueryGroup / vw;
  int64_t h = int64_t(1) << (dotBits - 1);
  emitPrefetchNextKeyGroup(bi, hk, j);
  // The group's scales (and zero points) of each vector of channels, in
  // natural order, read once for all rows; past the head dim the query is
  // zero and so is its product.
  SmallVector<Value> scales, zeros;
  for (int64_t c = 0; c < chunks; ++c) {
    SmallVector<int64_t> channels;
    for (int64_t lane = 0; lane < vw; ++lane)
      channels.push_back(c * vw + lane);
    scales.push_back(
        spread(loadScaleLanes(*dotKey, dotKey->scale, bi, hk, j, channels)));
    // Unsigned codes u enter the dot products centred, as u - h (h =
    // 2^(bits-1): the same planes, the accumulators starting at
    // -h * sum of query codes), and the offset takes z + h * s: the
    // query's rounding error then meets codes of either sign, in [-h, h),
    // instead of codes in [0, 2h).
    if (fold.offset)
      zeros.push_back(
          math::FmaOp::create(b, scales.back(), splat(cF32(double(h))),
                              spread(loadScaleLanes(*dotKey, dotKey->zeroPoint,
                                                    bi, hk, j, channels))));
  }
  Value zeroVec = arith::ConstantOp::create(
      b, DenseElementsAttr::get(vecF32, b.getF32FloatAttr(0.0)));
  // x[t][c] = query * scales; each (row, group) pair's lane-wise magnitude.
  SmallVector<SmallVector<Value>> x(br);
  SmallVector<Value> magnitudes, offsets;
  for (int64_t t = 0; t < br; ++t) {
    Value offset;
    for (int64_t c = 0; c < queryGroups * perGroup; ++c) {
      if (c >= chunks) {
        x[t].push_back(zeroVec);
        continue;
      }
      Value qv = vector::LoadOp::create(b, vecF32, fold.query,
                                        {cIdx(t), cIdx(c * vw)});
      x[t].push_back(arith::MulFOp::create(b, qv, scales[c]));
      if (fold.offset)
        offset = offset ? Value(vector::FMAOp::create(b, qv, zeros[c], offset))
                        : Value(arith::MulFOp::create(b, qv, zeros[c]));
    }
    for (int64_t g = 0; g < queryGroups; ++g) {
      Value m;
      for (int64_t k = 0; k < perGroup; ++k) {
        Value a = math::AbsFOp::create(b, x[t][g * perGroup + k]);
        m = m ? selectMax(m, a) : a;
      }
      magnitudes.push_back(m);
    }
    if (fold.offset)
      offsets.push_back(offset);
  }
  if (fold.offset)
    for (auto [t, sum] : llvm::enumerate(reduceRows(offsets)))
      memref::StoreOp::create(b, sum, fold.offset, {cIdx(int64_t(t))});

  // Pair i = t * queryGroups + g: its largest magnitude, the inverse step
  // 127 / max (0 for an all-zero group) and the step max / 127.
  int64_t perVector, lanes;
  SmallVector<Value> maxima =
      reduceRowsToLanes(magnitudes, perVector, lanes,
                        [&](Value p, Value q) { return selectMax(p, q); });
  auto pairLane = [&](ArrayRef<Value> vectors, int64_t i) -> Value {
    return vector::ExtractOp::create(b, vectors[i / perVector],
                                     (i % perVector) * lanes);
  };
  SmallVector<Value> inverse, steps;
  for (Value m : maxima) {
    Value nonZero =
        arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, m, zeroVec);
    inverse.push_back(arith::SelectOp::create(
        b, nonZero, arith::DivFOp::create(b, splat(cF32(127.0)), m), zeroVec));
    steps.push_back(arith::DivFOp::create(b, m, splat(cF32(127.0))));
  }
  auto bytesOf = [&](int64_t n) { return VectorType::get({n}, b.getI8Type()); };
  SmallVector<Value> codeSums;
  for (int64_t t = 0; t < br; ++t)
    for (int64_t g = 0; g < queryGroups; ++g) {
      int64_t i = t * queryGroups + g;
      Value inv = splat(pairLane(inverse, i));
      memref::StoreOp::create(b, pairLane(steps, i), gsq, {cIdx(t), cIdx(g)});
      // The group's codes (round to even, as f32 values), then split into
      // the planes' layout: plane k holds the channels = k mod planes.
      SmallVector<Value> rounded;
      Value sum;
      for (int64_t k = 0; k < perGroup; ++k) {
        rounded.push_back(math::RoundEvenOp::create(
            b, arith::MulFOp::create(b, x[t][g * perGroup + k], inv)));
        sum = sum ? arith::AddFOp::create(b, sum, rounded.back())
                  : rounded.back();
      }
      codeSums.push_back(sum);
      Value group = rounded.front();
      for (int64_t k = 1; k < perGroup; ++k) {
        int64_t n = cast<VectorType>(group.getType()).getNumElements();
        group = vector::ShuffleOp::create(
            b, group, rounded[k],
            llvm::to_vector(llvm::seq<int64_t>(0, n + vw)));
      }
      Value codes = arith::FPToSIOp::create(
          b, VectorType::get({kQueryGroup}, b.getI32Type()), group);
      int64_t channel0 = g * kQueryGroup;
      int64_t v = channel0 / (kDotBytes * dotPlanes);
      for (int64_t k = 0; k < dotPlanes; ++k) {
        SmallVector<int64_t> lanesOfPlane;
        for (int64_t l = k; l < kQueryGroup; l += dotPlanes)
          lanesOfPlane.push_back(l);
        Value plane = dotPlanes > 1 ? Value(vector::ShuffleOp::create(
                                          b, codes, codes, lanesOfPlane))
                                    : codes;
        int64_t n = kQueryGroup / dotPlanes;
        int64_t at = (v * dotPlanes + k) * kDotBytes + channel0 / dotPlanes -
                     v * kDotBytes;
        vector::StoreOp::create(b,
                                arith::TruncIOp::create(b, bytesOf(n), plane),
                                qb, {cIdx(t), cIdx(at)});
      }
    }
  // The accumulators' start values: -h * each group's sum of codes.
  SmallVector<Value> sums = reduceRowsToLanes(codeSums, perVector, lanes);
  for (int64_t t = 0; t < br; ++t)
    for (int64_t g = 0; g < queryGroups; ++g) {
      Value sum = pairLane(sums, t * queryGroups + g);
      memref::StoreOp::create(
          b,
          arith::FPToSIOp::create(
              b, b.getI32Type(),
              arith::MulFOp::create(b, sum, cF32(-double(h)))),
          gcorr, {cIdx(t), cIdx(g)});
    }
  if (qWords)
    emitQueryWords(qb, qWords);
}

void AttentionEmitter::storeScores(ArrayRef<Value> rowScores, Value jj,
                                   Value j0, Value n, ArrayRef<Value> posIdx,
                                   Value scores, bool inRange) {
  int64_t count = cast<VectorType>(rowScores.front().getType()).getShape()[0];
  auto idxType = VectorType::get({count}, b.getIndexType());
  SmallVector<int64_t> steps;
  for (int64_t l = 0; l < count; ++l)
    steps.push_back(l);
  Value keyIdx = arith::AddIOp::create(
      b, vector::BroadcastOp::create(b, idxType, jj),
      arith::ConstantOp::create(
          b, DenseElementsAttr::get(idxType, ArrayRef<int64_t>(steps))));
  Value hidden = inRange ? Value()
                         : Value(arith::CmpIOp::create(
                               b, arith::CmpIPredicate::uge, keyIdx,
                               vector::BroadcastOp::create(b, idxType, n)));
  Value negInfs =
      vector::BroadcastOp::create(b, VectorType::get({count}, f32), negInf());
  for (auto [t, score] : llvm::enumerate(rowScores)) {
    Value masked = hidden;
    if (op.getCausal()) {
      Value limit = arith::SubIOp::create(
          b, arith::AddIOp::create(b, posIdx[t], causalOffset), j0);
      Value past =
          arith::CmpIOp::create(b, arith::CmpIPredicate::sgt, keyIdx,
                                vector::BroadcastOp::create(b, idxType, limit));
      masked = masked ? arith::OrIOp::create(b, masked, past) : past;
    }
    Value value =
        masked ? Value(arith::SelectOp::create(b, masked, negInfs, score))
               : score;
    vector::StoreOp::create(b, value, scores, {cIdx(int64_t(t)), jj});
  }
}

void AttentionEmitter::emitQueryInt8(Value qn, Value qb, Value corr,
                                     Value sqLanes) {
  auto laneF32 = VectorType::get({kDotLanes}, f32);
  auto laneI32 = VectorType::get({kDotLanes}, b.getI32Type());
  auto bytesType = VectorType::get({kDotBytes}, b.getI8Type());
  int64_t width = dotVectors * kDotBytes * dotPlanes;
  Value qi8 = scratch({width}, b.getI8Type());
  Value c127 = cF32(127.0), zero = cF32(0.0);
  Value ones = arith::ConstantOp::create(
      b, DenseElementsAttr::get(bytesType, b.getI8IntegerAttr(1)));
  Value offset = arith::ConstantOp::create(
      b, DenseElementsAttr::get(laneI32,
                                b.getI32IntegerAttr(-(1 << (dotBits - 1)))));
  for (int64_t t = 0; t < br; ++t) {
    // Per group: scale = max |q| / 127, codes = round-to-even(q * 127 / max)
    // (all codes 0 when the group is 0).
    SmallVector<Value> groupScale;
    for (int64_t g = 0; g < width / kQueryGroup; ++g) {
      SmallVector<Value> parts;
      Value amax = zero;
      for (int64_t h = 0; h < kQueryGroup; h += kDotLanes) {
        parts.push_back(vector::LoadOp::create(
            b, laneF32, qn, {cIdx(t), cIdx(g * kQueryGroup + h)}));
        amax = arith::MaximumFOp::create(
            b, amax,
            vector::ReductionOp::create(b, vector::CombiningKind::MAXIMUMF,
                                        math::AbsFOp::create(b, parts.back())));
      }
      Value nonZero =
          arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, amax, zero);
      Value inv = arith::SelectOp::create(
          b, nonZero, arith::DivFOp::create(b, c127, amax), zero);
      groupScale.push_back(arith::DivFOp::create(b, amax, c127));
      Value invVec = vector::BroadcastOp::create(b, laneF32, inv);
      for (auto [h, part] : llvm::enumerate(parts)) {
        Value codes = arith::FPToSIOp::create(
            b, laneI32,
            math::RoundEvenOp::create(b,
                                      arith::MulFOp::create(b, part, invVec)));
        vector::StoreOp::create(
            b,
            arith::TruncIOp::create(
                b, VectorType::get({kDotLanes}, b.getI8Type()), codes),
            qi8, {cIdx(g * kQueryGroup + h * kDotLanes)});
      }
    }
    // The planes' layout, each lane's start value and query scale.
    for (int64_t v = 0; v < dotVectors; ++v) {
      int64_t span = kDotBytes * dotPlanes;
      Value natural = vector::LoadOp::create(
          b, VectorType::get({span}, b.getI8Type()), qi8, {cIdx(v * span)});
      Value sum = arith::ConstantOp::create(
          b, DenseElementsAttr::get(laneI32, b.getI32IntegerAttr(0)));
      for (int64_t k = 0; k < dotPlanes; ++k) {
        Value plane = natural;
        if (dotPlanes > 1) {
          SmallVector<int64_t> lanes;
          for (int64_t i = 0; i < kDotBytes; ++i)
            lanes.push_back(i * dotPlanes + k);
          plane = vector::ShuffleOp::create(b, natural, natural, lanes);
        }
        vector::StoreOp::create(
            b, plane, qb, {cIdx(t), cIdx((v * dotPlanes + k) * kDotBytes)});
        sum = dotI8(sum, ones, plane, 1, 8);
      }
      vector::StoreOp::create(b, arith::MulIOp::create(b, sum, offset), corr,
                              {cIdx(t), cIdx(v * kDotLanes)});
      SmallVector<Value> scales;
      for (int64_t lane = 0; lane < kDotLanes; ++lane)
        scales.push_back(groupScale[dotLaneChannel(v, lane) / kQueryGroup]);
      vector::StoreOp::create(
          b, vector::FromElementsOp::create(b, laneF32, scales), sqLanes,
          {cIdx(t), cIdx(v * kDotLanes)});
    }
  }
}

SmallVector<Value> AttentionEmitter::emitInt8Partials(Value bi, Value hk,
                                                      Value j, Value qb,
                                                      Value corr,
                                                      Value sqLanes) {
  auto laneF32 = VectorType::get({kDotLanes}, f32);
  auto laneI32 = VectorType::get({kDotLanes}, b.getI32Type());
  auto bytesType = VectorType::get({kDotBytes}, b.getI8Type());
  const KVSource &keyCodes = *dotKey;
  int64_t rowBytes = dotDim * dotBits / 8;
  Value zero = arith::ConstantOp::create(
      b, DenseElementsAttr::get(laneF32, b.getF32FloatAttr(0.0)));
  SmallVector<Value> partial(br, zero);
  for (int64_t v = 0; v < dotVectors; ++v) {
    int64_t start = v * kDotBytes;
    Value pad = arith::ConstantOp::create(b, b.getI8IntegerAttr(0));
    Value bytes = vector::TransferReadOp::create(
        b, bytesType, keyCodes.data, ValueRange{bi, hk, j, cIdx(start)}, pad,
        ArrayRef<bool>{start + kDotBytes <= rowBytes});
    bool nibbles = splitsInt8(dotBits);
    SmallVector<Value> planes =
        nibbles ? nibblePlanes(bytes) : biasedPlanes(bytes, dotBits);
    SmallVector<int64_t> channels;
    for (int64_t lane = 0; lane < kDotLanes; ++lane)
      channels.push_back(dotLaneChannel(v, lane));
    Value keyScale =
        loadScaleLanes(keyCodes, keyCodes.scale, bi, hk, j, channels);
    if (!isa<VectorType>(keyScale.getType()))
      keyScale = vector::BroadcastOp::create(b, laneF32, keyScale);
    for (int64_t t = 0; t < br; ++t) {
      Value acc = vector::LoadOp::create(b, laneI32, corr,
                                         {cIdx(t), cIdx(v * kDotLanes)});
      if (nibbles) {
        Value q = vector::LoadOp::create(b, bytesType, qb,
                                         {cIdx(t), cIdx(v * kDotBytes)});
        Value zero = arith::ConstantOp::create(
            b, DenseElementsAttr::get(laneI32, b.getI32IntegerAttr(0)));
        acc = joinNibbleSums(dotI8(acc, planes[0], q, 4, 8),
                             dotI8(zero, planes[1], q, 4, 8));
      } else {
        for (int64_t k = 0; k < dotPlanes; ++k)
          acc = dotI8(acc, planes[k],
                      vector::LoadOp::create(
                          b, bytesType, qb,
                          {cIdx(t), cIdx((v * dotPlanes + k) * kDotBytes)}),
                      dotBits, 8);
      }
      Value weight = arith::MulFOp::create(
          b,
          vector::LoadOp::create(b, laneF32, sqLanes,
                                 {cIdx(t), cIdx(v * kDotLanes)}),
          keyScale);
      partial[t] = vector::FMAOp::create(
          b, arith::SIToFPOp::create(b, laneF32, acc), weight, partial[t]);
    }
  }
  return partial;
}

void AttentionEmitter::emitRegisterBlocked(Value bi, Value hk, Value s) {
  const int64_t R = 2 * vw, rv = 2;
  int64_t dn = llvm::divideCeil(d, vw), dvn = llvm::divideCeil(dv, vw);
  KVSource kNat = *key, vNat = *value;
  kNat.split = vNat.split = false;
  bool kInPlace = isPlain(kNat, f32), vInPlace = isPlain(vNat, f32);
  // bf16 Q K^T by AVX512-BF16 dot products: the query tile transposed in
  // pairs of head-dim channels ([d / 2, R] i32 words: lane r of a vector
  // holds row r's channels 2 dd and 2 dd + 1 as bf16, unscaled) and each key's
  // pair of channels, read in place, broadcast to every lane; the softmax scale
  // multiplies the scores.
  Type bf16 = b.getBF16Type();
  bool bf16Dot = hasBF16Dot() && !qSource && d % 2 == 0 &&
                 cast<ShapedType>(q.getType()).getElementType() == bf16 &&
                 isPlain(kNat, bf16);
  if (bf16Dot)
    kInPlace = true;
  // bf16: [d / 2, R] words, lane r of a row holding row r's pair.
  int64_t qWords = d / 2;
  Value qT = bf16Dot ? scratch({qWords, R}, b.getI32Type()) : scratch({d, R});
  // bf16 P V: the probability pairs of the block's keys, [bk / 2, R] i32.
  bool bf16PV = useBF16ValueDot();
  if (bf16PV)
    vInPlace = true;
  Value pp = bf16PV ? scratch({bk / 2, R}, b.getI32Type()) : Value();
  // ... and the block's values, keys 2 jp and 2 jp + 1 interleaved per
  // channel ([bk / 2, 2 dv] bf16), once per block for every row group.
  Value vp = bf16PV ? scratch({bk / 2, 2 * dvn * vw}, bf16) : Value();
  // Decoded rows one 64-byte line longer than their channels: P V reads a
  // few channels of every row of the block, which at a power-of-two row
  // stride (512 bytes at D 128) would all fall in the same few L1 sets.
  int64_t linePad = 64 / 4;
  Value kb = scratch({kInPlace ? 1 : bk, dn * vw + linePad});
  Value vb = scratch({vInPlace ? 1 : bk, dvn * vw + linePad});
  Value st = scratch({bk, R});
  Value o = scratch({R, dvn * vw});
  Value mv = scratch({R}), lv = scratch({R}), cr = scratch({R});
  Value zeroVec = arith::ConstantOp::create(
      b, DenseElementsAttr::get(vecF32, b.getF32FloatAttr(0.0)));
  Value negInfVec = splat(negInf());
  VectorType idxVec = VectorType::get({vw}, b.getIndexType());
  Value iota = vector::StepOp::create(b, idxVec);
  Value lastRow = arith::SubIOp::create(b, rows, c1);
  // Scores in units of log2 e (the softmax scale times log2 e on the query
  // or the scores): the softmax then takes 2^x (emitExp2).
  Value scaleVec =
      splat(arith::MulFOp::create(b, softmaxScale, cF32(M_LOG2E)).getResult());
  buildFor(b, c0, rows, cIdx(R), [&](Value r0) {
    // The transposed query tile (f32: scaled), vw rows by vw channels (bf16:
    // channel pairs, as i32 words) at a time by a square transpose; rows
    // past the end repeat the last row (never stored).
    for (int64_t rg = 0; rg < rv; ++rg) {
      SmallVector<Value> rowIndices;
      for (int64_t t = 0; t < vw; ++t) {
        Value rr = arith::MinUIOp::create(
            b, arith::AddIOp::create(b, r0, cIdx(rg * vw + t)), lastRow);
        Value pos = arith::DivUIOp::create(b, rr, group);
        Value head =
            arith::AddIOp::create(b, arith::MulIOp::create(b, hk, group),
                                  arith::RemUIOp::create(b, rr, group));
        rowIndices.append({head, pos});
      }
      Value zero =
          bf16Dot ? arith::ConstantOp::create(b, b.getZeroAttr(bf16)) : Value();
      int64_t limit = bf16Dot ? qWords : d;
      for (int64_t c = 0; c * vw < limit; ++c) {
        SmallVector<Value> square;
        for (int64_t t = 0; t < vw; ++t) {
          Value head = rowIndices[2 * t], pos = rowIndices[2 * t + 1];
          if (bf16Dot)
            // 2 vw channels as vw words: word w holds channels 2w, 2w + 1.
            square.push_back(vector::BitCastOp::create(
                b, VectorType::get({vw}, b.getI32Type()),
                vector::TransferReadOp::create(
                    b, VectorType::get({2 * vw}, bf16), q,
                    ValueRange{bi, head, pos, cIdx(2 * c * vw)}, zero,
                    ArrayRef<bool>{2 * (c + 1) * vw <= d})));
          else
            square.push_back(arith::MulFOp::create(
                b, readF32Chunk(q, {bi, head, pos}, c * vw, d), scaleVec));
        }
        transposeSquare(b, square);
        for (int64_t l = 0; l < vw && c * vw + l < limit; ++l)
          vector::StoreOp::create(b, square[l], qT,
                                  {cIdx(c * vw + l), cIdx(rg * vw)});
      }
    }
    // The last key row r0 + t sees (causal; rows past the end repeat the
    // last row).
    auto lastKeyOf = [&](Value t) {
      Value r =
          arith::MinUIOp::create(b, arith::AddIOp::create(b, r0, t), lastRow);
      return arith::AddIOp::create(b, arith::DivUIOp::create(b, r, group),
                                   causalOffset)
          .getResult();
    };
    Value kvEnd = skv;
    if (op.getCausal())
      kvEnd = arith::MaxSIOp::create(
          b, c0,
          arith::MinSIOp::create(
              b, skv, arith::AddIOp::create(b, lastKeyOf(cIdx(R - 1)), c1)));
    Value splitLen = arith::CeilDivUIOp::create(b, kvEnd, numSplits);
    Value lo =
        arith::MinUIOp::create(b, arith::MulIOp::create(b, s, splitLen), kvEnd);
    Value hi = arith::MinUIOp::create(b, arith::AddIOp::create(b, lo, splitLen),
                                      kvEnd);
    for (int64_t i = 0; i < rv; ++i) {
      vector::StoreOp::create(b, negInfVec, mv, {cIdx(i * vw)});
      vector::StoreOp::create(b, zeroVec, lv, {cIdx(i * vw)});
    }
    buildFor(b, c0, cIdx(R), c1, [&](Value t) {
      for (int64_t c = 0; c < dvn; ++c)
        vector::StoreOp::create(b, zeroVec, o, {t, cIdx(c * vw)});
    });
    // Each lane's last visible key (causal).
    SmallVector<Value> limits;
    if (op.getCausal())
      for (int64_t i = 0; i < rv; ++i) {
        Value r = arith::AddIOp::create(
            b,
            vector::BroadcastOp::create(
                b, idxVec, arith::AddIOp::create(b, r0, cIdx(i * vw))),
            iota);
        r = arith::MinUIOp::create(
            b, r, vector::BroadcastOp::create(b, idxVec, lastRow));
        Value pos = arith::DivUIOp::create(
            b, r, vector::BroadcastOp::create(b, idxVec, group));
        limits.push_back(arith::AddIOp::create(
            b, pos, vector::BroadcastOp::create(b, idxVec, causalOffset)));
      }

    buildFor(b, lo, hi, cIdx(bk), [&](Value j0) {
      Value n =
          arith::MinUIOp::create(b, cIdx(bk), arith::SubIOp::create(b, hi, j0));
      // Decode the block's keys and values once for the tile; plain f32
      // ones are read in place.
      buildFor(b, c0, n, c1, [&](Value jj) {
        Value j = arith::AddIOp::create(b, j0, jj);
        if (!kInPlace)
          for (auto [c, chunk] : llvm::enumerate(
                   loadKVChunks(kNat, bi, hk, j, 0, dn, /*withScale=*/true)))
            vector::StoreOp::create(b, chunk, kb, {jj, cIdx(c * vw)});
        if (!vInPlace)
          for (auto [c, chunk] : llvm::enumerate(
                   loadKVChunks(vNat, bi, hk, j, 0, dvn, /*withScale=*/true)))
            vector::StoreOp::create(b, chunk, vb, {jj, cIdx(c * vw)});
      });
      // Scores: micro-tiles of tileKeys keys x rv row vectors, then the
      // block's last keys one at a time, so that every key row read is in
      // the block (no clamped row index, whose bounds arithmetic LLVM's
      // loop strength reduction would otherwise recompute in the inner loop).
      // Causal: the keys of the block that the rows of row vector i see
      // (nVis[i], up to its last row's limit), and whether some of those are
      // past its first row's limit (only then the softmax masks).
      // How many of the block's keys row r0 + t sees (causal).
      auto keysSeenBy = [&](Value t) {
        Value seen = arith::SubIOp::create(
            b, arith::AddIOp::create(b, lastKeyOf(t), c1), j0);
        return arith::MaxSIOp::create(b, c0, arith::MinSIOp::create(b, n, seen))
            .getResult();
      };
      SmallVector<Value> nVis(rv, n), needsMask(rv);
      if (op.getCausal())
        for (int64_t i = 0; i < rv; ++i) {
          nVis[i] = keysSeenBy(cIdx((i + 1) * vw - 1));
          needsMask[i] = arith::CmpIOp::create(
              b, arith::CmpIPredicate::sgt,
              arith::AddIOp::create(b, j0, nVis[i]),
              arith::AddIOp::create(b, lastKeyOf(cIdx(i * vw)), c1));
        }
      // Row vectors firstVec.. of keys jg..: earlier row vectors see none
      // of them (their lanes of the scores are left unwritten).
      auto scoreTile = [&](Value jg, int64_t keys, int64_t firstVec) {
        int64_t vecs = rv - firstVec;
        SmallVector<Value> init(keys * vecs, zeroVec);
        SmallVector<Value> keyRows;
        if (kInPlace)
          for (int64_t k = 0; k < keys; ++k)
            keyRows.push_back(arith::AddIOp::create(
                b, j0, arith::AddIOp::create(b, jg, cIdx(k))));
        auto loop =
            scf::ForOp::create(b, c0, cIdx(bf16Dot ? d / 2 : d), c1, init);
        if (bf16Dot) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(loop.getBody());
          Value dd = loop.getInductionVar();
          auto pairs = VectorType::get({2 * vw}, bf16);
          auto words = VectorType::get({vw}, b.getI32Type());
          SmallVector<Value> qv;
          for (int64_t i = firstVec; i < rv; ++i)
            qv.push_back(vector::BitCastOp::create(
                b, pairs,
                vector::LoadOp::create(b, VectorType::get({vw}, b.getI32Type()),
                                       qT, {dd, cIdx(i * vw)})));
          Value channel = arith::MulIOp::create(b, dd, cIdx(2));
          SmallVector<Value> next;
          for (int64_t k = 0; k < keys; ++k) {
            Value pair =
                vector::LoadOp::create(b, VectorType::get({2}, bf16), kNat.data,
                                       {bi, hk, keyRows[k], channel});
            Value word = vector::ExtractOp::create(
                b,
                vector::BitCastOp::create(
                    b, VectorType::get({1}, b.getI32Type()), pair),
                int64_t(0));
            Value kv = vector::BitCastOp::create(
                b, pairs, vector::BroadcastOp::create(b, words, word));
            for (int64_t i = 0; i < vecs; ++i)
              next.push_back(x86vector::DotBF16Op::create(
                  b, vecF32, loop.getRegionIterArgs()[k * vecs + i], qv[i],
                  kv));
          }
          scf::YieldOp::create(b, next);
        } else {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(loop.getBody());
          Value dd = loop.getInductionVar();
          SmallVector<Value> qv;
          for (int64_t i = firstVec; i < rv; ++i)
            qv.push_back(
                vector::LoadOp::create(b, vecF32, qT, {dd, cIdx(i * vw)}));
          SmallVector<Value> next;
          for (int64_t k = 0; k < keys; ++k) {
            Value kv = splat(
                kInPlace
                    ? memref::LoadOp::create(b, kNat.data,
                                             {bi, hk, keyRows[k], dd})
                    : memref::LoadOp::create(
                          b, kb, {arith::AddIOp::create(b, jg, cIdx(k)), dd}));
            for (int64_t i = 0; i < vecs; ++i)
              next.push_back(vector::FMAOp::create(
                  b, kv, qv[i], loop.getRegionIterArgs()[k * vecs + i]));
          }
          scf::YieldOp::create(b, next);
        }
        for (int64_t k = 0; k < keys; ++k)
          for (int64_t i = 0; i < vecs; ++i) {
            Value score = loop.getResult(k * vecs + i);
            if (bf16Dot)
              score = arith::MulFOp::create(b, score, scaleVec);
            vector::StoreOp::create(b, score, st,
                                    {arith::AddIOp::create(b, jg, cIdx(k)),
                                     cIdx((firstVec + i) * vw)});
          }
      };
      // Keys [from, to) for row vectors firstVec..: micro-tiles of as many
      // keys as the accumulators allow, then one key at a time.
      auto scoreRange = [&](Value from, Value to, int64_t firstVec) {
        int64_t keys = std::max<int64_t>(1, tileKeys * rv / (rv - firstVec));
        Value count = arith::SubIOp::create(b, to, from);
        Value tiled = arith::AddIOp::create(
            b, from,
            arith::MulIOp::create(
                b, arith::DivUIOp::create(b, count, cIdx(keys)), cIdx(keys)));
        buildFor(b, from, tiled, cIdx(keys),
                 [&](Value jg) { scoreTile(jg, keys, firstVec); });
        buildFor(b, tiled, to, c1,
                 [&](Value jg) { scoreTile(jg, 1, firstVec); });
      };
      if (op.getCausal())
        for (int64_t i = 0; i < rv; ++i)
          scoreRange(i == 0 ? c0 : nVis[i - 1], nVis[i], i);
      else
        scoreRange(c0, n, 0);
      // Online softmax down the columns (one lane per row).
      for (int64_t i = 0; i < rv; ++i) {
        // The keys this row vector's softmax covers: P V reads no
        // probability past them (its row groups end there too), except
        // bf16 P V, which packs the block's keys in pairs for every row.
        Value keys = bf16PV ? n : nVis[i];
        // The block maximum; causal, with the keys past each lane's limit
        // set to -inf in the scores, where the block has such keys.
        auto blockMax = [&](bool masked) {
          auto maxLoop =
              scf::ForOp::create(b, c0, keys, c1, ValueRange{negInfVec});
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(maxLoop.getBody());
          Value jj = maxLoop.getInductionVar();
          Value sv = vector::LoadOp::create(b, vecF32, st, {jj, cIdx(i * vw)});
          if (masked) {
            Value j = vector::BroadcastOp::create(
                b, idxVec, arith::AddIOp::create(b, j0, jj));
            Value hidden = arith::CmpIOp::create(b, arith::CmpIPredicate::sgt,
                                                 j, limits[i]);
            sv = arith::SelectOp::create(b, hidden, negInfVec, sv);
            vector::StoreOp::create(b, sv, st, {jj, cIdx(i * vw)});
          }
          scf::YieldOp::create(
              b, ValueRange{selectMax(maxLoop.getRegionIterArgs()[0], sv)});
          return maxLoop.getResult(0);
        };
        Value maxOfBlock;
        if (op.getCausal() && !bf16PV) {
          auto ifMasked =
              scf::IfOp::create(b, vecF32, needsMask[i], /*withElse=*/true);
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(ifMasked.thenBlock());
          scf::YieldOp::create(b, blockMax(true));
          b.setInsertionPointToStart(ifMasked.elseBlock());
          scf::YieldOp::create(b, blockMax(false));
          maxOfBlock = ifMasked.getResult(0);
        } else {
          maxOfBlock = blockMax(op.getCausal());
        }
        Value oldMax = vector::LoadOp::create(b, vecF32, mv, {cIdx(i * vw)});
        Value newMax = selectMax(oldMax, maxOfBlock);
        // While every key so far is masked, exponentiate against 0.
        Value isEmpty = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ,
                                              newMax, negInfVec);
        Value ref = arith::SelectOp::create(b, isEmpty, zeroVec, newMax);
        Value corr = emitExp2(arith::SubFOp::create(b, oldMax, ref));
        auto sumLoop = scf::ForOp::create(b, c0, keys, c1, ValueRange{zeroVec});
        {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(sumLoop.getBody());
          Value jj = sumLoop.getInductionVar();
          Value x = arith::SubFOp::create(
              b, vector::LoadOp::create(b, vecF32, st, {jj, cIdx(i * vw)}),
              ref);
          Value pv = bf16PV ? emitRoundedProbabilityExp(x) : emitExp2(x);
          // Rounded to p_type for P V in f32; the row sum takes them
          // unrounded. (bf16 P V rounds them where it packs their pairs.)
          vector::StoreOp::create(
              b, pType && !bf16PV ? roundProbabilities(pv) : pv, st,
              {jj, cIdx(i * vw)});
          scf::YieldOp::create(b, ValueRange{arith::AddFOp::create(
                                      b, sumLoop.getRegionIterArgs()[0], pv)});
        }
        Value oldSum = vector::LoadOp::create(b, vecF32, lv, {cIdx(i * vw)});
        vector::StoreOp::create(
            b, vector::FMAOp::create(b, oldSum, corr, sumLoop.getResult(0)), lv,
            {cIdx(i * vw)});
        vector::StoreOp::create(b, newMax, mv, {cIdx(i * vw)});
        vector::StoreOp::create(b, corr, cr, {cIdx(i * vw)});
      }
      // bf16 P V: each row's probabilities of keys 2 jp, 2 jp + 1 rounded
      // to bf16 and packed in one i32 (0 for the key past an odd block),
      // and the two keys' values interleaved per channel (past the block,
      // the second is its last key again: its probability is 0).
      if (bf16PV) {
        auto halfType = VectorType::get({vw}, bf16);
        Value zeroHalf = arith::ConstantOp::create(b, b.getZeroAttr(bf16));
        Value lastKey = arith::SubIOp::create(b, hi, c1);
        buildFor(b, c0, arith::CeilDivUIOp::create(b, n, cIdx(2)), c1,
                 [&](Value jp) {
                   Value first = arith::MulIOp::create(b, jp, cIdx(2));
                   Value second = arith::AddIOp::create(b, first, c1);
                   Value past = arith::CmpIOp::create(
                       b, arith::CmpIPredicate::uge, second, n);
                   Value key0 = arith::AddIOp::create(b, j0, first);
                   Value key1 = arith::MinUIOp::create(
                       b, arith::AddIOp::create(b, key0, c1), lastKey);
                   for (int64_t cc = 0; cc < dvn; ++cc) {
                     SmallVector<Value> halves;
                     for (Value key : {key0, key1})
                       halves.push_back(vector::TransferReadOp::create(
                           b, halfType, vNat.data,
                           ValueRange{bi, hk, key, cIdx(cc * vw)}, zeroHalf,
                           ArrayRef<bool>{(cc + 1) * vw <= dv}));
                     vector::StoreOp::create(
                         b,
                         vector::InterleaveOp::create(b, halves[0], halves[1]),
                         vp, {jp, cIdx(cc * 2 * vw)});
                   }
                   for (int64_t i = 0; i < rv; ++i) {
                     Value p0 = vector::LoadOp::create(b, vecF32, st,
                                                       {first, cIdx(i * vw)});
                     Value p1 = arith::SelectOp::create(
                         b, past, zeroVec,
                         vector::LoadOp::create(
                             b, vecF32, st,
                             {arith::MinUIOp::create(b, second, cIdx(bk - 1)),
                              cIdx(i * vw)}));
                     Value pair = vector::InterleaveOp::create(
                         b, arith::TruncFOp::create(b, halfType, p0),
                         arith::TruncFOp::create(b, halfType, p1));
                     vector::StoreOp::create(
                         b,
                         vector::BitCastOp::create(
                             b, VectorType::get({vw}, b.getI32Type()), pair),
                         pp, {jp, cIdx(i * vw)});
                   }
                 });
      }
      // P V: kTileRows rows x tileVecs value vectors per micro-tile,
      // the accumulators rescaled once per block.
      buildFor(b, c0, cIdx(R), cIdx(kTileRows), [&](Value rg) {
        SmallVector<Value> rowsOf;
        for (int64_t r = 0; r < kTileRows; ++r)
          rowsOf.push_back(arith::AddIOp::create(b, rg, cIdx(r)));
        // Causal: the keys past the last one the group's last row sees have
        // probability 0 in every row of the group; they are skipped.
        Value keys = op.getCausal() ? keysSeenBy(rowsOf[kTileRows - 1]) : n;
        for (int64_t cg = 0; cg < dvn; cg += tileVecs) {
          int64_t cEnd = std::min(dvn, cg + tileVecs);
          SmallVector<Value> init;
          for (int64_t r = 0; r < kTileRows; ++r) {
            Value c = splat(memref::LoadOp::create(b, cr, {rowsOf[r]}));
            for (int64_t cc = cg; cc < cEnd; ++cc)
              init.push_back(arith::MulFOp::create(
                  b,
                  vector::LoadOp::create(b, vecF32, o,
                                         {rowsOf[r], cIdx(cc * vw)}),
                  c));
          }
          auto loop = scf::ForOp::create(
              b, c0,
              bf16PV ? arith::CeilDivUIOp::create(b, keys, cIdx(2)) : keys, c1,
              init);
          if (bf16PV) {
            // Keys 2 jp and 2 jp + 1: their interleaved values against each
            // row's pair of probabilities.
            OpBuilder::InsertionGuard guard(b);
            b.setInsertionPointToStart(loop.getBody());
            Value jp = loop.getInductionVar();
            auto pairType = VectorType::get({2 * vw}, bf16);
            auto words = VectorType::get({vw}, b.getI32Type());
            SmallVector<Value> vv;
            for (int64_t cc = cg; cc < cEnd; ++cc)
              vv.push_back(vector::LoadOp::create(b, pairType, vp,
                                                  {jp, cIdx(cc * 2 * vw)}));
            SmallVector<Value> next;
            for (int64_t r = 0; r < kTileRows; ++r) {
              Value pr = vector::BitCastOp::create(
                  b, pairType,
                  vector::BroadcastOp::create(
                      b, words,
                      memref::LoadOp::create(b, pp, {jp, rowsOf[r]})));
              for (int64_t cc = cg; cc < cEnd; ++cc)
                next.push_back(x86vector::DotBF16Op::create(
                    b, vecF32, loop.getRegionIterArgs()[next.size()],
                    vv[cc - cg], pr));
            }
            scf::YieldOp::create(b, next);
          } else {
            OpBuilder::InsertionGuard guard(b);
            b.setInsertionPointToStart(loop.getBody());
            Value jj = loop.getInductionVar();
            SmallVector<Value> vv;
            for (int64_t cc = cg; cc < cEnd; ++cc)
              vv.push_back(
                  vInPlace
                      ? readF32Chunk(vNat.data,
                                     {bi, hk, arith::AddIOp::create(b, j0, jj)},
                                     cc * vw, dv)
                      : vector::LoadOp::create(b, vecF32, vb,
                                               {jj, cIdx(cc * vw)}));
            SmallVector<Value> next;
            for (int64_t r = 0; r < kTileRows; ++r) {
              Value pr = splat(memref::LoadOp::create(b, st, {jj, rowsOf[r]}));
              for (int64_t cc = cg; cc < cEnd; ++cc)
                next.push_back(vector::FMAOp::create(
                    b, pr, vv[cc - cg], loop.getRegionIterArgs()[next.size()]));
            }
            scf::YieldOp::create(b, next);
          }
          int64_t k = 0;
          for (int64_t r = 0; r < kTileRows; ++r)
            for (int64_t cc = cg; cc < cEnd; ++cc)
              vector::StoreOp::create(b, loop.getResult(k++), o,
                                      {rowsOf[r], cIdx(cc * vw)});
        }
      });
    });

    // Finish the tile's valid rows (or keep their partition's results).
    buildFor(b, c0, cIdx(R), c1, [&](Value t) {
      Value r = arith::AddIOp::create(b, r0, t);
      buildIf(b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, r, rows),
              [&]() {
                SmallVector<Value> chunks;
                for (int64_t c = 0; c < dvn; ++c)
                  chunks.push_back(
                      vector::LoadOp::create(b, vecF32, o, {t, cIdx(c * vw)}));
                Value total = memref::LoadOp::create(b, lv, {t});
                auto finish =
                    scf::IfOp::create(b, multiSplit, /*withElse=*/true);
                OpBuilder::InsertionGuard guard(b);
                b.setInsertionPointToStart(finish.thenBlock());
                auto index = [&](int64_t i) {
                  return SmallVector<Value>{bi, hk, s, r, cIdx(i)};
                };
                // The combine takes natural units.
                memref::StoreOp::create(
                    b,
                    arith::MulFOp::create(b, memref::LoadOp::create(b, mv, {t}),
                                          cF32(M_LN2)),
                    partials, index(0));
                memref::StoreOp::create(b, total, partials, index(1));
                // Partials hold the value's layout: convert the channel order.
                SmallVector<Value> padded(chunks);
                padded.resize(dvChunks, zeroVec);
                SmallVector<Value> inLayout = toLayout(*value, padded);
                for (auto [c, v] : llvm::enumerate(inLayout))
                  vector::StoreOp::create(b, v, partials, index(2 + c * vw));
                b.setInsertionPointToStart(finish.elseBlock());
                Value head = arith::AddIOp::create(
                    b, arith::MulIOp::create(b, hk, group),
                    arith::RemUIOp::create(b, r, group));
                writeRow(out, bi, head, arith::DivUIOp::create(b, r, group),
                         total, chunks, dv, outElementType);
              });
    });
  });
}

void AttentionEmitter::emitCombine(Value bi, Value hk) {
  buildFor(b, c0, rows, c1, [&](Value r) {
    auto at = [&](Value si, int64_t i) {
      return SmallVector<Value>{bi, hk, si, r, cIdx(i)};
    };
    auto maxLoop =
        scf::ForOp::create(b, c0, numSplits, c1, ValueRange{negInf()});
    {
      OpBuilder::InsertionGuard loopGuard(b);
      b.setInsertionPointToStart(maxLoop.getBody());
      Value m =
          memref::LoadOp::create(b, partials, at(maxLoop.getInductionVar(), 0));
      scf::YieldOp::create(b, ValueRange{arith::MaximumFOp::create(
                                  b, maxLoop.getRegionIterArgs()[0], m)});
    }
    Value globalMax = maxLoop.getResult(0);
    Value isEmpty = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ,
                                          globalMax, negInf());
    Value ref = arith::SelectOp::create(b, isEmpty, cF32(0.0), globalMax);
    Value zeroVec = arith::ConstantOp::create(
        b, DenseElementsAttr::get(vecF32, b.getF32FloatAttr(0.0)));
    SmallVector<Value> init(dvChunks, zeroVec);
    init.insert(init.begin(), cF32(0.0));
    auto sumLoop = scf::ForOp::create(b, c0, numSplits, c1, init);
    {
      OpBuilder::InsertionGuard loopGuard(b);
      b.setInsertionPointToStart(sumLoop.getBody());
      Value si = sumLoop.getInductionVar();
      ValueRange carried = sumLoop.getRegionIterArgs();
      Value w = math::ExpOp::create(
          b, arith::SubFOp::create(
                 b, memref::LoadOp::create(b, partials, at(si, 0)), ref));
      SmallVector<Value> next;
      next.push_back(math::FmaOp::create(
          b, w, memref::LoadOp::create(b, partials, at(si, 1)), carried[0]));
      Value wVec = splat(w);
      for (int64_t c = 0; c < dvChunks; ++c)
        next.push_back(vector::FMAOp::create(
            b, wVec,
            vector::LoadOp::create(b, vecF32, partials, at(si, 2 + c * vw)),
            carried[1 + c]));
      scf::YieldOp::create(b, next);
    }
    Value head = arith::AddIOp::create(b, arith::MulIOp::create(b, hk, group),
                                       arith::RemUIOp::create(b, r, group));
    Value pos = arith::DivUIOp::create(b, r, group);
    writeRow(out, bi, head, pos, sumLoop.getResult(0),
             toNatural(*value, llvm::to_vector_of<Value>(
                                   sumLoop.getResults().drop_front())),
             dv, outElementType);
  });
}

void AttentionEmitter::findSparseOutliers(KVSource &src) {
  if (!src.decoder)
    return;
  Operation *op = src.decoder.getOperation();
  GearDecodeOp gear = dyn_cast<GearDecodeOp>(op);
  int64_t offset = 0;
  if (auto concat = dyn_cast<tensor::ConcatOp>(op);
      concat && concat.getDim() == 3) {
    for (Value input : concat.getInputs()) {
      auto candidate = input.getDefiningOp<GearDecodeOp>();
      if (candidate && input.hasOneUse()) {
        if (gear) // more than one: leave them to the chunk decoder
          return;
        gear = candidate;
        continue;
      }
      if (!gear)
        offset += cast<RankedTensorType>(input.getType()).getDimSize(3);
    }
  } else if (gear && !gear.getResult().hasOneUse()) {
    return;
  }
  if (!gear)
    return;
  int64_t count = gear.getIndices().getType().getDimSize(3);
  int64_t channels = gear.getResult().getType().getDimSize(3);
  if (count == 0 || ShapedType::isDynamic(count) ||
      ShapedType::isDynamic(channels))
    return;
  src.outlierDecoder = gear;
  src.outlierOffset = offset;
}

std::pair<Value, Value> AttentionEmitter::loadOutlier(const KVSource &src,
                                                      Value b0, Value h,
                                                      Value j, int64_t k) {
  SmallVector<Value> pos = {b0, h, j, cIdx(k)};
  Value channel = arith::IndexCastOp::create(
      b, b.getIndexType(),
      memref::LoadOp::create(
          b, reader.getBuffer(src.outlierDecoder.getIndices()), pos));
  Value value = emitExtendToF32(
      b, b.getLoc(),
      memref::LoadOp::create(
          b, reader.getBuffer(src.outlierDecoder.getValues()), pos));
  // Unsigned, so that a negative index is out of range too.
  Value inRange = arith::CmpIOp::create(
      b, arith::CmpIPredicate::ult, channel,
      cIdx(src.outlierDecoder.getResult().getType().getDimSize(3)));
  Value at = arith::SelectOp::create(
      b, inRange, arith::AddIOp::create(b, channel, cIdx(src.outlierOffset)),
      c0);
  return {at, arith::SelectOp::create(b, inRange, value, cF32(0.0))};
}

void AttentionEmitter::emitPerKey(Value bi, Value hk, Value s) {
  Value qt = scratch({br, dChunks * vw});
  // With int8 dot products: the scaled query rows in channel order, and
  // their int8 codes, accumulator start values and scales.
  int64_t dotWidth = dotVectors * kDotBytes * dotPlanes;
  Value qn, qb, qWords, corr, sqLanes;
  Value gcorr, gsq;
  KeyScaleFold keyFold;
  if (keyScaleSource && keyScaleSource->zeroPoint)
    keyFold.offset = scratch({br});
  if (foldKeyScale)
    keyFold.query = scratch({br, dChunks * vw});
  if (int8Dot) {
    qn = scratch({br, dotWidth});
    if (signTail) {
      int64_t words = llvm::divideCeil(signTail->width, int64_t(32));
      signTail->words = scratch({br, 32 * words}, b.getI8Type());
      signTail->steps = scratch({br, words});
    }
    if (channelScaledKeys)
      keyFold.query = qn;
    qb = scratch({br, dotWidth}, b.getI8Type());
    corr = scratch({br, dotVectors * kDotLanes}, b.getI32Type());
    sqLanes = scratch({br, dotVectors * kDotLanes});
    if (keysByLane) {
      int64_t groups = dotGroups.size();
      gcorr = scratch({br, groups}, b.getI32Type());
      gsq = scratch({br, groups});
      if (features.registerBits < 512)
        qWords =
            scratch({br, dotWidth / 4, 4 * registerDotLanes()}, b.getI8Type());
    }
  }
  Value scores = scratch({br, bk});
  Value weights, zeroSums;
  if (foldValueScale && !int8PV) {
    weights = scratch({br, valueGroups, bk});
    if (valueScaleSource->zeroPoint)
      zeroSums = scratch({br, valueGroups});
  }
  Value wq, wStep, wOffset, wZero;
  if (int8PV) {
    wq = scratch({br, valueGroups, bk}, b.getI8Type());
    wStep = scratch({br, valueGroups});
    wOffset = scratch({br, valueGroups});
    if (value->zeroPoint)
      wZero = scratch({br, valueGroups});
  }
  Value accs = scratch({br, dvp});
  Value maxs = scratch({br});
  Value sums = scratch({br});
  {
    buildFor(b, c0, rows, cIdx(br), [&](Value r0) {
      // Rows past the end repeat the last row; they are never stored.
      Value lastRow = arith::SubIOp::create(b, rows, c1);
      SmallVector<Value> rowIdx, headIdx, posIdx, rowValid;
      for (int64_t t = 0; t < br; ++t) {
        Value r = arith::AddIOp::create(b, r0, cIdx(t));
        rowValid.push_back(
            arith::CmpIOp::create(b, arith::CmpIPredicate::ult, r, rows));
        Value rr = arith::MinUIOp::create(b, r, lastRow);
        rowIdx.push_back(rr);
        posIdx.push_back(arith::DivUIOp::create(b, rr, group));
        headIdx.push_back(
            arith::AddIOp::create(b, arith::MulIOp::create(b, hk, group),
                                  arith::RemUIOp::create(b, rr, group)));
      }

      // Q rows of the tile, scaled by the softmax scale once.
      Value scaleVec = splat(softmaxScale);
      int64_t qChunks = llvm::divideCeil(d, vw);
      for (int64_t t = 0; t < br; ++t) {
        SmallVector<Value> natural;
        for (int64_t c = 0; c < dChunks; ++c) {
          if (c >= qChunks) { // past the head dim: zeros
            natural.push_back(arith::ConstantOp::create(
                b, DenseElementsAttr::get(vecF32, b.getF32FloatAttr(0.0))));
            continue;
          }
          natural.push_back(
              qSource
                  ? loadKVChunk(*qSource, bi, headIdx[t], posIdx[t], c)
                  : readF32Chunk(q, {bi, headIdx[t], posIdx[t]}, c * vw, d));
        }
        if (int8Dot) {
          // Decoded keys (GEAR's): their other channels and outliers take
          // the scaled query in f32, in channel order.
          if (key->decoder)
            for (int64_t c = 0; c < dChunks; ++c)
              vector::StoreOp::create(
                  b, arith::MulFOp::create(b, natural[c], scaleVec), qt,
                  {cIdx(t), cIdx(c * vw)});
          Value zeros = arith::ConstantOp::create(
              b, DenseElementsAttr::get(vecF32, b.getF32FloatAttr(0.0)));
          // The int8 query holds the dot products' channels only (GEAR's
          // other channels are past dotDim).
          for (int64_t c = 0; c < dotWidth / vw; ++c) {
            Value chunk = zeros;
            if (c * vw < dotDim && c < qChunks) {
              chunk = arith::MulFOp::create(b, natural[c], scaleVec);
              if ((c + 1) * vw > dotDim) {
                SmallVector<bool> inside;
                for (int64_t lane = 0; lane < vw; ++lane)
                  inside.push_back(c * vw + lane < dotDim);
                chunk = arith::SelectOp::create(
                    b,
                    arith::ConstantOp::create(
                        b, DenseElementsAttr::get(
                               VectorType::get({vw}, b.getI1Type()),
                               ArrayRef<bool>(inside))),
                    chunk, zeros);
              }
            }
            vector::StoreOp::create(b, chunk, qn, {cIdx(t), cIdx(c * vw)});
          }
          continue;
        }
        SmallVector<Value> inLayout = toLayout(*key, natural);
        for (int64_t c = 0; c < dChunks; ++c)
          vector::StoreOp::create(
              b, arith::MulFOp::create(b, inLayout[c], scaleVec), qt,
              {cIdx(t), cIdx(c * vw)});
      }
      // (With channelScaledKeys, per token group in the key loop instead.)
      if (int8Dot && !channelScaledKeys) {
        emitQueryInt8(qn, qb, corr, sqLanes);
        if (keysByLane)
          emitDotGroupData(corr, sqLanes, gcorr, gsq);
        if (qWords)
          emitQueryWords(qb, qWords);
      }

      // Keys any row of the tile may see.
      Value kvEnd = skv;
      if (op.getCausal()) {
        Value lastVisible = arith::AddIOp::create(
            b, arith::AddIOp::create(b, posIdx[br - 1], causalOffset), c1);
        kvEnd = arith::MaxSIOp::create(
            b, c0, arith::MinSIOp::create(b, skv, lastVisible));
      }
      Value splitLen = arith::CeilDivUIOp::create(b, kvEnd, numSplits);
      // Keys whose scales fold into the query per token group: partitions
      // start at a multiple of kDotLanes keys (blocks are whole vectors),
      // so the kDotLanes keys of a vector share a token group.
      if (channelScaledKeys || foldKeyScale || ternaryValue)
        splitLen = arith::MulIOp::create(
            b, arith::CeilDivUIOp::create(b, splitLen, cIdx(kDotLanes)),
            cIdx(kDotLanes));

      Value zeroVec = arith::ConstantOp::create(
          b, DenseElementsAttr::get(vecF32, b.getF32FloatAttr(0.0)));
      Value negInfVec = splat(negInf());

      {
        Value lo = arith::MinUIOp::create(
            b, arith::MulIOp::create(b, s, splitLen), kvEnd);
        Value hi = arith::MinUIOp::create(
            b, arith::AddIOp::create(b, lo, splitLen), kvEnd);
        for (int64_t t = 0; t < br; ++t) {
          memref::StoreOp::create(b, negInf(), maxs, {cIdx(t)});
          memref::StoreOp::create(b, cF32(0.0), sums, {cIdx(t)});
          for (int64_t c = 0; c < dvChunks; ++c)
            vector::StoreOp::create(b, zeroVec, accs, {cIdx(t), cIdx(c * vw)});
        }

        buildFor(b, lo, hi, cIdx(bk), [&](Value j0) {
          Value n = arith::MinUIOp::create(b, cIdx(bk),
                                           arith::SubIOp::create(b, hi, j0));
          for (int64_t t = 0; t < br; ++t)
            for (int64_t c = 0; c < bk / vw; ++c)
              vector::StoreOp::create(b, negInfVec, scores,
                                      {cIdx(t), cIdx(c * vw)});

          // Each key row is decoded once for all rows of the tile, into
          // one vector per row whose lanes sum to the score.
          Value lastKey = arith::SubIOp::create(b, skv, c1);
          auto rowPartials = [&](Value j) {
            emitPrefetchRow(*value, bi, hk, j);
            // And the key row 8 keys ahead, unless plain f32: rows of codes
            // or halves take longer to decode than to load, and without
            // the prefetch the core has one stream in flight (f16 and INT8
            // from memory, Ice Lake: 1.08-1.10x faster). An f32 row's own
            // loads keep the memory busy (the same from memory there, 4-8%
            // slower with it on an AVX2 CPU).
            if (!key->decoder && !isPlain(*key, f32))
              emitPrefetchRow(
                  *key, bi, hk,
                  arith::MinUIOp::create(
                      b, arith::AddIOp::create(b, j, cIdx(8)), lastKey));
            if (int8Dot)
              return emitInt8Partials(bi, hk, j, qb, corr, sqLanes);
            // Key scales per token group: the query times the group's
            // scales where a group (or the block) starts, the codes bare.
            if (foldKeyScale)
              buildIf(
                  b,
                  startsKeyGroup(j, arith::CmpIOp::create(
                                        b, arith::CmpIPredicate::eq, j, j0)),
                  [&]() { emitFoldedQueryF32(bi, hk, j, qt, keyFold); });
            SmallVector<Value> kChunks = loadKVChunks(
                *key, bi, hk, j, 0, dChunks, /*withScale=*/!foldKeyScale);
            SmallVector<Value> rowAccs;
            for (int64_t t = 0; t < br; ++t) {
              // The zero points' share of the score, summed with the lanes.
              Value acc = keyFold.offset
                              ? Value(vector::InsertOp::create(
                                    b,
                                    memref::LoadOp::create(b, keyFold.offset,
                                                           {cIdx(t)}),
                                    zeroVec, int64_t(0)))
                              : zeroVec;
              for (int64_t c = 0; c < dChunks; ++c) {
                Value qv = vector::LoadOp::create(
                    b, vecF32, foldKeyScale ? keyFold.query : qt,
                    {cIdx(t), cIdx(c * vw)});
                acc = vector::FMAOp::create(b, qv, kChunks[c], acc);
              }
              rowAccs.push_back(acc);
            }
            return rowAccs;
          };
          // With int8 dot products (never with masks or Delta-S), `unroll`
          // keys at a time: their rows' vectors are summed together (one
          // shuffle tree for all, which leaves row t's scores in lanes
          // t * unroll ...) and stored as one vector per row; keys past the
          // block (the last group reads the block's last key again) become
          // -inf, and with causal the keys a row may not see. (A power of
          // two up to 8 and vw, so that it divides the block.)
          // Without int8, only for heads of up to 4 vectors (short heads,
          // e.g. low rank): one tree then replaces `unroll` per-key
          // reductions. With 8 vectors per key (D 128), even 2 keys at a
          // time made fp32 decode 35-45% slower.
          int64_t floatUnroll =
              !mask && !deltaS && !key->outlierDecoder && dChunks <= 4
                  ? std::min<int64_t>(8, accumulatorBudget(vw) / dChunks)
                  : 1;
          int64_t unroll =
              int8Dot || floatUnroll > 1
                  ? int64_t(llvm::bit_floor(uint64_t(std::max<int64_t>(
                        1, std::min({int64_t(8), vw, kDotLanes / br,
                                     int8Dot ? int64_t(8) : floatUnroll})))))
                  : 1;
          if (keysByLane) {
            emitInt8ScoresByLane(bi, hk, j0, n, qb, qWords, gcorr, gsq, scores,
                                 posIdx, channelScaledKeys ? &keyFold : nullptr,
                                 qt);
            unroll = 0;
          } else if (unroll > 1) {
            // Whole groups of `unroll` keys, then the block's last, partial
            // one (the clamp and the mask only there).
            auto body = [&](Value jj, bool clamp) {
              Value last = clamp ? arith::SubIOp::create(b, n, c1) : Value();
              SmallVector<Value> rowsOfKeys(br * unroll);
              for (int64_t u = 0; u < unroll; ++u) {
                Value key = arith::AddIOp::create(b, jj, cIdx(u));
                if (clamp)
                  key = arith::MinUIOp::create(b, key, last);
                Value j = arith::AddIOp::create(b, j0, key);
                SmallVector<Value> partials = rowPartials(j);
                for (int64_t t = 0; t < br; ++t)
                  rowsOfKeys[t * unroll + u] = partials[t];
              }
              int64_t rowsPerVector, lanes;
              SmallVector<Value> sums =
                  reduceRowsToLanes(rowsOfKeys, rowsPerVector, lanes);
              assert(sums.size() == 1 && "one vector of scores per group");
              SmallVector<Value> rowScores;
              for (int64_t t = 0; t < br; ++t) {
                SmallVector<int64_t> rowLanes;
                for (int64_t u = 0; u < unroll; ++u)
                  rowLanes.push_back((t * unroll + u) * lanes);
                rowScores.push_back(vector::ShuffleOp::create(
                    b, sums.front(), sums.front(), rowLanes));
              }
              storeScores(rowScores, jj, j0, n, posIdx, scores,
                          /*inRange=*/!clamp);
            };
            buildWholeThenPartialFor(b, n, unroll, /*split=*/true, body);
          }
          buildFor(b, c0, unroll != 1 ? c0 : n, c1, [&](Value jj) {
            Value j = arith::AddIOp::create(b, j0, jj);
            SmallVector<Value> rowScores = reduceRows(rowPartials(j));
            // GEAR's key outliers: value * q[channel] for each row (q
            // scaled, in channel order: decoded keys are not split),
            // summed apart and added to the reduced score once, so that
            // they do not lengthen the chain behind the reduction.
            SmallVector<Value> sparse(br);
            for (int64_t k = 0; k < key->outlierCount(); ++k) {
              auto [at, outlier] = loadOutlier(*key, bi, hk, j, k);
              for (int64_t t = 0; t < br; ++t) {
                Value qc = memref::LoadOp::create(b, qt, {cIdx(t), at});
                sparse[t] =
                    sparse[t]
                        ? math::FmaOp::create(b, outlier, qc, sparse[t])
                        : arith::MulFOp::create(b, outlier, qc).getResult();
              }
            }
            if (key->outlierCount())
              for (int64_t t = 0; t < br; ++t)
                rowScores[t] =
                    arith::AddFOp::create(b, rowScores[t], sparse[t]);
            for (int64_t t = 0; t < br; ++t) {
              Value score = rowScores[t];
              if (deltaS) {
                // Delta-S of the row's group, under the softmax scale.
                Value ds = memref::LoadOp::create(
                    b, deltaS,
                    {bi, headIdx[t],
                     arith::DivUIOp::create(b, posIdx[t], deltaSRows), j});
                score = math::FmaOp::create(b, ds, softmaxScale, score);
              }
              if (mask) {
                Value mb = arith::SelectOp::create(
                    b,
                    arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                          dimOf(mask, 0), c1),
                    c0, bi);
                Value mh = arith::SelectOp::create(
                    b,
                    arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                          dimOf(mask, 1), c1),
                    c0, headIdx[t]);
                Value mq = arith::SelectOp::create(
                    b,
                    arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                          dimOf(mask, 2), c1),
                    c0, posIdx[t]);
                Value m = memref::LoadOp::create(b, mask, {mb, mh, mq, j});
                score = arith::AddFOp::create(
                    b, score, emitExtendToF32(b, b.getLoc(), m));
              }
              if (op.getCausal()) {
                Value limit = arith::AddIOp::create(b, posIdx[t], causalOffset);
                Value hidden = arith::CmpIOp::create(
                    b, arith::CmpIPredicate::sgt, j, limit);
                score = arith::SelectOp::create(b, hidden, negInf(), score);
              }
              memref::StoreOp::create(b, score, scores, {cIdx(t), jj});
            }
          });

          // Online softmax: new maximum, rescale, exponentiate in place.
          // Each row's maximum and sum are lane-wise over the block's
          // vectors, then the rows' lanes are combined in one shuffle tree
          // (reduceRows) instead of one reduction per row, and the rows'
          // correction factors are one vector exponential. The maximum may
          // pass over a NaN score: its own exp is NaN either way, and so are
          // the row's sum and output.
          SmallVector<Value> maxVecs;
          for (int64_t t = 0; t < br; ++t) {
            Value maxVec;
            for (int64_t c = 0; c < bk / vw; ++c) {
              Value v = vector::LoadOp::create(b, vecF32, scores,
                                               {cIdx(t), cIdx(c * vw)});
              maxVec = maxVec ? selectMax(maxVec, v) : v;
            }
            maxVecs.push_back(maxVec);
          }
          SmallVector<Value> blockMaxes = reduceRows(
              maxVecs, [&](Value x, Value y) { return selectMax(x, y); },
              splat(negInf()));
          SmallVector<Value> newMaxes, refs, exponents;
          for (int64_t t = 0; t < br; ++t) {
            Value oldMax = memref::LoadOp::create(b, maxs, {cIdx(t)});
            Value newMax = arith::MaximumFOp::create(b, oldMax, blockMaxes[t]);
            // While every key so far is masked, exponentiate against 0 so
            // that exp(-inf - x) stays 0 instead of NaN.
            Value isEmpty = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ,
                                                  newMax, negInf());
            Value ref = arith::SelectOp::create(b, isEmpty, cF32(0.0), newMax);
            newMaxes.push_back(newMax);
            refs.push_back(ref);
            exponents.push_back(arith::SubFOp::create(b, oldMax, ref));
          }
          SmallVector<Value> corrections;
          {
            Value all = math::ExpOp::create(
                b, vector::FromElementsOp::create(b, VectorType::get({br}, f32),
                                                  exponents));
            for (int64_t t = 0; t < br; ++t)
              corrections.push_back(vector::ExtractOp::create(b, all, t));
          }
          SmallVector<Value> sumVecs;
          for (int64_t t = 0; t < br; ++t) {
            Value refVec = splat(refs[t]);
            Value log2eVec = splat(cF32(M_LOG2E));
            Value sumVec;
            for (int64_t c = 0; c < bk / vw; ++c) {
              Value idx[2] = {cIdx(t), cIdx(c * vw)};
              Value v = vector::LoadOp::create(b, vecF32, scores, idx);
              // exp(v - ref) as 2^((v - ref) log2 e): the difference first,
              // exact near the maximum, then one rounding.
              Value p = emitExp2(arith::MulFOp::create(
                  b, arith::SubFOp::create(b, v, refVec), log2eVec));
              if (pType) {
                // The row sum takes the unrounded probabilities; P V the
                // rounded ones.
                if (pScale != 1.0)
                  p = arith::MulFOp::create(b, p, splat(cF32(pScale)));
                vector::StoreOp::create(b, roundProbabilities(p), scores, idx);
              } else {
                vector::StoreOp::create(b, p, scores, idx);
              }
              sumVec = sumVec ? arith::AddFOp::create(b, sumVec, p) : p;
            }
            sumVecs.push_back(sumVec);
          }
          SmallVector<Value> blockSums = reduceRows(sumVecs);
          for (int64_t t = 0; t < br; ++t) {
            Value oldSum = memref::LoadOp::create(b, sums, {cIdx(t)});
            memref::StoreOp::create(
                b,
                arith::AddFOp::create(
                    b, arith::MulFOp::create(b, oldSum, corrections[t]),
                    blockSums[t]),
                sums, {cIdx(t)});
            memref::StoreOp::create(b, newMaxes[t], maxs, {cIdx(t)});
          }
          // Once the maximum settles the correction is 1: no rescale. (After
          // all rows, so that the rows' softmax is one straight-line block
          // whose independent chains overlap.)
          for (int64_t t = 0; t < br; ++t) {
            Value corrVec = splat(corrections[t]);
            buildIf(b,
                    arith::CmpFOp::create(b, arith::CmpFPredicate::UNE,
                                          corrections[t], cF32(1.0)),
                    [&]() {
                      for (int64_t c = 0; c < dvChunks; ++c) {
                        Value idx[2] = {cIdx(t), cIdx(c * vw)};
                        Value a = vector::LoadOp::create(b, vecF32, accs, idx);
                        vector::StoreOp::create(
                            b, arith::MulFOp::create(b, a, corrVec), accs, idx);
                      }
                    });
          }

          if (int8PV) {
            emitWeightsInt8(bi, hk, j0, scores, wq, wStep, wOffset, wZero);
            if (ternaryValue)
              emitTernaryValueInt8(bi, hk, j0, n, wq, wStep, accs);
            else
              emitValueInt8(bi, hk, j0, n, wq, wStep, wOffset, wZero, accs);
            return;
          }
          if (foldValueScale)
            emitValueWeights(bi, hk, j0, scores, weights, zeroSums);

          // P V, a few vectors of channels at a time: the tile's
          // accumulators of those chunks stay in registers across the
          // block's keys (the accumulator budget: 16 with AVX-512), each
          // value chunk is decoded once for all rows and each probability is
          // broadcast once per group of chunks.
          int64_t chunksPerGroup =
              std::max<int64_t>(1, accumulatorBudget(vw) / br);
          for (int64_t c0g = 0; c0g < dvChunks; c0g += chunksPerGroup) {
            int64_t cEnd = std::min(dvChunks, c0g + chunksPerGroup);
            SmallVector<Value> init;
            for (int64_t t = 0; t < br; ++t)
              for (int64_t c = c0g; c < cEnd; ++c)
                init.push_back(vector::LoadOp::create(b, vecF32, accs,
                                                      {cIdx(t), cIdx(c * vw)}));
            auto loop = scf::ForOp::create(b, c0, n, c1, init);
            {
              OpBuilder::InsertionGuard guard(b);
              b.setInsertionPointToStart(loop.getBody());
              Value jj = loop.getInductionVar();
              Value j = arith::AddIOp::create(b, j0, jj);
              SmallVector<Value> vChunks =
                  loadKVChunks(*value, bi, hk, j, c0g, cEnd, !foldValueScale,
                               /*halfUnits=*/valueWeightsInHalfUnits());
              SmallVector<Value> next;
              for (int64_t t = 0; t < br; ++t) {
                // The probability, or its weights per scale group.
                DenseMap<int64_t, Value> weight;
                auto probability = [&](int64_t c) {
                  int64_t g = foldValueScale ? chunkGroup[c] : -1;
                  Value &p = weight[g];
                  if (!p)
                    p = splat(g >= 0 ? memref::LoadOp::create(
                                           b, weights, {cIdx(t), cIdx(g), jj})
                                     : memref::LoadOp::create(b, scores,
                                                              {cIdx(t), jj}));
                  return p;
                };
                for (int64_t c = c0g; c < cEnd; ++c)
                  next.push_back(vector::FMAOp::create(
                      b, probability(c), vChunks[c - c0g],
                      loop.getRegionIterArgs()[next.size()]));
              }
              scf::YieldOp::create(b, next);
            }
            int64_t k = 0;
            for (int64_t t = 0; t < br; ++t)
              for (int64_t c = c0g; c < cEnd; ++c) {
                Value acc = loop.getResult(k++);
                // The zero points' share: sum of p * z over the block.
                if (zeroSums && chunkGroup[c] >= 0)
                  acc = arith::AddFOp::create(
                      b, acc,
                      splat(memref::LoadOp::create(
                          b, zeroSums, {cIdx(t), cIdx(chunkGroup[c])})));
                vector::StoreOp::create(b, acc, accs, {cIdx(t), cIdx(c * vw)});
              }
          }
          // GEAR's value outliers: p * value into the accumulator of their
          // channel, once per key and row.
          if (value->outlierDecoder)
            buildFor(b, c0, n, c1, [&](Value jj) {
              Value j = arith::AddIOp::create(b, j0, jj);
              SmallVector<Value> probs;
              for (int64_t t = 0; t < br; ++t)
                probs.push_back(
                    memref::LoadOp::create(b, scores, {cIdx(t), jj}));
              for (int64_t k = 0; k < value->outlierCount(); ++k) {
                auto [at, outlier] = loadOutlier(*value, bi, hk, j, k);
                for (int64_t t = 0; t < br; ++t) {
                  SmallVector<Value> idx = {cIdx(t), at};
                  memref::StoreOp::create(
                      b,
                      math::FmaOp::create(b, probs[t], outlier,
                                          memref::LoadOp::create(b, accs, idx)),
                      accs, idx);
                }
              }
            });
        });
      }

      // Finish the tile: with one partition, normalise and write the
      // valid rows; with several, keep this partition's statistics and
      // accumulators for the combination below.
      auto finish = scf::IfOp::create(b, multiSplit, /*withElse=*/true);
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(finish.thenBlock());
        for (int64_t t = 0; t < br; ++t)
          buildIf(b, rowValid[t], [&]() {
            auto index = [&](int64_t i) {
              SmallVector<Value> idx{bi, hk, s, rowIdx[t]};
              idx.push_back(cIdx(i));
              return idx;
            };
            memref::StoreOp::create(b,
                                    memref::LoadOp::create(b, maxs, {cIdx(t)}),
                                    partials, index(0));
            memref::StoreOp::create(b,
                                    memref::LoadOp::create(b, sums, {cIdx(t)}),
                                    partials, index(1));
            for (int64_t c = 0; c < dvChunks; ++c)
              vector::StoreOp::create(
                  b,
                  vector::LoadOp::create(b, vecF32, accs,
                                         {cIdx(t), cIdx(c * vw)}),
                  partials, index(2 + c * vw));
          });
        b.setInsertionPointToStart(finish.elseBlock());
        for (int64_t t = 0; t < br; ++t)
          buildIf(b, rowValid[t], [&]() {
            // A row that saw no key at all (fully masked) outputs zeros.
            Value total = memref::LoadOp::create(b, sums, {cIdx(t)});
            SmallVector<Value> chunks;
            for (int64_t c = 0; c < dvChunks; ++c)
              chunks.push_back(vector::LoadOp::create(b, vecF32, accs,
                                                      {cIdx(t), cIdx(c * vw)}));
            writeRow(out, bi, headIdx[t], posIdx[t], total,
                     toNatural(*value, chunks), dv, outElementType);
          });
      }
    });
  }
}

LogicalResult CPUKernelFeatures::verify(Location loc) const {
  if (vectorRegisters < 4 || vectorRegisters > 64)
    return emitError(loc) << "kvq-tile-attention: vector-registers must be "
                             "between 4 and 64, not "
                          << vectorRegisters;
  if (registerBits < 128 || registerBits > 2048 ||
      !llvm::isPowerOf2_64(registerBits))
    return emitError(loc) << "kvq-tile-attention: register-bits must be a "
                             "power of two from 128 to 2048, not "
                          << registerBits;
  return success();
}

LogicalResult
mlir::kvq::lowerAttentionForCPU(RewriterBase &rewriter, AttentionOp op,
                                const AttentionSchedule &schedule,
                                const CPUKernelFeatures &features) {
  if (failed(schedule.verify(
          [&] { return op.emitOpError() << "kvq-tile-attention: "; })) ||
      failed(features.verify(op.getLoc())))
    return failure();
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  ImplicitLocOpBuilder b(op.getLoc(), rewriter);
  AttentionEmitter emitter(b, op, schedule, features);
  if (failed(emitter.emit()))
    return failure();
  rewriter.replaceOp(op, emitter.getReplacement());
  return success();
}

namespace {
struct KVQTileAttentionPass
    : kvq::impl::KVQTileAttentionBase<KVQTileAttentionPass> {
  using Base::Base;
  KVQTileAttentionPass() = default;
  KVQTileAttentionPass(const KVQTileAttentionPass &other) : Base(other) {}

#define KVQ_SCHEDULE_OPTIONS_CPU 1
#define KVQ_SCHEDULE_OPTIONS_GPU 0
#include "kvq/Dialect/KVQ/IR/AttentionScheduleOptions.inc"

  void runOnOperation() override {
    // Each op's schedule: the one kvq-attention-schedule (or a transform
    // script) attached, with the knobs given to this pass replaced.
    AttentionScheduleOverrides overrides = getScheduleOverrides();
    if (failed(overrides.verify(ScheduleTarget::CPU, [&] {
          return emitError(getOperation().getLoc()) << "kvq-tile-attention: ";
        })))
      return signalPassFailure();
    CPUKernelFeatures features{avx512BF16,  vectorRegisters, registerBits,
                               int8Nibbles, tableLookup,     byteTables};
    if (failed(features.verify(getOperation().getLoc())))
      return signalPassFailure();
    SmallVector<AttentionOp> ops;
    getOperation().walk([&](AttentionOp op) { ops.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (AttentionOp op : ops) {
      FailureOr<AttentionSchedule> schedule =
          selectAttentionSchedule(op, ScheduleTarget::CPU, overrides);
      if (failed(schedule) ||
          failed(lowerAttentionForCPU(rewriter, op, *schedule, features)))
        return signalPassFailure();
    }
  }
};
} // namespace
