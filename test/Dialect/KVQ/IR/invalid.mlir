// RUN: kvq-opt %s -split-input-file -verify-diagnostics

func.func @quantize_codes_shape(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{codes shape [4, 32] must match the input shape [4, 64]}}
  %c, %s = kvq.quantize #kvq.quant<i8, symmetric, token> %x : tensor<4x64xf32> -> tensor<4x32xi8>, tensor<4x1xf32>
  return
}

// -----

func.func @quantize_codes_type(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{result codes must have the scheme's storage type 'i4', but got 'i8'}}
  %c, %s = kvq.quantize #kvq.quant<i4, symmetric, token> %x : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4x1xf32>
  return
}

// -----

func.func @quantize_scale_shape(%x: tensor<4x100xf32>) {
  // expected-error @+1 {{result scale shape must be [4, 4] for the scheme's 'group' granularity on data of shape [4, 100], but got [4, 3]}}
  %c, %s = kvq.quantize #kvq.quant<i8, symmetric, group(axis = 1, size = 32)> %x : tensor<4x100xf32> -> tensor<4x100xi8>, tensor<4x3xf32>
  return
}

// -----

func.func @quantize_scale_type(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{result scale must have the scheme's scale type 'f16', but got 'f32'}}
  %c, %s = kvq.quantize #kvq.quant<i8, symmetric, token, scale = f16> %x : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4x1xf32>
  return
}

// -----

func.func @quantize_missing_zero_point(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{result uses an asymmetric scheme and needs a zero point}}
  %c, %s = kvq.quantize #kvq.quant<i8, asymmetric, token> %x : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4x1xf32>
  return
}

// -----

func.func @quantize_extra_zero_point(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{result uses a symmetric scheme and takes no zero point}}
  %c, %s, %z = kvq.quantize #kvq.quant<i8, symmetric, token> %x : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4x1xf32>, tensor<4x1xf32>
  return
}

// -----

func.func @quantize_zero_point_shape(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{result zero point shape must be [4, 1] for the scheme's 'token' granularity on data of shape [4, 64], but got [1, 64]}}
  %c, %s, %z = kvq.quantize #kvq.quant<i8, asymmetric, token> %x : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4x1xf32>, tensor<1x64xf32>
  return
}

// -----

func.func @quantize_rank(%x: tensor<64xf32>) {
  // expected-error @+1 {{result: granularity 'token' needs data of rank >= 2 (tokens x channels), but got rank 1}}
  %c, %s = kvq.quantize #kvq.quant<i8, symmetric, token> %x : tensor<64xf32> -> tensor<64xi8>, tensor<1xf32>
  return
}

// -----

func.func @quantize_group_axis(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{result: group axis 2 is out of range for data of rank 2}}
  %c, %s = kvq.quantize #kvq.quant<i8, symmetric, group(axis = 2, size = 8)> %x : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4x64xf32>
  return
}

// -----

func.func @quantize_int_input(%x: tensor<4x64xi32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of floating-point values}}
  %c, %s = kvq.quantize #kvq.quant<i8, symmetric, token> %x : tensor<4x64xi32> -> tensor<4x64xi8>, tensor<4x1xf32>
  return
}

// -----

func.func @dequantize_result_shape(%c: tensor<4x64xi8>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{result shape [4, 32] must match the codes shape [4, 64]}}
  %x = kvq.dequantize #kvq.quant<i8, symmetric, token> %c, %s : tensor<4x64xi8>, tensor<4x1xf32> -> tensor<4x32xf32>
  return
}

// -----

