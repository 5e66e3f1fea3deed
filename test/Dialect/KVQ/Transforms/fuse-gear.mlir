// RUN: kvq-opt %s -kvq-fuse -split-input-file | FileCheck %s

// GEAR's low-rank term leaves the key loop. Keys: attention runs over
// [gear_decode(base, rank 0, idx, vals), a] (a widened from f16 by an
// arith.extf) with queries [q, q b^T] (4 more channels, per KV head of the
// GQA group) and the original scale 1/sqrt(16). Values: attention outputs
// 16 + 4 channels over [gear_decode(base, rank 0, ...), a]; the last 4 are
// multiplied by b (f16) and added to the first 16 once per output row.

// CHECK-LABEL: func @gear
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<1x4x1x16xf32>, %[[KD:[^:]*]]: tensor<1x2x?x16xf32>, %[[KA:[^:]*]]: tensor<1x2x?x4xf16>, %[[KB:[^:]*]]: tensor<1x2x4x16xf32>, %[[KI:[^:]*]]: tensor<1x2x?x3xi32>, %[[KV:[^:]*]]: tensor<1x2x?x3xf16>, %[[VD:[^:]*]]: tensor<1x2x?x16xf32>, %[[VA:[^:]*]]: tensor<1x2x?x4xf32>, %[[VB:[^:]*]]: tensor<1x2x4x16xf16>
// CHECK: %[[NOA:.*]] = tensor.empty(%{{.*}}) : tensor<1x2x?x0xf16>
// CHECK: %[[NOB:.*]] = tensor.empty() : tensor<1x2x0x16xf32>
// CHECK: %[[KREST:.*]] = kvq.gear_decode %[[KD]], %[[NOA]], %[[NOB]], %[[KI]], %[[KV]]
// CHECK: %[[KAW:.*]] = arith.extf %[[KA]] : tensor<1x2x?x4xf16> to tensor<1x2x?x4xf32>
// CHECK: %[[QB:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[Q]] : tensor<1x4x1x16xf32>) outs(%{{.*}} : tensor<1x4x1x4xf32>)
// CHECK:   tensor.extract %[[KB]]
// CHECK: %[[K:.*]] = tensor.concat dim(3) %[[KREST]], %[[KAW]] : {{.*}} -> tensor<1x2x?x20xf32>
// CHECK: %[[QE:.*]] = tensor.concat dim(3) %[[Q]], %[[QB]] : {{.*}} -> tensor<1x4x1x20xf32>
// CHECK: %[[VREST:.*]] = kvq.gear_decode %[[VD]]
// CHECK: %[[V:.*]] = tensor.concat dim(3) %[[VREST]], %[[VA]] : {{.*}} -> tensor<1x2x?x20xf32>
// CHECK: %[[O:.*]] = kvq.attention q(%[[QE]] : tensor<1x4x1x20xf32>) k(%[[K]] : tensor<1x2x?x20xf32>) v(%[[V]] : tensor<1x2x?x20xf32>) {scale = 2.500000e-01 : f32} -> tensor<1x4x1x20xf32>
// CHECK: %[[HEAD:.*]] = tensor.extract_slice %[[O]][0, 0, 0, 0] [1, 4, 1, 16]
// CHECK: %[[TAIL:.*]] = tensor.extract_slice %[[O]][0, 0, 0, 16] [1, 4, 1, 4]
// CHECK: %[[LOW:.*]] = linalg.generic {{.*}} ins(%[[TAIL]] : tensor<1x4x1x4xf32>) outs(%{{.*}} : tensor<1x4x1x16xf32>)
// CHECK:   tensor.extract %[[VB]]
// CHECK: %[[OUT:.*]] = linalg.generic {{.*}} ins(%[[HEAD]], %[[LOW]] :
// CHECK:   arith.addf
// CHECK: return %[[OUT]]
func.func @gear(%q: tensor<1x4x1x16xf32>, %kd: tensor<1x2x?x16xf32>, %ka: tensor<1x2x?x4xf16>, %kb: tensor<1x2x4x16xf32>,
                %ki: tensor<1x2x?x3xi32>, %kv: tensor<1x2x?x3xf16>,
                %vd: tensor<1x2x?x16xf32>, %va: tensor<1x2x?x4xf32>, %vb: tensor<1x2x4x16xf16>,
                %vi: tensor<1x2x?x3xi32>, %vv: tensor<1x2x?x3xf16>) -> tensor<1x4x1x16xf32> {
  %k = kvq.gear_decode %kd, %ka, %kb, %ki, %kv : tensor<1x2x?x16xf32>, tensor<1x2x?x4xf16>, tensor<1x2x4x16xf32>,
      tensor<1x2x?x3xi32>, tensor<1x2x?x3xf16> -> tensor<1x2x?x16xf32>
  %v = kvq.gear_decode %vd, %va, %vb, %vi, %vv : tensor<1x2x?x16xf32>, tensor<1x2x?x4xf32>, tensor<1x2x4x16xf16>,
      tensor<1x2x?x3xi32>, tensor<1x2x?x3xf16> -> tensor<1x2x?x16xf32>
  %o = kvq.attention q(%q : tensor<1x4x1x16xf32>) k(%k : tensor<1x2x?x16xf32>) v(%v : tensor<1x2x?x16xf32>)
      -> tensor<1x4x1x16xf32>
  return %o : tensor<1x4x1x16xf32>
}

