// RUN: kvq-opt %s -kvq-compress-kv="policy-file=%S/Inputs/kv-policy.json" | FileCheck %s
// RUN: kvq-opt %s -kvq-compress-kv='policy={"default": {"k": "#kvq.quant<i8, symmetric, token>"}}' | FileCheck %s --check-prefix=INLINE
// RUN: kvq-opt %s -kvq-compress-kv | FileCheck %s --check-prefix=NONE

// One module, so that every entry of Inputs/kv-policy.json applies to
// something (an entry that matches nothing is an error).
// Three layers of one function under Inputs/kv-policy.json: layer 0 stays
// fp (its entry sets both sides to null), layer 1 gets the KIVI default,
// layer 2 keeps the KIVI K and overrides V with INT8 per token. Each
// compressed operand becomes dequantize(quantize(x)), which kvq-fuse then
// folds into the attention.
// CHECK-LABEL: func @model
// CHECK-SAME: (%[[Q:.*]]: tensor<1x8x4x64xf32>, %[[K0:.*]]: tensor<1x2x40x64xf32>, %[[V0:.*]]: tensor<1x2x40x64xf32>, %[[K1:.*]]: tensor<1x2x40x64xf32>, %[[V1:.*]]: tensor<1x2x40x64xf32>, %[[K2:.*]]: tensor<1x2x40x64xf32>, %[[V2:.*]]: tensor<1x2x40x64xf32>)
// CHECK: kvq.attention q(%[[Q]] : {{.*}}) k(%[[K0]] : {{.*}}) v(%[[V0]] : {{.*}})
// CHECK: %[[C1:.*]], %[[S1:.*]], %[[Z1:.*]] = kvq.quantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %[[K1]] : tensor<1x2x40x64xf32> -> tensor<1x2x40x64xi4>, tensor<1x2x2x64xf16>, tensor<1x2x2x64xf16>
// CHECK: %[[D1:.*]] = kvq.dequantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %[[C1]], %[[S1]], %[[Z1]]
// CHECK: kvq.quantize #kvq.quant<i4, asymmetric, group(axis = 3, size = 32), scale = f16> %[[V1]] : {{.*}} -> tensor<1x2x40x64xi4>, tensor<1x2x40x2xf16>, tensor<1x2x40x2xf16>
// CHECK: kvq.attention q({{.*}}) k(%[[D1]] : tensor<1x2x40x64xf32>)
// CHECK: kvq.quantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %[[K2]]
// CHECK: kvq.quantize #kvq.quant<i8, symmetric, token> %[[V2]] : {{.*}} -> tensor<1x2x40x64xi8>, tensor<1x2x40x1xf32>
// INLINE-LABEL: func @model
// INLINE-COUNT-3: kvq.quantize #kvq.quant<i8, symmetric, token>
// INLINE-NOT: kvq.quantize
// INLINE: return
// NONE-LABEL: func @model
// NONE-NOT: kvq.quantize
// NONE-LABEL: func @decode
// NONE-NOT: kvq.quantize
func.func @model(%q: tensor<1x8x4x64xf32>, %k0: tensor<1x2x40x64xf32>, %v0: tensor<1x2x40x64xf32>,
                 %k1: tensor<1x2x40x64xf32>, %v1: tensor<1x2x40x64xf32>,
                 %k2: tensor<1x2x40x64xf32>, %v2: tensor<1x2x40x64xf32>) -> tensor<1x8x4x64xf32> {
  %o0 = kvq.attention q(%q : tensor<1x8x4x64xf32>) k(%k0 : tensor<1x2x40x64xf32>) v(%v0 : tensor<1x2x40x64xf32>) {causal} -> tensor<1x8x4x64xf32>
  %o1 = kvq.attention q(%o0 : tensor<1x8x4x64xf32>) k(%k1 : tensor<1x2x40x64xf32>) v(%v1 : tensor<1x2x40x64xf32>) {causal} -> tensor<1x8x4x64xf32>
  %o2 = kvq.attention q(%o1 : tensor<1x8x4x64xf32>) k(%k2 : tensor<1x2x40x64xf32>) v(%v2 : tensor<1x2x40x64xf32>) {causal} -> tensor<1x8x4x64xf32>
  return %o2 : tensor<1x8x4x64xf32>
}

// Per-function entries come first; an explicit kvq.layer attribute names
// the layer (here 1, whose V is null in "decode"), and an already
// quantized operand is left alone.
// CHECK-LABEL: func @decode
// CHECK: kvq.quantize #kvq.quant<f8E4M3FN, symmetric, channel> %{{.*}} : tensor<1x2x?x64xf32>
// CHECK-NOT: kvq.quantize
// CHECK: kvq.attention
// CHECK-SAME: k(%{{.*}} : tensor<1x2x?x64xf32>)
// CHECK-SAME: v(%{{.*}} : tensor<1x2x?x64xi8>, #kvq.quant<i8, symmetric, token>
// INLINE-LABEL: func @decode
// INLINE: kvq.quantize #kvq.quant<i8, symmetric, token>
// INLINE-NOT: kvq.quantize
// INLINE: kvq.attention
func.func @decode(%q: tensor<1x8x1x64xf32>, %k: tensor<1x2x?x64xf32>, %vc: tensor<1x2x?x64xi8>,
                  %vs: tensor<1x2x?x1xf32>) -> tensor<1x8x1x64xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x64xf32>) k(%k : tensor<1x2x?x64xf32>)
      v(%vc : tensor<1x2x?x64xi8>, #kvq.quant<i8, symmetric, token>, scale %vs : tensor<1x2x?x1xf32>)
      {kvq.layer = 1 : i64} -> tensor<1x8x1x64xf32>
  return %o : tensor<1x8x1x64xf32>
}
