// RUN: kvq-opt %s -split-input-file -kvq-fuse | FileCheck %s

// Both K and V come from dequantize: the attention consumes the codes and
// no dequantized tensor survives.
// CHECK-LABEL: func @fuse_k_and_v
// CHECK-SAME: (%[[Q:.*]]: tensor<1x8x1x64xf32>, %[[KC:.*]]: tensor<1x2x40x64xi4>, %[[KS:.*]]: tensor<1x2x40x2xf16>, %[[VC:.*]]: tensor<1x2x40x64xi8>, %[[VS:.*]]: tensor<1x2x40x1xf32>, %[[VZ:.*]]: tensor<1x2x40x1xf32>)
// CHECK-NOT: kvq.dequantize
// CHECK: kvq.attention q(%[[Q]] : tensor<1x8x1x64xf32>)
// CHECK-SAME: k(%[[KC]] : tensor<1x2x40x64xi4>, #kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>, scale %[[KS]] : tensor<1x2x40x2xf16>)
// CHECK-SAME: v(%[[VC]] : tensor<1x2x40x64xi8>, #kvq.quant<i8, asymmetric, token>, scale %[[VS]] : tensor<1x2x40x1xf32>, zero_point %[[VZ]] : tensor<1x2x40x1xf32>)
// CHECK-SAME: {causal}
// CHECK-NOT: kvq.dequantize
func.func @fuse_k_and_v(%q: tensor<1x8x1x64xf32>, %kc: tensor<1x2x40x64xi4>, %ks: tensor<1x2x40x2xf16>,
                        %vc: tensor<1x2x40x64xi8>, %vs: tensor<1x2x40x1xf32>, %vz: tensor<1x2x40x1xf32>) -> tensor<1x8x1x64xf32> {
  %k = kvq.dequantize #kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16> %kc, %ks : tensor<1x2x40x64xi4>, tensor<1x2x40x2xf16> -> tensor<1x2x40x64xf32>
  %v = kvq.dequantize #kvq.quant<i8, asymmetric, token> %vc, %vs, %vz : tensor<1x2x40x64xi8>, tensor<1x2x40x1xf32>, tensor<1x2x40x1xf32> -> tensor<1x2x40x64xf32>
  %o = kvq.attention q(%q : tensor<1x8x1x64xf32>) k(%k : tensor<1x2x40x64xf32>) v(%v : tensor<1x2x40x64xf32>) {causal} -> tensor<1x8x1x64xf32>
  return %o : tensor<1x8x1x64xf32>
}

// -----

// Only K is quantized; V stays plain. A dequantize with another user stays
// for that user.
// CHECK-LABEL: func @fuse_k_only
// CHECK: %[[K:.*]] = kvq.dequantize
// CHECK: kvq.attention q(%{{.*}}) k(%{{.*}} : tensor<1x2x40x64xf8E4M3FN>, #kvq.quant<f8E4M3FN, symmetric, channel>, scale %{{.*}} : tensor<1x2x1x64xf32>) v(%{{.*}} : tensor<1x2x40x64xf16>)
// CHECK: return %{{.*}}, %[[K]]
func.func @fuse_k_only(%q: tensor<1x8x1x64xf16>, %kc: tensor<1x2x40x64xf8E4M3FN>, %ks: tensor<1x2x1x64xf32>, %v: tensor<1x2x40x64xf16>) -> (tensor<1x8x1x64xf16>, tensor<1x2x40x64xf16>) {
  %k = kvq.dequantize #kvq.quant<f8E4M3FN, symmetric, channel> %kc, %ks : tensor<1x2x40x64xf8E4M3FN>, tensor<1x2x1x64xf32> -> tensor<1x2x40x64xf16>
  %o = kvq.attention q(%q : tensor<1x8x1x64xf16>) k(%k : tensor<1x2x40x64xf16>) v(%v : tensor<1x2x40x64xf16>) -> tensor<1x8x1x64xf16>
  return %o, %k : tensor<1x8x1x64xf16>, tensor<1x2x40x64xf16>
}

// -----

// Plain operands that do not come from dequantize are left alone.
// CHECK-LABEL: func @no_fusion
// CHECK: kvq.attention q(%{{.*}} : tensor<1x8x1x64xf32>) k(%{{.*}} : tensor<1x2x40x64xf32>) v(%{{.*}} : tensor<1x2x40x64xf32>) -> tensor<1x8x1x64xf32>
func.func @no_fusion(%q: tensor<1x8x1x64xf32>, %k: tensor<1x2x40x64xf32>) -> tensor<1x8x1x64xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x64xf32>) k(%k : tensor<1x2x40x64xf32>) v(%k : tensor<1x2x40x64xf32>) -> tensor<1x8x1x64xf32>
  return %o : tensor<1x8x1x64xf32>
}
