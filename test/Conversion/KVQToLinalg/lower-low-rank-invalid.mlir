// RUN: kvq-opt %s -split-input-file --convert-kvq-to-linalg -verify-diagnostics

func.func @dynamic_heads(%x: tensor<1x?x4x64xf32>, %u: tensor<2x64x16xf32>) -> tensor<1x?x4x16xf32> {
  // expected-error @+1 {{needs static head counts to map heads to bases (or a single shared basis)}}
  %r = kvq.project %x, %u : tensor<1x?x4x64xf32>, tensor<2x64x16xf32> -> tensor<1x?x4x16xf32>
  return %r : tensor<1x?x4x16xf32>
}

// -----

func.func @dynamic_rank(%x: tensor<1x2x4x64xf32>, %u: tensor<2x64x?xf32>) -> tensor<1x2x4x?xf32> {
  // expected-error @+1 {{needs a static result dimension (from the basis)}}
  %r = kvq.project %x, %u : tensor<1x2x4x64xf32>, tensor<2x64x?xf32> -> tensor<1x2x4x?xf32>
  return %r : tensor<1x2x4x?xf32>
}
