#!/usr/bin/env python3
"""CPU decode benchmark: kvq over plain and quantized KV caches, next to
the read bandwidth of the same machine and to peers, in one run.

For each cache type kvq compiles one decode kernel (q_len 1, Hq 32, Hkv 8,
D 128, dynamic batch and cache length; same pipeline and default schedule
for all), checks it against the fp64 reference at a ragged length, then
times decode steps over a grid of batch sizes and cache lengths:

* the ceiling is the multi-threaded read bandwidth measured in this run
  (a STREAM-like sum over 1 GiB on the same number of threads,
  cpu_limits.c); each kernel's rate is the bytes of its cache (codes and
  scales: the compressed bytes) per second, and its fraction of that
  ceiling is reported;
* the last-level cache is flushed before every timed call (256 MiB read
  and written), so a cache that would fit in L3 is still read from memory;
* every time is the median of --reps calls; /proc/loadavg is recorded
  before and after (timings on a loaded machine are not meaningful);
* kvq's kernels are timed as bound calls (``Entry.bind``: arguments
  checked once, each call goes straight to the C entry point), as the
  ggml harness times the compute of a graph it built beforehand;
* peers, in the same run on the same shapes (built or found on demand,
  never in CI; see cpu_peers.py): ik_llama.cpp's flash attention (iqk
  kernels) with its q8_0 / q4_0 / f16 caches and llama.cpp's mainline ggml,
  PyTorch's scaled_dot_product_attention when torch is installed.

The compression methods (GEAR at 4 and 2 bits, Hadamard rotation +
PolarQuant, VidKV, low rank r 32 in f16 and r 64 in INT8; METHODS below,
each at its default from docs/Methods.md) are timed only with --methods
(all of them, after the cache types) or when named in --variants
("--variants methods": all of them alone, under a minute): their decoders
make them 10-100x slower per call than the cache types (PolarQuant takes
about 0.2 s at b 8, L 32k; docs/CPU.md), and the default run compares
cache types with their peers. Their rate counts every array the
kernel reads (codes, scales and zero points, low-rank factors and bases,
outlier channels and values); each is checked first against fp64
attention over the reference models' decoding of the same arrays.

Writes JSON + Markdown under build/bench/ (--out DIR elsewhere; --out
bench/results records them with the sources): cpu_decode-DATE, or
cpu_decode_methods-DATE for a run of the methods (alone, or with some
of the cache types to compare with, as
``--variants methods fp32 int4+dot+pv``).

    python3 bench/cpu_decode.py                      # b 1,8 x L 16k,32k
    python3 bench/cpu_decode.py --batch 1 --lengths 16384 --reps 9 --peers none
    python3 bench/cpu_decode.py --variants methods --lengths 16384 --reps 7 --peers none
    python3 bench/cpu_decode.py --methods            # the cache types, then the methods
"""

import os

# NumPy's OpenBLAS threads spin after NumPy calls and take cores from the
# kernels being timed: one thread (set before NumPy loads).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import datetime
import json
import platform
import sys
import time

import ml_dtypes
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, HERE)

import kvq  # noqa: E402
from kvq import reference as ref  # noqa: E402
from kvq.builder import attention_module  # noqa: E402

import cpu_peers  # noqa: E402
from cpu_limits import Limits, loadavg  # noqa: E402
import results  # noqa: E402

HQ, HKV, D = 32, 8, 128
INT8 = "#kvq.quant<i8, symmetric, group(axis = 3, size = 32), scale = f16>"
INT4 = "#kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>"
# name: (K / V scheme, K / V element type without one, kvq-compile options).
# The "+dot" variants compute the scores as int8 dot products (schedule
# int8-dot: the query quantized per 32 channels, AVX512-VNNI where the CPU
# has it); the others in f32. The "+pv" variants also compute P V as int8
# dot products (schedule int8-pv: the weights p * scale quantized to 8
# bits per block of keys). A scheme may be a (K scheme, V scheme) pair:
# KIVI quantizes K per channel over groups of 32 tokens (int8-dot then
# folds the key scales into the query once per group) and V per token over
# groups of 32 channels, both asymmetric (int8-pv takes 4-bit and 2-bit
# values; a 2-bit span of 16 code bytes holds two groups, each lane taking
# its own group's weights).
KIVI_KV = {bits: (f"#kvq.quant<i{bits}, asymmetric, group(axis = 2, size = 32), scale = f16>",
                  f"#kvq.quant<i{bits}, asymmetric, group(axis = 3, size = 32), scale = f16>")
           for bits in (2, 4)}
