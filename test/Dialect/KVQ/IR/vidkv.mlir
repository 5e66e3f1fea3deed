// RUN: kvq-opt %s | FileCheck %s
// RUN: kvq-opt %s | kvq-opt | FileCheck %s
// RUN: kvq-opt %s -mlir-print-op-generic | kvq-opt | FileCheck %s

// CHECK-LABEL: func @key
// CHECK: %[[HC:[^,]*]], %[[HS:[^,]*]], %[[HM:[^,]*]], %[[LC:[^,]*]], %[[LS:[^,]*]], %[[CH:[^ ]*]] = kvq.vidkv_encode_key %{{.*}} : tensor<1x2x?x20xf32> -> tensor<1x2x?x3xi8>, tensor<1x2x?x10xf32>, tensor<1x2x?x10xf32>, tensor<1x2x?x2xi8>, tensor<1x2x?x10xf32>, tensor<1x2x20xi32>
// CHECK: kvq.vidkv_encode_key %{{.*}} {group_size = 16 : i64, ratio = 2.500000e-01 : f64} : tensor<1x2x45x20xf16> -> tensor<1x2x45x2xi8>, tensor<1x2x3x5xf16>, tensor<1x2x3x5xf16>, tensor<1x2x45x2xi8>, tensor<1x2x3x15xf16>, tensor<1x2x20xi32>
// CHECK: kvq.vidkv_decode_key %[[HC]], %[[HS]], %[[HM]], %[[LC]], %[[LS]], %[[CH]] : {{.*}} -> tensor<1x2x?x20xf32>
func.func @key(%k: tensor<1x2x?x20xf32>, %k2: tensor<1x2x45x20xf16>) -> tensor<1x2x?x20xf32> {
  %hc, %hs, %hm, %lc, %ls, %ch = kvq.vidkv_encode_key %k
      : tensor<1x2x?x20xf32> -> tensor<1x2x?x3xi8>, tensor<1x2x?x10xf32>, tensor<1x2x?x10xf32>,
        tensor<1x2x?x2xi8>, tensor<1x2x?x10xf32>, tensor<1x2x20xi32>
  %e:6 = kvq.vidkv_encode_key %k2 {ratio = 0.25 : f64, group_size = 16}
      : tensor<1x2x45x20xf16> -> tensor<1x2x45x2xi8>, tensor<1x2x3x5xf16>, tensor<1x2x3x5xf16>,
        tensor<1x2x45x2xi8>, tensor<1x2x3x15xf16>, tensor<1x2x20xi32>
  %r = kvq.vidkv_decode_key %hc, %hs, %hm, %lc, %ls, %ch
      : tensor<1x2x?x3xi8>, tensor<1x2x?x10xf32>, tensor<1x2x?x10xf32>, tensor<1x2x?x2xi8>,
        tensor<1x2x?x10xf32>, tensor<1x2x20xi32> -> tensor<1x2x?x20xf32>
  return %r : tensor<1x2x?x20xf32>
}

// CHECK-LABEL: func @value
// CHECK: %[[C:.*]], %[[S:.*]] = kvq.vidkv_encode_value %{{.*}} {group_size = 16 : i64} : tensor<1x2x45x20xf32> -> tensor<1x2x45x4xi8>, tensor<1x2x3x20xf32>
// CHECK: kvq.vidkv_decode_value %[[C]], %[[S]] {group_size = 16 : i64} : tensor<1x2x45x4xi8>, tensor<1x2x3x20xf32> -> tensor<1x2x45x20xf32>
func.func @value(%v: tensor<1x2x45x20xf32>) -> tensor<1x2x45x20xf32> {
  %c, %s = kvq.vidkv_encode_value %v {group_size = 16}
      : tensor<1x2x45x20xf32> -> tensor<1x2x45x4xi8>, tensor<1x2x3x20xf32>
  %r = kvq.vidkv_decode_value %c, %s {group_size = 16}
      : tensor<1x2x45x4xi8>, tensor<1x2x3x20xf32> -> tensor<1x2x45x20xf32>
  return %r : tensor<1x2x45x20xf32>
}

// CHECK-LABEL: func @slots
// CHECK: %[[K:.*]] = kvq.vidkv_decode_key_slots %{{.*}}, %{{.*}}, %{{.*}} {group_size = 16 : i64} : tensor<1x2x?x8xf32>, tensor<1x2x?x2xi8>, tensor<1x2x?x12xf16> -> tensor<1x2x?x20xf32>
// CHECK: kvq.vidkv_project_query %{{.*}}, %{{.*}} {n_high = 8 : i64} : tensor<1x4x1x20xf32>, tensor<1x2x20xi32> -> tensor<1x4x1x20xf16>
func.func @slots(%h: tensor<1x2x?x8xf32>, %lc: tensor<1x2x?x2xi8>, %ls: tensor<1x2x?x12xf16>,
                 %q: tensor<1x4x1x20xf32>, %ch: tensor<1x2x20xi32>)
    -> (tensor<1x2x?x20xf32>, tensor<1x4x1x20xf16>) {
  %k = kvq.vidkv_decode_key_slots %h, %lc, %ls {group_size = 16}
      : tensor<1x2x?x8xf32>, tensor<1x2x?x2xi8>, tensor<1x2x?x12xf16> -> tensor<1x2x?x20xf32>
  %p = kvq.vidkv_project_query %q, %ch {n_high = 8}
      : tensor<1x4x1x20xf32>, tensor<1x2x20xi32> -> tensor<1x4x1x20xf16>
  return %k, %p : tensor<1x2x?x20xf32>, tensor<1x4x1x20xf16>
}
