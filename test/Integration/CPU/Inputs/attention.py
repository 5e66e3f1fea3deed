"""Fused kvq.attention on the CPU vs the NumPy golden model.

Builds one module with an entry per case (every scheme family and
granularity, decode and prefill, causal or not, GQA, masks, ragged lengths,
head dims that are not multiples of the vector width, dynamic shapes),
compiles it with kvq-compile (optionally with tiling options), runs every
entry on fresh random inputs and compares with fp64 attention over the
dequantized cache. Exits non-zero on any mismatch.

    attention.py [--options "--block-kv=16 --block-rows=3 --split-kv=3"]

The same cases run on NVIDIA GPUs with --target=nvvm (tolerance 1e-2: the
tensor-core kernels multiply in f16). A GPU machine without LLVM can run
libraries built elsewhere:

    attention.py --target=nvvm --options "--chip=sm_90" --build-only DIR
    attention.py --target=nvvm --prebuilt DIR      # on the GPU machine
"""

import numpy as np

import kvq_testing as kt

from kvq import reference as ref
from kvq.builder import attention_module

import ml_dtypes

NP = {"f32": np.float32, "f16": np.float16, "bf16": ml_dtypes.bfloat16}

I4G = "#kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>"
KIVI4_K = "#kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>"
KIVI4_V = "#kvq.quant<i4, asymmetric, group(axis = 3, size = 32), scale = f16>"
KIVI2_K = "#kvq.quant<i2, asymmetric, group(axis = 2, size = 32), scale = f16>"
KIVI2_V = "#kvq.quant<i2, asymmetric, group(axis = 3, size = 32), scale = f16>"

# name: (q shape, k shape, v dim, dtype, key scheme, value scheme, causal,
#        mask, call shapes for dynamic dims)
CASES = {
    "plain_prefill_causal_gqa": ([2, 8, 37, 64], [2, 2, 37, 64], None, "f32", None, None, True, False),
    "plain_mask_ragged_dims": ([1, 4, 5, 40], [1, 4, 50, 40], 24, "f32", None, None, False, True),
    "plain_f16_decode": ([1, 8, 1, 64], [1, 2, 70, 64], None, "f16", None, None, False, False),
    "more_queries_than_keys": ([1, 2, 9, 16], [1, 1, 5, 16], None, "f32", None, None, True, False),
    "int8_token_decode": ([1, 32, 1, 128], [1, 8, 77, 128], None, "f32",
                          "#kvq.quant<i8, symmetric, token>", "#kvq.quant<i8, asymmetric, token>", False, False),
    "int4_group_decode": ([2, 32, 1, 128], [2, 8, 100, 128], None, "f32", I4G, I4G, False, False),
    "kivi4_prefill_causal": ([1, 4, 9, 64], [1, 2, 45, 64], None, "f32", KIVI4_K, KIVI4_V, True, False),
    "kivi2_decode": ([1, 8, 1, 64], [1, 4, 70, 64], None, "f32", KIVI2_K, KIVI2_V, False, False),
    "int2_channel_token": ([1, 4, 3, 32], [1, 4, 33, 32], None, "f32",
                           "#kvq.quant<i2, symmetric, channel>", "#kvq.quant<i2, symmetric, token, scale = bf16>",
                           True, False),
    "fp8_decode": ([1, 6, 1, 48], [1, 3, 61, 48], None, "f32",
                   "#kvq.quant<f8E4M3FN, symmetric, channel>", "#kvq.quant<f8E5M2, symmetric, token, scale = f16>",
                   False, False),
    "int8_block_tensor": ([1, 4, 7, 48], [1, 4, 29, 48], None, "f32",
                          "#kvq.quant<i8, symmetric, block(rows = 16, cols = 32)>",
                          "#kvq.quant<i8, symmetric, tensor>", False, True),
    "int4_narrow_groups": ([1, 4, 2, 32], [1, 2, 41, 32], None, "f32",
                           "#kvq.quant<i4, asymmetric, group(axis = 3, size = 8)>",
                           "#kvq.quant<i8, asymmetric, channel, scale = bf16>", True, False),
    "int4_dynamic": ([-1, 8, 1, 64], [-1, 2, -1, 64], None, "f32", I4G, KIVI4_V, False, False),
    # Prefill shapes (at least 16 rows per KV head) take the register-blocked
    # kernel: ragged head dims and row counts, packed INT4, bf16.
    "plain_prefill_ragged": ([1, 6, 70, 40], [1, 3, 83, 40], 24, "f32", None, None, False, False),
    "int4_prefill_causal_gqa": ([1, 8, 33, 64], [1, 2, 50, 64], None, "f32", I4G, I4G, True, False),
    "bf16_prefill_causal": ([1, 4, 20, 32], [1, 4, 20, 32], None, "bf16", None, None, True, False),
}
DYNAMIC_CALLS = {"int4_dynamic": [(2, 13), (1, 200)]}


def make_inputs(rng, case, batch=None, length=None):
    qs, ks, dv, dtype, kscheme, vscheme, causal, mask = case
    qs, ks = list(qs), list(ks)
    if batch is not None:
        qs[0] = ks[0] = batch
        ks[2] = length
    vs = ks[:3] + [dv if dv is not None else ks[3]]
    q = rng.standard_normal(qs).astype(np.float32)
    k = rng.standard_normal(ks).astype(np.float32)
    k[..., 1] += 4.0  # an outlier channel, as in real keys
    v = rng.standard_normal(vs).astype(np.float32)
    cast = NP[dtype]
    args, dense = [q.astype(cast)], []
    for x, scheme in ((k, kscheme), (v, vscheme)):
        if scheme is None:
            args.append(x.astype(cast))
            dense.append(x.astype(cast).astype(np.float64))
            continue
        s = ref.QuantScheme.parse(scheme)
        codes, scale, zp = ref.quantize(x, s)
        args += [codes, scale] + ([zp] if zp is not None else [])
        dense.append(ref.dequantize(codes, scale, zp, s).astype(np.float64))
    m = None
    if mask:
        m = rng.standard_normal((1, qs[1], qs[2], ks[2])).astype(np.float32)
        m[rng.random(m.shape) < 0.2] = -np.inf
        args.append(m.astype(cast))
        m = m.astype(cast).astype(np.float64)
    expect = ref.attention(q.astype(cast).astype(np.float64), dense[0], dense[1],
                           causal=causal, mask=m)
    return args, expect, vs


def main():
    args = kt.parse(__doc__)
    text = "".join(
        attention_module(name, c[0], c[1], v_dim=c[2], dtype=c[3], key_scheme=c[4],
                         value_scheme=c[5], causal=c[6],
                         mask_shape=[1, c[0][1], c[0][2], c[1][2]] if c[7] else None)
        for name, c in CASES.items())
    mod = kt.library(args, text, "attention")
    if mod is None:
        return
    rng = kt.rng()
    for name, case in CASES.items():
        calls = DYNAMIC_CALLS.get(name, [(None, None)])
        for batch, length in calls:
            inputs, expect, vs = make_inputs(rng, case, batch, length)
            shape = f" b={batch} L={length}" if batch else ""
            try:
                out = getattr(mod, name)(*inputs, out_shapes=[tuple(expect.shape)])
            except RuntimeError as e:  # a kernel failure (kvq.cuda.CudaError)
                kt.fail(f"{name}{shape}", str(e))
                continue
            tol = 1e-5 if case[3] == "f32" and args.target == "cpu" else 1e-2
            kt.check(f"{name}{shape}", out, expect, tol, shape=False)
    kt.finish()


if __name__ == "__main__":
    main()
