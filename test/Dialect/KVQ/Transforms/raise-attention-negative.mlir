// RUN: kvq-opt %s --split-input-file --kvq-raise-attention=report -verify-diagnostics | FileCheck %s

// Near misses that must stay untouched; with `report` a remark at the P V
// contraction says why.
// CHECK-NOT: kvq.attention


// linalg.softmax over the query dim.
func.func @softmax_wrong_dim(%q: tensor<8x5x16xf32>, %k: tensor<8x7x16xf32>, %v: tensor<8x7x16xf32>) -> (tensor<8x5x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<8x5x7xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, k) -> (b, m, k)>,
         affine_map<(b, m, n, k) -> (b, n, k)>,
         affine_map<(b, m, n, k) -> (b, m, n)>]
       ins(%q, %k : tensor<8x5x16xf32>, tensor<8x7x16xf32>) outs(%z0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %p = linalg.softmax dimension(1) ins(%s : tensor<8x5x7xf32>) outs(%e0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %e1 = tensor.empty() : tensor<8x5x16xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x5x16xf32>) -> tensor<8x5x16xf32>
  // expected-remark @+1 {{not raised to kvq.attention: linalg.softmax normalizes dim 1, not the key dim 2}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x5x7xf32>, tensor<8x7x16xf32>) outs(%z1 : tensor<8x5x16xf32>) -> tensor<8x5x16xf32>
  return %o : tensor<8x5x16xf32>
}

// -----

// Scores multiplied by a tensor that is not a splat constant.
func.func @nonsplat_scale(%q: tensor<8x5x16xf32>, %k: tensor<8x7x16xf32>, %v: tensor<8x7x16xf32>, %c: tensor<8x5x7xf32>) -> (tensor<8x5x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<8x5x7xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %s0 = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, k) -> (b, m, k)>,
         affine_map<(b, m, n, k) -> (b, n, k)>,
         affine_map<(b, m, n, k) -> (b, m, n)>]
       ins(%q, %k : tensor<8x5x16xf32>, tensor<8x7x16xf32>) outs(%z0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %s = linalg.mul ins(%s0, %c : tensor<8x5x7xf32>, tensor<8x5x7xf32>) outs(%e0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x5x7xf32>) outs(%e0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %e1 = tensor.empty() : tensor<8x5x16xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x5x16xf32>) -> tensor<8x5x16xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the softmax input is not a (scaled, masked) contraction of queries and keys}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x5x7xf32>, tensor<8x7x16xf32>) outs(%z1 : tensor<8x5x16xf32>) -> tensor<8x5x16xf32>
  return %o : tensor<8x5x16xf32>
}

// -----

// The probabilities are also returned.
func.func @softmax_other_use(%q: tensor<8x5x16xf32>, %k: tensor<8x7x16xf32>, %v: tensor<8x7x16xf32>) -> (tensor<8x5x16xf32>, tensor<8x5x7xf32>) {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<8x5x7xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, k) -> (b, m, k)>,
         affine_map<(b, m, n, k) -> (b, n, k)>,
         affine_map<(b, m, n, k) -> (b, m, n)>]
       ins(%q, %k : tensor<8x5x16xf32>, tensor<8x7x16xf32>) outs(%z0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x5x7xf32>) outs(%e0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %e1 = tensor.empty() : tensor<8x5x16xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x5x16xf32>) -> tensor<8x5x16xf32>
  // expected-remark @+1 {{not raised to kvq.attention: 'linalg.softmax' in the pattern has a use outside it}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x5x7xf32>, tensor<8x7x16xf32>) outs(%z1 : tensor<8x5x16xf32>) -> tensor<8x5x16xf32>
  return %o, %p : tensor<8x5x16xf32>, tensor<8x5x7xf32>
}

// -----

