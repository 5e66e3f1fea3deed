//===- TargetInfo.cpp - Facts about NVIDIA GPU architectures --------------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Conversion/KVQToGPU/TargetInfo.h"

#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::kvq;

namespace {
/// One row per compute capability kvq knows.
struct ChipFacts {
  int computeCapability;
  StringLiteral description;
  int64_t numSMs, sharedMemoryPerSM, maxSharedMemoryPerCTA;
  int64_t maxThreadsPerSM, maxCTAsPerSM;
  double dramBandwidth, dramLatencyNs, clockGHz;
};
} // namespace

// Capacity: the CUDA occupancy tables of each compute capability. Products:
// A100 SXM 80 GB (2.04 TB/s), A40 (696 GB/s), L40S (864 GB/s), H200 SXM
// (4.8 TB/s; an H100 SXM has 3.35 TB/s and so needs less in flight). The
// latency is a loaded-DRAM figure of the order microbenchmarks report.
static constexpr ChipFacts kChips[] = {
    {80, "A100 SXM 80GB", 108, 167936, 166912, 2048, 32, 2.039e12, 650, 1.41},
    {86, "A40", 84, 102400, 101376, 1536, 16, 0.696e12, 600, 1.74},
    {89, "L40S", 142, 102400, 101376, 1536, 24, 0.864e12, 600, 2.52},
    {90, "H200 SXM", 132, 233472, 232448, 2048, 32, 4.8e12, 600, 1.98},
};

std::optional<NVIDIATargetInfo> NVIDIATargetInfo::lookup(StringRef chip) {
  StringRef rest = chip;
  if (!rest.consume_front("sm_"))
    return std::nullopt;
  bool archSpecific = rest.consume_back("a");
  unsigned cc;
  if (rest.getAsInteger(10, cc))
    return std::nullopt;
  for (const ChipFacts &facts : kChips) {
    if (facts.computeCapability != static_cast<int>(cc))
      continue;
    if (archSpecific && cc != 90)
      return std::nullopt;
    NVIDIATargetInfo info;
    info.chip = chip.str();
    info.description = facts.description;
    info.computeCapability = facts.computeCapability;
    info.archSpecific = archSpecific;
    info.numSMs = facts.numSMs;
    info.sharedMemoryPerSM = facts.sharedMemoryPerSM;
    info.maxSharedMemoryPerCTA = facts.maxSharedMemoryPerCTA;
    info.maxThreadsPerSM = facts.maxThreadsPerSM;
    info.maxCTAsPerSM = facts.maxCTAsPerSM;
    info.dramBandwidth = facts.dramBandwidth;
    info.dramLatencyNs = facts.dramLatencyNs;
    info.clockGHz = facts.clockGHz;
    return info;
  }
  return std::nullopt;
}

std::string NVIDIATargetInfo::getKnownChips() {
  SmallVector<std::string> names;
  for (const ChipFacts &facts : kChips) {
    names.push_back("sm_" + std::to_string(facts.computeCapability));
    if (facts.computeCapability == 90)
      names.push_back("sm_90a");
  }
  return llvm::join(names, ", ");
}

FailureOr<NVIDIATargetInfo>
NVIDIATargetInfo::get(StringRef chip,
                      function_ref<InFlightDiagnostic()> emitError) {
  if (std::optional<NVIDIATargetInfo> info = lookup(chip))
    return *info;
  return emitError() << "unknown GPU chip '" << chip
                     << "' (known: " << getKnownChips() << ")";
}

int64_t NVIDIATargetInfo::getBytesInFlightPerSM() const {
  return static_cast<int64_t>(dramBandwidth * dramLatencyNs * 1e-9 /
                              static_cast<double>(numSMs));
}
