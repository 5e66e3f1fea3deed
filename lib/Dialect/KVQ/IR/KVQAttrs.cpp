//===- KVQAttrs.cpp - kvq attributes ----------------------------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/IR/KVQAttrs.h"
#include "kvq/Dialect/KVQ/IR/KVQDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::kvq;

#include "kvq/Dialect/KVQ/IR/KVQEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "kvq/Dialect/KVQ/IR/KVQAttrs.cpp.inc"

void KVQDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "kvq/Dialect/KVQ/IR/KVQAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// QuantSchemeAttr: syntax
//===----------------------------------------------------------------------===//

/// Parses `( key1 = int , key2 = int )` into two integers.
static ParseResult parseKeyedPair(AsmParser &parser, StringRef key1,
                                  StringRef key2,
                                  SmallVectorImpl<int64_t> &values) {
  int64_t a, b;
  if (parser.parseLParen() || parser.parseKeyword(key1) ||
      parser.parseEqual() || parser.parseInteger(a) || parser.parseComma() ||
      parser.parseKeyword(key2) || parser.parseEqual() ||
      parser.parseInteger(b) || parser.parseRParen())
    return failure();
  values.push_back(a);
  values.push_back(b);
  return success();
}

Attribute QuantSchemeAttr::parse(AsmParser &parser, Type) {
  MLIRContext *ctx = parser.getContext();
  SMLoc loc = parser.getCurrentLocation();
  Type storageType;
  if (parser.parseLess() || parser.parseType(storageType) ||
      parser.parseComma())
    return {};

  SMLoc modeLoc = parser.getCurrentLocation();
  StringRef mode;
  if (parser.parseKeyword(&mode))
    return {};
  bool symmetric;
  if (mode == "symmetric") {
    symmetric = true;
  } else if (mode == "asymmetric") {
    symmetric = false;
  } else {
    parser.emitError(modeLoc, "expected 'symmetric' or 'asymmetric'");
    return {};
  }

  if (parser.parseComma())
    return {};
  SMLoc granLoc = parser.getCurrentLocation();
  StringRef granName;
  if (parser.parseKeyword(&granName))
    return {};
  std::optional<Granularity> granularity = symbolizeGranularity(granName);
  if (!granularity) {
    parser.emitError(granLoc, "expected a granularity: tensor, token, "
                              "channel, group(axis = A, size = G), "
                              "block(rows = R, cols = C) or "
                              "fragment(rows = W, period = P, run = R)");
    return {};
  }
  SmallVector<int64_t, 2> params;
  if (*granularity == Granularity::Group &&
      parseKeyedPair(parser, "axis", "size", params))
    return {};
  if (*granularity == Granularity::Block &&
      parseKeyedPair(parser, "rows", "cols", params))
    return {};
  if (*granularity == Granularity::Fragment) {
    int64_t rows, period, run;
    if (parser.parseLParen() || parser.parseKeyword("rows") ||
        parser.parseEqual() || parser.parseInteger(rows) ||
        parser.parseComma() || parser.parseKeyword("period") ||
        parser.parseEqual() || parser.parseInteger(period) ||
        parser.parseComma() || parser.parseKeyword("run") ||
        parser.parseEqual() || parser.parseInteger(run) || parser.parseRParen())
      return {};
    params.append({rows, period, run});
  }

  Type scaleType = Float32Type::get(ctx);
  if (succeeded(parser.parseOptionalComma())) {
    if (parser.parseKeyword("scale") || parser.parseEqual() ||
        parser.parseType(scaleType))
      return {};
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<QuantSchemeAttr>(loc, ctx, storageType, symmetric,
                                            *granularity, params, scaleType);
}

void QuantSchemeAttr::print(AsmPrinter &printer) const {
  printer << "<" << getStorageType() << ", "
          << (getSymmetric() ? "symmetric" : "asymmetric") << ", "
          << stringifyGranularity(getGranularity());
  ArrayRef<int64_t> params = getGranularityParams();
  if (getGranularity() == Granularity::Group)
    printer << "(axis = " << params[0] << ", size = " << params[1] << ")";
  else if (getGranularity() == Granularity::Block)
    printer << "(rows = " << params[0] << ", cols = " << params[1] << ")";
  else if (getGranularity() == Granularity::Fragment)
    printer << "(rows = " << params[0] << ", period = " << params[1]
            << ", run = " << params[2] << ")";
  if (!getScaleType().isF32())
    printer << ", scale = " << getScaleType();
  printer << ">";
}

//===----------------------------------------------------------------------===//
// QuantSchemeAttr: verification and queries
//===----------------------------------------------------------------------===//

static bool isSupportedIntStorage(Type type) {
  auto intType = dyn_cast<IntegerType>(type);
  if (!intType || !intType.isSignless())
    return false;
  unsigned width = intType.getWidth();
  return width == 8 || width == 4 || width == 2;
}

LogicalResult
QuantSchemeAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        Type storageType, bool symmetric,
                        Granularity granularity, ArrayRef<int64_t> params,
                        Type scaleType) {
  bool isFp8 = isa<Float8E4M3FNType, Float8E5M2Type>(storageType);
  if (!isFp8 && !isSupportedIntStorage(storageType))
    return emitError() << "storage type must be one of i8, i4, i2, f8E4M3FN, "
                          "f8E5M2, but got "
                       << storageType;
  if (isFp8 && !symmetric)
    return emitError() << "FP8 storage requires a symmetric scheme";
  if (!scaleType.isF32() && !scaleType.isF16() && !scaleType.isBF16())
    return emitError() << "scale type must be f32, f16 or bf16, but got "
                       << scaleType;
  unsigned numParams = 0;
  if (granularity == Granularity::Group || granularity == Granularity::Block)
    numParams = 2;
  else if (granularity == Granularity::Fragment)
    numParams = 3;
  if (params.size() != numParams)
    return emitError() << "granularity '" << stringifyGranularity(granularity)
                       << "' takes " << numParams << " parameters, but got "
                       << params.size();
  if (granularity == Granularity::Group) {
    if (params[0] < 0)
      return emitError() << "group axis must be non-negative, but got "
                         << params[0];
    if (params[1] < 1)
      return emitError() << "group size must be positive, but got "
                         << params[1];
  }
  if (granularity == Granularity::Block && (params[0] < 1 || params[1] < 1))
    return emitError() << "block rows and cols must be positive, but got "
                       << params[0] << " x " << params[1];
  if (granularity == Granularity::Fragment) {
    if (params[0] < 1 || params[1] < 1 || params[2] < 1)
      return emitError() << "fragment rows, period and run must be positive, "
                            "but got "
                         << params[0] << ", " << params[1] << ", " << params[2];
    if (params[0] % params[1] != 0 || params[1] % params[2] != 0)
      return emitError() << "fragment rows (" << params[0]
                         << ") must be a multiple of the period (" << params[1]
                         << ") and the period a multiple of the run ("
                         << params[2] << ")";
  }
  return success();
}

