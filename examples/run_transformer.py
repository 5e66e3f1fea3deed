"""Compiles examples/transformer_4layer.mlir with the KV policy
examples/kv_policy.json (kvq.compile(policy=...): the attention is raised
from its linalg form, K and V of layers 1-3 are compressed as the policy
says) and runs it on NumPy arrays against the NumPy golden model of the
same compressed model (docs/UserGuide.md).

    PYTHONPATH=python python3 examples/run_transformer.py
"""

import json
import os

import numpy as np

import kvq
from kvq import reference as ref

HERE = os.path.dirname(os.path.abspath(__file__))
S, DM, HQ, HKV, D, LAYERS = 37, 64, 4, 2, 16, 4


def scheme(policy, layer, side):
    entry = policy.get("layers", {}).get(str(layer), {})
    text = entry[side] if side in entry else policy["default"].get(side)
    return None if text is None else ref.QuantScheme.parse(text)


def layer_reference(policy, i, x, wq, wk, wv, wo):
    heads = {}
    for name, w, h in (("q", wq, HQ), ("k", wk, HKV), ("v", wv, HKV)):
        heads[name] = (x.astype(np.float32) @ w).reshape(1, S, h, D).transpose(0, 2, 1, 3)
    for side in ("k", "v"):
        s = scheme(policy, i, side)
        if s is not None:
            c, sc, zp = ref.quantize(np.ascontiguousarray(heads[side]), s)
            heads[side] = ref.dequantize(c, sc, zp, s)
    a = ref.attention(heads["q"], heads["k"], heads["v"], causal=True)
    return x.astype(np.float64) + a.transpose(0, 2, 1, 3).reshape(S, HQ * D) @ wo


def main():
    policy = json.load(open(os.path.join(HERE, "kv_policy.json")))
    model = kvq.compile(os.path.join(HERE, "transformer_4layer.mlir"), policy=policy)
    rng = np.random.default_rng()
    x = rng.standard_normal((S, DM)).astype(np.float32)
    mask = np.where(np.tril(np.ones((S, S), bool)), 0.0, -np.inf).astype(np.float32)
    weights = []
    for _ in range(LAYERS):
        weights += [(rng.standard_normal((DM, n)) / np.sqrt(DM)).astype(np.float32)
                    for n in (HQ * D, HKV * D, HKV * D)]
        weights.append((rng.standard_normal((HQ * D, DM)) / np.sqrt(HQ * D)).astype(np.float32))
    outputs = model.model(x, mask, *weights)
    # Each layer against the reference layer on the same input (a code at a
    # rounding boundary may round differently from one f32 summation order
    # to another, so the layers are compared one at a time).
    inputs = [x] + [np.asarray(o) for o in outputs[:-1]]
    for i in range(LAYERS):
        want = layer_reference(policy, i, inputs[i], *weights[4 * i:4 * i + 4])
        err = np.abs(np.asarray(outputs[i], np.float64) - want).max() / np.abs(want).max()
        print(f"layer {i}: K {scheme(policy, i, 'k')}, V {scheme(policy, i, 'v')}: "
              f"max rel error vs NumPy {err:.1e}")


if __name__ == "__main__":
    main()
