// RUN: kvq-opt %s -split-input-file -kvq-tile-attention="avx512-bf16=true" | FileCheck %s
// RUN: kvq-opt %s -split-input-file -kvq-tile-attention | FileCheck %s --check-prefix=OFF

// With avx512-bf16, the prefill kernel's Q K^T for bf16 Q and K: the query
// tile transposed in channel pairs (i32 words [d / 2, 32]: lane r holds row
// r's channels 2 dd, 2 dd + 1 as bf16, unscaled; 16 rows' words read as
// vectors and transposed by shuffles), each key's channel pair read in
// place as one i32 and broadcast, AVX512-BF16 dot products into the 8 keys
// x 2 row-vector micro-tile, and the scores scaled once.
// CHECK-LABEL: func.func @bf16
// CHECK: %[[QT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16x32xi32>
// CHECK: %[[ROW:.*]] = vector.transfer_read %{{.*}} : memref<1x4x20x32xbf16, {{.*}}>, vector<32xbf16>
// CHECK-NEXT: vector.bitcast %[[ROW]] : vector<32xbf16> to vector<16xi32>
// CHECK-NOT: arith.truncf
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30] : vector<16xi32>, vector<16xi32>
// CHECK: vector.store %{{.*}}, %[[QT]][%c0{{.*}}, %c0{{.*}}] : memref<16x32xi32>, vector<16xi32>
// CHECK: vector.store %{{.*}}, %[[QT]][%c15{{.*}}, %c16{{.*}}] : memref<16x32xi32>, vector<16xi32>
// CHECK: scf.for %[[DD:.*]] = %{{.*}} to %c16
// CHECK: %[[QW:.*]] = vector.load %[[QT]][%[[DD]], %{{.*}}] : memref<16x32xi32>, vector<16xi32>
// CHECK-NEXT: %[[Q0:.*]] = vector.bitcast %[[QW]] : vector<16xi32> to vector<32xbf16>
// CHECK: %[[PAIR:.*]] = vector.load %{{.*}} : memref<1x2x?x32xbf16, {{.*}}>, vector<2xbf16>
// CHECK: %[[WORD:.*]] = vector.bitcast %[[PAIR]] : vector<2xbf16> to vector<1xi32>
// CHECK: %[[K:.*]] = vector.bitcast %{{.*}} : vector<16xi32> to vector<32xbf16>
// CHECK: x86vector.avx512.dot %{{.*}}, %[[Q0]], %[[K]] : vector<32xbf16> -> vector<16xf32>
// CHECK: arith.mulf
// Without it, the block's keys and values are decoded to f32 into
// scratch rows of D + 16 floats (one 64-byte line more than the channels,
// so that P V's reads of a few channels of every row spread over the L1
// sets).
// OFF-LABEL: func.func @bf16
// OFF-NOT: x86vector
// OFF: memref.alloc() {alignment = 64 : i64} : memref<64x48xf32>
// OFF-NEXT: memref.alloc() {alignment = 64 : i64} : memref<64x48xf32>
// OFF-NOT: x86vector
// OFF: return
func.func @bf16(%q: tensor<1x4x20x32xbf16>, %k: tensor<1x2x?x32xbf16>, %v: tensor<1x2x?x32xbf16>) -> tensor<1x4x20x32xbf16> {
  %o = kvq.attention q(%q : tensor<1x4x20x32xbf16>) k(%k : tensor<1x2x?x32xbf16>) v(%v : tensor<1x2x?x32xbf16>) {causal} -> tensor<1x4x20x32xbf16>
  return %o : tensor<1x4x20x32xbf16>
}

// -----

// f32 queries (a bf16 copy would round them) and odd head dims keep f32.
// CHECK-LABEL: func.func @f32_query
// CHECK-NOT: x86vector
// CHECK: return
func.func @f32_query(%q: tensor<1x4x20x32xf32>, %k: tensor<1x2x?x32xbf16>, %v: tensor<1x2x?x32xbf16>) -> tensor<1x4x20x32xf32> {
  %o = kvq.attention q(%q : tensor<1x4x20x32xf32>) k(%k : tensor<1x2x?x32xbf16>) v(%v : tensor<1x2x?x32xbf16>) -> tensor<1x4x20x32xf32>
  return %o : tensor<1x4x20x32xf32>
}

