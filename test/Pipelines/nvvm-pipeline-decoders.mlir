// RUN: kvq-opt %s -split-input-file --kvq-nvvm-pipeline="format=isa chip=sm_90 features=+ptx80 kernel=prefill" | FileCheck %s

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
// CHECK-SAME: st.shared.{{b16|v4.b32}}
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

// -----

// A GEAR key (INT4 KIVI codes + rank-2 residual + 3 outliers per token) and
// VidKV-coded K / V: their decoders run inside the kernel the same way.
// CHECK-LABEL: llvm.func @gear_key(
// CHECK-NOT: kvq.
// CHECK: gpu.launch_func <{{.*}}> @gear_key_kernel::@gear_key_kernel
// CHECK: gpu.binary @gear_key_kernel
// CHECK-SAME: ld.global.b8
// CHECK-SAME: st.shared.{{b16|v4.b32}}
// CHECK-SAME: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
func.func @gear_key(%q: tensor<1x4x1x64xf32>, %kc: tensor<1x2x?x64xi4>, %ks: tensor<1x2x?x64xf16>,
                    %kz: tensor<1x2x?x64xf16>, %a: tensor<1x2x?x2xf32>, %b: tensor<1x2x2x64xf32>,
                    %i: tensor<1x2x?x3xi32>, %w: tensor<1x2x?x3xf16>, %v: tensor<1x2x?x64xf32>)
    -> tensor<1x4x1x64xf32> {
  %kd = kvq.dequantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %kc, %ks, %kz
      : tensor<1x2x?x64xi4>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x2x?x64xf32>
  %k = kvq.gear_decode %kd, %a, %b, %i, %w : tensor<1x2x?x64xf32>, tensor<1x2x?x2xf32>, tensor<1x2x2x64xf32>,
      tensor<1x2x?x3xi32>, tensor<1x2x?x3xf16> -> tensor<1x2x?x64xf32>
  %o = kvq.attention q(%q : tensor<1x4x1x64xf32>) k(%k : tensor<1x2x?x64xf32>)
      v(%v : tensor<1x2x?x64xf32>) -> tensor<1x4x1x64xf32>
  return %o : tensor<1x4x1x64xf32>
}

// -----

// VidKV keys are read in slot coordinates (kvq-fuse): a kernel maps the
// queries (kvq.vidkv_project_query) before the attention kernel decodes
// the slots and the ternary values.
// CHECK-LABEL: llvm.func @vidkv(
// CHECK-NOT: kvq.
// CHECK: gpu.launch_func @vidkv_kernel_0::@vidkv_kernel
// CHECK: gpu.launch_func <{{.*}}> @vidkv_kernel_1::@vidkv_kernel
// CHECK: gpu.binary @vidkv_kernel_1
// CHECK-SAME: st.shared.{{b16|v4.b32}}
// CHECK-SAME: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
func.func @vidkv(%q: tensor<1x4x5x16xf32>, %hc: tensor<1x2x?x2xi8>, %hs: tensor<1x2x?x8xf32>,
                 %hm: tensor<1x2x?x8xf32>, %lc: tensor<1x2x?x1xi8>, %ls: tensor<1x2x?x8xf32>,
                 %ch: tensor<1x2x16xi32>, %vc: tensor<1x2x?x4xi8>, %vs: tensor<1x2x?x16xf16>)
    -> tensor<1x4x5x16xf32> {
  %k = kvq.vidkv_decode_key %hc, %hs, %hm, %lc, %ls, %ch : tensor<1x2x?x2xi8>, tensor<1x2x?x8xf32>,
      tensor<1x2x?x8xf32>, tensor<1x2x?x1xi8>, tensor<1x2x?x8xf32>, tensor<1x2x16xi32> -> tensor<1x2x?x16xf32>
  %v = kvq.vidkv_decode_value %vc, %vs : tensor<1x2x?x4xi8>, tensor<1x2x?x16xf16> -> tensor<1x2x?x16xf32>
  %o = kvq.attention q(%q : tensor<1x4x5x16xf32>) k(%k : tensor<1x2x?x16xf32>) v(%v : tensor<1x2x?x16xf32>)
      -> tensor<1x4x5x16xf32>
  return %o : tensor<1x4x5x16xf32>
}
