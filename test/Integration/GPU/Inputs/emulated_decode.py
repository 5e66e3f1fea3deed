"""The flash-decoding kernel of kvq-gpu-attention (kernel=decode), run by
the GPU emulator (--target=nvvm-emulated), against the NumPy fp64 model.

Every KV storage the decode kernel reads (f32, f16, bf16 arrays; FP8 e4m3 /
e5m2 with tensor, channel and token scales; INT8 / INT4 / INT2 with token,
channel and group scales, symmetric or with zero points; KIVI's per-channel
keys grouped along the tokens; narrow groups and head dimensions the
register decoders do not cover, staged as f16 rows), with GQA (1, 4 and 8
query rows per KV head, decode and 2-token speculative decode), batch 2,
a value head dimension other than the key's, and dynamic key lengths that
are not multiples of any tile (1, 17, 203, 1001), at the GPU's tolerance
(1e-2 of the largest reference value). Every kernel runs with the
emulator's race and initialization checks (KVQ_EMU_CHECK=race,init).

    emulated_decode.py [--options="--chip=sm_90 --split-kv=1"] [--only=NAME,...]
                       [--skip=NAME,...] [--edge | --overflow]

--edge runs docs/Numerics.md's edge cases on the decode kernel instead
(f32 GQA decode, 4 rows per KV head): NaN / +-Inf in a key make the rows of
its head NaN, as in the model; a value beyond f16's range (1e5) and large
scores (|q|, |k| ~ 300) keep every output finite and within 1e-2. The
fp64 model is that of the operands the kernel multiplies: Q times the
softmax scale and log2 e, K and V rounded to f16, and to bf16 for the
keys of the thread block (split) that recomputes after a non-finite score
or accumulator (the 1e5 value's). Against unrounded operands, large
scores (~1e5, a one-hot softmax) failed in a row whose two best scores
were closer than f16's rounding (rarely: 4 in 1e5 apart), and the 1e5
value's output, recomputed from bf16 scores, came to 1.1e-2 (1 run in
many); on the rounded operands the errors are about 1e-3.

--overflow runs values beyond f16's range on the decode kernel, whose f16
operands overflow there and which then recomputes the CTA with bf16
operands (GQA decode, 4 rows per KV head, ragged lengths 9, 203, 1001): V
or K with a 1e5 in f32 and bf16 caches (and, with 8 query rows per KV
head, one where Q is -1e-6 at that channel: the score is moderate, its f16
product -inf), Q times the softmax scale beyond 65504 in an f16 op (scale
2^14, K scaled by 2^-17 to keep the scores those of q . k / 8), INT8
caches with a token whose scale is 1e4 (code x scale up to 1.3e6; K with
per-16-channel scales, applied before the mma, V per token, or V per
channel with zero points: scaled after the f16 pass's merge, already in
the bf16 stage rows). Every output must be finite and within 1e-2 of the
fp64 model of the recomputation's scores: Q (pre-scaled by the softmax
scale times log2 e, as the kernel does) and K rounded to bf16. A score is
only known to bf16's 8 bits of its terms: N(0, 1) data gives errors of
~0.02 in a score and up to 1e-2 in an output dominated by one key, and a
score whose 1e6-sized terms cancel to ~1e3 is off by ~1e4. A model of
the unrounded operands asked the kernel for digits the recomputation does
not carry (about 1 run in 7 failed). Q is also drawn again when the
1e4-scaled key's score hinges on such digits (rarely). The inputs are seeded (test/harness: KVQ_TEST_SEED repeats a
run).

The schedule (split-kv, warps, stages, chip) comes from --options; the
kernel is forced to the decode strategy (kernel=decode), so a case the
decode kernel does not take fails to compile instead of silently running
the prefill kernel. Exits non-zero on any mismatch or kernel error.
"""

import os

import ml_dtypes
import numpy as np

