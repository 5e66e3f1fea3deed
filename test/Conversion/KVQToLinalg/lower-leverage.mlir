// RUN: kvq-opt %s -split-input-file --convert-kvq-to-linalg | FileCheck %s

// Leverage scores: the Gram matrix (a reduction over the keys, f64), the
// trace, the ridge, Gauss-Jordan over the D = 16 pivots, then a second pass
// over the keys. The workspace is D x D per head.
// CHECK-LABEL: func @scores
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK:         } -> tensor<1x2x16x16xf64>
// CHECK:         scf.for %{{.*}} = %c0 to %c16 step %c1 iter_args({{.*}}) -> (tensor<1x2x16x16xf64>, tensor<1x2x16x16xf64>)
// CHECK:           tensor.extract_slice {{.*}} to tensor<1x2x1x16xf64>
// CHECK:           tensor.extract_slice {{.*}} to tensor<1x2x16x1xf64>
// CHECK:           arith.divf
// CHECK:           scf.yield
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]
// CHECK:         } -> tensor<1x2x?xf64>
// CHECK-NOT:     kvq.leverage_scores
func.func @scores(%k: tensor<1x2x?x16xf32>) -> tensor<1x2x?xf32> {
  %t = kvq.leverage_scores %k : tensor<1x2x?x16xf32> -> tensor<1x2x?xf32>
  return %t : tensor<1x2x?xf32>
}

// -----

// The mask: query head h reads score head h floordiv 4; 0 kept, -inf dropped.
// CHECK-DAG: #[[SCORES:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1 floordiv 4, d3)>
// CHECK-LABEL: func @select
// CHECK:         linalg.generic {indexing_maps = [#[[SCORES]], {{.*}}]
// CHECK:           arith.cmpf oge
// CHECK:           arith.select {{.*}} : f32
// CHECK:         } -> tensor<1x8x1x?xf32>
func.func @select(%t: tensor<1x2x?xf32>) -> tensor<1x8x1x?xf32> {
  %m = kvq.select_keys %t {epsilon = 0.1 : f64} : tensor<1x2x?xf32> -> tensor<1x8x1x?xf32>
  return %m : tensor<1x8x1x?xf32>
}