// -----

// Rank 2 on 16 channels: 18 is not a multiple of 4 (the GPU kernels' block
// of channels), so the decoders stay as they are.

// CHECK-LABEL: func @rank2
// CHECK-NOT: tensor.concat
// CHECK: %[[K:.*]] = kvq.gear_decode
// CHECK: kvq.attention q(%{{.*}} : tensor<1x4x1x16xf32>) k(%[[K]] : tensor<1x2x?x16xf32>)
func.func @rank2(%q: tensor<1x4x1x16xf32>, %kd: tensor<1x2x?x16xf32>, %ka: tensor<1x2x?x2xf32>, %kb: tensor<1x2x2x16xf32>,
                 %ki: tensor<1x2x?x3xi32>, %kv: tensor<1x2x?x3xf16>, %v: tensor<1x2x?x16xf32>) -> tensor<1x4x1x16xf32> {
  %k = kvq.gear_decode %kd, %ka, %kb, %ki, %kv : tensor<1x2x?x16xf32>, tensor<1x2x?x2xf32>, tensor<1x2x2x16xf32>,
      tensor<1x2x?x3xi32>, tensor<1x2x?x3xf16> -> tensor<1x2x?x16xf32>
  %o = kvq.attention q(%q : tensor<1x4x1x16xf32>) k(%k : tensor<1x2x?x16xf32>) v(%v : tensor<1x2x?x16xf32>)
      -> tensor<1x4x1x16xf32>
  return %o : tensor<1x4x1x16xf32>
}

// -----

// f32 coordinates with f16 keys would not join them without rounding: the
// decoder stays as it is.

// CHECK-LABEL: func @wide_a
// CHECK-NOT: tensor.concat
// CHECK: %[[K:.*]] = kvq.gear_decode
// CHECK: kvq.attention q(%{{.*}} : tensor<1x4x1x16xf32>) k(%[[K]] : tensor<1x2x?x16xf16>)
func.func @wide_a(%q: tensor<1x4x1x16xf32>, %kd: tensor<1x2x?x16xf16>, %ka: tensor<1x2x?x4xf32>, %kb: tensor<1x2x4x16xf32>,
                  %ki: tensor<1x2x?x3xi32>, %kv: tensor<1x2x?x3xf16>, %v: tensor<1x2x?x16xf32>) -> tensor<1x4x1x16xf32> {
  %k = kvq.gear_decode %kd, %ka, %kb, %ki, %kv : tensor<1x2x?x16xf16>, tensor<1x2x?x4xf32>, tensor<1x2x4x16xf32>,
      tensor<1x2x?x3xi32>, tensor<1x2x?x3xf16> -> tensor<1x2x?x16xf16>
  %o = kvq.attention q(%q : tensor<1x4x1x16xf32>) k(%k : tensor<1x2x?x16xf16>) v(%v : tensor<1x2x?x16xf32>)
      -> tensor<1x4x1x16xf32>
  return %o : tensor<1x4x1x16xf32>
}
