"""Runs the library compiled from a transform-scheduled module (see
schedule.test) against the NumPy golden model: an INT8-K cache read by two
attentions, one causal in 3 key partitions of 16-key blocks, the other in
32-key blocks, at ragged and dynamic lengths. Exits non-zero on any
mismatch.

    python3 schedule.py LIBRARY_DIR
"""

import sys

import numpy as np

import kvq_testing as kt

from kvq import reference as ref
from kvq import runtime


def main():
    mod = runtime.load(sys.argv[1])
    scheme = ref.QuantScheme.parse("#kvq.quant<i8, symmetric, token>")
    rng = kt.rng()
    for sq, skv in ((1, 1), (1, 45), (5, 37), (13, 100), (37, 37)):
        q = rng.standard_normal((1, 8, sq, 64)).astype(np.float32)
        k = rng.standard_normal((1, 2, skv, 64)).astype(np.float32)
        v = rng.standard_normal((1, 2, skv, 64)).astype(np.float32)
        kc, ks, _ = ref.quantize(k, scheme)
        a, b = mod.attend(q, kc, ks, v)
        kd = ref.dequantize(kc, ks, None, scheme)
        for name, got, causal in (("split causal", a, True), ("32-key blocks", b, False)):
            want = ref.attention(q, kd, v, causal=causal)
            kt.check(f"{name} Sq={sq} Skv={skv}", got, want, 1e-5, shape=False, finite=False)
    kt.finish()


if __name__ == "__main__":
    main()
