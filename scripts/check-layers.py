#!/usr/bin/env python3
"""Checks that kvq's libraries are layered: every `#include "kvq/..."` in
lib/ and include/ points at the same layer or one below it.

The layers, bottom to top (docs/Architecture.md):

  Runtime        lib/Runtime, include/kvq/Runtime: C runtimes, no MLIR
  IR             Dialect/KVQ/IR: the dialect, its types, attributes, ops
  Utils          Dialect/KVQ/Utils: helpers shared by every lowering
  Transforms     Dialect/KVQ/Transforms: kvq -> kvq rewrites
  Conversion     Conversion/KVQToLinalg, KVQToCPU, KVQToGPU: kvq to other
                 dialects; siblings do not include each other, they share
                 Conversion/Passes.h and Conversion/AttentionLowering.h
  TransformOps   Dialect/KVQ/TransformOps: transform.kvq.*, which apply
                 the conversions to the ops a transform script selects
  Pipelines      Pipelines: the pass pipelines
  Registration   InitAllKVQ: what a tool registers
  CAPI           CAPI, include/kvq-c: the C API

Two headers below IR are support code with no kvq dependency, which the
IR's verifiers use: Utils/ClosestName.h (suggestions for misspelled names)
and Utils/Polar.h (PolarQuant's code layout).

Usage: check-layers.py [ROOT]   (ROOT: the source tree; default: this
script's repository). Prints each violation as `file:line: ...` and exits 1
if there is any; prints the include counts between layers otherwise.
"""

import os
import re
import sys
from collections import Counter

LAYERS = ["Runtime", "IR", "Utils", "Transforms", "Conversion",
          "TransformOps", "Pipelines", "Registration", "CAPI"]
RANK = {name: i for i, name in enumerate(LAYERS)}

# Headers under Utils that IR may include: no kvq dependency of their own.
SUPPORT = {"Dialect/KVQ/Utils/ClosestName.h", "Dialect/KVQ/Utils/Polar.h"}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer_of(rel):
    """(layer, sub-layer) of a path relative to lib/ or include/kvq/."""
    parts = rel.split("/")
    if parts[0] == "Runtime":
        return "Runtime", None
    if parts[:2] == ["Dialect", "KVQ"] and len(parts) > 2:
        sub = parts[2]
        if sub in ("IR", "Utils", "Transforms", "TransformOps"):
            return sub, None
    if parts[0] == "Conversion":
        # Conversion/<Target>/... or the shared Conversion/*.h / *.td.
        return "Conversion", parts[1] if len(parts) > 2 else None
    if parts[0] == "Pipelines":
        return "Pipelines", None
    if parts[0].startswith("InitAllKVQ"):
        return "Registration", None
    if parts[0] == "CAPI":
        return "CAPI", None
    return None, None


def files(root):
    for top, prefix in (("lib", ""), (os.path.join("include", "kvq"), ""),
                        (os.path.join("include", "kvq-c"), "CAPI/")):
        base = os.path.join(root, top)
        for dirpath, _, names in os.walk(base):
            for name in sorted(names):
                if name.endswith((".h", ".cpp", ".c", ".def", ".inc")):
                    path = os.path.join(dirpath, name)
                    yield path, prefix + os.path.relpath(path, base).replace(os.sep, "/")


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))
    violations, edges, seen = [], Counter(), 0
    for path, rel in files(root):
        src_layer, src_sub = layer_of(rel)
        if src_layer is None:
            violations.append(f"{path}:1: not in any layer ({rel})")
            continue
        seen += 1
        with open(path, errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = m.group(1)
                if target.startswith("kvq-c/"):
                    dst_rel = "CAPI/" + target[len("kvq-c/"):]
                elif target.startswith("kvq/"):
                    dst_rel = target[len("kvq/"):]
                else:
                    continue  # upstream, or a header next to the file
                dst_layer, dst_sub = layer_of(dst_rel)
                if dst_layer is None:
                    violations.append(f"{path}:{lineno}: includes {target}, "
                                      "which is in no layer")
                    continue
                edges[(src_layer, dst_layer)] += 1
                where = f"{path}:{lineno}: {src_layer} includes {target}"
                if RANK[dst_layer] > RANK[src_layer]:
                    if not (src_layer == "IR" and dst_rel in SUPPORT):
                        violations.append(f"{where} ({dst_layer}, a layer above)")
                elif (src_layer == dst_layer == "Conversion" and src_sub and
                      dst_sub and src_sub != dst_sub):
                    violations.append(f"{where} (conversions do not include "
                                      f"each other: {src_sub} -> {dst_sub})")
    for v in violations:
        print(v)
    if violations:
        print(f"{len(violations)} layering violation(s)")
        return 1
    print(f"layers ok: {seen} files")
    for (a, b), n in sorted(edges.items(), key=lambda e: (RANK[e[0][0]], RANK[e[0][1]])):
        print(f"  {a} -> {b}: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
