// RUN: kvq-opt %s -split-input-file -verify-diagnostics

func.func @pack_codes_type(%c: tensor<4x64xi8>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 4-bit signless integer or 2-bit signless integer values, but got 'tensor<4x64xi8>'}}
  %b = kvq.pack %c : tensor<4x64xi8> -> tensor<4x32xi8>
  return
}

// -----

func.func @pack_bytes_type(%c: tensor<4x64xi4>) {
  // expected-error @+1 {{result #0 must be ranked tensor of 8-bit signless integer values, but got 'tensor<4x32xi16>'}}
  %b = kvq.pack %c : tensor<4x64xi4> -> tensor<4x32xi16>
  return
}

// -----

func.func @unpack_codes_type(%b: tensor<4x32xi8>) {
  // expected-error @+1 {{result #0 must be ranked tensor of 4-bit signless integer or 2-bit signless integer values, but got 'tensor<4x32xi8>'}}
  %c = kvq.unpack %b : tensor<4x32xi8> -> tensor<4x32xi8>
  return
}

// -----

func.func @unpack_bytes_type(%b: tensor<4x32xui8>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 8-bit signless integer values, but got 'tensor<4x32xui8>'}}
  %c = kvq.unpack %b : tensor<4x32xui8> -> tensor<4x64xi4>
  return
}

// -----

func.func @pack_rank(%c: tensor<4x64xi4>) {
  // expected-error @+1 {{codes and bytes must have the same rank, but got 2 and 3}}
  %b = kvq.pack %c : tensor<4x64xi4> -> tensor<4x1x32xi8>
  return
}

// -----

func.func @pack_rank0(%c: tensor<i4>) {
  // expected-error @+1 {{codes and bytes must have rank >= 1: packing runs along the last dimension}}
  %b = kvq.pack %c : tensor<i4> -> tensor<i8>
  return
}

// -----

func.func @unpack_leading_dims(%b: tensor<4x8x32xi8>) {
  // expected-error @+1 {{codes and bytes must have the same leading dimensions, but got [4, 2, 64] and [4, 8, 32]}}
  %c = kvq.unpack %b : tensor<4x8x32xi8> -> tensor<4x2x64xi4>
  return
}

// -----

func.func @pack_dynamic_last(%c: tensor<4x?xi4>) {
  // expected-error @+1 {{the last dimension of codes and bytes must be static, but got [4, ?] and [4, 32]}}
  %b = kvq.pack %c : tensor<4x?xi4> -> tensor<4x32xi8>
  return
}

// -----

func.func @pack_not_multiple(%c: tensor<4x30xi2>) {
  // expected-error @+1 {{the last dimension of the codes (30) must be a multiple of 4, the number of 'i2' codes in a byte}}
  %b = kvq.pack %c : tensor<4x30xi2> -> tensor<4x7xi8>
  return
}

// -----

func.func @unpack_bytes_last(%b: tensor<4x33xi8>) {
  // expected-error @+1 {{the last dimension of the bytes must be 32 (64 codes x 4 bits / 8), but got 33}}
  %c = kvq.unpack %b : tensor<4x33xi8> -> tensor<4x64xi4>
  return
}
