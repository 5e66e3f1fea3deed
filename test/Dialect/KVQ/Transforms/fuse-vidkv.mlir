// RUN: kvq-opt %s -kvq-fuse -split-input-file | FileCheck %s

// Attention over VidKV keys reads them in slot coordinates: the queries
// are mapped by kvq.vidkv_project_query (the inverse DFT once per query),
// the high codes become an i2 dequantization, and the keys are the slots.
// The scale stays the original 1/sqrt(D); the values are untouched.

// CHECK-LABEL: func @key
// CHECK-SAME: (%[[Q:.*]]: tensor<1x4x1x16xf32>, %[[HC:.*]]: tensor<1x2x?x2xi8>, %[[HS:.*]]: tensor<1x2x?x8xf16>, %[[HM:.*]]: tensor<1x2x?x8xf16>, %[[LC:.*]]: tensor<1x2x?x1xi8>, %[[LS:.*]]: tensor<1x2x?x8xf16>, %[[CH:.*]]: tensor<1x2x16xi32>, %[[V:.*]]: tensor<1x2x?x16xf32>)
// CHECK: %[[CODES:.*]] = kvq.unpack %[[HC]] : tensor<1x2x?x2xi8> -> tensor<1x2x?x8xi2>
// CHECK: %[[HIGH:.*]] = kvq.dequantize #kvq.quant<i2, asymmetric, group(axis = 2, size = 16), scale = f16> %[[CODES]], %[[HS]], %[[HM]] : {{.*}} -> tensor<1x2x?x8xf32>
// CHECK: %[[SLOTS:.*]] = kvq.vidkv_decode_key_slots %[[HIGH]], %[[LC]], %[[LS]] {group_size = 16 : i64} : {{.*}} -> tensor<1x2x?x16xf32>
// CHECK: %[[PQ:.*]] = kvq.vidkv_project_query %[[Q]], %[[CH]] {n_high = 8 : i64} : tensor<1x4x1x16xf32>, tensor<1x2x16xi32> -> tensor<1x4x1x16xf32>
// CHECK: kvq.attention q(%[[PQ]] : tensor<1x4x1x16xf32>) k(%[[SLOTS]] : tensor<1x2x?x16xf32>) v(%[[V]] : tensor<1x2x?x16xf32>) {scale = 2.500000e-01 : f32}
// CHECK-NOT: kvq.vidkv_decode_key %
func.func @key(%q: tensor<1x4x1x16xf32>, %hc: tensor<1x2x?x2xi8>, %hs: tensor<1x2x?x8xf16>, %hm: tensor<1x2x?x8xf16>,
               %lc: tensor<1x2x?x1xi8>, %ls: tensor<1x2x?x8xf16>, %ch: tensor<1x2x16xi32>, %v: tensor<1x2x?x16xf32>)
    -> tensor<1x4x1x16xf32> {
  %k = kvq.vidkv_decode_key %hc, %hs, %hm, %lc, %ls, %ch {group_size = 16}
      : tensor<1x2x?x2xi8>, tensor<1x2x?x8xf16>, tensor<1x2x?x8xf16>, tensor<1x2x?x1xi8>, tensor<1x2x?x8xf16>,
        tensor<1x2x16xi32> -> tensor<1x2x?x16xf32>
  %o = kvq.attention q(%q : tensor<1x4x1x16xf32>) k(%k : tensor<1x2x?x16xf32>) v(%v : tensor<1x2x?x16xf32>)
      -> tensor<1x4x1x16xf32>
  return %o : tensor<1x4x1x16xf32>
}

// -----

// A decoded key with another user stays for it; an explicit scale is kept.

// CHECK-LABEL: func @shared
// CHECK: %[[K:.*]] = kvq.vidkv_decode_key
// CHECK: kvq.vidkv_project_query
// CHECK: kvq.attention q(%{{.*}}) k(%{{.*}}) v(%{{.*}}) {scale = 5.000000e-01 : f32}
// CHECK: return %{{.*}}, %[[K]]
func.func @shared(%q: tensor<1x4x1x16xf32>, %hc: tensor<1x2x?x2xi8>, %hs: tensor<1x2x?x8xf16>, %hm: tensor<1x2x?x8xf16>,
                  %lc: tensor<1x2x?x1xi8>, %ls: tensor<1x2x?x8xf16>, %ch: tensor<1x2x16xi32>, %v: tensor<1x2x?x16xf32>)
    -> (tensor<1x4x1x16xf32>, tensor<1x2x?x16xf32>) {
  %k = kvq.vidkv_decode_key %hc, %hs, %hm, %lc, %ls, %ch
      : tensor<1x2x?x2xi8>, tensor<1x2x?x8xf16>, tensor<1x2x?x8xf16>, tensor<1x2x?x1xi8>, tensor<1x2x?x8xf16>,
        tensor<1x2x16xi32> -> tensor<1x2x?x16xf32>
  %o = kvq.attention q(%q : tensor<1x4x1x16xf32>) k(%k : tensor<1x2x?x16xf32>) v(%v : tensor<1x2x?x16xf32>)
      {scale = 0.5 : f32} -> tensor<1x4x1x16xf32>
  return %o, %k : tensor<1x4x1x16xf32>, tensor<1x2x?x16xf32>
}

// -----

// 6 high channels are not whole bytes of 2-bit codes: the key decoder stays.

// CHECK-LABEL: func @ragged_high
// CHECK-NOT: kvq.vidkv_project_query
// CHECK: %[[K:.*]] = kvq.vidkv_decode_key
// CHECK: kvq.attention q(%{{.*}} : tensor<1x4x1x16xf32>) k(%[[K]] : tensor<1x2x?x16xf32>)
func.func @ragged_high(%q: tensor<1x4x1x16xf32>, %hc: tensor<1x2x?x2xi8>, %hs: tensor<1x2x?x6xf16>, %hm: tensor<1x2x?x6xf16>,
                       %lc: tensor<1x2x?x2xi8>, %ls: tensor<1x2x?x10xf16>, %ch: tensor<1x2x16xi32>, %v: tensor<1x2x?x16xf32>)
    -> tensor<1x4x1x16xf32> {
  %k = kvq.vidkv_decode_key %hc, %hs, %hm, %lc, %ls, %ch
      : tensor<1x2x?x2xi8>, tensor<1x2x?x6xf16>, tensor<1x2x?x6xf16>, tensor<1x2x?x2xi8>, tensor<1x2x?x10xf16>,
        tensor<1x2x16xi32> -> tensor<1x2x?x16xf32>
  %o = kvq.attention q(%q : tensor<1x4x1x16xf32>) k(%k : tensor<1x2x?x16xf32>) v(%v : tensor<1x2x?x16xf32>)
      -> tensor<1x4x1x16xf32>
  return %o : tensor<1x4x1x16xf32>
}
