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

// Concatenation along the head dimension is not a token window: it is
// materialized as before and attention reads the result.
// CHECK-LABEL: func @concat_channels
// CHECK: tensor.concat dim(3)
// CHECK: bufferization.to_buffer
func.func @concat_channels(%q: tensor<1x2x1x32xf32>, %a: tensor<1x2x9x16xf32>,
                           %b: tensor<1x2x9x16xf32>, %v: tensor<1x2x9x32xf32>)
    -> tensor<1x2x1x32xf32> {
  %k = tensor.concat dim(3) %a, %b : (tensor<1x2x9x16xf32>, tensor<1x2x9x16xf32>) -> tensor<1x2x9x32xf32>
  %o = kvq.attention q(%q : tensor<1x2x1x32xf32>) k(%k : tensor<1x2x9x32xf32>)
      v(%v : tensor<1x2x9x32xf32>) -> tensor<1x2x1x32xf32>
  return %o : tensor<1x2x1x32xf32>
}
