//===- KVQVersion.cpp - kvq's version in the tools' --version -------------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// A translation unit of its own: only it rebuilds when the commit changes.
//
//===----------------------------------------------------------------------===//

#include "KVQVersion.h"

#include "KVQVersion.inc"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

const char *mlir::kvq::getKVQVersion() { return KVQ_VERSION; }

const char *mlir::kvq::getKVQCommit() { return KVQ_COMMIT; }

void mlir::kvq::registerKVQVersionPrinter() {
  llvm::cl::AddExtraVersionPrinter([](llvm::raw_ostream &os) {
    os << "kvq version " << KVQ_VERSION << " (commit " << KVQ_COMMIT << ")\n";
  });
}
