// RUN: kvq-opt %s --kvq-gpu-attention=kernel=prefill | FileCheck %s --check-prefix=DEFAULT
// RUN: kvq-opt %s --kvq-gpu-attention="kernel=prefill shared-memory=20000" | FileCheck %s --check-prefix=SMEM
// RUN: kvq-opt %s --kvq-attention-schedule="target=gpu block-kv=40 warps=2" --kvq-gpu-attention=kernel=prefill | FileCheck %s --check-prefix=ALIGN

// The prefill kernel records the schedule it used on its launch, after its
// target rules: block-kv is rounded down to a multiple of 16 and reduced
// until the double-buffered K and V blocks fit the shared memory (49152
// bytes unless given), and warps 0 becomes 4 for a prefill shape. With
// D = 128 f16 a key takes 1088 bytes of the buffers (2 x (136 + 136) x 2
// bytes with padded rows), so 64 keys do not fit 48 KiB but 32 do.
// DEFAULT: gpu.launch
// DEFAULT: } {kvq.kernel_schedule = #kvq.schedule<gpu, block_kv = 32, split_kv = 0, warps = 4, stages = 0, target_ctas = 264, shared_memory = 49152>}
// SMEM: } {kvq.kernel_schedule = #kvq.schedule<gpu, block_kv = 16, split_kv = 0, warps = 4, stages = 0, target_ctas = 264, shared_memory = 20000>}
// ALIGN: } {kvq.kernel_schedule = #kvq.schedule<gpu, block_kv = 32, split_kv = 0, warps = 2, stages = 0, target_ctas = 264, shared_memory = 49152>}
func.func @prefill(%q: tensor<1x8x40x128xf16>, %k: tensor<1x2x?x128xf16>, %v: tensor<1x2x?x128xf16>) -> tensor<1x8x40x128xf16> {
  %o = kvq.attention q(%q : tensor<1x8x40x128xf16>) k(%k : tensor<1x2x?x128xf16>) v(%v : tensor<1x2x?x128xf16>) -> tensor<1x8x40x128xf16>
  return %o : tensor<1x8x40x128xf16>
}
