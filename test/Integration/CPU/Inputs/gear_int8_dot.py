"""GEAR's keys with int8 dot-product scores (schedule int8_dot) on the host
CPU, on fresh random inputs, against two fp64 references:

* the model of the kernel: kvq-fuse leaves GEAR's keys as KIVI's codes
  (through a kvq.gear_decode of rank 0 that keeps the outliers) next to
  the low-rank coordinates a, and gives the query the channels q b^T. The
  scores of the KIVI codes are int8 dot products, modelled as in
  Inputs/int8_dot_groups.py (the query times the softmax scale, folded
  with each token group's key scales and quantized per 32 channels); the
  coordinates and the outliers add in f32: the scaled q b^T dotted with a,
  and for each outlier inside the head value * q[channel] (repeated
  channels add up; a negative index or one past the head adds nothing).
  In fp64, to f32 rounding (2e-5);
* exact attention over GEAR's decoded keys, within the bound of the KIVI
  scores' quantization: (exp(2 d) - 1) * max |v| (d the largest score
  error of the row).

Cases: GEAR over KIVI 4 bit (groups of 32 tokens, rank 4 in f16, 3
outliers) and 2 bit (groups of 16, rank 8 in f32, 1 outlier) keys, head
dims 128, a ragged 72 and 64, GQA, batch 2, plain values and GEAR values,
a short causal prefill (3 query tokens), lengths from 1 key to several
blocks and partitions. Run with
--options="--int8-dot=1" (and the portable lowering, an explicit partition
count).
"""

import numpy as np

import kvq_testing as kt
from kvq import reference as ref

from int8_dot import report_within_bound
from int8_dot_groups import model_scores_int, softmax_attention

KIVI_V = "#kvq.quant<i4, asymmetric, group(axis = 3, size = 32), scale = f16>"
# name, key bits, token group, head dim, (B, Hq, Hkv, Sq), rank, factors'
# type, outliers per token, GEAR values, causal
CASES = [
    ("gear4", 4, 32, 128, (2, 8, 2, 1), 4, "f16", 3, False, False),
    ("gear2_d72", 2, 16, 72, (1, 6, 3, 1), 8, "f32", 1, True, False),
    ("gear4_causal", 4, 16, 64, (1, 4, 2, 3), 4, "f16", 2, False, True),
]


def key_scheme(bits, size):
    return f"#kvq.quant<i{bits}, asymmetric, group(axis = 2, size = {size}), scale = f16>"


def gear_operand(tag, scheme, kv, b, h, d, rank, ftype, count):
    """Arguments and body of a GEAR-compressed [b, h, ?, d] operand."""
    n = f"{b}x{h}x?"
    codes = f"tensor<{n}x{d}xi{scheme.split('<i')[1].split(',')[0]}>"
    if "axis = 2" in scheme:
        side = f"tensor<{n}x{d}xf16>"
    else:
        side = f"tensor<{n}x{-(-d // 32)}xf16>"
    a = f"tensor<{n}x{rank}x{ftype}>"
    fb = f"tensor<{b}x{h}x{rank}x{d}x{ftype}>"
    idx = f"tensor<{n}x{count}xi32>"
    val = f"tensor<{n}x{count}xf16>"
    args = (f"%{tag}c: {codes}, %{tag}s: {side}, %{tag}z: {side}, %{tag}a: {a}, "
            f"%{tag}b: {fb}, %{tag}i: {idx}, %{tag}o: {val}")
    body = f"""
  %{tag}d = kvq.dequantize {scheme} %{tag}c, %{tag}s, %{tag}z : {codes}, {side}, {side} -> {kv}
  %{tag} = kvq.gear_decode %{tag}d, %{tag}a, %{tag}b, %{tag}i, %{tag}o : {kv}, {a}, {fb}, {idx}, {val} -> {kv}"""
    return args, body


def module(name, bits, size, d, shape, rank, ftype, count, gear_values, causal):
    b, hq, hkv, sq = shape
    q = f"tensor<{b}x{hq}x{sq}x{d}xf32>"
    kv = f"tensor<{b}x{hkv}x?x{d}xf32>"
    kargs, kbody = gear_operand("k", key_scheme(bits, size), kv, b, hkv, d, rank, ftype,
                                count)
    if gear_values:
        vargs, vbody = gear_operand("v", KIVI_V, kv, b, hkv, d, rank, ftype, count)
    else:
        vargs, vbody = f"%v: {kv}", ""
    return f"""
func.func @{name}(%q: {q}, {kargs}, {vargs}) -> {q} {{{kbody}{vbody}
  %o = kvq.attention q(%q : {q}) k(%k : {kv}) v(%v : {kv}){" {causal}" if causal else ""} -> {q}
  return %o : {q}
}}
"""


