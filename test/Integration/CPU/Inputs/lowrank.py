"""Low-rank caches (kvq.project / kvq.reconstruct) and K smoothing
(kvq.smooth) compiled for the host CPU against the NumPy golden model, on
fresh random inputs with ragged and dynamic sizes:

* the ops on their own (per-head / GQA-shared / single bases, with and
  without a mean, f16 in and out, an empty sequence for smooth);
* attention over a low-rank K (itself INT8-quantized) and a low-rank V,
  which kvq-fuse turns into projected queries + attention over the
  low-rank cache + one reconstruction of the output (GQA, causal);
* smooth -> int4 quantize -> dequantize -> attention in one function;
* MLA (kvq.latent_attention, absorbed by kvq-absorb-latent-attention)
  against naive multi-head latent attention.

The same checks run on an NVIDIA GPU with --target=nvvm (the low-rank
decoders inside the tensor-core kernel, MLA's absorbed attention, the
other ops as element-wise kernels; attention at the GPU's tolerance): see
kvq_testing.py (test/harness) for --build-only / --prebuilt. Exits non-zero on any mismatch.
"""

import numpy as np

import kvq_testing as kt
from kvq import reference as ref

MODULE = """
func.func @project_mean(%x: tensor<2x4x?x48xf32>, %u: tensor<4x48x12xf32>, %mu: tensor<4x48xf32>)
    -> tensor<2x4x?x12xf32> {
  %r = kvq.project %x, %u, %mu : tensor<2x4x?x48xf32>, tensor<4x48x12xf32>, tensor<4x48xf32> -> tensor<2x4x?x12xf32>
  return %r : tensor<2x4x?x12xf32>
}
func.func @project_gqa_f16(%q: tensor<1x8x3x40xf16>, %u: tensor<2x40x7xf32>) -> tensor<1x8x3x7xf16> {
  %r = kvq.project %q, %u : tensor<1x8x3x40xf16>, tensor<2x40x7xf32> -> tensor<1x8x3x7xf16>
  return %r : tensor<1x8x3x7xf16>
}
func.func @reconstruct_shared(%y: tensor<?x3x5x9xf32>, %u: tensor<1x33x9xf32>, %mu: tensor<1x33xf32>)
    -> tensor<?x3x5x33xf32> {
  %x = kvq.reconstruct %y, %u, %mu : tensor<?x3x5x9xf32>, tensor<1x33x9xf32>, tensor<1x33xf32> -> tensor<?x3x5x33xf32>
  return %x : tensor<?x3x5x33xf32>
}
func.func @smooth_f16(%k: tensor<2x3x?x20xf16>) -> (tensor<2x3x?x20xf16>, tensor<2x3x1x20xf32>) {
  %c, %m = kvq.smooth %k : tensor<2x3x?x20xf16> -> tensor<2x3x?x20xf16>, tensor<2x3x1x20xf32>
  return %c, %m : tensor<2x3x?x20xf16>, tensor<2x3x1x20xf32>
}
func.func @lowrank_attention(%q: tensor<1x8x5x64xf32>, %kc: tensor<1x2x?x16xi8>, %ks: tensor<1x2x?x1xf32>,
                             %uk: tensor<2x64x16xf32>, %muk: tensor<2x64xf32>,
                             %vr: tensor<1x2x?x24xf32>, %uv: tensor<2x64x24xf32>, %muv: tensor<2x64xf32>)
    -> tensor<1x8x5x64xf32> {
  %kr = kvq.dequantize #kvq.quant<i8, symmetric, token> %kc, %ks
      : tensor<1x2x?x16xi8>, tensor<1x2x?x1xf32> -> tensor<1x2x?x16xf32>
  %k = kvq.reconstruct %kr, %uk, %muk : tensor<1x2x?x16xf32>, tensor<2x64x16xf32>, tensor<2x64xf32> -> tensor<1x2x?x64xf32>
  %v = kvq.reconstruct %vr, %uv, %muv : tensor<1x2x?x24xf32>, tensor<2x64x24xf32>, tensor<2x64xf32> -> tensor<1x2x?x64xf32>
  %o = kvq.attention q(%q : tensor<1x8x5x64xf32>) k(%k : tensor<1x2x?x64xf32>) v(%v : tensor<1x2x?x64xf32>)
      -> tensor<1x8x5x64xf32>
  return %o : tensor<1x8x5x64xf32>
}
func.func @lowrank_attention_causal(%q: tensor<1x4x6x32xf32>, %kr: tensor<1x4x?x8xf32>, %uk: tensor<4x32x8xf32>,
                                    %vr: tensor<1x4x?x8xf32>, %uv: tensor<4x32x8xf32>) -> tensor<1x4x6x32xf32> {
  %k = kvq.reconstruct %kr, %uk : tensor<1x4x?x8xf32>, tensor<4x32x8xf32> -> tensor<1x4x?x32xf32>
  %v = kvq.reconstruct %vr, %uv : tensor<1x4x?x8xf32>, tensor<4x32x8xf32> -> tensor<1x4x?x32xf32>
  %o = kvq.attention q(%q : tensor<1x4x6x32xf32>) k(%k : tensor<1x4x?x32xf32>) v(%v : tensor<1x4x?x32xf32>)
      {causal} -> tensor<1x4x6x32xf32>
  return %o : tensor<1x4x6x32xf32>
}
func.func @mla(%qn: tensor<1x16x3x32xf32>, %qr: tensor<1x16x3x16xf32>, %kv: tensor<1x1x?x80xf32>,
               %wuk: tensor<16x32x64xf32>, %wuv: tensor<16x48x64xf32>) -> tensor<1x16x3x48xf32> {
  %o = kvq.latent_attention q(%qn : tensor<1x16x3x32xf32>) q_rope(%qr : tensor<1x16x3x16xf32>)
      cache(%kv : tensor<1x1x?x80xf32>) w_uk(%wuk : tensor<16x32x64xf32>) w_uv(%wuv : tensor<16x48x64xf32>)
      {causal} -> tensor<1x16x3x48xf32>
  return %o : tensor<1x16x3x48xf32>
}
func.func @rotate_both(%x: tensor<2x3x?x16xf32>) -> (tensor<2x3x?x16xf32>, tensor<2x3x?x16xf32>) {
  %h = kvq.rotate %x {seed = 5} : tensor<2x3x?x16xf32> -> tensor<2x3x?x16xf32>
  %o = kvq.rotate %x {kind = "orthogonal", seed = 9, inverse} : tensor<2x3x?x16xf32> -> tensor<2x3x?x16xf32>
  return %h, %o : tensor<2x3x?x16xf32>, tensor<2x3x?x16xf32>
}
func.func @rotated_int4_attention(%q: tensor<1x4x2x64xf32>, %kc: tensor<1x2x?x64xi4>, %ks: tensor<1x2x?x1xf32>,
                                  %vc: tensor<1x2x?x64xi4>, %vs: tensor<1x2x?x1xf32>) -> tensor<1x4x2x64xf32> {
  %kr = kvq.dequantize #kvq.quant<i4, symmetric, token> %kc, %ks : tensor<1x2x?x64xi4>, tensor<1x2x?x1xf32> -> tensor<1x2x?x64xf32>
  %vr = kvq.dequantize #kvq.quant<i4, symmetric, token> %vc, %vs : tensor<1x2x?x64xi4>, tensor<1x2x?x1xf32> -> tensor<1x2x?x64xf32>
  %k = kvq.rotate %kr {seed = 1, inverse} : tensor<1x2x?x64xf32> -> tensor<1x2x?x64xf32>
  %v = kvq.rotate %vr {kind = "orthogonal", seed = 2, inverse} : tensor<1x2x?x64xf32> -> tensor<1x2x?x64xf32>
  %o = kvq.attention q(%q : tensor<1x4x2x64xf32>) k(%k : tensor<1x2x?x64xf32>) v(%v : tensor<1x2x?x64xf32>)
      -> tensor<1x4x2x64xf32>
  return %o : tensor<1x4x2x64xf32>
}
func.func @smooth_static(%k: tensor<1x2x50x64xf32>) -> tensor<1x2x50x64xf32> {
  %ks, %km = kvq.smooth %k : tensor<1x2x50x64xf32> -> tensor<1x2x50x64xf32>, tensor<1x2x1x64xf32>
  return %ks : tensor<1x2x50x64xf32>
}

func.func @smooth_int4_attention(%q: tensor<1x4x1x64xf32>, %k: tensor<1x2x50x64xf32>, %v: tensor<1x2x50x64xf32>)
    -> tensor<1x4x1x64xf32> {
  %ks, %km = kvq.smooth %k : tensor<1x2x50x64xf32> -> tensor<1x2x50x64xf32>, tensor<1x2x1x64xf32>
  %c, %s = kvq.quantize #kvq.quant<i4, symmetric, token> %ks
      : tensor<1x2x50x64xf32> -> tensor<1x2x50x64xi4>, tensor<1x2x50x1xf32>
  %kd = kvq.dequantize #kvq.quant<i4, symmetric, token> %c, %s
      : tensor<1x2x50x64xi4>, tensor<1x2x50x1xf32> -> tensor<1x2x50x64xf32>
  %o = kvq.attention q(%q : tensor<1x4x1x64xf32>) k(%kd : tensor<1x2x50x64xf32>) v(%v : tensor<1x2x50x64xf32>)
      -> tensor<1x4x1x64xf32>
  return %o : tensor<1x4x1x64xf32>
}
"""


