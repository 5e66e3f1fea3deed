//===- KVDecoderModels.cpp - Decoder models of kvq and upstream ops -------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// KVDecoderOpInterface models for ops whose decoding needs the lowering
// utilities: kvq.dequantize (its codes are read the way kvq.attention reads
// quantized K / V), tensor.concat along the tokens or the channels,
// arith.extf (read as it is), kvq.gear_decode and kvq.polar_decode
// (PolarQuant codes decoded in registers).
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/Transforms/KVDecoderModels.h"
#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Dialect/KVQ/Transforms/VidKV.h"
#include "kvq/Dialect/KVQ/Utils/AttentionOperands.h"

#include "kvq/Dialect/KVQ/Utils/Polar.h"
#include "kvq/Dialect/KVQ/Utils/QuantCodegen.h"
#include "kvq/Dialect/KVQ/Utils/SubByte.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::kvq;

namespace {

/// A kvq.dequantize result read chunk by chunk: the codes are decoded in
/// registers by the attention lowering's own quantized-operand reader.
struct DequantizeDecoderModel
    : KVDecoderOpInterface::ExternalModel<DequantizeDecoderModel,
                                          DequantizeOp> {
  Value emitDecodeChunk(Operation *op, OpBuilder &b, Location loc,
                        KVChunkReader &reader, ValueRange coords, int64_t start,
                        int64_t width) const {
    auto dequantize = cast<DequantizeOp>(op);
    return reader.readQuantizedChunk(
        b, loc, dequantize.getCodes(), dequantize.getScale(),
        dequantize.getZeroPoint(), dequantize.getSchemeAttr(), coords, start,
        width);
  }
};

/// tensor.concat of decoded K / V along the token axis (dim 2): a row comes
/// from the input holding its token.
struct ConcatDecoderModel
    : KVDecoderOpInterface::ExternalModel<ConcatDecoderModel,
                                          tensor::ConcatOp> {
  bool canDecodeInAttention(Operation *op) const {
    auto concat = cast<tensor::ConcatOp>(op);
    RankedTensorType type = concat.getResultType();
    // Along the channels only for head dimensions that every attention
    // lowering decodes (the GPU kernels work in blocks of 4 channels);
    // other concatenations are materialized.
    return type.getRank() == 4 && !type.isDynamicDim(3) &&
           isa<FloatType>(type.getElementType()) &&
           (concat.getDim() == 2 ||
            (concat.getDim() == 3 &&
             type.getDimSize(3) % kDecodedChannelBlock == 0));
  }

  SmallVector<Value> getDecodedOperands(Operation *op) const {
    return llvm::to_vector(cast<tensor::ConcatOp>(op).getInputs());
  }

  Value emitDecodedSize(Operation *op, OpBuilder &b, Location loc,
                        KVChunkReader &reader, int64_t dim) const {
    auto concat = cast<tensor::ConcatOp>(op);
    auto inputs = concat.getInputs();
    if (dim != static_cast<int64_t>(concat.getDim()))
      return reader.getSize(b, loc, inputs.front(), dim);
    Value total = reader.getSize(b, loc, inputs.front(), dim);
    for (Value input : inputs.drop_front())
      total = arith::AddIOp::create(b, loc, total,
                                    reader.getSize(b, loc, input, dim));
    return total;
  }

  Value emitDecodeChunk(Operation *op, OpBuilder &b, Location loc,
                        KVChunkReader &reader, ValueRange coords, int64_t start,
                        int64_t width) const {
    auto concat = cast<tensor::ConcatOp>(op);
    if (concat.getDim() == 3)
      return emitChannels(b, loc, reader, concat.getInputs(), coords, start,
                          width);
    return emitFrom(b, loc, reader, concat.getInputs(), coords, coords[2],
                    start, width);
  }

private:
  /// Channels [start, start + width) of a concatenation along the channels:
  /// each input overlapping the chunk is read at the whole chunks (of
  /// `width`, the reader's alignment) that hold its channels, moved into
  /// place by a shuffle where its offset is not a multiple of `width`, and
  /// selected into its lanes. Lanes past the last input are zero.
  static Value emitChannels(OpBuilder &b, Location loc, KVChunkReader &reader,
                            ValueRange inputs, ValueRange coords, int64_t start,
                            int64_t width) {
    auto vecType = VectorType::get({width}, b.getF32Type());
    Value result = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(vecType, b.getF32FloatAttr(0.0f)));
    int64_t offset = 0;
    for (Value input : inputs) {
      int64_t n = cast<RankedTensorType>(input.getType()).getDimSize(3);
      int64_t lo = std::max(start, offset);
      int64_t hi = std::min(start + width, offset + n);
      if (lo < hi) {
        // Input channels [lo - offset, hi - offset) go to lanes
        // [lo - start, hi - start).
        int64_t first = lo - offset, aligned = first / width * width;
        Value part = reader.readChunk(b, loc, input, coords, aligned, width);
        if (first - aligned != lo - start) {
          Value next = hi - offset > aligned + width
                           ? reader.readChunk(b, loc, input, coords,
                                              aligned + width, width)
                           : part;
          SmallVector<int64_t> mask;
          for (int64_t l = 0; l < width; ++l)
            mask.push_back(l >= lo - start && l < hi - start
                               ? l + start - offset - aligned
                               : 0);
          part = vector::ShuffleOp::create(b, loc, part, next, mask);
        }
        if (lo == start && hi == start + width) {
          result = part;
        } else {
          SmallVector<bool> lanes;
          for (int64_t l = 0; l < width; ++l)
            lanes.push_back(l >= lo - start && l < hi - start);
          result = arith::SelectOp::create(
              b, loc,
              arith::ConstantOp::create(
                  b, loc,
                  DenseElementsAttr::get(
                      VectorType::get({width}, b.getI1Type()),
                      ArrayRef<bool>(lanes))),
              part, result);
        }
      }
      offset += n;
    }
    return result;
  }

