//===- DecodeCostModel.cpp - Schedule and predictions of decode -----------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Conversion/KVQToGPU/DecodeCostModel.h"

#include "mlir/IR/Builders.h"

#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace mlir::kvq;

namespace {
/// Occupancy and in-flight bytes of one (warps, stages) candidate.
struct Candidate {
  int64_t warps = 0, stages = 0, sharedMemory = 0, ctasPerSM = 0;
  double bytesInFlightPerSM = 0;
};
} // namespace

static Candidate evaluate(const NVIDIATargetInfo &target,
                          const DecodeOperandCost &key,
                          const DecodeOperandCost &value, int64_t rows,
                          int64_t valueDim, int64_t extraPerWarp,
                          int64_t recomputePerWarp, int64_t warps,
                          int64_t stages) {
  Candidate c;
  c.warps = warps;
  c.stages = stages;
  int64_t tileKeys = DecodePlan::kTileKeys;
  int64_t ring =
      stages * tileKeys * (key.stageBytesPerKey + value.stageBytesPerKey);
  // The epilogue reuses the rings for the warps' partial outputs (f32) and
  // their row maxima and sums; the bf16 recomputation for its own rings.
  int64_t epilogue = warps * rows * (valueDim + 2) * 4;
  c.sharedMemory = std::max(
      {warps * (ring + extraPerWarp), epilogue, warps * recomputePerWarp});
  int64_t threads = 32 * warps;
  int64_t byRegisters =
      target.getRegistersPerSM() / (DecodePlan::kRegisterBudget * threads);
  int64_t byThreads = target.getMaxThreadsPerSM() / threads;
  int64_t bySharedMemory =
      target.getSharedMemoryPerSM() /
      (c.sharedMemory + target.getReservedSharedMemoryPerCTA());
  c.ctasPerSM = std::min(
      {byRegisters, byThreads, bySharedMemory, target.getMaxCTAsPerSM()});
  // cp.async operands keep stages - 1 tiles in flight per warp; operands
  // decoded by the warp itself one tile's loads.
  double asyncBytes = 0, syncBytes = 0;
  for (const DecodeOperandCost *op : {&key, &value})
    (op->staged ? syncBytes : asyncBytes) += op->dramBytesPerKey * tileKeys;
  c.bytesInFlightPerSM =
      static_cast<double>(c.ctasPerSM * warps) *
      (asyncBytes * static_cast<double>(stages - 1) + syncBytes);
  return c;
}

FailureOr<DecodePlan> mlir::kvq::planDecodeKernel(
    const NVIDIATargetInfo &target, const DecodeOperandCost &key,
    const DecodeOperandCost &value, int64_t rows, int64_t valueDim,
    int64_t extraPerWarp, int64_t recomputeBytesPerWarp, int64_t warps,
    int64_t stages, int64_t sharedMemory, std::string &error) {
  int64_t limit = target.getMaxSharedMemoryPerCTA();
  if (sharedMemory > 0)
    limit = std::min(limit, sharedMemory);
  // Four warps per CTA by default: enough independent streams per CTA to
  // amortize the epilogue, small enough that the register budget leaves
  // four CTAs per SM.
  SmallVector<int64_t> warpChoices = {warps > 0 ? warps : 4};
  SmallVector<int64_t> stageChoices;
  if (stages > 0)
    stageChoices.push_back(stages);
  else
    for (int64_t s = 2; s <= 8; ++s)
      stageChoices.push_back(s);
  // The smallest pipeline that keeps twice Little's-law bytes in flight
  // (latency varies under load), else the one with the most in flight.
  double needed = 2.0 * static_cast<double>(target.getBytesInFlightPerSM());
  std::optional<Candidate> best;
  for (int64_t w : warpChoices) {
    for (int64_t s : stageChoices) {
      Candidate c = evaluate(target, key, value, rows, valueDim, extraPerWarp,
                             recomputeBytesPerWarp, w, s);
      if (c.sharedMemory > limit || c.ctasPerSM < 1)
        continue;
      if (!best) {
        best = c;
      } else if (best->bytesInFlightPerSM < needed &&
                 c.bytesInFlightPerSM > best->bytesInFlightPerSM) {
        best = c;
      }
      if (best->bytesInFlightPerSM >= needed)
        break;
    }
  }
  if (!best) {
    Candidate c = evaluate(target, key, value, rows, valueDim, extraPerWarp,
                           recomputeBytesPerWarp, warpChoices.front(),
                           stageChoices.front());
    error = "the decode kernel needs " + std::to_string(c.sharedMemory) +
            " bytes of shared memory per CTA (" + std::to_string(c.warps) +
            " warps, " + std::to_string(c.stages) + " stages), more than the " +
            std::to_string(limit) + " allowed";
    return failure();
  }
  DecodePlan plan;
  plan.warps = best->warps;
  plan.stages = best->stages;
  plan.sharedMemoryBytes = best->sharedMemory;
  plan.ctasPerSM = best->ctasPerSM;
  plan.minTilesPerWarp = best->stages;
  plan.dramBytesPerTile =
      DecodePlan::kTileKeys * (key.dramBytesPerKey + value.dramBytesPerKey);
  // Per tile and warp, besides the operands: the online softmax of 2 rows x
  // 2 keys per lane (6 shuffles, 6 ex2, about 40 arithmetic instructions),
  // 2 movmatrix, the warp vote on the rescale (the rescale itself is rare
  // once the maxima settle), masks, side-data prefetch, loop and address
  // arithmetic: about 115 instructions in the emitted loops.
  plan.issuePerTile = key.issuePerTile + value.issuePerTile + 115.0;
  plan.ringBytesPerWarp = plan.stages * DecodePlan::kTileKeys *
                          (key.stageBytesPerKey + value.stageBytesPerKey);
  plan.epilogueBytes = plan.warps * rows * (valueDim + 2) * 4;
  return plan;
}

