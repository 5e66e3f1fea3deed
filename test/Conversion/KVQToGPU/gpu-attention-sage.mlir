// RUN: kvq-opt %s -kvq-gpu-attention="split-kv=1" | FileCheck %s

// SageAttention2's attention on the GPU: the INT8 query codes are decoded
// (times their per-fragment scale) as they are loaded into the A fragments,
// Delta-S of the row's group is added to every score under the softmax
// scale, and the probabilities are scaled by 2^8.807, rounded to e4m3
// (integer encode / decode) and only then fed to the P V mma. K is INT8 per
// fragment of 64 keys, V FP8 per channel, both decoded from shared memory.
// CHECK-LABEL: func @sage
// CHECK: gpu.launch
// CHECK: memref.load %{{.*}} : memref<1x2x5x16xi8, strided<[?, ?, ?, 1], offset: ?>>
// CHECK: arith.sitofp
// CHECK: memref.load %{{.*}} : memref<1x2x8x1xf32, strided<[?, ?, ?, 1], offset: ?>>
// CHECK: nvgpu.mma.sync
// CHECK: memref.load %{{.*}} : memref<1x2x3x9xf32, strided<[?, ?, ?, 1], offset: ?>>
// CHECK: call_intrinsic "llvm.nvvm.ex2.approx.f32"
// CHECK: %[[S:.*]] = arith.constant 447.8898{{[0-9]*}} : f32
// CHECK: %[[P:.*]] = arith.mulf %{{.*}}, %[[S]] : f32
// CHECK: arith.bitcast %[[P]] : f32 to i32
// CHECK: arith.bitcast %{{.*}} : i8 to f8E4M3FN
// CHECK: nvgpu.mma.sync
func.func @sage(%qc: tensor<1x2x5x16xi8>, %qs: tensor<1x2x8x1xf32>,
                %kc: tensor<1x2x9x16xi8>, %ks: tensor<1x2x4x1xf32>,
                %vc: tensor<1x2x9x16xf8E4M3FN>, %vs: tensor<1x2x1x16xf32>,
                %ds: tensor<1x2x3x9xf32>) -> tensor<1x2x5x16xf32> {
  %o = kvq.attention
      q(%qc : tensor<1x2x5x16xi8>, #kvq.quant<i8, symmetric, fragment(rows = 32, period = 8, run = 1)>, scale %qs : tensor<1x2x8x1xf32>)
      k(%kc : tensor<1x2x9x16xi8>, #kvq.quant<i8, symmetric, fragment(rows = 64, period = 8, run = 2)>, scale %ks : tensor<1x2x4x1xf32>)
      v(%vc : tensor<1x2x9x16xf8E4M3FN>, #kvq.quant<f8E4M3FN, symmetric, channel>, scale %vs : tensor<1x2x1x16xf32>)
      delta_s(%ds : tensor<1x2x3x9xf32>)
      {delta_s_rows = 2 : i64, p_type = f8E4M3FN} -> tensor<1x2x5x16xf32>
  return %o : tensor<1x2x5x16xf32>
}
