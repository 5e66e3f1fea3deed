// RUN: kvq-opt %s --kvq-nvvm-pipeline="format=isa chip=sm_90 features=+ptx80" | FileCheck %s

// A KIVI cache (INT4 K per channel over 32-token groups, fp16 window of the
// newest tokens) through the whole NVVM pipeline: the packed codes arrive as
// bytes (kvq-legalize-abi), the kernel decodes the block's keys from global
// memory (byte loads, one per pair of codes) into shared memory as f16 and
// runs the tensor-core loop; nothing but the kernels and the runtime calls
// remains on the host.
// CHECK-LABEL: llvm.func @kivi_window(
// CHECK-NOT: tensor.concat
// CHECK-NOT: kvq.
// CHECK: gpu.launch_func <{{.*}}> @kivi_window_kernel::@kivi_window_kernel {{.*}} dynamic_shared_memory_size
// CHECK: llvm.return{{$}}
// CHECK: gpu.binary @kivi_window_kernel
// CHECK-SAME: ld.global.b8
// CHECK-SAME: st.shared.b16
// CHECK-SAME: cp.async.cg.shared.global
// CHECK-SAME: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// CHECK-SAME: ex2.approx.f32
// CHECK-NOT: __nv_
func.func @kivi_window(%q: tensor<1x8x1x128xf16>, %kc: tensor<1x2x?x128xi4>,
                       %ks: tensor<1x2x?x128xf16>, %kz: tensor<1x2x?x128xf16>,
                       %kw: tensor<1x2x?x128xf16>, %v: tensor<1x2x?x128xf16>)
    -> tensor<1x8x1x128xf16> {
  %kd = kvq.dequantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %kc, %ks, %kz
      : tensor<1x2x?x128xi4>, tensor<1x2x?x128xf16>, tensor<1x2x?x128xf16> -> tensor<1x2x?x128xf16>
  %k = tensor.concat dim(2) %kd, %kw : (tensor<1x2x?x128xf16>, tensor<1x2x?x128xf16>) -> tensor<1x2x?x128xf16>
  %o = kvq.attention q(%q : tensor<1x8x1x128xf16>) k(%k : tensor<1x2x?x128xf16>)
      v(%v : tensor<1x2x?x128xf16>) -> tensor<1x8x1x128xf16>
  return %o : tensor<1x8x1x128xf16>
}
