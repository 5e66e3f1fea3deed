// RUN: kvq-opt %s -split-input-file -kvq-gpu-attention=kernel=prefill -verify-diagnostics
// RUN: not kvq-opt %s -split-input-file -kvq-gpu-attention="warps=9" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=OPTIONS
// RUN: not kvq-opt %s -split-input-file -kvq-gpu-attention="block-kv=8" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=OPTIONS

// RUN: not kvq-opt %s -split-input-file -kvq-gpu-attention="chip=sm_75" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=CHIP
// RUN: not kvq-opt %s -split-input-file -kvq-gpu-attention="chip=sm_80a" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=CHIP

// OPTIONS: error: kvq-gpu-attention: schedule knob '{{warps|block_kv}}' must be {{at most 8 \(0: automatic\), got 9|>= 16 for the GPU kernels \(16-key mma tiles\), got 8}}
// CHIP: error: kvq-gpu-attention: unknown GPU chip '{{sm_75|sm_80a}}' (known: sm_80, sm_86, sm_89, sm_90, sm_90a)

func.func @dynamic_head_dim(%q: tensor<1x2x1x?xf32>, %k: tensor<1x2x8x?xf32>) -> tensor<1x2x1x?xf32> {
  // expected-error @+1 {{kvq-gpu-attention needs a static head dimension}}
  %o = kvq.attention q(%q : tensor<1x2x1x?xf32>) k(%k : tensor<1x2x8x?xf32>) v(%k : tensor<1x2x8x?xf32>) -> tensor<1x2x1x?xf32>
  return %o : tensor<1x2x1x?xf32>
}

// -----

func.func @shared_memory_budget(%q: tensor<1x2x1x4096xf32>, %k: tensor<1x2x8x4096xf32>) -> tensor<1x2x1x4096xf32> {
  // expected-error @+1 {{kvq-gpu-attention: one block of 16 keys needs 1049600 bytes of shared memory, more than the 49152 allowed (option shared-memory)}}
  %o = kvq.attention q(%q : tensor<1x2x1x4096xf32>) k(%k : tensor<1x2x8x4096xf32>) v(%k : tensor<1x2x8x4096xf32>) -> tensor<1x2x1x4096xf32>
  return %o : tensor<1x2x1x4096xf32>
}

// -----

// Decoded K / V are staged in shared memory in chunks of 4 channels.
func.func @decoded_head_dim(%q: tensor<1x2x1x18xf32>, %a: tensor<1x2x8x18xf16>, %b: tensor<1x2x3x18xf16>,
                            %v: tensor<1x2x11x18xf16>) -> tensor<1x2x1x18xf32> {
  %k = tensor.concat dim(2) %a, %b : (tensor<1x2x8x18xf16>, tensor<1x2x3x18xf16>) -> tensor<1x2x11x18xf16>
  // expected-error @+1 {{kvq-gpu-attention decodes key from 'tensor.concat' in blocks of 4 channels; its head dimension 18 is not a multiple of 4}}
  %o = kvq.attention q(%q : tensor<1x2x1x18xf32>) k(%k : tensor<1x2x11x18xf16>) v(%v : tensor<1x2x11x18xf16>) -> tensor<1x2x1x18xf32>
  return %o : tensor<1x2x1x18xf32>
}

// -----

func.func @bf16_probabilities(%q: tensor<1x2x32x16xbf16>, %k: tensor<1x2x32x16xbf16>) -> tensor<1x2x32x16xbf16> {
  // expected-error @+1 {{kvq-gpu-attention: p_type = bf16 is not supported by the GPU kernels (f8E4M3FN and f16 are)}}
  %o = kvq.attention q(%q : tensor<1x2x32x16xbf16>) k(%k : tensor<1x2x32x16xbf16>) v(%k : tensor<1x2x32x16xbf16>) {p_type = bf16} -> tensor<1x2x32x16xbf16>
  return %o : tensor<1x2x32x16xbf16>
}
