"""Tests of the NumPy golden model, python/kvq/reference.py.

Run with ``python3 -m pytest -q test/python`` from the repository root.
"""

import itertools
import math
import zlib

import ml_dtypes
import numpy as np
import pytest

from kvq.reference import (
    QuantScheme,
    attention,
    block_shape,
    dequantize,
    expand_scale,
    pack,
    quantize,
    quantized_attention,
    round_half_away_from_zero,
    scale_shape,
    unpack,
)

F32 = np.float32

# ---------------------------------------------------------------------------
# Scheme construction, parsing and printing
# ---------------------------------------------------------------------------

CANONICAL = [
    "#kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>",
    "#kvq.quant<i8, symmetric, token>",
    "#kvq.quant<f8E4M3FN, symmetric, channel>",
    "#kvq.quant<f8E5M2, symmetric, tensor, scale = bf16>",
    "#kvq.quant<i8, symmetric, block(rows = 64, cols = 128)>",
    "#kvq.quant<i2, asymmetric, group(axis = 3, size = 32), scale = f16>",
    "#kvq.quant<i2, symmetric, channel, scale = bf16>",
]


@pytest.mark.parametrize("text", CANONICAL)
def test_parse_print_round_trip(text):
    s = QuantScheme.parse(text)
    assert str(s) == text
    assert QuantScheme.parse(str(s)) == s


def test_parse_fields():
    s = QuantScheme.parse("#kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>")
    assert s == QuantScheme("i4", False, "group", axis=2, size=32, scale_dtype="f16")
    s = QuantScheme.parse("#kvq.quant<i8, symmetric, block(rows = 64, cols = 128)>")
    assert (s.rows, s.cols, s.scale_dtype) == (64, 128, "f32")
    s = QuantScheme.parse("#kvq.quant<f8E4M3FN, symmetric, channel, scale = f32>")
    assert s.scale_dtype == "f32"
    # An explicit f32 scale is not printed.
    assert str(s) == "#kvq.quant<f8E4M3FN, symmetric, channel>"


def test_parse_whitespace_and_prefix():
    a = QuantScheme.parse("  #kvq.quant< i4 ,asymmetric,group( axis=2 ,size=32 ) ,scale=f16 > ")
    b = QuantScheme.parse("i4, asymmetric, group(axis = 2, size = 32), scale = f16")
    assert a == b == QuantScheme("i4", False, "group", axis=2, size=32, scale_dtype="f16")


@pytest.mark.parametrize("text", [
    "#kvq.quant<f8E4M3FN, asymmetric, token>",        # fp8 must be symmetric
    "#kvq.quant<i3, symmetric, token>",                # unknown code type
    "#kvq.quant<i8, signed, token>",
    "#kvq.quant<i8, symmetric, row>",
    "#kvq.quant<i8, symmetric, group>",                # missing params
    "#kvq.quant<i8, symmetric, group(size = 4, axis = 1)>",  # wrong order
    "#kvq.quant<i8, symmetric, group(axis = -1, size = 4)>",
    "#kvq.quant<i8, symmetric, group(axis = 1, size = 0)>",
    "#kvq.quant<i8, symmetric, token(axis = 1)>",
    "#kvq.quant<i8, symmetric, block(rows = 4)>",
    "#kvq.quant<i8, symmetric, token, scale = f64>",
    "#kvq.quant<i8, symmetric, token, zero = f16>",
    "#kvq.quant<i8, symmetric>",
    "#kvq.quant<i8, symmetric, token",
])
def test_parse_rejects(text):
    with pytest.raises(ValueError):
        QuantScheme.parse(text)


def test_constructor_rejects():
    with pytest.raises(ValueError):
        QuantScheme("f8E5M2", False, "tensor")
    with pytest.raises(ValueError):
        QuantScheme("i8", True, "token", axis=1)
    with pytest.raises(ValueError):
        QuantScheme("i8", True, "group", axis=1)


def test_scheme_properties():
    assert QuantScheme("i8", True, "token").max_code == 127
    assert QuantScheme("i4", True, "token").max_code == 7
    assert QuantScheme("i2", True, "token").max_code == 1
    assert QuantScheme("i4", False, "token").max_code == 15
    assert QuantScheme("i2", False, "token").min_code == 0
    assert QuantScheme("f8E4M3FN", True, "token").max_code == 448
    assert QuantScheme("f8E5M2", True, "token").max_code == 57344
    assert QuantScheme("i4", False, "token").bits == 4
    assert QuantScheme("f8E5M2", True, "token").bits == 8


