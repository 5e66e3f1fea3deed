// RUN: kvq-opt %s -kvq-lower-dot-i8="vnni=true" -verify-diagnostics
// RUN: kvq-opt %s -kvq-lower-dot-i8 | FileCheck %s
// RUN: kvq-opt %s -kvq-lower-dot-i8=avx2=true | FileCheck %s

// vpdpbusd has 4, 8 and 16-lane forms only; the portable lowering takes
// any lane count, and so does AVX2 (the portable code for lane counts that
// are not a multiple of 4, bounds or not).
// CHECK-LABEL: func.func @dot3
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [3, 7, 11] : vector<12xi32>, vector<12xi32>
// CHECK-NOT: kvq.dot_i8
func.func @dot3(%acc: vector<3xi32>, %a: vector<12xi8>, %b: vector<12xi8>) -> vector<3xi32> {
  // expected-error @+1 {{kvq-lower-dot-i8: vpdpbusd takes 4, 8 or 16 i32 lanes, got 3}}
  %0 = kvq.dot_i8 %acc, %a, %b {lhs_bits = 4 : i64} : vector<12xi8> -> vector<3xi32>
  return %0 : vector<3xi32>
}
