// RUN: kvq-opt %s -split-input-file -verify-diagnostics

func.func @rank(%k: tensor<2x?x20xf32>) {
  // expected-error @+1 {{input must have rank 4 ([B, H, S, D]), got rank 3}}
  %e:6 = kvq.vidkv_encode_key %k : tensor<2x?x20xf32> -> tensor<2x?x3xi8>, tensor<2x?x10xf32>,
      tensor<2x?x10xf32>, tensor<2x?x2xi8>, tensor<2x?x10xf32>, tensor<2x20xi32>
  return
}

// -----

func.func @dynamic_head_dim(%v: tensor<1x2x8x?xf32>) {
  // expected-error @+1 {{the head dimension must be static}}
  %c, %s = kvq.vidkv_encode_value %v : tensor<1x2x8x?xf32> -> tensor<1x2x8x?xi8>, tensor<1x2x1x?xf32>
  return
}

// -----

func.func @group_size(%v: tensor<1x2x8x20xf32>) {
  // expected-error @+1 {{group_size must be positive, got 0}}
  %c, %s = kvq.vidkv_encode_value %v {group_size = 0}
      : tensor<1x2x8x20xf32> -> tensor<1x2x8x4xi8>, tensor<1x2x1x20xf32>
  return
}

// -----

func.func @ratio(%k: tensor<1x2x?x20xf32>) {
  // expected-error @+1 {{ratio 1.000000e+00 must leave at least one high and one low channel of 20}}
  %e:6 = kvq.vidkv_encode_key %k {ratio = 1.0 : f64} : tensor<1x2x?x20xf32> -> tensor<1x2x?x5xi8>,
      tensor<1x2x?x20xf32>, tensor<1x2x?x20xf32>, tensor<1x2x?x0xi8>, tensor<1x2x?x0xf32>, tensor<1x2x20xi32>
  return
}

// -----

func.func @high_codes(%k: tensor<1x2x?x20xf32>) {
  // expected-error @+1 {{high_codes [1, 2, ?, 10] must be [B, H, S, ceil(n_high / 4)] = [1, 2, ?, 3]}}
  %e:6 = kvq.vidkv_encode_key %k : tensor<1x2x?x20xf32> -> tensor<1x2x?x10xi8>, tensor<1x2x?x10xf32>,
      tensor<1x2x?x10xf32>, tensor<1x2x?x2xi8>, tensor<1x2x?x10xf32>, tensor<1x2x20xi32>
  return
}

// -----

func.func @low_scale_groups(%k: tensor<1x2x45x20xf32>) {
  // expected-error @+1 {{low_scale [1, 2, 45, 10] must be [B, H, ceil(S / G), N] = [1, 2, 2, 10]}}
  %e:6 = kvq.vidkv_encode_key %k : tensor<1x2x45x20xf32> -> tensor<1x2x45x3xi8>, tensor<1x2x2x10xf32>,
      tensor<1x2x2x10xf32>, tensor<1x2x45x2xi8>, tensor<1x2x45x10xf32>, tensor<1x2x20xi32>
  return
}

// -----

func.func @channels(%k: tensor<1x2x?x20xf32>) {
  // expected-error @+1 {{channels [1, 20] must be [B, H, D] = [1, 2, 20]}}
  %e:6 = kvq.vidkv_encode_key %k : tensor<1x2x?x20xf32> -> tensor<1x2x?x3xi8>, tensor<1x2x?x10xf32>,
      tensor<1x2x?x10xf32>, tensor<1x2x?x2xi8>, tensor<1x2x?x10xf32>, tensor<1x20xi32>
  return
}

// -----

func.func @side_types(%k: tensor<1x2x?x20xf32>) {
  // expected-error @+1 {{high_scale, high_min and low_scale must share one element type}}
  %e:6 = kvq.vidkv_encode_key %k : tensor<1x2x?x20xf32> -> tensor<1x2x?x3xi8>, tensor<1x2x?x10xf32>,
      tensor<1x2x?x10xf16>, tensor<1x2x?x2xi8>, tensor<1x2x?x10xf32>, tensor<1x2x20xi32>
  return
}

// -----

func.func @decode_counts(%hc: tensor<1x2x?x3xi8>, %hs: tensor<1x2x?x10xf32>, %lc: tensor<1x2x?x2xi8>,
                         %ls: tensor<1x2x?x9xf32>, %ch: tensor<1x2x20xi32>) {
  // expected-error @+1 {{the channel counts of high_scale and low_scale must be static, positive and sum to D = 20}}
  %r = kvq.vidkv_decode_key %hc, %hs, %hs, %lc, %ls, %ch
      : tensor<1x2x?x3xi8>, tensor<1x2x?x10xf32>, tensor<1x2x?x10xf32>, tensor<1x2x?x2xi8>,
        tensor<1x2x?x9xf32>, tensor<1x2x20xi32> -> tensor<1x2x?x20xf32>
  return
}

