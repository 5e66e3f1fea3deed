"""PolarQuant (kvq.polar_encode / kvq.polar_decode) compiled for the host
CPU against the NumPy golden model (kvq.reference.polar_encode /
polar_decode) on fresh random inputs with ragged and dynamic sizes:

* codes: bit-exact. Both sides compute the angles in fp64 with the same
  atan2 and compare them with the same boundaries (the C++ and NumPy
  codebooks agree to ~1e-15, both mirroring one algorithm), so a code may
  only differ for an angle within 1e-9 of a cell boundary (a "tie"); such
  ties are counted and reported, and any other difference fails;
* radius: bit-exact (fp64 norm, rounded to f32, then to the radius type);
* decode: within f32 rounding (cos / sin tables in f32) of the fp64
  reference decoding the same codes;
* layouts: the defaults (L = 4, bits [4, 2, 2, 2], f16 radius, D = 128),
  and padded rows (D = 12 at bits [4, 1]; D = 40 at [2, 4, 1]);
* attention over PolarQuant K and V of other layouts (D 40 at bits
  [2, 4, 1], D 12 at [4, 1], D 32 at 1 bit per level), decoded inside the
  key loop, against NumPy attention over the reference decoding;
* attention over a PolarQuant cache (GQA, causal, dynamic length): the
  prefill rotate -> polar_encode compiled, then attention over
  rotate^-1(polar_decode(codes)) for K and V, which kvq-fuse turns into
  attention with rotated queries over the decoded (still rotated) cache,
  decoded inside the key loop (KVDecoderOpInterface), against NumPy
  attention over the reference decoding of the same codes; and the cosine
  similarity of the output with fp32 attention over the original K, V.

The same checks run on an NVIDIA GPU with --target=nvvm (the decoders of
K and V inside the tensor-core kernel; attention at the GPU's tolerance):
see kvq_testing.py (test/harness) for --build-only / --prebuilt. Exits non-zero on any
mismatch.
"""

import numpy as np

import kvq_testing as kt
from kvq import reference as ref


def t(shape, elem):
    return "tensor<" + "x".join("?" if s is None else str(s) for s in shape) + f"x{elem}>"


# (name, [B, H, S, D] with None for dynamic, levels, bits, input, radius, output types)
CASES = [
    ("default", [2, 3, None, 128], 4, (4, 2, 2, 2), "f32", "f16", "f32"),
    ("padded", [None, 2, 5, 12], 2, (4, 1), "f16", "f32", "f32"),
    ("three_levels", [1, 3, 7, 40], 3, (2, 4, 1), "f32", "bf16", "f16"),
]


