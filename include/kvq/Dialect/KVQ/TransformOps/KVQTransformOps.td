//===- KVQTransformOps.td - Transform dialect ops of kvq ---*- tablegen -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// Schedules for kvq.attention, the MLIR way: a transform script selects
// attention ops and lowers each with its own schedule. Outer tiling over
// (batch, query heads, query positions) is upstream's
// transform.structured.tile_using_for / tile_using_forall through
// kvq.attention's TilingInterface; these ops pick the kernel of each tile.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_TRANSFORM_OPS
#define KVQ_TRANSFORM_OPS

include "kvq/Dialect/KVQ/IR/KVQAttrs.td"
include "mlir/Dialect/Transform/IR/TransformDialect.td"
include "mlir/Dialect/Transform/Interfaces/TransformInterfaces.td"
include "mlir/Dialect/Transform/IR/TransformTypes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/OpBase.td"

def KVQTileAttentionOp : Op<Transform_Dialect, "kvq.tile_attention",
    [DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
     TransformEachOpTrait, TransformOpInterface,
     ReportTrackingListenerFailuresOpTrait]> {
  let summary = "Lower kvq.attention to the tiled CPU kernel with a schedule";
  let description = [{
    Lowers each `kvq.attention` that `target` points to into the CPU
    flash-attention loop nest of `kvq-tile-attention`, with the schedule
    `schedule` (a `#kvq.schedule<...>`; knobs left out take their
    defaults: docs/Schedules.md), or, without one, the schedule the op
    carries (`kvq.kernel_schedule`) or the defaults:

    * `block_kv`: keys per block of the online softmax;
    * `block_rows`: query rows (of a GQA group) per register tile;
    * `split_kv`: key-range partitions, each with its own running max and
      sum, run in parallel and combined by their log-sum-exp at the end
      (1: no split; 0: automatic, enough partitions for 32 work items when
      a KV head has a single row tile);
    * `vector_width`: f32 lanes per vector, a power of two >= 4.

    Decoded K / V operands (`KVDecoderOpInterface`) are decoded inside the
    key loop as with the pass. Run it after `kvq-fuse`, which folds
    dequantization and reconstruction into the attention; the rest of
    `kvq-cpu-pipeline` then finds no attention left to tile.

    #### Return modes

    Consumes the `target` handle. Fails definitely on an invalid schedule
    and on an attention the kernel cannot lower (the op's own diagnostic).
    Produces a silenceable failure if a payload op is not `kvq.attention`.
  }];
  let arguments = (ins TransformHandleTypeInterface:$target,
                   OptionalAttr<KVQ_ScheduleAttr>:$schedule);
  let results = (outs);
  let assemblyFormat = "$target attr-dict `:` type($target)";
  let extraClassDeclaration = [{
    ::mlir::DiagnosedSilenceableFailure applyToOne(
        ::mlir::transform::TransformRewriter &rewriter,
        ::mlir::Operation *target,
        ::mlir::transform::ApplyToEachResultList &results,
        ::mlir::transform::TransformState &state);
  }];
}

def KVQGPUAttentionOp : Op<Transform_Dialect, "kvq.gpu_attention",
    [DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
     TransformEachOpTrait, TransformOpInterface,
     ReportTrackingListenerFailuresOpTrait]> {
  let summary = "Lower kvq.attention to the GPU kernels with a schedule";
  let description = [{
    Lowers each `kvq.attention` that `target` points to into the
    `gpu.launch` kernels of `kvq-gpu-attention` with the schedule
    `schedule` (a `#kvq.schedule<...>`, knobs left out taking their
    defaults; without one, the schedule the op carries or the defaults),
    for the chip `chip` ("sm_80") with the kernel strategy `kernel`
    ("auto": the decode kernel for decode-shaped ops, else the prefill
    kernel; "decode" or "prefill"). The GPU knobs:

    * `block_kv`: keys per shared-memory block of the prefill kernel, a
      multiple of 16;
    * `warps`: warps per CTA, 1 to 8: 16-row tiles (prefill) or key
      streams (decode); 0 picks them;
    * `split_kv`: key-range partitions (flash-decoding), combined by a
      second kernel; 0 picks them (`target_ctas` for the prefill kernel,
      the cost model for the decode kernel);
    * `target_ctas`: CTAs the prefill kernel's automatic split aims for;
    * `shared_memory`: bytes of dynamic shared memory for the K / V
      buffers, 0 for automatic (49152 for the prefill kernel);
    * `stages`: cp.async stages per warp of the decode kernel, 0 for the
      cost model's choice.

    The rest of `kvq-nvvm-pipeline` then lowers the launches.

    #### Return modes

    As `transform.kvq.tile_attention`.
  }];
  let arguments = (ins TransformHandleTypeInterface:$target,
                   OptionalAttr<KVQ_ScheduleAttr>:$schedule,
                   DefaultValuedStrAttr<StrAttr, "sm_80">:$chip,
                   DefaultValuedStrAttr<StrAttr, "auto">:$kernel);
  let results = (outs);
  let assemblyFormat = "$target attr-dict `:` type($target)";
  let extraClassDeclaration = [{
    ::mlir::DiagnosedSilenceableFailure applyToOne(
        ::mlir::transform::TransformRewriter &rewriter,
        ::mlir::Operation *target,
        ::mlir::transform::ApplyToEachResultList &results,
        ::mlir::transform::TransformState &state);
  }];
}

#endif // KVQ_TRANSFORM_OPS