unsigned QuantSchemeAttr::getStorageBitWidth() const {
  return getStorageType().getIntOrFloatBitWidth();
}

bool QuantSchemeAttr::isFloat8() const {
  return isa<Float8E4M3FNType, Float8E5M2Type>(getStorageType());
}

double QuantSchemeAttr::getMaxCode() const {
  if (isa<Float8E4M3FNType>(getStorageType()))
    return 448.0;
  if (isa<Float8E5M2Type>(getStorageType()))
    return 57344.0;
  unsigned bits = getStorageBitWidth();
  if (getSymmetric())
    return static_cast<double>((int64_t(1) << (bits - 1)) - 1);
  return static_cast<double>((int64_t(1) << bits) - 1);
}

double QuantSchemeAttr::getMinCode() const {
  return getSymmetric() ? -getMaxCode() : 0.0;
}

int64_t QuantSchemeAttr::getGroupAxis() const {
  assert(getGranularity() == Granularity::Group && "not a group scheme");
  return getGranularityParams()[0];
}

int64_t QuantSchemeAttr::getGroupSize() const {
  assert(getGranularity() == Granularity::Group && "not a group scheme");
  return getGranularityParams()[1];
}

int64_t QuantSchemeAttr::getBlockRows() const {
  assert(getGranularity() == Granularity::Block && "not a block scheme");
  return getGranularityParams()[0];
}

