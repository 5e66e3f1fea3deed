// RUN: kvq-opt %s -split-input-file | FileCheck %s
// Printing and re-parsing is stable, in the custom and the generic form.
// RUN: kvq-opt %s -split-input-file | kvq-opt -split-input-file | FileCheck %s
// RUN: kvq-opt %s -split-input-file -mlir-print-op-generic | kvq-opt -split-input-file | FileCheck %s
// RUN: kvq-opt %s -split-input-file -canonicalize | FileCheck %s --check-prefix=FOLD

// CHECK-LABEL: func @pack_i4
// CHECK: kvq.pack %{{.*}} : tensor<1x8x100x128xi4> -> tensor<1x8x100x64xi8>
func.func @pack_i4(%c: tensor<1x8x100x128xi4>) -> tensor<1x8x100x64xi8> {
  %b = kvq.pack %c : tensor<1x8x100x128xi4> -> tensor<1x8x100x64xi8>
  return %b : tensor<1x8x100x64xi8>
}

// -----

// CHECK-LABEL: func @unpack_i4
// CHECK: kvq.unpack %{{.*}} : tensor<1x8x100x64xi8> -> tensor<1x8x100x128xi4>
func.func @unpack_i4(%b: tensor<1x8x100x64xi8>) -> tensor<1x8x100x128xi4> {
  %c = kvq.unpack %b : tensor<1x8x100x64xi8> -> tensor<1x8x100x128xi4>
  return %c : tensor<1x8x100x128xi4>
}

// -----

// Four i2 codes per byte; dynamic leading dimensions are allowed.
// CHECK-LABEL: func @i2_dynamic_leading
// CHECK: kvq.pack %{{.*}} : tensor<?x?x36xi2> -> tensor<?x?x9xi8>
// CHECK: kvq.unpack %{{.*}} : tensor<?x3x9xi8> -> tensor<2x?x36xi2>
func.func @i2_dynamic_leading(%c: tensor<?x?x36xi2>, %b: tensor<?x3x9xi8>) -> (tensor<?x?x9xi8>, tensor<2x?x36xi2>) {
  %p = kvq.pack %c : tensor<?x?x36xi2> -> tensor<?x?x9xi8>
  %u = kvq.unpack %b : tensor<?x3x9xi8> -> tensor<2x?x36xi2>
  return %p, %u : tensor<?x?x9xi8>, tensor<2x?x36xi2>
}

// -----

// A rank-1 row.
// CHECK-LABEL: func @rank1
// CHECK: kvq.pack %{{.*}} : tensor<6xi4> -> tensor<3xi8>
func.func @rank1(%c: tensor<6xi4>) -> tensor<3xi8> {
  %b = kvq.pack %c : tensor<6xi4> -> tensor<3xi8>
  return %b : tensor<3xi8>
}

// -----

// pack(unpack(x)) and unpack(pack(x)) fold to x when the types match.
// FOLD-LABEL: func @fold_pack_unpack
// FOLD-SAME: (%[[B:.*]]: tensor<4x32xi8>, %[[C:.*]]: tensor<4x64xi4>)
// FOLD-NOT: kvq.
// FOLD: return %[[B]], %[[C]]
func.func @fold_pack_unpack(%b: tensor<4x32xi8>, %c: tensor<4x64xi4>) -> (tensor<4x32xi8>, tensor<4x64xi4>) {
  %u = kvq.unpack %b : tensor<4x32xi8> -> tensor<4x64xi4>
  %p = kvq.pack %u : tensor<4x64xi4> -> tensor<4x32xi8>
  %p2 = kvq.pack %c : tensor<4x64xi4> -> tensor<4x32xi8>
  %u2 = kvq.unpack %p2 : tensor<4x32xi8> -> tensor<4x64xi4>
  return %p, %u2 : tensor<4x32xi8>, tensor<4x64xi4>
}

// -----

// No fold when x's type differs from the result's (here x has a dynamic
// leading dimension that the round trip makes static).
// FOLD-LABEL: func @no_fold_type_change
// FOLD: %[[P:.*]] = kvq.pack %{{.*}} : tensor<?x64xi4> -> tensor<4x32xi8>
// FOLD: %[[U:.*]] = kvq.unpack %[[P]] : tensor<4x32xi8> -> tensor<4x64xi4>
// FOLD: return %[[U]]
func.func @no_fold_type_change(%c: tensor<?x64xi4>) -> tensor<4x64xi4> {
  %p = kvq.pack %c : tensor<?x64xi4> -> tensor<4x32xi8>
  %u = kvq.unpack %p : tensor<4x32xi8> -> tensor<4x64xi4>
  return %u : tensor<4x64xi4>
}
