"""KIVI caches with a full-precision window of recent tokens, compiled for
the host CPU: attention over tensor.concat(kvq.dequantize(codes), window)
for K and V, which kvq-tile-attention decodes inside its key loop
(KVDecoderOpInterface), against the NumPy golden model
(reference.kivi_cache / kivi_decode) on fresh random inputs. Lengths cover
an all-window cache (fewer tokens than the window), exact multiples of the
window and ragged lengths; 2- and 4-bit codes; decode and causal prefill
with GQA. Exits non-zero on any mismatch.

With --target=nvvm the same cases run on an NVIDIA GPU (kvq-gpu-attention
decodes each block of keys into shared memory; tolerance 1e-2 for the f16
tensor-core math):

    kivi.py --target=nvvm --build-only DIR    # here (no GPU needed)
    kivi.py --target=nvvm --prebuilt DIR      # on the GPU machine
"""

import numpy as np

import kvq_testing as kt
from kvq import reference as ref

GROUP, RESIDUAL = 32, 64


def function(name, bits, hq, sq, causal):
    ks = f"#kvq.quant<i{bits}, asymmetric, group(axis = 2, size = {GROUP}), scale = f16>"
    vs = f"#kvq.quant<i{bits}, asymmetric, group(axis = 3, size = {GROUP}), scale = f16>"
    d = 96
    g = d // GROUP
    qt = f"tensor<1x{hq}x{sq}x{d}xf32>"
    return f"""
func.func @{name}(%q: {qt},
    %kc: tensor<1x2x?x{d}xi{bits}>, %ks: tensor<1x2x?x{d}xf16>, %kz: tensor<1x2x?x{d}xf16>, %kw: tensor<1x2x?x{d}xf16>,
    %vc: tensor<1x2x?x{d}xi{bits}>, %vs: tensor<1x2x?x{g}xf16>, %vz: tensor<1x2x?x{g}xf16>, %vw: tensor<1x2x?x{d}xf16>)
    -> {qt} {{
  %kd = kvq.dequantize {ks} %kc, %ks, %kz
      : tensor<1x2x?x{d}xi{bits}>, tensor<1x2x?x{d}xf16>, tensor<1x2x?x{d}xf16> -> tensor<1x2x?x{d}xf16>
  %k = tensor.concat dim(2) %kd, %kw : (tensor<1x2x?x{d}xf16>, tensor<1x2x?x{d}xf16>) -> tensor<1x2x?x{d}xf16>
  %vd = kvq.dequantize {vs} %vc, %vs, %vz
      : tensor<1x2x?x{d}xi{bits}>, tensor<1x2x?x{g}xf16>, tensor<1x2x?x{g}xf16> -> tensor<1x2x?x{d}xf16>
  %v = tensor.concat dim(2) %vd, %vw : (tensor<1x2x?x{d}xf16>, tensor<1x2x?x{d}xf16>) -> tensor<1x2x?x{d}xf16>
  %o = kvq.attention q(%q : {qt}) k(%k : tensor<1x2x?x{d}xf16>) v(%v : tensor<1x2x?x{d}xf16>)
      {'{causal}' if causal else ''} -> {qt}
  return %o : {qt}
}}"""


def main():
    cases = [("decode_i2", 2, 8, 1, False), ("decode_i4", 4, 8, 1, False),
             ("prefill_i4_causal", 4, 4, 9, True)]
    opts = kt.parse(__doc__)
    mod = kt.library(opts, "".join(function(*c) for c in cases), "kivi")
    if mod is None:
        return
    tol = kt.attention_tol(opts, 2e-5)
    rng = kt.rng()
    for name, bits, hq, sq, causal in cases:
        for length in (9, 64, 100, 200):
            if length < sq:
                continue
            q = rng.standard_normal((1, hq, sq, 96)).astype(np.float32)
            k = (rng.standard_normal((1, 2, length, 96)) + rng.standard_normal(96)).astype(np.float32)
            v = rng.standard_normal((1, 2, length, 96)).astype(np.float32)
            cache = ref.kivi_cache(k, v, bits, GROUP, RESIDUAL)
            args = [q]
            for part in (cache["k"], cache["v"]):
                args += [part["codes"], part["scale"], part["zero_point"], part["full"]]
            got = np.asarray(getattr(mod, name)(*args), np.float64)
            want = ref.attention(q, ref.kivi_decode(cache["k"]), ref.kivi_decode(cache["v"]),
                                 causal=causal)
            nk = ref.kivi_split(length, RESIDUAL)
            nv = ref.kivi_split(length, RESIDUAL, value=True)
            kt.check(f"{name} L={length} (K {nk} quantized + {length - nk} full, "
                     f"V {nv} + {length - nv})", got, want, tol)
    kt.finish()


if __name__ == "__main__":
    main()
