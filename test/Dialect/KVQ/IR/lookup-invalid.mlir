// RUN: kvq-opt %s -split-input-file -verify-diagnostics

func.func @not_power_of_two(%t: vector<12xf32>, %i: vector<16xi32>) -> vector<16xf32> {
  // expected-error @+1 {{needs a table of a power of two from 2 to 256 elements, got 'vector<12xf32>'}}
  %0 = kvq.lookup %t[%i] : vector<12xf32>, vector<16xi32>
  return %0 : vector<16xf32>
}

// -----

func.func @one_element(%t: vector<1xf32>, %i: vector<16xi32>) -> vector<16xf32> {
  // expected-error @+1 {{needs a table of a power of two from 2 to 256 elements, got 'vector<1xf32>'}}
  %0 = kvq.lookup %t[%i] : vector<1xf32>, vector<16xi32>
  return %0 : vector<16xf32>
}

// -----

func.func @too_large(%t: vector<512xf32>, %i: vector<16xi32>) -> vector<16xf32> {
  // expected-error @+1 {{needs a table of a power of two from 2 to 256 elements, got 'vector<512xf32>'}}
  %0 = kvq.lookup %t[%i] : vector<512xf32>, vector<16xi32>
  return %0 : vector<16xf32>
}

// -----

func.func @scalable(%t: vector<16xf32>, %i: vector<[4]xi32>) -> vector<[4]xf32> {
  // expected-error @+1 {{needs fixed-length vectors}}
  %0 = kvq.lookup %t[%i] : vector<16xf32>, vector<[4]xi32>
  return %0 : vector<[4]xf32>
}

// -----

func.func @index_type(%t: vector<16xf32>, %i: vector<16xi64>) -> vector<16xf32> {
  // expected-error @+1 {{op operand #1 must be vector of 32-bit signless integer or 8-bit signless integer values of ranks 1}}
  %0 = "kvq.lookup"(%t, %i) : (vector<16xf32>, vector<16xi64>) -> vector<16xf32>
  return %0 : vector<16xf32>
}

// -----

func.func @table_type(%t: vector<16xf16>, %i: vector<16xi32>) -> vector<16xf16> {
  // expected-error @+1 {{op operand #0 must be vector of 32-bit float or 32-bit signless integer or 8-bit signless integer values of ranks 1}}
  %0 = "kvq.lookup"(%t, %i) : (vector<16xf16>, vector<16xi32>) -> vector<16xf16>
  return %0 : vector<16xf16>
}

// -----

func.func @result_type(%t: vector<16xf32>, %i: vector<16xi32>) -> vector<8xf32> {
  // expected-error @+2 {{'kvq.lookup' op inferred type(s) 'vector<16xf32>' are incompatible with return type(s) of operation 'vector<8xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = "kvq.lookup"(%t, %i) : (vector<16xf32>, vector<16xi32>) -> vector<8xf32>
  return %0 : vector<8xf32>
}

// -----

func.func @rank(%t: vector<4x4xf32>, %i: vector<16xi32>) -> vector<16xf32> {
  // expected-error @+1 {{op operand #0 must be vector of 32-bit float or 32-bit signless integer or 8-bit signless integer values of ranks 1}}
  %0 = "kvq.lookup"(%t, %i) : (vector<4x4xf32>, vector<16xi32>) -> vector<16xf32>
  return %0 : vector<16xf32>
}
