// RUN: kvq-opt %s -split-input-file --convert-kvq-to-linalg | FileCheck %s
// The result bufferizes and lowers to LLVM; sub-byte tensors cross function
// boundaries as packed bytes (kvq-legalize-abi).
// RUN: kvq-opt %s -split-input-file -kvq-legalize-abi --convert-kvq-to-linalg \
// RUN:   -one-shot-bufferize="bufferize-function-boundaries" \
// RUN:   -convert-linalg-to-loops -expand-strided-metadata -lower-affine \
// RUN:   -convert-scf-to-cf -convert-to-llvm -reconcile-unrealized-casts \
// RUN:   | FileCheck %s --check-prefix=LLVM

// INT8 per token: a reduction of max |x| over each row's finite values, the
// scale R(amax / 127) (1 when it is 0), then round-half-away codes.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
// CHECK-LABEL: func @quantize_i8_token
// CHECK-SAME: (%[[X:.*]]: tensor<2x4x16xf32>)
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<2x4x1xf32>)
// CHECK: %[[AMAX:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[X]] : tensor<2x4x16xf32>) outs(%[[INIT]] : tensor<2x4x1xf32>)
// CHECK:   %[[ABS:.*]] = math.absf
// CHECK:   %[[FINITE:.*]] = arith.cmpf olt, %[[ABS]], %{{.*}} : f32
// CHECK:   %[[CAND:.*]] = arith.select %[[FINITE]], %[[ABS]], %{{.*}} : f32
// CHECK:   arith.cmpf ogt, %[[CAND]]
// CHECK: %[[SCALE:.*]] = linalg.generic {{.*}} ins(%[[AMAX]] : tensor<2x4x1xf32>) outs(%{{.*}} : tensor<2x4x1xf32>)
// CHECK:   arith.divf %{{.*}}, %{{.*}} : f32
// CHECK:   %[[IS0:.*]] = arith.cmpf oeq
// CHECK:   arith.select %[[IS0]], %{{.*}}, %{{.*}} : f32
// CHECK: %[[CODES:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[X]], %[[SCALE]] : tensor<2x4x16xf32>, tensor<2x4x1xf32>) outs(%{{.*}} : tensor<2x4x16xi8>)
// CHECK:   %[[V:.*]] = arith.divf
// CHECK:   %[[A:.*]] = math.absf %[[V]]
// CHECK:   %[[H:.*]] = arith.addf %[[A]], %{{.*}} : f32
// CHECK:   %[[F:.*]] = math.floor %[[H]]
// CHECK:   math.copysign %[[F]], %[[V]]
// CHECK:   arith.constant -1.270000e+02 : f32
// CHECK:   arith.constant 1.270000e+02 : f32
// CHECK:   arith.cmpf uno
// CHECK:   arith.fptosi %{{.*}} : f32 to i32
// CHECK:   arith.trunci %{{.*}} : i32 to i8
// CHECK: return %[[CODES]], %[[SCALE]]
// LLVM-LABEL: llvm.func @quantize_i8_token
// LLVM-NOT: kvq.
// LLVM-NOT: unrealized_conversion_cast
func.func @quantize_i8_token(%x: tensor<2x4x16xf32>) -> (tensor<2x4x16xi8>, tensor<2x4x1xf32>) {
  %c, %s = kvq.quantize #kvq.quant<i8, symmetric, token> %x : tensor<2x4x16xf32> -> tensor<2x4x16xi8>, tensor<2x4x1xf32>
  return %c, %s : tensor<2x4x16xi8>, tensor<2x4x1xf32>
}

// -----

