"""VidKV attention with int8 dot products (schedules int8_dot and int8_pv)
on the host CPU, on fresh random inputs, against two fp64 references:

* the model of the kernel: kvq-fuse leaves VidKV's keys in slot
  coordinates (kvq.vidkv_decode_key_slots over the dequantized 2-bit high
  channels, then one sign bit per spectral slot) and gives the query the
  inverse DFT and the channel permutation (kvq.vidkv_project_query). With
  --int8-dot=1 the high slots' scores are int8 dot products, modelled as
  in Inputs/int8_dot_groups.py (the projected query times the softmax
  scale, folded with each token group's scales and quantized per 32
  channels); so are the spectral slots': `x = 2 * q * scale` per slot,
  quantized per 32 slots and token group, dotted with the sign bits, minus
  `sum x / 2`.
  With --int8-pv=1 and one query token, P V quantizes the probabilities
  per row and block of keys (block-kv keys from each partition's start,
  partitions at multiples of 16 keys) to u = round-to-even(p * 255 /
  max p), and the output is sum u * (max p / 255) * v over the sum of the
  unrounded p, v the decoded ternary values: the kernel's integer sums of
  u * t are exact and the scales apply per channel and token group. In
  fp64, to f32 rounding (2e-5 of the largest output), plus one step for
  each weight within 1e-3 of a rounding tie (as Inputs/int8_pv.py);
* exact attention over the decoded keys and values, within the bound of
  both quantizations: (exp(2 d) - 1) * max |v| for the scores (d the
  largest score error of the row) plus sum (max p / 510) |v| / sum p.

Cases: head dims 128 (64 high slots, groups of 32 tokens, f16 side data,
three partitions) and a ragged 72 (36 high slots: 9 code bytes, 36 sign
bits, 15 value bytes; groups of 16, f32 side data), GQA, batch 2; a causal
prefill of 3 query tokens (D 64, whose P V stays in f32); lengths from 1
key to several blocks and partitions. Run with the schedules in
--options (both, either, the portable lowering, AVX2's register file).
"""

import copy
import re

import numpy as np

import kvq_testing as kt
from kvq import reference as ref

from int8_dot import report_within_bound
from int8_dot_groups import model_scores_int

# name, head dim, (B, Hq, Hkv, Sq), token group, side data type,
# partitions, causal
CASES = [
    ("vid128", 128, (2, 8, 2, 1), 32, "f16", 3, False),
    ("vid72", 72, (2, 6, 3, 1), 16, "f32", 1, False),
    ("vid64_causal", 64, (1, 4, 2, 3), 32, "f32", 1, True),
]


def module(name, d, shape, group, side, causal):
    b, hq, hkv, sq = shape
    nh = ref.vidkv_num_high(d, 0.5)
    n = f"{b}x{hkv}x?"
    q = f"tensor<{b}x{hq}x{sq}x{d}xf32>"
    kv = f"tensor<{n}x{d}xf32>"
    key = (f"tensor<{n}x{-(-nh // 4)}xi8>, tensor<{n}x{nh}x{side}>, tensor<{n}x{nh}x{side}>, "
           f"tensor<{n}x{-(-(d - nh) // 8)}xi8>, tensor<{n}x{d - nh}x{side}>, "
           f"tensor<{b}x{hkv}x{d}xi32>")
    value = f"tensor<{n}x{-(-d // 5)}xi8>, tensor<{n}x{d}x{side}>"
    kt_, vt = key.split(", "), value.split(", ")
    args = ", ".join(f"%k{i}: {t}" for i, t in enumerate(kt_))
    args += ", " + ", ".join(f"%v{i}: {t}" for i, t in enumerate(vt))
    kn = ", ".join(f"%k{i}" for i in range(len(kt_)))
    vn = ", ".join(f"%v{i}" for i in range(len(vt)))
    return f"""
func.func @{name}(%q: {q}, {args}) -> {q} {{
  %k = kvq.vidkv_decode_key {kn} {{group_size = {group}}} : {key} -> {kv}
  %v = kvq.vidkv_decode_value {vn} {{group_size = {group}}} : {value} -> {kv}
  %o = kvq.attention q(%q : {q}) k(%k : {kv}) v(%v : {kv}){" {causal}" if causal else ""} -> {q}
  return %o : {q}
}}
func.func @{name}_project(%q: {q}, %ch: tensor<{b}x{hkv}x{d}xi32>) -> {q} {{
  %r = kvq.vidkv_project_query %q, %ch {{n_high = {nh}}} : {q}, tensor<{b}x{hkv}x{d}xi32> -> {q}
  return %r : {q}
}}
"""


