// RUN: kvq-opt %s | FileCheck %s
// RUN: kvq-opt %s | kvq-opt | FileCheck %s
// RUN: kvq-opt %s -mlir-print-op-generic | kvq-opt | FileCheck %s

// The defaults (levels = 4, bits = [4, 2, 2, 2]) are elided.
// CHECK-LABEL: func @polar_default
// CHECK: %[[R:.*]], %[[C:.*]]:4 = kvq.polar_encode %{{.*}} : tensor<1x8x?x128xf32> -> tensor<1x8x?x8xf16>, tensor<1x8x?x32xi8>, tensor<1x8x?x8xi8>, tensor<1x8x?x4xi8>, tensor<1x8x?x2xi8>
// CHECK: kvq.polar_decode %[[R]], %[[C]]#0, %[[C]]#1, %[[C]]#2, %[[C]]#3 : tensor<1x8x?x8xf16>, tensor<1x8x?x32xi8>, tensor<1x8x?x8xi8>, tensor<1x8x?x4xi8>, tensor<1x8x?x2xi8> -> tensor<1x8x?x128xf32>
func.func @polar_default(%k: tensor<1x8x?x128xf32>) -> tensor<1x8x?x128xf32> {
  %r, %c1, %c2, %c3, %c4 = kvq.polar_encode %k : tensor<1x8x?x128xf32>
      -> tensor<1x8x?x8xf16>, tensor<1x8x?x32xi8>, tensor<1x8x?x8xi8>, tensor<1x8x?x4xi8>, tensor<1x8x?x2xi8>
  %d = kvq.polar_decode %r, %c1, %c2, %c3, %c4 : tensor<1x8x?x8xf16>, tensor<1x8x?x32xi8>,
      tensor<1x8x?x8xi8>, tensor<1x8x?x4xi8>, tensor<1x8x?x2xi8> -> tensor<1x8x?x128xf32>
  return %d : tensor<1x8x?x128xf32>
}

// Two levels of 4 and 1 bits on D = 12 (padded last bytes), f32 radius.
// CHECK-LABEL: func @polar_custom
// CHECK: kvq.polar_encode %{{.*}} {bits = array<i64: 4, 1>, levels = 2 : i64} : tensor<?x2x3x12xf16> -> tensor<?x2x3x3xf32>, tensor<?x2x3x3xi8>, tensor<?x2x3x1xi8>
// CHECK: kvq.polar_decode %{{.*}}, %{{.*}}, %{{.*}} {bits = array<i64: 4, 1>, levels = 2 : i64} : tensor<?x2x3x3xf32>, tensor<?x2x3x3xi8>, tensor<?x2x3x1xi8> -> tensor<?x2x3x12xbf16>
func.func @polar_custom(%x: tensor<?x2x3x12xf16>) -> tensor<?x2x3x12xbf16> {
  %r, %a, %b = kvq.polar_encode %x {levels = 2, bits = array<i64: 4, 1>}
      : tensor<?x2x3x12xf16> -> tensor<?x2x3x3xf32>, tensor<?x2x3x3xi8>, tensor<?x2x3x1xi8>
  %d = kvq.polar_decode %r, %a, %b {levels = 2, bits = array<i64: 4, 1>}
      : tensor<?x2x3x3xf32>, tensor<?x2x3x3xi8>, tensor<?x2x3x1xi8> -> tensor<?x2x3x12xbf16>
  return %d : tensor<?x2x3x12xbf16>
}