# ---------------------------------------------------------------------------
# Block and scale shapes
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("text,shape,blk,sshape", [
    ("<i8, symmetric, tensor>", (2, 4, 100, 64), (2, 4, 100, 64), (1, 1, 1, 1)),
    ("<i8, symmetric, tensor>", (7,), (7,), (1,)),
    ("<i8, symmetric, token>", (2, 4, 100, 64), (1, 1, 1, 64), (2, 4, 100, 1)),
    ("<i8, symmetric, token>", (100, 64), (1, 64), (100, 1)),
    ("<i8, symmetric, channel>", (2, 4, 100, 64), (1, 1, 100, 1), (2, 4, 1, 64)),
    ("<i4, asymmetric, group(axis = 2, size = 32)>", (2, 4, 100, 64),
     (1, 1, 32, 1), (2, 4, 4, 64)),                                   # ragged: 100 -> 4
    ("<i4, asymmetric, group(axis = 3, size = 32)>", (2, 4, 100, 64),
     (1, 1, 1, 32), (2, 4, 100, 2)),
    ("<i4, asymmetric, group(axis = 0, size = 3)>", (7, 5), (3, 1), (3, 5)),
    ("<i4, asymmetric, group(axis = 1, size = 64)>", (3, 10), (1, 64), (3, 1)),
    ("<i8, symmetric, block(rows = 64, cols = 128)>", (2, 4, 100, 64),
     (1, 1, 64, 128), (2, 4, 2, 1)),
    ("<i8, symmetric, block(rows = 16, cols = 16)>", (3, 33, 47), (1, 16, 16), (3, 3, 3)),
])
def test_scale_shape(text, shape, blk, sshape):
    s = QuantScheme.parse(text)
    assert block_shape(shape, s) == blk
    assert scale_shape(shape, s) == sshape
    assert scale_shape(shape, text) == sshape  # text is accepted too


@pytest.mark.parametrize("text,shape", [
    ("<i8, symmetric, token>", (5,)),
    ("<i8, symmetric, channel>", (5,)),
    ("<i8, symmetric, block(rows = 2, cols = 2)>", (5,)),
    ("<i8, symmetric, group(axis = 2, size = 2)>", (5, 5)),
])
def test_scale_shape_rank_errors(text, shape):
    with pytest.raises(ValueError):
        scale_shape(shape, QuantScheme.parse(text))


