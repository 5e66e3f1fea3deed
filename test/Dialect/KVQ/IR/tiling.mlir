// RUN: kvq-opt %s -split-input-file -transform-interpreter -canonicalize -verify-diagnostics | FileCheck %s

// TilingInterface: (batch, query heads, query positions) tiles of 1 x 4 x 16
// over 37 positions. Each tile reads the KV head of its GQA group (4 query
// heads / KV head) and, being causal, only the max(0, s0 + ts) keys its rows
// may see; the scales of the K prefix are sliced with it.
// CHECK-DAG: #[[KEYS:.*]] = affine_map<(d0, d1) -> (0, d0 + d1)>
// CHECK-DAG: #[[GROUPS:.*]] = affine_map<(d0) -> (d0 ceildiv 32)>
// CHECK-LABEL: func @causal_gqa
// CHECK: scf.for %[[B:.*]] = %{{.*}} to %{{.*}} step
// CHECK: scf.for %[[H:.*]] = %{{.*}} to %{{.*}} step %c4
// CHECK: scf.for %[[S:.*]] = %{{.*}} to %{{.*}} step %c16
// CHECK: %[[TS:.*]] = affine.min
// CHECK: %[[KVH:.*]] = affine.apply #{{.*}}(%[[H]])
// CHECK: %[[L:.*]] = affine.max #[[KEYS]](%[[S]], %[[TS]])
// CHECK: %[[Q:.*]] = tensor.extract_slice %{{.*}}[%[[B]], %[[H]], %[[S]], 0] [1, 4, %[[TS]], 64]
// CHECK: %[[K:.*]] = tensor.extract_slice %{{.*}}[%[[B]], %[[KVH]], 0, 0] [1, 1, %[[L]], 64]
// CHECK: %[[G:.*]] = affine.apply #[[GROUPS]](%[[L]])
// CHECK: tensor.extract_slice %{{.*}}[%[[B]], %[[KVH]], 0, 0] [1, 1, %[[G]], 64]
// CHECK: %[[O:.*]] = kvq.attention q(%[[Q]] : tensor<1x4x?x64xf32>) k(%[[K]] : tensor<1x1x?x64xi8>, #kvq.quant<i8, symmetric, group(axis = 2, size = 32)>
// CHECK-SAME: {causal} -> tensor<1x4x?x64xf32>
// CHECK: tensor.insert_slice %[[O]] into %{{.*}}[%[[B]], %[[H]], %[[S]], 0] [1, 4, %[[TS]], 64]
func.func @causal_gqa(%q: tensor<2x8x37x64xf32>, %kc: tensor<2x2x37x64xi8>, %ks: tensor<2x2x2x64xf32>, %v: tensor<2x2x37x64xf32>) -> tensor<2x8x37x64xf32> {
  %o = kvq.attention q(%q : tensor<2x8x37x64xf32>) k(%kc : tensor<2x2x37x64xi8>, #kvq.quant<i8, symmetric, group(axis = 2, size = 32)>, scale %ks : tensor<2x2x2x64xf32>) v(%v : tensor<2x2x37x64xf32>) {causal} -> tensor<2x8x37x64xf32>
  return %o : tensor<2x8x37x64xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["kvq.attention"]} in %root : (!transform.any_op) -> !transform.any_op
    %t, %l0, %l1, %l2 = transform.structured.tile_using_for %a tile_sizes [1, 4, 16] : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// Non-causal: every tile reads the whole cache; a tile of packed codes
// keeps whole rows, so slicing moves onto the bytes (kvq.unpack
// canonicalization). scf.forall works too.
// CHECK-LABEL: func @forall_packed
// CHECK: scf.forall
// CHECK: %[[BYTES:.*]] = tensor.extract_slice %{{.*}} [1, 1, 50, 32]
// CHECK: %[[CODES:.*]] = kvq.unpack %[[BYTES]] : tensor<1x1x50x32xi8> -> tensor<1x1x50x64xi4>
// CHECK: kvq.attention q(%{{.*}} : tensor<1x2x1x64xf32>) k(%[[CODES]] : tensor<1x1x50x64xi4>
func.func @forall_packed(%q: tensor<2x4x1x64xf32>, %kb: tensor<2x2x50x32xi8>, %ks: tensor<2x2x50x1xf32>, %v: tensor<2x2x50x64xf32>) -> tensor<2x4x1x64xf32> {
  %kc = kvq.unpack %kb : tensor<2x2x50x32xi8> -> tensor<2x2x50x64xi4>
  %o = kvq.attention q(%q : tensor<2x4x1x64xf32>) k(%kc : tensor<2x2x50x64xi4>, #kvq.quant<i4, symmetric, token>, scale %ks : tensor<2x2x50x1xf32>) v(%v : tensor<2x2x50x64xf32>) -> tensor<2x4x1x64xf32>
  return %o : tensor<2x4x1x64xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["kvq.attention"]} in %root : (!transform.any_op) -> !transform.any_op
    %t, %l = transform.structured.tile_using_forall %a tile_sizes [1, 2, 0] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

func.func @split_group(%q: tensor<1x8x1x64xf32>, %k: tensor<1x2x50x64xf32>) -> tensor<1x8x1x64xf32> {
  // expected-error @+3 {{a tile of query heads must cover whole GQA groups of 4 heads}}
  // expected-error @+2 {{faild to tile operation}}
  // expected-error @+1 {{failed to generate tiling loops}}
  %o = kvq.attention q(%q : tensor<1x8x1x64xf32>) k(%k : tensor<1x2x50x64xf32>) v(%k : tensor<1x2x50x64xf32>) -> tensor<1x8x1x64xf32>
  return %o : tensor<1x8x1x64xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["kvq.attention"]} in %root : (!transform.any_op) -> !transform.any_op
    %t, %l0, %l1 = transform.structured.tile_using_for %a tile_sizes [1, 2] : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op)
    transform.yield
  }
}
