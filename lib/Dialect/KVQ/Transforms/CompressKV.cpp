//===- CompressKV.cpp - Per-layer KV compression policies -------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// Parses KV compression policies (JSON) and applies them to the K and V of
// every kvq.attention as quantize -> dequantize pairs, which kvq-fuse then
// folds into the attention.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/Transforms/KVPolicy.h"

#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Dialect/KVQ/Transforms/Passes.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Support/FileUtilities.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <map>
#include <set>

namespace mlir {
namespace kvq {
#define GEN_PASS_DEF_KVQCOMPRESSKV
#include "kvq/Dialect/KVQ/Transforms/Passes.h.inc"
} // namespace kvq
} // namespace mlir

using namespace mlir;
using namespace mlir::kvq;
namespace json = llvm::json;

//===----------------------------------------------------------------------===//
// Positions in the policy text
//===----------------------------------------------------------------------===//

namespace {
/// The position of every object member of a JSON text (its key's opening
/// quote), by path, and the first key that appears twice in one object.
/// The text must be valid JSON (llvm::json::parse accepted it).
class JSONKeyIndex {
public:
  explicit JSONKeyIndex(StringRef text) : text(text) {
    std::vector<std::string> path;
    size_t pos = 0;
    skipValue(pos, path);
  }

  std::optional<size_t> find(ArrayRef<std::string> path) const {
    if (path.empty())
      return skipSpace(0);
    auto it = keys.find(std::vector<std::string>(path.begin(), path.end()));
    if (it == keys.end())
      return std::nullopt;
    return it->second;
  }

  KVPolicyPosition position(size_t offset) const {
    KVPolicyPosition result;
    StringRef before = text.take_front(offset);
    result.line = before.count('\n') + 1;
    size_t lineStart = before.rfind('\n');
    result.column =
        offset - (lineStart == StringRef::npos ? 0 : lineStart + 1) + 1;
    return result;
  }

  /// The path of the first member whose key repeats an earlier key of the
  /// same object (llvm::json keeps only one of them), if any, and where the
  /// repeated key is.
  std::optional<std::vector<std::string>> duplicate;
  size_t duplicateOffset = 0;

private:
  size_t skipSpace(size_t pos) const {
    while (pos < text.size() && isspace(static_cast<unsigned char>(text[pos])))
      ++pos;
    return pos;
  }

  /// Reads the string at `pos` (an opening quote), decoding the common
  /// escapes, and moves past it.
  std::string readString(size_t &pos) const {
    std::string value;
    for (++pos; pos < text.size() && text[pos] != '"'; ++pos) {
      char c = text[pos];
      if (c == '\\' && pos + 1 < text.size()) {
        char e = text[++pos];
        switch (e) {
        case 'n':
          value += '\n';
          break;
        case 't':
          value += '\t';
          break;
        case 'r':
          value += '\r';
          break;
        case 'b':
          value += '\b';
          break;
        case 'f':
          value += '\f';
          break;
        case 'u': {
          unsigned code = 0;
          if (!text.substr(pos + 1, 4).getAsInteger(16, code) && code < 0x80)
            value += static_cast<char>(code);
          else
            value += text.substr(pos - 1, 6).str();
          pos += 4;
          break;
        }
        default:
          value += e;
          break;
        }
        continue;
      }
      value += c;
    }
    ++pos; // the closing quote
    return value;
  }

  void skipValue(size_t &pos, std::vector<std::string> &path) {
    pos = skipSpace(pos);
    if (pos >= text.size())
      return;
    char c = text[pos];
    if (c == '"') {
      readString(pos);
    } else if (c == '{') {
      std::set<std::string> seen;
      pos = skipSpace(pos + 1);
      while (pos < text.size() && text[pos] != '}') {
        size_t keyStart = pos;
        std::string key = readString(pos);
        path.push_back(key);
        keys.emplace(path, keyStart);
        if (!seen.insert(key).second && !duplicate) {
          duplicate = path;
          duplicateOffset = keyStart;
        }
        pos = skipSpace(pos) + 1; // ':'
        skipValue(pos, path);
        path.pop_back();
        pos = skipSpace(pos);
        if (pos < text.size() && text[pos] == ',')
          pos = skipSpace(pos + 1);
      }
      ++pos;
    } else if (c == '[') {
      pos = skipSpace(pos + 1);
      while (pos < text.size() && text[pos] != ']') {
        skipValue(pos, path);
        pos = skipSpace(pos);
        if (pos < text.size() && text[pos] == ',')
          pos = skipSpace(pos + 1);
      }
      ++pos;
    } else {
      // A number, true, false or null.
      while (pos < text.size() && !StringRef(",}] \t\r\n").contains(text[pos]))
        ++pos;
    }
  }

