// RUN: kvq-opt %s -split-input-file -verify-diagnostics

func.func @encode_rank(%x: tensor<8x16xf32>) {
  // expected-error @+1 {{input must have rank 4 ([B, H, S, D]), got rank 2}}
  %r, %c = kvq.polar_encode %x {levels = 1, bits = array<i64: 4>} : tensor<8x16xf32> -> tensor<8x8xf16>, tensor<8x4xi8>
  return
}

// -----

func.func @encode_dynamic_dim(%x: tensor<1x2x3x?xf32>) {
  // expected-error @+1 {{the head dimension must be static}}
  %r, %c = kvq.polar_encode %x {levels = 1, bits = array<i64: 4>} : tensor<1x2x3x?xf32> -> tensor<1x2x3x?xf16>, tensor<1x2x3x?xi8>
  return
}

// -----

func.func @levels(%x: tensor<1x2x3x16xf32>) {
  // expected-error @+1 {{levels must be between 1 and 16, got 0}}
  %r, %c = kvq.polar_encode %x {levels = 0, bits = array<i64>} : tensor<1x2x3x16xf32> -> tensor<1x2x3x16xf16>, tensor<1x2x3x8xi8>
  return
}

// -----

func.func @bits_count(%x: tensor<1x2x3x16xf32>) {
  // expected-error @+1 {{bits must give one width per level (2), got 3}}
  %r, %a, %b = kvq.polar_encode %x {levels = 2, bits = array<i64: 4, 2, 2>} : tensor<1x2x3x16xf32> -> tensor<1x2x3x4xf16>, tensor<1x2x3x4xi8>, tensor<1x2x3x1xi8>
  return
}

// -----

func.func @bits_width(%x: tensor<1x2x3x16xf32>) {
  // expected-error @+1 {{bits of level 2 must be 1, 2 or 4, got 3}}
  %r, %a, %b = kvq.polar_encode %x {levels = 2, bits = array<i64: 4, 3>} : tensor<1x2x3x16xf32> -> tensor<1x2x3x4xf16>, tensor<1x2x3x4xi8>, tensor<1x2x3x1xi8>
  return
}

// -----

func.func @block(%x: tensor<1x2x3x24xf32>) {
  // expected-error @+1 {{input head dimension 24 must be a multiple of 2^levels = 16}}
  %r, %c1, %c2, %c3, %c4 = kvq.polar_encode %x : tensor<1x2x3x24xf32>
      -> tensor<1x2x3x1xf16>, tensor<1x2x3x6xi8>, tensor<1x2x3x2xi8>, tensor<1x2x3x1xi8>, tensor<1x2x3x1xi8>
  return
}

// -----

func.func @radius_shape(%x: tensor<1x2x?x32xf32>) {
  // expected-error @+1 {{radius [1, 2, ?, 4] must be [B, H, S, D / 2^levels] = [1, 2, ?, 2]}}
  %r, %c1, %c2, %c3, %c4 = kvq.polar_encode %x : tensor<1x2x?x32xf32>
      -> tensor<1x2x?x4xf16>, tensor<1x2x?x8xi8>, tensor<1x2x?x2xi8>, tensor<1x2x?x1xi8>, tensor<1x2x?x1xi8>
  return
}

// -----

func.func @code_count(%x: tensor<1x2x3x32xf32>) {
  // expected-error @+1 {{expected one code tensor per level (4), got 3}}
  %r, %c1, %c2, %c3 = kvq.polar_encode %x : tensor<1x2x3x32xf32>
      -> tensor<1x2x3x2xf16>, tensor<1x2x3x8xi8>, tensor<1x2x3x2xi8>, tensor<1x2x3x1xi8>
  return
}

// -----

func.func @code_shape(%x: tensor<1x2x3x32xf32>) {
  // expected-error @+1 {{codes of level 3 [1, 2, 3, 2] must be [B, H, S, ceil(D / 2^3 * 2 / 8)] = [1, 2, 3, 1]}}
  %r, %c1, %c2, %c3, %c4 = kvq.polar_encode %x : tensor<1x2x3x32xf32>
      -> tensor<1x2x3x2xf16>, tensor<1x2x3x8xi8>, tensor<1x2x3x2xi8>, tensor<1x2x3x2xi8>, tensor<1x2x3x1xi8>
  return
}

// -----

func.func @code_type(%x: tensor<1x2x3x16xf32>) {
  // expected-error @+1 {{result #1 must be variadic of ranked tensor of 8-bit signless integer values}}
  %r, %c = kvq.polar_encode %x {levels = 1, bits = array<i64: 4>} : tensor<1x2x3x16xf32> -> tensor<1x2x3x8xf16>, tensor<1x2x3x16xi4>
  return
}

// -----

func.func @decode_rank(%r: tensor<1x2x3x1xf16>, %c: tensor<1x2x3x1xi8>) {
  // expected-error @+1 {{result must have rank 4 ([B, H, S, D]), got rank 3}}
  %d = kvq.polar_decode %r, %c {levels = 1, bits = array<i64: 4>} : tensor<1x2x3x1xf16>, tensor<1x2x3x1xi8> -> tensor<2x3x2xf32>
  return
}

// -----

func.func @decode_dynamic_dim(%r: tensor<1x2x3x1xf16>, %c: tensor<1x2x3x1xi8>) {
  // expected-error @+1 {{the head dimension must be static}}
  %d = kvq.polar_decode %r, %c {levels = 1, bits = array<i64: 4>} : tensor<1x2x3x1xf16>, tensor<1x2x3x1xi8> -> tensor<1x2x3x?xf32>
  return
}

// -----

func.func @decode_block(%r: tensor<1x2x3x1xf16>, %c: tensor<1x2x3x3xi8>) {
  // expected-error @+1 {{result head dimension 6 must be a multiple of 2^levels = 4}}
  %d = kvq.polar_decode %r, %c {levels = 2, bits = array<i64: 4, 2>} : tensor<1x2x3x1xf16>, tensor<1x2x3x3xi8> -> tensor<1x2x3x6xf32>
  return
}

// -----

func.func @decode_radius(%r: tensor<1x2x4x1xf16>, %c: tensor<1x2x3x1xi8>) {
  // expected-error @+1 {{radius [1, 2, 4, 1] must be [B, H, S, D / 2^levels] = [1, 2, 3, 1]}}
  %d = kvq.polar_decode %r, %c {levels = 1, bits = array<i64: 4>} : tensor<1x2x4x1xf16>, tensor<1x2x3x1xi8> -> tensor<1x2x3x2xf32>
  return
}

// -----

func.func @decode_codes(%r: tensor<1x2x3x1xf16>, %c: tensor<1x2x3x1xi8>, %c2: tensor<1x2x3x2xi8>) {
  // expected-error @+1 {{codes of level 2 [1, 2, 3, 2] must be [B, H, S, ceil(D / 2^2 * 2 / 8)] = [1, 2, 3, 1]}}
  %d = kvq.polar_decode %r, %c, %c2 {levels = 2, bits = array<i64: 2, 2>} : tensor<1x2x3x1xf16>, tensor<1x2x3x1xi8>, tensor<1x2x3x2xi8> -> tensor<1x2x3x4xf32>
  return
}
