// RUN: kvq-opt %s -split-input-file -kvq-tile-attention | FileCheck %s
// RUN: kvq-opt %s -split-input-file -kvq-tile-attention="block-kv=32 block-rows=2 split-kv=4" | FileCheck %s --check-prefix=OPTS

// Decode with an INT8 K cache: GQA rows of one KV head are processed
// together; besides the output, the only buffers are the tile's small
// scratch (nothing spans the 37 keys: no dequantized K or V exists). Codes
// are loaded and decoded in registers (vector<16xi8> -> f32, times the
// token's scale).
// CHECK-LABEL: func @decode_int8
// CHECK-DAG: %[[K:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<1x2x37x20xi8> to memref<1x2x37x20xi8, strided<[?, ?, ?, 1], offset: ?>>
// CHECK-DAG: %[[OUT:.*]] = memref.alloc() : memref<1x8x1x20xf32>
// CHECK-NOT: memref.alloc{{.*}}x37x
// CHECK: scf.parallel (%[[B:.*]], %[[H:.*]]) = (%{{.*}}, %{{.*}}) to
// CHECK-DAG: memref.alloc() {alignment = 64 : i64} : memref<4x32xf32>
// CHECK-DAG: memref.alloc() {alignment = 64 : i64} : memref<4x64xf32>
// CHECK-DAG: memref.alloc() {alignment = 64 : i64} : memref<1x4x32xf32>
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
// CHECK: vector.reduction <add>
// CHECK: vector.reduction <maximumf>
// CHECK: math.exp
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable
// OPTS-LABEL: func @decode_int8
// OPTS: memref.alloc() {alignment = 64 : i64} : memref<4x2x32xf32>
// OPTS: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c2
// OPTS: scf.for %{{.*}} = %{{.*}} to %c4{{(_[0-9]+)?}} step %c1
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

// FP8 values are decoded with integer arithmetic (no f8 arithmetic reaches
// LLVM); an asymmetric zero point is added after the scale.
// CHECK-LABEL: func @fp8_and_asym
// CHECK: vector<16xf8E4M3FN>
// CHECK: arith.bitcast %{{.*}} : vector<16xf8E4M3FN> to vector<16xi8>
// CHECK: arith.uitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// CHECK: arith.addf
func.func @fp8_and_asym(%q: tensor<1x2x1x32xf32>, %kc: tensor<1x2x9x32xf8E4M3FN>, %ks: tensor<1x2x1x32xf32>,
                        %vc: tensor<1x2x9x32xi8>, %vs: tensor<1x2x9x1xf16>, %vz: tensor<1x2x9x1xf16>) -> tensor<1x2x1x32xf32> {
  %o = kvq.attention q(%q : tensor<1x2x1x32xf32>) k(%kc : tensor<1x2x9x32xf8E4M3FN>, #kvq.quant<f8E4M3FN, symmetric, channel>, scale %ks : tensor<1x2x1x32xf32>)
      v(%vc : tensor<1x2x9x32xi8>, #kvq.quant<i8, asymmetric, token, scale = f16>, scale %vs : tensor<1x2x9x1xf16>, zero_point %vz : tensor<1x2x9x1xf16>) -> tensor<1x2x1x32xf32>
  return %o : tensor<1x2x1x32xf32>
}
