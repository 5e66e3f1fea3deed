//===- HostCodegen.h - LLVM codegen for the host CPU ------------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_TOOLS_KVQCOMPILE_HOSTCODEGEN_H
#define KVQ_TOOLS_KVQCOMPILE_HOSTCODEGEN_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Target/TargetMachine.h"

#include <memory>

namespace llvm {
class Module;
class raw_ostream;
class raw_pwrite_stream;
} // namespace llvm

namespace mlir {
namespace kvq {

/// A target machine for the CPU this process runs on, like `-march=native`:
/// the host's CPU name and every feature it reports (AVX-512 included where
/// present). `cpu` / `features`, when not empty, replace the host's (LLVM
/// names, e.g. "znver4" and "+avx2,-avx512f"); a CPU or feature that LLVM
/// does not know for the host's target is an error. Position-independent
/// code.
llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createHostTargetMachine(unsigned optLevel, llvm::StringRef cpu = "",
                        llvm::StringRef features = "");

/// Prints the CPUs (or, with `features`, the CPU features) that
/// createHostTargetMachine accepts for the host's target (--mcpu=help,
/// --mattr=help).
void printHostTargetHelp(llvm::raw_ostream &os, bool features);

/// The vector width, in bits, that kernels should prefer on `tm`: 512 where
/// AVX-512 is available (LLVM's own tuning for many of these CPUs prefers
/// 256 and would split the kernels' 16 x f32 vectors), else 0 (no
/// preference).
unsigned getDefaultVectorWidth(llvm::TargetMachine &tm);

/// The vector register file of `tm`'s CPU: how many architectural vector
/// registers, of how many bits (x86: 32 x 512 with AVX-512, 16 x 256 with
/// AVX, 16 x 128 else; other targets: LLVM's cost model).
struct VectorRegisterFile {
  int64_t registers;
  int64_t bits;
};
VectorRegisterFile getVectorRegisterFile(llvm::TargetMachine &tm);

/// Whether `tm`'s CPU has `feature` (an LLVM feature name: "avx512vnni").
bool hasTargetFeature(llvm::TargetMachine &tm, llvm::StringRef feature);

/// Sets the module's triple and data layout from `tm`, hides every symbol it
/// defines (the library exports only the ABI entry points), asks for vectors
/// of `vectorWidth` bits (unless 0), and runs LLVM's default optimization
/// pipeline for `optLevel` (0-3) over it.
void optimizeModule(llvm::Module &module, llvm::TargetMachine &tm,
                    unsigned optLevel, unsigned vectorWidth);

/// Writes `module` as an object file.
llvm::Error emitObjectFile(llvm::Module &module, llvm::TargetMachine &tm,
                           llvm::raw_pwrite_stream &os);

} // namespace kvq
} // namespace mlir

#endif // KVQ_TOOLS_KVQCOMPILE_HOSTCODEGEN_H
