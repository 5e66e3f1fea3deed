"""Properties of the SageAttention2 golden model (kvq.reference.sage_attention)
and of the fragment (per-thread) quantization granularity."""

import ml_dtypes
import numpy as np
import pytest

from kvq import reference as ref


def test_fragment_groups_follow_the_mma_layout():
    # Q (m16 A operand): within 32 rows, rows t % 8 == c share a scale.
    q = ref.QuantScheme.parse("#kvq.quant<i8, symmetric, fragment(rows = 32, period = 8, run = 1)>")
    assert list(ref._fragment_groups(40, q)[:10]) == [0, 1, 2, 3, 4, 5, 6, 7, 0, 1]
    assert ref._fragment_groups(40, q)[32] == 8
    # K (n8 B operand): within 64 keys, keys (t % 8) // 2 == c share a scale.
    k = ref.QuantScheme.parse("#kvq.quant<i8, symmetric, fragment(rows = 64, period = 8, run = 2)>")
    assert list(ref._fragment_groups(10, k)) == [0, 0, 1, 1, 2, 2, 3, 3, 0, 0]
    assert ref.scale_shape((1, 2, 70, 16), k) == (1, 2, 8, 1)
    assert str(k) == "#kvq.quant<i8, symmetric, fragment(rows = 64, period = 8, run = 2)>"


@pytest.mark.parametrize("dtype,qmax", [("i8", 127), ("i4", 7)])
def test_fragment_scales_are_group_maxima(dtype, qmax):
    rng = np.random.default_rng(1)
    s = ref.QuantScheme(dtype=dtype, symmetric=True, granularity="fragment", rows=64, period=8, run=2)
    x = rng.standard_normal((2, 3, 70, 16)).astype(np.float32)
    codes, scale, _ = ref.quantize(x, s)
    groups = ref._fragment_groups(70, s)
    for g in range(scale.shape[2]):
        rows = groups == g
        want = np.abs(x[:, :, rows]).max(axis=(2, 3)) / np.float32(qmax) if rows.any() else 1.0
        np.testing.assert_allclose(scale[:, :, g, 0], want, rtol=1e-6)
    err = np.abs(ref.dequantize(codes, scale, None, s) - x)
    assert (err <= ref.expand_scale(scale, x.shape, s) / 2 + 1e-6).all()


def test_sage_close_to_exact_and_rounding_matters():
    rng = np.random.default_rng(2)
    q = rng.standard_normal((1, 4, 150, 64)).astype(np.float32)
    k = (rng.standard_normal((1, 2, 130, 64)) + 3 * rng.standard_normal(64)).astype(np.float32)
    v = rng.standard_normal((1, 2, 130, 64)).astype(np.float32)
    exact = ref.attention(q, k, v, causal=True)
    def cos(o):
        return (o * exact).sum() / np.linalg.norm(o) / np.linalg.norm(exact)
    o8 = ref.sage_attention(q, k, v, causal=True)
    o4 = ref.sage_attention(q, k, v, qk="i4", causal=True)
    o16 = ref.sage_attention(q, k, v, pv="f16", causal=True)
    unrounded = ref.sage_attention(q, k, v, causal=True, round_p=False)
    assert cos(o8) > 0.998 and cos(o16) > cos(o8) and cos(o4) > 0.95 and cos(o4) < cos(o8)
    # The FP8 rounding of P is visible: the unrounded variant differs.
    assert np.abs(unrounded - o8).max() > 1e-4


def test_k_smoothing_removes_channel_bias():
    # With smooth_k, a per-channel bias of K leaves the result unchanged
    # (up to f32 rounding of K - km flipping a code); without it the bias
    # eats the INT8 range of K.
    rng = np.random.default_rng(3)
    q = rng.standard_normal((1, 2, 20, 32)).astype(np.float32)
    k = rng.standard_normal((1, 2, 90, 32)).astype(np.float32)
    v = rng.standard_normal((1, 2, 90, 32)).astype(np.float32)
    bias = (40 * rng.standard_normal(32)).astype(np.float32)
    exact = ref.attention(q, k, v)
    smooth = ref.sage_attention(q, k + bias, v)
    raw = ref.sage_attention(q, k + bias, v, smooth_k=False, smooth_q=False)
    assert np.abs(smooth - exact).max() < np.abs(raw - exact).max() / 3


def test_q_smoothing_delta_s_is_exact_for_constant_queries():
    # Rows of a group equal to their mean: Q - q-bar = 0 and the scores are
    # Delta-S alone, exact in fp64: only V's FP8 and P's rounding remain.
    rng = np.random.default_rng(4)
    q = np.repeat(rng.standard_normal((1, 1, 1, 32)), 5, axis=2).astype(np.float32)
    k = rng.standard_normal((1, 1, 40, 32)).astype(np.float32)
    v = rng.standard_normal((1, 1, 40, 32)).astype(np.float32)
    out = ref.sage_attention(q, k, v, pv="f16", round_p=False)
    vf16 = v.astype(np.float16).astype(np.float32)
    np.testing.assert_allclose(out, ref.attention(q, k, vf16), rtol=1e-5, atol=1e-6)


def test_fp8_probabilities_stay_in_range():
    # The static offset maps the row maximum to 2^8.807 < 448: no e4m3
    # saturation, and 2^8.807 itself rounds to 448.
    top = np.float32(2.0 ** ref.SAGE_FP8_OFFSET)
    assert top < 448 and float(top.astype(ml_dtypes.float8_e4m3fn)) == 448.0