// -----

func.func @decode_rank(%hc: tensor<1x2x?x3xi8>, %hs: tensor<1x2x?x10xf32>, %lc: tensor<1x2x?x2xi8>,
                       %ch: tensor<1x2x20xi32>) {
  // expected-error @+1 {{result must have rank 4 ([B, H, S, D]), got rank 3}}
  %r = kvq.vidkv_decode_key %hc, %hs, %hs, %lc, %hs, %ch
      : tensor<1x2x?x3xi8>, tensor<1x2x?x10xf32>, tensor<1x2x?x10xf32>, tensor<1x2x?x2xi8>,
        tensor<1x2x?x10xf32>, tensor<1x2x20xi32> -> tensor<2x?x20xf32>
  return
}

// -----

func.func @value_codes(%v: tensor<1x2x8x20xf32>) {
  // expected-error @+1 {{codes [1, 2, 8, 5] must be [B, H, S, ceil(D / 5)] = [1, 2, 8, 4]}}
  %c, %s = kvq.vidkv_encode_value %v : tensor<1x2x8x20xf32> -> tensor<1x2x8x5xi8>, tensor<1x2x1x20xf32>
  return
}

// -----

func.func @value_scale(%c: tensor<1x2x?x4xi8>, %s: tensor<1x2x?x16xf32>) {
  // expected-error @+1 {{scale [1, 2, ?, 16] must be [B, H, ceil(S / G), D] = [1, 2, ?, 20]}}
  %r = kvq.vidkv_decode_value %c, %s : tensor<1x2x?x4xi8>, tensor<1x2x?x16xf32> -> tensor<1x2x?x20xf32>
  return
}

// -----

func.func @value_code_type(%c: tensor<1x2x8x4xi32>, %s: tensor<1x2x1x20xf32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 8-bit signless integer values}}
  %r = kvq.vidkv_decode_value %c, %s : tensor<1x2x8x4xi32>, tensor<1x2x1x20xf32> -> tensor<1x2x8x20xf32>
  return
}

// -----

func.func @slots_rank(%h: tensor<1x2x?x8xf32>, %lc: tensor<1x2x?x2xi8>, %ls: tensor<1x2x?x12xf32>) {
  // expected-error @+1 {{result must have rank 4 ([B, H, S, D]), got rank 3}}
  %k = kvq.vidkv_decode_key_slots %h, %lc, %ls
      : tensor<1x2x?x8xf32>, tensor<1x2x?x2xi8>, tensor<1x2x?x12xf32> -> tensor<2x?x20xf32>
  return
}

// -----

func.func @slots_dynamic_head_dim(%h: tensor<1x2x?x8xf32>, %lc: tensor<1x2x?x2xi8>, %ls: tensor<1x2x?x12xf32>) {
  // expected-error @+1 {{the head dimension must be static}}
  %k = kvq.vidkv_decode_key_slots %h, %lc, %ls
      : tensor<1x2x?x8xf32>, tensor<1x2x?x2xi8>, tensor<1x2x?x12xf32> -> tensor<1x2x?x?xf32>
  return
}

// -----

func.func @slots_group_size(%h: tensor<1x2x?x8xf32>, %lc: tensor<1x2x?x2xi8>, %ls: tensor<1x2x?x12xf32>) {
  // expected-error @+1 {{group_size must be positive, got -1}}
  %k = kvq.vidkv_decode_key_slots %h, %lc, %ls {group_size = -1}
      : tensor<1x2x?x8xf32>, tensor<1x2x?x2xi8>, tensor<1x2x?x12xf32> -> tensor<1x2x?x20xf32>
  return
}

// -----

func.func @slots_parts_rank(%h: tensor<2x?x8xf32>, %lc: tensor<1x2x?x2xi8>, %ls: tensor<1x2x?x12xf32>) {
  // expected-error @+1 {{high and low_scale must have rank 4}}
  %k = kvq.vidkv_decode_key_slots %h, %lc, %ls
      : tensor<2x?x8xf32>, tensor<1x2x?x2xi8>, tensor<1x2x?x12xf32> -> tensor<1x2x?x20xf32>
  return
}

// -----

func.func @slots_counts(%h: tensor<1x2x?x8xf32>, %lc: tensor<1x2x?x2xi8>, %ls: tensor<1x2x?x12xf32>) {
  // expected-error @+1 {{the channel counts of high and low_scale must be static, positive and sum to D = 24}}
  %k = kvq.vidkv_decode_key_slots %h, %lc, %ls
      : tensor<1x2x?x8xf32>, tensor<1x2x?x2xi8>, tensor<1x2x?x12xf32> -> tensor<1x2x?x24xf32>
  return
}

// -----

