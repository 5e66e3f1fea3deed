// RUN: kvq-opt %s --split-input-file --kvq-raise-attention | FileCheck %s

// Raising from each form importers emit; every case must become one
// kvq.attention with the Q / K / V / mask / scale checked.

// linalg.batch_matmul with a transposed K map, splat scale on the scores
// (linalg.mul), linalg.softmax; 3-D operands wrapped as [1, N, S, D].
// CHECK-LABEL: func.func @named_softmax
// CHECK-SAME: (%[[Q:.*]]: tensor<8x5x16xf32>, %[[K:.*]]: tensor<8x7x16xf32>, %[[V:.*]]: tensor<8x7x16xf32>)
// CHECK-DAG: %[[Q4:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0, 1], [2], [3]] output_shape [1, 8, 5, 16]
// CHECK-DAG: %[[K4:.*]] = tensor.expand_shape %[[K]] {{\[}}[0, 1], [2], [3]] output_shape [1, 8, 7, 16]
// CHECK-DAG: %[[V4:.*]] = tensor.expand_shape %[[V]] {{\[}}[0, 1], [2], [3]] output_shape [1, 8, 7, 16]
// CHECK: %[[O:.*]] = kvq.attention q(%[[Q4]] : tensor<1x8x5x16xf32>) k(%[[K4]] : tensor<1x8x7x16xf32>) v(%[[V4]] : tensor<1x8x7x16xf32>) {scale = 2.500000e-01 : f32}
// CHECK: %[[R:.*]] = tensor.collapse_shape %[[O]] {{\[}}[0, 1], [2], [3]] : tensor<1x8x5x16xf32> into tensor<8x5x16xf32>
// CHECK-NOT: linalg
// CHECK: return %[[R]]
func.func @named_softmax(%q: tensor<8x5x16xf32>, %k: tensor<8x7x16xf32>, %v: tensor<8x7x16xf32>) -> tensor<8x5x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<8x5x7xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, k) -> (b, m, k)>,
         affine_map<(b, m, n, k) -> (b, n, k)>,
         affine_map<(b, m, n, k) -> (b, m, n)>]
       ins(%q, %k : tensor<8x5x16xf32>, tensor<8x7x16xf32>) outs(%z0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %c = arith.constant dense<0.25> : tensor<8x5x7xf32>
  %ss = linalg.mul ins(%s, %c : tensor<8x5x7xf32>, tensor<8x5x7xf32>) outs(%e0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %p = linalg.softmax dimension(2) ins(%ss : tensor<8x5x7xf32>) outs(%e0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %e1 = tensor.empty() : tensor<8x5x16xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x5x16xf32>) -> tensor<8x5x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x5x7xf32>, tensor<8x7x16xf32>) outs(%z1 : tensor<8x5x16xf32>) -> tensor<8x5x16xf32>
  return %o : tensor<8x5x16xf32>
}

// -----

// 2-D linalg.matmul, K^T through linalg.transpose, Q divided by 4.
// CHECK-LABEL: func.func @matmul_2d
// CHECK-SAME: (%[[Q:.*]]: tensor<5x16xf32>, %[[K:.*]]: tensor<7x16xf32>, %[[V:.*]]: tensor<7x8xf32>)
// CHECK-DAG: %[[Q4:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0, 1, 2], [3]] output_shape [1, 1, 5, 16]
// CHECK-DAG: %[[K4:.*]] = tensor.expand_shape %[[K]] {{\[}}[0, 1, 2], [3]] output_shape [1, 1, 7, 16]
// CHECK: kvq.attention q(%[[Q4]] : tensor<1x1x5x16xf32>) k(%[[K4]] : tensor<1x1x7x16xf32>) v(%{{.*}} : tensor<1x1x7x8xf32>) {scale = 2.500000e-01 : f32}
// CHECK-NOT: linalg
func.func @matmul_2d(%q: tensor<5x16xf32>, %k: tensor<7x16xf32>, %v: tensor<7x8xf32>) -> tensor<5x8xf32> {
  %zero = arith.constant 0.0 : f32
  %c4 = arith.constant dense<4.0> : tensor<5x16xf32>
  %eq = tensor.empty() : tensor<5x16xf32>
  %qs = linalg.div ins(%q, %c4 : tensor<5x16xf32>, tensor<5x16xf32>) outs(%eq : tensor<5x16xf32>) -> tensor<5x16xf32>
  %et = tensor.empty() : tensor<16x7xf32>
  %kt = linalg.transpose ins(%k : tensor<7x16xf32>) outs(%et : tensor<16x7xf32>) permutation = [1, 0]
  %es = tensor.empty() : tensor<5x7xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<5x7xf32>) -> tensor<5x7xf32>
  %s = linalg.matmul ins(%qs, %kt : tensor<5x16xf32>, tensor<16x7xf32>) outs(%zs : tensor<5x7xf32>) -> tensor<5x7xf32>
  %p = linalg.softmax dimension(1) ins(%s : tensor<5x7xf32>) outs(%es : tensor<5x7xf32>) -> tensor<5x7xf32>
  %eo = tensor.empty() : tensor<5x8xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<5x8xf32>) -> tensor<5x8xf32>
  %o = linalg.matmul ins(%p, %v : tensor<5x7xf32>, tensor<7x8xf32>) outs(%zo : tensor<5x8xf32>) -> tensor<5x8xf32>
  return %o : tensor<5x8xf32>
}

// -----