  StringRef text;
  std::map<std::vector<std::string>, size_t> keys;
};
} // namespace

std::optional<KVPolicyPosition>
mlir::kvq::locateKVPolicyEntry(StringRef json, ArrayRef<std::string> path) {
  JSONKeyIndex index(json);
  if (std::optional<size_t> offset = index.find(path))
    return index.position(*offset);
  return std::nullopt;
}

/// "layers.3.k" for {"layers", "3", "k"}.
static std::string joinPath(ArrayRef<std::string> path) {
  std::string joined;
  for (const std::string &key : path)
    joined += (joined.empty() ? "" : ".") + key;
  return joined;
}

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

namespace {
using Path = std::vector<std::string>;

static Path child(const Path &path, StringRef key) {
  Path result = path;
  result.push_back(key.str());
  return result;
}

class PolicyParser {
public:
  PolicyParser(MLIRContext *ctx, std::string &error) : ctx(ctx), error(error) {}

  bool parse(const json::Value &root, KVPolicy &policy) {
    const json::Object *object = expectObject(root, {});
    if (!object)
      return false;
    for (const auto &[key, value] : *object) {
      Path path = {key.str()};
      if (key == "default") {
        if (!parseEntry(value, path, policy.global.defaults))
          return false;
      } else if (key == "layers") {
        if (!parseLayers(value, path, policy.global))
          return false;
      } else if (key == "functions") {
        if (!parseFunctions(value, path, policy))
          return false;
      } else {
        return fail(path, "unknown key (expected \"default\", \"layers\" or "
                          "\"functions\")");
      }
    }
    return true;
  }

  /// The path of the entry at fault, after a failure.
  Path errorPath;

private:
  bool fail(const Path &path, const Twine &message) {
    errorPath = path;
    error = (path.empty() ? "policy: " + message
                          : "policy entry '" + joinPath(path) + "': " + message)
                .str();
    return false;
  }

  const json::Object *expectObject(const json::Value &value, const Path &path) {
    const json::Object *object = value.getAsObject();
    if (!object)
      fail(path, path.empty() ? "expected a JSON object ({\"default\": ..., "
                                "\"layers\": ..., \"functions\": ...})"
                              : "expected a JSON object");
    return object;
  }