  /// Decodes token `token` (relative to inputs.front()) from `inputs`.
  static Value emitFrom(OpBuilder &b, Location loc, KVChunkReader &reader,
                        ValueRange inputs, ValueRange coords, Value token,
                        int64_t start, int64_t width) {
    auto read = [&](Value input, Value t) {
      return reader.readChunk(b, loc, input, {coords[0], coords[1], t}, start,
                              width);
    };
    if (inputs.size() == 1)
      return read(inputs.front(), token);
    Value size = reader.getSize(b, loc, inputs.front(), 2);
    Value inFirst =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, token, size);
    auto vecType = VectorType::get({width}, b.getF32Type());
    auto ifOp = scf::IfOp::create(b, loc, TypeRange{vecType}, inFirst,
                                  /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      scf::YieldOp::create(b, loc, read(inputs.front(), token));
      b.setInsertionPointToStart(ifOp.elseBlock());
      Value rest = arith::SubIOp::create(b, loc, token, size);
      scf::YieldOp::create(b, loc,
                           emitFrom(b, loc, reader, inputs.drop_front(), coords,
                                    rest, start, width));
    }
    return ifOp.getResult(0);
  }
};

/// arith.extf of a decoded K / V: the chunks are f32 already, so the input
/// is read as it is (no widened copy of it is formed).
struct ExtFDecoderModel
    : KVDecoderOpInterface::ExternalModel<ExtFDecoderModel, arith::ExtFOp> {
  bool canDecodeInAttention(Operation *op) const {
    // Head dimensions that every attention lowering decodes (the GPU
    // kernels work in blocks of 4 channels); others are materialized.
    auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
    return type && type.getRank() == 4 && !type.isDynamicDim(3) &&
           type.getDimSize(3) % kDecodedChannelBlock == 0;
  }

  SmallVector<Value> getDecodedOperands(Operation *op) const {
    return {cast<arith::ExtFOp>(op).getIn()};
  }

  Value emitDecodeChunk(Operation *op, OpBuilder &b, Location loc,
                        KVChunkReader &reader, ValueRange coords, int64_t start,
                        int64_t width) const {
    return reader.readChunk(b, loc, cast<arith::ExtFOp>(op).getIn(), coords,
                            start, width);
  }
};