int64_t QuantSchemeAttr::getBlockCols() const {
  assert(getGranularity() == Granularity::Block && "not a block scheme");
  return getGranularityParams()[1];
}

int64_t QuantSchemeAttr::getFragmentRows() const {
  assert(getGranularity() == Granularity::Fragment && "not a fragment scheme");
  return getGranularityParams()[0];
}

int64_t QuantSchemeAttr::getFragmentPeriod() const {
  assert(getGranularity() == Granularity::Fragment && "not a fragment scheme");
  return getGranularityParams()[1];
}

int64_t QuantSchemeAttr::getFragmentRun() const {
  assert(getGranularity() == Granularity::Fragment && "not a fragment scheme");
  return getGranularityParams()[2];
}

LogicalResult QuantSchemeAttr::verifyRank(
    int64_t rank, function_ref<InFlightDiagnostic()> emitError) const {
  switch (getGranularity()) {
  case Granularity::Tensor:
    return success();
  case Granularity::Token:
  case Granularity::Channel:
  case Granularity::Block:
  case Granularity::Fragment:
    if (rank < 2)
      return emitError() << "granularity '"
                         << stringifyGranularity(getGranularity())
                         << "' needs data of rank >= 2 (tokens x channels), "
                            "but got rank "
                         << rank;
    return success();
  case Granularity::Group:
    if (getGroupAxis() >= rank)
      return emitError() << "group axis " << getGroupAxis()
                         << " is out of range for data of rank " << rank;
    return success();
  }
  llvm_unreachable("unknown granularity");
}

/// Marks, per dimension, whether one quantization block spans it whole, and
/// otherwise the block's extent along it.
static void computeBlock(QuantSchemeAttr scheme, ArrayRef<int64_t> shape,
                         SmallVectorImpl<int64_t> &extent,
                         SmallVectorImpl<bool> &whole) {
  int64_t rank = shape.size();
  extent.assign(rank, 1);
  whole.assign(rank, false);
  switch (scheme.getGranularity()) {
  case Granularity::Tensor:
    whole.assign(rank, true);
    break;
  case Granularity::Token:
    whole[rank - 1] = true;
    break;
  case Granularity::Channel:
    whole[rank - 2] = true;
    break;
  case Granularity::Group:
    extent[scheme.getGroupAxis()] = scheme.getGroupSize();
    break;
  case Granularity::Block:
    extent[rank - 2] = scheme.getBlockRows();
    extent[rank - 1] = scheme.getBlockCols();
    break;
  case Granularity::Fragment:
    // Groups are not boxes along the tokens (getScaleShape handles them);
    // one group spans every channel.
    whole[rank - 1] = true;
    break;
  }
}

SmallVector<int64_t>
QuantSchemeAttr::getBlockShape(ArrayRef<int64_t> shape) const {
  SmallVector<int64_t> extent;
  SmallVector<bool> whole;
  computeBlock(*this, shape, extent, whole);
  for (auto [i, dim] : llvm::enumerate(shape))
    if (whole[i])
      extent[i] = dim;
  return extent;
}

SmallVector<int64_t>
QuantSchemeAttr::getScaleShape(ArrayRef<int64_t> shape) const {
  SmallVector<int64_t> extent;
  SmallVector<bool> whole;
  computeBlock(*this, shape, extent, whole);
  SmallVector<int64_t> result;
  int64_t rank = shape.size();
  for (auto [i, dim] : llvm::enumerate(shape)) {
    if (getGranularity() == Granularity::Fragment &&
        static_cast<int64_t>(i) == rank - 2) {
      result.push_back(ShapedType::isDynamic(dim)
                           ? ShapedType::kDynamic
                           : llvm::divideCeil(dim, getFragmentRows()) *
                                 getFragmentGroups());
      continue;
    }
    if (whole[i])
      result.push_back(1);
    else if (ShapedType::isDynamic(dim))
      result.push_back(ShapedType::kDynamic);
    else
      result.push_back(llvm::divideCeil(dim, extent[i]));
  }
  return result;
}