func.func @dequantize_codes_type(%c: tensor<4x64xi8>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{operand codes must have the scheme's storage type 'f8E4M3FN', but got 'i8'}}
  %x = kvq.dequantize #kvq.quant<f8E4M3FN, symmetric, token> %c, %s : tensor<4x64xi8>, tensor<4x1xf32> -> tensor<4x64xf32>
  return
}

// -----

func.func @dequantize_scale_shape(%c: tensor<4x64xi8>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{operand scale shape must be [1, 64] for the scheme's 'channel' granularity on data of shape [4, 64], but got [4, 1]}}
  %x = kvq.dequantize #kvq.quant<i8, symmetric, channel> %c, %s : tensor<4x64xi8>, tensor<4x1xf32> -> tensor<4x64xf32>
  return
}

// -----

func.func @dequantize_missing_zero_point(%c: tensor<4x64xi8>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{operand uses an asymmetric scheme and needs a zero point}}
  %x = kvq.dequantize #kvq.quant<i8, asymmetric, token> %c, %s : tensor<4x64xi8>, tensor<4x1xf32> -> tensor<4x64xf32>
  return
}

// -----

func.func @attention_rank(%q: tensor<32x1x128xf32>, %k: tensor<1x8x16x128xf32>) {
  // expected-error @+1 {{query must have rank 4 [batch, heads, seq, dim], but got rank 3}}
  %o = kvq.attention q(%q : tensor<32x1x128xf32>) k(%k : tensor<1x8x16x128xf32>) v(%k : tensor<1x8x16x128xf32>) -> tensor<1x32x1x128xf32>
  return
}

// -----

func.func @attention_batch(%q: tensor<2x32x1x128xf32>, %k: tensor<1x8x16x128xf32>) {
  // expected-error @+1 {{query, key and value must have the same batch size, but got [2, 32, 1, 128], [1, 8, 16, 128], [1, 8, 16, 128]}}
  %o = kvq.attention q(%q : tensor<2x32x1x128xf32>) k(%k : tensor<1x8x16x128xf32>) v(%k : tensor<1x8x16x128xf32>) -> tensor<2x32x1x128xf32>
  return
}

// -----

func.func @attention_kv_heads(%q: tensor<1x32x1x128xf32>, %k: tensor<1x8x16x128xf32>, %v: tensor<1x4x16x128xf32>) {
  // expected-error @+1 {{key and value must have the same number of heads}}
  %o = kvq.attention q(%q : tensor<1x32x1x128xf32>) k(%k : tensor<1x8x16x128xf32>) v(%v : tensor<1x4x16x128xf32>) -> tensor<1x32x1x128xf32>
  return
}

// -----

func.func @attention_gqa(%q: tensor<1x12x1x128xf32>, %k: tensor<1x8x16x128xf32>) {
  // expected-error @+1 {{query heads (12) must be a multiple of key/value heads (8) for grouped-query attention}}
  %o = kvq.attention q(%q : tensor<1x12x1x128xf32>) k(%k : tensor<1x8x16x128xf32>) v(%k : tensor<1x8x16x128xf32>) -> tensor<1x12x1x128xf32>
  return
}

// -----

func.func @attention_zero_heads(%q: tensor<1x0x1x128xf32>, %k: tensor<1x0x16x128xf32>) {
  // expected-error @+1 {{key/value must have at least one head}}
  %o = kvq.attention q(%q : tensor<1x0x1x128xf32>) k(%k : tensor<1x0x16x128xf32>) v(%k : tensor<1x0x16x128xf32>) -> tensor<1x0x1x128xf32>
  return
}

// -----

func.func @attention_kv_len(%q: tensor<1x8x1x128xf32>, %k: tensor<1x8x16x128xf32>, %v: tensor<1x8x17x128xf32>) {
  // expected-error @+1 {{key and value must have the same sequence length}}
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x8x16x128xf32>) v(%v : tensor<1x8x17x128xf32>) -> tensor<1x8x1x128xf32>
  return
}

// -----

func.func @attention_head_dim(%q: tensor<1x8x1x64xf32>, %k: tensor<1x8x16x128xf32>) {
  // expected-error @+1 {{query and key must have the same head dimension, but got 64 and 128}}
  %o = kvq.attention q(%q : tensor<1x8x1x64xf32>) k(%k : tensor<1x8x16x128xf32>) v(%k : tensor<1x8x16x128xf32>) -> tensor<1x8x1x128xf32>
  return
}

// -----

func.func @attention_result_shape(%q: tensor<1x8x1x128xf32>, %k: tensor<1x8x16x128xf32>, %v: tensor<1x8x16x64xf32>) {
  // expected-error @+1 {{result shape must be [B, Hq, Sq, Dv] = [1, 8, 1, 64], but got [1, 8, 1, 128]}}
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x8x16x128xf32>) v(%v : tensor<1x8x16x64xf32>) -> tensor<1x8x1x128xf32>
  return
}

// -----

func.func @attention_result_type(%q: tensor<1x8x1x128xf32>, %k: tensor<1x8x16x128xf32>) {
  // expected-error @+1 {{result element type must match the query's 'f32'}}
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x8x16x128xf32>) v(%k : tensor<1x8x16x128xf32>) -> tensor<1x8x1x128xf16>
  return
}

// -----

