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

Writes JSON + Markdown under build/bench/ (--out DIR elsewhere; --out
bench/results records them with the sources).

    python3 bench/cpu_decode.py                      # b 1,8 x L 16k,32k
    python3 bench/cpu_decode.py --batch 1 --lengths 16384 --reps 9 --peers none
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
# bits per block of keys).
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
    "int2": ("#kvq.quant<i2, asymmetric, group(axis = 3, size = 32), scale = f16>", "f32", []),
}
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


def compile_variant(name, scheme, kv_dtype, options):
    text = attention_module("decode", [-1, HQ, 1, D], [-1, HKV, -1, D], dtype="f32",
                            kv_dtype=kv_dtype, key_scheme=scheme, value_scheme=scheme)
    return kvq.compile(text, name="decode_" + name.replace("+", "_"), options=options)


def kv_inputs(rng, b, length, scheme, kv_dtype, random_values=False):
    """Arguments for K and V, the bytes of cache they occupy, and the
    dequantized values (random_values only)."""
    args, nbytes, dense = [], 0, []
    for _ in range(2):
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


def check(mods, variants, rng):
    """Correct before fast: every variant vs the fp64 reference at a ragged
    cache length."""
    errors = {}
    for name, (scheme, kv_dtype, options) in variants.items():
        q = rng.standard_normal((2, HQ, 1, D), dtype=np.float32)
        args, _, dense = kv_inputs(rng, 2, 1000, scheme, kv_dtype, random_values=True)
        out = mods[name].decode(q, *args, out_shapes=[q.shape])
        expect = ref.attention(q.astype(np.float64), dense[0], dense[1])
        errors[name] = float(np.abs(out - expect).max() / np.abs(expect).max())
        lossy = "--int8-dot=1" in options or "--int8-pv=1" in options
        if errors[name] > (DOT_TOLERANCE if lossy else 1e-4):
            raise SystemExit(f"{name}: relative error {errors[name]:.2e} vs reference")
    return errors


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
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS))
    ap.add_argument("--peers", default="ik_llama.cpp,llama.cpp,torch",
                    help="comma-separated: ik_llama.cpp, llama.cpp, torch, or none")
    ap.add_argument("--options", default="", help="kvq-compile options")
    ap.add_argument("--block-time", type=int, default=None,
                    help="kvq.set_block_time(ms) for kvq's kernels (default: the library's, 1)")
    results.add_out_argument(ap)
    args = ap.parse_args()
    variants = {k: VARIANTS[k] for k in args.variants}
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
    print("max relative error vs fp64: " + ", ".join(f"{k} {v:.1e}" for k, v in errors.items()))

    ggml = {}
    for peer in peers:
        if peer in cpu_peers.GGML_PEERS:
            harness = cpu_peers.ggml_peer(peer)
            if harness:
                ggml[peer] = harness
    torch = cpu_peers.torch_sdpa() if "torch" in peers else None
    if "torch" in peers and torch is None:
        print("PyTorch is not installed: no PyTorch row")

    rows = []
    for b in args.batch:
        for length in args.lengths:
            q = rng.standard_normal((b, HQ, 1, D), dtype=np.float32)
            for name, (scheme, kv_dtype, _) in variants.items():
                kv, nbytes, _ = kv_inputs(rng, b, length, scheme, kv_dtype)
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
        "cpus": os.cpu_count(), "threads": args.threads,
        "block_time_ms": kvq.get_block_time(), "load_before": load_before,
        "load_after": load_after, "read_bandwidth": bandwidth,
        "max_rel_error": errors, "shape": {"hq": HQ, "hkv": HKV, "d": D, "q_len": 1},
        "schemes": {k: v[0] or v[1] for k, v in variants.items()}, "rows": rows,
    }
    os.makedirs(args.out, exist_ok=True)
    base = os.path.join(args.out, f"cpu_decode-{stamp}")
    with open(base + ".json", "w") as f:
        json.dump(result, f, indent=1)
    with open(base + ".md", "w") as f:
        f.write(f"# CPU decode, {stamp}, commit {commit}, {args.threads} threads, "
                f"block time {kvq.get_block_time()} ms\n\n")
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
        f.write("| b | L | implementation | KV | ms | GB/s (compressed) | % of read bandwidth "
                "| vs ik_llama.cpp |\n")
        f.write("|---|---|---|---|---|---|---|---|\n")
        for r in rows:
            vs = f"{r['vs_ik_llama']:.2f}x" if "vs_ik_llama" in r else ""
            f.write(f"| {r['batch']} | {r['length']} | {r['impl']} | {r['kv']} | "
                    f"{r['seconds'] * 1e3:.3f} | {r['gbps']:.1f} | {100 * r['fraction']:.0f}% "
                    f"| {vs} |\n")
    print(f"wrote {base}.json and .md")


if __name__ == "__main__":
    main()
