// RUN: kvq-opt %s -split-input-file -kvq-tile-attention="vector-width=8" | FileCheck %s
// RUN: kvq-opt %s -split-input-file -kvq-tile-attention="vector-width=8 vector-registers=16 register-bits=256" | FileCheck %s --check-prefix=AVX2
// RUN: not kvq-opt %s -split-input-file -kvq-tile-attention="vector-registers=2" 2>&1 | FileCheck %s --check-prefix=BADREGS
// RUN: not kvq-opt %s -split-input-file -kvq-tile-attention="register-bits=384" 2>&1 | FileCheck %s --check-prefix=BADBITS

// What the kernels keep in registers across a loop is half the target's
// vector register file: 16 vectors with AVX-512 (32 x 512 bits, the
// default), 8 with AVX2 (16 x 256 bits) at 8 lanes per vector. Decode's
// P V (4 rows x 4 chunks of 8 channels here) accumulates all 16 chunks in
// one pass over the block's keys with AVX-512 and in two passes of 8 with
// AVX2. Each key's value row is prefetched (one per 64-byte line) while
// its score is computed, ahead of P V's passes over the block.
// CHECK-LABEL: func.func @decode
// CHECK: %[[K32:.*]] = bufferization.to_buffer %arg1
// CHECK: memref.prefetch %[[V:.*]][%{{.*}}, %{{.*}}, %[[J:.*]], %c0{{.*}}], read, locality<3>, data
// CHECK-NEXT: arith.constant 16 : index
// CHECK-NEXT: memref.prefetch %[[V]][%{{.*}}, %{{.*}}, %[[J]], %c16{{.*}}], read, locality<3>, data
// f32 keys are not prefetched: their loads keep the memory busy.
// CHECK-NOT: memref.prefetch %[[K32]]
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// AVX2-LABEL: func.func @decode
// AVX2: memref.prefetch
// AVX2: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>) {
// AVX2: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>) {
// BADREGS: error: kvq-tile-attention: vector-registers must be between 4 and 64, not 2
// BADBITS: error: kvq-tile-attention: register-bits must be a power of two from 128 to 2048, not 384
func.func @decode(%q: tensor<1x8x1x32xf32>, %k: tensor<1x2x?x32xf32>, %v: tensor<1x2x?x32xf32>) -> tensor<1x8x1x32xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x32xf32>) k(%k : tensor<1x2x?x32xf32>) v(%v : tensor<1x2x?x32xf32>) -> tensor<1x8x1x32xf32>
  return %o : tensor<1x8x1x32xf32>
}

// -----

// Keys narrower than f32 (f16 here, and codes) take longer to decode than
// to load: with the value row of each key, the key row 8 keys ahead is
// prefetched (clamped to the last key), so that the core has more than one
// stream of the cache in flight.
// CHECK-LABEL: func.func @decode_f16
// CHECK-DAG: %[[K:.*]] = bufferization.to_buffer %arg1
// CHECK-DAG: %[[V:.*]] = bufferization.to_buffer %arg2
// CHECK: %[[SKV:.*]] = memref.dim %[[K]], %c2{{.*}} : memref<1x2x?x32xf16
// CHECK: %[[LAST:.*]] = arith.subi %[[SKV]], %c1 : index
// CHECK: memref.prefetch %[[V]][%{{.*}}, %{{.*}}, %[[J:.*]], %c0{{.*}}], read, locality<3>, data
// CHECK-NEXT: %[[C8:.*]] = arith.constant 8 : index
// CHECK-NEXT: %[[AHEAD:.*]] = arith.addi %[[J]], %[[C8]] : index
// CHECK-NEXT: %[[KJ:.*]] = arith.minui %[[AHEAD]], %[[LAST]] : index
// CHECK: memref.prefetch %[[K]][%{{.*}}, %{{.*}}, %[[KJ]], %c0{{.*}}], read, locality<3>, data
// AVX2-LABEL: func.func @decode_f16
func.func @decode_f16(%q: tensor<1x8x1x32xf32>, %k: tensor<1x2x?x32xf16>, %v: tensor<1x2x?x32xf16>) -> tensor<1x8x1x32xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x32xf32>) k(%k : tensor<1x2x?x32xf16>) v(%v : tensor<1x2x?x32xf16>) -> tensor<1x8x1x32xf32>
  return %o : tensor<1x8x1x32xf32>
}

// -----

// Prefill's register-blocked kernel: the score micro-tile is 8 keys x 2
// row vectors with AVX-512 and 4 keys x 2 with AVX2 (each key broadcast
// against the 2 row vectors of the transposed queries); P V's micro-tile
// is 4 rows x 4 value vectors, and 4 rows x 2 with AVX2.
// CHECK-LABEL: func.func @prefill
// CHECK: %{{.*}}:16 = scf.for
// CHECK-COUNT-16: vector.fma
// CHECK: scf.yield
// CHECK: %{{.*}}:16 = scf.for
// AVX2-LABEL: func.func @prefill
// AVX2: %{{.*}}:8 = scf.for
// AVX2-COUNT-8: vector.fma
// AVX2-NEXT: scf.yield
// AVX2: %{{.*}}:8 = scf.for
// AVX2: %{{.*}}:8 = scf.for
func.func @prefill(%q: tensor<1x2x16x32xf32>, %k: tensor<1x2x?x32xf32>, %v: tensor<1x2x?x32xf32>) -> tensor<1x2x16x32xf32> {
  %o = kvq.attention q(%q : tensor<1x2x16x32xf32>) k(%k : tensor<1x2x?x32xf32>) v(%v : tensor<1x2x?x32xf32>) -> tensor<1x2x16x32xf32>
  return %o : tensor<1x2x16x32xf32>
}
