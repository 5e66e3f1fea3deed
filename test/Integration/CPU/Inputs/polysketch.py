"""PolySketchFormer (kvq.poly_sketch, kvq.poly_attention) compiled for the
host CPU against the NumPy golden model, on fresh random inputs with ragged
and dynamic lengths:

* the sketch itself (the compiled constants are the reference's);
* exact polynomial attention (degree 2 and 4, GQA, causal with Sq < Skv);
* sketched attention without causal (the linear state form) and with it
  (the block algorithm with its prefix state, blocks that do not divide the
  length), against the dense form of the same sketch: they must agree to
  fp32 rounding, bounded per output by the magnitudes of the sketched
  weights' terms (their sums cancel: 1e-5 of the largest output is not
  always reachable);
* the sketch error against exact degree-4 attention falls as r grows.

Exits non-zero on any mismatch. With --target=nvvm the same checks run on
an NVIDIA GPU (poly attention is element-wise kernels in f32, checked at
the CPU's tolerances; see kvq_testing.py (test/harness) for --build-only / --prebuilt); a
positional argument names another kvq-compile target: `nvvm-emulated`
runs the GPU path's kernels with the GPU emulator.
"""

import numpy as np

import kvq_testing as kt
from kvq import reference as ref


def attn(name, q, k, attrs, dyn_q="?", dyn_k="?"):
    qt = f"tensor<1x{q}x{dyn_q}x16xf32>"
    kt = f"tensor<1x{k}x{dyn_k}x16xf32>"
    vt = f"tensor<1x{k}x{dyn_k}x12xf32>"
    ot = f"tensor<1x{q}x{dyn_q}x12xf32>"
    return (f"func.func @{name}(%q: {qt}, %k: {kt}, %v: {vt}) -> {ot} {{\n"
            f"  %o = kvq.poly_attention q(%q : {qt}) k(%k : {kt}) v(%v : {vt}) {attrs} -> {ot}\n"
            f"  return %o : {ot}\n}}\n")


CASES = {
    # name: (Hq, Hkv, attrs)
    "exact2": (2, 2, "{degree = 2}"),
    "exact4_gqa_causal": (4, 2, "{causal}"),
    "sketch_full": (4, 2, "{sketch = 32, seed = 3}"),
    "sketch_causal_gqa": (4, 2, "{sketch = 32, seed = 3, block = 7, causal}"),
    "sketch_causal_block1": (2, 2, "{sketch = 16, seed = 5, block = 1, causal}"),
}
SKETCH = {"sketch_full": (32, 3), "sketch_causal_gqa": (32, 3), "sketch_causal_block1": (16, 5)}


def within_sketch_bound(err, want, q, k, v, r, seed, causal):
    """Whether err <= 1e-5 max |want| + 64 * the f32 rounding bound of the
    sketched weights (see the call), element by element."""
    rep = q.shape[1] // k.shape[1]
    pq = ref.poly_sketch(q.astype(np.float64), r, seed)
    pk = np.repeat(ref.poly_sketch(k.astype(np.float64), r, seed), rep, axis=1)
    vv = np.abs(np.repeat(v.astype(np.float64), rep, axis=1))
    w = np.einsum("bhqr,bhkr->bhqk", pq, pk) ** 2
    a = np.einsum("bhqr,bhkr->bhqk", np.abs(pq), np.abs(pk)) ** 2
    if causal:
        sq, skv = q.shape[2], k.shape[2]
        visible = np.arange(skv)[None, :] <= np.arange(sq)[:, None] + (skv - sq)
        w, a = np.where(visible, w, 0.0), np.where(visible, a, 0.0)
    bound = (np.einsum("bhqk,bhkd->bhqd", a, vv) + np.abs(want) * a.sum(-1, keepdims=True)) \
        / (1.0 + w.sum(-1, keepdims=True)) * float(np.finfo(np.float32).eps)
    allowed = 1e-5 * np.abs(want).max() + 64 * bound
    rel = float(err.max() / np.abs(want).max())
    worst = float((err / allowed).max())
    return bool(np.isfinite(err).all() and worst <= 1), \
        f"max rel error {rel:.1e}, {worst:.2f} of the allowed error"


