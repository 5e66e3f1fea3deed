// RUN: kvq-opt %s --pass-pipeline="builtin.module(gpu.module(kvq-gpu-kernel-bounds))" | FileCheck %s

// The register budget an op inside a kernel records moves onto the kernel
// as nvvm.maxnreg (the smallest one if several); the marker is dropped.
// Kernels without one are left alone.
// CHECK-LABEL: gpu.func @bounded
// CHECK-SAME:    nvvm.maxnreg = 96 : i32
// CHECK-NOT:     kvq.kernel_bounds
// CHECK-LABEL: gpu.func @free
// CHECK-NOT:     nvvm.maxnreg
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @bounded(%m: memref<4xf32>) kernel {
      %c0 = arith.constant {kvq.kernel_bounds = {max_registers = 128 : i32}} 0 : index
      %c1 = arith.constant {kvq.kernel_bounds = {max_registers = 96 : i32, min_ctas_per_sm = 4 : i32}} 1.0 : f32
      memref.store %c1, %m[%c0] : memref<4xf32>
      gpu.return
    }
    gpu.func @free(%m: memref<4xf32>) kernel {
      gpu.return
    }
  }
}
