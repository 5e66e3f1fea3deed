// RUN: kvq-opt %s -split-input-file -kvq-gpu-attention="kernel=decode" -verify-diagnostics
// RUN: not kvq-opt %s -split-input-file -kvq-gpu-attention="kernel=fast" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=KERNEL
// RUN: not kvq-opt %s -split-input-file -kvq-gpu-attention="stages=1" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=STAGES
// RUN: not kvq-opt %s -split-input-file -kvq-gpu-attention="stages=9" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=STAGES
// RUN: not kvq-opt %s -split-input-file -kvq-gpu-attention="shared-memory=2048" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=SMEM

// KERNEL: error: kvq-gpu-attention: kernel must be auto, decode or prefill, not 'fast'
// STAGES: error: kvq-gpu-attention: schedule knob 'stages' must be 0 (automatic) or in [2, 8], got {{1|9}}
// SMEM: error: 'kvq.attention' op kvq-gpu-attention: the decode kernel needs 36864 bytes of shared memory per CTA (4 warps, 2 stages), more than the 2048 allowed

// kernel=decode on ops the decode kernel does not take: too many query
// rows per KV head, a head dimension above 128, quantized queries.
func.func @rows(%q: tensor<1x16x3x64xf16>, %k: tensor<1x4x9x64xf16>) -> tensor<1x16x3x64xf16> {
  // expected-error @+1 {{kvq-gpu-attention: kernel=decode cannot lower this op: a KV head has 12 query rows (heads per KV head x query length), more than 8}}
  %o = kvq.attention q(%q : tensor<1x16x3x64xf16>) k(%k : tensor<1x4x9x64xf16>) v(%k : tensor<1x4x9x64xf16>) -> tensor<1x16x3x64xf16>
  return %o : tensor<1x16x3x64xf16>
}

// -----

func.func @head_dim(%q: tensor<1x4x1x256xf16>, %k: tensor<1x4x9x256xf16>) -> tensor<1x4x1x256xf16> {
  // expected-error @+1 {{kvq-gpu-attention: kernel=decode cannot lower this op: head dimensions above 128 take the prefill kernel}}
  %o = kvq.attention q(%q : tensor<1x4x1x256xf16>) k(%k : tensor<1x4x9x256xf16>) v(%k : tensor<1x4x9x256xf16>) -> tensor<1x4x1x256xf16>
  return %o : tensor<1x4x1x256xf16>
}

// -----

func.func @dynamic_heads(%q: tensor<1x?x1x64xf16>, %k: tensor<1x4x9x64xf16>) -> tensor<1x?x1x64xf16> {
  // expected-error @+1 {{kvq-gpu-attention: kernel=decode cannot lower this op: the query heads, query length and KV heads must be static}}
  %o = kvq.attention q(%q : tensor<1x?x1x64xf16>) k(%k : tensor<1x4x9x64xf16>) v(%k : tensor<1x4x9x64xf16>) -> tensor<1x?x1x64xf16>
  return %o : tensor<1x?x1x64xf16>
}

// -----

func.func @sage(%qc: tensor<1x4x1x64xi8>, %qs: tensor<1x4x1x1xf32>, %k: tensor<1x4x9x64xf16>) -> tensor<1x4x1x64xf16> {
  // expected-error @+1 {{kvq-gpu-attention: kernel=decode cannot lower this op: quantized queries (SageAttention) take the prefill kernel}}
  %o = kvq.attention q(%qc : tensor<1x4x1x64xi8>, #kvq.quant<i8, symmetric, token>, scale %qs : tensor<1x4x1x1xf32>)
      k(%k : tensor<1x4x9x64xf16>) v(%k : tensor<1x4x9x64xf16>) -> tensor<1x4x1x64xf16>
  return %o : tensor<1x4x1x64xf16>
}

// -----

// The stage rings of one warp of 16 f16 keys of 64 channels do not fit
// 2048 bytes (only with shared-memory=2048).
func.func @fits(%q: tensor<1x4x1x64xf16>, %k: tensor<1x4x9x64xf16>) -> tensor<1x4x1x64xf16> {
  %o = kvq.attention q(%q : tensor<1x4x1x64xf16>) k(%k : tensor<1x4x9x64xf16>) v(%k : tensor<1x4x9x64xf16>) -> tensor<1x4x1x64xf16>
  return %o : tensor<1x4x1x64xf16>
}
