// RUN: kvq-opt %s -split-input-file --kvq-nvvm-pipeline="format=isa chip=sm_90 features=+ptx80" | FileCheck %s

// LevAttention on the GPU: leverage scores and the key mask are computed by
// the element-wise kernels of kvq-gpu-map-loops into device allocations,
// which the tensor-core attention kernel then reads; scratch is freed
// before returning.
// CHECK-LABEL: llvm.func @levattention(
// CHECK-NOT:     kvq.
// CHECK:         llvm.call @mgpuMemAlloc
// CHECK:         gpu.launch_func @levattention_kernel::@levattention_kernel blocks in
// CHECK:         gpu.launch_func <{{.*}}> @{{.*}} dynamic_shared_memory_size
// CHECK:         llvm.call @mgpuMemFree
// CHECK:         llvm.return{{$}}
// CHECK:         gpu.binary @levattention_kernel
// CHECK:         mma.sync.aligned.m16n8k16
func.func @levattention(%q: tensor<1x32x4x64xf32>, %k: tensor<1x8x?x64xf32>, %v: tensor<1x8x?x64xf32>)
    -> (tensor<1x32x4x64xf32>, tensor<1x8x?xf32>) {
  %t = kvq.leverage_scores %k : tensor<1x8x?x64xf32> -> tensor<1x8x?xf32>
  %t2 = kvq.leverage_scores %k {ridge = 1.0e-3 : f64} : tensor<1x8x?x64xf32> -> tensor<1x8x?xf32>
  %m = kvq.select_keys %t {epsilon = 0.05 : f64} : tensor<1x8x?xf32> -> tensor<1x32x1x?xf32>
  %o = kvq.attention q(%q : tensor<1x32x4x64xf32>) k(%k : tensor<1x8x?x64xf32>) v(%v : tensor<1x8x?x64xf32>)
      mask(%m : tensor<1x32x1x?xf32>) -> tensor<1x32x4x64xf32>
  return %o, %t2 : tensor<1x32x4x64xf32>, tensor<1x8x?xf32>
}

// -----

// PolySketch's causal block algorithm: a host loop over key blocks that
// launches element-wise kernels (the prefix state update and each block's
// outputs); no attention kernel.
// CHECK-LABEL: llvm.func @poly(
// CHECK-NOT:     kvq.
// CHECK:         llvm.br
// CHECK:         gpu.launch_func @poly_kernel
// CHECK:         llvm.return{{$}}
// CHECK:         gpu.binary @poly_kernel
func.func @poly(%q: tensor<1x4x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x12xf32>) -> tensor<1x4x?x12xf32> {
  %o = kvq.poly_attention q(%q : tensor<1x4x?x16xf32>) k(%k : tensor<1x2x?x16xf32>) v(%v : tensor<1x2x?x12xf32>)
      {sketch = 8, seed = 1, causal} -> tensor<1x4x?x12xf32>
  return %o : tensor<1x4x?x12xf32>
}

// -----

// SageAttention2 with its run-time quantization: Q and K are quantized
// per fragment and V per channel to FP8 by element-wise kernels, the codes
// go to the attention kernel through device memory.
// CHECK-LABEL: llvm.func @sage_defaults(
// CHECK-NOT:     kvq.
// CHECK:         gpu.launch_func @sage_defaults_kernel::@sage_defaults_kernel
// CHECK:         gpu.launch_func <{{.*}}> @{{.*}} dynamic_shared_memory_size
// CHECK:         llvm.return{{$}}
func.func @sage_defaults(%q: tensor<1x8x?x128xf16>, %k: tensor<1x2x?x128xf16>, %v: tensor<1x2x?x128xf16>)
    -> tensor<1x8x?x128xf16> {
  %o = kvq.sage_attention q(%q : tensor<1x8x?x128xf16>) k(%k : tensor<1x2x?x128xf16>) v(%v : tensor<1x2x?x128xf16>) -> tensor<1x8x?x128xf16>
  return %o : tensor<1x8x?x128xf16>
}

// -----