// -----

// CHECK-LABEL: func.func @odd_head_dim
// CHECK-NOT: x86vector
// CHECK: return
func.func @odd_head_dim(%q: tensor<1x4x20x33xbf16>, %k: tensor<1x2x?x33xbf16>, %v: tensor<1x2x?x33xbf16>) -> tensor<1x4x20x33xbf16> {
  %o = kvq.attention q(%q : tensor<1x4x20x33xbf16>) k(%k : tensor<1x2x?x33xbf16>) v(%v : tensor<1x2x?x33xbf16>) -> tensor<1x4x20x33xbf16>
  return %o : tensor<1x4x20x33xbf16>
}

// -----

// p_type = bf16 with bf16 V: the register-blocked kernel packs, once per
// block, each row's
// probabilities of keys 2 jp, 2 jp + 1 rounded to bf16 into one i32 and the
// two keys' values interleaved per channel ([block / 2, 2 dv] bf16, for
// every row group), and accumulates with bf16 dot products. The
// probabilities themselves come from a short exp of the scores in units of
// log2 e: x clamped at -150 (-150 > x ? -150 : x, which keeps a NaN), a
// degree-5 polynomial of its fraction, scaled by 2^floor with AVX-512's
// scalef (the block's correction factor takes the f32 2^x, whose 2^n is
// shifted into the exponent field).
// CHECK-LABEL: func.func @bf16_probabilities
// CHECK: %[[PP:.*]] = memref.alloc() {alignment = 64 : i64} : memref<32x32xi32>
// CHECK: %[[VP:.*]] = memref.alloc() {alignment = 64 : i64} : memref<32x64xbf16>
// CHECK: arith.constant 0x4B40007F : f32
// CHECK: arith.shli %{{.*}}, %{{.*}} : vector<16xi32>
// CHECK: arith.constant -1.500000e+02 : f32
// CHECK-NEXT: %[[C:.*]] = vector.broadcast
// CHECK-NEXT: %[[LOW:.*]] = arith.cmpf ogt, %[[C]], %[[X:.*]] : vector<16xf32>
// CHECK-NEXT: %[[T:.*]] = arith.select %[[LOW]], %[[C]], %[[X]] : vector<16xi1>, vector<16xf32>
// CHECK: %[[N:.*]] = math.floor %[[T]] : vector<16xf32>
// CHECK: %[[F:.*]] = arith.subf %[[T]], %[[N]] : vector<16xf32>
// CHECK-COUNT-4: vector.fma %{{.*}}, %[[F]], %{{.*}} : vector<16xf32>
// CHECK: %[[POLY:.*]] = vector.fma %{{.*}}, %[[F]], %{{.*}} : vector<16xf32>
// CHECK: x86vector.avx512.mask.scalef %[[POLY]], %[[N]], %[[POLY]], %c-1_i16, %c4_i32 : vector<16xf32>
// CHECK: %[[V:.*]] = vector.interleave %{{.*}}, %{{.*}} : vector<16xbf16> -> vector<32xbf16>
// CHECK-NEXT: arith.constant 0 : index
// CHECK-NEXT: vector.store %[[V]], %[[VP]][%{{.*}}, %c0{{.*}}] : memref<32x64xbf16>, vector<32xbf16>
// CHECK: vector.interleave
// CHECK: vector.store %{{.*}}, %[[VP]][%{{.*}}, %c32{{.*}}] : memref<32x64xbf16>, vector<32xbf16>
// CHECK: arith.truncf %{{.*}} : vector<16xf32> to vector<16xbf16>
// CHECK: %[[PAIRS:.*]] = vector.interleave %{{.*}}, %{{.*}} : vector<16xbf16> -> vector<32xbf16>
// CHECK: vector.bitcast %[[PAIRS]] : vector<32xbf16> to vector<16xi32>
// CHECK: scf.for
// CHECK-NOT: vector.interleave
// CHECK: %[[VL:.*]] = vector.load %[[VP]][%{{.*}}, %{{.*}}] : memref<32x64xbf16>, vector<32xbf16>
// CHECK: %[[P:.*]] = memref.load %[[PP]]
// CHECK: %[[PB:.*]] = vector.broadcast %[[P]] : i32 to vector<16xi32>
// CHECK: %[[PV:.*]] = vector.bitcast %[[PB]] : vector<16xi32> to vector<32xbf16>
// CHECK: x86vector.avx512.dot %{{.*}}, %[[VL]], %[[PV]] : vector<32xbf16> -> vector<16xf32>
// Without AVX512-BF16 the register-blocked kernel too: where the softmax
// stores a vector of probabilities it rounds them to bf16 on the bits (the
// bits plus 0x7fff plus their bit 16, the high half kept; a NaN made
// quiet) and back to f32, for P V's f32 multiply-adds, and the row sum
// takes them unrounded.
// OFF-LABEL: func.func @bf16_probabilities
// OFF-NOT: x86vector
// OFF: %[[BITS:.*]] = arith.bitcast %[[P:.*]] : vector<16xf32> to vector<16xi32>
// OFF-NEXT: arith.constant dense<16> : vector<16xi32>
// OFF-NEXT: %[[HI:.*]] = arith.shrui %[[BITS]], %{{.*}} : vector<16xi32>
// OFF-NEXT: arith.constant dense<1> : vector<16xi32>
// OFF-NEXT: %[[ODD:.*]] = arith.andi %[[HI]], %{{.*}} : vector<16xi32>
// OFF-NEXT: arith.constant dense<32767> : vector<16xi32>
// OFF-NEXT: %[[BIAS:.*]] = arith.addi %[[ODD]], %{{.*}} : vector<16xi32>
// OFF-NEXT: %[[SUM:.*]] = arith.addi %[[BITS]], %[[BIAS]] : vector<16xi32>
// OFF-NEXT: arith.constant dense<16> : vector<16xi32>
// OFF-NEXT: %[[R:.*]] = arith.shrui %[[SUM]], %{{.*}} : vector<16xi32>
// OFF-NEXT: %[[NAN:.*]] = arith.cmpf uno, %[[P]], %[[P]] : vector<16xf32>
// OFF-NEXT: arith.constant dense<64> : vector<16xi32>
// OFF-NEXT: %[[QUIET:.*]] = arith.ori %[[HI]], %{{.*}} : vector<16xi32>
// OFF-NEXT: %[[SEL:.*]] = arith.select %[[NAN]], %[[QUIET]], %[[R]] : vector<16xi1>, vector<16xi32>
// OFF-NEXT: %[[H:.*]] = arith.trunci %[[SEL]] : vector<16xi32> to vector<16xi16>
// OFF-NEXT: arith.bitcast %[[H]] : vector<16xi16> to vector<16xbf16>
// OFF: %[[ROUNDED:.*]] = arith.bitcast %{{.*}} : vector<16xi32> to vector<16xf32>
// OFF: vector.store %[[ROUNDED]], %[[ST:.*]][%{{.*}}, %{{.*}}] : memref<64x32xf32>, vector<16xf32>
// OFF-NEXT: arith.addf %{{.*}}, %[[P]] : vector<16xf32>
// OFF: scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// OFF: memref.load %[[ST]]
// OFF: vector.fma
// OFF: return
func.func @bf16_probabilities(%q: tensor<1x4x20x32xf32>, %k: tensor<1x2x?x32xbf16>, %v: tensor<1x2x?x32xbf16>) -> tensor<1x4x20x32xf32> {
  %o = kvq.attention q(%q : tensor<1x4x20x32xf32>) k(%k : tensor<1x2x?x32xbf16>) v(%v : tensor<1x2x?x32xbf16>) {p_type = bf16} -> tensor<1x4x20x32xf32>
  return %o : tensor<1x4x20x32xf32>
}
