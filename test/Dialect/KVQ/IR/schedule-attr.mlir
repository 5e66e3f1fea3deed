// RUN: kvq-opt %s | FileCheck %s
// RUN: kvq-opt %s | kvq-opt | FileCheck %s
// RUN: kvq-opt %s -mlir-print-op-generic | kvq-opt | FileCheck %s

// #kvq.schedule: a schedule without a target prints the knobs that differ
// from their defaults (none: `<>`); a cpu or gpu schedule prints every knob
// its kernels read, in the order of AttentionSchedule.def, whatever the
// order written.
// CHECK-LABEL: func.func @schedules
// CHECK-SAME: any_default = #kvq.schedule<>
// CHECK-SAME: any_set = #kvq.schedule<block_kv = 32, split_kv = 3, warps = 2>
// CHECK-SAME: cpu = #kvq.schedule<cpu, block_kv = 64, split_kv = 0, block_rows = 4, vector_width = 16, int8_dot = 0, int8_pv = 0>
// CHECK-SAME: cpu_set = #kvq.schedule<cpu, block_kv = 128, split_kv = 2, block_rows = 8, vector_width = 8, int8_dot = 1, int8_pv = 1>
// CHECK-SAME: gpu = #kvq.schedule<gpu, block_kv = 16, split_kv = 0, warps = 8, stages = 4, target_ctas = 132, shared_memory = 1024>
func.func @schedules() attributes {
    any_default = #kvq.schedule<>,
    any_set = #kvq.schedule<warps = 2, split_kv = 3, block_kv = 32, vector_width = 16>,
    cpu = #kvq.schedule<cpu>,
    cpu_set = #kvq.schedule<cpu, int8_pv = 1, vector_width = 8, block_rows = 8, int8_dot = 1, split_kv = 2, block_kv = 128>,
    gpu = #kvq.schedule<gpu, stages = 4, warps = 8, block_kv = 16, target_ctas = 132, shared_memory = 1024>} {
  return
}

// The schedule an attention carries, read by the lowerings.
// CHECK-LABEL: func.func @carried
// CHECK: kvq.attention {{.*}} {kvq.kernel_schedule = #kvq.schedule<block_kv = 32>}
func.func @carried(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  %o = kvq.attention q(%q : tensor<1x4x8x16xf32>) k(%k : tensor<1x4x8x16xf32>) v(%v : tensor<1x4x8x16xf32>) {kvq.kernel_schedule = #kvq.schedule<block_kv = 32>} -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}
