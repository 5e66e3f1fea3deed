// RUN: kvq-opt %s -split-input-file -kvq-fuse -kvq-tile-attention="int8-dot=1 int8-pv=1" -canonicalize | FileCheck %s
// RUN: kvq-opt %s -split-input-file -kvq-fuse -kvq-tile-attention="int8-dot=1 int8-pv=1" | FileCheck %s --check-prefix=SCHED
// RUN: kvq-opt %s -split-input-file -kvq-fuse -kvq-tile-attention="int8-dot=1 int8-pv=1 byte-tables=1" -canonicalize | FileCheck %s --check-prefix=TABLES

// VidKV with int8 dot products. kvq-fuse leaves the keys in slot
// coordinates (kvq.vidkv_decode_key_slots over the dequantized 2-bit high
// channels, then one sign bit per spectral slot). The decode kernel's
// scores run with the lanes over 16 keys: int8 dot products over the high
// codes (the query folded with each token group's scales), then over the
// spectral slots' bits: each 32 slots of the 16 keys (4 byte columns
// joined into one i32 lane per key) as 8 planes of 0 / 1 bytes against
// the row's codes of 2 * query * scale (per token group, [rows, 64]
// bytes in plane order, a step per row and 32 slots). P V takes the
// values' base-3 digits (5 per byte, by multiply-shift in 16-bit lanes;
// with byte-tables, one kvq.lookup per digit in a table of 256) as the
// signed operand of the dot products with 4 keys' quantized
// probabilities, and adds the sums times the channels' scales into the
// f32 accumulators where a token group of 32 keys (or the block) ends.
// CHECK-LABEL: func.func @vidkv_int8
// CHECK: %[[LOWBITS:.*]] = arith.constant dense<16843009> : vector<16xi32>
// CHECK: %[[CODES:.*]] = memref.alloc() {alignment = 64 : i64} : memref<4x64xi8>
// CHECK: kvq.dot_i8 %{{.*}}, %{{.*}}, %{{.*}} {lhs_bits = 2 : i64} : vector<64xi8> -> vector<16xi32>
// CHECK: %[[WORD:.*]] = vector.bitcast %{{.*}} : vector<64xi8> to vector<16xi32>
// CHECK-NEXT: %[[PLANE:.*]] = arith.andi %[[WORD]], %[[LOWBITS]] : vector<16xi32>
// CHECK-NEXT: %[[BYTES:.*]] = vector.bitcast %[[PLANE]] : vector<16xi32> to vector<64xi8>
// CHECK-NEXT: vector.load %[[CODES]][%c0, %c0] : memref<4x64xi8>, vector<4xi8>
// CHECK: kvq.dot_i8 %{{.*}}, %[[BYTES]], %{{.*}} {lhs_bits = 1 : i64} : vector<64xi8> -> vector<16xi32>
// CHECK: arith.muli %{{.*}}, %{{.*}} : vector<32xi16>
// CHECK: kvq.dot_i8 %{{.*}}, %{{.*}}, %{{.*}} {rhs_bits = 2 : i64} : vector<64xi8> -> vector<16xi32>
// CHECK: arith.remui %{{.*}}, %c32 : index
// TABLES-LABEL: func.func @vidkv_int8
// TABLES-NOT: arith.muli %{{.*}}, %{{.*}} : vector<32xi16>
// TABLES-COUNT-5: kvq.lookup %{{.*}}[%{{.*}}] : vector<256xi8>, vector<64xi8>
// TABLES: kvq.dot_i8 %{{.*}}, %{{.*}}, %{{.*}} {rhs_bits = 2 : i64} : vector<64xi8> -> vector<16xi32>
// SCHED-LABEL: func.func @vidkv_int8
// SCHED: int8_dot = 1, int8_pv = 1>}
func.func @vidkv_int8(%q: tensor<1x8x1x128xf32>, %hc: tensor<1x2x?x16xi8>, %hs: tensor<1x2x?x64xf16>,
                      %hm: tensor<1x2x?x64xf16>, %lc: tensor<1x2x?x8xi8>, %ls: tensor<1x2x?x64xf16>,
                      %ch: tensor<1x2x128xi32>, %vc: tensor<1x2x?x26xi8>, %vs: tensor<1x2x?x128xf16>)
    -> tensor<1x8x1x128xf32> {
  %k = kvq.vidkv_decode_key %hc, %hs, %hm, %lc, %ls, %ch : tensor<1x2x?x16xi8>, tensor<1x2x?x64xf16>,
      tensor<1x2x?x64xf16>, tensor<1x2x?x8xi8>, tensor<1x2x?x64xf16>, tensor<1x2x128xi32> -> tensor<1x2x?x128xf32>
  %v = kvq.vidkv_decode_value %vc, %vs : tensor<1x2x?x26xi8>, tensor<1x2x?x128xf16> -> tensor<1x2x?x128xf32>
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x2x?x128xf32>)
      v(%v : tensor<1x2x?x128xf32>) -> tensor<1x8x1x128xf32>
  return %o : tensor<1x8x1x128xf32>
}

