// RUN: kvq-opt %s | FileCheck %s
// RUN: kvq-opt %s | kvq-opt | FileCheck %s
// RUN: kvq-opt %s -mlir-print-op-generic | kvq-opt | FileCheck %s

// The transform.kvq ops print and parse back; a schedule without a target
// prints the knobs that differ from their defaults, and attributes at their
// default are elided.
// CHECK-LABEL: transform.named_sequence @schedules
// CHECK: transform.kvq.tile_attention %{{.*}} {schedule = #kvq.schedule<block_kv = 16, split_kv = 3, block_rows = 2, vector_width = 8>} : !transform.any_op
// CHECK: transform.kvq.tile_attention %{{.*}} {schedule = #kvq.schedule<>} : !transform.any_op
// CHECK: transform.kvq.tile_attention %{{.*}} : !transform.any_op
// CHECK: transform.kvq.gpu_attention %{{.*}} {chip = "sm_90", schedule = #kvq.schedule<gpu, block_kv = 64, split_kv = 2, warps = 2, stages = 0, target_ctas = 132, shared_memory = 65536>} : !transform.any_op
module attributes {transform.with_named_sequence} {
  transform.named_sequence @schedules(%a: !transform.any_op {transform.consumed},
                                      %b: !transform.any_op {transform.consumed},
                                      %c: !transform.any_op {transform.consumed},
                                      %d: !transform.any_op {transform.consumed}) {
    transform.kvq.tile_attention %a {schedule = #kvq.schedule<block_kv = 16, split_kv = 3, block_rows = 2, vector_width = 8>} : !transform.any_op
    transform.kvq.tile_attention %b {schedule = #kvq.schedule<block_kv = 64>} : !transform.any_op
    transform.kvq.tile_attention %c : !transform.any_op
    transform.kvq.gpu_attention %d {schedule = #kvq.schedule<gpu, warps = 2, split_kv = 2, target_ctas = 132, shared_memory = 65536>, chip = "sm_90"} : !transform.any_op
    transform.yield
  }
}
