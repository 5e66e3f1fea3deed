"""The prefill-side method ops on the GPU path (kvq-nvvm-pipeline:
lowered to linalg, bufferized, mapped to element-wise kernels by
kvq-gpu-map-loops), executed with --target=nvvm-emulated: the GPU
emulator runs every kernel's blocks and threads on the host, so the index
linearization, bounds checks, device-buffer placement and launch order are
checked without a GPU.

Each function is compiled twice, for the GPU path (emulated) and for the
CPU, and run on the same fresh random inputs with ragged, dynamic lengths.
The GPU path must match the NumPy golden model where the op has a closed
form (leverage scores, key selection, smoothing, projection,
reconstruction, outlier extraction, fragment quantization) and the CPU
kernel everywhere: integer codes and indices exactly, floats to 1e-5 (both
compute in the same precision; only the order of a reduction may differ).

    python3 emulated_methods.py [--target=nvvm-emulated|nvvm]
                                [--build-only DIR | --prebuilt DIR]

With --target=nvvm (a GPU and the CUDA runtime needed) the same checks run
the real kernels; --build-only compiles both libraries into DIR (the CPU
one for x86-64-v3) for a GPU machine without LLVM, --prebuilt loads them
there (scripts/gpu-artifacts.sh, scripts/gpu-check.sh). Exits non-zero on
any mismatch.
"""

import os

import numpy as np

import kvq_testing as kt

import kvq
from kvq import reference as ref


def t(shape, elem="f32"):
    return "tensor<" + "x".join(map(str, shape)) + f"x{elem}>"


