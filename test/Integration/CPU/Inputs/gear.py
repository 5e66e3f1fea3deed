"""GEAR (kvq.extract_outliers, kvq.low_rank_approx, kvq.gear_decode) and
xKV (kvq.cross_layer_basis) compiled for the host CPU against the NumPy
golden model, on fresh random inputs with ragged and dynamic sizes:

* the ops on their own (ties, empty and short sequences, f16);
* the low-rank approximation against NumPy's SVD optimum and the
  orthonormality of the compiled bases;
* GEAR at prefill in one function (outliers -> KIVI 4-bit -> residual ->
  rank 4 -> decode) against the composition of the references, and its
  error against KIVI alone;
* attention over GEAR-compressed K and V (dynamic length, GQA, causal);
* xKV: a basis shared by three layers, and per-layer attention over the
  shared coordinates (kvq-fuse projects the queries on each layer's basis).

The same checks run on an NVIDIA GPU with --target=nvvm (GEAR's decoder
inside the tensor-core kernel, the prefill ops as element-wise kernels;
attention at the GPU's tolerance): see kvq_testing.py (test/harness) for --build-only /
--prebuilt. Exits non-zero on any mismatch.
"""

import numpy as np

import kvq_testing as kt
from kvq import reference as ref

KIVI_K = "#kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>"
KIVI_V = "#kvq.quant<i4, asymmetric, group(axis = 3, size = 32), scale = f16>"


def gear_prefill_fn(name, s, scheme, scale_shape):
    x = f"tensor<1x2x{s}x64xf32>"
    c = f"tensor<1x2x{s}x64xi4>"
    sc = f"tensor<{'x'.join(map(str, scale_shape))}xf16>"
    return f"""
func.func @{name}(%x: {x}) -> ({x}, {x}) {{
  %rem, %idx, %val = kvq.extract_outliers %x {{count = 2}}
      : {x} -> {x}, tensor<1x2x{s}x2xi32>, tensor<1x2x{s}x2xf32>
  %c, %s, %z = kvq.quantize {scheme} %rem : {x} -> {c}, {sc}, {sc}
  %d = kvq.dequantize {scheme} %c, %s, %z : {c}, {sc}, {sc} -> {x}
  %res = arith.subf %rem, %d : {x}
  %a, %b = kvq.low_rank_approx %res {{rank = 4}} : {x} -> tensor<1x2x{s}x4xf32>, tensor<1x2x4x64xf32>
  %g = kvq.gear_decode %d, %a, %b, %idx, %val : {x}, tensor<1x2x{s}x4xf32>, tensor<1x2x4x64xf32>,
      tensor<1x2x{s}x2xi32>, tensor<1x2x{s}x2xf32> -> {x}
  return %g, %d : {x}, {x}
}}
"""


