// RUN: kvq-opt %s -kvq-tile-attention -canonicalize | FileCheck %s

// VidKV-coded K and V are decoded inside the attention loop: no decode op
// is left and no decoded K / V tensor is formed. A key lane reads its slot,
// then either one 2-bit code (scale * code + min) or the inverse DFT row
// of its low slot (a loop over the N = 6 spectral components, with the
// coefficient tables as vector constants); a value lane is one base-3
// digit times its (f16) scale. (Canonicalization turns the loads from the
// operands' read-only buffers into tensor.extract.)

// CHECK-LABEL: func @attention
// CHECK-NOT: kvq.vidkv_decode
// CHECK: arith.constant dense<{{.*}}> : vector<6xf32>
// CHECK: scf.for
// CHECK: tensor.extract %{{.*}} : tensor<1x2x12xi32>
// CHECK: %[[HIGH:.*]] = arith.cmpi ult, %{{.*}}, %c6
// CHECK: scf.if %[[HIGH]] -> (f32) {
// CHECK:   tensor.extract %{{.*}} : tensor<1x2x?x2xi8>
// CHECK:   arith.mulf
// CHECK:   arith.addf
// CHECK: } else {
// CHECK:   scf.for %{{.*}} = %c0 to %c6 step %c1 iter_args(%{{.*}}) -> (f32) {
// CHECK:     tensor.extract %{{.*}} : tensor<1x2x?x1xi8>
// CHECK:     vector.extract %{{.*}} : f32 from vector<6xf32>
// CHECK: vector.insert %{{.*}} [0] : f32 into vector<
// CHECK: tensor.extract %{{.*}} : tensor<1x2x?x3xi8>
// CHECK: arith.divui
// CHECK: arith.remui
// CHECK: tensor.extract %{{.*}} : tensor<1x2x?x12xf16>
// CHECK-NOT: kvq.vidkv_decode
func.func @attention(%q: tensor<1x4x5x12xf32>, %hc: tensor<1x2x?x2xi8>, %hs: tensor<1x2x?x6xf32>,
                     %hm: tensor<1x2x?x6xf32>, %lc: tensor<1x2x?x1xi8>, %ls: tensor<1x2x?x6xf32>,
                     %ch: tensor<1x2x12xi32>, %vc: tensor<1x2x?x3xi8>, %vs: tensor<1x2x?x12xf16>)
    -> tensor<1x4x5x12xf32> {
  %k = kvq.vidkv_decode_key %hc, %hs, %hm, %lc, %ls, %ch : tensor<1x2x?x2xi8>, tensor<1x2x?x6xf32>,
      tensor<1x2x?x6xf32>, tensor<1x2x?x1xi8>, tensor<1x2x?x6xf32>, tensor<1x2x12xi32> -> tensor<1x2x?x12xf32>
  %v = kvq.vidkv_decode_value %vc, %vs : tensor<1x2x?x3xi8>, tensor<1x2x?x12xf16> -> tensor<1x2x?x12xf32>
  %o = kvq.attention q(%q : tensor<1x4x5x12xf32>) k(%k : tensor<1x2x?x12xf32>) v(%v : tensor<1x2x?x12xf32>)
      -> tensor<1x4x5x12xf32>
  return %o : tensor<1x4x5x12xf32>
}
