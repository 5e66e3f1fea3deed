"""GPU attention benchmark: kvq kernels vs PyTorch SDPA (cuDNN and FLASH).

Two steps, because machines with a GPU have no LLVM 22:

    # here (LLVM 22 + CUDA toolkit): compile the kvq libraries
    python3 bench/gpu_attention.py build gpu-artifacts/bench [--chip sm_90]
    # on the GPU machine (PyTorch, no LLVM): run and write the results
    python3 bench/gpu_attention.py run gpu-artifacts/bench --out results/

scripts/gpu-artifacts.sh and scripts/gpu-check.sh do both.

Decode: batch 1..32, Hq 32 / Hkv 8 (GQA), D 128, L 8k..128k, one query per
sequence; KV cache in fp16, INT8 (per-token scale), INT4 (groups of 32
channels, f16 scales) and FP8 e4m3 (per-token scale). Prefill: batch 4, 32
heads, S 4k..16k, D 64 / 128, causal and not; fp16, and INT8 K with FP8 V.

Every variant runs in one process on the same inputs; kvq runs on PyTorch's
stream (kvq.cuda.stream) and, like SDPA, is timed with CUDA events around a
CUDA graph of `--iters` calls (plain replay of calls if capture fails).
Printed: time, the achieved rate (decode: TB/s of KV cache bytes read;
prefill: TFLOPS) and the speed-up over cuDNN fp16. Written: JSON and
Markdown with device, date and commit.
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
PREFILL = dict(batch=4, heads=32, lengths=[4096, 8192, 16384], dims=[64, 128])

# kvq decode libraries: name -> (key scheme, value scheme) over f16 queries.
DECODE_SCHEMES = {
    "fp16": (None, None),
    "int8": ("#kvq.quant<i8, symmetric, token, scale = f16>",) * 2,
    "int4": ("#kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>",) * 2,
    "fp8": ("#kvq.quant<f8E4M3FN, symmetric, token, scale = f16>",) * 2,
}
PREFILL_SCHEMES = {
    "fp16": (None, None),
    "int8k_fp8v": ("#kvq.quant<i8, symmetric, token, scale = f16>",
                   "#kvq.quant<f8E4M3FN, symmetric, token, scale = f16>"),
}


def decode_name(scheme):
    return f"decode_{scheme}"


def prefill_name(scheme, d, causal):
    return f"prefill_{scheme}_d{d}_{'causal' if causal else 'full'}"


# ---------------------------------------------------------------------------
# build (LLVM 22 machine)
# ---------------------------------------------------------------------------

def build(out_dir, chip, features):
    import kvq
    from kvq.builder import attention_module
    os.makedirs(out_dir, exist_ok=True)
    options = {"chip": chip, "features": features, "format": "fatbin"}
    jobs = {}
    for scheme, (ks, vs) in DECODE_SCHEMES.items():
        jobs[decode_name(scheme)] = attention_module(
            "attention", [-1, HQ, 1, D], [-1, HKV, -1, D], dtype="f16",
            key_scheme=ks, value_scheme=vs)
    for scheme, (ks, vs) in PREFILL_SCHEMES.items():
        for d in PREFILL["dims"]:
            for causal in (False, True):
                h = PREFILL["heads"]
                jobs[prefill_name(scheme, d, causal)] = attention_module(
                    "attention", [-1, h, -1, d], [-1, h, -1, d], dtype="f16",
                    key_scheme=ks, value_scheme=vs, causal=causal)
    for name, text in jobs.items():
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
    codes (i4 packed in bytes) and f16 scales of the scheme's shape."""
    if "i4" in scheme:
        codes = torch.randint(0, 256, shape[:-1] + [shape[-1] // 2], dtype=torch.uint8,
                              device="cuda")
        scale = (torch.rand(shape[:-1] + [shape[-1] // 32], device="cuda") * 0.1 + 0.01).half()
    elif "i8" in scheme:
        codes = torch.randint(-127, 128, shape, dtype=torch.int8, device="cuda")
        scale = (torch.rand(shape[:-1] + [1], device="cuda") * 0.01 + 0.001).half()
    else:  # f8E4M3FN: finite random bytes (exponent field below all-ones)
        codes = torch.randint(0, 256, shape, dtype=torch.uint8, device="cuda") & 0xF7
        scale = (torch.rand(shape[:-1] + [1], device="cuda") * 0.01 + 0.001).half()
    return codes, scale


def kvq_args(torch, cuda, np_dtypes, ks, vs, k16, v16):
    """Arguments of a kvq attention library for these K / V."""
    args = []
    for scheme, x in ((ks, k16), (vs, v16)):
        if scheme is None:
            args.append(x)
            continue
        codes, scale = random_codes(torch, scheme, list(x.shape))
        if "f8E4M3FN" in scheme:
            codes = cuda.DeviceArray.from_ptr(codes.data_ptr(), tuple(codes.shape),
                                              np_dtypes.float8_e4m3fn, owner=codes)
        args += [codes, scale]
    return args


def kv_bytes(scheme, shape):
    n = 1
    for s in shape:
        n *= s
    if scheme is None:
        return 2 * n
    if "i4" in scheme:
        return n // 2 + 2 * n // 32
    return n + 2 * (n // shape[-1])


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

    batches = DECODE_BATCHES[:2] if quick else DECODE_BATCHES
    lengths = DECODE_LENGTHS[:2] if quick else DECODE_LENGTHS
    for b in batches:
        for L in lengths:
            if b * L > 32 * 131072:
                continue
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
                except Exception as e:  # noqa: BLE001
                    print(f"  sdpa-{backend}: n/a ({type(e).__name__}: {str(e)[:80]})")
            for scheme, (ks, vs) in DECODE_SCHEMES.items():
                lib = load(decode_name(scheme))
                args = [q] + kvq_args(torch, cuda, ml_dtypes, ks, vs, k16, v16)
                out = torch.empty(b, HQ, 1, D, device="cuda", dtype=torch.half)
                ms = timed(kvq_fn(lib, args, out), iters, torch)
                nbytes = kv_bytes(ks, [b, HKV, L, D]) + kv_bytes(vs, [b, HKV, L, D])
                record("decode", config, f"kvq {scheme}", ms, nbytes / ms / 1e9, "TB/s")
                if "cudnn" in base:
                    rows[-1]["vs_cudnn"] = base["cudnn"] / ms
                    print(f"  {'':<22} {base['cudnn'] / ms:9.2f}x vs cuDNN fp16")
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
                torch=torch.__version__, iters=iters)
    os.makedirs(out_dir, exist_ok=True)
    stem = os.path.join(out_dir, f"gpu_attention-{meta['date']}")
    with open(stem + ".json", "w") as f:
        json.dump(dict(meta=meta, rows=rows), f, indent=1)
    with open(stem + ".md", "w") as f:
        f.write(f"# GPU attention: kvq vs PyTorch SDPA\n\n{device}, {meta['date']}, commit "
                f"{commit}, torch {torch.__version__}; mean of {iters} calls in a CUDA graph.\n\n")
        f.write("| case | implementation | time (us) | rate | vs cuDNN fp16 |\n|---|---|---|---|---|\n")
        for r in rows:
            ratio = f"{r['vs_cudnn']:.2f}x" if "vs_cudnn" in r else ""
            f.write(f"| {r['config']} | {r['impl']} | {r['ms'] * 1e3:.1f} | "
                    f"{r['rate']:.2f} {r['unit']} | {ratio} |\n")
    print(f"wrote {stem}.json and .md")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("dir")
    b.add_argument("--chip", default="sm_90")
    b.add_argument("--features", default="+ptx80")
    r = sub.add_parser("run")
    r.add_argument("dir")
    r.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    r.add_argument("--iters", type=int, default=20)
    r.add_argument("--quick", action="store_true", help="a subset of the sizes")
    args = ap.parse_args()
    if args.cmd == "build":
        build(args.dir, args.chip, args.features)
    else:
        run(args.dir, args.out, args.iters, args.quick)


if __name__ == "__main__":
    main()
