// RUN: kvq-opt %s -split-input-file -kvq-expand-sage-attention | FileCheck %s
// RUN: kvq-opt %s -split-input-file -kvq-expand-sage-attention --convert-kvq-to-linalg -kvq-tile-attention | FileCheck %s --check-prefix=LOWERED

// The default recipe (INT8 per thread, FP8 PV, both smoothings) on a
// dynamic sequence with GQA: K smoothing, the q-bar of each 128 query rows
// (sums, then divided by the rows of the group), Q - q-bar, Delta-S =
// q-bar Kc^T (query head h reads KV head h floordiv 2), three run-time
// quantizations and one attention over the codes.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[GROUP:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2 floordiv 128, d3)>
// CHECK-DAG: #[[QBAR:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
// CHECK-DAG: #[[KVH:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1 floordiv 2, d3, d4)>
// CHECK-LABEL: func @sage_default
// CHECK-SAME: (%[[Q:.*]]: tensor<1x4x?x64xf32>, %[[K:.*]]: tensor<1x2x?x64xf32>, %[[V:.*]]: tensor<1x2x?x64xf32>)
// CHECK: %[[KC:.*]], %{{.*}} = kvq.smooth %[[K]] : tensor<1x2x?x64xf32> -> tensor<1x2x?x64xf32>, tensor<1x2x1x64xf32>
// CHECK: %[[SQ:.*]] = tensor.dim %[[Q]], %{{.*}}
// CHECK: %[[G:.*]] = arith.ceildivui %[[SQ]], %{{.*}} : index
// CHECK: %[[SUMS:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[GROUP]]], iterator_types = ["parallel", "parallel", "reduction", "parallel"]} ins(%[[Q]]
// CHECK: %[[MEANS:.*]] = linalg.generic {{.*}} ins(%[[SUMS]]
// CHECK:   linalg.index 2
// CHECK:   arith.minui
// CHECK:   arith.divf
// CHECK: %[[QC:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[GROUP]], #[[ID]]]{{.*}} ins(%[[Q]], %[[MEANS]]
// CHECK:   arith.subf
// CHECK: %[[DS:.*]] = linalg.generic {indexing_maps = [#[[QBAR]], #[[KVH]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[MEANS]], %[[KC]] : {{.*}}) outs({{.*}} : tensor<1x4x?x?xf32>)
// CHECK: %[[QCODES:.*]], %[[QS:.*]] = kvq.quantize #kvq.quant<i8, symmetric, fragment(rows = 32, period = 8, run = 1)> %[[QC]] : tensor<1x4x?x64xf32> -> tensor<1x4x?x64xi8>, tensor<1x4x?x1xf32>
// CHECK: %[[KCODES:.*]], %[[KS:.*]] = kvq.quantize #kvq.quant<i8, symmetric, fragment(rows = 64, period = 8, run = 2)> %[[KC]]
// CHECK: %[[VCODES:.*]], %[[VS:.*]] = kvq.quantize #kvq.quant<f8E4M3FN, symmetric, channel> %[[V]] : tensor<1x2x?x64xf32> -> tensor<1x2x?x64xf8E4M3FN>, tensor<1x2x1x64xf32>
// CHECK: kvq.attention q(%[[QCODES]] : tensor<1x4x?x64xi8>, #kvq.quant<i8, symmetric, fragment(rows = 32, period = 8, run = 1)>, scale %[[QS]] : tensor<1x4x?x1xf32>)
// CHECK-SAME: k(%[[KCODES]] : {{.*}}, scale %[[KS]] : tensor<1x2x?x1xf32>) v(%[[VCODES]] : {{.*}}, scale %[[VS]] : tensor<1x2x1x64xf32>)
// CHECK-SAME: delta_s(%[[DS]] : tensor<1x4x?x?xf32>) {causal, delta_s_rows = 128 : i64, p_type = f8E4M3FN}
// CHECK-NOT: kvq.sage_attention

