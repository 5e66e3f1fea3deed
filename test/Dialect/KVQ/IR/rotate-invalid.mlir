// RUN: kvq-opt %s -split-input-file -verify-diagnostics

func.func @rank(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
  // expected-error @+1 {{input must have rank 4 ([B, H, S, D]), got rank 2}}
  %r = kvq.rotate %x : tensor<8x16xf32> -> tensor<8x16xf32>
  return %r : tensor<8x16xf32>
}

// -----

func.func @dynamic(%x: tensor<1x2x3x?xf32>) -> tensor<1x2x3x?xf32> {
  // expected-error @+1 {{the rotated (last) dimension must be static}}
  %r = kvq.rotate %x : tensor<1x2x3x?xf32> -> tensor<1x2x3x?xf32>
  return %r : tensor<1x2x3x?xf32>
}

// -----

func.func @hadamard_size(%x: tensor<1x2x3x24xf32>) -> tensor<1x2x3x24xf32> {
  // expected-error @+1 {{a Hadamard rotation needs a power-of-two dimension, got 24}}
  %r = kvq.rotate %x : tensor<1x2x3x24xf32> -> tensor<1x2x3x24xf32>
  return %r : tensor<1x2x3x24xf32>
}

// -----

func.func @kind(%x: tensor<1x2x3x16xf32>) -> tensor<1x2x3x16xf32> {
  // expected-error @+1 {{kind must be 'hadamard' or 'orthogonal', got 'givens'}}
  %r = kvq.rotate %x {kind = "givens"} : tensor<1x2x3x16xf32> -> tensor<1x2x3x16xf32>
  return %r : tensor<1x2x3x16xf32>
}

// -----

func.func @shape(%x: tensor<1x2x3x16xf32>) -> tensor<1x2x4x16xf32> {
  // expected-error @+1 {{requires the same shape for all operands and results}}
  %r = kvq.rotate %x : tensor<1x2x3x16xf32> -> tensor<1x2x4x16xf32>
  return %r : tensor<1x2x4x16xf32>
}
