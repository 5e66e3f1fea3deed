// RUN: kvq-opt %s -split-input-file -verify-diagnostics

func.func @bytes_per_lane(%acc: vector<16xi32>, %a: vector<32xi8>, %b: vector<32xi8>) -> vector<16xi32> {
  // expected-error @+1 {{needs 4 bytes per i32 lane: 'vector<16xi32>' takes vector<64xi8> operands, got 'vector<32xi8>'}}
  %0 = kvq.dot_i8 %acc, %a, %b : vector<32xi8> -> vector<16xi32>
  return %0 : vector<16xi32>
}

// -----

func.func @operand_types(%acc: vector<4xi32>, %a: vector<16xi8>, %b: vector<16xi16>) -> vector<4xi32> {
  // expected-error @+1 {{op operand #2 must be vector of 8-bit signless integer values of ranks 1}}
  %0 = "kvq.dot_i8"(%acc, %a, %b) : (vector<4xi32>, vector<16xi8>, vector<16xi16>) -> vector<4xi32>
  return %0 : vector<4xi32>
}

// -----

func.func @different_bytes(%acc: vector<4xi32>, %a: vector<16xi8>, %b: vector<8xi8>) -> vector<4xi32> {
  // expected-error @+1 {{all of {lhs, rhs} have same type}}
  %0 = "kvq.dot_i8"(%acc, %a, %b) : (vector<4xi32>, vector<16xi8>, vector<8xi8>) -> vector<4xi32>
  return %0 : vector<4xi32>
}

// -----

func.func @scalable(%acc: vector<[4]xi32>, %a: vector<[16]xi8>, %b: vector<[16]xi8>) -> vector<[4]xi32> {
  // expected-error @+1 {{needs fixed-length vectors}}
  %0 = kvq.dot_i8 %acc, %a, %b : vector<[16]xi8> -> vector<[4]xi32>
  return %0 : vector<[4]xi32>
}

// -----

func.func @lhs_bits_zero(%acc: vector<4xi32>, %a: vector<16xi8>, %b: vector<16xi8>) -> vector<4xi32> {
  // expected-error @+1 {{attribute 'lhs_bits' failed to satisfy constraint: 64-bit signless integer attribute whose minimum value is 1 whose maximum value is 8}}
  %0 = kvq.dot_i8 %acc, %a, %b {lhs_bits = 0 : i64} : vector<16xi8> -> vector<4xi32>
  return %0 : vector<4xi32>
}

// -----

func.func @rhs_bits_nine(%acc: vector<4xi32>, %a: vector<16xi8>, %b: vector<16xi8>) -> vector<4xi32> {
  // expected-error @+1 {{attribute 'rhs_bits' failed to satisfy constraint: 64-bit signless integer attribute whose minimum value is 1 whose maximum value is 8}}
  %0 = kvq.dot_i8 %acc, %a, %b {rhs_bits = 9 : i64} : vector<16xi8> -> vector<4xi32>
  return %0 : vector<4xi32>
}
