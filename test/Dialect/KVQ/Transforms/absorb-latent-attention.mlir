// RUN: kvq-opt %s --kvq-absorb-latent-attention | FileCheck %s
// RUN: kvq-opt %s --kvq-absorb-latent-attention --kvq-fuse | FileCheck %s --check-prefix=FUSED

// MLA, absorbed: queries projected into the latent space (q_nope W_UK)
// next to q_rope; one attention of all 16 heads over the cache as a single
// shared K/V head (keys: whole cache rows, values: a view of their first
// Dc = 64 channels); the output up-projected by W_UV. The default scale is
// 1/sqrt(Dn + Dr) = 1/sqrt(48).
// CHECK-LABEL: func @mla
// CHECK-SAME:    (%[[QN:.*]]: tensor<1x16x3x32xf32>, %[[QR:.*]]: tensor<1x16x3x16xf32>, %[[KV:.*]]: tensor<1x1x?x80xf32>, %[[WUK:.*]]: tensor<16x32x64xf32>, %[[WUV:.*]]: tensor<16x48x64xf32>)
// CHECK:         %[[QL:.*]] = kvq.project %[[QN]], %[[WUK]] : tensor<1x16x3x32xf32>, tensor<16x32x64xf32> -> tensor<1x16x3x64xf32>
// CHECK:         %[[Q0:.*]] = tensor.insert_slice %[[QL]] into %{{.*}}[0, 0, 0, 0] [1, 16, 3, 64] [1, 1, 1, 1]
// CHECK:         %[[Q:.*]] = tensor.insert_slice %[[QR]] into %[[Q0]][0, 0, 0, 64] [1, 16, 3, 16] [1, 1, 1, 1]
// CHECK:         %[[V:.*]] = tensor.extract_slice %[[KV]][0, 0, 0, 0] [1, 1, %{{.*}}, 64] [1, 1, 1, 1] : tensor<1x1x?x80xf32> to tensor<1x1x?x64xf32>
// CHECK:         %[[O:.*]] = kvq.attention q(%[[Q]] : tensor<1x16x3x80xf32>) k(%[[KV]] : tensor<1x1x?x80xf32>) v(%[[V]] : tensor<1x1x?x64xf32>) {causal, scale = 0.144337{{[0-9]*}} : f32} -> tensor<1x16x3x64xf32>
// CHECK:         %[[R:.*]] = kvq.reconstruct %[[O]], %[[WUV]] : tensor<1x16x3x64xf32>, tensor<16x48x64xf32> -> tensor<1x16x3x48xf32>
// CHECK:         return %[[R]]
// FUSED-LABEL: func @mla
// FUSED-NOT:     kvq.latent_attention
// FUSED:         kvq.attention
func.func @mla(%qn: tensor<1x16x3x32xf32>, %qr: tensor<1x16x3x16xf32>, %kv: tensor<1x1x?x80xf32>,
               %wuk: tensor<16x32x64xf32>, %wuv: tensor<16x48x64xf32>) -> tensor<1x16x3x48xf32> {
  %o = kvq.latent_attention q(%qn : tensor<1x16x3x32xf32>) q_rope(%qr : tensor<1x16x3x16xf32>)
      cache(%kv : tensor<1x1x?x80xf32>) w_uk(%wuk : tensor<16x32x64xf32>) w_uv(%wuv : tensor<16x48x64xf32>)
      {causal} -> tensor<1x16x3x48xf32>
  return %o : tensor<1x16x3x48xf32>
}