int64_t mlir::kvq::getDecodeSplits(const DecodePlan &plan,
                                   const NVIDIATargetInfo &target,
                                   int64_t batchHeads, int64_t keys) {
  int64_t slots = target.getNumSMs() * plan.ctasPerSM;
  int64_t want = std::max<int64_t>(1, slots / std::max<int64_t>(1, batchHeads));
  int64_t tiles = llvm::divideCeil(keys, DecodePlan::kTileKeys);
  int64_t byKeys =
      std::max<int64_t>(1, tiles / (plan.warps * plan.minTilesPerWarp));
  return std::min(want, byKeys);
}

DecodePrediction mlir::kvq::predictDecode(const DecodePlan &plan,
                                          const NVIDIATargetInfo &target,
                                          int64_t batchHeads, int64_t keys,
                                          int64_t splits) {
  DecodePrediction p;
  p.batchHeads = batchHeads;
  p.keys = keys;
  p.splits = splits;
  p.ctas = splits * batchHeads;
  int64_t tiles = llvm::divideCeil(keys, DecodePlan::kTileKeys);
  double sms = static_cast<double>(target.getNumSMs());
  double slots = sms * static_cast<double>(plan.ctasPerSM);
  double ctas = static_cast<double>(p.ctas);
  p.residentCTAsPerSM = std::min<double>(plan.ctasPerSM, ctas / sms);
  // Tiles each warp streams; a warp keeps at most stages - 1 of them (and
  // at most what it has) in flight.
  double tilesPerWarp =
      std::ceil(static_cast<double>(llvm::divideCeil(tiles, splits)) /
                static_cast<double>(plan.warps));
  double tilesInFlight =
      std::min<double>(static_cast<double>(plan.stages - 1), tilesPerWarp);
  p.bytesInFlightPerSM =
      p.residentCTAsPerSM * plan.warps * tilesInFlight * plan.dramBytesPerTile;
  double needed = static_cast<double>(target.getBytesInFlightPerSM());
  p.inFlightEfficiency = std::min(1.0, p.bytesInFlightPerSM / needed);
  // Each warp waits about one latency (stages - 1 tiles' worth) before its
  // first tile; CTAs beyond one wave leave the last wave partly empty.
  double fill =
      tilesPerWarp / (tilesPerWarp + static_cast<double>(plan.stages - 1));
  double waves = std::ceil(ctas / slots);
  double tail = waves > 1 ? ctas / (waves * slots) : 1.0;
  p.waveEfficiency = fill * tail;
  // Memory time vs issue time of a tile on one SM.
  double bytesPerSMPerSecond = target.getDramBandwidth() / sms;
  double memorySeconds = plan.dramBytesPerTile / bytesPerSMPerSecond;
  double issueSeconds =
      plan.issuePerTile / (static_cast<double>(target.getSchedulersPerSM()) *
                           target.getClockGHz() * 1e9);
  p.issueEfficiency = std::min(1.0, memorySeconds / issueSeconds);
  p.expectedEfficiency =
      p.inFlightEfficiency * p.waveEfficiency * p.issueEfficiency;
  p.dramBytes = static_cast<double>(batchHeads) * static_cast<double>(keys) *
                plan.dramBytesPerTile / DecodePlan::kTileKeys;
  p.expectedMicroseconds =
      p.dramBytes / (target.getDramBandwidth() * p.expectedEfficiency) * 1e6;
  return p;
}

