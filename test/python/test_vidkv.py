"""Properties of the VidKV golden model (python/kvq/reference.py) against
independent computations, on fresh random inputs."""

import numpy as np
import pytest

import kvq_testing as kt
from kvq import reference as ref

rng = kt.rng()


@pytest.mark.parametrize("n", [1, 2, 3, 8, 13, 64])
def test_halfcomplex_is_the_dft(n):
    x = rng.standard_normal((4, n))
    t = np.arange(n)
    re = [x @ np.cos(2 * np.pi * j * t / n) for j in range(n // 2 + 1)]
    im = [-(x @ np.sin(2 * np.pi * j * t / n)) for j in range(1, (n + 1) // 2)]
    want = np.stack(re + im, axis=-1)
    np.testing.assert_allclose(ref.vidkv_halfcomplex(x), want, atol=1e-10)
    np.testing.assert_allclose(ref.vidkv_inverse_halfcomplex(want), x, atol=1e-10)


def test_channel_slots():
    k = rng.standard_normal((2, 3, 9, 10)).astype(np.float32)
    k[0, 1, :, 7] *= 50.0
    slots = ref.vidkv_channel_slots(k, 0.3)
    rng_ = k.max(axis=2) - k.min(axis=2)
    for b in range(2):
        for h in range(3):
            s = slots[b, h]
            assert sorted(s) == list(range(10))
            high = set(np.argsort(-rng_[b, h])[:3])
            assert {c for c in range(10) if s[c] < 3} == high
            # ascending channel order within each part
            hi = [c for c in range(10) if s[c] < 3]
            lo = [c for c in range(10) if s[c] >= 3]
            assert [s[c] for c in hi] == [0, 1, 2] and [s[c] for c in lo] == list(range(3, 10))
    assert slots[0, 1, 7] < 3
    # Ties (one token: every range is 0) go to the lower channel.
    one = ref.vidkv_channel_slots(k[:, :, :1], 0.5)
    assert (one == np.arange(10)).all()


def test_key_decode_matches_a_full_spectrum_decode():
    """Storing the N real degrees of freedom decodes to what the reference
    code's 2N-real spectrum decodes to (with sign * scale dequantization):
    ifft of the per-component 1-bit spectrum, real part."""
    g = 8
    k = rng.standard_normal((1, 2, 29, 12)).astype(np.float32)
    enc = ref.vidkv_encode_key(k, 0.5, g)
    dec = ref.vidkv_decode_key(*enc, group_size=g)
    slots = enc[5]
    for h in range(2):
        lo = np.flatnonzero(slots[0, h] >= 6)
        x = k[0, h][:, lo].astype(np.float64)
        f = np.fft.fft(x, axis=-1)
        full = np.stack([f.real, f.imag], axis=-1).reshape(29, -1)  # view_as_real
        rec = np.zeros_like(full)
        for s0 in range(0, 29, g):
            blk = full[s0:s0 + g]
            rec[s0:s0 + g] = np.where(blk >= 0, 1.0, -1.0) * np.abs(blk).mean(axis=0)
        c = rec.reshape(29, -1, 2)
        want = np.fft.ifft(c[..., 0] + 1j * c[..., 1], axis=-1).real
        np.testing.assert_allclose(dec[0, h][:, lo], want, atol=1e-5)
        # High channels: KIVI 2-bit, within half a step.
        hi = np.flatnonzero(slots[0, h] < 6)
        step = np.repeat(enc[1][0, h], g, axis=0)[:29]
        assert (np.abs(dec[0, h][:, hi] - k[0, h][:, hi]) <= step / 2 + 1e-6).all()


def test_ternary_pack_roundtrip():
    t = rng.integers(-1, 2, size=(3, 4, 23))
    p = ref.pack_ternary(t)
    assert p.shape == (3, 4, 5) and p.view(np.uint8).max() <= 242
    assert (ref.unpack_ternary(p, 23) == t).all()


def test_value_ternary_rule():
    v = rng.standard_normal((1, 2, 21, 9)).astype(np.float32)
    codes, scale = ref.vidkv_encode_value(v, 8)
    t = ref.unpack_ternary(codes, 9)
    for g0 in range(0, 21, 8):
        blk = v[0, :, g0:g0 + 8].astype(np.float64)
        m = np.abs(blk).mean(axis=1, keepdims=True)
        np.testing.assert_allclose(scale[0, :, g0 // 8], m[:, 0], rtol=1e-6)
        want = np.where(blk > m / 2, 1, np.where(blk < -m / 2, -1, 0))
        assert (t[0, :, g0:g0 + 8] == want).all()
    d = ref.vidkv_decode_value(codes, scale, 8)
    np.testing.assert_allclose(np.abs(d), np.abs(t) * np.repeat(scale, 8, axis=2)[:, :, :21], rtol=1e-7)


def test_bits_per_value():
    assert ref.vidkv_bits_per_value(128, 0.5, 32, scale_bits=0) == (1.5, 1.625)
    assert ref.vidkv_bits_per_value(128, 0.5, 32, scale_bits=16) == (2.25, 2.125)
