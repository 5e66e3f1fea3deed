"""Method compositions compiled as one function for the host CPU, against
the composition of the NumPy references (issue 5, item 7):

* smooth -> GEAR (outliers, INT4 KIVI quantization, rank-4 residual) on K,
  attention over the decoded cache;
* rotate -> INT8 per token -> inverse rotation folded into the queries
  (kvq-fuse), with a GEAR V;
* low-rank projection -> INT8 of the projected cache -> attention.

Exits non-zero on any mismatch.
"""

import numpy as np

import kvq_testing as kt

import kvq
from kvq import reference as ref

S, D, HQ, HKV, SQ = 50, 64, 4, 2, 3
K_SCHEME = "#kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>"
V_SCHEME = "#kvq.quant<i4, asymmetric, group(axis = 3, size = 32), scale = f16>"
I8 = "#kvq.quant<i8, symmetric, token>"


def t(shape, elem="f32"):
    return "tensor<" + "x".join(map(str, shape)) + f"x{elem}>"


KV, Q = [1, HKV, S, D], [1, HQ, SQ, D]
SP, LR, FB = [1, HKV, S, 3], [1, HKV, S, 4], [1, HKV, 4, D]


def gear_lines(x, tag, scheme):
    ss = ref.scale_shape(KV, ref.QuantScheme.parse(scheme))
    return [
        f"  %{tag}r, %{tag}i, %{tag}o = kvq.extract_outliers {x} {{count = 3}} : {t(KV)} -> {t(KV)}, "
        f"{t(SP, 'i32')}, {t(SP)}",
        f"  %{tag}c, %{tag}s, %{tag}z = kvq.quantize {scheme} %{tag}r : {t(KV)} -> {t(KV, 'i4')}, "
        f"{t(ss, 'f16')}, {t(ss, 'f16')}",
        f"  %{tag}d = kvq.dequantize {scheme} %{tag}c, %{tag}s, %{tag}z : {t(KV, 'i4')}, {t(ss, 'f16')}, "
        f"{t(ss, 'f16')} -> {t(KV)}",
        f"  %{tag}e = arith.subf %{tag}r, %{tag}d : {t(KV)}",
        f"  %{tag}a, %{tag}b = kvq.low_rank_approx %{tag}e {{rank = 4}} : {t(KV)} -> {t(LR)}, {t(FB)}",
        f"  %{tag}g = kvq.gear_decode %{tag}d, %{tag}a, %{tag}b, %{tag}i, %{tag}o : {t(KV)}, {t(LR)}, "
        f"{t(FB)}, {t(SP, 'i32')}, {t(SP)} -> {t(KV)}",
    ]


def module():
    smooth_gear = [f"  %sk, %sm = kvq.smooth %k : {t(KV)} -> {t(KV)}, {t([1, HKV, 1, D])}"]
    smooth_gear += gear_lines("%sk", "k", K_SCHEME) + gear_lines("%v", "v", V_SCHEME)
    rotate_int8 = [
        f"  %kr = kvq.rotate %k {{seed = 3}} : {t(KV)} -> {t(KV)}",
        f"  %kc, %kq = kvq.quantize {I8} %kr : {t(KV)} -> {t(KV, 'i8')}, {t([1, HKV, S, 1])}",
        f"  %kd = kvq.dequantize {I8} %kc, %kq : {t(KV, 'i8')}, {t([1, HKV, S, 1])} -> {t(KV)}",
        f"  %kkg = kvq.rotate %kd {{seed = 3, inverse}} : {t(KV)} -> {t(KV)}",
    ] + gear_lines("%v", "v", V_SCHEME)
    low = [1, HKV, S, 16]
    project_int8 = [
        f"  %kp = kvq.project %k, %u : {t(KV)}, {t([HKV, D, 16])} -> {t(low)}",
        f"  %kc, %kq = kvq.quantize {I8} %kp : {t(low)} -> {t(low, 'i8')}, {t([1, HKV, S, 1])}",
        f"  %kd = kvq.dequantize {I8} %kc, %kq : {t(low, 'i8')}, {t([1, HKV, S, 1])} -> {t(low)}",
        f"  %kkg = kvq.reconstruct %kd, %u : {t(low)}, {t([HKV, D, 16])} -> {t(KV)}",
        f"  %vg = arith.addf %v, %v : {t(KV)}",
    ]
    out = []
    for name, body, key, extra in (("smooth_gear", smooth_gear, "%kg", ""),
                                   ("rotate_int8", rotate_int8, "%kkg", ""),
                                   ("project_int8", project_int8, "%kkg",
                                    f", %u: {t([HKV, D, 16])}")):
        out.append(
            f"func.func @{name}(%q: {t(Q)}, %k: {t(KV)}, %v: {t(KV)}{extra}) -> {t(Q)} {{\n"
            + "\n".join(body) +
            f"\n  %o = kvq.attention q(%q : {t(Q)}) k({key} : {t(KV)}) v(%vg : {t(KV)}) {{causal}} -> {t(Q)}"
            f"\n  return %o : {t(Q)}\n}}\n")
    # The f32 stages before quantization, alone: the references quantize
    # what the kernel quantizes (see main).
    out.append(f"func.func @smooth_k(%k: {t(KV)}) -> {t(KV)} {{\n" + smooth_gear[0] +
               f"\n  return %sk : {t(KV)}\n}}\n")
    out.append(f"func.func @rotate_k(%k: {t(KV)}) -> {t(KV)} {{\n" + rotate_int8[0] +
               f"\n  return %kr : {t(KV)}\n}}\n")
    out.append(f"func.func @project_k(%k: {t(KV)}, %u: {t([HKV, D, 16])}) -> {t(low)} {{\n"
               + project_int8[0] + f"\n  return %kp : {t(low)}\n}}\n")
    return "".join(out)