// Named elementwise softmax (linalg.reduce / broadcast / sub / exp /
// reciprocal / mul), a [Sq, Skv] mask, head split (expand + transpose +
// collapse), GQA as linalg.broadcast of K / V heads, head merge after.
// CHECK-LABEL: func.func @named_chain_gqa
// CHECK-SAME: (%[[X:.*]]: tensor<2x5x64xf32>, %[[K:.*]]: tensor<2x2x7x16xf32>, %[[V:.*]]: tensor<2x2x7x16xf32>, %[[M:.*]]: tensor<5x7xf32>)
// CHECK: %[[QT:.*]] = linalg.transpose
// CHECK: %[[M4:.*]] = tensor.expand_shape %[[M]] {{\[}}[0, 1, 2], [3]] output_shape [1, 1, 5, 7]
// CHECK: %[[O:.*]] = kvq.attention q(%[[QT]] : tensor<2x4x5x16xf32>) k(%[[K]] : tensor<2x2x7x16xf32>) v(%[[V]] : tensor<2x2x7x16xf32>) mask(%[[M4]] : tensor<1x1x5x7xf32>) {scale = 1.000000e+00 : f32}
// CHECK: tensor.collapse_shape %[[O]] {{\[}}[0, 1], [2], [3]]
// CHECK-NOT: linalg.broadcast
// CHECK-NOT: linalg.reduce
// CHECK-NOT: linalg.batch_matmul
// CHECK: linalg.transpose
// CHECK-NOT: linalg
func.func @named_chain_gqa(%x: tensor<2x5x64xf32>, %k: tensor<2x2x7x16xf32>, %v: tensor<2x2x7x16xf32>, %m: tensor<5x7xf32>) -> tensor<2x5x64xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %q4 = tensor.expand_shape %x [[0], [1], [2, 3]] output_shape [2, 5, 4, 16] : tensor<2x5x64xf32> into tensor<2x5x4x16xf32>
  %eqt = tensor.empty() : tensor<2x4x5x16xf32>
  %qt = linalg.transpose ins(%q4 : tensor<2x5x4x16xf32>) outs(%eqt : tensor<2x4x5x16xf32>) permutation = [0, 2, 1, 3]
  %q3 = tensor.collapse_shape %qt [[0, 1], [2], [3]] : tensor<2x4x5x16xf32> into tensor<8x5x16xf32>
  %e5 = tensor.empty() : tensor<2x2x2x7x16xf32>
  %kb = linalg.broadcast ins(%k : tensor<2x2x7x16xf32>) outs(%e5 : tensor<2x2x2x7x16xf32>) dimensions = [2]
  %k3 = tensor.collapse_shape %kb [[0, 1, 2], [3], [4]] : tensor<2x2x2x7x16xf32> into tensor<8x7x16xf32>
  %vb = linalg.broadcast ins(%v : tensor<2x2x7x16xf32>) outs(%e5 : tensor<2x2x2x7x16xf32>) dimensions = [2]
  %v3 = tensor.collapse_shape %vb [[0, 1, 2], [3], [4]] : tensor<2x2x2x7x16xf32> into tensor<8x7x16xf32>
  %es = tensor.empty() : tensor<8x5x7xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, k) -> (b, m, k)>,
         affine_map<(b, m, n, k) -> (b, n, k)>,
         affine_map<(b, m, n, k) -> (b, m, n)>]
       ins(%q3, %k3 : tensor<8x5x16xf32>, tensor<8x7x16xf32>) outs(%zs : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %mb = linalg.broadcast ins(%m : tensor<5x7xf32>) outs(%es : tensor<8x5x7xf32>) dimensions = [0]
  %sm = linalg.add ins(%s, %mb : tensor<8x5x7xf32>, tensor<8x5x7xf32>) outs(%es : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %er = tensor.empty() : tensor<8x5xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<8x5xf32>) -> tensor<8x5xf32>
  %mx = linalg.reduce ins(%sm : tensor<8x5x7xf32>) outs(%mi : tensor<8x5xf32>) dimensions = [2]
    (%a: f32, %acc: f32) {
      %r = arith.maxnumf %a, %acc : f32
      linalg.yield %r : f32
    }
  %mxb = linalg.broadcast ins(%mx : tensor<8x5xf32>) outs(%es : tensor<8x5x7xf32>) dimensions = [2]
  %d = linalg.sub ins(%sm, %mxb : tensor<8x5x7xf32>, tensor<8x5x7xf32>) outs(%es : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %e = linalg.exp ins(%d : tensor<8x5x7xf32>) outs(%es : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<8x5xf32>) -> tensor<8x5xf32>
  %sum = linalg.reduce ins(%e : tensor<8x5x7xf32>) outs(%si : tensor<8x5xf32>) dimensions = [2]
    (%a: f32, %acc: f32) {
      %r = arith.addf %a, %acc : f32
      linalg.yield %r : f32
    }
  %rc = linalg.reciprocal ins(%sum : tensor<8x5xf32>) outs(%er : tensor<8x5xf32>) -> tensor<8x5xf32>
  %rcb = linalg.broadcast ins(%rc : tensor<8x5xf32>) outs(%es : tensor<8x5x7xf32>) dimensions = [2]
  %p = linalg.mul ins(%e, %rcb : tensor<8x5x7xf32>, tensor<8x5x7xf32>) outs(%es : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %eo = tensor.empty() : tensor<8x5x16xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<8x5x16xf32>) -> tensor<8x5x16xf32>
  %o = linalg.batch_matmul ins(%p, %v3 : tensor<8x5x7xf32>, tensor<8x7x16xf32>) outs(%zo : tensor<8x5x16xf32>) -> tensor<8x5x16xf32>
  %o4 = tensor.expand_shape %o [[0, 1], [2], [3]] output_shape [2, 4, 5, 16] : tensor<8x5x16xf32> into tensor<2x4x5x16xf32>
  %eot = tensor.empty() : tensor<2x5x4x16xf32>
  %ot = linalg.transpose ins(%o4 : tensor<2x4x5x16xf32>) outs(%eot : tensor<2x5x4x16xf32>) permutation = [0, 2, 1, 3]
  %r = tensor.collapse_shape %ot [[0], [1], [2, 3]] : tensor<2x5x4x16xf32> into tensor<2x5x64xf32>
  return %r : tensor<2x5x64xf32>
}

// -----

// torch-mlir style: 4-D contraction linalg.generics, a generic max /
// sub / exp / sum / div chain, K scaled by a captured constant, a 2-D
// mask broadcast by the indexing map, a dynamic key length.
// CHECK-LABEL: func.func @generic_chain
// CHECK-SAME: (%[[Q:.*]]: tensor<1x4x5x16xf32>, %[[K:.*]]: tensor<1x4x?x16xf32>, %[[V:.*]]: tensor<1x4x?x16xf32>, %[[M:.*]]: tensor<5x?xf32>)
// CHECK: %[[N:.*]] = tensor.dim %[[M]], %{{.*}} : tensor<5x?xf32>
// CHECK: %[[M4:.*]] = tensor.expand_shape %[[M]] {{\[}}[0, 1, 2], [3]] output_shape [1, 1, 5, %[[N]]]
// CHECK: %[[O:.*]] = kvq.attention q(%[[Q]] : tensor<1x4x5x16xf32>) k(%[[K]] : tensor<1x4x?x16xf32>) v(%[[V]] : tensor<1x4x?x16xf32>) mask(%[[M4]] : tensor<1x1x5x?xf32>) {scale = 2.500000e-01 : f32}
// CHECK-NOT: linalg
// CHECK: return %[[O]]
#q = affine_map<(b, h, m, n, k) -> (b, h, m, k)>
#k = affine_map<(b, h, m, n, k) -> (b, h, n, k)>
#s = affine_map<(b, h, m, n, k) -> (b, h, m, n)>
#id = affine_map<(b, h, i, j) -> (b, h, i, j)>
#row = affine_map<(b, h, i, j) -> (b, h, i)>
#mask = affine_map<(b, h, i, j) -> (i, j)>
#pv_p = affine_map<(b, h, m, n, k) -> (b, h, m, k)>
#pv_v = affine_map<(b, h, m, n, k) -> (b, h, k, n)>
#pv_o = affine_map<(b, h, m, n, k) -> (b, h, m, n)>
func.func @generic_chain(%q: tensor<1x4x5x16xf32>, %k: tensor<1x4x?x16xf32>, %v: tensor<1x4x?x16xf32>, %m: tensor<5x?xf32>) -> tensor<1x4x5x16xf32> {
  %c1 = arith.constant 2 : index
  %n = tensor.dim %k, %c1 : tensor<1x4x?x16xf32>
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %sc = arith.constant 0.25 : f32
  %ek = tensor.empty(%n) : tensor<1x4x?x16xf32>
  %ks = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%k : tensor<1x4x?x16xf32>) outs(%ek : tensor<1x4x?x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.mulf %a, %sc : f32
    linalg.yield %r : f32
  } -> tensor<1x4x?x16xf32>
  %es = tensor.empty(%n) : tensor<1x4x5x?xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<1x4x5x?xf32>) -> tensor<1x4x5x?xf32>
  %s = linalg.generic {indexing_maps = [#q, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %ks : tensor<1x4x5x16xf32>, tensor<1x4x?x16xf32>) outs(%zs : tensor<1x4x5x?xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  } -> tensor<1x4x5x?xf32>
  %sm = linalg.generic {indexing_maps = [#id, #mask, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s, %m : tensor<1x4x5x?xf32>, tensor<5x?xf32>) outs(%es : tensor<1x4x5x?xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.addf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<1x4x5x?xf32>
  %er = tensor.empty() : tensor<1x4x5xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<1x4x5xf32>) -> tensor<1x4x5xf32>
  %mx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%sm : tensor<1x4x5x?xf32>) outs(%mi : tensor<1x4x5xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<1x4x5xf32>
  %d = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%sm, %mx : tensor<1x4x5x?xf32>, tensor<1x4x5xf32>) outs(%es : tensor<1x4x5x?xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.subf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<1x4x5x?xf32>
  %e = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%d : tensor<1x4x5x?xf32>) outs(%es : tensor<1x4x5x?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<1x4x5x?xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<1x4x5xf32>) -> tensor<1x4x5xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%e : tensor<1x4x5x?xf32>) outs(%si : tensor<1x4x5xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<1x4x5xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%e, %sum : tensor<1x4x5x?xf32>, tensor<1x4x5xf32>) outs(%es : tensor<1x4x5x?xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<1x4x5x?xf32>
  %eo = tensor.empty() : tensor<1x4x5x16xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<1x4x5x16xf32>) -> tensor<1x4x5x16xf32>
  %o = linalg.generic {indexing_maps = [#pv_p, #pv_v, #pv_o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<1x4x5x?xf32>, tensor<1x4x?x16xf32>) outs(%zo : tensor<1x4x5x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %pr = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %pr : f32
    linalg.yield %r : f32
  } -> tensor<1x4x5x16xf32>
  return %o : tensor<1x4x5x16xf32>
}

// -----

// tosa: head split (reshape + transpose + reshape), GQA as reshape +
// tile + reshape of K and V, K^T by tosa.transpose, scale by tosa.mul,
// reduce_max / sub / exp / reduce_sum / reciprocal / mul.
// CHECK-LABEL: func.func @tosa_attn
// CHECK-SAME: (%[[X:.*]]: tensor<2x5x64xf32>, %[[K:.*]]: tensor<2x2x7x16xf32>, %[[V:.*]]: tensor<2x2x7x16xf32>
// CHECK: %[[Q4:.*]] = tosa.reshape %[[X]]
// CHECK: %[[QT:.*]] = linalg.transpose ins(%[[Q4]] : tensor<2x5x4x16xf32>) {{.*}} permutation = [0, 2, 1, 3]
// CHECK: %[[O:.*]] = kvq.attention q(%[[QT]] : tensor<2x4x5x16xf32>) k(%[[K]] : tensor<2x2x7x16xf32>) v(%[[V]] : tensor<2x2x7x16xf32>) {scale = 2.500000e-01 : f32}
// CHECK: %[[R:.*]] = tensor.collapse_shape %[[O]] {{\[}}[0, 1], [2], [3]]
// CHECK-NOT: tosa
// CHECK: return %[[R]]
func.func @tosa_attn(%x: tensor<2x5x64xf32>, %k: tensor<2x2x7x16xf32>, %v: tensor<2x2x7x16xf32>, %m: tensor<1x1x5x7xf32>) -> tensor<8x5x16xf32> {
  %s0 = tosa.const_shape {values = dense<[2, 5, 4, 16]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %q4 = tosa.reshape %x, %s0 : (tensor<2x5x64xf32>, !tosa.shape<4>) -> tensor<2x5x4x16xf32>
  %qt = tosa.transpose %q4 {perms = array<i32: 0, 2, 1, 3>} : (tensor<2x5x4x16xf32>) -> tensor<2x4x5x16xf32>
  %s1 = tosa.const_shape {values = dense<[8, 5, 16]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %q3 = tosa.reshape %qt, %s1 : (tensor<2x4x5x16xf32>, !tosa.shape<3>) -> tensor<8x5x16xf32>
  %s5 = tosa.const_shape {values = dense<[2, 2, 1, 7, 16]> : tensor<5xindex>} : () -> !tosa.shape<5>
  %k5 = tosa.reshape %k, %s5 : (tensor<2x2x7x16xf32>, !tosa.shape<5>) -> tensor<2x2x1x7x16xf32>
  %mul = tosa.const_shape {values = dense<[1, 1, 2, 1, 1]> : tensor<5xindex>} : () -> !tosa.shape<5>
  %kt5 = tosa.tile %k5, %mul : (tensor<2x2x1x7x16xf32>, !tosa.shape<5>) -> tensor<2x2x2x7x16xf32>
  %s2 = tosa.const_shape {values = dense<[8, 7, 16]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %k3 = tosa.reshape %kt5, %s2 : (tensor<2x2x2x7x16xf32>, !tosa.shape<3>) -> tensor<8x7x16xf32>
  %kT = tosa.transpose %k3 {perms = array<i32: 0, 2, 1>} : (tensor<8x7x16xf32>) -> tensor<8x16x7xf32>
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %s = tosa.matmul %q3, %kT, %zp, %zp : (tensor<8x5x16xf32>, tensor<8x16x7xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<8x5x7xf32>
  %c = "tosa.const"() <{values = dense<0.25> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %sh = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %ss = tosa.mul %s, %c, %sh : (tensor<8x5x7xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<8x5x7xf32>
  %mx = tosa.reduce_max %ss {axis = 2 : i32} : (tensor<8x5x7xf32>) -> tensor<8x5x1xf32>
  %d = tosa.sub %ss, %mx : (tensor<8x5x7xf32>, tensor<8x5x1xf32>) -> tensor<8x5x7xf32>
  %e = tosa.exp %d : (tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %sum = tosa.reduce_sum %e {axis = 2 : i32} : (tensor<8x5x7xf32>) -> tensor<8x5x1xf32>
  %r = tosa.reciprocal %sum : (tensor<8x5x1xf32>) -> tensor<8x5x1xf32>
  %p = tosa.mul %e, %r, %sh : (tensor<8x5x7xf32>, tensor<8x5x1xf32>, tensor<1xi8>) -> tensor<8x5x7xf32>
  %v5 = tosa.reshape %v, %s5 : (tensor<2x2x7x16xf32>, !tosa.shape<5>) -> tensor<2x2x1x7x16xf32>
  %vt5 = tosa.tile %v5, %mul : (tensor<2x2x1x7x16xf32>, !tosa.shape<5>) -> tensor<2x2x2x7x16xf32>
  %v3 = tosa.reshape %vt5, %s2 : (tensor<2x2x2x7x16xf32>, !tosa.shape<3>) -> tensor<8x7x16xf32>
  %o = tosa.matmul %p, %v3, %zp, %zp : (tensor<8x5x7xf32>, tensor<8x7x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<8x5x16xf32>
  return %o : tensor<8x5x16xf32>
}

// -----

// tosa, 4-D [B, H, S, D] reshaped to [B * H, S, D]: the scale on Q (before
// the reshape) and on K (after it) fold into one, the [B * H, Sq, Skv]
// additive mask is split back into [B, H].
// CHECK-LABEL: func.func @tosa_scaled_masked
// CHECK-SAME: (%[[Q:.*]]: tensor<2x3x4x8xf32>, %[[K:.*]]: tensor<2x3x6x8xf32>, %[[V:.*]]: tensor<2x3x6x8xf32>, %[[M:.*]]: tensor<6x4x6xf32>)
// CHECK: %[[M4:.*]] = tensor.expand_shape %[[M]] {{\[}}[0, 1], [2], [3]] output_shape [2, 3, 4, 6]
// CHECK: kvq.attention q(%[[Q]] : tensor<2x3x4x8xf32>) k(%[[K]] : tensor<2x3x6x8xf32>) v(%[[V]] : tensor<2x3x6x8xf32>) mask(%[[M4]] : tensor<2x3x4x6xf32>) {scale = 1.250000e-01 : f32}
func.func @tosa_scaled_masked(%q: tensor<2x3x4x8xf32>, %k: tensor<2x3x6x8xf32>, %v: tensor<2x3x6x8xf32>, %m: tensor<6x4x6xf32>) -> tensor<6x4x8xf32> {
  %sh = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %half = "tosa.const"() <{values = dense<0.5> : tensor<1x1x1x1xf32>}> : () -> tensor<1x1x1x1xf32>
  %quarter = "tosa.const"() <{values = dense<0.25> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %qs = tosa.mul %q, %half, %sh : (tensor<2x3x4x8xf32>, tensor<1x1x1x1xf32>, tensor<1xi8>) -> tensor<2x3x4x8xf32>
  %s4 = tosa.const_shape {values = dense<[6, 4, 8]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s6 = tosa.const_shape {values = dense<[6, 6, 8]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %q3 = tosa.reshape %qs, %s4 : (tensor<2x3x4x8xf32>, !tosa.shape<3>) -> tensor<6x4x8xf32>
  %k3 = tosa.reshape %k, %s6 : (tensor<2x3x6x8xf32>, !tosa.shape<3>) -> tensor<6x6x8xf32>
  %v3 = tosa.reshape %v, %s6 : (tensor<2x3x6x8xf32>, !tosa.shape<3>) -> tensor<6x6x8xf32>
  %ks = tosa.mul %quarter, %k3, %sh : (tensor<1x1x1xf32>, tensor<6x6x8xf32>, tensor<1xi8>) -> tensor<6x6x8xf32>
  %kt = tosa.transpose %ks {perms = array<i32: 0, 2, 1>} : (tensor<6x6x8xf32>) -> tensor<6x8x6xf32>
  %s = tosa.matmul %q3, %kt, %zp, %zp : (tensor<6x4x8xf32>, tensor<6x8x6xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<6x4x6xf32>
  %sm = tosa.add %m, %s : (tensor<6x4x6xf32>, tensor<6x4x6xf32>) -> tensor<6x4x6xf32>
  %mx = tosa.reduce_max %sm {axis = 2 : i32} : (tensor<6x4x6xf32>) -> tensor<6x4x1xf32>
  %d = tosa.sub %sm, %mx : (tensor<6x4x6xf32>, tensor<6x4x1xf32>) -> tensor<6x4x6xf32>
  %e = tosa.exp %d : (tensor<6x4x6xf32>) -> tensor<6x4x6xf32>
  %sum = tosa.reduce_sum %e {axis = 2 : i32} : (tensor<6x4x6xf32>) -> tensor<6x4x1xf32>
  %r = tosa.reciprocal %sum : (tensor<6x4x1xf32>) -> tensor<6x4x1xf32>
  %p = tosa.mul %r, %e, %sh : (tensor<6x4x1xf32>, tensor<6x4x6xf32>, tensor<1xi8>) -> tensor<6x4x6xf32>
  %o = tosa.matmul %p, %v3, %zp, %zp : (tensor<6x4x6xf32>, tensor<6x6x8xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<6x4x8xf32>
  return %o : tensor<6x4x8xf32>
}

// -----

// K / V heads tiled along the head dim (query head h reads kv head h mod 2,
// not h / 2) are not grouped-query attention: raised over the tiled heads.
// CHECK-LABEL: func.func @tosa_tile_heads
// CHECK: %[[KT:.*]] = tosa.tile %{{.*}} : (tensor<1x2x6x8xf32>, !tosa.shape<4>) -> tensor<1x4x6x8xf32>
// CHECK: kvq.attention q(%{{.*}} : tensor<1x4x4x8xf32>) k(%[[KT]] : tensor<1x4x6x8xf32>) v(%{{.*}} : tensor<1x4x6x8xf32>)
func.func @tosa_tile_heads(%q: tensor<1x4x4x8xf32>, %k: tensor<1x2x6x8xf32>, %v: tensor<1x2x6x8xf32>) -> tensor<4x4x8xf32> {
  %sh = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %rep = tosa.const_shape {values = dense<[1, 2, 1, 1]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %kt4 = tosa.tile %k, %rep : (tensor<1x2x6x8xf32>, !tosa.shape<4>) -> tensor<1x4x6x8xf32>
  %vt4 = tosa.tile %v, %rep : (tensor<1x2x6x8xf32>, !tosa.shape<4>) -> tensor<1x4x6x8xf32>
  %s4 = tosa.const_shape {values = dense<[4, 4, 8]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s6 = tosa.const_shape {values = dense<[4, 6, 8]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %q3 = tosa.reshape %q, %s4 : (tensor<1x4x4x8xf32>, !tosa.shape<3>) -> tensor<4x4x8xf32>
  %k3 = tosa.reshape %kt4, %s6 : (tensor<1x4x6x8xf32>, !tosa.shape<3>) -> tensor<4x6x8xf32>
  %v3 = tosa.reshape %vt4, %s6 : (tensor<1x4x6x8xf32>, !tosa.shape<3>) -> tensor<4x6x8xf32>
  %kt = tosa.transpose %k3 {perms = array<i32: 0, 2, 1>} : (tensor<4x6x8xf32>) -> tensor<4x8x6xf32>
  %s = tosa.matmul %q3, %kt, %zp, %zp : (tensor<4x4x8xf32>, tensor<4x8x6xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<4x4x6xf32>
  %mx = tosa.reduce_max %s {axis = 2 : i32} : (tensor<4x4x6xf32>) -> tensor<4x4x1xf32>
  %d = tosa.sub %s, %mx : (tensor<4x4x6xf32>, tensor<4x4x1xf32>) -> tensor<4x4x6xf32>
  %e = tosa.exp %d : (tensor<4x4x6xf32>) -> tensor<4x4x6xf32>
  %sum = tosa.reduce_sum %e {axis = 2 : i32} : (tensor<4x4x6xf32>) -> tensor<4x4x1xf32>
  %r = tosa.reciprocal %sum : (tensor<4x4x1xf32>) -> tensor<4x4x1xf32>
  %p = tosa.mul %e, %r, %sh : (tensor<4x4x6xf32>, tensor<4x4x1xf32>, tensor<1xi8>) -> tensor<4x4x6xf32>
  %o = tosa.matmul %p, %v3, %zp, %zp : (tensor<4x4x6xf32>, tensor<4x6x8xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<4x4x8xf32>
  return %o : tensor<4x4x8xf32>
}

// -----

// torch-mlir's linalg-on-tensors form: 3-D batch_matmuls around a 4-D
// softmax (reshapes between), the scale an f64 constant truncated in the
// body, a max that also computes the argmax (unused) and is expanded to a
// keepdim tensor, a [S, S] mask.
// CHECK-LABEL: func.func @torch_mlir_form
// CHECK-SAME: (%[[Q:.*]]: tensor<2x2x3x4xf32>, %[[K:.*]]: tensor<2x2x3x4xf32>, %[[V:.*]]: tensor<2x2x3x4xf32>, %[[M:.*]]: tensor<3x3xf32>)
// CHECK: %[[M4:.*]] = tensor.expand_shape %[[M]] {{\[}}[0, 1, 2], [3]] output_shape [1, 1, 3, 3]
// CHECK: %[[O:.*]] = kvq.attention q(%[[Q]] : tensor<2x2x3x4xf32>) k(%[[K]] : tensor<2x2x3x4xf32>) v(%[[V]] : tensor<2x2x3x4xf32>) mask(%[[M4]] : tensor<1x1x3x3xf32>) {scale = 5.000000e-01 : f32}
// CHECK-NOT: linalg.batch_matmul
// CHECK-NOT: math.exp
#m4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#m4mask = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
#m4row = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#m4keep = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>
func.func @torch_mlir_form(%q: tensor<2x2x3x4xf32>, %k: tensor<2x2x3x4xf32>, %v: tensor<2x2x3x4xf32>, %mask: tensor<3x3xf32>) -> tensor<2x2x3x4xf32> {
  %c0_i64 = arith.constant 0 : i64
  %cst = arith.constant 0.000000e+00 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %half = arith.constant 5.000000e-01 : f64
  %et = tensor.empty() : tensor<2x2x4x3xf32>
  %kt = linalg.transpose ins(%k : tensor<2x2x3x4xf32>) outs(%et : tensor<2x2x4x3xf32>) permutation = [0, 1, 3, 2]
  %q3 = tensor.collapse_shape %q [[0, 1], [2], [3]] : tensor<2x2x3x4xf32> into tensor<4x3x4xf32>
  %k3 = tensor.collapse_shape %kt [[0, 1], [2], [3]] : tensor<2x2x4x3xf32> into tensor<4x4x3xf32>
  %e3 = tensor.empty() : tensor<4x3x3xf32>
  %z3 = linalg.fill ins(%cst : f32) outs(%e3 : tensor<4x3x3xf32>) -> tensor<4x3x3xf32>
  %s3 = linalg.batch_matmul ins(%q3, %k3 : tensor<4x3x4xf32>, tensor<4x4x3xf32>) outs(%z3 : tensor<4x3x3xf32>) -> tensor<4x3x3xf32>
  %s = tensor.expand_shape %s3 [[0, 1], [2], [3]] output_shape [2, 2, 3, 3] : tensor<4x3x3xf32> into tensor<2x2x3x3xf32>
  %e4 = tensor.empty() : tensor<2x2x3x3xf32>
  %ss = linalg.generic {indexing_maps = [#m4, #m4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%s : tensor<2x2x3x3xf32>) outs(%e4 : tensor<2x2x3x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %t = arith.truncf %half : f64 to f32
    %r = arith.mulf %in, %t : f32
    linalg.yield %r : f32
  } -> tensor<2x2x3x3xf32>
  %sm = linalg.generic {indexing_maps = [#m4, #m4mask, #m4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%ss, %mask : tensor<2x2x3x3xf32>, tensor<3x3xf32>) outs(%e4 : tensor<2x2x3x3xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %r = arith.addf %in, %in_0 : f32
    linalg.yield %r : f32
  } -> tensor<2x2x3x3xf32>
  %ei = tensor.empty() : tensor<2x2x3xi64>
  %zi = linalg.fill ins(%c0_i64 : i64) outs(%ei : tensor<2x2x3xi64>) -> tensor<2x2x3xi64>
  %er = tensor.empty() : tensor<2x2x3xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x2x3xf32>) -> tensor<2x2x3xf32>
  %mx:2 = linalg.generic {indexing_maps = [#m4, #m4row, #m4row], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%sm : tensor<2x2x3x3xf32>) outs(%mi, %zi : tensor<2x2x3xf32>, tensor<2x2x3xi64>) {
  ^bb0(%in: f32, %out: f32, %out_0: i64):
    %i = linalg.index 3 : index
    %ii = arith.index_cast %i : index to i64
    %m = arith.maximumf %in, %out : f32
    %c = arith.cmpf ogt, %in, %out : f32
    %sel = arith.select %c, %ii, %out_0 : i64
    linalg.yield %m, %sel : f32, i64
  } -> (tensor<2x2x3xf32>, tensor<2x2x3xi64>)
  %mxk = tensor.expand_shape %mx#0 [[0], [1], [2, 3]] output_shape [2, 2, 3, 1] : tensor<2x2x3xf32> into tensor<2x2x3x1xf32>
  %d = linalg.generic {indexing_maps = [#m4, #m4keep, #m4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%sm, %mxk : tensor<2x2x3x3xf32>, tensor<2x2x3x1xf32>) outs(%e4 : tensor<2x2x3x3xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %r = arith.subf %in, %in_0 : f32
    linalg.yield %r : f32
  } -> tensor<2x2x3x3xf32>
  %ex = linalg.generic {indexing_maps = [#m4, #m4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%d : tensor<2x2x3x3xf32>) outs(%e4 : tensor<2x2x3x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.exp %in : f32
    linalg.yield %r : f32
  } -> tensor<2x2x3x3xf32>
  %ek = tensor.empty() : tensor<2x2x3x1xf32>
  %sk = linalg.fill ins(%cst : f32) outs(%ek : tensor<2x2x3x1xf32>) -> tensor<2x2x3x1xf32>
  %sum = linalg.generic {indexing_maps = [#m4, #m4keep], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%ex : tensor<2x2x3x3xf32>) outs(%sk : tensor<2x2x3x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<2x2x3x1xf32>
  %p = linalg.generic {indexing_maps = [#m4, #m4keep, #m4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x2x3x3xf32>, tensor<2x2x3x1xf32>) outs(%e4 : tensor<2x2x3x3xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %r = arith.divf %in, %in_0 : f32
    linalg.yield %r : f32
  } -> tensor<2x2x3x3xf32>
  %p3 = tensor.collapse_shape %p [[0, 1], [2], [3]] : tensor<2x2x3x3xf32> into tensor<4x3x3xf32>
  %v3 = tensor.collapse_shape %v [[0, 1], [2], [3]] : tensor<2x2x3x4xf32> into tensor<4x3x4xf32>
  %eo = tensor.empty() : tensor<4x3x4xf32>
  %zo = linalg.fill ins(%cst : f32) outs(%eo : tensor<4x3x4xf32>) -> tensor<4x3x4xf32>
  %o3 = linalg.batch_matmul ins(%p3, %v3 : tensor<4x3x3xf32>, tensor<4x3x4xf32>) outs(%zo : tensor<4x3x4xf32>) -> tensor<4x3x4xf32>
  %o = tensor.expand_shape %o3 [[0, 1], [2], [3]] output_shape [2, 2, 3, 4] : tensor<4x3x4xf32> into tensor<2x2x3x4xf32>
  return %o : tensor<2x2x3x4xf32>
}

// -----

// GQA after unit-dim folding (batch 1): the [Hkv, S, D] keys broadcast to
// [Hkv, g, S, D] and collapsed [[0, 1], [2], [3]]. K and V keep their 2
// heads.
// CHECK-LABEL: func.func @gqa_unit_batch
// CHECK-SAME: (%[[Q:.*]]: tensor<4x3x8xf32>, %[[K:.*]]: tensor<2x5x8xf32>, %[[V:.*]]: tensor<2x5x8xf32>)
// CHECK-DAG: %[[Q4:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0, 1], [2], [3]] output_shape [1, 4, 3, 8]
// CHECK-DAG: %[[K4:.*]] = tensor.expand_shape %[[K]] {{\[}}[0, 1], [2], [3]] output_shape [1, 2, 5, 8]
// CHECK-DAG: %[[V4:.*]] = tensor.expand_shape %[[V]] {{\[}}[0, 1], [2], [3]] output_shape [1, 2, 5, 8]
// CHECK: kvq.attention q(%[[Q4]] : tensor<1x4x3x8xf32>) k(%[[K4]] : tensor<1x2x5x8xf32>) v(%[[V4]] : tensor<1x2x5x8xf32>) {scale = 1.000000e+00 : f32}
// CHECK-NOT: linalg.broadcast
func.func @gqa_unit_batch(%q: tensor<4x3x8xf32>, %k: tensor<2x5x8xf32>, %v: tensor<2x5x8xf32>) -> tensor<4x3x8xf32> {
  %zero = arith.constant 0.0 : f32
  %eb = tensor.empty() : tensor<2x2x5x8xf32>
  %kb = linalg.broadcast ins(%k : tensor<2x5x8xf32>) outs(%eb : tensor<2x2x5x8xf32>) dimensions = [1]
  %k3 = tensor.collapse_shape %kb [[0, 1], [2], [3]] : tensor<2x2x5x8xf32> into tensor<4x5x8xf32>
  %vb = linalg.broadcast ins(%v : tensor<2x5x8xf32>) outs(%eb : tensor<2x2x5x8xf32>) dimensions = [1]
  %v3 = tensor.collapse_shape %vb [[0, 1], [2], [3]] : tensor<2x2x5x8xf32> into tensor<4x5x8xf32>
  %es = tensor.empty() : tensor<4x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<4x3x5xf32>) -> tensor<4x3x5xf32>
  %s = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>] ins(%q, %k3 : tensor<4x3x8xf32>, tensor<4x5x8xf32>) outs(%zs : tensor<4x3x5xf32>) -> tensor<4x3x5xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<4x3x5xf32>) outs(%es : tensor<4x3x5xf32>) -> tensor<4x3x5xf32>
  %eo = tensor.empty() : tensor<4x3x8xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<4x3x8xf32>) -> tensor<4x3x8xf32>
  %o = linalg.batch_matmul ins(%p, %v3 : tensor<4x3x5xf32>, tensor<4x5x8xf32>) outs(%zo : tensor<4x3x8xf32>) -> tensor<4x3x8xf32>
  return %o : tensor<4x3x8xf32>
}

// -----

// f16 Q / K / V with the scores accumulated in f32, rounded to f16, scaled,
// widened for an f32 softmax, the probabilities rounded to f16 and guarded
// (rows whose scores are all -inf become 0, as PyTorch's
// scaled_dot_product_attention writes it). kvq.attention computes in f32
// from the f16 operands; its f16 result is widened to the P V result's f32.
// CHECK-LABEL: func.func @f16_f32_softmax
// CHECK: %[[O:.*]] = kvq.attention q(%{{.*}} : tensor<1x2x3x4xf16>) k(%{{.*}} : tensor<1x2x5x4xf16>) v(%{{.*}} : tensor<1x2x5x4xf16>) {scale = 2.500000e-01 : f32} -> tensor<1x2x3x4xf16>
// CHECK: %[[O3:.*]] = tensor.collapse_shape %[[O]]
// CHECK: linalg.generic {{.*}} ins(%[[O3]] : tensor<2x3x4xf16>) outs(%{{.*}} : tensor<2x3x4xf32>)
// CHECK: arith.extf
// CHECK-NOT: linalg.softmax
#i3 = affine_map<(b, i, j) -> (b, i, j)>
#r3 = affine_map<(b, i, j) -> (b, i)>
func.func @f16_f32_softmax(%q: tensor<2x3x4xf16>, %k: tensor<2x5x4xf16>, %v: tensor<2x5x4xf16>) -> tensor<2x3x4xf16> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %quarter = arith.constant 2.500000e-01 : f64
  %true = arith.constant true
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %s = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>] ins(%q, %k : tensor<2x3x4xf16>, tensor<2x5x4xf16>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %eh = tensor.empty() : tensor<2x3x5xf16>
  %sh = linalg.generic {indexing_maps = [#i3, #i3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s : tensor<2x3x5xf32>) outs(%eh : tensor<2x3x5xf16>) {
  ^bb0(%a: f32, %o: f16):
    %r = arith.truncf %a : f32 to f16
    linalg.yield %r : f16
  } -> tensor<2x3x5xf16>
  %ss = linalg.generic {indexing_maps = [#i3, #i3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%sh : tensor<2x3x5xf16>) outs(%eh : tensor<2x3x5xf16>) {
  ^bb0(%a: f16, %o: f16):
    %c = arith.truncf %quarter : f64 to f16
    %r = arith.mulf %a, %c : f16
    linalg.yield %r : f16
  } -> tensor<2x3x5xf16>
  %x = linalg.generic {indexing_maps = [#i3, #i3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ss : tensor<2x3x5xf16>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f16, %o: f32):
    %r = arith.extf %a : f16 to f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %p = linalg.softmax dimension(2) ins(%x : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %eb = tensor.empty() : tensor<2x3x5xi1>
  %isinf = linalg.generic {indexing_maps = [#i3, #i3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : tensor<2x3x5xf32>) outs(%eb : tensor<2x3x5xi1>) {
  ^bb0(%a: f32, %o: i1):
    %w = arith.extf %a : f32 to f64
    %ninf64 = arith.constant 0xFFF0000000000000 : f64
    %c = arith.cmpf oeq, %w, %ninf64 : f64
    linalg.yield %c : i1
  } -> tensor<2x3x5xi1>
  %erb = tensor.empty() : tensor<2x3xi1>
  %ti = linalg.fill ins(%true : i1) outs(%erb : tensor<2x3xi1>) -> tensor<2x3xi1>
  %all = linalg.generic {indexing_maps = [#i3, #r3], iterator_types = ["parallel", "parallel", "reduction"]} ins(%isinf : tensor<2x3x5xi1>) outs(%ti : tensor<2x3xi1>) {
  ^bb0(%a: i1, %acc: i1):
    %r = arith.andi %a, %acc : i1
    linalg.yield %r : i1
  } -> tensor<2x3xi1>
  %zt = arith.constant dense<0.0> : tensor<f32>
  %pg = linalg.generic {indexing_maps = [#r3, affine_map<(b, i, j) -> ()>, #i3, #i3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%all, %zt, %p : tensor<2x3xi1>, tensor<f32>, tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%c: i1, %z: f32, %a: f32, %o: f32):
    %r = arith.select %c, %z, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %ph = linalg.generic {indexing_maps = [#i3, #i3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%pg : tensor<2x3x5xf32>) outs(%eh : tensor<2x3x5xf16>) {
  ^bb0(%a: f32, %o: f16):
    %r = arith.truncf %a : f32 to f16
    linalg.yield %r : f16
  } -> tensor<2x3x5xf16>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %o = linalg.batch_matmul ins(%ph, %v : tensor<2x3x5xf16>, tensor<2x5x4xf16>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %eoh = tensor.empty() : tensor<2x3x4xf16>
  %oh = linalg.generic {indexing_maps = [#i3, #i3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%o : tensor<2x3x4xf32>) outs(%eoh : tensor<2x3x4xf16>) {
  ^bb0(%a: f32, %out: f16):
    %r = arith.truncf %a : f32 to f16
    linalg.yield %r : f16
  } -> tensor<2x3x4xf16>
  return %oh : tensor<2x3x4xf16>
}

// -----

// A scale on K and a scale after the mask: kvq's scale is their product,
// and the mask is multiplied by the scale that follows it.
// CHECK-LABEL: func.func @scale_after_mask
// CHECK-SAME: %[[M:[a-z0-9]+]]: tensor<2x3x5xf32>)
// CHECK: %[[M4:.*]] = tensor.expand_shape %[[M]] {{\[}}[0, 1], [2], [3]] output_shape [1, 2, 3, 5]
// CHECK: %[[MS:.*]] = linalg.generic {{.*}} ins(%[[M4]] : tensor<1x2x3x5xf32>)
// CHECK: arith.constant 2.500000e-01 : f32
// CHECK: arith.mulf
// CHECK: kvq.attention {{.*}} mask(%[[MS]] : tensor<1x2x3x5xf32>) {scale = 5.000000e-01 : f32}
#i3 = affine_map<(b, i, j) -> (b, i, j)>
func.func @scale_after_mask(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>, %m: tensor<2x3x5xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ek = tensor.empty() : tensor<2x5x4xf32>
  %two = arith.constant 2.0 : f32
  %ks = linalg.generic {indexing_maps = [#i3, #i3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%k : tensor<2x5x4xf32>) outs(%ek : tensor<2x5x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.mulf %a, %two : f32
    linalg.yield %r : f32
  } -> tensor<2x5x4xf32>
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %s = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>] ins(%q, %ks : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %sm = linalg.add ins(%s, %m : tensor<2x3x5xf32>, tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %c = arith.constant dense<0.25> : tensor<2x3x5xf32>
  %x = linalg.mul ins(%sm, %c : tensor<2x3x5xf32>, tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %p = linalg.softmax dimension(2) ins(%x : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}

// -----

// The scores written as K Q^T (keys first) and P V reading them transposed.
// CHECK-LABEL: func.func @keys_first
// CHECK-SAME: (%[[Q:.*]]: tensor<2x3x4xf32>, %[[K:.*]]: tensor<2x5x4xf32>, %[[V:.*]]: tensor<2x5x4xf32>)
// CHECK-DAG: %[[Q4:.*]] = tensor.expand_shape %[[Q]]
// CHECK-DAG: %[[K4:.*]] = tensor.expand_shape %[[K]]
// CHECK: kvq.attention q(%[[Q4]] : tensor<1x2x3x4xf32>) k(%[[K4]] : tensor<1x2x5x4xf32>)
func.func @keys_first(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<2x5x3xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x5x3xf32>) -> tensor<2x5x3xf32>
  %s = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>] ins(%k, %q : tensor<2x5x4xf32>, tensor<2x3x4xf32>) outs(%zs : tensor<2x5x3xf32>) -> tensor<2x5x3xf32>
  %p = linalg.softmax dimension(1) ins(%s : tensor<2x5x3xf32>) outs(%es : tensor<2x5x3xf32>) -> tensor<2x5x3xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %o = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, k, m)>, affine_map<(b, m, n, k) -> (b, k, n)>, affine_map<(b, m, n, k) -> (b, m, n)>] ins(%p, %v : tensor<2x5x3xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}

// -----

// Batch [2, 2, 2] and a mask that only the middle dim reads: no split of
// the batch into kvq's [B, H] keeps it broadcast, so it is read at the
// scores' shape and reshaped.
// CHECK-LABEL: func.func @mask_middle
// CHECK: %[[MF:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<2x3x5xf32>) outs(%{{.*}} : tensor<2x2x2x3x5xf32>)
// CHECK: %[[M3:.*]] = tensor.collapse_shape %[[MF]] {{\[}}[0, 1, 2], [3], [4]]
// CHECK: %[[M4:.*]] = tensor.expand_shape %[[M3]] {{\[}}[0, 1], [2], [3]] output_shape [1, 8, 3, 5]
// CHECK: kvq.attention {{.*}} mask(%[[M4]] : tensor<1x8x3x5xf32>)
func.func @mask_middle(%q: tensor<8x3x4xf32>, %k: tensor<8x5x4xf32>, %v: tensor<8x5x4xf32>, %m: tensor<2x3x5xf32>) -> tensor<8x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<8x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<8x3x5xf32>) -> tensor<8x3x5xf32>
  %s = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>] ins(%q, %k : tensor<8x3x4xf32>, tensor<8x5x4xf32>) outs(%zs : tensor<8x3x5xf32>) -> tensor<8x3x5xf32>
  %s5 = tensor.expand_shape %s [[0, 1, 2], [3], [4]] output_shape [2, 2, 2, 3, 5] : tensor<8x3x5xf32> into tensor<2x2x2x3x5xf32>
  %e5 = tensor.empty() : tensor<2x2x2x3x5xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(a, b, c, i, j) -> (a, b, c, i, j)>, affine_map<(a, b, c, i, j) -> (b, i, j)>, affine_map<(a, b, c, i, j) -> (a, b, c, i, j)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%s5, %m : tensor<2x2x2x3x5xf32>, tensor<2x3x5xf32>) outs(%e5 : tensor<2x2x2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.addf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x2x2x3x5xf32>
  %p5 = linalg.softmax dimension(4) ins(%y : tensor<2x2x2x3x5xf32>) outs(%e5 : tensor<2x2x2x3x5xf32>) -> tensor<2x2x2x3x5xf32>
  %p = tensor.collapse_shape %p5 [[0, 1, 2], [3], [4]] : tensor<2x2x2x3x5xf32> into tensor<8x3x5xf32>
  %eo = tensor.empty() : tensor<8x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<8x3x4xf32>) -> tensor<8x3x4xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x3x5xf32>, tensor<8x5x4xf32>) outs(%zo : tensor<8x3x4xf32>) -> tensor<8x3x4xf32>
  return %o : tensor<8x3x4xf32>
}
