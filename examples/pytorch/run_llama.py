"""Compiles examples/pytorch/llama.mlir (a 2-layer Llama exported from
PyTorch by export_llama.py) with kvq and runs it on the input export_llama.py
saved, against PyTorch's output; then again with a KV policy for its two
layers (layer 0 in full precision, layer 1 with KIVI's INT4 K / V: the
default entry of examples/kv_policy.json; an entry for a layer the model
lacks would be an error). Needs only NumPy and kvq (docs/UserGuide.md).

    PYTHONPATH=python python3 examples/pytorch/run_llama.py
"""

import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
import kvq  # noqa: E402


def main():
    data = np.load(os.path.join(HERE, "llama.npz"))
    x, want = data["x"], data["y"].astype(np.float64)
    model = os.path.join(HERE, "llama.mlir")
    with open(os.path.join(HERE, "..", "kv_policy.json")) as f:
        kivi = json.load(f)["default"]
    policy_2_layers = {"default": kivi, "layers": {"0": {"k": None, "v": None}}}
    for name, policy in (("llama", None), ("llama_kv", policy_2_layers)):
        lib = kvq.compile(model, name=name, policy=policy)
        got = lib.main(x)  # the MLIR function @main (C symbol <name>_main)
        err = np.abs(got - want).max() / np.abs(want).max()
        print(f"{name}: {lib.manifest['entries'][0]['symbol']}{tuple(x.shape)} -> "
              f"{tuple(got.shape)}, max rel error vs PyTorch {err:.1e}"
              + ("" if policy is None else " (INT4 K / V in layer 1)"))


if __name__ == "__main__":
    main()
