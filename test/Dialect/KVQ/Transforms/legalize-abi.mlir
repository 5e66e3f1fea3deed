// RUN: kvq-opt %s -split-input-file -kvq-legalize-abi -verify-diagnostics | FileCheck %s

// An i4 argument and result travel as bytes packed along the last
// dimension; the body still sees i4 codes.
// CHECK-LABEL: func @arg_and_result
// CHECK-SAME: (%[[ARG:.*]]: tensor<2x8x40x32xi8>, %[[S:.*]]: tensor<2x8x40x1xf32>) -> (tensor<2x8x40x32xi8>, tensor<2x8x40x64xf32>)
// CHECK: %[[C:.*]] = kvq.unpack %[[ARG]] : tensor<2x8x40x32xi8> -> tensor<2x8x40x64xi4>
// CHECK: %[[D:.*]] = kvq.dequantize #kvq.quant<i4, symmetric, token> %[[C]], %[[S]]
// CHECK: %[[P:.*]] = kvq.pack %[[C]] : tensor<2x8x40x64xi4> -> tensor<2x8x40x32xi8>
// CHECK: return %[[P]], %[[D]] : tensor<2x8x40x32xi8>, tensor<2x8x40x64xf32>
func.func @arg_and_result(%c: tensor<2x8x40x64xi4>, %s: tensor<2x8x40x1xf32>) -> (tensor<2x8x40x64xi4>, tensor<2x8x40x64xf32>) {
  %d = kvq.dequantize #kvq.quant<i4, symmetric, token> %c, %s : tensor<2x8x40x64xi4>, tensor<2x8x40x1xf32> -> tensor<2x8x40x64xf32>
  return %c, %d : tensor<2x8x40x64xi4>, tensor<2x8x40x64xf32>
}

// -----

// i2 packs four codes per byte; leading dimensions may be dynamic. Types
// other than i4 / i2 tensors are left alone.
// CHECK-LABEL: func @i2_dynamic_leading
// CHECK-SAME: (%[[ARG:.*]]: tensor<?x3x9xi8>, %{{.*}}: tensor<4x8xi8>, %{{.*}}: memref<4x8xi4>, %{{.*}}: tensor<4x8xf8E4M3FN>) -> tensor<?x3x9xi8>
// CHECK: %[[C:.*]] = kvq.unpack %[[ARG]] : tensor<?x3x9xi8> -> tensor<?x3x36xi2>
// CHECK-NEXT: %[[P:.*]] = kvq.pack %[[C]] : tensor<?x3x36xi2> -> tensor<?x3x9xi8>
// CHECK-NEXT: return %[[P]]
func.func @i2_dynamic_leading(%c: tensor<?x3x36xi2>, %b: tensor<4x8xi8>, %m: memref<4x8xi4>, %f: tensor<4x8xf8E4M3FN>) -> tensor<?x3x36xi2> {
  return %c : tensor<?x3x36xi2>
}

// -----

// Every return of a function with several blocks packs its result.
// CHECK-LABEL: func @multiple_returns
// CHECK-SAME: -> tensor<4x4xi8>
// CHECK: kvq.unpack
// CHECK: ^bb1:
// CHECK: %[[P1:.*]] = kvq.pack %{{.*}} : tensor<4x8xi4> -> tensor<4x4xi8>
// CHECK: return %[[P1]]
// CHECK: ^bb2:
// CHECK: %[[P2:.*]] = kvq.pack %{{.*}} : tensor<4x8xi4> -> tensor<4x4xi8>
// CHECK: return %[[P2]]
func.func @multiple_returns(%cond: i1, %a: tensor<4x8xi4>, %b: tensor<4x8xi4>) -> tensor<4x8xi4> {
  cf.cond_br %cond, ^bb1, ^bb2
^bb1:
  return %a : tensor<4x8xi4>
^bb2:
  return %b : tensor<4x8xi4>
}

// -----

// Calls of rewritten functions pack their operands and unpack their
// results; calls of declarations (not rewritten) keep the i4 types.
// CHECK-LABEL: func private @helper
// CHECK-SAME: (%{{.*}}: tensor<4x32xi8>) -> tensor<4x32xi8>
// CHECK-LABEL: func private @external
// CHECK-SAME: (tensor<4x64xi4>) -> tensor<4x64xi4>
// CHECK-LABEL: func @caller
// CHECK-SAME: (%[[ARG:.*]]: tensor<4x32xi8>) -> tensor<4x32xi8>
// CHECK: %[[C:.*]] = kvq.unpack %[[ARG]] : tensor<4x32xi8> -> tensor<4x64xi4>
// CHECK: %[[P:.*]] = kvq.pack %[[C]] : tensor<4x64xi4> -> tensor<4x32xi8>
// CHECK: %[[R:.*]] = call @helper(%[[P]]) : (tensor<4x32xi8>) -> tensor<4x32xi8>
// CHECK: %[[U:.*]] = kvq.unpack %[[R]] : tensor<4x32xi8> -> tensor<4x64xi4>
// CHECK: %[[E:.*]] = call @external(%[[U]]) : (tensor<4x64xi4>) -> tensor<4x64xi4>
// CHECK: %[[O:.*]] = kvq.pack %[[E]] : tensor<4x64xi4> -> tensor<4x32xi8>
// CHECK: return %[[O]]
func.func private @helper(%c: tensor<4x64xi4>) -> tensor<4x64xi4> {
  return %c : tensor<4x64xi4>
}
func.func private @external(tensor<4x64xi4>) -> tensor<4x64xi4>
func.func @caller(%c: tensor<4x64xi4>) -> tensor<4x64xi4> {
  %r = call @helper(%c) : (tensor<4x64xi4>) -> tensor<4x64xi4>
  %e = call @external(%r) : (tensor<4x64xi4>) -> tensor<4x64xi4>
  return %e : tensor<4x64xi4>
}

// -----

// expected-error @+1 {{argument #1 of @dynamic_last has type 'tensor<4x?xi4>', which the kernel ABI cannot pass as packed bytes: its last dimension must be static and a multiple of 2 (the i4 codes in a byte)}}
func.func @dynamic_last(%a: tensor<4x8xi4>, %c: tensor<4x?xi4>) {
  return
}

// -----

// expected-error @below {{argument #0 of @not_multiple has type 'tensor<4x6xi2>'}}
// expected-error @below {{result #0 of @not_multiple has type 'tensor<4x6xi2>', which the kernel ABI cannot pass as packed bytes: its last dimension must be static and a multiple of 4 (the i2 codes in a byte)}}
func.func @not_multiple(%c: tensor<4x6xi2>) -> tensor<4x6xi2> {
  return %c : tensor<4x6xi2>
}

// -----

// expected-error @+1 {{argument #0 of @unranked has type 'tensor<*xi4>', which the kernel ABI cannot pass as packed bytes}}
func.func @unranked(%c: tensor<*xi4>) {
  return
}