func.func @slots_high_shape(%h: tensor<1x3x?x8xf32>, %lc: tensor<1x2x?x2xi8>, %ls: tensor<1x2x?x12xf32>) {
  // expected-error @+1 {{high [1, 3, ?, 8] must be [B, H, S, n_high] = [1, 2, ?, 8]}}
  %k = kvq.vidkv_decode_key_slots %h, %lc, %ls
      : tensor<1x3x?x8xf32>, tensor<1x2x?x2xi8>, tensor<1x2x?x12xf32> -> tensor<1x2x?x20xf32>
  return
}

// -----

func.func @slots_low_codes(%h: tensor<1x2x?x8xf32>, %lc: tensor<1x2x?x1xi8>, %ls: tensor<1x2x?x12xf32>) {
  // expected-error @+1 {{low_codes [1, 2, ?, 1] must be [B, H, S, ceil(N / 8)] = [1, 2, ?, 2]}}
  %k = kvq.vidkv_decode_key_slots %h, %lc, %ls
      : tensor<1x2x?x8xf32>, tensor<1x2x?x1xi8>, tensor<1x2x?x12xf32> -> tensor<1x2x?x20xf32>
  return
}

// -----

func.func @slots_low_scale(%h: tensor<1x2x40x8xf32>, %lc: tensor<1x2x40x2xi8>, %ls: tensor<1x2x1x12xf32>) {
  // expected-error @+1 {{low_scale [1, 2, 1, 12] must be [B, H, ceil(S / G), N] = [1, 2, 2, 12]}}
  %k = kvq.vidkv_decode_key_slots %h, %lc, %ls
      : tensor<1x2x40x8xf32>, tensor<1x2x40x2xi8>, tensor<1x2x1x12xf32> -> tensor<1x2x40x20xf32>
  return
}

// -----

func.func @project_rank(%q: tensor<4x1x20xf32>, %ch: tensor<1x2x20xi32>) {
  // expected-error @+1 {{query must have rank 4 ([B, H, S, D]), got rank 3}}
  %p = kvq.vidkv_project_query %q, %ch {n_high = 8} : tensor<4x1x20xf32>, tensor<1x2x20xi32> -> tensor<4x1x20xf32>
  return
}

// -----

func.func @project_dynamic_head_dim(%q: tensor<1x4x1x?xf32>, %ch: tensor<1x2x20xi32>) {
  // expected-error @+1 {{the head dimension must be static}}
  %p = kvq.vidkv_project_query %q, %ch {n_high = 8} : tensor<1x4x1x?xf32>, tensor<1x2x20xi32> -> tensor<1x4x1x?xf32>
  return
}

// -----

func.func @project_n_high(%q: tensor<1x4x1x20xf32>, %ch: tensor<1x2x20xi32>) {
  // expected-error @+1 {{n_high 20 must leave at least one high and one low channel of 20}}
  %p = kvq.vidkv_project_query %q, %ch {n_high = 20} : tensor<1x4x1x20xf32>, tensor<1x2x20xi32> -> tensor<1x4x1x20xf32>
  return
}

// -----

func.func @project_channels_rank(%q: tensor<1x4x1x20xf32>, %ch: tensor<2x20xi32>) {
  // expected-error @+1 {{channels must have rank 3 ([B, Hk, D]), got rank 2}}
  %p = kvq.vidkv_project_query %q, %ch {n_high = 8} : tensor<1x4x1x20xf32>, tensor<2x20xi32> -> tensor<1x4x1x20xf32>
  return
}

// -----

func.func @project_channels_shape(%q: tensor<1x4x1x20xf32>, %ch: tensor<1x2x24xi32>) {
  // expected-error @+1 {{channels [1, 2, 24] must be [B, Hk, D] = [1, 2, 20]}}
  %p = kvq.vidkv_project_query %q, %ch {n_high = 8} : tensor<1x4x1x20xf32>, tensor<1x2x24xi32> -> tensor<1x4x1x20xf32>
  return
}

// -----

func.func @project_heads(%q: tensor<1x4x1x20xf32>, %ch: tensor<1x3x20xi32>) {
  // expected-error @+1 {{query has 4 heads, not a multiple of the 3 heads of channels}}
  %p = kvq.vidkv_project_query %q, %ch {n_high = 8} : tensor<1x4x1x20xf32>, tensor<1x3x20xi32> -> tensor<1x4x1x20xf32>
  return
}

// -----

func.func @project_result(%q: tensor<1x4x1x20xf32>, %ch: tensor<1x2x20xi32>) {
  // expected-error @+1 {{result [1, 4, 2, 20] must be the query's shape = [1, 4, 1, 20]}}
  %p = kvq.vidkv_project_query %q, %ch {n_high = 8} : tensor<1x4x1x20xf32>, tensor<1x2x20xi32> -> tensor<1x4x2x20xf32>
  return
}
