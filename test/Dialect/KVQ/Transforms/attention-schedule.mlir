// RUN: kvq-opt %s -kvq-attention-schedule | FileCheck %s --check-prefix=CPU
// RUN: kvq-opt %s -kvq-attention-schedule="target=cpu block-kv=32 vector-width=8" | FileCheck %s --check-prefix=CPU-SET
// RUN: kvq-opt %s -kvq-attention-schedule="target=gpu warps=2 stages=3" | FileCheck %s --check-prefix=GPU
// RUN: kvq-opt %s -kvq-attention-schedule -kvq-attention-schedule | FileCheck %s --check-prefix=CPU

// Every attention gets the complete schedule of the target: the defaults,
// or the knobs it carries (a transform script's or the input's), with the
// knobs given as options replacing both. Running the pass twice changes
// nothing.
// CPU-LABEL: func.func @plain
// CPU: kvq.kernel_schedule = #kvq.schedule<cpu, block_kv = 64, split_kv = 0, block_rows = 4, vector_width = 16, int8_dot = 0, int8_pv = 0>
// CPU-SET-LABEL: func.func @plain
// CPU-SET: kvq.kernel_schedule = #kvq.schedule<cpu, block_kv = 32, split_kv = 0, block_rows = 4, vector_width = 8, int8_dot = 0, int8_pv = 0>
// GPU-LABEL: func.func @plain
// GPU: kvq.kernel_schedule = #kvq.schedule<gpu, block_kv = 64, split_kv = 0, warps = 2, stages = 3, target_ctas = 264, shared_memory = 0>
func.func @plain(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  %o = kvq.attention q(%q : tensor<1x4x8x16xf32>) k(%k : tensor<1x4x8x16xf32>) v(%v : tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// CPU-LABEL: func.func @carried
// CPU: kvq.kernel_schedule = #kvq.schedule<cpu, block_kv = 16, split_kv = 3, block_rows = 4, vector_width = 16, int8_dot = 0, int8_pv = 0>
// CPU-SET-LABEL: func.func @carried
// CPU-SET: kvq.kernel_schedule = #kvq.schedule<cpu, block_kv = 32, split_kv = 3, block_rows = 4, vector_width = 8, int8_dot = 0, int8_pv = 0>
// GPU-LABEL: func.func @carried
// GPU: kvq.kernel_schedule = #kvq.schedule<gpu, block_kv = 16, split_kv = 3, warps = 2, stages = 3, target_ctas = 264, shared_memory = 0>
func.func @carried(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  %o = kvq.attention q(%q : tensor<1x4x8x16xf32>) k(%k : tensor<1x4x8x16xf32>) v(%v : tensor<1x4x8x16xf32>) {kvq.kernel_schedule = #kvq.schedule<block_kv = 16, split_kv = 3>} -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}
