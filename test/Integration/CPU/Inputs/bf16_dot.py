"""bf16 prefill (the register-blocked kernel: at least 16 rows per KV head)
on the host CPU against fp64 attention, on fresh random bf16 inputs: MHA
and GQA, causal and not, ragged lengths, head dims 32 and 72. Run with the
target's defaults (AVX512-BF16 dot products for Q K^T where the CPU has
them) and with --avx512-bf16=0 (f32). Both compute every product exactly
and accumulate in f32, so the only sizeable error is the rounding of the bf16 output, at most
half an ulp, 2^-8 of each value: every output must be within 4e-3 of its
reference value relative to it, plus 1e-4 of max |reference|.
"""

import ml_dtypes
import numpy as np

import kvq_testing as kt
from kvq import reference as ref
from kvq.builder import attention_module

# name, head dim, (Hq, Hkv, Sq), causal
CASES = [("mha_causal", 32, (4, 4, 37), True), ("gqa", 72, (8, 2, 20), False),
         ("gqa_causal", 64, (8, 2, 50), True)]


def main():
    opts = kt.parse(__doc__)
    rng = kt.rng()
    for name, d, (hq, hkv, sq), causal in CASES:
        text = attention_module(name, [1, hq, sq, d], [1, hkv, -1, d], dtype="bf16",
                                kv_dtype="bf16", causal=causal)
        mod = kt.library(opts, text, f"bf16_dot_{name}")
        if mod is None:
            continue
        for extra in (0, 17, 100):
            length = sq + extra
            q, k, v = (rng.standard_normal(shape).astype(ml_dtypes.bfloat16)
                       for shape in ((1, hq, sq, d), (1, hkv, length, d), (1, hkv, length, d)))
            got = np.asarray(getattr(mod, name)(q, k, v), np.float64)
            want = ref.attention(q.astype(np.float64), k.astype(np.float64),
                                 v.astype(np.float64), causal=causal)
            kt.check(f"{name} L={length}", got, want, rtol=4e-3,
                     atol=1e-4 * np.abs(want).max())
    kt.finish()


if __name__ == "__main__":
    main()
