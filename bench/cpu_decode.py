#!/usr/bin/env python3
"""CPU decode benchmark: fp32 vs INT8 vs INT4 KV caches, one process.

Compiles three kvq kernels (same pipeline, same schedule; only the KV cache
type differs) with dynamic batch and cache length, checks each against the
NumPy golden model at a small ragged size, then times decode steps
(q_len 1, Hq 32, Hkv 8, D 128) over a grid of batch sizes and cache
lengths. Prints time, effective KV bandwidth (bytes of the cache read per
second), the speed-up over fp32, and the fraction of a STREAM-like copy
bandwidth measured in the same process. Writes JSON + Markdown under
build/bench/ (--out DIR elsewhere; --out bench/results records them with
the sources).

    python3 bench/cpu_decode.py                 # b 1,4,8 x L 4k,16k,32k
    python3 bench/cpu_decode.py --batch 1 --lengths 16384 --reps 5
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

import kvq  # noqa: E402
from kvq import reference as ref  # noqa: E402
from kvq.builder import attention_module  # noqa: E402

HQ, HKV, D = 32, 8, 128
VARIANTS = {
    "fp32": None,
    "int8": "#kvq.quant<i8, symmetric, group(axis = 3, size = 32), scale = f16>",
    "int4": "#kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>",
}


def copy_bandwidth(nbytes=1 << 29, reps=5):
    """Read+write bytes per second of np.copyto on arrays larger than L3."""
    a = np.ones(nbytes // 4, np.float32)
    b = np.empty_like(a)
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - t)
    return 2 * a.nbytes / best


def compile_variant(name, scheme):
    text = attention_module("decode", [-1, HQ, 1, D], [-1, HKV, -1, D],
                            key_scheme=scheme, value_scheme=scheme)
    return kvq.compile(text, name=f"decode_{name}")


def kv_inputs(rng, b, length, scheme, random_values=False):
    """Arguments for K and V, and the bytes of cache they occupy."""
    args, nbytes, dense = [], 0, []
    for _ in range(2):
        if scheme is None:
            x = rng.standard_normal((b, HKV, length, D), dtype=np.float32)
            args.append(x)
            nbytes += x.nbytes
            dense.append(x)
            continue
        s = ref.QuantScheme.parse(scheme)
        if random_values:
            x = rng.standard_normal((b, HKV, length, D), dtype=np.float32)
            codes, scale, _ = ref.quantize(x, s)
            dense.append(ref.dequantize(codes, scale, None, s))
            if s.bits < 8:  # the cache as the kernel stores it: packed
                codes = ref.pack(codes, s.bits).reshape(codes.shape[:-1] + (-1,))
        else:
            # Timing does not depend on values: draw codes and scales
            # directly instead of quantizing gigabytes in NumPy.
            if s.bits < 8:  # packed codes: random bytes
                codes = rng.integers(0, 256, (b, HKV, length, D * s.bits // 8),
                                     dtype=np.uint8)
            else:
                codes = rng.integers(-s.max_code, s.max_code + 1,
                                     (b, HKV, length, D), dtype=np.int8)
            scale = (rng.random(ref.scale_shape((b, HKV, length, D), s)) * 0.1 +
                     0.01).astype(np.float16)
        args += [codes, scale]
        nbytes += codes.nbytes + scale.nbytes
    return args, nbytes, dense


def check(mods, rng):
    """Correct before fast: every variant vs the fp64 reference at a ragged
    cache length."""
    errors = {}
    for name, scheme in VARIANTS.items():
        q = rng.standard_normal((2, HQ, 1, D), dtype=np.float32)
        args, _, dense = kv_inputs(rng, 2, 1000, scheme, random_values=True)
        out = mods[name].decode(q, *args, out_shapes=[q.shape])
        expect = ref.attention(q.astype(np.float64), dense[0].astype(np.float64),
                               dense[1].astype(np.float64))
        errors[name] = float(np.abs(out - expect).max() / np.abs(expect).max())
        if errors[name] > 1e-4:
            raise SystemExit(f"{name}: relative error {errors[name]:.2e} vs reference")
    return errors


def time_call(fn, reps):
    fn()
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 4, 8])
    ap.add_argument("--lengths", type=int, nargs="+", default=[4096, 16384, 32768])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--out", default=os.path.join(os.environ.get("KVQ_BUILD_DIR") or
                                                  os.path.join(ROOT, "build"), "bench"),
                    help="where the results go (default: build/bench)")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    copy_bw = copy_bandwidth()
    mods = {name: compile_variant(name, s) for name, s in VARIANTS.items()}
    errors = check(mods, rng)
    print(f"copy bandwidth (read+write): {copy_bw / 1e9:.1f} GB/s; "
          f"max relative error vs fp64: " +
          ", ".join(f"{k} {v:.1e}" for k, v in errors.items()))

    rows = []
    header = (f"{'b':>2} {'L':>6} | " + " | ".join(
        f"{n:>5} ms  GB/s" for n in VARIANTS) + " | int8/fp32 int4/fp32 | int4 % copy")
    print(header)
    for b in args.batch:
        for length in args.lengths:
            q = rng.standard_normal((b, HQ, 1, D), dtype=np.float32)
            row = {"batch": b, "length": length}
            cells = []
            for name, scheme in VARIANTS.items():
                kv, nbytes, _ = kv_inputs(rng, b, length, scheme)
                entry = mods[name].decode
                out = np.empty((b, HQ, 1, D), np.float32)
                t = time_call(lambda: entry(q, *kv, out=out), args.reps)
                row[name] = {"seconds": t, "kv_bytes": nbytes, "gbps": nbytes / t / 1e9}
                cells.append(f"{t * 1e3:8.2f} {nbytes / t / 1e9:5.1f}")
                del kv
            row["speedup_int8"] = row["fp32"]["seconds"] / row["int8"]["seconds"]
            row["speedup_int4"] = row["fp32"]["seconds"] / row["int4"]["seconds"]
            # A copy moves each byte twice (read + write); decode only reads.
            row["int4_fraction_of_copy"] = row["int4"]["gbps"] * 1e9 / (copy_bw / 2)
            rows.append(row)
            print(f"{b:>2} {length:>6} | " + " | ".join(cells) +
                  f" | {row['speedup_int8']:9.2f} {row['speedup_int4']:9.2f} | "
                  f"{100 * row['int4_fraction_of_copy']:5.1f}")

    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    stamp = datetime.datetime.now().strftime("%Y-%m-%d")
    result = {
        "date": stamp, "commit": commit, "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "all"),
        "copy_bandwidth_gbps": copy_bw / 1e9, "max_rel_error": errors,
        "shape": {"hq": HQ, "hkv": HKV, "d": D, "q_len": 1}, "schemes": VARIANTS,
        "rows": rows,
    }
    os.makedirs(args.out, exist_ok=True)
    base = os.path.join(args.out, f"cpu_decode-{stamp}")
    with open(base + ".json", "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {base}.json and {base}.md")
    with open(base + ".md", "w") as f:
        f.write(f"# CPU decode, {stamp}, commit {commit}, {os.cpu_count()} cores\n\n")
        f.write(f"Hq {HQ}, Hkv {HKV}, D {D}, q_len 1. Copy bandwidth (read+write) "
                f"{copy_bw / 1e9:.1f} GB/s. Same pipeline for every variant.\n\n")
        f.write("| b | L | fp32 ms | int8 ms | int4 ms | int8 speed-up | int4 speed-up | int4 GB/s |\n")
        f.write("|---|---|---|---|---|---|---|---|\n")
        for r in rows:
            f.write(f"| {r['batch']} | {r['length']} | {r['fp32']['seconds'] * 1e3:.2f} | "
                    f"{r['int8']['seconds'] * 1e3:.2f} | {r['int4']['seconds'] * 1e3:.2f} | "
                    f"{r['speedup_int8']:.2f} | {r['speedup_int4']:.2f} | "
                    f"{r['int4']['gbps']:.1f} |\n")
    print(f"wrote {base}.json and .md")


if __name__ == "__main__":
    main()
