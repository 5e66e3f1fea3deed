// RUN: kvq-opt %s --split-input-file --kvq-outline-kernels | FileCheck %s

// Two layers of the same ops on different weights (an argument, and a
// constant of more than 64 elements): one function per distinct op, called
// once per layer, the weights as arguments; the zero accumulator and the
// scalar scale are recomputed inside.
// CHECK-LABEL: func.func @two_layers
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>, %[[W0:.*]]: tensor<8x16xf32>, %[[P:.*]]: tensor<16x8xf32>)
// CHECK: %[[W1:.*]] = arith.constant dense<"0x{{.*}}"> : tensor<8x16xf32>
// CHECK: %[[M0:.*]] = call @[[UP:__kvq_op_linalg_matmul[_0-9]*]](%[[X]], %[[W0]]) : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
// CHECK: %[[A0:.*]] = call @[[SCALE:__kvq_op_linalg_generic[_0-9]*]](%[[M0]]) : (tensor<4x16xf32>) -> tensor<4x16xf32>
// CHECK: %[[B0:.*]] = call @[[DOWN:__kvq_op_linalg_matmul[_0-9]*]](%[[A0]], %[[P]])
// CHECK: %[[M1:.*]] = call @[[UP]](%[[B0]], %[[W1]])
// CHECK: %[[A1:.*]] = call @[[SCALE]](%[[M1]])
// CHECK: %[[B1:.*]] = call @[[DOWN]](%[[A1]], %[[P]])
// CHECK: return %[[B1]]
// CHECK-DAG: func.func private @[[UP]](%{{.*}}: tensor<4x8xf32>, %{{.*}}: tensor<8x16xf32>) -> tensor<4x16xf32> attributes {passthrough = ["noinline"]}
// CHECK-DAG: func.func private @[[SCALE]](%{{.*}}: tensor<4x16xf32>) -> tensor<4x16xf32> attributes {passthrough = ["noinline"]}
// CHECK-DAG: func.func private @[[DOWN]](%{{.*}}: tensor<4x16xf32>, %{{.*}}: tensor<16x8xf32>) -> tensor<4x8xf32> attributes {passthrough = ["noinline"]}
// CHECK-DAG: linalg.fill
// CHECK-DAG: arith.constant 5.000000e-01 : f32
#id = affine_map<(i, j) -> (i, j)>
func.func @two_layers(%x: tensor<4x8xf32>, %w0: tensor<8x16xf32>, %p: tensor<16x8xf32>) -> tensor<4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %w1 = arith.constant dense<"0x0000803F0000A03F0000E0BF00000000000000400000E03F0000803F0000803E0000E03F0000403F000000BF00000040000080BF0000803E000080BF0000A0BF00000000000080BF0000803E0000A0BF0000C0BF0000003F0000E03F0000A0BF0000403F0000A03F0000003F000000BF0000E03F0000C03F00000040000000000000E0BF000000C00000C0BF0000803F000000C00000E03F0000003F000080BE0000003F0000C0BF000000BF000080BE000080BE000080BF0000C03F0000C0BF0000C0BF0000003F000000400000E03F0000A0BF0000803E0000803E0000A0BF0000003F000000BF0000803E0000C03F0000C0BF0000803F0000003F000080BE0000803E000040BF000000BF000040BF0000E0BF000000000000E03F0000C0BF0000C0BF000080BF000080BF0000E0BF0000C0BF0000803F000000400000000000000040000080BE000000BF0000A03F000000000000C03F0000E03F0000403F0000C0BF0000003F0000A0BF0000E03F0000003F000000BF000080BE000000C0000000000000A0BF000080BE0000403F000040BF0000003F0000A03F0000E0BF0000A0BF000080BF000080BE0000E0BF0000C0BF000000C00000A0BF000000BF0000A0BF0000803F0000C0BF0000403F0000A0BF0000E0BF000000C0000000BF000040BF0000A0BF0000E03F000000BF0000E0BF000000C00000A03F0000A0BF"> : tensor<8x16xf32>
  %e = tensor.empty() : tensor<4x16xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  %e8 = tensor.empty() : tensor<4x8xf32>
  %z8 = linalg.fill ins(%zero : f32) outs(%e8 : tensor<4x8xf32>) -> tensor<4x8xf32>
  %m0 = linalg.matmul ins(%x, %w0 : tensor<4x8xf32>, tensor<8x16xf32>) outs(%z : tensor<4x16xf32>) -> tensor<4x16xf32>
  %a0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%m0 : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%v: f32, %o: f32):
    %r = arith.mulf %v, %half : f32
    linalg.yield %r : f32
  } -> tensor<4x16xf32>
  %b0 = linalg.matmul ins(%a0, %p : tensor<4x16xf32>, tensor<16x8xf32>) outs(%z8 : tensor<4x8xf32>) -> tensor<4x8xf32>
  %m1 = linalg.matmul ins(%b0, %w1 : tensor<4x8xf32>, tensor<8x16xf32>) outs(%z : tensor<4x16xf32>) -> tensor<4x16xf32>
  %a1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%m1 : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%v: f32, %o: f32):
    %r = arith.mulf %v, %half : f32
    linalg.yield %r : f32
  } -> tensor<4x16xf32>
  %b1 = linalg.matmul ins(%a1, %p : tensor<4x16xf32>, tensor<16x8xf32>) outs(%z8 : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %b1 : tensor<4x8xf32>
}

// -----

