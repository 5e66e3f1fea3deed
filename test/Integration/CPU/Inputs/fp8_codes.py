"""Every FP8 code as the attention kernel decodes it.

An attention over a single key returns that key's value row exactly (its
softmax weight is 1), so a cache of one token whose V codes are all 256
f8E4M3FN bytes (and all 256 f8E5M2 bytes), with scale 1, reads each code
back as the kernel decodes it inside the attention loop: the value of the
code (ml_dtypes' conversion to f64 is the reference), exactly, NaN codes
as NaN, subnormals included (-0 reads as 0: the weighted sum starts from
+0). A head dim of 16-lane chunks and a ragged one (a partial last
chunk), one key, and two keys with equal weights (causal); and every
code but the NaN ones in rows without a NaN code, with power-of-two
scales; both again with 3 query rows (the prefill kernel, which decodes a
block's rows into scratch). A NaN code in a key makes the rows of its KV
head NaN.

Exits non-zero on any mismatch.
"""

import ml_dtypes
import numpy as np

import kvq_testing as kt

from kvq.builder import attention_module

SCHEMES = {
    "f8E4M3FN": (ml_dtypes.float8_e4m3fn, "#kvq.quant<f8E4M3FN, symmetric, token, scale = f32>"),
    "f8E5M2": (ml_dtypes.float8_e5m2, "#kvq.quant<f8E5M2, symmetric, token, scale = f32>"),
}


def main():
    opts = kt.parse(__doc__)
    rng = kt.rng()
    text = ""
    for name, (_, scheme) in SCHEMES.items():
        # 256 codes over Hkv 2 heads of D 128, and a ragged D 72.
        text += attention_module(f"full_{name}", [1, 2, 1, 128], [1, 2, 1, 128],
                                 key_scheme=scheme, value_scheme=scheme)
        text += attention_module(f"ragged_{name}", [1, 4, 1, 72], [1, 4, 1, 72],
                                 key_scheme=scheme, value_scheme=scheme)
        text += attention_module(f"causal_{name}", [1, 2, 1, 128], [1, 2, 2, 128],
                                 key_scheme=scheme, value_scheme=scheme, causal=True)
        text += attention_module(f"nonan_{name}", [1, 2, 1, 128], [1, 2, 1, 128],
                                 key_scheme=scheme, value_scheme=scheme)
        text += attention_module(f"nankey_{name}", [1, 8, 1, 72], [1, 2, 3, 72],
                                 key_scheme=scheme, value_scheme=scheme)
        # 3 query rows: the prefill kernel, which decodes the block's rows
        # into scratch first.
        for kind in ("prefill", "prefill_nonan"):
            text += attention_module(f"{kind}_{name}", [1, 2, 3, 128], [1, 2, 1, 128],
                                     key_scheme=scheme, value_scheme=scheme)
    mod = kt.library(opts, text, "fp8_codes")
    codes = np.arange(256, dtype=np.uint8)
    for name, (dtype, _) in SCHEMES.items():
        nan_codes = np.isnan(codes.view(dtype).astype(np.float64))
        # "nonan": every code but the NaN ones, so that no value row holds
        # a NaN code (the kernel's decoding for rows without one; the other
        # kinds' rows mostly hold one), with power-of-two token scales.
        for kind, heads, d, keys, rows in (
                ("full", 2, 128, 1, 1), ("ragged", 4, 72, 1, 1), ("causal", 2, 128, 2, 1),
                ("nonan", 2, 128, 1, 1), ("prefill", 2, 128, 1, 3),
                ("prefill_nonan", 2, 128, 1, 3)):
            n = heads * d
            nonan = kind.endswith("nonan")
            pool = codes[~nan_codes] if nonan else codes
            v_bytes = np.resize(rng.permutation(pool), n).reshape(1, heads, 1, d)
            k_bytes = rng.integers(0, 0x70, (1, heads, keys, d), dtype=np.uint8)
            # q = 0: every score is 0 and every weight 1, so with the same
            # codes in every key the output is (keys * v) / keys = v exactly.
            v = np.concatenate([v_bytes] * keys, axis=2)
            q = np.zeros((1, heads, rows, d), np.float32)
            scale = np.ones((1, heads, keys, 1), np.float32)
            v_scale = scale
            if nonan:
                v_scale = np.exp2(rng.integers(-6, 7, scale.shape)).astype(np.float32)
            out = mod[f"{kind}_{name}"](q, k_bytes.view(dtype), scale, v.view(dtype), v_scale)
            want = np.repeat(v_bytes.view(dtype).astype(np.float64) * v_scale[:, :, :1], rows, axis=2)
            got = np.asarray(out, np.float64)
            nan_ok = np.array_equal(np.isnan(got), np.isnan(want))
            finite = ~np.isnan(want)
            same = np.array_equal(got[finite], want[finite])
            seen = np.unique(v_bytes).size
            kt.report(f"{name} {kind} (D {d}, {keys} key{'s' if keys > 1 else ''}): "
                      f"{seen} codes decoded exactly", nan_ok and same,
                      "" if nan_ok and same else
                      f"{int(np.sum(got[finite] != want[finite]))} values differ, NaN "
                      f"positions {'match' if nan_ok else 'differ'}")
        # A NaN code in one key (the others finite) makes the rows of its
        # head NaN, and only those (4 query rows per KV head, D 72).
        k_bytes = rng.integers(0, 0x70, (1, 2, 3, 72), dtype=np.uint8)
        v_bytes = rng.integers(0, 0x70, (1, 2, 3, 72), dtype=np.uint8)
        k_bytes[0, 1, 1, rng.integers(72)] = rng.choice(codes[nan_codes])
        q = rng.standard_normal((1, 8, 1, 72)).astype(np.float32)
        scale = np.full((1, 2, 3, 1), 0.01, np.float32)
        out = np.asarray(mod[f"nankey_{name}"](q, k_bytes.view(dtype), scale,
                                               v_bytes.view(dtype), scale))
        nan_rows = np.isnan(out).all(-1)[0, :, 0]
        ok = nan_rows[4:].all() and np.isfinite(out[0, :4]).all()
        kt.report(f"{name} NaN code in a key: the rows of its head NaN", ok,
                  f"NaN rows {np.flatnonzero(nan_rows).tolist()} (want [4, 5, 6, 7])")
    kt.finish()


if __name__ == "__main__":
    main()
