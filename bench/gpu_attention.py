"""GPU attention benchmark: kvq kernels vs PyTorch SDPA (cuDNN and FLASH).

Two steps, because machines with a GPU have no LLVM 22:

    # here (LLVM 22 + CUDA toolkit): compile the kvq libraries
    python3 bench/gpu_attention.py build gpu-artifacts/bench [--chip sm_90]
    # on the GPU machine (PyTorch, no LLVM): run and write the results
    python3 bench/gpu_attention.py run gpu-artifacts/bench --out results/

scripts/gpu-artifacts.sh and scripts/gpu-check.sh do both.

Decode: batch 1..32, Hq 32 / Hkv 8 (GQA), D 128, L 8k..128k, one query per
sequence; KV cache in fp16, INT8 (per-token scale), INT4 (groups of 32
channels, f16 scales) and FP8 e4m3 (per-token scale); and at batch 1 and 8,
L 4k..128k, the KIVI schemes (4 and 2 bits: K asymmetric per channel over
groups of 32 tokens, V asymmetric per token over groups of 32 channels) and
2-bit symmetric groups of 32 channels. Prefill: batch 4, 32 heads, S
4k..16k, D 64 / 128, causal and not; fp16, and INT8 K with FP8 V.

Every variant runs in one process on the same inputs; kvq runs on PyTorch's
stream (kvq.cuda.stream) and, like SDPA, is timed with CUDA events around a
CUDA graph of `--iters` calls (plain replay of calls if capture fails).
The device's copy bandwidth (a device-to-device copy, bytes read plus
written) is measured first, in the same run. Printed: time, the achieved
rate (decode: TB/s of KV cache bytes read, codes and scales; prefill:
TFLOPS), the speed-up over cuDNN fp16 and, for decode, the fraction of the
measured copy bandwidth the bytes read reach. Written: JSON and Markdown
with device, date and commit.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

HQ, HKV, D = 32, 8, 128
DECODE_BATCHES = [1, 8, 32]
DECODE_LENGTHS = [8192, 32768, 131072]
# The compressed-cache schemes also run at these shapes.
METHOD_BATCHES = [1, 8]
METHOD_LENGTHS = [4096, 8192, 16384, 32768, 65536, 131072]
PREFILL = dict(batch=4, heads=32, lengths=[4096, 8192, 16384], dims=[64, 128])

# kvq decode libraries: name -> (key scheme, value scheme) over f16 queries.
DECODE_SCHEMES = {
    "fp16": (None, None),
    "int8": ("#kvq.quant<i8, symmetric, token, scale = f16>",) * 2,
    "int4": ("#kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>",) * 2,
    "fp8": ("#kvq.quant<f8E4M3FN, symmetric, token, scale = f16>",) * 2,
    "kivi4": ("#kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>",
              "#kvq.quant<i4, asymmetric, group(axis = 3, size = 32), scale = f16>"),
    "kivi2": ("#kvq.quant<i2, asymmetric, group(axis = 2, size = 32), scale = f16>",
              "#kvq.quant<i2, asymmetric, group(axis = 3, size = 32), scale = f16>"),
    "int2": ("#kvq.quant<i2, symmetric, group(axis = 3, size = 32), scale = f16>",) * 2,
}
# Schemes run only at the METHOD_* shapes.
METHOD_SCHEMES = ("kivi4", "kivi2", "int2")
PREFILL_SCHEMES = {
    "fp16": (None, None),
    "int8k_fp8v": ("#kvq.quant<i8, symmetric, token, scale = f16>",
                   "#kvq.quant<f8E4M3FN, symmetric, token, scale = f16>"),
}


def decode_name(scheme):
    return f"decode_{scheme}"


def decode_cases(quick=False):
    """(batch, length, [schemes]) of the decode benchmark, in run order."""
    base = [s for s in DECODE_SCHEMES if s not in METHOD_SCHEMES]
    batches = DECODE_BATCHES[:2] if quick else DECODE_BATCHES
    lengths = DECODE_LENGTHS[:2] if quick else DECODE_LENGTHS
    cases = {}
    for b in batches:
        for L in lengths:
            if b * L <= 32 * 131072:
                cases.setdefault((b, L), []).extend(base)
    m_lengths = METHOD_LENGTHS[:2] if quick else METHOD_LENGTHS
    for b in METHOD_BATCHES:
        for L in m_lengths:
            cases.setdefault((b, L), []).extend(METHOD_SCHEMES)
    return [(b, L, schemes) for (b, L), schemes in sorted(cases.items())]


def prefill_name(scheme, d, causal):
    return f"prefill_{scheme}_d{d}_{'causal' if causal else 'full'}"


# ---------------------------------------------------------------------------
# build (LLVM 22 machine)
# ---------------------------------------------------------------------------

def decode_module(scheme, batch=-1, length=-1):
    """The kvq module of a decode library (dynamic batch and length unless
    given: the cost-model checks use static shapes)."""
    from kvq.builder import attention_module
    ks, vs = DECODE_SCHEMES[scheme]
    return attention_module("attention", [batch, HQ, 1, D], [batch, HKV, length, D],
                            dtype="f16", key_scheme=ks, value_scheme=vs)


def build_jobs():
    """Library name -> kvq module text of every benchmark library."""
    from kvq.builder import attention_module
    jobs = {}
    for scheme in DECODE_SCHEMES:
        jobs[decode_name(scheme)] = decode_module(scheme)
    for scheme, (ks, vs) in PREFILL_SCHEMES.items():
        for d in PREFILL["dims"]:
            for causal in (False, True):
                h = PREFILL["heads"]
                jobs[prefill_name(scheme, d, causal)] = attention_module(
                    "attention", [-1, h, -1, d], [-1, h, -1, d], dtype="f16",
                    key_scheme=ks, value_scheme=vs, causal=causal)
    return jobs


def build(out_dir, chip, features, only=None):
    """Compiles the benchmark libraries (those whose name matches the regular
    expression `only`, if given) into `out_dir`."""
    import re
    import kvq
    os.makedirs(out_dir, exist_ok=True)
    options = {"chip": chip, "features": features, "format": "fatbin"}
    for name, text in build_jobs().items():
        if only and not re.search(only, name):
            continue
        lib = kvq.compile(text, target="nvvm", options=options, name=name,
                          build_dir=os.path.join(out_dir, name))
        print(f"built {lib.path}")
    # The results name the commit the libraries were built from.
    with open(os.path.join(out_dir, "COMMIT"), "w") as f:
        f.write(source_commit() + "\n")


def source_commit():
    """The commit of this source tree ('-dirty' with local changes), or
    'unknown' outside a git checkout."""
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True)
        if head.returncode != 0 or not head.stdout.strip():
            return "unknown"
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return head.stdout.strip() + ("-dirty" if dirty else "")
    except OSError:
        return "unknown"


def artifacts_commit(lib_dir):
    """The commit the libraries in `lib_dir` were built from: the COMMIT file
    that `build` writes into it, or that scripts/gpu-artifacts.sh writes at
    the top of the artifacts (two levels up). Never the git repository the
    run happens to be inside: that is not what was built. 'unknown' if
    there is none."""
    d = os.path.abspath(lib_dir)
    for _ in range(3):
        path = os.path.join(d, "COMMIT")
        if os.path.isfile(path):
            with open(path) as f:
                return f.read().strip() or "unknown"
        d = os.path.dirname(d)
    return "unknown"


# ---------------------------------------------------------------------------
# run (GPU machine)
# ---------------------------------------------------------------------------

def timed(fn, iters, torch):
    """Mean milliseconds of fn() over `iters` calls, from CUDA events around a
    CUDA graph of the calls (or around the calls themselves if capture
    fails)."""
    fn()
    torch.cuda.synchronize()
    graph = None
    try:
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            fn()  # warm-up on the capture stream
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            for _ in range(iters):
                fn()
    except Exception as e:  # noqa: BLE001
        graph = None
        print(f"    (no CUDA graph: {type(e).__name__}: {e}; timing plain calls)")
        torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for _ in range(2):  # the second round is the measurement
        start.record()
        if graph is not None:
            graph.replay()
        else:
            for _ in range(iters):
                fn()
        end.record()
        torch.cuda.synchronize()
    return start.elapsed_time(end) / iters


def sdpa_runner(torch, backend, q, k, v, causal, gqa):
    from torch.nn.attention import SDPBackend, sdpa_kernel
    import torch.nn.functional as F
    kind = {"cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION}[backend]

    def fn():
        with sdpa_kernel(kind):
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=gqa)
    fn()  # raises if the backend cannot run this case
    return fn


def random_codes(torch, scheme, shape):
    """Random K or V in the storage of `scheme` (torch tensors on the GPU):
    codes (sub-byte codes packed in bytes), f16 scales of the scheme's
    shape and, for asymmetric schemes, zero points (else None)."""
    from kvq.reference import QuantScheme, scale_shape
    q = QuantScheme.parse(scheme)
    sshape = list(scale_shape(shape, q))
    if q.bits < 8:
        codes = torch.randint(0, 256, shape[:-1] + [shape[-1] * q.bits // 8],
                              dtype=torch.uint8, device="cuda")
    elif q.is_float8:  # finite random bytes (exponent field below all-ones)
        codes = torch.randint(0, 256, shape, dtype=torch.uint8, device="cuda") & 0xF7
    else:
        codes = torch.randint(-127, 128, shape, dtype=torch.int8, device="cuda")
    scale = (torch.rand(sshape, device="cuda") * 0.1 + 0.01).half()
    zero = None
    if q.has_zero_point:
        zero = (torch.rand(sshape, device="cuda") - 0.5).half()
    return codes, scale, zero


def kvq_args(torch, cuda, np_dtypes, ks, vs, k16, v16):
    """Arguments of a kvq attention library for these K / V."""
    args = []
    for scheme, x in ((ks, k16), (vs, v16)):
        if scheme is None:
            args.append(x)
            continue
        codes, scale, zero = random_codes(torch, scheme, list(x.shape))
        if "f8E4M3FN" in scheme:
            codes = cuda.DeviceArray.from_ptr(codes.data_ptr(), tuple(codes.shape),
                                              np_dtypes.float8_e4m3fn, owner=codes)
        args += [codes, scale] + ([zero] if zero is not None else [])
    return args


def kv_bytes(scheme, shape):
    """Bytes of a K or V of `shape` [B, H, L, D] stored with `scheme` (None:
    fp16): codes (sub-byte codes packed) plus scales and zero points."""
    from kvq.reference import QuantScheme, scale_shape
    n = 1
    for s in shape:
        n *= s
    if scheme is None:
        return 2 * n
    q = QuantScheme.parse(scheme) if isinstance(scheme, str) else scheme
    sides = 1
    for s in scale_shape(shape, q):
        sides *= s
    side_bytes = {"f16": 2, "bf16": 2, "f32": 4}[q.scale_dtype]
    return n * q.bits // 8 + sides * side_bytes * (2 if q.has_zero_point else 1)


def copy_bandwidth(torch, nbytes=2 << 30, iters=10):
    """Device-to-device copy bandwidth in bytes/s, counting bytes read plus
    bytes written (median of `iters` copies of `nbytes` after a warm-up)."""
    src = torch.randint(0, 256, (nbytes,), dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    dst.copy_(src)
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        dst.copy_(src)
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    del src, dst
    torch.cuda.empty_cache()
    times.sort()
    return 2 * nbytes / times[len(times) // 2]


def run(art_dir, out_dir, iters, quick):
    import ml_dtypes
    import torch
    import kvq
    from kvq import cuda

    torch.manual_seed(0)
    device = torch.cuda.get_device_name()
    rows = []
    stream_handle = torch.cuda.current_stream().cuda_stream

    def record(kind, config, impl, ms, rate, unit):
        rows.append(dict(kind=kind, config=config, impl=impl, ms=ms, rate=rate, unit=unit))
        print(f"  {impl:<22} {ms * 1e3:9.1f} us  {rate:8.2f} {unit}", flush=True)

    def kvq_fn(lib, args, out):
        entry = lib.attention

        def fn():
            with cuda.stream(torch.cuda.current_stream().cuda_stream):
                entry(*args, out=out)
        return fn

    libs = {}

    def load(name):
        if name not in libs:
            libs[name] = kvq.runtime.load(os.path.join(art_dir, name))
        return libs[name]

    # The ceiling the decode rates are compared with, measured in this run.
    copy_bw = copy_bandwidth(torch)
    print(f"device copy: {copy_bw / 1e12:.2f} TB/s (read + write)", flush=True)

    def hbm_fraction(nbytes, ms):
        return nbytes / (ms / 1e3) / copy_bw

    for b, L, schemes in decode_cases(quick):
        config = f"decode b={b} L={L}"
        print(config, flush=True)
        q = torch.randn(b, HQ, 1, D, device="cuda", dtype=torch.half)
        k16 = torch.randn(b, HKV, L, D, device="cuda", dtype=torch.half)
        v16 = torch.randn(b, HKV, L, D, device="cuda", dtype=torch.half)
        fp16_bytes = 2 * kv_bytes(None, [b, HKV, L, D])
        base = {}
        for backend in ("cudnn", "flash"):
            try:
                fn = sdpa_runner(torch, backend, q, k16, v16, False, True)
                ms = timed(fn, iters, torch)
                base[backend] = ms
                record("decode", config, f"sdpa-{backend} fp16", ms,
                       fp16_bytes / ms / 1e9, "TB/s")
                rows[-1]["hbm_fraction"] = hbm_fraction(fp16_bytes, ms)
            except Exception as e:  # noqa: BLE001
                print(f"  sdpa-{backend}: n/a ({type(e).__name__}: {str(e)[:80]})")
        for scheme in schemes:
            ks, vs = DECODE_SCHEMES[scheme]
            lib = load(decode_name(scheme))
            args = [q] + kvq_args(torch, cuda, ml_dtypes, ks, vs, k16, v16)
            out = torch.empty(b, HQ, 1, D, device="cuda", dtype=torch.half)
            ms = timed(kvq_fn(lib, args, out), iters, torch)
            nbytes = kv_bytes(ks, [b, HKV, L, D]) + kv_bytes(vs, [b, HKV, L, D])
            record("decode", config, f"kvq {scheme}", ms, nbytes / ms / 1e9, "TB/s")
            rows[-1]["hbm_fraction"] = hbm_fraction(nbytes, ms)
            rows[-1]["byte_ratio"] = fp16_bytes / nbytes
            line = f"  {'':<22} {rows[-1]['hbm_fraction'] * 100:8.1f} % of copy bandwidth"
            if "cudnn" in base:
                rows[-1]["vs_cudnn"] = base["cudnn"] / ms
                line += (f", {base['cudnn'] / ms:.2f}x vs cuDNN fp16"
                         f" (bytes {fp16_bytes / nbytes:.2f}x fewer)")
            print(line, flush=True)
            del args
        del q, k16, v16
        torch.cuda.empty_cache()
    torch.cuda.synchronize()

    h = PREFILL["heads"]
    b = PREFILL["batch"]
    for d in PREFILL["dims"]:
        for S in (PREFILL["lengths"][:1] if quick else PREFILL["lengths"]):
            for causal in (False, True):
                config = f"prefill b={b} h={h} S={S} D={d} {'causal' if causal else 'full'}"
                print(config, flush=True)
                q = torch.randn(b, h, S, d, device="cuda", dtype=torch.half)
                k16 = torch.randn(b, h, S, d, device="cuda", dtype=torch.half)
                v16 = torch.randn(b, h, S, d, device="cuda", dtype=torch.half)
                flops = 4 * b * h * S * S * d * (0.5 if causal else 1.0)
                base = {}
                for backend in ("cudnn", "flash"):
                    try:
                        fn = sdpa_runner(torch, backend, q, k16, v16, causal, False)
                        ms = timed(fn, iters, torch)
                        base[backend] = ms
                        record("prefill", config, f"sdpa-{backend} fp16", ms,
                               flops / ms / 1e9, "TFLOPS")
                    except Exception as e:  # noqa: BLE001
                        print(f"  sdpa-{backend}: n/a ({type(e).__name__}: {str(e)[:80]})")
                for scheme, (ks, vs) in PREFILL_SCHEMES.items():
                    lib = load(prefill_name(scheme, d, causal))
                    args = [q] + kvq_args(torch, cuda, ml_dtypes, ks, vs, k16, v16)
                    out = torch.empty_like(q)
                    ms = timed(kvq_fn(lib, args, out), iters, torch)
                    record("prefill", config, f"kvq {scheme}", ms, flops / ms / 1e9, "TFLOPS")
                    for backend in ("cudnn", "flash"):
                        if backend in base:
                            rows[-1][f"vs_{backend}"] = base[backend] / ms
                    del args
                del q, k16, v16
                torch.cuda.empty_cache()

    commit = artifacts_commit(art_dir)
    meta = dict(device=device, date=datetime.date.today().isoformat(), commit=commit,
                torch=torch.__version__, iters=iters, copy_bandwidth=copy_bw)
    os.makedirs(out_dir, exist_ok=True)
    stem = os.path.join(out_dir, f"gpu_attention-{meta['date']}")
    with open(stem + ".json", "w") as f:
        json.dump(dict(meta=meta, rows=rows), f, indent=1)
    with open(stem + ".md", "w") as f:
        f.write(f"# GPU attention: kvq vs PyTorch SDPA\n\n{device}, {meta['date']}, commit "
                f"{commit}, torch {torch.__version__}; mean of {iters} calls in a CUDA graph; "
                f"device copy {copy_bw / 1e12:.2f} TB/s (read + write).\n\n")
        f.write(markdown_table(rows))
    print(f"wrote {stem}.json and .md")


def markdown_table(rows):
    """The Markdown table of benchmark rows (as `run` records them)."""
    text = ("| case | implementation | time (us) | rate | % of copy bandwidth "
            "| vs cuDNN fp16 |\n|---|---|---|---|---|---|\n")
    for r in rows:
        ratio = f"{r['vs_cudnn']:.2f}x" if "vs_cudnn" in r else ""
        frac = f"{r['hbm_fraction'] * 100:.1f}" if "hbm_fraction" in r else ""
        text += (f"| {r['config']} | {r['impl']} | {r['ms'] * 1e3:.1f} | "
                 f"{r['rate']:.2f} {r['unit']} | {frac} | {ratio} |\n")
    return text


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("dir")
    b.add_argument("--chip", default="sm_90")
    b.add_argument("--features", default="+ptx80")
    b.add_argument("--only", metavar="REGEX", help="build only the libraries whose name matches")
    r = sub.add_parser("run")
    r.add_argument("dir")
    r.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    r.add_argument("--iters", type=int, default=20)
    r.add_argument("--quick", action="store_true", help="a subset of the sizes")
    args = ap.parse_args()
    if args.cmd == "build":
        build(args.dir, args.chip, args.features, args.only)
    else:
        run(args.dir, args.out, args.iters, args.quick)


if __name__ == "__main__":
    main()
