//===- KVQVersion.h - kvq's version in the tools' --version -----*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_TOOLS_COMMON_KVQVERSION_H
#define KVQ_TOOLS_COMMON_KVQVERSION_H

namespace mlir {
namespace kvq {

/// "0.1.0": the version of kvq (python/pyproject.toml's, which CMake reads).
const char *getKVQVersion();

/// The git commit the tools were built from ("unknown" outside git).
const char *getKVQCommit();

/// Makes `--version` print kvq's version and commit after LLVM's.
void registerKVQVersionPrinter();

} // namespace kvq
} // namespace mlir

#endif // KVQ_TOOLS_COMMON_KVQVERSION_H
