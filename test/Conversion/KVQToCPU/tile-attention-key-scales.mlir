// RUN: kvq-opt %s -split-input-file -kvq-tile-attention | FileCheck %s

// Keys whose scales are shared by a group of tokens and vary along the
// channels (KIVI: a scale and zero point per channel and 32 tokens), with
// f32 scores: the partitions' length is rounded up to whole vectors of 16
// keys (as for int8 scores); where a token group starts (or a block), each
// row's query, in the keys' split layout, times the group's scales is
// stored (the scales read once per group, for all rows), with each row's
// sum of q * z; each key's chunks are then its bare codes (no f16 scale
// or zero point read per key), and the row's vector of products starts
// from that sum in lane 0.
// CHECK-LABEL: func.func @kivi
// CHECK: %[[LEN:.*]] = arith.ceildivui %{{.*}}, %c16{{.*}} : index
// CHECK: arith.muli %[[LEN]], %c16{{.*}} : index
// CHECK: scf.for %[[JJ:.*]] = %c0 to %{{.*}} step %c1 {
// CHECK: %[[REM:.*]] = arith.remui %{{.*}}, %c32{{.*}} : index
// CHECK: %[[AT:.*]] = arith.cmpi eq, %[[REM]], %c0{{.*}} : index
// CHECK: %[[NEW:.*]] = arith.ori %{{.*}}, %[[AT]] : i1
// CHECK: scf.if %[[NEW]] {
// CHECK: vector.transfer_read %{{.*}} : memref<1x2x?x128xf16, {{.*}}>, vector<31xf16>
// CHECK: %[[QS:.*]] = arith.mulf %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK: vector.store %[[QS]], %[[FOLDED:.*]][%{{.*}}, %{{.*}}] : memref<4x128xf32>, vector<16xf32>
// CHECK: memref.store %{{.*}}, %[[OFFSET:.*]][%{{.*}}] : memref<4xf32>
// CHECK: vector.transfer_read %{{.*}} : memref<1x2x?x64xi8, {{.*}}>, vector<16xi8>
// CHECK-NOT: xf16>
// CHECK: %[[OFF:.*]] = memref.load %[[OFFSET]][%{{.*}}] : memref<4xf32>
// CHECK: %[[INIT:.*]] = vector.insert %[[OFF]], %{{.*}} [0] : f32 into vector<16xf32>
// CHECK: %[[Q:.*]] = vector.load %[[FOLDED]][%{{.*}}, %{{.*}}] : memref<4x128xf32>, vector<16xf32>
// CHECK: vector.fma %[[Q]], %{{.*}}, %[[INIT]] : vector<16xf32>
// CHECK: int8_dot = 0, int8_pv = 0>}
func.func @kivi(%q: tensor<1x8x1x128xf32>, %k: tensor<1x2x?x128xi4>, %ks: tensor<1x2x?x128xf16>, %kz: tensor<1x2x?x128xf16>, %v: tensor<1x2x?x128xf32>) -> tensor<1x8x1x128xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x2x?x128xi4>, #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>, scale %ks : tensor<1x2x?x128xf16>, zero_point %kz : tensor<1x2x?x128xf16>) v(%v : tensor<1x2x?x128xf32>) -> tensor<1x8x1x128xf32>
  return %o : tensor<1x8x1x128xf32>
}

// -----

// Scales per token (or per group of tokens that a vector of keys may
// straddle) are read per key as before.
// CHECK-LABEL: func.func @per_token
// CHECK-NOT: arith.remui %{{.*}}, %c8{{.*}} : index
// CHECK: scf.for %{{.*}} = %c0 to %{{.*}} step %c1 {
// CHECK: vector.transfer_read %{{.*}} : memref<1x2x?x64xi8, {{.*}}>, vector<16xi8>
// CHECK: memref<1x2x?x128xf16, {{.*}}>
// CHECK: int8_dot = 0, int8_pv = 0>}
func.func @per_token(%q: tensor<1x8x1x128xf32>, %k: tensor<1x2x?x128xi4>, %ks: tensor<1x2x?x128xf16>, %kz: tensor<1x2x?x128xf16>, %v: tensor<1x2x?x128xf32>) -> tensor<1x8x1x128xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x2x?x128xi4>, #kvq.quant<i4, asymmetric, group(axis = 2, size = 8), scale = f16>, scale %ks : tensor<1x2x?x128xf16>, zero_point %kz : tensor<1x2x?x128xf16>) v(%v : tensor<1x2x?x128xf32>) -> tensor<1x8x1x128xf32>
  return %o : tensor<1x8x1x128xf32>
}
