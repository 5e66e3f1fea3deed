#!/usr/bin/env python3
"""Fidelity of every KV-compression method kvq compiles, one table.

For each method at its default setting: bits per cached value (codes plus
scales / zero points / bases, amortized as stated), and the attention output
of the kernel compiled by kvq (CPU pipeline) against exact fp64 attention
over the uncompressed cache: cosine similarity and relative L1
(sum |o - ref| / sum |ref|). Side by side, the same metrics for the method's
recipe evaluated in NumPy (python/kvq/reference.py, fp64 after decoding),
so a difference between the two columns is the compiler's own error.

Three inputs: "random" (standard normal Q, K, V), "outliers" (K with a
per-channel bias on a few channels and 1 % of entries x20, as real keys
have; V with a few large tokens) and "low-rank" (K and V near a
24-dimensional subspace per head plus noise). Shapes: B 1, Hq 8, Hkv 2, Sq 16, Skv 512,
D 128, causal.

    python3 bench/fidelity.py            # writes build/bench/Fidelity.md and
                                         # build/bench/fidelity.json
    python3 bench/fidelity.py --update   # writes docs/Fidelity.md and
                                         # bench/results/fidelity.json
"""

import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

import kvq  # noqa: E402
from kvq import reference as ref  # noqa: E402

B, HQ, HKV, SQ, SKV, D = 1, 8, 2, 16, 512, 128
RANK = 32
KIVI_WINDOW = 128
LEV_EPS = 0.15
GEAR_RANK, GEAR_OUTLIERS = 4, 3   # GEAR's prefill rank; ~2 % of D = 128
XKV_RANK = 48                     # of G D = 256 per head (xKV: ~384 of 4096)
Q_T = f"tensor<{B}x{HQ}x{SQ}x{D}xf32>"


def t(shape, elem):
    return "tensor<" + "x".join(str(s) for s in shape) + f"x{elem}>"


KV = [B, HKV, SKV, D]

SCHEMES = {
    "int8": "#kvq.quant<i8, symmetric, token, scale = f16>",
    "fp8": "#kvq.quant<f8E4M3FN, symmetric, token, scale = f16>",
    "int4": "#kvq.quant<i4, symmetric, token, scale = f16>",
    "kivi4_k": "#kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>",
    "kivi4_v": "#kvq.quant<i4, asymmetric, group(axis = 3, size = 32), scale = f16>",
    "kivi2_k": "#kvq.quant<i2, asymmetric, group(axis = 2, size = 32), scale = f16>",
    "kivi2_v": "#kvq.quant<i2, asymmetric, group(axis = 3, size = 32), scale = f16>",
}


def quant_fn(name, ks, vs):
    """attention over dequantize(K codes), dequantize(V codes)."""
    sk, sv = ref.QuantScheme.parse(SCHEMES[ks]), ref.QuantScheme.parse(SCHEMES[vs])
    args, body = [f"%q: {Q_T}"], []
    for tag, key, s in (("k", ks, sk), ("v", vs, sv)):
        code = {"i8": "i8", "i4": "i4", "i2": "i2", "f8E4M3FN": "f8E4M3FN"}[s.dtype]
        sshape = ref.scale_shape(KV, s)
        args += [f"%{tag}c: {t(KV, code)}", f"%{tag}s: {t(sshape, 'f16')}"]
        operands = f"%{tag}c, %{tag}s"
        types = f"{t(KV, code)}, {t(sshape, 'f16')}"
        if not s.symmetric:
            args.append(f"%{tag}z: {t(sshape, 'f16')}")
            operands += f", %{tag}z"
            types += f", {t(sshape, 'f16')}"
        body.append(f"  %{tag} = kvq.dequantize {SCHEMES[key]} {operands} : {types} -> {t(KV, 'f32')}")
    return (f"func.func @{name}({', '.join(args)}) -> {Q_T} {{\n" + "\n".join(body) +
            f"\n  %o = kvq.attention q(%q : {Q_T}) k(%k : {t(KV, 'f32')}) v(%v : {t(KV, 'f32')})"
            f" {{causal}} -> {Q_T}\n  return %o : {Q_T}\n}}\n")


