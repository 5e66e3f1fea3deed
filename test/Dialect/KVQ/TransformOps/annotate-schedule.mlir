// RUN: kvq-opt %s -transform-interpreter -kvq-tile-attention | FileCheck %s

// A transform script sets the schedule of an attention with upstream's
// transform.annotate and leaves the lowering to the pass (or pipeline), which
// completes it for its target and records the schedule used.
// CHECK-LABEL: func.func @f
// CHECK: } {kvq.kernel_schedule = #kvq.schedule<cpu, block_kv = 16, split_kv = 3, block_rows = 4, vector_width = 16, int8_dot = 0, int8_pv = 0>}
func.func @f(%q: tensor<1x8x1x32xf32>, %k: tensor<1x2x?x32xf32>, %v: tensor<1x2x?x32xf32>) -> tensor<1x8x1x32xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x32xf32>) k(%k : tensor<1x2x?x32xf32>) v(%v : tensor<1x2x?x32xf32>) -> tensor<1x8x1x32xf32>
  return %o : tensor<1x8x1x32xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["kvq.attention"]} in %root : (!transform.any_op) -> !transform.any_op
    %p = transform.param.constant #kvq.schedule<block_kv = 16, split_kv = 3> -> !transform.any_param
    transform.annotate %a "kvq.kernel_schedule" = %p : !transform.any_op, !transform.any_param
    transform.yield
  }
}