// P V contracts the probabilities over their query dim (P^T V).
func.func @pv_over_query_dim(%q: tensor<8x7x16xf32>, %k: tensor<8x7x16xf32>, %v: tensor<8x7x16xf32>) -> (tensor<8x7x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<8x7x7xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x7x7xf32>) -> tensor<8x7x7xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, k) -> (b, m, k)>,
         affine_map<(b, m, n, k) -> (b, n, k)>,
         affine_map<(b, m, n, k) -> (b, m, n)>]
       ins(%q, %k : tensor<8x7x16xf32>, tensor<8x7x16xf32>) outs(%z0 : tensor<8x7x7xf32>) -> tensor<8x7x7xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x7x7xf32>) outs(%e0 : tensor<8x7x7xf32>) -> tensor<8x7x7xf32>
  %e1 = tensor.empty() : tensor<8x7x16xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x7x16xf32>) -> tensor<8x7x16xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the P V contraction reduces over the query dim of the probabilities, not the key dim}}
  %o = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, k) -> (b, k, m)>,
         affine_map<(b, m, n, k) -> (b, k, n)>,
         affine_map<(b, m, n, k) -> (b, m, n)>]
       ins(%p, %v : tensor<8x7x7xf32>, tensor<8x7x16xf32>) outs(%z1 : tensor<8x7x16xf32>) -> tensor<8x7x16xf32>
  return %o : tensor<8x7x16xf32>
}

// -----

// The scores accumulate into a bias (C += Q K^T).
func.func @scores_nonzero_init(%q: tensor<8x5x16xf32>, %k: tensor<8x7x16xf32>, %v: tensor<8x7x16xf32>, %bias: tensor<8x5x7xf32>) -> (tensor<8x5x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<8x5x7xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, k) -> (b, m, k)>,
         affine_map<(b, m, n, k) -> (b, n, k)>,
         affine_map<(b, m, n, k) -> (b, m, n)>]
       ins(%q, %k : tensor<8x5x16xf32>, tensor<8x7x16xf32>) outs(%bias : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x5x7xf32>) outs(%e0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %e1 = tensor.empty() : tensor<8x5x16xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x5x16xf32>) -> tensor<8x5x16xf32>
  // expected-remark @+1 {{not raised to kvq.attention: scores: the contraction accumulates into a tensor that is not zero}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x5x7xf32>, tensor<8x7x16xf32>) outs(%z1 : tensor<8x5x16xf32>) -> tensor<8x5x16xf32>
  return %o : tensor<8x5x16xf32>
}

// -----

// A scale applied after the mask would scale the mask too.
func.func @scale_after_mask(%q: tensor<8x5x16xf32>, %k: tensor<8x7x16xf32>, %v: tensor<8x7x16xf32>, %m: tensor<8x5x7xf32>) -> (tensor<8x5x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<8x5x7xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %s0 = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, k) -> (b, m, k)>,
         affine_map<(b, m, n, k) -> (b, n, k)>,
         affine_map<(b, m, n, k) -> (b, m, n)>]
       ins(%q, %k : tensor<8x5x16xf32>, tensor<8x7x16xf32>) outs(%z0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %sm = linalg.add ins(%s0, %m : tensor<8x5x7xf32>, tensor<8x5x7xf32>) outs(%e0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %c = arith.constant dense<0.25> : tensor<8x5x7xf32>
  %s = linalg.mul ins(%sm, %c : tensor<8x5x7xf32>, tensor<8x5x7xf32>) outs(%e0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x5x7xf32>) outs(%e0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %e1 = tensor.empty() : tensor<8x5x16xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x5x16xf32>) -> tensor<8x5x16xf32>
  // expected-remark @+1 {{not raised to kvq.attention: a scale multiplies the mask too}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x5x7xf32>, tensor<8x7x16xf32>) outs(%z1 : tensor<8x5x16xf32>) -> tensor<8x5x16xf32>
  return %o : tensor<8x5x16xf32>
}

// -----

// A mask broadcast along the keys is not an attention mask.
func.func @mask_over_queries(%q: tensor<8x5x16xf32>, %k: tensor<8x7x16xf32>, %v: tensor<8x7x16xf32>, %m: tensor<8x5xf32>) -> (tensor<8x5x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<8x5x7xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %s0 = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, k) -> (b, m, k)>,
         affine_map<(b, m, n, k) -> (b, n, k)>,
         affine_map<(b, m, n, k) -> (b, m, n)>]
       ins(%q, %k : tensor<8x5x16xf32>, tensor<8x7x16xf32>) outs(%z0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (b, i, j)>, affine_map<(b, i, j) -> (b, i)>, affine_map<(b, i, j) -> (b, i, j)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s0, %m : tensor<8x5x7xf32>, tensor<8x5xf32>) outs(%e0 : tensor<8x5x7xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.addf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<8x5x7xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x5x7xf32>) outs(%e0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %e1 = tensor.empty() : tensor<8x5x16xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x5x16xf32>) -> tensor<8x5x16xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the mask is broadcast along the key dim}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x5x7xf32>, tensor<8x7x16xf32>) outs(%z1 : tensor<8x5x16xf32>) -> tensor<8x5x16xf32>
  return %o : tensor<8x5x16xf32>
}

