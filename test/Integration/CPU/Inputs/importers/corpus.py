"""Runs the importer corpus (export.py wrote it: PyTorch modules lowered by
torch-mlir and by IREE's input conversion, with PyTorch's outputs; IREE's
output is read through kvq.importers.strip_iree_input): each
module must be raised (`kvq-opt --kvq-raise-attention=report`: as many
kvq.attention as the model has, no remark, no exponential left, K / V with
the model's number of KV heads, i.e. GQA kept grouped), then compiled by
kvq-compile and run on the seeded inputs against PyTorch's output.
Prints one line per module and route; exits non-zero on any failure.

Usage: corpus.py [NAME ...] (default: every module of corpus.json)
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

import kvq
import kvq_testing as kt
from kvq import importers
from kvq.compiler import find_kvq_compile

HERE = os.path.dirname(os.path.abspath(__file__))


def kvq_opt():
    tool = find_kvq_compile()
    return os.path.join(os.path.dirname(tool), "kvq-opt")


def check_raised(path, facts):
    """The problems of the raised module, or []."""
    out = subprocess.run([kvq_opt(), "--kvq-raise-attention=report", path],
                         capture_output=True, text=True)
    if out.returncode:
        return [f"kvq-opt failed: {out.stderr.strip()}"]
    problems = []
    if "remark" in out.stderr:
        problems.append(out.stderr.strip().splitlines()[0])
    attentions = re.findall(r"kvq\.attention q\(%\S+ : tensor<(\w+)>\) "
                            r"k\(%\S+ : tensor<(\w+)>\) v\(%\S+ : tensor<(\w+)>\)",
                            out.stdout)
    if len(attentions) != facts["attentions"]:
        problems.append(f"{len(attentions)} kvq.attention, expected {facts['attentions']}")
    for q, k, v in attentions:
        hq, hk, hv = (int(t.split("x")[1]) for t in (q, k, v))
        if hq != facts["hq"] or hk != facts["hkv"] or hv != facts["hkv"]:
            problems.append(f"heads q {hq} k {hk} v {hv}, expected q {facts['hq']} "
                            f"k / v {facts['hkv']}")
    for left in ("math.exp", "linalg.softmax"):
        if left in out.stdout:
            problems.append(f"{left} left after raising")
    return problems


def main(names):
    with open(os.path.join(HERE, "corpus.json")) as f:
        corpus = json.load(f)
    workdir = tempfile.mkdtemp(prefix="kvq-corpus-")
    for name, facts in corpus.items():
        if names and name not in names:
            continue
        data = np.load(os.path.join(HERE, f"{name}.npz"))
        inputs = [data[f"in{i}"] for i in range(len(data.files) - 1)]
        want = data["out"].astype(np.float64)
        for route in facts["routes"]:
            path = os.path.join(HERE, f"{name}.{route}.mlir")
            if route == "iree":
                # IREE's input conversion output, as kvq users read it.
                with open(path) as f:
                    text = importers.strip_iree_input(f.read())
                path = os.path.join(workdir, f"{name}.iree.mlir")
                with open(path, "w") as f:
                    f.write(text)
            problems = check_raised(path, facts)
            err = float("nan")
            if not problems:
                mod = kvq.compile(path, name=f"{name}_{route}")
                got = np.asarray(mod.main(*inputs), np.float64)
                if got.shape != want.shape:
                    problems.append(f"shape {got.shape}, expected {want.shape}")
                else:
                    err = float(np.abs(got - want).max() / np.abs(want).max())
                    if not err <= facts["tolerance"]:
                        problems.append(f"max rel error {err:.2e} > {facts['tolerance']:.0e}")
            kt.report(f"{name} {route}", not problems,
                      f"raised, KV heads {facts['hkv']}, "
                      f"max rel error {err:.1e} (tol {facts['tolerance']:.0e})"
                      + "".join(f"\n     {p}" for p in problems))
    shutil.rmtree(workdir, ignore_errors=True)
    kt.finish()


if __name__ == "__main__":
    main(sys.argv[1:])
