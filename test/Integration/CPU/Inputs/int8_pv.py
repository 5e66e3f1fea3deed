"""Int8 P V (schedule int8_pv) on the host CPU, on fresh random inputs,
against two fp64 references:

* the model of the kernel's weight quantization: per query row, per block
  of keys (block-kv keys from the start of each key-range partition) and
  per V scale group, the weights w = p * s (p the row's probability, s the
  key's V scale) become codes u = round-to-even(w * 255 / max w), each
  weight u * max w / 255; the output is sum over keys of those weights
  times V's codes, over the sum of the unrounded p (asymmetric values:
  times the codes minus h = 2^(bits-1), plus the exact sum of
  p * (z + h * s) over the keys, z the zero point). The integer sums are
  exact, so the kernel matches this model to f32 rounding (5e-6 of the
  largest output; the quantization's own error is about 5e-3), plus one
  step for each code the model finds within 1e-3 of a tie, which the
  kernel may round the other way (its f32 scores move w * 255 / max w by
  up to a few 1e-4);
* exact attention over the same (dequantized) V, within the documented
  bound: each weight is off by at most half its block's step, so output
  channel c is off by at most sum_k (max_block w / 510) |code_k,c| / sum_k p_k
  (asymmetric values: |code_k,c - h|).

With int8 scores (quantized keys and --int8-dot=1) the probabilities p
both references take are those of the int8 scores' own model (the
quantized query's, Inputs/int8_dot.py and Inputs/int8_dot_groups.py), and
the bound against exact attention adds that model's: (exp(2 d) - 1) *
max |v| (d the largest score error of the row).

Cases: int8, int4 and int2 values (symmetric; group scales along the
channels or one per token), asymmetric int4 and int2 values (KIVI's:
scale and zero point per token and group of channels), head dims 128 and
a ragged 72, GQA, batch 2, ragged cache lengths (1 key, fewer keys than a
block, several blocks), one partition or three, f32 keys, int4 keys with
int8 scores and KIVI's keys (per channel and 32 tokens) with int8 scores. Run with
--options="--int8-pv=1" (VNNI where the CPU has it) and with
"--int8-pv=1 --vnni=0" (the portable lowering).
"""

import copy

import numpy as np

import kvq_testing as kt
from kvq import reference as ref
from kvq.builder import attention_module

# The int8 scores' models, shared with their own tests.
from int8_dot import quantized_query, score_error_bound
from int8_dot_groups import model_scores_int

BLOCK = 64

I4K = "#kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>"
KIVI4K = "#kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>"
KIVI4V = "#kvq.quant<i4, asymmetric, group(axis = 3, size = 32), scale = f16>"
KIVI2K = "#kvq.quant<i2, asymmetric, group(axis = 2, size = 32), scale = f16>"
# 2-bit values in groups of 32 channels: 8 code bytes, two groups per span
# of 16 bytes (each lane takes its own group's weights).
KIVI2V = "#kvq.quant<i2, asymmetric, group(axis = 3, size = 32), scale = f16>"
# name, V scheme, K scheme (None: f32), head dim, (B, Hq, Hkv), partitions,
# extra options
CASES = [
    ("v8_g32", "#kvq.quant<i8, symmetric, group(axis = 3, size = 32), scale = f16>",
     None, 128, (2, 8, 2), 1, ""),
    ("v4_g32", "#kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>",
     None, 128, (2, 8, 2), 3, ""),
    ("v4_token_d72", "#kvq.quant<i4, symmetric, token, scale = f32>",
     None, 72, (1, 6, 3), 1, ""),
    ("v2_g64", "#kvq.quant<i2, symmetric, group(axis = 3, size = 64), scale = f16>",
     None, 128, (1, 8, 2), 3, ""),
    ("v4_k4_dot", "#kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>",
     I4K, 128, (2, 8, 2), 1, "--int8-dot=1"),
    ("v4_kivi", KIVI4V, None, 128, (2, 8, 2), 3, ""),
    ("v4_kivi_d96", KIVI4V, None, 96, (1, 6, 3), 1, ""),
    ("v2_kivi_g64", "#kvq.quant<i2, asymmetric, group(axis = 3, size = 64), scale = f32>",
     None, 128, (1, 8, 2), 3, ""),
    ("v4_kivi_k_dot", KIVI4V, KIVI4K, 128, (2, 8, 2), 1, "--int8-dot=1"),
    ("v2_kivi_g32", KIVI2V, None, 128, (1, 8, 2), 3, ""),
    ("v2_kivi_k_dot", KIVI2V, KIVI2K, 128, (2, 8, 2), 1, "--int8-dot=1"),
    # int4 in groups of 16 (2 groups per span); int2 in groups of 16 (4
    # per span) at a ragged head dim of 80 (its last span partial).
    ("v4_g16", "#kvq.quant<i4, symmetric, group(axis = 3, size = 16), scale = f16>",
     None, 128, (2, 8, 2), 1, ""),
    ("v2_g16_d80", "#kvq.quant<i2, symmetric, group(axis = 3, size = 16), scale = f32>",
     None, 80, (1, 6, 3), 2, ""),
]