def test_expand_scale():
    s = QuantScheme.parse("<i8, symmetric, block(rows = 2, cols = 3)>")
    sc = np.arange(6, dtype=F32).reshape(1, 3, 2)
    full = expand_scale(sc, (1, 5, 4), s)
    assert full.shape == (1, 5, 4)
    for i, j in itertools.product(range(5), range(4)):
        assert full[0, i, j] == sc[0, i // 2, j // 3]
    with pytest.raises(ValueError):
        expand_scale(sc, (1, 7, 4), s)


# ---------------------------------------------------------------------------
# Independent brute-force quantizer (one block at a time, scalar statistics)
# ---------------------------------------------------------------------------

QMAX = {"i8": 127, "i4": 7, "i2": 1}
FP8 = {"f8E4M3FN": (ml_dtypes.float8_e4m3fn, 448.0), "f8E5M2": (ml_dtypes.float8_e5m2, 57344.0)}
SCALE_NP = {"f32": np.float32, "f16": np.float16, "bf16": ml_dtypes.bfloat16}
SCALE_MAX = {"f32": float(np.finfo(np.float32).max), "f16": 65504.0,
             "bf16": float(ml_dtypes.finfo(ml_dtypes.bfloat16).max)}


def _brute_blocks(shape, s):
    """Yields (scale_index, slice tuple) for every block, computed directly
    from the granularity definition."""
    r = len(shape)
    extents = []
    for ax, n in enumerate(shape):
        if s.granularity == "tensor":
            b = None
        elif s.granularity == "token":
            b = None if ax == r - 1 else 1
        elif s.granularity == "channel":
            b = None if ax == r - 2 else 1
        elif s.granularity == "group":
            b = s.size if ax == s.axis else 1
        else:
            b = {r - 2: s.rows, r - 1: s.cols}.get(ax, 1)
        if b is None:
            extents.append([(0, slice(0, n))])
        else:
            extents.append([(i, slice(i * b, min(n, (i + 1) * b)))
                            for i in range((n + b - 1) // b)])
    for combo in itertools.product(*extents):
        yield tuple(c[0] for c in combo), tuple(c[1] for c in combo)


def _round_scale(v, sd):
    v = F32(min(max(float(v), -SCALE_MAX[sd]), SCALE_MAX[sd]))
    return F32(SCALE_NP[sd](v))


def _rhaz(v):
    v = np.asarray(v, F32)
    half = F32(0.5)
    return np.where(v >= 0, np.floor(v + half), -np.floor(-v + half)).astype(F32)


def brute_quantize(x, s):
    x = np.asarray(x, F32)
    sshape = scale_shape(x.shape, s)
    scale = np.zeros(sshape, F32)
    zero = np.zeros(sshape, F32)
    if s.dtype in FP8:
        codes = np.zeros(x.shape, FP8[s.dtype][0])
    else:
        codes = np.zeros(x.shape, np.int8 if s.symmetric else np.uint8)
    with np.errstate(all="ignore"):
        for idx, sl in _brute_blocks(x.shape, s):
            blk = x[sl]
            fin = [float(t) for t in blk.ravel() if np.isfinite(t)]
            if s.symmetric:
                qmax = FP8[s.dtype][1] if s.dtype in FP8 else QMAX[s.dtype]
                amax = F32(max([abs(t) for t in fin], default=0.0))
                sc = _round_scale(amax / F32(qmax), s.scale_dtype)
                if not fin or sc == 0:
                    sc = F32(1)
                v = blk / sc
                if s.dtype in FP8:
                    c = np.minimum(np.maximum(v, F32(-qmax)), F32(qmax))
                    c = np.where(np.isnan(blk), F32(np.nan), c).astype(FP8[s.dtype][0])
                else:
                    c = np.minimum(np.maximum(_rhaz(v), F32(-qmax)), F32(qmax))
                    c = np.where(np.isnan(blk), F32(0), c).astype(np.int8)
                z = F32(0)
            else:
                qmax = 2 ** int(s.dtype[1:]) - 1
                if fin:
                    lo, hi = F32(min(fin)), F32(max(fin))
                    sc = _round_scale((hi - lo) / F32(qmax), s.scale_dtype)
                    z = _round_scale(lo, s.scale_dtype)
                    if sc == 0:
                        sc = F32(1)
                else:
                    sc, z = F32(1), F32(0)
                c = _rhaz((blk - z) / sc)
                c = np.minimum(np.maximum(c, F32(0)), F32(qmax))
                c = np.where(np.isnan(blk), F32(0), c).astype(np.uint8)
            scale[idx] = sc
            zero[idx] = z
            codes[sl] = c
    return codes, scale, (None if s.symmetric else zero)


def _schemes(granularities, scale_dtypes=("f32", "f16", "bf16")):
    out = []
    for dt in ("i8", "i4", "i2", "f8E4M3FN", "f8E5M2"):
        for sym in ((True, False) if dt[0] == "i" else (True,)):
            for g in granularities:
                for sd in scale_dtypes:
                    out.append(QuantScheme(dt, sym, scale_dtype=sd, **g))
    return out


GRANS = [
    dict(granularity="tensor"),
    dict(granularity="token"),
    dict(granularity="channel"),
    dict(granularity="group", axis=2, size=8),
    dict(granularity="group", axis=3, size=6),
    dict(granularity="block", rows=4, cols=6),
]


def _random_data(rng, shape):
    # Values of very different magnitudes per row, plus a few exact zeros.
    x = rng.standard_normal(shape) * np.exp(rng.uniform(-3, 3, size=shape[:-1] + (1,)))
    x[rng.random(shape) < 0.02] = 0.0
    return x.astype(F32)


def _bits(a):
    a = np.asarray(a)
    return a.view(np.uint8) if a.dtype.itemsize == 1 else a.astype(F32).view(np.uint32)


@pytest.mark.parametrize("s", _schemes(GRANS, ("f32", "bf16")), ids=str)
def test_quantize_matches_brute_force(s):
    rng = np.random.default_rng(zlib.crc32(str(s).encode()))
    x = _random_data(rng, (2, 2, 11, 10))
    x[0, 0, 3, 4] = np.nan
    x[1, 1, 5, 2] = np.inf
    x[0, 1, 9, 9] = -np.inf
    x[1, 0, 2:5, :] = np.nan  # some blocks have no finite value at all
    codes, scale, zero = quantize(x, s)
    bc, bs, bz = brute_quantize(x, s)
    assert codes.dtype == bc.dtype == s.code_dtype
    assert scale.dtype == s.scale_np_dtype
    assert scale.shape == scale_shape(x.shape, s)
    np.testing.assert_array_equal(_bits(codes), _bits(bc))
    np.testing.assert_array_equal(_bits(scale), _bits(bs))
    if s.symmetric:
        assert zero is None
    else:
        assert zero.dtype == s.scale_np_dtype and zero.shape == scale.shape
        np.testing.assert_array_equal(_bits(zero), _bits(bz))


# ---------------------------------------------------------------------------
# Round-trip error bounds
# ---------------------------------------------------------------------------

def _block_stat(x, s, fn, fill):
    """Per-element statistic of the element's block (finite values only)."""
    out = np.empty(x.shape, F32)
    for _, sl in _brute_blocks(x.shape, s):
        b = x[sl]
        b = b[np.isfinite(b)]
        out[sl] = fn(b) if b.size else fill
    return out


@pytest.mark.parametrize("s", _schemes(GRANS), ids=str)
def test_round_trip_error_bound(s):
    rng = np.random.default_rng(zlib.crc32(str(s).encode()) + 1)
    x = _random_data(rng, (2, 3, 13, 10))
    codes, scale, zero = quantize(x, s)
    dq = dequantize(codes, scale, zero, s)
    assert dq.dtype == np.float32 and dq.shape == x.shape
    sf = expand_scale(scale.astype(F32), x.shape, s).astype(np.float64)
    xd = x.astype(np.float64)
    err = np.abs(xd - dq)
    qmax = s.max_code
    eps = 2.0 ** -20 * (np.abs(xd) + qmax * sf)
    if s.is_float8:
        fmax = qmax
        mant, sub = {"f8E4M3FN": (3, 2.0 ** -9), "f8E5M2": (2, 2.0 ** -16)}[s.dtype]
        amax = _block_stat(x, s, lambda b: np.abs(b).max(), 0).astype(np.float64)
        clamp = np.maximum(0.0, amax - fmax * sf)
        bound = np.abs(xd) * 2.0 ** -(mant + 1) + sf * sub / 2 + clamp + eps
        # Codes are finite and within range.
        c = codes.astype(F32)
        assert np.all(np.isfinite(c)) and np.all(np.abs(c) <= fmax)
    elif s.symmetric:
        amax = _block_stat(x, s, lambda b: np.abs(b).max(), 0).astype(np.float64)
        bound = sf / 2 + np.maximum(0.0, amax - qmax * sf) + eps
        assert codes.min() >= -qmax and codes.max() <= qmax
    else:
        zf = expand_scale(zero.astype(F32), x.shape, s).astype(np.float64)
        lo = _block_stat(x, s, np.min, 0).astype(np.float64)
        hi = _block_stat(x, s, np.max, 0).astype(np.float64)
        bound = (sf / 2 + np.maximum(0.0, zf - lo) + np.maximum(0.0, hi - (zf + qmax * sf))
                 + eps + 2.0 ** -20 * np.abs(zf))
        assert codes.max() <= qmax
    assert np.all(err <= bound), (err - bound).max()
    if s.scale_dtype == "f32" and not s.is_float8:
        # With exact float32 scales the classic bound holds (up to fp error).
        assert np.all(err <= sf / 2 * (1 + 1e-5) + eps)


def test_dequantize_out_dtype():
    s = QuantScheme.parse("<i8, symmetric, token>")
    x = np.random.default_rng(0).standard_normal((3, 5)).astype(F32)
    c, sc, z = quantize(x, s)
    d16 = dequantize(c, sc, z, s, out_dtype=np.float16)
    assert d16.dtype == np.float16
    np.testing.assert_array_equal(d16, dequantize(c, sc, z, s).astype(np.float16))


def test_quantize_accepts_float64_and_casts_first():
    s = QuantScheme.parse("<i8, symmetric, tensor>")
    x64 = np.array([1 / 3, -2 / 3, 1.0])
    a = quantize(x64, s)
    b = quantize(x64.astype(F32), s)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


# ---------------------------------------------------------------------------
# Hand-checked values and special cases
# ---------------------------------------------------------------------------

def test_round_half_away_from_zero():
    v = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49, -0.49, 3.7, -3.7], F32)
    np.testing.assert_array_equal(round_half_away_from_zero(v),
                                  [1, 2, 3, -1, -2, -3, 0, 0, 4, -4])
    # The literal float32 formula: 0.5 - 2^-25 + 0.5 rounds to 1.0 in float32.
    assert round_half_away_from_zero(F32(0.5) - F32(2.0 ** -25)) == 1
    r = round_half_away_from_zero(np.array([np.nan, np.inf, -np.inf], F32))
    assert np.isnan(r[0]) and r[1] == np.inf and r[2] == -np.inf


def test_symmetric_i8_hand_checked():
    s = QuantScheme.parse("<i8, symmetric, tensor>")
    x = np.array([127, -0.5, 0.5, 1.5, -2.5, 3.49, -127], F32)   # amax 127 -> scale 1
    c, sc, z = quantize(x, s)
    assert sc.shape == (1,) and sc[0] == 1 and z is None
    np.testing.assert_array_equal(c, np.array([127, -1, 1, 2, -3, 3, -127], np.int8))
    x = np.array([[2.0, -1.1, -1.0], [0.0, 0.5, 0.1]], F32)
    c, sc, _ = quantize(x, QuantScheme.parse("<i4, symmetric, token>"))
    assert sc[0, 0] == F32(2.0) / F32(7) and sc[1, 0] == F32(0.5) / F32(7)
    # -1.1 / (2/7) = -3.85 -> -4.  -1 / float32(2/7) = -3.4999998 (float32(2/7) is
    # rounded up), so it is *not* a tie and gives -3.  0.1 / (0.5/7) = 1.4 -> 1.
    np.testing.assert_array_equal(c, [[7, -4, -3], [0, 7, 1]])


def test_asymmetric_i4_hand_checked():
    s = QuantScheme.parse("<i4, asymmetric, tensor>")
    x = np.array([-3, 12, -0.5, 1.5, 0.4], F32)   # scale (12 - -3)/15 = 1, zero -3
    c, sc, z = quantize(x, s)
    assert sc[0] == 1 and z[0] == -3
    np.testing.assert_array_equal(c, np.array([0, 15, 3, 5, 3], np.uint8))
    np.testing.assert_array_equal(dequantize(c, sc, z, s), [-3, 12, 0, 2, 0])


def test_scale_rounded_to_scale_dtype():
    x = np.array([[1.0, -0.3]], F32)
    for sd, t in (("f16", np.float16), ("bf16", ml_dtypes.bfloat16)):
        s = QuantScheme("i8", True, "token", scale_dtype=sd)
        c, sc, _ = quantize(x, s)
        assert sc.dtype == np.dtype(t)
        expected = t(F32(1.0) / F32(127))
        assert sc[0, 0] == expected
        # Codes use the *rounded* scale.
        np.testing.assert_array_equal(c, np.clip(round_half_away_from_zero(
            x / F32(expected)), -127, 127).astype(np.int8))
        s = QuantScheme("i4", False, "token", scale_dtype=sd)
        c, sc, z = quantize(x, s)
        assert z[0, 0] == t(F32(-0.3)) and sc[0, 0] == t((F32(1.0) - F32(-0.3)) / F32(15))


@pytest.mark.parametrize("dt,sym", [(d, True) for d in ("i8", "i4", "i2", "f8E4M3FN", "f8E5M2")]
                         + [(d, False) for d in ("i8", "i4", "i2")])
def test_all_zero_group(dt, sym):
    s = QuantScheme(dt, sym, "group", axis=1, size=4)
    x = np.zeros((2, 8), F32)
    x[1, 4:] = [1, 2, 3, 4]
    c, sc, z = quantize(x, s)
    np.testing.assert_array_equal(sc[0], [1, 1])
    assert sc[1, 0] == 1
    np.testing.assert_array_equal(c[0].astype(F32), 0)
    np.testing.assert_array_equal(c[1, :4].astype(F32), 0)
    if not sym:
        np.testing.assert_array_equal(z[0], [0, 0])
    np.testing.assert_array_equal(dequantize(c, sc, z, s)[:, :4], 0)


@pytest.mark.parametrize("sd", ["f32", "f16", "bf16"])
def test_constant_group(sd):
    x = np.full((3, 8), 3.7, F32)
    # Asymmetric: hi == lo -> scale 1, zero = rounded constant, codes 0.
    for dt in ("i8", "i4", "i2"):
        s = QuantScheme(dt, False, "token", scale_dtype=sd)
        c, sc, z = quantize(x, s)
        np.testing.assert_array_equal(sc.astype(F32), 1)
        np.testing.assert_array_equal(z.astype(F32), F32(SCALE_NP[sd](F32(3.7))))
        np.testing.assert_array_equal(c, 0)
        np.testing.assert_array_equal(dequantize(c, sc, z, s), z.astype(F32)[:, :1] + 0 * x)
        if sd == "f32":
            np.testing.assert_array_equal(dequantize(c, sc, z, s), x)
    # Symmetric: scale amax/qmax, every code qmax.
    for dt, q in (("i8", 127), ("i4", 7), ("i2", 1)):
        s = QuantScheme(dt, True, "token", scale_dtype=sd)
        c, sc, _ = quantize(x, s)
        assert sc[0, 0] == SCALE_NP[sd](F32(3.7) / F32(q))
        np.testing.assert_array_equal(c, q)
        np.testing.assert_array_equal(quantize(-x, s)[0], -q)


def test_nonfinite_integer_symmetric():
    s = QuantScheme.parse("<i8, symmetric, token>")
    x = np.array([[np.nan, np.inf, -np.inf, 1, -127, 5],       # amax 127 -> scale 1
                  [np.nan, np.inf, -np.inf, np.nan, np.inf, np.nan]], F32)
    c, sc, _ = quantize(x, s)
    np.testing.assert_array_equal(sc[:, 0], [1, 1])
    np.testing.assert_array_equal(c, [[0, 127, -127, 1, -127, 5], [0, 127, -127, 0, 127, 0]])
    s4 = QuantScheme.parse("<i4, symmetric, token>")
    c, _, _ = quantize(x, s4)
    np.testing.assert_array_equal(c[1], [0, 7, -7, 0, 7, 0])


def test_nonfinite_integer_asymmetric():
    s = QuantScheme.parse("<i4, asymmetric, token, scale = f16>")
    x = np.array([[np.nan, np.inf, -np.inf, -3, 12, 0.5],      # scale 1, zero -3
                  [np.nan, np.inf, -np.inf, np.nan, -np.inf, np.inf]], F32)
    c, sc, z = quantize(x, s)
    np.testing.assert_array_equal(sc[:, 0], [1, 1])
    np.testing.assert_array_equal(z[:, 0], [-3, 0])
    assert c.dtype == np.uint8
    np.testing.assert_array_equal(c, [[0, 15, 0, 0, 15, 4], [0, 15, 0, 0, 0, 15]])


@pytest.mark.parametrize("dt,fmax", [("f8E4M3FN", 448.0), ("f8E5M2", 57344.0)])
def test_nonfinite_fp8(dt, fmax):
    s = QuantScheme(dt, True, "token")
    x = np.array([[np.nan, np.inf, -np.inf, fmax, -1.0],
                  [np.nan, np.inf, -np.inf, np.nan, np.inf]], F32)
    c, sc, _ = quantize(x, s)
    np.testing.assert_array_equal(sc[:, 0], [1, 1])
    cf = c.astype(F32)
    assert np.isnan(cf[0, 0]) and np.isnan(cf[1, 0]) and np.isnan(cf[1, 3])
    np.testing.assert_array_equal(cf[0, 1:], [fmax, -fmax, fmax, -1.0])
    np.testing.assert_array_equal(cf[1, [1, 2, 4]], [fmax, -fmax, fmax])
    d = dequantize(c, sc, None, s)
    assert np.isnan(d[0, 0]) and d[0, 1] == fmax


def test_fp8_round_to_nearest_even():
    s = QuantScheme.parse("<f8E4M3FN, symmetric, tensor>")
    x = np.array([448, 1.0625, 1.1875, -1.0625, 0.001], F32)   # scale 1
    c, sc, _ = quantize(x, s)
    assert sc[0] == 1
    np.testing.assert_array_equal(c.astype(F32)[:4], [448, 1.0, 1.25, -1.0])
    s = QuantScheme.parse("<f8E5M2, symmetric, tensor>")
    x = np.array([57344, 1.125, 1.375], F32)
    c, sc, _ = quantize(x, s)
    np.testing.assert_array_equal(c.astype(F32), [57344, 1.0, 1.5])


def test_fp8_asymmetric_rejected():
    with pytest.raises(ValueError):
        quantize(np.ones((2, 2), F32), QuantScheme("f8E4M3FN", False, "token"))


def test_scale_saturates_and_underflows():
    # f16 scale: 1e7/127 > 65504 saturates to the largest finite half.
    s = QuantScheme.parse("<i8, symmetric, tensor, scale = f16>")
    c, sc, _ = quantize(np.array([1e7, 1.0], F32), s)
    assert sc[0] == np.float16(65504) and np.isfinite(sc[0])
    assert c[0] == 127
    # f16 scale: 1e-8/127 underflows to 0 -> scale 1, codes 0.
    c, sc, _ = quantize(np.array([1e-8, -1e-9], F32), s)
    assert sc[0] == 1
    np.testing.assert_array_equal(c, 0)
    # f32 asymmetric: hi - lo overflows float32 to inf, so the scale saturates
    # to FLT_MAX (finite, but coarser than (hi - lo) / 255 would be).
    s = QuantScheme.parse("<i8, asymmetric, tensor>")
    big = np.finfo(F32).max
    c, sc, z = quantize(np.array([-big, big, 0], F32), s)
    assert sc[0] == big and z[0] == -big
    np.testing.assert_array_equal(c, [0, 255, 1])


def test_rank0_and_empty():
    s = QuantScheme.parse("<i8, symmetric, tensor>")
    c, sc, _ = quantize(np.float32(-3.0), s)
    assert c.shape == () and sc.shape == () and c == -127
    s = QuantScheme.parse("<i4, asymmetric, token>")
    c, sc, z = quantize(np.zeros((0, 4), F32), s)
    assert c.shape == (0, 4) and sc.shape == (0, 1)
    c, sc, z = quantize(np.zeros((3, 0), F32), s)
    assert c.shape == (3, 0) and sc.shape == (3, 1)
    np.testing.assert_array_equal(sc, 1)


# ---------------------------------------------------------------------------
# Packing
# ---------------------------------------------------------------------------

def test_pack_hand_checked():
    np.testing.assert_array_equal(pack(np.array([1, -2], np.int8), 4), [0xE1])
    np.testing.assert_array_equal(pack(np.array([3], np.int8), 4), [0x03])
    np.testing.assert_array_equal(pack(np.array([15, 0, 9], np.uint8), 4), [0x0F, 0x09])
    # 2 bits: 1 | 3 << 2 | 2 << 4 | 0 << 6 = 0x2D, then 1 (zero padded).
    np.testing.assert_array_equal(pack(np.array([1, -1, -2, 0, 1], np.int8), 2), [0x2D, 0x01])
    np.testing.assert_array_equal(unpack(np.array([0xE1], np.uint8), 4, 2, True), [1, -2])
    np.testing.assert_array_equal(unpack(np.array([0xE1], np.uint8), 4, 2, False), [1, 14])
    np.testing.assert_array_equal(unpack(np.array([0x2D, 0x01], np.uint8), 2, 5, True),
                                  [1, -1, -2, 0, 1])
    # Row-major flattening of a 2-D array.
    np.testing.assert_array_equal(pack(np.array([[1, 2, 3], [4, 5, 6]], np.uint8), 4),
                                  [0x21, 0x43, 0x65])


@pytest.mark.parametrize("bits", [4, 2])
@pytest.mark.parametrize("count", [0, 1, 3, 7, 13, 64, 101])
@pytest.mark.parametrize("signed", [True, False])
def test_pack_round_trip(bits, count, signed):
    rng = np.random.default_rng(count * 10 + bits)
    if signed:
        codes = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=count).astype(np.int8)
    else:
        codes = rng.integers(0, 1 << bits, size=count).astype(np.uint8)
    p = pack(codes, bits)
    assert p.dtype == np.uint8 and p.size == (count * bits + 7) // 8
    per = 8 // bits
    if count % per:
        assert p[-1] >> ((count % per) * bits) == 0   # zero padding
    u = unpack(p, bits, count, signed)
    assert u.dtype == (np.int8 if signed else np.uint8)
    np.testing.assert_array_equal(u, codes)


def test_pack_quantized_codes():
    s = QuantScheme.parse("<i4, symmetric, group(axis = 1, size = 4)>")
    x = np.random.default_rng(3).standard_normal((3, 9)).astype(F32)
    c, _, _ = quantize(x, s)
    np.testing.assert_array_equal(unpack(pack(c, 4), 4, c.size, True).reshape(c.shape), c)


def test_pack_rejects_out_of_range():
    with pytest.raises(ValueError):
        pack(np.array([16], np.int16), 4)
    with pytest.raises(ValueError):
        pack(np.array([-3], np.int8), 2)
    with pytest.raises(ValueError):
        unpack(np.array([0], np.uint8), 4, 3, True)


# ---------------------------------------------------------------------------
# Attention
# ---------------------------------------------------------------------------

def loop_attention(q, k, v, scale=None, causal=False, mask=None):
    """Straightforward per-query loop implementation."""
    B, Hq, Sq, D = q.shape
    _, Hkv, Skv, Dv = v.shape
    scale = 1.0 / math.sqrt(D) if scale is None else scale
    m = None if mask is None else np.broadcast_to(np.asarray(mask, np.float64), (B, Hq, Sq, Skv))
    out = np.zeros((B, Hq, Sq, Dv))
    for b in range(B):
        for h in range(Hq):
            kh = h // (Hq // Hkv)
            for i in range(Sq):
                logits = []
                for j in range(Skv):
                    if causal and j > i + (Skv - Sq):
                        continue
                    t = sum(float(q[b, h, i, d]) * float(k[b, kh, j, d]) for d in range(D)) * scale
                    if m is not None:
                        t += m[b, h, i, j]
                    if t != -math.inf:
                        logits.append((j, t))
                if not logits:
                    continue
                mx = max(t for _, t in logits)
                w = [(j, math.exp(t - mx)) for j, t in logits]
                tot = sum(e for _, e in w)
                for j, e in w:
                    out[b, h, i] += e / tot * v[b, kh, j].astype(np.float64)
    return out


def _qkv(rng, B, Hq, Hkv, Sq, Skv, D, Dv):
    return (rng.standard_normal((B, Hq, Sq, D)).astype(F32),
            rng.standard_normal((B, Hkv, Skv, D)).astype(F32),
            rng.standard_normal((B, Hkv, Skv, Dv)).astype(F32))


@pytest.mark.parametrize("B,Hq,Hkv,Sq,Skv,D,Dv", [
    (1, 2, 2, 4, 4, 8, 8),     # MHA
    (2, 4, 2, 3, 7, 8, 5),     # GQA, Sq < Skv, Dv != D
    (1, 6, 1, 1, 9, 4, 4),     # MQA decode
    (1, 4, 2, 5, 3, 4, 4),     # Sq > Skv: first causal rows see nothing
])
@pytest.mark.parametrize("causal", [False, True])
def test_attention_vs_loop(B, Hq, Hkv, Sq, Skv, D, Dv, causal):
    rng = np.random.default_rng(B * 1000 + Hq * 100 + Sq * 10 + Skv)
    q, k, v = _qkv(rng, B, Hq, Hkv, Sq, Skv, D, Dv)
    out = attention(q, k, v, causal=causal)
    assert out.dtype == np.float64 and out.shape == (B, Hq, Sq, Dv)
    assert not np.isnan(out).any()
    np.testing.assert_allclose(out, loop_attention(q, k, v, causal=causal), rtol=1e-12, atol=1e-12)


def test_attention_mask_and_scale():
    rng = np.random.default_rng(7)
    q, k, v = _qkv(rng, 2, 4, 2, 3, 6, 8, 8)
    mask = rng.standard_normal((1, 1, 3, 6))
    mask[0, 0, 1, [0, 2]] = -np.inf
    mask[0, 0, 2, :] = -np.inf              # fully masked row
    out = attention(q, k, v, scale=0.3, causal=True, mask=mask)
    ref = loop_attention(q, k, v, scale=0.3, causal=True, mask=mask)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(out[:, :, 2], 0)
    # A per-row constant added to the mask does not change the result.
    out2 = attention(q, k, v, scale=0.3, causal=True, mask=mask + rng.standard_normal((3, 1)))
    np.testing.assert_allclose(out2, out, rtol=1e-10, atol=1e-12)
    with pytest.raises(TypeError):
        attention(q, k, v, mask=np.ones((3, 6), bool))


def test_attention_fully_masked_rows_are_zero():
    rng = np.random.default_rng(8)
    q, k, v = _qkv(rng, 1, 2, 1, 5, 3, 4, 4)
    out = attention(q, k, v, causal=True)   # rows 0 and 1 see no key
    assert not np.isnan(out).any()
    np.testing.assert_array_equal(out[:, :, :2], 0)
    assert np.all(np.abs(out[:, :, 2:]).sum(-1) > 0)
    out = attention(q, k, v, mask=np.full((1, 1, 5, 3), -np.inf))
    np.testing.assert_array_equal(out, 0)


def test_attention_decode_sees_all_keys():
    rng = np.random.default_rng(9)
    q, k, v = _qkv(rng, 2, 4, 2, 1, 11, 8, 8)
    np.testing.assert_array_equal(attention(q, k, v, causal=True), attention(q, k, v))


def test_attention_rows_sum_to_one():
    rng = np.random.default_rng(10)
    q, k, _ = _qkv(rng, 2, 8, 2, 6, 10, 16, 1)
    q *= 5  # peaky softmax
    v = np.ones((2, 2, 10, 3))
    for causal in (False, True):
        np.testing.assert_allclose(attention(q, k, v, causal=causal), 1.0, rtol=1e-13)


def test_attention_gqa_equals_repeated_heads():
    rng = np.random.default_rng(11)
    q, k, v = _qkv(rng, 1, 6, 2, 4, 5, 8, 8)
    rep = attention(q, np.repeat(k, 3, axis=1), np.repeat(v, 3, axis=1), causal=True)
    np.testing.assert_array_equal(attention(q, k, v, causal=True), rep)


def test_attention_shape_errors():
    rng = np.random.default_rng(12)
    q, k, v = _qkv(rng, 1, 3, 2, 4, 5, 8, 8)
    with pytest.raises(ValueError):
        attention(q, k, v)          # 3 query heads over 2 kv heads


def test_quantized_attention():
    rng = np.random.default_rng(13)
    q, k, v = _qkv(rng, 1, 4, 2, 3, 40, 16, 16)
    ks = QuantScheme.parse("#kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>")
    vs = QuantScheme.parse("#kvq.quant<i4, asymmetric, group(axis = 3, size = 8), scale = f16>")
    kc, ksc, kz = quantize(k, ks)
    vc, vsc, vz = quantize(v, vs)
    out = quantized_attention(q, kc, ksc, kz, ks, vc, vsc, vz, vs, causal=True)
    ref = attention(q, dequantize(kc, ksc, kz, ks), dequantize(vc, vsc, vz, vs), causal=True)
    np.testing.assert_array_equal(out, ref)
    # Close to the unquantized result.
    np.testing.assert_allclose(out, attention(q, k, v, causal=True), atol=0.3)
    # Plain (unquantized) V.
    out = quantized_attention(q, kc, ksc, kz, ks, v, None, None, None, scale=0.2)
    np.testing.assert_array_equal(out, attention(q, dequantize(kc, ksc, kz, ks), v, scale=0.2))
