//===- TargetInfo.h - Facts about NVIDIA GPU architectures ------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// One place for what the GPU kernel strategies and their cost model need to
// know about the chip they compile for, keyed on the `chip` option
// (`sm_80`, `sm_90a`, ...), as Triton's NVIDIA backend keys its TargetInfo
// on the compute capability: multiprocessor count, shared memory, register
// file, which MMA / copy / conversion instructions exist, and the memory
// system's bandwidth and latency (the cost model's bytes-in-flight target).
//
// The capacity figures are the architecture's (CUDA occupancy tables); the
// multiprocessor count, bandwidth and latency are those of the product the
// chip is tuned for (named by getDescription()), since an `sm_90` binary
// runs on H100s and H200s alike.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_CONVERSION_KVQTOGPU_TARGETINFO_H
#define KVQ_CONVERSION_KVQTOGPU_TARGETINFO_H

#include "mlir/IR/Diagnostics.h"
#include "mlir/Support/LLVM.h"

#include <string>

namespace mlir {
namespace kvq {

class NVIDIATargetInfo {
public:
  /// The facts of `chip` (`sm_<major><minor>` with an optional `a` suffix),
  /// or std::nullopt when kvq does not know it.
  static std::optional<NVIDIATargetInfo> lookup(StringRef chip);
  /// As lookup(), reporting an unknown chip (with the known ones) through
  /// `emitError`.
  static FailureOr<NVIDIATargetInfo>
  get(StringRef chip, function_ref<InFlightDiagnostic()> emitError);
  /// The chips lookup() knows, comma separated.
  static std::string getKnownChips();

  StringRef getChip() const { return chip; }
  /// The product whose figures are used (for example "H200 SXM").
  StringRef getDescription() const { return description; }
  /// 10 * major + minor: 80, 86, 89, 90.
  int getComputeCapability() const { return computeCapability; }

  // Capacity (per streaming multiprocessor unless said otherwise).
  int64_t getNumSMs() const { return numSMs; }
  int64_t getSharedMemoryPerSM() const { return sharedMemoryPerSM; }
  /// The most dynamic shared memory one CTA may opt in to.
  int64_t getMaxSharedMemoryPerCTA() const { return maxSharedMemoryPerCTA; }
  /// Shared memory the driver reserves per resident CTA.
  int64_t getReservedSharedMemoryPerCTA() const { return 1024; }
  int64_t getRegistersPerSM() const { return 65536; }
  int64_t getMaxRegistersPerThread() const { return 255; }
  /// Registers are allocated per warp in units of this many.
  int64_t getRegisterAllocationUnit() const { return 256; }
  int64_t getMaxThreadsPerSM() const { return maxThreadsPerSM; }
  int64_t getMaxCTAsPerSM() const { return maxCTAsPerSM; }
  /// Warp schedulers, each issuing one instruction per cycle.
  int64_t getSchedulersPerSM() const { return 4; }

  // Instructions.
  /// cp.async (nvgpu.device_async_copy), sm_80+.
  bool hasAsyncCopy() const { return computeCapability >= 80; }
  /// mma.sync.m16n8k16 with f16 operands and f32 accumulators, sm_80+.
  bool hasMmaM16N8K16() const { return computeCapability >= 80; }
  /// movmatrix.sync.aligned.m8n8.trans.b16, sm_75+.
  bool hasMovMatrix() const { return computeCapability >= 75; }
  /// cvt.rn.f16x2.{e4m3x2,e5m2x2}, sm_89+.
  bool hasFP8Conversion() const { return computeCapability >= 89; }
  /// cp.async.bulk.tensor (TMA), sm_90+.
  bool hasBulkTensorCopy() const { return computeCapability >= 90; }
  /// wgmma.mma_async, sm_90a only.
  bool hasWarpGroupMma() const {
    return archSpecific && computeCapability == 90;
  }

  // Memory system (for the cost model).
  /// DRAM bandwidth in bytes per second (datasheet).
  double getDramBandwidth() const { return dramBandwidth; }
  /// Latency of a DRAM load under load, in nanoseconds.
  double getDramLatencyNs() const { return dramLatencyNs; }
  /// SM clock in GHz (boost).
  double getClockGHz() const { return clockGHz; }
  /// Bytes that must be in flight per SM to sustain getDramBandwidth()
  /// (Little's law: bandwidth x latency / SMs).
  int64_t getBytesInFlightPerSM() const;

private:
  std::string chip;
  StringRef description;
  int computeCapability = 0;
  bool archSpecific = false;
  int64_t numSMs = 0, sharedMemoryPerSM = 0, maxSharedMemoryPerCTA = 0;
  int64_t maxThreadsPerSM = 0, maxCTAsPerSM = 0;
  double dramBandwidth = 0, dramLatencyNs = 0, clockGHz = 0;
};

} // namespace kvq
} // namespace mlir

#endif // KVQ_CONVERSION_KVQTOGPU_TARGETINFO_H
