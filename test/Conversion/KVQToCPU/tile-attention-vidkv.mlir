// RUN: kvq-opt %s -kvq-tile-attention -canonicalize | FileCheck %s

// VidKV-coded K and V are decoded inside the attention loop: no decode op
// is left and no decoded K / V tensor is formed. A key lane reads its slot,
// then either one 2-bit code (scale * code + min) or the inverse DFT row
// of its low slot (a loop over the N = 6 spectral components, with the
// coefficient tables as vector constants). Values are decoded a vector at
// a time: the chunk's code bytes in one 32-bit word, broadcast, each lane
// shifted to its byte, its base-3 digit by multiply-shift division, times
// its (f16) scale. (Canonicalization turns the loads from the operands'
// read-only buffers into tensor.extract.)

// CHECK-LABEL: func @attention
// CHECK-DAG: %[[MAGIC:.*]] = arith.constant dense<[65536, 21846, 7282, 2428, 810, 65536, 21846, 7282, 2428, 810, 65536, 21846, 0, 0, 0, 0]> : vector<16xi32>
// CHECK-DAG: %[[BYTE_SHIFTS:.*]] = arith.constant dense<[0, 0, 0, 0, 0, 8, 8, 8, 8, 8, 16, 16, 0, 0, 0, 0]> : vector<16xi32>
// CHECK-DAG: %[[C255:.*]] = arith.constant dense<255> : vector<16xi32>
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
// CHECK: tensor.extract %{{.*}} : tensor<1x2x?x3xi8>
// CHECK: tensor.extract %{{.*}} : tensor<1x2x?x3xi8>
// CHECK: %[[WORD:.*]] = vector.broadcast %{{.*}} : i32 to vector<16xi32>
// CHECK: %[[BYTE:.*]] = arith.shrui %[[WORD]], %[[BYTE_SHIFTS]] : vector<16xi32>
// CHECK: %[[MASKED:.*]] = arith.andi %[[BYTE]], %[[C255]]
// CHECK: arith.muli %[[MASKED]], %[[MAGIC]] : vector<16xi32>
// CHECK: %[[SCALE:.*]] = vector.transfer_read %{{.*}} : memref<1x2x?x12xf16, {{.*}}>, vector<16xf16>
// CHECK: %[[SCALE32:.*]] = arith.extf %[[SCALE]]
// CHECK: %[[TRIT:.*]] = arith.sitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// CHECK: arith.mulf %[[TRIT]], %[[SCALE32]] : vector<16xf32>
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

// Keys in slot coordinates (what kvq-fuse makes of the attention above):
// the high slots are 2-bit codes read like any quantized K, the low slots a
// vector of sign bits (one word of code bytes, each lane shifted to its
// bit) selecting +scale or -scale; no per-lane control flow. With D = 40
// and 20 high slots, chunk 1 holds 4 high and 12 low lanes: its scales are
// read from component 0 and shuffled up 4 lanes, and a constant lane mask
// picks high or low.

// CHECK-LABEL: func @slots
// CHECK-DAG: %[[BITS1:.*]] = arith.constant dense<[0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]> : vector<16xi32>
// CHECK-DAG: %[[LOW1:.*]] = arith.constant dense<[false, false, false, false, true, true, true, true, true, true, true, true, true, true, true, true]> : vector<16xi1>
// CHECK-NOT: kvq.vidkv_decode_key_slots
// CHECK: scf.for
// CHECK: %[[UP:.*]] = vector.shuffle %{{.*}}, %{{.*}} [16, 16, 16, 16, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
// CHECK: tensor.extract %{{.*}} : tensor<1x2x?x3xi8>
// CHECK: %[[W:.*]] = vector.broadcast %{{.*}} : i32 to vector<16xi32>
// CHECK: %[[SH:.*]] = arith.shrui %[[W]], %[[BITS1]]
// CHECK: %[[BIT:.*]] = arith.andi %[[SH]]
// CHECK: %[[SET:.*]] = arith.cmpi ne, %[[BIT]]
// CHECK: %[[NEG:.*]] = arith.negf %[[UP]]
// CHECK: %[[LOW:.*]] = arith.select %[[SET]], %[[UP]], %[[NEG]]
// CHECK: arith.select %[[LOW1]], %[[LOW]], %{{.*}} : vector<16xi1>, vector<16xf32>
// CHECK-NOT: kvq.vidkv_decode_key_slots
func.func @slots(%q: tensor<1x4x1x40xf32>, %hc: tensor<1x2x?x20xi2>, %hs: tensor<1x2x?x20xf16>,
                 %hm: tensor<1x2x?x20xf16>, %lc: tensor<1x2x?x3xi8>, %ls: tensor<1x2x?x20xf16>,
                 %v: tensor<1x2x?x40xf32>) -> tensor<1x4x1x40xf32> {
  %high = kvq.dequantize #kvq.quant<i2, asymmetric, group(axis = 2, size = 32), scale = f16> %hc, %hs, %hm
      : tensor<1x2x?x20xi2>, tensor<1x2x?x20xf16>, tensor<1x2x?x20xf16> -> tensor<1x2x?x20xf32>
  %k = kvq.vidkv_decode_key_slots %high, %lc, %ls
      : tensor<1x2x?x20xf32>, tensor<1x2x?x3xi8>, tensor<1x2x?x20xf16> -> tensor<1x2x?x40xf32>
  %o = kvq.attention q(%q : tensor<1x4x1x40xf32>) k(%k : tensor<1x2x?x40xf32>) v(%v : tensor<1x2x?x40xf32>)
      -> tensor<1x4x1x40xf32>
  return %o : tensor<1x4x1x40xf32>
}