// KIVI keys (i4, asymmetric, groups of 32 tokens, f16 scales) with dynamic
// batch and token dimensions: the scale tensor has ceildiv(tokens, 32)
// rows, blocks are found with `floordiv 32`, the statistics are min / max.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[GROUP:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2 floordiv 32, d3)>
// CHECK-LABEL: func @quantize_i4_kivi
// CHECK-SAME: (%[[X:.*]]: tensor<?x8x?x64xf16>)
// CHECK: %[[B:.*]] = tensor.dim %[[X]], %c0
// CHECK: %[[T:.*]] = tensor.dim %[[X]], %c2
// CHECK: %[[G:.*]] = arith.ceildivui %[[T]], %c32
// CHECK-DAG: %[[INF:.*]] = arith.constant 0x7F800000 : f32
// CHECK-DAG: %[[NINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: tensor.empty(%[[B]], %[[G]]) : tensor<?x8x?x64xf32>
// CHECK: %[[LO0:.*]] = linalg.fill ins(%[[INF]] : f32)
// CHECK: %[[HI0:.*]] = linalg.fill ins(%[[NINF]] : f32)
// CHECK: %[[STATS:.*]]:2 = linalg.generic {indexing_maps = [#[[ID]], #[[GROUP]], #[[GROUP]]], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
// CHECK-SAME: ins(%[[X]] : tensor<?x8x?x64xf16>) outs(%[[LO0]], %[[HI0]] : tensor<?x8x?x64xf32>, tensor<?x8x?x64xf32>)
// CHECK:   arith.extf %{{.*}} : f16 to f32
// CHECK: %[[SIDE:.*]]:2 = linalg.generic {{.*}} ins(%[[STATS]]#0, %[[STATS]]#1 : {{.*}}) outs(%{{.*}}, %{{.*}} : tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16>)
// CHECK:   %[[QMAX:.*]] = arith.constant 1.500000e+01 : f32
// CHECK:   arith.cmpf ole
// CHECK:   %[[RANGE:.*]] = arith.subf
// CHECK:   arith.divf %[[RANGE]], %[[QMAX]] : f32
// CHECK:   arith.constant 6.550400e+04 : f32
// CHECK-NOT: arith.truncf
// CHECK:   arith.bitcast %{{.*}} : i16 to f16
// CHECK: %[[CODES:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[GROUP]], #[[GROUP]], #[[ID]]]
// CHECK-SAME: ins(%[[X]], %[[SIDE]]#0, %[[SIDE]]#1 : {{.*}}) outs(%{{.*}} : tensor<?x8x?x64xi4>)
// CHECK:   arith.subf
// CHECK:   arith.divf
// CHECK:   math.floor
// CHECK:   arith.constant 0.000000e+00 : f32
// CHECK:   arith.constant 1.500000e+01 : f32
// CHECK:   arith.trunci %{{.*}} : i32 to i4
// CHECK: return %[[CODES]], %[[SIDE]]#0, %[[SIDE]]#1
// LLVM-LABEL: llvm.func @quantize_i4_kivi
func.func @quantize_i4_kivi(%x: tensor<?x8x?x64xf16>) -> (tensor<?x8x?x64xi4>, tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16>) {
  %c, %s, %z = kvq.quantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %x : tensor<?x8x?x64xf16> -> tensor<?x8x?x64xi4>, tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16>
  return %c, %s, %z : tensor<?x8x?x64xi4>, tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16>
}

// -----

// FP8 blocks of 16 x 32 (ragged: 40 x 100 -> 3 x 4 scales): codes are
// encoded with integer arithmetic, no rounding to integers, no FP8 math.
// CHECK-DAG: #[[BLOCK:.*]] = affine_map<(d0, d1) -> (d0 floordiv 16, d1 floordiv 32)>
// CHECK-LABEL: func @quantize_fp8_block
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[BLOCK]]], iterator_types = ["reduction", "reduction"]}
// CHECK-SAME: outs(%{{.*}} : tensor<3x4xf32>)
// CHECK: arith.constant 5.734400e+04 : f32
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[BLOCK]], #{{.*}}]
// CHECK-SAME: outs(%{{.*}} : tensor<40x100xf8E5M2>)
// CHECK-NOT: math.floor
// CHECK:   arith.divf
// CHECK:   arith.bitcast %{{.*}} : f32 to i32
// CHECK:   arith.trunci %{{.*}} : i32 to i8
// CHECK:   %[[CODE:.*]] = arith.bitcast %{{.*}} : i8 to f8E5M2
// CHECK:   linalg.yield %[[CODE]] : f8E5M2
// LLVM-LABEL: llvm.func @quantize_fp8_block
func.func @quantize_fp8_block(%x: tensor<40x100xbf16>) -> (tensor<40x100xf8E5M2>, tensor<3x4xf32>) {
  %c, %s = kvq.quantize #kvq.quant<f8E5M2, symmetric, block(rows = 16, cols = 32)> %x : tensor<40x100xbf16> -> tensor<40x100xf8E5M2>, tensor<3x4xf32>
  return %c, %s : tensor<40x100xf8E5M2>, tensor<3x4xf32>
}

