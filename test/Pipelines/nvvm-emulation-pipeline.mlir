// kvq-nvvm-emulation-pipeline is kvq-nvvm-pipeline up to the serialization
// of the GPU modules: the host function is the same, line for line, and
// the kernels are the NVVM kernels with their NVVM ops as calls of the GPU
// emulator runtime.
// RUN: kvq-opt %s --kvq-nvvm-pipeline="format=isa" | awk '/^  llvm.func @decode\(/,/^  }/' > %t.gpu
// RUN: kvq-opt %s --kvq-nvvm-emulation-pipeline > %t.emulated.mlir
// RUN: awk '/^  llvm.func @decode\(/,/^  }/' %t.emulated.mlir > %t.emulated
// RUN: diff %t.gpu %t.emulated
// RUN: FileCheck %s --input-file=%t.emulated.mlir
// RUN: FileCheck %s --input-file=%t.gpu --check-prefix=HOST

// HOST: llvm.func @decode(
// HOST: llvm.call @mgpuStreamCreate()
// HOST: gpu.launch_func <{{.*}}> @decode_kernel::@decode_kernel {{.*}} dynamic_shared_memory_size
// HOST: gpu.launch_func <{{.*}}> @decode_kernel_0::@decode_kernel
// HOST: llvm.call @mgpuStreamSynchronize

// CHECK-NOT: nvvm.
// CHECK-NOT: gpu.module
// The attention kernel: cp.async into shared memory, barriers, mma.sync
// m16n8k16 (f16 A / B, f32 C / D), quad shuffles, ex2 / lg2.
// CHECK-LABEL: llvm.func internal @__kvq_emu.decode_kernel.decode_kernel(
// CHECK-DAG: llvm.call @__kvq_emu_shared_base()
// CHECK-DAG: llvm.call @__kvq_emu_cp_async(
// CHECK-DAG: llvm.call @__kvq_emu_cp_async_wait_group(
// CHECK-DAG: llvm.call @__kvq_emu_barrier(
// CHECK-DAG: llvm.call @__kvq_emu_shared_access(
// CHECK-DAG: llvm.call @__kvq_emu_mma_sync(
// CHECK-DAG: llvm.call @__kvq_emu_shfl_sync(
// CHECK-DAG: llvm.call @__kvq_emu_ex2_approx_f32(
// CHECK-DAG: llvm.call @__kvq_emu_lg2_approx_f32(
// CHECK: llvm.func internal @__kvq_emu.decode_kernel.decode_kernel.entry(
// CHECK: gpu.binary @decode_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">, bin = "kvq-gpu-emulator-module:decode_kernel:{{[0-9A-F]+}}">]
// The split-KV combine kernel.
// CHECK-LABEL: llvm.func internal @__kvq_emu.decode_kernel_0.decode_kernel(
// CHECK: llvm.call @__kvq_emu_ex2_approx_f32(
// CHECK: gpu.binary @decode_kernel_0 [#gpu.object<{{.*}}, bin = "kvq-gpu-emulator-module:decode_kernel_0:{{[0-9A-F]+}}">]
// CHECK: llvm.mlir.global_ctors ctors = [@__kvq_emu.decode_kernel.register, @__kvq_emu.decode_kernel_0.register]

func.func @decode(%q: tensor<1x8x1x64xf32>, %k: tensor<1x2x70x64xi4>, %ks: tensor<1x2x70x2xf16>,
                  %v: tensor<1x2x70x64xi4>, %vs: tensor<1x2x70x2xf16>) -> tensor<1x8x1x64xf32> {
  %o = kvq.attention q(%q : tensor<1x8x1x64xf32>)
      k(%k : tensor<1x2x70x64xi4>, #kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>, scale %ks : tensor<1x2x70x2xf16>)
      v(%v : tensor<1x2x70x64xi4>, #kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>, scale %vs : tensor<1x2x70x2xf16>)
      -> tensor<1x8x1x64xf32>
  return %o : tensor<1x8x1x64xf32>
}
