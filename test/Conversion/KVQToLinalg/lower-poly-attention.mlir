// RUN: kvq-opt %s -split-input-file --convert-kvq-to-linalg | FileCheck %s

// The sketch: two compile-time [D, r] constants, two contractions over D,
// their product.
// CHECK-LABEL: func @sketch
// CHECK-DAG:     arith.constant dense<{{.*}}> : tensor<16x8xf32>
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]
// CHECK-NOT:     kvq.poly_sketch
func.func @sketch(%x: tensor<2x?x16xf32>) -> tensor<2x?x8xf32> {
  %f = kvq.poly_sketch %x {sketch = 8, seed = 1} : tensor<2x?x16xf32> -> tensor<2x?x8xf32>
  return %f : tensor<2x?x8xf32>
}

// -----

// Sketched, not causal: the state r x r x Dv per KV head, built once over
// the keys (a reduction over the sequence) and contracted with each query;
// no Sq x Skv tensor exists.
// CHECK-LABEL: func @sketched
// CHECK-NOT:     tensor<1x4x?x?xf32>
// CHECK:         linalg.fill {{.*}} -> tensor<1x2x8x8x12xf32>
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK:         } -> tensor<1x2x8x8x12xf32>
// CHECK-NOT:     tensor<1x4x?x?xf32>
// CHECK:         linalg.generic
// CHECK:           arith.divf
// CHECK-NOT:     kvq.poly_attention
func.func @sketched(%q: tensor<1x4x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x12xf32>) -> tensor<1x4x?x12xf32> {
  %o = kvq.poly_attention q(%q : tensor<1x4x?x16xf32>) k(%k : tensor<1x2x?x16xf32>) v(%v : tensor<1x2x?x12xf32>)
      {sketch = 8, seed = 1} -> tensor<1x4x?x12xf32>
  return %o : tensor<1x4x?x12xf32>
}

// -----

// Sketched and causal: a loop over blocks of 64 queries carrying the prefix
// state (r x r x Dv and r x r per KV head) and the keys it holds.
// CHECK-LABEL: func @sketched_causal
// CHECK:         %[[SQ:.*]] = tensor.dim %{{.*}}, %c2 : tensor<1x4x?x16xf32>
// CHECK:         scf.for %{{.*}} = %c0 to %[[SQ]] step %c64 iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %c0, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<1x2x8x8x12xf32>, tensor<1x2x8x8xf32>, index, tensor<1x4x?x12xf32>, tensor<1x4x?xf32>)
// CHECK:           tensor.extract_slice
// CHECK:           arith.cmpi sle
// CHECK:           tensor.insert_slice
// CHECK:           scf.yield
func.func @sketched_causal(%q: tensor<1x4x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x12xf32>) -> tensor<1x4x?x12xf32> {
  %o = kvq.poly_attention q(%q : tensor<1x4x?x16xf32>) k(%k : tensor<1x2x?x16xf32>) v(%v : tensor<1x2x?x12xf32>)
      {sketch = 8, seed = 1, block = 64, causal} -> tensor<1x4x?x12xf32>
  return %o : tensor<1x4x?x12xf32>
}
