// RUN: kvq-opt %s -split-input-file -kvq-expand-sage-attention -verify-diagnostics

func.func @dynamic_heads(%q: tensor<1x?x4x16xf32>, %k: tensor<1x?x8x16xf32>) -> tensor<1x?x4x16xf32> {
  // expected-error @+1 {{kvq-expand-sage-attention needs static head counts to smooth the queries}}
  %o = kvq.sage_attention q(%q : tensor<1x?x4x16xf32>) k(%k : tensor<1x?x8x16xf32>) v(%k : tensor<1x?x8x16xf32>) -> tensor<1x?x4x16xf32>
  return %o : tensor<1x?x4x16xf32>
}