def orthonormal(rng, heads, d, r):
    basis = np.stack([np.linalg.qr(rng.standard_normal((d, d)))[0][:, :r] for _ in range(heads)])
    return basis.astype(np.float32)


def main():
    opts = kt.parse(__doc__)
    mod = kt.library(opts, MODULE, "lowrank")
    if mod is None:
        return
    att_tol = kt.attention_tol(opts, 1e-5)
    rng = kt.rng()

    # The ops on their own.
    for s in (1, 37):
        x = rng.standard_normal((2, 4, s, 48)).astype(np.float32)
        u = rng.standard_normal((4, 48, 12)).astype(np.float32)
        mu = rng.standard_normal((4, 48)).astype(np.float32)
        kt.check(f"project_mean S={s}", mod.project_mean(x, u, mu), ref.project(x, u, mu), 1e-5)
    q = rng.standard_normal((1, 8, 3, 40)).astype(np.float16)
    u = rng.standard_normal((2, 40, 7)).astype(np.float32)
    kt.check("project_gqa_f16", mod.project_gqa_f16(q, u), ref.project(q, u), 2e-3)
    for b in (1, 3):
        y = rng.standard_normal((b, 3, 5, 9)).astype(np.float32)
        u = rng.standard_normal((1, 33, 9)).astype(np.float32)
        mu = rng.standard_normal((1, 33)).astype(np.float32)
        kt.check(f"reconstruct_shared B={b}", mod.reconstruct_shared(y, u, mu),
              ref.reconstruct(y, u, mu), 1e-5)
    for s in (0, 1, 29):
        k = (rng.standard_normal((2, 3, s, 20)) + 3.0).astype(np.float16)
        centered, mean = mod.smooth_f16(k)
        want_c, want_m = ref.smooth(k)
        kt.check(f"smooth_f16 centered S={s}", centered, want_c.astype(np.float16).astype(np.float64), 2e-3)
        kt.check(f"smooth_f16 mean S={s}", mean, want_m, 1e-5)

    # Attention over low-rank, quantized caches (kvq-fuse keeps them low rank).
    for length in (1, 45):
        q = rng.standard_normal((1, 8, 5, 64)).astype(np.float32)
        uk, uv = orthonormal(rng, 2, 64, 16), orthonormal(rng, 2, 64, 24)
        muk = rng.standard_normal((2, 64)).astype(np.float32)
        muv = rng.standard_normal((2, 64)).astype(np.float32)
        kr = rng.standard_normal((1, 2, length, 16)).astype(np.float32)
        vr = rng.standard_normal((1, 2, length, 24)).astype(np.float32)
        scheme = ref.QuantScheme.parse("#kvq.quant<i8, symmetric, token>")
        kc, ks, _ = ref.quantize(kr, scheme)
        k = ref.reconstruct(ref.dequantize(kc, ks, None, scheme), uk, muk)
        v = ref.reconstruct(vr, uv, muv)
        kt.check(f"lowrank_attention L={length}",
              mod.lowrank_attention(q, kc, ks, uk, muk, vr, uv, muv),
              ref.attention(q, k, v), att_tol)
    for length in (6, 20):
        q = rng.standard_normal((1, 4, 6, 32)).astype(np.float32)
        uk, uv = orthonormal(rng, 4, 32, 8), orthonormal(rng, 4, 32, 8)
        kr = rng.standard_normal((1, 4, length, 8)).astype(np.float32)
        vr = rng.standard_normal((1, 4, length, 8)).astype(np.float32)
        kt.check(f"lowrank_attention_causal L={length}",
              mod.lowrank_attention_causal(q, kr, uk, vr, uv),
              ref.attention(q, ref.reconstruct(kr, uk), ref.reconstruct(vr, uv), causal=True),
              att_tol)

    # smooth -> int4 -> attention: the composition of the references (a
    # static length: internal i4 tensors of dynamic shape hit an LLVM 22
    # narrow-type emulation limit, see docs/Quantization.md). The compiled
    # smoothing is f32, the reference's fp64: a code at a rounding boundary
    # could round the other way. So the smoothing is checked alone and the
    # reference quantizes the kernel's smoothed keys (bit-identical input).
    for length in (50,):
        q = rng.standard_normal((1, 4, 1, 64)).astype(np.float32)
        k = rng.standard_normal((1, 2, length, 64)).astype(np.float32)
        k[..., 5] += 8.0  # a channel outlier
        v = rng.standard_normal((1, 2, length, 64)).astype(np.float32)
        scheme = ref.QuantScheme.parse("#kvq.quant<i4, symmetric, token>")
        centered = np.asarray(mod.smooth_static(k))
        kt.check(f"smooth stage L={length}", centered, ref.smooth(k)[0], 1e-5)
        c, s, _ = ref.quantize(centered, scheme)
        want = ref.attention(q, ref.dequantize(c, s, None, scheme), v)
        kt.check(f"smooth_int4_attention L={length}", mod.smooth_int4_attention(q, k, v), want,
              att_tol)

    # Rotations: the compiled constants are the reference's.
    for s_ in (1, 13):
        x = rng.standard_normal((2, 3, s_, 16)).astype(np.float32)
        h, o = mod.rotate_both(x)
        kt.check(f"rotate hadamard S={s_}", h, ref.rotate(x, "hadamard", 5), 1e-5)
        kt.check(f"rotate orthogonal inverse S={s_}", o, ref.rotate(x, "orthogonal", 9, inverse=True), 1e-5)
    # rotate -> int4 (QuaRot-style): the cache holds codes of rotated K / V;
    # kvq-fuse rotates the queries once and un-rotates the output once.
    for length in (1, 37):
        q = rng.standard_normal((1, 4, 2, 64)).astype(np.float32)
        k = rng.standard_normal((1, 2, length, 64)).astype(np.float32)
        k[..., 3] += 10.0  # an outlier channel, spread by the rotation
        v = rng.standard_normal((1, 2, length, 64)).astype(np.float32)
        scheme = ref.QuantScheme.parse("#kvq.quant<i4, symmetric, token>")
        kc, ks, _ = ref.quantize(ref.rotate(k, "hadamard", 1).astype(np.float32), scheme)
        vc, vs, _ = ref.quantize(ref.rotate(v, "orthogonal", 2).astype(np.float32), scheme)
        kd = ref.rotate(ref.dequantize(kc, ks, None, scheme), "hadamard", 1, inverse=True)
        vd = ref.rotate(ref.dequantize(vc, vs, None, scheme), "orthogonal", 2, inverse=True)
        kt.check(f"rotated_int4_attention L={length}",
              mod.rotated_int4_attention(q, kc, ks, vc, vs), ref.attention(q, kd, vd), att_tol)

    # MLA: absorbed (kvq) vs naive (per-head keys and values) attention.
    for length in (3, 41):
        qn = rng.standard_normal((1, 16, 3, 32)).astype(np.float32)
        qr = rng.standard_normal((1, 16, 3, 16)).astype(np.float32)
        kv = rng.standard_normal((1, 1, length, 80)).astype(np.float32)
        wuk = (rng.standard_normal((16, 32, 64)) / 8).astype(np.float32)
        wuv = (rng.standard_normal((16, 48, 64)) / 8).astype(np.float32)
        kt.check(f"mla L={length}", mod.mla(qn, qr, kv, wuk, wuv),
              ref.latent_attention(qn, qr, kv, wuk, wuv, causal=True), att_tol)

    kt.finish()


if __name__ == "__main__":
    main()
