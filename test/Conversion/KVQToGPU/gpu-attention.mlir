// RUN: kvq-opt %s --kvq-gpu-attention=kernel=prefill --canonicalize --cse | FileCheck %s
// RUN: kvq-opt %s --kvq-gpu-attention="split-kv=1 warps=2 block-kv=32 kernel=prefill" --canonicalize --cse \
// RUN:   | FileCheck %s --check-prefix=SPLIT1
// RUN: kvq-opt %s --kvq-gpu-attention=kernel=prefill --canonicalize --cse | FileCheck %s --check-prefix=NOBUF

// kvq.attention over packed i4 codes becomes a flash-attention kernel on
// tensor cores plus a split-KV combine kernel, all on one stream.

// No buffer of the dequantized cache exists anywhere: the only allocations
// are the output and the split partials (1-D f32).
// NOBUF-NOT: {{memref.alloc|gpu.alloc}}{{.*}}x?x64x{{f|bf}}

// CHECK-LABEL: func.func @decode_i4
// Q is scaled by scale * log2(e) = 0.125 * 1.4427 (the constant is hoisted).
// CHECK:         arith.constant 0.180336{{[0-9]*}} : f32
// CHECK:         %[[OUT:.*]] = memref.alloc() : memref<2x8x1x64xf16>
// CHECK:         %[[T0:.*]] = gpu.wait async
// Split-KV scratch: partial outputs and their log-sum-exp.
// CHECK:         %[[PART:.*]], %[[T1:.*]] = gpu.alloc async [%[[T0]]] ({{.*}}) : memref<?xf32>
// CHECK:         %[[LSE:.*]], %[[T2:.*]] = gpu.alloc async [%[[T1]]] ({{.*}}) : memref<?xf32>
// Decode: one warp per CTA (G * Sq = 4 rows), split-KV along the grid's z.
// CHECK:         %[[T3:.*]] = gpu.launch async [%[[T2]]] blocks({{.*}}) in ({{.*}} = %c1, {{.*}} = %c4, {{.*}} = %{{.*}}) threads({{.*}}) in ({{.*}} = %c32, {{.*}} = %c1, {{.*}} = %c1)
// K and V blocks double buffered in dynamic shared memory as packed
// bytes, rows padded by 16 bytes: 2 x 2 x 64 x 48 bytes.
// CHECK-SAME:      dynamic_shared_memory_size %c12288_i32
// CHECK:           %[[SMEM:.*]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK:           %[[KS:.*]] = memref.view %[[SMEM]][%c0][] : {{.*}} to memref<2x64x48xi8, #gpu.address_space<workgroup>>
// CHECK:           %[[VS:.*]] = memref.view %[[SMEM]][%c6144][] : {{.*}} to memref<2x64x48xi8, #gpu.address_space<workgroup>>
// Q fragments.
// CHECK:           vector.from_elements {{.*}} : vector<4x2xf16>
// Prologue copies (16 bytes, L1 bypassed), one group.
// CHECK:           scf.if
// CHECK:             nvgpu.device_async_copy %{{.*}}, %[[KS]][%c0, {{.*}}], 16 {bypassL1} : memref<2x2x?x32xi8
// CHECK:             nvgpu.device_async_copy %{{.*}}, %[[VS]][%c0, {{.*}}], 16 {bypassL1}
// CHECK:             nvgpu.device_async_create_group
// The block loop: prefetch the next block, wait for the current one.
// CHECK:           scf.for {{.*}} iter_args
// CHECK:             nvgpu.device_async_copy
// CHECK:             %[[G:.*]] = nvgpu.device_async_create_group
// CHECK:             nvgpu.device_async_wait %[[G]] {numGroups = 1 : i32}
// CHECK:             gpu.barrier
// 16 keys per step: decode bytes, S = Q K^T on tensor cores. A byte holds
// two signed codes, LSB first: each moved to the top of a 32-bit word (shl
// 28 for the low nibble, 24 for the high one), then shifted down signed.
// CHECK:             scf.for
// CHECK:               memref.load %[[KS]]
// CHECK:               %[[WORD:.*]] = arith.extsi %{{.*}} : i8 to i32
// CHECK:               %[[LOW:.*]] = arith.shli %[[WORD]], %c28_i32 : i32
// CHECK:               %[[LOWC:.*]] = arith.shrsi %[[LOW]], %c28_i32 : i32
// CHECK:               arith.sitofp %[[LOWC]]
// CHECK:               %[[HIGH:.*]] = arith.shli %[[WORD]], %c24_i32 : i32
// CHECK:               %[[HIGHC:.*]] = arith.shrsi %[[HIGH]], %c28_i32 : i32
// CHECK:               arith.sitofp %[[HIGHC]]
// CHECK:               nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// Online softmax in base 2, row reductions across a quad of lanes.
// CHECK:               gpu.shuffle  xor {{.*}}, %c1_i32, %c32_i32
// CHECK:               gpu.shuffle  xor {{.*}}, %c2_i32, %c32_i32
// CHECK:               llvm.call_intrinsic "llvm.nvvm.ex2.approx.f32"
// O += P V with V decoded from shared memory.
// CHECK:               memref.load %[[VS]]
// CHECK:               nvgpu.mma.sync
// CHECK:             gpu.barrier
// CHECK:           nvgpu.device_async_wait {{.*}} {numGroups = 0 : i32}
// The split's partial result and log2-sum-exp.
// CHECK:           llvm.call_intrinsic "llvm.nvvm.lg2.approx.f"
// CHECK:           memref.store {{.*}}, %[[LSE]]
// CHECK:           memref.store {{.*}}, %[[PART]]
// CHECK:           gpu.terminator
// The combine kernel writes the output.
// CHECK:         %[[T4:.*]] = gpu.launch async [%[[T3]]]
// CHECK:           memref.store {{.*}}, %[[OUT]]
// CHECK:         gpu.dealloc async
// CHECK:         gpu.dealloc async
// CHECK:         gpu.wait [
// CHECK:         bufferization.to_tensor %[[OUT]]