func.func @attention_int_key_without_scheme(%q: tensor<1x8x1x128xf32>, %k: tensor<1x8x16x128xi8>, %v: tensor<1x8x16x128xf32>) {
  // expected-error @+1 {{key must be floating point unless a quantization scheme is given, but has element type 'i8'}}
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x8x16x128xi8>) v(%v : tensor<1x8x16x128xf32>) -> tensor<1x8x1x128xf32>
  return
}

// -----

func.func @attention_scale_without_scheme(%q: tensor<1x8x1x128xf32>, %k: tensor<1x8x16x128xf32>, %s: tensor<1x8x16x1xf32>) {
  // expected-error @+1 {{value has a scale or zero point but no scheme}}
  %o = "kvq.attention"(%q, %k, %k, %s) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 1, 0, 0, 0, 0>}> : (tensor<1x8x1x128xf32>, tensor<1x8x16x128xf32>, tensor<1x8x16x128xf32>, tensor<1x8x16x1xf32>) -> tensor<1x8x1x128xf32>
  return
}

// -----

func.func @attention_key_codes_type(%q: tensor<1x8x1x128xf32>, %k: tensor<1x8x16x128xi8>, %s: tensor<1x8x16x1xf32>, %v: tensor<1x8x16x128xf32>) {
  // expected-error @+1 {{key codes must have the scheme's storage type 'i4', but got 'i8'}}
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x8x16x128xi8>, #kvq.quant<i4, symmetric, token>, scale %s : tensor<1x8x16x1xf32>) v(%v : tensor<1x8x16x128xf32>) -> tensor<1x8x1x128xf32>
  return
}

// -----

func.func @attention_key_scale_shape(%q: tensor<1x8x1x128xf32>, %k: tensor<1x8x16x128xi4>, %s: tensor<1x8x16x1xf32>, %v: tensor<1x8x16x128xf32>) {
  // expected-error @+1 {{key scale shape must be [1, 8, 16, 4] for the scheme's 'group' granularity on data of shape [1, 8, 16, 128], but got [1, 8, 16, 1]}}
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x8x16x128xi4>, #kvq.quant<i4, symmetric, group(axis = 3, size = 32)>, scale %s : tensor<1x8x16x1xf32>) v(%v : tensor<1x8x16x128xf32>) -> tensor<1x8x1x128xf32>
  return
}

// -----

func.func @attention_value_zero_point(%q: tensor<1x8x1x128xf32>, %k: tensor<1x8x16x128xf32>, %v: tensor<1x8x16x128xi4>, %s: tensor<1x8x16x1xf32>) {
  // expected-error @+1 {{value uses an asymmetric scheme and needs a zero point}}
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x8x16x128xf32>) v(%v : tensor<1x8x16x128xi4>, #kvq.quant<i4, asymmetric, token>, scale %s : tensor<1x8x16x1xf32>) -> tensor<1x8x1x128xf32>
  return
}

// -----

func.func @attention_key_without_scale(%q: tensor<1x8x1x128xf32>, %k: tensor<1x8x16x128xi8>, %v: tensor<1x8x16x128xf32>) {
  // expected-error @+1 {{key is quantized but has no scale operand}}
  %o = "kvq.attention"(%q, %k, %v) <{key_scheme = #kvq.quant<i8, symmetric, token>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0>}> : (tensor<1x8x1x128xf32>, tensor<1x8x16x128xi8>, tensor<1x8x16x128xf32>) -> tensor<1x8x1x128xf32>
  return
}

// -----

func.func @attention_mask_shape(%q: tensor<2x8x3x128xf32>, %k: tensor<2x8x16x128xf32>, %m: tensor<2x8x3x15xf32>) {
  // expected-error @+1 {{mask shape must be [B or 1, Hq or 1, Sq or 1, Skv] = [2 or 1, 8 or 1, 3 or 1, 16], but got [2, 8, 3, 15]}}
  %o = kvq.attention q(%q : tensor<2x8x3x128xf32>) k(%k : tensor<2x8x16x128xf32>) v(%k : tensor<2x8x16x128xf32>) mask(%m : tensor<2x8x3x15xf32>) -> tensor<2x8x3x128xf32>
  return
}

// -----

func.func @attention_scale(%q: tensor<1x8x1x128xf32>, %k: tensor<1x8x16x128xf32>) {
  // expected-error @+1 {{scale must be finite and non-zero, but got 0}}
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x8x16x128xf32>) v(%k : tensor<1x8x16x128xf32>) {scale = 0.0 : f32} -> tensor<1x8x1x128xf32>
  return
}
