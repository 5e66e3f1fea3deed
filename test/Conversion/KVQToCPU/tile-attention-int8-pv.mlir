// RUN: kvq-opt %s -split-input-file -kvq-tile-attention="int8-pv=1" | FileCheck %s
// RUN: kvq-opt %s -split-input-file -kvq-tile-attention="int8-pv=1 vector-registers=16 register-bits=256" | FileCheck %s --check-prefix=NARROW
// RUN: kvq-opt %s -split-input-file -kvq-tile-attention="int8-pv=1 int8-nibbles=1" | FileCheck %s --check-prefix=NIBBLE

// Schedule int8_pv: the decode kernel's P V over symmetric int8 / int4 /
// int2 values with per-token scales becomes int8 dot products. Per block,
// each row's weights p * s of a scale group are quantized to 8 bits: the
// codes are the low byte of the f32 fma(w, 255 / max w, 1.5 * 2^23), the
// step max w / 255, and for sub-byte codes 2^(bits-1) * (sum of the codes)
// is kept to remove the codes' bias. P V then takes 16 keys per iteration,
// 4 at a time: their code bytes are interleaved byte by byte (two shuffles,
// then one per span of 16 bytes) and split into planes biased to be
// non-negative (a shift, then xor with the sign bit and a mask);
// kvq.dot_i8 multiplies the 4 keys' weights (one i32 broadcast) with them,
// its bounds stating the 5-bit signed range of the biased 4-bit codes. The
// 4 quads chain on each accumulator (what AVX2 sums in i16). After the
// block each accumulator goes to f32, less the bias, times the step, into
// the row's f32 accumulators.
// CHECK-LABEL: func.func @int4
// CHECK: scf.for
// CHECK: scf.if %{{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: vector.load %{{.*}} : memref<?xf16, strided<[1], offset: ?>>, vector<64xf16>
// CHECK: } else {
// CHECK: vector.transfer_read %{{.*}} {in_bounds = [true]} : memref<{{.*}}xf16{{.*}}>, vector<4xf16>
// CHECK: vector.transpose %{{.*}}, [1, 0] : vector<16x4xf16> to vector<4x16xf16>
// CHECK: %[[WGT:.*]] = arith.cmpf ogt, %[[WA:.*]], %[[WB:.*]] : vector<16xf32>
// CHECK: arith.select %[[WGT]], %[[WA]], %[[WB]] : vector<16xi1>, vector<16xf32>
// The maxima of all (row, group) pairs come out of one shuffle tree, and
// the inverse steps and steps are divisions of its lanes (no scalar
// division per pair).
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23] : vector<16xf32>, vector<16xf32>
// CHECK: arith.divf %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK: arith.divf %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK-NOT: arith.divf
// CHECK: %[[R:.*]] = vector.fma %{{.*}}, %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK: %[[RB:.*]] = arith.bitcast %[[R]] : vector<16xf32> to vector<16xi32>
// CHECK: arith.trunci %[[RB]] : vector<16xi32> to vector<16xi8>
// The code sums, also one tree, less the magic number's bits.
// CHECK: arith.constant dense<-805306368> : vector<16xi32>
// CHECK: %[[MAIN:.*]]:16 = scf.for %{{.*}} step %c16{{.*}} iter_args(%[[ACC0:[^ ]*]] = {{.*}}) -> (vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>) {
// Whole iterations read their keys' rows unclamped (the block's last,
// partial one follows).
// CHECK-NOT: arith.minui
// CHECK-COUNT-4: vector.transfer_read %{{.*}} {in_bounds = [true]} : memref<1x2x?x64xi8{{.*}}>, vector<32xi8>
// CHECK: %[[P01:.*]] = vector.shuffle %{{.*}}, %{{.*}} [0, 32, 1, 33, 2, 34,
// CHECK: %[[P23:.*]] = vector.shuffle %{{.*}}, %{{.*}} [0, 32, 1, 33, 2, 34,
// CHECK: %[[Q:.*]] = vector.shuffle %[[P01]], %[[P23]] [0, 1, 64, 65, 2, 3, 66, 67,
// CHECK: %[[U:.*]] = arith.xori %[[Q]], %{{.*}} : vector<64xi8>
// CHECK: %[[LO:.*]] = arith.andi %[[U]], %{{.*}} : vector<64xi8>
// CHECK: %[[S:.*]] = arith.shrui %[[Q]], %{{.*}} : vector<64xi8>
// CHECK: %[[US:.*]] = arith.xori %[[S]], %{{.*}} : vector<64xi8>
// CHECK: %[[HI:.*]] = arith.andi %[[US]], %{{.*}} : vector<64xi8>
// CHECK: %[[W4:.*]] = vector.load %{{.*}} : memref<4x4x64xi8>, vector<4xi8>
// CHECK: %[[W1:.*]] = vector.bitcast %[[W4]] : vector<4xi8> to vector<1xi32>
// CHECK: %[[WB:.*]] = vector.broadcast %[[W1]] : vector<1xi32> to vector<16xi32>
// CHECK: %[[W:.*]] = vector.bitcast %[[WB]] : vector<16xi32> to vector<64xi8>
// CHECK: %[[D0:.*]] = kvq.dot_i8 %[[ACC0]], %[[W]], %[[LO]] {rhs_bits = 5 : i64} : vector<64xi8> -> vector<16xi32>
// CHECK: kvq.dot_i8 %{{.*}}, %[[W]], %[[HI]] {rhs_bits = 5 : i64} : vector<64xi8> -> vector<16xi32>
// CHECK: vector.shuffle %[[P01]], %[[P23]] [32, 33, 96, 97,
// The next quad of keys (from 4) adds to the first quad's results.
// CHECK: %[[J4:.*]] = arith.addi %{{.*}}, %c4{{.*}} : index
// CHECK: kvq.dot_i8 %[[D0]], %{{.*}}, %{{.*}} {rhs_bits = 5 : i64} : vector<64xi8> -> vector<16xi32>
// CHECK: scf.yield
// The block's last keys past whole iterations of 16 (rows of one 64-byte
// line only; there the row index is clamped to the block) continue the
// same sums.
// CHECK: scf.for %{{.*}} step %c16{{.*}} iter_args(%{{.*}} = %[[MAIN]]#0,
// CHECK: arith.minui
// CHECK: scf.yield
// CHECK: %[[F:.*]] = arith.sitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// CHECK: %[[G:.*]] = arith.subf %[[F]], %{{.*}} : vector<16xf32>
// CHECK: vector.fma %[[G]], %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK: } {kvq.kernel_schedule = #kvq.schedule<cpu, block_kv = 64, split_kv = 0, block_rows = 4, vector_width = 16, int8_dot = 0, int8_pv = 1>}
// With 256-bit registers (AVX2: 16 of them) a span is 8 bytes, one
// register of i32 lanes: the 4 rows x 2 planes accumulators take 8
// registers (16-byte spans would take all 16). Span s fills half of the
// f32 accumulators' vectors of the 16-byte layout: s even the low half,
// s odd the high one.
// NARROW-LABEL: func.func @int4
// NARROW: scf.for %{{.*}} step %c16{{.*}} iter_args({{.*}}) -> (vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>) {
// NARROW-COUNT-4: vector.transfer_read %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, %c0{{.*}}]{{.*}}{in_bounds = [true]} : memref<1x2x?x64xi8{{.*}}>, vector<8xi8>
// NARROW: vector.broadcast %{{.*}} : vector<1xi32> to vector<8xi32>
// NARROW: kvq.dot_i8 %{{.*}}, %{{.*}}, %{{.*}} {rhs_bits = 5 : i64} : vector<32xi8> -> vector<8xi32>
// NARROW: scf.yield
// NARROW: arith.sitofp %{{.*}} : vector<8xi32> to vector<8xf32>
// NARROW: vector.store %{{.*}}, %{{.*}}[%{{.*}}, %c0{{.*}}] : memref<4x128xf32>, vector<8xf32>
// NARROW: vector.store %{{.*}}, %{{.*}}[%{{.*}}, %c16{{.*}}] : memref<4x128xf32>, vector<8xf32>
// NARROW: scf.for %{{.*}} step %c16{{.*}} iter_args(
// NARROW: vector.transfer_read %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, %c8{{.*}}]{{.*}}: memref<1x2x?x64xi8{{.*}}>, vector<8xi8>
// NARROW: scf.yield
// NARROW: vector.store %{{.*}}, %{{.*}}[%{{.*}}, %c8{{.*}}] : memref<4x128xf32>, vector<8xf32>
// NARROW: vector.store %{{.*}}, %{{.*}}[%{{.*}}, %c24{{.*}}] : memref<4x128xf32>, vector<8xf32>
func.func @int4(%q: tensor<1x8x1x128xf32>, %k: tensor<1x2x?x128xf32>, %v: tensor<1x2x?x128xi4>, %vs: tensor<1x2x?x4xf16>) -> tensor<1x8x1x128xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x2x?x128xf32>) v(%v : tensor<1x2x?x128xi4>, #kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>, scale %vs : tensor<1x2x?x4xf16>) -> tensor<1x8x1x128xf32>
  return %o : tensor<1x8x1x128xf32>
}