S = "?"
KV = [1, 2, S, 64]
MODULE = f"""
func.func @polar(%k: {t(KV)}) -> ({t([1, 2, S, 4], 'f16')}, {t([1, 2, S, 16], 'i8')}, {t([1, 2, S, 4], 'i8')},
                                  {t([1, 2, S, 2], 'i8')}, {t([1, 2, S, 1], 'i8')}) {{
  %r, %c1, %c2, %c3, %c4 = kvq.polar_encode %k : {t(KV)} -> {t([1, 2, S, 4], 'f16')}, {t([1, 2, S, 16], 'i8')},
      {t([1, 2, S, 4], 'i8')}, {t([1, 2, S, 2], 'i8')}, {t([1, 2, S, 1], 'i8')}
  return %r, %c1, %c2, %c3, %c4 : {t([1, 2, S, 4], 'f16')}, {t([1, 2, S, 16], 'i8')}, {t([1, 2, S, 4], 'i8')},
      {t([1, 2, S, 2], 'i8')}, {t([1, 2, S, 1], 'i8')}
}}

func.func @vidkv_key(%k: {t([1, 2, S, 20])}) -> ({t([1, 2, S, 3], 'i8')}, {t([1, 2, S, 10])}, {t([1, 2, S, 10])},
                                              {t([1, 2, S, 2], 'i8')}, {t([1, 2, S, 10])}, {t([1, 2, 20], 'i32')}) {{
  %hc, %hs, %hm, %lc, %ls, %ch = kvq.vidkv_encode_key %k : {t([1, 2, S, 20])} -> {t([1, 2, S, 3], 'i8')},
      {t([1, 2, S, 10])}, {t([1, 2, S, 10])}, {t([1, 2, S, 2], 'i8')}, {t([1, 2, S, 10])}, {t([1, 2, 20], 'i32')}
  return %hc, %hs, %hm, %lc, %ls, %ch : {t([1, 2, S, 3], 'i8')}, {t([1, 2, S, 10])}, {t([1, 2, S, 10])},
      {t([1, 2, S, 2], 'i8')}, {t([1, 2, S, 10])}, {t([1, 2, 20], 'i32')}
}}

func.func @vidkv_value(%v: {t([1, 2, 45, 20])}) -> ({t([1, 2, 45, 4], 'i8')}, {t([1, 2, 3, 20])}) {{
  %c, %s = kvq.vidkv_encode_value %v {{group_size = 16}} : {t([1, 2, 45, 20])} -> {t([1, 2, 45, 4], 'i8')}, {t([1, 2, 3, 20])}
  return %c, %s : {t([1, 2, 45, 4], 'i8')}, {t([1, 2, 3, 20])}
}}

func.func @gear(%k: {t(KV)}) -> ({t(KV)}, {t([1, 2, S, 3], 'i32')}, {t([1, 2, S, 3])}, {t([1, 2, S, 4])},
                                {t([1, 2, 4, 64])}, {t(KV)}) {{
  %rem, %idx, %val = kvq.extract_outliers %k {{count = 3}} : {t(KV)} -> {t(KV)}, {t([1, 2, S, 3], 'i32')}, {t([1, 2, S, 3])}
  %c, %s, %z = kvq.quantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %rem
      : {t(KV)} -> {t(KV, 'i4')}, {t(KV, 'f16')}, {t(KV, 'f16')}
  %d = kvq.dequantize #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16> %c, %s, %z
      : {t(KV, 'i4')}, {t(KV, 'f16')}, {t(KV, 'f16')} -> {t(KV)}
  %res = arith.subf %rem, %d : {t(KV)}
  %a, %b = kvq.low_rank_approx %res {{rank = 4}} : {t(KV)} -> {t([1, 2, S, 4])}, {t([1, 2, 4, 64])}
  %x = kvq.gear_decode %d, %a, %b, %idx, %val : {t(KV)}, {t([1, 2, S, 4])}, {t([1, 2, 4, 64])},
      {t([1, 2, S, 3], 'i32')}, {t([1, 2, S, 3])} -> {t(KV)}
  return %rem, %idx, %val, %a, %b, %x : {t(KV)}, {t([1, 2, S, 3], 'i32')}, {t([1, 2, S, 3])}, {t([1, 2, S, 4])},
      {t([1, 2, 4, 64])}, {t(KV)}
}}

func.func @xkv(%k0: {t(KV)}, %k1: {t(KV)}) -> ({t([1, 2, S, 24])}, {t([2, 64, 24])}, {t([2, 64, 24])}) {{
  %c, %u:2 = kvq.cross_layer_basis %k0, %k1 {{rank = 24}} : {t(KV)}, {t(KV)}
      -> {t([1, 2, S, 24])}, {t([2, 64, 24])}, {t([2, 64, 24])}
  return %c, %u#0, %u#1 : {t([1, 2, S, 24])}, {t([2, 64, 24])}, {t([2, 64, 24])}
}}

func.func @leverage(%k: {t([1, 2, S, 16])}) -> ({t([1, 2, S])}, {t([1, 4, 1, S])}, {t([1, 4, 1, S])}) {{
  %t = kvq.leverage_scores %k : {t([1, 2, S, 16])} -> {t([1, 2, S])}
  %m = kvq.select_keys %t {{epsilon = 0.05 : f64}} : {t([1, 2, S])} -> {t([1, 4, 1, S])}
  %top = kvq.select_keys %t {{top = 7}} : {t([1, 2, S])} -> {t([1, 4, 1, S])}
  return %t, %m, %top : {t([1, 2, S])}, {t([1, 4, 1, S])}, {t([1, 4, 1, S])}
}}

func.func @smooth_project(%k: {t(KV)}, %u: {t([2, 64, 12])}, %mu: {t([2, 64])})
    -> ({t(KV)}, {t([1, 2, 1, 64])}, {t([1, 2, S, 12])}, {t(KV)}) {{
  %ks, %km = kvq.smooth %k : {t(KV)} -> {t(KV)}, {t([1, 2, 1, 64])}
  %p = kvq.project %k, %u, %mu : {t(KV)}, {t([2, 64, 12])}, {t([2, 64])} -> {t([1, 2, S, 12])}
  %r = kvq.reconstruct %p, %u, %mu : {t([1, 2, S, 12])}, {t([2, 64, 12])}, {t([2, 64])} -> {t(KV)}
  return %ks, %km, %p, %r : {t(KV)}, {t([1, 2, 1, 64])}, {t([1, 2, S, 12])}, {t(KV)}
}}

func.func @sage_quantize(%q: {t([1, 2, 70, 64])}) -> ({t([1, 2, 70, 64], 'i8')}, {t([1, 2, 24, 1])}) {{
  %c, %s = kvq.quantize #kvq.quant<i8, symmetric, fragment(rows = 32, period = 8, run = 1)> %q
      : {t([1, 2, 70, 64])} -> {t([1, 2, 70, 64], 'i8')}, {t([1, 2, 24, 1])}
  return %c, %s : {t([1, 2, 70, 64], 'i8')}, {t([1, 2, 24, 1])}
}}
"""

def same(label, got, want, tol=1e-5):
    """Integer arrays exactly, floats to `tol` of max |want| (infinities,
    e.g. of additive masks, exactly)."""
    if np.asarray(want).dtype.kind in "iub":
        return kt.check(label, got, want, integers=True)
    return kt.check(label, got, want, tol, infinities=True)


