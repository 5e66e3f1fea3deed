"""LevAttention (kvq.leverage_scores, kvq.select_keys) compiled for the host
CPU against the NumPy golden model on fresh random inputs: leverage scores
vs the pseudo-inverse (well-conditioned keys, keys of rank < D, dynamic
lengths), the p = 2 guarantee (every normalized score (q.k_j)^2 / ||Kq||^2
>= eps has tau_j >= eps) with the compiled scores, the D / eps bound on the
kept set, and softmax attention restricted to the selected keys (GQA,
dynamic length). With --target=nvvm the same checks run on an NVIDIA GPU
(scores and masks as element-wise kernels feeding the tensor-core
attention kernel; attention at the GPU's tolerance): see kvq_testing.py (test/harness) for
--build-only / --prebuilt. Exits non-zero on any failure.
"""

import numpy as np

import kvq_testing as kt
from kvq import reference as ref

EPS = 0.05
MODULE = f"""
func.func @tau(%k: tensor<1x2x?x16xf32>) -> tensor<1x2x?xf32> {{
  %t = kvq.leverage_scores %k : tensor<1x2x?x16xf32> -> tensor<1x2x?xf32>
  return %t : tensor<1x2x?xf32>
}}
func.func @lev_attention(%q: tensor<1x4x3x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x8xf32>)
    -> (tensor<1x4x3x8xf32>, tensor<1x2x?xf32>) {{
  %t = kvq.leverage_scores %k : tensor<1x2x?x16xf32> -> tensor<1x2x?xf32>
  %m = kvq.select_keys %t {{epsilon = {EPS} : f64}} : tensor<1x2x?xf32> -> tensor<1x4x1x?xf32>
  %o = kvq.attention q(%q : tensor<1x4x3x16xf32>) k(%k : tensor<1x2x?x16xf32>) v(%v : tensor<1x2x?x8xf32>)
      mask(%m : tensor<1x4x1x?xf32>) -> tensor<1x4x3x8xf32>
  return %o, %t : tensor<1x4x3x8xf32>, tensor<1x2x?xf32>
}}
func.func @top_mask(%t: tensor<1x2x?xf32>) -> tensor<1x4x1x?xf32> {{
  %m = kvq.select_keys %t {{top = 7}} : tensor<1x2x?xf32> -> tensor<1x4x1x?xf32>
  return %m : tensor<1x4x1x?xf32>
}}
"""


def main():
    opts = kt.parse(__doc__)
    mod = kt.library(opts, MODULE, "levattention")
    if mod is None:
        return
    att_tol = kt.attention_tol(opts, 1e-5)
    rng = kt.rng()

    for s, rank in ((200, 16), (57, 16), (10, 10), (300, 6)):
        # Keys of the given rank with singular values spread over [1, 5]
        # (uneven directions, but conditioned well above the ridge, which
        # shifts the scores of directions near 1e-9 of the trace).
        k = np.empty((1, 2, s, 16))
        for h in range(2):
            left = np.linalg.qr(rng.standard_normal((s, rank)))[0]
            right = np.linalg.qr(rng.standard_normal((16, rank)))[0].T
            k[0, h] = (left * np.linspace(1.0, 5.0, rank)) @ right
        k = k.astype(np.float32)
        tau = np.asarray(mod.tau(k), np.float64)
        want = ref.leverage_scores(k)
        kt.check(f"tau S={s} rank={rank}", tau, want, 1e-4, relative=False, shape=False,
                 finite=False, detail=f"sum {tau.sum(axis=-1).round(3).tolist()} "
                                      f"(rank {min(rank, s)})")

        # The guarantee for f(x) = x^2, with the compiled scores.
        q = rng.standard_normal((64, 16))
        for h in range(2):
            kh = k[0, h].astype(np.float64)
            a = (q @ kh.T) ** 2
            a /= a.sum(axis=1, keepdims=True)
            heavy = a >= EPS
            violations = int((heavy & (tau[0, h][None, :] < EPS * (1 - 1e-3))).sum())
            kept = int((tau[0, h] >= EPS).sum())
            kt.report(f"guarantee S={s} rank={rank} head {h}", violations == 0 and kept <= 16 / EPS + 1e-9,
                      f"{int(heavy.sum())} heavy scores, "
                      f"{violations} outside U, |U| = {kept} <= D/eps = {16 / EPS:.0f}")

    for s in (5, 90):
        q = rng.standard_normal((1, 4, 3, 16)).astype(np.float32)
        k = rng.standard_normal((1, 2, s, 16)).astype(np.float32)
        v = rng.standard_normal((1, 2, s, 8)).astype(np.float32)
        out, tau = mod.lev_attention(q, k, v)
        mask = ref.select_keys(np.asarray(tau), EPS, (1, 4, 1, s))
        want = ref.attention(q, k, v, mask=mask)
        kt.check(f"attention over the selected keys S={s}", out, want, att_tol, shape=False,
                 finite=False, detail=f"{int((np.asarray(tau) >= EPS).sum())} of {2 * s} kept")

    # Edge cases: all-zero keys score 0 (no NaN), an empty cache scores nothing.
    tau = np.asarray(mod.tau(np.zeros((1, 2, 9, 16), np.float32)))
    kt.report("tau of all-zero keys is 0", np.isfinite(tau).all() and not tau.any())
    kt.report("tau of an empty cache is empty",
              np.asarray(mod.tau(np.zeros((1, 2, 0, 16), np.float32))).shape == (1, 2, 0))

    # Top-m selection, with ties (ties go to the earlier key).
    for s in (3, 40):
        tau = rng.integers(0, 5, (1, 2, s)).astype(np.float32)
        got = np.asarray(mod.top_mask(tau))
        want = ref.select_keys(tau, None, (1, 4, 1, s), top=7)
        kept = (got == 0).sum(axis=-1).ravel().tolist()
        kt.report(f"top-7 mask S={s}", np.array_equal(got, want), f"kept per head {kept}")

    kt.finish()


if __name__ == "__main__":
    main()
