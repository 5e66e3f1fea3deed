// RUN: kvq-opt %s -split-input-file -verify-diagnostics

func.func @rank(%k: tensor<8x?x64xf32>) -> tensor<8x?xf32> {
  // expected-error @+1 {{input must have rank 4 ([B, H, S, D]), got rank 3}}
  %t = kvq.leverage_scores %k : tensor<8x?x64xf32> -> tensor<8x?xf32>
  return %t : tensor<8x?xf32>
}

// -----

func.func @dynamic_dim(%k: tensor<1x8x?x?xf32>) -> tensor<1x8x?xf32> {
  // expected-error @+1 {{the head dimension must be static}}
  %t = kvq.leverage_scores %k : tensor<1x8x?x?xf32> -> tensor<1x8x?xf32>
  return %t : tensor<1x8x?xf32>
}

// -----

func.func @result(%k: tensor<1x8x5x64xf32>) -> tensor<1x8x6xf32> {
  // expected-error @+1 {{result [1, 8, 6] must be [B, H, S] = [1, 8, 5]}}
  %t = kvq.leverage_scores %k : tensor<1x8x5x64xf32> -> tensor<1x8x6xf32>
  return %t : tensor<1x8x6xf32>
}

// -----

func.func @ridge(%k: tensor<1x8x5x64xf32>) -> tensor<1x8x5xf32> {
  // expected-error @+1 {{ridge must be positive}}
  %t = kvq.leverage_scores %k {ridge = 0.0 : f64} : tensor<1x8x5x64xf32> -> tensor<1x8x5xf32>
  return %t : tensor<1x8x5xf32>
}

// -----

func.func @scores_rank(%t: tensor<8x5xf32>) -> tensor<1x8x1x5xf32> {
  // expected-error @+1 {{scores must have rank 3 ([B, H, S]), got rank 2}}
  %m = kvq.select_keys %t {epsilon = 0.1 : f64} : tensor<8x5xf32> -> tensor<1x8x1x5xf32>
  return %m : tensor<1x8x1x5xf32>
}

// -----

func.func @mask_rank(%t: tensor<1x8x5xf32>) -> tensor<8x1x5xf32> {
  // expected-error @+1 {{result must have rank 4 ([B, Hm, Sm, S]), got rank 3}}
  %m = kvq.select_keys %t {epsilon = 0.1 : f64} : tensor<1x8x5xf32> -> tensor<8x1x5xf32>
  return %m : tensor<8x1x5xf32>
}

// -----

func.func @mask_length(%t: tensor<1x8x5xf32>) -> tensor<1x8x1x6xf32> {
  // expected-error @+1 {{result [1, 8, 1, 6] must keep the scores' batch and length [1, 8, 5]}}
  %m = kvq.select_keys %t {epsilon = 0.1 : f64} : tensor<1x8x5xf32> -> tensor<1x8x1x6xf32>
  return %m : tensor<1x8x1x6xf32>
}

// -----

func.func @mask_heads(%t: tensor<1x8x5xf32>) -> tensor<1x12x1x5xf32> {
  // expected-error @+1 {{result heads 12 must be a static multiple of the score heads 8}}
  %m = kvq.select_keys %t {epsilon = 0.1 : f64} : tensor<1x8x5xf32> -> tensor<1x12x1x5xf32>
  return %m : tensor<1x12x1x5xf32>
}

// -----

func.func @criterion(%t: tensor<1x8x5xf32>) -> tensor<1x8x1x5xf32> {
  // expected-error @+1 {{needs exactly one of 'epsilon' (threshold) and 'top' (the m best keys)}}
  %m = kvq.select_keys %t : tensor<1x8x5xf32> -> tensor<1x8x1x5xf32>
  return %m : tensor<1x8x1x5xf32>
}

// -----

func.func @both(%t: tensor<1x8x5xf32>) -> tensor<1x8x1x5xf32> {
  // expected-error @+1 {{needs exactly one of 'epsilon' (threshold) and 'top' (the m best keys)}}
  %m = kvq.select_keys %t {epsilon = 0.1 : f64, top = 3} : tensor<1x8x5xf32> -> tensor<1x8x1x5xf32>
  return %m : tensor<1x8x1x5xf32>
}

// -----

func.func @top(%t: tensor<1x8x5xf32>) -> tensor<1x8x1x5xf32> {
  // expected-error @+1 {{top must be positive, got 0}}
  %m = kvq.select_keys %t {top = 0} : tensor<1x8x5xf32> -> tensor<1x8x1x5xf32>
  return %m : tensor<1x8x1x5xf32>
}
