//===- ClosestName.h - "did you mean" suggestions ---------------*- C++ -*-===//
//
// The name closest to a misspelt one, for diagnostics that suggest a fix
// (unknown attributes, policy keys, options, CPUs and features).
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_UTILS_CLOSESTNAME_H
#define KVQ_DIALECT_KVQ_UTILS_CLOSESTNAME_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <algorithm>

namespace mlir::kvq {

/// The name among `candidates` closest to `name` (a likely misspelling):
/// within an edit distance of a third of its length (at least 2), or "".
inline llvm::StringRef
getClosestName(llvm::StringRef name,
               llvm::ArrayRef<llvm::StringRef> candidates) {
  llvm::StringRef best;
  unsigned bestDistance = std::max<unsigned>(2, name.size() / 3) + 1;
  for (llvm::StringRef candidate : candidates) {
    unsigned distance =
        name.edit_distance(candidate, /*AllowReplacements=*/true, bestDistance);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

} // namespace mlir::kvq

#endif // KVQ_DIALECT_KVQ_UTILS_CLOSESTNAME_H
