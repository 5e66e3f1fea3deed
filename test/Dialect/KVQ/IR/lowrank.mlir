// RUN: kvq-opt %s -split-input-file | FileCheck %s
// Printing and re-parsing is stable, in the custom and the generic form.
// RUN: kvq-opt %s -split-input-file | kvq-opt -split-input-file | FileCheck %s
// RUN: kvq-opt %s -split-input-file -mlir-print-op-generic | kvq-opt -split-input-file | FileCheck %s

// CHECK-LABEL: func @project_per_head
// CHECK: kvq.project %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x8x?x128xf32>, tensor<8x128x32xf32>, tensor<8x128xf32> -> tensor<1x8x?x32xf32>
func.func @project_per_head(%k: tensor<1x8x?x128xf32>, %u: tensor<8x128x32xf32>, %mu: tensor<8x128xf32>)
    -> tensor<1x8x?x32xf32> {
  %r = kvq.project %k, %u, %mu : tensor<1x8x?x128xf32>, tensor<8x128x32xf32>, tensor<8x128xf32> -> tensor<1x8x?x32xf32>
  return %r : tensor<1x8x?x32xf32>
}

// -----

// Query heads of a GQA group share their KV head's basis; no mean; the
// result may have another float type.
// CHECK-LABEL: func @project_queries_gqa
// CHECK: kvq.project %{{.*}}, %{{.*}} : tensor<2x32x1x64xf16>, tensor<8x64x16xf32> -> tensor<2x32x1x16xf16>
func.func @project_queries_gqa(%q: tensor<2x32x1x64xf16>, %u: tensor<8x64x16xf32>) -> tensor<2x32x1x16xf16> {
  %r = kvq.project %q, %u : tensor<2x32x1x64xf16>, tensor<8x64x16xf32> -> tensor<2x32x1x16xf16>
  return %r : tensor<2x32x1x16xf16>
}

// -----

// CHECK-LABEL: func @reconstruct_shared_basis
// CHECK: kvq.reconstruct %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x4x?x24xf32>, tensor<1x96x24xf32>, tensor<1x96xf32> -> tensor<?x4x?x96xf32>
func.func @reconstruct_shared_basis(%y: tensor<?x4x?x24xf32>, %u: tensor<1x96x24xf32>, %mu: tensor<1x96xf32>)
    -> tensor<?x4x?x96xf32> {
  %x = kvq.reconstruct %y, %u, %mu : tensor<?x4x?x24xf32>, tensor<1x96x24xf32>, tensor<1x96xf32> -> tensor<?x4x?x96xf32>
  return %x : tensor<?x4x?x96xf32>
}

// -----

// CHECK-LABEL: func @smooth
// CHECK: kvq.smooth %{{.*}} : tensor<1x8x?x128xf16> -> tensor<1x8x?x128xf16>, tensor<1x8x1x128xf32>
func.func @smooth(%k: tensor<1x8x?x128xf16>) -> (tensor<1x8x?x128xf16>, tensor<1x8x1x128xf32>) {
  %ks, %km = kvq.smooth %k : tensor<1x8x?x128xf16> -> tensor<1x8x?x128xf16>, tensor<1x8x1x128xf32>
  return %ks, %km : tensor<1x8x?x128xf16>, tensor<1x8x1x128xf32>
}

// -----

// CHECK-LABEL: func @latent_attention
// CHECK: kvq.latent_attention q(%{{.*}} : tensor<1x128x1x128xf32>) q_rope(%{{.*}} : tensor<1x128x1x64xf32>) cache(%{{.*}} : tensor<1x1x?x576xf32>) w_uk(%{{.*}} : tensor<128x128x512xf32>) w_uv(%{{.*}} : tensor<128x128x512xf32>) {causal} -> tensor<1x128x1x128xf32>
func.func @latent_attention(%qn: tensor<1x128x1x128xf32>, %qr: tensor<1x128x1x64xf32>, %kv: tensor<1x1x?x576xf32>,
                            %wuk: tensor<128x128x512xf32>, %wuv: tensor<128x128x512xf32>) -> tensor<1x128x1x128xf32> {
  %o = kvq.latent_attention q(%qn : tensor<1x128x1x128xf32>) q_rope(%qr : tensor<1x128x1x64xf32>)
      cache(%kv : tensor<1x1x?x576xf32>) w_uk(%wuk : tensor<128x128x512xf32>) w_uv(%wuv : tensor<128x128x512xf32>)
      {causal} -> tensor<1x128x1x128xf32>
  return %o : tensor<1x128x1x128xf32>
}

// -----

// CHECK-LABEL: func @rotate
// CHECK: kvq.rotate %{{.*}} {seed = 7 : i64} : tensor<1x8x?x128xf32> -> tensor<1x8x?x128xf32>
// CHECK: kvq.rotate %{{.*}} {inverse, kind = "orthogonal", seed = 7 : i64} : tensor<1x8x?x96xf16> -> tensor<1x8x?x96xf16>
func.func @rotate(%k: tensor<1x8x?x128xf32>, %v: tensor<1x8x?x96xf16>) -> (tensor<1x8x?x128xf32>, tensor<1x8x?x96xf16>) {
  %a = kvq.rotate %k {seed = 7} : tensor<1x8x?x128xf32> -> tensor<1x8x?x128xf32>
  %b = kvq.rotate %v {kind = "orthogonal", seed = 7, inverse} : tensor<1x8x?x96xf16> -> tensor<1x8x?x96xf16>
  return %a, %b : tensor<1x8x?x128xf32>, tensor<1x8x?x96xf16>
}
