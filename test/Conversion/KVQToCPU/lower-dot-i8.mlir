// RUN: kvq-opt %s -split-input-file -kvq-lower-dot-i8="vnni=true" -verify-diagnostics | FileCheck %s --check-prefix=VNNI
// RUN: kvq-opt %s -split-input-file -kvq-lower-dot-i8 -verify-diagnostics | FileCheck %s --check-prefix=PORTABLE
// RUN: kvq-opt %s -split-input-file -kvq-lower-dot-i8="avx2=true" -verify-diagnostics | FileCheck %s --check-prefix=AVX2
// RUN: kvq-opt %s -split-input-file -kvq-lower-dot-i8="vnni=true avx2=true" -verify-diagnostics | FileCheck %s --check-prefix=VNNI

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
// Without bounds, pairs of byte products need not fit in i16: AVX2 takes
// the portable code.
// AVX2-LABEL: func.func @dot16
// AVX2-NOT: llvm.call_intrinsic
// AVX2: arith.muli %{{.*}}, %{{.*}} : vector<64xi32>
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


// -----

// Bounded bytes (4-bit lhs): with AVX2, per 256-bit piece vpmaddubsw (byte
// pairs summed to i16) and vpmaddwd against ones (i16 pairs to i32), the
// pieces put together and added to the accumulator. VNNI ignores bounds.
// AVX2-LABEL: func.func @bounded
// AVX2-DAG: %[[ONES:.*]] = arith.constant dense<1> : vector<16xi16>
// AVX2-DAG: %[[ZERO:.*]] = arith.constant dense<0> : vector<16xi32>
// AVX2: %[[L0:.*]] = vector.extract_strided_slice %[[A:.*]] {offsets = [0], sizes = [32], strides = [1]} : vector<64xi8> to vector<32xi8>
// AVX2: %[[R0:.*]] = vector.extract_strided_slice %[[B:.*]] {offsets = [0], sizes = [32], strides = [1]} : vector<64xi8> to vector<32xi8>
// AVX2: %[[P0:.*]] = llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"(%[[L0]], %[[R0]]) : (vector<32xi8>, vector<32xi8>) -> vector<16xi16>
// AVX2: %[[S0:.*]] = llvm.call_intrinsic "llvm.x86.avx2.pmadd.wd"(%[[P0]], %[[ONES]]) : (vector<16xi16>, vector<16xi16>) -> vector<8xi32>
// AVX2: %[[I0:.*]] = vector.insert_strided_slice %[[S0]], %[[ZERO]] {offsets = [0], strides = [1]} : vector<8xi32> into vector<16xi32>
// AVX2: vector.extract_strided_slice %[[A]] {offsets = [32], sizes = [32], strides = [1]}
// AVX2: llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"
// AVX2: %[[S1:.*]] = llvm.call_intrinsic "llvm.x86.avx2.pmadd.wd"
// AVX2: %[[I1:.*]] = vector.insert_strided_slice %[[S1]], %[[I0]] {offsets = [8], strides = [1]} : vector<8xi32> into vector<16xi32>
// AVX2: %[[R:.*]] = arith.addi %{{.*}}, %[[I1]] : vector<16xi32>
// AVX2: return %[[R]]
// VNNI-LABEL: func.func @bounded
// VNNI: llvm.x86.avx512.vpdpbusd.512
func.func @bounded(%acc: vector<16xi32>, %a: vector<64xi8>, %b: vector<64xi8>) -> vector<16xi32> {
  %0 = kvq.dot_i8 %acc, %a, %b {lhs_bits = 4 : i64} : vector<64xi8> -> vector<16xi32>
  return %0 : vector<16xi32>
}

// -----

