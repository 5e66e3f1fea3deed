// RUN: kvq-opt %s -split-input-file -kvq-tile-attention | FileCheck %s
// RUN: kvq-opt %s -split-input-file -kvq-tile-attention="block-kv=32 block-rows=2 split-kv=4" | FileCheck %s --check-prefix=OPTS

// Decode with an INT8 K cache: GQA rows of one KV head are processed
// together; besides the output, the only buffers are the tile's small
// scratch (nothing spans the 37 keys: no dequantized K or V exists). Codes
// are loaded and decoded in registers (vector<16xi8> -> f32, times the
// token's scale). The key range is split automatically (a decode shape:
// 32 work items over batch x KV heads x partitions, at least 4 blocks
// each); partitions run as parallel iterations and keep their rows'
// statistics and accumulators (34 = 2 + 32 channels); the last one of a
// (batch, KV head) to finish, counted atomically, combines them.
// CHECK-LABEL: func @decode_int8
// CHECK-DAG: %[[K:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<1x2x37x20xi8> to memref<1x2x37x20xi8, strided<[?, ?, ?, 1], offset: ?>>
// CHECK-DAG: %[[OUT:.*]] = memref.alloc() : memref<1x8x1x20xf32>
// CHECK-NOT: memref.alloc{{.*}}x37x
// CHECK: %[[WANTED:.*]] = arith.ceildivui %c32, %{{.*}} : index
// CHECK: %[[BYLEN:.*]] = arith.divui %{{.*}}, %c256 : index
// CHECK: %[[SPLITS:.*]] = arith.select %{{.*}}, %{{.*}}, %c1 : index
// CHECK: memref.alloc(%{{.*}}, %{{.*}}, %[[SPLITS]], %{{.*}}) {alignment = 64 : i64} : memref<?x?x?x?x34xf32>
// CHECK: scf.parallel (%[[B:.*]], %[[H:.*]], %{{.*}}) = (%{{.*}}, %{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}}, %[[SPLITS]])
// CHECK-DAG: memref.alloc() {alignment = 64 : i64} : memref<4x32xf32>
// CHECK-DAG: memref.alloc() {alignment = 64 : i64} : memref<4x64xf32>
// CHECK-DAG: memref.alloc() {alignment = 64 : i64} : memref<4x32xf32>
// CHECK-NOT: memref.alloc{{.*}}x37x
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c4
// Online softmax over blocks of 64 keys.
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c64
// CHECK: scf.for
// CHECK: %[[CODES:.*]] = vector.transfer_read %[[K]][%[[B]], %[[H]], %{{.*}}, %{{.*}}], %{{.*}} {in_bounds = [true]} : {{.*}}, vector<16xi8>
// CHECK: arith.extsi %[[CODES]] : vector<16xi8> to vector<16xi32>
// CHECK: arith.sitofp
// CHECK: arith.mulf
// CHECK: vector.fma
// The 4 keys' scores of the 4 rows: one shuffle tree.
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23] : vector<16xf32>, vector<16xf32>
// The block's last keys past whole groups of 4 (partial only in the last
// block) read the block's last key again and mask their scores.
// CHECK: scf.for
// CHECK: arith.minui
// CHECK: arith.cmpi uge
// The block maximum: a > b ? a : b lane-wise, then the rows' vectors down
// one halving shuffle tree (two rows per vector after the first step,
// four after the second) and the last lanes in place (no maximumf, whose
// NaN and -0 ordering costs blends and branches).
// CHECK: %[[GT:.*]] = arith.cmpf ogt, %[[MA:.*]], %[[MB:.*]] : vector<16xf32>
// CHECK: arith.select %[[GT]], %[[MA]], %[[MB]] : vector<16xi1>, vector<16xf32>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23] : vector<16xf32>, vector<16xf32>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31] : vector<16xf32>, vector<16xf32>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27] : vector<16xf32>, vector<16xf32>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [2, 3, 0, 1,
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [1, 0, 3, 2,
// CHECK-NOT: vector.reduction <maximumf>
// The rows' correction factors are one math.exp of a vector; the
// probabilities 2^((s - m) log2 e) (the f32 2^x of the register-blocked
// kernel).
// CHECK: math.exp %{{.*}} : vector<4xf32>
// CHECK: %[[D:.*]] = arith.subf %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK: arith.mulf %[[D]], %{{.*}} : vector<16xf32>
// CHECK: arith.constant 0x4B40007F : f32
// CHECK: arith.shli %{{.*}}, %{{.*}} : vector<16xi32>
// CHECK: %[[DONE:.*]] = memref.atomic_rmw addi %{{.*}}, %{{.*}}[%[[B]], %[[H]]] : (i32, memref<?x?xi32>) -> i32
// CHECK: arith.cmpi eq, %[[DONE]], %{{.*}} : i32
// CHECK: math.exp
// CHECK-NOT: scf.parallel
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable
// OPTS-LABEL: func @decode_int8
// OPTS: memref.alloc(%{{.*}}, %{{.*}}, %c4, %{{.*}}) {alignment = 64 : i64} : memref<?x?x?x?x34xf32>
// OPTS: scf.parallel ({{.*}}) = ({{.*}}) to (%{{.*}}, %{{.*}}, %c4)
// OPTS: memref.alloc() {alignment = 64 : i64} : memref<2x32xf32>
// OPTS: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c2
// OPTS: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c32
func.func @decode_int8(%q: tensor<1x8x1x20xf32>, %kc: tensor<1x2x37x20xi8>, %ks: tensor<1x2x37x1xf32>, %v: tensor<1x2x37x20xf32>) -> tensor<1x8x1x20xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x20xf32>) k(%kc : tensor<1x2x37x20xi8>, #kvq.quant<i8, symmetric, token>, scale %ks : tensor<1x2x37x1xf32>) v(%v : tensor<1x2x37x20xf32>) -> tensor<1x8x1x20xf32>
  return %o : tensor<1x8x1x20xf32>
}

