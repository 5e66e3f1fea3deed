// RUN: kvq-opt %s -split-input-file | FileCheck %s
// Printing and re-parsing is stable, in the custom and the generic form.
// RUN: kvq-opt %s -split-input-file | kvq-opt -split-input-file | FileCheck %s
// RUN: kvq-opt %s -split-input-file -mlir-print-op-generic | kvq-opt -split-input-file | FileCheck %s

// The per-thread granularity of SageAttention2: Q groups of an m16 A
// fragment, K groups of an n8 B fragment.
// CHECK-LABEL: func @fragment_schemes
// CHECK: #kvq.quant<i8, symmetric, fragment(rows = 32, period = 8, run = 1)>
// CHECK: #kvq.quant<i4, symmetric, fragment(rows = 64, period = 8, run = 2)>
func.func @fragment_schemes(%q: tensor<1x2x70x64xf32>, %k: tensor<1x2x?x64xf32>)
    -> (tensor<1x2x24x1xf32>, tensor<1x2x?x1xf32>) {
  %qc, %qs = kvq.quantize #kvq.quant<i8, symmetric, fragment(rows = 32, period = 8, run = 1)> %q
      : tensor<1x2x70x64xf32> -> tensor<1x2x70x64xi8>, tensor<1x2x24x1xf32>
  %kc, %ks = kvq.quantize #kvq.quant<i4, symmetric, fragment(rows = 64, period = 8, run = 2)> %k
      : tensor<1x2x?x64xf32> -> tensor<1x2x?x64xi4>, tensor<1x2x?x1xf32>
  return %qs, %ks : tensor<1x2x24x1xf32>, tensor<1x2x?x1xf32>
}

// -----

// Quantized queries, Delta-S and FP8 probabilities on kvq.attention.
// CHECK-LABEL: func @attention_sage_operands
// CHECK: kvq.attention q(%{{.*}} : tensor<1x4x130x64xi8>, #kvq.quant<i8, symmetric, block(rows = 128, cols = 64)>, scale %{{.*}} : tensor<1x4x2x1xf32>)
// CHECK-SAME: k(%{{.*}} : tensor<1x2x?x64xi8>, #kvq.quant<i8, symmetric, fragment(rows = 64, period = 8, run = 2)>, scale %{{.*}} : tensor<1x2x?x1xf32>)
// CHECK-SAME: v(%{{.*}} : tensor<1x2x?x64xf8E4M3FN>, #kvq.quant<f8E4M3FN, symmetric, channel>, scale %{{.*}} : tensor<1x2x1x64xf32>)
// CHECK-SAME: delta_s(%{{.*}} : tensor<1x4x2x?xf32>)
// CHECK-SAME: {causal, delta_s_rows = 128 : i64, p_type = f8E4M3FN} -> tensor<1x4x130x64xf16>
func.func @attention_sage_operands(%qc: tensor<1x4x130x64xi8>, %qs: tensor<1x4x2x1xf32>,
    %kc: tensor<1x2x?x64xi8>, %ks: tensor<1x2x?x1xf32>,
    %vc: tensor<1x2x?x64xf8E4M3FN>, %vs: tensor<1x2x1x64xf32>,
    %ds: tensor<1x4x2x?xf32>) -> tensor<1x4x130x64xf16> {
  %o = kvq.attention
      q(%qc : tensor<1x4x130x64xi8>, #kvq.quant<i8, symmetric, block(rows = 128, cols = 64)>, scale %qs : tensor<1x4x2x1xf32>)
      k(%kc : tensor<1x2x?x64xi8>, #kvq.quant<i8, symmetric, fragment(rows = 64, period = 8, run = 2)>, scale %ks : tensor<1x2x?x1xf32>)
      v(%vc : tensor<1x2x?x64xf8E4M3FN>, #kvq.quant<f8E4M3FN, symmetric, channel>, scale %vs : tensor<1x2x1x64xf32>)
      delta_s(%ds : tensor<1x4x2x?xf32>)
      {causal, delta_s_rows = 128 : i64, p_type = f8E4M3FN} -> tensor<1x4x130x64xf16>
  return %o : tensor<1x4x130x64xf16>
}

// -----

// f16 probabilities over plain K and V.
// CHECK-LABEL: func @attention_f16_p
// CHECK: kvq.attention q(%{{.*}} : tensor<1x2x?x16xf32>) k(%{{.*}} : tensor<1x2x?x16xf32>) v(%{{.*}} : tensor<1x2x?x16xf16>) {p_type = f16} -> tensor<1x2x?x16xf32>
func.func @attention_f16_p(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf16>)
    -> tensor<1x2x?x16xf32> {
  %o = kvq.attention q(%q : tensor<1x2x?x16xf32>) k(%k : tensor<1x2x?x16xf32>) v(%v : tensor<1x2x?x16xf16>) {p_type = f16} -> tensor<1x2x?x16xf32>
  return %o : tensor<1x2x?x16xf32>
}

// -----

// CHECK-LABEL: func @sage_defaults
// CHECK: kvq.sage_attention q(%{{.*}} : tensor<1x8x?x128xf16>) k(%{{.*}} : tensor<1x2x?x128xf16>) v(%{{.*}} : tensor<1x2x?x128xf16>) -> tensor<1x8x?x128xf16>
// CHECK-LABEL: func @sage_options
// CHECK: kvq.sage_attention q(%{{.*}} : tensor<2x4x?x64xf32>) k(%{{.*}} : tensor<2x4x?x64xf32>) v(%{{.*}} : tensor<2x4x?x32xf32>)
// CHECK-SAME: {causal, granularity = "warp", pv = f16, qk = i4, scale = 1.250000e-01 : f32, smooth_k = false, smooth_q = false} -> tensor<2x4x?x32xf32>
func.func @sage_defaults(%q: tensor<1x8x?x128xf16>, %k: tensor<1x2x?x128xf16>, %v: tensor<1x2x?x128xf16>)
    -> tensor<1x8x?x128xf16> {
  %o = kvq.sage_attention q(%q : tensor<1x8x?x128xf16>) k(%k : tensor<1x2x?x128xf16>) v(%v : tensor<1x2x?x128xf16>) -> tensor<1x8x?x128xf16>
  return %o : tensor<1x8x?x128xf16>
}
func.func @sage_options(%q: tensor<2x4x?x64xf32>, %k: tensor<2x4x?x64xf32>, %v: tensor<2x4x?x32xf32>)
    -> tensor<2x4x?x32xf32> {
  %o = kvq.sage_attention q(%q : tensor<2x4x?x64xf32>) k(%k : tensor<2x4x?x64xf32>) v(%v : tensor<2x4x?x32xf32>)
      {qk = i4, pv = f16, granularity = "warp", smooth_q = false, smooth_k = false, scale = 0.125 : f32, causal}
      -> tensor<2x4x?x32xf32>
  return %o : tensor<2x4x?x32xf32>
}
