// RUN: kvq-opt %s -split-input-file --kvq-fuse | FileCheck %s

// A reconstructed K becomes projected queries (the mean drops out of the
// softmax), with the original scale 1/sqrt(64); a reconstructed V moves
// after the attention; an INT8 dequantize of the projected K then fuses as
// usual. No reconstructed cache remains.
// CHECK-LABEL: func @low_rank_kv
// CHECK-SAME:    (%[[Q:.*]]: tensor<1x8x3x64xf32>, %[[KC:.*]]: tensor<1x2x?x16xi8>, %[[KS:.*]]: tensor<1x2x?x1xf32>, %[[UK:.*]]: tensor<2x64x16xf32>, %[[MUK:.*]]: tensor<2x64xf32>, %[[VR:.*]]: tensor<1x2x?x24xf32>, %[[UV:.*]]: tensor<2x64x24xf32>, %[[MUV:.*]]: tensor<2x64xf32>)
// CHECK:         %[[QP:.*]] = kvq.project %[[Q]], %[[UK]] : tensor<1x8x3x64xf32>, tensor<2x64x16xf32> -> tensor<1x8x3x16xf32>
// CHECK:         %[[O:.*]] = kvq.attention q(%[[QP]] : tensor<1x8x3x16xf32>)
// CHECK-SAME:      k(%[[KC]] : tensor<1x2x?x16xi8>, #kvq.quant<i8, symmetric, token>, scale %[[KS]] : tensor<1x2x?x1xf32>)
// CHECK-SAME:      v(%[[VR]] : tensor<1x2x?x24xf32>) {scale = 1.250000e-01 : f32} -> tensor<1x8x3x24xf32>
// CHECK:         %[[R:.*]] = kvq.reconstruct %[[O]], %[[UV]], %[[MUV]] : tensor<1x8x3x24xf32>, tensor<2x64x24xf32>, tensor<2x64xf32> -> tensor<1x8x3x64xf32>
// CHECK:         return %[[R]]
func.func @low_rank_kv(%q: tensor<1x8x3x64xf32>, %kc: tensor<1x2x?x16xi8>, %ks: tensor<1x2x?x1xf32>,
                       %uk: tensor<2x64x16xf32>, %muk: tensor<2x64xf32>,
                       %vr: tensor<1x2x?x24xf32>, %uv: tensor<2x64x24xf32>, %muv: tensor<2x64xf32>) -> tensor<1x8x3x64xf32> {
  %kr = kvq.dequantize #kvq.quant<i8, symmetric, token> %kc, %ks : tensor<1x2x?x16xi8>, tensor<1x2x?x1xf32> -> tensor<1x2x?x16xf32>
  %k = kvq.reconstruct %kr, %uk, %muk : tensor<1x2x?x16xf32>, tensor<2x64x16xf32>, tensor<2x64xf32> -> tensor<1x2x?x64xf32>
  %v = kvq.reconstruct %vr, %uv, %muv : tensor<1x2x?x24xf32>, tensor<2x64x24xf32>, tensor<2x64xf32> -> tensor<1x2x?x64xf32>
  %o = kvq.attention q(%q : tensor<1x8x3x64xf32>) k(%k : tensor<1x2x?x64xf32>) v(%v : tensor<1x2x?x64xf32>) -> tensor<1x8x3x64xf32>
  return %o : tensor<1x8x3x64xf32>
}

// -----

// An explicit scale is kept; causal stays.
// CHECK-LABEL: func @explicit_scale_causal
// CHECK:         kvq.project
// CHECK:         kvq.attention {{.*}} {causal, scale = 5.000000e-01 : f32}
func.func @explicit_scale_causal(%q: tensor<1x2x4x32xf32>, %kr: tensor<1x2x?x8xf32>, %u: tensor<2x32x8xf32>,
                                 %v: tensor<1x2x?x32xf32>) -> tensor<1x2x4x32xf32> {
  %k = kvq.reconstruct %kr, %u : tensor<1x2x?x8xf32>, tensor<2x32x8xf32> -> tensor<1x2x?x32xf32>
  %o = kvq.attention q(%q : tensor<1x2x4x32xf32>) k(%k : tensor<1x2x?x32xf32>) v(%v : tensor<1x2x?x32xf32>)
      {causal, scale = 0.5 : f32} -> tensor<1x2x4x32xf32>
  return %o : tensor<1x2x4x32xf32>
}

// -----

