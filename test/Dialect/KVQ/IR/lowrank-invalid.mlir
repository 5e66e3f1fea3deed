// RUN: kvq-opt %s -split-input-file -verify-diagnostics

func.func @input_rank(%x: tensor<8x128xf32>, %u: tensor<8x128x32xf32>) -> tensor<1x8x1x32xf32> {
  // expected-error @+1 {{input must have rank 4 ([B, H, S, D]), got rank 2}}
  %r = kvq.project %x, %u : tensor<8x128xf32>, tensor<8x128x32xf32> -> tensor<1x8x1x32xf32>
  return %r : tensor<1x8x1x32xf32>
}

// -----

func.func @basis_rank(%x: tensor<1x8x4x128xf32>, %u: tensor<128x32xf32>) -> tensor<1x8x4x32xf32> {
  // expected-error @+1 {{basis must have rank 3 ([Hb, D, R]), got rank 2}}
  %r = kvq.project %x, %u : tensor<1x8x4x128xf32>, tensor<128x32xf32> -> tensor<1x8x4x32xf32>
  return %r : tensor<1x8x4x32xf32>
}

// -----

func.func @result_rank(%x: tensor<1x8x4x128xf32>, %u: tensor<8x128x32xf32>) -> tensor<8x4x32xf32> {
  // expected-error @+1 {{result must have rank 4, got rank 3}}
  %r = kvq.project %x, %u : tensor<1x8x4x128xf32>, tensor<8x128x32xf32> -> tensor<8x4x32xf32>
  return %r : tensor<8x4x32xf32>
}

// -----

func.func @heads_not_multiple(%x: tensor<1x6x4x128xf32>, %u: tensor<4x128x32xf32>) -> tensor<1x6x4x32xf32> {
  // expected-error @+1 {{input has 6 heads, not a multiple of the 4 bases}}
  %r = kvq.project %x, %u : tensor<1x6x4x128xf32>, tensor<4x128x32xf32> -> tensor<1x6x4x32xf32>
  return %r : tensor<1x6x4x32xf32>
}

// -----

func.func @project_head_dim(%x: tensor<1x8x4x64xf32>, %u: tensor<8x128x32xf32>) -> tensor<1x8x4x32xf32> {
  // expected-error @+1 {{input's last dimension 64 does not match the basis rows D = 128}}
  %r = kvq.project %x, %u : tensor<1x8x4x64xf32>, tensor<8x128x32xf32> -> tensor<1x8x4x32xf32>
  return %r : tensor<1x8x4x32xf32>
}

// -----

func.func @reconstruct_rank_dim(%y: tensor<1x8x4x16xf32>, %u: tensor<8x128x32xf32>) -> tensor<1x8x4x128xf32> {
  // expected-error @+1 {{input's last dimension 16 does not match the basis columns R = 32}}
  %r = kvq.reconstruct %y, %u : tensor<1x8x4x16xf32>, tensor<8x128x32xf32> -> tensor<1x8x4x128xf32>
  return %r : tensor<1x8x4x128xf32>
}

// -----

func.func @leading_dims(%x: tensor<1x8x4x128xf32>, %u: tensor<8x128x32xf32>) -> tensor<1x8x5x32xf32> {
  // expected-error @+1 {{result shape [1, 8, 5, 32] does not keep the input's leading dimensions [1, 8, 4]}}
  %r = kvq.project %x, %u : tensor<1x8x4x128xf32>, tensor<8x128x32xf32> -> tensor<1x8x5x32xf32>
  return %r : tensor<1x8x5x32xf32>
}

// -----

func.func @project_result_dim(%x: tensor<1x8x4x128xf32>, %u: tensor<8x128x32xf32>) -> tensor<1x8x4x16xf32> {
  // expected-error @+1 {{result's last dimension 16 must be the rank R = 32}}
  %r = kvq.project %x, %u : tensor<1x8x4x128xf32>, tensor<8x128x32xf32> -> tensor<1x8x4x16xf32>
  return %r : tensor<1x8x4x16xf32>
}

// -----

func.func @reconstruct_result_dim(%y: tensor<1x8x4x32xf32>, %u: tensor<8x128x32xf32>) -> tensor<1x8x4x64xf32> {
  // expected-error @+1 {{result's last dimension 64 must be the head dimension D = 128}}
  %r = kvq.reconstruct %y, %u : tensor<1x8x4x32xf32>, tensor<8x128x32xf32> -> tensor<1x8x4x64xf32>
  return %r : tensor<1x8x4x64xf32>
}

// -----

func.func @mean_shape(%x: tensor<1x8x4x128xf32>, %u: tensor<8x128x32xf32>, %mu: tensor<8x32xf32>) -> tensor<1x8x4x32xf32> {
  // expected-error @+1 {{mean must be [Hb, D] = [8, 128], got [8, 32]}}
  %r = kvq.project %x, %u, %mu : tensor<1x8x4x128xf32>, tensor<8x128x32xf32>, tensor<8x32xf32> -> tensor<1x8x4x32xf32>
  return %r : tensor<1x8x4x32xf32>
}

// -----

func.func @basis_type(%x: tensor<1x8x4x128xf32>, %u: tensor<8x128x32xi8>) -> tensor<1x8x4x32xf32> {
  // expected-error @+1 {{operand #1 must be ranked tensor of floating-point values}}
  %r = kvq.project %x, %u : tensor<1x8x4x128xf32>, tensor<8x128x32xi8> -> tensor<1x8x4x32xf32>
  return %r : tensor<1x8x4x32xf32>
}

// -----

func.func @smooth_rank(%k: tensor<8x128xf32>) -> (tensor<8x128xf32>, tensor<1x128xf32>) {
  // expected-error @+1 {{input must have rank 4 ([B, H, S, D]), got rank 2}}
  %a, %b = kvq.smooth %k : tensor<8x128xf32> -> tensor<8x128xf32>, tensor<1x128xf32>
  return %a, %b : tensor<8x128xf32>, tensor<1x128xf32>
}

// -----

func.func @smooth_centered(%k: tensor<1x8x4x128xf32>) -> (tensor<1x8x5x128xf32>, tensor<1x8x1x128xf32>) {
  // expected-error @+1 {{centered result [1, 8, 5, 128] must have the input's shape [1, 8, 4, 128]}}
  %a, %b = kvq.smooth %k : tensor<1x8x4x128xf32> -> tensor<1x8x5x128xf32>, tensor<1x8x1x128xf32>
  return %a, %b : tensor<1x8x5x128xf32>, tensor<1x8x1x128xf32>
}

// -----

func.func @smooth_mean(%k: tensor<1x8x4x128xf32>) -> (tensor<1x8x4x128xf32>, tensor<1x8x4x128xf32>) {
  // expected-error @+1 {{mean [1, 8, 4, 128] must be [B, H, 1, D] = [1, 8, 1, 128]}}
  %a, %b = kvq.smooth %k : tensor<1x8x4x128xf32> -> tensor<1x8x4x128xf32>, tensor<1x8x4x128xf32>
  return %a, %b : tensor<1x8x4x128xf32>, tensor<1x8x4x128xf32>
}
