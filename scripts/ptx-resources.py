#!/usr/bin/env python3
"""Registers, spills and shared memory of every GPU kernel of a module, as
ptxas reports them, and for decode kernels what they imply: occupancy,
bytes in flight per SM and the fraction of DRAM bandwidth to expect (no GPU
needed; needs the CUDA toolkit's ptxas):

    scripts/ptx-resources.py model.mlir [--chip sm_90] [--options "block-kv=32"]
    scripts/ptx-resources.py --bench-decode [--schemes int4,kivi2] \\
        [--shapes 1x32768,8x32768] [--check] [--min-in-flight 22528 --at 8x32768]

The module is lowered with kvq-opt --kvq-nvvm-pipeline (format=isa); the
PTX of each gpu.binary goes through `ptxas -v`. Decode kernels carry the
compiler's plan (kvq-gpu-attention's cost model: warps, stages, shared
memory, bytes per tile, the target's facts and, for static shapes, the
launch); from it and ptxas's registers this script recomputes:

  * occupancy: resident CTAs per SM, the least of what the registers
    (allocated per warp in units of 256), the shared memory (plus the
    driver's 1 KB per CTA), the threads and the CTA limit allow;
  * bytes in flight per SM: resident CTAs x warps x tiles in flight per warp
    (stages - 1, or fewer when a warp has fewer tiles) x DRAM bytes per tile;
  * expected DRAM efficiency: in flight / (bandwidth x latency / SMs)
    (capped at 1) x pipeline fill and last-wave factor x issue bound
    (memory time of a tile over its instruction-issue time, capped at 1).

--bench-decode builds the decode modules of bench/gpu_attention.py (static
batch and length per --shapes). --check exits non-zero when a decode kernel
spills, uses more registers than its plan's budget, or (with
--min-in-flight) keeps fewer bytes in flight per SM than asked at --at.
"""

import argparse
import math
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_dict(text):
    """An MLIR dictionary attribute's text as a Python dict (numbers, strings,
    nested dictionaries)."""
    pos = 0

    def skip():
        nonlocal pos
        while pos < len(text) and text[pos] in " \n\t":
            pos += 1

    def value():
        nonlocal pos
        skip()
        if text[pos] == "{":
            return dictionary()
        if text[pos] == '"':
            end = text.index('"', pos + 1)
            s = text[pos + 1:end]
            pos = end + 1
            return s
        m = re.compile(r"[-+0-9.eE]+|true|false").match(text, pos)
        pos = m.end()
        tok = m.group(0)
        skip()
        if text.startswith(":", pos):  # a type suffix
            m2 = re.compile(r":\s*[a-z0-9]+").match(text, pos)
            pos = m2.end()
        if tok in ("true", "false"):
            return tok == "true"
        return float(tok) if any(c in tok for c in ".eE") else int(tok)

    def dictionary():
        nonlocal pos
        assert text[pos] == "{"
        pos += 1
        out = {}
        while True:
            skip()
            if text[pos] == "}":
                pos += 1
                return out
            m = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*").match(text, pos)
            key = m.group(0)
            pos = m.end()
            skip()
            if text[pos] == "=":
                pos += 1
                out[key] = value()
            else:
                out[key] = True
            skip()
            if text[pos] == ",":
                pos += 1

    return dictionary()


