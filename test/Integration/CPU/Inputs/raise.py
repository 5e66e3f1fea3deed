"""Attention written as an importer writes it (linalg as torch-mlir emits
it, and tosa), raised to kvq.attention by kvq-raise-attention, compiled for
the host CPU and compared with the NumPy golden model:

* linalg: head split (expand_shape + transpose + collapse_shape), GQA as a
  linalg.broadcast of the K / V heads, Q K^T as a batch_matmul with a
  transposed map, a scale on the scores, a causal additive mask argument
  with a dynamic key length, a linalg.generic max / exp(x - max) / sum /
  divide softmax, P V, head merge. kvq-compile's front end raises it.
* tosa: the same graph in tosa ops (reshape / transpose / tile / matmul /
  reduce_max / sub / exp / reduce_sum / reciprocal / mul) with the scale on
  Q. kvq-compile's pipeline has no tosa lowering, so the module is raised
  first (kvq-opt --kvq-raise-attention) and what tosa is left (the head
  split) goes through tosa-to-linalg before kvq-compile.

Each module is first checked to be raised (one kvq.attention, no softmax
left). Exits non-zero on any mismatch.
"""

import os
import subprocess

import numpy as np

import kvq_testing as kt

import kvq
from kvq import compiler
from kvq import reference as ref

LINALG = """
#id = affine_map<(b, i, j) -> (b, i, j)>
#row = affine_map<(b, i, j) -> (b, i)>
#mask = affine_map<(b, i, j) -> (i, j)>
func.func @linalg_gqa_causal(%x: tensor<2x5x64xf32>, %k: tensor<2x2x?x16xf32>, %v: tensor<2x2x?x16xf32>,
                             %m: tensor<5x?xf32>) -> tensor<2x5x64xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %scale = arith.constant 0.25 : f32
  %c2 = arith.constant 2 : index
  %n = tensor.dim %k, %c2 : tensor<2x2x?x16xf32>
  %q4 = tensor.expand_shape %x [[0], [1], [2, 3]] output_shape [2, 5, 4, 16] : tensor<2x5x64xf32> into tensor<2x5x4x16xf32>
  %eqt = tensor.empty() : tensor<2x4x5x16xf32>
  %qt = linalg.transpose ins(%q4 : tensor<2x5x4x16xf32>) outs(%eqt : tensor<2x4x5x16xf32>) permutation = [0, 2, 1, 3]
  %q3 = tensor.collapse_shape %qt [[0, 1], [2], [3]] : tensor<2x4x5x16xf32> into tensor<8x5x16xf32>
  %e5 = tensor.empty(%n) : tensor<2x2x2x?x16xf32>
  %kb = linalg.broadcast ins(%k : tensor<2x2x?x16xf32>) outs(%e5 : tensor<2x2x2x?x16xf32>) dimensions = [2]
  %k3 = tensor.collapse_shape %kb [[0, 1, 2], [3], [4]] : tensor<2x2x2x?x16xf32> into tensor<8x?x16xf32>
  %vb = linalg.broadcast ins(%v : tensor<2x2x?x16xf32>) outs(%e5 : tensor<2x2x2x?x16xf32>) dimensions = [2]
  %v3 = tensor.collapse_shape %vb [[0, 1, 2], [3], [4]] : tensor<2x2x2x?x16xf32> into tensor<8x?x16xf32>
  %es = tensor.empty(%n) : tensor<8x5x?xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<8x5x?xf32>) -> tensor<8x5x?xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, k) -> (b, m, k)>,
         affine_map<(b, m, n, k) -> (b, n, k)>,
         affine_map<(b, m, n, k) -> (b, m, n)>]
       ins(%q3, %k3 : tensor<8x5x16xf32>, tensor<8x?x16xf32>) outs(%zs : tensor<8x5x?xf32>) -> tensor<8x5x?xf32>
  %ss = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s : tensor<8x5x?xf32>) outs(%es : tensor<8x5x?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.mulf %a, %scale : f32
    linalg.yield %r : f32
  } -> tensor<8x5x?xf32>
  %sm = linalg.generic {indexing_maps = [#id, #mask, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%ss, %m : tensor<8x5x?xf32>, tensor<5x?xf32>) outs(%es : tensor<8x5x?xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.addf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<8x5x?xf32>
  %er = tensor.empty() : tensor<8x5xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<8x5xf32>) -> tensor<8x5xf32>
  %mx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%sm : tensor<8x5x?xf32>) outs(%mi : tensor<8x5xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<8x5xf32>
  %e = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%sm, %mx : tensor<8x5x?xf32>, tensor<8x5xf32>) outs(%es : tensor<8x5x?xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<8x5x?xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<8x5xf32>) -> tensor<8x5xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%e : tensor<8x5x?xf32>) outs(%si : tensor<8x5xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<8x5xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%e, %sum : tensor<8x5x?xf32>, tensor<8x5xf32>) outs(%es : tensor<8x5x?xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<8x5x?xf32>
  %eo = tensor.empty() : tensor<8x5x16xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<8x5x16xf32>) -> tensor<8x5x16xf32>
  %o = linalg.batch_matmul ins(%p, %v3 : tensor<8x5x?xf32>, tensor<8x?x16xf32>) outs(%zo : tensor<8x5x16xf32>) -> tensor<8x5x16xf32>
  %o4 = tensor.expand_shape %o [[0, 1], [2], [3]] output_shape [2, 4, 5, 16] : tensor<8x5x16xf32> into tensor<2x4x5x16xf32>
  %eot = tensor.empty() : tensor<2x5x4x16xf32>
  %ot = linalg.transpose ins(%o4 : tensor<2x4x5x16xf32>) outs(%eot : tensor<2x5x4x16xf32>) permutation = [0, 2, 1, 3]
  %r = tensor.collapse_shape %ot [[0], [1], [2, 3]] : tensor<2x5x4x16xf32> into tensor<2x5x64xf32>
  return %r : tensor<2x5x64xf32>
}
"""

