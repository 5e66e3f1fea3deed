// RUN: kvq-opt %s | kvq-opt | FileCheck %s

// kvq.dot_i8 round-trips: 4, 8 and 16 i32 lanes, 4 bytes each, and the
// optional bounds of its bytes.
// CHECK-LABEL: func.func @dot
// CHECK: kvq.dot_i8 %{{.*}}, %{{.*}}, %{{.*}} : vector<64xi8> -> vector<16xi32>
// CHECK: kvq.dot_i8 %{{.*}}, %{{.*}}, %{{.*}} : vector<32xi8> -> vector<8xi32>
// CHECK: kvq.dot_i8 %{{.*}}, %{{.*}}, %{{.*}} {lhs_bits = 4 : i64, rhs_bits = 1 : i64} : vector<12xi8> -> vector<3xi32>
func.func @dot(%acc: vector<16xi32>, %a: vector<64xi8>, %b: vector<64xi8>,
               %acc8: vector<8xi32>, %a8: vector<32xi8>, %b8: vector<32xi8>,
               %acc3: vector<3xi32>, %a3: vector<12xi8>, %b3: vector<12xi8>)
    -> (vector<16xi32>, vector<8xi32>, vector<3xi32>) {
  %0 = kvq.dot_i8 %acc, %a, %b : vector<64xi8> -> vector<16xi32>
  %1 = kvq.dot_i8 %acc8, %a8, %b8 : vector<32xi8> -> vector<8xi32>
  %2 = kvq.dot_i8 %acc3, %a3, %b3 {lhs_bits = 4 : i64, rhs_bits = 1 : i64} : vector<12xi8> -> vector<3xi32>
  return %0, %1, %2 : vector<16xi32>, vector<8xi32>, vector<3xi32>
}
