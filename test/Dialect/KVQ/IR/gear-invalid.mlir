// RUN: kvq-opt %s -split-input-file -verify-diagnostics

func.func @outliers_rank(%x: tensor<8x?x64xf32>) {
  // expected-error @+1 {{input must have rank 4 ([B, H, S, D]), got rank 3}}
  %r, %i, %v = kvq.extract_outliers %x {count = 2} : tensor<8x?x64xf32> -> tensor<8x?x64xf32>, tensor<8x?x2xi32>, tensor<8x?x2xf32>
  return
}

// -----

func.func @outliers_dynamic_dim(%x: tensor<1x8x?x?xf32>) {
  // expected-error @+1 {{input's head dimension must be static}}
  %r, %i, %v = kvq.extract_outliers %x {count = 2} : tensor<1x8x?x?xf32> -> tensor<1x8x?x?xf32>, tensor<1x8x?x2xi32>, tensor<1x8x?x2xf32>
  return
}

// -----

func.func @outliers_count(%x: tensor<1x8x?x4xf32>) {
  // expected-error @+1 {{count 5 exceeds the head dimension 4}}
  %r, %i, %v = kvq.extract_outliers %x {count = 5} : tensor<1x8x?x4xf32> -> tensor<1x8x?x4xf32>, tensor<1x8x?x5xi32>, tensor<1x8x?x5xf32>
  return
}

// -----

func.func @outliers_count_positive(%x: tensor<1x8x?x4xf32>) {
  // expected-error @+1 {{attribute 'count' failed to satisfy constraint}}
  %r, %i, %v = kvq.extract_outliers %x {count = 0} : tensor<1x8x?x4xf32> -> tensor<1x8x?x4xf32>, tensor<1x8x?x0xi32>, tensor<1x8x?x0xf32>
  return
}

// -----

func.func @outliers_remainder(%x: tensor<1x8x?x64xf32>) {
  // expected-error @+1 {{remainder [1, 8, ?, 32] must have the input's shape [1, 8, ?, 64]}}
  %r, %i, %v = kvq.extract_outliers %x {count = 2} : tensor<1x8x?x64xf32> -> tensor<1x8x?x32xf32>, tensor<1x8x?x2xi32>, tensor<1x8x?x2xf32>
  return
}

// -----

func.func @outliers_indices(%x: tensor<1x8x?x64xf32>) {
  // expected-error @+1 {{indices [1, 8, ?, 3] must be [B, H, S, count] = [1, 8, ?, 2]}}
  %r, %i, %v = kvq.extract_outliers %x {count = 2} : tensor<1x8x?x64xf32> -> tensor<1x8x?x64xf32>, tensor<1x8x?x3xi32>, tensor<1x8x?x2xf32>
  return
}

// -----

func.func @outliers_values(%x: tensor<1x8x5x64xf32>) {
  // expected-error @+1 {{values [1, 8, 4, 2] must be [B, H, S, count] = [1, 8, 5, 2]}}
  %r, %i, %v = kvq.extract_outliers %x {count = 2} : tensor<1x8x5x64xf32> -> tensor<1x8x5x64xf32>, tensor<1x8x5x2xi32>, tensor<1x8x4x2xf32>
  return
}

// -----

func.func @outliers_index_type(%x: tensor<1x8x5x64xf32>) {
  // expected-error @+1 {{result #1 must be ranked tensor of 32-bit signless integer values}}
  %r, %i, %v = kvq.extract_outliers %x {count = 2} : tensor<1x8x5x64xf32> -> tensor<1x8x5x64xf32>, tensor<1x8x5x2xi64>, tensor<1x8x5x2xf32>
  return
}

// -----

func.func @approx_rank_attr(%x: tensor<1x8x?x16xf32>) {
  // expected-error @+1 {{rank 17 exceeds the head dimension 16}}
  %a, %b = kvq.low_rank_approx %x {rank = 17} : tensor<1x8x?x16xf32> -> tensor<1x8x?x17xf32>, tensor<1x8x17x16xf32>
  return
}

// -----

func.func @approx_input(%x: tensor<8x?x16xf32>) {
  // expected-error @+1 {{input must have rank 4 ([B, H, S, D]), got rank 3}}
  %a, %b = kvq.low_rank_approx %x {rank = 2} : tensor<8x?x16xf32> -> tensor<8x?x2xf32>, tensor<8x2x16xf32>
  return
}

// -----