def unpack_rows(packed, bits, count):
    """Codes of `bits` bits, LSB first along each row of bytes."""
    p = np.asarray(packed).view(np.uint8).astype(np.int64)
    per = 8 // bits
    shifts = np.arange(per) * bits
    codes = (p[..., None] >> shifts) & ((1 << bits) - 1)
    return codes.reshape(p.shape[:-1] + (-1,))[..., :count]


def blocks(length, partitions, block):
    """The kernel's key blocks: `block` keys from each partition's start
    (partitions of a multiple of 16 keys)."""
    split = -(-(-(-length // partitions)) // 16) * 16
    for s in range(partitions):
        lo, hi = min(s * split, length), min((s + 1) * split, length)
        for j in range(lo, hi, block):
            yield j, min(j + block, hi)


def pv_model(p, v, partitions, block):
    """The weight quantization model (see above): output, bound and
    near-ties, fp64. p [B, Hq, L] unnormalised, v [B, Hkv, L, D]."""
    b, hq, length = p.shape
    group = hq // v.shape[1]
    out = np.zeros((b, hq, v.shape[3]))
    bound, ties = np.zeros_like(out), np.zeros_like(out)
    for bi in range(b):
        for h in range(hq):
            vv = v[bi, h // group]
            for j0, j1 in blocks(length, partitions, block):
                w = p[bi, h, j0:j1]
                m = w.max()
                scaled = w * (255.0 / m) if m > 0 else np.zeros_like(w)
                u = np.rint(scaled)
                out[bi, h] += (u * (m / 255.0)) @ vv[j0:j1]
                bound[bi, h] += (m / 510.0) * np.abs(vv[j0:j1]).sum(0)
                tie = np.abs(scaled - np.floor(scaled) - 0.5) < 1e-3
                ties[bi, h] += (m / 255.0) * np.abs(vv[j0:j1][tie]).sum(0)
    total = p.sum(-1)[..., None]
    return out / total, bound / total, ties / total


def sign_scores(qlow, lc, ls, group, softmax_scale):
    """[B, Hq, Sq, L] scores of the spectral slots in the kernel's model and
    their error bound: per token group and row, x = 2 * q * scale (f32,
    the projected query times the softmax scale) quantized per 32 slots
    (step max |x| / 127, round to even), dotted with the bits, minus
    sum x / 2 (exact)."""
    b, hq, sq, n = qlow.shape
    hkv, length = lc.shape[1], lc.shape[2]
    rows = hq // hkv
    bits = np.repeat(unpack_rows(lc, 1, n).astype(np.float64), rows, axis=1)  # [B,Hq,L,N]
    qs = qlow.astype(np.float32) * np.float32(softmax_scale)
    scores = np.empty((b, hq, sq, length))
    bound = np.empty_like(scores)
    for g in range(ls.shape[2]):
        lo, hi = g * group, min((g + 1) * group, length)
        s = np.repeat(ls[:, :, g, :].astype(np.float32), rows, axis=1)[:, :, None, :]
        prod = qs * s  # f32, [B, Hq, Sq, N]
        x = prod + prod
        codes, steps = np.zeros(x.shape), np.zeros(x.shape)
        for w0 in range(0, n, 32):
            part = x[..., w0:w0 + 32]
            m = np.abs(part).max(-1, keepdims=True)
            step = (m / np.float32(127)).astype(np.float32)
            with np.errstate(divide="ignore", invalid="ignore"):
                inv = np.where(m > 0, np.float32(127) / m, np.float32(0)).astype(np.float32)
            codes[..., w0:w0 + 32] = np.rint((part * inv).astype(np.float32))
            steps[..., w0:w0 + 32] = step
        dq = codes * steps
        bb = bits[:, :, lo:hi]
        scores[..., lo:hi] = (np.einsum("bhqn,bhkn->bhqk", dq, bb)
                              - prod.astype(np.float64).sum(-1)[..., None])
        bound[..., lo:hi] = np.einsum("bhqn,bhkn->bhqk", steps / 2, bb)
    return scores, bound


def main():
    opts = kt.parse(__doc__)
    rng = kt.rng()
    options = opts.options or ""
    int8_dot = re.search(r"--int8-dot=1\b", options) is not None
    int8_pv = re.search(r"--int8-pv=1\b", options) is not None
    # Blocks of block-kv keys (rounded up to whole vectors of 16).
    found = re.search(r"--block-kv=(\d+)", options)
    block = -(-int(found.group(1)) // 16) * 16 if found else 64
    for name, d, (b, hq, hkv, sq), group, side, partitions, causal in CASES:
        if "--split-kv=" in options:
            partitions = int(re.search(r"--split-kv=(\d+)", options).group(1))
        case_opts = copy.copy(opts)
        case_opts.options = f"{options} --split-kv={partitions}"
        mod = kt.library(case_opts, module(name, d, (b, hq, hkv, sq), group, side, causal),
                         f"vidkv_int8_{name}")
        if mod is None:
            continue
        nh = ref.vidkv_num_high(d, 0.5)
        ternary = int8_pv and sq == 1
        for length in (1, 20, 37, 300, 1000):
            if length < sq:
                continue
            q = rng.standard_normal((b, hq, sq, d)).astype(np.float32)
            k = rng.standard_normal((b, hkv, length, d)).astype(np.float32)
            k *= rng.uniform(0.2, 3.0, (b, hkv, 1, d)).astype(np.float32)
            v = rng.standard_normal((b, hkv, length, d)).astype(np.float32)
            ke = ref.vidkv_encode_key(k, 0.5, group, side)
            ve = ref.vidkv_encode_value(v, group, side)
            kd = ref.vidkv_decode_key(*ke, group_size=group)
            vd = ref.vidkv_decode_value(*ve, group_size=group)
            got = np.asarray(getattr(mod, name)(q, *ke, *ve), np.float64)

            # Scores in slot coordinates: the projected query (its high
            # slots are query channels, exact in f32) against the slots.
            hc, hs, hm, lc, ls, ch = ke
            qp = ref.vidkv_project_query(q, ch, nh)
            # The spectral slots' codes round the kernel's own f32 projection
            # (the same op, compiled on its own), not fp64's.
            qlow = np.asarray(getattr(mod, f"{name}_project")(q, ch))[..., nh:]
            softmax_scale = 1.0 / np.sqrt(d)
            rows = hq // hkv
            slots = ref.vidkv_decode_key_slots(
                ref.dequantize(unpack_rows(hc, 2, nh), hs, hm, ref.vidkv_high_scheme(group)),
                lc, ls, group)
            if int8_dot:
                scores, sbound = model_scores_int(qp[..., :nh].astype(np.float32),
                                                  unpack_rows(hc, 2, nh) - 2, hs, hm, 2,
                                                  group, softmax_scale)
                low, lbound = sign_scores(qlow, lc, ls, group, softmax_scale)
                scores += low
                delta = (sbound + lbound).max(-1, keepdims=True)
            else:
                scores = np.einsum("bhqd,bhkd->bhqk", qp * softmax_scale,
                                   np.repeat(slots, rows, axis=1))
                delta = np.zeros(scores.shape[:-1] + (1,))
            if causal:
                row = np.arange(sq)[:, None] + (length - sq)
                scores = np.where(np.arange(length)[None, :] > row, -np.inf, scores)
            p = np.exp(scores - scores.max(-1, keepdims=True))
            if ternary:
                want, pbound, ties = pv_model(p[:, :, 0], vd, partitions, block)
                want, pbound, ties = want[:, :, None], pbound[:, :, None], ties[:, :, None]
            else:
                want = np.einsum("bhqk,bhkd->bhqd", p, np.repeat(vd, rows, axis=1))
                want /= p.sum(-1, keepdims=True)
                pbound = ties = np.zeros_like(want)
            diff = np.abs(got - want)
            kt.report(f"{name} L={length}: vs the model",
                      bool((diff <= ties + 2e-5 * np.abs(want).max()).all()),
                      f"max error {diff.max() / np.abs(want).max():.1e} of the largest output "
                      f"({int((ties > 0).sum())} channels with near-ties)")
            exact = ref.attention(q.astype(np.float64), kd, vd, causal=causal)
            limit = (np.exp(2 * delta) - 1) * np.abs(vd).max() + pbound
            report_within_bound(f"{name} L={length}", got, exact, limit)
    kt.finish()


if __name__ == "__main__":
    main()
