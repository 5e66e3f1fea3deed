//===- KernelABI.h - C text of a compiled kvq library -----------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// kvq-compile exports every public function of a module through the C ABI
// of include/kvq/Runtime/kvq_abi.h. kvq-wrap-entry-points prepares the
// module (kvq/Dialect/KVQ/Transforms/EntryPoints.h); this file writes, from
// the entry points it describes, the generated C header, the C wrapper
// that checks and unpacks `kvq_buffer`s, and the JSON manifest.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_TOOLS_KVQCOMPILE_KERNELABI_H
#define KVQ_TOOLS_KVQCOMPILE_KERNELABI_H

#include "kvq/Dialect/KVQ/Transforms/EntryPoints.h"
#include "mlir/Support/LLVM.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir {
namespace kvq {

/// Writes `<library>.h`: the ABI definitions and one prototype per entry.
void emitCHeader(raw_ostream &os, StringRef libraryName,
                 StringRef abiHeaderText, ArrayRef<EntryPoint> entries);

/// Writes the C wrapper that implements the entry points over the kernels'
/// C interfaces; it includes `headerFileName`. With `defineMemrefCopy`, it
/// also defines `memrefCopy`, the strided copy that lowered `memref.copy`
/// calls (MLIR's C runner utilities have it too, but would pull libMLIR
/// into every process that loads a kernel).
/// With `deviceErrors` (GPU libraries), an entry point returns
/// KVQ_ERR_DEVICE when a CUDA call of the run failed. Every wrapper defines
/// kvq_set_num_threads / kvq_get_num_threads; with `openMP` (kernels with
/// OpenMP regions, linked with libomp) each call applies that thread count
/// and waits passively.
void emitCWrapper(raw_ostream &os, StringRef headerFileName,
                  ArrayRef<EntryPoint> entries, bool defineMemrefCopy,
                  bool deviceErrors = false, bool openMP = false);

/// Writes `<library>.json`, the manifest the Python loader reads. `target`
/// is "cpu" or "nvvm" (buffers are device pointers); `gpuChip` (nvvm only)
/// the GPU architecture of the embedded binary.
void emitManifest(raw_ostream &os, StringRef libraryName,
                  StringRef libraryFileName, StringRef target,
                  StringRef targetCPU, StringRef gpuChip,
                  ArrayRef<EntryPoint> entries);

} // namespace kvq
} // namespace mlir

#endif // KVQ_TOOLS_KVQCOMPILE_KERNELABI_H