//===----------------------------------------------------------------------===//
// ScheduleAttr
//===----------------------------------------------------------------------===//

StringRef mlir::kvq::stringifyScheduleTarget(ScheduleTarget target) {
  switch (target) {
  case ScheduleTarget::Any:
    return "any";
  case ScheduleTarget::CPU:
    return "cpu";
  case ScheduleTarget::GPU:
    return "gpu";
  }
  llvm_unreachable("unknown schedule target");
}

std::optional<ScheduleTarget>
mlir::kvq::symbolizeScheduleTarget(StringRef name) {
  return llvm::StringSwitch<std::optional<ScheduleTarget>>(name)
      .Case("any", ScheduleTarget::Any)
      .Case("cpu", ScheduleTarget::CPU)
      .Case("gpu", ScheduleTarget::GPU)
      .Default(std::nullopt);
}

ArrayRef<ScheduleKnob> mlir::kvq::getScheduleKnobs() {
  static const ScheduleKnob knobs[] = {
#define KVQ_KNOB(Member, keyword, option, Default, Target)                     \
  {#keyword,                                                                   \
   option,                                                                     \
   &AttentionSchedule::Member,                                                 \
   &AttentionScheduleOverrides::Member,                                        \
   Default,                                                                    \
   ScheduleTarget::Target},
#define KVQ_SCHEDULE_KNOB(Member, keyword, option, Default, description)       \
  KVQ_KNOB(Member, keyword, option, Default, Any)
#define KVQ_SCHEDULE_CPU_KNOB(Member, keyword, option, Default, description)   \
  KVQ_KNOB(Member, keyword, option, Default, CPU)
#define KVQ_SCHEDULE_GPU_KNOB(Member, keyword, option, Default, description)   \
  KVQ_KNOB(Member, keyword, option, Default, GPU)
#include "kvq/Dialect/KVQ/IR/AttentionSchedule.def"
#undef KVQ_KNOB
  };
  return knobs;
}

bool AttentionSchedule::operator==(const AttentionSchedule &other) const {
  if (target != other.target)
    return false;
  for (const ScheduleKnob &knob : getScheduleKnobs())
    if (this->*knob.member != other.*knob.member)
      return false;
  return true;
}

llvm::hash_code mlir::kvq::hash_value(const AttentionSchedule &schedule) {
  llvm::hash_code hash = llvm::hash_value(static_cast<int>(schedule.target));
  for (const ScheduleKnob &knob : getScheduleKnobs())
    hash = llvm::hash_combine(hash, schedule.*knob.member);
  return hash;
}

LogicalResult
AttentionSchedule::verify(function_ref<InFlightDiagnostic()> emitError) const {
  for (const ScheduleKnob &knob : getScheduleKnobs()) {
    int64_t value = this->*knob.member;
    if (!knob.appliesTo(target) && value != knob.defaultValue)
      return emitError() << "schedule knob '" << knob.keyword << "' (option "
                         << knob.option << ") does not apply to the "
                         << stringifyScheduleTarget(target) << " kernels";
    if (value < 0)
      return emitError() << "schedule knob '" << knob.keyword
                         << "' must be non-negative, got " << value;
  }
  // The ranges, where they are stricter than non-negative.
  auto bad = [&](StringRef keyword, StringRef rule, int64_t value) {
    return emitError() << "schedule knob '" << keyword << "' must be " << rule
                       << ", got " << value;
  };
  if (blockKV < 1)
    return bad("block_kv", "positive", blockKV);
  if (target == ScheduleTarget::GPU && blockKV < 16)
    return bad("block_kv", ">= 16 for the GPU kernels (16-key mma tiles)",
               blockKV);
  if (blockRows < 1)
    return bad("block_rows", "positive", blockRows);
  if (vectorWidth < 4 || !llvm::isPowerOf2_64(vectorWidth))
    return bad("vector_width", "a power of two >= 4", vectorWidth);
  if (int8Dot > 1)
    return bad("int8_dot", "0 or 1", int8Dot);
  if (int8PV > 1)
    return bad("int8_pv", "0 or 1", int8PV);
  if (warps > 8)
    return bad("warps", "at most 8 (0: automatic)", warps);
  if (stages == 1 || stages > 8)
    return bad("stages", "0 (automatic) or in [2, 8]", stages);
  if (targetCTAs < 1)
    return bad("target_ctas", "positive", targetCTAs);
  if (sharedMemory != 0 && sharedMemory < 1024)
    return bad("shared_memory", "0 (automatic) or >= 1024", sharedMemory);
  return success();
}

