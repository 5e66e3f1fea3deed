// RUN: kvq-opt %s --kvq-gpu-fold-copy-casts | FileCheck %s

// The copy reads the dense buffer, not its dynamic-layout cast; a cast to a
// more static type is not folded.
// CHECK-LABEL: func.func @fold
// CHECK-SAME:    (%[[SRC:.*]]: memref<2x4x?x64xf16>
// CHECK:         nvgpu.device_async_copy %[[SRC]][%{{.*}}], %{{.*}}[%{{.*}}], 8 {bypassL1} : memref<2x4x?x64xf16> to memref<16x72xf16, 3>
// CHECK:         %[[STATIC:.*]] = memref.cast %{{.*}} : memref<?x64xf16> to memref<16x64xf16>
// CHECK:         nvgpu.device_async_copy %[[STATIC]]
func.func @fold(%src: memref<2x4x?x64xf16>, %other: memref<?x64xf16>, %i: index) {
  %c0 = arith.constant 0 : index
  %dst = memref.alloc() : memref<16x72xf16, 3>
  %cast = memref.cast %src : memref<2x4x?x64xf16> to memref<2x4x?x64xf16, strided<[?, ?, ?, 1], offset: ?>>
  %t = nvgpu.device_async_copy %cast[%c0, %c0, %i, %c0], %dst[%c0, %c0], 8 {bypassL1}
      : memref<2x4x?x64xf16, strided<[?, ?, ?, 1], offset: ?>> to memref<16x72xf16, 3>
  %static = memref.cast %other : memref<?x64xf16> to memref<16x64xf16>
  %t2 = nvgpu.device_async_copy %static[%i, %c0], %dst[%c0, %c0], 8
      : memref<16x64xf16> to memref<16x72xf16, 3>
  return
}
