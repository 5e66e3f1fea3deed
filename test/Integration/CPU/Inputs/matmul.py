"""Runs the kernels of matmul.mlir on fresh random inputs and compares them
with a float64 NumPy reference."""

import sys

import ml_dtypes
import numpy as np

import kvq.runtime
import kvq_testing as kt

rng = kt.rng()
lib = kvq.runtime.load(sys.argv[1])


for m in (0, 1, 37, 128):
    a = rng.standard_normal((m, 96), dtype=np.float32)
    b = rng.standard_normal((96, 80), dtype=np.float32)
    bias = rng.standard_normal(80, dtype=np.float32)
    want = a.astype(np.float64) @ b.astype(np.float64) + bias
    kt.check(f"matmul_bias m={m}", lib.matmul_bias(a, b, bias), want, rtol=1e-5, atol=1e-4)

for m, k, n in ((5, 7, 3), (37, 64, 131), (1, 1000, 16)):
    a = rng.standard_normal((m, k)).astype(ml_dtypes.bfloat16)
    b = rng.standard_normal((k, n)).astype(ml_dtypes.bfloat16)
    # The inputs are exact in f32; only the f32 accumulation rounds.
    want = a.astype(np.float64) @ b.astype(np.float64)
    kt.check(f"matmul_bf16 {m}x{k}x{n}", lib.matmul_bf16(a, b), want, rtol=1e-5, atol=1e-4)
kt.finish()