// -----

// Causal prefill: the key loop of a row tile ends at the last key its rows
// may see (min(Skv, last position + Skv - Sq + 1)), so fully masked blocks
// are never read; inside the last block keys past a row's limit get -inf.
// CHECK-LABEL: func @causal
// CHECK: %[[END:.*]] = arith.minsi
// CHECK: arith.maxsi %{{.*}}, %[[END]]
// CHECK: arith.cmpi sgt
// CHECK: arith.select %{{.*}}, %cst{{.*}}, %{{.*}} : f32
func.func @causal(%q: tensor<2x4x33x16xf32>, %k: tensor<2x4x33x16xf32>, %v: tensor<2x4x33x16xf32>) -> tensor<2x4x33x16xf32> {
  %o = kvq.attention q(%q : tensor<2x4x33x16xf32>) k(%k : tensor<2x4x33x16xf32>) v(%v : tensor<2x4x33x16xf32>) {causal} -> tensor<2x4x33x16xf32>
  return %o : tensor<2x4x33x16xf32>
}

// -----

// FP8 e4m3 values are decoded through f16 (no f8 arithmetic reaches LLVM;
// x86 converts f16 in hardware): sign and exponent-mantissa bits moved into
// an f16 (sign-extended, shift left 7, bit 14 cleared), the NaN code
// (exponent-mantissa bits all set) selected, widened, scaled by 2^8; an
// asymmetric zero point is added after the scale. (Within a row's test
// for NaN codes: the row that holds one.)
// CHECK-LABEL: func @fp8_and_asym
// CHECK: %[[C:.*]] = vector.transfer_read {{.*}} vector<16xf8E4M3FN>
// CHECK-NEXT: %[[B:.*]] = arith.bitcast %[[C]] : vector<16xf8E4M3FN> to vector<16xi8>
// CHECK-NEXT: %[[U:.*]] = arith.extsi %[[B]] : vector<16xi8> to vector<16xi16>
// CHECK: %[[L:.*]] = arith.shli %[[U]], %{{.*}} : vector<16xi16>
// CHECK: %[[H:.*]] = arith.andi %[[L]], %{{.*}} : vector<16xi16>
// CHECK: %[[NB:.*]] = arith.constant dense<16256> : vector<16xi16>
// CHECK: %[[NM:.*]] = arith.andi %[[H]], %[[NB]] : vector<16xi16>
// CHECK: %[[NAN:.*]] = arith.cmpi eq, %[[NM]], %[[NB]]
// CHECK: %[[S:.*]] = arith.select %[[NAN]], %{{.*}}, %[[H]] : vector<16xi1>, vector<16xi16>
// CHECK: %[[F:.*]] = arith.bitcast %[[S]] : vector<16xi16> to vector<16xf16>
// CHECK: %[[W:.*]] = arith.extf %[[F]] : vector<16xf16> to vector<16xf32>
// CHECK: arith.mulf %[[W]], %{{.*}} : vector<16xf32>
// CHECK: arith.addf
func.func @fp8_and_asym(%q: tensor<1x2x1x32xf32>, %kc: tensor<1x2x9x32xf8E4M3FN>, %ks: tensor<1x2x1x32xf32>,
                        %vc: tensor<1x2x9x32xi8>, %vs: tensor<1x2x9x1xf16>, %vz: tensor<1x2x9x1xf16>) -> tensor<1x2x1x32xf32> {
  %o = kvq.attention q(%q : tensor<1x2x1x32xf32>) k(%kc : tensor<1x2x9x32xf8E4M3FN>, #kvq.quant<f8E4M3FN, symmetric, channel>, scale %ks : tensor<1x2x1x32xf32>)
      v(%vc : tensor<1x2x9x32xi8>, #kvq.quant<i8, asymmetric, token, scale = f16>, scale %vs : tensor<1x2x9x1xf16>, zero_point %vz : tensor<1x2x9x1xf16>) -> tensor<1x2x1x32xf32>
  return %o : tensor<1x2x1x32xf32>
}

// -----

// Packed INT4 K and V are read in the split layout: each vector of 16
// bytes gives two vectors of codes (the low nibbles, then the high ones)
// with a shift, a mask and (x ^ 8) - 8 for the sign, no interleave. The
// query rows are stored in the key's order (even channels, then odd ones,
// per 32), and the output row is put back in channel order (interleave).
// CHECK-LABEL: func @decode_int4_split
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30] : vector<32xf32>, vector<32xf32>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31] : vector<32xf32>, vector<32xf32>
// CHECK: %[[LO:.*]] = vector.transfer_read %{{.*}} : memref<1x1x50x32xi8, {{.*}}>, vector<16xi8>
// CHECK: %[[MASK:.*]] = arith.constant dense<15> : vector<16xi8>
// CHECK: %[[LOM:.*]] = arith.andi %[[LO]], %[[MASK]] : vector<16xi8>
// CHECK: %[[SIGN:.*]] = arith.constant dense<8> : vector<16xi8>
// CHECK: %[[LOX:.*]] = arith.xori %[[LOM]], %[[SIGN]] : vector<16xi8>
// CHECK: %[[LOS:.*]] = arith.subi %[[LOX]], %[[SIGN]] : vector<16xi8>
// CHECK: arith.sitofp %[[LOS]] : vector<16xi8> to vector<16xf32>
// CHECK: %[[HI:.*]] = vector.transfer_read %{{.*}} : memref<1x1x50x32xi8, {{.*}}>, vector<16xi8>
// CHECK: %[[FOUR:.*]] = arith.constant dense<4> : vector<16xi8>
// CHECK: %[[HIS:.*]] = arith.shrui %[[HI]], %[[FOUR]] : vector<16xi8>
// CHECK: %[[MASK2:.*]] = arith.constant dense<15> : vector<16xi8>
// CHECK: %[[HIM:.*]] = arith.andi %[[HIS]], %[[MASK2]] : vector<16xi8>
// CHECK: %[[SIGN2:.*]] = arith.constant dense<8> : vector<16xi8>
// CHECK: %[[HIX:.*]] = arith.xori %[[HIM]], %[[SIGN2]] : vector<16xi8>
// CHECK: arith.subi %[[HIX]], %[[SIGN2]] : vector<16xi8>
// CHECK-NOT: vector.interleave
// CHECK: vector.fma
// CHECK: vector.interleave %{{.*}}, %{{.*}} : vector<16xf32> -> vector<32xf32>
// CHECK: vector.extract_strided_slice %{{.*}} {offsets = [16], sizes = [16], strides = [1]} : vector<32xf32> to vector<16xf32>
func.func @decode_int4_split(%q: tensor<1x4x1x64xf32>, %kc: tensor<1x1x50x64xi4>, %ks: tensor<1x1x50x2xf16>, %vc: tensor<1x1x50x64xi4>, %vs: tensor<1x1x50x2xf16>) -> tensor<1x4x1x64xf32> {
  %o = kvq.attention q(%q : tensor<1x4x1x64xf32>) k(%kc : tensor<1x1x50x64xi4>, #kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>, scale %ks : tensor<1x1x50x2xf16>) v(%vc : tensor<1x1x50x64xi4>, #kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>, scale %vs : tensor<1x1x50x2xf16>) -> tensor<1x4x1x64xf32>
  return %o : tensor<1x4x1x64xf32>
}

// -----

// Prefill (at least 16 rows per KV head: here 2 heads x 40 positions) takes
// the register-blocked kernel: per tile of 32 rows, the transposed query
// tile (32 x D), the block's decoded keys and values, the scores as keys x
// rows and the accumulators; scores by micro-tiles of 8 keys x 2 row
// vectors (16 accumulators carried over the head dim), with the query
// scaled by the softmax scale times log2 e. Causal: the keys of a block
// that only the second row vector's rows see take tiles of 16 keys x that
// row vector alone. The online softmax runs down the columns, masking keys
// past each lane's limit only where the block has such keys (scf.if), and
// takes 2^x: x + 0x4B40007F (1.5 * 2^23 + 127) rounds, a degree-6
// polynomial of the fraction, and the sum's bits shifted into the exponent
// field make 2^n. P V by 4 rows x 2 value vectors (D = 32).
// CHECK-LABEL: func @prefill_tiles
// CHECK: scf.if
// CHECK-DAG: memref.alloc() {alignment = 64 : i64} : memref<32x32xf32>
// CHECK-DAG: memref.alloc() {alignment = 64 : i64} : memref<64x32xf32>
// CHECK: vector.step : vector<16xindex>
// CHECK: arith.constant 1.44269502 : f32
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c32
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c64
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c8
// CHECK: %{{.*}}:16 = scf.for {{.*}} -> (vector<16xf32>,
// CHECK-COUNT-16: vector.fma
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c16
// CHECK: %{{.*}}:16 = scf.for {{.*}} -> (vector<16xf32>,
// CHECK-COUNT-16: vector.fma %{{.*}}, %[[Q1:.*]], %{{.*}} : vector<16xf32>
// CHECK: scf.if %{{.*}} -> (vector<16xf32>) {
// CHECK: arith.cmpi sgt, %{{.*}}, %{{.*}} : vector<16xindex>
// CHECK: } else {
// CHECK-NOT: arith.cmpi
// CHECK: arith.cmpf ogt
// CHECK: scf.yield
// CHECK: %[[MAGIC:.*]] = arith.constant 0x4B40007F : f32
// CHECK: %[[M:.*]] = vector.broadcast %[[MAGIC]]
// CHECK: %[[SHIFTED:.*]] = arith.addf %{{.*}}, %[[M]] : vector<16xf32>
// CHECK: arith.subf %[[SHIFTED]], %[[M]] : vector<16xf32>
// CHECK-COUNT-6: vector.fma
// CHECK: %[[BITS:.*]] = vector.bitcast %[[SHIFTED]] : vector<16xf32> to vector<16xi32>
// CHECK: arith.shli %[[BITS]], %{{.*}} : vector<16xi32>
// CHECK-NOT: math.exp
// CHECK: %{{.*}}:8 = scf.for {{.*}} -> (vector<16xf32>,
// CHECK-COUNT-8: vector.fma
func.func @prefill_tiles(%q: tensor<1x4x40x32xf32>, %k: tensor<1x2x40x32xf32>, %v: tensor<1x2x40x32xf32>) -> tensor<1x4x40x32xf32> {
  %o = kvq.attention q(%q : tensor<1x4x40x32xf32>) k(%k : tensor<1x2x40x32xf32>) v(%v : tensor<1x2x40x32xf32>) {causal} -> tensor<1x4x40x32xf32>
  return %o : tensor<1x4x40x32xf32>
}

// -----

// Decode over short f16 heads (D = 32, two vectors per key; 4 query rows
// per KV head): 4 keys are decoded together and their 16 row vectors summed
// by one shuffle tree into one vector of scores (row t's in lanes 4 t ..
// 4 t + 3), stored as 4 scores per row with keys past the block at -inf.
// Heads of up to 4 vectors do this; heads of 128 channels (8 vectors)
// keep one reduction per key, which measured faster for them.
// CHECK-LABEL: func @short_head
// CHECK: scf.for %{{.*}} step %c64{{.*}} {
// CHECK: scf.for %[[JJ:[^ ]*]] = %c0{{.*}} to %{{.*}} step %c4{{.*}} {
// CHECK-COUNT-8: vector.transfer_read %{{.*}} : memref<1x2x?x32xf16, {{.*}}>, vector<16xf16>
// CHECK-NOT: vector.reduction
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3] : vector<16xf32>, vector<16xf32>
// CHECK: vector.store %{{.*}}, %{{.*}}[%c0{{.*}}, %[[JJ]]] : memref<4x64xf32>, vector<4xf32>
// CHECK: vector.store %{{.*}}, %{{.*}}[%c3{{.*}}, %[[JJ]]] : memref<4x64xf32>, vector<4xf32>
// CHECK-LABEL: func @long_head
// CHECK: scf.for %{{.*}} step %c64{{.*}} {
// CHECK: scf.for %[[J:[^ ]*]] = %c0 to %{{.*}} step %c1 {
// CHECK: memref.store %{{.*}}, %{{.*}}[%c0{{.*}}, %[[J]]] : memref<4x64xf32>
func.func @short_head(%q: tensor<1x8x1x32xf32>, %k: tensor<1x2x?x32xf16>, %v: tensor<1x2x?x32xf16>)
    -> tensor<1x8x1x32xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x32xf32>) k(%k : tensor<1x2x?x32xf16>) v(%v : tensor<1x2x?x32xf16>)
      -> tensor<1x8x1x32xf32>
  return %o : tensor<1x8x1x32xf32>
}
func.func @long_head(%q: tensor<1x8x1x128xf32>, %k: tensor<1x2x?x128xf16>, %v: tensor<1x2x?x128xf16>)
    -> tensor<1x8x1x128xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x2x?x128xf16>) v(%v : tensor<1x2x?x128xf16>)
      -> tensor<1x8x1x128xf32>
  return %o : tensor<1x8x1x128xf32>
}