def main():
    opts = kt.parse(__doc__, targets=("nvvm-emulated", "nvvm"), default_target="nvvm-emulated",
                    options=False)
    if opts.prebuilt:
        gpu = kvq.runtime.load(os.path.join(opts.prebuilt, "gpu"))
        cpu = kvq.runtime.load(os.path.join(opts.prebuilt, "cpu"))
    else:
        build = opts.build_only
        gpu = kvq.compile(MODULE, name="gpu_path", target=opts.target,
                          build_dir=build and os.path.join(build, "gpu"))
        cpu = kvq.compile(MODULE, name="cpu", build_dir=build and os.path.join(build, "cpu"),
                          options=["--mcpu=x86-64-v3"] if build else None)
        if build:
            print(f"built {build}")
            return
    rng = kt.rng()

    def both(fn, *args, **kw):
        return ([np.asarray(a) for a in _tuple(getattr(gpu, fn)(*args, **kw))],
                [np.asarray(a) for a in _tuple(getattr(cpu, fn)(*args, **kw))])

    for s in (1, 37, 130):
        k = rng.standard_normal((1, 2, s, 64)).astype(np.float32)
        k[..., 7] += 6.0
        g, c = both("polar", k)
        for i, name in enumerate(("radius", "codes1", "codes2", "codes3", "codes4")):
            same(f"polar {name} S={s} vs CPU", g[i], c[i])
        same(f"polar radius S={s} vs NumPy", g[0], ref.polar_encode(k)[0], 1e-3)

        k20 = rng.standard_normal((1, 2, s, 20)).astype(np.float32)
        g, c = both("vidkv_key", k20)
        for i, name in enumerate(("high codes", "high scale", "high min", "low codes", "low scale",
                                  "channels")):
            same(f"vidkv key {name} S={s} vs CPU", g[i], c[i])

        # GEAR's outputs do not all follow from the input's shape alone.
        g, c = both("gear", k, out_shapes=[(1, 2, s, 64), (1, 2, s, 3), (1, 2, s, 3), (1, 2, s, 4),
                                           (1, 2, 4, 64), (1, 2, s, 64)])
        want = ref.extract_outliers(k, 3)
        for i, name in enumerate(("remainder", "indices", "values")):
            same(f"gear {name} S={s} vs NumPy", g[i], want[i], 0.0)
        for i, name in enumerate(("remainder", "indices", "values", "A", "B", "decoded")):
            same(f"gear {name} S={s} vs CPU", g[i], c[i])

        k1 = rng.standard_normal((1, 2, s, 64)).astype(np.float32)
        g, c = both("xkv", k, k1)
        for i, name in enumerate(("coefficients", "basis 0", "basis 1")):
            same(f"xkv {name} S={s} vs CPU", g[i], c[i])

        k16 = rng.standard_normal((1, 2, s, 16)).astype(np.float32)
        g, c = both("leverage", k16)
        tau = ref.leverage_scores(k16)
        same(f"leverage scores S={s} vs NumPy", g[0], tau, 1e-4)
        same(f"select_keys epsilon S={s} vs NumPy", g[1],
             ref.select_keys(g[0], 0.05, (1, 4, 1, s)), 0.0)
        same(f"select_keys top S={s} vs NumPy", g[2],
             ref.select_keys(g[0], None, (1, 4, 1, s), top=7), 0.0)
        for i, name in enumerate(("scores", "epsilon mask", "top mask")):
            same(f"leverage {name} S={s} vs CPU", g[i], c[i])

        u = np.stack([np.linalg.qr(rng.standard_normal((64, 64)))[0][:, :12]
                      for _ in range(2)]).astype(np.float32)
        mu = rng.standard_normal((2, 64)).astype(np.float32)
        g, c = both("smooth_project", k, u, mu)
        centered, mean = ref.smooth(k)
        same(f"smooth S={s} vs NumPy", g[0], centered)
        same(f"smooth mean S={s} vs NumPy", g[1], mean)
        p = ref.project(k, u, mu)
        same(f"project S={s} vs NumPy", g[2], p)
        same(f"reconstruct S={s} vs NumPy", g[3], ref.reconstruct(g[2], u, mu))
        for i, name in enumerate(("smooth", "mean", "project", "reconstruct")):
            same(f"smooth_project {name} S={s} vs CPU", g[i], c[i])

    v = rng.standard_normal((1, 2, 45, 20)).astype(np.float32)
    g, c = both("vidkv_value", v)
    same("vidkv value codes vs CPU", g[0], c[0])
    same("vidkv value scales vs CPU", g[1], c[1])
    want = ref.vidkv_encode_value(v, group_size=16)
    same("vidkv value scales vs NumPy", g[1], want[1], 1e-5)

    q = rng.standard_normal((1, 2, 70, 64)).astype(np.float32)
    g, c = both("sage_quantize", q)
    scheme = ref.QuantScheme.parse("#kvq.quant<i8, symmetric, fragment(rows = 32, period = 8, run = 1)>")
    codes, scale, _ = ref.quantize(q, scheme)
    same("sage fragment codes vs NumPy", g[0], codes.astype(np.int8), 0.0)
    same("sage fragment scales vs NumPy", g[1], scale, 0.0)
    kt.finish()


def _tuple(x):
    return x if isinstance(x, tuple) else (x,)


if __name__ == "__main__":
    main()
