//===- KVQDialect.cpp - kvq dialect -----------------------------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/IR/KVQDialect.h"
#include "kvq/Dialect/KVQ/IR/KVQAttrs.h"
#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Dialect/KVQ/IR/KVQTraits.h"
#include "kvq/Dialect/KVQ/Utils/ClosestName.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;
using namespace mlir::kvq;

#include "kvq/Dialect/KVQ/IR/KVQOpsDialect.cpp.inc"

void KVQDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "kvq/Dialect/KVQ/IR/KVQOps.cpp.inc"
      >();
  registerAttributes();
  // The decoder model lives with the lowerings (KVDecoderModels.cpp).
  declarePromisedInterface<KVDecoderOpInterface, DequantizeOp>();
}

//===----------------------------------------------------------------------===//
// Attributes on operations
//===----------------------------------------------------------------------===//

static std::string joinNames(ArrayRef<StringRef> names) {
  std::string text;
  for (StringRef name : names)
    text += (text.empty() ? "" : ", ") + name.str();
  return text.empty() ? "none" : text;
}

LogicalResult mlir::kvq::verifyNoUnknownAttributes(Operation *op) {
  for (NamedAttribute attr : op->getDiscardableAttrs()) {
    StringRef name = attr.getName().strref();
    // `dialect.name`: a dialect attribute, which its dialect verifies.
    if (name.contains('.'))
      continue;
    SmallVector<StringRef> known;
    if (std::optional<RegisteredOperationName> info = op->getRegisteredInfo())
      for (StringAttr inherent : info->getAttributeNames())
        if (!inherent.strref().ends_with("SegmentSizes"))
          known.push_back(inherent.strref());
    InFlightDiagnostic diag = op->emitOpError()
                              << "has unknown attribute '" << name << "'";
    if (StringRef suggestion = getClosestName(name, known); !suggestion.empty())
      diag << "; did you mean '" << suggestion << "'?";
    diag << " (its attributes: " << joinNames(known) << ")";
    return diag;
  }
  return success();
}

/// The discardable attributes of the kvq dialect.
static constexpr StringLiteral kLayerAttr = "kvq.layer";
static constexpr StringLiteral kHostAttr = "kvq.host";
static constexpr StringLiteral kScheduleAttr = "kvq.schedule";
static constexpr StringLiteral kKernelScheduleAttr = "kvq.kernel_schedule";
static constexpr StringLiteral kDecodePlanAttr = "kvq.decode_plan";
static constexpr StringLiteral kKernelBoundsAttr = "kvq.kernel_bounds";
static constexpr StringLiteral kEntryPointAttr = "kvq.entry_point";

/// Verifies `kvq.entry_point` (kvq-wrap-entry-points): the kernel of an
/// exported function, with its MLIR name, its C symbol, and its shape
/// function and output-shapes symbol where it has them.
static LogicalResult verifyEntryPoint(Operation *op, StringRef name,
                                      Attribute value) {
  if (!isa<FunctionOpInterface>(op))
    return op->emitError() << "'" << name << "' applies to functions only";
  auto dict = dyn_cast<DictionaryAttr>(value);
  if (!dict)
    return op->emitError() << "'" << name << "' must be a dictionary, got "
                           << value;
  StringRef fields[] = {"name", "output_shapes_symbol", "shape_checks",
                        "shape_function", "symbol"};
  for (NamedAttribute field : dict)
    if (!llvm::is_contained(fields, field.getName().strref()))
      return op->emitError() << "'" << name << "' has an unknown entry '"
                             << field.getName().strref()
                             << "' (its entries: " << joinNames(fields) << ")";
  if (!dict.getAs<StringAttr>("name") || !dict.getAs<StringAttr>("symbol"))
    return op->emitError() << "'" << name
                           << "' needs a string 'name' (the MLIR function's) "
                              "and a string 'symbol' (its C symbol)";
  if (Attribute shapes = dict.get("output_shapes_symbol");
      shapes && !isa<StringAttr>(shapes))
    return op->emitError() << "'" << name
                           << "': 'output_shapes_symbol' must be a string, got "
                           << shapes;
  Attribute shapeFn = dict.get("shape_function");
  auto checks = dict.getAs<IntegerAttr>("shape_checks");
  bool validChecks = checks && !checks.getValue().isNegative();
  if ((shapeFn || dict.get("shape_checks")) &&
      (!isa_and_nonnull<FlatSymbolRefAttr>(shapeFn) || !validChecks))
    return op->emitError()
           << "'" << name
           << "' takes a 'shape_function' (a symbol) and its number of "
              "'shape_checks' (a non-negative integer) together, or neither";
  return success();
}

LogicalResult KVQDialect::verifyOperationAttribute(Operation *op,
                                                   NamedAttribute attr) {
  StringRef name = attr.getName().strref();
  if (name == kLayerAttr) {
    // The layer index by which KV policies (kvq-compress-kv) address the
    // attention.
    if (!isa<AttentionOp>(op))
      return op->emitError() << "'" << name
                             << "' applies to kvq.attention only (the layer "
                                "that KV policies address)";
    auto layer = dyn_cast<IntegerAttr>(attr.getValue());
    if (!layer || !isa<IntegerType>(layer.getType()))
      return op->emitError()
             << "'" << name << "' must be an integer layer index, got "
             << attr.getValue();
    if (layer.getValue().isNegative())
      return op->emitError()
             << "'" << name << "' must be a non-negative layer index, got "
             << layer.getValue().getSExtValue();
    return success();
  }
  if (name == kHostAttr) {
    // A function that stays on the host in GPU pipelines.
    if (!isa<FunctionOpInterface>(op))
      return op->emitError() << "'" << name << "' applies to functions only";
    if (!isa<UnitAttr>(attr.getValue()))
      return op->emitError() << "'" << name << "' is a unit attribute";
    return success();
  }
  if (name == kScheduleAttr) {
    // A tag by which transform scripts select ops (docs/Schedules.md).
    if (!isa<StringAttr>(attr.getValue()))
      return op->emitError()
             << "'" << name << "' must be a string, got " << attr.getValue();
    return success();
  }
  if (name == kKernelScheduleAttr) {
    // The schedule the attention lowerings read (kvq-attention-schedule),
    // or, on the loops and launches they built, the one they used.
    if (!isa<ScheduleAttr>(attr.getValue()))
      return op->emitError()
             << "'" << name << "' must be a #kvq.schedule<...>, got "
             << attr.getValue();
    return success();
  }
  if (name == kDecodePlanAttr || name == kKernelBoundsAttr) {
    // The decode kernel's cost-model plan (DecodeCostModel.h), carried by
    // its launch and kernel for the resource checks, and the launch bounds
    // of a kernel (kvq-gpu-kernel-bounds).
    if (!isa<DictionaryAttr>(attr.getValue()))
      return op->emitError() << "'" << name << "' must be a dictionary, got "
                             << attr.getValue();
    return success();
  }
  if (name == kEntryPointAttr)
    return verifyEntryPoint(op, name, attr.getValue());
  InFlightDiagnostic diag = op->emitError()
                            << "unknown kvq attribute '" << name << "'";
  StringRef names[] = {kLayerAttr,          kHostAttr,       kScheduleAttr,
                       kKernelScheduleAttr, kDecodePlanAttr, kKernelBoundsAttr,
                       kEntryPointAttr};
  if (StringRef suggestion = getClosestName(name, names); !suggestion.empty())
    diag << "; did you mean '" << suggestion << "'?";
  return diag << " (kvq attributes: " << joinNames(names) << ")";
}