def module():
    fns = [
        f"func.func @fp16(%q: {Q_T}, %k: {t(KV, 'f16')}, %v: {t(KV, 'f16')}) -> {Q_T} {{\n"
        f"  %o = kvq.attention q(%q : {Q_T}) k(%k : {t(KV, 'f16')}) v(%v : {t(KV, 'f16')}) {{causal}} -> {Q_T}\n"
        f"  return %o : {Q_T}\n}}\n",
        quant_fn("int8", "int8", "int8"),
        quant_fn("fp8", "fp8", "fp8"),
        quant_fn("int4", "int4", "int4"),
        quant_fn("kivi4", "kivi4_k", "kivi4_v"),
        quant_fn("kivi2", "kivi2_k", "kivi2_v"),
    ]
    # Smoothing composed with int4, raw K in: smooth -> quantize -> dequantize.
    s4 = SCHEMES["int4"]
    vs = ref.scale_shape(KV, ref.QuantScheme.parse(s4))
    fns.append(
        f"func.func @smooth_int4(%q: {Q_T}, %k: {t(KV, 'f32')}, %vc: {t(KV, 'i4')}, %vs: {t(vs, 'f16')})"
        f" -> {Q_T} {{\n"
        f"  %ks, %km = kvq.smooth %k : {t(KV, 'f32')} -> {t(KV, 'f32')}, {t([B, HKV, 1, D], 'f32')}\n"
        f"  %c, %s = kvq.quantize {s4} %ks : {t(KV, 'f32')} -> {t(KV, 'i4')}, {t(vs, 'f16')}\n"
        f"  %kd = kvq.dequantize {s4} %c, %s : {t(KV, 'i4')}, {t(vs, 'f16')} -> {t(KV, 'f32')}\n"
        f"  %vd = kvq.dequantize {s4} %vc, %vs : {t(KV, 'i4')}, {t(vs, 'f16')} -> {t(KV, 'f32')}\n"
        f"  %o = kvq.attention q(%q : {Q_T}) k(%kd : {t(KV, 'f32')}) v(%vd : {t(KV, 'f32')}) {{causal}} -> {Q_T}\n"
        f"  return %o : {Q_T}\n}}\n")
    # Low rank (PCA basis per KV head, with mean), fp16 coordinates; and
    # low rank of twice the rank with INT8 coordinates.
    for name, r, code in (("lowrank", RANK, None), ("lowrank_int8", 2 * RANK, "i8")):
        low = [B, HKV, SKV, r]
        basis, mean = t([HKV, D, r], "f32"), t([HKV, D], "f32")
        args = [f"%q: {Q_T}"]
        body = []
        for tag in ("k", "v"):
            if code:
                sshape = [B, HKV, SKV, 1]
                args += [f"%{tag}c: {t(low, code)}", f"%{tag}s: {t(sshape, 'f16')}"]
                body.append(f"  %{tag}r = kvq.dequantize #kvq.quant<i8, symmetric, token, scale = f16> "
                            f"%{tag}c, %{tag}s : {t(low, code)}, {t(sshape, 'f16')} -> {t(low, 'f32')}")
            else:
                args.append(f"%{tag}r: {t(low, 'f16')}")
            low_t = t(low, "f32" if code else "f16")
            args += [f"%{tag}u: {basis}", f"%{tag}m: {mean}"]
            body.append(f"  %{tag} = kvq.reconstruct %{tag}r, %{tag}u, %{tag}m : {low_t}, "
                        f"{basis}, {mean} -> {t(KV, 'f32')}")
        fns.append(
            f"func.func @{name}({', '.join(args)}) -> {Q_T} {{\n" + "\n".join(body) +
            f"\n  %o = kvq.attention q(%q : {Q_T}) k(%k : {t(KV, 'f32')}) v(%v : {t(KV, 'f32')})"
            f" {{causal}} -> {Q_T}\n  return %o : {Q_T}\n}}\n")
    # Hadamard rotation -> INT4 per token (QuaRot-style); un-rotation happens
    # on the queries / output (kvq-fuse).
    rs = ref.scale_shape(KV, ref.QuantScheme.parse(s4))
    fns.append(
        f"func.func @rotate_int4(%q: {Q_T}, %kc: {t(KV, 'i4')}, %ks: {t(rs, 'f16')}, "
        f"%vc: {t(KV, 'i4')}, %vs: {t(rs, 'f16')}) -> {Q_T} {{\n"
        f"  %kr = kvq.dequantize {s4} %kc, %ks : {t(KV, 'i4')}, {t(rs, 'f16')} -> {t(KV, 'f32')}\n"
        f"  %vr = kvq.dequantize {s4} %vc, %vs : {t(KV, 'i4')}, {t(rs, 'f16')} -> {t(KV, 'f32')}\n"
        f"  %k = kvq.rotate %kr {{seed = 1, inverse}} : {t(KV, 'f32')} -> {t(KV, 'f32')}\n"
        f"  %v = kvq.rotate %vr {{seed = 2, inverse}} : {t(KV, 'f32')} -> {t(KV, 'f32')}\n"
        f"  %o = kvq.attention q(%q : {Q_T}) k(%k : {t(KV, 'f32')}) v(%v : {t(KV, 'f32')}) {{causal}} -> {Q_T}\n"
        f"  return %o : {Q_T}\n}}\n")
    # LevAttention: attention over the keys whose leverage score >= 1/32
    # (kept keys stored in fp16, the rest dropped).
    fns.append(
        f"func.func @levattention(%q: {Q_T}, %k: {t(KV, 'f16')}, %v: {t(KV, 'f16')})"
        f" -> ({Q_T}, {t([B, HKV, SKV], 'f32')}) {{\n"
        f"  %t = kvq.leverage_scores %k : {t(KV, 'f16')} -> {t([B, HKV, SKV], 'f32')}\n"
        f"  %m = kvq.select_keys %t {{epsilon = {LEV_EPS} : f64}} : {t([B, HKV, SKV], 'f32')}"
        f" -> {t([B, HQ, 1, SKV], 'f32')}\n"
        f"  %o = kvq.attention q(%q : {Q_T}) k(%k : {t(KV, 'f16')}) v(%v : {t(KV, 'f16')})"
        f" mask(%m : {t([B, HQ, 1, SKV], 'f32')}) {{causal}} -> {Q_T}\n"
        f"  return %o, %t : {Q_T}, {t([B, HKV, SKV], 'f32')}\n}}\n")
    # KIVI with its full-precision window of the newest tokens (K: the last
    # S % 128, V: the last 128), decoded inside the attention loop.
    for bits in (2, 4):
        args, body = [f"%q: {Q_T}"], []
        for tag, axis in (("k", 2), ("v", 3)):
            n = ref.kivi_split(SKV, KIVI_WINDOW, tag == "v")
            part = [B, HKV, n, D]
            win = [B, HKV, SKV - n, D]
            scheme = f"#kvq.quant<i{bits}, asymmetric, group(axis = {axis}, size = 32), scale = f16>"
            sshape = ref.scale_shape(part, ref.QuantScheme.parse(scheme))
            args += [f"%{tag}c: {t(part, f'i{bits}')}", f"%{tag}s: {t(sshape, 'f16')}",
                     f"%{tag}z: {t(sshape, 'f16')}", f"%{tag}w: {t(win, 'f16')}"]
            body.append(f"  %{tag}d = kvq.dequantize {scheme} %{tag}c, %{tag}s, %{tag}z : "
                        f"{t(part, f'i{bits}')}, {t(sshape, 'f16')}, {t(sshape, 'f16')} -> {t(part, 'f16')}")
            body.append(f"  %{tag} = tensor.concat dim(2) %{tag}d, %{tag}w : ({t(part, 'f16')}, "
                        f"{t(win, 'f16')}) -> {t(KV, 'f16')}")
        fns.append(
            f"func.func @kivi{bits}_window({', '.join(args)}) -> {Q_T} {{\n" + "\n".join(body) +
            f"\n  %o = kvq.attention q(%q : {Q_T}) k(%k : {t(KV, 'f16')}) v(%v : {t(KV, 'f16')})"
            f" {{causal}} -> {Q_T}\n  return %o : {Q_T}\n}}\n")
    # VidKV at its default (K 1.5-bit: half the channels 2-bit, the rest
    # 1-bit after an FFT; V 1.58-bit ternary; groups of 32 tokens), f16
    # side data, decoded inside the attention loop.
    nh, nl = D // 2, D - D // 2
    kg = [B, HKV, SKV // 32]
    key_t = (f"{t(KV[:3] + [nh // 4], 'i8')}, {t(kg + [nh], 'f16')}, {t(kg + [nh], 'f16')}, "
             f"{t(KV[:3] + [nl // 8], 'i8')}, {t(kg + [nl], 'f16')}, {t([B, HKV, D], 'i32')}")
    val_t = f"{t(KV[:3] + [(D + 4) // 5], 'i8')}, {t(kg + [D], 'f16')}"
    fns.append(
        f"func.func @vidkv(%q: {Q_T}, %hc: {t(KV[:3] + [nh // 4], 'i8')}, %hs: {t(kg + [nh], 'f16')}, "
        f"%hm: {t(kg + [nh], 'f16')}, %lc: {t(KV[:3] + [nl // 8], 'i8')}, %ls: {t(kg + [nl], 'f16')}, "
        f"%ch: {t([B, HKV, D], 'i32')}, %vc: {t(KV[:3] + [(D + 4) // 5], 'i8')}, %vs: {t(kg + [D], 'f16')})"
        f" -> {Q_T} {{\n"
        f"  %k = kvq.vidkv_decode_key %hc, %hs, %hm, %lc, %ls, %ch : {key_t} -> {t(KV, 'f32')}\n"
        f"  %v = kvq.vidkv_decode_value %vc, %vs : {val_t} -> {t(KV, 'f32')}\n"
        f"  %o = kvq.attention q(%q : {Q_T}) k(%k : {t(KV, 'f32')}) v(%v : {t(KV, 'f32')})"
        f" {{causal}} -> {Q_T}\n  return %o : {Q_T}\n}}\n")
    # PolarQuant at the paper's default (L = 4, bits [4, 2, 2, 2], f16 block
    # radius) on Hadamard-rotated K / V; un-rotation happens on the queries /
    # output (kvq-fuse) and the codes are decoded in the key loop.
    prad = t([B, HKV, SKV, D // 16], "f16")
    pcodes = [t([B, HKV, SKV, (D >> lv) * bw // 8], "i8") for lv, bw in enumerate((4, 2, 2, 2), start=1)]
    pargs, pbody = [f"%q: {Q_T}"], []
    for tag, seed in (("k", 1), ("v", 2)):
        pargs += [f"%{tag}r: {prad}"] + [f"%{tag}{i}: {c}" for i, c in enumerate(pcodes)]
        pbody += [f"  %{tag}d = kvq.polar_decode %{tag}r, %{tag}0, %{tag}1, %{tag}2, %{tag}3 : {prad}, "
                  f"{', '.join(pcodes)} -> {t(KV, 'f32')}",
                  f"  %{tag} = kvq.rotate %{tag}d {{seed = {seed}, inverse}} : {t(KV, 'f32')} -> {t(KV, 'f32')}"]
    fns.append(
        f"func.func @polar({', '.join(pargs)}) -> {Q_T} {{\n" + "\n".join(pbody) +
        f"\n  %o = kvq.attention q(%q : {Q_T}) k(%k : {t(KV, 'f32')}) v(%v : {t(KV, 'f32')})"
        f" {{causal}} -> {Q_T}\n  return %o : {Q_T}\n}}\n")
    # PolySketch (its own attention: polynomial, degree 4): sketched vs exact.
    for r in (32, 64):
        fns.append(
            f"func.func @polysketch_r{r}(%q: {Q_T}, %k: {t(KV, 'f32')}, %v: {t(KV, 'f32')}) -> {Q_T} {{\n"
            f"  %o = kvq.poly_attention q(%q : {Q_T}) k(%k : {t(KV, 'f32')}) v(%v : {t(KV, 'f32')})"
            f" {{sketch = {r}, seed = 1, causal}} -> {Q_T}\n  return %o : {Q_T}\n}}\n")
    # GEAR at prefill on raw K / V: outliers (fp16 values, i32 channels),
    # KIVI quantization of the remainder, rank-4 approximation of the
    # residual (fp16 factors), decoded inside the attention.
    for bits in (4, 2):
        args, body = [f"%q: {Q_T}"], []
        for tag, key in (("k", f"kivi{bits}_k"), ("v", f"kivi{bits}_v")):
            sch = SCHEMES[key]
            code = f"i{bits}"
            ss = ref.scale_shape(KV, ref.QuantScheme.parse(sch))
            sp, lr, fb = [B, HKV, SKV, GEAR_OUTLIERS], [B, HKV, SKV, GEAR_RANK], [B, HKV, GEAR_RANK, D]
            args.append(f"%{tag}: {t(KV, 'f32')}")
            body += [
                f"  %{tag}r, %{tag}i, %{tag}o = kvq.extract_outliers %{tag} {{count = {GEAR_OUTLIERS}}} : "
                f"{t(KV, 'f32')} -> {t(KV, 'f32')}, {t(sp, 'i32')}, {t(sp, 'f16')}",
                f"  %{tag}c, %{tag}s, %{tag}z = kvq.quantize {sch} %{tag}r : {t(KV, 'f32')} -> "
                f"{t(KV, code)}, {t(ss, 'f16')}, {t(ss, 'f16')}",
                f"  %{tag}d = kvq.dequantize {sch} %{tag}c, %{tag}s, %{tag}z : {t(KV, code)}, "
                f"{t(ss, 'f16')}, {t(ss, 'f16')} -> {t(KV, 'f32')}",
                f"  %{tag}e = arith.subf %{tag}r, %{tag}d : {t(KV, 'f32')}",
                f"  %{tag}a, %{tag}b = kvq.low_rank_approx %{tag}e {{rank = {GEAR_RANK}}} : {t(KV, 'f32')} -> "
                f"{t(lr, 'f16')}, {t(fb, 'f16')}",
                f"  %{tag}g = kvq.gear_decode %{tag}d, %{tag}a, %{tag}b, %{tag}i, %{tag}o : {t(KV, 'f32')}, "
                f"{t(lr, 'f16')}, {t(fb, 'f16')}, {t(sp, 'i32')}, {t(sp, 'f16')} -> {t(KV, 'f32')}"]
        fns.append(
            f"func.func @gear{bits}({', '.join(args)}) -> {Q_T} {{\n" + "\n".join(body) +
            f"\n  %o = kvq.attention q(%q : {Q_T}) k(%kg : {t(KV, 'f32')}) v(%vg : {t(KV, 'f32')})"
            f" {{causal}} -> {Q_T}\n  return %o : {Q_T}\n}}\n")
    # xKV: K (and V) of this layer and of a second one share a per-head
    # rank-XKV_RANK basis (fp16 coordinates); attention of this layer reads
    # the shared coordinates through its slice of the basis (kvq-fuse).
    low, basis = [B, HKV, SKV, XKV_RANK], [HKV, D, XKV_RANK]
    body = []
    for tag in ("k", "v"):
        body += [f"  %{tag}c, %{tag}u:2 = kvq.cross_layer_basis %{tag}, %{tag}2 {{rank = {XKV_RANK}}} : "
                 f"{t(KV, 'f32')}, {t(KV, 'f32')} -> {t(low, 'f16')}, {t(basis, 'f32')}, {t(basis, 'f32')}",
                 f"  %{tag}x = kvq.reconstruct %{tag}c, %{tag}u#0 : {t(low, 'f16')}, {t(basis, 'f32')} -> "
                 f"{t(KV, 'f32')}"]
    fns.append(
        f"func.func @xkv(%q: {Q_T}, %k: {t(KV, 'f32')}, %k2: {t(KV, 'f32')}, %v: {t(KV, 'f32')}, "
        f"%v2: {t(KV, 'f32')}) -> {Q_T} {{\n" + "\n".join(body) +
        f"\n  %o = kvq.attention q(%q : {Q_T}) k(%kx : {t(KV, 'f32')}) v(%vx : {t(KV, 'f32')})"
        f" {{causal}} -> {Q_T}\n  return %o : {Q_T}\n}}\n")

    # SageAttention2, quantized at run time from the float inputs (the K/V
    # it stores while computing: INT8 or INT4 K, FP8 V).
    for name, qk in (("sage8", "i8"), ("sage4", "i4")):
        fns.append(
            f"func.func @{name}(%q: {Q_T}, %k: {t(KV, 'f32')}, %v: {t(KV, 'f32')}) -> {Q_T} {{\n"
            f"  %o = kvq.sage_attention q(%q : {Q_T}) k(%k : {t(KV, 'f32')}) v(%v : {t(KV, 'f32')})"
            f" {{qk = {qk}, causal}} -> {Q_T}\n  return %o : {Q_T}\n}}\n")
    return "".join(fns)


def second_layer(x, seed):
    """A neighbouring layer's K or V for xKV: the same tokens seen through
    another feature map (a random rotation of the channels) plus 20 % noise,
    the token-space alignment xKV relies on."""
    rng = np.random.default_rng(seed)
    rot = np.linalg.qr(rng.standard_normal((D, D)))[0]
    return (x @ rot + 0.2 * rng.standard_normal(x.shape)).astype(np.float32)


def inputs(kind, rng):
    q = rng.standard_normal((B, HQ, SQ, D))
    k = rng.standard_normal(KV)
    v = rng.standard_normal(KV)
    if kind == "low-rank":
        # Keys and values near a 24-dimensional subspace per head, as the
        # caches of trained models are (MatryoshkaKV, xKV), plus noise.
        for x in (k, v):
            w = rng.standard_normal((HKV, 24, D))
            z = rng.standard_normal((B, HKV, SKV, 24))
            x[...] = np.einsum("bhsr,hrd->bhsd", z, w) / np.sqrt(24) + 0.1 * x
    if kind == "outliers":
        k[..., [3, 17, 80]] += np.array([10.0, -8.0, 6.0])
        mask = rng.random(KV) < 0.01
        k[mask] *= 20.0
        v[:, :, rng.choice(SKV, 4, replace=False), :] *= 15.0
    return q.astype(np.float32), k.astype(np.float32), v.astype(np.float32)


def metrics(out, exact):
    out = np.asarray(out, np.float64).ravel()
    exact = exact.ravel()
    cos = float(out @ exact / (np.linalg.norm(out) * np.linalg.norm(exact)))
    return cos, float(np.abs(out - exact).sum() / np.abs(exact).sum())


def encode(name, q, k, v):
    """(kernel arguments, recipe's decoded K, V in fp64, bits per value)."""
    def quant(x, key):
        s = ref.QuantScheme.parse(SCHEMES[key])
        c, sc, zp = ref.quantize(x, s)
        args = [c, sc] + ([zp] if zp is not None else [])
        side = sc.size * (1 if zp is None else 2) * 16
        return args, ref.dequantize(c, sc, zp, s).astype(np.float64), side
    n = k.size
    if name == "fp16":
        return [q, k.astype(np.float16), v.astype(np.float16)], \
            k.astype(np.float16).astype(np.float64), v.astype(np.float16).astype(np.float64), 16.0
    if name in ("int8", "fp8", "int4", "kivi4", "kivi2"):
        kk, vk = {"kivi4": ("kivi4_k", "kivi4_v"), "kivi2": ("kivi2_k", "kivi2_v")}.get(name, (name, name))
        ka, kd, kside = quant(k, kk)
        va, vd, vside = quant(v, vk)
        bits = {"int8": 8, "fp8": 8, "int4": 4, "kivi4": 4, "kivi2": 2}[name]
        return [q] + ka + va, kd, vd, bits + (kside + vside) / (2 * n)
    if name == "rotate_int4":
        ka, kd, kside = quant(ref.rotate(k, "hadamard", 1).astype(np.float32), "int4")
        va, vd, vside = quant(ref.rotate(v, "hadamard", 2).astype(np.float32), "int4")
        kd = ref.rotate(kd, "hadamard", 1, inverse=True)
        vd = ref.rotate(vd, "hadamard", 2, inverse=True)
        return [q] + ka + va, kd, vd, 4 + (kside + vside) / (2 * n)
    if name == "smooth_int4":
        centered, _ = ref.smooth(k)
        _, kd, kside = quant(centered.astype(np.float32), "int4")
        va, vd, vside = quant(v, "int4")
        # The recipe's K differs from K by the mean, which attention ignores.
        return [q, k] + va, kd, vd, 4 + (kside + vside + HKV * D * 16) / (2 * n)
    if name in ("lowrank", "lowrank_int8"):
        r = RANK if name == "lowrank" else 2 * RANK
        args, dec, side = [q], [], 0
        for x in (k, v):
            u, mu = ref.pca_basis(x, r)
            y = ref.project(x, u, mu).astype(np.float32)
            if name == "lowrank":
                yh = y.astype(np.float16)
                args += [yh]
                yd = yh.astype(np.float64)
                bits = 16 * r / D
            else:
                s = ref.QuantScheme.parse("#kvq.quant<i8, symmetric, token, scale = f16>")
                c, sc, _ = ref.quantize(y, s)
                args += [c, sc]
                yd = ref.dequantize(c, sc, None, s).astype(np.float64)
                bits = (8 * r + 16) / D
            args += [u.astype(np.float32), mu.astype(np.float32)]
            dec.append(ref.reconstruct(yd, u.astype(np.float32), mu.astype(np.float32)))
        return args, dec[0], dec[1], bits  # bases amortize over the sequence
    if name in ("kivi2_window", "kivi4_window"):
        bits = int(name[4])
        cache = ref.kivi_cache(k, v, bits, 32, KIVI_WINDOW)
        args, stored = [q], 0.0
        for part in (cache["k"], cache["v"]):
            args += [part["codes"], part["scale"], part["zero_point"], part["full"]]
            stored += bits * part["codes"].size + 32 * part["scale"].size + 16 * part["full"].size
        return args, ref.kivi_decode(cache["k"]), ref.kivi_decode(cache["v"]), stored / (2 * n)
    if name in ("gear4", "gear2"):
        bits = int(name[4])
        dec, side = [], 0.0
        for x, key in ((k, f"kivi{bits}_k"), (v, f"kivi{bits}_v")):
            sch = ref.QuantScheme.parse(SCHEMES[key])
            rem, idx, vals = ref.extract_outliers(x, GEAR_OUTLIERS)
            c, sc, zp = ref.quantize(rem, sch)
            deq = ref.dequantize(c, sc, zp, sch)
            a, b = ref.low_rank_approx((rem - deq).astype(np.float32), GEAR_RANK)
            a, b = a.astype(np.float16), b.astype(np.float16)
            dec.append(ref.gear_decode(deq, a, b, idx, vals.astype(np.float16)))
            # Codes, f16 scales and zero points, outliers (f16 value + i32
            # channel), fp16 factors (b amortizes over the sequence).
            side += (2 * 16 * sc.size + (16 + 32) * idx.size + 16 * (a.size + b.size)) / x.size
        return [q, k, v], dec[0], dec[1], bits + side / 2
    if name == "xkv":
        k2, v2 = second_layer(k, 1), second_layer(v, 2)
        dec = []
        for x, x2 in ((k, k2), (v, v2)):
            c, us = ref.cross_layer_basis([x, x2], XKV_RANK)
            dec.append(ref.reconstruct(c.astype(np.float16), us[0].astype(np.float32)))
        # fp16 coordinates shared by the two layers; bases amortize.
        return [q, k, k2, v, v2], dec[0], dec[1], 16 * XKV_RANK / (2 * D)
    if name == "vidkv":
        ke = ref.vidkv_encode_key(k, 0.5, 32, "f16")
        ve = ref.vidkv_encode_value(v, 32, "f16")
        kbits, vbits = ref.vidkv_bits_per_value(D, 0.5, 32, 16)
        return ([q] + list(ke) + list(ve), ref.vidkv_decode_key(*ke, group_size=32),
                ref.vidkv_decode_value(*ve, group_size=32), (kbits + vbits) / 2)
    if name == "polar":
        args, dec = [q], []
        for x, seed in ((k, 1), (v, 2)):
            radius, codes = ref.polar_encode(ref.rotate(x, "hadamard", seed).astype(np.float32))
            args += [radius] + [c.view(np.int8) for c in codes]
            dec.append(ref.rotate(ref.polar_decode(radius, codes), "hadamard", seed, inverse=True))
        return args, dec[0], dec[1], ref.polar_bits_per_value(D)
    raise KeyError(name)


LABELS = {
    "fp16": ("fp16 cache", "baseline"),
    "int8": ("INT8, per token", "f16 scale per token"),
    "fp8": ("FP8 e4m3, per token", "f16 scale per token"),
    "int4": ("INT4, per token", "symmetric"),
    "smooth_int4": ("SageAttention smoothing + INT4", "K mean removed, per token"),
    "rotate_int4": ("Hadamard rotation + INT4", "randomized Hadamard, per token"),
    "kivi4": ("KIVI 4-bit", "K per channel / V per token, groups of 32"),
    "kivi2": ("KIVI 2-bit", "K per channel / V per token, groups of 32"),
    "kivi4_window": ("KIVI 4-bit + window", f"newest tokens fp16 (K: S mod {KIVI_WINDOW}, V: {KIVI_WINDOW})"),
    "kivi2_window": ("KIVI 2-bit + window", f"newest tokens fp16 (K: S mod {KIVI_WINDOW}, V: {KIVI_WINDOW})"),
    "lowrank": (f"low rank r={RANK} (PCA)", "fp16 coordinates, per-head basis + mean"),
    "lowrank_int8": (f"low rank r={2 * RANK} + INT8", "INT8 coordinates per token"),
    "levattention": ("LevAttention", "keys with leverage >= 0.15 (fp16), others dropped"),
    "vidkv": ("VidKV K 1.5 / V 1.58-bit", "K: top-50 % range channels 2-bit, rest FFT 1-bit; "
              "V ternary; groups of 32, f16 scales"),
    "polar": ("Hadamard rotation + PolarQuant", "L=4, bits [4,2,2,2] per level, f16 block radius"),
    "polysketch_r32": ("PolySketch r=32 *", "vs exact degree-4 polynomial attention"),
    "polysketch_r64": ("PolySketch r=64 *", "vs exact degree-4 polynomial attention"),
    "gear4": ("GEAR 4-bit", f"KIVI 4-bit + rank {GEAR_RANK} residual + {GEAR_OUTLIERS} outliers / token"),
    "gear2": ("GEAR 2-bit", f"KIVI 2-bit + rank {GEAR_RANK} residual + {GEAR_OUTLIERS} outliers / token"),
    "xkv": (f"xKV r={XKV_RANK}, 2 layers", "per-head basis shared with a 2nd layer **, fp16 coordinates"),

    "sage8": ("SageAttention2 8-bit ***", "INT8 QK per thread + FP8 PV, smoothed Q and K "
              "(Llama-3.1 ppl 6.013 -> 6.019)"),
    "sage4": ("SageAttention2 4-bit QK ***", "INT4 QK per thread + FP8 PV, smoothed Q and K "
              "(Llama-3.1 ppl 6.013 -> 6.256)"),
}


def main():
    lib = kvq.compile(module(), name="fidelity")
    rng = np.random.default_rng(20261123)
    rows = []
    for kind in ("random", "outliers", "low-rank"):
        q, k, v = inputs(kind, rng)
        exact = ref.attention(q, k, v, causal=True)
        for name in LABELS:
            if name == "levattention":
                out, tau = lib.levattention(q, k.astype(np.float16), v.astype(np.float16))
                kept = np.asarray(tau) >= LEV_EPS
                bits = 16.0 * kept.mean()
                cos, l1 = metrics(out, exact)
                mask = ref.select_keys(ref.leverage_scores(k.astype(np.float16)), LEV_EPS,
                                       (B, HQ, 1, SKV))
                rcos, rl1 = metrics(ref.attention(q, k.astype(np.float16), v.astype(np.float16),
                                                  mask=mask, causal=True), exact)
            elif name.startswith("polysketch"):
                r = int(name.split("_r")[1])
                # Against its own exact form: degree-4 polynomial attention of
                # layer-normalized q, k (no softmax).
                qn = (q - q.mean(-1, keepdims=True)) / q.std(-1, keepdims=True)
                kn = (k - k.mean(-1, keepdims=True)) / k.std(-1, keepdims=True)
                poly_exact = ref.poly_attention(qn, kn, v, causal=True)
                out = getattr(lib, name)(qn.astype(np.float32), kn.astype(np.float32), v)
                cos, l1 = metrics(out, poly_exact)
                rcos, rl1 = metrics(ref.poly_attention(qn, kn, v, sketch=r, seed=1, causal=True),
                                    poly_exact)
                # The decode cache is the prefix state: r x r x (D + 1) floats per
                # KV head instead of 2 x D fp16 per token.
                bits = 32.0 * r * r * (D + 1) / (2 * D * SKV)
            elif name.startswith("sage"):
                qk = "i8" if name == "sage8" else "i4"
                out = getattr(lib, name)(q, k, v)
                cos, l1 = metrics(out, exact)
                rcos, rl1 = metrics(ref.sage_attention(q, k, v, qk=qk, causal=True), exact)
                # K codes + one f32 scale per 16 keys (per-thread groups of
                # 64), V e4m3 + one f32 scale per channel.
                kbits = (8 if qk == "i8" else 4) + 32 * 4 / 64 / D
                bits = (kbits + 8 + 32 * HKV * D / (HKV * SKV * D)) / 2
            else:
                args, kd, vd, bits = encode(name, q, k, v)
                out = getattr(lib, name)(*args)
                cos, l1 = metrics(out, exact)
                rcos, rl1 = metrics(ref.attention(q, kd, vd, causal=True), exact)
            rows.append(dict(method=name, input=kind, bits=bits, cos=cos, rel_l1=l1,
                             recipe_cos=rcos, recipe_rel_l1=rl1))
            print(f"{kind:9s} {name:14s} {bits:6.3f} bits  cos {cos:.6f}  relL1 {l1:.2e}  "
                  f"(recipe {rl1:.2e})", flush=True)
    # The committed copies are refreshed only on request.
    if "--update" in sys.argv[1:]:
        json_path = os.path.join(ROOT, "bench", "results", "fidelity.json")
        md_path = os.path.join(ROOT, "docs", "Fidelity.md")
    else:
        out = os.path.join(os.environ.get("KVQ_BUILD_DIR") or os.path.join(ROOT, "build"),
                           "bench")
        json_path = os.path.join(out, "fidelity.json")
        md_path = os.path.join(out, "Fidelity.md")
    os.makedirs(os.path.dirname(json_path), exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(rows, f, indent=1)
    with open(md_path, "w") as f:
        f.write("# Fidelity of the compression methods\n\n"
                "Generated by `python3 bench/fidelity.py --update` (do not edit). Attention output of "
                "the kernel kvq compiles for the CPU versus exact fp64 attention over the "
                f"uncompressed cache; B {B}, Hq {HQ}, Hkv {HKV}, Sq {SQ}, Skv {SKV}, D {D}, "
                "causal. *Recipe* is the same method evaluated in NumPy "
                "(`python/kvq/reference.py`, fp64 after decoding): the gap between the two is "
                "kvq's own error. *outliers*: K with a per-channel bias on 3 channels and 1 % "
                "of entries x20, V with 4 tokens x15. *low-rank*: K and V near a 24-dimensional "
                "subspace per head plus 10 % noise (the structure trained caches have; on "
                "isotropic random data no low-rank method can do well). Bits per cached value include scales and "
                "zero points; low-rank bases (per head, D x r) amortize over the sequence.\n\n")
        for kind in ("random", "outliers", "low-rank"):
            f.write(f"## {kind} inputs\n\n| method | setting | bits / value | vs fp16 | "
                    "cosine | rel. L1 | recipe cosine | recipe rel. L1 |\n"
                    "|---|---|---|---|---|---|---|---|\n")
            for r in rows:
                if r["input"] != kind:
                    continue
                label, setting = LABELS[r["method"]]
                f.write(f"| {label} | {setting} | {r['bits']:.3f} | {16 / r['bits']:.2f}x | "
                        f"{r['cos']:.6f} | {r['rel_l1']:.2e} | {r['recipe_cos']:.6f} | "
                        f"{r['recipe_rel_l1']:.2e} |\n")
            f.write("\n")
        f.write("\\* PolySketch is another attention (degree-4 polynomial of layer-normalized "
                "q, k, no softmax): its rows compare with its own exact form, not with softmax "
                f"attention, and its cache is the causal prefix state, r x r x (D + 1) f32 per "
                f"KV head, shown per cached value of a {SKV}-token fp16 cache (it does not grow "
                "with the sequence). LevAttention bits: the fraction of keys kept x 16. "
                "PolarQuant bits: the packed angle codes of every level plus one f16 radius per "
                "16 values (62 bits per 16 values), no scale or zero point.\n\n"
                "\\*\\* xKV's second layer: this layer's K / V with channels mixed by a random "
                "rotation plus 20 % noise (adjacent layers' token spaces align); the row is layer "
                "1's attention, the bits count the coordinates once for both layers.\n\n"
                "\\*\\*\\* SageAttention2 quantizes Q, K, V and the probabilities at run time "
                "(its bits are those of the K and V it computes with); its recipe column is "
                "`kvq.reference.sage_attention`, the NumPy model of its numerics. The settings "
                "cite the perplexities its paper reports for Llama-3.1 (fp16 6.013).\n\n"
                "MLA is exact"
                " (an algebraic rewrite, see test/Integration/CPU/lowrank.test).\n")
    print(f"wrote {md_path} and {json_path}")


if __name__ == "__main__":
    main()
