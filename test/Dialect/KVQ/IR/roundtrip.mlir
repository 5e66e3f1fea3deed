// RUN: kvq-opt %s -split-input-file | FileCheck %s
// Printing and re-parsing is stable, in the custom and the generic form.
// RUN: kvq-opt %s -split-input-file | kvq-opt -split-input-file | FileCheck %s
// RUN: kvq-opt %s -split-input-file -mlir-print-op-generic | kvq-opt -split-input-file | FileCheck %s

// CHECK-LABEL: func @quantize_int8_token
// CHECK: %{{.*}}, %{{.*}} = kvq.quantize #kvq.quant<i8, symmetric, token> %{{.*}} : tensor<2x8x100x128xf32> -> tensor<2x8x100x128xi8>, tensor<2x8x100x1xf32>
func.func @quantize_int8_token(%x: tensor<2x8x100x128xf32>) -> (tensor<2x8x100x128xi8>, tensor<2x8x100x1xf32>) {
  %c, %s = kvq.quantize #kvq.quant<i8, symmetric, token> %x : tensor<2x8x100x128xf32> -> tensor<2x8x100x128xi8>, tensor<2x8x100x1xf32>
  return %c, %s : tensor<2x8x100x128xi8>, tensor<2x8x100x1xf32>
}

// -----

// KIVI keys: per channel over groups of 32 tokens (100 tokens: ragged).
// CHECK-LABEL: func @quantize_int4_asym_group
// CHECK: kvq.quantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %{{.*}} : tensor<1x8x100x128xf32> -> tensor<1x8x100x128xi4>, tensor<1x8x4x128xf16>, tensor<1x8x4x128xf16>
func.func @quantize_int4_asym_group(%x: tensor<1x8x100x128xf32>) -> tensor<1x8x100x128xi4> {
  %c, %s, %z = kvq.quantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %x : tensor<1x8x100x128xf32> -> tensor<1x8x100x128xi4>, tensor<1x8x4x128xf16>, tensor<1x8x4x128xf16>
  return %c : tensor<1x8x100x128xi4>
}

// -----

// CHECK-LABEL: func @quantize_each_granularity
// CHECK: #kvq.quant<i2, asymmetric, tensor, scale = bf16>
// CHECK: #kvq.quant<f8E4M3FN, symmetric, channel>
// CHECK: #kvq.quant<f8E5M2, symmetric, block(rows = 64, cols = 48)>
// CHECK: #kvq.quant<i8, symmetric, group(axis = 3, size = 32)>
func.func @quantize_each_granularity(%x: tensor<100x128xf16>) {
  %c0, %s0, %z0 = kvq.quantize #kvq.quant<i2, asymmetric, tensor, scale = bf16> %x : tensor<100x128xf16> -> tensor<100x128xi2>, tensor<1x1xbf16>, tensor<1x1xbf16>
  %c1, %s1 = kvq.quantize #kvq.quant<f8E4M3FN, symmetric, channel> %x : tensor<100x128xf16> -> tensor<100x128xf8E4M3FN>, tensor<1x128xf32>
  %c2, %s2 = kvq.quantize #kvq.quant<f8E5M2, symmetric, block(rows = 64, cols = 48)> %x : tensor<100x128xf16> -> tensor<100x128xf8E5M2>, tensor<2x3xf32>
  %y = tensor.expand_shape %x [[0, 1], [2, 3]] output_shape [1, 100, 1, 128] : tensor<100x128xf16> into tensor<1x100x1x128xf16>
  %c3, %s3 = kvq.quantize #kvq.quant<i8, symmetric, group(axis = 3, size = 32)> %y : tensor<1x100x1x128xf16> -> tensor<1x100x1x128xi8>, tensor<1x100x1x4xf32>
  return
}

// -----

// Dynamic sequence length: the scale of a group along it is dynamic too.
// CHECK-LABEL: func @quantize_dynamic
// CHECK: kvq.quantize #kvq.quant<i4, symmetric, group(axis = 2, size = 32)> %{{.*}} : tensor<1x8x?x128xf32> -> tensor<1x8x?x128xi4>, tensor<1x8x?x128xf32>
// CHECK: kvq.quantize #kvq.quant<i8, symmetric, channel> %{{.*}} : tensor<1x8x?x128xf32> -> tensor<1x8x?x128xi8>, tensor<1x8x1x128xf32>
func.func @quantize_dynamic(%x: tensor<1x8x?x128xf32>) {
  %c, %s = kvq.quantize #kvq.quant<i4, symmetric, group(axis = 2, size = 32)> %x : tensor<1x8x?x128xf32> -> tensor<1x8x?x128xi4>, tensor<1x8x?x128xf32>
  %c1, %s1 = kvq.quantize #kvq.quant<i8, symmetric, channel> %x : tensor<1x8x?x128xf32> -> tensor<1x8x?x128xi8>, tensor<1x8x1x128xf32>
  return
}

// -----