TOSA = """
func.func @tosa_gqa_masked(%x: tensor<2x5x96xf32>, %k: tensor<2x2x9x16xf32>, %v: tensor<2x2x9x16xf32>,
                           %m: tensor<1x5x9xf32>) -> tensor<12x5x16xf32> {
  %sh = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %c = "tosa.const"() <{values = dense<0.25> : tensor<1x1x1x1xf32>}> : () -> tensor<1x1x1x1xf32>
  %s0 = tosa.const_shape {values = dense<[2, 5, 6, 16]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %q4 = tosa.reshape %x, %s0 : (tensor<2x5x96xf32>, !tosa.shape<4>) -> tensor<2x5x6x16xf32>
  %qt = tosa.transpose %q4 {perms = array<i32: 0, 2, 1, 3>} : (tensor<2x5x6x16xf32>) -> tensor<2x6x5x16xf32>
  %qs = tosa.mul %qt, %c, %sh : (tensor<2x6x5x16xf32>, tensor<1x1x1x1xf32>, tensor<1xi8>) -> tensor<2x6x5x16xf32>
  %s1 = tosa.const_shape {values = dense<[12, 5, 16]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %q3 = tosa.reshape %qs, %s1 : (tensor<2x6x5x16xf32>, !tosa.shape<3>) -> tensor<12x5x16xf32>
  %s5 = tosa.const_shape {values = dense<[2, 2, 1, 9, 16]> : tensor<5xindex>} : () -> !tosa.shape<5>
  %rep = tosa.const_shape {values = dense<[1, 1, 3, 1, 1]> : tensor<5xindex>} : () -> !tosa.shape<5>
  %s2 = tosa.const_shape {values = dense<[12, 9, 16]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %k5 = tosa.reshape %k, %s5 : (tensor<2x2x9x16xf32>, !tosa.shape<5>) -> tensor<2x2x1x9x16xf32>
  %kt5 = tosa.tile %k5, %rep : (tensor<2x2x1x9x16xf32>, !tosa.shape<5>) -> tensor<2x2x3x9x16xf32>
  %k3 = tosa.reshape %kt5, %s2 : (tensor<2x2x3x9x16xf32>, !tosa.shape<3>) -> tensor<12x9x16xf32>
  %v5 = tosa.reshape %v, %s5 : (tensor<2x2x9x16xf32>, !tosa.shape<5>) -> tensor<2x2x1x9x16xf32>
  %vt5 = tosa.tile %v5, %rep : (tensor<2x2x1x9x16xf32>, !tosa.shape<5>) -> tensor<2x2x3x9x16xf32>
  %v3 = tosa.reshape %vt5, %s2 : (tensor<2x2x3x9x16xf32>, !tosa.shape<3>) -> tensor<12x9x16xf32>
  %kT = tosa.transpose %k3 {perms = array<i32: 0, 2, 1>} : (tensor<12x9x16xf32>) -> tensor<12x16x9xf32>
  %s = tosa.matmul %q3, %kT, %zp, %zp : (tensor<12x5x16xf32>, tensor<12x16x9xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<12x5x9xf32>
  %sm = tosa.add %s, %m : (tensor<12x5x9xf32>, tensor<1x5x9xf32>) -> tensor<12x5x9xf32>
  %mx = tosa.reduce_max %sm {axis = 2 : i32} : (tensor<12x5x9xf32>) -> tensor<12x5x1xf32>
  %d = tosa.sub %sm, %mx : (tensor<12x5x9xf32>, tensor<12x5x1xf32>) -> tensor<12x5x9xf32>
  %e = tosa.exp %d : (tensor<12x5x9xf32>) -> tensor<12x5x9xf32>
  %sum = tosa.reduce_sum %e {axis = 2 : i32} : (tensor<12x5x9xf32>) -> tensor<12x5x1xf32>
  %r = tosa.reciprocal %sum : (tensor<12x5x1xf32>) -> tensor<12x5x1xf32>
  %p = tosa.mul %e, %r, %sh : (tensor<12x5x9xf32>, tensor<12x5x1xf32>, tensor<1xi8>) -> tensor<12x5x9xf32>
  %o = tosa.matmul %p, %v3, %zp, %zp : (tensor<12x5x9xf32>, tensor<12x9x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<12x5x16xf32>
  return %o : tensor<12x5x16xf32>
}
"""


