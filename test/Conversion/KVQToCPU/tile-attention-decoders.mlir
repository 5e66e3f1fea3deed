// RUN: kvq-opt %s -split-input-file -kvq-tile-attention -canonicalize | FileCheck %s

// A KIVI cache: INT4 codes (asymmetric, per-channel groups of 32 tokens) for
// the old tokens and a full-precision window of the newest ones, joined by
// tensor.concat along the tokens. The attention decodes both inside its
// loop through KVDecoderOpInterface (kvq.dequantize and tensor.concat): no
// concatenation, no dequantized K and no buffer spanning the keys remain;
// each key row picks its source with one comparison against the quantized
// length and reads packed bytes or the window's floats.
// CHECK-LABEL: func @kivi_window
// CHECK-NOT: tensor.concat
// CHECK-NOT: kvq.dequantize
// CHECK-NOT: memref.alloc{{.*}} : memref<1x2x?x
// CHECK: scf.for
// CHECK: %[[NQ:.*]] = tensor.dim %{{.*}}, %c2 : tensor<1x2x?x32xi8>
// CHECK: %[[IN:.*]] = arith.cmpi ult, %{{.*}}, %[[NQ]] : index
// CHECK: scf.if %[[IN]] -> (vector<16xf32>) {
// CHECK: vector.transfer_read {{.*}} : memref<1x2x?x32xi8, {{.*}}>, vector<8xi8>
// CHECK: arith.uitofp
// CHECK: } else {
// CHECK: arith.subi %{{.*}}, %[[NQ]] : index
// CHECK: vector.transfer_read {{.*}} : memref<1x2x?x64xf16, {{.*}}>, vector<16xf16>
func.func @kivi_window(%q: tensor<1x4x1x64xf32>, %kc: tensor<1x2x?x64xi4>,
                       %ks: tensor<1x2x?x64xf16>, %kz: tensor<1x2x?x64xf16>,
                       %kw: tensor<1x2x?x64xf16>, %v: tensor<1x2x?x64xf32>)
    -> tensor<1x4x1x64xf32> {
  %kd = kvq.dequantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %kc, %ks, %kz
      : tensor<1x2x?x64xi4>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x2x?x64xf16>
  %k = tensor.concat dim(2) %kd, %kw : (tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16>) -> tensor<1x2x?x64xf16>
  %o = kvq.attention q(%q : tensor<1x4x1x64xf32>) k(%k : tensor<1x2x?x64xf16>)
      v(%v : tensor<1x2x?x64xf32>) -> tensor<1x4x1x64xf32>
  return %o : tensor<1x4x1x64xf32>
}

// -----

// Concatenation along the channels is decoded in the loop too: no
// concatenated K is formed. A chunk inside one input reads it as it is
// (chunk 0 is %a's channels 0-15); chunk 1 holds %a's channels 16-19 and
// %b's 0-11: %b is read at its chunk 0 and shuffled up 4 lanes, then a
// constant lane mask picks the inputs; chunk 2 holds %b's 12-19, read at
// its chunk 0 (for 12-15) and chunk 1 (16-19) and shuffled down 12 lanes,
// zero past D = 40.
// CHECK-LABEL: func @concat_channels
// CHECK-DAG: %[[B_IN_2:.*]] = arith.constant dense<[true, true, true, true, true, true, true, true, false, false, false, false, false, false, false, false]> : vector<16xi1>
// CHECK-DAG: %[[B_IN_1:.*]] = arith.constant dense<[false, false, false, false, true, true, true, true, true, true, true, true, true, true, true, true]> : vector<16xi1>
// CHECK-DAG: %[[A_IN_1:.*]] = arith.constant dense<[true, true, true, true, false, false, false, false, false, false, false, false, false, false, false, false]> : vector<16xi1>
// CHECK-NOT: tensor.concat
// CHECK: scf.for
// CHECK: vector.transfer_read %[[ABUF:[0-9a-z_]+]][%c0, %{{.*}}, %{{.*}}, %c0]{{.*}} : memref<1x2x9x20xf32{{.*}}>, vector<16xf32>
// CHECK: %[[A1:.*]] = vector.transfer_read %[[ABUF]][%c0, %{{.*}}, %{{.*}}, %c16]
// CHECK: %[[C1A:.*]] = arith.select %[[A_IN_1]], %[[A1]], %{{.*}} : vector<16xi1>, vector<16xf32>
// CHECK: %[[B0:.*]] = vector.transfer_read %[[BBUF:[0-9a-z_]+]][%c0, %{{.*}}, %{{.*}}, %c0]
// CHECK: %[[BUP:.*]] = vector.shuffle %[[B0]], %[[B0]] [0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
// CHECK: arith.select %[[B_IN_1]], %[[BUP]], %[[C1A]] : vector<16xi1>, vector<16xf32>
// CHECK: %[[B0B:.*]] = vector.transfer_read %[[BBUF]][%c0, %{{.*}}, %{{.*}}, %c0]
// CHECK: %[[B1:.*]] = vector.transfer_read %[[BBUF]][%c0, %{{.*}}, %{{.*}}, %c16]
// CHECK: %[[BDOWN:.*]] = vector.shuffle %[[B0B]], %[[B1]] [12, 13, 14, 15, 16, 17, 18, 19, 0, 0, 0, 0, 0, 0, 0, 0]
// CHECK: arith.select %[[B_IN_2]], %[[BDOWN]], %{{.*}} : vector<16xi1>, vector<16xf32>
func.func @concat_channels(%q: tensor<1x2x1x40xf32>, %a: tensor<1x2x9x20xf32>,
                           %b: tensor<1x2x9x20xf32>, %v: tensor<1x2x9x32xf32>)
    -> tensor<1x2x1x32xf32> {
  %k = tensor.concat dim(3) %a, %b : (tensor<1x2x9x20xf32>, tensor<1x2x9x20xf32>) -> tensor<1x2x9x40xf32>
  %o = kvq.attention q(%q : tensor<1x2x1x40xf32>) k(%k : tensor<1x2x9x40xf32>)
      v(%v : tensor<1x2x9x32xf32>) -> tensor<1x2x1x32xf32>
  return %o : tensor<1x2x1x32xf32>
}

// -----

// 42 channels are not a multiple of 4, which the GPU kernels need of a
// decoded K / V: the concatenation is materialized and attention reads it.
// CHECK-LABEL: func @concat_channels_ragged
// CHECK: tensor.concat dim(3)
// CHECK: bufferization.to_buffer
func.func @concat_channels_ragged(%q: tensor<1x2x1x42xf32>, %a: tensor<1x2x9x20xf32>,
                                  %b: tensor<1x2x9x22xf32>, %v: tensor<1x2x9x32xf32>)
    -> tensor<1x2x1x32xf32> {
  %k = tensor.concat dim(3) %a, %b : (tensor<1x2x9x20xf32>, tensor<1x2x9x22xf32>) -> tensor<1x2x9x42xf32>
  %o = kvq.attention q(%q : tensor<1x2x1x42xf32>) k(%k : tensor<1x2x9x42xf32>)
      v(%v : tensor<1x2x9x32xf32>) -> tensor<1x2x1x32xf32>
  return %o : tensor<1x2x1x32xf32>
}