def gear_operand(tag, scheme, n):
    """The arguments and decoding of one GEAR-compressed [1, 2, n, 64] cache."""
    kv = f"tensor<1x2x{n}x64x"
    groups = "?" if n == "?" else -(-n // 32)
    st = f"tensor<1x2x{groups}x64xf16>" if "axis = 2" in scheme else f"tensor<1x2x{n}x2xf16>"
    args = (f"%{tag}c: {kv}i4>, %{tag}s: {st}, %{tag}z: {st}, %{tag}a: tensor<1x2x{n}x4xf32>, "
            f"%{tag}b: tensor<1x2x4x64xf32>, %{tag}i: tensor<1x2x{n}x2xi32>, %{tag}v: tensor<1x2x{n}x2xf32>")
    body = f"""
  %{tag}d = kvq.dequantize {scheme} %{tag}c, %{tag}s, %{tag}z : {kv}i4>, {st}, {st} -> {kv}f32>
  %{tag} = kvq.gear_decode %{tag}d, %{tag}a, %{tag}b, %{tag}i, %{tag}v : {kv}f32>, tensor<1x2x{n}x4xf32>,
      tensor<1x2x4x64xf32>, tensor<1x2x{n}x2xi32>, tensor<1x2x{n}x2xf32> -> {kv}f32>"""
    return args, body


def gear_attention_fn(name, n, sq=3):
    ka, kb = gear_operand("k", KIVI_K, n)
    va, vb = gear_operand("v", KIVI_V, n)
    kv = f"tensor<1x2x{n}x64xf32>"
    q = f"tensor<1x8x{sq}x64xf32>"
    return f"""
func.func @{name}(%q: {q}, {ka}, {va}) -> {q} {{{kb}{vb}
  %o = kvq.attention q(%q : {q}) k(%k : {kv}) v(%v : {kv})
      {{causal}} -> {q}
  return %o : {q}
}}
"""


def module():
    return ("""
func.func @outliers(%x: tensor<2x3x?x20xf32>) -> (tensor<2x3x?x20xf32>, tensor<2x3x?x3xi32>, tensor<2x3x?x3xf32>) {
  %r, %i, %v = kvq.extract_outliers %x {count = 3}
      : tensor<2x3x?x20xf32> -> tensor<2x3x?x20xf32>, tensor<2x3x?x3xi32>, tensor<2x3x?x3xf32>
  return %r, %i, %v : tensor<2x3x?x20xf32>, tensor<2x3x?x3xi32>, tensor<2x3x?x3xf32>
}
func.func @outliers_f16(%x: tensor<1x2x7x33xf16>) -> (tensor<1x2x7x33xf16>, tensor<1x2x7x1xi32>, tensor<1x2x7x1xf32>) {
  %r, %i, %v = kvq.extract_outliers %x {count = 1}
      : tensor<1x2x7x33xf16> -> tensor<1x2x7x33xf16>, tensor<1x2x7x1xi32>, tensor<1x2x7x1xf32>
  return %r, %i, %v : tensor<1x2x7x33xf16>, tensor<1x2x7x1xi32>, tensor<1x2x7x1xf32>
}
func.func @approx(%x: tensor<2x3x?x24xf32>) -> (tensor<2x3x?x5xf32>, tensor<2x3x5x24xf32>) {
  %a, %b = kvq.low_rank_approx %x {rank = 5, iterations = 4, seed = 3}
      : tensor<2x3x?x24xf32> -> tensor<2x3x?x5xf32>, tensor<2x3x5x24xf32>
  return %a, %b : tensor<2x3x?x5xf32>, tensor<2x3x5x24xf32>
}
func.func @approx_converged(%x: tensor<1x2x?x40xf16>) -> (tensor<1x2x?x6xf32>, tensor<1x2x6x40xf32>) {
  %a, %b = kvq.low_rank_approx %x {rank = 6, iterations = 12}
      : tensor<1x2x?x40xf16> -> tensor<1x2x?x6xf32>, tensor<1x2x6x40xf32>
  return %a, %b : tensor<1x2x?x6xf32>, tensor<1x2x6x40xf32>
}
func.func @decode(%d: tensor<2x2x?x19xf16>, %a: tensor<2x2x?x3xf32>, %b: tensor<2x2x3x19xf32>,
                  %i: tensor<2x2x?x2xi32>, %v: tensor<2x2x?x2xf32>) -> tensor<2x2x?x19xf32> {
  %x = kvq.gear_decode %d, %a, %b, %i, %v : tensor<2x2x?x19xf16>, tensor<2x2x?x3xf32>, tensor<2x2x3x19xf32>,
      tensor<2x2x?x2xi32>, tensor<2x2x?x2xf32> -> tensor<2x2x?x19xf32>
  return %x : tensor<2x2x?x19xf32>
}
""" + gear_prefill_fn("gear_k37", 37, KIVI_K, (1, 2, 2, 64))
        + gear_prefill_fn("gear_v50", 50, KIVI_V, (1, 2, 50, 2))
        + gear_attention_fn("gear_attention", "?")
        # 4 query heads per KV head x 9 tokens: 36 rows per KV head, the
        # register-blocked (prefill) kernel, which decodes the outliers
        # per chunk.
        + gear_attention_fn("gear_attention_prefill", "?", sq=9) + f"""
func.func @xkv(%k0: tensor<2x3x?x16xf32>, %k1: tensor<2x3x?x16xf32>, %k2: tensor<2x3x?x16xf16>)
    -> (tensor<2x3x?x12xf32>, tensor<3x16x12xf32>, tensor<3x16x12xf32>, tensor<3x16x12xf32>) {{
  %c, %u:3 = kvq.cross_layer_basis %k0, %k1, %k2 {{rank = 12, iterations = 6, seed = 4}}
      : tensor<2x3x?x16xf32>, tensor<2x3x?x16xf32>, tensor<2x3x?x16xf16>
      -> tensor<2x3x?x12xf32>, tensor<3x16x12xf32>, tensor<3x16x12xf32>, tensor<3x16x12xf32>
  return %c, %u#0, %u#1, %u#2 : tensor<2x3x?x12xf32>, tensor<3x16x12xf32>, tensor<3x16x12xf32>, tensor<3x16x12xf32>
}}
func.func @xkv_attention(%q0: tensor<1x4x2x32xf32>, %q1: tensor<1x4x2x32xf32>,
                         %k0: tensor<1x2x?x32xf32>, %k1: tensor<1x2x?x32xf32>,
                         %v0: tensor<1x2x?x32xf32>, %v1: tensor<1x2x?x32xf32>)
    -> (tensor<1x4x2x32xf32>, tensor<1x4x2x32xf32>) {{
  %ck, %uk:2 = kvq.cross_layer_basis %k0, %k1 {{rank = 20}}
      : tensor<1x2x?x32xf32>, tensor<1x2x?x32xf32> -> tensor<1x2x?x20xf32>, tensor<2x32x20xf32>, tensor<2x32x20xf32>
  %cv, %uv:2 = kvq.cross_layer_basis %v0, %v1 {{rank = 24}}
      : tensor<1x2x?x32xf32>, tensor<1x2x?x32xf32> -> tensor<1x2x?x24xf32>, tensor<2x32x24xf32>, tensor<2x32x24xf32>
  %ka = kvq.reconstruct %ck, %uk#0 : tensor<1x2x?x20xf32>, tensor<2x32x20xf32> -> tensor<1x2x?x32xf32>
  %kb = kvq.reconstruct %ck, %uk#1 : tensor<1x2x?x20xf32>, tensor<2x32x20xf32> -> tensor<1x2x?x32xf32>
  %va = kvq.reconstruct %cv, %uv#0 : tensor<1x2x?x24xf32>, tensor<2x32x24xf32> -> tensor<1x2x?x32xf32>
  %vb = kvq.reconstruct %cv, %uv#1 : tensor<1x2x?x24xf32>, tensor<2x32x24xf32> -> tensor<1x2x?x32xf32>
  %o0 = kvq.attention q(%q0 : tensor<1x4x2x32xf32>) k(%ka : tensor<1x2x?x32xf32>) v(%va : tensor<1x2x?x32xf32>)
      -> tensor<1x4x2x32xf32>
  %o1 = kvq.attention q(%q1 : tensor<1x4x2x32xf32>) k(%kb : tensor<1x2x?x32xf32>) v(%vb : tensor<1x2x?x32xf32>)
      -> tensor<1x4x2x32xf32>
  return %o0, %o1 : tensor<1x4x2x32xf32>, tensor<1x4x2x32xf32>
}}
""")


def near_low_rank(rng, shape, rank, noise):
    """[B, H, S, D] rows near a `rank`-dimensional subspace per head."""
    b, h, s, d = shape
    w = rng.standard_normal((b, h, rank, d))
    z = rng.standard_normal((b, h, s, rank)) * np.geomspace(4.0, 1.0, rank)
    return (z @ w + noise * rng.standard_normal(shape)).astype(np.float32)


def main():
    opts = kt.parse(__doc__)
    mod = kt.library(opts, module(), "gear")
    if mod is None:
        return
    rng = kt.rng()

    # Outliers: exact (a selection), including ties (small integers).
    for s, ties in ((0, False), (1, False), (23, False), (11, True)):
        x = rng.standard_normal((2, 3, s, 20)).astype(np.float32)
        if ties:
            x = np.round(x * 2).astype(np.float32)
        r, i, v = mod.outliers(x)
        wr, wi, wv = ref.extract_outliers(x, 3)
        kt.report(f"outliers S={s}{' ties' if ties else ''}",
                np.array_equal(r, wr) and np.array_equal(i, wi) and np.array_equal(v, wv))
    x = rng.standard_normal((1, 2, 7, 33)).astype(np.float16)
    r, i, v = mod.outliers_f16(x)
    wr, wi, wv = ref.extract_outliers(x, 1)
    kt.report("outliers_f16", np.array_equal(r, wr) and np.array_equal(i, wi) and
            np.array_equal(v, wv.astype(np.float32)))

    # Low rank: the reference's algorithm (also at S < rank and S = 0),
    # orthonormal bases, the product a b.
    for s in (0, 3, 41):
        x = rng.standard_normal((2, 3, s, 24)).astype(np.float32)
        a, b = mod.approx(x)
        wa, wb = ref.low_rank_approx(x, 5, iterations=4, seed=3)
        kt.check(f"approx a b S={s}", np.asarray(a) @ np.asarray(b), wa @ wb, 1e-4)
        kt.check(f"approx b S={s}", b, wb, 1e-4)
        gram = np.asarray(b, np.float64) @ np.swapaxes(np.asarray(b, np.float64), -1, -2)
        want = np.diag([1.0] * min(s, 5) + [0.0] * (5 - min(s, 5)))
        kt.check(f"approx orthonormal S={s}", gram, np.broadcast_to(want, gram.shape), 1e-5)
    # Converged: the Frobenius error within 1 % of the SVD optimum.
    for s in (17, 64):
        x = near_low_rank(rng, (1, 2, s, 40), 6, 0.05).astype(np.float16)
        a, b = mod.approx_converged(x)
        xf = x.astype(np.float64)
        ratios = []
        for h in range(2):
            sv = np.linalg.svd(xf[0, h], compute_uv=False)
            best = np.sqrt((sv[6:] ** 2).sum())
            ratios.append(np.linalg.norm(xf[0, h] - np.asarray(a[0, h], np.float64) @ b[0, h]) / best)
        kt.report(f"approx vs SVD optimum S={s}", max(ratios) <= 1.01,
                f"(error / optimum {max(ratios):.4f})")

    # Decoding.
    for s in (0, 1, 26):
        d = rng.standard_normal((2, 2, s, 19)).astype(np.float16)
        a = rng.standard_normal((2, 2, s, 3)).astype(np.float32)
        b = rng.standard_normal((2, 2, 3, 19)).astype(np.float32)
        i = np.argsort(rng.random((2, 2, s, 19)), axis=-1)[..., :2].astype(np.int32)
        v = (10 * rng.standard_normal((2, 2, s, 2))).astype(np.float32)
        kt.check(f"decode S={s}", mod.decode(d, a, b, i, v), ref.gear_decode(d, a, b, i, v), 1e-5)

    # GEAR at prefill, one function: against the composition of the
    # references, and better than KIVI alone.
    for name, s, scheme in (("gear_k37", 37, KIVI_K), ("gear_v50", 50, KIVI_V)):
        x = rng.standard_normal((1, 2, s, 64)).astype(np.float32)
        x[..., 5] += 6.0  # a channel outlier
        x[rng.random(x.shape) < 0.02] *= 12.0  # sparse outliers
        g, d = getattr(mod, name)(x)
        want, parts = ref.gear(x, ref.QuantScheme.parse(scheme), 2, 4)
        kt.check(f"{name} decoded", g, want, 1e-4)
        plain_codes = ref.quantize(x, ref.QuantScheme.parse(scheme))
        kivi = ref.dequantize(*plain_codes, ref.QuantScheme.parse(scheme))
        e_gear = np.linalg.norm(np.asarray(g, np.float64) - x)
        e_kivi = np.linalg.norm(kivi.astype(np.float64) - x)
        kt.report(f"{name} error below KIVI", e_gear < 0.5 * e_kivi,
                f"(|x - gear| {e_gear:.3f}, |x - kivi| {e_kivi:.3f})")

    # Attention over GEAR-compressed K and V, decoded inside the attention's
    # key loop (KVDecoderOpInterface), at a dynamic length.
    for length in (1, 45, 77):
        q = rng.standard_normal((1, 8, 3, 64)).astype(np.float32)
        args, dec = [q], []
        for scheme in (KIVI_K, KIVI_V):
            x = rng.standard_normal((1, 2, length, 64)).astype(np.float32)
            x[rng.random(x.shape) < 0.02] *= 12.0
            xd, p = ref.gear(x, ref.QuantScheme.parse(scheme), 2, 4)
            args += [p["codes"], p["scale"].astype(np.float16), p["zero_point"].astype(np.float16),
                     p["a"], p["b"], p["indices"], p["values"].astype(np.float32)]
            dec.append(xd)
        kt.check(f"gear_attention L={length}", mod.gear_attention(*args),
              ref.attention(q, dec[0], dec[1], causal=True), kt.attention_tol(opts, 1e-5))

    # Repeated channels add up; channels outside the head (negative or past
    # it) add nothing, in both kernels. The decode kernel applies the outliers as sparse terms
    # of its scores and accumulators, so these go through that path too.
    for length in (1, 45):
        q = rng.standard_normal((1, 8, 3, 64)).astype(np.float32)
        args, dec = [q], []
        for scheme in (KIVI_K, KIVI_V):
            x = rng.standard_normal((1, 2, length, 64)).astype(np.float32)
            xd, p = ref.gear(x, ref.QuantScheme.parse(scheme), 2, 4)
            idx = p["indices"].copy()
            vals = (rng.standard_normal(idx.shape) * 8).astype(np.float32)
            pick = rng.random(idx.shape[:3])
            idx[..., 1] = np.where(pick < 0.3, idx[..., 0], idx[..., 1])
            bad = rng.choice(np.array([-1, 64, 1 << 20, -(1 << 31)], np.int64), idx.shape)
            idx = np.where(rng.random(idx.shape) < 0.3, bad, idx).astype(np.int32)
            inside = (idx >= 0) & (idx < 64)
            deq = ref.dequantize(p["codes"], p["scale"].astype(np.float16),
                                 p["zero_point"].astype(np.float16), ref.QuantScheme.parse(scheme))
            dec.append(ref.gear_decode(deq, p["a"], p["b"], np.where(inside, idx, 0),
                                       np.where(inside, vals, 0.0)))
            args += [p["codes"], p["scale"].astype(np.float16), p["zero_point"].astype(np.float16),
                     p["a"], p["b"], idx, vals]
        kt.check(f"gear_attention repeated and outside channels L={length}",
                 mod.gear_attention(*args), ref.attention(q, dec[0], dec[1], causal=True),
                 kt.attention_tol(opts, 1e-5))
        q9 = rng.standard_normal((1, 8, 9, 64)).astype(np.float32)
        kt.check(f"gear_attention_prefill repeated and outside channels L={length}",
                 mod.gear_attention_prefill(q9, *args[1:]),
                 ref.attention(q9, dec[0], dec[1], causal=True), kt.attention_tol(opts, 1e-5))

    # xKV: the reference's basis; orthonormal stacked bases (2 S tokens per
    # head: at S = 1 only 2 basis vectors exist, the others are zero); on
    # layers sharing their token space, the SVD optimum of the stacked
    # layers.
    for s, shared in ((1, False), (29, False), (48, True)):
        ks = [rng.standard_normal((2, 3, s, 16)).astype(np.float32) for _ in range(3)]
        if shared:
            z = rng.standard_normal((2, 3, s, 12)) * np.geomspace(5.0, 1.0, 12)
            ks = [(z @ rng.standard_normal((3, 12, 16)) + 0.05 * k).astype(np.float32) for k in ks]
        ks[2] = ks[2].astype(np.float16)
        c, *us = mod.xkv(*ks)
        wc, wus = ref.cross_layer_basis(ks, 12, iterations=6, seed=4)
        kt.check(f"xkv coordinates S={s}", c, wc, 1e-4)
        for l in range(3):
            kt.check(f"xkv basis {l} S={s}", us[l], wus[l], 1e-4)
        w = np.concatenate([np.asarray(u, np.float64) for u in us], axis=1)
        basis_count = min(2 * s, 12)
        kt.check(f"xkv orthonormal S={s}", np.swapaxes(w, 1, 2) @ w,
              np.broadcast_to(np.diag([1.0] * basis_count + [0.0] * (12 - basis_count)),
                              (3, 12, 12)), 1e-5)
        if shared:
            x = np.concatenate([k.astype(np.float64) for k in ks], axis=-1)
            ratios = []
            for h in range(3):
                xh = x[:, h].reshape(-1, 48)
                sv = np.linalg.svd(xh, compute_uv=False)
                approx = np.asarray(c, np.float64)[:, h].reshape(-1, 12) @ w[h].T
                ratios.append(np.linalg.norm(xh - approx) / np.sqrt((sv[12:] ** 2).sum()))
            kt.report(f"xkv vs SVD optimum S={s}", max(ratios) <= 1.01,
                    f"(error / optimum {max(ratios):.4f})")
    # Per-layer attention over the shared coordinates.
    for length in (7, 40):
        q0, q1 = (rng.standard_normal((1, 4, 2, 32)).astype(np.float32) for _ in range(2))
        shared = [near_low_rank(rng, (1, 2, length, 32), 10, 0.1) for _ in range(2)]
        k0, k1 = (shared[0] + 0.1 * rng.standard_normal(shared[0].shape).astype(np.float32)
                  for _ in range(2))
        v0, v1 = (shared[1] + 0.1 * rng.standard_normal(shared[1].shape).astype(np.float32)
                  for _ in range(2))
        o0, o1 = mod.xkv_attention(q0, q1, k0, k1, v0, v1)
        ck, uk = ref.cross_layer_basis([k0, k1], 20)
        cv, uv = ref.cross_layer_basis([v0, v1], 24)
        for l, (q, o) in enumerate(((q0, o0), (q1, o1))):
            want = ref.attention(q, ref.reconstruct(ck, uk[l]), ref.reconstruct(cv, uv[l]))
            kt.check(f"xkv_attention layer {l} L={length}", o, want,
                  kt.attention_tol(opts, 1e-4))

    kt.finish()


if __name__ == "__main__":
    main()
