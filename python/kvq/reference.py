"""NumPy golden model of kvq quantization and attention.

This module is the executable specification that the compiled kvq code is
checked against.  Everything here is plain NumPy (plus ``ml_dtypes`` for the
bfloat16 and FP8 element types) and deliberately written for clarity rather
than speed.

Quantization numerics are computed in float32 *exactly* in the order written
in the docstrings below, so that the compiled code can be compared bit for bit.
Attention is computed in float64 and is meant to be compared with a tolerance.

Conventions
-----------
* For data of rank ``r`` the *token* axis is ``r - 2`` and the *channel* axis
  is ``r - 1``; leading axes are batch / head axes.
* A quantization *block* is the set of values that share one scale (and one
  zero point).  The scale tensor has the data's rank and dimension ``i`` equal
  to ``ceil(n_i / block_i)``; a block covering a whole axis contributes 1.
* Statistics (max |x|, min, max) of a block only look at finite values;
  NaN and +-Inf are ignored.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import ml_dtypes
import numpy as np

__all__ = [
    "DTYPES",
    "GRANULARITIES",
    "SCALE_DTYPES",
    "QuantScheme",
    "block_shape",
    "scale_shape",
    "expand_scale",
    "round_half_away_from_zero",
    "round_to_scale_dtype",
    "quantize",
    "dequantize",
    "pack",
    "unpack",
    "attention",
    "quantized_attention",
    "project",
    "reconstruct",
    "pca_basis",
    "smooth",
    "latent_attention",
    "sketch_matrices",
    "poly_sketch",
    "poly_attention",
    "leverage_scores",
    "select_keys",
    "rotation_matrix",
    "rotate",
    "sage_schemes",
    "sage_attention",
    "polar_interval",
    "polar_density",
    "lloyd_max",
    "polar_codebook",
    "polar_angles",
    "polar_encode",
    "polar_decode",
    "polar_bits_per_value",
]

#: Code (storage) types.
DTYPES = ("i8", "i4", "i2", "f8E4M3FN", "f8E5M2")
#: Granularities, i.e. what region shares a scale.
GRANULARITIES = ("tensor", "token", "channel", "group", "block", "fragment")
#: Element types of scales and zero points, mapped to NumPy dtypes.
SCALE_DTYPES = {
    "f32": np.dtype(np.float32),
    "f16": np.dtype(np.float16),
    "bf16": np.dtype(ml_dtypes.bfloat16),
}

_INT_BITS = {"i8": 8, "i4": 4, "i2": 2}
_FP8 = {
    "f8E4M3FN": (np.dtype(ml_dtypes.float8_e4m3fn), 448.0),
    "f8E5M2": (np.dtype(ml_dtypes.float8_e5m2), 57344.0),
}

_F32 = np.float32


# ---------------------------------------------------------------------------
# Quantization scheme
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QuantScheme:
    """A quantization scheme, the Python twin of ``#kvq.quant<...>``.

    Attributes:
      dtype: code type, one of ``"i8"``, ``"i4"``, ``"i2"``, ``"f8E4M3FN"``,
        ``"f8E5M2"``.
      symmetric: ``True`` stores ``code * scale``; ``False`` (integers only)
        stores ``code * scale + zero_point`` with unsigned codes (KIVI).
      granularity: ``"tensor"``, ``"token"``, ``"channel"``, ``"group"`` or
        ``"block"``.
      axis, size: for ``group`` only: ``size`` consecutive values along
        ``axis`` (non-negative) share a scale.
      rows, cols: for ``block`` only: a ``rows x cols`` tile over the
        (token, channel) axes shares a scale.
      rows, period, run: for ``fragment`` only (SageAttention2's per-thread
        groups): token ``t`` belongs to group
        ``(t // rows) * (period // run) + (t % period) // run`` over all
        channels.
      scale_dtype: element type of scales / zero points: ``"f32"`` (default),
        ``"f16"`` or ``"bf16"``.

    Invalid combinations raise ``ValueError`` on construction (in particular
    FP8 codes must be symmetric).
    """

    dtype: str
    symmetric: bool
    granularity: str
    axis: Optional[int] = None
    size: Optional[int] = None
    rows: Optional[int] = None
    cols: Optional[int] = None
    scale_dtype: str = "f32"
    period: Optional[int] = None
    run: Optional[int] = None

    def __post_init__(self):
        if self.dtype not in DTYPES:
            raise ValueError(f"unknown code type {self.dtype!r}; expected one of {DTYPES}")
        if not isinstance(self.symmetric, (bool, np.bool_)):
            raise ValueError("symmetric must be a bool")
        if self.granularity not in GRANULARITIES:
            raise ValueError(
                f"unknown granularity {self.granularity!r}; expected one of {GRANULARITIES}")
        if self.scale_dtype not in SCALE_DTYPES:
            raise ValueError(
                f"unknown scale type {self.scale_dtype!r}; expected one of {tuple(SCALE_DTYPES)}")
        if self.is_float8 and not self.symmetric:
            raise ValueError(f"{self.dtype} codes only support symmetric quantization")
        g = self.granularity
        if g == "group":
            if self.axis is None or self.size is None:
                raise ValueError("group granularity needs axis and size")
            if int(self.axis) < 0:
                raise ValueError("group axis must be non-negative")
            if int(self.size) <= 0:
                raise ValueError("group size must be positive")
        elif self.axis is not None or self.size is not None:
            raise ValueError("axis/size are only valid for group granularity")
        if g == "block":
            if self.rows is None or self.cols is None:
                raise ValueError("block granularity needs rows and cols")
            if int(self.rows) <= 0 or int(self.cols) <= 0:
                raise ValueError("block rows and cols must be positive")
            if self.period is not None or self.run is not None:
                raise ValueError("period/run are only valid for fragment granularity")
        elif g == "fragment":
            if self.rows is None or self.period is None or self.run is None:
                raise ValueError("fragment granularity needs rows, period and run")
            if self.cols is not None:
                raise ValueError("cols is not valid for fragment granularity")
            if min(int(self.rows), int(self.period), int(self.run)) <= 0:
                raise ValueError("fragment rows, period and run must be positive")
            if int(self.rows) % int(self.period) or int(self.period) % int(self.run):
                raise ValueError("fragment rows must be a multiple of the period "
                                 "and the period of the run")
        elif (self.rows is not None or self.cols is not None or
              self.period is not None or self.run is not None):
            raise ValueError("rows/cols are only valid for block granularity")

    # -- properties ---------------------------------------------------------

    @property
    def is_float8(self) -> bool:
        """True for the FP8 code types."""
        return self.dtype in _FP8

    @property
    def bits(self) -> int:
        """Bit width of one code (8 for FP8)."""
        return 8 if self.is_float8 else _INT_BITS[self.dtype]

    @property
    def has_zero_point(self) -> bool:
        """True when the scheme carries a zero point (asymmetric integers)."""
        return not self.symmetric

    @property
    def max_code(self) -> float:
        """Largest code: 2^(b-1)-1 (symmetric int), 2^b-1 (asymmetric int),
        448 / 57344 (FP8)."""
        if self.is_float8:
            return _FP8[self.dtype][1]
        b = self.bits
        return float(2 ** (b - 1) - 1) if self.symmetric else float(2 ** b - 1)

    @property
    def min_code(self) -> float:
        """Smallest code: ``-max_code`` when symmetric, 0 when asymmetric."""
        return -self.max_code if self.symmetric else 0.0

    @property
    def code_dtype(self) -> np.dtype:
        """NumPy dtype of the (unpacked) code arrays returned by `quantize`:
        int8 (symmetric int), uint8 (asymmetric int) or the ml_dtypes FP8
        type."""
        if self.is_float8:
            return _FP8[self.dtype][0]
        return np.dtype(np.int8) if self.symmetric else np.dtype(np.uint8)

    @property
    def scale_np_dtype(self) -> np.dtype:
        """NumPy dtype of scales and zero points."""
        return SCALE_DTYPES[self.scale_dtype]

    # -- text form ----------------------------------------------------------

    def __str__(self) -> str:
        g = self.granularity
        if g == "group":
            gtext = f"group(axis = {int(self.axis)}, size = {int(self.size)})"
        elif g == "block":
            gtext = f"block(rows = {int(self.rows)}, cols = {int(self.cols)})"
        elif g == "fragment":
            gtext = (f"fragment(rows = {int(self.rows)}, period = {int(self.period)}, "
                     f"run = {int(self.run)})")
        else:
            gtext = g
        sym = "symmetric" if self.symmetric else "asymmetric"
        tail = "" if self.scale_dtype == "f32" else f", scale = {self.scale_dtype}"
        return f"#kvq.quant<{self.dtype}, {sym}, {gtext}{tail}>"

    @classmethod
    def parse(cls, text: str) -> "QuantScheme":
        """Parses the MLIR attribute syntax.

        ``#kvq.quant<storage, (symmetric|asymmetric), granularity [, scale = T]>``
        with ``granularity ::= tensor | token | channel |
        group(axis = A, size = G) | block(rows = R, cols = C)``.
        Whitespace is free; the ``#kvq.quant`` prefix may be omitted (a bare
        ``<...>`` or the bare parameter list is accepted too).  Raises
        ``ValueError`` on malformed input.
        """
        body = text.strip()
        if body.startswith("#kvq.quant"):
            body = body[len("#kvq.quant"):].strip()
        if body.startswith("<"):
            if not body.endswith(">"):
                raise ValueError(f"missing '>' in {text!r}")
            body = body[1:-1]
        parts = _split_top_level(body)
        if len(parts) not in (3, 4):
            raise ValueError(f"expected 3 or 4 parameters in {text!r}")
        dtype = parts[0]
        if parts[1] not in ("symmetric", "asymmetric"):
            raise ValueError(f"expected 'symmetric' or 'asymmetric', got {parts[1]!r}")
        symmetric = parts[1] == "symmetric"
        m = re.fullmatch(r"([a-z]+)\s*(?:\((.*)\))?", parts[2], re.S)
        if not m:
            raise ValueError(f"malformed granularity {parts[2]!r}")
        gran, args = m.group(1), m.group(2)
        kw = {}
        expected = {"group": ("axis", "size"), "block": ("rows", "cols"),
                    "fragment": ("rows", "period", "run")}.get(gran, ())
        if args is not None:
            if not expected:
                raise ValueError(f"granularity {gran!r} takes no parameters")
            for item in _split_top_level(args):
                km = re.fullmatch(r"([a-z]+)\s*=\s*(-?\d+)", item)
                if not km or km.group(1) not in expected or km.group(1) in kw:
                    raise ValueError(f"bad {gran} parameter {item!r}")
                kw[km.group(1)] = int(km.group(2))
            if tuple(kw) != expected:
                raise ValueError(f"{gran} expects ({' = .., '.join(expected)} = ..)")
        elif expected:
            raise ValueError(f"granularity {gran!r} needs parameters {expected}")
        scale_dtype = "f32"
        if len(parts) == 4:
            sm = re.fullmatch(r"scale\s*=\s*(\w+)", parts[3])
            if not sm:
                raise ValueError(f"expected 'scale = T', got {parts[3]!r}")
            scale_dtype = sm.group(1)
        return cls(dtype=dtype, symmetric=symmetric, granularity=gran,
                   scale_dtype=scale_dtype, **kw)


def _split_top_level(text: str) -> list:
    """Splits on commas that are not inside parentheses; strips items."""
    out, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise ValueError(f"unbalanced parentheses in {text!r}")
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if depth != 0:
        raise ValueError(f"unbalanced parentheses in {text!r}")
    out.append("".join(cur).strip())
    if any(not p for p in out):
        raise ValueError(f"empty parameter in {text!r}")
    return out


def _as_scheme(scheme) -> QuantScheme:
    if isinstance(scheme, QuantScheme):
        return scheme
    if isinstance(scheme, str):
        return QuantScheme.parse(scheme)
    raise TypeError(f"expected a QuantScheme or its text, got {type(scheme).__name__}")


# ---------------------------------------------------------------------------
# Block and scale shapes
# ---------------------------------------------------------------------------


def _ceildiv(a: int, b: int) -> int:
    return -(-a // b)


def _layout(shape: Sequence[int], scheme: QuantScheme) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
    """Returns (block_shape, scale_shape) for data of `shape`."""
    shape = tuple(int(n) for n in shape)
    r = len(shape)
    g = scheme.granularity
    if g in ("token", "channel", "block", "fragment") and r < 2:
        raise ValueError(f"{g} granularity needs rank >= 2, got rank {r}")
    # None marks an axis covered whole.
    blk = [1] * r
    if g == "tensor":
        blk = [None] * r
    elif g == "token":
        blk[r - 1] = None
    elif g == "channel":
        blk[r - 2] = None
    elif g == "group":
        a = int(scheme.axis)
        if not 0 <= a < r:
            raise ValueError(f"group axis {a} out of range for rank {r}")
        blk[a] = int(scheme.size)
    elif g == "block":
        blk[r - 2] = int(scheme.rows)
        blk[r - 1] = int(scheme.cols)
    elif g == "fragment":
        # Not boxes along the tokens: the token extent reads 1 here and the
        # scale shape counts the groups (see _fragment_groups).
        blk[r - 1] = None
    bshape = tuple(n if b is None else b for n, b in zip(shape, blk))
    sshape = tuple(1 if b is None else _ceildiv(n, b) for n, b in zip(shape, blk))
    if g == "fragment":
        groups = _ceildiv(shape[r - 2], int(scheme.rows)) * (int(scheme.period) // int(scheme.run))
        sshape = sshape[:r - 2] + (groups,) + sshape[r - 1:]
    return bshape, sshape


def _fragment_groups(n: int, scheme: QuantScheme) -> np.ndarray:
    """The fragment group of each of `n` tokens."""
    t = np.arange(n)
    w, p, run = int(scheme.rows), int(scheme.period), int(scheme.run)
    return (t // w) * (p // run) + (t % p) // run


def block_shape(shape: Sequence[int], scheme) -> Tuple[int, ...]:
    """Extent of one quantization block along every axis of data of `shape`.

    * ``tensor``: the whole shape.
    * ``token``: 1 everywhere except the full channel axis (``r-1``).
    * ``channel``: the full token axis (``r-2``), 1 elsewhere.
    * ``group(axis=a, size=G)``: G along axis a, 1 elsewhere.
    * ``block(rows=R, cols=C)``: R along the token axis, C along the channel
      axis, 1 on the leading axes.

    ``token``, ``channel`` and ``block`` need rank >= 2.  A group/block size
    may exceed the axis length (the block is then simply partial).
    """
    return _layout(shape, _as_scheme(scheme))[0]


def scale_shape(shape: Sequence[int], scheme) -> Tuple[int, ...]:
    """Shape of the scale (and zero-point) tensor for data of `shape`.

    Same rank as the data; dimension ``i`` is ``ceil(n_i / block_i)`` (the
    last group/block of a ragged axis is partial) and 1 for an axis covered
    whole (also when that axis has length 0).
    """
    return _layout(shape, _as_scheme(scheme))[1]


def _blockify(x: np.ndarray, bshape, sshape) -> np.ndarray:
    """Pads `x` with NaN (ignored by the statistics) to whole blocks and
    reshapes it to ``(s0, b0, s1, b1, ...)``."""
    pad = [(0, s * b - n) for n, b, s in zip(x.shape, bshape, sshape)]
    if any(p[1] for p in pad):
        x = np.pad(x, pad, mode="constant", constant_values=np.nan)
    inter = []
    for s, b in zip(sshape, bshape):
        inter += [s, b]
    return x.reshape(inter)


def _fragment_blocks(x: np.ndarray, scheme: QuantScheme, sshape) -> np.ndarray:
    """Like `_blockify` for fragment granularity: ``(s0, 1, ..., G, m, 1,
    C)`` with the ``m`` tokens of each group gathered (NaN-padded)."""
    n = x.shape[-2]
    groups = _fragment_groups(n, scheme)
    per_group = max(1, int(scheme.rows) * int(scheme.run) // int(scheme.period))
    lead = x.shape[:-2]
    out = np.full(lead + (sshape[-2], per_group, x.shape[-1]), np.nan, dtype=_F32)
    fill = np.zeros(sshape[-2], dtype=np.int64)
    for t, g in enumerate(groups):
        out[..., g, fill[g], :] = x[..., t, :]
        fill[g] += 1
    inter = []
    for ax in range(len(lead)):
        inter += [lead[ax], 1]
    inter += [sshape[-2], per_group, 1, x.shape[-1]]
    return out.reshape(inter)


def expand_scale(s: np.ndarray, shape: Sequence[int], scheme) -> np.ndarray:
    """Broadcasts a per-block array (scale or zero point, of shape
    ``scale_shape(shape, scheme)``) to the full data `shape`."""
    scheme = _as_scheme(scheme)
    shape = tuple(int(n) for n in shape)
    bshape, sshape = _layout(shape, scheme)
    s = np.asarray(s)
    if s.shape != sshape:
        raise ValueError(f"scale shape {s.shape} does not match expected {sshape} "
                         f"for data shape {shape} and {scheme}")
    if scheme.granularity == "fragment":
        s = np.take(s, _fragment_groups(shape[-2], scheme), axis=len(shape) - 2)
        return np.broadcast_to(s, shape).copy()
    for ax, (n, b) in enumerate(zip(shape, bshape)):
        if b != 1:
            s = np.repeat(s, b, axis=ax)
        if s.shape[ax] != n:
            s = np.take(s, np.arange(n), axis=ax)
    return s


# ---------------------------------------------------------------------------
# Rounding helpers
# ---------------------------------------------------------------------------


def round_half_away_from_zero(v) -> np.ndarray:
    """``sign(v) * floor(|v| + 0.5)`` evaluated in float32.

    Note this is the literal float32 formula: ``|v| + 0.5`` is itself
    rounded, so ``v = 0.49999997`` (0.5 - 2^-25) yields 1, not 0.  NaN stays
    NaN and +-Inf stay +-Inf.
    """
    v = np.asarray(v, dtype=_F32)
    with np.errstate(invalid="ignore"):
        return np.sign(v) * np.floor(np.abs(v) + _F32(0.5))


def round_to_scale_dtype(v, scale_dtype: str) -> np.ndarray:
    """Rounds float32 `v` to `scale_dtype` (round to nearest even) and
    returns the result widened back to float32.

    Magnitudes above the scale type's largest finite value saturate to it
    (so an f16 scale never becomes Inf).
    """
    v = np.asarray(v, dtype=_F32)
    dt = SCALE_DTYPES[scale_dtype]
    fmax = _F32(float(ml_dtypes.finfo(dt).max))
    v = np.clip(v, -fmax, fmax)
    return v.astype(dt).astype(_F32)


# ---------------------------------------------------------------------------
# Quantize / dequantize
# ---------------------------------------------------------------------------


def quantize(x, scheme):
    """Quantizes `x` with `scheme`.

    Returns ``(codes, scale, zero_point)``: `codes` has ``x``'s shape;
    `scale` (and `zero_point`, ``None`` for symmetric schemes) has
    ``scale_shape(x.shape, scheme)`` and the scale dtype (float32, float16
    or ml_dtypes.bfloat16).

    Numerics (all float32, ``x`` first cast to float32, statistics over the
    finite values of each block only):

    Symmetric integer, b bits, ``qmax = 2^(b-1) - 1``:
      ``scale = R(amax / qmax)`` where ``R`` rounds to the scale dtype
      (nearest even, saturating at its largest finite value);
      ``scale = 1`` if the block has no finite value or the rounded scale is
      0 (``amax == 0``, or an underflow to zero in f16/bf16/f32).
      ``code = clamp(rhaz(x / scale), -qmax, qmax)``; NaN -> 0, +-Inf ->
      +-qmax.  Codes are int8 holding the signed value.

    Asymmetric integer, b bits, ``qmax = 2^b - 1`` (KIVI):
      ``lo, hi = min, max``; ``scale = R((hi - lo) / qmax)``,
      ``zero = R(lo)``; ``scale = 1`` if the rounded scale is 0
      (``hi == lo``); no finite value -> ``scale = 1, zero = 0``.
      ``code = clamp(rhaz((x - zero) / scale), 0, qmax)``; NaN -> 0,
      +Inf -> qmax, -Inf -> 0.  Codes are uint8.

    FP8 (symmetric only), ``fmax = 448`` (E4M3FN) or ``57344`` (E5M2):
      ``scale = R(amax / fmax)`` with the same ``scale = 1`` rule;
      ``code = fp8(clamp(x / scale, -fmax, fmax))`` rounding to nearest even;
      NaN stays NaN, +-Inf saturate to +-fmax.  Codes are the ml_dtypes FP8
      array.

    ``rhaz`` is `round_half_away_from_zero`.
    """
    scheme = _as_scheme(scheme)
    if scheme.is_float8 and not scheme.symmetric:
        raise ValueError(f"{scheme.dtype} codes only support symmetric quantization")
    x = np.asarray(x).astype(_F32)
    bshape, sshape = _layout(x.shape, scheme)
    r = x.ndim
    red = tuple(range(1, 2 * r, 2))
    if scheme.granularity == "fragment":
        blocks = _fragment_blocks(x, scheme, sshape)
    else:
        blocks = _blockify(x, bshape, sshape)
    finite = np.isfinite(blocks)
    any_finite = finite.any(axis=red)
    qmax = _F32(scheme.max_code)
    sd = scheme.scale_np_dtype

    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        if scheme.symmetric:
            amax = np.where(finite, np.abs(blocks), _F32(0)).max(axis=red, initial=_F32(0))
            amax = np.asarray(amax, dtype=_F32)
            s32 = round_to_scale_dtype(amax / qmax, scheme.scale_dtype)
            s32 = np.where((s32 == 0) | ~any_finite, _F32(1), s32).astype(_F32)
            z32 = None
        else:
            lo = np.where(finite, blocks, _F32(np.inf)).min(axis=red, initial=_F32(np.inf))
            hi = np.where(finite, blocks, _F32(-np.inf)).max(axis=red, initial=_F32(-np.inf))
            lo = np.asarray(lo, dtype=_F32)
            hi = np.asarray(hi, dtype=_F32)
            lo = np.where(any_finite, lo, _F32(0)).astype(_F32)
            hi = np.where(any_finite, hi, _F32(0)).astype(_F32)
            s32 = round_to_scale_dtype((hi - lo) / qmax, scheme.scale_dtype)
            s32 = np.where(s32 == 0, _F32(1), s32).astype(_F32)
            z32 = round_to_scale_dtype(lo, scheme.scale_dtype)

        s_full = expand_scale(s32, x.shape, scheme)
        if scheme.is_float8:
            fp8_dtype = _FP8[scheme.dtype][0]
            v = np.clip(x / s_full, -qmax, qmax)  # NaN stays NaN
            codes = v.astype(fp8_dtype)
        elif scheme.symmetric:
            v = np.clip(round_half_away_from_zero(x / s_full), -qmax, qmax)
            codes = np.where(np.isnan(v), _F32(0), v).astype(np.int8)
        else:
            z_full = expand_scale(z32, x.shape, scheme)
            v = np.clip(round_half_away_from_zero((x - z_full) / s_full), _F32(0), qmax)
            codes = np.where(np.isnan(v), _F32(0), v).astype(np.uint8)

    scale = s32.astype(sd)
    zero = None if z32 is None else z32.astype(sd)
    return codes, scale, zero


def dequantize(codes, scale, zero_point, scheme, out_dtype=np.float32):
    """Reconstructs values from `codes` (unpacked, data-shaped).

    ``float32(code) * scale`` (symmetric) or
    ``float32(code) * scale + zero_point`` (asymmetric; a separately rounded
    multiply then add, no fused multiply-add), computed in float32 with scale
    and zero point widened to float32, then cast to `out_dtype`.
    """
    scheme = _as_scheme(scheme)
    codes = np.asarray(codes)
    c = codes.astype(_F32)
    s_full = expand_scale(np.asarray(scale).astype(_F32), codes.shape, scheme)
    with np.errstate(over="ignore", invalid="ignore"):
        out = c * s_full
        if scheme.has_zero_point:
            if zero_point is None:
                raise ValueError(f"{scheme} needs a zero point")
            z_full = expand_scale(np.asarray(zero_point).astype(_F32), codes.shape, scheme)
            out = (out + z_full).astype(_F32)
    return out.astype(out_dtype)


# ---------------------------------------------------------------------------
# Sub-byte packing
# ---------------------------------------------------------------------------


def pack(codes, bits: int) -> np.ndarray:
    """Packs a code array (flattened row-major) into bytes.

    Element ``i`` occupies byte ``i // (8 // bits)`` at bit offset
    ``(i % (8 // bits)) * bits`` (LSB first: the low nibble holds the first
    of two 4-bit codes).  Only the low `bits` bits of each value are stored
    (two's complement for negatives); the unused high bits of the last byte
    are zero.  Values must lie in ``[-2^(bits-1), 2^bits - 1]``.
    Returns a uint8 array of ``ceil(n * bits / 8)`` bytes.
    """
    if bits not in (1, 2, 4, 8):
        raise ValueError(f"bits must be 1, 2, 4 or 8, got {bits}")
    c = np.asarray(codes)
    if not np.issubdtype(c.dtype, np.integer):
        raise TypeError("pack expects integer codes")
    c = c.reshape(-1).astype(np.int64)
    if c.size and (c.min() < -(1 << (bits - 1)) or c.max() > (1 << bits) - 1):
        raise ValueError(f"codes out of range for {bits}-bit packing")
    per = 8 // bits
    n = c.size
    nbytes = _ceildiv(n * bits, 8)
    u = np.zeros(nbytes * per, dtype=np.int64)
    u[:n] = c & ((1 << bits) - 1)
    u = u.reshape(nbytes, per)
    shifts = np.arange(per, dtype=np.int64) * bits
    return (u << shifts).sum(axis=1).astype(np.uint8)


def unpack(packed, bits: int, count: int, signed: bool) -> np.ndarray:
    """Inverse of `pack`: returns `count` codes as a flat int8 array
    (sign-extended from `bits` bits) when `signed`, else uint8."""
    if bits not in (1, 2, 4, 8):
        raise ValueError(f"bits must be 1, 2, 4 or 8, got {bits}")
    p = np.asarray(packed, dtype=np.uint8).reshape(-1).astype(np.int64)
    per = 8 // bits
    if count < 0 or _ceildiv(count * bits, 8) > p.size:
        raise ValueError(f"{p.size} bytes cannot hold {count} {bits}-bit codes")
    shifts = np.arange(per, dtype=np.int64) * bits
    v = ((p[:, None] >> shifts) & ((1 << bits) - 1)).reshape(-1)[:count]
    if signed:
        v = np.where(v >= (1 << (bits - 1)), v - (1 << bits), v)
        return v.astype(np.int8)
    return v.astype(np.uint8)


# ---------------------------------------------------------------------------
# Attention
# ---------------------------------------------------------------------------


def attention(q, k, v, scale=None, causal=False, mask=None) -> np.ndarray:
    """Scaled dot-product attention in float64 with grouped-query heads.

    Args:
      q: ``[B, Hq, Sq, D]``.
      k: ``[B, Hkv, Skv, D]``.
      v: ``[B, Hkv, Skv, Dv]``.
      scale: logit multiplier, default ``1 / sqrt(D)``.
      causal: bottom-right aligned causal masking: query ``i`` may attend key
        ``j`` iff ``j <= i + (Skv - Sq)`` (a single decode query sees every
        key).
      mask: additive float mask broadcastable to ``[B, Hq, Sq, Skv]``
        (``-inf`` masks a key out).

    ``Hq`` must be a multiple of ``Hkv``; query head ``h`` uses kv head
    ``h // (Hq // Hkv)``.  A query row whose logits are all ``-inf`` (every
    key masked by `causal` and/or `mask`) outputs zeros.  Returns
    ``[B, Hq, Sq, Dv]`` float64.
    """
    q = np.asarray(q, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise ValueError("q, k, v must have rank 4")
    B, Hq, Sq, D = q.shape
    Bk, Hkv, Skv, Dk = k.shape
    if Bk != B or Dk != D:
        raise ValueError(f"k shape {k.shape} incompatible with q shape {q.shape}")
    if v.shape[:3] != (B, Hkv, Skv):
        raise ValueError(f"v shape {v.shape} incompatible with k shape {k.shape}")
    if Hkv == 0 or Hq % Hkv:
        raise ValueError(f"Hq={Hq} is not a multiple of Hkv={Hkv}")
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    rep = Hq // Hkv
    k = np.repeat(k, rep, axis=1)
    v = np.repeat(v, rep, axis=1)

    logits = np.einsum("bhqd,bhkd->bhqk", q, k) * np.float64(scale)
    if mask is not None:
        m = np.asarray(mask)
        if m.dtype == np.bool_:
            raise TypeError("mask must be additive (float), not boolean")
        logits = logits + np.broadcast_to(m.astype(np.float64), logits.shape)
    if causal:
        i = np.arange(Sq)[:, None]
        j = np.arange(Skv)[None, :]
        logits = np.where(j <= i + (Skv - Sq), logits, -np.inf)

    row_max = logits.max(axis=-1, keepdims=True, initial=-np.inf)
    dead = np.isneginf(row_max)
    with np.errstate(invalid="ignore"):
        p = np.exp(logits - np.where(dead, 0.0, row_max))
        denom = p.sum(axis=-1, keepdims=True)
        out = np.einsum("bhqk,bhkd->bhqd", p, v) / np.where(dead, 1.0, denom)
    return np.where(dead, 0.0, out)


def quantized_attention(q, k_codes, k_scale, k_zp, k_scheme,
                        v_codes, v_scale, v_zp, v_scheme, **kw) -> np.ndarray:
    """Dequantizes K and V (to float32) and calls `attention`.

    A scheme of ``None`` means that operand is plain floating point: its
    "codes" are used as the values and its scale / zero point are ignored.
    Keyword arguments (`scale`, `causal`, `mask`) go to `attention`.
    """
    k = k_codes if k_scheme is None else dequantize(k_codes, k_scale, k_zp, k_scheme)
    v = v_codes if v_scheme is None else dequantize(v_codes, v_scale, v_zp, v_scheme)
    return attention(q, k, v, **kw)


# ---------------------------------------------------------------------------
# Low rank (MatryoshkaKV-style per-head bases) and SageAttention smoothing
# ---------------------------------------------------------------------------

def _basis_heads(h: int, basis: np.ndarray) -> np.ndarray:
    """The basis of each of `h` heads: head ``i`` uses basis
    ``i // (h // Hb)`` (Hb = 1: one shared basis; Hb = h: one per head;
    h = Hq, Hb = Hkv: the KV head of a query head)."""
    hb = basis.shape[0]
    if hb == 0 or h % hb:
        raise ValueError(f"{h} heads cannot share {hb} bases")
    return np.repeat(basis, h // hb, axis=0)


def project(x, basis, mean=None) -> np.ndarray:
    """``y[b,h,s,r] = sum_d (x[b,h,s,d] - mean[h,d]) * basis[h,d,r]`` in
    float64. `x` is ``[B, H, S, D]``, `basis` ``[Hb, D, R]`` with ``H % Hb ==
    0`` (head ``h`` uses basis ``h // (H // Hb)``), `mean` ``[Hb, D]`` or
    None. Returns ``[B, H, S, R]``."""
    x = np.asarray(x, dtype=np.float64)
    basis = np.asarray(basis, dtype=np.float64)
    if x.ndim != 4 or basis.ndim != 3 or basis.shape[1] != x.shape[3]:
        raise ValueError(f"x {x.shape} and basis {basis.shape} do not match")
    u = _basis_heads(x.shape[1], basis)
    if mean is not None:
        x = x - _basis_heads(x.shape[1], np.asarray(mean, np.float64))[None, :, None, :]
    return np.einsum("bhsd,hdr->bhsr", x, u)


def reconstruct(y, basis, mean=None) -> np.ndarray:
    """``x[b,h,s,d] = sum_r y[b,h,s,r] * basis[h,d,r] + mean[h,d]`` in
    float64 (the inverse of `project` for an orthonormal basis of full
    rank). Shapes and head sharing as in `project`."""
    y = np.asarray(y, dtype=np.float64)
    basis = np.asarray(basis, dtype=np.float64)
    if y.ndim != 4 or basis.ndim != 3 or basis.shape[2] != y.shape[3]:
        raise ValueError(f"y {y.shape} and basis {basis.shape} do not match")
    u = _basis_heads(y.shape[1], basis)
    x = np.einsum("bhsr,hdr->bhsd", y, u)
    if mean is not None:
        x = x + _basis_heads(y.shape[1], np.asarray(mean, np.float64))[None, :, None, :]
    return x


def pca_basis(x, rank: int):
    """Per-head PCA of `x` ``[B, H, S, D]`` over batch and tokens (the
    offline calibration of MatryoshkaKV): returns the orthonormal basis
    ``[H, D, rank]`` of the leading principal directions and the mean
    ``[H, D]``, both float64."""
    x = np.asarray(x, dtype=np.float64)
    B, H, S, D = x.shape
    rows = x.transpose(1, 0, 2, 3).reshape(H, B * S, D)
    mean = rows.mean(axis=1)
    centered = rows - mean[:, None, :]
    _, _, vt = np.linalg.svd(centered, full_matrices=False)
    return vt[:, :rank, :].transpose(0, 2, 1).copy(), mean


def smooth(k):
    """SageAttention's K smoothing: returns ``(k - km, km)`` with ``km`` the
    mean over tokens of each (batch, head), ``[B, H, 1, D]``, in float64.
    Attention is unchanged by it (``q . km`` is the same for every key of a
    row), while per-token / per-block quantization of ``k - km`` no longer
    spends its range on channel outliers. An empty sequence has mean 0."""
    k = np.asarray(k, dtype=np.float64)
    if k.ndim != 4:
        raise ValueError("k must have rank 4")
    if k.shape[2] == 0:
        km = np.zeros(k.shape[:2] + (1, k.shape[3]))
    else:
        km = k.mean(axis=2, keepdims=True)
    return k - km, km


def latent_attention(q_nope, q_rope, cache, w_uk, w_uv, scale=None, causal=False):
    """Multi-head latent attention (MLA), the naive way, in float64: every
    head's keys ``[W_UK[h] c_j, r_j]`` and values ``W_UV[h] c_j`` are formed
    from the cache rows ``[c_j, r_j]`` and passed to `attention`.

    `q_nope` ``[B, H, Sq, Dn]``, `q_rope` ``[B, H, Sq, Dr]``, `cache`
    ``[B, 1, Skv, Dc + Dr]``, `w_uk` ``[H, Dn, Dc]``, `w_uv` ``[H, Dv, Dc]``;
    `scale` defaults to ``1 / sqrt(Dn + Dr)``. Returns ``[B, H, Sq, Dv]``."""
    q_nope = np.asarray(q_nope, np.float64)
    q_rope = np.asarray(q_rope, np.float64)
    cache = np.asarray(cache, np.float64)
    w_uk = np.asarray(w_uk, np.float64)
    w_uv = np.asarray(w_uv, np.float64)
    dc = w_uk.shape[2]
    c, r = cache[:, 0, :, :dc], cache[:, 0, :, dc:]
    k_nope = np.einsum("hnc,bsc->bhsn", w_uk, c)
    k = np.concatenate([k_nope, np.broadcast_to(r[:, None], k_nope.shape[:3] + r.shape[-1:])],
                       axis=-1)
    v = np.einsum("hvc,bsc->bhsv", w_uv, c)
    q = np.concatenate([q_nope, q_rope], axis=-1)
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    return attention(q, k, v, scale=scale, causal=causal)


# ---------------------------------------------------------------------------
# PolySketchFormer
# ---------------------------------------------------------------------------

_MASK64 = (1 << 64) - 1


def _splitmix64(state: int):
    state = (state + 0x9E3779B97F4A7C15) & _MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return state, z ^ (z >> 31)


def sketch_matrices(d: int, r: int, seed: int):
    """The two ``[d, r]`` Gaussian sketches of PolySketch from `seed`, with
    N(0, 1/sqrt(r)) entries, so that ``<(q S1)(q S2), (k S1)(k S2)>`` is an
    unbiased estimate of ``(q . k)^2`` (the product carries the 1/sqrt(r)
    of the paper's normalisation): splitmix64 draws, Box-Muller (cosine
    branch), rounded to float32 -- the same numbers kvq compiles into its
    kernels."""
    state = seed & _MASK64
    out = np.empty(2 * d * r, dtype=np.float64)
    for n in range(out.size):
        state, a = _splitmix64(state)
        state, b = _splitmix64(state)
        u1 = ((a >> 11) + 1) * 2.0 ** -53  # (0, 1]
        u2 = (b >> 11) * 2.0 ** -53
        out[n] = math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
    out = (out / r ** 0.25).astype(np.float32)
    return out[:d * r].reshape(d, r), out[d * r:].reshape(d, r)


def poly_sketch(x, r: int, seed: int) -> np.ndarray:
    """The degree-2 sketch ``(x S1) * (x S2)`` of `x` ``[..., D]`` (fp64):
    ``<poly_sketch(q), poly_sketch(k)>`` estimates ``(q . k)^2``."""
    x = np.asarray(x, dtype=np.float64)
    s1, s2 = sketch_matrices(x.shape[-1], r, seed)
    return (x @ s1.astype(np.float64)) * (x @ s2.astype(np.float64))


def poly_attention(q, k, v, degree: int = 4, sketch: int = 0, seed: int = 0,
                   causal: bool = False) -> np.ndarray:
    """Polynomial attention of PolySketchFormer in fp64, computed densely:
    ``o_i = sum_j w_ij v_j / (1 + sum_j w_ij)`` with ``w_ij = (q_i . k_j)^p``
    (`sketch` = 0, exact) or ``<phi(q_i), phi(k_j)>^(p/2)`` with ``phi`` =
    `poly_sketch` (`sketch` = r, p = 4: the non-negative estimate of
    ``(q . k)^4``). GQA and bottom-right causal masking as in `attention`;
    no 1/sqrt(D) scale (normalize q and k first)."""
    q = np.asarray(q, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    B, Hq, Sq, D = q.shape
    Hkv, Skv = k.shape[1], k.shape[2]
    rep = Hq // Hkv
    k = np.repeat(k, rep, axis=1)
    v = np.repeat(v, rep, axis=1)
    if sketch:
        if degree != 4:
            raise ValueError("the sketched form is implemented for degree 4")
        w = np.einsum("bhqr,bhkr->bhqk", poly_sketch(q, sketch, seed),
                      poly_sketch(k, sketch, seed)) ** 2
    else:
        w = np.einsum("bhqd,bhkd->bhqk", q, k) ** degree
    if causal:
        i = np.arange(Sq)[:, None]
        j = np.arange(Skv)[None, :]
        w = np.where(j <= i + (Skv - Sq), w, 0.0)
    return np.einsum("bhqk,bhkd->bhqd", w, v) / (1.0 + w.sum(axis=-1, keepdims=True))


# ---------------------------------------------------------------------------
# LevAttention
# ---------------------------------------------------------------------------

def leverage_scores(k) -> np.ndarray:
    """Leverage scores ``tau_j = k_j^T (K^T K)^+ k_j`` of the keys of every
    (batch, head) of `k` ``[B, H, S, D]``, in float64 (``[B, H, S]``). They
    sum to rank(K) <= D, and ``(q . k_j)^2 <= tau_j ||K q||^2`` for every
    q."""
    k = np.asarray(k, dtype=np.float64)
    gram = np.einsum("bhsd,bhse->bhde", k, k)
    pinv = np.linalg.pinv(gram, hermitian=True)
    return np.einsum("bhsd,bhde,bhse->bhs", k, pinv, k)


def select_keys(scores, epsilon, shape, top=None) -> np.ndarray:
    """The additive mask of the selected keys (0 kept, -inf dropped),
    broadcast to `shape` ``[B, Hm, Sm, S]`` (mask head ``h`` uses score head
    ``h // (Hm // H)``; every row is the same). Keys are selected by
    ``score >= epsilon``, or with `top` = m (and `epsilon` None) as the m
    highest scores of each head, ties to the earlier key."""
    scores = np.asarray(scores, dtype=np.float64)
    B, H, S = scores.shape
    Hm = shape[1]
    if top is not None:
        order = np.argsort(-scores, axis=-1, kind="stable")
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(S)[None, None, :].repeat(B, 0).repeat(H, 1),
                          axis=-1)
        keep = rank < top
    else:
        keep = scores >= epsilon
    keep = np.repeat(keep, Hm // H, axis=1)
    mask = np.where(keep, 0.0, -np.inf)[:, :, None, :]
    return np.broadcast_to(mask, tuple(shape)).copy()


# ---------------------------------------------------------------------------
# Rotations (PolarQuant / QuaRot preconditioning)
# ---------------------------------------------------------------------------

def _gaussians(count: int, seed: int) -> np.ndarray:
    """`count` N(0, 1) draws from `seed` (splitmix64 + Box-Muller, cosine
    branch), as float64: the generator of `sketch_matrices`."""
    state = seed & _MASK64
    out = np.empty(count, dtype=np.float64)
    for n in range(count):
        state, a = _splitmix64(state)
        state, b = _splitmix64(state)
        u1 = ((a >> 11) + 1) * 2.0 ** -53
        u2 = (b >> 11) * 2.0 ** -53
        out[n] = math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
    return out


def rotation_matrix(d: int, kind: str = "hadamard", seed: int = 0) -> np.ndarray:
    """The ``[d, d]`` orthogonal matrix S of `rotate`, rounded to float32
    like the constant kvq compiles:

    * ``"hadamard"``: the Sylvester Hadamard matrix times a diagonal of
      random signs (the sign of each of d Gaussian draws), over sqrt(d);
      d a power of two;
    * ``"orthogonal"``: Gram-Schmidt (modified, in float64) of the columns
      of a d x d Gaussian matrix drawn row by row."""
    if kind == "hadamard":
        if d < 1 or d & (d - 1):
            raise ValueError("a Hadamard rotation needs a power-of-two dimension")
        h = np.array([[1.0]])
        while h.shape[0] < d:
            h = np.block([[h, h], [h, -h]])
        signs = np.where(_gaussians(d, seed) < 0, -1.0, 1.0)
        return (h * signs[None, :] / math.sqrt(d)).astype(np.float32)
    if kind == "orthogonal":
        a = _gaussians(d * d, seed).reshape(d, d)
        q = np.zeros((d, d))
        for j in range(d):
            v = a[:, j].copy()
            for i in range(j):
                v -= (q[:, i] @ v) * q[:, i]
            q[:, j] = v / np.linalg.norm(v)
        return q.astype(np.float32)
    raise ValueError(f"unknown rotation kind {kind!r}")


def rotate(x, kind: str = "hadamard", seed: int = 0, inverse: bool = False) -> np.ndarray:
    """``S x`` along the last dim (``S^T x`` with `inverse`), float64."""
    x = np.asarray(x, dtype=np.float64)
    s = rotation_matrix(x.shape[-1], kind, seed).astype(np.float64)
    return x @ (s if inverse else s.T)


# ---------------------------------------------------------------------------
# GEAR (quantization + low-rank residual + sparse outliers) and xKV
# (cross-layer shared basis)
# ---------------------------------------------------------------------------

def extract_outliers(x, count: int):
    """The `count` entries of largest magnitude of every row (last axis) of
    `x` ``[B, H, S, D]``: returns ``(remainder, indices, values)`` with the
    remainder `x` with those entries zeroed (x's dtype), indices int32
    ``[B, H, S, count]`` in order of decreasing magnitude (ties to the lower
    index) and their values (x's dtype)."""
    x = np.asarray(x)
    order = np.argsort(-np.abs(x.astype(np.float64)), axis=-1, kind="stable")[..., :count]
    values = np.take_along_axis(x, order, axis=-1)
    remainder = x.copy()
    np.put_along_axis(remainder, order, 0, axis=-1)
    return remainder, order.astype(np.int32), values


def orthonormalize(w) -> np.ndarray:
    """Classical Gram-Schmidt applied twice (CGS2) to the columns of every
    ``[..., N, R]`` matrix of `w`, in float64. A column whose norm after
    projection is at most 1e-12 of the matrix's largest column norm (it lies
    in the span of the previous columns, to rounding) becomes zero. (Against
    the largest column, not the column's own norm: a column of rounding
    residue, kept once, would otherwise stay a unit vector through every
    later subspace iteration.)"""
    q = np.array(w, dtype=np.float64)
    largest = np.sqrt((q * q).sum(-2)).max(-1)
    for j in range(q.shape[-1]):
        v = q[..., :, j].copy()
        prev = q[..., :, :j]
        for _ in range(2):
            c = np.einsum("...nr,...n->...r", prev, v)
            v = v - np.einsum("...nr,...r->...n", prev, c)
        norm = np.sqrt((v * v).sum(-1))
        keep = norm > 1e-12 * largest
        q[..., :, j] = np.where(keep[..., None], v / np.where(keep, norm, 1.0)[..., None], 0.0)
    return q


def subspace_iteration(gram, rank: int, iterations: int, seed: int) -> np.ndarray:
    """Orthonormal ``[..., N, rank]`` bases of the dominant eigenvectors of
    the symmetric PSD matrices `gram` ``[..., N, N]`` (float64): the seeded
    Gaussian ``[N, rank]`` start (``_gaussians(N * rank, seed)``, row major,
    the same for every matrix) orthonormalized, then `iterations` times
    ``W <- orthonormalize(gram W)``."""
    gram = np.asarray(gram, dtype=np.float64)
    n = gram.shape[-1]
    w = _gaussians(n * rank, seed).reshape(n, rank)
    w = orthonormalize(np.broadcast_to(w, gram.shape[:-2] + (n, rank)))
    for _ in range(iterations):
        w = orthonormalize(gram @ w)
    return w


def low_rank_approx(x, rank: int, iterations: int = 3, seed: int = 0):
    """GEAR's low-rank approximation of every (batch, head) matrix
    ``x[b, h]`` ``[S, D]``: ``W`` = subspace iteration on ``x^T x`` (f64),
    ``a = x W`` ``[B, H, S, rank]``, ``b = W^T`` ``[B, H, rank, D]`` (f64), so
    ``a b = x W W^T`` (the best rank-r approximation once W spans the top
    right singular vectors)."""
    x = np.asarray(x, dtype=np.float64)
    w = subspace_iteration(np.einsum("bhsd,bhse->bhde", x, x), rank, iterations, seed)
    return x @ w, np.swapaxes(w, -1, -2)


def gear_decode(base, a, b, indices, values) -> np.ndarray:
    """``base + a b + scatter(values at indices)`` along the last axis, f64."""
    out = np.asarray(base, dtype=np.float64) + np.asarray(a, np.float64) @ np.asarray(b, np.float64)
    idx = np.asarray(indices).astype(np.int64)
    vals = np.asarray(values, dtype=np.float64)
    Bn, Hn, Sn, K = idx.shape
    bi, hi, si, _ = np.indices((Bn, Hn, Sn, K))
    np.add.at(out, (bi, hi, si, idx), vals)
    return out


def gear(x, scheme, count: int, rank: int, iterations: int = 3, seed: int = 0):
    """GEAR at prefill, the recipe of the kvq ops: outliers, quantization of
    the remainder, low-rank approximation of the quantization residual (in
    float32 as the compiled function has it). Returns ``(decoded (f64),
    parts)`` with parts the tensors the cache holds."""
    x = np.asarray(x, dtype=np.float32)
    remainder, idx, vals = extract_outliers(x, count)
    codes, scale, zp = quantize(remainder, scheme)
    deq = dequantize(codes, scale, zp, scheme)
    residual = (remainder - deq).astype(np.float32)
    a, b = low_rank_approx(residual, rank, iterations, seed)
    a, b = a.astype(np.float32), b.astype(np.float32)
    return gear_decode(deq, a, b, idx, vals), dict(codes=codes, scale=scale, zero_point=zp,
                                                   a=a, b=b, indices=idx, values=vals)


def cross_layer_basis(xs, rank: int, iterations: int = 8, seed: int = 0):
    """xKV's shared basis of the K (or V) of G layers, per head: the layers'
    ``[B, H, S, D]`` tensors side by side along features (``X`` ``[B, H, S,
    G D]``), ``W`` ``[H, G D, rank]`` = subspace iteration on the Gram matrix
    ``sum_{b, s} X^T X`` of each head (f64). Returns the shared coordinates
    ``X W`` ``[B, H, S, rank]`` and the per-layer bases ``W[:, l D:(l+1) D]``
    ``[H, D, rank]`` (layer l is ``reconstruct(coords, basis_l)``)."""
    x = np.concatenate([np.asarray(t, dtype=np.float64) for t in xs], axis=-1)
    w = subspace_iteration(np.einsum("bhsd,bhse->hde", x, x), rank, iterations, seed)
    d = np.asarray(xs[0]).shape[-1]
    return np.einsum("bhsn,hnr->bhsr", x, w), [w[:, l * d:(l + 1) * d, :] for l in range(len(xs))]


def kivi_split(length: int, residual: int = 128, value: bool = False) -> int:
    """Number of the `length` tokens that a KIVI cache holds quantized.

    KIVI (jy-yuan/KIVI) keeps the newest tokens in full precision: for V the
    last `residual` tokens (V is quantized per token, so the oldest window
    token is flushed as each new one arrives); for K the last
    ``length % residual`` (K is quantized per channel over groups of tokens,
    so the window is flushed `residual` tokens at a time).
    """
    if value:
        return max(length - residual, 0)
    return length - length % residual


def kivi_cache(k, v, bits: int = 2, group: int = 32, residual: int = 128,
               scale: str = "f16"):
    """A KIVI cache of `k`, `v` [B, H, S, D] as kvq stores it.

    Returns a dict with, for ``"k"`` and ``"v"``, the quantized part's
    ``codes``, ``scale``, ``zero_point`` and ``scheme`` and the
    full-precision window ``full`` (float16): K per channel over groups of
    `group` tokens, V per token over groups of `group` channels, both
    asymmetric `bits`-bit, split as :func:`kivi_split` says.
    """
    cache = {}
    for name, x, value in (("k", k, False), ("v", v, True)):
        axis = 3 if value else 2
        scheme = QuantScheme.parse(
            f"#kvq.quant<i{bits}, asymmetric, group(axis = {axis}, size = {group}), scale = {scale}>")
        nq = kivi_split(x.shape[2], residual, value)
        codes, s, zp = quantize(np.ascontiguousarray(x[:, :, :nq]), scheme)
        cache[name] = dict(codes=codes, scale=s, zero_point=zp, scheme=scheme,
                           full=np.ascontiguousarray(x[:, :, nq:]).astype(np.float16))
    return cache


def kivi_decode(part) -> np.ndarray:
    """The K or V that attention reads from a :func:`kivi_cache` part:
    the dequantized tokens followed by the full-precision window (float64)."""
    old = dequantize(part["codes"], part["scale"], part["zero_point"], part["scheme"])
    return np.concatenate([np.asarray(old, np.float64),
                           np.asarray(part["full"], np.float64)], axis=2)

# SageAttention2
# ---------------------------------------------------------------------------

#: Query rows per group of SageAttention2's query smoothing.
SAGE_SMOOTH_ROWS = 128
#: SageAttention2's static FP8 offset (``S_FP8_OFFSET``): probabilities are
#: ``exp2(s - m + 8.807)``, at most ``2^8.807 < 448``.
SAGE_FP8_OFFSET = 8.807
#: Keys per KV tile of the online softmax (the reference kernels' CTA_K and
#: the CPU lowering's default block).
SAGE_BLOCK_KV = 64


def sage_schemes(granularity: str, qk: str, head_dim: int):
    """The (Q, K) schemes of SageAttention2's quantization granularities:

    * ``"block"``: Q per 128 rows, K per 64 rows (``per_block_int8``);
    * ``"warp"``: Q per 32 rows (the warp of a 128-row block), K per 64 rows
      (``per_warp_int8``);
    * ``"thread"``: the rows one thread of the mma holds (``per_thread_int8``):
      within 32 query rows, rows ``t % 8 == c`` (8 groups of 4); within 64
      keys, keys ``(t % 8) // 2 == c`` (4 groups of 16).
    """
    if qk not in ("i8", "i4"):
        raise ValueError(f"qk must be i8 or i4, got {qk!r}")
    def mk(**kw):
        return QuantScheme(dtype=qk, symmetric=True, **kw)
    if granularity == "thread":
        return (mk(granularity="fragment", rows=32, period=8, run=1),
                mk(granularity="fragment", rows=64, period=8, run=2))
    if granularity in ("block", "warp"):
        qrows = 32 if granularity == "warp" else 128
        return (mk(granularity="block", rows=qrows, cols=head_dim),
                mk(granularity="block", rows=64, cols=head_dim))
    raise ValueError(f"unknown granularity {granularity!r}")


def sage_attention(q, k, v, qk: str = "i8", pv: str = "f8E4M3FN",
                   granularity: str = "thread", smooth_q: bool = True,
                   smooth_k: bool = True, scale=None, causal: bool = False,
                   block_kv: int = SAGE_BLOCK_KV, round_p: bool = True) -> np.ndarray:
    """SageAttention2 (thu-ml/SageAttention), written from its algorithm.

    1. ``smooth_k``: ``Kc = K - mean_tokens(K)`` per (batch, kv head), f32.
    2. ``smooth_q``: per group of 128 query rows of a head, ``q-bar`` (the
       f32 mean of the group's rows), ``Qc = Q - q-bar`` and
       ``dS[g, j] = q-bar_g . Kc_j``.
    3. ``Qc``, ``Kc`` quantized with `quantize` and `sage_schemes`
       (symmetric, half away from zero, f32 scales); V per channel to e4m3
       (``pv = "f8E4M3FN"``, scale ``max|V_c| / 448``) or rounded to f16
       (``pv = "f16"``).
    4. Scores ``S = (sum_d qcode kcode) qscale kscale + dS`` (the integer
       dot product is exact), ``z = S * scale``; an online softmax over KV
       tiles of `block_kv` keys with the running row maximum ``m``: FP8
       ``P = exp(z - m) * 2^8.807`` rounded to e4m3 (nearest even), f16
       ``P = exp(z - m)`` rounded to f16; the row sum takes the unrounded
       ``P``; ``O = (sum_tiles P~ Vcode) * vscale / l`` (V's scale in the
       epilogue, as the reference kernels apply it).

    Everything after the quantization is float64 (the reference's fp32 / fp8
    accumulators are at least that exact for these sizes). ``round_p=False``
    skips the rounding of P (to measure what it costs). Causal masking as in
    `attention`; a fully masked row outputs zeros. Returns float64
    ``[B, Hq, Sq, Dv]``.
    """
    q = np.asarray(q, dtype=_F32)
    k = np.asarray(k, dtype=_F32)
    v = np.asarray(v, dtype=_F32)
    B, Hq, Sq, D = q.shape
    _, Hkv, Skv, _ = k.shape
    Dv = v.shape[3]
    if Hkv == 0 or Hq % Hkv:
        raise ValueError(f"Hq={Hq} is not a multiple of Hkv={Hkv}")
    grp = Hq // Hkv
    if scale is None:
        scale = 1.0 / math.sqrt(D)

    def mean_f32(x):
        # f32 running sum over the tokens, then one f32 division (the
        # means are f32 in the reference; this order is kvq's).
        return np.cumsum(x, axis=2, dtype=_F32)[:, :, -1:] / _F32(x.shape[2])

    kc = k
    if smooth_k and Skv:
        kc = (k - mean_f32(k)).astype(_F32)
    qc = q
    ngroups = _ceildiv(Sq, SAGE_SMOOTH_ROWS)
    ds = np.zeros((B, Hq, ngroups, Skv))
    if smooth_q:
        gidx = np.arange(Sq) // SAGE_SMOOTH_ROWS
        qbar = np.zeros((B, Hq, ngroups, D), dtype=_F32)
        for g in range(ngroups):
            qbar[:, :, g] = mean_f32(q[:, :, gidx == g])[:, :, 0]
        qc = (q - qbar[:, :, gidx]).astype(_F32)
        ds = np.einsum("bhgd,bhjd->bhgj", qbar.astype(np.float64),
                       np.repeat(kc, grp, axis=1).astype(np.float64))

    qs_scheme, ks_scheme = sage_schemes(granularity, qk, D)
    qcode, qscale, _ = quantize(qc, qs_scheme)
    kcode, kscale, _ = quantize(kc, ks_scheme)
    qscale = expand_scale(qscale, qc.shape, qs_scheme)[..., 0].astype(np.float64)
    kscale = expand_scale(kscale, kc.shape, ks_scheme)[..., 0].astype(np.float64)
    if pv == "f8E4M3FN":
        vs = QuantScheme(dtype="f8E4M3FN", symmetric=True, granularity="channel")
        vcode, vscale, _ = quantize(v, vs)
        vcode = vcode.astype(np.float64)
        vscale = vscale.astype(np.float64)  # [B, Hkv, 1, Dv]
        p_dtype, offset = ml_dtypes.float8_e4m3fn, 2.0 ** SAGE_FP8_OFFSET
    elif pv == "f16":
        vcode = v.astype(np.float16).astype(np.float64)
        vscale = np.ones((B, Hkv, 1, Dv))
        p_dtype, offset = np.float16, 1.0
    else:
        raise ValueError(f"pv must be f8E4M3FN or f16, got {pv!r}")

    # Scores: exact integer dot products, then the scales and Delta-S.
    dots = np.einsum("bhid,bhjd->bhij", qcode.astype(np.float64),
                     np.repeat(kcode.astype(np.float64), grp, axis=1))
    srow = qscale[:, :, :, None] * np.repeat(kscale, grp, axis=1)[:, :, None, :]
    z = (dots * srow + ds[:, :, np.arange(Sq) // SAGE_SMOOTH_ROWS]) * scale
    if causal:
        i = np.arange(Sq)[:, None]
        j = np.arange(Skv)[None, :]
        z = np.where(j <= i + (Skv - Sq), z, -np.inf)

    vrep = np.repeat(vcode, grp, axis=1)
    m = np.full((B, Hq, Sq, 1), -np.inf)
    l = np.zeros((B, Hq, Sq, 1))
    acc = np.zeros((B, Hq, Sq, Dv))
    with np.errstate(invalid="ignore", over="ignore"):
        for j0 in range(0, Skv, block_kv):
            zt = z[..., j0:j0 + block_kv]
            m_new = np.maximum(m, zt.max(axis=-1, keepdims=True))
            ref = np.where(np.isneginf(m_new), 0.0, m_new)
            corr = np.exp(m - ref)
            p = np.exp(zt - ref) * offset
            pr = p.astype(_F32).astype(p_dtype).astype(np.float64) if round_p else p
            l = l * corr + p.sum(axis=-1, keepdims=True)
            acc = acc * corr + np.einsum("bhij,bhjd->bhid", pr, vrep[:, :, j0:j0 + block_kv])
            m = m_new
    out = acc * np.repeat(vscale, grp, axis=1) / np.where(l > 0, l, 1.0)
    return np.where(l > 0, out, 0.0)


# ---------------------------------------------------------------------------
# VidKV (1.x-bit KV cache: mixed 2-bit / FFT 1-bit K, ternary V)
# ---------------------------------------------------------------------------


def vidkv_num_high(d: int, ratio: float) -> int:
    """Number of K channels kept at 2 bits: ``floor(d * ratio)`` (float64
    product, as kvq computes it)."""
    return int(math.floor(d * float(ratio)))


def _group_mean(x: np.ndarray, group_size: int) -> np.ndarray:
    """Mean over groups of `group_size` consecutive tokens (axis -2) of
    float64 `x`; the last group of a ragged axis averages the tokens it has."""
    s = x.shape[-2]
    groups = _ceildiv(s, group_size)
    out = np.zeros(x.shape[:-2] + (groups, x.shape[-1]))
    for g in range(groups):
        out[..., g, :] = x[..., g * group_size:(g + 1) * group_size, :].mean(axis=-2)
    return out


def _expand_groups(s: np.ndarray, tokens: int, group_size: int) -> np.ndarray:
    """Repeats per-group rows (axis -2) to `tokens` rows."""
    return np.repeat(s, group_size, axis=-2)[..., :tokens, :]


def vidkv_channel_slots(k, ratio: float) -> np.ndarray:
    """Where each K channel is stored, ``int32 [B, H, D]``.

    Channels are ranked per (batch, head) by their range ``max - min`` over
    the tokens (float64 of the float32 input; an empty cache has range 0),
    largest first, ties to the lower channel index. The top
    `vidkv_num_high` channels are the *high* (2-bit) channels: in ascending
    channel order they get slots ``0 .. n_high - 1``; the remaining *low*
    channels, ascending, get slots ``n_high .. D - 1``."""
    k = np.asarray(k).astype(_F32).astype(np.float64)
    b, h, s, d = k.shape
    n_high = vidkv_num_high(d, ratio)
    rng = k.max(axis=2) - k.min(axis=2) if s else np.zeros((b, h, d))
    slots = np.empty((b, h, d), dtype=np.int32)
    for i in range(b):
        for j in range(h):
            order = np.argsort(-rng[i, j], kind="stable")
            high = np.zeros(d, dtype=bool)
            high[order[:n_high]] = True
            hi_idx, lo_idx = np.flatnonzero(high), np.flatnonzero(~high)
            slots[i, j, hi_idx] = np.arange(n_high)
            slots[i, j, lo_idx] = n_high + np.arange(d - n_high)
    return slots


def vidkv_halfcomplex(x) -> np.ndarray:
    """The N real degrees of freedom of the DFT of real `x` along the last
    axis (length N), float64: ``Re X_0 .. Re X_{N//2}`` then
    ``Im X_1 .. Im X_{(N+1)//2 - 1}``. The other coefficients follow from
    ``X_{N-j} = conj(X_j)``, and ``Im X_0`` (and ``Im X_{N/2}`` for even N)
    are 0, so these N numbers determine X."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    f = np.fft.rfft(x, axis=-1)
    return np.concatenate([f.real, f.imag[..., 1:(n + 1) // 2]], axis=-1)


def vidkv_inverse_halfcomplex(r) -> np.ndarray:
    """Inverse of `vidkv_halfcomplex` (float64)."""
    r = np.asarray(r, dtype=np.float64)
    n = r.shape[-1]
    nre = n // 2 + 1
    f = r[..., :nre].astype(np.complex128)
    f[..., 1:(n + 1) // 2] += 1j * r[..., nre:]
    return np.fft.irfft(f, n=n, axis=-1)


def vidkv_high_scheme(group_size: int, scale_dtype: str = "f32") -> "QuantScheme":
    """The 2-bit quantization of the high K channels: KIVI-style asymmetric
    i2, one scale and minimum per channel per group of `group_size` tokens
    (exactly `quantize` / `dequantize` with this scheme)."""
    return QuantScheme.parse(
        f"#kvq.quant<i2, asymmetric, group(axis = 2, size = {group_size}), scale = {scale_dtype}>")


def _pack_rows(codes: np.ndarray, bits: int) -> np.ndarray:
    """`pack` of every row (last axis) separately, as int8."""
    lead, n = codes.shape[:-1], codes.shape[-1]
    rows = codes.reshape(-1, n)
    out = np.zeros((rows.shape[0], _ceildiv(n * bits, 8)), dtype=np.uint8)
    for i, row in enumerate(rows):
        out[i] = pack(row, bits)
    return out.reshape(lead + (out.shape[-1],)).view(np.int8)


def _unpack_rows(packed: np.ndarray, bits: int, count: int) -> np.ndarray:
    lead = packed.shape[:-1]
    rows = np.asarray(packed).view(np.uint8).reshape(-1, packed.shape[-1])
    out = np.zeros((rows.shape[0], count), dtype=np.uint8)
    for i, row in enumerate(rows):
        out[i] = unpack(row, bits, count, signed=False)
    return out.reshape(lead + (count,))


def vidkv_encode_key(k, ratio: float = 0.5, group_size: int = 32, scale_dtype: str = "f32"):
    """VidKV key encoding of ``k [B, H, S, D]``.

    Returns ``(high_codes, high_scale, high_min, low_codes, low_scale,
    channels)``, the results of ``kvq.vidkv_encode_key``:

    * ``channels`` = `vidkv_channel_slots`; ``n_high`` high channels and
      ``N = D - n_high`` low ones;
    * the high channels, gathered in slot order (``[B, H, S, n_high]``), are
      quantized with `vidkv_high_scheme` (bit-exact float32 numerics of
      `quantize`); codes packed 4 per byte along the channel slots
      (``high_codes [B, H, S, ceil(n_high / 4)]`` int8, LSB first);
    * the low channels, gathered in slot order (``[B, H, S, N]``), go
      through `vidkv_halfcomplex` (a DFT along them, N reals per token);
      every one of the N spectral components is stored as 1 bit, its sign
      (``r >= 0`` -> 1, else 0), packed 8 per byte along the components
      (``low_codes [B, H, S, ceil(N / 8)]``); ``low_scale [B, H, G, N]`` is
      ``mean |r|`` over each group of `group_size` tokens (float64, then
      rounded to `scale_dtype`).
    """
    k = np.asarray(k).astype(_F32)
    b, h, s, d = k.shape
    n_high = vidkv_num_high(d, ratio)
    slots = vidkv_channel_slots(k, ratio)
    inv = np.argsort(slots, axis=-1)  # slot -> channel
    g = np.take_along_axis(k, inv[:, :, None, :].repeat(s, axis=2), axis=-1)
    hc, hs, hz = quantize(g[..., :n_high], vidkv_high_scheme(group_size, scale_dtype))
    r = vidkv_halfcomplex(g[..., n_high:].astype(np.float64))
    bits = (r >= 0).astype(np.uint8)
    ls = _group_mean(np.abs(r), group_size).astype(_F32)
    ls = round_to_scale_dtype(ls, scale_dtype).astype(SCALE_DTYPES[scale_dtype])
    return (_pack_rows(hc, 2), hs, hz, _pack_rows(bits, 1), ls, slots)


def vidkv_decode_key(high_codes, high_scale, high_min, low_codes, low_scale, channels,
                     group_size: int = 32) -> np.ndarray:
    """Inverse of `vidkv_encode_key` (float64 ``[B, H, S, D]``): high
    channels ``float32(code) * scale + min`` (`dequantize`); low channels
    the inverse DFT (`vidkv_inverse_halfcomplex`) of ``(2 bit - 1) * scale``
    per spectral component; each channel taken from its slot."""
    channels = np.asarray(channels)
    n_high = np.asarray(high_scale).shape[-1]
    n_low = np.asarray(low_scale).shape[-1]
    s = np.asarray(high_codes).shape[2]
    hc = _unpack_rows(np.asarray(high_codes), 2, n_high)
    hi = dequantize(hc, high_scale, high_min, vidkv_high_scheme(group_size)).astype(np.float64)
    sign = 2.0 * _unpack_rows(np.asarray(low_codes), 1, n_low).astype(np.float64) - 1.0
    ls = _expand_groups(np.asarray(low_scale).astype(np.float64), s, group_size)
    lo = vidkv_inverse_halfcomplex(sign * ls)
    g = np.concatenate([hi, lo], axis=-1)
    return np.take_along_axis(g, channels[:, :, None, :].astype(np.int64).repeat(s, axis=2), axis=-1)


def vidkv_decode_key_slots(high, low_codes, low_scale, group_size: int = 32) -> np.ndarray:
    """VidKV keys in slot coordinates (float64 ``[B, H, S, n_high + N]``):
    the decoded high slots `high`, then ``(2 bit - 1) * scale`` per
    spectral component, before the inverse DFT and the channel permutation
    (`kvq.vidkv_decode_key_slots`)."""
    high = np.asarray(high).astype(np.float64)
    n_low = np.asarray(low_scale).shape[-1]
    s = high.shape[2]
    sign = 2.0 * _unpack_rows(np.asarray(low_codes), 1, n_low).astype(np.float64) - 1.0
    ls = _expand_groups(np.asarray(low_scale).astype(np.float64), s, group_size)
    return np.concatenate([high, sign * ls], axis=-1)


def vidkv_slot_matrix(d: int, n_high: int) -> np.ndarray:
    """The ``[D, D]`` float64 map of a VidKV key from its slots to its
    slot-ordered channels: row `j` is what slot `j` adds to each position
    (the identity on the high slots, `vidkv_inverse_halfcomplex` of each
    unit spectrum on the low ones)."""
    n = d - n_high
    m = np.zeros((d, d))
    m[:n_high, :n_high] = np.eye(n_high)
    m[n_high:, n_high:] = vidkv_inverse_halfcomplex(np.eye(n))
    return m


def vidkv_project_query(q, channels, n_high: int) -> np.ndarray:
    """Queries in the slot coordinates of VidKV keys (float64, the shape of
    `q`): ``result[b, h, s, j] = sum_c q[b, h, s, c] * M[j, channels[b, hk,
    c]]`` with M = `vidkv_slot_matrix` and ``hk = h // (H // Hk)``, so that
    ``q . vidkv_decode_key(..) = result . vidkv_decode_key_slots(..)``. A
    channel whose slot is outside ``[0, D)`` contributes nothing
    (`kvq.vidkv_project_query`)."""
    q = np.asarray(q).astype(np.float64)
    channels = np.asarray(channels).astype(np.int64)
    d = q.shape[-1]
    m = vidkv_slot_matrix(d, n_high)
    ch = np.repeat(channels, q.shape[1] // channels.shape[1], axis=1)  # [B, H, D]
    valid = (ch >= 0) & (ch < d)
    a = m[:, np.clip(ch, 0, d - 1)]  # [D(j), B, H, D(c)]
    a = np.moveaxis(a, 0, 2) * valid[:, :, None, :]  # [B, H, j, c]
    return np.einsum("bhsc,bhjc->bhsj", q, a)


def pack_ternary(trits) -> np.ndarray:
    """Packs ternary values {-1, 0, 1} along the last axis, 5 per byte:
    digit ``t + 1`` of element ``i`` weighs ``3^(i % 5)`` in byte ``i // 5``
    (least significant digit first); missing digits of the last byte are 0.
    Returns int8 ``[..., ceil(n / 5)]`` (byte values 0..242)."""
    t = np.asarray(trits).astype(np.int64)
    n = t.shape[-1]
    nb = _ceildiv(n, 5)
    digits = np.zeros(t.shape[:-1] + (nb * 5,), dtype=np.int64)
    digits[..., :n] = t + 1
    w = 3 ** np.arange(5, dtype=np.int64)
    packed = (digits.reshape(t.shape[:-1] + (nb, 5)) * w).sum(axis=-1)
    return packed.astype(np.uint8).view(np.int8)


def unpack_ternary(packed, count: int) -> np.ndarray:
    """Inverse of `pack_ternary`: `count` values in {-1, 0, 1} (int8)."""
    p = np.asarray(packed).view(np.uint8).astype(np.int64)
    w = 3 ** np.arange(5, dtype=np.int64)
    digits = (p[..., :, None] // w) % 3
    digits = digits.reshape(p.shape[:-1] + (p.shape[-1] * 5,))
    return (digits[..., :count] - 1).astype(np.int8)


def vidkv_encode_value(v, group_size: int = 32, scale_dtype: str = "f32"):
    """VidKV value encoding of ``v [B, H, S, D]`` (1.58-bit, per channel).

    For each channel and group of `group_size` tokens, ``m = mean |v|``
    (float64); ``t = 1`` if ``v > m / 2``, ``-1`` if ``v < -m / 2``, else 0.
    Returns ``(codes, scale)``: ``codes = pack_ternary(t)`` along the
    channels (int8 ``[B, H, S, ceil(D / 5)]``), ``scale = m`` rounded to
    `scale_dtype` (``[B, H, ceil(S / group_size), D]``)."""
    v = np.asarray(v).astype(_F32).astype(np.float64)
    s = v.shape[2]
    m = _group_mean(np.abs(v), group_size)
    thr = _expand_groups(0.5 * m, s, group_size)
    t = np.where(v > thr, 1, np.where(v < -thr, -1, 0))
    scale = round_to_scale_dtype(m.astype(_F32), scale_dtype).astype(SCALE_DTYPES[scale_dtype])
    return pack_ternary(t), scale


def vidkv_decode_value(codes, scale, group_size: int = 32) -> np.ndarray:
    """Inverse of `vidkv_encode_value`: ``t * scale`` (float64)."""
    scale = np.asarray(scale).astype(np.float64)
    d = scale.shape[-1]
    s = np.asarray(codes).shape[2]
    t = unpack_ternary(codes, d).astype(np.float64)
    return t * _expand_groups(scale, s, group_size)


def vidkv_bits_per_value(d: int, ratio: float = 0.5, group_size: int = 32,
                         scale_bits: int = 16):
    """``(key, value)`` bits per cached value of VidKV: codes (2 bits per
    high channel, 1 per low one; 8/5 per ternary value, packed per token
    row) plus side data (scale and minimum per high channel, scale per
    spectral component / value channel, each per group of `group_size`
    tokens). The channel slots (per head, not per token) are not counted."""
    n_high = vidkv_num_high(d, ratio)
    n_low = d - n_high
    key = (8 * (_ceildiv(n_high, 4) + _ceildiv(n_low, 8))
           + scale_bits * (2 * n_high + n_low) / group_size) / d
    value = (8 * _ceildiv(d, 5) + scale_bits * d / group_size) / d
    return key, value


__all__ += [
    "vidkv_num_high",
    "vidkv_channel_slots",
    "vidkv_halfcomplex",
    "vidkv_inverse_halfcomplex",
    "vidkv_high_scheme",
    "vidkv_encode_key",
    "vidkv_decode_key",
    "vidkv_decode_key_slots",
    "vidkv_slot_matrix",
    "vidkv_project_query",
    "pack_ternary",
    "unpack_ternary",
    "vidkv_encode_value",
    "vidkv_decode_value",
    "vidkv_bits_per_value",
]


# ---------------------------------------------------------------------------
# PolarQuant (recursive polar transform, per-level Lloyd-Max angle codebooks)
# ---------------------------------------------------------------------------

#: Grid of the numerical integration behind the codebooks: this many
#: intervals over the angle's range.
POLAR_GRID = 1 << 16
#: Lloyd-Max stops when no centroid moves more than this (radians) ...
POLAR_TOL = 1e-12
#: ... or after this many iterations.
POLAR_MAX_ITERATIONS = 10000


def polar_interval(level: int) -> Tuple[float, float]:
    """The range of the level-`level` angles: ``[0, 2 pi)`` at level 1
    (atan2 of a coordinate pair), ``[0, pi / 2]`` above (atan of a ratio of
    two radii)."""
    if level < 1:
        raise ValueError(f"levels count from 1, got {level}")
    return (0.0, 2.0 * math.pi) if level == 1 else (0.0, 0.5 * math.pi)


def polar_density(level: int, psi, normalized: bool = True) -> np.ndarray:
    """The density of the level-`level` angle of a Gaussian vector (any
    vector after a random rotation): uniform on ``[0, 2 pi)`` at level 1,
    proportional to ``sin^(n-1)(2 psi)`` on ``[0, pi / 2]`` with
    ``n = 2^(level-1)`` above (the angle between the norms of two
    independent chi(n) variables).  Normalized: ``int sin^(n-1)(2 psi)
    dpsi = (sqrt(pi) / 2) Gamma(n / 2) / Gamma((n + 1) / 2)``."""
    psi = np.asarray(psi, dtype=np.float64)
    lo, hi = polar_interval(level)
    if level == 1:
        f = np.ones_like(psi)
        z = hi - lo
    else:
        n = 1 << (level - 1)
        f = np.sin(2.0 * psi) ** (n - 1)
        z = 0.5 * math.sqrt(math.pi) * math.exp(math.lgamma(n / 2) - math.lgamma((n + 1) / 2))
    f = np.where((psi >= lo) & (psi <= hi), f, 0.0)
    return f / z if normalized else f


def lloyd_max(density, lo: float, hi: float, bits: int, grid: int = POLAR_GRID,
              tol: float = POLAR_TOL, max_iterations: int = POLAR_MAX_ITERATIONS) -> np.ndarray:
    """The ``2^bits`` Lloyd-Max centroids (sorted, fp64) of the density
    ``density(x)`` (unnormalized, vectorized) on ``[lo, hi]``.

    Deterministic, and mirrored operation for operation by the C++ of
    lib/Dialect/KVQ/Utils/Polar.cpp:

    * the density is sampled at ``grid + 1`` equispaced nodes; the
      cumulative mass ``F`` and first moment ``M`` at each node are running
      trapezoid sums (in node order); between nodes they are interpolated
      linearly (a piecewise constant density);
    * the initial centroids are the quantiles ``F^-1((k + 1/2) / 2^bits)``
      (so no cell starts empty, even for the peaked densities of high
      levels);
    * an iteration sets the cell boundaries at the midpoints of
      neighbouring centroids (``lo`` and ``hi`` at the ends) and every
      centroid to the conditional mean of its cell, ``(M(t_k+1) - M(t_k)) /
      (F(t_k+1) - F(t_k))``, until no centroid moves by more than `tol` or
      after `max_iterations`."""
    h = (hi - lo) / grid
    x = lo + h * np.arange(grid + 1, dtype=np.float64)
    f = np.asarray(density(x), dtype=np.float64)
    cum_f = np.concatenate([[0.0], np.cumsum(0.5 * h * (f[:-1] + f[1:]))])
    xf = x * f
    cum_m = np.concatenate([[0.0], np.cumsum(0.5 * h * (xf[:-1] + xf[1:]))])

    def at(cum, t):
        u = (t - lo) / h
        j = np.clip(np.floor(u), 0, grid - 1).astype(np.int64)
        return cum[j] + (u - j) * (cum[j + 1] - cum[j])

    k = 1 << bits
    # Quantiles: the first node j + 1 with cum_f[j + 1] >= p, interpolated
    # in [x_j, x_j+1].
    p = (np.arange(k) + 0.5) / k * cum_f[-1]
    j = np.searchsorted(cum_f, p, side="left") - 1
    c = x[j] + h * (p - cum_f[j]) / (cum_f[j + 1] - cum_f[j])
    for _ in range(max_iterations):
        t = np.concatenate([[lo], 0.5 * (c[:-1] + c[1:]), [hi]])
        ft, mt = at(cum_f, t), at(cum_m, t)
        new = (mt[1:] - mt[:-1]) / (ft[1:] - ft[:-1])
        moved = float(np.abs(new - c).max())
        c = new
        if moved <= tol:
            break
    return c


_POLAR_CODEBOOKS = {}


def polar_codebook(level: int, bits: int) -> np.ndarray:
    """The Lloyd-Max codebook (``2^bits`` sorted fp64 centroids) of the
    level-`level` angle density, as kvq computes it at compile time."""
    if bits not in (1, 2, 4):
        raise ValueError(f"PolarQuant codes have 1, 2 or 4 bits, got {bits}")
    key = (level, bits)
    if key not in _POLAR_CODEBOOKS:
        lo, hi = polar_interval(level)
        _POLAR_CODEBOOKS[key] = lloyd_max(
            lambda x: polar_density(level, x, normalized=False), lo, hi, bits)
    return _POLAR_CODEBOOKS[key].copy()


def _check_polar(d: int, levels: int, bits: Sequence[int]):
    if levels < 1:
        raise ValueError(f"levels must be >= 1, got {levels}")
    if len(bits) != levels:
        raise ValueError(f"{len(bits)} bit widths for {levels} levels")
    if d % (1 << levels):
        raise ValueError(f"the head dim {d} is not a multiple of 2^levels = {1 << levels}")


def polar_angles(x, levels: int = 4):
    """The recursive polar transform of `x` ``[..., D]`` in fp64, on blocks
    of ``2^levels`` channels: returns ``(angles, radius)`` with
    ``angles[l - 1]`` ``[..., D / 2^l]`` the level-l angles and `radius`
    ``[..., D / 2^levels]`` the norm of each block.

    Level 1 pairs channels ``(2j, 2j + 1)``: angle ``atan2(x_2j+1, x_2j)``
    mapped to ``[0, 2 pi)`` (``+ 2 pi`` when negative), radius
    ``sqrt(x_2j^2 + x_2j+1^2)``.  Level l >= 2 pairs the radii of level
    l - 1 the same way: angle ``atan2(r_2j+1, r_2j)`` in ``[0, pi / 2]``.
    Angle j of level l belongs to block ``j / 2^(levels - l)``."""
    x = np.asarray(x, dtype=np.float64)
    _check_polar(x.shape[-1], levels, [0] * levels)
    angles = []
    r = x
    for level in range(1, levels + 1):
        a, b = r[..., 0::2], r[..., 1::2]
        psi = np.arctan2(b, a)
        if level == 1:
            psi = np.where(psi < 0, psi + 2.0 * math.pi, psi)
        angles.append(psi)
        r = np.sqrt(a * a + b * b)
    return angles, r


def _pack_rows(codes, bits: int) -> np.ndarray:
    """`pack` applied to every row (last dim) of `codes`: ``[..., n]`` ->
    ``[..., ceil(n * bits / 8)]`` uint8, unused high bits of a row's last
    byte zero."""
    codes = np.asarray(codes)
    per = 8 // bits
    n = codes.shape[-1]
    padded = _ceildiv(n, per) * per
    full = np.zeros(codes.shape[:-1] + (padded,), dtype=np.int64)
    full[..., :n] = codes
    return pack(full, bits).reshape(codes.shape[:-1] + (padded // per,))


def _unpack_rows(packed, bits: int, count: int) -> np.ndarray:
    packed = np.asarray(packed).astype(np.uint8)
    rows = packed.reshape(-1, packed.shape[-1])
    out = np.stack([unpack(row, bits, count, signed=False) for row in rows]) if rows.size \
        else np.zeros((rows.shape[0], count), dtype=np.uint8)
    return out.reshape(packed.shape[:-1] + (count,)).astype(np.int64)


def polar_quantize_angles(angles, level: int, bits: int) -> np.ndarray:
    """The index of the nearest centroid of each angle (int64): the number
    of cell boundaries (midpoints of neighbouring centroids) strictly below
    it, so an angle exactly on a boundary takes the lower centroid."""
    c = polar_codebook(level, bits)
    boundaries = 0.5 * (c[:-1] + c[1:])
    return np.searchsorted(boundaries, np.asarray(angles, dtype=np.float64), side="left")


def polar_encode(x, levels: int = 4, bits: Sequence[int] = (4, 2, 2, 2),
                 radius_dtype=np.float16):
    """PolarQuant encoding of `x` ``[..., D]`` (D a multiple of
    ``2^levels``; rotate first: the codebooks assume the angle densities
    of a Gaussian vector): returns ``(radius, codes)`` with `radius`
    ``[..., D / 2^levels]`` in `radius_dtype` (rounded from fp64 to
    float32, then to `radius_dtype`, as kvq does) and
    ``codes[l - 1]`` the level-l codes packed LSB first into bytes
    ``[..., ceil((D / 2^l) * bits[l-1] / 8)]`` (uint8; `pack` of every
    row), the layout of kvq.polar_encode."""
    x = np.asarray(x, dtype=np.float64)
    bits = list(bits)
    _check_polar(x.shape[-1], levels, bits)
    angles, radius = polar_angles(x, levels)
    codes = [_pack_rows(polar_quantize_angles(a, level, b), b)
             for level, (a, b) in enumerate(zip(angles, bits), start=1)]
    radius_dtype = np.dtype(radius_dtype)
    if radius_dtype != np.float64:
        radius = radius.astype(np.float32)
    return radius.astype(radius_dtype), codes


def polar_decode(radius, codes, levels: int = 4, bits: Sequence[int] = (4, 2, 2, 2)) -> np.ndarray:
    """Inverse of `polar_encode` (fp64): top down, a radius r with angle
    psi at level l has the children ``(r cos psi, r sin psi)`` at level
    l - 1; level-1 children are the channels."""
    r = np.asarray(radius).astype(np.float64)
    bits = list(bits)
    _check_polar(r.shape[-1] << levels, levels, bits)
    for level in range(levels, 0, -1):
        n = r.shape[-1] * 2
        idx = _unpack_rows(codes[level - 1], bits[level - 1], n // 2)
        psi = polar_codebook(level, bits[level - 1])[idx]
        out = np.empty(r.shape[:-1] + (n,), dtype=np.float64)
        out[..., 0::2] = r * np.cos(psi)
        out[..., 1::2] = r * np.sin(psi)
        r = out
    return r


def polar_bits_per_value(d: int, levels: int = 4, bits: Sequence[int] = (4, 2, 2, 2),
                         radius_bits: int = 16) -> float:
    """Stored bits per cached value: the packed code bytes of every level
    plus one radius per block of ``2^levels`` channels."""
    _check_polar(d, levels, list(bits))
    total = radius_bits * (d >> levels)
    for level, b in enumerate(bits, start=1):
        total += 8 * _ceildiv((d >> level) * b, 8)
    return total / d
