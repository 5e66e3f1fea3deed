// RUN: kvq-opt %s -split-input-file -transform-interpreter -verify-diagnostics

func.func @not_attention(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-note @below {{payload op}}
  %y = arith.addf %x, %x : tensor<4xf32>
  return %y : tensor<4xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["arith.addf"]} in %root : (!transform.any_op) -> !transform.any_op
    // expected-error @below {{expected a kvq.attention, got 'arith.addf'}}
    transform.kvq.tile_attention %a : !transform.any_op
    transform.yield
  }
}

// -----

func.func @bad_schedule(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>) -> tensor<1x2x1x16xf32> {
  %o = kvq.attention q(%q : tensor<1x2x1x16xf32>) k(%k : tensor<1x2x8x16xf32>) v(%v : tensor<1x2x8x16xf32>) -> tensor<1x2x1x16xf32>
  return %o : tensor<1x2x1x16xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["kvq.attention"]} in %root : (!transform.any_op) -> !transform.any_op
    // expected-error @below {{schedule knob 'vector_width' must be a power of two >= 4, got 6}}
    transform.kvq.tile_attention %a {schedule = #kvq.schedule<vector_width = 6>} : !transform.any_op
    transform.yield
  }
}

// -----

func.func @bad_gpu_schedule(%q: tensor<1x2x1x16xf16>, %k: tensor<1x2x8x16xf16>, %v: tensor<1x2x8x16xf16>) -> tensor<1x2x1x16xf16> {
  %o = kvq.attention q(%q : tensor<1x2x1x16xf16>) k(%k : tensor<1x2x8x16xf16>) v(%v : tensor<1x2x8x16xf16>) -> tensor<1x2x1x16xf16>
  return %o : tensor<1x2x1x16xf16>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["kvq.attention"]} in %root : (!transform.any_op) -> !transform.any_op
    // expected-error @below {{schedule knob 'warps' must be at most 8 (0: automatic), got 9}}
    transform.kvq.gpu_attention %a {schedule = #kvq.schedule<warps = 9>} : !transform.any_op
    transform.yield
  }
}

// -----

// An attention the kernel cannot lower is reported at the attention.
func.func @dynamic_head(%q: tensor<1x2x1x?xf32>, %k: tensor<1x2x8x?xf32>, %v: tensor<1x2x8x?xf32>) -> tensor<1x2x1x?xf32> {
  // expected-error @below {{kvq-gpu-attention needs a static head dimension}}
  %o = kvq.attention q(%q : tensor<1x2x1x?xf32>) k(%k : tensor<1x2x8x?xf32>) v(%v : tensor<1x2x8x?xf32>) -> tensor<1x2x1x?xf32>
  return %o : tensor<1x2x1x?xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["kvq.attention"]} in %root : (!transform.any_op) -> !transform.any_op
    transform.kvq.gpu_attention %a : !transform.any_op
    transform.yield
  }
}

// -----

// A transform's schedule for the other target.
func.func @foreign_schedule(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>) -> tensor<1x2x1x16xf32> {
  // expected-error @below {{is given a schedule for the gpu kernels, lowered for the cpu kernels}}
  %o = kvq.attention q(%q : tensor<1x2x1x16xf32>) k(%k : tensor<1x2x8x16xf32>) v(%v : tensor<1x2x8x16xf32>) -> tensor<1x2x1x16xf32>
  return %o : tensor<1x2x1x16xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["kvq.attention"]} in %root : (!transform.any_op) -> !transform.any_op
    transform.kvq.tile_attention %a {schedule = #kvq.schedule<gpu, warps = 2>} : !transform.any_op
    transform.yield
  }
}
