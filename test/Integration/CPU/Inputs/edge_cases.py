"""Numerical edge cases of compiled attention against the NumPy golden
model, whose behaviour docs/Numerics.md defines:

* rows with every key masked (causal with Sq > Skv, an additive mask of
  -inf) output zeros;
* NaN in K or V reaches the rows that attend that key (they are NaN);
  rows of other heads are unaffected (a NaN in V may also reach a row of
  the same head that masks the key, through a zero probability, as it
  does in the reference: that row is left unchecked);
* +-Inf in K makes the scores of the rows that see it infinite: those rows
  are NaN (inf - inf in the softmax), as in the reference;
* huge (1e18) and tiny (1e-30) magnitudes, all-zero K: finite results equal
  to the reference (a one-hot or uniform softmax);
* INT8 caches whose K holds NaN / Inf (codes of NaN are 0, of +-Inf are
  +-127: docs/Quantization.md) stay finite;
* a key of 1e5 against a q of -1e-6 at that channel has a moderate score
  (on the GPU its f16 product is -inf: the thread block must recompute
  with bf16 operands rather than drop the key), 16 query rows per KV head
  (no zero row in the GPU's 16-row tiles whose inf x 0 shows the
  overflow anyway).

    python3 edge_cases.py [--target=cpu|nvvm] [--build-only DIR | --prebuilt DIR]

On an NVIDIA GPU (--target=nvvm) the same rules hold at the GPU's
tolerance (1e-2: f16 tensor-core operands, and bf16 ones in thread blocks
that recompute after an f16 overflow: huge magnitudes, and NaN / Inf in
the data). With huge scores the softmax is one-hot: a row whose two best
keys' scores are closer than the operands' rounding can pick either key,
so on the GPU such rows (rare) are reported and not compared. See
kvq_testing.py (test/harness) for --build-only / --prebuilt.

Exits non-zero on any mismatch.
"""

import numpy as np

import kvq_testing as kt
from kvq import reference as ref

D = 32


def t(shape, elem="f32"):
    return "tensor<" + "x".join(map(str, shape)) + f"x{elem}>"


def module():
    q, kv, m = [1, 4, "?", D], [1, 2, "?", D], [1, 4, "?", "?"]
    return (
        f"func.func @causal(%q: {t(q)}, %k: {t(kv)}, %v: {t(kv)}) -> {t(q)} {{\n"
        f"  %o = kvq.attention q(%q : {t(q)}) k(%k : {t(kv)}) v(%v : {t(kv)}) {{causal}} -> {t(q)}\n"
        f"  return %o : {t(q)}\n}}\n"
        f"func.func @masked(%q: {t(q)}, %k: {t(kv)}, %v: {t(kv)}, %m: {t(m)}) -> {t(q)} {{\n"
        f"  %o = kvq.attention q(%q : {t(q)}) k(%k : {t(kv)}) v(%v : {t(kv)}) mask(%m : {t(m)}) -> {t(q)}\n"
        f"  return %o : {t(q)}\n}}\n"
        f"func.func @int8(%q: {t(q)}, %kc: {t(kv, 'i8')}, %ks: {t([1, 2, '?', 1])}, %v: {t(kv)}) -> {t(q)} {{\n"
        f"  %o = kvq.attention q(%q : {t(q)}) k(%kc : {t(kv, 'i8')}, #kvq.quant<i8, symmetric, token>, "
        f"scale %ks : {t([1, 2, '?', 1])}) v(%v : {t(kv)}) -> {t(q)}\n"
        f"  return %o : {t(q)}\n}}\n")


