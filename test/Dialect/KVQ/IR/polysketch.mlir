// RUN: kvq-opt %s -split-input-file | FileCheck %s
// RUN: kvq-opt %s -split-input-file | kvq-opt -split-input-file | FileCheck %s
// RUN: kvq-opt %s -split-input-file -mlir-print-op-generic | kvq-opt -split-input-file | FileCheck %s

// CHECK-LABEL: func @sketch
// CHECK: kvq.poly_sketch %{{.*}} {seed = 7 : i64, sketch = 32 : i64} : tensor<1x8x?x64xf32> -> tensor<1x8x?x32xf32>
func.func @sketch(%k: tensor<1x8x?x64xf32>) -> tensor<1x8x?x32xf32> {
  %f = kvq.poly_sketch %k {sketch = 32, seed = 7} : tensor<1x8x?x64xf32> -> tensor<1x8x?x32xf32>
  return %f : tensor<1x8x?x32xf32>
}

// -----

// CHECK-LABEL: func @poly_attention
// CHECK: kvq.poly_attention q(%{{.*}} : tensor<1x8x?x64xf32>) k(%{{.*}} : tensor<1x2x?x64xf32>) v(%{{.*}} : tensor<1x2x?x48xf32>) {block = 128 : i64, causal, seed = 7 : i64, sketch = 32 : i64} -> tensor<1x8x?x48xf32>
// CHECK: kvq.poly_attention q(%{{.*}} : tensor<1x8x?x64xf32>) k(%{{.*}} : tensor<1x2x?x64xf32>) v(%{{.*}} : tensor<1x2x?x48xf32>) -> tensor<1x8x?x48xf32>
func.func @poly_attention(%q: tensor<1x8x?x64xf32>, %k: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x48xf32>)
    -> (tensor<1x8x?x48xf32>, tensor<1x8x?x48xf32>) {
  %a = kvq.poly_attention q(%q : tensor<1x8x?x64xf32>) k(%k : tensor<1x2x?x64xf32>) v(%v : tensor<1x2x?x48xf32>)
      {sketch = 32, seed = 7, block = 128, causal} -> tensor<1x8x?x48xf32>
  %b = kvq.poly_attention q(%q : tensor<1x8x?x64xf32>) k(%k : tensor<1x2x?x64xf32>) v(%v : tensor<1x2x?x48xf32>)
      -> tensor<1x8x?x48xf32>
  return %a, %b : tensor<1x8x?x48xf32>, tensor<1x8x?x48xf32>
}
