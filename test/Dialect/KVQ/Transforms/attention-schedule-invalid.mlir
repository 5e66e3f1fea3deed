// RUN: kvq-opt %s -split-input-file -kvq-attention-schedule -verify-diagnostics
// RUN: not kvq-opt %s -kvq-attention-schedule="target=tpu" 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not kvq-opt %s -kvq-attention-schedule="warps=2" 2>&1 | FileCheck %s --check-prefix=FOREIGN
// RUN: not kvq-opt %s -kvq-attention-schedule="target=gpu block-rows=8" 2>&1 | FileCheck %s --check-prefix=FOREIGN
// RUN: not kvq-opt %s -kvq-attention-schedule="target=gpu block-kv=8" 2>&1 | FileCheck %s --check-prefix=RANGE
// RUN: not kvq-opt %s -kvq-attention-schedule="block-kv=0" 2>&1 | FileCheck %s --check-prefix=RANGE
// RUN: not kvq-opt %s -kvq-attention-schedule="blockkv=32" 2>&1 | FileCheck %s --check-prefix=UNKNOWN

// TARGET: error: kvq-attention-schedule: target must be cpu or gpu, not 'tpu'
// FOREIGN: error: kvq-attention-schedule: option {{warps|block-rows}} does not apply to the {{cpu|gpu}} kernels
// RANGE: error: kvq-attention-schedule: schedule knob 'block_kv' must be {{positive, got 0|>= 16 for the GPU kernels \(16-key mma tiles\), got 8}}
// UNKNOWN: no such option blockkv

// An attention carrying a schedule for the other target.
func.func @other_target(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{carries a schedule for the gpu kernels, lowered for the cpu kernels}}
  %o = kvq.attention q(%q : tensor<1x4x8x16xf32>) k(%k : tensor<1x4x8x16xf32>) v(%v : tensor<1x4x8x16xf32>) {kvq.kernel_schedule = #kvq.schedule<gpu, warps = 2>} -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}
