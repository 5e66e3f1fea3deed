// RUN: kvq-opt %s -split-input-file -kvq-tile-attention -verify-diagnostics

func.func @dynamic_head_dim(%q: tensor<1x2x1x?xf32>, %k: tensor<1x2x8x?xf32>) -> tensor<1x2x1x?xf32> {
  // expected-error @+1 {{kvq-tile-attention needs a static head dimension}}
  %o = kvq.attention q(%q : tensor<1x2x1x?xf32>) k(%k : tensor<1x2x8x?xf32>) v(%k : tensor<1x2x8x?xf32>) -> tensor<1x2x1x?xf32>
  return %o : tensor<1x2x1x?xf32>
}