def gear_inputs(rng, scheme, b, h, length, d, rank, ftype, count):
    """A GEAR-compressed operand's arguments, its decoding (fp64, the
    outliers outside the head left out) and the KIVI part's codes, scales
    and zero points."""
    s = ref.QuantScheme.parse(scheme)
    x = rng.standard_normal((b, h, length, d)).astype(np.float32)
    x *= rng.uniform(0.1, 4.0, (1, h, 1, d)).astype(np.float32)
    codes, scale, zero = ref.quantize(x, s)
    scale, zero = scale.astype(np.float16), zero.astype(np.float16)
    dtype = {"f16": np.float16, "f32": np.float32}[ftype]
    a = rng.standard_normal((b, h, length, rank)).astype(dtype)
    fb = (0.3 * rng.standard_normal((b, h, rank, d))).astype(dtype)
    idx = rng.integers(0, d, (b, h, length, count))
    if count > 1:  # repeated channels add up
        idx[..., 1] = np.where(rng.random(idx.shape[:3]) < 0.3, idx[..., 0], idx[..., 1])
    bad = rng.choice(np.array([-1, d, d + 3, 1 << 20, -(1 << 31)], np.int64), idx.shape)
    idx = np.where(rng.random(idx.shape) < 0.3, bad, idx).astype(np.int32)
    vals = (8 * rng.standard_normal(idx.shape)).astype(np.float16)
    inside = (idx >= 0) & (idx < d)
    deq = ref.dequantize(codes, scale, zero, s)
    dense = ref.gear_decode(deq, a, fb, np.where(inside, idx, 0),
                            np.where(inside, vals.astype(np.float64), 0.0))
    packed = ref.pack(codes, s.bits).reshape(codes.shape[:-1] + (-1,))
    args = [packed, scale, zero, a, fb, idx, vals]
    return args, dense, (codes, scale, zero, a, fb, idx, vals, inside)


def main():
    opts = kt.parse(__doc__)
    rng = kt.rng()
    for name, bits, size, d, (b, hq, hkv, sq), rank, ftype, count, gear_values, causal in CASES:
        text = module(name, bits, size, d, (b, hq, hkv, sq), rank, ftype, count, gear_values,
                      causal)
        mod = kt.library(opts, text, f"gear_int8_dot_{name}")
        if mod is None:
            continue
        scheme = key_scheme(bits, size)
        s = ref.QuantScheme.parse(scheme)
        group = hq // hkv
        for length in (1, 20, 37, 300, 1000):
            if length < sq:
                continue
            q = rng.standard_normal((b, hq, sq, d)).astype(np.float32)
            kargs, kdense, (codes, kscale, kzero, a, fb, idx, vals, inside) = gear_inputs(
                rng, scheme, b, hkv, length, d, rank, ftype, count)
            if gear_values:
                vargs, v, _ = gear_inputs(rng, KIVI_V, b, hkv, length, d, rank, ftype, count)
            else:
                v = rng.standard_normal((b, hkv, length, d)).astype(np.float32)
                vargs = [v]
            got = np.asarray(getattr(mod, name)(q, *kargs, *vargs), np.float64)
            softmax_scale = 1.0 / np.sqrt(d)
            h = 2 ** (bits - 1)
            scores, bound = model_scores_int(q, codes.astype(np.int64) - h, kscale, kzero, h,
                                             size, softmax_scale)
            # The f32 terms: the low-rank coordinates and the outliers.
            qs = q.astype(np.float64) * softmax_scale
            fb_rows = np.repeat(fb.astype(np.float64), group, axis=1)  # [B, Hq, r, D]
            a_rows = np.repeat(a.astype(np.float64), group, axis=1)  # [B, Hq, L, r]
            scores += np.einsum("bhqd,bhrd,bhkr->bhqk", qs, fb_rows, a_rows)
            at = np.repeat(np.where(inside, idx, 0), group, axis=1)  # [B, Hq, L, n]
            w = np.repeat(np.where(inside, vals.astype(np.float64), 0.0), group, axis=1)
            for r in range(sq):
                qk = np.take_along_axis(qs[:, :, r, None, :], at, axis=-1)  # [B, Hq, L, n]
                scores[:, :, r] += (qk * w).sum(-1)
            model = softmax_attention(scores, np.asarray(v, np.float64), causal)
            kt.check(f"{name} L={length}: vs the model (int8 KIVI scores, f32 rank and "
                     f"outliers)", got, model, 2e-5)
            exact = ref.attention(q.astype(np.float64), kdense, np.asarray(v, np.float64),
                                  causal=causal)
            delta = bound.max(-1, keepdims=True)
            limit = (np.exp(2 * delta) - 1) * np.abs(v).max()
            report_within_bound(f"{name} L={length}", got, exact, limit)
    kt.finish()


if __name__ == "__main__":
    main()
