"""Attention over K and V concatenated along the channels (tensor.concat
dim 3), which kvq-tile-attention decodes inside its key loop
(KVDecoderOpInterface): parts at offsets that are not multiples of the
vector width (K: 20 INT4 channels dequantized, 13 plain f32 ones and 7 f16
ones widened by arith.extf, D = 40; V: 24 plain channels and 20 INT8 ones,
Dv = 44; concatenations whose channels are not a multiple of 4 are
materialized instead, so that every target decodes the others), against fp64 attention over the NumPy decoding
of the same parts on fresh random inputs: decode and prefill, GQA, causal
and not, dynamic ragged lengths. This is the form kvq-fuse gives GEAR
caches (the low-rank coordinates appended to the keys and values).

With --target=nvvm the same cases run on an NVIDIA GPU (see kvq_testing.py
in test/harness for --build-only / --prebuilt). Exits non-zero on any
mismatch.
"""

import numpy as np

import kvq_testing as kt
from kvq import reference as ref

K4 = "#kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>"
V8 = "#kvq.quant<i8, symmetric, token>"


def function(name, hq, sq, causal):
    qt = f"tensor<1x{hq}x{sq}x40xf32>"
    ot = f"tensor<1x{hq}x{sq}x44xf32>"
    return f"""
func.func @{name}(%q: {qt}, %kc: tensor<1x2x?x20xi4>, %ks: tensor<1x2x?x20xf16>, %kz: tensor<1x2x?x20xf16>,
    %k2: tensor<1x2x?x13xf32>, %k3: tensor<1x2x?x7xf16>, %v1: tensor<1x2x?x24xf32>,
    %vc: tensor<1x2x?x20xi8>, %vs: tensor<1x2x?x1xf32>) -> {ot} {{
  %k1 = kvq.dequantize {K4} %kc, %ks, %kz
      : tensor<1x2x?x20xi4>, tensor<1x2x?x20xf16>, tensor<1x2x?x20xf16> -> tensor<1x2x?x20xf32>
  %k3w = arith.extf %k3 : tensor<1x2x?x7xf16> to tensor<1x2x?x7xf32>
  %k = tensor.concat dim(3) %k1, %k2, %k3w
      : (tensor<1x2x?x20xf32>, tensor<1x2x?x13xf32>, tensor<1x2x?x7xf32>) -> tensor<1x2x?x40xf32>
  %v2 = kvq.dequantize {V8} %vc, %vs : tensor<1x2x?x20xi8>, tensor<1x2x?x1xf32> -> tensor<1x2x?x20xf32>
  %v = tensor.concat dim(3) %v1, %v2 : (tensor<1x2x?x24xf32>, tensor<1x2x?x20xf32>) -> tensor<1x2x?x44xf32>
  %o = kvq.attention q(%q : {qt}) k(%k : tensor<1x2x?x40xf32>) v(%v : tensor<1x2x?x44xf32>)
      {'{causal}' if causal else ''} -> {ot}
  return %o : {ot}
}}"""


def main():
    cases = [("decode", 8, 1, False), ("prefill", 4, 6, False), ("prefill_causal", 4, 6, True)]
    opts = kt.parse(__doc__)
    mod = kt.library(opts, "".join(function(*c) for c in cases), "concat_channels")
    if mod is None:
        return
    tol = kt.attention_tol(opts, 1e-5)
    rng = kt.rng()
    k4 = ref.QuantScheme("i4", False, "group", axis=2, size=32, scale_dtype="f16")
    v8 = ref.QuantScheme("i8", True, "token")
    for name, hq, sq, causal in cases:
        for length in (6, 37, 100):
            q = rng.standard_normal((1, hq, sq, 40)).astype(np.float32)
            k1 = rng.standard_normal((1, 2, length, 20)).astype(np.float32)
            kc, ks, kz = ref.quantize(k1, k4)
            k2 = rng.standard_normal((1, 2, length, 13)).astype(np.float32)
            k3 = rng.standard_normal((1, 2, length, 7)).astype(np.float16)
            v1 = rng.standard_normal((1, 2, length, 24)).astype(np.float32)
            vc, vs, _ = ref.quantize(rng.standard_normal((1, 2, length, 20)).astype(np.float32), v8)
            got = np.asarray(getattr(mod, name)(q, kc, ks, kz, k2, k3, v1, vc, vs), np.float64)
            k = np.concatenate([ref.dequantize(kc, ks, kz, k4).astype(np.float64), k2, k3], axis=-1)
            v = np.concatenate([v1, ref.dequantize(vc, vs, None, v8).astype(np.float64)], axis=-1)
            kt.check(f"{name} L={length}", got, ref.attention(q, k, v, causal=causal), tol)
    kt.finish()


if __name__ == "__main__":
    main()
