// RUN: kvq-opt %s -split-input-file -canonicalize | FileCheck %s

// A rotation and its inverse cancel, in either order.
// CHECK-LABEL: func @cancel
// CHECK-SAME: (%[[X:.*]]: tensor<1x2x?x64xf32>)
// CHECK-NEXT: return %[[X]], %[[X]]
func.func @cancel(%x: tensor<1x2x?x64xf32>) -> (tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>) {
  %r = kvq.rotate %x {seed = 3} : tensor<1x2x?x64xf32> -> tensor<1x2x?x64xf32>
  %y = kvq.rotate %r {seed = 3, inverse} : tensor<1x2x?x64xf32> -> tensor<1x2x?x64xf32>
  %s = kvq.rotate %x {kind = "orthogonal", seed = 5, inverse} : tensor<1x2x?x64xf32> -> tensor<1x2x?x64xf32>
  %z = kvq.rotate %s {kind = "orthogonal", seed = 5} : tensor<1x2x?x64xf32> -> tensor<1x2x?x64xf32>
  return %y, %z : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>
}

// -----

// Different seeds or kinds, two forward rotations, or a result type other
// than the input's do not cancel.
// CHECK-LABEL: func @keep
// CHECK-COUNT-8: kvq.rotate
func.func @keep(%x: tensor<1x2x3x64xf32>, %h: tensor<1x2x3x64xf16>)
    -> (tensor<1x2x3x64xf32>, tensor<1x2x3x64xf32>, tensor<1x2x3x64xf32>, tensor<1x2x3x64xf32>) {
  %a = kvq.rotate %x {seed = 1} : tensor<1x2x3x64xf32> -> tensor<1x2x3x64xf32>
  %a2 = kvq.rotate %a {seed = 2, inverse} : tensor<1x2x3x64xf32> -> tensor<1x2x3x64xf32>
  %b = kvq.rotate %x {seed = 1} : tensor<1x2x3x64xf32> -> tensor<1x2x3x64xf32>
  %b2 = kvq.rotate %b {seed = 1} : tensor<1x2x3x64xf32> -> tensor<1x2x3x64xf32>
  %c = kvq.rotate %x {seed = 1} : tensor<1x2x3x64xf32> -> tensor<1x2x3x64xf32>
  %c2 = kvq.rotate %c {kind = "orthogonal", seed = 1, inverse} : tensor<1x2x3x64xf32> -> tensor<1x2x3x64xf32>
  %d = kvq.rotate %h {seed = 1} : tensor<1x2x3x64xf16> -> tensor<1x2x3x64xf32>
  %d2 = kvq.rotate %d {seed = 1, inverse} : tensor<1x2x3x64xf32> -> tensor<1x2x3x64xf32>
  return %a2, %b2, %c2, %d2 : tensor<1x2x3x64xf32>, tensor<1x2x3x64xf32>, tensor<1x2x3x64xf32>, tensor<1x2x3x64xf32>
}

// -----

// An f16 cache rotated in f32 and rotated back to f16 is the cache itself.
// CHECK-LABEL: func @cancel_through_f32
// CHECK-SAME: (%[[X:.*]]: tensor<1x2x3x64xf16>)
// CHECK-NEXT: return %[[X]]
func.func @cancel_through_f32(%x: tensor<1x2x3x64xf16>) -> tensor<1x2x3x64xf16> {
  %r = kvq.rotate %x {seed = 9} : tensor<1x2x3x64xf16> -> tensor<1x2x3x64xf32>
  %y = kvq.rotate %r {seed = 9, inverse} : tensor<1x2x3x64xf32> -> tensor<1x2x3x64xf16>
  return %y : tensor<1x2x3x64xf16>
}
