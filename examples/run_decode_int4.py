#!/usr/bin/env python3
"""Compiles examples/decode_int4.mlir with kvq and runs it on random data.

The graph is one decode step of grouped-query attention (32 query heads,
8 KV heads, head dim 128) over a KIVI-style INT4 KV cache of 1000 tokens.
Prints the kernel's error against the NumPy golden model (fp64 attention
over the dequantized cache, i.e. the same math), the quantization error
against full-precision attention, and the kernel's time.
"""

import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

import kvq  # noqa: E402
from kvq import reference as ref  # noqa: E402

K_SCHEME = ref.QuantScheme.parse(
    "#kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>")
V_SCHEME = ref.QuantScheme.parse(
    "#kvq.quant<i4, asymmetric, group(axis = 3, size = 32), scale = f16>")


def main():
    mod = kvq.compile(os.path.join(ROOT, "examples", "decode_int4.mlir"), name="decode_int4")
    rng = np.random.default_rng(int(time.time()))
    q = rng.standard_normal((1, 32, 1, 128), dtype=np.float32)
    k = rng.standard_normal((1, 8, 1000, 128), dtype=np.float32)
    k[..., :4] += 3.0  # outlier channels, as in real keys
    v = rng.standard_normal((1, 8, 1000, 128), dtype=np.float32)
    kc, ks, kz = ref.quantize(k, K_SCHEME)
    vc, vs, vz = ref.quantize(v, V_SCHEME)

    # The cache as the kernel stores it: two 4-bit codes per byte (the
    # runtime would also pack unpacked codes, at a cost, on every call).
    kp = ref.pack(kc, 4).reshape(1, 8, 1000, 64)
    vp = ref.pack(vc, 4).reshape(1, 8, 1000, 64)
    out = mod.decode(q, kp, ks, kz, vp, vs, vz)
    # A decode loop binds the call once (arguments checked once, the arrays
    # used in place) and then runs it with no work in Python.
    step = mod.decode.bind(q, kp, ks, kz, vp, vs, vz, out=out)
    times = []
    for _ in range(20):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)

    q64 = q.astype(np.float64)
    same_math = ref.attention(q64, ref.dequantize(kc, ks, kz, K_SCHEME).astype(np.float64),
                              ref.dequantize(vc, vs, vz, V_SCHEME).astype(np.float64),
                              causal=True)
    full = ref.attention(q64, k.astype(np.float64), v.astype(np.float64), causal=True)
    rel = lambda a, b: float(np.abs(a - b).max() / np.abs(b).max())
    cos = float(np.sum(out * full) / np.linalg.norm(out) / np.linalg.norm(full))
    cache = kp.nbytes + ks.nbytes + kz.nbytes + vp.nbytes + vs.nbytes + vz.nbytes
    print(f"kernel vs fp64 reference (same INT4 cache): max rel error {rel(out, same_math):.2e}")
    print(f"INT4 cache vs full-precision attention:      max rel error {rel(out, full):.2e}, "
          f"cosine {cos:.5f}")
    print(f"cache {cache / 1e6:.2f} MB (fp32 would be {2 * k.nbytes / 1e6:.2f} MB); "
          f"kernel time median {1e6 * np.median(times):.0f} us over {len(times)} runs")
    if rel(out, same_math) > 1e-4:
        sys.exit("FAILED: kernel disagrees with the reference")


if __name__ == "__main__":
    main()
