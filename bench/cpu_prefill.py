#!/usr/bin/env python3
"""CPU prefill benchmark: kvq attention next to the FMA peak of the same
machine and to peers, in one run.

Cases: batch 1, D 128, S 512 and 2048 (query and key lengths equal), MHA
(32 heads) and GQA (32 query / 8 KV heads), causal and not. kvq compiles
one kernel per case and element type (f32; bf16 Q/K/V, computed in f32),
checks it against the fp64 reference on a smaller ragged shape, and times
it (median of --reps; a bound call, ``Entry.bind``, as the ggml harness
times a graph it built beforehand). Rates are flop per second with 4 * b * Hq * D flop
per (query, key) pair the kernel must visit (a causal case visits about
half), and the fraction of the f32 FMA peak measured in this run
(cpu_limits.c: chains of 512-bit FMAs on the same threads); bf16 rows are
also compared with the AVX512-BF16 dot-product peak. Peers in the same run
(built or found on demand, never in CI; cpu_peers.py): ik_llama.cpp's
flash attention with f16 / bf16 K and V, PyTorch's
scaled_dot_product_attention when torch is installed, and IREE's llvm-cpu
attention (iree_linalg_ext.attention, IREE's default configuration) when
iree-base-compiler and iree-base-runtime are installed, up to
--iree-max-length (it takes seconds per call). /proc/loadavg is recorded
before and after.

    python3 bench/cpu_prefill.py
    python3 bench/cpu_prefill.py --lengths 512 --reps 5 --peers none
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

D = 128
HEADS = {"MHA": (32, 32), "GQA": (32, 8)}
# Variants: the element type of Q, K, V (and the output), and "+pbf16":
# the probabilities that multiply V rounded to bf16 (p_type = bf16), which
# lets the CPU compute P V with AVX512-BF16 dot products as well.
DTYPES = {"f32": np.float32, "bf16": ml_dtypes.bfloat16, "bf16+pbf16": ml_dtypes.bfloat16}
GGML_TYPES = {"ik_llama.cpp": ["f16", "bf16"], "llama.cpp": ["f16"]}


def pairs(sq, skv, causal):
    """(query, key) pairs a kernel visits."""
    if not causal:
        return sq * skv
    i = np.arange(sq)
    return int(np.minimum(i + 1 + skv - sq, skv).clip(0).sum())


def compile_case(hq, hkv, causal, dtype, options, kvq_compile=None):
    element, _, rounded = dtype.partition("+p")
    text = attention_module("prefill", [1, hq, -1, D], [1, hkv, -1, D], dtype=element,
                            causal=causal, p_type=rounded or None)
    return kvq.compile(text, name=f"prefill_{hq}_{hkv}_{int(causal)}_{dtype.replace('+', '_')}",
                       options=options, kvq_compile=kvq_compile)


def check(mod, hq, hkv, causal, dtype, rng):
    sq = skv = 300  # ragged: not a multiple of any tile
    q = rng.standard_normal((1, hq, sq, D)).astype(DTYPES[dtype])
    k = rng.standard_normal((1, hkv, skv, D)).astype(DTYPES[dtype])
    v = rng.standard_normal((1, hkv, skv, D)).astype(DTYPES[dtype])
    out = np.asarray(mod.prefill(q, k, v, out_shapes=[q.shape]), np.float64)
    expect = ref.attention(q.astype(np.float64), k.astype(np.float64),
                           v.astype(np.float64), causal=causal)
    err = float(np.abs(out - expect).max() / np.abs(expect).max())
    tol = 1e-5 if dtype == "f32" else 1e-2
    if err > tol:
        raise SystemExit(f"prefill {hq}/{hkv} causal={causal} {dtype}: error {err:.2e}")
    return err


def time_call(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), times


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lengths", type=int, nargs="+", default=[512, 2048])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--dtypes", nargs="+", default=list(DTYPES))
    ap.add_argument("--peers", default="ik_llama.cpp,torch,iree",
                    help="comma-separated: ik_llama.cpp, llama.cpp, torch, iree, or none")
    ap.add_argument("--iree-max-length", type=int, default=512,
                    help="IREE's default configuration takes seconds per call: "
                         "time it only up to this S, with at most 3 calls")
    ap.add_argument("--options", default="", help="kvq-compile options")
    results.add_out_argument(ap)
    args = ap.parse_args()
    peers = [] if args.peers == "none" else args.peers.split(",")

    load_before = loadavg()
    limits = Limits()
    kvq.set_num_threads(args.threads)
    fma = limits.fma_peak(args.threads)
    bf16 = limits.bf16_peak(args.threads)
    peak, bf16_peak = fma["median"], bf16["median"]
    print(f"load {load_before}; {args.threads} threads; f32 FMA peak {peak / 1e9:.0f} GFLOP/s "
          f"(median; max {fma['max'] / 1e9:.0f}); bf16 dot-product peak {bf16_peak / 1e9:.0f}")

    # ik_llama.cpp's CPU flash attention takes bf16 K and V only where the
    # CPU has AVX512-BF16 (elsewhere it aborts): skipped, and said so.
    ggml_types = {peer: [t for t in types if t != "bf16" or bf16_peak > 0]
                  for peer, types in GGML_TYPES.items()}
    notes = [f"{peer} bf16 K/V: not run, it needs AVX512-BF16, which this CPU lacks."
             for peer, types in GGML_TYPES.items() if "bf16" in types and bf16_peak <= 0
             and peer in peers]
    ggml = {}
    for peer in peers:
        if peer in cpu_peers.GGML_PEERS:
            harness = cpu_peers.ggml_peer(peer)
            if harness:
                ggml[peer] = harness
    torch = cpu_peers.torch_sdpa() if "torch" in peers else None
    if "torch" in peers and torch is None:
        print("PyTorch is not installed: no PyTorch row")
    use_iree = "iree" in peers

    rng = np.random.default_rng(0)
    rows, errors = [], {}
    for heads, (hq, hkv) in HEADS.items():
        for causal in (False, True):
            mods = {}
            for dtype in args.dtypes:
                mods[dtype] = compile_case(hq, hkv, causal, dtype, args.options.split())
                errors[f"{heads}{' causal' if causal else ''} {dtype}"] = check(
                    mods[dtype], hq, hkv, causal, dtype, rng)
            for s in args.lengths:
                flop = 4 * hq * D * pairs(s, s, causal)
                case = {"heads": heads, "hq": hq, "hkv": hkv, "s": s, "causal": causal,
                        "flop": flop}
                for dtype, mod in mods.items():
                    q = rng.standard_normal((1, hq, s, D)).astype(DTYPES[dtype])
                    k = rng.standard_normal((1, hkv, s, D)).astype(DTYPES[dtype])
                    v = rng.standard_normal((1, hkv, s, D)).astype(DTYPES[dtype])
                    out = np.empty((1, hq, s, D), DTYPES[dtype])
                    t, times = time_call(mod.prefill.bind(q, k, v, out=out), args.reps)
                    rows.append(dict(case, impl="kvq", type=dtype, seconds=t, times=times))
                for peer, harness in ggml.items():
                    cases = [{"b": 1, "hq": hq, "hkv": hkv, "sq": s, "skv": s, "d": D,
                              "type": t, "causal": causal} for t in ggml_types[peer]]
                    for c, res in zip(cases, cpu_peers.run_ggml(harness, cases, args.threads,
                                                                args.reps)):
                        if "error" in res:
                            print(f"{peer} {c['type']}: {res['error']}")
                            notes.append(f"{peer} {c['type']} K/V, {heads} S {s}"
                                         f"{' causal' if causal else ''}: failed "
                                         f"({res['error']}).")
                            continue
                        rows.append(dict(case, impl=peer, type=f"{c['type']} K/V",
                                         seconds=res["seconds"], times=res["times"]))
                if torch is not None:
                    torch.set_num_threads(args.threads)
                    q = torch.randn(1, hq, s, D)
                    k = torch.randn(1, hkv, s, D).repeat_interleave(hq // hkv, dim=1)
                    v = torch.randn(1, hkv, s, D).repeat_interleave(hq // hkv, dim=1)
                    with torch.inference_mode():
                        t, times = time_call(
                            lambda: torch.nn.functional.scaled_dot_product_attention(
                                q, k, v, is_causal=causal), args.reps)
                    rows.append(dict(case, impl="PyTorch SDPA", type="f32", seconds=t,
                                     times=times))
                if use_iree and s <= args.iree_max_length:
                    iree = cpu_peers.iree_attention(hq, s, D, causal)
                    if iree is None:
                        print("IREE (iree-base-compiler, iree-base-runtime) is not installed: "
                              "no IREE row")
                        use_iree = False
                    else:
                        q = rng.standard_normal((hq, s, D), dtype=np.float32)
                        k = np.repeat(rng.standard_normal((hkv, s, D), dtype=np.float32),
                                      hq // hkv, axis=0)
                        v = np.repeat(rng.standard_normal((hkv, s, D), dtype=np.float32),
                                      hq // hkv, axis=0)
                        got = iree(q, k, v)
                        want = ref.attention(q[None].astype(np.float64), k[None], v[None],
                                             causal=causal)[0]
                        err = float(np.abs(got - want).max() / np.abs(want).max())
                        if err > 1e-4:
                            raise SystemExit(f"IREE: relative error {err:.2e} vs reference")
                        t, times = time_call(lambda: iree(q, k, v), min(args.reps, 3))
                        rows.append(dict(case, impl="IREE llvm-cpu", type="f32", seconds=t,
                                         times=times))
                # Side by side: each row's speed over ik_llama.cpp's fastest
                # on the same case (> 1: faster).
                peer_times = [r["seconds"] for r in rows
                              if r["impl"] == "ik_llama.cpp" and r["s"] == s
                              and r["causal"] == causal and r["heads"] == heads]
                for r in rows:
                    if peer_times and r["s"] == s and r["causal"] == causal \
                            and r["heads"] == heads:
                        r["vs_ik_llama"] = min(peer_times) / r["seconds"]
                for r in rows:
                    if "tflops" in r:
                        continue
                    r["tflops"] = r["flop"] / r["seconds"] / 1e12
                    r["fraction"] = r["flop"] / r["seconds"] / peak
                    if "bf16" in r["type"] and bf16_peak:
                        r["fraction_bf16"] = r["flop"] / r["seconds"] / bf16_peak
                    print(f"{heads} S {s:5d}{' causal' if causal else '       '} "
                          f"{r['impl']:>13} {r['type']:>10}: {r['seconds'] * 1e3:9.2f} ms "
                          f"{r['tflops']:.3f} TFLOP/s {100 * r['fraction']:5.1f}% of FMA peak"
                          + (f", {100 * r['fraction_bf16']:5.1f}% of bf16 peak"
                             if "fraction_bf16" in r else "")
                          + (f", {r['vs_ik_llama']:.2f}x ik_llama.cpp's best"
                             if "vs_ik_llama" in r else ""))
    load_after = loadavg()
    print(f"load before {load_before}, after {load_after}")

    commit = results.commit()
    stamp = datetime.datetime.now().strftime("%Y-%m-%d")
    result = {"date": stamp, "commit": commit,
              "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
              "cpu": results.cpu_description(),
              "threads": args.threads, "load_before": load_before, "load_after": load_after,
              "fma_peak": fma, "bf16_peak": bf16, "max_rel_error": errors, "d": D,
              "notes": notes, "rows": rows}
    os.makedirs(args.out, exist_ok=True)
    base = os.path.join(args.out, f"cpu_prefill-{stamp}")
    with open(base + ".json", "w") as f:
        json.dump(result, f, indent=1)
    with open(base + ".md", "w") as f:
        f.write(f"# CPU prefill, {stamp}, commit {commit}, {args.threads} threads\n\n")
        f.write(f"CPU: {result['cpu'] or 'unknown'}.\n\n")
        f.write(f"b 1, D {D}, Sq = Skv; median of {args.reps}. f32 FMA peak measured in the "
                f"same run: {peak / 1e9:.0f} GFLOP/s (bf16 dot products: "
                f"{bf16_peak / 1e9:.0f}). Load average before "
                f"{' '.join(load_before or [])}, after {' '.join(load_after or [])}.\n\n")
        f.write("Types: kvq's Q, K, V and output (bf16+pbf16: probabilities rounded to "
                "bf16 for P V, p_type = bf16); the peers' K and V (Q f32). Speed vs "
                "ik_llama.cpp: its fastest type on the same case over this row's time.\n\n")
        f.write("| heads | S | causal | implementation | type | ms | TFLOP/s | % of FMA peak "
                "| % of bf16 dot peak | vs ik_llama.cpp |\n")
        f.write("|---|---|---|---|---|---|---|---|---|---|\n")
        for r in rows:
            bf = f"{100 * r['fraction_bf16']:.0f}%" if "fraction_bf16" in r else ""
            vs = f"{r['vs_ik_llama']:.2f}x" if "vs_ik_llama" in r else ""
            f.write(f"| {r['heads']} {r['hq']}/{r['hkv']} | {r['s']} | "
                    f"{'yes' if r['causal'] else 'no'} | {r['impl']} | {r['type']} | "
                    f"{r['seconds'] * 1e3:.2f} | {r['tflops']:.3f} | "
                    f"{100 * r['fraction']:.0f}% | {bf} | {vs} |\n")
        if notes:
            f.write("\nNot in the table:\n\n" + "".join(f"- {n}\n" for n in notes))
    print(f"wrote {base}.json and .md")


if __name__ == "__main__":
    main()
