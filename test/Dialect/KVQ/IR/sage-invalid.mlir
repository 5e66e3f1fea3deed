// RUN: kvq-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{fragment rows, period and run must be positive, but got 32, 0, 1}}
func.func private @fragment_positive() attributes {s = #kvq.quant<i8, symmetric, fragment(rows = 32, period = 0, run = 1)>}

// -----

// expected-error @+1 {{fragment rows (36) must be a multiple of the period (8) and the period a multiple of the run (1)}}
func.func private @fragment_rows() attributes {s = #kvq.quant<i8, symmetric, fragment(rows = 36, period = 8, run = 1)>}

// -----

// expected-error @+1 {{fragment rows (64) must be a multiple of the period (8) and the period a multiple of the run (3)}}
func.func private @fragment_run() attributes {s = #kvq.quant<i8, symmetric, fragment(rows = 64, period = 8, run = 3)>}

// -----

func.func @fragment_rank(%x: tensor<16xf32>) {
  // expected-error @+1 {{granularity 'fragment' needs data of rank >= 2}}
  %c, %s = kvq.quantize #kvq.quant<i8, symmetric, fragment(rows = 32, period = 8, run = 1)> %x
      : tensor<16xf32> -> tensor<16xi8>, tensor<8xf32>
  return
}

// -----

func.func @fragment_scale_shape(%x: tensor<1x1x70x16xf32>) {
  // expected-error @+1 {{result scale shape must be [1, 1, 12, 1] for the scheme's 'fragment' granularity on data of shape [1, 1, 70, 16], but got [1, 1, 3, 1]}}
  %c, %s = kvq.quantize #kvq.quant<i8, symmetric, fragment(rows = 32, period = 8, run = 2)> %x
      : tensor<1x1x70x16xf32> -> tensor<1x1x70x16xi8>, tensor<1x1x3x1xf32>
  return
}

// -----

func.func @query_zero_point(%q: tensor<1x1x4x16xi8>, %s: tensor<1x1x4x1xf32>, %k: tensor<1x1x8x16xf32>) {
  // expected-error @+2 {{quantized queries take no zero point}}
  %o = kvq.attention
      q(%q : tensor<1x1x4x16xi8>, #kvq.quant<i8, asymmetric, token>, scale %s : tensor<1x1x4x1xf32>, zero_point %s : tensor<1x1x4x1xf32>)
      k(%k : tensor<1x1x8x16xf32>) v(%k : tensor<1x1x8x16xf32>) -> tensor<1x1x4x16xf32>
  return
}

// -----

func.func @query_asymmetric(%q: tensor<1x1x4x16xi8>, %s: tensor<1x1x4x1xf32>, %k: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{query scheme must be symmetric, but got #kvq.quant<i8, asymmetric, token>}}
  %o = kvq.attention q(%q : tensor<1x1x4x16xi8>, #kvq.quant<i8, asymmetric, token>, scale %s : tensor<1x1x4x1xf32>)
      k(%k : tensor<1x1x8x16xf32>) v(%k : tensor<1x1x8x16xf32>) -> tensor<1x1x4x16xf32>
  return
}

// -----

func.func @query_storage(%q: tensor<1x1x4x16xi8>, %s: tensor<1x1x4x1xf32>, %k: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{query codes must have the scheme's storage type 'i4', but got 'i8'}}
  %o = kvq.attention q(%q : tensor<1x1x4x16xi8>, #kvq.quant<i4, symmetric, token>, scale %s : tensor<1x1x4x1xf32>)
      k(%k : tensor<1x1x8x16xf32>) v(%k : tensor<1x1x8x16xf32>) -> tensor<1x1x4x16xf32>
  return
}

// -----

func.func @query_scale_shape(%q: tensor<1x1x4x16xi8>, %s: tensor<1x1x4x1xf32>, %k: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{query scale shape must be [1, 1, 8, 1] for the scheme's 'fragment' granularity on data of shape [1, 1, 4, 16], but got [1, 1, 4, 1]}}
  %o = kvq.attention q(%q : tensor<1x1x4x16xi8>, #kvq.quant<i8, symmetric, fragment(rows = 32, period = 8, run = 1)>, scale %s : tensor<1x1x4x1xf32>)
      k(%k : tensor<1x1x8x16xf32>) v(%k : tensor<1x1x8x16xf32>) -> tensor<1x1x4x16xf32>
  return
}

// -----

func.func @query_not_float(%q: tensor<1x1x4x16xi8>, %k: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{query must be floating point unless a quantization scheme is given, but has element type 'i8'}}
  %o = kvq.attention q(%q : tensor<1x1x4x16xi8>) k(%k : tensor<1x1x8x16xf32>) v(%k : tensor<1x1x8x16xf32>) -> tensor<1x1x4x16xf32>
  return
}

// -----

func.func @query_scale_no_scheme(%q: tensor<1x1x4x16xf32>, %s: tensor<1x1x4x1xf32>, %k: tensor<1x1x8x16xf32>) {
  // The custom syntax cannot express a scale without a scheme.
  // expected-error @+1 {{query has a scale but no scheme}}
  %o = "kvq.attention"(%q, %k, %k, %s) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 1, 0>}>
      : (tensor<1x1x4x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x4x1xf32>) -> tensor<1x1x4x16xf32>
  return
}

// -----

func.func @delta_s_rows_missing(%q: tensor<1x1x4x16xf32>, %k: tensor<1x1x8x16xf32>, %ds: tensor<1x1x1x8xf32>) {
  // expected-error @+1 {{delta_s needs the delta_s_rows attribute}}
  %o = kvq.attention q(%q : tensor<1x1x4x16xf32>) k(%k : tensor<1x1x8x16xf32>) v(%k : tensor<1x1x8x16xf32>)
      delta_s(%ds : tensor<1x1x1x8xf32>) -> tensor<1x1x4x16xf32>
  return
}

// -----

func.func @delta_s_shape(%q: tensor<1x1x4x16xf32>, %k: tensor<1x1x8x16xf32>, %ds: tensor<1x1x4x8xf32>) {
  // expected-error @+1 {{delta_s must be f32 [B, Hq, ceildiv(Sq, delta_s_rows), Skv] = [1, 1, 2, 8], but got 'tensor<1x1x4x8xf32>'}}
  %o = kvq.attention q(%q : tensor<1x1x4x16xf32>) k(%k : tensor<1x1x8x16xf32>) v(%k : tensor<1x1x8x16xf32>)
      delta_s(%ds : tensor<1x1x4x8xf32>) {delta_s_rows = 2 : i64} -> tensor<1x1x4x16xf32>
  return
}

// -----

func.func @delta_s_rows_alone(%q: tensor<1x1x4x16xf32>, %k: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{delta_s_rows is given without delta_s}}
  %o = kvq.attention q(%q : tensor<1x1x4x16xf32>) k(%k : tensor<1x1x8x16xf32>) v(%k : tensor<1x1x8x16xf32>)
      {delta_s_rows = 2 : i64} -> tensor<1x1x4x16xf32>
  return
}

// -----

func.func @delta_s_rows_positive(%q: tensor<1x1x4x16xf32>, %k: tensor<1x1x8x16xf32>, %ds: tensor<1x1x1x8xf32>) {
  // expected-error @+2 {{attribute 'delta_s_rows' failed to satisfy constraint}}
  %o = kvq.attention q(%q : tensor<1x1x4x16xf32>) k(%k : tensor<1x1x8x16xf32>) v(%k : tensor<1x1x8x16xf32>)
      delta_s(%ds : tensor<1x1x1x8xf32>) {delta_s_rows = 0 : i64} -> tensor<1x1x4x16xf32>
  return
}

// -----

func.func @p_type(%q: tensor<1x1x4x16xf32>, %k: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{p_type must be f8E4M3FN, f16 or bf16, but got 'f32'}}
  %o = kvq.attention q(%q : tensor<1x1x4x16xf32>) k(%k : tensor<1x1x8x16xf32>) v(%k : tensor<1x1x8x16xf32>)
      {p_type = f32} -> tensor<1x1x4x16xf32>
  return
}

// -----

func.func @sage_rank(%q: tensor<4x16xf32>, %k: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{query must have rank 4 [batch, heads, seq, dim], but got rank 2}}
  %o = kvq.sage_attention q(%q : tensor<4x16xf32>) k(%k : tensor<1x1x8x16xf32>) v(%k : tensor<1x1x8x16xf32>) -> tensor<1x1x4x16xf32>
  return
}

// -----

func.func @sage_shapes(%q: tensor<1x1x4x16xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x9x16xf32>) {
  // expected-error @+1 {{query, key and value shapes are incompatible: [1, 1, 4, 16], [1, 1, 8, 16], [1, 1, 9, 16]}}
  %o = kvq.sage_attention q(%q : tensor<1x1x4x16xf32>) k(%k : tensor<1x1x8x16xf32>) v(%v : tensor<1x1x9x16xf32>) -> tensor<1x1x4x16xf32>
  return
}

// -----

func.func @sage_head_dim(%q: tensor<1x1x4x?xf32>, %k: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{query and key must have the same static head dimension, but got ? and 16}}
  %o = kvq.sage_attention q(%q : tensor<1x1x4x?xf32>) k(%k : tensor<1x1x8x16xf32>) v(%k : tensor<1x1x8x16xf32>) -> tensor<1x1x4x16xf32>
  return
}

// -----

func.func @sage_value_dim(%q: tensor<1x1x4x16xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x8x?xf32>) {
  // expected-error @+1 {{the value head dimension must be static}}
  %o = kvq.sage_attention q(%q : tensor<1x1x4x16xf32>) k(%k : tensor<1x1x8x16xf32>) v(%v : tensor<1x1x8x?xf32>) -> tensor<1x1x4x?xf32>
  return
}

// -----

func.func @sage_heads(%q: tensor<1x3x4x16xf32>, %k: tensor<1x2x8x16xf32>) {
  // expected-error @+1 {{query heads (3) must be a multiple of key/value heads (2)}}
  %o = kvq.sage_attention q(%q : tensor<1x3x4x16xf32>) k(%k : tensor<1x2x8x16xf32>) v(%k : tensor<1x2x8x16xf32>) -> tensor<1x3x4x16xf32>
  return
}

// -----

func.func @sage_result(%q: tensor<1x1x4x16xf32>, %k: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{result must be [B, Hq, Sq, Dv] = [1, 1, 4, 16] of the query's element type, but got 'tensor<1x1x4x16xf16>'}}
  %o = kvq.sage_attention q(%q : tensor<1x1x4x16xf32>) k(%k : tensor<1x1x8x16xf32>) v(%k : tensor<1x1x8x16xf32>) -> tensor<1x1x4x16xf16>
  return
}

// -----

func.func @sage_qk(%q: tensor<1x1x4x16xf32>, %k: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{qk must be i8 or i4, but got 'i2'}}
  %o = kvq.sage_attention q(%q : tensor<1x1x4x16xf32>) k(%k : tensor<1x1x8x16xf32>) v(%k : tensor<1x1x8x16xf32>) {qk = i2} -> tensor<1x1x4x16xf32>
  return
}

// -----

func.func @sage_i4_odd(%q: tensor<1x1x4x15xf32>, %k: tensor<1x1x8x15xf32>) {
  // expected-error @+1 {{i4 queries and keys need an even head dimension, but got 15}}
  %o = kvq.sage_attention q(%q : tensor<1x1x4x15xf32>) k(%k : tensor<1x1x8x15xf32>) v(%k : tensor<1x1x8x15xf32>) {qk = i4} -> tensor<1x1x4x15xf32>
  return
}

// -----

func.func @sage_pv(%q: tensor<1x1x4x16xf32>, %k: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{pv must be f8E4M3FN or f16, but got 'f8E5M2'}}
  %o = kvq.sage_attention q(%q : tensor<1x1x4x16xf32>) k(%k : tensor<1x1x8x16xf32>) v(%k : tensor<1x1x8x16xf32>) {pv = f8E5M2} -> tensor<1x1x4x16xf32>
  return
}

// -----

func.func @sage_granularity(%q: tensor<1x1x4x16xf32>, %k: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{granularity must be "block", "warp" or "thread", but got "tensor"}}
  %o = kvq.sage_attention q(%q : tensor<1x1x4x16xf32>) k(%k : tensor<1x1x8x16xf32>) v(%k : tensor<1x1x8x16xf32>) {granularity = "tensor"} -> tensor<1x1x4x16xf32>
  return
}

// -----

func.func @sage_scale(%q: tensor<1x1x4x16xf32>, %k: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{scale must be finite and non-zero, but got 0}}
  %o = kvq.sage_attention q(%q : tensor<1x1x4x16xf32>) k(%k : tensor<1x1x8x16xf32>) v(%k : tensor<1x1x8x16xf32>) {scale = 0.0 : f32} -> tensor<1x1x4x16xf32>
  return
}
