// RUN: kvq-opt %s --kvq-gpu-attention="split-kv=1 kernel=prefill" --canonicalize --cse | FileCheck %s
// RUN: kvq-opt %s --kvq-gpu-attention=kernel=prefill --canonicalize --cse | FileCheck %s --check-prefix=COMBINE
// RUN: env -u CUDA_HOME kvq-opt %s --kvq-nvvm-pipeline="format=isa chip=sm_90 split-kv=1 kernel=prefill" \
// RUN:   | FileCheck %s --check-prefix=PTX

// The numerical rules of docs/Numerics.md in the tensor-core kernel.
//
// * f16 overflow: with inputs that may lie beyond f16's range (here f32),
//   the block loop runs with f16 operands, then every thread checks its row
//   maxima and sums (NaN or +inf) and accumulators (v - v is NaN), the CTA
//   ORs the checks in one barrier (bar.red.or) and, if any is set, runs the
//   block loop again with bf16 operands (nvvm.mma.sync ... bf16), its
//   indices derived from an opaque copy of the thread id. f16 inputs cannot
//   overflow: no second pass.
// * NaN: a row whose softmax sum is NaN is normalized by 1 / NaN (the
//   "has mass" test is sum != 0, unordered), not zeroed; the split-KV
//   combine keeps a NaN split (its weight sum != 0, unordered).

// CHECK-LABEL: func.func @f32_inputs
// CHECK:         gpu.launch
// First pass: f16 operands.
// CHECK:           %[[PASS1:.*]]:8 = scf.for
// CHECK:             nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>)
// CHECK:             gpu.barrier
// Row sums: NaN or +inf.
// CHECK:           arith.cmpf uge, %[[PASS1]]#2, %[[INF:.*]] : f32
// CHECK:           arith.cmpf uge, %[[PASS1]]#3, %[[INF]] : f32
// Accumulators: v - v is NaN.
// CHECK:           %[[D:.*]] = arith.subf %[[PASS1]]#4, %[[PASS1]]#4 : vector<2x2xf32>
// CHECK:           %[[D0:.*]] = vector.extract %[[D]][0, 0]
// CHECK:           arith.cmpf uno, %[[D0]], %[[D0]] : f32
// CHECK:           %[[ANY:.*]] = nvvm.barrier #nvvm.reduction<or> %{{.*}} -> i32
// CHECK:           %[[RETRY:.*]] = arith.cmpi ne, %[[ANY]], %{{.*}} : i32
// CHECK:           %[[OUT:.*]]:6 = scf.if %[[RETRY]]
// Second pass: bf16 operands, indices from an opaque thread id.
// CHECK:             llvm.inline_asm "mov.b64 $0, $1;", "=l,l"
// CHECK:             scf.for
// CHECK:               llvm.bitcast %{{.*}} : vector<2xbf16> to i32
// CHECK:               nvvm.mma.sync {{.*}} multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>
// CHECK:               gpu.barrier
// CHECK:           } else {
// CHECK-NEXT:        scf.yield %[[PASS1]]#2, %[[PASS1]]#3, %[[PASS1]]#4, %[[PASS1]]#5, %[[PASS1]]#6, %[[PASS1]]#7
// The epilogue: NaN sums stay NaN.
// CHECK:           gpu.shuffle xor %[[OUT]]#0
// CHECK:           %[[MASS:.*]] = arith.cmpf une, %{{.*}}, %[[ZERO:.*]] : f32
// CHECK-NEXT:      %[[INV:.*]] = arith.divf
// CHECK-NEXT:      arith.select %[[MASS]], %[[INV]], %[[ZERO]] : f32
// CHECK:           gpu.terminator
func.func @f32_inputs(%q: tensor<1x4x?x32xf32>, %k: tensor<1x2x?x32xf32>, %v: tensor<1x2x?x32xf32>)
    -> tensor<1x4x?x32xf32> {
  %o = kvq.attention q(%q : tensor<1x4x?x32xf32>) k(%k : tensor<1x2x?x32xf32>) v(%v : tensor<1x2x?x32xf32>)
      {causal} -> tensor<1x4x?x32xf32>
  return %o : tensor<1x4x?x32xf32>
}