// Lowered: the fragment scale index of a key t is (t floordiv 64) * 4 +
// (t mod 8) floordiv 2, the probabilities are scaled by 2^8.807 and
// rounded to e4m3 with integer arithmetic, Delta-S is added under the
// softmax scale.
// LOWERED-DAG: #[[KFRAG:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, (d2 floordiv 64) * 4 + (d2 mod 8) floordiv 2, 0)>
// LOWERED-DAG: #[[QFRAG:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, (d2 floordiv 32) * 8 + d2 mod 8, 0)>
// LOWERED-LABEL: func @sage_default
// LOWERED: scf.parallel
// LOWERED: memref.load %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] : memref<1x4x?x?xf32
// LOWERED: math.fma
// LOWERED: math.exp
// LOWERED: arith.constant 447.{{[0-9]+}} : f32
// LOWERED: arith.mulf
// LOWERED: arith.bitcast {{.*}} : vector<16xf32> to vector<16xi32>
// LOWERED-NOT: kvq.attention
func.func @sage_default(%q: tensor<1x4x?x64xf32>, %k: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x64xf32>)
    -> tensor<1x4x?x64xf32> {
  %o = kvq.sage_attention q(%q : tensor<1x4x?x64xf32>) k(%k : tensor<1x2x?x64xf32>) v(%v : tensor<1x2x?x64xf32>)
      {causal} -> tensor<1x4x?x64xf32>
  return %o : tensor<1x4x?x64xf32>
}

// -----

// Per-block INT4 QK with FP16 PV, no smoothing: no Delta-S, block schemes
// (Q 128 rows, K 64 rows, over the whole head dim), V rounded to f16.
// CHECK-LABEL: func @sage_block_i4_f16
// CHECK-NOT: kvq.smooth
// CHECK: kvq.quantize #kvq.quant<i4, symmetric, block(rows = 128, cols = 32)> %{{.*}} : tensor<1x2x70x32xf32> -> tensor<1x2x70x32xi4>, tensor<1x2x1x1xf32>
// CHECK: kvq.quantize #kvq.quant<i4, symmetric, block(rows = 64, cols = 32)> %{{.*}} : tensor<1x2x90x32xf32> -> tensor<1x2x90x32xi4>, tensor<1x2x2x1xf32>
// CHECK: %[[V16:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<1x2x90x32xf16>)
// CHECK: kvq.attention {{.*}} v(%[[V16]] : tensor<1x2x90x32xf16>) {p_type = f16} -> tensor<1x2x70x32xf32>
// CHECK-NOT: delta_s
func.func @sage_block_i4_f16(%q: tensor<1x2x70x32xf32>, %k: tensor<1x2x90x32xf32>, %v: tensor<1x2x90x32xf32>)
    -> tensor<1x2x70x32xf32> {
  %o = kvq.sage_attention q(%q : tensor<1x2x70x32xf32>) k(%k : tensor<1x2x90x32xf32>) v(%v : tensor<1x2x90x32xf32>)
      {qk = i4, pv = f16, granularity = "block", smooth_q = false, smooth_k = false} -> tensor<1x2x70x32xf32>
  return %o : tensor<1x2x70x32xf32>
}

// -----

// Warp granularity: Q per 32 rows.
// CHECK-LABEL: func @sage_warp
// CHECK: kvq.quantize #kvq.quant<i8, symmetric, block(rows = 32, cols = 16)>
// CHECK: kvq.quantize #kvq.quant<i8, symmetric, block(rows = 64, cols = 16)>
func.func @sage_warp(%q: tensor<1x1x40x16xf16>, %k: tensor<1x1x50x16xf16>, %v: tensor<1x1x50x16xf16>)
    -> tensor<1x1x40x16xf16> {
  %o = kvq.sage_attention q(%q : tensor<1x1x40x16xf16>) k(%k : tensor<1x1x50x16xf16>) v(%v : tensor<1x1x50x16xf16>)
      {granularity = "warp"} -> tensor<1x1x40x16xf16>
  return %o : tensor<1x1x40x16xf16>
}