// -----

// FP8 e4m3 rows: one NaN test per 64 bytes of a row (the 72 bytes of D 72:
// 64, then 8), on the bytes. A row holding a NaN code takes the exact
// decoding (its NaN codes selected); the others three
// integer operations per vector (sign-extend, shift by 7, clear bit 14),
// whose f16 is the value times 2^-8: the keys' scale times 2^8 multiplies
// them, and the values' 2^8 goes into P V's weights (scale times 2^8), so
// the decoded values are not multiplied at all.
// CHECK-LABEL: func @fp8_rows
// CHECK: vector.transfer_read {{.*}} vector<64xf8E4M3FN>
// CHECK: vector.reduction <or>, %{{.*}} : vector<64xi1> into i1
// CHECK: vector.transfer_read {{.*}} vector<8xf8E4M3FN>
// CHECK: vector.reduction <or>, %{{.*}} : vector<8xi1> into i1
// CHECK: %[[ANY:.*]] = arith.ori
// CHECK: scf.if %[[ANY]] -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : vector<16xi1>, vector<16xi16>
// CHECK: } else {
// CHECK: %[[S:.*]] = arith.extsi %{{.*}} : vector<16xi8> to vector<16xi16>
// CHECK-NEXT: %[[SEVEN:.*]] = arith.constant dense<7> : vector<16xi16>
// CHECK-NEXT: %[[L:.*]] = arith.shli %[[S]], %[[SEVEN]]
// CHECK-NEXT: %[[M:.*]] = arith.constant dense<-16385> : vector<16xi16>
// CHECK-NEXT: %[[H:.*]] = arith.andi %[[L]], %[[M]]
// CHECK-NEXT: %[[F:.*]] = arith.bitcast %[[H]] : vector<16xi16> to vector<16xf16>
// CHECK-NEXT: %[[W:.*]] = arith.extf %[[F]] : vector<16xf16> to vector<16xf32>
// CHECK: %[[KS:.*]] = arith.mulf %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK-NEXT: arith.mulf %[[W]], %[[KS]] : vector<16xf32>
// CHECK: %[[VS:.*]] = scf.if %{{.*}} -> (vector<16xf32>)
// CHECK: %[[UNIT:.*]] = arith.constant 2.560000e+02 : f32
// CHECK-NEXT: %[[UNITS:.*]] = vector.broadcast %[[UNIT]]
// CHECK-NEXT: %[[SCALES:.*]] = arith.mulf %[[VS]], %[[UNITS]]
// CHECK: arith.mulf %{{.*}}, %[[SCALES]] : vector<16xf32>
// CHECK: vector.transfer_read {{.*}} vector<64xf8E4M3FN>
// CHECK: scf.if %{{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: } else {
// CHECK: %[[V:.*]] = arith.extf %{{.*}} : vector<16xf16> to vector<16xf32>
// CHECK-NOT: arith.mulf
// CHECK: scf.yield
func.func @fp8_rows(%q: tensor<1x8x1x72xf32>, %kc: tensor<1x2x?x72xf8E4M3FN>, %ks: tensor<1x2x?x1xf16>,
                    %vc: tensor<1x2x?x72xf8E4M3FN>, %vs: tensor<1x2x?x1xf16>) -> tensor<1x8x1x72xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x72xf32>) k(%kc : tensor<1x2x?x72xf8E4M3FN>, #kvq.quant<f8E4M3FN, symmetric, token, scale = f16>, scale %ks : tensor<1x2x?x1xf16>)
      v(%vc : tensor<1x2x?x72xf8E4M3FN>, #kvq.quant<f8E4M3FN, symmetric, token, scale = f16>, scale %vs : tensor<1x2x?x1xf16>) -> tensor<1x8x1x72xf32>
  return %o : tensor<1x8x1x72xf32>
}

// -----

// The prefill kernel decodes a block's FP8 rows into scratch the same way:
// one NaN test per 64 bytes of a row, then the row's chunks from the branch.
// CHECK-LABEL: func @fp8_prefill
// CHECK: vector.transfer_read {{.*}} vector<64xf8E4M3FN>
// CHECK: %[[K:.*]]:4 = scf.if %{{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: vector.store %[[K]]#0, %{{.*}} : memref<{{.*}}xf32>, vector<16xf32>
// CHECK: vector.store %[[K]]#3, %{{.*}} : memref<{{.*}}xf32>, vector<16xf32>
// CHECK: vector.transfer_read {{.*}} vector<64xf8E4M3FN>
// CHECK: %[[V:.*]]:4 = scf.if %{{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: vector.store %[[V]]#0, %{{.*}} : memref<{{.*}}xf32>, vector<16xf32>
func.func @fp8_prefill(%q: tensor<1x2x5x64xf32>, %kc: tensor<1x2x?x64xf8E4M3FN>, %ks: tensor<1x2x?x1xf16>,
                       %vc: tensor<1x2x?x64xf8E4M3FN>, %vs: tensor<1x2x?x1xf16>) -> tensor<1x2x5x64xf32> {
  %o = kvq.attention q(%q : tensor<1x2x5x64xf32>) k(%kc : tensor<1x2x?x64xf8E4M3FN>, #kvq.quant<f8E4M3FN, symmetric, token, scale = f16>, scale %ks : tensor<1x2x?x1xf16>)
      v(%vc : tensor<1x2x?x64xf8E4M3FN>, #kvq.quant<f8E4M3FN, symmetric, token, scale = f16>, scale %vs : tensor<1x2x?x1xf16>) -> tensor<1x2x5x64xf32>
  return %o : tensor<1x2x5x64xf32>
}