def check(label, got, want, tol=1e-5, skip=None):
    """NaN where the reference is NaN, the rest to `tol` of the largest
    finite reference value; rows where `skip` is set are not compared."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if skip is not None:
        got, want = got[~skip], want[~skip]
    kt.check(label, got, want, tol, nans=True)


def near_ties(q, k, causal, margin):
    """Rows (B, Hq, Sq) whose two best visible keys' scores differ by less
    than `margin` times the scale of their rounding error (sum |q_i k_i|)."""
    group = q.shape[1] // k.shape[1]
    kk = np.repeat(k.astype(np.float64), group, axis=1)
    qq = q.astype(np.float64)
    scores = qq @ np.swapaxes(kk, -1, -2)
    scale = np.abs(qq) @ np.swapaxes(np.abs(kk), -1, -2)
    if causal:
        sq, skv = q.shape[2], k.shape[2]
        visible = np.arange(skv)[None, :] <= np.arange(sq)[:, None] + (skv - sq)
        scores = np.where(visible, scores, -np.inf)
    order = np.argsort(-scores, axis=-1)
    best = np.take_along_axis(scores, order[..., :1], -1)[..., 0]
    second = np.take_along_axis(scores, order[..., 1:2], -1)[..., 0]
    size = np.take_along_axis(scale, order[..., :1], -1)[..., 0]
    return np.isfinite(second) & (best - second < margin * size)


def main():
    opts = kt.parse(__doc__)
    mod = kt.library(opts, module(), "edge")
    if mod is None:
        return
    tol = kt.attention_tol(opts, 1e-5)
    rng = kt.rng()

    def qkv(sq, skv):
        return (rng.standard_normal((1, 4, sq, D)).astype(np.float32),
                rng.standard_normal((1, 2, skv, D)).astype(np.float32),
                rng.standard_normal((1, 2, skv, D)).astype(np.float32))

    # Rows that see no key: causal with more queries than keys (bottom-right
    # aligned), and a mask that hides every key from some rows.
    q, k, v = qkv(9, 5)
    out = mod.causal(q, k, v)
    check("causal Sq=9 > Skv=5 (4 rows see no key)", out, ref.attention(q, k, v, causal=True), tol)
    zero_rows = int((np.abs(np.asarray(out)[0, :, :4]) == 0).all(-1).sum())
    kt.report("fully masked rows are zeros", zero_rows == 16, f"{zero_rows} of 16")
    q, k, v = qkv(6, 11)
    mask = np.where(rng.random((1, 4, 6, 11)) < 0.3, -np.inf, 0.0).astype(np.float32)
    mask[:, :, 2, :] = -np.inf
    check("additive mask, one row fully masked", mod.masked(q, k, v, mask),
          ref.attention(q, k, v, mask=mask), tol)

    # NaN and Inf in K / V.
    for what, value in (("NaN in V", np.nan), ("NaN in K", np.nan), ("+Inf in K", np.inf),
                        ("-Inf in K", -np.inf)):
        q, k, v = qkv(5, 13)
        (v if "V" in what else k)[0, 1, 9, 3] = value
        # Query row i of 5 sees keys 0 .. 8 + i: row 0 of query heads 2, 3
        # (KV head 1) masks key 9.
        skip = np.zeros((1, 4, 5), bool)
        if "V" in what:
            skip[0, 2:, 0] = True
        check(f"causal, {what} at key 9 of KV head 1", mod.causal(q, k, v),
              ref.attention(q, k, v, causal=True), tol, skip=skip)

    # Huge, tiny and zero magnitudes.
    for what, sk in (("huge scores (|q|, |k| ~ 1e9)", 1e9), ("tiny scores (|k| ~ 1e-30)", 1e-30),
                     ("all-zero K", 0.0)):
        q, k, v = qkv(7, 40)
        if sk >= 1:
            q *= np.float32(sk)
        k *= np.float32(sk)
        skip = None
        if sk >= 1 and kt.on_gpu(opts):
            # bf16 operands round each product by up to 2^-8 of |q_i k_i|,
            # so two scores can move by up to 2^-7 of sum |q_i k_i| apart.
            skip = near_ties(q, k, True, 2.0 ** -7)
            print(f"     {int(skip.sum())} of {skip.size} rows near a tie, not compared")
        check(f"causal, {what}", mod.causal(q, k, v), ref.attention(q, k, v, causal=True),
              kt.attention_tol(opts, 1e-4), skip=skip)

    # A key beyond f16's range against a tiny q: a moderate score.
    q, k, v = qkv(8, 40)
    k[0, 1, 20, 5] = 1e5
    q[..., 5] = -1e-6
    check("causal, K of 1e5 against q of -1e-6", mod.causal(q, k, v),
          ref.attention(q, k, v, causal=True), tol)

    # INT8 K with NaN / Inf in the cache it was quantized from.
    scheme = ref.QuantScheme.parse("#kvq.quant<i8, symmetric, token>")
    q, k, v = qkv(3, 21)
    k[0, 0, 4, :5] = [np.nan, np.inf, -np.inf, 1e30, -1e-30]
    codes, scale, _ = ref.quantize(k, scheme)
    out = mod.int8(q, codes, scale, v)
    check("INT8 K quantized from NaN / Inf / 1e30", out,
          ref.quantized_attention(q, codes, scale, None, scheme, v, None, None, None), tol)
    kt.finish()


if __name__ == "__main__":
    main()