func.func @approx_iterations(%x: tensor<1x8x?x16xf32>) {
  // expected-error @+1 {{iterations must be non-negative, got -1}}
  %a, %b = kvq.low_rank_approx %x {rank = 2, iterations = -1} : tensor<1x8x?x16xf32> -> tensor<1x8x?x2xf32>, tensor<1x8x2x16xf32>
  return
}

// -----

func.func @approx_a(%x: tensor<1x8x?x16xf32>) {
  // expected-error @+1 {{a [1, 8, ?, 3] must be [B, H, S, rank] = [1, 8, ?, 2]}}
  %a, %b = kvq.low_rank_approx %x {rank = 2} : tensor<1x8x?x16xf32> -> tensor<1x8x?x3xf32>, tensor<1x8x2x16xf32>
  return
}

// -----

func.func @approx_b(%x: tensor<1x8x?x16xf32>) {
  // expected-error @+1 {{b [1, 8, 16, 2] must be [B, H, rank, D] = [1, 8, 2, 16]}}
  %a, %b = kvq.low_rank_approx %x {rank = 2} : tensor<1x8x?x16xf32> -> tensor<1x8x?x2xf32>, tensor<1x8x16x2xf32>
  return
}

// -----

func.func @decode_base(%d: tensor<1x8x?x?xf32>, %a: tensor<1x8x?x4xf32>, %b: tensor<1x8x4x16xf32>,
                       %i: tensor<1x8x?x2xi32>, %v: tensor<1x8x?x2xf32>) {
  // expected-error @+1 {{base's head dimension must be static}}
  %x = kvq.gear_decode %d, %a, %b, %i, %v : tensor<1x8x?x?xf32>, tensor<1x8x?x4xf32>, tensor<1x8x4x16xf32>,
      tensor<1x8x?x2xi32>, tensor<1x8x?x2xf32> -> tensor<1x8x?x?xf32>
  return
}

// -----

func.func @decode_a(%d: tensor<1x8x?x16xf32>, %a: tensor<1x4x?x4xf32>, %b: tensor<1x8x4x16xf32>,
                    %i: tensor<1x8x?x2xi32>, %v: tensor<1x8x?x2xf32>) {
  // expected-error @+1 {{a [1, 4, ?, 4] must be [B, H, S, R] with a static R, [B, H, S] = [1, 8, ?]}}
  %x = kvq.gear_decode %d, %a, %b, %i, %v : tensor<1x8x?x16xf32>, tensor<1x4x?x4xf32>, tensor<1x8x4x16xf32>,
      tensor<1x8x?x2xi32>, tensor<1x8x?x2xf32> -> tensor<1x8x?x16xf32>
  return
}

// -----

func.func @decode_b(%d: tensor<1x8x?x16xf32>, %a: tensor<1x8x?x4xf32>, %b: tensor<1x8x3x16xf32>,
                    %i: tensor<1x8x?x2xi32>, %v: tensor<1x8x?x2xf32>) {
  // expected-error @+1 {{b [1, 8, 3, 16] must be [B, H, R, D] = [1, 8, 4, 16]}}
  %x = kvq.gear_decode %d, %a, %b, %i, %v : tensor<1x8x?x16xf32>, tensor<1x8x?x4xf32>, tensor<1x8x3x16xf32>,
      tensor<1x8x?x2xi32>, tensor<1x8x?x2xf32> -> tensor<1x8x?x16xf32>
  return
}

// -----

func.func @decode_indices(%d: tensor<1x8x?x16xf32>, %a: tensor<1x8x?x4xf32>, %b: tensor<1x8x4x16xf32>,
                          %i: tensor<1x8x?x?xi32>, %v: tensor<1x8x?x2xf32>) {
  // expected-error @+1 {{indices [1, 8, ?, ?] must be [B, H, S, K] with a static K, [B, H, S] = [1, 8, ?]}}
  %x = kvq.gear_decode %d, %a, %b, %i, %v : tensor<1x8x?x16xf32>, tensor<1x8x?x4xf32>, tensor<1x8x4x16xf32>,
      tensor<1x8x?x?xi32>, tensor<1x8x?x2xf32> -> tensor<1x8x?x16xf32>
  return
}

// -----

func.func @decode_values(%d: tensor<1x8x?x16xf32>, %a: tensor<1x8x?x4xf32>, %b: tensor<1x8x4x16xf32>,
                         %i: tensor<1x8x?x2xi32>, %v: tensor<1x8x?x3xf32>) {
  // expected-error @+1 {{values [1, 8, ?, 3] must have the shape of the indices [1, 8, ?, 2]}}
  %x = kvq.gear_decode %d, %a, %b, %i, %v : tensor<1x8x?x16xf32>, tensor<1x8x?x4xf32>, tensor<1x8x4x16xf32>,
      tensor<1x8x?x2xi32>, tensor<1x8x?x3xf32> -> tensor<1x8x?x16xf32>
  return
}

