"""Runs the kernels of softmax.mlir on fresh random inputs and compares them
with a float64 NumPy reference."""

import sys

import numpy as np

import kvq.runtime
import kvq_testing as kt

rng = kt.rng()
lib = kvq.runtime.load(sys.argv[1])


def reference(x):
    x = x.astype(np.float64)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def check(name, got, x):
    kt.check(name, got, reference(x), rtol=1e-5, atol=1e-7)


x = (rng.standard_normal((37, 131)) * 8).astype(np.float32)
check("softmax_37x131", lib.softmax_37x131(x), x)

for shape in ((37, 131), (1, 1), (5, 1000), (0, 7), (64, 3)):
    x = (rng.standard_normal(shape) * 8).astype(np.float32)
    check(f"softmax_dynamic {shape}", lib.softmax_dynamic(x), x)
kt.finish()
