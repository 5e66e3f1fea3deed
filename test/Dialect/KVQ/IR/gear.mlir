// RUN: kvq-opt %s | FileCheck %s
// RUN: kvq-opt %s | kvq-opt | FileCheck %s
// RUN: kvq-opt %s -mlir-print-op-generic | kvq-opt | FileCheck %s

// GEAR at prefill: outliers, KIVI-style 4-bit quantization of the
// remainder, rank-4 approximation of the residual, decoding.
// CHECK-LABEL: func @gear
// CHECK: %[[R:.*]], %[[I:.*]], %[[V:.*]] = kvq.extract_outliers %{{.*}} {count = 3 : i64} : tensor<1x8x?x128xf32> -> tensor<1x8x?x128xf32>, tensor<1x8x?x3xi32>, tensor<1x8x?x3xf32>
// CHECK: %[[A:.*]], %[[B:.*]] = kvq.low_rank_approx %{{.*}} {rank = 4 : i64} : tensor<1x8x?x128xf32> -> tensor<1x8x?x4xf32>, tensor<1x8x4x128xf32>
// CHECK: kvq.low_rank_approx %{{.*}} {iterations = 5 : i64, rank = 2 : i64, seed = 7 : i64} : tensor<1x8x?x128xf32> -> tensor<1x8x?x2xf16>, tensor<1x8x2x128xf16>
// CHECK: kvq.gear_decode %{{.*}}, %[[A]], %[[B]], %[[I]], %[[V]] : tensor<1x8x?x128xf32>, tensor<1x8x?x4xf32>, tensor<1x8x4x128xf32>, tensor<1x8x?x3xi32>, tensor<1x8x?x3xf32> -> tensor<1x8x?x128xf32>
func.func @gear(%k: tensor<1x8x?x128xf32>) -> (tensor<1x8x?x128xf32>, tensor<1x8x?x2xf16>) {
  %rem, %idx, %val = kvq.extract_outliers %k {count = 3}
      : tensor<1x8x?x128xf32> -> tensor<1x8x?x128xf32>, tensor<1x8x?x3xi32>, tensor<1x8x?x3xf32>
  %c, %s, %z = kvq.quantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %rem
      : tensor<1x8x?x128xf32> -> tensor<1x8x?x128xi4>, tensor<1x8x?x128xf16>, tensor<1x8x?x128xf16>
  %d = kvq.dequantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %c, %s, %z
      : tensor<1x8x?x128xi4>, tensor<1x8x?x128xf16>, tensor<1x8x?x128xf16> -> tensor<1x8x?x128xf32>
  %res = arith.subf %rem, %d : tensor<1x8x?x128xf32>
  %a, %b = kvq.low_rank_approx %res {rank = 4} : tensor<1x8x?x128xf32> -> tensor<1x8x?x4xf32>, tensor<1x8x4x128xf32>
  %a2, %b2 = kvq.low_rank_approx %res {rank = 2, iterations = 5, seed = 7}
      : tensor<1x8x?x128xf32> -> tensor<1x8x?x2xf16>, tensor<1x8x2x128xf16>
  %x = kvq.gear_decode %d, %a, %b, %idx, %val
      : tensor<1x8x?x128xf32>, tensor<1x8x?x4xf32>, tensor<1x8x4x128xf32>, tensor<1x8x?x3xi32>,
        tensor<1x8x?x3xf32> -> tensor<1x8x?x128xf32>
  return %x, %a2 : tensor<1x8x?x128xf32>, tensor<1x8x?x2xf16>
}

// xKV: two layers' keys share one rank-48 basis per head.
// CHECK-LABEL: func @xkv
// CHECK: %[[C:.*]], %[[U:.*]]:2 = kvq.cross_layer_basis %{{.*}}, %{{.*}} {rank = 48 : i64} : tensor<1x8x?x128xf32>, tensor<1x8x?x128xf16> -> tensor<1x8x?x48xf32>, tensor<8x128x48xf32>, tensor<8x128x48xf32>
// CHECK: kvq.reconstruct %[[C]], %[[U]]#1
func.func @xkv(%k0: tensor<1x8x?x128xf32>, %k1: tensor<1x8x?x128xf16>) -> tensor<1x8x?x128xf32> {
  %c, %u:2 = kvq.cross_layer_basis %k0, %k1 {rank = 48}
      : tensor<1x8x?x128xf32>, tensor<1x8x?x128xf16>
      -> tensor<1x8x?x48xf32>, tensor<8x128x48xf32>, tensor<8x128x48xf32>
  %k = kvq.reconstruct %c, %u#1 : tensor<1x8x?x48xf32>, tensor<8x128x48xf32> -> tensor<1x8x?x128xf32>
  return %k : tensor<1x8x?x128xf32>
}