DictionaryAttr mlir::kvq::getDecodePlanAttr(MLIRContext *ctx,
                                            const DecodePlan &plan,
                                            const NVIDIATargetInfo &target,
                                            const DecodePrediction *p) {
  Builder b(ctx);
  SmallVector<NamedAttribute> attrs = {
      b.getNamedAttr("chip", b.getStringAttr(target.getChip())),
      b.getNamedAttr("warps", b.getI64IntegerAttr(plan.warps)),
      b.getNamedAttr("stages", b.getI64IntegerAttr(plan.stages)),
      b.getNamedAttr("tile_keys", b.getI64IntegerAttr(DecodePlan::kTileKeys)),
      b.getNamedAttr("registers",
                     b.getI64IntegerAttr(DecodePlan::kRegisterBudget)),
      b.getNamedAttr("shared_memory",
                     b.getI64IntegerAttr(plan.sharedMemoryBytes)),
      b.getNamedAttr("ctas_per_sm", b.getI64IntegerAttr(plan.ctasPerSM)),
      b.getNamedAttr("dram_bytes_per_tile",
                     b.getF64FloatAttr(plan.dramBytesPerTile)),
      b.getNamedAttr("issue_per_tile", b.getF64FloatAttr(plan.issuePerTile)),
      b.getNamedAttr("bytes_in_flight_needed_per_sm",
                     b.getI64IntegerAttr(target.getBytesInFlightPerSM())),
      // The target facts the predictions use, for tools that redo them
      // with the registers ptxas allocated (scripts/ptx-resources.py).
      b.getNamedAttr("sms", b.getI64IntegerAttr(target.getNumSMs())),
      b.getNamedAttr("shared_memory_per_sm",
                     b.getI64IntegerAttr(target.getSharedMemoryPerSM())),
      b.getNamedAttr(
          "reserved_shared_memory_per_cta",
          b.getI64IntegerAttr(target.getReservedSharedMemoryPerCTA())),
      b.getNamedAttr("registers_per_sm",
                     b.getI64IntegerAttr(target.getRegistersPerSM())),
      b.getNamedAttr("max_threads_per_sm",
                     b.getI64IntegerAttr(target.getMaxThreadsPerSM())),
      b.getNamedAttr("max_ctas_per_sm",
                     b.getI64IntegerAttr(target.getMaxCTAsPerSM())),
      b.getNamedAttr("schedulers_per_sm",
                     b.getI64IntegerAttr(target.getSchedulersPerSM())),
      b.getNamedAttr("dram_bandwidth",
                     b.getF64FloatAttr(target.getDramBandwidth())),
      b.getNamedAttr("clock_ghz", b.getF64FloatAttr(target.getClockGHz())),
  };
  if (p) {
    attrs.push_back(
        b.getNamedAttr("batch_heads", b.getI64IntegerAttr(p->batchHeads)));
    attrs.push_back(b.getNamedAttr("keys", b.getI64IntegerAttr(p->keys)));
    attrs.push_back(b.getNamedAttr("splits", b.getI64IntegerAttr(p->splits)));
    attrs.push_back(b.getNamedAttr("ctas", b.getI64IntegerAttr(p->ctas)));
    attrs.push_back(b.getNamedAttr("bytes_in_flight_per_sm",
                                   b.getF64FloatAttr(p->bytesInFlightPerSM)));
    attrs.push_back(b.getNamedAttr("in_flight_efficiency",
                                   b.getF64FloatAttr(p->inFlightEfficiency)));
    attrs.push_back(b.getNamedAttr("wave_efficiency",
                                   b.getF64FloatAttr(p->waveEfficiency)));
    attrs.push_back(b.getNamedAttr("issue_efficiency",
                                   b.getF64FloatAttr(p->issueEfficiency)));
    attrs.push_back(b.getNamedAttr("expected_efficiency",
                                   b.getF64FloatAttr(p->expectedEfficiency)));
    attrs.push_back(b.getNamedAttr("expected_us",
                                   b.getF64FloatAttr(p->expectedMicroseconds)));
  }
  return b.getDictionaryAttr(attrs);
}
