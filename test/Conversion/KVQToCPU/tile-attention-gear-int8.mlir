// RUN: kvq-opt %s -split-input-file -kvq-fuse -kvq-tile-attention="int8-dot=1" -canonicalize | FileCheck %s
// RUN: kvq-opt %s -split-input-file -kvq-fuse -kvq-tile-attention="int8-dot=1" | FileCheck %s --check-prefix=SCHED

// GEAR's keys with int8 dot-product scores. kvq-fuse leaves them as a
// channel concatenation of a rank-0 kvq.gear_decode of KIVI's keys (which
// keeps the outliers) and the low-rank coordinates `a`, and gives the query
// the channels `q b^T`. The decode kernel's scores run with the lanes over
// 16 keys: int8 dot products over the KIVI codes (the query folded with
// each token group's scales), then in f32 the coordinates (one f16 read of
// 16 keys x 4, split by channel, against the query's channels 128-131) and
// each outlier slot (16 keys' channels and values read at once; the query
// gathered at those channels, an index outside the head masked off).
// CHECK-LABEL: func.func @gear_key_int8
// CHECK: %[[QT:.*]] = memref.alloc() {{.*}} : memref<4x144xf32>
// CHECK: kvq.dot_i8 %{{.*}}, %{{.*}}, %{{.*}} {lhs_bits = 4 : i64} : vector<64xi8> -> vector<16xi32>
// CHECK: vector.load %{{.*}} : memref<?xf16, strided<[1], offset: ?>>, vector<64xf16>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60] : vector<64xf16>, vector<64xf16>
// CHECK: memref.load %[[QT]][%c0, %c128] : memref<4x144xf32>
// CHECK: vector.fma
// CHECK: memref.load %[[QT]][%c3, %c131] : memref<4x144xf32>
// CHECK: vector.load %{{.*}} : memref<?xi32, strided<[1], offset: ?>>, vector<48xi32>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45] : vector<48xi32>, vector<48xi32>
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[SLOT:.*]], %{{.*}} : vector<16xi32>
// CHECK: %[[Q0:.*]] = vector.gather %[[QT]][%c0, %c0] [%[[SLOT]]], %[[IN]], %{{.*}} : memref<4x144xf32>, vector<16xi32>, vector<16xi1>, vector<16xf32> into vector<16xf32>
// CHECK: vector.fma %{{.*}}, %[[Q0]], %{{.*}} : vector<16xf32>
// CHECK: vector.gather %[[QT]][%c3, %c0]
// SCHED-LABEL: func.func @gear_key_int8
// SCHED: int8_dot = 1, int8_pv = 0>}
func.func @gear_key_int8(%q: tensor<1x8x1x128xf32>, %kc: tensor<1x2x?x128xi4>, %ks: tensor<1x2x?x128xf16>,
                         %kz: tensor<1x2x?x128xf16>, %a: tensor<1x2x?x4xf16>, %b: tensor<1x2x4x128xf16>,
                         %i: tensor<1x2x?x3xi32>, %w: tensor<1x2x?x3xf16>, %v: tensor<1x2x?x128xf32>)
    -> tensor<1x8x1x128xf32> {
  %kd = kvq.dequantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %kc, %ks, %kz
      : tensor<1x2x?x128xi4>, tensor<1x2x?x128xf16>, tensor<1x2x?x128xf16> -> tensor<1x2x?x128xf32>
  %k = kvq.gear_decode %kd, %a, %b, %i, %w : tensor<1x2x?x128xf32>, tensor<1x2x?x4xf16>, tensor<1x2x4x128xf16>,
      tensor<1x2x?x3xi32>, tensor<1x2x?x3xf16> -> tensor<1x2x?x128xf32>
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x2x?x128xf32>)
      v(%v : tensor<1x2x?x128xf32>) -> tensor<1x8x1x128xf32>
  return %o : tensor<1x8x1x128xf32>
}

// -----

// A decoded key other than that form keeps f32 scores, and the schedule
// records int8_dot = 0: here GEAR of rank 2, whose low-rank term kvq-fuse
// leaves in the decoder (128 + 2 channels are not a whole number of the
// decoders' channel blocks of 4).
// CHECK-LABEL: func.func @gear_rank_not_fused
// CHECK-NOT: kvq.dot_i8
// CHECK: return
// SCHED-LABEL: func.func @gear_rank_not_fused
// SCHED: int8_dot = 0, int8_pv = 0>}
func.func @gear_rank_not_fused(%q: tensor<1x8x1x128xf32>, %kc: tensor<1x2x?x128xi4>, %ks: tensor<1x2x?x128xf16>,
                               %kz: tensor<1x2x?x128xf16>, %a: tensor<1x2x?x2xf16>, %b: tensor<1x2x2x128xf16>,
                               %i: tensor<1x2x?x3xi32>, %w: tensor<1x2x?x3xf16>, %v: tensor<1x2x?x128xf32>)
    -> tensor<1x8x1x128xf32> {
  %kd = kvq.dequantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %kc, %ks, %kz
      : tensor<1x2x?x128xi4>, tensor<1x2x?x128xf16>, tensor<1x2x?x128xf16> -> tensor<1x2x?x128xf32>
  %k = kvq.gear_decode %kd, %a, %b, %i, %w : tensor<1x2x?x128xf32>, tensor<1x2x?x2xf16>, tensor<1x2x2x128xf16>,
      tensor<1x2x?x3xi32>, tensor<1x2x?x3xf16> -> tensor<1x2x?x128xf32>
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x2x?x128xf32>)
      v(%v : tensor<1x2x?x128xf32>) -> tensor<1x8x1x128xf32>
  return %o : tensor<1x8x1x128xf32>
}