def main():
    text = ("func.func @sketch(%x: tensor<2x3x?x16xf32>) -> tensor<2x3x?x24xf32> {\n"
            "  %f = kvq.poly_sketch %x {sketch = 24, seed = 11} : tensor<2x3x?x16xf32> -> tensor<2x3x?x24xf32>\n"
            "  return %f : tensor<2x3x?x24xf32>\n}\n")
    for name, (hq, hkv, attrs) in CASES.items():
        text += attn(name, hq, hkv, attrs)
    for r in (8, 64, 256):
        text += attn(f"sketch_r{r}", 2, 2, f"{{sketch = {r}, seed = 1}}")
    opts = kt.parse(__doc__, extra=lambda ap: ap.add_argument(
        "kvq_target", nargs="?", choices=["cpu", "nvvm", "nvvm-emulated"],
        help="kvq-compile target (instead of --target)"))
    if opts.kvq_target:
        opts.target = opts.kvq_target
    mod = kt.library(opts, text, "polysketch")
    if mod is None:
        return
    rng = kt.rng()

    for s in (1, 19):
        x = rng.standard_normal((2, 3, s, 16)).astype(np.float32)
        kt.check(f"sketch S={s}", mod.sketch(x), ref.poly_sketch(x, 24, 11), 1e-5)

    # q, k scaled like layer-normalized vectors over sqrt(D) so that the
    # polynomial weights stay in a moderate range.
    def inputs(hq, hkv, sq, skv):
        q = (rng.standard_normal((1, hq, sq, 16)) / 2).astype(np.float32)
        k = (rng.standard_normal((1, hkv, skv, 16)) / 2).astype(np.float32)
        v = rng.standard_normal((1, hkv, skv, 12)).astype(np.float32)
        return q, k, v

    for name, (hq, hkv, attrs) in CASES.items():
        causal = "causal" in attrs
        degree = 2 if "degree = 2" in attrs else 4
        r, seed = SKETCH.get(name, (0, 0))
        for sq, skv in ((1, 23), (23, 23), (9, 30), (30, 9)):
            if not causal and sq == 30:
                continue
            q, k, v = inputs(hq, hkv, sq, skv)
            want = ref.poly_attention(q, k, v, degree=degree, sketch=r, seed=seed, causal=causal)
            got = getattr(mod, name)(q, k, v, out_shapes=[want.shape])
            if not r:
                kt.check(f"{name} Sq={sq} Skv={skv}", got, want, 1e-5)
                continue
            # Sketched: the weights <phi(q), phi(k)>^2 are sums of terms of
            # both signs, computed in f32 in another order (prefix sums)
            # than the reference; each output may be off by a few f32
            # roundings of sum_j |phi(q)||phi(k_j)|^2 (|v_j| + |o|) /
            # (1 + sum_j w_j). 64 of them (the largest seen over 3000
            # random cases: 11), or 1e-5 of the largest output.
            err = np.abs(np.asarray(got, np.float64) - want)
            ok, detail = within_sketch_bound(err, want, q, k, v, r, seed, causal)
            kt.report(f"{name} Sq={sq} Skv={skv}", ok, detail)

    # Sketch error vs exact degree-4 attention shrinks with r.
    q, k, v = inputs(2, 2, 16, 64)
    exact = ref.poly_attention(q, k, v, degree=4)
    errors = []
    for r in (8, 64, 256):
        out = np.asarray(getattr(mod, f"sketch_r{r}")(q, k, v, out_shapes=[exact.shape]), np.float64)
        errors.append(float(np.abs(out - exact).sum() / np.abs(exact).sum()))
    # (Random data: only the wide gap r = 8 -> 256 is asserted.)
    kt.report("sketch error vs exact falls with r", errors[2] < 0.75 * errors[0],
              ", ".join(f"r={r}: {e:.3f}" for r, e in zip((8, 64, 256), errors)))

    kt.finish()


if __name__ == "__main__":
    main()