/// kvq.gear_decode read chunk by chunk: the base chunk (decoded
/// recursively, normally a dequantization), plus `a[s, r] f[r, chunk]` over
/// the rank, plus the token's outliers that fall in the chunk.
struct GearDecodeDecoderModel
    : KVDecoderOpInterface::ExternalModel<GearDecodeDecoderModel,
                                          GearDecodeOp> {
  SmallVector<Value> getDecodedOperands(Operation *op) const {
    return {cast<GearDecodeOp>(op).getBase()};
  }

  Value emitDecodeChunk(Operation *op, OpBuilder &b, Location loc,
                        KVChunkReader &reader, ValueRange coords, int64_t start,
                        int64_t width) const {
    auto gear = cast<GearDecodeOp>(op);
    int64_t rank = gear.getA().getType().getDimSize(3);
    int64_t count = gear.getIndices().getType().getDimSize(3);
    auto vecType = VectorType::get({width}, b.getF32Type());
    Value acc = reader.readChunk(b, loc, gear.getBase(), coords, start, width);
    Value a = reader.getBuffer(gear.getA());
    Value f = reader.getBuffer(gear.getB());
    Value idx = reader.getBuffer(gear.getIndices());
    Value vals = reader.getBuffer(gear.getValues());
    auto index = [&](int64_t i) {
      return arith::ConstantIndexOp::create(b, loc, i).getResult();
    };
    // Low rank: acc += a[s, r] * f[r, start:start+width] (zero past D).
    for (int64_t r = 0; r < rank; ++r) {
      Value ar = memref::LoadOp::create(
          b, loc, a, ValueRange{coords[0], coords[1], coords[2], index(r)});
      Value row = reader.loadChunk(
          b, loc, f, ValueRange{coords[0], coords[1], index(r)}, start, width);
      acc = vector::FMAOp::create(
          b, loc,
          vector::BroadcastOp::create(b, loc, vecType,
                                      emitExtendToF32(b, loc, ar)),
          row, acc);
    }
    // Outliers: lane idx - start gets the value when it is in the chunk
    // (unless the kernel adds them to its scores and accumulators itself).
    if (count == 0 || reader.appliesSparseTerms(op))
      return acc;
    SmallVector<int32_t> lanes(width);
    for (int64_t i = 0; i < width; ++i)
      lanes[i] = static_cast<int32_t>(start + i);
    auto laneType = VectorType::get({width}, b.getI32Type());
    Value channels = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(laneType, ArrayRef<int32_t>(lanes)));
    for (int64_t k = 0; k < count; ++k) {
      SmallVector<Value> pos = {coords[0], coords[1], coords[2], index(k)};
      Value channel = memref::LoadOp::create(b, loc, idx, pos);
      Value value =
          emitExtendToF32(b, loc, memref::LoadOp::create(b, loc, vals, pos));
      Value hit = arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::eq, channels,
          vector::BroadcastOp::create(b, loc, laneType, channel));
      // A masked add (one instruction with AVX-512 masks).
      acc = arith::SelectOp::create(
          b, loc, hit,
          arith::AddFOp::create(
              b, loc, acc, vector::BroadcastOp::create(b, loc, vecType, value)),
          acc);
    }
    return acc;
  }
};

