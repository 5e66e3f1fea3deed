// RUN: kvq-opt %s --kvq-gpu-attention=chip=sm_90 --canonicalize | FileCheck %s

// kernel=auto (the default) picks the kernel per op: the decode kernel
// takes every decode-shaped op (at most 8 query rows per KV head), the
// prefill kernel the others. Both recompute a CTA whose f16 operands
// overflowed with bf16 operands; the decode kernel holds that second pass
// (a CTA-wide vote, then bf16 mma) only when an operand can overflow: not
// for plain f16 Q, K and V with a softmax scale (times log2 e) of at most 1.

// CHECK-LABEL: func.func @f16_gqa
// CHECK-NOT:     nvvm.barrier #nvvm.reduction
// CHECK-NOT:     bf16
// CHECK:         kvq.decode_plan
func.func @f16_gqa(%q: tensor<?x32x1x128xf16>, %k: tensor<?x8x?x128xf16>, %v: tensor<?x8x?x128xf16>) -> tensor<?x32x1x128xf16> {
  %o = kvq.attention q(%q : tensor<?x32x1x128xf16>) k(%k : tensor<?x8x?x128xf16>) v(%v : tensor<?x8x?x128xf16>) -> tensor<?x32x1x128xf16>
  return %o : tensor<?x32x1x128xf16>
}

// 16 heads x 4 queries per KV head = 64 rows: the prefill kernel.
// CHECK-LABEL: func.func @too_many_rows
// CHECK-NOT:     kvq.decode_plan
// CHECK:         return
func.func @too_many_rows(%q: tensor<1x16x4x64xf16>, %k: tensor<1x2x?x64xf16>, %v: tensor<1x2x?x64xf16>) -> tensor<1x16x4x64xf16> {
  %o = kvq.attention q(%q : tensor<1x16x4x64xf16>) k(%k : tensor<1x2x?x64xf16>) v(%v : tensor<1x2x?x64xf16>) {causal} -> tensor<1x16x4x64xf16>
  return %o : tensor<1x16x4x64xf16>
}

// f32 K / V can hold values beyond f16's 65504: the decode kernel, with
// the vote and the bf16 recomputation.
// CHECK-LABEL: func.func @f32_cache
// CHECK:         nvvm.barrier #nvvm.reduction<or>
// CHECK:         nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<bf16>
// CHECK:         kvq.decode_plan
func.func @f32_cache(%q: tensor<?x32x1x128xf16>, %k: tensor<?x8x?x128xf32>, %v: tensor<?x8x?x128xf32>) -> tensor<?x32x1x128xf16> {
  %o = kvq.attention q(%q : tensor<?x32x1x128xf16>) k(%k : tensor<?x8x?x128xf32>) v(%v : tensor<?x8x?x128xf32>) -> tensor<?x32x1x128xf16>
  return %o : tensor<?x32x1x128xf16>
}

// A softmax scale of 2 (times log2 e > 1) can push Q beyond f16's range.
// CHECK-LABEL: func.func @large_scale
// CHECK:         nvvm.barrier #nvvm.reduction<or>
// CHECK:         kvq.decode_plan
func.func @large_scale(%q: tensor<?x32x1x128xf16>, %k: tensor<?x8x?x128xf16>, %v: tensor<?x8x?x128xf16>) -> tensor<?x32x1x128xf16> {
  %o = kvq.attention q(%q : tensor<?x32x1x128xf16>) k(%k : tensor<?x8x?x128xf16>) v(%v : tensor<?x8x?x128xf16>) {scale = 2.0 : f32} -> tensor<?x32x1x128xf16>
  return %o : tensor<?x32x1x128xf16>
}

// Quantized codes times their scales can leave f16's range.
// CHECK-LABEL: func.func @int8_cache
// CHECK:         nvvm.barrier #nvvm.reduction<or>
// CHECK:         kvq.decode_plan
func.func @int8_cache(%q: tensor<?x32x1x128xf16>, %kc: tensor<?x8x?x128xi8>, %ks: tensor<?x8x?x1xf16>,
                      %vc: tensor<?x8x?x128xi8>, %vs: tensor<?x8x?x1xf16>) -> tensor<?x32x1x128xf16> {
  %o = kvq.attention q(%q : tensor<?x32x1x128xf16>)
      k(%kc : tensor<?x8x?x128xi8>, #kvq.quant<i8, symmetric, token, scale = f16>, scale %ks : tensor<?x8x?x1xf16>)
      v(%vc : tensor<?x8x?x128xi8>, #kvq.quant<i8, symmetric, token, scale = f16>, scale %vs : tensor<?x8x?x1xf16>)
      -> tensor<?x32x1x128xf16>
  return %o : tensor<?x32x1x128xf16>
}
