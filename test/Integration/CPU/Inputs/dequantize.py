"""Runs the kernels of dequantize.mlir on codes that the NumPy golden model
quantized from fresh random data, and compares with its dequantize."""

import sys

import numpy as np

import kvq.runtime
import kvq_testing as kt
from kvq import reference as ref

rng = kt.rng()
lib = kvq.runtime.load(sys.argv[1])


kivi = ref.QuantScheme.parse(
    "#kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>")
x = rng.standard_normal((2, 8, 100, 64), dtype=np.float32)
codes, scale, zero = ref.quantize(x, kivi)
want = ref.dequantize(codes, scale, zero, kivi)
# One code per element (the loader packs them), then already packed bytes.
kt.check("kivi_keys (codes)", lib.kivi_keys(codes, scale, zero), want, rtol=1e-6, atol=1e-6)
packed = np.stack([ref.pack(row, 4) for row in codes.reshape(-1, 64)]).reshape(2, 8, 100, 32)
kt.check("kivi_keys (packed)", lib.kivi_keys(packed, scale, zero), want, rtol=1e-6, atol=1e-6)

int8 = ref.QuantScheme.parse("#kvq.quant<i8, symmetric, token>")
x = rng.standard_normal((3, 37, 128), dtype=np.float32) * 5
codes, scale, _ = ref.quantize(x, int8)
kt.check("int8_tokens", lib.int8_tokens(codes, scale), ref.dequantize(codes, scale, None, int8),
         rtol=1e-6, atol=1e-6)
kt.finish()
