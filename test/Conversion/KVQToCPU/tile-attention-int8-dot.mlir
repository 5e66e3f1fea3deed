// RUN: kvq-opt %s -split-input-file -kvq-tile-attention="int8-dot=1" | FileCheck %s
// RUN: kvq-opt %s -split-input-file -kvq-tile-attention="int8-dot=1 vector-registers=16 register-bits=256" | FileCheck %s --check-prefix=CHUNK
// RUN: kvq-opt %s -split-input-file -kvq-tile-attention="int8-dot=1 int8-nibbles=1" | FileCheck %s --check-prefix=NIBBLE

// Schedule int8_dot: the decode kernel's scores over int8 / int4 / int2
// keys become int8 dot products. Per row tile, the scaled query is
// quantized per 32 channels (round to even of q * 127 / max |q|), put in
// the key's plane layout (even then odd channels for int4), and each
// group's accumulator starts at -h * (its sum of query codes), h =
// 2^(bits-1). Keys with per-token scales are taken 16 at a time (512-bit registers) with the
// lanes over keys: their code rows are read as i32 words and transposed by
// four butterfly stages of shuffles (word w of the 16 keys in one vector),
// split into planes biased to be non-negative (int4: u = code + 8, a
// shift, then xor with 0x08 and a mask 0x0f), and multiplied by
// kvq.dot_i8 with the query's 4 codes of the word's channels broadcast
// (`lhs_bits = 4`: the codes' bound, which lets AVX2 sum pairs in i16).
// Each group (query group x key scale group) is then scaled by the keys'
// scales (one contiguous read, split by group) and its query scale in
// f32; keys past the block become -inf and one vector of 16 scores is
// stored per row.
// With registers narrower than 512 bits (AVX2: 256), one register of
// lanes: 8 keys at a time, whose 8 rows are read and transposed 4 words
// (16 bytes) at a time (each 4 x 4 block of words transposed by two stages
// of shuffles, the 2 blocks of a word joined), and the query's words are
// broadcast once per row tile into a [rows, words, 32 bytes] buffer, which
// the dot products read whole (AVX2 has no broadcast operands).
// CHECK-LABEL: func.func @int4
// CHECK-DAG: arith.constant dense<-8> : vector<16xi32>
// CHUNK-LABEL: func.func @int4
// CHUNK: %[[QW:.*]] = memref.alloc() {alignment = 64 : i64} : memref<4x32x32xi8>
// CHUNK: vector.broadcast %{{.*}} : vector<1xi32> to vector<8xi32>
// CHUNK: vector.store %{{.*}}, %[[QW]][%{{.*}}, %{{.*}}, %c0] : memref<4x32x32xi8>, vector<32xi8>
// CHUNK-NOT: memref<1x2x?x64xi8{{.*}}>, vector<64xi8>
// CHUNK: scf.for %{{.*}} step %c8
// CHUNK: vector.load %{{.*}} : memref<?xf16, strided<[1], offset: ?>>, vector<32xf16>
// CHUNK-COUNT-8: vector.transfer_read %{{.*}} {in_bounds = [true]} : memref<1x2x?x64xi8{{.*}}>, vector<16xi8>
// CHUNK-NOT: vector.transfer_read
// CHUNK: vector.shuffle %{{.*}}, %{{.*}} [0, 4, 2, 6] : vector<4xi32>, vector<4xi32>
// CHUNK: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 4, 5] : vector<4xi32>, vector<4xi32>
// CHUNK: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 4, 5, 6, 7] : vector<4xi32>, vector<4xi32>
// CHUNK-NOT: vector.broadcast %{{.*}} : vector<1xi32>
// CHUNK: %[[Q:.*]] = vector.load %[[QW]][%{{.*}}, %{{.*}}, %c0] : memref<4x32x32xi8>, vector<32xi8>
// CHUNK: kvq.dot_i8 %{{.*}}, %{{.*}}, %[[Q]] {lhs_bits = 4 : i64} : vector<32xi8> -> vector<8xi32>
// CHUNK: arith.sitofp %{{.*}} : vector<8xi32> to vector<8xf32>
// CHUNK-COUNT-8: vector.transfer_read %{{.*}} {in_bounds = [true]} : memref<1x2x?x64xi8{{.*}}>, vector<16xi8>
// CHUNK: vector.store %{{.*}} : memref<4x64xf32>, vector<8xf32>
// CHUNK: int8_dot = 1
// CHECK: math.roundeven %{{.*}} : vector<16xf32>
// CHECK: arith.fptosi %{{.*}} : vector<16xf32> to vector<16xi32>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 2, 4, 6,
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [1, 3, 5, 7,
// CHECK: scf.for
// Whole iterations of 16 keys (rows of one 64-byte line): no clamp of the
// row index, no mask of the scores.
// CHECK: scf.for %{{.*}} step %c16
// CHECK-NOT: arith.minui
// CHECK: memref.extract_strided_metadata
// CHECK: vector.load %{{.*}} : memref<?xf16, strided<[1], offset: ?>>, vector<64xf16>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60] : vector<64xf16>, vector<64xf16>
// Each key's value row (8 lines of f32 here), which P V reads after the
// block's scores, and the code row of the key 2 iterations (32 keys)
// ahead, clamped to the last key, are prefetched: with one stream of the
// cache in flight per core (the keys', then the values') the memory idles.
// CHECK: memref.prefetch %{{.*}}[%{{.*}}, %{{.*}}, %[[J:.*]], %c0{{.*}}], read, locality<3>, data : memref<1x2x?x128xf32
// CHECK-COUNT-7: memref.prefetch %{{.*}}[%{{.*}}, %{{.*}}, %[[J]], %c{{[0-9]+}}{{.*}}], read, locality<3>, data : memref<1x2x?x128xf32
// CHECK: %[[AHEAD:.*]] = arith.addi %[[J]], %c32{{.*}} : index
// CHECK-NEXT: %[[KJ:.*]] = arith.minui %[[AHEAD]], %{{.*}} : index
// CHECK: memref.prefetch %{{.*}}[%{{.*}}, %{{.*}}, %[[KJ]], %c0{{.*}}], read, locality<3>, data : memref<1x2x?x64xi8
// CHECK-COUNT-16: vector.transfer_read %{{.*}} {in_bounds = [true]} : memref<{{.*}}xi8{{.*}}>, vector<64xi8>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30] : vector<16xi32>, vector<16xi32>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29] : vector<16xi32>, vector<16xi32>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27] : vector<16xi32>, vector<16xi32>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23] : vector<16xi32>, vector<16xi32>
// CHECK: %[[WORD:.*]] = vector.bitcast %{{.*}} : vector<16xi32> to vector<64xi8>
// CHECK: %[[U:.*]] = arith.xori %[[WORD]], %{{.*}} : vector<64xi8>
// CHECK: %[[LO:.*]] = arith.andi %[[U]], %{{.*}} : vector<64xi8>
// CHECK: %[[S:.*]] = arith.shrui %[[WORD]], %{{.*}} : vector<64xi8>
// CHECK: %[[US:.*]] = arith.xori %[[S]], %{{.*}} : vector<64xi8>
// CHECK: %[[HI:.*]] = arith.andi %[[US]], %{{.*}} : vector<64xi8>
// CHECK: %[[QW:.*]] = vector.bitcast %{{.*}} : vector<4xi8> to vector<1xi32>
// CHECK: %[[QB:.*]] = vector.broadcast %[[QW]] : vector<1xi32> to vector<16xi32>
// CHECK: %[[Q:.*]] = vector.bitcast %[[QB]] : vector<16xi32> to vector<64xi8>
// CHECK: kvq.dot_i8 %{{.*}}, %[[LO]], %[[Q]] {lhs_bits = 4 : i64} : vector<64xi8> -> vector<16xi32>
// CHECK: kvq.dot_i8 %{{.*}}, %[[HI]], %{{.*}} {lhs_bits = 4 : i64} : vector<64xi8> -> vector<16xi32>
// CHECK: arith.sitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// CHECK-NOT: arith.cmpi uge
// CHECK: vector.store %{{.*}} : memref<4x64xf32>, vector<16xf32>
// The block's last, partial iteration: rows past the block read its last
// key again, and their scores are masked.
// CHECK: scf.for %{{.*}} step %c16
// CHECK: arith.minui
// CHECK: arith.cmpi uge, %{{.*}}, %{{.*}} : vector<16xindex>
// CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : vector<16xi1>, vector<16xf32>
// CHECK: vector.store %{{.*}} : memref<4x64xf32>, vector<16xf32>
// CHECK: } {kvq.kernel_schedule = #kvq.schedule<cpu, block_kv = 64, split_kv = 0, block_rows = 4, vector_width = 16, int8_dot = 1, int8_pv = 0>}
func.func @int4(%q: tensor<1x8x1x128xf32>, %k: tensor<1x2x?x128xi4>, %ks: tensor<1x2x?x4xf16>, %v: tensor<1x2x?x128xf32>) -> tensor<1x8x1x128xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x2x?x128xi4>, #kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>, scale %ks : tensor<1x2x?x4xf16>) v(%v : tensor<1x2x?x128xf32>) -> tensor<1x8x1x128xf32>
  return %o : tensor<1x8x1x128xf32>
}

