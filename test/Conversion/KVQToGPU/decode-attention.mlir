// RUN: kvq-opt %s --kvq-gpu-attention="chip=sm_90 kernel=decode" --canonicalize --cse | FileCheck %s
// RUN: kvq-opt %s --kvq-gpu-attention="chip=sm_90 kernel=decode" --canonicalize --cse | FileCheck %s --check-prefix=NOBUF
// RUN: kvq-opt %s --kvq-gpu-attention="chip=sm_80 kernel=decode" --canonicalize --cse | FileCheck %s --check-prefix=SM80
// RUN: kvq-opt %s --kvq-gpu-attention="chip=sm_90 kernel=decode split-kv=1 warps=2 stages=4" --canonicalize --cse \
// RUN:   | FileCheck %s --check-prefix=SPLIT1
// RUN: kvq-opt %s --kvq-gpu-attention="chip=sm_90 kernel=prefill" --canonicalize --cse \
// RUN:   | FileCheck %s --check-prefix=PREFILL

// The decode strategy of kvq-gpu-attention: kvq.attention ops whose KV heads
// have at most 8 query rows become a flash-decoding kernel (warps streaming
// 16-key tiles through cp.async stages, codes decoded in registers into
// mma fragments with the keys as the 16 rows) and a split combine kernel.

// No buffer of a dequantized cache exists anywhere: the only allocations
// are the outputs and the split partials (1-D f32).
// NOBUF-NOT: {{memref.alloc|gpu.alloc}}{{.*}}x{{8|2}}x{{\?|32768}}x{{128|64}}x{{f|bf}}