def main():
    mod = kvq.compile(module(), name="compose")
    rng = kt.rng()
    ks, vs = ref.QuantScheme.parse(K_SCHEME), ref.QuantScheme.parse(V_SCHEME)
    i8 = ref.QuantScheme.parse(I8)

    def check(name, got, want, exact, tol):
        """Against the composed references; the cosine vs exact attention
        is printed (not a criterion)."""
        got = np.asarray(got, np.float64)
        cos = float((got * exact).sum() / np.linalg.norm(got) / np.linalg.norm(exact))
        kt.check(name, got, want, tol, shape=False,
                 detail=f"vs the composed references; cosine vs exact {cos:.4f}")

    for trial in range(2):
        q = rng.standard_normal(Q).astype(np.float32)
        k = (rng.standard_normal(KV) + 4.0 * rng.standard_normal(D)).astype(np.float32)
        v = rng.standard_normal(KV).astype(np.float32)
        k[..., 5] *= 8.0
        exact = ref.attention(q, k, v, causal=True)

        # Each composition starts with an f32 stage (smooth, rotate,
        # project) whose last bits depend on summation order. A code at a
        # rounding boundary would then round one way in the kernel and the
        # other in the reference: one quantization step, up to 1e-1 of the
        # method's own error over 300 trials (CI once saw 1.09e-3). So each
        # f32 stage is checked alone, and the quantizing references start
        # from the kernel's f32 stage: the composition must match to 1e-4
        # (seen: about 1e-6), with no boundary to hide behind.
        centered = ref.smooth(k)[0]
        sk = np.asarray(mod.smooth_k(k))
        check(f"smooth stage trial {trial}", sk, centered, centered, 1e-5)
        kg, _ = ref.gear(sk, ks, 3, 4)
        vg, _ = ref.gear(v, vs, 3, 4)
        # Smoothing shifts every key by the mean: attention ignores it.
        check(f"smooth_gear trial {trial}", mod.smooth_gear(q, k, v),
              ref.attention(q, kg, vg, causal=True), exact, 1e-4)

        rotated = ref.rotate(k, "hadamard", 3)
        kr = np.asarray(mod.rotate_k(k))
        check(f"rotate stage trial {trial}", kr, rotated, rotated, 1e-5)
        c, s, _ = ref.quantize(kr, i8)
        kd = ref.rotate(ref.dequantize(c, s, None, i8), "hadamard", 3, inverse=True)
        check(f"rotate_int8 trial {trial}", mod.rotate_int8(q, k, v),
              ref.attention(q, kd, vg, causal=True), exact, 1e-4)

        u = np.stack([np.linalg.qr(rng.standard_normal((D, D)))[0][:, :16]
                      for _ in range(HKV)]).astype(np.float32)
        projected = ref.project(k, u)
        kp = np.asarray(mod.project_k(k, u))
        check(f"project stage trial {trial}", kp, projected, projected, 1e-5)
        c, s, _ = ref.quantize(kp, i8)
        kd = ref.reconstruct(ref.dequantize(c, s, None, i8), u)
        check(f"project_int8 trial {trial}", mod.project_int8(q, k, v, u),
              ref.attention(q, kd, 2.0 * v.astype(np.float64), causal=True),
              ref.attention(q, k, 2.0 * v.astype(np.float64), causal=True), 1e-4)
    kt.finish()


if __name__ == "__main__":
    main()
