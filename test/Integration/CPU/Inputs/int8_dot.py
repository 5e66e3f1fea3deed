"""Int8 dot-product scores (schedule int8_dot) on the host CPU, on fresh
random inputs, against two fp64 references:

* the model of the kernel's query quantization: the query times the
  softmax scale in f32, per group of 32 channels (zero past the head dim)
  the scale max|q| / 127 and the codes round-to-even(q * (127 / max|q|)),
  all in f32; then attention in fp64 over the quantized query and the
  dequantized keys. The integer dot products are exact, so the kernel must
  match this model to f32 rounding (tolerance 2e-5);
* exact attention over the unquantized query, within the documented bound:
  a key's score is off by at most sum over groups of (s_g / 2) * sum |k_c|
  (s_g the group's query scale), so with d the largest such error over a
  row's keys each probability is off by a factor within exp(+-2d) and the
  output by at most (exp(2d) - 1) * max |v|.

Cases: int8, int4 and int2 keys (symmetric; group scales along the
channels, one per token, or one for the tensor: the kernel's two ways to
take the keys, 16 with the lanes over keys or 4 summed across lanes), head
dims 128 and a ragged 72, GQA, batch 2, ragged cache lengths (1 key, fewer
keys than a block, several partitions), a short causal prefill and an f16
query. Run with --options="--int8-dot=1" (VNNI where the
CPU has it) and with "--int8-dot=1 --vnni=0" (the portable lowering).
"""

import numpy as np

import kvq_testing as kt
from kvq import reference as ref
from kvq.builder import attention_module

QUERY_GROUP = 32

# name, K scheme, head dim, (B, Hq, Hkv, Sq), causal, query dtype
CASES = [
    ("i8_g32", "#kvq.quant<i8, symmetric, group(axis = 3, size = 32), scale = f16>",
     128, (2, 8, 2, 1), False, "f32"),
    ("i4_g32", "#kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>",
     128, (2, 8, 2, 1), False, "f32"),
    ("i8_g8_d72", "#kvq.quant<i8, symmetric, group(axis = 3, size = 8), scale = f32>",
     72, (1, 6, 3, 1), False, "f32"),
    ("i4_token_d72", "#kvq.quant<i4, symmetric, token, scale = f16>",
     72, (2, 4, 1, 1), False, "f16"),
    ("i2_g32", "#kvq.quant<i2, symmetric, group(axis = 3, size = 32), scale = f16>",
     128, (1, 8, 2, 1), False, "f32"),
    ("i8_tensor", "#kvq.quant<i8, symmetric, tensor, scale = f32>",
     128, (2, 8, 2, 1), False, "f32"),
    ("i4_g16_causal", "#kvq.quant<i4, symmetric, group(axis = 3, size = 16), scale = f16>",
     64, (1, 4, 2, 3), True, "f32"),
]


def quantized_query(q, scale):
    """The kernel's int8 query, dequantized (fp64), and each group's scale
    per channel (for the error bound)."""
    qs = q.astype(np.float32) * np.float32(scale)
    d = qs.shape[-1]
    width = -(-d // QUERY_GROUP) * QUERY_GROUP
    padded = np.zeros(qs.shape[:-1] + (width,), np.float32)
    padded[..., :d] = qs
    groups = padded.reshape(qs.shape[:-1] + (width // QUERY_GROUP, QUERY_GROUP))
    amax = np.abs(groups).max(-1, keepdims=True)
    with np.errstate(divide="ignore"):
        inv = np.where(amax > 0, np.float32(127) / amax, np.float32(0)).astype(np.float32)
    codes = np.rint(groups * inv)  # f32 product, rounded half to even
    step = amax / np.float32(127)
    deq = (codes.astype(np.float64) * step.astype(np.float64)).reshape(padded.shape)[..., :d]
    per_channel = np.broadcast_to(step, groups.shape).reshape(padded.shape)[..., :d]
    return deq, per_channel.astype(np.float64)


def score_error_bound(step, k):
    """Per (B, Hq, Sq, key): sum_c (s_c / 2) |k_c| (GQA heads share K)."""
    group = step.shape[1] // k.shape[1]
    kk = np.repeat(np.abs(k), group, axis=1)
    return np.einsum("bhqd,bhkd->bhqk", step / 2, kk)


def report_within_bound(name, got, exact, limit):
    """Reports whether every output is within `limit` (an array of bounds
    broadcast against it) of exact attention, plus f32 rounding (2e-5 of
    the largest exact output)."""
    err = np.abs(got - exact)
    kt.report(f"{name}: vs exact within the bound",
              bool((err <= limit + 2e-5 * np.abs(exact).max()).all()),
              f"max error {err.max():.2e}, bound {limit.min():.2e} to "
              f"{limit.max():.2e}")


def main():
    opts = kt.parse(__doc__)
    rng = kt.rng()
    for name, scheme, d, (b, hq, hkv, sq), causal, qdtype in CASES:
        text = attention_module(name, [b, hq, sq, d], [b, hkv, -1, d], dtype=qdtype,
                                kv_dtype="f32", key_scheme=scheme, causal=causal)
        mod = kt.library(opts, text, f"int8_dot_{name}")
        if mod is None:
            continue
        s = ref.QuantScheme.parse(scheme)
        for length in (1, 37, 300, 1000):
            if length < sq:
                continue
            q = rng.standard_normal((b, hq, sq, d)).astype(np.float32)
            if qdtype == "f16":
                q = q.astype(np.float16)
            k = rng.standard_normal((b, hkv, length, d)).astype(np.float32)
            v = rng.standard_normal((b, hkv, length, d)).astype(np.float32)
            codes, kscale, _ = ref.quantize(k, s)
            kd = ref.dequantize(codes, kscale, None, s).astype(np.float64)
            if s.bits < 8:
                codes = ref.pack(codes, s.bits).reshape(codes.shape[:-1] + (-1,))
            got = np.asarray(getattr(mod, name)(q, codes, kscale, v), np.float64)
            scale = 1.0 / np.sqrt(d)
            qd, step = quantized_query(q, scale)
            model = ref.attention(qd, kd, v, scale=1.0, causal=causal)
            tol = 2e-5 if qdtype == "f32" else 1e-3  # f16 queries give f16 outputs
            kt.check(f"{name} L={length}: vs the quantized-query model", got, model, tol)
            exact = ref.attention(q.astype(np.float64), kd, v, causal=causal)
            delta = score_error_bound(step, kd).max(-1, keepdims=True)
            bound = (np.exp(2 * delta) - 1) * np.abs(v).max()
            report_within_bound(f"{name} L={length}", got, exact, bound)
    kt.finish()


if __name__ == "__main__":
    main()