// -----

// int8 keys: one plane, sign bit 0x80 (u = code + 128); a ragged head dim
// of 72 bytes reads the second vector masked (padding bytes meet zero
// query codes).
// CHECK-LABEL: func.func @int8
// CHECK-DAG: arith.constant dense<-128> : vector<16xi32>
// CHECK-DAG: arith.constant dense<-128> : vector<64xi8>
// CHECK: vector.transfer_read %{{.*}} {in_bounds = [true]} : memref<{{.*}}xi8{{.*}}>, vector<64xi8>
// CHECK: kvq.dot_i8 %{{.*}}, %{{.*}}, %{{.*}} : vector<64xi8>
// CHECK: vector.transfer_read %{{.*}} : memref<{{.*}}xi8{{.*}}>, vector<64xi8>
// CHECK: kvq.dot_i8
// CHECK: int8_dot = 1, int8_pv = 0>}
// With int8-nibbles (AVX2 without VNNI) each word of int8 codes is taken
// as two planes of 4-bit halves of u = code + 128, lo = bytes & 15 and
// hi = (bytes >> 4) ^ 8, bounded by lhs_bits = 4 (which AVX2 sums in
// i16); lo sums from the group's bias, hi from 0, and the group ends with
// lo + (hi << 4).
// NIBBLE-LABEL: func.func @int8
// NIBBLE: scf.for %{{.*}} step %c16
// NIBBLE: %[[C15:.*]] = arith.constant dense<15> : vector<64xi8>
// NIBBLE: %[[LO:.*]] = arith.andi %[[W:.*]], %[[C15]] : vector<64xi8>
// NIBBLE: %[[C4:.*]] = arith.constant dense<4> : vector<64xi8>
// NIBBLE: %[[S:.*]] = arith.shrui %[[W]], %[[C4]] : vector<64xi8>
// NIBBLE: %[[C8:.*]] = arith.constant dense<8> : vector<64xi8>
// NIBBLE: %[[HI:.*]] = arith.xori %[[S]], %[[C8]] : vector<64xi8>
// NIBBLE: %[[Q:.*]] = vector.bitcast %{{.*}} : vector<16xi32> to vector<64xi8>
// NIBBLE: kvq.dot_i8 %{{.*}}, %[[LO]], %[[Q]] {lhs_bits = 4 : i64} : vector<64xi8> -> vector<16xi32>
// NIBBLE: kvq.dot_i8 %{{.*}}, %[[HI]], %[[Q]] {lhs_bits = 4 : i64} : vector<64xi8> -> vector<16xi32>
// NIBBLE: %[[SH:.*]] = arith.shli %{{.*}}, %{{.*}} : vector<16xi32>
// NIBBLE: %[[SUM:.*]] = arith.addi %{{.*}}, %[[SH]] : vector<16xi32>
// NIBBLE: arith.sitofp %[[SUM]] : vector<16xi32> to vector<16xf32>
// NIBBLE: int8_dot = 1, int8_pv = 0>}
func.func @int8(%q: tensor<1x4x1x72xf32>, %k: tensor<1x1x?x72xi8>, %ks: tensor<1x1x?x9xf32>, %v: tensor<1x1x?x72xf32>) -> tensor<1x4x1x72xf32> {
  %o = kvq.attention q(%q : tensor<1x4x1x72xf32>) k(%k : tensor<1x1x?x72xi8>, #kvq.quant<i8, symmetric, group(axis = 3, size = 8), scale = f32>, scale %ks : tensor<1x1x?x9xf32>) v(%v : tensor<1x1x?x72xf32>) -> tensor<1x4x1x72xf32>
  return %o : tensor<1x4x1x72xf32>
}

// -----

// Keys whose scales do not vary per token (one scale for the tensor) take
// 4 keys at a time instead: each key's lanes are scaled by its query and
// key scales, and the 16 rows x keys vectors are summed by one shuffle
// tree.
// CHECK-LABEL: func.func @tensor_scale
// CHECK: vector.from_elements
// CHECK: scf.for
// CHECK: scf.for %{{.*}} step %c4
// CHECK: vector.transfer_read %{{.*}} : memref<{{.*}}xi8{{.*}}>, vector<64xi8>
// CHECK: kvq.dot_i8
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23] : vector<16xf32>, vector<16xf32>
// CHECK: int8_dot = 1, int8_pv = 0>}
// NIBBLE-LABEL: func.func @tensor_scale
// NIBBLE: scf.for %{{.*}} step %c4
// NIBBLE: kvq.dot_i8 %{{.*}}, %{{.*}}, %[[Q:.*]] {lhs_bits = 4 : i64} : vector<64xi8> -> vector<16xi32>
// NIBBLE: kvq.dot_i8 %cst{{.*}}, %{{.*}}, %[[Q]] {lhs_bits = 4 : i64} : vector<64xi8> -> vector<16xi32>
// NIBBLE: arith.shli %{{.*}}, %{{.*}} : vector<16xi32>
// NIBBLE: int8_dot = 1, int8_pv = 0>}
func.func @tensor_scale(%q: tensor<1x8x1x128xf32>, %k: tensor<1x2x?x128xi8>, %ks: tensor<1x1x1x1xf32>, %v: tensor<1x2x?x128xf32>) -> tensor<1x8x1x128xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x2x?x128xi8>, #kvq.quant<i8, symmetric, tensor, scale = f32>, scale %ks : tensor<1x1x1x1xf32>) v(%v : tensor<1x2x?x128xf32>) -> tensor<1x8x1x128xf32>
  return %o : tensor<1x8x1x128xf32>
}

