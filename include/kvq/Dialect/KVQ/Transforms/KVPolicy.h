//===- KVPolicy.h - Per-layer KV compression policies -----------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// The policy of kvq-compress-kv (and `kvq-compile --kv-policy`): which
// quantization scheme the K and V of each attention layer get. See the
// pass description in Passes.td for the JSON format.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_TRANSFORMS_KVPOLICY_H
#define KVQ_DIALECT_KVQ_TRANSFORMS_KVPOLICY_H

#include "kvq/Dialect/KVQ/IR/KVQAttrs.h"

#include "llvm/ADT/StringMap.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mlir {
namespace kvq {

/// The K / V schemes of one policy entry. An unset side inherits from the
/// next level; a set side with a null scheme means "uncompressed".
struct KVPolicyEntry {
  std::optional<QuantSchemeAttr> key, value;
};

/// A default entry plus per-layer entries.
struct KVPolicyLevel {
  KVPolicyEntry defaults;
  std::map<int64_t, KVPolicyEntry> layers;
  /// The JSON key of each layer entry, as written ("3").
  std::map<int64_t, std::string> layerKeys;
};

struct KVPolicy {
  KVPolicyLevel global;
  llvm::StringMap<KVPolicyLevel> functions;

  /// The scheme for the K (`isKey`) or V of layer `layer` of function
  /// `func` (null: uncompressed), and the JSON path of the entry that
  /// decided it ({"layers", "3", "k"}; empty when nothing did).
  std::pair<QuantSchemeAttr, std::vector<std::string>>
  lookup(llvm::StringRef func, int64_t layer, bool isKey) const;
};

/// A place in the policy text: 1-based line and column.
struct KVPolicyPosition {
  unsigned line = 0, column = 0;
};

/// Parses policy JSON. On failure returns std::nullopt and sets `error` to a
/// message naming the offending entry (its JSON path), and `position`, when
/// given, to where the entry (or the JSON syntax error) is in `json`.
std::optional<KVPolicy> parseKVPolicy(llvm::StringRef json, MLIRContext *ctx,
                                      std::string &error,
                                      KVPolicyPosition *position = nullptr);

/// Where the member at `path` (object keys from the root, e.g. {"layers",
/// "3"}) starts in `json`, which must be valid JSON: the position of its
/// key. An empty path is the root value.
std::optional<KVPolicyPosition>
locateKVPolicyEntry(llvm::StringRef json, llvm::ArrayRef<std::string> path);

} // namespace kvq
} // namespace mlir

#endif // KVQ_DIALECT_KVQ_TRANSFORMS_KVPOLICY_H