// CHECK-LABEL: func @dequantize
// CHECK: kvq.dequantize #kvq.quant<i8, symmetric, token> %{{.*}}, %{{.*}} : tensor<2x8x100x128xi8>, tensor<2x8x100x1xf32> -> tensor<2x8x100x128xf16>
// CHECK: kvq.dequantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x8x100x128xi4>, tensor<1x8x4x128xf16>, tensor<1x8x4x128xf16> -> tensor<1x8x100x128xf32>
func.func @dequantize(%c: tensor<2x8x100x128xi8>, %s: tensor<2x8x100x1xf32>,
                      %c4: tensor<1x8x100x128xi4>, %s4: tensor<1x8x4x128xf16>, %z4: tensor<1x8x4x128xf16>) {
  %0 = kvq.dequantize #kvq.quant<i8, symmetric, token> %c, %s : tensor<2x8x100x128xi8>, tensor<2x8x100x1xf32> -> tensor<2x8x100x128xf16>
  %1 = kvq.dequantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %c4, %s4, %z4 : tensor<1x8x100x128xi4>, tensor<1x8x4x128xf16>, tensor<1x8x4x128xf16> -> tensor<1x8x100x128xf32>
  return
}

// -----

// Prefill, plain K/V, causal with a mask and an explicit scale.
// CHECK-LABEL: func @attention_plain
// CHECK: kvq.attention q(%{{.*}} : tensor<2x32x77x64xf32>) k(%{{.*}} : tensor<2x8x77x64xf32>) v(%{{.*}} : tensor<2x8x77x64xf32>) mask(%{{.*}} : tensor<1x1x77x77xf32>) {causal, scale = 1.250000e-01 : f32} -> tensor<2x32x77x64xf32>
func.func @attention_plain(%q: tensor<2x32x77x64xf32>, %k: tensor<2x8x77x64xf32>, %v: tensor<2x8x77x64xf32>, %m: tensor<1x1x77x77xf32>) -> tensor<2x32x77x64xf32> {
  %o = kvq.attention q(%q : tensor<2x32x77x64xf32>) k(%k : tensor<2x8x77x64xf32>) v(%v : tensor<2x8x77x64xf32>) mask(%m : tensor<1x1x77x77xf32>) {causal, scale = 0.125 : f32} -> tensor<2x32x77x64xf32>
  return %o : tensor<2x32x77x64xf32>
}

// -----

// Decode over an INT4 K cache and an asymmetric INT2 V cache, GQA 32/8.
// CHECK-LABEL: func @attention_quantized_decode
// CHECK: kvq.attention q(%{{.*}} : tensor<1x32x1x128xf32>)
// CHECK-SAME: k(%{{.*}} : tensor<1x8x4096x128xi4>, #kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>, scale %{{.*}} : tensor<1x8x4096x4xf16>)
// CHECK-SAME: v(%{{.*}} : tensor<1x8x4096x128xi2>, #kvq.quant<i2, asymmetric, token>, scale %{{.*}} : tensor<1x8x4096x1xf32>, zero_point %{{.*}} : tensor<1x8x4096x1xf32>)
// CHECK-SAME: -> tensor<1x32x1x128xf32>
func.func @attention_quantized_decode(%q: tensor<1x32x1x128xf32>,
    %kc: tensor<1x8x4096x128xi4>, %ks: tensor<1x8x4096x4xf16>,
    %vc: tensor<1x8x4096x128xi2>, %vs: tensor<1x8x4096x1xf32>, %vz: tensor<1x8x4096x1xf32>) -> tensor<1x32x1x128xf32> {
  %o = kvq.attention q(%q : tensor<1x32x1x128xf32>)
      k(%kc : tensor<1x8x4096x128xi4>, #kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>, scale %ks : tensor<1x8x4096x4xf16>)
      v(%vc : tensor<1x8x4096x128xi2>, #kvq.quant<i2, asymmetric, token>, scale %vs : tensor<1x8x4096x1xf32>, zero_point %vz : tensor<1x8x4096x1xf32>)
      -> tensor<1x32x1x128xf32>
  return %o : tensor<1x32x1x128xf32>
}

// -----

// Dynamic batch and cache length; V with a different head dimension.
// CHECK-LABEL: func @attention_dynamic
// CHECK: kvq.attention q(%{{.*}} : tensor<?x4x1x64xf16>) k(%{{.*}} : tensor<?x2x?x64xf8E4M3FN>, #kvq.quant<f8E4M3FN, symmetric, channel>, scale %{{.*}} : tensor<?x2x1x64xf32>) v(%{{.*}} : tensor<?x2x?x32xf16>) -> tensor<?x4x1x32xf16>
func.func @attention_dynamic(%q: tensor<?x4x1x64xf16>, %kc: tensor<?x2x?x64xf8E4M3FN>, %ks: tensor<?x2x1x64xf32>, %v: tensor<?x2x?x32xf16>) -> tensor<?x4x1x32xf16> {
  %o = kvq.attention q(%q : tensor<?x4x1x64xf16>) k(%kc : tensor<?x2x?x64xf8E4M3FN>, #kvq.quant<f8E4M3FN, symmetric, channel>, scale %ks : tensor<?x2x1x64xf32>) v(%v : tensor<?x2x?x32xf16>) -> tensor<?x4x1x32xf16>
  return %o : tensor<?x4x1x32xf16>
}