void AttentionScheduleOverrides::applyTo(AttentionSchedule &schedule) const {
  for (const ScheduleKnob &knob : getScheduleKnobs())
    if (const std::optional<int64_t> &value = this->*knob.override)
      schedule.*knob.member = *value;
}

LogicalResult AttentionScheduleOverrides::verify(
    ScheduleTarget target, function_ref<InFlightDiagnostic()> emitError) const {
  for (const ScheduleKnob &knob : getScheduleKnobs())
    if (this->*knob.override && !knob.appliesTo(target))
      return emitError() << "option " << knob.option
                         << " does not apply to the "
                         << stringifyScheduleTarget(target) << " kernels";
  // The values alone, on the defaults: reported once, before any op.
  AttentionSchedule schedule;
  schedule.target = target;
  applyTo(schedule);
  return schedule.verify(emitError);
}

Attribute ScheduleAttr::parse(AsmParser &parser, Type) {
  AttentionSchedule schedule;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess())
    return {};
  if (succeeded(parser.parseOptionalGreater()))
    return ScheduleAttr::getChecked([&] { return parser.emitError(loc); },
                                    parser.getContext(), schedule);
  llvm::SmallDenseSet<StringRef> seen;
  bool first = true;
  do {
    SMLoc keyLoc = parser.getCurrentLocation();
    StringRef keyword;
    if (parser.parseKeyword(&keyword))
      return {};
    if (first) {
      first = false;
      if (std::optional<ScheduleTarget> target =
              symbolizeScheduleTarget(keyword);
          target && keyword != "any") {
        schedule.target = *target;
        continue;
      }
    }
    const ScheduleKnob *knob =
        llvm::find_if(getScheduleKnobs(), [&](const ScheduleKnob &k) {
          return k.keyword == keyword;
        });
    if (knob == getScheduleKnobs().end()) {
      InFlightDiagnostic diag = parser.emitError(keyLoc)
                                << "unknown schedule knob '" << keyword
                                << "'; expected one of";
      llvm::interleave(
          getScheduleKnobs(),
          [&](const ScheduleKnob &k) { diag << " " << k.keyword; },
          [&] { diag << ","; });
      return {};
    }
    if (!seen.insert(knob->keyword).second) {
      parser.emitError(keyLoc)
          << "schedule knob '" << keyword << "' is given twice";
      return {};
    }
    if (parser.parseEqual() || parser.parseInteger(schedule.*knob->member))
      return {};
  } while (succeeded(parser.parseOptionalComma()));
  if (parser.parseGreater())
    return {};
  return ScheduleAttr::getChecked([&] { return parser.emitError(loc); },
                                  parser.getContext(), schedule);
}

void ScheduleAttr::print(AsmPrinter &printer) const {
  const AttentionSchedule &schedule = getValue();
  printer << "<";
  bool first = true;
  auto separate = [&] {
    if (!first)
      printer << ", ";
    first = false;
  };
  if (schedule.target != ScheduleTarget::Any) {
    separate();
    printer << stringifyScheduleTarget(schedule.target);
  }
  // A target's schedule shows every knob its kernels read; a schedule
  // without a target the knobs that differ from their defaults.
  for (const ScheduleKnob &knob : getScheduleKnobs()) {
    int64_t value = schedule.*knob.member;
    if (schedule.target == ScheduleTarget::Any
            ? value == knob.defaultValue
            : !knob.appliesTo(schedule.target))
      continue;
    separate();
    printer << knob.keyword << " = " << value;
  }
  printer << ">";
}

LogicalResult ScheduleAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                   AttentionSchedule value) {
  return value.verify(emitError);
}