def module():
    fns = []
    for name, shape, levels, bits, tin, trad, tout in CASES:
        d = shape[3]
        lead = shape[:3]
        rad = t(lead + [d >> levels], trad)
        codes = [t(lead + [((d >> lv) * b + 7) // 8], "i8") for lv, b in enumerate(bits, start=1)]
        attrs = f"{{levels = {levels}, bits = array<i64: {', '.join(map(str, bits))}>}}"
        names = [f"%c{i}" for i in range(levels)]
        fns.append(
            f"func.func @encode_{name}(%x: {t(shape, tin)}) -> ({rad}, {', '.join(codes)}) {{\n"
            f"  %r, {', '.join(names)} = kvq.polar_encode %x {attrs} : {t(shape, tin)} -> {rad}, "
            f"{', '.join(codes)}\n"
            f"  return %r, {', '.join(names)} : {rad}, {', '.join(codes)}\n}}\n")
        args = ", ".join(f"{n}: {c}" for n, c in zip(names, codes))
        fns.append(
            f"func.func @decode_{name}(%r: {rad}, {args}) -> {t(shape, tout)} {{\n"
            f"  %d = kvq.polar_decode %r, {', '.join(names)} {attrs} : {rad}, {', '.join(codes)}"
            f" -> {t(shape, tout)}\n"
            f"  return %d : {t(shape, tout)}\n}}\n")
    fns.append(attention_fns())
    fns.extend(layout_attention_fn(*case) for case in LAYOUTS)
    return "".join(fns)


HQ, HKV, SQ, DA = 8, 2, 5, 64


def attention_fns():
    kv = [1, HKV, None, DA]
    rad = t(kv[:3] + [DA >> 4], "f16")
    codes = [t(kv[:3] + [((DA >> lv) * b + 7) // 8], "i8") for lv, b in enumerate((4, 2, 2, 2), start=1)]
    q = t([1, HQ, SQ, DA], "f32")
    out = [f"func.func @prefill(%x: {t(kv, 'f32')}, %seed_unused: index) -> ({rad}, {', '.join(codes)}) {{",
           f"  %xr = kvq.rotate %x {{seed = 1}} : {t(kv, 'f32')} -> {t(kv, 'f32')}",
           f"  %r, %c0, %c1, %c2, %c3 = kvq.polar_encode %xr : {t(kv, 'f32')} -> {rad}, {', '.join(codes)}",
           f"  return %r, %c0, %c1, %c2, %c3 : {rad}, {', '.join(codes)}", "}"]
    args = [f"%q: {q}"]
    body = []
    for tag, seed in (("k", 1), ("v", 2)):
        args += [f"%{tag}r: {rad}"] + [f"%{tag}{i}: {c}" for i, c in enumerate(codes)]
        body += [f"  %{tag}d = kvq.polar_decode %{tag}r, %{tag}0, %{tag}1, %{tag}2, %{tag}3 : {rad}, "
                 f"{', '.join(codes)} -> {t(kv, 'f32')}",
                 f"  %{tag} = kvq.rotate %{tag}d {{seed = {seed}, inverse}} : {t(kv, 'f32')} -> {t(kv, 'f32')}"]
    out += [f"func.func @polar_attention({', '.join(args)}) -> {q} {{"] + body + [
        f"  %o = kvq.attention q(%q : {q}) k(%k : {t(kv, 'f32')}) v(%v : {t(kv, 'f32')}) {{causal}} -> {q}",
        f"  return %o : {q}", "}"]
    return "\n".join(out) + "\n"


# Attention over PolarQuant K and V of other layouts, decoded inside the
# key loop (no rotation: a Hadamard rotation needs a power-of-two head
# dimension): (name, head dimension, levels, bits). D 40 leaves 8 lanes of
# the last 16-lane chunk past the head dimension; 1-bit codes make tables
# of 4 cosines and sines, the 4-bit second level one of 32.
LAYOUTS = [
    ("three_levels", 40, 3, (2, 4, 1)),
    ("two_levels", 12, 2, (4, 1)),
    ("one_bit", 32, 4, (1, 1, 1, 1)),
]


def layout_types(d, levels, bits):
    kv = [1, HKV, None, d]
    rad = t(kv[:3] + [d >> levels], "f32")
    codes = [t(kv[:3] + [((d >> lv) * b + 7) // 8], "i8") for lv, b in enumerate(bits, start=1)]
    return kv, rad, codes


def layout_attention_fn(name, d, levels, bits):
    kv, rad, codes = layout_types(d, levels, bits)
    q = t([1, HQ, SQ, d], "f32")
    attrs = f"{{levels = {levels}, bits = array<i64: {', '.join(map(str, bits))}>}}"
    args = [f"%q: {q}"]
    body = []
    for tag in ("k", "v"):
        names = [f"%{tag}{i}" for i in range(levels)]
        args += [f"%{tag}r: {rad}"] + [f"{n}: {c}" for n, c in zip(names, codes)]
        body.append(f"  %{tag} = kvq.polar_decode %{tag}r, {', '.join(names)} {attrs} : {rad}, "
                    f"{', '.join(codes)} -> {t(kv, 'f32')}")
    return "\n".join([f"func.func @attention_{name}({', '.join(args)}) -> {q} {{"] + body + [
        f"  %o = kvq.attention q(%q : {q}) k(%k : {t(kv, 'f32')}) v(%v : {t(kv, 'f32')}) -> {q}",
        f"  return %o : {q}", "}"]) + "\n"


NP = {"f32": np.float32, "f16": np.float16, "bf16": ref.SCALE_DTYPES["bf16"]}


def main():
    opts = kt.parse(__doc__)
    mod = kt.library(opts, module(), "polar")
    if mod is None:
        return
    att_tol = kt.attention_tol(opts, 1e-5)
    rng = kt.rng()

    for name, shape, levels, bits, tin, trad, tout in CASES:
        for dyn in (1, 29):
            full = [dyn if s is None else s for s in shape]
            label = f"{name} {tuple(full)}" + ("" if None in shape else f" #{dyn}")
            x = rng.standard_normal(full) * rng.uniform(0.2, 4.0, full[-1])
            if name == "default" and dyn > 1:
                x[..., 0, :] = 0.0  # an all-zero token (atan2(0, 0) = 0)
                x[..., -1, 5] = -0.0
            x = x.astype(NP[tin])
            got = getattr(mod, f"encode_{name}")(x)
            radius, codes = got[0], got[1:]
            want_r, want_c = ref.polar_encode(x, levels, bits, NP[trad])
            angles, _ = ref.polar_angles(x, levels)
            # Codes: equal, except at ties.
            ties, bad = 0, 0
            for level, (g, w, a, b) in enumerate(zip(codes, want_c, angles, bits), start=1):
                g = np.asarray(g).view(np.uint8)
                if g.shape != w.shape:
                    bad += 1
                    continue
                gu = ref._unpack_rows(g, b, a.shape[-1])
                wu = ref._unpack_rows(w, b, a.shape[-1])
                c = ref.polar_codebook(level, b)
                gap = np.abs(a[..., None] - 0.5 * (c[:-1] + c[1:])).min(-1)
                diff = gu != wu
                ties += int((diff & (gap < 1e-9)).sum())
                bad += int((diff & (gap >= 1e-9)).sum())
                # Unused high bits of padded bytes are zero.
                bad += int(np.sum(g != w) - np.sum(ref._pack_rows(gu, b) != w))
            kt.report(f"encode {label} codes", bad == 0, f"{bad} mismatches, {ties} ties")
            r = np.asarray(radius)
            same = r.shape == want_r.shape and np.array_equal(
                r.view(np.uint16 if r.itemsize == 2 else np.uint32),
                want_r.view(np.uint16 if want_r.itemsize == 2 else np.uint32))
            kt.report(f"encode {label} radius", same, "bit-exact" if same else "differs")
            # Decode the reference's codes.
            dec = np.asarray(getattr(mod, f"decode_{name}")(want_r, *[c.view(np.int8) for c in want_c]),
                             dtype=np.float64)
            want = ref.polar_decode(want_r, want_c, levels, bits)
            tol = {"f32": 2e-6, "f16": 2e-3, "bf16": 1e-2}[tout]
            kt.check(f"decode {label}", dec, want, tol, finite=False)
            # The round trip is PolarQuant's (not the compiler's) error.
            rel = float(((want - x) ** 2).sum() / max((x.astype(np.float64) ** 2).sum(), 1e-30))
            print(f"     round trip {label}: relative MSE {rel:.4f}")

    # Attention over a PolarQuant cache of rotated K (seed 1) and V (seed 2).
    for length in (5, 83):
        q = rng.standard_normal((1, HQ, SQ, DA)).astype(np.float32)
        k = rng.standard_normal((1, HKV, length, DA)).astype(np.float32)
        k[..., 7] += 4.0  # an outlier channel, spread by the rotation
        v = rng.standard_normal((1, HKV, length, DA)).astype(np.float32)
        # Prefill compiled for K; its codes are the reference's of the
        # rotated keys except at angles near a cell boundary (the compiled
        # rotation is f32, the reference's fp64).
        kenc = [np.asarray(a) for a in mod.prefill(k, 0)]
        angles, _ = ref.polar_angles(ref.rotate(k, "hadamard", 1))
        far = 0
        for level, (g, a, b) in enumerate(zip(kenc[1:], angles, (4, 2, 2, 2)), start=1):
            gu = ref._unpack_rows(g.view(np.uint8), b, a.shape[-1])
            c = ref.polar_codebook(level, b)
            gap = np.abs(a[..., None] - 0.5 * (c[:-1] + c[1:])).min(-1)
            far += int(((gu != ref.polar_quantize_angles(a, level, b)) & (gap > 1e-4)).sum())
        kt.report(f"prefill L={length}", far == 0, f"{far} codes differ away from cell boundaries")
        vr, vc = ref.polar_encode(ref.rotate(v, "hadamard", 2).astype(np.float32))
        venc = [vr] + [c.view(np.int8) for c in vc]
        out = np.asarray(mod.polar_attention(q, *kenc, *venc), dtype=np.float64)
        kd = ref.rotate(ref.polar_decode(kenc[0], [c.view(np.uint8) for c in kenc[1:]]), "hadamard", 1,
                        inverse=True)
        vd = ref.rotate(ref.polar_decode(vr, vc), "hadamard", 2, inverse=True)
        want = ref.attention(q, kd, vd, causal=True)
        kt.check(f"polar_attention L={length}", out, want, att_tol, shape=False, finite=False)
        exact = ref.attention(q, k, v, causal=True).ravel()
        cos = float(out.ravel() @ exact / (np.linalg.norm(out) * np.linalg.norm(exact)))
        kt.report(f"polar_attention L={length} vs fp32", cos > 0.94, f"cosine {cos:.4f} (> 0.94)")

    for name, d, levels, bits in LAYOUTS:
        length = 37
        q = rng.standard_normal((1, HQ, SQ, d)).astype(np.float32)
        enc = []
        for _ in range(2):
            x = rng.standard_normal((1, HKV, length, d))
            radius, codes = ref.polar_encode(x, levels, bits, np.float32)
            enc.append((radius, codes))
        args = [a for radius, codes in enc for a in [radius] + [c.view(np.int8) for c in codes]]
        out = np.asarray(getattr(mod, f"attention_{name}")(q, *args), dtype=np.float64)
        kd, vd = (ref.polar_decode(radius, codes, levels, bits) for radius, codes in enc)
        kt.check(f"attention {name} D={d} bits={bits}", out, ref.attention(q, kd, vd), att_tol,
                 shape=False, finite=False)

    kt.finish()


if __name__ == "__main__":
    main()