// -----

// int8 values are the signed operand as they are (no bias, no xor); a
// ragged head dim of 72 bytes: 4 spans in one pass (16 accumulators), read
// masked past the row.
// CHECK-LABEL: func.func @int8
// CHECK: scf.for %{{.*}} step %c16{{.*}} iter_args(
// CHECK: vector.transfer_read %{{.*}} : memref<1x1x?x72xi8{{.*}}>, vector<64xi8>
// CHECK-NOT: arith.xori
// CHECK: kvq.dot_i8 %{{.*}}, %{{.*}}, %{{.*}} : vector<64xi8>
// CHECK: scf.yield
// CHECK-NOT: arith.subf {{.*}} : vector<16xf32>
// CHECK: scf.for %{{.*}} step %c16{{.*}} iter_args(
// CHECK: vector.transfer_read %{{.*}} : memref<1x1x?x72xi8{{.*}}>, vector<16xi8>
// CHECK: int8_dot = 0, int8_pv = 1>}
// With 256-bit registers: 2 spans of 8 bytes per pass, the last pass the
// span from byte 64.
// NARROW-LABEL: func.func @int8
// NARROW: scf.for %{{.*}} step %c16{{.*}} iter_args(
// NARROW: vector.transfer_read %{{.*}} : memref<1x1x?x72xi8{{.*}}>, vector<16xi8>
// NARROW: kvq.dot_i8 %{{.*}}, %{{.*}}, %{{.*}} : vector<32xi8> -> vector<8xi32>
// NARROW: vector.store %{{.*}}, %{{.*}}[%{{.*}}, %c8{{.*}}] : memref<4x80xf32>, vector<8xf32>
// NARROW: vector.transfer_read %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, %c64{{.*}}]{{.*}}{in_bounds = [true]} : memref<1x1x?x72xi8{{.*}}>, vector<8xi8>
// NARROW: int8_dot = 0, int8_pv = 1>}
// With int8-nibbles (AVX2 without VNNI) the codes are taken as the two
// 4-bit halves of u = code + 128, lo = bytes & 15 and hi = (bytes >> 4)
// ^ 8, each within 5 signed bits (rhs_bits = 5, which AVX2 sums in i16):
// 2 accumulators per span and row (16 for 2 spans x 4 rows), joined after
// the block as lo + (hi << 4), less 128 * (the sum of the weights).
// NIBBLE-LABEL: func.func @int8
// NIBBLE: arith.constant dense<-805306368> : vector<16xi32>
// NIBBLE: arith.constant dense<1.280000e+02> : vector<16xf32>
// NIBBLE: %[[R:.*]]:16 = scf.for %{{.*}} step %c16{{.*}} iter_args(
// NIBBLE: %[[C15:.*]] = arith.constant dense<15> : vector<64xi8>
// NIBBLE: %[[LO:.*]] = arith.andi %[[Q:.*]], %[[C15]] : vector<64xi8>
// NIBBLE: %[[C4:.*]] = arith.constant dense<4> : vector<64xi8>
// NIBBLE: %[[S:.*]] = arith.shrui %[[Q]], %[[C4]] : vector<64xi8>
// NIBBLE: %[[C8:.*]] = arith.constant dense<8> : vector<64xi8>
// NIBBLE: %[[HI:.*]] = arith.xori %[[S]], %[[C8]] : vector<64xi8>
// NIBBLE: kvq.dot_i8 %{{.*}}, %[[W:.*]], %[[LO]] {rhs_bits = 5 : i64} : vector<64xi8> -> vector<16xi32>
// NIBBLE: kvq.dot_i8 %{{.*}}, %[[W]], %[[HI]] {rhs_bits = 5 : i64} : vector<64xi8> -> vector<16xi32>
// NIBBLE: scf.yield
// NIBBLE: %[[SH:.*]] = arith.shli %[[R]]#1, %{{.*}} : vector<16xi32>
// NIBBLE: %[[SUM:.*]] = arith.addi %[[R]]#0, %[[SH]] : vector<16xi32>
// NIBBLE: %[[F:.*]] = arith.sitofp %[[SUM]] : vector<16xi32> to vector<16xf32>
// NIBBLE: arith.subf %[[F]], %{{.*}} : vector<16xf32>
// NIBBLE: int8_dot = 0, int8_pv = 1>}
func.func @int8(%q: tensor<1x4x1x72xf32>, %k: tensor<1x1x?x72xf32>, %v: tensor<1x1x?x72xi8>, %vs: tensor<1x1x?x1xf32>) -> tensor<1x4x1x72xf32> {
  %o = kvq.attention q(%q : tensor<1x4x1x72xf32>) k(%k : tensor<1x1x?x72xf32>) v(%v : tensor<1x1x?x72xi8>, #kvq.quant<i8, symmetric, token, scale = f32>, scale %vs : tensor<1x1x?x1xf32>) -> tensor<1x4x1x72xf32>
  return %o : tensor<1x4x1x72xf32>
}

// -----

// Asymmetric int4 values (KIVI's: a scale and zero point per token and 32
// channels): the codes are the planes as they are (a mask, and a shift and
// a mask: no xor), the same bias removed after the block, so the sums are
// of u * (code - 8); per block and row, sum p * (z + 8 s) per group (one
// reduction tree for all rows and groups) is added to the group's
// accumulators with the scaled sums.
// CHECK-LABEL: func.func @asymmetric
// CHECK: %[[ZS:.*]] = math.fma %{{.*}}, %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK: vector.fma %{{.*}}, %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23] : vector<16xf32>, vector<16xf32>
// CHECK: %[[QUAD:.*]] = vector.shuffle %{{.*}}, %{{.*}} [0, 1, 64, 65,
// CHECK-NOT: arith.xori
// CHECK: %[[LO:.*]] = arith.andi %[[QUAD]], %{{.*}} : vector<64xi8>
// CHECK: %[[S:.*]] = arith.shrui %[[QUAD]], %{{.*}} : vector<64xi8>
// CHECK: %[[HI:.*]] = arith.andi %[[S]], %{{.*}} : vector<64xi8>
// CHECK-NOT: arith.xori
// CHECK: kvq.dot_i8 %{{.*}}, %{{.*}}, %[[LO]] {rhs_bits = 5 : i64} : vector<64xi8> -> vector<16xi32>
// CHECK: kvq.dot_i8 %{{.*}}, %{{.*}}, %[[HI]] {rhs_bits = 5 : i64} : vector<64xi8> -> vector<16xi32>
// CHECK: %[[SUM:.*]] = arith.subf %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK: %[[ACC:.*]] = vector.load
// CHECK: %[[WITHZ:.*]] = arith.addf %[[ACC]], %{{.*}} : vector<16xf32>
// CHECK: vector.fma %[[SUM]], %{{.*}}, %[[WITHZ]] : vector<16xf32>
// CHECK: int8_dot = 0, int8_pv = 1>}
func.func @asymmetric(%q: tensor<1x8x1x128xf32>, %k: tensor<1x2x?x128xf32>, %v: tensor<1x2x?x128xi4>, %vs: tensor<1x2x?x4xf16>, %vz: tensor<1x2x?x4xf16>) -> tensor<1x8x1x128xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x2x?x128xf32>) v(%v : tensor<1x2x?x128xi4>, #kvq.quant<i4, asymmetric, group(axis = 3, size = 32), scale = f16>, scale %vs : tensor<1x2x?x4xf16>, zero_point %vz : tensor<1x2x?x4xf16>) -> tensor<1x8x1x128xf32>
  return %o : tensor<1x8x1x128xf32>
}