def kvq_opt(module, *args):
    tool = os.path.join(os.path.dirname(compiler.find_kvq_compile()), "kvq-opt")
    result = subprocess.run([tool, *args], input=module, capture_output=True, text=True, check=True)
    return result.stdout


def check_raised(name, module):
    raised = kvq_opt(module, "--kvq-raise-attention")
    ok = raised.count("kvq.attention") == 1 and not any(
        op in raised for op in ("math.exp", "tosa.exp", "reduce", "matmul"))
    kt.report(f"raised {name}", ok)
    return raised


def causal_mask(sq, skv):
    i = np.arange(sq)[:, None]
    j = np.arange(skv)[None, :]
    return np.where(j <= i + skv - sq, 0.0, -np.inf).astype(np.float32)


def main():
    rng = kt.rng()
    check_raised("linalg_gqa_causal", LINALG)
    mod = kvq.compile(LINALG, name="raise_linalg")
    for skv in (5, 23, 64):
        x = rng.standard_normal((2, 5, 64)).astype(np.float32)
        k = rng.standard_normal((2, 2, skv, 16)).astype(np.float32)
        v = rng.standard_normal((2, 2, skv, 16)).astype(np.float32)
        q = x.reshape(2, 5, 4, 16).transpose(0, 2, 1, 3)
        want = ref.attention(q, k, v, scale=0.25, causal=True)
        want = want.transpose(0, 2, 1, 3).reshape(2, 5, 64)
        got = mod.linalg_gqa_causal(x, k, v, causal_mask(5, skv))
        kt.check(f"linalg_gqa_causal Skv={skv}", got, want, 1e-5)

    raised = check_raised("tosa_gqa_masked", TOSA)
    lowered = kvq_opt(raised, "--pass-pipeline=builtin.module(func.func(tosa-to-linalg-named,"
                      "tosa-to-linalg,tosa-to-arith,tosa-to-tensor))")
    mod = kvq.compile(lowered, name="raise_tosa")
    x = rng.standard_normal((2, 5, 96)).astype(np.float32)
    k = rng.standard_normal((2, 2, 9, 16)).astype(np.float32)
    v = rng.standard_normal((2, 2, 9, 16)).astype(np.float32)
    m = (rng.standard_normal((1, 5, 9)) * 2.0).astype(np.float32)
    m[0, :, 7] = -np.inf  # a key masked out for every query
    q = x.reshape(2, 5, 6, 16).transpose(0, 2, 1, 3)
    want = ref.attention(q, k, v, scale=0.25, mask=m[None]).reshape(12, 5, 16)
    kt.check("tosa_gqa_masked", mod.tosa_gqa_masked(x, k, v, m), want, 1e-5)

    kt.finish()


if __name__ == "__main__":
    main()
