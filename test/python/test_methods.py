"""Tests of the golden models of the methods beyond quantization
(python/kvq/reference.py): low rank, smoothing, MLA, PolySketchFormer,
LevAttention, GEAR and xKV. Each checks a property the method rests on against an
independent computation, on fresh random inputs."""

import numpy as np
import pytest

import kvq_testing as kt
from kvq import reference as ref

rng = kt.rng()


def orthonormal(heads, d, r):
    return np.stack([np.linalg.qr(rng.standard_normal((d, d)))[0][:, :r] for _ in range(heads)])


@pytest.mark.parametrize("hb", [1, 2, 4])
def test_project_reconstruct_inverse_at_full_rank(hb):
    x = rng.standard_normal((2, 4, 7, 12))
    u = orthonormal(hb, 12, 12)
    mu = rng.standard_normal((hb, 12))
    np.testing.assert_allclose(ref.reconstruct(ref.project(x, u, mu), u, mu), x, atol=1e-12)


def test_project_heads_share_bases():
    x = rng.standard_normal((1, 8, 3, 6))
    u = rng.standard_normal((2, 6, 3))
    y = ref.project(x, u)
    for h in range(8):
        np.testing.assert_allclose(y[0, h], x[0, h] @ u[h // 4], atol=1e-12)
    with pytest.raises(ValueError):
        ref.project(rng.standard_normal((1, 6, 3, 6)), rng.standard_normal((4, 6, 3)))


def test_pca_basis_is_orthonormal_and_captures_low_rank_data():
    z = rng.standard_normal((1, 2, 200, 3))
    w = rng.standard_normal((2, 3, 10))
    x = np.einsum("bhsr,hrd->bhsd", z, w) + 5.0
    u, mu = ref.pca_basis(x, 3)
    for h in range(2):
        np.testing.assert_allclose(u[h].T @ u[h], np.eye(3), atol=1e-10)
    np.testing.assert_allclose(ref.reconstruct(ref.project(x, u, mu), u, mu), x, atol=1e-8)


def test_low_rank_attention_rewrites_are_exact():
    # The kvq-fuse rewrites: projected queries for K, V reconstructed after.
    q = rng.standard_normal((1, 4, 3, 8))
    kr, vr = rng.standard_normal((1, 2, 9, 3)), rng.standard_normal((1, 2, 9, 5))
    uk, uv = rng.standard_normal((2, 8, 3)), rng.standard_normal((2, 8, 5))
    muk, muv = rng.standard_normal((2, 8)), rng.standard_normal((2, 8))
    full = ref.attention(q, ref.reconstruct(kr, uk, muk), ref.reconstruct(vr, uv, muv))
    low = ref.reconstruct(ref.attention(ref.project(q, uk), kr, vr, scale=1 / np.sqrt(8)), uv, muv)
    np.testing.assert_allclose(low, full, atol=1e-12)


def test_smooth_leaves_attention_unchanged():
    q = rng.standard_normal((1, 2, 4, 8))
    k = rng.standard_normal((1, 2, 11, 8)) + 3.0
    v = rng.standard_normal((1, 2, 11, 8))
    centered, mean = ref.smooth(k)
    np.testing.assert_allclose(centered.mean(axis=2), 0, atol=1e-12)
    np.testing.assert_allclose(centered + mean, k, atol=1e-12)
    np.testing.assert_allclose(ref.attention(q, centered, v, causal=True),
                               ref.attention(q, k, v, causal=True), atol=1e-12)
    assert not ref.smooth(np.zeros((1, 1, 0, 4)))[1].any()


def test_latent_attention_equals_absorbed_form():
    qn, qr = rng.standard_normal((1, 4, 2, 6)), rng.standard_normal((1, 4, 2, 3))
    cache = rng.standard_normal((1, 1, 7, 5 + 3))
    wuk, wuv = rng.standard_normal((4, 6, 5)), rng.standard_normal((4, 4, 5))
    naive = ref.latent_attention(qn, qr, cache, wuk, wuv, causal=True)
    qt = np.einsum("bhsn,hnc->bhsc", qn, wuk)
    o = ref.attention(np.concatenate([qt, qr], -1), cache, cache[..., :5],
                      scale=1 / np.sqrt(9), causal=True)
    np.testing.assert_allclose(np.einsum("bhsc,hvc->bhsv", o, wuv), naive, atol=1e-12)


def test_sketch_matrices_are_deterministic_and_scaled():
    a1, a2 = ref.sketch_matrices(16, 512, 3)
    b1, _ = ref.sketch_matrices(16, 512, 3)
    assert a1.dtype == np.float32 and np.array_equal(a1, b1)
    assert not np.array_equal(a1, ref.sketch_matrices(16, 512, 4)[0])
    # N(0, 1/sqrt(r)) entries: variance 1/sqrt(512).
    assert abs(np.concatenate([a1, a2]).var() * np.sqrt(512) - 1) < 0.05


def test_poly_sketch_estimates_squared_dot_products():
    q = rng.standard_normal(16) / 2
    k = q + rng.standard_normal(16) / 4
    est = [ref.poly_sketch(q, 64, s) @ ref.poly_sketch(k, 64, s) for s in range(200)]
    assert abs(np.mean(est) - (q @ k) ** 2) < 0.15 * (q @ k) ** 2


def test_poly_attention_exact_form():
    q = rng.standard_normal((1, 2, 3, 4))
    k = rng.standard_normal((1, 1, 5, 4))
    v = rng.standard_normal((1, 1, 5, 2))
    w = np.einsum("qd,kd->qk", q[0, 1], k[0, 0]) ** 4
    want = (w @ v[0, 0]) / (1 + w.sum(1, keepdims=True))
    np.testing.assert_allclose(ref.poly_attention(q, k, v)[0, 1], want, atol=1e-12)
    # Causal: the last row sees everything, the first only its prefix.
    c = ref.poly_attention(q, k, v, causal=True)
    np.testing.assert_allclose(c[0, :, -1], ref.poly_attention(q, k, v)[0, :, -1], atol=1e-12)


@pytest.mark.parametrize("s,rank", [(50, 6), (6, 6), (40, 3)])
def test_leverage_scores_bound_and_guarantee(s, rank):
    # Well-conditioned keys of the given rank: singular values in [1, 3].
    left = np.linalg.qr(rng.standard_normal((s, rank)))[0]
    right = np.linalg.qr(rng.standard_normal((6, rank)))[0].T
    k = (left * np.linspace(1.0, 3.0, rank)) @ right
    k = k[None, None]
    tau = ref.leverage_scores(k)
    assert abs(tau.sum() - min(s, rank)) < 1e-8
    assert (tau >= -1e-12).all() and (tau <= 1 + 1e-9).all()
    q = rng.standard_normal((100, 6))
    a = (q @ k[0, 0].T) ** 2
    np.testing.assert_array_less(a, tau[0, 0] * a.sum(1, keepdims=True) * (1 + 1e-9) + 1e-12)


def test_select_keys_mask():
    tau = np.array([[[0.5, 0.01, 0.2]]])
    m = ref.select_keys(tau, 0.1, (1, 2, 3, 3))
    assert m.shape == (1, 2, 3, 3)
    assert (m[..., 0] == 0).all() and np.isneginf(m[..., 1]).all() and (m[..., 2] == 0).all()


def test_select_keys_top():
    tau = np.array([[[0.2, 0.5, 0.2, 0.1]]])
    m = ref.select_keys(tau, None, (1, 1, 1, 4), top=2)
    # 0.5 first, then the earlier of the two 0.2.
    assert (m[0, 0, 0] == [0, 0, -np.inf, -np.inf]).all()


@pytest.mark.parametrize("kind,d", [("hadamard", 32), ("orthogonal", 24)])
def test_rotations_are_orthogonal_and_seeded(kind, d):
    s = ref.rotation_matrix(d, kind, 5).astype(np.float64)
    np.testing.assert_allclose(s @ s.T, np.eye(d), atol=1e-6)
    assert np.array_equal(ref.rotation_matrix(d, kind, 5), ref.rotation_matrix(d, kind, 5))
    assert not np.array_equal(ref.rotation_matrix(d, kind, 5), ref.rotation_matrix(d, kind, 6))
    x = rng.standard_normal((2, 3, d))
    np.testing.assert_allclose(ref.rotate(ref.rotate(x, kind, 5), kind, 5, inverse=True), x,
                               atol=1e-5)
    # Dot products (attention scores) are invariant.
    q, k = rng.standard_normal(d), rng.standard_normal(d)
    assert abs(ref.rotate(q, kind, 5) @ ref.rotate(k, kind, 5) - q @ k) < 1e-5 * d


def test_hadamard_spreads_an_outlier_channel():
    x = np.zeros(64)
    x[3] = 100.0
    y = ref.rotate(x, "hadamard", 1)
    np.testing.assert_allclose(np.abs(y), 100.0 / 8, rtol=1e-6)
    with pytest.raises(ValueError):
        ref.rotation_matrix(24, "hadamard", 0)


# GEAR and xKV


@pytest.mark.parametrize("count", [1, 3])
def test_extract_outliers_splits_exactly(count):
    x = rng.standard_normal((2, 3, 9, 16)).astype(np.float32)
    rem, idx, val = ref.extract_outliers(x, count)
    # remainder + scattered outliers is the input, and no kept entry beats
    # an extracted one.
    np.testing.assert_array_equal(ref.gear_decode(rem, np.zeros((2, 3, 9, 1)),
                                                  np.zeros((2, 3, 1, 16)), idx, val), x)
    assert (np.abs(val).min(-1) >= np.abs(rem).max(-1)).all()
    assert (np.diff(np.abs(val), axis=-1) <= 0).all()


def test_extract_outliers_ties_to_the_lower_channel():
    x = np.array([[[[1.0, -2.0, 2.0, 0.5, -2.0]]]], np.float32)
    _, idx, val = ref.extract_outliers(x, 2)
    assert idx.tolist() == [[[[1, 2]]]] and val.tolist() == [[[[-2.0, 2.0]]]]


def test_orthonormalize_drops_columns_at_rounding_level_of_the_matrix():
    # A column at 1e-13 of the largest column's norm is rounding residue of
    # the matrix, not a direction: it becomes zero even though it is not in
    # the span of the others (kept and normalized, such a column used to stay
    # a unit vector through every later subspace iteration).
    w = rng.standard_normal((2, 9, 4))
    w[..., :3] *= 1e3
    w[..., 3] = 1e-13 * w[..., 3] / np.linalg.norm(w[..., 3], axis=-1, keepdims=True)
    q = ref.orthonormalize(w)
    np.testing.assert_allclose(np.swapaxes(q, -1, -2) @ q,
                               np.broadcast_to(np.diag([1.0, 1.0, 1.0, 0.0]), (2, 4, 4)),
                               atol=1e-12)
    # A small column well above that level is kept.
    w[..., 3] *= 1e8
    q = ref.orthonormalize(w)
    np.testing.assert_allclose(np.swapaxes(q, -1, -2) @ q,
                               np.broadcast_to(np.eye(4), (2, 4, 4)), atol=1e-9)


@pytest.mark.parametrize("s,rank", [(40, 4), (7, 6), (3, 5)])
def test_low_rank_approx_reaches_the_svd_optimum(s, rank):
    # Rows near a rank-`rank` subspace: subspace iteration converges to the
    # truncated SVD (Eckart-Young optimum), with orthonormal bases.
    x = rng.standard_normal((2, 2, s, rank)) * np.geomspace(4, 1, rank) @ \
        rng.standard_normal((2, 2, rank, 24)) + 0.01 * rng.standard_normal((2, 2, s, 24))
    a, b = ref.low_rank_approx(x, rank, iterations=15, seed=1)
    kept = min(s, rank)
    np.testing.assert_allclose(b @ np.swapaxes(b, -1, -2),
                               np.broadcast_to(np.diag([1.0] * kept + [0.0] * (rank - kept)),
                                               (2, 2, rank, rank)), atol=1e-10)
    for bi in range(2):
        for h in range(2):
            sv = np.linalg.svd(x[bi, h], compute_uv=False)
            best = np.sqrt((sv[rank:] ** 2).sum())
            err = np.linalg.norm(x[bi, h] - a[bi, h] @ b[bi, h])
            assert err <= best * (1 + 1e-6) + 1e-9


def test_gear_beats_its_quantizer():
    s = ref.QuantScheme.parse("#kvq.quant<i2, asymmetric, group(axis = 3, size = 32), scale = f16>")
    x = rng.standard_normal((1, 2, 64, 64)).astype(np.float32)
    x[rng.random(x.shape) < 0.02] *= 15
    dec, parts = ref.gear(x, s, 2, 4)
    kivi = ref.dequantize(*ref.quantize(x, s), s)
    assert np.linalg.norm(dec - x) < 0.5 * np.linalg.norm(kivi - x)
    assert parts["indices"].shape == (1, 2, 64, 2) and parts["a"].shape == (1, 2, 64, 4)


def test_cross_layer_basis_reconstructs_every_layer():
    # Three layers sharing their token space (rank 10): one per-head basis of
    # rank 10 reconstructs every layer, the coordinates are shared.
    z = rng.standard_normal((2, 3, 30, 10))
    ks = [z @ rng.standard_normal((3, 10, 16)) for _ in range(3)]
    c, us = ref.cross_layer_basis(ks, 10, iterations=10)
    for k, u in zip(ks, us):
        np.testing.assert_allclose(ref.reconstruct(c, u), k, atol=1e-8)
    w = np.concatenate(us, axis=1)
    np.testing.assert_allclose(np.swapaxes(w, 1, 2) @ w, np.broadcast_to(np.eye(10), (3, 10, 10)),
                               atol=1e-10)
@pytest.mark.parametrize("length", [0, 5, 128, 200, 300])
def test_kivi_window_split_and_decode(length):
    rng = np.random.default_rng(length)
    k = rng.standard_normal((1, 2, length, 64)).astype(np.float32)
    v = rng.standard_normal((1, 2, length, 64)).astype(np.float32)
    cache = ref.kivi_cache(k, v, bits=2, group=32, residual=128)
    nk, nv = ref.kivi_split(length, 128), ref.kivi_split(length, 128, value=True)
    # K flushes whole windows; V keeps exactly the newest 128 tokens.
    assert nk % 128 == 0 and 0 <= length - nk < 128
    assert length - nv == min(length, 128)
    for part, x, n in ((cache["k"], k, nk), (cache["v"], v, nv)):
        assert part["codes"].shape[2] == n and part["full"].shape[2] == length - n
        dec = ref.kivi_decode(part)
        assert dec.shape == x.shape
        # The window is exact to fp16; the quantized part within half a step.
        np.testing.assert_allclose(dec[:, :, n:], x[:, :, n:], rtol=1e-3, atol=1e-3)
        if n:
            step = np.asarray(ref.expand_scale(part["scale"], part["codes"].shape, part["scheme"]),
                              np.float64)
            assert np.all(np.abs(dec[:, :, :n] - x[:, :, :n]) <= step / 2 + 1e-2)