// -----

// Values the integer path does not take keep the f32 P V, and the recorded
// schedule says so: asymmetric int8 codes ([0, 256) is not a signed
// operand), plain f32 (and, below, groups of under 4 code bytes).
// CHECK-LABEL: func.func @asymmetric_i8
// CHECK-NOT: kvq.dot_i8
// CHECK: int8_dot = 0, int8_pv = 0>}
func.func @asymmetric_i8(%q: tensor<1x8x1x128xf32>, %k: tensor<1x2x?x128xf32>, %v: tensor<1x2x?x128xi8>, %vs: tensor<1x2x?x4xf16>, %vz: tensor<1x2x?x4xf16>) -> tensor<1x8x1x128xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x2x?x128xf32>) v(%v : tensor<1x2x?x128xi8>, #kvq.quant<i8, asymmetric, group(axis = 3, size = 32), scale = f16>, scale %vs : tensor<1x2x?x4xf16>, zero_point %vz : tensor<1x2x?x4xf16>) -> tensor<1x8x1x128xf32>
  return %o : tensor<1x8x1x128xf32>
}

// -----

// Scale groups narrower than a span of 16 code bytes (int4 in groups of
// 16 channels: 8 bytes; KIVI's 2-bit values in groups of 32 alike): each
// lane takes its own group's weights, the 4 keys' i32 of the span's second
// group selected into lanes 8-15, and after the block its step the same
// way.
// CHECK-LABEL: func.func @group16
// CHECK: %[[WA:.*]] = vector.broadcast %{{.*}} : vector<1xi32> to vector<16xi32>
// CHECK: %[[WB:.*]] = vector.broadcast %{{.*}} : vector<1xi32> to vector<16xi32>
// CHECK: %[[WBI:.*]] = vector.bitcast %{{.*}} : vector<64xi8> to vector<16xi32>
// CHECK: %[[SEL:.*]] = arith.select %[[HALF:.*]], %[[WBI]], %{{.*}} : vector<16xi1>, vector<16xi32>
// CHECK: %[[W:.*]] = vector.bitcast %[[SEL]] : vector<16xi32> to vector<64xi8>
// CHECK: kvq.dot_i8 %{{.*}}, %[[W]], %{{.*}} {rhs_bits = 5 : i64} : vector<64xi8> -> vector<16xi32>
// CHECK: scf.yield
// CHECK: arith.constant dense<[false, false, false, false, false, false, false, false, true, true, true, true, true, true, true, true]> : vector<16xi1>
// CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : vector<16xi1>, vector<16xf32>
// CHECK: int8_dot = 0, int8_pv = 1>}
func.func @group16(%q: tensor<1x8x1x128xf32>, %k: tensor<1x2x?x128xf32>, %v: tensor<1x2x?x128xi4>, %vs: tensor<1x2x?x8xf16>) -> tensor<1x8x1x128xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x2x?x128xf32>) v(%v : tensor<1x2x?x128xi4>, #kvq.quant<i4, symmetric, group(axis = 3, size = 16), scale = f16>, scale %vs : tensor<1x2x?x8xf16>) -> tensor<1x8x1x128xf32>
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

// -----

// Groups under 4 code bytes (2-bit values in groups of 8 channels: 2
// bytes, 8 groups per span) keep f32.
// CHECK-LABEL: func.func @group8_i2
// CHECK-NOT: kvq.dot_i8
// CHECK: int8_dot = 0, int8_pv = 0>}
func.func @group8_i2(%q: tensor<1x8x1x128xf32>, %k: tensor<1x2x?x128xf32>, %v: tensor<1x2x?x128xi2>, %vs: tensor<1x2x?x16xf16>) -> tensor<1x8x1x128xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x2x?x128xf32>) v(%v : tensor<1x2x?x128xi2>, #kvq.quant<i2, symmetric, group(axis = 3, size = 8), scale = f16>, scale %vs : tensor<1x2x?x16xf16>) -> tensor<1x8x1x128xf32>
  return %o : tensor<1x8x1x128xf32>
}