// The encoders: PolarQuant's (f64 angles, per-level codes packed into
// bytes) and GEAR's prefill (outliers, INT4 codes, low-rank factors), each
// a sequence of element-wise kernels.
// CHECK-LABEL: llvm.func @polar_default(
// CHECK:         gpu.launch_func @polar_default_kernel
// CHECK:         gpu.binary @polar_default_kernel
// CHECK-LABEL: llvm.func @gear(
// CHECK:         gpu.launch_func @gear_kernel
// CHECK-NOT:     memref.alloc
// CHECK:         llvm.return{{$}}
func.func @polar_default(%k: tensor<1x8x?x128xf32>) -> tensor<1x8x?x128xf32> {
  %r, %c1, %c2, %c3, %c4 = kvq.polar_encode %k : tensor<1x8x?x128xf32>
      -> tensor<1x8x?x8xf16>, tensor<1x8x?x32xi8>, tensor<1x8x?x8xi8>, tensor<1x8x?x4xi8>, tensor<1x8x?x2xi8>
  %d = kvq.polar_decode %r, %c1, %c2, %c3, %c4 : tensor<1x8x?x8xf16>, tensor<1x8x?x32xi8>,
      tensor<1x8x?x8xi8>, tensor<1x8x?x4xi8>, tensor<1x8x?x2xi8> -> tensor<1x8x?x128xf32>
  return %d : tensor<1x8x?x128xf32>
}
func.func @gear(%k: tensor<1x8x?x128xf32>) -> (tensor<1x8x?x128xf32>, tensor<1x8x?x2xf16>) {
  %rem, %idx, %val = kvq.extract_outliers %k {count = 3}
      : tensor<1x8x?x128xf32> -> tensor<1x8x?x128xf32>, tensor<1x8x?x3xi32>, tensor<1x8x?x3xf32>
  %c, %s, %z = kvq.quantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %rem
      : tensor<1x8x?x128xf32> -> tensor<1x8x?x128xi4>, tensor<1x8x?x128xf16>, tensor<1x8x?x128xf16>
  %d = kvq.dequantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %c, %s, %z
      : tensor<1x8x?x128xi4>, tensor<1x8x?x128xf16>, tensor<1x8x?x128xf16> -> tensor<1x8x?x128xf32>
  %res = arith.subf %rem, %d : tensor<1x8x?x128xf32>
  %a, %b = kvq.low_rank_approx %res {rank = 4} : tensor<1x8x?x128xf32> -> tensor<1x8x?x4xf32>, tensor<1x8x4x128xf32>
  %a2, %b2 = kvq.low_rank_approx %res {rank = 2, iterations = 5, seed = 7}
      : tensor<1x8x?x128xf32> -> tensor<1x8x?x2xf16>, tensor<1x8x2x128xf16>
  %x = kvq.gear_decode %d, %a, %b, %idx, %val
      : tensor<1x8x?x128xf32>, tensor<1x8x?x4xf32>, tensor<1x8x4x128xf32>, tensor<1x8x?x3xi32>,
        tensor<1x8x?x3xf32> -> tensor<1x8x?x128xf32>
  return %x, %a2 : tensor<1x8x?x128xf32>, tensor<1x8x?x2xf16>
}

// -----

// A quantization on its own is a kernel too, and i4 codes computed inside
// the function reach the attention kernel packed by kvq.pack's element-wise
// kernel (sub-byte stores emulated on bytes with atomics).
// CHECK-LABEL: llvm.func @unfused_quantize(
// CHECK:         gpu.launch_func @unfused_quantize_kernel
// CHECK:         llvm.return{{$}}
// CHECK-LABEL: llvm.func @codes_not_packed(
// CHECK:         gpu.launch_func @codes_not_packed_kernel
// CHECK:         gpu.launch_func <{{.*}}> @{{.*}} dynamic_shared_memory_size
// CHECK:         llvm.return{{$}}
// CHECK:         atom.global
func.func @unfused_quantize(%x: tensor<1x2x8x16xf32>) -> (tensor<1x2x8x16xi8>, tensor<1x2x8x1xf32>) {
  %c, %s = kvq.quantize #kvq.quant<i8, symmetric, token> %x : tensor<1x2x8x16xf32> -> tensor<1x2x8x16xi8>, tensor<1x2x8x1xf32>
  return %c, %s : tensor<1x2x8x16xi8>, tensor<1x2x8x1xf32>
}
func.func @codes_not_packed(%q: tensor<1x2x1x16xf32>, %a: tensor<1x2x8x16xi4>, %s: tensor<1x2x8x1xf32>,
                            %v: tensor<1x2x8x16xf32>) -> tensor<1x2x1x16xf32> {
  %k = arith.addi %a, %a : tensor<1x2x8x16xi4>
  %o = kvq.attention q(%q : tensor<1x2x1x16xf32>)
      k(%k : tensor<1x2x8x16xi4>, #kvq.quant<i4, symmetric, token>, scale %s : tensor<1x2x8x1xf32>)
      v(%v : tensor<1x2x8x16xf32>) -> tensor<1x2x1x16xf32>
  return %o : tensor<1x2x1x16xf32>
}
