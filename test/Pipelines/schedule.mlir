// RUN: kvq-opt %s --kvq-cpu-pipeline="block-kv=20 split-kv=2" \
// RUN:   --mlir-print-ir-after=kvq-attention-schedule --mlir-print-ir-after=kvq-tile-attention \
// RUN:   -o /dev/null 2>&1 | FileCheck %s
// RUN: kvq-opt %s --kvq-nvvm-pipeline="chip=sm_90 kernel=prefill warps=2" \
// RUN:   --mlir-print-ir-after=kvq-attention-schedule --mlir-print-ir-after=kvq-gpu-attention \
// RUN:   -o /dev/null 2>&1 | FileCheck %s --check-prefix=GPU
// RUN: not kvq-opt %s --kvq-cpu-pipeline="warps=2" -o /dev/null 2>&1 | FileCheck %s --check-prefix=FOREIGN

// The pipelines choose each attention's schedule in kvq-attention-schedule
// (their knob options override the defaults), visible in the IR, and the
// lowering records the schedule it used after its target's rounding.
// CHECK: IR Dump After KVQAttentionSchedule
// CHECK: kvq.attention {{.*}}kvq.kernel_schedule = #kvq.schedule<cpu, block_kv = 20, split_kv = 2, block_rows = 4, vector_width = 16, int8_dot = 0, int8_pv = 0>
// CHECK: IR Dump After KVQTileAttention
// CHECK: } {kvq.kernel_schedule = #kvq.schedule<cpu, block_kv = 32, split_kv = 2, block_rows = 4, vector_width = 16, int8_dot = 0, int8_pv = 0>}
// GPU: IR Dump After KVQAttentionSchedule
// GPU: kvq.attention {{.*}}kvq.kernel_schedule = #kvq.schedule<gpu, block_kv = 64, split_kv = 0, warps = 2, stages = 0, target_ctas = 264, shared_memory = 0>
// GPU: IR Dump After KVQGPUAttention
// GPU: } {kvq.kernel_schedule = #kvq.schedule<gpu, block_kv = 32, split_kv = 0, warps = 2, stages = 0, target_ctas = 264, shared_memory = 49152>}
// The CPU pipeline has no GPU knob.
// FOREIGN: no such option warps
func.func @attention(%q: tensor<1x8x40x128xf16>, %k: tensor<1x2x?x128xf16>, %v: tensor<1x2x?x128xf16>) -> tensor<1x8x40x128xf16> {
  %o = kvq.attention q(%q : tensor<1x8x40x128xf16>) k(%k : tensor<1x2x?x128xf16>) v(%v : tensor<1x2x?x128xf16>) -> tensor<1x8x40x128xf16>
  return %o : tensor<1x8x40x128xf16>
}
