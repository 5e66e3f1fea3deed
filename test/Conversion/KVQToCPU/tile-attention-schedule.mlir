// RUN: kvq-opt %s -split-input-file -kvq-tile-attention | FileCheck %s
// RUN: kvq-opt %s -split-input-file -kvq-tile-attention="block-kv=20 split-kv=2" | FileCheck %s --check-prefix=OPTS
// RUN: kvq-opt %s -split-input-file -kvq-attention-schedule="block-kv=20 split-kv=2" -kvq-tile-attention | FileCheck %s --check-prefix=OPTS

// The CPU kernel reads the schedule the attention carries (or the
// defaults), with the pass's knob options replacing its knobs, and records
// the schedule it used on its parallel loop: block-kv rounded up to a
// multiple of vector-width (the scores of a block are computed a vector of
// keys at a time). Giving the knobs to kvq-attention-schedule or to the
// lowering is the same.
// CHECK-LABEL: func.func @defaults
// CHECK: scf.parallel
// CHECK: } {kvq.kernel_schedule = #kvq.schedule<cpu, block_kv = 64, split_kv = 0, block_rows = 4, vector_width = 16, int8_dot = 0, int8_pv = 0>}
// OPTS-LABEL: func.func @defaults
// OPTS: } {kvq.kernel_schedule = #kvq.schedule<cpu, block_kv = 32, split_kv = 2, block_rows = 4, vector_width = 16, int8_dot = 0, int8_pv = 0>}
func.func @defaults(%q: tensor<1x8x1x32xf32>, %k: tensor<1x2x?x32xf32>, %v: tensor<1x2x?x32xf32>) -> tensor<1x8x1x32xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x32xf32>) k(%k : tensor<1x2x?x32xf32>) v(%v : tensor<1x2x?x32xf32>) -> tensor<1x8x1x32xf32>
  return %o : tensor<1x8x1x32xf32>
}

// -----

// CHECK-LABEL: func.func @carried
// CHECK: } {kvq.kernel_schedule = #kvq.schedule<cpu, block_kv = 8, split_kv = 3, block_rows = 2, vector_width = 8, int8_dot = 0, int8_pv = 0>}
// OPTS-LABEL: func.func @carried
// OPTS: } {kvq.kernel_schedule = #kvq.schedule<cpu, block_kv = 24, split_kv = 2, block_rows = 2, vector_width = 8, int8_dot = 0, int8_pv = 0>}
func.func @carried(%q: tensor<1x8x1x32xf32>, %k: tensor<1x2x?x32xf32>, %v: tensor<1x2x?x32xf32>) -> tensor<1x8x1x32xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x32xf32>) k(%k : tensor<1x2x?x32xf32>) v(%v : tensor<1x2x?x32xf32>) {kvq.kernel_schedule = #kvq.schedule<block_kv = 5, split_kv = 3, block_rows = 2, vector_width = 8>} -> tensor<1x8x1x32xf32>
  return %o : tensor<1x8x1x32xf32>
}

