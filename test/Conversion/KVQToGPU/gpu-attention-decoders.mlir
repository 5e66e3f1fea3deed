// RUN: kvq-opt %s -kvq-gpu-attention="split-kv=1 kernel=prefill" | FileCheck %s

// A K produced by KVDecoderOpInterface ops (tensor.concat of an INT8
// dequantize and an fp16 window) is decoded block by block inside the
// kernel: the threads split the block's 8-channel chunks (an index switch
// over the chunk, since decoders take static chunk starts), each picks the
// quantized part or the window for its key, decodes from global memory and
// stores f16 to the block's shared-memory tile, which the tensor-core loop
// reads as a plain f16 K. V (plain) still arrives with cp.async. No
// concatenated or dequantized K exists anywhere.
// CHECK-LABEL: func @kivi_window
// CHECK-NOT: tensor.concat
// CHECK-NOT: kvq.dequantize
// CHECK: gpu.launch
// CHECK: %[[SMEM:.*]] = gpu.dynamic_shared_memory
// CHECK: %[[KT:.*]] = memref.view %[[SMEM]][%{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<2x64x72xf16, #gpu.address_space<workgroup>>
// CHECK: scf.for
// CHECK: scf.index_switch
// CHECK: case 0 {
// CHECK: arith.cmpi ult
// CHECK: scf.if
// CHECK: memref.load %{{.*}} : memref<1x2x?x64xi8, strided<[?, ?, ?, 1], offset: ?>>
// CHECK: arith.sitofp
// CHECK: } else {
// CHECK: memref.load %{{.*}} : memref<1x2x?x64xf16, strided<[?, ?, ?, 1], offset: ?>>
// CHECK: arith.truncf %{{.*}} : vector<8xf32> to vector<8xf16>
// CHECK: vector.store %{{.*}}, %[[KT]][%{{.*}}, %{{.*}}, %c0{{.*}}] : memref<2x64x72xf16, #gpu.address_space<workgroup>>, vector<8xf16>
// CHECK: case 7 {
// CHECK: nvgpu.device_async_copy
// CHECK: nvgpu.mma.sync
// CHECK-NOT: tensor.concat
// CHECK-NOT: kvq.dequantize
func.func @kivi_window(%q: tensor<1x8x1x64xf16>, %kc: tensor<1x2x?x64xi8>,
                       %ks: tensor<1x2x?x1xf32>, %kw: tensor<1x2x?x64xf16>,
                       %v: tensor<1x2x?x64xf16>) -> tensor<1x8x1x64xf16> {
  %kd = kvq.dequantize #kvq.quant<i8, symmetric, token> %kc, %ks
      : tensor<1x2x?x64xi8>, tensor<1x2x?x1xf32> -> tensor<1x2x?x64xf16>
  %k = tensor.concat dim(2) %kd, %kw : (tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16>) -> tensor<1x2x?x64xf16>
  %o = kvq.attention q(%q : tensor<1x8x1x64xf16>) k(%k : tensor<1x2x?x64xf16>)
      v(%v : tensor<1x2x?x64xf16>) -> tensor<1x8x1x64xf16>
  return %o : tensor<1x8x1x64xf16>
}