/// kvq.polar_decode read chunk by chunk: lane c of a chunk is its block's
/// radius times, per level, the cosine or sine of the centroid its code
/// selects (the standalone lowering's formula, in the same order). Chunk
/// starts are static, so every byte and bit position is a constant: the
/// chunk loads its few radius and code bytes as scalars, spreads them over
/// the lanes, shifts each lane's code out with a constant shift vector and
/// reads the factor from a table of cosines and sines with kvq.lookup
/// where the reader's target permutes lanes (the lane's cosine or sine as
/// one more index bit), else selects it among constant vectors (one per
/// code, cosine or sine per lane).
struct PolarDecodeDecoderModel
    : KVDecoderOpInterface::ExternalModel<PolarDecodeDecoderModel,
                                          PolarDecodeOp> {
  Value emitDecodeChunk(Operation *op, OpBuilder &b, Location loc,
                        KVChunkReader &reader, ValueRange coords, int64_t start,
                        int64_t width) const {
    auto polar = cast<PolarDecodeOp>(op);
    int64_t d = polar.getResult().getType().getDimSize(3);
    int64_t levels = polar.getLevels();
    ArrayRef<int64_t> bits = polar.getBits();
    auto f32Vec = VectorType::get({width}, b.getF32Type());
    auto i32Vec = VectorType::get({width}, b.getI32Type());
    auto load = [&](Value tensor, int64_t i) -> Value {
      SmallVector<Value> indices(coords);
      indices.push_back(arith::ConstantIndexOp::create(b, loc, i));
      return memref::LoadOp::create(b, loc, reader.getBuffer(tensor), indices);
    };
    // Lanes past the head dimension read radius 0 and byte 0.
    auto lanes = [&](Value tensor, int64_t shift, int64_t perElement,
                     Value zero, function_ref<Value(Value)> convert) {
      llvm::DenseMap<int64_t, Value> loaded;
      SmallVector<Value> values;
      for (int64_t c = start; c < start + width; ++c) {
        if (c >= d) {
          values.push_back(zero);
          continue;
        }
        int64_t i = (c >> shift) / perElement;
        auto [it, inserted] = loaded.try_emplace(i);
        if (inserted)
          it->second = convert(load(tensor, i));
        values.push_back(it->second);
      }
      return values;
    };

    Value zeroF32 = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
    Value value = vector::FromElementsOp::create(
        b, loc, f32Vec,
        lanes(polar.getRadius(), levels, 1, zeroF32,
              [&](Value r) { return emitExtendToF32(b, loc, r); }));
    for (int64_t level = levels; level >= 1; --level) {
      int64_t w = bits[level - 1];
      // Lane c's code is code c >> level of the level, at bit (c >> level)
      // * w of its row (LSB-first packing).
      SmallVector<int64_t> bitOf;
      SmallVector<bool> sine;
      for (int64_t c = start; c < start + width; ++c) {
        bitOf.push_back(c < d ? (c >> level) * w : -1);
        sine.push_back((c >> (level - 1)) & 1);
      }
      SmallVector<Value> prefix(coords);
      Value code =
          emitLaneFields(b, loc, reader.getBuffer(polar.getCodes()[level - 1]),
                         prefix, bitOf, w);
      std::vector<float> table = polarTrigTable(level, w);
      if (reader.hasTableLookup()) {
        // One lookup in [cos of each code..., sin of each code...]: the
        // lane's sine is index bit w.
        SmallVector<float> entries(2 * (int64_t(1) << w));
        SmallVector<int32_t> sineBits;
        for (int64_t k = 0; k < (int64_t(1) << w); ++k) {
          entries[k] = table[2 * k];
          entries[k + (int64_t(1) << w)] = table[2 * k + 1];
        }
        for (bool s : sine)
          sineBits.push_back(s ? int32_t(1) << w : 0);
        Value index = arith::OrIOp::create(
            b, loc, code,
            arith::ConstantOp::create(
                b, loc,
                DenseElementsAttr::get(i32Vec, ArrayRef<int32_t>(sineBits))));
        Value entriesVec = arith::ConstantOp::create(
            b, loc,
            DenseElementsAttr::get(
                VectorType::get({int64_t(entries.size())}, b.getF32Type()),
                ArrayRef<float>(entries)));
        value = arith::MulFOp::create(
            b, loc, value, LookupOp::create(b, loc, entriesVec, index));
        continue;
      }
      // The factor of code k (cos or sin by lane) by a binary tree of
      // selects on the code's bits: 2^w - 1 selects and w bit tests.
      SmallVector<Value> factors;
      for (int64_t k = 0; k < (int64_t(1) << w); ++k) {
        SmallVector<float> lane;
        for (bool s : sine)
          lane.push_back(table[2 * k + s]);
        factors.push_back(arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(f32Vec, ArrayRef<float>(lane))));
      }
      for (int64_t bit = 0; factors.size() > 1; ++bit) {
        Value set = arith::CmpIOp::create(
            b, loc, arith::CmpIPredicate::ne,
            arith::AndIOp::create(
                b, loc, code,
                arith::ConstantOp::create(
                    b, loc,
                    DenseElementsAttr::get(
                        i32Vec, b.getI32IntegerAttr(int32_t(1) << bit)))),
            arith::ConstantOp::create(
                b, loc,
                DenseElementsAttr::get(i32Vec, b.getI32IntegerAttr(0))));
        SmallVector<Value> next;
        for (size_t k = 0; k < factors.size(); k += 2)
          next.push_back(
              arith::SelectOp::create(b, loc, set, factors[k + 1], factors[k]));
        factors = std::move(next);
      }
      Value factor = factors.front();
      value = arith::MulFOp::create(b, loc, value, factor);
    }
    return value;
  }
};

} // namespace

void mlir::kvq::registerKVDecoderExternalModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, KVQDialect *) {
    DequantizeOp::attachInterface<DequantizeDecoderModel>(*ctx);
    GearDecodeOp::attachInterface<GearDecodeDecoderModel>(*ctx);
    PolarDecodeOp::attachInterface<PolarDecodeDecoderModel>(*ctx);
  });
  registry.addExtension(+[](MLIRContext *ctx, tensor::TensorDialect *) {
    tensor::ConcatOp::attachInterface<ConcatDecoderModel>(*ctx);
  });
  registry.addExtension(+[](MLIRContext *ctx, arith::ArithDialect *) {
    arith::ExtFOp::attachInterface<ExtFDecoderModel>(*ctx);
  });
  registerVidKVDecoderModels(registry);
}
