"""Runs the kernels of matmul.mlir on fresh random inputs and compares them
with a float64 NumPy reference."""

import os
import sys

import ml_dtypes
import numpy as np

import kvq.runtime

seed = int.from_bytes(os.urandom(4), "little")
rng = np.random.default_rng(seed)
lib = kvq.runtime.load(sys.argv[1])


def check(name, got, want, rtol, atol):
    if got.shape != want.shape or not np.allclose(got, want, rtol=rtol, atol=atol):
        err = np.abs(got.astype(np.float64) - want).max() if got.shape == want.shape else None
        sys.exit(f"FAIL {name} (seed {seed}): shape {got.shape} vs {want.shape}, "
                 f"max abs error {err}")
    print(f"ok {name}")


for m in (0, 1, 37, 128):
    a = rng.standard_normal((m, 96), dtype=np.float32)
    b = rng.standard_normal((96, 80), dtype=np.float32)
    bias = rng.standard_normal(80, dtype=np.float32)
    want = a.astype(np.float64) @ b.astype(np.float64) + bias
    check(f"matmul_bias m={m}", lib.matmul_bias(a, b, bias), want, 1e-5, 1e-4)

for m, k, n in ((5, 7, 3), (37, 64, 131), (1, 1000, 16)):
    a = rng.standard_normal((m, k)).astype(ml_dtypes.bfloat16)
    b = rng.standard_normal((k, n)).astype(ml_dtypes.bfloat16)
    # The inputs are exact in f32; only the f32 accumulation rounds.
    want = a.astype(np.float64) @ b.astype(np.float64)
    check(f"matmul_bf16 {m}x{k}x{n}", lib.matmul_bf16(a, b), want, 1e-5, 1e-4)
