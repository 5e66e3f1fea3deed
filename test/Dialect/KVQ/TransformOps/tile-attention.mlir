// RUN: kvq-opt %s -split-input-file -transform-interpreter -cse | FileCheck %s

// Two attentions of one function, each lowered with its own schedule: the
// one tagged "split" in 3 key-range partitions of 16-key blocks with 2-row
// register tiles and 8-lane vectors, the other in 32-key blocks with the
// default 4-row tiles and 16-lane vectors.
// CHECK-LABEL: func.func @two(
// CHECK-NOT:     kvq.attention
// CHECK-DAG:     memref.alloc({{.*}}) {{.*}} : memref<?x?x?x?x66xf32>
// CHECK-DAG:     memref.alloc() {{.*}} : memref<2x64xf32>
// CHECK-DAG:     memref.alloc() {{.*}} : memref<2x16xf32>
// CHECK-DAG:     vector<8xf32>
// CHECK-DAG:     kvq.kernel_schedule = #kvq.schedule<cpu, block_kv = 16, split_kv = 3, block_rows = 2, vector_width = 8, int8_dot = 0, int8_pv = 0>
// CHECK-DAG:     kvq.kernel_schedule = #kvq.schedule<cpu, block_kv = 32, split_kv = 0, block_rows = 4, vector_width = 16, int8_dot = 0, int8_pv = 0>
// CHECK-DAG:     memref.alloc() {{.*}} : memref<4x32xf32>
// CHECK-DAG:     memref.alloc() {{.*}} : memref<4x64xf32>
// CHECK-DAG:     vector<16xf32>
// CHECK-NOT:     kvq.attention
// CHECK:         return
func.func @two(%q: tensor<1x8x5x64xf32>, %k: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x64xf32>)
    -> (tensor<1x8x5x64xf32>, tensor<1x8x5x64xf32>) {
  %a = kvq.attention q(%q : tensor<1x8x5x64xf32>) k(%k : tensor<1x2x?x64xf32>) v(%v : tensor<1x2x?x64xf32>) {causal, kvq.schedule = "split"} -> tensor<1x8x5x64xf32>
  %b = kvq.attention q(%q : tensor<1x8x5x64xf32>) k(%k : tensor<1x2x?x64xf32>) v(%v : tensor<1x2x?x64xf32>) -> tensor<1x8x5x64xf32>
  return %a, %b : tensor<1x8x5x64xf32>, tensor<1x8x5x64xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %split = transform.structured.match ops{["kvq.attention"]} attributes{kvq.schedule = "split"} in %root : (!transform.any_op) -> !transform.any_op
    transform.kvq.tile_attention %split {schedule = #kvq.schedule<block_kv = 16, split_kv = 3, block_rows = 2, vector_width = 8>} : !transform.any_op
    %rest = transform.structured.match ops{["kvq.attention"]} in %root : (!transform.any_op) -> !transform.any_op
    transform.kvq.tile_attention %rest {schedule = #kvq.schedule<block_kv = 32>} : !transform.any_op
    transform.yield
  }
}

// -----

// Upstream tiling through kvq.attention's TilingInterface, then the kernel
// of each tile: 2-head x 16-position tiles of a GQA prefill, each a
// flash-attention loop nest over its keys.
// CHECK-LABEL: func.func @tiled_then_scheduled(
// CHECK:         scf.for %{{.*}} step %c2
// CHECK:           scf.for %{{.*}} step %c16
// CHECK-NOT:         kvq.attention
// CHECK:             memref.alloc() {{.*}} : memref<4x32xf32>
// CHECK:             tensor.insert_slice
func.func @tiled_then_scheduled(%q: tensor<1x4x37x32xf32>, %k: tensor<1x2x37x32xf32>, %v: tensor<1x2x37x32xf32>)
    -> tensor<1x4x37x32xf32> {
  %o = kvq.attention q(%q : tensor<1x4x37x32xf32>) k(%k : tensor<1x2x37x32xf32>) v(%v : tensor<1x2x37x32xf32>) {causal} -> tensor<1x4x37x32xf32>
  return %o : tensor<1x4x37x32xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["kvq.attention"]} in %root : (!transform.any_op) -> !transform.any_op
    %t, %l0, %l1, %l2 = transform.structured.tile_using_for %a tile_sizes [1, 2, 16] : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op)
    transform.kvq.tile_attention %t {schedule = #kvq.schedule<block_kv = 32>} : !transform.any_op
    transform.yield
  }
}

// -----

// The GPU kernel with a schedule: 2 warps (64 threads) per CTA, the keys
// split in 3 (grid z), 32-key shared-memory blocks.
// CHECK-LABEL: func.func @gpu(
// CHECK-DAG:     %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG:     %[[C64:.*]] = arith.constant 64 : index
// CHECK:         gpu.launch async {{.*}} blocks({{.*}}) in ({{.*}}, {{.*}}, %{{.*}} = %[[C3]]) threads({{.*}}) in (%{{.*}} = %[[C64]],
// CHECK:         } {kvq.kernel_schedule = #kvq.schedule<gpu, block_kv = 32, split_kv = 3, warps = 2, stages = 0, target_ctas = 264, shared_memory = 49152>}
// CHECK-NOT:     kvq.attention q(
// CHECK:         return
func.func @gpu(%q: tensor<1x8x40x64xf16>, %k: tensor<1x2x?x64xf16>, %v: tensor<1x2x?x64xf16>) -> tensor<1x8x40x64xf16> {
  %o = kvq.attention q(%q : tensor<1x8x40x64xf16>) k(%k : tensor<1x2x?x64xf16>) v(%v : tensor<1x2x?x64xf16>) -> tensor<1x8x40x64xf16>
  return %o : tensor<1x8x40x64xf16>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["kvq.attention"]} in %root : (!transform.any_op) -> !transform.any_op
    transform.kvq.gpu_attention %a {schedule = #kvq.schedule<warps = 2, split_kv = 3, block_kv = 32>} : !transform.any_op
    transform.yield
  }
}
