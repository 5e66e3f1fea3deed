// RUN: kvq-opt %s | FileCheck %s
// RUN: kvq-opt %s | kvq-opt | FileCheck %s
// RUN: kvq-opt %s -mlir-print-op-generic | kvq-opt | FileCheck %s

// CHECK-LABEL: func @levattention
// CHECK: %[[T:.*]] = kvq.leverage_scores %{{.*}} : tensor<1x8x?x64xf32> -> tensor<1x8x?xf32>
// CHECK: kvq.leverage_scores %{{.*}} {ridge = 1.000000e-03 : f64} : tensor<1x8x?x64xf32> -> tensor<1x8x?xf32>
// CHECK: %[[M:.*]] = kvq.select_keys %[[T]] {epsilon = 5.000000e-02 : f64} : tensor<1x8x?xf32> -> tensor<1x32x1x?xf32>
// CHECK: kvq.attention {{.*}} mask(%[[M]] : tensor<1x32x1x?xf32>)
func.func @levattention(%q: tensor<1x32x4x64xf32>, %k: tensor<1x8x?x64xf32>, %v: tensor<1x8x?x64xf32>)
    -> (tensor<1x32x4x64xf32>, tensor<1x8x?xf32>) {
  %t = kvq.leverage_scores %k : tensor<1x8x?x64xf32> -> tensor<1x8x?xf32>
  %t2 = kvq.leverage_scores %k {ridge = 1.0e-3 : f64} : tensor<1x8x?x64xf32> -> tensor<1x8x?xf32>
  %m = kvq.select_keys %t {epsilon = 0.05 : f64} : tensor<1x8x?xf32> -> tensor<1x32x1x?xf32>
  %o = kvq.attention q(%q : tensor<1x32x4x64xf32>) k(%k : tensor<1x8x?x64xf32>) v(%v : tensor<1x8x?x64xf32>)
      mask(%m : tensor<1x32x1x?xf32>) -> tensor<1x32x4x64xf32>
  return %o, %t2 : tensor<1x32x4x64xf32>, tensor<1x8x?xf32>
}
