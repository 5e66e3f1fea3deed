// RUN: kvq-opt %s --split-input-file --kvq-raise-attention=report -verify-diagnostics | FileCheck %s

// Near misses that must stay untouched: with `report`, every softmax that
// is not raised gets a remark naming the check that failed, at its P V
// contraction (or at the softmax when no contraction with V follows it).
// One function per blocker; raise-attention-blockers.test checks that every
// blocker of RaiseAttention.cpp has one here.
// CHECK-NOT: kvq.attention

// -----

// linalg.softmax over the query dim.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @softmax_wrong_dim(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %p = linalg.softmax dimension(1) ins(%x : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: linalg.softmax normalizes dim 1, not the key dim 2 that P V reduces over}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// The denominator sums the scores, not the exponentials.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @sum_of_scores(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %er = tensor.empty() : tensor<2x3xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %mx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x3x5xf32>) outs(%mi : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %mx : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x3x5xf32>) outs(%si : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the softmax denominator is not a sum of its numerators}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// The sum runs over the query dim.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @sum_wrong_dim(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %er = tensor.empty() : tensor<2x3xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %mx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x3x5xf32>) outs(%mi : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %mx : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %er5 = tensor.empty() : tensor<2x5xf32>
  %si5 = linalg.fill ins(%zero : f32) outs(%er5 : tensor<2x5xf32>) -> tensor<2x5xf32>
  %sum = linalg.generic {indexing_maps = [#id, affine_map<(b, i, j) -> (b, j)>], iterator_types = ["parallel", "reduction", "parallel"]} ins(%ex : tensor<2x3x5xf32>) outs(%si5 : tensor<2x5xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x5xf32>
  %p = linalg.generic {indexing_maps = [#id, affine_map<(b, i, j) -> (b, j)>, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x3x5xf32>, tensor<2x5xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the softmax sums over dim 1, not the key dim 2 that P V reduces over}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// The row sum starts from 1.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @sum_init_one(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %er = tensor.empty() : tensor<2x3xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %mx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x3x5xf32>) outs(%mi : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %mx : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %one = arith.constant 1.0 : f32
  %si = linalg.fill ins(%one : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x3x5xf32>) outs(%si : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the softmax sum does not start from zero}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// The row sums are read as a [B, keys] tensor, not per row.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @denominator_not_per_row(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %er = tensor.empty() : tensor<2x3xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %mx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x3x5xf32>) outs(%mi : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %mx : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x3x5xf32>) outs(%si : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %p = linalg.generic {indexing_maps = [#id, affine_map<(b, i, j) -> (b, 0)>, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the softmax denominator is not broadcast along the key dim}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// exp2 instead of exp.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @numerator_exp2(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %er = tensor.empty() : tensor<2x3xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %mx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x3x5xf32>) outs(%mi : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %mx : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %r = math.exp2 %d : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x3x5xf32>) outs(%si : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the softmax numerator is not an exponential}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// The exponential reads the scores transposed.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @exp_of_broadcast(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %er = tensor.empty() : tensor<2x3xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %mx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x3x5xf32>) outs(%mi : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %ex = linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (b, 0, j)>, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x3x5xf32>) outs(%si : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the softmax exponentiates a broadcast or constant}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// The exponential subtracts the row sum, not the row max.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @subtract_sum(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %er = tensor.empty() : tensor<2x3xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %mx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x3x5xf32>) outs(%mi : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %mx : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x3x5xf32>) outs(%si : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the softmax subtracts something other than the row max}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// The row max runs over the query dim.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @max_wrong_dim(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %er = tensor.empty() : tensor<2x3xf32>
  %er5 = tensor.empty() : tensor<2x5xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er5 : tensor<2x5xf32>) -> tensor<2x5xf32>
  %mx = linalg.generic {indexing_maps = [#id, affine_map<(b, i, j) -> (b, j)>], iterator_types = ["parallel", "reduction", "parallel"]} ins(%x : tensor<2x3x5xf32>) outs(%mi : tensor<2x5xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x5xf32>
  %ex = linalg.generic {indexing_maps = [#id, affine_map<(b, i, j) -> (b, j)>, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %mx : tensor<2x3x5xf32>, tensor<2x5xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x3x5xf32>) outs(%si : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the softmax subtracts the max over dim 1, not the key dim 2}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// The row max starts from 0, above the scores of a row of negative scores.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @max_init_zero(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %er = tensor.empty() : tensor<2x3xf32>
  %mi = linalg.fill ins(%zero : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %mx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x3x5xf32>) outs(%mi : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %mx : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x3x5xf32>) outs(%si : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the softmax row max starts from a value above the lowest finite value}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// The row max is read at key 0 of every row of another batch.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @max_not_per_row(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %er = tensor.empty() : tensor<2x3xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %mx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x3x5xf32>) outs(%mi : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %ex = linalg.generic {indexing_maps = [#id, affine_map<(b, i, j) -> (0, i)>, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %mx : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x3x5xf32>) outs(%si : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the softmax row max is not broadcast along the key dim}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// The exponentials divided by the row max: a reduction, but not their sum.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @div_by_exp(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %er = tensor.empty() : tensor<2x3xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %mx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x3x5xf32>) outs(%mi : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %mx : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x3x5xf32>) outs(%si : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %mx : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the softmax denominator is not a sum of its numerators}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// The row sums divided by the exponentials (the operands swapped): not a softmax.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @sum_divided_by_exp(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %er = tensor.empty() : tensor<2x3xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %mx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x3x5xf32>) outs(%mi : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  // expected-remark @+1 {{softmax not raised to kvq.attention: the exponentials are summed but not divided by their sum (not a softmax)}}
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %mx : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x3x5xf32>) outs(%si : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %p = linalg.generic {indexing_maps = [#row, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%sum, %ex : tensor<2x3xf32>, tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// The exponentials of the first query divide every row's sum.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @numerator_broadcast(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %er = tensor.empty() : tensor<2x3xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %mx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x3x5xf32>) outs(%mi : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %mx : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x3x5xf32>) outs(%si : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %p = linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (b, 0, j)>, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the probabilities are not a softmax: expected the exponentials divided by their row sums}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// The exponentials times their row sums (no reciprocal).
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @times_sum(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %er = tensor.empty() : tensor<2x3xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %mx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x3x5xf32>) outs(%mi : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %mx : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x3x5xf32>) outs(%si : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.mulf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the probabilities are not a softmax: expected the exponentials times the reciprocal of their row sums}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// The probabilities reshaped across the query and key dims.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @probabilities_reshaped(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %er = tensor.empty() : tensor<2x3xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %mx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x3x5xf32>) outs(%mi : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %mx : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x3x5xf32>) outs(%si : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %p2 = tensor.collapse_shape %p [[0], [1, 2]] : tensor<2x3x5xf32> into tensor<2x15xf32>
  %p3 = tensor.expand_shape %p2 [[0], [1, 2]] output_shape [2, 3, 5] : tensor<2x15xf32> into tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the probabilities are reshaped other than by splitting or merging batch dims ('tensor.expand_shape')}}
  %o = linalg.batch_matmul ins(%p3, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// Rows whose scores are all -inf become 1, not 0.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @guard_select_one(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %er = tensor.empty() : tensor<2x3xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %mx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x3x5xf32>) outs(%mi : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %mx : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x3x5xf32>) outs(%si : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %cinf = arith.constant 0xFF800000 : f32
  %true = arith.constant true
  %eb = tensor.empty() : tensor<2x3x5xi1>
  %isinf = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : tensor<2x3x5xf32>) outs(%eb : tensor<2x3x5xi1>) {
  ^bb0(%a: f32, %o: i1):
    %c = arith.cmpf oeq, %a, %cinf : f32
    linalg.yield %c : i1
  } -> tensor<2x3x5xi1>
  %erb = tensor.empty() : tensor<2x3xi1>
  %ti = linalg.fill ins(%true : i1) outs(%erb : tensor<2x3xi1>) -> tensor<2x3xi1>
  %all = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%isinf : tensor<2x3x5xi1>) outs(%ti : tensor<2x3xi1>) {
  ^bb0(%a: i1, %acc: i1):
    %r = arith.andi %a, %acc : i1
    linalg.yield %r : i1
  } -> tensor<2x3xi1>
  %pg = linalg.generic {indexing_maps = [#row, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%all, %p : tensor<2x3xi1>, tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%c: i1, %a: f32, %o: f32):
    %z = arith.constant 1.0 : f32
    %r = arith.select %c, %z, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the probabilities are selected from something other than zero and the softmax}}
  %o = linalg.batch_matmul ins(%pg, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// Rows with any score -inf (ori) become 0.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @guard_any(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %er = tensor.empty() : tensor<2x3xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %mx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x3x5xf32>) outs(%mi : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %mx : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x3x5xf32>) outs(%si : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %cinf = arith.constant 0xFF800000 : f32
  %true = arith.constant true
  %eb = tensor.empty() : tensor<2x3x5xi1>
  %isinf = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : tensor<2x3x5xf32>) outs(%eb : tensor<2x3x5xi1>) {
  ^bb0(%a: f32, %o: i1):
    %c = arith.cmpf oeq, %a, %cinf : f32
    linalg.yield %c : i1
  } -> tensor<2x3x5xi1>
  %erb = tensor.empty() : tensor<2x3xi1>
  %ti = linalg.fill ins(%true : i1) outs(%erb : tensor<2x3xi1>) -> tensor<2x3xi1>
  %all = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%isinf : tensor<2x3x5xi1>) outs(%ti : tensor<2x3xi1>) {
  ^bb0(%a: i1, %acc: i1):
    %r = arith.ori %a, %acc : i1
    linalg.yield %r : i1
  } -> tensor<2x3xi1>
  %pg = linalg.generic {indexing_maps = [#row, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%all, %p : tensor<2x3xi1>, tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%c: i1, %a: f32, %o: f32):
    %z = arith.constant 0.0 : f32
    %r = arith.select %c, %z, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the probabilities are zeroed under a condition other than all the row's scores being -inf}}
  %o = linalg.batch_matmul ins(%pg, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// The guard tests the exponentials, not the scores.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @guard_other_scores(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %er = tensor.empty() : tensor<2x3xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %mx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x3x5xf32>) outs(%mi : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %mx : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x3x5xf32>) outs(%si : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %cinf = arith.constant 0xFF800000 : f32
  %true = arith.constant true
  %eb = tensor.empty() : tensor<2x3x5xi1>
  %isinf = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex : tensor<2x3x5xf32>) outs(%eb : tensor<2x3x5xi1>) {
  ^bb0(%a: f32, %o: i1):
    %c = arith.cmpf oeq, %a, %cinf : f32
    linalg.yield %c : i1
  } -> tensor<2x3x5xi1>
  %erb = tensor.empty() : tensor<2x3xi1>
  %ti = linalg.fill ins(%true : i1) outs(%erb : tensor<2x3xi1>) -> tensor<2x3xi1>
  %all = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%isinf : tensor<2x3x5xi1>) outs(%ti : tensor<2x3xi1>) {
  ^bb0(%a: i1, %acc: i1):
    %r = arith.andi %a, %acc : i1
    linalg.yield %r : i1
  } -> tensor<2x3xi1>
  %pg = linalg.generic {indexing_maps = [#row, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%all, %p : tensor<2x3xi1>, tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%c: i1, %a: f32, %o: f32):
    %z = arith.constant 0.0 : f32
    %r = arith.select %c, %z, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the probabilities are zeroed where other scores than the softmax input are all -inf}}
  %o = linalg.batch_matmul ins(%pg, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// The guard tests Q K^T before the scale, not the softmax input.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @guard_other_tensor(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x0 = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x0 : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %o: f32):
    %c = arith.constant 0.5 : f32
    %r = arith.mulf %a, %c : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %er = tensor.empty() : tensor<2x3xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %mx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x3x5xf32>) outs(%mi : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %mx : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x3x5xf32>) outs(%si : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %cinf = arith.constant 0xFF800000 : f32
  %true = arith.constant true
  %eb = tensor.empty() : tensor<2x3x5xi1>
  %isinf = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x0 : tensor<2x3x5xf32>) outs(%eb : tensor<2x3x5xi1>) {
  ^bb0(%a: f32, %o: i1):
    %c = arith.cmpf oeq, %a, %cinf : f32
    linalg.yield %c : i1
  } -> tensor<2x3x5xi1>
  %erb = tensor.empty() : tensor<2x3xi1>
  %ti = linalg.fill ins(%true : i1) outs(%erb : tensor<2x3xi1>) -> tensor<2x3xi1>
  %all = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%isinf : tensor<2x3x5xi1>) outs(%ti : tensor<2x3xi1>) {
  ^bb0(%a: i1, %acc: i1):
    %r = arith.andi %a, %acc : i1
    linalg.yield %r : i1
  } -> tensor<2x3xi1>
  %pg = linalg.generic {indexing_maps = [#row, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%all, %p : tensor<2x3xi1>, tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%c: i1, %a: f32, %o: f32):
    %z = arith.constant 0.0 : f32
    %r = arith.select %c, %z, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the probabilities are zeroed where other scores than the softmax input are all -inf}}
  %o = linalg.batch_matmul ins(%pg, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// Two guards on the probabilities.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @double_guard(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %er = tensor.empty() : tensor<2x3xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %mx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x3x5xf32>) outs(%mi : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %mx : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x3x5xf32>) outs(%si : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %cinf = arith.constant 0xFF800000 : f32
  %true = arith.constant true
  %eb = tensor.empty() : tensor<2x3x5xi1>
  %isinf = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : tensor<2x3x5xf32>) outs(%eb : tensor<2x3x5xi1>) {
  ^bb0(%a: f32, %o: i1):
    %c = arith.cmpf oeq, %a, %cinf : f32
    linalg.yield %c : i1
  } -> tensor<2x3x5xi1>
  %erb = tensor.empty() : tensor<2x3xi1>
  %ti = linalg.fill ins(%true : i1) outs(%erb : tensor<2x3xi1>) -> tensor<2x3xi1>
  %all = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%isinf : tensor<2x3x5xi1>) outs(%ti : tensor<2x3xi1>) {
  ^bb0(%a: i1, %acc: i1):
    %r = arith.andi %a, %acc : i1
    linalg.yield %r : i1
  } -> tensor<2x3xi1>
  %pg = linalg.generic {indexing_maps = [#row, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%all, %p : tensor<2x3xi1>, tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%c: i1, %a: f32, %o: f32):
    %z = arith.constant 0.0 : f32
    %r = arith.select %c, %z, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %cinf2 = arith.constant 0xFF800000 : f32
  %true2 = arith.constant true
  %eb2 = tensor.empty() : tensor<2x3x5xi1>
  %isinf2 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : tensor<2x3x5xf32>) outs(%eb2 : tensor<2x3x5xi1>) {
  ^bb0(%a: f32, %o: i1):
    %c = arith.cmpf oeq, %a, %cinf2 : f32
    linalg.yield %c : i1
  } -> tensor<2x3x5xi1>
  %erb2 = tensor.empty() : tensor<2x3xi1>
  %ti2 = linalg.fill ins(%true2 : i1) outs(%erb2 : tensor<2x3xi1>) -> tensor<2x3xi1>
  %all2 = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%isinf2 : tensor<2x3x5xi1>) outs(%ti2 : tensor<2x3xi1>) {
  ^bb0(%a: i1, %acc: i1):
    %r = arith.andi %a, %acc : i1
    linalg.yield %r : i1
  } -> tensor<2x3xi1>
  %pg2 = linalg.generic {indexing_maps = [#row, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%all2, %pg : tensor<2x3xi1>, tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%c: i1, %a: f32, %o: f32):
    %z = arith.constant 0.0 : f32
    %r = arith.select %c, %z, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>

  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the probabilities are not a softmax}}
  %o = linalg.batch_matmul ins(%pg2, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// The softmax of a function argument.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @softmax_of_argument(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>, %k3: tensor<2x3x5xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %p = linalg.softmax dimension(2) ins(%k3 : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the softmax input is not computed from a contraction of queries and keys}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// The scores accumulate into a bias (C += Q K^T).
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @scores_nonzero_init(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>, %bias: tensor<2x3x5xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%bias : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %p = linalg.softmax dimension(2) ins(%x : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: scores: the contraction accumulates into a tensor that is not zero}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// Q K^T contracts two dims.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @scores_two_k_dims(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %q4 = tensor.expand_shape %q [[0], [1], [2, 3]] output_shape [2, 3, 2, 2] : tensor<2x3x4xf32> into tensor<2x3x2x2xf32>
  %k4 = tensor.expand_shape %k [[0], [1], [2, 3]] output_shape [2, 5, 2, 2] : tensor<2x5x4xf32> into tensor<2x5x2x2xf32>
  %x = linalg.generic {indexing_maps = [affine_map<(b, m, n, k, l) -> (b, m, k, l)>, affine_map<(b, m, n, k, l) -> (b, n, k, l)>, affine_map<(b, m, n, k, l) -> (b, m, n)>], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%q4, %k4 : tensor<2x3x2x2xf32>, tensor<2x5x2x2xf32>) outs(%zs : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  } -> tensor<2x3x5xf32>
  %p = linalg.softmax dimension(2) ins(%x : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: scores: the contraction does not have exactly one M, N and K dim}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// The scores reshaped across the query and key dims.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @scores_reshaped(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x2 = tensor.collapse_shape %x [[0], [1, 2]] : tensor<2x3x5xf32> into tensor<2x15xf32>
  %y = tensor.expand_shape %x2 [[0], [1, 2]] output_shape [2, 3, 5] : tensor<2x15xf32> into tensor<2x3x5xf32>
  %p = linalg.softmax dimension(2) ins(%y : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the scores are reshaped other than by splitting or merging batch dims ('tensor.expand_shape')}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// Soft-capped scores (tanh), as Gemma 2 writes them.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @scores_softcap(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t = math.tanh %a : f32
    linalg.yield %t : f32
  } -> tensor<2x3x5xf32>
  %p = linalg.softmax dimension(2) ins(%y : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the scores go through 'linalg.generic', which is not a scale, an additive mask, a float cast or a reshape of batch dims}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// A constant subtracted from the scores.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @scores_minus_constant(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %o: f32):
    %c = arith.constant 1.0 : f32
    %t = arith.subf %a, %c : f32
    linalg.yield %t : f32
  } -> tensor<2x3x5xf32>
  %p = linalg.softmax dimension(2) ins(%y : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the scores go through 'linalg.generic', which is not a scale, an additive mask, a float cast or a reshape of batch dims}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// Scores multiplied by a tensor that is not a splat constant.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @nonsplat_scale(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>, %c: tensor<2x3x5xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %c : tensor<2x3x5xf32>, tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %t = arith.mulf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<2x3x5xf32>
  %p = linalg.softmax dimension(2) ins(%y : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the scores are multiplied by something other than a splat constant}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// Scores multiplied by zero.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @zero_scale(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %o: f32):
    %c = arith.constant 0.0 : f32
    %t = arith.mulf %a, %c : f32
    linalg.yield %t : f32
  } -> tensor<2x3x5xf32>
  %p = linalg.softmax dimension(2) ins(%y : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the scores are scaled by 0.000000}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// Two additive masks.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @two_masks(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>, %m1: tensor<2x3x5xf32>, %m2: tensor<2x3x5xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %y0 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %m1 : tensor<2x3x5xf32>, tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<2x3x5xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%y0, %m2 : tensor<2x3x5xf32>, tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<2x3x5xf32>
  %p = linalg.softmax dimension(2) ins(%y : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the scores have more than one additive mask}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// The mask added to the scores of the first query only.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @scores_read_at_row_0(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>, %m: tensor<2x3x5xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (b, 0, j)>, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %m : tensor<2x3x5xf32>, tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<2x3x5xf32>
  %p = linalg.softmax dimension(2) ins(%y : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the scores are added to something, but neither side is the scores read element for element}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// A constant added to the scores.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @constant_mask(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %o: f32):
    %c = arith.constant -1.0 : f32
    %t = arith.addf %a, %c : f32
    linalg.yield %t : f32
  } -> tensor<2x3x5xf32>
  %p = linalg.softmax dimension(2) ins(%y : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the additive mask is a constant}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// A mask read on its diagonal.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @mask_diagonal(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>, %m: tensor<2x3x3xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %y = linalg.generic {indexing_maps = [#id, affine_map<(b, i, j) -> (b, i, i)>, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %m : tensor<2x3x5xf32>, tensor<2x3x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<2x3x5xf32>
  %p = linalg.softmax dimension(2) ins(%y : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the mask is not broadcastable to the scores}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// A mask broadcast along the keys is not an attention mask.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @mask_over_queries(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>, %m: tensor<2x3xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %m : tensor<2x3x5xf32>, tensor<2x3xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<2x3x5xf32>
  %p = linalg.softmax dimension(2) ins(%y : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the mask is broadcast along the key dim}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// f16 queries with f32 keys and values.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @mixed_types(%q: tensor<2x3x4xf16>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf16>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %p = linalg.softmax dimension(2) ins(%x : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: Q, K and V are not of one floating-point type}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// The probabilities are also returned.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @softmax_other_use(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> (tensor<2x3x4xf32>, tensor<2x3x5xf32>) {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<2x3x4xf32>, tensor<2x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %p = linalg.softmax dimension(2) ins(%x : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: 'linalg.softmax' in the pattern has a use outside it}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o, %p : tensor<2x3x4xf32>, tensor<2x3x5xf32>
}


// -----

// A Q K^T whose output puts its M dim where P V has its batch.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @scores_batch_is_query(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>, %q2: tensor<3x2x4xf32>, %k2: tensor<3x5x4xf32>) -> tensor<2x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %x = linalg.generic {indexing_maps = [affine_map<(b, m, n, k) -> (m, b, k)>, affine_map<(b, m, n, k) -> (m, n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%q2, %k2 : tensor<3x2x4xf32>, tensor<3x5x4xf32>) outs(%zs : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  } -> tensor<2x3x5xf32>
  %p = linalg.softmax dimension(2) ins(%x : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the scores contraction does not compute [queries, keys] per batch and head}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}


