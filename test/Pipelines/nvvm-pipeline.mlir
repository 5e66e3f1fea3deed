// RUN: kvq-opt %s --kvq-nvvm-pipeline="format=isa chip=sm_90 features=+ptx80 kernel=prefill" | FileCheck %s
// RUN: kvq-opt %s --kvq-nvvm-pipeline="format=isa chip=sm_90 features=+ptx80 kernel=prefill" | FileCheck %s --check-prefix=PTX
// RUN: env -u CUDA_HOME kvq-opt %s --kvq-nvvm-pipeline="format=isa chip=sm_90 features=+ptx80 kernel=prefill" \
// RUN:   | FileCheck %s --check-prefix=NOLIBDEVICE
// RUN: kvq-opt %s --kvq-nvvm-pipeline="format=isa chip=sm_90 features=+ptx80 kernel=prefill" \
// RUN:   | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=IR

// KIVI-style INT4 decode (per-channel K groups of 32 keys, per-token V
// groups of 32 channels, asymmetric, f16 scales) through the whole NVVM
// pipeline: host code in the LLVM dialect launching PTX kernels.

// The host function takes the output as an out-parameter (device memory,
// written by the kernels in place) and returns nothing; i4 caches arrive as
// packed bytes.
// CHECK-LABEL: llvm.func @decode(
// CHECK-NOT:     llvm.call @malloc
// CHECK:         gpu.launch_func <{{.*}}> @decode_kernel::@decode_kernel {{.*}} dynamic_shared_memory_size
// CHECK:         gpu.launch_func <{{.*}}> @decode_kernel_0::@decode_kernel
// CHECK:         llvm.return{{$}}
// CHECK:       gpu.binary @decode_kernel {{.*}}#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">

// The attention kernel: K / V blocks arrive by cp.async (16-byte, L1
// bypassed) into a double buffer; packed i4 bytes are read from shared
// memory and decoded in registers; both GEMMs run on m16n8k16 tensor cores
// with f16 operands and f32 accumulators; the softmax uses ex2 and quad
// shuffles.
// PTX: .target sm_90
// (The PTX is one escaped string: \09 is a tab.)
// K / V blocks in dynamic shared memory, 16-byte aligned for cp.async.
// PTX: .extern .shared .align 16 .b8 __dynamic_shmem__0[];
// PTX: cp.async.cg.shared.global {{[^;]*}}, 16;
// PTX: cp.async.commit_group;
// PTX: cp.async.wait_group {{(\\09)?}}1;
// PTX: bar.sync {{(\\09)?}}0;
// PTX-DAG: ld.shared.{{u8|b8}}
// PTX-DAG: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// PTX-DAG: shfl.sync.bfly.b32
// PTX-DAG: ex2.approx.f32
// PTX: cp.async.wait_group {{(\\09)?}}0;
// The combine kernel follows.
// PTX: gpu.binary @decode_kernel_0

// PTX for JIT needs no CUDA toolkit: exp2 / log2 are the ex2 / lg2
// approximations, not libdevice calls the driver could not resolve.
// NOLIBDEVICE-NOT: __nv_

// The host side calls the mgpu* runtime (libkvq_cuda_runtime): scratch is
// allocated and freed on the launch stream.
// IR-DAG: declare ptr @mgpuMemAlloc(i64, ptr, i8)
// IR-DAG: declare void @mgpuMemFree(ptr, ptr)
// IR-DAG: call void @mgpuLaunchKernel(
// IR-DAG: call void @mgpuStreamSynchronize(
// IR-DAG: call ptr @mgpuModuleLoadJIT(
func.func @decode(%q: tensor<1x32x1x128xf16>,
                  %kc: tensor<1x8x?x128xi4>, %ks: tensor<1x8x?x128xf16>, %kz: tensor<1x8x?x128xf16>,
                  %vc: tensor<1x8x?x128xi4>, %vs: tensor<1x8x?x4xf16>, %vz: tensor<1x8x?x4xf16>)
    -> tensor<1x32x1x128xf16> {
  %k = kvq.dequantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %kc, %ks, %kz
      : tensor<1x8x?x128xi4>, tensor<1x8x?x128xf16>, tensor<1x8x?x128xf16> -> tensor<1x8x?x128xf16>
  %v = kvq.dequantize #kvq.quant<i4, asymmetric, group(axis = 3, size = 32), scale = f16> %vc, %vs, %vz
      : tensor<1x8x?x128xi4>, tensor<1x8x?x4xf16>, tensor<1x8x?x4xf16> -> tensor<1x8x?x128xf16>
  %o = kvq.attention q(%q : tensor<1x32x1x128xf16>) k(%k : tensor<1x8x?x128xf16>)
      v(%v : tensor<1x8x?x128xf16>) {causal} -> tensor<1x32x1x128xf16>
  return %o : tensor<1x32x1x128xf16>
}
