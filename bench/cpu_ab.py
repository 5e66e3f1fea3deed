#!/usr/bin/env python3
"""CPU decode / prefill A/B: one decode kernel of bench/cpu_decode.py (a
cache type or a compression method) or the prefill kernels of one type of
bench/cpu_prefill.py (``prefill:f32``, ``prefill:bf16``,
``prefill:bf16+pbf16``), compiled two or more ways, timed interleaved in
one process.

Each arm is LABEL=COMPILER[,OPTION...]: a kvq-compile binary (empty: the
default one, $KVQ_COMPILE or the build tree's) and kvq-compile options, as
``base=/tmp/old/bin/kvq-compile`` or ``selects=,--avx512=0,--avx2=0``. Every
arm is first checked against the fp64 reference, as cpu_decode.py checks
its kernels. Then, for each batch size and cache length, the arms are
called in turn, round after round for --seconds, each call preceded by
the cache flush of cpu_decode.py: a slow spell of a shared machine hits
every arm alike, which timing them minutes apart does not give. Each arm's
median and minimum are printed, with its speed relative to the first arm
as the median of the per-round ratios.

    python3 bench/cpu_ab.py polar selects=,--avx512=0,--avx2=0 avx2=,--avx512=0 avx512=
    python3 bench/cpu_ab.py gear4 base=../old/build/bin/kvq-compile new= --seconds 20
    python3 bench/cpu_ab.py prefill:bf16 base=../old/build/bin/kvq-compile new= --seconds 6

Prefill kernels run every case of cpu_prefill.py (MHA 32/32 and GQA 32/8,
causal and not, --lengths, by default 512 and 2048) without a cache flush
(their inputs are re-read many times per call); each is first checked
against fp64 on a ragged length, as cpu_prefill.py checks them.

A build of another commit gives the base compiler: `git worktree add
../old <commit>` and the README's build commands there.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import time

import numpy as np

import cpu_decode as cd
import cpu_prefill as cp
import kvq
from cpu_limits import Limits, loadavg

PREFILL = [f"prefill:{dtype}" for dtype in cp.DTYPES]


def parse_arm(text):
    label, sep, spec = text.partition("=")
    if not sep or not label:
        raise argparse.ArgumentTypeError(
            f"an arm is LABEL=COMPILER[,OPTION...], got '{text}'")
    compiler, *options = spec.split(",")
    if compiler and not os.access(compiler, os.X_OK):
        raise argparse.ArgumentTypeError(f"{label}: '{compiler}' is not an executable")
    return label, compiler or None, [o for o in options if o]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kernel", choices=list(cd.VARIANTS) + list(cd.METHODS) + PREFILL,
                    help="a cache type or compression method of cpu_decode.py, or "
                         "prefill:TYPE (a type of cpu_prefill.py)")
    ap.add_argument("arms", nargs="+", type=parse_arm, metavar="LABEL=COMPILER[,OPTION...]")
    ap.add_argument("--batch", type=int, nargs="+", default=[1])
    ap.add_argument("--lengths", type=int, nargs="+", default=None,
                    help="cache lengths (decode, default 16384) or sequence "
                         "lengths (prefill, default 512 2048)")
    ap.add_argument("--seconds", type=float, default=10.0,
                    help="time per batch size and length, all arms together")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    labels = [label for label, _, _ in args.arms]
    if len(set(labels)) != len(labels):
        ap.error("two arms have the same label")

    kvq.set_num_threads(args.threads)
    if args.kernel in PREFILL:
        prefill(args, labels)
        return
    if args.lengths is None:
        args.lengths = [16384]
    limits = Limits()
    rng = np.random.default_rng(0)
    scheme, kv_dtype, extra = cd.VARIANTS.get(args.kernel, (None, None, []))
    method = args.kernel in cd.METHODS
    mods = {}
    for label, compiler, options in args.arms:
        mod = cd.compile_variant(args.kernel, scheme, kv_dtype, extra + options,
                                 kvq_compile=compiler)
        if method:
            errors, _ = cd.check_methods({args.kernel: mod}, [args.kernel], rng, options)
        else:
            # The arm's options decide the tolerance (int8 knobs are lossy).
            errors = cd.check({args.kernel: mod},
                              {args.kernel: (scheme, kv_dtype, extra + options)}, rng)
        print(f"{label}: max relative error vs fp64 {errors[args.kernel]:.1e}")
        mods[label] = mod

    print(f"load {loadavg()}; {args.threads} threads")
    for b in args.batch:
        for length in args.lengths:
            q = rng.standard_normal((b, cd.HQ, 1, cd.D), dtype=np.float32)
            kv, nbytes = cd.timing_inputs(rng, b, length, args.kernel)
            out = np.empty(q.shape, np.float32)
            calls = {label: mod.decode.bind(q, *kv, out=out) for label, mod in mods.items()}
            for call in calls.values():
                call()
            times = interleave(calls, args.seconds, before=limits.flush)
            first = np.array(times[labels[0]])
            print(f"b {b} L {length} ({nbytes / 1e6:.0f} MB, {len(first)} rounds):")
            for label in labels:
                ts = np.array(times[label])
                ratio = float(np.median(first / ts))
                print(f"  {label:>12}: median {np.median(ts) * 1e3:8.3f} ms, "
                      f"min {ts.min() * 1e3:8.3f} ms, {nbytes / np.median(ts) / 1e9:6.1f} GB/s, "
                      f"{ratio:.2f}x {labels[0]}")
            del kv, calls


def interleave(calls, seconds, before=None):
    """Calls each arm in turn for `seconds`; returns each arm's times."""
    times = {label: [] for label in calls}
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for label, call in calls.items():
            if before:
                before()
            t = time.perf_counter()
            call()
            times[label].append(time.perf_counter() - t)
    return times


def prefill(args, labels):
    dtype = args.kernel.partition(":")[2]
    lengths = args.lengths or [512, 2048]
    rng = np.random.default_rng(0)
    print(f"load {loadavg()}; {args.threads} threads")
    for heads, (hq, hkv) in cp.HEADS.items():
        for causal in (False, True):
            mods = {}
            for label, compiler, options in args.arms:
                mod = cp.compile_case(hq, hkv, causal, dtype, options, kvq_compile=compiler)
                error = cp.check(mod, hq, hkv, causal, dtype, rng)
                print(f"{label}: {heads}{' causal' if causal else ''} max relative "
                      f"error vs fp64 {error:.1e}")
                mods[label] = mod
            for s in lengths:
                element = cp.DTYPES[dtype]
                q, k, v = (rng.standard_normal((1, h, s, cp.D)).astype(element)
                           for h in (hq, hkv, hkv))
                out = np.empty(q.shape, element)
                calls = {label: mod.prefill.bind(q, k, v, out=out)
                         for label, mod in mods.items()}
                for call in calls.values():
                    call()
                times = interleave(calls, args.seconds)
                flop = 4 * hq * cp.D * cp.pairs(s, s, causal)
                first = np.array(times[labels[0]])
                print(f"{heads} S {s}{' causal' if causal else ''} ({len(first)} rounds):")
                for label in labels:
                    ts = np.array(times[label])
                    print(f"  {label:>12}: median {np.median(ts) * 1e3:8.2f} ms, "
                          f"min {ts.min() * 1e3:8.2f} ms, "
                          f"{flop / np.median(ts) / 1e12:6.3f} TFLOP/s, "
                          f"{float(np.median(first / ts)):.2f}x {labels[0]}")


if __name__ == "__main__":
    main()
