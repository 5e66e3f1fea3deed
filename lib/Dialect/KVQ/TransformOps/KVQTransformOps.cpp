//===- KVQTransformOps.cpp - Transform dialect ops of kvq -----------------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/TransformOps/KVQTransformOps.h"

#include "kvq/Conversion/AttentionLowering.h"
#include "kvq/Dialect/KVQ/IR/KVQDialect.h"
#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Dialect/KVQ/Transforms/AttentionSchedule.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Transform/IR/TransformDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

#define GET_OP_CLASSES
#include "kvq/Dialect/KVQ/TransformOps/KVQTransformOps.cpp.inc"

/// Lowers `target` if it is a kvq.attention: definite failure (the op's
/// diagnostic) if the lowering fails, silenceable if it is another op.
template <typename Lower>
static DiagnosedSilenceableFailure
lowerAttention(transform::TransformOpInterface transformOp, Operation *target,
               Lower lower) {
  auto attention = dyn_cast<kvq::AttentionOp>(target);
  if (!attention) {
    DiagnosedSilenceableFailure diag = transformOp.emitSilenceableError()
                                       << "expected a kvq.attention, got '"
                                       << target->getName() << "'";
    diag.attachNote(target->getLoc()) << "payload op";
    return diag;
  }
  if (failed(lower(attention)))
    return DiagnosedSilenceableFailure::definiteFailure();
  return DiagnosedSilenceableFailure::success();
}

DiagnosedSilenceableFailure transform::KVQTileAttentionOp::applyToOne(
    transform::TransformRewriter &rewriter, Operation *target,
    transform::ApplyToEachResultList &results,
    transform::TransformState &state) {
  return lowerAttention(*this, target, [&](kvq::AttentionOp op) {
    FailureOr<kvq::AttentionSchedule> schedule = kvq::selectAttentionSchedule(
        op, kvq::ScheduleTarget::CPU, {}, getScheduleAttr());
    if (failed(schedule))
      return failure();
    return kvq::lowerAttentionForCPU(rewriter, op, *schedule);
  });
}

void transform::KVQTileAttentionOp::getEffects(
    SmallVectorImpl<MemoryEffects::EffectInstance> &effects) {
  transform::consumesHandle(getTargetMutable(), effects);
  transform::modifiesPayload(effects);
}

DiagnosedSilenceableFailure transform::KVQGPUAttentionOp::applyToOne(
    transform::TransformRewriter &rewriter, Operation *target,
    transform::ApplyToEachResultList &results,
    transform::TransformState &state) {
  std::optional<kvq::GPUKernelStrategy> strategy =
      kvq::GPUAttentionSchedule::parseKernel(getKernel());
  if (!strategy)
    return emitDefiniteFailure()
           << "kernel must be auto, decode or prefill, not '" << getKernel()
           << "'";
  return lowerAttention(*this, target, [&](kvq::AttentionOp op) {
    FailureOr<kvq::AttentionSchedule> knobs = kvq::selectAttentionSchedule(
        op, kvq::ScheduleTarget::GPU, {}, getScheduleAttr());
    if (failed(knobs))
      return failure();
    kvq::GPUAttentionSchedule schedule(*knobs, getChip().str(), *strategy);
    return kvq::lowerAttentionForGPU(rewriter, op, schedule);
  });
}

void transform::KVQGPUAttentionOp::getEffects(
    SmallVectorImpl<MemoryEffects::EffectInstance> &effects) {
  transform::consumesHandle(getTargetMutable(), effects);
  transform::modifiesPayload(effects);
}

namespace {
class KVQTransformDialectExtension
    : public transform::TransformDialectExtension<
          KVQTransformDialectExtension> {
public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(KVQTransformDialectExtension)

  using Base::Base;

  void init() {
    declareDependentDialect<kvq::KVQDialect>();
    declareGeneratedDialect<arith::ArithDialect>();
    declareGeneratedDialect<bufferization::BufferizationDialect>();
    declareGeneratedDialect<gpu::GPUDialect>();
    declareGeneratedDialect<LLVM::LLVMDialect>();
    declareGeneratedDialect<math::MathDialect>();
    declareGeneratedDialect<memref::MemRefDialect>();
    declareGeneratedDialect<nvgpu::NVGPUDialect>();
    declareGeneratedDialect<NVVM::NVVMDialect>();
    declareGeneratedDialect<scf::SCFDialect>();
    declareGeneratedDialect<tensor::TensorDialect>();
    declareGeneratedDialect<vector::VectorDialect>();
    registerTransformOps<
#define GET_OP_LIST
#include "kvq/Dialect/KVQ/TransformOps/KVQTransformOps.cpp.inc"
        >();
  }
};
} // namespace

void mlir::kvq::registerTransformDialectExtension(DialectRegistry &registry) {
  registry.addExtensions<KVQTransformDialectExtension>();
}