// With split-kv=1 the kernel writes the output itself: no scratch, no
// combine kernel.
// SPLIT1-LABEL: func.func @decode_i4
// SPLIT1-NOT:     gpu.alloc
// SPLIT1:         gpu.launch async {{.*}} threads({{.*}}) in ({{.*}} = %c64,
// SPLIT1-SAME:      dynamic_shared_memory_size %c6144_i32
// SPLIT1:           memref.view {{.*}} to memref<2x32x48xi8, #gpu.address_space<workgroup>>
// SPLIT1:           memref.store {{.*}}, %alloc[
// SPLIT1-NOT:     gpu.launch
// SPLIT1:         gpu.wait [
func.func @decode_i4(%q: tensor<2x8x1x64xf16>, %kc: tensor<2x2x?x32xi8>, %ks: tensor<2x2x?x1xf16>,
                     %vc: tensor<2x2x?x32xi8>, %vs: tensor<2x2x?x2xf16>) -> tensor<2x8x1x64xf16> {
  %k = kvq.unpack %kc : tensor<2x2x?x32xi8> -> tensor<2x2x?x64xi4>
  %v = kvq.unpack %vc : tensor<2x2x?x32xi8> -> tensor<2x2x?x64xi4>
  %o = kvq.attention q(%q : tensor<2x8x1x64xf16>)
      k(%k : tensor<2x2x?x64xi4>, #kvq.quant<i4, symmetric, token, scale = f16>, scale %ks : tensor<2x2x?x1xf16>)
      v(%v : tensor<2x2x?x64xi4>, #kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>, scale %vs : tensor<2x2x?x2xf16>)
      -> tensor<2x8x1x64xf16>
  return %o : tensor<2x8x1x64xf16>
}

// Prefill: four warps (64 rows) per CTA; f16 K / V rows are copied as is;
// causal rows bound the key range of the CTA; an additive mask is read per
// score and scaled by log2(e).
// CHECK-LABEL: func.func @prefill_causal_mask
// CHECK:         gpu.launch async {{.*}} threads({{.*}}) in ({{.*}} = %c128,
// CHECK:           memref.view {{.*}} to memref<2x32x136xf16, #gpu.address_space<workgroup>>
// CHECK:           memref.view {{.*}} to memref<2x32x136xf16, #gpu.address_space<workgroup>>
// CHECK:           nvgpu.device_async_copy {{.*}}, 8 {bypassL1} : memref<1x4x?x128xf16
// CHECK:           arith.cmpi sle
// CHECK:           {{memref.load|tensor.extract}} %{{.*}} : {{.*}}<1x1x?x?xf32
// CHECK:           arith.mulf {{.*}}, %cst{{.*}} : f32
func.func @prefill_causal_mask(%q: tensor<1x16x?x128xf16>, %k: tensor<1x4x?x128xf16>, %v: tensor<1x4x?x128xf16>,
                               %m: tensor<1x1x?x?xf32>) -> tensor<1x16x?x128xf16> {
  %o = kvq.attention q(%q : tensor<1x16x?x128xf16>) k(%k : tensor<1x4x?x128xf16>) v(%v : tensor<1x4x?x128xf16>)
      mask(%m : tensor<1x1x?x?xf32>) {causal} -> tensor<1x16x?x128xf16>
  return %o : tensor<1x16x?x128xf16>
}
