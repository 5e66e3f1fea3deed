// RUN: kvq-opt %s -split-input-file --convert-kvq-to-linalg -verify-diagnostics

// A kvq op without a lowering to linalg (MLA is absorbed into kvq.attention
// by kvq-absorb-latent-attention first) is an error at the op, not a
// silent leftover.
func.func @latent_left(%qn: tensor<1x16x3x32xf32>, %qr: tensor<1x16x3x16xf32>, %kv: tensor<1x1x?x80xf32>,
                       %wuk: tensor<16x32x64xf32>, %wuv: tensor<16x48x64xf32>) -> tensor<1x16x3x48xf32> {
  // expected-error @+1 {{'kvq.latent_attention' op was not converted to linalg}}
  %o = kvq.latent_attention q(%qn : tensor<1x16x3x32xf32>) q_rope(%qr : tensor<1x16x3x16xf32>)
      cache(%kv : tensor<1x1x?x80xf32>) w_uk(%wuk : tensor<16x32x64xf32>) w_uv(%wuv : tensor<16x48x64xf32>)
      {causal} -> tensor<1x16x3x48xf32>
  return %o : tensor<1x16x3x48xf32>
}

// -----

// Sizes a lowering needs static are named before anything is rewritten.
func.func @select_keys_dynamic_rows(%t: tensor<1x2x?xf32>) -> tensor<1x8x?x?xf32> {
  // expected-error @+1 {{cannot be converted to linalg: the mask's row count (dim 2) must be static}}
  %m = kvq.select_keys %t {epsilon = 0.1 : f64} : tensor<1x2x?xf32> -> tensor<1x8x?x?xf32>
  return %m : tensor<1x8x?x?xf32>
}

// -----

func.func @poly_dynamic_heads(%q: tensor<1x?x5x16xf32>, %k: tensor<1x?x7x16xf32>, %v: tensor<1x?x7x12xf32>) -> tensor<1x?x5x12xf32> {
  // expected-error @+1 {{cannot be converted to linalg: it needs static head counts}}
  %o = kvq.poly_attention q(%q : tensor<1x?x5x16xf32>) k(%k : tensor<1x?x7x16xf32>) v(%v : tensor<1x?x7x12xf32>) -> tensor<1x?x5x12xf32>
  return %o : tensor<1x?x5x12xf32>
}
