// RUN: kvq-opt %s --kvq-gpu-attention="split-kv=1 warps=2 block-kv=32 kernel=prefill" --canonicalize --cse \
// RUN:   | FileCheck %s
// RUN: kvq-opt %s --kvq-gpu-attention="split-kv=3 block-kv=16 warps=1 kernel=prefill" --canonicalize --cse \
// RUN:   | FileCheck %s --check-prefix=SPLIT3

// Who writes which shared-memory bytes, and the barriers between writes and
// reads, in the attention kernel's K / V staging. Every 16-byte chunk of a
// block has exactly one owner thread: when the chunks of a block do not
// divide over the CTA's threads, the last round of copies is guarded by
// `chunk < total` (threads past the end copy nothing) instead of clamping
// the chunk to the last one, which made several threads cp.async the same
// bytes, a write-write race (compute-sanitizer racecheck). Block i + 1 is
// written into the other buffer only after the barrier that ends block
// i - 1's reads of it; block i is read after the wait for its group and a
// barrier.

// FP8 K / V with D = 48: 3 chunks of 16 bytes per key. 2 warps (64 threads)
// and 32-key blocks: 96 chunks per block, so threads 0-63 copy one chunk and
// threads 0-31 a second one.
// CHECK-LABEL: func.func @fp8_decode
// CHECK:         gpu.launch async {{.*}} threads({{.*}}) in ({{.*}} = %c64,
// CHECK:           %[[KS:.*]] = memref.view {{.*}} to memref<2x32x64xf8E4M3FN, #gpu.address_space<workgroup>>
// CHECK:           %[[VS:.*]] = memref.view {{.*}} to memref<2x32x64xf8E5M2, #gpu.address_space<workgroup>>
// CHECK-NOT:       arith.minui {{.*}}, %c95
// The block loop: prefetch block i + 1 into the other buffer.
// CHECK:           scf.for
// CHECK:             %[[NEXTBUF:.*]] = arith.subi %c1, %{{.*}} : index
// Round 0: chunk = tid (< 64 <= 96), unguarded.
// CHECK:             %[[ROW0:.*]] = arith.divui %[[TID:arg[0-9]+]], %c3 : index
// CHECK:             %[[K0:.*]] = nvgpu.device_async_copy {{.*}}, %[[KS]][%[[NEXTBUF]], %[[ROW0]], {{.*}}], 16 {bypassL1} : {{.*}}
// Round 1: chunk = tid + 64, only below 96.
// CHECK:             %[[C1:.*]] = arith.addi %[[TID]], %c64 : index
// CHECK:             %[[OWN:.*]] = arith.cmpi ult, %[[C1]], %c96 : index
// CHECK:             scf.if %[[OWN]] {
// CHECK:               %[[ROW1:.*]] = arith.divui %[[C1]], %c3 : index
// CHECK:               nvgpu.device_async_copy {{.*}}, %[[KS]][%[[NEXTBUF]], %[[ROW1]], {{.*}}], 16 {bypassL1} : {{.*}}
// CHECK-NEXT:        }
// CHECK:             %[[V0:.*]] = nvgpu.device_async_copy {{.*}}, %[[VS]][%[[NEXTBUF]], %[[ROW0]], {{.*}}], 16 {bypassL1} : {{.*}}
// CHECK:             scf.if %[[OWN]] {
// CHECK:               nvgpu.device_async_copy {{.*}}, %[[VS]][%[[NEXTBUF]], {{.*}}], 16 {bypassL1} : {{.*}}
// CHECK-NEXT:        }
// One group per block (the guarded copies are in it too), wait for the
// current block, then a barrier before anyone reads it.
// CHECK-NEXT:        %[[G:.*]] = nvgpu.device_async_create_group %[[K0]], %[[V0]]
// CHECK-NEXT:        nvgpu.device_async_wait %[[G]] {numGroups = 1 : i32}
// CHECK-NEXT:        gpu.barrier
// CHECK-NEXT:        scf.for
// CHECK:               memref.load %[[KS]]
// CHECK:               nvgpu.mma.sync
// CHECK:               memref.load %[[VS]]
// CHECK:               nvgpu.mma.sync
// CHECK:               scf.yield
// The reads of this buffer end before the next iteration writes into it.
// CHECK-NEXT:        }
// CHECK-NEXT:        gpu.barrier
// CHECK-NEXT:        scf.yield
// CHECK-NEXT:      }
// CHECK-NEXT:      %[[LAST:.*]] = nvgpu.device_async_create_group
// CHECK-NEXT:      nvgpu.device_async_wait %[[LAST]] {numGroups = 0 : i32}

