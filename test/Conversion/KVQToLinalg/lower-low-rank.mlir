// RUN: kvq-opt %s -split-input-file --convert-kvq-to-linalg | FileCheck %s
// RUN: kvq-opt %s -split-input-file --convert-kvq-to-linalg --convert-kvq-to-linalg | FileCheck %s

// project: a contraction over D in f32; query heads of a GQA group (8 / 2)
// read basis h floordiv 4; the mean is subtracted first; the f16 result is
// rounded at the end.
// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
// CHECK-DAG: #[[U:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1 floordiv 4, d4, d3)>
// CHECK-DAG: #[[MU:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1 floordiv 4, d4)>
// CHECK-DAG: #[[Y:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func @project_gqa
// CHECK:         %[[ACC:.*]] = linalg.fill {{.*}} -> tensor<1x8x?x16xf32>
// CHECK:         linalg.generic {indexing_maps = [#[[X]], #[[U]], #[[MU]], #[[Y]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME:      outs(%[[ACC]]
// CHECK:           arith.extf
// CHECK:           arith.subf
// CHECK:           arith.mulf
// CHECK:           arith.addf
// CHECK:         linalg.generic
// CHECK:         } -> tensor<1x8x?x16xf16>
// CHECK-NOT:     kvq.project
func.func @project_gqa(%q: tensor<1x8x?x64xf16>, %u: tensor<2x64x16xf32>, %mu: tensor<2x64xf32>) -> tensor<1x8x?x16xf16> {
  %r = kvq.project %q, %u, %mu : tensor<1x8x?x64xf16>, tensor<2x64x16xf32>, tensor<2x64xf32> -> tensor<1x8x?x16xf16>
  return %r : tensor<1x8x?x16xf16>
}

// -----

// reconstruct with one shared basis (head index 0), then + mean.
// CHECK-DAG: #[[U1:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (0, d3, d4)>
// CHECK-DAG: #[[M1:.*]] = affine_map<(d0, d1, d2, d3) -> (0, d3)>
// CHECK-LABEL: func @reconstruct_shared
// CHECK:         linalg.generic {indexing_maps = [{{.*}}, #[[U1]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
// CHECK:         linalg.generic {indexing_maps = [{{.*}}, #[[M1]], {{.*}}]
// CHECK:           arith.addf
// CHECK-NOT:     kvq.reconstruct
func.func @reconstruct_shared(%y: tensor<?x3x5x9xf32>, %u: tensor<1x33x9xf32>, %mu: tensor<1x33xf32>) -> tensor<?x3x5x33xf32> {
  %x = kvq.reconstruct %y, %u, %mu : tensor<?x3x5x9xf32>, tensor<1x33x9xf32>, tensor<1x33xf32> -> tensor<?x3x5x33xf32>
  return %x : tensor<?x3x5x33xf32>
}

// -----

// smooth: a sum over tokens, divided by S (0 for S = 0), subtracted.
// CHECK-LABEL: func @smooth
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "parallel"]
// CHECK:         %[[S:.*]] = tensor.dim %{{.*}}, %c2
// CHECK:         arith.cmpi eq, %[[S]], %c0
// CHECK:         linalg.generic
// CHECK:           arith.divf
// CHECK:           arith.select
// CHECK:         linalg.generic
// CHECK:           arith.subf
// CHECK:         tensor.expand_shape {{.*}} into tensor<2x3x1x20xf32>
// CHECK-NOT:     kvq.smooth
func.func @smooth(%k: tensor<2x3x?x20xf16>) -> (tensor<2x3x?x20xf16>, tensor<2x3x1x20xf32>) {
  %c, %m = kvq.smooth %k : tensor<2x3x?x20xf16> -> tensor<2x3x?x20xf16>, tensor<2x3x1x20xf32>
  return %c, %m : tensor<2x3x?x20xf16>, tensor<2x3x1x20xf32>
}

// -----

// A rotation lowers like a projection onto a constant [1, D, D] basis (or a
// reconstruction from it with `inverse`).
// CHECK-LABEL: func @rotate
// CHECK:         arith.constant dense<{{.*}}> : tensor<1x16x16xf32>
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK-NOT:     kvq.rotate
// CHECK-NOT:     kvq.project
// CHECK-NOT:     kvq.reconstruct
func.func @rotate(%x: tensor<1x2x?x16xf32>) -> (tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>) {
  %a = kvq.rotate %x {seed = 1} : tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
  %b = kvq.rotate %x {kind = "orthogonal", seed = 2, inverse} : tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
  return %a, %b : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>
}