  bool parseScheme(const json::Value &value, const Path &path,
                   std::optional<QuantSchemeAttr> &out) {
    if (value.kind() == json::Value::Null) {
      out = QuantSchemeAttr();
      return true;
    }
    std::optional<StringRef> text = value.getAsString();
    if (!text)
      return fail(path, "expected a #kvq.quant scheme string or null");
    std::string diagnostic;
    Attribute attr;
    {
      ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &diag) {
        if (diagnostic.empty())
          diagnostic = diag.str();
        return success();
      });
      size_t numRead = 0;
      attr = parseAttribute(*text, ctx, Type(), &numRead);
      if (attr && numRead != text->size()) {
        attr = {};
        diagnostic = "trailing characters after the scheme";
      }
    }
    auto scheme = dyn_cast_or_null<QuantSchemeAttr>(attr);
    if (!scheme)
      return fail(path, "'" + *text + "' is not a #kvq.quant scheme" +
                            (diagnostic.empty() ? "" : ": " + diagnostic));
    out = scheme;
    return true;
  }

  bool parseEntry(const json::Value &value, const Path &path,
                  KVPolicyEntry &entry) {
    const json::Object *object = expectObject(value, path);
    if (!object)
      return false;
    for (const auto &[key, side] : *object) {
      Path sidePath = child(path, key);
      if (key == "k") {
        if (!parseScheme(side, sidePath, entry.key))
          return false;
      } else if (key == "v") {
        if (!parseScheme(side, sidePath, entry.value))
          return false;
      } else {
        return fail(sidePath, "unknown key (expected \"k\" or \"v\")");
      }
    }
    return true;
  }

  bool parseLayers(const json::Value &value, const Path &path,
                   KVPolicyLevel &level) {
    const json::Object *object = expectObject(value, path);
    if (!object)
      return false;
    for (const auto &[key, entry] : *object) {
      Path layerPath = child(path, key);
      int64_t layer;
      if (StringRef(key).getAsInteger(10, layer) || layer < 0)
        return fail(layerPath, "layer keys are non-negative integers");
      auto [it, inserted] = level.layerKeys.try_emplace(layer, key.str());
      if (!inserted)
        return fail(layerPath, "names the same layer as '" + it->second + "'");
      if (!parseEntry(entry, layerPath, level.layers[layer]))
        return false;
    }
    return true;
  }

  bool parseFunctions(const json::Value &value, const Path &path,
                      KVPolicy &policy) {
    const json::Object *object = expectObject(value, path);
    if (!object)
      return false;
    for (const auto &[name, level] : *object) {
      Path fnPath = child(path, name);
      const json::Object *fields = expectObject(level, fnPath);
      if (!fields)
        return false;
      KVPolicyLevel &out = policy.functions[name.str()];
      for (const auto &[key, field] : *fields) {
        Path fieldPath = child(fnPath, key);
        if (key == "default") {
          if (!parseEntry(field, fieldPath, out.defaults))
            return false;
        } else if (key == "layers") {
          if (!parseLayers(field, fieldPath, out))
            return false;
        } else {
          return fail(fieldPath,
                      "unknown key (expected \"default\" or \"layers\")");
        }
      }
    }
    return true;
  }

  MLIRContext *ctx;
  std::string &error;
};
} // namespace

std::optional<KVPolicy> mlir::kvq::parseKVPolicy(StringRef text,
                                                 MLIRContext *ctx,
                                                 std::string &error,
                                                 KVPolicyPosition *position) {
  if (text.trim().empty()) {
    error = "the policy is empty (expected a JSON object such as "
            "{\"default\": {\"k\": \"#kvq.quant<...>\"}})";
    if (position)
      *position = {1, 1};
    return std::nullopt;
  }
  llvm::Expected<json::Value> root = json::parse(text);
  if (!root) {
    // "[line:column, byte=offset]: message"
    std::string message = llvm::toString(root.takeError());
    unsigned line = 0, column = 0;
    StringRef rest = message;
    if (rest.consume_front("[") && !rest.consumeInteger(10, line) &&
        rest.consume_front(":") && !rest.consumeInteger(10, column) && position)
      *position = {line, column};
    size_t colon = message.find("]: ");
    error = "policy is not valid JSON: " +
            (colon == std::string::npos ? message : message.substr(colon + 3));
    return std::nullopt;
  }
  JSONKeyIndex index(text);
  if (index.duplicate) {
    error = "policy entry '" + joinPath(*index.duplicate) +
            "': the key appears twice in its object (JSON keeps only one)";
    if (position)
      *position = index.position(index.duplicateOffset);
    return std::nullopt;
  }
  KVPolicy policy;
  PolicyParser parser(ctx, error);
  if (!parser.parse(*root, policy)) {
    if (position)
      if (std::optional<size_t> offset = index.find(parser.errorPath))
        *position = index.position(*offset);
    return std::nullopt;
  }
  return policy;
}

