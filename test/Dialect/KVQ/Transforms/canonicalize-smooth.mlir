// RUN: kvq-opt %s -split-input-file --canonicalize | FileCheck %s

// Attention does not see smoothing: it reads the original keys, and the
// unused smoothing disappears.
// CHECK-LABEL: func @attention_over_smoothed_keys
// CHECK-SAME:    (%[[Q:.*]]: tensor<1x4x3x16xf32>, %[[K:.*]]: tensor<1x2x?x16xf32>, %[[V:.*]]: tensor<1x2x?x16xf32>)
// CHECK-NOT:     kvq.smooth
// CHECK:         kvq.attention q(%[[Q]] : tensor<1x4x3x16xf32>) k(%[[K]] : tensor<1x2x?x16xf32>) v(%[[V]]
func.func @attention_over_smoothed_keys(%q: tensor<1x4x3x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>)
    -> tensor<1x4x3x16xf32> {
  %ks, %km = kvq.smooth %k : tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>, tensor<1x2x1x16xf32>
  %o = kvq.attention q(%q : tensor<1x4x3x16xf32>) k(%ks : tensor<1x2x?x16xf32>) v(%v : tensor<1x2x?x16xf32>)
      -> tensor<1x4x3x16xf32>
  return %o : tensor<1x4x3x16xf32>
}

// -----

// Smoothing quantized keys is not invisible (the codes differ): kept.
// CHECK-LABEL: func @quantized_smoothed_keys
// CHECK:         kvq.smooth
// CHECK:         kvq.quantize
func.func @quantized_smoothed_keys(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>)
    -> tensor<1x2x1x16xf32> {
  %ks, %km = kvq.smooth %k : tensor<1x2x8x16xf32> -> tensor<1x2x8x16xf32>, tensor<1x2x1x16xf32>
  %c, %s = kvq.quantize #kvq.quant<i8, symmetric, token> %ks : tensor<1x2x8x16xf32> -> tensor<1x2x8x16xi8>, tensor<1x2x8x1xf32>
  %kd = kvq.dequantize #kvq.quant<i8, symmetric, token> %c, %s : tensor<1x2x8x16xi8>, tensor<1x2x8x1xf32> -> tensor<1x2x8x16xf32>
  %o = kvq.attention q(%q : tensor<1x2x1x16xf32>) k(%kd : tensor<1x2x8x16xf32>) v(%v : tensor<1x2x8x16xf32>)
      -> tensor<1x2x1x16xf32>
  return %o : tensor<1x2x1x16xf32>
}

// -----

// Smoothing smoothed keys: the same keys, a zero mean.
// CHECK-LABEL: func @smooth_twice
// CHECK-DAG:     %[[Z:.*]] = arith.constant dense<0.000000e+00> : tensor<1x2x1x16xf32>
// CHECK-DAG:     %[[C:.*]], %{{.*}} = kvq.smooth
// CHECK-NOT:     kvq.smooth
// CHECK:         return %[[C]], %[[Z]]
func.func @smooth_twice(%k: tensor<1x2x?x16xf32>) -> (tensor<1x2x?x16xf32>, tensor<1x2x1x16xf32>) {
  %a, %am = kvq.smooth %k : tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>, tensor<1x2x1x16xf32>
  %b, %bm = kvq.smooth %a : tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>, tensor<1x2x1x16xf32>
  return %b, %bm : tensor<1x2x?x16xf32>, tensor<1x2x1x16xf32>
}