// -----

// A softmax whose probabilities are the result (a classifier head).
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @softmax_returned(%x: tensor<2x3x5xf32>) -> (tensor<2x3x5xf32>) {
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  // expected-remark @+1 {{softmax not raised to kvq.attention: the probabilities are returned, not multiplied by V}}
  %p = linalg.softmax dimension(2) ins(%x : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  return %p : tensor<2x3x5xf32>
}

// -----

// A softmax nothing uses.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @softmax_unused(%x: tensor<2x3x5xf32>) -> (tensor<2x3x5xf32>) {
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  // expected-remark @+1 {{softmax not raised to kvq.attention: the probabilities are unused}}
  %p = linalg.softmax dimension(2) ins(%x : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  return %x : tensor<2x3x5xf32>
}

// -----

// Probabilities used twice, by no contraction.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @softmax_two_uses(%x: tensor<2x3x5xf32>) -> (tensor<2x3x5xf32>, tensor<2x3x5xf32>) {
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  // expected-remark @+1 {{softmax not raised to kvq.attention: the probabilities have 2 uses}}
  %p = linalg.softmax dimension(2) ins(%x : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  return %p, %p : tensor<2x3x5xf32>, tensor<2x3x5xf32>
}

// -----

// Dropout (a multiply by a mask tensor) between the softmax and P V.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @softmax_dropout(%x: tensor<2x3x5xf32>, %drop: tensor<2x3x5xf32>, %v: tensor<2x5x4xf32>) -> (tensor<2x3x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  // expected-remark @+1 {{softmax not raised to kvq.attention: the probabilities go through 'linalg.mul', which is neither a float cast, a reshape, the all-masked guard nor a contraction with V}}
  %p = linalg.softmax dimension(2) ins(%x : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %d = linalg.mul ins(%p, %drop : tensor<2x3x5xf32>, tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %o = linalg.batch_matmul ins(%d, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%zo : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}

// -----

// The probabilities as the right operand (V^T P^T).
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @softmax_right_operand(%x: tensor<2x3x5xf32>, %vt: tensor<2x4x5xf32>) -> (tensor<2x4x3xf32>) {
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  // expected-remark @+1 {{softmax not raised to kvq.attention: the probabilities are the right operand of 'linalg.batch_matmul' (V P or P^T V), not the left}}
  %p = linalg.softmax dimension(2) ins(%x : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %eo = tensor.empty() : tensor<2x4x3xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x4x3xf32>) -> tensor<2x4x3xf32>
  %o = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>] ins(%vt, %p : tensor<2x4x5xf32>, tensor<2x3x5xf32>) outs(%zo : tensor<2x4x3xf32>) -> tensor<2x4x3xf32>
  return %o : tensor<2x4x3xf32>
}

// -----

// P V accumulates into a bias.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @softmax_pv_bias(%x: tensor<2x3x5xf32>, %v: tensor<2x5x4xf32>, %bias: tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  // expected-remark @+1 {{softmax not raised to kvq.attention: the probabilities feed 'linalg.batch_matmul': the contraction accumulates into a tensor that is not zero}}
  %p = linalg.softmax dimension(2) ins(%x : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%bias : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}

// -----

// log-sum-exp: exponentials summed but not normalized.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @logsumexp(%x: tensor<2x3x5xf32>) -> tensor<2x3xf32> {
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<2x3x5xf32>
  // expected-remark @+1 {{softmax not raised to kvq.attention: the exponentials are summed but not divided by their sum (not a softmax)}}
  %ex = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : tensor<2x3x5xf32>) outs(%es : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  %er = tensor.empty() : tensor<2x3xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x3x5xf32>) outs(%si : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %l = linalg.log ins(%sum : tensor<2x3xf32>) outs(%er : tensor<2x3xf32>) -> tensor<2x3xf32>
  return %l : tensor<2x3xf32>
}

// -----

// Two matmuls around a ReLU (an MLP): no softmax, no remark.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @mlp(%x: tensor<3x4xf32>, %w1: tensor<4x8xf32>, %w2: tensor<8x4xf32>) -> tensor<3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<3x8xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<3x8xf32>) -> tensor<3x8xf32>
  %h = linalg.matmul ins(%x, %w1 : tensor<3x4xf32>, tensor<4x8xf32>) outs(%z1 : tensor<3x8xf32>) -> tensor<3x8xf32>
  %r = linalg.max ins(%h, %z1 : tensor<3x8xf32>, tensor<3x8xf32>) outs(%e1 : tensor<3x8xf32>) -> tensor<3x8xf32>
  %e2 = tensor.empty() : tensor<3x4xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<3x4xf32>) -> tensor<3x4xf32>
  %y = linalg.matmul ins(%r, %w2 : tensor<3x8xf32>, tensor<8x4xf32>) outs(%z2 : tensor<3x4xf32>) -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}