def blocks(length, partitions):
    """The kernel's key blocks: block-kv keys from each partition's start."""
    split = -(-length // partitions)
    for s in range(partitions):
        lo, hi = min(s * split, length), min((s + 1) * split, length)
        for j in range(lo, hi, BLOCK):
            yield j, min(j + BLOCK, hi)


def model(p, codes, vscale, vzero, s, partitions):
    """Output of the weight quantization model and the error bound, fp64.
    p: [B, Hq, L] probabilities (unnormalised), codes [B, Hkv, L, D] (the
    signed values, or the unsigned codes of asymmetric values), vscale the
    per-token scales [B, Hkv, L, G], vzero the zero points (or None)."""
    b, hq, length = p.shape
    hkv, d = codes.shape[1], codes.shape[3]
    group = hq // hkv
    size = d if s.granularity == "token" else s.size
    scale_c = np.repeat(vscale.astype(np.float64), size, axis=3)[..., :d]  # [B,Hkv,L,D]
    bias = 0 if vzero is None else 2 ** (s.bits - 1)
    codes = codes.astype(np.float64) - bias
    # Asymmetric values: sum_k p_k (z + h s), exact.
    shifted = 0.0 if vzero is None else (
        np.repeat(vzero.astype(np.float64), size, axis=3)[..., :d] + bias * scale_c)
    out = np.zeros((b, hq, d))
    bound = np.zeros((b, hq, d))
    ties = np.zeros((b, hq, d))
    for bi in range(b):
        for h in range(hq):
            sc = scale_c[bi, h // group]
            cd = codes[bi, h // group]
            sh = shifted[bi, h // group] if vzero is not None else None
            for j0, j1 in blocks(length, partitions):
                w = p[bi, h, j0:j1, None] * sc[j0:j1]  # [keys, D]
                m = w.max(0, keepdims=True)
                with np.errstate(invalid="ignore", divide="ignore"):
                    u = np.where(m > 0, np.rint(w * (255.0 / m)), 0.0)
                    frac = w * (255.0 / m) - np.floor(w * (255.0 / m))
                out[bi, h] += (u * (m / 255.0) * cd[j0:j1]).sum(0)
                if vzero is not None:
                    out[bi, h] += (p[bi, h, j0:j1, None] * sh[j0:j1]).sum(0)
                bound[bi, h] += (m / 510.0 * np.abs(cd[j0:j1])).sum(0)
                # Near-ties, which the kernel's f32 probabilities may round
                # the other way: one step each.
                tie = np.abs(frac - 0.5) < 1e-3
                ties[bi, h] += np.where(tie, m / 255.0 * np.abs(cd[j0:j1]), 0.0).sum(0)
    total = p.sum(-1, keepdims=True)
    return out / total, bound / total, ties / total


def main():
    opts = kt.parse(__doc__)
    rng = kt.rng()
    for name, vscheme, kscheme, d, (b, hq, hkv), partitions, extra in CASES:
        text = attention_module(name, [b, hq, 1, d], [b, hkv, -1, d], dtype="f32",
                                kv_dtype="f32", key_scheme=kscheme, value_scheme=vscheme)
        case_opts = copy.copy(opts)
        case_opts.options = f"{opts.options} --split-kv={partitions} {extra}"
        mod = kt.library(case_opts, text, f"int8_pv_{name}")
        if mod is None:
            continue
        s = ref.QuantScheme.parse(vscheme)
        for length in (1, 37, 300, 1000):
            q = rng.standard_normal((b, hq, 1, d)).astype(np.float32)
            k = rng.standard_normal((b, hkv, length, d)).astype(np.float32)
            v = rng.standard_normal((b, hkv, length, d)).astype(np.float32)
            vcodes, vscale, vzero = ref.quantize(v, s)
            vd = ref.dequantize(vcodes, vscale, vzero, s).astype(np.float64)
            vside = [vscale] + ([vzero] if vzero is not None else [])
            vin = vcodes
            if s.bits < 8:
                vin = ref.pack(vcodes, s.bits).reshape(vcodes.shape[:-1] + (-1,))
            kargs, kd = [k], k.astype(np.float64)
            if kscheme:
                ks = ref.QuantScheme.parse(kscheme)
                kcodes, kscale, kzero = ref.quantize(k, ks)
                kd = ref.dequantize(kcodes, kscale, kzero, ks).astype(np.float64)
                kargs = [ref.pack(kcodes, ks.bits).reshape(kcodes.shape[:-1] + (-1,)),
                         kscale] + ([kzero] if kzero is not None else [])
            got = np.asarray(getattr(mod, name)(q, *kargs, vin, *vside), np.float64)[:, :, 0]
            exact = ref.attention(q.astype(np.float64), kd, vd)[:, :, 0]
            scale = 1.0 / np.sqrt(d)
            score_limit = 0.0
            if kscheme and ks.granularity == "group" and ks.axis == 2:
                # KIVI's keys: the query folded with each token group's
                # scales, then quantized.
                h = 0 if ks.symmetric else 2 ** (ks.bits - 1)
                scores, sbound = model_scores_int(q, kcodes.astype(np.int64) - h, kscale,
                                                  kzero, h, ks.size, scale)
                scores, delta = scores[:, :, 0], sbound[:, :, 0].max(-1, keepdims=True)
            elif kscheme:
                qd, step = quantized_query(q, scale)
                kk = np.repeat(kd, hq // hkv, axis=1)
                scores = np.einsum("bhd,bhkd->bhk", qd[:, :, 0], kk)
                delta = score_error_bound(step, kd)[:, :, 0].max(-1, keepdims=True)
            else:
                kk = np.repeat(kd, hq // hkv, axis=1)
                scores = np.einsum("bhd,bhkd->bhk", q[:, :, 0].astype(np.float64), kk) * scale
                delta = None
            if delta is not None:
                score_limit = (np.exp(2 * delta) - 1) * np.abs(vd).max()
            p = np.exp(scores - scores.max(-1, keepdims=True))
            want, bound, ties = model(p, vcodes, vscale, vzero, s, partitions)
            bound = bound + score_limit
            diff = np.abs(got - want)
            kt.report(f"{name} L={length}: vs the weight quantization model",
                      bool((diff <= ties + 5e-6 * np.abs(want).max()).all()),
                      f"max error {diff.max() / np.abs(want).max():.1e} of the largest "
                      f"output ({int((ties > 0).sum())} channels with near-ties)")
            err = np.abs(got - exact)
            kt.report(f"{name} L={length}: vs exact within the bound",
                      bool((err <= bound + 2e-5 * np.abs(exact).max()).all()),
                      f"max error {err.max():.2e} ({err.max() / np.abs(exact).max():.1e} "
                      f"of the largest output), bound up to {bound.max():.2e}")
    kt.finish()


if __name__ == "__main__":
    main()
