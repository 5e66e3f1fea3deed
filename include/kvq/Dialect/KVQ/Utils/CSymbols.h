//===- CSymbols.h - C symbols for MLIR function names -----------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// Entry points are exported under their MLIR function's name when that name
// is a C identifier that clashes with nothing (C keywords, identifiers C
// reserves, the kvq ABI's prefixes, the C library the kernels call).
// Importers name their entry `@main`, and MLIR names may hold `.`, `$` or
// `-`: those get a C symbol `<library>_<name with '_' for each other
// character>`, made unique with a `_<n>` suffix. The header and the manifest
// record the mapping.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_UTILS_CSYMBOLS_H
#define KVQ_DIALECT_KVQ_UTILS_CSYMBOLS_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringSet.h"

#include <string>

namespace mlir {
namespace kvq {

/// Whether `name` is a C identifier (letters, digits, '_', not starting
/// with a digit).
bool isCIdentifier(StringRef name);

/// Why `name` cannot be exported as a C symbol as it is ("" if it can): not
/// a C identifier, a C keyword, `main`, reserved by C (a leading '_') or by
/// the kvq ABI (`kvq_`), or a function of the C library.
std::string whyNotExportable(StringRef name);

/// Assigns distinct C symbols to MLIR function names.
class CSymbolTable {
public:
  /// `libraryName` prefixes mapped names; `taken` are symbols that no
  /// mapped name may take.
  CSymbolTable(StringRef libraryName, const llvm::StringSet<> &taken);

  /// Reserves `symbol` (and the companions it implies, `suffixes`
  /// appended), if it is free and exportable; false otherwise.
  bool tryReserve(StringRef symbol, ArrayRef<StringRef> suffixes);

  /// A free C symbol for `mlirName` (with free companions), reserved.
  std::string map(StringRef mlirName, ArrayRef<StringRef> suffixes);

private:
  bool isFree(StringRef symbol, ArrayRef<StringRef> suffixes) const;
  std::string prefix;
  llvm::StringSet<> used;
};

} // namespace kvq
} // namespace mlir

#endif // KVQ_DIALECT_KVQ_UTILS_CSYMBOLS_H
