"""Int8 dot-product scores (schedule int8_dot) over keys whose scales are
shared by a group of tokens and vary along the channels (KIVI's keys: a
scale and, when asymmetric, a zero point per channel and group of G
tokens), on fresh random inputs, against two fp64 references:

* the model of the kernel's query quantization: per token group g, the
  query times the softmax scale in f32, times the group's key scales
  (f32 product), quantized per 32 channels as for the other keys
  (Inputs/int8_dot.py: scale max|x| / 127, codes round-to-even of
  x * (127 / max|x|) in f32); the scores of the group's keys are then, in
  fp64, that query dotted with the keys' codes, centred for asymmetric
  keys (u - h, h = 2^(bits-1)), plus the scaled query dotted with the
  group's z + h * s (zero points and scales). The integer dot products are
  exact, so the kernel must match this model to f32 rounding (tolerance
  2e-5);
* exact attention over the unquantized query, within the bound
  sum_c (step_c / 2) * |c_c| per score (c_c the centred or signed code,
  step_c the query step of channel c in the key's group), which bounds
  each output's error by (exp(2 d) - 1) * max |v| (d the largest score
  error of the row).

Cases: asymmetric int4 and int2 keys (KIVI), a symmetric int4 and an
asymmetric int8 one, groups of 32, 16 and 64 tokens, head dims 128 and a
ragged 72, GQA, batch 2, lengths from 1 key to several partitions and
groups cut short, a short causal prefill and an f16 query. Run with
--options="--int8-dot=1" (and the portable lowering, other register files,
an explicit partition count whose partitions may be empty). Without
--int8-dot=1 the same cases check the f32 scores, which fold the key scales
into the query per token group the same way (no quantization): against
exact attention over the dequantized keys, to f32 rounding (2e-5).
"""

import numpy as np

import kvq_testing as kt
from kvq import reference as ref
from kvq.builder import attention_module

# The model of the query's quantization, shared with the other keys' test.
from int8_dot import quantized_query, report_within_bound

# name, K scheme, head dim, (B, Hq, Hkv, Sq), causal, query dtype
CASES = [
    ("kivi4", "#kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>",
     128, (2, 8, 2, 1), False, "f32"),
    ("kivi2_d72", "#kvq.quant<i2, asymmetric, group(axis = 2, size = 16), scale = f16>",
     72, (1, 6, 3, 1), False, "f32"),
    ("sym4_g64", "#kvq.quant<i4, symmetric, group(axis = 2, size = 64), scale = f32>",
     128, (2, 4, 1, 1), False, "f16"),
    ("asym8", "#kvq.quant<i8, asymmetric, group(axis = 2, size = 32), scale = f16>",
     128, (1, 8, 2, 1), False, "f32"),
    ("kivi4_causal", "#kvq.quant<i4, asymmetric, group(axis = 2, size = 16), scale = f16>",
     64, (1, 4, 2, 3), True, "f32"),
]


def softmax_attention(scores, v, causal):
    b, hq, sq, length = scores.shape
    if causal:
        row = np.arange(sq)[:, None] + (length - sq)
        scores = np.where(np.arange(length)[None, :] > row, -np.inf, scores)
    p = np.exp(scores - scores.max(-1, keepdims=True))
    group = hq // v.shape[1]
    vv = np.repeat(v.astype(np.float64), group, axis=1)
    return np.einsum("bhqk,bhkd->bhqd", p, vv) / p.sum(-1, keepdims=True)


def main():
    opts = kt.parse(__doc__)
    rng = kt.rng()
    for name, scheme, d, (b, hq, hkv, sq), causal, qdtype in CASES:
        text = attention_module(name, [b, hq, sq, d], [b, hkv, -1, d], dtype=qdtype,
                                kv_dtype="f32", key_scheme=scheme, causal=causal)
        mod = kt.library(opts, text, f"int8_dot_groups_{name}")
        if mod is None:
            continue
        s = ref.QuantScheme.parse(scheme)
        size = int(scheme.split("size = ")[1].split(")")[0])
        for length in (1, 20, 37, 300, 1000):
            if length < sq:
                continue
            q = rng.standard_normal((b, hq, sq, d)).astype(np.float32)
            if qdtype == "f16":
                q = q.astype(np.float16)
            k = rng.standard_normal((b, hkv, length, d)).astype(np.float32)
            # KIVI's case: channels of very different ranges.
            k *= rng.uniform(0.1, 4.0, (1, hkv, 1, d)).astype(np.float32)
            v = rng.standard_normal((b, hkv, length, d)).astype(np.float32)
            codes, kscale, kzero = ref.quantize(k, s)
            kd = ref.dequantize(codes, kscale, kzero, s).astype(np.float64)
            packed = codes
            if s.bits < 8:
                packed = ref.pack(codes, s.bits).reshape(codes.shape[:-1] + (-1,))
            side = [kscale] + ([kzero] if kzero is not None else [])
            got = np.asarray(getattr(mod, name)(q, packed, *side, v), np.float64)
            tol = 2e-5 if qdtype == "f32" else 1e-3  # f16 queries give f16 outputs
            exact = ref.attention(q.astype(np.float64), kd, v, causal=causal)
            if "--int8-dot=1" not in opts.options:
                kt.check(f"{name} L={length}: f32 scores vs exact", got, exact, tol)
                continue
            softmax_scale = 1.0 / np.sqrt(d)
            # The codes as the dot products take them: signed, or unsigned
            # and centred (the zero points then take h * s).
            ints = codes.astype(np.int64)
            h = 0 if s.symmetric else 2 ** (s.bits - 1)
            scores, bound = model_scores_int(q, ints - h, kscale, kzero, h, size,
                                             softmax_scale)
            model = softmax_attention(scores, v, causal)
            kt.check(f"{name} L={length}: vs the quantized-query model", got, model, tol)
            delta = bound.max(-1, keepdims=True)
            limit = (np.exp(2 * delta) - 1) * np.abs(v).max()
            report_within_bound(f"{name} L={length}", got, exact, limit)
    kt.finish()


def model_scores_int(q, ints, kscale, kzero, h, size, softmax_scale):
    """[B, Hq, Sq, L] scores of the kernel's model (integer codes `ints`,
    centred by `h`; groups of `size` tokens) and each score's error bound."""
    b, hq, sq, d = q.shape
    hkv, length = ints.shape[1], ints.shape[2]
    group = hq // hkv
    qs = q.astype(np.float32) * np.float32(softmax_scale)
    scores = np.empty((b, hq, sq, length))
    bound = np.empty_like(scores)
    for g in range(kscale.shape[2]):
        lo, hi = g * size, min((g + 1) * size, length)
        sg = np.repeat(kscale[:, :, g, :].astype(np.float32), group, axis=1)[:, :, None, :]
        qd, step = quantized_query(qs * sg, 1.0)
        u = np.repeat(ints[:, :, lo:hi, :].astype(np.float64), group, axis=1)
        scores[..., lo:hi] = np.einsum("bhqd,bhkd->bhqk", qd, u)
        if kzero is not None:
            zg = kzero[:, :, g, :].astype(np.float64) + h * kscale[:, :, g, :].astype(np.float64)
            zg = np.repeat(zg, group, axis=1)[:, :, None, :]
            scores[..., lo:hi] += (qs.astype(np.float64) * zg).sum(-1, keepdims=True)
        bound[..., lo:hi] = np.einsum("bhqd,bhkd->bhqk", step / 2, np.abs(u))
    return scores, bound


if __name__ == "__main__":
    main()
