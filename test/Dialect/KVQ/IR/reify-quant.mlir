// RUN: kvq-opt %s -split-input-file -resolve-shaped-type-result-dims -canonicalize -cse | FileCheck %s

// The quantization ops reify their result shapes from their operands
// (ReifyRankedShapedTypeOpInterface), so a tensor.dim of a result folds to
// a dim of an operand: what kvq-compile's shape functions and upstream
// bufferization rely on.

// Codes: the input's shape. Scale: ceildiv(S, 32) groups of a dynamic
// token count along dim 2 (block 32 x whole channels).
// CHECK-LABEL: func @quantize_block
// CHECK-SAME:    (%[[X:.*]]: tensor<1x?x?x64xf32>)
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG:     %[[H:.*]] = tensor.dim %[[X]], %[[C1]]
// CHECK-DAG:     %[[S:.*]] = tensor.dim %[[X]], %[[C2]]
// CHECK:         %[[G:.*]] = affine.apply #{{.*}}()[%[[S]]]
// CHECK-NOT:     kvq.quantize
// CHECK:         return %[[H]], %[[S]], %[[G]]
func.func @quantize_block(%x: tensor<1x?x?x64xf32>) -> (index, index, index) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %codes, %scale = kvq.quantize #kvq.quant<i8, symmetric, block(rows = 32, cols = 64)> %x
      : tensor<1x?x?x64xf32> -> tensor<1x?x?x64xi8>, tensor<1x?x?x1xf32>
  %h = tensor.dim %codes, %c1 : tensor<1x?x?x64xi8>
  %s = tensor.dim %codes, %c2 : tensor<1x?x?x64xi8>
  %g = tensor.dim %scale, %c2 : tensor<1x?x?x1xf32>
  return %h, %s, %g : index, index, index
}

// -----

// Per-token scales: the token count itself; dequantize: the codes' shape.
// CHECK-LABEL: func @token_roundtrip
// CHECK-SAME:    (%[[X:.*]]: tensor<?x8x?x128xf32>)
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG:     %[[B:.*]] = tensor.dim %[[X]], %[[C0]]
// CHECK-DAG:     %[[S:.*]] = tensor.dim %[[X]], %[[C2]]
// CHECK-NOT:     kvq.
// CHECK:         return %[[S]], %[[B]]
func.func @token_roundtrip(%x: tensor<?x8x?x128xf32>) -> (index, index) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %codes, %scale = kvq.quantize #kvq.quant<i8, symmetric, token> %x
      : tensor<?x8x?x128xf32> -> tensor<?x8x?x128xi8>, tensor<?x8x?x1xf32>
  %y = kvq.dequantize #kvq.quant<i8, symmetric, token> %codes, %scale
      : tensor<?x8x?x128xi8>, tensor<?x8x?x1xf32> -> tensor<?x8x?x128xf32>
  %s = tensor.dim %scale, %c2 : tensor<?x8x?x1xf32>
  %b = tensor.dim %y, %c0 : tensor<?x8x?x128xf32>
  return %s, %b : index, index
}

// -----

// Packing keeps every dim but the last.
// CHECK-LABEL: func @pack_unpack
// CHECK-SAME:    (%[[C:.*]]: tensor<?x2x?x64xi4>, %[[P:.*]]: tensor<?x2x?x32xi8>)
// CHECK-DAG:     %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG:     %[[S:.*]] = tensor.dim %[[C]], %[[C2]]
// CHECK-DAG:     %[[T:.*]] = tensor.dim %[[P]], %[[C2]]
// CHECK-NOT:     kvq.
// CHECK:         return %[[S]], %[[T]]
func.func @pack_unpack(%c: tensor<?x2x?x64xi4>, %p: tensor<?x2x?x32xi8>) -> (index, index) {
  %c2 = arith.constant 2 : index
  %bytes = kvq.pack %c : tensor<?x2x?x64xi4> -> tensor<?x2x?x32xi8>
  %codes = kvq.unpack %p : tensor<?x2x?x32xi8> -> tensor<?x2x?x64xi4>
  %s = tensor.dim %bytes, %c2 : tensor<?x2x?x32xi8>
  %t = tensor.dim %codes, %c2 : tensor<?x2x?x64xi4>
  return %s, %t : index, index
}