// -----

// Token groups of 8 keys (not whole iterations of 16): f32 scores and
// f32 P V, recorded as int8_dot = 0 and int8_pv = 0.
// CHECK-LABEL: func.func @vidkv_groups_of_8
// CHECK-NOT: kvq.dot_i8
// CHECK: return
// SCHED-LABEL: func.func @vidkv_groups_of_8
// SCHED: int8_dot = 0, int8_pv = 0>}
func.func @vidkv_groups_of_8(%q: tensor<1x8x1x128xf32>, %hc: tensor<1x2x?x16xi8>, %hs: tensor<1x2x?x64xf16>,
                             %hm: tensor<1x2x?x64xf16>, %lc: tensor<1x2x?x8xi8>, %ls: tensor<1x2x?x64xf16>,
                             %ch: tensor<1x2x128xi32>, %vc: tensor<1x2x?x26xi8>, %vs: tensor<1x2x?x128xf16>)
    -> tensor<1x8x1x128xf32> {
  %k = kvq.vidkv_decode_key %hc, %hs, %hm, %lc, %ls, %ch {group_size = 8} : tensor<1x2x?x16xi8>, tensor<1x2x?x64xf16>,
      tensor<1x2x?x64xf16>, tensor<1x2x?x8xi8>, tensor<1x2x?x64xf16>, tensor<1x2x128xi32> -> tensor<1x2x?x128xf32>
  %v = kvq.vidkv_decode_value %vc, %vs {group_size = 8} : tensor<1x2x?x26xi8>, tensor<1x2x?x128xf16> -> tensor<1x2x?x128xf32>
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x2x?x128xf32>)
      v(%v : tensor<1x2x?x128xf32>) -> tensor<1x8x1x128xf32>
  return %o : tensor<1x8x1x128xf32>
}

// -----

// Three query tokens (a prefill shape): int8 scores, but P V in f32 (the
// values' int8 P V is for decode, one query token).
// SCHED-LABEL: func.func @vidkv_prefill
// SCHED: int8_dot = 1, int8_pv = 0>}
func.func @vidkv_prefill(%q: tensor<1x8x3x128xf32>, %hc: tensor<1x2x?x16xi8>, %hs: tensor<1x2x?x64xf16>,
                         %hm: tensor<1x2x?x64xf16>, %lc: tensor<1x2x?x8xi8>, %ls: tensor<1x2x?x64xf16>,
                         %ch: tensor<1x2x128xi32>, %vc: tensor<1x2x?x26xi8>, %vs: tensor<1x2x?x128xf16>)
    -> tensor<1x8x3x128xf32> {
  %k = kvq.vidkv_decode_key %hc, %hs, %hm, %lc, %ls, %ch : tensor<1x2x?x16xi8>, tensor<1x2x?x64xf16>,
      tensor<1x2x?x64xf16>, tensor<1x2x?x8xi8>, tensor<1x2x?x64xf16>, tensor<1x2x128xi32> -> tensor<1x2x?x128xf32>
  %v = kvq.vidkv_decode_value %vc, %vs : tensor<1x2x?x26xi8>, tensor<1x2x?x128xf16> -> tensor<1x2x?x128xf32>
  %o = kvq.attention q(%q : tensor<1x8x3x128xf32>) k(%k : tensor<1x2x?x128xf32>)
      v(%v : tensor<1x2x?x128xf32>) {causal} -> tensor<1x8x3x128xf32>
  return %o : tensor<1x8x3x128xf32>
}