// -----

func.func @decode_result(%d: tensor<1x8x?x16xf32>, %a: tensor<1x8x?x4xf32>, %b: tensor<1x8x4x16xf32>,
                         %i: tensor<1x8x?x2xi32>, %v: tensor<1x8x?x2xf32>) {
  // expected-error @+1 {{result [1, 8, ?, 8] must have the base's shape [1, 8, ?, 16]}}
  %x = kvq.gear_decode %d, %a, %b, %i, %v : tensor<1x8x?x16xf32>, tensor<1x8x?x4xf32>, tensor<1x8x4x16xf32>,
      tensor<1x8x?x2xi32>, tensor<1x8x?x2xf32> -> tensor<1x8x?x8xf32>
  return
}

// -----

func.func @xkv_no_input() {
  // expected-error @+1 {{needs at least one input}}
  %c = "kvq.cross_layer_basis"() {rank = 4 : i64} : () -> tensor<1x8x5x4xf32>
  return
}

// -----

func.func @xkv_input(%k0: tensor<1x8x?x?xf32>) {
  // expected-error @+1 {{input's head dimension must be static}}
  %c, %u = kvq.cross_layer_basis %k0 {rank = 4} : tensor<1x8x?x?xf32> -> tensor<1x8x?x4xf32>, tensor<8x?x4xf32>
  return
}

// -----

func.func @xkv_shapes(%k0: tensor<1x8x?x16xf32>, %k1: tensor<1x4x?x16xf32>) {
  // expected-error @+1 {{input 1 [1, 4, ?, 16] must have the shape of input 0 [1, 8, ?, 16]}}
  %c, %u:2 = kvq.cross_layer_basis %k0, %k1 {rank = 4} : tensor<1x8x?x16xf32>, tensor<1x4x?x16xf32>
      -> tensor<1x8x?x4xf32>, tensor<8x16x4xf32>, tensor<8x16x4xf32>
  return
}

// -----

func.func @xkv_rank(%k0: tensor<1x8x?x16xf32>, %k1: tensor<1x8x?x16xf32>) {
  // expected-error @+1 {{rank 33 exceeds the stacked feature count G * D = 32}}
  %c, %u:2 = kvq.cross_layer_basis %k0, %k1 {rank = 33} : tensor<1x8x?x16xf32>, tensor<1x8x?x16xf32>
      -> tensor<1x8x?x33xf32>, tensor<8x16x33xf32>, tensor<8x16x33xf32>
  return
}

// -----

func.func @xkv_iterations(%k0: tensor<1x8x?x16xf32>) {
  // expected-error @+1 {{iterations must be non-negative, got -2}}
  %c, %u = kvq.cross_layer_basis %k0 {rank = 4, iterations = -2} : tensor<1x8x?x16xf32>
      -> tensor<1x8x?x4xf32>, tensor<8x16x4xf32>
  return
}

// -----

func.func @xkv_coordinates(%k0: tensor<1x8x?x16xf32>) {
  // expected-error @+1 {{coordinates [1, 8, ?, 5] must be [B, H, S, rank] = [1, 8, ?, 4]}}
  %c, %u = kvq.cross_layer_basis %k0 {rank = 4} : tensor<1x8x?x16xf32> -> tensor<1x8x?x5xf32>, tensor<8x16x4xf32>
  return
}

// -----

func.func @xkv_basis_count(%k0: tensor<1x8x?x16xf32>, %k1: tensor<1x8x?x16xf32>) {
  // expected-error @+1 {{needs one basis per input (2), got 1}}
  %c, %u = kvq.cross_layer_basis %k0, %k1 {rank = 4} : tensor<1x8x?x16xf32>, tensor<1x8x?x16xf32>
      -> tensor<1x8x?x4xf32>, tensor<8x16x4xf32>
  return
}

// -----

func.func @xkv_basis(%k0: tensor<1x8x?x16xf32>, %k1: tensor<1x8x?x16xf32>) {
  // expected-error @+1 {{basis 1 [8, 32, 4] must be [H, D, rank] = [8, 16, 4]}}
  %c, %u:2 = kvq.cross_layer_basis %k0, %k1 {rank = 4} : tensor<1x8x?x16xf32>, tensor<1x8x?x16xf32>
      -> tensor<1x8x?x4xf32>, tensor<8x16x4xf32>, tensor<8x32x4xf32>
  return
}