// -----

// tosa: the softmax sums over the query dim.
func.func @tosa_sum_wrong_axis(%q: tensor<8x5x16xf32>, %kt: tensor<8x16x7xf32>, %v: tensor<8x7x16xf32>) -> tensor<8x5x16xf32> {
  %sh = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %s = tosa.matmul %q, %kt, %zp, %zp : (tensor<8x5x16xf32>, tensor<8x16x7xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<8x5x7xf32>
  %mx = tosa.reduce_max %s {axis = 2 : i32} : (tensor<8x5x7xf32>) -> tensor<8x5x1xf32>
  %d = tosa.sub %s, %mx : (tensor<8x5x7xf32>, tensor<8x5x1xf32>) -> tensor<8x5x7xf32>
  %e = tosa.exp %d : (tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %sum = tosa.reduce_sum %e {axis = 1 : i32} : (tensor<8x5x7xf32>) -> tensor<8x1x7xf32>
  %r = tosa.reciprocal %sum : (tensor<8x1x7xf32>) -> tensor<8x1x7xf32>
  %p = tosa.mul %e, %r, %sh : (tensor<8x5x7xf32>, tensor<8x1x7xf32>, tensor<1xi8>) -> tensor<8x5x7xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the softmax sums over dim 1, not the key dim 2}}
  %o = tosa.matmul %p, %v, %zp, %zp : (tensor<8x5x7xf32>, tensor<8x7x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<8x5x16xf32>
  return %o : tensor<8x5x16xf32>
}

// -----

// tosa: the row max is taken over the query dim, which is not a shift of
// each row.
func.func @tosa_max_wrong_axis(%q: tensor<8x5x16xf32>, %kt: tensor<8x16x7xf32>, %v: tensor<8x7x16xf32>) -> tensor<8x5x16xf32> {
  %sh = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %s = tosa.matmul %q, %kt, %zp, %zp : (tensor<8x5x16xf32>, tensor<8x16x7xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<8x5x7xf32>
  %mx = tosa.reduce_max %s {axis = 1 : i32} : (tensor<8x5x7xf32>) -> tensor<8x1x7xf32>
  %d = tosa.sub %s, %mx : (tensor<8x5x7xf32>, tensor<8x1x7xf32>) -> tensor<8x5x7xf32>
  %e = tosa.exp %d : (tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %sum = tosa.reduce_sum %e {axis = 2 : i32} : (tensor<8x5x7xf32>) -> tensor<8x5x1xf32>
  %r = tosa.reciprocal %sum : (tensor<8x5x1xf32>) -> tensor<8x5x1xf32>
  %p = tosa.mul %e, %r, %sh : (tensor<8x5x7xf32>, tensor<8x5x1xf32>, tensor<1xi8>) -> tensor<8x5x7xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the softmax subtracts the max over dim 1, not the key dim 2}}
  %o = tosa.matmul %p, %v, %zp, %zp : (tensor<8x5x7xf32>, tensor<8x7x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<8x5x16xf32>
  return %o : tensor<8x5x16xf32>
}

// -----

// The scores contract over two dims (head dim and heads), not the head
// dim alone.
func.func @scores_two_contraction_dims(%q: tensor<4x5x16xf32>, %k: tensor<4x7x16xf32>, %v: tensor<1x7x16xf32>) -> tensor<1x5x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<1x5x7xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x5x7xf32>) -> tensor<1x5x7xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(b, m, n, h, d) -> (h, m, d)>, affine_map<(b, m, n, h, d) -> (h, n, d)>, affine_map<(b, m, n, h, d) -> (b, m, n)>],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%q, %k : tensor<4x5x16xf32>, tensor<4x7x16xf32>) outs(%z0 : tensor<1x5x7xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x5x7xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<1x5x7xf32>) outs(%e0 : tensor<1x5x7xf32>) -> tensor<1x5x7xf32>
  %e1 = tensor.empty() : tensor<1x5x16xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x5x16xf32>) -> tensor<1x5x16xf32>
  // expected-remark @+1 {{not raised to kvq.attention: scores: the contraction does not have exactly one M, N and K dim and at most two batch dims}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<1x5x7xf32>, tensor<1x7x16xf32>) outs(%z1 : tensor<1x5x16xf32>) -> tensor<1x5x16xf32>
  return %o : tensor<1x5x16xf32>
}