def extract_braced(text, start):
    """The balanced {...} starting at text[start]."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
    raise ValueError("unbalanced braces")


def lower(module_path, chip, options, kvq_opt):
    """PTX per kernel, and the decode plan per kernel (from the IR before
    kvq-gpu-kernel-bounds drops it)."""
    opts = f"format=isa chip={chip} {options}".strip()
    out = subprocess.run([kvq_opt, module_path, f"--kvq-nvvm-pipeline={opts}",
                          "--mlir-print-ir-before=kvq-gpu-kernel-bounds"],
                         capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stderr)
    ptx = {}
    for name, text in re.findall(r'gpu\.binary @(\w+)\s.*?assembly = "(.*?)">', out.stdout,
                                 re.S):
        ptx[name] = re.sub(r"\\([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), text)
    plans = {}
    for dump in out.stderr.split("// -----// IR Dump Before")[1:]:
        m = re.search(r"gpu\.module @(\w+)", dump)
        b = dump.find("kvq.kernel_bounds = {")
        if m and b >= 0:
            bounds = parse_dict(extract_braced(dump, dump.index("{", b)))
            plans[m.group(1)] = bounds.get("plan")
    return ptx, plans


def ptxas_info(ptxas, chip, name, text, tmp):
    path = os.path.join(tmp, name + ".ptx")
    with open(path, "w") as f:
        f.write(text)
    out = subprocess.run([ptxas, f"-arch={chip}", "-v", path, "-o", os.devnull],
                         capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"ptxas failed on {name}:\n{out.stderr}")
    info = out.stderr

    def num(pattern, group=1, default=0):
        m = re.search(pattern, info)
        return int(m.group(group)) if m else default

    return dict(registers=num(r"Used (\d+) registers"),
                spill_stores=num(r"(\d+) bytes spill stores"),
                spill_loads=num(r"(\d+) bytes spill loads"),
                stack=num(r"(\d+) bytes stack frame"),
                static_smem=num(r"(\d+) bytes smem"))


def predict(plan, info, batch_heads=None, keys=None):
    """The decode kernel's occupancy and DRAM expectations with the registers
    ptxas allocated (mirrors predictDecode in DecodeCostModel.cpp)."""
    warps, stages = plan["warps"], plan["stages"]
    threads = 32 * warps
    regs_per_warp = math.ceil(info["registers"] * 32 / 256) * 256
    by_regs = plan["registers_per_sm"] // (regs_per_warp * warps) if regs_per_warp else 99
    by_threads = plan["max_threads_per_sm"] // threads
    by_smem = plan["shared_memory_per_sm"] // (
        plan["shared_memory"] + info["static_smem"] + plan["reserved_shared_memory_per_cta"])
    occ = min(by_regs, by_threads, by_smem, plan["max_ctas_per_sm"])
    r = dict(ctas_per_sm=occ, limiter=min(
        (by_regs, "registers"), (by_threads, "threads"), (by_smem, "shared memory"),
        (plan["max_ctas_per_sm"], "CTA limit"))[1])
    if batch_heads is None:
        return r
    sms = plan["sms"]
    tile = plan["tile_keys"]
    tiles = math.ceil(keys / tile)
    splits = plan["splits"]
    ctas = splits * batch_heads
    resident = min(occ, ctas / sms)
    per_warp = math.ceil(math.ceil(tiles / splits) / warps)
    in_flight_tiles = min(stages - 1, per_warp)
    in_flight = resident * warps * in_flight_tiles * plan["dram_bytes_per_tile"]
    needed = plan["bytes_in_flight_needed_per_sm"]
    e_flight = min(1.0, in_flight / needed)
    fill = per_warp / (per_warp + stages - 1)
    slots = sms * occ
    waves = math.ceil(ctas / slots)
    tail = ctas / (waves * slots) if waves > 1 else 1.0
    mem_s = plan["dram_bytes_per_tile"] / (plan["dram_bandwidth"] / sms)
    issue_s = plan["issue_per_tile"] / (plan["schedulers_per_sm"] * plan["clock_ghz"] * 1e9)
    e_issue = min(1.0, mem_s / issue_s)
    expected = e_flight * fill * tail * e_issue
    dram = batch_heads * keys * plan["dram_bytes_per_tile"] / tile
    r.update(ctas=ctas, splits=splits, resident=resident, in_flight=in_flight,
             needed=needed, e_flight=e_flight, e_wave=fill * tail, e_issue=e_issue,
             expected=expected, dram_bytes=dram,
             expected_us=dram / (plan["dram_bandwidth"] * expected) * 1e6)
    return r


def bench_modules(schemes, shapes, tmp):
    """(label, module path, (batch, length)) of the benchmark decode modules."""
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import gpu_attention  # noqa: E402
    names = schemes or list(gpu_attention.DECODE_SCHEMES)
    out = []
    for scheme in names:
        if scheme not in gpu_attention.DECODE_SCHEMES:
            sys.exit(f"unknown scheme {scheme!r}; known: "
                     f"{', '.join(gpu_attention.DECODE_SCHEMES)}")
        for b, L in shapes:
            path = os.path.join(tmp, f"{scheme}_b{b}_L{L}.mlir")
            with open(path, "w") as f:
                f.write(gpu_attention.decode_module(scheme, b, L))
            out.append((f"{scheme} b{b} L{L}", path, (b, L), gpu_attention.HKV))
    return out


def parse_shape(text):
    b, L = text.lower().split("x")
    return int(b), int(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("module", nargs="?")
    ap.add_argument("--chip", default="sm_90")
    ap.add_argument("--options", default="", help="more kvq-nvvm-pipeline options")
    ap.add_argument("--kvq-opt", default=os.path.join(ROOT, "build", "bin", "kvq-opt"))
    ap.add_argument("--ptxas", default=os.path.join(
        os.environ.get("CUDA_HOME", "/usr/local/cuda"), "bin", "ptxas"))
    ap.add_argument("--bench-decode", action="store_true",
                    help="the decode libraries of bench/gpu_attention.py")
    ap.add_argument("--schemes", default="", help="comma-separated subset (--bench-decode)")
    ap.add_argument("--shapes", default="1x32768,8x32768",
                    help="batch x length list (--bench-decode)")
    ap.add_argument("--check", action="store_true",
                    help="fail on spills or registers above a decode kernel's budget")
    ap.add_argument("--min-in-flight", type=float, default=0,
                    help="with --check: least bytes in flight per SM at --at")
    ap.add_argument("--at", default="8x32768", help="shape of --min-in-flight")
    args = ap.parse_args()
    if bool(args.module) == args.bench_decode:
        ap.error("give a module or --bench-decode")

    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.bench_decode:
            shapes = [parse_shape(s) for s in args.shapes.split(",") if s]
            jobs = bench_modules([s for s in args.schemes.split(",") if s], shapes, tmp)
        else:
            jobs = [(os.path.basename(args.module), args.module, None, None)]
        print(f"{'kernel':40s} {'regs':>4s} {'spill st/ld':>11s} {'stack':>5s}  decode plan")
        for label, path, shape, hkv in jobs:
            ptx, plans = lower(path, args.chip, args.options, args.kvq_opt)
            if args.bench_decode:
                print(f"-- {label}")
            for name, text in ptx.items():
                info = ptxas_info(args.ptxas, args.chip, name, text, tmp)
                line = (f"{name:40s} {info['registers']:4d} "
                        f"{info['spill_stores']:5d}/{info['spill_loads']:<5d} {info['stack']:5d}")
                plan = plans.get(name)
                if plan:
                    bh = plan.get("batch_heads")
                    keys = plan.get("keys")
                    p = predict(plan, info, bh, keys)
                    line += (f"  {plan['warps']} warps x {plan['stages']} stages, "
                             f"{plan['shared_memory']} B smem, {p['ctas_per_sm']} CTAs/SM "
                             f"({p['limiter']})")
                    if bh is not None:
                        line += (f"\n{'':40s} shape {bh} heads x {keys} keys: "
                                 f"{p['splits']} splits, {p['ctas']} CTAs, "
                                 f"{p['in_flight'] / 1024:.1f} KB in flight/SM "
                                 f"(needs {p['needed'] / 1024:.1f}), efficiency "
                                 f"{p['expected'] * 100:.0f}% = in flight "
                                 f"{p['e_flight'] * 100:.0f}% x fill/wave "
                                 f"{p['e_wave'] * 100:.0f}% x issue {p['e_issue'] * 100:.0f}%"
                                 f", {p['expected_us']:.1f} us at "
                                 f"{plan['dram_bandwidth'] / 1e12:.2f} TB/s")
                    if args.check:
                        if info["spill_stores"] or info["spill_loads"]:
                            failures.append(f"{label}: {name} spills "
                                            f"{info['spill_stores']}/{info['spill_loads']} bytes")
                        if info["registers"] > plan["registers"]:
                            failures.append(f"{label}: {name} uses {info['registers']} registers,"
                                            f" more than its budget {plan['registers']}")
                        if (args.min_in_flight and shape is not None and bh is not None
                                and shape == parse_shape(args.at)
                                and p["in_flight"] < args.min_in_flight):
                            failures.append(f"{label}: {name} keeps {p['in_flight']:.0f} bytes "
                                            f"in flight per SM, fewer than "
                                            f"{args.min_in_flight:.0f}")
                print(line)
    if failures:
        print("\n".join(["FAILED:"] + failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