INT2 = "#kvq.quant<i2, asymmetric, group(axis = 3, size = 32), scale = f16>"
VARIANTS = {
    "fp32": (None, "f32", []),
    "f16": (None, "f16", []),
    "int8": (INT8, "f32", []),
    "int8+dot": (INT8, "f32", ["--int8-dot=1"]),
    "int8+dot+pv": (INT8, "f32", ["--int8-dot=1", "--int8-pv=1"]),
    "fp8": ("#kvq.quant<f8E4M3FN, symmetric, token, scale = f16>", "f32", []),
    "int4": (INT4, "f32", []),
    "int4+dot": (INT4, "f32", ["--int8-dot=1"]),
    "int4+dot+pv": (INT4, "f32", ["--int8-dot=1", "--int8-pv=1"]),
    "int2": (INT2, "f32", []),
    "int2+dot": (INT2, "f32", ["--int8-dot=1"]),
    "int2+dot+pv": (INT2, "f32", ["--int8-dot=1", "--int8-pv=1"]),
    "kivi4": (KIVI_KV[4], "f32", []),
    "kivi4+dot": (KIVI_KV[4], "f32", ["--int8-dot=1"]),
    "kivi4+dot+pv": (KIVI_KV[4], "f32", ["--int8-dot=1", "--int8-pv=1"]),
    "kivi2": (KIVI_KV[2], "f32", []),
    "kivi2+dot": (KIVI_KV[2], "f32", ["--int8-dot=1"]),
    "kivi2+dot+pv": (KIVI_KV[2], "f32", ["--int8-dot=1", "--int8-pv=1"]),
}


def kv_schemes(scheme):
    """The K and V schemes of a VARIANTS entry's scheme (one for both, or a
    pair)."""
    return scheme if isinstance(scheme, tuple) else (scheme, scheme)
# Error of the int8 query (and, with +pv, weight) quantization on these
# inputs (N(0, 1) data), vs fp64 attention over the unquantized query and
# weights; f32 variants: 1e-4. The tests bound it exactly
# (test/Integration/CPU/cpu-features.test).
DOT_TOLERANCE = 2e-2
# ggml cache types of the peers (q8_0 / q4_0: one f16 scale per 32 values,
# like kvq's int8 / int4 above).
# q8_KV: ik_llama.cpp's int8 cache with one scale per row, its fastest.
GGML_TYPES = {"ik_llama.cpp": ["f16", "q8_0", "q8_KV", "q4_0"],
              "llama.cpp": ["f16", "q8_0", "q4_0"]}


# The compression methods, each at the default documented in docs/Methods.md
# and measured for fidelity in docs/Fidelity.md (bench/fidelity.py), as a
# decode kernel over the cache as it is stored (dynamic batch and length):
# the attention decodes it inside its key loop (KVDecoderOpInterface) or,
# for low rank, kvq-fuse moves the bases onto the query and the output.
# Timed only with --methods or when named in --variants.
GEAR_RANK, GEAR_OUTLIERS = 4, 3  # GEAR's rank 4; 3 outliers per token: ~2 % of D = 128
LOWRANK_RANK = 32
KIVI = {(bits, axis): f"#kvq.quant<i{bits}, asymmetric, group(axis = {axis}, size = 32), "
        "scale = f16>" for bits in (2, 4) for axis in (2, 3)}
LOWRANK_INT8 = "#kvq.quant<i8, symmetric, token, scale = f16>"
POLAR_BITS = (4, 2, 2, 2)
VIDKV_HIGH = D // 2  # ratio 0.5
METHODS = {
    "gear4": "GEAR: KIVI 4-bit (K per channel, V per token, groups of 32) + rank-4 f16 "
             "factors of the residual + 3 outliers per token (i32 channel, f16 value)",
    "gear2": "GEAR as gear4 over KIVI 2-bit",
    "polar": "Hadamard rotation + PolarQuant (4 levels, bits 4/2/2/2, f16 radius per 16 values)",
    "vidkv": "VidKV: K 2-bit on the half of the channels with the widest range, 1-bit "
             "signs of the DFT of the rest; V ternary (5 per byte); groups of 32 tokens, "
             "f16 side data",
    "lowrank": f"low rank r={LOWRANK_RANK}: f16 coordinates, per-head basis and mean (f32)",
    "lowrank_int8": f"low rank r={2 * LOWRANK_RANK}: INT8 coordinates per token (f16 scale)",
}