std::pair<QuantSchemeAttr, std::vector<std::string>>
KVPolicy::lookup(StringRef func, int64_t layer, bool isKey) const {
  const char *side = isKey ? "k" : "v";
  auto pick =
      [&](const KVPolicyEntry &entry) -> std::optional<QuantSchemeAttr> {
    return isKey ? entry.key : entry.value;
  };
  using Found = std::pair<QuantSchemeAttr, Path>;
  auto fromLevel = [&](const KVPolicyLevel &level,
                       const Path &prefix) -> std::optional<Found> {
    auto it = level.layers.find(layer);
    if (it != level.layers.end())
      if (std::optional<QuantSchemeAttr> s = pick(it->second)) {
        Path path = child(prefix, "layers");
        path.push_back(level.layerKeys.at(layer));
        path.push_back(side);
        return Found(*s, path);
      }
    if (std::optional<QuantSchemeAttr> s = pick(level.defaults)) {
      Path path = child(prefix, "default");
      path.push_back(side);
      return Found(*s, path);
    }
    return std::nullopt;
  };
  auto fn = functions.find(func);
  if (fn != functions.end())
    if (auto found = fromLevel(fn->second, {"functions", func.str()}))
      return *found;
  if (auto found = fromLevel(global, {}))
    return *found;
  return {QuantSchemeAttr(), {}};
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

/// Replaces operand `index` of `op` (a float [B, H, S, D] tensor) by
/// dequantize(quantize(x)) with `scheme`; fails with an error naming the
/// policy entry `path` (at `entryLoc`) when the scheme does not fit.
static LogicalResult compressOperand(AttentionOp op, unsigned index,
                                     QuantSchemeAttr scheme,
                                     ArrayRef<std::string> path,
                                     std::optional<Location> entryLoc) {
  OpOperand &operand = op->getOpOperand(index);
  Value x = operand.get();
  auto type = cast<RankedTensorType>(x.getType());
  // Check that the scheme fits the operand, keeping the verifier's words.
  std::string reason;
  OpBuilder b(op);
  Location loc = op.getLoc();
  QuantizeOp quantize;
  LogicalResult fits = success();
  {
    ScopedDiagnosticHandler capture(op.getContext(), [&](Diagnostic &diag) {
      if (reason.empty())
        reason = diag.str();
      return success();
    });
    fits = scheme.verifyRank(type.getRank(),
                             [&]() { return mlir::emitError(loc); });
    if (succeeded(fits)) {
      auto codesType =
          RankedTensorType::get(type.getShape(), scheme.getStorageType());
      auto sideType = RankedTensorType::get(
          scheme.getScaleShape(type.getShape()), scheme.getScaleType());
      Type zpType = scheme.hasZeroPoint() ? Type(sideType) : Type();
      quantize =
          QuantizeOp::create(b, loc, codesType, sideType, zpType, x, scheme);
      fits = mlir::verify(quantize);
      if (failed(fits))
        quantize.erase();
    }
  }
  if (failed(fits)) {
    InFlightDiagnostic diag =
        op.emitOpError() << "policy entry '" << joinPath(path) << "': scheme "
                         << scheme << " does not apply to the "
                         << (index == 1 ? "key" : "value") << " " << type
                         << ": " << reason;
    if (entryLoc)
      diag.attachNote(*entryLoc) << "the policy entry";
    return diag;
  }
  auto dequantize = DequantizeOp::create(b, loc, type, quantize.getCodes(),
                                         quantize.getScale(),
                                         quantize.getZeroPoint(), scheme);
  operand.set(dequantize.getResult());
  return success();
}

/// "layers 0-3", "layer 2", "layers 0, 2, 5-7".
static std::string describeLayers(const std::set<int64_t> &layers) {
  std::string text;
  for (auto it = layers.begin(); it != layers.end();) {
    int64_t first = *it, last = first;
    for (++it; it != layers.end() && *it == last + 1; ++it)
      last = *it;
    text += (text.empty() ? "" : ", ") + std::to_string(first) +
            (last > first ? "-" + std::to_string(last) : "");
  }
  return (layers.size() == 1 ? "layer " : "layers ") + text;
}

namespace {
struct KVQCompressKVPass : kvq::impl::KVQCompressKVBase<KVQCompressKVPass> {
  using Base::Base;

  /// Where the policy entry at `path` is: in the policy file (or the inline
  /// policy), when it can be found.
  std::optional<Location> locate(StringRef text, ArrayRef<std::string> path) {
    std::optional<KVPolicyPosition> position = locateKVPolicyEntry(text, path);
    if (!position)
      return std::nullopt;
    return locationOf(*position);
  }

  Location locationOf(KVPolicyPosition position) {
    StringRef file = policyFile.empty() ? StringRef("<kvq-compress-kv policy>")
                                        : StringRef(policyFile);
    return FileLineColLoc::get(&getContext(), file, position.line,
                               position.column);
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!policy.empty() && !policyFile.empty()) {
      module.emitError()
          << "kvq-compress-kv: give either policy or policy-file, not both";
      return signalPassFailure();
    }
    // MLIR's option syntax strips the outer braces of `policy={...}` on the
    // command line: put them back.
    std::string text = policy;
    if (!StringRef(text).trim().empty() &&
        !StringRef(text).trim().starts_with("{"))
      text = "{" + text + "}";
    if (!policyFile.empty()) {
      std::string error;
      std::unique_ptr<llvm::MemoryBuffer> file =
          openInputFile(policyFile, &error);
      if (!file) {
        module.emitError() << "kvq-compress-kv: " << error;
        return signalPassFailure();
      }
      text = file->getBuffer().str();
    } else if (text.empty()) {
      return; // No policy: nothing to compress.
    }
    std::string error;
    KVPolicyPosition position;
    std::optional<KVPolicy> parsed =
        parseKVPolicy(text, &getContext(), error, &position);
    if (!parsed) {
      Location loc = position.line ? locationOf(position) : module.getLoc();
      mlir::emitError(loc) << "kvq-compress-kv: " << error;
      return signalPassFailure();
    }

    // The layers of every function, to check that each entry applies to
    // something.
    std::map<std::string, std::set<int64_t>> layersOf;
    bool failedAny = false;
    module.walk([&](func::FuncOp fn) {
      int64_t position = 0;
      fn.walk([&](AttentionOp op) {
        int64_t layer = position++;
        if (auto attr = op->getAttrOfType<IntegerAttr>("kvq.layer"))
          layer = attr.getInt();
        layersOf[fn.getName().str()].insert(layer);
        for (bool isKey : {true, false}) {
          if (isKey ? op.isKeyQuantized() : op.isValueQuantized())
            continue;
          auto [scheme, path] = parsed->lookup(fn.getName(), layer, isKey);
          if (!scheme)
            continue;
          if (failed(compressOperand(op, isKey ? 1 : 2, scheme, path,
                                     locate(text, path))))
            failedAny = true;
        }
      });
    });
    if (failedAny)
      return signalPassFailure();
    if (failed(checkEveryEntryApplies(*parsed, text, layersOf)))
      signalPassFailure();
  }

  /// An entry that matches no attention is a mistake (a layer past the
  /// model's last, a misspelt function name): an error naming the entry and
  /// what the module has.
  LogicalResult checkEveryEntryApplies(
      const KVPolicy &policy, StringRef text,
      const std::map<std::string, std::set<int64_t>> &layersOf) {
    ModuleOp module = getOperation();
    std::string existing;
    std::set<int64_t> allLayers;
    for (const auto &[name, layers] : layersOf) {
      existing += (existing.empty() ? "" : ", ") + ("@" + name) + " (" +
                  describeLayers(layers) + ")";
      allLayers.insert(layers.begin(), layers.end());
    }
    if (existing.empty())
      existing = "none";
    auto report = [&](ArrayRef<std::string> path, const Twine &problem) {
      std::optional<Location> loc = locate(text, path);
      mlir::emitError(loc ? *loc : module.getLoc())
          << "kvq-compress-kv: policy entry '" << joinPath(path)
          << "' matches no attention: " << problem
          << " (functions with kvq.attention: " << existing << ")";
      return failure();
    };
    auto entrySet = [](const KVPolicyEntry &entry) {
      return entry.key.has_value() || entry.value.has_value();
    };
    if (layersOf.empty() &&
        (entrySet(policy.global.defaults) || !policy.global.layers.empty() ||
         !policy.functions.empty())) {
      std::optional<Location> loc = locate(text, {});
      mlir::emitError(loc ? *loc : module.getLoc())
          << "kvq-compress-kv: the policy matches no attention: the module "
             "has no kvq.attention";
      return failure();
    }
    for (const auto &[layer, key] : policy.global.layerKeys)
      if (!allLayers.count(layer))
        return report({"layers", key},
                      "no function has layer " + std::to_string(layer));
    for (const auto &[name, level] : policy.functions) {
      auto it = layersOf.find(name.str());
      if (it == layersOf.end())
        return report({"functions", name.str()},
                      "the module has no function '@" + name.str() +
                          "' with a kvq.attention");
      for (const auto &[layer, key] : level.layerKeys)
        if (!it->second.count(layer))
          return report({"functions", name.str(), "layers", key},
                        "'@" + name.str() + "' has no layer " +
                            std::to_string(layer));
    }
    return success();
  }
};
} // namespace