// 1 warp and 16-key blocks: 48 chunks, threads 0-15 copy a second one.
// SPLIT3-LABEL: func.func @fp8_decode
// SPLIT3-NOT:     arith.minui {{.*}}, %c47
// SPLIT3:         scf.for
// SPLIT3:           nvgpu.device_async_copy
// SPLIT3:           %[[C1:.*]] = arith.addi %{{.*}}, %c32 : index
// SPLIT3:           %[[OWN:.*]] = arith.cmpi ult, %[[C1]], %c48 : index
// SPLIT3:           scf.if %[[OWN]] {
// SPLIT3:             nvgpu.device_async_copy
// SPLIT3:           nvgpu.device_async_create_group
// SPLIT3-NEXT:      nvgpu.device_async_wait {{.*}} {numGroups = 1 : i32}
// SPLIT3-NEXT:      gpu.barrier
func.func @fp8_decode(%q: tensor<1x6x1x48xf32>, %kc: tensor<1x3x?x48xf8E4M3FN>, %ks: tensor<1x3x1x48xf32>,
                      %vc: tensor<1x3x?x48xf8E5M2>, %vs: tensor<1x3x?x1xf16>) -> tensor<1x6x1x48xf32> {
  %o = kvq.attention q(%q : tensor<1x6x1x48xf32>)
      k(%kc : tensor<1x3x?x48xf8E4M3FN>, #kvq.quant<f8E4M3FN, symmetric, channel>, scale %ks : tensor<1x3x1x48xf32>)
      v(%vc : tensor<1x3x?x48xf8E5M2>, #kvq.quant<f8E5M2, symmetric, token, scale = f16>, scale %vs : tensor<1x3x?x1xf16>)
      -> tensor<1x6x1x48xf32>
  return %o : tensor<1x6x1x48xf32>
}

// Packed i2 codes with D = 64: one 16-byte chunk per key, 32 chunks per
// block; with 64 threads only threads 0-31 copy, and the group holds no
// token outside the guard.
// CHECK-LABEL: func.func @kivi2_decode
// CHECK:         scf.for
// CHECK:           %[[OWN:.*]] = arith.cmpi ult, %[[TID:arg[0-9]+]], %c32 : index
// CHECK:           scf.if %[[OWN]] {
// CHECK:             nvgpu.device_async_copy {{.*}}
// CHECK-NEXT:      }
// CHECK:           scf.if %[[OWN]] {
// CHECK:             nvgpu.device_async_copy {{.*}}
// CHECK-NEXT:      }
// CHECK-NEXT:      %[[G:.*]] = nvgpu.device_async_create_group{{ *$}}
// CHECK-NEXT:      nvgpu.device_async_wait %[[G]] {numGroups = 1 : i32}
// CHECK-NEXT:      gpu.barrier
// 16-key blocks on 32 threads: 16 chunks, threads 0-15.
// SPLIT3-LABEL: func.func @kivi2_decode
// SPLIT3:         scf.for
// SPLIT3:           arith.cmpi ult, %{{.*}}, %c16 : index
// SPLIT3:           scf.if
// SPLIT3:             nvgpu.device_async_copy
func.func @kivi2_decode(%q: tensor<1x8x1x64xf32>, %kc: tensor<1x4x?x16xi8>, %ks: tensor<1x4x?x64xf16>,
                        %kz: tensor<1x4x?x64xf16>, %vc: tensor<1x4x?x16xi8>, %vs: tensor<1x4x?x2xf16>,
                        %vz: tensor<1x4x?x2xf16>) -> tensor<1x8x1x64xf32> {
  %k = kvq.unpack %kc : tensor<1x4x?x16xi8> -> tensor<1x4x?x64xi2>
  %v = kvq.unpack %vc : tensor<1x4x?x16xi8> -> tensor<1x4x?x64xi2>
  %o = kvq.attention q(%q : tensor<1x8x1x64xf32>)
      k(%k : tensor<1x4x?x64xi2>, #kvq.quant<i2, asymmetric, group(axis = 2, size = 32), scale = f16>,
        scale %ks : tensor<1x4x?x64xf16>, zero_point %kz : tensor<1x4x?x64xf16>)
      v(%v : tensor<1x4x?x64xi2>, #kvq.quant<i2, asymmetric, group(axis = 3, size = 32), scale = f16>,
        scale %vs : tensor<1x4x?x2xf16>, zero_point %vz : tensor<1x4x?x2xf16>)
      -> tensor<1x8x1x64xf32>
  return %o : tensor<1x8x1x64xf32>
}