import kvq
import kvq_testing as kt
from kvq.builder import attention_module

# make_inputs: the CPU suite's inputs and model.
attention = kt.load_script(os.path.join("..", "..", "CPU", "Inputs", "attention.py"))

I4G = "#kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>"
I4GA = "#kvq.quant<i4, asymmetric, group(axis = 3, size = 32), scale = f16>"
KIVI4_K = "#kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>"
KIVI2_K = "#kvq.quant<i2, asymmetric, group(axis = 2, size = 32), scale = f16>"
KIVI2_V = "#kvq.quant<i2, asymmetric, group(axis = 3, size = 32), scale = f16>"

# name: (Hq, Hkv, Sq, D, Dv, dtype, key scheme, value scheme)
CASES = {
    "f32": (8, 2, 1, 64, None, "f32", None, None),
    "f16": (8, 2, 1, 64, None, "f16", None, None),
    "bf16": (4, 4, 1, 64, None, "bf16", None, None),
    "fp8_e4m3_channel_e5m2_token": (8, 2, 1, 64, None, "f32",
                                    "#kvq.quant<f8E4M3FN, symmetric, channel>",
                                    "#kvq.quant<f8E5M2, symmetric, token, scale = f16>"),
    "fp8_e4m3_tensor": (8, 1, 1, 128, None, "f32", "#kvq.quant<f8E4M3FN, symmetric, tensor>",
                        "#kvq.quant<f8E4M3FN, symmetric, tensor>"),
    "int8_token": (8, 2, 1, 128, None, "f32", "#kvq.quant<i8, symmetric, token>",
                   "#kvq.quant<i8, asymmetric, token>"),
    "int8_channel": (4, 4, 2, 64, None, "f32", "#kvq.quant<i8, symmetric, channel>",
                     "#kvq.quant<i8, asymmetric, channel, scale = bf16>"),
    "int4_group": (8, 2, 1, 128, None, "f32", I4G, I4GA),
    "int4_group_spec2": (8, 2, 2, 64, None, "f32", I4GA, I4G),
    "int2_channel_token": (8, 2, 1, 64, None, "f32", "#kvq.quant<i2, symmetric, channel>",
                           "#kvq.quant<i2, symmetric, token, scale = bf16>"),
    "kivi4": (8, 2, 1, 128, None, "f32", KIVI4_K, I4GA),
    "kivi2": (8, 1, 1, 64, None, "f32", KIVI2_K, KIVI2_V),
    "int4_narrow_groups": (4, 2, 1, 64, None, "f32",
                           "#kvq.quant<i4, asymmetric, group(axis = 3, size = 8)>",
                           "#kvq.quant<i8, symmetric, token>"),
    "value_dim_48_head_dim_40": (8, 2, 1, 40, 48, "f32", None,
                                 "#kvq.quant<i8, symmetric, token>"),
}
LENGTHS = (1, 17, 203, 1001)
BATCH = 2


def case_shapes(case):
    hq, hkv, sq, d, dv, dtype, kscheme, vscheme = case
    return ([-1, hq, sq, d], [-1, hkv, -1, d], dv, dtype, kscheme, vscheme, False, False)


