// RUN: kvq-opt %s --kvq-cpu-pipeline | FileCheck %s
// RUN: kvq-opt %s --kvq-cpu-pipeline="block-kv=32 block-rows=2 split-kv=2 vector-width=8" \
// RUN:   | FileCheck %s
// RUN: kvq-opt %s --kvq-cpu-pipeline | FileCheck %s --check-prefix=LLVM

// Everything is in the LLVM dialect afterwards.
// LLVM-NOT: {{[ "](linalg|tensor|memref|bufferization|scf|cf|affine|vector|math|arith|func|kvq)\.[a-z_]+}}

// Tensor results become caller-allocated out-parameters: three memref
// descriptors of rank 2 (7 values each) and no result.
// CHECK-LABEL: llvm.func @matmul(
// CHECK-SAME:    %arg20: i64) {
// CHECK-NOT:     llvm.call @malloc
// CHECK:         llvm.return{{$}}
func.func @matmul(%a: tensor<?x64xf32>, %b: tensor<64x32xf32>) -> tensor<?x32xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %a, %c0 : tensor<?x64xf32>
  %empty = tensor.empty(%m) : tensor<?x32xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<?x32xf32>) -> tensor<?x32xf32>
  %c = linalg.matmul ins(%a, %b : tensor<?x64xf32>, tensor<64x32xf32>)
                     outs(%init : tensor<?x32xf32>) -> tensor<?x32xf32>
  return %c : tensor<?x32xf32>
}

// math.exp in a linalg.generic, through a private helper (inlined), then
// outlined with the generic into a function of its own
// (kvq-outline-kernels; checked at the end of the module).
// CHECK-LABEL: llvm.func @exp_rows(
// CHECK:         llvm.call @__kvq_op_linalg_generic(
// CHECK:         llvm.return{{$}}
func.func @exp_rows(%x: tensor<37x131xf32>) -> tensor<37x131xf32> {
  %y = call @exp_impl(%x) : (tensor<37x131xf32>) -> tensor<37x131xf32>
  return %y : tensor<37x131xf32>
}
func.func private @exp_impl(%x: tensor<37x131xf32>) -> tensor<37x131xf32> {
  %e = tensor.empty() : tensor<37x131xf32>
  %y = linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<37x131xf32>) outs(%e : tensor<37x131xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<37x131xf32>
  return %y : tensor<37x131xf32>
}

// Vector code: masked transfers, vector math and a reduction.
// CHECK-LABEL: llvm.func @vector_sum(
// CHECK:         llvm.intr.masked.load
// CHECK-NOT:     llvm.intr.exp
// CHECK:         llvm.intr.fma{{.*}}vector<16xf32>
// CHECK:         llvm.intr.vector.reduce.fadd
func.func @vector_sum(%x: memref<?xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c16 = arith.constant 16 : index
  %n = memref.dim %x, %c0 : memref<?xf32>
  %pad = arith.constant 0.0 : f32
  %zero = arith.constant dense<0.0> : vector<16xf32>
  %acc = scf.for %i = %c0 to %n step %c16 iter_args(%a = %zero) -> vector<16xf32> {
    %rest = arith.subi %n, %i : index
    %mask = vector.create_mask %rest : vector<16xi1>
    %v = vector.transfer_read %x[%i], %pad, %mask : memref<?xf32>, vector<16xf32>
    %e = math.exp %v : vector<16xf32>
    %m = arith.select %mask, %e, %zero : vector<16xi1>, vector<16xf32>
    %s = arith.addf %a, %m : vector<16xf32>
    scf.yield %s : vector<16xf32>
  }
  %r = vector.reduction <add>, %acc : vector<16xf32> into f32
  return %r : f32
}

// i4 codes cross the function boundary packed, two per byte: the argument
// is a rank-2 descriptor (7 values) of bytes, then the f32 output.
// CHECK-LABEL: llvm.func @dequantize_i4(
// CHECK-SAME:    %arg0: !llvm.ptr, %arg1: !llvm.ptr, %arg2: i64, %arg3: i64, %arg4: i64, %arg5: i64, %arg6: i64,
// CHECK-SAME:    %arg13: i64, %arg14: !llvm.ptr
// CHECK-SAME:    %arg20: i64) {
// CHECK:         llvm.call @__kvq_op_kvq_dequantize(
// CHECK:         llvm.return{{$}}

// The outlined ops: exp is a vectorizable polynomial (kvq-approximate-math),
// not a libm call; the dequantization unpacks the bytes itself (i4 tensors
// do not cross calls).
// CHECK-LABEL: llvm.func @__kvq_op_linalg_generic(
// CHECK-NOT:     llvm.intr.exp
// CHECK:         llvm.intr.fma
// CHECK:         llvm.return{{$}}
// CHECK-LABEL: llvm.func @__kvq_op_kvq_dequantize(
// CHECK:         llvm.load %{{.*}} : !llvm.ptr -> i8
// CHECK:         llvm.return{{$}}
func.func @dequantize_i4(%codes: tensor<4x64xi4>, %scale: tensor<4x1xf32>) -> tensor<4x64xf32> {
  %x = kvq.dequantize #kvq.quant<i4, symmetric, token> %codes, %scale
      : tensor<4x64xi4>, tensor<4x1xf32> -> tensor<4x64xf32>
  return %x : tensor<4x64xf32>
}
