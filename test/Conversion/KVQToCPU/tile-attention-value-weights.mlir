// RUN: kvq-opt %s -split-input-file -kvq-tile-attention | FileCheck %s

// Quantized V whose scales vary per token and not within a vector of
// channels: per block, the scales of 16 keys are read at once, one vector
// of keys per group: when all 16 keys are in the cache and the scale rows
// are dense (the usual layout), as 16 x groups contiguous values split by
// group with one shuffle each; otherwise row by row into a 16 x groups
// block (the keys past the cache read its last row, then 0: no 2-D read,
// whose lowering allocates a stack buffer in every iteration), transposed. They are multiplied with each
// row's probabilities into the weights [rows, groups, keys]; P V then
// multiplies the bare codes by the weights (no per-chunk scale).
// CHECK-LABEL: func.func @symmetric
// CHECK: %[[W:.*]] = memref.alloc() {alignment = 64 : i64} : memref<4x4x64xf32>
// CHECK: %[[BASE:.*]], %[[OFF:.*]], %{{.*}}:4, %{{.*}}:4 = memref.extract_strided_metadata %{{.*}} : memref<1x2x?x4xf16, {{.*}}>
// CHECK: %[[S:.*]]:4 = scf.if %{{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// CHECK: %[[FLAT:.*]] = memref.reinterpret_cast %[[BASE]] to offset: [%[[OFF]]], sizes: [%{{.*}}], strides: [1]
// CHECK: %[[ALL:.*]] = vector.load %[[FLAT]][%{{.*}}] : memref<?xf16, strided<[1], offset: ?>>, vector<64xf16>
// CHECK: vector.shuffle %[[ALL]], %[[ALL]] [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60]
// CHECK: vector.shuffle %[[ALL]], %[[ALL]] [3, 7, 11, 15, 19, 23, 27, 31, 35, 39, 43, 47, 51, 55, 59, 63]
// CHECK: } else {
// CHECK: %[[LAST:.*]] = arith.subi %{{.*}}, %c1 : index
// CHECK: %[[ROW:.*]] = arith.minui %{{.*}}, %[[LAST]] : index
// CHECK: vector.transfer_read %{{.*}}[%{{.*}}, %{{.*}}, %[[ROW]], %c0], %{{.*}} {in_bounds = [true]} : memref<1x2x?x4xf16, {{.*}}>, vector<4xf16>
// CHECK: vector.insert %{{.*}}, %{{.*}} [0] : vector<4xf16> into vector<16x4xf16>
// CHECK: vector.insert %{{.*}}, %{{.*}} [15] : vector<4xf16> into vector<16x4xf16>
// CHECK: %[[T:.*]] = vector.transpose %{{.*}}, [1, 0] : vector<16x4xf16> to vector<4x16xf16>
// CHECK: vector.extract %[[T]][0] : vector<16xf16> from vector<4x16xf16>
// CHECK: }
// CHECK: arith.mulf %{{.*}}, %[[S]]#0 : vector<16xf32>
// CHECK: vector.store %{{.*}}, %[[W]][%{{.*}}, %{{.*}}, %{{.*}}] : memref<4x4x64xf32>, vector<16xf32>
// CHECK: scf.for
// CHECK: memref.load %[[W]]
// CHECK-NOT: memref.load %{{.*}} : memref<1x2x?x4xf16
// CHECK: vector.fma
// CHECK: scf.yield
func.func @symmetric(%q: tensor<1x8x1x128xf32>, %k: tensor<1x2x?x128xf32>, %v: tensor<1x2x?x128xi4>, %vs: tensor<1x2x?x4xf16>) -> tensor<1x8x1x128xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x2x?x128xf32>) v(%v : tensor<1x2x?x128xi4>, #kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>, scale %vs : tensor<1x2x?x4xf16>) -> tensor<1x8x1x128xf32>
  return %o : tensor<1x8x1x128xf32>
}

// -----

// With a zero point z (value = s * code + z), each row's sum of p * z per
// group is added to the group's accumulators after the block.
// CHECK-LABEL: func.func @asymmetric
// CHECK: %[[Z:.*]] = memref.alloc() {alignment = 64 : i64} : memref<4x4xf32>
// CHECK: vector.transpose %{{.*}}, [1, 0] : vector<16x4xf16> to vector<4x16xf16>
// CHECK: vector.fma
// CHECK: vector.reduction <add>, %{{.*}} fastmath<reassoc> : vector<16xf32> into f32
// CHECK: memref.store %{{.*}}, %[[Z]]
// CHECK: scf.for
// CHECK: memref.load %[[Z]]
// CHECK: arith.addf
func.func @asymmetric(%q: tensor<1x8x1x128xf32>, %k: tensor<1x2x?x128xf32>, %v: tensor<1x2x?x128xi4>, %vs: tensor<1x2x?x4xf16>, %vz: tensor<1x2x?x4xf16>) -> tensor<1x8x1x128xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x2x?x128xf32>) v(%v : tensor<1x2x?x128xi4>, #kvq.quant<i4, asymmetric, group(axis = 3, size = 32), scale = f16>, scale %vs : tensor<1x2x?x4xf16>, zero_point %vz : tensor<1x2x?x4xf16>) -> tensor<1x8x1x128xf32>
  return %o : tensor<1x8x1x128xf32>
}

// -----

// V scales per channel (constant over tokens) keep the per-chunk scales.
// CHECK-LABEL: func.func @per_channel
// CHECK-NOT: vector.transpose
// CHECK: return
func.func @per_channel(%q: tensor<1x8x1x128xf32>, %k: tensor<1x2x?x128xf32>, %v: tensor<1x2x?x128xi8>, %vs: tensor<1x2x1x128xf32>) -> tensor<1x8x1x128xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x2x?x128xf32>) v(%v : tensor<1x2x?x128xi8>, #kvq.quant<i8, symmetric, channel, scale = f32>, scale %vs : tensor<1x2x1x128xf32>) -> tensor<1x8x1x128xf32>
  return %o : tensor<1x8x1x128xf32>
}