def split_keys(length, splits, key):
    """The keys of the split (CTA) that holds `key`: `splits` splits of
    whole 16-key tiles (0: automatic, which takes one split at the edge
    cases' lengths)."""
    tiles = -(-length // 16)
    per_split = -(-tiles // max(splits, 1)) * 16
    first = key // per_split * per_split
    keys = np.arange(length)
    return (keys >= first) & (keys < first + per_split)


def rounded_operands_attention(q, k, v, recomputed):
    """Attention (f32 decode, default scale) in float64 on the operands the
    decode kernel multiplies: Q times the softmax scale and log2(e), K and
    V rounded to f16, and to bf16 for the keys of a thread block that
    recomputed after a non-finite score (`recomputed`: [B, Hkv, L]). The
    splits' combine is exact here: one softmax over all keys."""
    groups = q.shape[1] // k.shape[1]

    def rounded(dtype):
        rq, rk = scores_operands(q, k, None, dtype)
        with np.errstate(over="ignore"):  # a 1e5 value is inf in f16
            rv = np.asarray(v, np.float32).astype(dtype).astype(np.float64)
        return (np.einsum("bhqd,bhkd->bhqk", rq, np.repeat(rk, groups, axis=1)),
                np.repeat(rv, groups, axis=1))

    s16, v16 = rounded(np.float16)
    sbf, vbf = rounded(ml_dtypes.bfloat16)
    take = np.repeat(recomputed, groups, axis=1)
    s = np.where(take[:, :, None, :], sbf, s16) / np.sqrt(q.shape[-1])
    vv = np.where(take[..., None], vbf, v16)
    with np.errstate(invalid="ignore"):
        p = np.exp(s - s.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        return np.einsum("bhqk,bhkd->bhqd", p, vv)


def edge_cases(options, only, skip):
    """docs/Numerics.md's rules on the decode kernel.
    `only` / `skip`: lists of edge-case names (e.g. "V of 1e5")."""
    text = attention_module("edge", [1, 8, 1, 64], [1, 2, -1, 64])
    mod = kvq.compile(text, target="nvvm-emulated", name="edge",
                      options=["--kernel=decode"] + options)
    rng = kt.rng("edge")
    splits = max([int(o.split("=")[1]) for o in options if o.startswith("--split-kv=")] or [0])
    for what in ("NaN in K", "+Inf in K", "-Inf in K", "V of 1e5", "scores of |q|, |k| ~ 300"):
        if (only and what not in only) or what in skip:
            continue
        for length in (9, 203):
            q = rng.standard_normal((1, 8, 1, 64)).astype(np.float32)
            k = rng.standard_normal((1, 2, length, 64)).astype(np.float32)
            v = rng.standard_normal((1, 2, length, 64)).astype(np.float32)
            if "K" in what:
                k[0, 1, length // 2, 5] = {"N": np.nan, "+": np.inf, "-": -np.inf}[what[0]]
            if "V" in what:
                v[0, 1, length // 2, 5] = 1e5
            if "300" in what:
                q *= 300
                k *= 300
            try:
                out = np.asarray(mod.edge(q, k, v), np.float64)
            except RuntimeError as e:
                kt.fail(f"{what} L={length}", str(e).splitlines()[0])
                continue
            # The model sees the operands the kernel multiplies. Scores of
            # ~1e5 make the softmax one-hot: a row whose two best scores
            # are closer than the f16 operands' rounding (~2^-11 of |q|
            # |k|) may pick either key. The 1e5 value overflows f16: its
            # split is recomputed with bf16 operands, whose scores are
            # known to ~0.02, so an output dominated by that value is off
            # by up to ~2% of it from unrounded operands (1.1e-2 in one
            # run of the model that ignored the rounding).
            recomputed = np.zeros(k.shape[:3], bool)
            if "K" in what or "V" in what:
                recomputed[0, 1] = split_keys(length, splits, length // 2)
            want = rounded_operands_attention(q, k, v, recomputed)
            nan_got, nan_want = np.isnan(out).any(-1), np.isnan(want).any(-1)
            finite = ~nan_want
            err = (float(np.abs(out[finite] - want[finite]).max() / np.abs(want[finite]).max())
                   if finite.any() else 0.0)
            ok = (nan_got == nan_want).all() and np.isfinite(out[finite]).all() and err <= 1e-2
            kt.report(f"{what} L={length}", ok,
                      f"NaN rows {int(nan_got.sum())} (reference {int(nan_want.sum())}), "
                      f"non-finite values {int((~np.isfinite(out[finite])).sum())}, "
                      f"max rel error {err:.1e} (tol 1e-02)")


def scores_operands(q, k, scale, dtype=ml_dtypes.bfloat16):
    """Q and K as the kernel's scores see them: Q times the softmax scale
    times log2(e) (the kernel's pre-scaling) and K rounded to the tensor-core
    operand type (f16, or bf16 in a recomputation), as float64 (Q scaled
    back)."""
    c = (scale if scale is not None else 1 / np.sqrt(q.shape[-1])) * np.log2(np.e)
    rq = np.asarray(q, np.float64) * c
    rq = rq.astype(np.float32).astype(dtype).astype(np.float64) / c
    rk = np.asarray(k, np.float32).astype(dtype).astype(np.float64)
    return rq, rk


I8_TOKEN = "#kvq.quant<i8, symmetric, token>"
I8_GROUP16 = "#kvq.quant<i8, symmetric, group(axis = 3, size = 16)>"

# name: (KV heads of the 8 query heads, dtype, key scheme, value scheme,
# softmax scale)
OVERFLOW_MODULES = {
    "f32": (2, "f32", None, None, None),
    "f32_group8": (1, "f32", None, None, None),
    "bf16": (2, "bf16", None, None, None),
    "f16_scale": (2, "f16", None, None, 2.0**14),
    "int8": (2, "f32", I8_GROUP16, I8_TOKEN, None),
    "int8_vchannel": (2, "f32", I8_GROUP16, "#kvq.quant<i8, asymmetric, channel>", None),
}
# case: module
OVERFLOW_CASES = {
    "V of 1e5 f32": "f32",
    "K of 1e5 f32": "f32",
    "K of 1e5 x tiny q f32": "f32_group8",
    "V of 1e5 bf16": "bf16",
    "K of 1e5 bf16": "bf16",
    "Q x scale beyond f16": "f16_scale",
    "int8 V scale 1e4": "int8",
    "int8 K scale 1e4": "int8",
    "int8 K scale 1e4 V per channel": "int8_vchannel",
}


def overflow_cases(options, only):
    """Values beyond f16's range (see above)."""
    from kvq import reference as ref
    text = "".join(
        attention_module(name, [1, 8, 1, 64], [1, hkv, -1, 64], dtype=dt, key_scheme=ks,
                         value_scheme=vs, scale=sc)
        for name, (hkv, dt, ks, vs, sc) in OVERFLOW_MODULES.items())
    mod = kvq.compile(text, target="nvvm-emulated", name="overflow",
                      options=["--kernel=decode"] + options)
    rng = kt.rng("overflow")
    for what, name in OVERFLOW_CASES.items():
        if only and what not in only:
            continue
        hkv, dtype, kscheme, vscheme, scale = OVERFLOW_MODULES[name]
        cast = attention.NP[dtype]
        for length in (9, 203, 1001):
            q = rng.standard_normal((1, 8, 1, 64)).astype(np.float32)
            k = rng.standard_normal((1, hkv, length, 64)).astype(np.float32)
            v = rng.standard_normal((1, hkv, length, 64)).astype(np.float32)
            at = (0, hkv - 1, length // 2)
            if what.startswith("V of"):
                v[at + (5,)] = 1e5
            elif what.startswith("K of"):
                k[at + (5,)] = 1e5
                if "tiny" in what:
                    # The key's score stays moderate (1e5 x -1e-6 / 8), but
                    # its f16 product is -inf: the key would silently drop
                    # out of the softmax (8 rows per KV head: no zero
                    # padding column whose inf x 0 shows the overflow).
                    q[..., 5] = -1e-6
            elif what.startswith("Q x"):
                # q x 2^14 x log2(e) beyond 65504 for |q| > 2.8; the scores
                # stay those of q . k / 8.
                q[0, :, 0, 7] = 3.0
                k /= 2.0**17
            args, dense = [q.astype(cast)], []
            big_k = "K of" in what or "K scale" in what
            big_v = "V of" in what or "V scale" in what
            for x, scheme, big in ((k, kscheme, big_k), (v, vscheme, big_v)):
                if scheme is None:
                    args.append(x.astype(cast))
                    dense.append(x.astype(cast).astype(np.float64))
                    continue
                s = ref.QuantScheme.parse(scheme)
                codes, sc, zp = ref.quantize(x, s)
                if big:
                    sc[at] = 1e4  # every scale of that token
                args += [codes, sc] + ([zp] if zp is not None else [])
                dense.append(ref.dequantize(codes, sc, zp, s).astype(np.float64))
            if "K scale" in what:
                # The CTA of the 1e4-scaled key is recomputed with bf16
                # operands, whose scores carry 8 bits of their terms: a
                # score whose 1e6-sized terms cancel to ~1e3 is not known
                # to bf16 (about +-1e4). Q is drawn again until every score
                # of that key is far from that bound (rarely needed).
                big = dense[0][0, hkv - 1, at[2]]
                heads = slice((hkv - 1) * 8 // hkv, 8)
                s_eff = scale if scale is not None else 1 / np.sqrt(64)
                while True:
                    qh = args[0].astype(np.float64)[0, heads, 0]
                    score = qh @ big * s_eff
                    bound = 2.0**-7 * (np.abs(qh) @ np.abs(big)) * s_eff
                    if (np.abs(score) > bound + 64).all():
                        break
                    args[0] = rng.standard_normal(q.shape).astype(cast)
            want = ref.attention(*scores_operands(args[0], dense[0], scale), dense[1],
                                 scale=scale)
            label = f"{what} L={length}"
            try:
                out = np.asarray(getattr(mod, name)(*args), np.float64)
            except RuntimeError as e:  # kvq.cuda.CudaError: the emulator's report
                kt.fail(label, str(e).splitlines()[0])
                continue
            kt.check(label, out, want, 1e-2,
                     detail=f"non-finite values {int((~np.isfinite(out)).sum())}")


def main():
    ap = kt.parser(__doc__, targets=None, build=False)
    ap.add_argument("--only", default="", help="comma-separated case names")
    ap.add_argument("--skip", default="", help="comma-separated case names")
    ap.add_argument("--edge", action="store_true", help="the edge cases (see above)")
    ap.add_argument("--overflow", action="store_true", help="the overflow cases (see above)")
    opts = ap.parse_args()
    os.environ.setdefault("KVQ_EMU_CHECK", "race,init")
    if opts.overflow:
        overflow_cases(opts.options.split(), [n for n in opts.only.split(",") if n])
        kt.finish()
        return
    if opts.edge:
        edge_cases(opts.options.split(), [n for n in opts.only.split(",") if n],
                   opts.skip.split(","))
        kt.finish()
        return
    names = [n for n in CASES if (not opts.only or n in opts.only.split(","))
             and n not in opts.skip.split(",")]
    text = "".join(
        attention_module(name, c[0], c[1], v_dim=c[2], dtype=c[3], key_scheme=c[4],
                         value_scheme=c[5], causal=False)
        for name, c in ((n, case_shapes(CASES[n])) for n in names))
    mod = kvq.compile(text, target="nvvm-emulated", name="decode",
                      options=["--kernel=decode"] + opts.options.split())
    rng = kt.rng()
    for name in names:
        case = case_shapes(CASES[name])
        for length in LENGTHS:
            inputs, expect, _ = attention.make_inputs(rng, case, BATCH, length)
            label = f"{name} b={BATCH} L={length}"
            try:
                out = getattr(mod, name)(*inputs, out_shapes=[tuple(expect.shape)])
            except RuntimeError as e:  # kvq.cuda.CudaError: the emulator's report
                kt.fail(label, str(e).splitlines()[0])
                continue
            kt.check(label, out, expect, 1e-2, shape=False)
    kt.finish()


if __name__ == "__main__":
    main()
