//===- AttentionLowering.h - Lowering one kvq.attention ---------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// The two kernels of kvq.attention as functions on one op, with the
// schedule as a parameter: kvq-tile-attention / kvq-gpu-attention apply
// them to every attention with the pass options, the transform ops
// transform.kvq.tile_attention / transform.kvq.gpu_attention to the ops a
// transform script selects, each with its own schedule.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_CONVERSION_ATTENTIONLOWERING_H
#define KVQ_CONVERSION_ATTENTIONLOWERING_H

#include "kvq/Dialect/KVQ/IR/AttentionSchedule.h"
#include "kvq/Dialect/KVQ/IR/KVQOps.h"

#include "mlir/IR/PatternMatch.h"

#include <optional>
#include <string>

namespace mlir {
namespace kvq {

/// Which GPU kernel strategy lowers a kvq.attention.
enum class GPUKernelStrategy {
  /// Decode for decode-shaped ops (see isDecodeAttention), else prefill.
  Auto,
  /// The flash-decoding kernel (an error when the op does not fit it).
  Decode,
  /// The flash-attention kernel (any op).
  Prefill,
};

/// The GPU kernels' schedule (docs/GPU.md): the knobs
/// (AttentionSchedule.def), the chip and the kernel strategy.
struct GPUAttentionSchedule : AttentionSchedule {
  GPUAttentionSchedule() { target = ScheduleTarget::GPU; }
  GPUAttentionSchedule(const AttentionSchedule &knobs, std::string chip,
                       GPUKernelStrategy kernel)
      : AttentionSchedule(knobs), chip(std::move(chip)), kernel(kernel) {
    target = ScheduleTarget::GPU;
  }

  /// The GPU architecture (see NVIDIATargetInfo).
  std::string chip = "sm_80";
  GPUKernelStrategy kernel = GPUKernelStrategy::Auto;

  /// Reports invalid knobs or an unknown chip at `loc`.
  LogicalResult verify(Location loc) const;
  /// Parses `auto`, `decode` or `prefill`.
  static std::optional<GPUKernelStrategy> parseKernel(StringRef name);
};

/// What the CPU kernels may use beyond the vector dialect's portable ops.
struct CPUKernelFeatures {
  /// AVX512-BF16 dot products (x86vector.avx512.dot, vdpbf16ps) for the
  /// prefill kernel's Q K^T when Q and K are bf16.
  bool avx512BF16 = false;
  /// The target's vector register file: how many architectural vector
  /// registers of how many bits (AVX-512: 32 x 512, AVX2: 16 x 256). The
  /// kernels keep at most half of it in accumulators across a loop; the
  /// rest holds the operands.
  int64_t vectorRegisters = 32;
  int64_t registerBits = 512;
  /// The int8 dot products over int8 codes (schedule int8_dot / int8_pv)
  /// take each code byte as two 4-bit halves, `u = 16 * hi + lo` of the
  /// biased code `u = code + 128`: twice the products, each narrow
  /// enough for AVX2's i16 pair sums (`vpmaddubsw`), where the target has
  /// no VNNI. Without it, int8 codes are one 8-bit operand.
  bool int8Nibbles = false;
  /// Decoders may read codebooks with kvq.lookup (permutes where
  /// kvq-lower-lookup has them) instead of trees of selects.
  bool tableLookup = false;
  /// Int8 P V over VidKV's values reads each code byte's base-3 digits with
  /// kvq.lookup in tables of 256 bytes (two vpermi2b per 64 bytes where
  /// kvq-lower-lookup has AVX512-VBMI) instead of multiply-shift divisions.
  bool byteTables = false;

  /// Reports a register file out of range at `loc`.
  LogicalResult verify(Location loc) const;
};

/// Replaces `op` by the CPU flash-attention loop nest (tensors, vectors)
/// with `schedule`; its K / V decoders are read inside the loops. Emits an
/// error at the op and fails if the op cannot be lowered so.
LogicalResult lowerAttentionForCPU(RewriterBase &rewriter, AttentionOp op,
                                   const AttentionSchedule &schedule,
                                   const CPUKernelFeatures &features = {});

/// Replaces `op` by gpu.launch kernels with `schedule`: the decode or the
/// prefill strategy (lib/Conversion/KVQToGPU). Emits an error at the op and
/// fails if the op cannot be lowered so.
LogicalResult lowerAttentionForGPU(RewriterBase &rewriter, AttentionOp op,
                                   const GPUAttentionSchedule &schedule);

} // namespace kvq
} // namespace mlir

#endif // KVQ_CONVERSION_ATTENTIONLOWERING_H