// -----

// Batch [2, 2, 2] with a mask that only the middle dim reads: neither kvq's
// B nor H can be wholly read or wholly broadcast by it, and the dynamic
// key length leaves no static shape to materialize it at.
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#qk_q = affine_map<(b, m, n, k) -> (b, m, k)>
#qk_k = affine_map<(b, m, n, k) -> (b, n, k)>
#qk_s = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @mask_middle_dynamic(%q: tensor<8x3x4xf32>, %k: tensor<8x?x4xf32>, %v: tensor<8x?x4xf32>, %m: tensor<2x3x?xf32>) -> tensor<8x3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %c1 = arith.constant 1 : index
  %n = tensor.dim %k, %c1 : tensor<8x?x4xf32>
  %es = tensor.empty(%n) : tensor<8x3x?xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<8x3x?xf32>) -> tensor<8x3x?xf32>
  %s = linalg.batch_matmul indexing_maps = [#qk_q, #qk_k, #qk_s] ins(%q, %k : tensor<8x3x4xf32>, tensor<8x?x4xf32>) outs(%zs : tensor<8x3x?xf32>) -> tensor<8x3x?xf32>
  %s5 = tensor.expand_shape %s [[0, 1, 2], [3], [4]] output_shape [2, 2, 2, 3, %n] : tensor<8x3x?xf32> into tensor<2x2x2x3x?xf32>
  %e5 = tensor.empty(%n) : tensor<2x2x2x3x?xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(a, b, c, i, j) -> (a, b, c, i, j)>, affine_map<(a, b, c, i, j) -> (b, i, j)>, affine_map<(a, b, c, i, j) -> (a, b, c, i, j)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%s5, %m : tensor<2x2x2x3x?xf32>, tensor<2x3x?xf32>) outs(%e5 : tensor<2x2x2x3x?xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.addf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x2x2x3x?xf32>
  %p5 = linalg.softmax dimension(4) ins(%y : tensor<2x2x2x3x?xf32>) outs(%e5 : tensor<2x2x2x3x?xf32>) -> tensor<2x2x2x3x?xf32>
  %p = tensor.collapse_shape %p5 [[0, 1, 2], [3], [4]] : tensor<2x2x2x3x?xf32> into tensor<8x3x?xf32>
  %eo = tensor.empty() : tensor<8x3x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<8x3x4xf32>) -> tensor<8x3x4xf32>
  // expected-remark @+1 {{not raised to kvq.attention: the mask's broadcasts do not split into kvq.attention's batch and heads, and the scores have a dynamic shape}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x3x?xf32>, tensor<8x?x4xf32>) outs(%zo : tensor<8x3x4xf32>) -> tensor<8x3x4xf32>
  return %o : tensor<8x3x4xf32>
}