// CHECK-LABEL: func.func @f16_inputs
// CHECK-NOT:     nvvm.barrier
// CHECK-NOT:     nvvm.mma.sync
// CHECK:         arith.cmpf une
// CHECK-NOT:     nvvm.mma.sync
// CHECK:         return
func.func @f16_inputs(%q: tensor<1x4x?x32xf16>, %k: tensor<1x2x?x32xf16>, %v: tensor<1x2x?x32xf16>)
    -> tensor<1x4x?x32xf16> {
  %o = kvq.attention q(%q : tensor<1x4x?x32xf16>) k(%k : tensor<1x2x?x32xf16>) v(%v : tensor<1x2x?x32xf16>)
      -> tensor<1x4x?x32xf16>
  return %o : tensor<1x4x?x32xf16>
}

// A decoded K (a KIVI cache: codes and a full-precision window) is staged
// in shared memory as f16 in the first pass, as bf16 in the same bytes in
// the second.
// CHECK-LABEL: func.func @kivi_window
// CHECK:         %[[SMEM:.*]] = gpu.dynamic_shared_memory
// CHECK:         memref.view %[[SMEM]][%c0][] : {{.*}} to memref<2x64x40xf16, #gpu.address_space<workgroup>>
// CHECK:         vector.store %{{.*}} : memref<2x64x40xf16, #gpu.address_space<workgroup>>, vector<8xf16>
// CHECK:         nvvm.barrier #nvvm.reduction<or>
// CHECK:         scf.if
// CHECK:           %[[BF:.*]] = memref.view %[[SMEM]][%c0][] : {{.*}} to memref<2x64x40xbf16, #gpu.address_space<workgroup>>
// CHECK:           vector.store %{{.*}}, %[[BF]]{{.*}} : memref<2x64x40xbf16, #gpu.address_space<workgroup>>, vector<8xbf16>
// CHECK:           memref.load %[[BF]]
// CHECK:           nvvm.mma.sync
func.func @kivi_window(%q: tensor<1x4x1x32xf16>, %kc: tensor<1x2x?x32xi8>, %ks: tensor<1x2x?x1xf16>,
                       %kw: tensor<1x2x?x32xf16>, %v: tensor<1x2x?x32xf16>) -> tensor<1x4x1x32xf16> {
  %kd = kvq.dequantize #kvq.quant<i8, symmetric, token, scale = f16> %kc, %ks
      : tensor<1x2x?x32xi8>, tensor<1x2x?x1xf16> -> tensor<1x2x?x32xf16>
  %k = tensor.concat dim(2) %kd, %kw : (tensor<1x2x?x32xf16>, tensor<1x2x?x32xf16>) -> tensor<1x2x?x32xf16>
  %o = kvq.attention q(%q : tensor<1x4x1x32xf16>) k(%k : tensor<1x2x?x32xf16>) v(%v : tensor<1x2x?x32xf16>)
      -> tensor<1x4x1x32xf16>
  return %o : tensor<1x4x1x32xf16>
}

// The split-KV combine: a NaN split makes the row NaN.
// COMBINE-LABEL: func.func @f32_inputs
// COMBINE:         gpu.launch
// COMBINE:         gpu.launch
// COMBINE:           %[[DEN:.*]]:2 = scf.for
// COMBINE:           %[[KEEP:.*]] = arith.cmpf une, %[[DEN]]#1, %{{.*}} : f32
// COMBINE:           arith.select %[[KEEP]]

// The PTX has both mma forms, the CTA-wide vote, the NaN-keeping tests, and no
// libdevice call (PTX for JIT needs none).
// PTX-LABEL: gpu.binary @f32_inputs_kernel
// PTX-SAME:    mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// PTX-SAME:    bar.red.or.pred
// PTX-SAME:    mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX-SAME:    setp.neu.f32
// PTX-LABEL: gpu.binary @f16_inputs_kernel
// PTX-NOT:     bf16
// PTX-NOT:     bar.red
// PTX-SAME:    mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// PTX-NOT:     __nv_
