// RUN: kvq-opt %s -split-input-file --kvq-nvvm-pipeline="format=isa chip=sm_90 kernel=decode" \
// RUN:   | sed -e 's/\\0A/\n/g' -e 's/\\09/ /g' | FileCheck %s
// RUN: kvq-opt %s -split-input-file --kvq-nvvm-pipeline="format=isa chip=sm_80 kernel=decode" \
// RUN:   | sed -e 's/\\0A/\n/g' -e 's/\\09/ /g' | FileCheck %s --check-prefix=SM80
// RUN: env -u CUDA_HOME kvq-opt %s -split-input-file --kvq-nvvm-pipeline="format=isa chip=sm_90 kernel=decode" \
// RUN:   | FileCheck %s --check-prefix=NOLIBDEVICE

// The decode kernel through the whole NVVM pipeline: the PTX instructions
// it was written for (the PTX string is split into lines for the checks).

// INT4, groups of 32 channels with f16 scales. The kernel is compiled for
// 128 registers; tiles arrive by 16-byte cp.async (L1 bypassed) into the
// warps' stage rings, two tiles ahead; a warp reads its quarter of a K row
// with one 16-byte shared load, decodes nibbles with lop3 into f16x2 and
// fixes them up / scales them with f16x2 arithmetic; prmt pairs two keys'
// bytes for V; S^T and O^T on m16n8k16 tensor cores; P^T by movmatrix; the
// rescale of O^T is skipped by a warp vote; ex2 and butterfly shuffles for
// the softmax.
// CHECK-LABEL: llvm.func @int4(
// CHECK:         gpu.launch_func <{{.*}}> @int4_kernel::@int4_kernel {{.*}} dynamic_shared_memory_size
// CHECK:         gpu.launch_func <{{.*}}> @int4_kernel_0::@int4_kernel
// CHECK:       gpu.binary @int4_kernel
// CHECK:       .maxnreg 128
// (Blocks are laid out out of program order: the rest is unordered.)
// CHECK-DAG:   cp.async.cg.shared.global [{{[^]]*}}], [{{[^]]*}}], 16;
// CHECK-DAG:   cp.async.commit_group;
// CHECK-DAG:   cp.async.wait_group 2;
// CHECK-DAG:   bar.warp.sync
// CHECK-DAG:   ld.shared.v4.b32
// CHECK-DAG:   lop3.b32 {{[^;]*}}, 0x6a;
// CHECK-DAG:   fma.rn.f16x2
// CHECK-DAG:   mul.rn.f16x2
// CHECK-DAG:   mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// CHECK-DAG:   shfl.sync.bfly.b32
// CHECK-DAG:   ex2.approx.f32
// CHECK-DAG:   movmatrix.sync.aligned.m8n8.trans.b16
// CHECK-DAG:   vote.sync.any.pred
// CHECK-DAG:   prmt.b32 {{[^;]*}}, 0x5410U;
// CHECK-DAG:   prmt.b32 {{[^;]*}}, 0x7632U;
// CHECK-DAG:   ld.shared.v2.b32
// After an f16 overflow (a scale times a code beyond 65504), the CTA votes
// (bar.red.or) and recomputes with the rows staged as bf16: bf16 mma.
// CHECK-DAG:   bar.red.or.pred
// CHECK-DAG:   mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// Epilogue: every copy retired before the rings become scratch.
// CHECK:       cp.async.wait_group 0;
// CHECK-NEXT:  bar.sync 0;
// CHECK:       gpu.binary @int4_kernel_0
// NOLIBDEVICE-NOT: __nv_
func.func @int4(%q: tensor<?x32x1x128xf16>, %kc: tensor<?x8x?x64xi8>, %ks: tensor<?x8x?x4xf16>,
                %vc: tensor<?x8x?x64xi8>, %vs: tensor<?x8x?x4xf16>) -> tensor<?x32x1x128xf16> {
  %k = kvq.unpack %kc : tensor<?x8x?x64xi8> -> tensor<?x8x?x128xi4>
  %v = kvq.unpack %vc : tensor<?x8x?x64xi8> -> tensor<?x8x?x128xi4>
  %o = kvq.attention q(%q : tensor<?x32x1x128xf16>)
      k(%k : tensor<?x8x?x128xi4>, #kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>, scale %ks : tensor<?x8x?x4xf16>)
      v(%v : tensor<?x8x?x128xi4>, #kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>, scale %vs : tensor<?x8x?x4xf16>)
      -> tensor<?x32x1x128xf16>
  return %o : tensor<?x32x1x128xf16>
}

// -----

// FP8 e4m3 per token: the hardware conversion to f16x2 on sm_90. The chip
// reaches the kernel: on sm_80, which has no such cvt, the warps decode the
// rows into f16 stage rows with integer arithmetic instead.
// CHECK-LABEL: llvm.func @fp8(
// CHECK:       gpu.binary @fp8_kernel
// CHECK:       .target sm_90
// CHECK:       cvt.rn.f16x2.e4m3x2
// CHECK:       gpu.binary @fp8_kernel_0
// SM80-LABEL: llvm.func @fp8(
// SM80:       gpu.binary @fp8_kernel
// SM80:       .target sm_80
// SM80-NOT:   e4m3x2
// SM80:       st.shared.v4.b32
// SM80-NOT:   e4m3x2
// SM80:       gpu.binary @fp8_kernel_0
func.func @fp8(%q: tensor<?x32x1x128xf16>, %kc: tensor<?x8x?x128xf8E4M3FN>, %ks: tensor<?x8x?x1xf16>,
               %vc: tensor<?x8x?x128xf8E4M3FN>, %vs: tensor<?x8x?x1xf16>) -> tensor<?x32x1x128xf16> {
  %o = kvq.attention q(%q : tensor<?x32x1x128xf16>)
      k(%kc : tensor<?x8x?x128xf8E4M3FN>, #kvq.quant<f8E4M3FN, symmetric, token, scale = f16>, scale %ks : tensor<?x8x?x1xf16>)
      v(%vc : tensor<?x8x?x128xf8E4M3FN>, #kvq.quant<f8E4M3FN, symmetric, token, scale = f16>, scale %vs : tensor<?x8x?x1xf16>)
      -> tensor<?x32x1x128xf16>
  return %o : tensor<?x32x1x128xf16>
}

// -----

// Plain f32 K / V: their f16 operands can overflow, so the kernel has the
// CTA-wide vote and the bf16 recomputation; plain f16 with the default
// scale (1 / sqrt(128): Q times the scale stays within f16's range) has
// neither.
// CHECK-LABEL: llvm.func @f32(
// CHECK:       gpu.binary @f32_kernel
// CHECK-DAG:   mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// CHECK-DAG:   bar.red.or.pred
// CHECK-DAG:   mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK:       gpu.binary @f32_kernel_0
func.func @f32(%q: tensor<?x32x1x128xf32>, %k: tensor<?x8x?x128xf32>, %v: tensor<?x8x?x128xf32>) -> tensor<?x32x1x128xf32> {
  %o = kvq.attention q(%q : tensor<?x32x1x128xf32>) k(%k : tensor<?x8x?x128xf32>) v(%v : tensor<?x8x?x128xf32>) -> tensor<?x32x1x128xf32>
  return %o : tensor<?x32x1x128xf32>
}

// -----

// CHECK-LABEL: llvm.func @f16(
// CHECK:       gpu.binary @f16_kernel
// CHECK-NOT:   bar.red
// CHECK-NOT:   bf16
// CHECK:       mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// CHECK-NOT:   bar.red
// CHECK-NOT:   bf16
// CHECK:       gpu.binary @f16_kernel_0
func.func @f16(%q: tensor<?x32x1x128xf16>, %k: tensor<?x8x?x128xf16>, %v: tensor<?x8x?x128xf16>) -> tensor<?x32x1x128xf16> {
  %o = kvq.attention q(%q : tensor<?x32x1x128xf16>) k(%k : tensor<?x8x?x128xf16>) v(%v : tensor<?x8x?x128xf16>) -> tensor<?x32x1x128xf16>
  return %o : tensor<?x32x1x128xf16>
}
