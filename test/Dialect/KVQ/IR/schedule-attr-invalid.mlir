// RUN: kvq-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{unknown schedule knob 'block_k'; expected one of block_kv, split_kv, block_rows, vector_width, int8_dot, int8_pv, warps, stages, target_ctas, shared_memory}}
func.func @unknown() attributes {s = #kvq.schedule<block_k = 32>} { return }

// -----

// expected-error @+1 {{schedule knob 'block_kv' is given twice}}
func.func @twice() attributes {s = #kvq.schedule<block_kv = 32, block_kv = 64>} { return }

// -----

// expected-error @+1 {{schedule knob 'warps' (option warps) does not apply to the cpu kernels}}
func.func @gpu_knob_on_cpu() attributes {s = #kvq.schedule<cpu, warps = 2>} { return }

// -----

// expected-error @+1 {{schedule knob 'block_rows' (option block-rows) does not apply to the gpu kernels}}
func.func @cpu_knob_on_gpu() attributes {s = #kvq.schedule<gpu, block_rows = 2>} { return }

// -----

// expected-error @+1 {{schedule knob 'split_kv' must be non-negative, got -1}}
func.func @negative() attributes {s = #kvq.schedule<split_kv = -1>} { return }

// -----

// expected-error @+1 {{schedule knob 'block_kv' must be positive, got 0}}
func.func @block_kv_zero() attributes {s = #kvq.schedule<block_kv = 0>} { return }

// -----

// expected-error @+1 {{schedule knob 'block_kv' must be >= 16 for the GPU kernels (16-key mma tiles), got 8}}
func.func @gpu_block_kv() attributes {s = #kvq.schedule<gpu, block_kv = 8>} { return }

// -----

// expected-error @+1 {{schedule knob 'block_rows' must be positive, got 0}}
func.func @block_rows() attributes {s = #kvq.schedule<block_rows = 0>} { return }

// -----

// expected-error @+1 {{schedule knob 'vector_width' must be a power of two >= 4, got 12}}
func.func @vector_width() attributes {s = #kvq.schedule<vector_width = 12>} { return }

// -----

// expected-error @+1 {{schedule knob 'int8_dot' must be 0 or 1, got 2}}
func.func @int8_dot() attributes {s = #kvq.schedule<int8_dot = 2>} { return }

// -----

// expected-error @+1 {{schedule knob 'int8_dot' (option int8-dot) does not apply to the gpu kernels}}
func.func @int8_dot_gpu() attributes {s = #kvq.schedule<gpu, int8_dot = 1>} { return }

// -----

// expected-error @+1 {{schedule knob 'int8_pv' must be 0 or 1, got 3}}
func.func @int8_pv() attributes {s = #kvq.schedule<int8_pv = 3>} { return }

// -----

// expected-error @+1 {{schedule knob 'int8_pv' (option int8-pv) does not apply to the gpu kernels}}
func.func @int8_pv_gpu() attributes {s = #kvq.schedule<gpu, int8_pv = 1>} { return }

// -----

// expected-error @+1 {{schedule knob 'warps' must be at most 8 (0: automatic), got 16}}
func.func @warps() attributes {s = #kvq.schedule<warps = 16>} { return }

// -----

// expected-error @+1 {{schedule knob 'stages' must be 0 (automatic) or in [2, 8], got 1}}
func.func @stages() attributes {s = #kvq.schedule<stages = 1>} { return }

// -----

// expected-error @+1 {{schedule knob 'target_ctas' must be positive, got 0}}
func.func @target_ctas() attributes {s = #kvq.schedule<target_ctas = 0>} { return }

// -----

// expected-error @+1 {{schedule knob 'shared_memory' must be 0 (automatic) or >= 1024, got 512}}
func.func @shared_memory() attributes {s = #kvq.schedule<shared_memory = 512>} { return }

// -----

// expected-error @+1 {{expected integer value}}
func.func @not_integer() attributes {s = #kvq.schedule<block_kv = big>} { return }

// -----

func.func @not_a_schedule(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{'kvq.kernel_schedule' must be a #kvq.schedule<...>, got "split"}}
  %o = kvq.attention q(%q : tensor<1x4x8x16xf32>) k(%k : tensor<1x4x8x16xf32>) v(%v : tensor<1x4x8x16xf32>) {kvq.kernel_schedule = "split"} -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}
