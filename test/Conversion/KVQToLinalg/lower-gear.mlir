// RUN: kvq-opt %s -split-input-file --convert-kvq-to-linalg | FileCheck %s

// Outliers: the rank of every entry by magnitude within its token (a
// reduction over the channels), the remainder, then the `count` first.
// CHECK-LABEL: func @outliers
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK:           math.absf
// CHECK:           arith.cmpf ogt
// CHECK:           arith.addi
// CHECK:         } -> tensor<1x2x?x16xi32>
// CHECK:         arith.cmpi slt
// CHECK:         } -> tensor<1x2x?x16xf32>
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK:         } -> (tensor<1x2x?x3xi32>, tensor<1x2x?x3xf32>)
// CHECK-NOT:     kvq.extract_outliers
func.func @outliers(%x: tensor<1x2x?x16xf32>) -> (tensor<1x2x?x16xf32>, tensor<1x2x?x3xi32>, tensor<1x2x?x3xf32>) {
  %r, %i, %v = kvq.extract_outliers %x {count = 3}
      : tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>, tensor<1x2x?x3xi32>, tensor<1x2x?x3xf32>
  return %r, %i, %v : tensor<1x2x?x16xf32>, tensor<1x2x?x3xi32>, tensor<1x2x?x3xf32>
}

// -----

// Low rank: the f64 Gram matrix (reduction over the tokens), the seeded
// start as a constant, Gram-Schmidt over the columns, `iterations` steps of
// subspace iteration, then a = x W (a second pass) and b = W^T.
// CHECK-LABEL: func @approx
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK:         } -> tensor<1x2x16x16xf64>
// CHECK:         linalg.generic {{.*}} ins(%{{.*}} : tensor<16x4xf64>) outs(%{{.*}} : tensor<1x2x16x4xf64>)
// CHECK:         scf.for %{{.*}} = %c0 to %c4 step %c1 iter_args({{.*}}) -> (tensor<1x2x16x4xf64>)
// CHECK:           tensor.extract_slice {{.*}} to tensor<1x2x16x1xf64>
// CHECK:           math.sqrt
// CHECK:           tensor.insert_slice
// CHECK:         scf.for %{{.*}} = %c0 to %c3 step %c1 iter_args({{.*}}) -> (tensor<1x2x16x4xf64>)
// CHECK:           } -> tensor<1x2x16x4xf64>
// CHECK:           scf.for
// CHECK:         } -> tensor<1x2x?x4xf64>
// CHECK:         arith.truncf
// CHECK:         } -> tensor<1x2x4x16xf64>
// CHECK-NOT:     kvq.low_rank_approx
func.func @approx(%x: tensor<1x2x?x16xf32>) -> (tensor<1x2x?x4xf32>, tensor<1x2x4x16xf32>) {
  %a, %b = kvq.low_rank_approx %x {rank = 4, iterations = 3, seed = 1}
      : tensor<1x2x?x16xf32> -> tensor<1x2x?x4xf32>, tensor<1x2x4x16xf32>
  return %a, %b : tensor<1x2x?x4xf32>, tensor<1x2x4x16xf32>
}

// -----

// Decoding: base (f32) + a contraction over the rank + the scattered
// outliers (a reduction over them), elementwise.
// CHECK-LABEL: func @decode
// CHECK:         arith.extf
// CHECK:         } -> tensor<1x2x?x16xf32>
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK:           arith.mulf
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK:           arith.cmpi eq
// CHECK:           arith.select
// CHECK-NOT:     kvq.gear_decode
func.func @decode(%d: tensor<1x2x?x16xf16>, %a: tensor<1x2x?x4xf32>, %b: tensor<1x2x4x16xf32>,
                  %i: tensor<1x2x?x3xi32>, %v: tensor<1x2x?x3xf32>) -> tensor<1x2x?x16xf32> {
  %x = kvq.gear_decode %d, %a, %b, %i, %v : tensor<1x2x?x16xf16>, tensor<1x2x?x4xf32>, tensor<1x2x4x16xf32>,
      tensor<1x2x?x3xi32>, tensor<1x2x?x3xf32> -> tensor<1x2x?x16xf32>
  return %x : tensor<1x2x?x16xf32>
}

// -----

// xKV: the layers side by side ([B, H, S, G D]), one Gram matrix per head
// over batch and tokens, subspace iteration, coordinates, per-layer slices.
// CHECK-LABEL: func @xkv
// CHECK:         tensor.insert_slice {{.*}}[0, 0, 0, 0] [2, 2, %{{.*}}, 8]
// CHECK:         tensor.insert_slice {{.*}}[0, 0, 0, 8] [2, 2, %{{.*}}, 8]
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]
// CHECK:         } -> tensor<2x16x16xf64>
// CHECK:         tensor.expand_shape {{.*}} into tensor<1x2x16x16xf64>
// CHECK:         scf.for {{.*}} -> (tensor<1x2x16x6xf64>)
// CHECK:         tensor.collapse_shape {{.*}} into tensor<2x16x6xf64>
// CHECK:         } -> tensor<2x2x?x6xf64>
// CHECK:         tensor.extract_slice {{.*}}[0, 0, 0] [2, 8, 6] [1, 1, 1]
// CHECK:         tensor.extract_slice {{.*}}[0, 8, 0] [2, 8, 6] [1, 1, 1]
// CHECK-NOT:     kvq.cross_layer_basis
func.func @xkv(%k0: tensor<2x2x?x8xf32>, %k1: tensor<2x2x?x8xf16>)
    -> (tensor<2x2x?x6xf32>, tensor<2x8x6xf32>, tensor<2x8x6xf32>) {
  %c, %u:2 = kvq.cross_layer_basis %k0, %k1 {rank = 6}
      : tensor<2x2x?x8xf32>, tensor<2x2x?x8xf16> -> tensor<2x2x?x6xf32>, tensor<2x8x6xf32>, tensor<2x8x6xf32>
  return %c, %u#0, %u#1 : tensor<2x2x?x6xf32>, tensor<2x8x6xf32>, tensor<2x8x6xf32>
}
