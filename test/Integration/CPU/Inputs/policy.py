"""A 4-layer GQA transformer block stack (causal self-attention with Q / K /
V / O projections and residuals, written with linalg and tensor ops around
kvq.attention), compiled in one kvq-compile call with a per-layer KV
policy (--kv-policy), against the NumPy golden model applying the same
schemes to each layer's K and V. Exits non-zero on any mismatch.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), *[".."] * 4, "python"))

import kvq  # noqa: E402
from kvq import reference as ref  # noqa: E402

S, DM, HQ, HKV, D, LAYERS = 37, 64, 4, 2, 16, 4

POLICY = {
    "default": {"k": "#kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>",
                "v": "#kvq.quant<i4, asymmetric, group(axis = 3, size = 8), scale = f16>"},
    "layers": {
        "0": {"k": None, "v": None},
        "2": {"k": "#kvq.quant<i8, symmetric, token>", "v": "#kvq.quant<i8, symmetric, token>"},
        "3": {"k": "#kvq.quant<f8E4M3FN, symmetric, channel>"},
    },
}


def t(*shape):
    return "tensor<" + "x".join(map(str, shape)) + "xf32>"


def layer(i):
    """MLIR of layer i: %x{i} -> %x{i+1}."""
    x, y = f"%x{i}", f"%x{i + 1}"
    lines = []
    for name, heads in (("q", HQ), ("k", HKV), ("v", HKV)):
        lines += [
            f"  %{name}z{i} = tensor.empty() : {t(S, heads * D)}",
            f"  %{name}0{i} = linalg.fill ins(%zero : f32) outs(%{name}z{i} : {t(S, heads * D)}) -> {t(S, heads * D)}",
            f"  %{name}m{i} = linalg.matmul ins({x}, %w{name}{i} : {t(S, DM)}, {t(DM, heads * D)}) "
            f"outs(%{name}0{i} : {t(S, heads * D)}) -> {t(S, heads * D)}",
            f"  %{name}e{i} = tensor.expand_shape %{name}m{i} [[0, 1], [2, 3]] output_shape [1, {S}, {heads}, {D}] "
            f": {t(S, heads * D)} into {t(1, S, heads, D)}",
            f"  %{name}t0{i} = tensor.empty() : {t(1, heads, S, D)}",
            f"  %{name}{i} = linalg.transpose ins(%{name}e{i} : {t(1, S, heads, D)}) "
            f"outs(%{name}t0{i} : {t(1, heads, S, D)}) permutation = [0, 2, 1, 3]",
        ]
    lines += [
        f"  %a{i} = kvq.attention q(%q{i} : {t(1, HQ, S, D)}) k(%k{i} : {t(1, HKV, S, D)}) "
        f"v(%v{i} : {t(1, HKV, S, D)}) {{causal}} -> {t(1, HQ, S, D)}",
        f"  %at0{i} = tensor.empty() : {t(1, S, HQ, D)}",
        f"  %at{i} = linalg.transpose ins(%a{i} : {t(1, HQ, S, D)}) outs(%at0{i} : {t(1, S, HQ, D)}) "
        f"permutation = [0, 2, 1, 3]",
        f"  %ac{i} = tensor.collapse_shape %at{i} [[0, 1], [2, 3]] : {t(1, S, HQ, D)} into {t(S, HQ * D)}",
        f"  %oz{i} = tensor.empty() : {t(S, DM)}",
        f"  %o0{i} = linalg.fill ins(%zero : f32) outs(%oz{i} : {t(S, DM)}) -> {t(S, DM)}",
        f"  %o{i} = linalg.matmul ins(%ac{i}, %wo{i} : {t(S, HQ * D)}, {t(HQ * D, DM)}) "
        f"outs(%o0{i} : {t(S, DM)}) -> {t(S, DM)}",
        f"  {y} = linalg.add ins({x}, %o{i} : {t(S, DM)}, {t(S, DM)}) outs(%oz{i} : {t(S, DM)}) -> {t(S, DM)}",
    ]
    return lines


def module():
    args = [f"%x0: {t(S, DM)}"]
    for i in range(LAYERS):
        args += [f"%wq{i}: {t(DM, HQ * D)}", f"%wk{i}: {t(DM, HKV * D)}",
                 f"%wv{i}: {t(DM, HKV * D)}", f"%wo{i}: {t(HQ * D, DM)}"]
    body = ["  %zero = arith.constant 0.0 : f32"]
    for i in range(LAYERS):
        body += layer(i)
    return (f"func.func @model({', '.join(args)}) -> {t(S, DM)} {{\n" + "\n".join(body) +
            f"\n  return %x{LAYERS} : {t(S, DM)}\n}}\n")


def scheme_for(i, side):
    entry = POLICY["layers"].get(str(i), {})
    text = entry[side] if side in entry else POLICY["default"][side]
    return None if text is None else ref.QuantScheme.parse(text)


def reference(x, weights):
    x = x.astype(np.float64)
    for i in range(LAYERS):
        wq, wk, wv, wo = weights[4 * i:4 * i + 4]
        heads = {}
        for name, w, h in (("q", wq, HQ), ("k", wk, HKV), ("v", wv, HKV)):
            # The projections run in f32 in the kernel; quantization sees f32.
            p = (x.astype(np.float32) @ w).astype(np.float32)
            heads[name] = p.reshape(1, S, h, D).transpose(0, 2, 1, 3)
        for side in ("k", "v"):
            s = scheme_for(i, side)
            if s is not None:
                c, sc, zp = ref.quantize(np.ascontiguousarray(heads[side]), s)
                heads[side] = ref.dequantize(c, sc, zp, s)
        a = ref.attention(heads["q"], heads["k"], heads["v"], causal=True)
        x = x + a.transpose(0, 2, 1, 3).reshape(S, HQ * D) @ wo
    return x


def main():
    mod = kvq.compile(module(), name="policy", policy=POLICY)
    rng = np.random.default_rng()
    failures = 0
    for trial in range(3):
        x = rng.standard_normal((S, DM)).astype(np.float32)
        weights = []
        for _ in range(LAYERS):
            weights += [(rng.standard_normal((DM, HQ * D)) / np.sqrt(DM)).astype(np.float32),
                        (rng.standard_normal((DM, HKV * D)) / np.sqrt(DM)).astype(np.float32),
                        (rng.standard_normal((DM, HKV * D)) / np.sqrt(DM)).astype(np.float32),
                        (rng.standard_normal((HQ * D, DM)) / np.sqrt(HQ * D)).astype(np.float32)]
        got = np.asarray(mod.model(x, *weights), np.float64)
        want = reference(x, weights)
        err = float(np.abs(got - want).max() / np.abs(want).max())
        # Quantization codes may round the other way where the compiled f32
        # projection differs from NumPy's in the last bit: a few 1e-4.
        ok = err <= 2e-3
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} model trial {trial}: max rel error {err:.2e}")
    # The policy matters: without it the result differs from the
    # compressed reference by far more than the tolerance.
    plain = kvq.compile(module(), name="plain")
    x = rng.standard_normal((S, DM)).astype(np.float32)
    weights = [(rng.standard_normal(w.shape) / np.sqrt(w.shape[0])).astype(np.float32) for w in weights]
    diff = float(np.abs(np.asarray(plain.model(x, *weights), np.float64) - reference(x, weights)).max())
    ok = diff > 1e-2
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} policy changes the result: {diff:.2e}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
