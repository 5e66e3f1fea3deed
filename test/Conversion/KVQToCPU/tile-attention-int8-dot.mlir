// RUN: kvq-opt %s -split-input-file -kvq-tile-attention="int8-dot=1" | FileCheck %s

// Schedule int8_dot: the decode kernel's scores over int8 / int4 / int2
// keys become int8 dot products. Per row tile, the scaled query is
// quantized per 32 channels (round to even of q * 127 / max |q|), put in
// the key's plane layout (even then odd channels for int4), and each lane's
// accumulator starts at -h * (its sum of query codes), h = 2^(bits-1).
// Per key, the code bytes are xor'ed with the fields' sign bits (0x88 for
// int4: u = code + 8), split into planes with a mask and a shift, and
// multiplied with the query codes by kvq.dot_i8; each lane is scaled by its
// query and key group scales in f32.
// CHECK-LABEL: func.func @int4
// CHECK-DAG: arith.constant dense<-8> : vector<16xi32>
// CHECK: math.roundeven %{{.*}} : vector<16xf32>
// CHECK: arith.fptosi %{{.*}} : vector<16xf32> to vector<16xi32>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 2, 4, 6,
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [1, 3, 5, 7,
// CHECK: vector.from_elements %[[S0:.*]], %[[S0]], %[[S0]], %[[S0]], %[[S1:[^,]*]], %[[S1]], %[[S1]], %[[S1]],
// CHECK: scf.for
// CHECK: scf.for
// CHECK: %[[BYTES:.*]] = vector.transfer_read %{{.*}} : memref<{{.*}}xi8{{.*}}>, vector<64xi8>
// CHECK: %[[U:.*]] = arith.xori %[[BYTES]], %{{.*}} : vector<64xi8>
// CHECK: %[[LO:.*]] = arith.andi %[[U]], %{{.*}} : vector<64xi8>
// CHECK: %[[HI:.*]] = arith.shrui %[[U]], %{{.*}} : vector<64xi8>
// CHECK: %[[D0:.*]] = kvq.dot_i8 %{{.*}}, %[[LO]], %{{.*}} : vector<64xi8> -> vector<16xi32>
// CHECK: kvq.dot_i8 %[[D0]], %[[HI]], %{{.*}} : vector<64xi8> -> vector<16xi32>
// CHECK: arith.sitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// CHECK: vector.fma
// CHECK: } {kvq.kernel_schedule = #kvq.schedule<cpu, block_kv = 64, split_kv = 0, block_rows = 4, vector_width = 16, int8_dot = 1>}
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
// CHECK: kvq.dot_i8
// CHECK: vector.transfer_read %{{.*}} : memref<{{.*}}xi8{{.*}}>, vector<64xi8>
// CHECK: kvq.dot_i8
// CHECK: int8_dot = 1>}
func.func @int8(%q: tensor<1x4x1x72xf32>, %k: tensor<1x1x?x72xi8>, %ks: tensor<1x1x?x9xf32>, %v: tensor<1x1x?x72xf32>) -> tensor<1x4x1x72xf32> {
  %o = kvq.attention q(%q : tensor<1x4x1x72xf32>) k(%k : tensor<1x1x?x72xi8>, #kvq.quant<i8, symmetric, group(axis = 3, size = 8), scale = f32>, scale %ks : tensor<1x1x?x9xf32>) v(%v : tensor<1x1x?x72xf32>) -> tensor<1x4x1x72xf32>
  return %o : tensor<1x4x1x72xf32>
}

// -----

// Keys the integer path does not take keep the f32 scores, and the
// recorded schedule says so: asymmetric codes (a zero point), plain f32.
// CHECK-LABEL: func.func @asymmetric
// CHECK-NOT: kvq.dot_i8
// CHECK: int8_dot = 0>}
func.func @asymmetric(%q: tensor<1x8x1x128xf32>, %k: tensor<1x2x?x128xi4>, %ks: tensor<1x2x?x4xf16>, %kz: tensor<1x2x?x4xf16>, %v: tensor<1x2x?x128xf32>) -> tensor<1x8x1x128xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x128xf32>) k(%k : tensor<1x2x?x128xi4>, #kvq.quant<i4, asymmetric, group(axis = 3, size = 32), scale = f16>, scale %ks : tensor<1x2x?x4xf16>, zero_point %kz : tensor<1x2x?x4xf16>) v(%v : tensor<1x2x?x128xf32>) -> tensor<1x8x1x128xf32>
  return %o : tensor<1x8x1x128xf32>
}

// -----

// CHECK-LABEL: func.func @plain
// CHECK-NOT: kvq.dot_i8
// CHECK: int8_dot = 0>}
func.func @plain(%q: tensor<1x8x1x64xf32>, %k: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x64xf32>) -> tensor<1x8x1x64xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x64xf32>) k(%k : tensor<1x2x?x64xf32>) v(%v : tensor<1x2x?x64xf32>) -> tensor<1x8x1x64xf32>
  return %o : tensor<1x8x1x64xf32>
}