// Ops that differ (another scale) get functions of their own.
// CHECK-LABEL: func.func @different_scales
// CHECK: call @[[HALF:__kvq_op_linalg_generic[_0-9]*]](
// CHECK: call @[[QUARTER:__kvq_op_linalg_generic[_0-9]*]](
// CHECK-DAG: func.func private @[[HALF]](
// CHECK-DAG: func.func private @[[QUARTER]](
// CHECK-DAG: arith.constant 5.000000e-01 : f32
// CHECK-DAG: arith.constant 2.500000e-01 : f32
#id = affine_map<(i, j) -> (i, j)>
func.func @different_scales(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %half = arith.constant 0.5 : f32
  %quarter = arith.constant 0.25 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %a = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %r = arith.mulf %v, %half : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %b = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%a : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %r = arith.mulf %v, %quarter : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %b : tensor<4x8xf32>
}

// -----

// An i1 tensor (a causal mask's compare) does not cross a call: its
// producer is computed in its consumer's function. A dynamically shaped
// result stays where it is (bufferization could not make it an
// out-parameter).
// CHECK-LABEL: func.func @narrow_and_dynamic
// CHECK-SAME: (%[[I:.*]]: tensor<5xi64>, %[[D:.*]]: tensor<?xf32>)
// CHECK: %[[M:.*]] = call @__kvq_op_linalg_generic(%[[I]]) : (tensor<5xi64>) -> tensor<5x5xf32>
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} ins(%[[D]] : tensor<?xf32>)
// CHECK: return %[[M]], %[[Y]]
// CHECK: func.func private @__kvq_op_linalg_generic(%{{.*}}: tensor<5xi64>) -> tensor<5x5xf32>
// CHECK: arith.cmpi sle
// CHECK: -> tensor<5x5xi1>
// CHECK: arith.select
// CHECK-NOT: func.func
func.func @narrow_and_dynamic(%i: tensor<5xi64>, %d: tensor<?xf32>) -> (tensor<5x5xf32>, tensor<?xf32>) {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %eb = tensor.empty() : tensor<5x5xi1>
  %c = linalg.generic {indexing_maps = [affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%i, %i : tensor<5xi64>, tensor<5xi64>) outs(%eb : tensor<5x5xi1>) {
  ^bb0(%a: i64, %b: i64, %o: i1):
    %r = arith.cmpi sle, %a, %b : i64
    linalg.yield %r : i1
  } -> tensor<5x5xi1>
  %e = tensor.empty() : tensor<5x5xf32>
  %m = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%c : tensor<5x5xi1>) outs(%e : tensor<5x5xf32>) {
  ^bb0(%a: i1, %o: f32):
    %r = arith.select %a, %zero, %ninf : f32
    linalg.yield %r : f32
  } -> tensor<5x5xf32>
  %c0 = arith.constant 0 : index
  %n = tensor.dim %d, %c0 : tensor<?xf32>
  %ed = tensor.empty(%n) : tensor<?xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]} ins(%d : tensor<?xf32>) outs(%ed : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %a, %a : f32
    linalg.yield %r : f32
  } -> tensor<?xf32>
  return %m, %y : tensor<5x5xf32>, tensor<?xf32>
}

// -----

// kvq ops are outlined like linalg ops.
// CHECK-LABEL: func.func @attention
// CHECK: call @__kvq_op_kvq_attention(
// CHECK: func.func private @__kvq_op_kvq_attention(
// CHECK: kvq.attention
func.func @attention(%q: tensor<1x4x3x8xf32>, %k: tensor<1x2x5x8xf32>, %v: tensor<1x2x5x8xf32>) -> tensor<1x4x3x8xf32> {
  %o = kvq.attention q(%q : tensor<1x4x3x8xf32>) k(%k : tensor<1x2x5x8xf32>) v(%v : tensor<1x2x5x8xf32>) -> tensor<1x4x3x8xf32>
  return %o : tensor<1x4x3x8xf32>
}

// -----

// A KIVI-style cache (INT4 codes dequantized and concatenated with the
// residual window) stays with its attention, which decodes it in its loop.
// CHECK-LABEL: func.func @kivi
// CHECK-NEXT: call @__kvq_op_kvq_attention(
// CHECK-NEXT: return
// CHECK: func.func private @__kvq_op_kvq_attention(
// CHECK: kvq.unpack
// CHECK: kvq.dequantize
// CHECK: tensor.concat
// CHECK: kvq.attention
func.func @kivi(%q: tensor<1x4x1x64xf32>, %kc: tensor<1x2x32x32xi8>, %ks: tensor<1x2x1x64xf16>, %kr: tensor<1x2x8x64xf16>) -> tensor<1x4x1x64xf32> {
  %c = kvq.unpack %kc : tensor<1x2x32x32xi8> -> tensor<1x2x32x64xi4>
  %kd = kvq.dequantize #kvq.quant<i4, symmetric, group(axis = 2, size = 32), scale = f16> %c, %ks
      : tensor<1x2x32x64xi4>, tensor<1x2x1x64xf16> -> tensor<1x2x32x64xf16>
  %k = tensor.concat dim(2) %kd, %kr : (tensor<1x2x32x64xf16>, tensor<1x2x8x64xf16>) -> tensor<1x2x40x64xf16>
  %o = kvq.attention q(%q : tensor<1x4x1x64xf32>) k(%k : tensor<1x2x40x64xf16>) v(%k : tensor<1x2x40x64xf16>) -> tensor<1x4x1x64xf32>
  return %o : tensor<1x4x1x64xf32>
}