// -----

// Keys whose scales are shared by a group of tokens and vary along the
// channels (KIVI: a scale and zero point per channel and 32 tokens): the
// partitions' length is rounded up to whole vectors of 16 keys, so the 16
// keys of a vector share a token group; where a group starts (or a block),
// the next group's scales and zero points are prefetched (4 lines each)
// and the query times the group's scales is quantized again (the groups'
// largest magnitudes for all rows by one shuffle tree, the codes split
// into even and odd channels for the int4 planes), and the zero points
// give each row a score offset (q . (z + 8 s)); the
// codes are unsigned, so the planes are the fields as they are (no xor),
// taken as u - 8 by the accumulators' start values, and no key scale
// multiplies the sums.
// CHECK-LABEL: func.func @kivi
// CHECK: %[[LEN:.*]] = arith.ceildivui %{{.*}}, %c16{{.*}} : index
// CHECK: arith.muli %[[LEN]], %c16{{.*}} : index
// CHECK: scf.for %{{.*}} step %c16
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %{{.*}}, %c0 : index
// CHECK: %[[REM:.*]] = arith.remui %{{.*}}, %c32{{.*}} : index
// CHECK: %[[AT:.*]] = arith.cmpi eq, %[[REM]], %c0 : index
// CHECK: %[[NEW:.*]] = arith.ori %[[FIRST]], %[[AT]] : i1
// CHECK: scf.if %[[NEW]] {
// CHECK: %[[THIS:.*]] = arith.divui %{{.*}}, %c32{{.*}} : index
// CHECK: %[[NEXT:.*]] = arith.addi %[[THIS]], %c1 : index
// CHECK-COUNT-8: memref.prefetch %{{.*}}[%{{.*}}, %{{.*}}, %[[NEXT]], %{{.*}}], read, locality<3>, data : memref<1x2x?x128xf16
// CHECK: %[[G:.*]] = arith.divui %{{.*}}, %c32{{.*}} : index
// CHECK: vector.transfer_read %{{.*}}[%{{.*}}, %{{.*}}, %[[G]], %c0{{.*}}], %{{.*}} : memref<1x2x?x128xf16, {{.*}}>, vector<16xf16>
// CHECK: %[[M:.*]] = arith.cmpf ogt, %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK: %[[INV:.*]] = arith.divf %{{.*}}, %[[MAX:.*]] : vector<16xf32>
// CHECK: arith.divf %[[MAX]], %{{.*}} : vector<16xf32>
// CHECK: math.roundeven %{{.*}} : vector<16xf32>
// CHECK: math.roundeven %{{.*}} : vector<16xf32>
// CHECK: %[[CODES:.*]] = arith.fptosi %{{.*}} : vector<32xf32> to vector<32xi32>
// CHECK: %[[EVEN:.*]] = vector.shuffle %[[CODES]], %[[CODES]] [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30] : vector<32xi32>, vector<32xi32>
// CHECK: arith.trunci %[[EVEN]] : vector<16xi32> to vector<16xi8>
// CHECK: %[[ODD:.*]] = vector.shuffle %[[CODES]], %[[CODES]] [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31] : vector<32xi32>, vector<32xi32>
// CHECK: arith.trunci %[[ODD]] : vector<16xi32> to vector<16xi8>
// CHECK-NOT: arith.xori
// CHECK: %[[W:.*]] = vector.bitcast %{{.*}} : vector<16xi32> to vector<64xi8>
// CHECK: %[[LO:.*]] = arith.andi %[[W]], %{{.*}} : vector<64xi8>
// CHECK: %[[S:.*]] = arith.shrui %[[W]], %{{.*}} : vector<64xi8>
// CHECK: %[[HI:.*]] = arith.andi %[[S]], %{{.*}} : vector<64xi8>
// CHECK: kvq.dot_i8 %{{.*}}, %[[LO]], %{{.*}} {lhs_bits = 4 : i64} : vector<64xi8> -> vector<16xi32>
// CHECK: kvq.dot_i8 %{{.*}}, %[[HI]], %{{.*}} {lhs_bits = 4 : i64} : vector<64xi8> -> vector<16xi32>
// CHECK: int8_dot = 1, int8_pv = 0>}
func.func @kivi(%q: tensor<1x8x1x128xf32>, %k: tensor<1x2x?x128xi4>, %ks: tensor<1x2x?x128xf16>, %kz: tensor<1x2x?x128xf16>, %v: tensor<1x2x?x128xf32>) -> tensor<1x8x1x128xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x2x?x128xi4>, #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>, scale %ks : tensor<1x2x?x128xf16>, zero_point %kz : tensor<1x2x?x128xf16>) v(%v : tensor<1x2x?x128xf32>) -> tensor<1x8x1x128xf32>
  return %o : tensor<1x8x1x128xf32>
}