// INT4 with f16 scales per 32 channels, b8 L32k: grid (8 splits, 64 KV
// heads), 4 warps; 3 stages of 16 keys x (64 + 16) bytes of K and of V per
// warp (30720 bytes), in the 34816 bytes that one stage of the bf16
// recomputation after an f16 overflow needs (16 keys x (256 + 16) bytes of
// K and of V per warp); the plan sized the split to one wave of 4 CTAs on
// each of 132 SMs.
// CHECK-LABEL: func.func @decode_i4
// CHECK:         gpu.launch async {{.*}} blocks({{.*}}) in ({{.*}} = %c8, {{.*}} = %c64, {{.*}} = %c1) threads({{.*}}) in ({{.*}} = %c128, {{.*}} = %c1, {{.*}} = %c1) dynamic_shared_memory_size %c34816_i32
// CHECK:           gpu.dynamic_shared_memory {kvq.kernel_bounds = {max_registers = 128 : i32, min_ctas_per_sm = 4 : i32, plan = {{{.*}}}}}
// CHECK:           %[[KS:.*]] = memref.view {{.*}} to memref<192x80xi8, #gpu.address_space<workgroup>>
// CHECK:           %[[KW:.*]] = memref.view {{.*}} to memref<192x20xi32, #gpu.address_space<workgroup>>
// CHECK:           %[[VS:.*]] = memref.view {{.*}} to memref<192x80xi8, #gpu.address_space<workgroup>>
// CHECK:           %[[VW:.*]] = memref.view {{.*}} to memref<192x20xi32, #gpu.address_space<workgroup>>
// Prologue: two tiles in flight, 16-byte copies bypassing L1.
// CHECK:           nvgpu.device_async_copy {{.*}}, %[[KS]][{{.*}}], 16 {bypassL1}
// CHECK:           nvgpu.device_async_copy {{.*}}, %[[VS]][{{.*}}], 16 {bypassL1}
// CHECK:           nvgpu.device_async_create_group
// The tile loop: issue tile n + 2, wait for tile n, then the warp reads it.
// CHECK:           scf.for
// CHECK:             nvgpu.device_async_copy
// CHECK:             nvgpu.device_async_wait %{{.*}} {numGroups = 2 : i32}
// CHECK-NEXT:        nvvm.bar.warp.sync
// The next tile's scales (one per key and 32-channel group) are loaded
// while this one is computed.
// CHECK:             scf.if {{.*}} -> (vector<2xf16>, vector<2xf16>, vector<2xf16>, vector<2xf16>)
// K: a lane's quarter of rows g and g + 8, one 16-byte load each, decoded
// with lop3 ((w & 0x000F000F) ^ (0x64006400 ^ 0x00080008)) into f16x2
// (1024 + code) - 1032, the high nibbles with fma(x, 1/16, -72).
// CHECK:             vector.load %[[KW]][{{.*}}] {alignment = 16 : i64} : memref<192x20xi32, #gpu.address_space<workgroup>>, vector<4xi32>
// CHECK:             llvm.inline_asm "lop3.b32 $0, $1, $2, $3, 0x6a;", "=r,r,r,r" %{{.*}}, %c983055_i32, %c1678271496_i32
// CHECK:             arith.subf %{{.*}}, %cst{{.*}} : vector<2xf16>
// CHECK:             llvm.inline_asm "lop3.b32 $0, $1, $2, $3, 0x6a;", "=r,r,r,r" %{{.*}}, %c15728880_i32, %c1686135936_i32
// CHECK:             llvm.intr.fma
// CHECK:             vector.load %[[KW]]
// The group scale per pair, then S^T = K Q^T over 8 k steps.
// CHECK:             arith.mulf %{{.*}}, %{{.*}} : vector<2xf16>
// CHECK-COUNT-8:     nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// Online softmax over the 8 lanes holding a query row (rows 2t, 2t + 1).
// CHECK:             gpu.shuffle  xor %{{.*}}, %c4_i32, %c32_i32
// CHECK:             gpu.shuffle  xor %{{.*}}, %c8_i32, %c32_i32
// CHECK:             gpu.shuffle  xor %{{.*}}, %c16_i32, %c32_i32
// CHECK:             llvm.call_intrinsic "llvm.nvvm.ex2.approx.f32"
// P^T by movmatrix.
// CHECK:             llvm.inline_asm has_side_effects "movmatrix.sync.aligned.m8n8.trans.b16 $0, $1;"
// CHECK:             llvm.inline_asm has_side_effects "movmatrix.sync.aligned.m8n8.trans.b16 $0, $1;"
// O^T is rescaled only when some lane's row maximum moved.
// CHECK:             %[[ANY:.*]] = nvvm.vote.sync any %c-1_i32, %{{.*}} -> i1
// CHECK:             scf.if %[[ANY]] -> (vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>)
// CHECK-COUNT-8:       arith.mulf %{{.*}}, %{{.*}} : vector<2x2xf32>
// V: the lane's eighth of rows 2t, 2t + 1, 2t + 8, 2t + 9; prmt pairs the
// same byte of two keys (0x5410), lop3 decodes them as (key a, key b).
// CHECK:             vector.load %[[VW]][{{.*}}] {alignment = 8 : i64} : memref<192x20xi32, #gpu.address_space<workgroup>>, vector<2xi32>
// CHECK:             nvvm.prmt <default> %c21520_i32
// CHECK:             llvm.inline_asm "lop3.b32
// CHECK:             nvvm.prmt <default> %c30258_i32
// CHECK-COUNT-8:     nvgpu.mma.sync
// CHECK:             nvvm.bar.warp.sync
// CHECK:             scf.yield
// Epilogue: the warps' states merged through shared memory; the split's
// partial output and log2-sum-exp to scratch.
// CHECK:           nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// CHECK:           gpu.barrier
// CHECK:           gpu.barrier
// CHECK:           scf.for
// CHECK:             llvm.call_intrinsic "llvm.nvvm.lg2.approx.f"
// CHECK:           gpu.terminator
// The cost model's plan and, the shape being static, its prediction; the
// schedule used (the cost model's warps, stages and shared memory).
// CHECK:         } {kvq.decode_plan = {batch_heads = 64 : i64, {{.*}}chip = "sm_90", {{.*}}ctas = 512 : i64, ctas_per_sm = 4 : i64, {{.*}}keys = 32768 : i64, {{.*}}sms = 132 : i64, splits = 8 : i64, stages = 3 : i64, tile_keys = 16 : i64, warps = 4 : i64{{.*}}}, kvq.kernel_schedule = #kvq.schedule<gpu, block_kv = 64, split_kv = 0, warps = 4, stages = 3, target_ctas = 264, shared_memory = 34816>}
// The combine kernel: one CTA per (query row, KV head).
// CHECK:         gpu.launch async {{.*}} blocks({{.*}}) in ({{.*}} = %c4, {{.*}} = %c64, {{.*}} = %c1) threads({{.*}}) in ({{.*}} = %c128,
// CHECK:         gpu.dealloc async
// CHECK:         gpu.dealloc async
// CHECK:         gpu.wait [

