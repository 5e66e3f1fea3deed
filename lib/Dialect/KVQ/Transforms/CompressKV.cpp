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
// Parsing
//===----------------------------------------------------------------------===//

namespace {
class PolicyParser {
public:
  PolicyParser(MLIRContext *ctx, std::string &error) : ctx(ctx), error(error) {}

  bool parse(const json::Value &root, KVPolicy &policy) {
    const json::Object *object = expectObject(root, "policy");
    if (!object)
      return false;
    for (const auto &[key, value] : *object) {
      std::string path = key.str();
      if (key == "default") {
        if (!parseEntry(value, path, policy.global.defaults))
          return false;
      } else if (key == "layers") {
        if (!parseLayers(value, path, policy.global.layers))
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

private:
  bool fail(StringRef path, const Twine &message) {
    error = ("policy entry '" + path + "': " + message).str();
    return false;
  }

  const json::Object *expectObject(const json::Value &value, StringRef path) {
    const json::Object *object = value.getAsObject();
    if (!object)
      fail(path, "expected a JSON object");
    return object;
  }

  bool parseScheme(const json::Value &value, StringRef path,
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

  bool parseEntry(const json::Value &value, StringRef path,
                  KVPolicyEntry &entry) {
    const json::Object *object = expectObject(value, path);
    if (!object)
      return false;
    for (const auto &[key, side] : *object) {
      std::string sidePath = (path + "." + key.str()).str();
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

  bool parseLayers(const json::Value &value, StringRef path,
                   std::map<int64_t, KVPolicyEntry> &layers) {
    const json::Object *object = expectObject(value, path);
    if (!object)
      return false;
    for (const auto &[key, entry] : *object) {
      std::string layerPath = (path + "." + key.str()).str();
      int64_t layer;
      if (StringRef(key).getAsInteger(10, layer) || layer < 0)
        return fail(layerPath, "layer keys are non-negative integers");
      if (!parseEntry(entry, layerPath, layers[layer]))
        return false;
    }
    return true;
  }

  bool parseFunctions(const json::Value &value, StringRef path,
                      KVPolicy &policy) {
    const json::Object *object = expectObject(value, path);
    if (!object)
      return false;
    for (const auto &[name, level] : *object) {
      std::string fnPath = (path + "." + name.str()).str();
      const json::Object *fields = expectObject(level, fnPath);
      if (!fields)
        return false;
      KVPolicyLevel &out = policy.functions[name.str()];
      for (const auto &[key, field] : *fields) {
        std::string fieldPath = fnPath + "." + key.str();
        if (key == "default") {
          if (!parseEntry(field, fieldPath, out.defaults))
            return false;
        } else if (key == "layers") {
          if (!parseLayers(field, fieldPath, out.layers))
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

std::optional<KVPolicy>
mlir::kvq::parseKVPolicy(StringRef text, MLIRContext *ctx, std::string &error) {
  llvm::Expected<json::Value> root = json::parse(text);
  if (!root) {
    error = "policy is not valid JSON: " + llvm::toString(root.takeError());
    return std::nullopt;
  }
  KVPolicy policy;
  if (!PolicyParser(ctx, error).parse(*root, policy))
    return std::nullopt;
  return policy;
}

std::pair<QuantSchemeAttr, std::string>
KVPolicy::lookup(StringRef func, int64_t layer, bool isKey) const {
  const char *side = isKey ? "k" : "v";
  auto pick =
      [&](const KVPolicyEntry &entry) -> std::optional<QuantSchemeAttr> {
    return isKey ? entry.key : entry.value;
  };
  auto fromLevel = [&](const KVPolicyLevel &level, const std::string &prefix)
      -> std::optional<std::pair<QuantSchemeAttr, std::string>> {
    auto it = level.layers.find(layer);
    if (it != level.layers.end())
      if (std::optional<QuantSchemeAttr> s = pick(it->second))
        return std::make_pair(*s, prefix + "layers." + std::to_string(layer) +
                                      "." + side);
    if (std::optional<QuantSchemeAttr> s = pick(level.defaults))
      return std::make_pair(*s, prefix + "default." + side);
    return std::nullopt;
  };
  auto fn = functions.find(func);
  if (fn != functions.end())
    if (auto found = fromLevel(fn->second, "functions." + func.str() + "."))
      return *found;
  if (auto found = fromLevel(global, ""))
    return *found;
  return {QuantSchemeAttr(), ""};
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

/// Replaces operand `index` of `op` (a float [B, H, S, D] tensor) by
/// dequantize(quantize(x)) with `scheme`; fails with an error naming the
/// policy entry `path` when the scheme does not fit.
static LogicalResult compressOperand(AttentionOp op, unsigned index,
                                     QuantSchemeAttr scheme, StringRef path) {
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
  if (failed(fits))
    return op.emitOpError()
           << "policy entry '" << path << "': scheme " << scheme
           << " does not apply to the " << (index == 1 ? "key" : "value") << " "
           << type << ": " << reason;
  auto dequantize = DequantizeOp::create(b, loc, type, quantize.getCodes(),
                                         quantize.getScale(),
                                         quantize.getZeroPoint(), scheme);
  operand.set(dequantize.getResult());
  return success();
}

namespace {
struct KVQCompressKVPass : kvq::impl::KVQCompressKVBase<KVQCompressKVPass> {
  using Base::Base;

  void runOnOperation() override {
    if (!policy.empty() && !policyFile.empty()) {
      getOperation().emitError()
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
        getOperation().emitError() << "kvq-compress-kv: " << error;
        return signalPassFailure();
      }
      text = file->getBuffer().str();
    }
    if (text.empty())
      return; // No policy: nothing to compress.
    std::string error;
    std::optional<KVPolicy> parsed = parseKVPolicy(text, &getContext(), error);
    if (!parsed) {
      getOperation().emitError()
          << "kvq-compress-kv"
          << (policyFile.empty() ? "" : " (" + policyFile + ")") << ": "
          << error;
      return signalPassFailure();
    }
    bool failedAny = false;
    getOperation().walk([&](func::FuncOp fn) {
      int64_t position = 0;
      fn.walk([&](AttentionOp op) {
        int64_t layer = position++;
        if (auto attr = op->getAttrOfType<IntegerAttr>("kvq.layer"))
          layer = attr.getInt();
        for (bool isKey : {true, false}) {
          if (isKey ? op.isKeyQuantized() : op.isValueQuantized())
            continue;
          auto [scheme, path] = parsed->lookup(fn.getName(), layer, isKey);
          if (!scheme)
            continue;
          if (failed(compressOperand(op, isKey ? 1 : 2, scheme, path)))
            failedAny = true;
        }
      });
    });
    if (failedAny)
      signalPassFailure();
  }
};
} // namespace