// -----

// Token groups that a vector of 16 keys may straddle (8 tokens) keep the
// f32 scores for asymmetric keys.
// CHECK-LABEL: func.func @kivi_g8
// CHECK-NOT: kvq.dot_i8
// CHECK: int8_dot = 0, int8_pv = 0>}
func.func @kivi_g8(%q: tensor<1x8x1x128xf32>, %k: tensor<1x2x?x128xi4>, %ks: tensor<1x2x?x128xf16>, %kz: tensor<1x2x?x128xf16>, %v: tensor<1x2x?x128xf32>) -> tensor<1x8x1x128xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x2x?x128xi4>, #kvq.quant<i4, asymmetric, group(axis = 2, size = 8), scale = f16>, scale %ks : tensor<1x2x?x128xf16>, zero_point %kz : tensor<1x2x?x128xf16>) v(%v : tensor<1x2x?x128xf32>) -> tensor<1x8x1x128xf32>
  return %o : tensor<1x8x1x128xf32>
}

// -----

// Keys the integer path does not take keep the f32 scores, and the
// recorded schedule says so: asymmetric codes (a zero point) with scales
// per token, plain f32.
// CHECK-LABEL: func.func @asymmetric
// CHECK-NOT: kvq.dot_i8
// CHECK: int8_dot = 0, int8_pv = 0>}
func.func @asymmetric(%q: tensor<1x8x1x128xf32>, %k: tensor<1x2x?x128xi4>, %ks: tensor<1x2x?x4xf16>, %kz: tensor<1x2x?x4xf16>, %v: tensor<1x2x?x128xf32>) -> tensor<1x8x1x128xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x2x?x128xi4>, #kvq.quant<i4, asymmetric, group(axis = 3, size = 32), scale = f16>, scale %ks : tensor<1x2x?x4xf16>, zero_point %kz : tensor<1x2x?x4xf16>) v(%v : tensor<1x2x?x128xf32>) -> tensor<1x8x1x128xf32>
  return %o : tensor<1x8x1x128xf32>
}

// -----

// CHECK-LABEL: func.func @plain
// CHECK-NOT: kvq.dot_i8
// CHECK: int8_dot = 0, int8_pv = 0>}
func.func @plain(%q: tensor<1x8x1x64xf32>, %k: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x64xf32>) -> tensor<1x8x1x64xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x64xf32>) k(%k : tensor<1x2x?x64xf32>) v(%v : tensor<1x2x?x64xf32>) -> tensor<1x8x1x64xf32>
  return %o : tensor<1x8x1x64xf32>
}