// With split-kv=1 the decode kernel writes the output: no scratch, no
// combine kernel; warps and stages as given.
// SPLIT1-LABEL: func.func @decode_i4
// SPLIT1-NOT:     gpu.alloc
// SPLIT1:         gpu.launch async {{.*}} threads({{.*}}) in ({{.*}} = %c64,
// SPLIT1:           memref.view {{.*}} to memref<128x80xi8
// SPLIT1:           nvgpu.device_async_wait %{{.*}} {numGroups = 3 : i32}
// SPLIT1:           memref.store {{.*}}, %alloc[
// SPLIT1:         kvq.decode_plan = {{{.*}}splits = 1 : i64, stages = 4 : i64{{.*}}warps = 2 : i64
// SPLIT1-NOT:     gpu.launch
// SPLIT1:         gpu.wait [

// kernel=prefill keeps the flash kernel for decode-shaped ops.
// PREFILL-LABEL: func.func @decode_i4
// PREFILL-NOT:   kvq.decode_plan
// PREFILL:       nvgpu.mma.sync
// PREFILL-NOT:   kvq.decode_plan
// PREFILL-LABEL: func.func @decode_f16
func.func @decode_i4(%q: tensor<8x32x1x128xf16>, %kc: tensor<8x8x32768x64xi8>, %ks: tensor<8x8x32768x4xf16>,
                     %vc: tensor<8x8x32768x64xi8>, %vs: tensor<8x8x32768x4xf16>) -> tensor<8x32x1x128xf16> {
  %k = kvq.unpack %kc : tensor<8x8x32768x64xi8> -> tensor<8x8x32768x128xi4>
  %v = kvq.unpack %vc : tensor<8x8x32768x64xi8> -> tensor<8x8x32768x128xi4>
  %o = kvq.attention q(%q : tensor<8x32x1x128xf16>)
      k(%k : tensor<8x8x32768x128xi4>, #kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>, scale %ks : tensor<8x8x32768x4xf16>)
      v(%v : tensor<8x8x32768x128xi4>, #kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>, scale %vs : tensor<8x8x32768x4xf16>)
      -> tensor<8x32x1x128xf16>
  return %o : tensor<8x32x1x128xf16>
}

// fp16 K / V: the words are the fragments (no decoding); V pairs keys
// with prmt. The split count is computed on the host from the batch and the
// length: one wave of 3 CTAs per SM (132 x 3 = 396), at least 2 stages' worth
// of tiles per warp (4 warps x 2 = 8).
// CHECK-LABEL: func.func @decode_f16
// CHECK:         %[[TILES:.*]] = arith.ceildivui %{{.*}}, %c16 : index
// CHECK:         arith.divui %c396, %{{.*}} : index
// CHECK:         arith.divui %[[TILES]], %c8 : index
// CHECK:         gpu.launch async
// CHECK-NOT:       llvm.inline_asm "lop3
// CHECK:           nvgpu.mma.sync
// CHECK:           nvvm.prmt <default> %c21520_i32
// CHECK:           nvvm.prmt <default> %c30258_i32
// CHECK:           nvgpu.mma.sync
// CHECK:         kvq.decode_plan = {{{.*}}ctas_per_sm = 3 : i64, {{.*}}stages = 2 : i64
func.func @decode_f16(%q: tensor<?x32x1x128xf16>, %k: tensor<?x8x?x128xf16>, %v: tensor<?x8x?x128xf16>) -> tensor<?x32x1x128xf16> {
  %o = kvq.attention q(%q : tensor<?x32x1x128xf16>) k(%k : tensor<?x8x?x128xf16>) v(%v : tensor<?x8x?x128xf16>) -> tensor<?x32x1x128xf16>
  return %o : tensor<?x32x1x128xf16>
}

// INT8 per token: K codes to f16 with prmt against 0x64 bytes (signed
// codes offset by 128 first, 0x80808080), their scales applied to the
// scores after the mma; V (asymmetric) scaled and shifted per pair of keys.
// CHECK-LABEL: func.func @decode_int8_token
// CHECK:         gpu.launch async
// CHECK:           arith.xori %{{.*}}, %c-2139062144_i32 : i32
// CHECK:           nvvm.prmt <default> %c20800_i32, %{{.*}}, %c1684300900_i32
// CHECK:           nvgpu.mma.sync
// CHECK:           %[[S:.*]] = vector.extract %{{.*}}[0, 0] : f32 from vector<2x2xf32>
// s + (s - s): NaN for a non-finite raw score (an f16 overflow).
// CHECK:           %[[D:.*]] = arith.subf %[[S]], %[[S]] : f32
// CHECK:           %[[F:.*]] = arith.addf %[[S]], %[[D]] : f32
// CHECK:           arith.mulf %[[F]], %{{.*}} : f32
// CHECK:           llvm.inline_asm "lop3.b32 $0, $1, $2, $3, 0x6a;", "=r,r,r,r" %{{.*}}, %c16711935_i32
// CHECK:           llvm.intr.fma(%{{.*}}, %{{.*}}, %{{.*}}) : (vector<2xf16>, vector<2xf16>, vector<2xf16>) -> vector<2xf16>
func.func @decode_int8_token(%q: tensor<?x32x1x128xf16>, %kc: tensor<?x8x?x128xi8>, %ks: tensor<?x8x?x1xf16>,
                             %vc: tensor<?x8x?x128xi8>, %vs: tensor<?x8x?x1xf16>, %vz: tensor<?x8x?x1xf16>) -> tensor<?x32x1x128xf16> {
  %o = kvq.attention q(%q : tensor<?x32x1x128xf16>)
      k(%kc : tensor<?x8x?x128xi8>, #kvq.quant<i8, symmetric, token, scale = f16>, scale %ks : tensor<?x8x?x1xf16>)
      v(%vc : tensor<?x8x?x128xi8>, #kvq.quant<i8, asymmetric, token, scale = f16>, scale %vs : tensor<?x8x?x1xf16>, zero_point %vz : tensor<?x8x?x1xf16>)
      -> tensor<?x32x1x128xf16>
  return %o : tensor<?x32x1x128xf16>
}

// FP8 e4m3: the hardware conversion from sm_89 (cvt.rn.f16x2.e4m3x2); on
// sm_80 the rows are decoded by the warp into f16 stage rows instead.
// CHECK-LABEL: func.func @decode_fp8
// CHECK:         nvvm.convert.f8x2.to.f16x2 %{{.*}} : vector<2xi8>(f8E4M3FN) -> vector<2xf16>
// SM80-LABEL: func.func @decode_fp8
// SM80-NOT:     nvvm.convert.f8x2.to.f16x2
// SM80:         vector.store %{{.*}} {alignment = 16 : i64} : memref<{{.*}}xf16, #gpu.address_space<workgroup>>, vector<8xf16>
// SM80-NOT:     nvvm.convert.f8x2.to.f16x2
// SM80-LABEL: func.func @decode_kivi2
func.func @decode_fp8(%q: tensor<?x32x1x128xf16>, %kc: tensor<?x8x?x128xf8E4M3FN>, %ks: tensor<?x8x?x1xf16>,
                      %vc: tensor<?x8x?x128xf8E4M3FN>, %vs: tensor<?x8x?x1xf16>) -> tensor<?x32x1x128xf16> {
  %o = kvq.attention q(%q : tensor<?x32x1x128xf16>)
      k(%kc : tensor<?x8x?x128xf8E4M3FN>, #kvq.quant<f8E4M3FN, symmetric, token, scale = f16>, scale %ks : tensor<?x8x?x1xf16>)
      v(%vc : tensor<?x8x?x128xf8E4M3FN>, #kvq.quant<f8E4M3FN, symmetric, token, scale = f16>, scale %vs : tensor<?x8x?x1xf16>)
      -> tensor<?x32x1x128xf16>
  return %o : tensor<?x32x1x128xf16>
}

// KIVI 2-bit: K scales and zero points per channel over 32-key groups
// are folded into Q when a tile enters another group (Q * scale as the B
// fragments, the zero points' scores by mma as the initial scores); V's per
// token groups of 32 channels are applied per pair of keys.
// CHECK-LABEL: func.func @decode_kivi2
// CHECK:         scf.for
// CHECK:           scf.if %{{.*}} -> (vector<2x2xf16>, vector<2x2xf16>, vector<2x2xf16>, vector<2x2xf16>, vector<2x2xf16>, vector<2x2xf16>, vector<2x2xf16>, vector<2x2xf16>, f32, f32)
// CHECK-COUNT-8:     nvgpu.mma.sync
// CHECK:           } else {
// 2-bit fields: lop3 masks 0x00030003 << 2f.
// CHECK:           llvm.inline_asm "lop3.b32 $0, $1, $2, $3, 0x6a;", "=r,r,r,r" %{{.*}}, %c196611_i32
// CHECK:           llvm.inline_asm "lop3.b32 $0, $1, $2, $3, 0x6a;", "=r,r,r,r" %{{.*}}, %c786444_i32
func.func @decode_kivi2(%q: tensor<?x32x1x128xf16>, %kc: tensor<?x8x?x32xi8>, %ks: tensor<?x8x?x128xf16>, %kz: tensor<?x8x?x128xf16>,
                        %vc: tensor<?x8x?x32xi8>, %vs: tensor<?x8x?x4xf16>, %vz: tensor<?x8x?x4xf16>) -> tensor<?x32x1x128xf16> {
  %k = kvq.unpack %kc : tensor<?x8x?x32xi8> -> tensor<?x8x?x128xi2>
  %v = kvq.unpack %vc : tensor<?x8x?x32xi8> -> tensor<?x8x?x128xi2>
  %o = kvq.attention q(%q : tensor<?x32x1x128xf16>)
      k(%k : tensor<?x8x?x128xi2>, #kvq.quant<i2, asymmetric, group(axis = 2, size = 32), scale = f16>, scale %ks : tensor<?x8x?x128xf16>, zero_point %kz : tensor<?x8x?x128xf16>)
      v(%v : tensor<?x8x?x128xi2>, #kvq.quant<i2, asymmetric, group(axis = 3, size = 32), scale = f16>, scale %vs : tensor<?x8x?x4xf16>, zero_point %vz : tensor<?x8x?x4xf16>)
      -> tensor<?x32x1x128xf16>
  return %o : tensor<?x32x1x128xf16>
}

// A KIVI window (tensor.concat of a dequantization and fp16 tokens): the
// decoder runs in the kernel; lanes 0-15 decode a tile's 16 K rows into f16
// stage rows (chunks of 8 channels), V arrives by cp.async.
// CHECK-LABEL: func.func @decode_window
// CHECK-NOT:     tensor.concat
// CHECK:         gpu.launch async
// CHECK:           scf.if
// CHECK:             arith.sitofp
// CHECK:             vector.store %{{.*}} {alignment = 16 : i64} : memref<{{[0-9]+}}x72xf16, #gpu.address_space<workgroup>>, vector<8xf16>
// CHECK:           nvgpu.device_async_copy
func.func @decode_window(%q: tensor<1x8x1x64xf16>, %kc: tensor<1x2x?x64xi8>, %ks: tensor<1x2x?x1xf32>, %kw: tensor<1x2x?x64xf16>,
                         %v: tensor<1x2x?x64xf16>) -> tensor<1x8x1x64xf16> {
  %kd = kvq.dequantize #kvq.quant<i8, symmetric, token> %kc, %ks
      : tensor<1x2x?x64xi8>, tensor<1x2x?x1xf32> -> tensor<1x2x?x64xf16>
  %k = tensor.concat dim(2) %kd, %kw : (tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16>) -> tensor<1x2x?x64xf16>
  %o = kvq.attention q(%q : tensor<1x8x1x64xf16>) k(%k : tensor<1x2x?x64xf16>) v(%v : tensor<1x2x?x64xf16>) -> tensor<1x8x1x64xf16>
  return %o : tensor<1x8x1x64xf16>
}
