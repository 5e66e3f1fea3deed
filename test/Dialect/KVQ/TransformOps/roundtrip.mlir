// RUN: kvq-opt %s | FileCheck %s
// RUN: kvq-opt %s | kvq-opt | FileCheck %s
// RUN: kvq-opt %s -mlir-print-op-generic | kvq-opt | FileCheck %s

// The transform.kvq ops print and parse back; attributes at their default
// are elided.
// CHECK-LABEL: transform.named_sequence @schedules
// CHECK: transform.kvq.tile_attention %{{.*}} {block_kv = 16 : i64, block_rows = 2 : i64, split_kv = 3 : i64, vector_width = 8 : i64} : !transform.any_op
// CHECK: transform.kvq.tile_attention %{{.*}} : !transform.any_op
// CHECK: transform.kvq.gpu_attention %{{.*}} {shared_memory = 65536 : i64, split_kv = 2 : i64, target_ctas = 132 : i64, warps = 2 : i64} : !transform.any_op
module attributes {transform.with_named_sequence} {
  transform.named_sequence @schedules(%a: !transform.any_op {transform.consumed},
                                      %b: !transform.any_op {transform.consumed},
                                      %c: !transform.any_op {transform.consumed}) {
    transform.kvq.tile_attention %a {block_kv = 16, split_kv = 3, block_rows = 2, vector_width = 8} : !transform.any_op
    transform.kvq.tile_attention %b {block_kv = 64} : !transform.any_op
    transform.kvq.gpu_attention %c {warps = 2, split_kv = 2, target_ctas = 132, shared_memory = 65536} : !transform.any_op
    transform.yield
  }
}
