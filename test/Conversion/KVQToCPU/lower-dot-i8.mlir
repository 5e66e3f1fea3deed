// RUN: kvq-opt %s -split-input-file -kvq-lower-dot-i8="vnni=true" -verify-diagnostics | FileCheck %s --check-prefix=VNNI
// RUN: kvq-opt %s -split-input-file -kvq-lower-dot-i8 -verify-diagnostics | FileCheck %s --check-prefix=PORTABLE

// With vnni, vpdpbusd of the lane count's width; else the definition in
// vector code: bytes extended (unsigned lhs, signed rhs), multiplied, and
// each lane's four products (lanes 4l .. 4l + 3) summed by shuffles.
// VNNI-LABEL: func.func @dot16
// VNNI: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%{{.*}}, %{{.*}}, %{{.*}}) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
// VNNI-NOT: kvq.dot_i8
// PORTABLE-LABEL: func.func @dot16
// PORTABLE: %[[A:.*]] = arith.extui %{{.*}} : vector<64xi8> to vector<64xi32>
// PORTABLE: %[[B:.*]] = arith.extsi %{{.*}} : vector<64xi8> to vector<64xi32>
// PORTABLE: %[[P:.*]] = arith.muli %[[A]], %[[B]] : vector<64xi32>
// PORTABLE: %[[S0:.*]] = vector.shuffle %[[P]], %[[P]] [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60]
// PORTABLE: %[[R0:.*]] = arith.addi %{{.*}}, %[[S0]] : vector<16xi32>
// PORTABLE: vector.shuffle %[[P]], %[[P]] [1, 5, 9,
// PORTABLE: vector.shuffle %[[P]], %[[P]] [2, 6, 10,
// PORTABLE: vector.shuffle %[[P]], %[[P]] [3, 7, 11,
// PORTABLE-NOT: kvq.dot_i8
func.func @dot16(%acc: vector<16xi32>, %a: vector<64xi8>, %b: vector<64xi8>) -> vector<16xi32> {
  %0 = kvq.dot_i8 %acc, %a, %b : vector<64xi8> -> vector<16xi32>
  return %0 : vector<16xi32>
}

// -----

// VNNI-LABEL: func.func @dot8
// VNNI: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.256"
// PORTABLE-LABEL: func.func @dot8
// PORTABLE: vector.shuffle %{{.*}}, %{{.*}} [0, 4, 8, 12, 16, 20, 24, 28] : vector<32xi32>, vector<32xi32>
func.func @dot8(%acc: vector<8xi32>, %a: vector<32xi8>, %b: vector<32xi8>) -> vector<8xi32> {
  %0 = kvq.dot_i8 %acc, %a, %b : vector<32xi8> -> vector<8xi32>
  return %0 : vector<8xi32>
}

