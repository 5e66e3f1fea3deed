"""Runs the tiled-payload.mlir graphs after transform-dialect tiling
(argv[1]: the tiled module) and compares with the NumPy golden model."""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), *[".."] * 4, "python"))

import kvq  # noqa: E402
from kvq import reference as ref  # noqa: E402

KIVI_K = ref.QuantScheme.parse("#kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>")
TOKEN8 = ref.QuantScheme.parse("#kvq.quant<i8, symmetric, token>")
GROUP4 = ref.QuantScheme.parse("#kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>")


def main():
    mod = kvq.compile(sys.argv[1], name="tiled")
    rng = np.random.default_rng()
    failures = 0

    q = rng.standard_normal((2, 8, 37, 64), dtype=np.float32)
    k = rng.standard_normal((2, 2, 37, 64), dtype=np.float32)
    v = rng.standard_normal((2, 2, 37, 64), dtype=np.float32)
    m = rng.standard_normal((1, 1, 37, 37)).astype(np.float32)
    m[rng.random(m.shape) < 0.1] = -np.inf
    kc, ks, kz = ref.quantize(k, KIVI_K)
    out = mod.prefill(q, kc, ks, kz, v, m)
    expect = ref.attention(q.astype(np.float64), ref.dequantize(kc, ks, kz, KIVI_K).astype(np.float64),
                           v.astype(np.float64), causal=True, mask=m.astype(np.float64))
    failures += report("prefill", out, expect)

    q = rng.standard_normal((1, 32, 1, 128), dtype=np.float32)
    k = rng.standard_normal((1, 8, 100, 128), dtype=np.float32)
    v = rng.standard_normal((1, 8, 100, 128), dtype=np.float32)
    kc, ks, _ = ref.quantize(k, TOKEN8)
    vc, vs, _ = ref.quantize(v, GROUP4)
    out = mod.decode(q, kc, ks, vc, vs)
    expect = ref.attention(q.astype(np.float64), ref.dequantize(kc, ks, None, TOKEN8).astype(np.float64),
                           ref.dequantize(vc, vs, None, GROUP4).astype(np.float64))
    failures += report("decode", out, expect)
    if failures:
        sys.exit(f"{failures} case(s) failed")


def report(name, out, expect):
    err = float(np.abs(out - expect).max() / np.abs(expect).max())
    ok = err <= 1e-5
    print(f"{'ok  ' if ok else 'FAIL'} tiled {name}: max rel error {err:.2e}")
    return not ok


if __name__ == "__main__":
    main()
