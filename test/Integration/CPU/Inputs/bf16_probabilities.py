"""p_type = bf16 on the host CPU: the probabilities that multiply V are
rounded to bf16 (exp(s - m), m the row's running maximum over blocks of 64
keys; the row sums take the unrounded values), checked against an fp64
model of exactly that on fresh random inputs: f32 queries (f32 outputs, so
the rounding of P is visible) with bf16 K and V, MHA and GQA, causal and
not, ragged lengths, and a decode step; and p_type = f16, rounded to f16
the same way. With AVX512-BF16 (the default where the CPU has it) the
prefill kernel multiplies P and V with bf16 dot products over pairs of
keys; with --avx512-bf16=0 (or on a CPU without it) it rounds P and
multiplies in f32, and the decode step's per-key kernel rounds P the same
way. All must match the model: the median output within 1e-5 of max
|model| (with P unrounded it is ~1e-4 off; for f16 within 1e-6, ~1e-5
off), and every output within 2e-3 (the f32 exponential may round a
probability lying within a few f32 ulps of a bf16 midpoint the other way,
which moves a row by up to ~1e-3). The error of exact attention (P
unrounded) is reported.
"""

import ml_dtypes
import numpy as np

import kvq_testing as kt
from kvq import reference as ref

BLOCK = 64


def function(name, d, hq, hkv, sq, causal, ptype):
    qt = f"tensor<1x{hq}x{sq}x{d}xf32>"
    kt_ = f"tensor<1x{hkv}x?x{d}xbf16>"
    attrs = f"causal, p_type = {ptype}" if causal else f"p_type = {ptype}"
    return f"""
func.func @{name}(%q: {qt}, %k: {kt_}, %v: {kt_}) -> {qt} {{
  %o = kvq.attention q(%q : {qt}) k(%k : {kt_}) v(%v : {kt_}) {{{attrs}}} -> {qt}
  return %o : {qt}
}}"""


def model(q, k, v, causal, ptype):
    """Flash attention in fp64 over blocks of BLOCK keys with P rounded to
    `ptype` (bf16 or f16) for P V."""
    rounded = ml_dtypes.bfloat16 if ptype == "bf16" else np.float16
    b, hq, sq, d = q.shape
    hkv, skv = k.shape[1], k.shape[2]
    g = hq // hkv
    q = q.astype(np.float64) / np.sqrt(d)
    k = np.repeat(k.astype(np.float64), g, axis=1)
    v = np.repeat(v.astype(np.float64), g, axis=1)
    s = np.einsum("bhqd,bhkd->bhqk", q, k)
    if causal:
        hidden = np.arange(skv)[None, :] > np.arange(sq)[:, None] + (skv - sq)
        s = np.where(hidden, -np.inf, s)
    m = np.full(s.shape[:-1], -np.inf)
    l = np.zeros(s.shape[:-1])
    o = np.zeros(s.shape[:-1] + (v.shape[-1],))
    for j0 in range(0, skv, BLOCK):
        blk = s[..., j0:j0 + BLOCK]
        new = np.maximum(m, blk.max(-1))
        ref_ = np.where(np.isneginf(new), 0.0, new)
        corr = np.exp(m - ref_)
        p = np.exp(blk - ref_[..., None])
        l = l * corr + p.sum(-1)
        pr = p.astype(np.float32).astype(rounded).astype(np.float64)
        o = o * corr[..., None] + np.einsum("bhqk,bhkd->bhqd", pr, v[:, :, j0:j0 + BLOCK])
        m = new
    return o / l[..., None]


CASES = [("mha", 64, 4, 4, 40, False, "bf16"), ("gqa_causal", 32, 8, 2, 24, True, "bf16"),
         ("decode", 64, 8, 2, 1, False, "bf16"), ("f16_causal", 32, 8, 2, 24, True, "f16")]


def main():
    opts = kt.parse(__doc__)
    mod = kt.library(opts, "".join(function(*c) for c in CASES), "bf16_probabilities")
    if mod is None:
        return
    rng = kt.rng()
    for name, d, hq, hkv, sq, causal, ptype in CASES:
        for extra in (0, 29, 150):
            length = sq + extra
            q = rng.standard_normal((1, hq, sq, d)).astype(np.float32)
            k = rng.standard_normal((1, hkv, length, d)).astype(ml_dtypes.bfloat16)
            v = rng.standard_normal((1, hkv, length, d)).astype(ml_dtypes.bfloat16)
            got = np.asarray(getattr(mod, name)(q, k, v), np.float64)
            want = model(q, k, v, causal, ptype)
            exact = ref.attention(q.astype(np.float64), k.astype(np.float64),
                                  v.astype(np.float64), causal=causal)
            kt.check(f"{name} L={length}", got, want, 2e-3,
                     detail=f"P unrounded: {kt.errors(got, exact):.1e}")
            median = float(np.median(np.abs(got - want)) / np.abs(want).max())
            # f16's rounding moves the outputs 10x less than bf16's.
            tol = 1e-6 if ptype == "f16" else 1e-5
            kt.report(f"{name} L={length}: median error", median <= tol,
                      f"{median:.1e} (tol {tol:.0e}; P unrounded: "
                      f"{float(np.median(np.abs(exact - want)) / np.abs(want).max()):.1e})")
    kt.finish()


if __name__ == "__main__":
    main()