def tt(shape, elem):
    """Tensor type text; negative dims are dynamic."""
    return "tensor<" + "x".join("?" if s < 0 else str(s) for s in shape) + f"x{elem}>"


def method_module(method):
    """kvq IR of `method`'s decode kernel: @decode(q, K's arrays, V's)."""
    kv, q = tt([-1, HKV, -1, D], "f32"), tt([-1, HQ, 1, D], "f32")
    args, body = [f"%q: {q}"], []
    for tag, axis, seed in (("k", 2, 1), ("v", 3, 2)):
        def arg(name, shape, elem):
            args.append(f"%{tag}{name}: {tt(shape, elem)}")
            return f"%{tag}{name}", tt(shape, elem)
        if method in ("gear4", "gear2"):
            bits = int(method[4])
            scheme = KIVI[bits, axis]
            ss = [-1, HKV, -1, D] if axis == 2 else [-1, HKV, -1, D // 32]
            ops = [arg("c", [-1, HKV, -1, D], f"i{bits}"), arg("s", ss, "f16"), arg("z", ss, "f16")]
            body.append(f"  %{tag}d = kvq.dequantize {scheme} {', '.join(n for n, _ in ops)} : "
                        f"{', '.join(t for _, t in ops)} -> {kv}")
            ops = [(f"%{tag}d", kv), arg("a", [-1, HKV, -1, GEAR_RANK], "f16"),
                   arg("b", [-1, HKV, GEAR_RANK, D], "f16"),
                   arg("i", [-1, HKV, -1, GEAR_OUTLIERS], "i32"),
                   arg("o", [-1, HKV, -1, GEAR_OUTLIERS], "f16")]
            body.append(f"  %{tag} = kvq.gear_decode {', '.join(n for n, _ in ops)} : "
                        f"{', '.join(t for _, t in ops)} -> {kv}")
        elif method == "polar":
            ops = [arg("r", [-1, HKV, -1, D // 16], "f16")]
            ops += [arg(str(level), [-1, HKV, -1, (D >> level) * b // 8], "i8")
                    for level, b in enumerate(POLAR_BITS, start=1)]
            body.append(f"  %{tag}d = kvq.polar_decode {', '.join(n for n, _ in ops)} : "
                        f"{', '.join(t for _, t in ops)} -> {kv}")
            body.append(f"  %{tag} = kvq.rotate %{tag}d {{seed = {seed}, inverse}} : {kv} -> {kv}")
        elif method == "vidkv":
            g = [-1, HKV, -1]  # [B, H, ceil(S / 32)]
            if tag == "k":
                low = D - VIDKV_HIGH
                ops = [arg("hc", [-1, HKV, -1, VIDKV_HIGH // 4], "i8"),
                       arg("hs", g + [VIDKV_HIGH], "f16"), arg("hm", g + [VIDKV_HIGH], "f16"),
                       arg("lc", [-1, HKV, -1, low // 8], "i8"), arg("ls", g + [low], "f16"),
                       arg("ch", [-1, HKV, D], "i32")]
                op = "kvq.vidkv_decode_key"
            else:
                ops = [arg("c", [-1, HKV, -1, (D + 4) // 5], "i8"), arg("s", g + [D], "f16")]
                op = "kvq.vidkv_decode_value"
            body.append(f"  %{tag} = {op} {', '.join(n for n, _ in ops)} : "
                        f"{', '.join(t for _, t in ops)} -> {kv}")
        elif method in ("lowrank", "lowrank_int8"):
            r = LOWRANK_RANK if method == "lowrank" else 2 * LOWRANK_RANK
            low = tt([-1, HKV, -1, r], "f32" if method == "lowrank_int8" else "f16")
            if method == "lowrank_int8":
                ops = [arg("c", [-1, HKV, -1, r], "i8"), arg("s", [-1, HKV, -1, 1], "f16")]
                body.append(f"  %{tag}r = kvq.dequantize {LOWRANK_INT8} "
                            f"{', '.join(n for n, _ in ops)} : {', '.join(t for _, t in ops)} "
                            f"-> {low}")
            else:
                arg("r", [-1, HKV, -1, r], "f16")
            ops = [(f"%{tag}r", low), arg("u", [HKV, D, r], "f32"), arg("m", [HKV, D], "f32")]
            body.append(f"  %{tag} = kvq.reconstruct {', '.join(n for n, _ in ops)} : "
                        f"{', '.join(t for _, t in ops)} -> {kv}")
        else:
            raise KeyError(method)
    return (f"func.func @decode({', '.join(args)}) -> {q} {{\n" + "\n".join(body) +
            f"\n  %o = kvq.attention q(%q : {q}) k(%k : {kv}) v(%v : {kv}) -> {q}\n"
            f"  return %o : {q}\n}}\n")


def packed(codes, bits):
    """Sub-byte codes as the kernel stores them: packed along the last axis."""
    return ref.pack(codes, bits).reshape(codes.shape[:-1] + (-1,))


def method_inputs(rng, b, length, method, encode=False):
    """The arrays of `method`'s K and V caches, the bytes they occupy, and
    (encode only) the reference's decoding of them (fp64) and the raw K, V.
    With encode, N(0, 1) K and V are compressed by the reference models
    (python/kvq/reference.py, as bench/fidelity.py does); without, codes
    and side data are drawn directly (timing does not depend on values,
    and encoding gigabytes in NumPy would take minutes)."""
    shape = (b, HKV, length, D)
    groups = -(-length // 32)
    f16 = lambda *s: (rng.random(s) * 0.1 + 0.01).astype(np.float16)  # noqa: E731
    byte = lambda *s, hi=256: rng.integers(0, hi, s, dtype=np.uint8).view(np.int8)  # noqa: E731
    args, dense, raw = [], [], []
    for tag, axis, seed in (("k", 2, 1), ("v", 3, 2)):
        x = rng.standard_normal(shape).astype(np.float32) if encode else None
        raw.append(x)
        if method in ("gear4", "gear2"):
            bits = int(method[4])
            scheme = ref.QuantScheme.parse(KIVI[bits, axis])
            if encode:
                rem, idx, vals = ref.extract_outliers(x, GEAR_OUTLIERS)
                codes, scale, zp = ref.quantize(rem, scheme)
                deq = ref.dequantize(codes, scale, zp, scheme)
                fa, fb = ref.low_rank_approx((rem - deq).astype(np.float32), GEAR_RANK)
                fa, fb, vals = fa.astype(np.float16), fb.astype(np.float16), vals.astype(np.float16)
                idx = idx.astype(np.int32)
                dense.append(ref.gear_decode(deq, fa, fb, idx, vals))
                codes = packed(codes, bits)
            else:
                codes = byte(b, HKV, length, D * bits // 8).view(np.uint8)
                sshape = ref.scale_shape(shape, scheme)
                scale, zp = f16(*sshape), f16(*sshape)
                fa, fb = f16(b, HKV, length, GEAR_RANK), f16(b, HKV, GEAR_RANK, D)
                idx = rng.integers(0, D, (b, HKV, length, GEAR_OUTLIERS), dtype=np.int32)
                vals = f16(b, HKV, length, GEAR_OUTLIERS)
            args += [codes, scale, zp, fa, fb, idx, vals]
        elif method == "polar":
            if encode:
                radius, codes = ref.polar_encode(ref.rotate(x, "hadamard", seed).astype(np.float32))
                dense.append(ref.rotate(ref.polar_decode(radius, codes), "hadamard", seed,
                                        inverse=True))
                codes = [c.view(np.int8) for c in codes]
            else:
                radius = f16(b, HKV, length, D // 16)
                codes = [byte(b, HKV, length, (D >> level) * bits // 8)
                         for level, bits in enumerate(POLAR_BITS, start=1)]
            args += [radius] + codes
        elif method == "vidkv" and tag == "k":
            if encode:
                enc = ref.vidkv_encode_key(x, VIDKV_HIGH / D, 32, "f16")
                dense.append(ref.vidkv_decode_key(*enc, group_size=32))
            else:
                low = D - VIDKV_HIGH
                # A valid channel-to-slot map: a random permutation per head.
                slots = np.argsort(rng.random((b, HKV, D)), axis=-1).astype(np.int32)
                enc = (byte(b, HKV, length, VIDKV_HIGH // 4), f16(b, HKV, groups, VIDKV_HIGH),
                       f16(b, HKV, groups, VIDKV_HIGH), byte(b, HKV, length, low // 8),
                       f16(b, HKV, groups, low), slots)
            args += list(enc)
        elif method == "vidkv":
            if encode:
                enc = ref.vidkv_encode_value(x, 32, "f16")
                dense.append(ref.vidkv_decode_value(*enc, group_size=32))
            else:  # base-3 bytes: 5 ternary digits, 0 to 242
                enc = (byte(b, HKV, length, (D + 4) // 5, hi=243), f16(b, HKV, groups, D))
            args += list(enc)
        elif method in ("lowrank", "lowrank_int8"):
            r = LOWRANK_RANK if method == "lowrank" else 2 * LOWRANK_RANK
            if encode:
                u, mu = ref.pca_basis(x, r)
                u, mu = u.astype(np.float32), mu.astype(np.float32)
                y = ref.project(x, u, mu).astype(np.float32)
                if method == "lowrank":
                    coords = [y.astype(np.float16)]
                    yd = coords[0].astype(np.float64)
                else:
                    scheme = ref.QuantScheme.parse(LOWRANK_INT8)
                    c, s, _ = ref.quantize(y, scheme)
                    coords = [c, s]
                    yd = ref.dequantize(c, s, None, scheme).astype(np.float64)
                dense.append(ref.reconstruct(yd, u, mu))
            else:
                u = np.linalg.qr(rng.standard_normal((HKV, D, r)))[0].astype(np.float32)
                mu = rng.standard_normal((HKV, D)).astype(np.float32)
                if method == "lowrank":
                    coords = [rng.standard_normal((b, HKV, length, r), dtype=np.float32)
                              .astype(np.float16)]
                else:
                    coords = [rng.integers(-127, 128, (b, HKV, length, r), dtype=np.int8),
                              f16(b, HKV, length, 1)]
            args += coords + [u, mu]
        else:
            raise KeyError(method)
    return args, sum(a.nbytes for a in args), dense, raw


def compile_variant(name, scheme, kv_dtype, options, kvq_compile=None):
    """The decode kernel of a cache type or method (kvq_compile: another
    kvq-compile than the default, as bench/cpu_ab.py compares)."""
    if name in METHODS:
        return kvq.compile(method_module(name), name="decode_" + name, options=options,
                           kvq_compile=kvq_compile)
    key_scheme, value_scheme = kv_schemes(scheme)
    text = attention_module("decode", [-1, HQ, 1, D], [-1, HKV, -1, D], dtype="f32",
                            kv_dtype=kv_dtype, key_scheme=key_scheme,
                            value_scheme=value_scheme)
    return kvq.compile(text, name="decode_" + name.replace("+", "_"), options=options,
                       kvq_compile=kvq_compile)


def kv_inputs(rng, b, length, scheme, kv_dtype, random_values=False):
    """Arguments for K and V, the bytes of cache they occupy, and the
    dequantized values (random_values only)."""
    args, nbytes, dense = [], 0, []
    for scheme in kv_schemes(scheme):
        if scheme is None:
            x = rng.standard_normal((b, HKV, length, D), dtype=np.float32)
            x = x.astype(np.float16) if kv_dtype == "f16" else x
            args.append(x)
            nbytes += x.nbytes
            dense.append(x.astype(np.float64))
            continue
        s = ref.QuantScheme.parse(scheme)
        if random_values:
            x = rng.standard_normal((b, HKV, length, D), dtype=np.float32)
            codes, scale, zp = ref.quantize(x, s)
            dense.append(ref.dequantize(codes, scale, zp, s).astype(np.float64))
            if s.bits < 8:  # the cache as the kernel stores it: packed
                codes = ref.pack(codes, s.bits).reshape(codes.shape[:-1] + (-1,))
            side = [scale] + ([zp] if zp is not None else [])
        else:
            # Timing does not depend on values: draw codes and scales
            # directly instead of quantizing gigabytes in NumPy.
            if s.bits < 8:  # packed codes: random bytes
                codes = rng.integers(0, 256, (b, HKV, length, D * s.bits // 8),
                                     dtype=np.uint8)
            elif s.dtype.startswith("f8"):
                codes = rng.integers(0, 0x70, (b, HKV, length, D), dtype=np.uint8)
                codes = codes.view(ml_dtypes.float8_e4m3fn)
            else:
                codes = rng.integers(-s.max_code, s.max_code + 1, (b, HKV, length, D),
                                     dtype=np.int8)
            shape = ref.scale_shape((b, HKV, length, D), s)
            side = [(rng.random(shape) * 0.1 + 0.01).astype(np.float16)]
            if s.has_zero_point:
                side.append((rng.random(shape) * 2).astype(np.float16))
        args += [codes] + side
        nbytes += codes.nbytes + sum(x.nbytes for x in side)
    return args, nbytes, dense


def timing_inputs(rng, b, length, name):
    """K and V arguments of cache type or method `name` for a timed call
    (random codes: timing does not depend on the values), and their bytes."""
    if name in METHODS:
        args, nbytes, _, _ = method_inputs(rng, b, length, name)
    else:
        scheme, kv_dtype, _ = VARIANTS[name]
        args, nbytes, _ = kv_inputs(rng, b, length, scheme, kv_dtype)
    return args, nbytes


def check(mods, variants, rng):
    """Correct before fast: every variant vs the fp64 reference at a ragged
    cache length."""
    errors = {}
    for name, (scheme, kv_dtype, options) in variants.items():
        if name in METHODS:
            continue
        q = rng.standard_normal((2, HQ, 1, D), dtype=np.float32)
        args, _, dense = kv_inputs(rng, 2, 1000, scheme, kv_dtype, random_values=True)
        out = mods[name].decode(q, *args, out_shapes=[q.shape])
        expect = ref.attention(q.astype(np.float64), dense[0], dense[1])
        errors[name] = float(np.abs(out - expect).max() / np.abs(expect).max())
        if errors[name] > (DOT_TOLERANCE if lossy(options) else 1e-4):
            raise SystemExit(f"{name}: relative error {errors[name]:.2e} vs reference")
    return errors


def lossy(options):
    """Whether kvq-compile `options` quantize the query or the weights
    (the int8 knobs), which the checks then allow DOT_TOLERANCE for."""
    return "--int8-dot=1" in options or "--int8-pv=1" in options


def check_methods(mods, names, rng, options=()):
    """The methods vs fp64 attention over the reference models' decoding
    of the same arrays (N(0, 1) K and V compressed by the reference):
    the compiler's own error, within f32 rounding (1e-4, as the f32
    variants; DOT_TOLERANCE with the int8 knobs in `options`). Also each method's own error: the cosine of its output with
    fp64 attention over the uncompressed K and V (recorded, not checked;
    docs/Fidelity.md has the documented values on similar inputs)."""
    errors, cosines = {}, {}
    for name in names:
        q = rng.standard_normal((2, HQ, 1, D), dtype=np.float32)
        args, _, dense, raw = method_inputs(rng, 2, 1000, name, encode=True)
        out = np.asarray(mods[name].decode(q, *args, out_shapes=[q.shape]), np.float64)
        q64 = q.astype(np.float64)
        expect = ref.attention(q64, dense[0], dense[1])
        exact = ref.attention(q64, raw[0].astype(np.float64), raw[1].astype(np.float64))
        errors[name] = float(np.abs(out - expect).max() / np.abs(expect).max())
        cosines[name] = float(out.ravel() @ exact.ravel()
                              / (np.linalg.norm(out) * np.linalg.norm(exact)))
        if not errors[name] <= (DOT_TOLERANCE if lossy(options) else 1e-4):
            raise SystemExit(f"{name}: relative error {errors[name]:.2e} vs reference")
    return errors, cosines


def time_call(fn, reps, limits):
    fn()
    times = []
    for _ in range(reps):
        limits.flush()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), times


def time_torch(torch, b, length, reps, limits, threads):
    torch.set_num_threads(threads)
    q = torch.randn(b, HQ, 1, D)
    k = torch.randn(b, HKV, length, D)
    v = torch.randn(b, HKV, length, D)
    best = None
    forms = {
        "sdpa_gqa": lambda: torch.nn.functional.scaled_dot_product_attention(
            q, k, v, enable_gqa=True),
        "sdpa_grouped": lambda: torch.nn.functional.scaled_dot_product_attention(
            q.view(b, HKV, HQ // HKV, D), k, v),
    }
    for form, fn in forms.items():
        try:
            with torch.inference_mode():
                t, _ = time_call(fn, reps, limits)
        except (TypeError, RuntimeError):
            continue
        if best is None or t < best[1]:
            best = (form, t)
    return best, 2 * k.numel() * 4


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--lengths", type=int, nargs="+", default=[16384, 32768])
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS),
                    choices=list(VARIANTS) + list(METHODS) + ["methods"], metavar="VARIANT",
                    help=f"cache types ({', '.join(VARIANTS)}) and compression methods "
                         f"({', '.join(METHODS)}; 'methods': all of them); default: the "
                         "cache types")
    ap.add_argument("--methods", action="store_true",
                    help="also time every compression method (gear4, gear2, polar, vidkv, "
                         "lowrank, lowrank_int8)")
    ap.add_argument("--peers", default="ik_llama.cpp,llama.cpp,torch",
                    help="comma-separated: ik_llama.cpp, llama.cpp, torch, or none")
    ap.add_argument("--options", default="", help="kvq-compile options")
    ap.add_argument("--block-time", type=int, default=None,
                    help="kvq.set_block_time(ms) for kvq's kernels (default: the library's, 1)")
    results.add_out_argument(ap)
    args = ap.parse_args()
    names = [n for n in args.variants if n != "methods"]
    if args.methods or "methods" in args.variants:
        names += [m for m in METHODS if m not in names]
    # Methods: no scheme or element type; their kernels get --options only.
    variants = {k: VARIANTS.get(k, (None, None, [])) for k in names}
    methods = [k for k in variants if k in METHODS]
    peers = [] if args.peers == "none" else args.peers.split(",")

    load_before = loadavg()
    limits = Limits()
    kvq.set_num_threads(args.threads)
    if args.block_time is not None:
        kvq.set_block_time(args.block_time)
    bandwidth = limits.read_bandwidth(args.threads)
    ceiling = bandwidth["median"]
    print(f"load {load_before}; {args.threads} threads; read bandwidth {ceiling / 1e9:.1f} GB/s "
          f"(median; max {bandwidth['max'] / 1e9:.1f})")

    rng = np.random.default_rng(0)
    mods = {name: compile_variant(name, s, dt, args.options.split() + extra)
            for name, (s, dt, extra) in variants.items()}
    errors = check(mods, variants, rng)
    method_errors, cosines = check_methods(mods, methods, rng, args.options.split())
    errors.update(method_errors)
    print("max relative error vs fp64: " + ", ".join(f"{k} {v:.1e}" for k, v in errors.items()))
    if methods:
        print("methods' cosine vs fp64 attention over the uncompressed K, V: "
              + ", ".join(f"{k} {v:.4f}" for k, v in cosines.items()))

    ggml = {}
    for peer in peers:
        if peer in cpu_peers.GGML_PEERS:
            harness = cpu_peers.ggml_peer(peer)
            if harness:
                ggml[peer] = harness
    torch = cpu_peers.torch_sdpa() if "torch" in peers else None
    if "torch" in peers and torch is None:
        print("PyTorch is not installed: no PyTorch row")

    rows, notes = [], []
    for b in args.batch:
        for length in args.lengths:
            q = rng.standard_normal((b, HQ, 1, D), dtype=np.float32)
            for name in variants:
                kv, nbytes = timing_inputs(rng, b, length, name)
                out = np.empty((b, HQ, 1, D), np.float32)
                call = mods[name].decode.bind(q, *kv, out=out)
                t, times = time_call(call, args.reps, limits)
                rows.append({"impl": "kvq", "kv": name, "batch": b, "length": length,
                             "seconds": t, "kv_bytes": nbytes, "times": times})
                del kv
            for peer, harness in ggml.items():
                cases = [{"b": b, "hq": HQ, "hkv": HKV, "sq": 1, "skv": length, "d": D,
                          "type": t} for t in GGML_TYPES[peer]]
                for case, res in zip(cases, cpu_peers.run_ggml(harness, cases, args.threads,
                                                               args.reps)):
                    if "error" in res:
                        print(f"{peer} {case['type']}: {res['error']}")
                        notes.append(f"{peer} {case['type']}, b {b} L {length}: failed "
                                     f"({res['error']}).")
                        continue
                    rows.append({"impl": peer, "kv": case["type"], "batch": b,
                                 "length": length, "seconds": res["seconds"],
                                 "kv_bytes": res["kv_bytes"], "times": res["times"]})
            if torch is not None:
                best, nbytes = time_torch(torch, b, length, args.reps, limits, args.threads)
                if best:
                    rows.append({"impl": f"PyTorch ({best[0]})", "kv": "fp32", "batch": b,
                                 "length": length, "seconds": best[1], "kv_bytes": nbytes})
            # Side by side: each row's speed over ik_llama.cpp's fastest
            # quantized cache on the same shape (> 1: faster).
            peer = [r["seconds"] for r in rows if r["impl"] == "ik_llama.cpp"
                    and r["kv"].startswith("q") and r["batch"] == b and r["length"] == length]
            for r in rows:
                if r["batch"] == b and r["length"] == length and "gbps" not in r:
                    r["gbps"] = r["kv_bytes"] / r["seconds"] / 1e9
                    r["fraction"] = r["kv_bytes"] / r["seconds"] / ceiling
                    if peer:
                        r["vs_ik_llama"] = min(peer) / r["seconds"]
                    print(f"b {b} L {length:6d} {r['impl']:>14} {r['kv']:>8}: "
                          f"{r['seconds'] * 1e3:8.3f} ms {r['gbps']:6.1f} GB/s "
                          f"{100 * r['fraction']:5.1f}% of read bandwidth"
                          + (f", {r['vs_ik_llama']:.2f}x ik_llama.cpp's best quantized"
                             if peer else ""))
    load_after = loadavg()
    print(f"load before {load_before}, after {load_after}")

    commit = results.commit()
    stamp = datetime.datetime.now().strftime("%Y-%m-%d")
    result = {
        "date": stamp, "commit": commit, "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(), "cpu": results.cpu_description(), "threads": args.threads,
        "block_time_ms": kvq.get_block_time(), "options": args.options,
        "load_before": load_before,
        "load_after": load_after, "read_bandwidth": bandwidth,
        "max_rel_error": errors, "method_cosine": cosines,
        "shape": {"hq": HQ, "hkv": HKV, "d": D, "q_len": 1},
        "schemes": {k: METHODS[k] if k in METHODS
                    else " / ".join(kv_schemes(v[0])) if v[0] else v[1]
                    for k, v in variants.items()}, "notes": notes, "rows": rows,
    }
    os.makedirs(args.out, exist_ok=True)
    # A run of the methods (alone, or with a few cache types to compare
    # with) is recorded apart from the cache types' full run, which it
    # would otherwise overwrite.
    only_methods = bool(methods) and len(variants) - len(methods) < len(VARIANTS)
    base = os.path.join(args.out,
                        f"cpu_decode{'_methods' if only_methods else ''}-{stamp}")
    with open(base + ".json", "w") as f:
        json.dump(result, f, indent=1)
    with open(base + ".md", "w") as f:
        f.write(f"# CPU decode{' (methods)' if only_methods else ''}, {stamp}, commit {commit}, {args.threads} threads, "
                f"block time {kvq.get_block_time()} ms\n\n")
        f.write(f"CPU: {result['cpu'] or 'unknown'}.\n\n")
        f.write(f"Hq {HQ}, Hkv {HKV}, D {D}, q_len 1; last-level cache flushed before "
                f"every call; median of {args.reps}. Read bandwidth measured in the same "
                f"run: {ceiling / 1e9:.1f} GB/s (median; max {bandwidth['max'] / 1e9:.1f}). "
                f"Load average before {' '.join(load_before or [])}, after "
                f"{' '.join(load_after or [])}.\n\n")
        f.write("KV: kvq's cache types (+dot: int8 dot-product scores, `--int8-dot=1`, "
                "which quantizes the query; +pv: int8 dot-product P V, `--int8-pv=1`, "
                "which quantizes the weights p * scale) and the peers' ggml types. Speed vs "
                "ik_llama.cpp: its fastest quantized cache (q8_0, q8_KV, q4_0) on the "
                "same shape over this row's time.\n\n")
        if args.options:
            f.write(f"kvq-compile options of every kvq kernel in this run (`--options`): "
                    f"`{args.options}`.\n\n")
        for m in methods:
            f.write(f"- {m}: {METHODS[m]}; cosine {cosines[m]:.4f} with fp64 attention over "
                    "the uncompressed K, V (N(0, 1), b 2, L 1000)\n")
        if methods:
            f.write("\nMethods' GB/s: every array the kernel reads (codes, scales, factors, "
                    "outliers, bases) per second.\n\n")
        f.write("| b | L | implementation | KV | ms | GB/s (compressed) | % of read bandwidth "
                "| vs ik_llama.cpp |\n")
        f.write("|---|---|---|---|---|---|---|---|\n")
        for r in rows:
            vs = f"{r['vs_ik_llama']:.2f}x" if "vs_ik_llama" in r else ""
            f.write(f"| {r['batch']} | {r['length']} | {r['impl']} | {r['kv']} | "
                    f"{r['seconds'] * 1e3:.3f} | {r['gbps']:.1f} | {100 * r['fraction']:.0f}% "
                    f"| {vs} |\n")
        if notes:
            f.write("\nNot in the table:\n\n" + "".join(f"- {n}\n" for n in notes))
    print(f"wrote {base}.json and .md")


if __name__ == "__main__":
    main()
