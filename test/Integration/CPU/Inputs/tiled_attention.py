"""Runs the tiled-payload.mlir graphs after transform-dialect tiling
(argv[1]: the tiled module) and compares with the NumPy golden model."""

import sys

import numpy as np

import kvq_testing as kt

import kvq
from kvq import reference as ref

KIVI_K = ref.QuantScheme.parse("#kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>")
TOKEN8 = ref.QuantScheme.parse("#kvq.quant<i8, symmetric, token>")
GROUP4 = ref.QuantScheme.parse("#kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>")


def main():
    mod = kvq.compile(sys.argv[1], name="tiled")
    rng = kt.rng()

    q = rng.standard_normal((2, 8, 37, 64), dtype=np.float32)
    k = rng.standard_normal((2, 2, 37, 64), dtype=np.float32)
    v = rng.standard_normal((2, 2, 37, 64), dtype=np.float32)
    m = rng.standard_normal((1, 1, 37, 37)).astype(np.float32)
    m[rng.random(m.shape) < 0.1] = -np.inf
    kc, ks, kz = ref.quantize(k, KIVI_K)
    out = mod.prefill(q, kc, ks, kz, v, m)
    expect = ref.attention(q.astype(np.float64), ref.dequantize(kc, ks, kz, KIVI_K).astype(np.float64),
                           v.astype(np.float64), causal=True, mask=m.astype(np.float64))
    kt.check("tiled prefill", out, expect, 1e-5, shape=False, finite=False)

    q = rng.standard_normal((1, 32, 1, 128), dtype=np.float32)
    k = rng.standard_normal((1, 8, 100, 128), dtype=np.float32)
    v = rng.standard_normal((1, 8, 100, 128), dtype=np.float32)
    kc, ks, _ = ref.quantize(k, TOKEN8)
    vc, vs, _ = ref.quantize(v, GROUP4)
    out = mod.decode(q, kc, ks, vc, vs)
    expect = ref.attention(q.astype(np.float64), ref.dequantize(kc, ks, None, TOKEN8).astype(np.float64),
                           ref.dequantize(vc, vs, None, GROUP4).astype(np.float64))
    kt.check("tiled decode", out, expect, 1e-5, shape=False, finite=False)
    kt.finish()


if __name__ == "__main__":
    main()