// A chain (each op the next one's only accumulator use) sums its
// vpmaddubsw results in i16 and widens once, while the pair bounds add up
// to at most 32767: 8-bit x 5-bit codes bound a pair by 8160, so four ops
// chain and a fifth starts a new chain.
// AVX2-LABEL: func.func @chain
// AVX2-COUNT-4: llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"
// AVX2-NOT: pmadd.ub.sw
// AVX2: llvm.call_intrinsic "llvm.x86.avx2.pmadd.wd"
// AVX2-COUNT-4: llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"
// AVX2-NOT: pmadd.ub.sw
// AVX2: %[[W:.*]] = llvm.call_intrinsic "llvm.x86.avx2.pmadd.wd"
// AVX2: vector.insert_strided_slice %[[W]], %{{.*}} {offsets = [8], strides = [1]}
// AVX2: %[[C4:.*]] = arith.addi %[[ACC:.*]], %{{.*}} : vector<16xi32>
// AVX2: %[[P:.*]] = llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"
// AVX2-NEXT: llvm.call_intrinsic "llvm.x86.avx2.pmadd.wd"(%[[P]]
// AVX2: llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"
// AVX2-NEXT: llvm.call_intrinsic "llvm.x86.avx2.pmadd.wd"
// AVX2: arith.addi %[[C4]], %{{.*}} : vector<16xi32>
func.func @chain(%acc: vector<16xi32>, %a: vector<64xi8>, %b: vector<64xi8>) -> vector<16xi32> {
  %0 = kvq.dot_i8 %acc, %a, %b {rhs_bits = 5 : i64} : vector<64xi8> -> vector<16xi32>
  %1 = kvq.dot_i8 %0, %a, %b {rhs_bits = 5 : i64} : vector<64xi8> -> vector<16xi32>
  %2 = kvq.dot_i8 %1, %a, %b {rhs_bits = 5 : i64} : vector<64xi8> -> vector<16xi32>
  %3 = kvq.dot_i8 %2, %a, %b {rhs_bits = 5 : i64} : vector<64xi8> -> vector<16xi32>
  %4 = kvq.dot_i8 %3, %a, %b {rhs_bits = 5 : i64} : vector<64xi8> -> vector<16xi32>
  return %4 : vector<16xi32>
}

// -----

// A result used twice ends its chain (both uses need it in i32); an op
// without bounds in a chain takes the portable code. 4 lanes: 128-bit
// SSSE3 / SSE2 forms.
// AVX2-LABEL: func.func @chain_ends
// AVX2: %[[P:.*]] = llvm.call_intrinsic "llvm.x86.ssse3.pmadd.ub.sw.128"(%{{.*}}, %{{.*}}) : (vector<16xi8>, vector<16xi8>) -> vector<8xi16>
// AVX2-NEXT: %[[S:.*]] = llvm.call_intrinsic "llvm.x86.sse2.pmadd.wd"(%[[P]], %{{.*}}) : (vector<8xi16>, vector<8xi16>) -> vector<4xi32>
// AVX2: %[[D0:.*]] = arith.addi %{{.*}}, %{{.*}} : vector<4xi32>
// AVX2: llvm.call_intrinsic "llvm.x86.ssse3.pmadd.ub.sw.128"
// AVX2-NEXT: llvm.call_intrinsic "llvm.x86.sse2.pmadd.wd"
// AVX2: %[[D1:.*]] = arith.addi %[[D0]], %{{.*}} : vector<4xi32>
// AVX2: arith.extui %{{.*}} : vector<16xi8> to vector<16xi32>
// AVX2: return %[[D1]], %{{.*}}, %[[D0]]
func.func @chain_ends(%acc: vector<4xi32>, %a: vector<16xi8>, %b: vector<16xi8>) -> (vector<4xi32>, vector<4xi32>, vector<4xi32>) {
  %0 = kvq.dot_i8 %acc, %a, %b {lhs_bits = 2 : i64} : vector<16xi8> -> vector<4xi32>
  %1 = kvq.dot_i8 %0, %a, %b {lhs_bits = 2 : i64} : vector<16xi8> -> vector<4xi32>
  %2 = kvq.dot_i8 %1, %a, %b : vector<16xi8> -> vector<4xi32>
  return %1, %2, %0 : vector<4xi32>, vector<4xi32>, vector<4xi32>
}