// With a mean, a V reconstruction stays before a masked attention: a fully
// masked row must output 0, not the mean. Without a mean it moves.
// CHECK-LABEL: func @masked_value_mean
// CHECK:         %[[V:.*]] = kvq.reconstruct
// CHECK:         kvq.attention {{.*}} v(%[[V]] : tensor<1x2x?x32xf32>) mask
// CHECK-LABEL: func @masked_value_no_mean
// CHECK:         %[[O:.*]] = kvq.attention {{.*}} -> tensor<1x2x4x8xf32>
// CHECK:         kvq.reconstruct %[[O]]
func.func @masked_value_mean(%q: tensor<1x2x4x32xf32>, %k: tensor<1x2x?x32xf32>, %vr: tensor<1x2x?x8xf32>,
                             %u: tensor<2x32x8xf32>, %mu: tensor<2x32xf32>, %m: tensor<1x1x4x?xf32>) -> tensor<1x2x4x32xf32> {
  %v = kvq.reconstruct %vr, %u, %mu : tensor<1x2x?x8xf32>, tensor<2x32x8xf32>, tensor<2x32xf32> -> tensor<1x2x?x32xf32>
  %o = kvq.attention q(%q : tensor<1x2x4x32xf32>) k(%k : tensor<1x2x?x32xf32>) v(%v : tensor<1x2x?x32xf32>)
      mask(%m : tensor<1x1x4x?xf32>) -> tensor<1x2x4x32xf32>
  return %o : tensor<1x2x4x32xf32>
}
func.func @masked_value_no_mean(%q: tensor<1x2x4x32xf32>, %k: tensor<1x2x?x32xf32>, %vr: tensor<1x2x?x8xf32>,
                                %u: tensor<2x32x8xf32>, %m: tensor<1x1x4x?xf32>) -> tensor<1x2x4x32xf32> {
  %v = kvq.reconstruct %vr, %u : tensor<1x2x?x8xf32>, tensor<2x32x8xf32> -> tensor<1x2x?x32xf32>
  %o = kvq.attention q(%q : tensor<1x2x4x32xf32>) k(%k : tensor<1x2x?x32xf32>) v(%v : tensor<1x2x?x32xf32>)
      mask(%m : tensor<1x1x4x?xf32>) -> tensor<1x2x4x32xf32>
  return %o : tensor<1x2x4x32xf32>
}

// -----

// Causal with a dynamic query length may have fully masked rows (Sq > Skv):
// the V reconstruction with a mean stays.
// CHECK-LABEL: func @causal_dynamic_mean
// CHECK:         %[[V:.*]] = kvq.reconstruct
// CHECK:         kvq.attention {{.*}} v(%[[V]]
func.func @causal_dynamic_mean(%q: tensor<1x2x?x32xf32>, %k: tensor<1x2x?x32xf32>, %vr: tensor<1x2x?x8xf32>,
                               %u: tensor<2x32x8xf32>, %mu: tensor<2x32xf32>) -> tensor<1x2x?x32xf32> {
  %v = kvq.reconstruct %vr, %u, %mu : tensor<1x2x?x8xf32>, tensor<2x32x8xf32>, tensor<2x32xf32> -> tensor<1x2x?x32xf32>
  %o = kvq.attention q(%q : tensor<1x2x?x32xf32>) k(%k : tensor<1x2x?x32xf32>) v(%v : tensor<1x2x?x32xf32>)
      {causal} -> tensor<1x2x?x32xf32>
  return %o : tensor<1x2x?x32xf32>
}

// -----

// Keys stored rotated (and INT8-quantized): kvq-fuse rotates the queries
// once instead of un-rotating the keys, and reads the codes directly; the
// rotation is a compile-time constant basis.
// CHECK-LABEL: func @rotated_keys
// CHECK:         %[[S:.*]] = arith.constant dense<{{.*}}> : tensor<1x16x16xf32>
// CHECK:         %[[QR:.*]] = kvq.project %{{.*}}, %[[S]] : tensor<1x4x2x16xf32>, tensor<1x16x16xf32> -> tensor<1x4x2x16xf32>
// CHECK:         kvq.attention q(%[[QR]] : tensor<1x4x2x16xf32>) k(%{{.*}} : tensor<1x2x?x16xi8>, #kvq.quant<i8, symmetric, token>
// CHECK-NOT:     kvq.rotate
func.func @rotated_keys(%q: tensor<1x4x2x16xf32>, %kc: tensor<1x2x?x16xi8>, %ks: tensor<1x2x?x1xf32>,
                        %v: tensor<1x2x?x16xf32>) -> tensor<1x4x2x16xf32> {
  %kr = kvq.dequantize #kvq.quant<i8, symmetric, token> %kc, %ks : tensor<1x2x?x16xi8>, tensor<1x2x?x1xf32> -> tensor<1x2x?x16xf32>
  %k = kvq.rotate %kr {seed = 3, inverse} : tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
  %o = kvq.attention q(%q : tensor<1x4x2x16xf32>) k(%k : tensor<1x2x?x16xf32>) v(%v : tensor<1x2x?x16xf32>) -> tensor<1x4x2x16xf32>
  return %o : tensor<1x4x2x16xf32>
}