// -----

// One scale for the whole tensor: every dimension reduces into (0, 0).
// CHECK-DAG: #[[ALL:.*]] = affine_map<(d0, d1) -> (0, 0)>
// CHECK-LABEL: func @quantize_i2_tensor
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[ALL]], #[[ALL]]], iterator_types = ["reduction", "reduction"]}
// CHECK: arith.bitcast %{{.*}} : i16 to bf16
// CHECK: arith.trunci %{{.*}} : i32 to i2
// LLVM-LABEL: llvm.func @quantize_i2_tensor
func.func @quantize_i2_tensor(%x: tensor<5x12xf32>) -> (tensor<5x12xi2>, tensor<1x1xbf16>, tensor<1x1xbf16>) {
  %c, %s, %z = kvq.quantize #kvq.quant<i2, asymmetric, tensor, scale = bf16> %x : tensor<5x12xf32> -> tensor<5x12xi2>, tensor<1x1xbf16>, tensor<1x1xbf16>
  return %c, %s, %z : tensor<5x12xi2>, tensor<1x1xbf16>, tensor<1x1xbf16>
}

// -----

// Asymmetric codes are unsigned: zero-extended, then code * scale + zero
// point in f32 and rounded to the f16 result with integer arithmetic.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[GROUP:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2 floordiv 32, d3)>
// CHECK-LABEL: func @dequantize_i4_asym
// CHECK-SAME: (%[[C:.*]]: tensor<1x2x?x64xi4>, %[[S:.*]]: tensor<1x2x?x64xf16>, %[[Z:.*]]: tensor<1x2x?x64xf16>)
// CHECK: %[[T:.*]] = tensor.dim %[[C]], %c2
// CHECK: %[[E:.*]] = tensor.empty(%[[T]]) : tensor<1x2x?x64xf16>
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[GROUP]], #[[GROUP]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[C]], %[[S]], %[[Z]] : {{.*}}) outs(%[[E]] : tensor<1x2x?x64xf16>)
// CHECK:   arith.extui %{{.*}} : i4 to i32
// CHECK:   arith.uitofp
// CHECK:   arith.mulf
// CHECK:   arith.addf
// CHECK-NOT: arith.truncf
// CHECK:   arith.bitcast %{{.*}} : i16 to f16
func.func @dequantize_i4_asym(%c: tensor<1x2x?x64xi4>, %s: tensor<1x2x?x64xf16>, %z: tensor<1x2x?x64xf16>) -> tensor<1x2x?x64xf16> {
  %r = kvq.dequantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %c, %s, %z : tensor<1x2x?x64xi4>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x2x?x64xf16>
  return %r : tensor<1x2x?x64xf16>
}

// -----

// One scale per channel: the token dimension maps to 0.
// CHECK-DAG: #[[COL:.*]] = affine_map<(d0, d1) -> (0, d1)>
// CHECK-LABEL: func @dequantize_fp8_channel
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[COL]], #{{.*}}]
// CHECK:   arith.bitcast %{{.*}} : f8E4M3FN to i8
// CHECK:   arith.mulf
// LLVM-LABEL: llvm.func @dequantize_fp8_channel
func.func @dequantize_fp8_channel(%c: tensor<8x64xf8E4M3FN>, %s: tensor<1x64xf32>) -> tensor<8x64xf32> {
  %r = kvq.dequantize #kvq.quant<f8E4M3FN, symmetric, channel> %c, %s : tensor<8x64xf8E4M3FN>, tensor<1x64xf32> -> tensor<8x64xf32>
  return %r : tensor<8x64xf32>
}