// -----

// f16 queries and keys with f32 scores: kvq.attention has one element
// type.
func.func @mixed_element_types(%q: tensor<8x5x16xf16>, %k: tensor<8x7x16xf16>, %v: tensor<8x7x16xf32>) -> tensor<8x5x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<8x5x7xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, k) -> (b, m, k)>,
         affine_map<(b, m, n, k) -> (b, n, k)>,
         affine_map<(b, m, n, k) -> (b, m, n)>]
       ins(%q, %k : tensor<8x5x16xf16>, tensor<8x7x16xf16>) outs(%z0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x5x7xf32>) outs(%e0 : tensor<8x5x7xf32>) -> tensor<8x5x7xf32>
  %e1 = tensor.empty() : tensor<8x5x16xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x5x16xf32>) -> tensor<8x5x16xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the pattern mixes element types}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x5x7xf32>, tensor<8x7x16xf32>) outs(%z1 : tensor<8x5x16xf32>) -> tensor<8x5x16xf32>
  return %o : tensor<8x5x16xf32>
}

// -----

// A plain matmul chain without a softmax is not a candidate: no remark.
func.func @no_softmax(%a: tensor<5x16xf32>, %b: tensor<16x7xf32>, %c: tensor<7x8xf32>) -> tensor<5x8xf32> {
  %zero = arith.constant 0.0 : f32
  %half = arith.constant dense<0.5> : tensor<5x7xf32>
  %e0 = tensor.empty() : tensor<5x7xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<5x7xf32>) -> tensor<5x7xf32>
  %s = linalg.matmul ins(%a, %b : tensor<5x16xf32>, tensor<16x7xf32>) outs(%z0 : tensor<5x7xf32>) -> tensor<5x7xf32>
  %p = linalg.mul ins(%s, %half : tensor<5x7xf32>, tensor<5x7xf32>) outs(%e0 : tensor<5x7xf32>) -> tensor<5x7xf32>
  %e1 = tensor.empty() : tensor<5x8xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<5x8xf32>) -> tensor<5x8xf32>
  %o = linalg.matmul ins(%p, %c : tensor<5x7xf32>, tensor<7x8xf32>) outs(%z1 : tensor<5x8xf32>) -> tensor<5x8xf32>
  return %o : tensor<5x8xf32>
}
