//===- DecodeCostModel.h - Schedule and predictions of decode ---*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// The decode kernel is bound by DRAM bandwidth when it keeps enough bytes
// in flight on every multiprocessor (Little's law: bandwidth x latency /
// SMs, NVIDIATargetInfo::getBytesInFlightPerSM) and issues few enough
// instructions per byte. This model picks the kernel's warps per CTA and
// cp.async pipeline depth from the target's shared memory and register
// file, sizes split-KV to the multiprocessor count, and predicts, for a
// launch shape, the occupancy, the bytes in flight per SM and the fraction
// of DRAM bandwidth the kernel should reach. Nothing here is measured: the
// figures are the target table's and the instruction counts are estimates
// of the code the emitter generates (docs/GPU.md explains them).
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_CONVERSION_KVQTOGPU_DECODECOSTMODEL_H
#define KVQ_CONVERSION_KVQTOGPU_DECODECOSTMODEL_H

#include "kvq/Conversion/KVQToGPU/TargetInfo.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/MLIRContext.h"

namespace mlir {
namespace kvq {

/// What the model needs to know about how the kernel reads K or V.
struct DecodeOperandCost {
  /// Bytes read from DRAM per key: codes and the key's share of side data.
  double dramBytesPerKey = 0;
  /// Bytes of shared memory per key in a pipeline stage (row + padding).
  int64_t stageBytesPerKey = 0;
  /// Warp instructions per 16-key tile to load and decode the operand into
  /// mma fragments (each lane's instructions count once).
  double issuePerTile = 0;
  /// True when the operand is decoded into shared memory by the warp
  /// (decoder ops): those loads are synchronous, not cp.async.
  bool staged = false;
};

/// The decode kernel's schedule.
struct DecodePlan {
  /// Keys per tile: the 16 rows of an m16n8k16 fragment.
  static constexpr int64_t kTileKeys = 16;
  /// Registers per thread the kernels are compiled for (nvvm.maxnreg).
  static constexpr int64_t kRegisterBudget = 128;

  int64_t warps = 4;
  /// cp.async stages per warp (stages - 1 tiles in flight).
  int64_t stages = 3;
  /// Dynamic shared memory per CTA (stage rings, or the warps' partial
  /// results in the epilogue, whichever is larger).
  int64_t sharedMemoryBytes = 0;
  /// Resident CTAs per SM at the register budget (occupancy).
  int64_t ctasPerSM = 1;
  /// Automatic splits leave every warp at least this many tiles (a full
  /// pipeline).
  int64_t minTilesPerWarp = 1;
  /// Per tile and warp: DRAM bytes and warp instructions.
  double dramBytesPerTile = 0;
  double issuePerTile = 0;
  /// Shared memory of one warp's stage ring and of the epilogue.
  int64_t ringBytesPerWarp = 0, epilogueBytes = 0;
};

/// What the model predicts for one launch shape.
struct DecodePrediction {
  /// The launch shape: batch x KV heads, keys.
  int64_t batchHeads = 0, keys = 0;
  int64_t splits = 1, ctas = 0;
  /// Average CTAs resident per SM (at most DecodePlan::ctasPerSM).
  double residentCTAsPerSM = 0;
  double bytesInFlightPerSM = 0;
  /// Fractions of DRAM bandwidth: limited by bytes in flight (Little's
  /// law), by filling each warp's pipeline and the last wave of CTAs, by
  /// instruction issue; and their product, the expectation.
  double inFlightEfficiency = 0, waveEfficiency = 0, issueEfficiency = 0;
  double expectedEfficiency = 0;
  /// DRAM bytes of the launch and the time they take at that efficiency.
  double dramBytes = 0, expectedMicroseconds = 0;
};

/// Picks warps and stages for operands `key` and `value`, `rows` query rows
/// per KV head and value head dimension `valueDim` (padded to 16) on
/// `target`; each warp also needs `extraPerWarp` bytes of shared memory
/// during its loop, and `recomputeBytesPerWarp` (0: none) for one stage of
/// the bf16 recomputation after an f16 overflow, which reuses the rings.
/// `warps` / `stages` / `sharedMemory` override the choice when nonzero.
/// Fails (with `error` set) when even one stage does not fit.
FailureOr<DecodePlan>
planDecodeKernel(const NVIDIATargetInfo &target, const DecodeOperandCost &key,
                 const DecodeOperandCost &value, int64_t rows, int64_t valueDim,
                 int64_t extraPerWarp, int64_t recomputeBytesPerWarp,
                 int64_t warps, int64_t stages, int64_t sharedMemory,
                 std::string &error);

/// The split count the emitted host code computes for `batchHeads`
/// (batch x KV heads) and `keys` when split-kv is automatic: enough CTAs
/// to give every SM `ctasPerSM` of them in one wave, as long as every warp
/// keeps `minTilesPerWarp` tiles.
int64_t getDecodeSplits(const DecodePlan &plan, const NVIDIATargetInfo &target,
                        int64_t batchHeads, int64_t keys);

/// Predicts the launch of `plan` over `batchHeads` x `keys` with `splits`.
DecodePrediction predictDecode(const DecodePlan &plan,
                               const NVIDIATargetInfo &target,
                               int64_t batchHeads, int64_t keys,
                               int64_t splits);

/// The plan (and, when `prediction` is given, the prediction) as a
/// dictionary attribute (`kvq.decode_plan` on the decode launch).
DictionaryAttr getDecodePlanAttr(MLIRContext *ctx, const DecodePlan &plan,
                                 const NVIDIATargetInfo &target,
                                 const DecodePrediction *prediction);

} // namespace kvq
} // namespace mlir

#endif // KVQ_CONVERSION_KVQTOGPU_DECODECOSTMODEL_H