// -----

// Packing splits the last dimension into [bytes, 2] and ORs code k of a
// byte in at bit 4 * k.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[BYTE:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func @pack
// CHECK-SAME: (%[[C:.*]]: tensor<?x8x64xi4>)
// CHECK: %[[D:.*]] = tensor.dim %[[C]], %c0
// CHECK: %[[X:.*]] = tensor.expand_shape %[[C]] {{\[}}[0], [1], [2, 3]] output_shape [%[[D]], 8, 32, 2] : tensor<?x8x64xi4> into tensor<?x8x32x2xi4>
// CHECK: %[[INIT:.*]] = linalg.fill ins(%{{.*}} : i8) outs(%{{.*}} : tensor<?x8x32xi8>)
// CHECK: %[[B:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[BYTE]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[X]] : tensor<?x8x32x2xi4>) outs(%[[INIT]] : tensor<?x8x32xi8>)
// CHECK: ^bb0(%[[IN:.*]]: i4, %[[OUT:.*]]: i8):
// CHECK:   %[[W:.*]] = arith.extui %[[IN]] : i4 to i8
// CHECK:   %[[K:.*]] = linalg.index 3 : index
// CHECK:   %[[C4:.*]] = arith.constant 4 : index
// CHECK:   %[[K4:.*]] = arith.muli %[[K]], %[[C4]] : index
// CHECK:   %[[SH:.*]] = arith.index_castui %[[K4]] : index to i8
// CHECK:   %[[V:.*]] = arith.shli %[[W]], %[[SH]] : i8
// CHECK:   %[[R:.*]] = arith.ori %[[OUT]], %[[V]] : i8
// CHECK:   linalg.yield %[[R]] : i8
// CHECK: return %[[B]]
// LLVM-LABEL: llvm.func @pack
func.func @pack(%c: tensor<?x8x64xi4>) -> tensor<?x8x32xi8> {
  %b = kvq.pack %c : tensor<?x8x64xi4> -> tensor<?x8x32xi8>
  return %b : tensor<?x8x32xi8>
}

// -----

// Unpacking shifts code k of a byte out from bit 2 * k, then merges the
// last two dimensions again.
// CHECK-DAG: #[[BYTE:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func @unpack
// CHECK-SAME: (%[[B:.*]]: tensor<?x8x16xi8>)
// CHECK: %[[U:.*]] = linalg.generic {indexing_maps = [#[[BYTE]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[B]] : tensor<?x8x16xi8>) outs(%{{.*}} : tensor<?x8x16x4xi2>)
// CHECK: ^bb0(%[[IN:.*]]: i8, %{{.*}}: i2):
// CHECK:   %[[K:.*]] = linalg.index 3 : index
// CHECK:   %[[C2:.*]] = arith.constant 2 : index
// CHECK:   %[[K2:.*]] = arith.muli %[[K]], %[[C2]] : index
// CHECK:   %[[SH:.*]] = arith.index_castui %[[K2]] : index to i8
// CHECK:   %[[V:.*]] = arith.shrui %[[IN]], %[[SH]] : i8
// CHECK:   %[[R:.*]] = arith.trunci %[[V]] : i8 to i2
// CHECK:   linalg.yield %[[R]] : i2
// CHECK: %[[C:.*]] = tensor.collapse_shape %[[U]] {{\[}}[0], [1], [2, 3]] : tensor<?x8x16x4xi2> into tensor<?x8x64xi2>
// CHECK: return %[[C]]
// LLVM-LABEL: llvm.func @unpack
func.func @unpack(%b: tensor<?x8x16xi8>) -> tensor<?x8x64xi2> {
  %c = kvq.unpack %b : tensor<?x8x16xi8> -> tensor<?x8x64xi2>
  return %c : tensor<?x8x64xi2>
}
