"""CPU peers of the kvq benchmarks, built or found on demand (never in CI).

* ik_llama.cpp: the ggml CPU backend of the ik_llama.cpp fork (its iqk
  flash-attention kernels), from the PyPI sdist of ``ik-llama-cpp-python``,
  built with ``-DGGML_NATIVE=ON -DGGML_IQK_FA_ALL_QUANTS=ON`` (once: about
  5 minutes of 2 Zen 5 cores; on 2 Zen 1 cores its largest flash-attention
  files take over 10 minutes each, and the build most of an hour). Its
  flash attention takes bf16 K and V only on CPUs with AVX512-BF16;
* llama.cpp: mainline ggml's CPU backend, from the PyPI sdist of
  ``llama-cpp-python``;
* PyTorch (``torch.nn.functional.scaled_dot_product_attention``) and IREE
  (``iree.compiler`` / ``iree.runtime``), when importable.

Sources and builds live in a cache directory outside the repository
(``$KVQ_BENCH_CACHE``, default ``~/.cache/kvq-bench``). The ggml peers are
driven by a small C harness (``ggml_fa_bench.c``) that builds one
``ggml_flash_attn_ext`` graph and times ``ggml_graph_compute`` in its own
process; it prints one JSON line per case.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.environ.get("KVQ_BENCH_CACHE", os.path.expanduser("~/.cache/kvq-bench"))
LLVM_BIN = "/usr/lib/llvm-22/bin"

GGML_PEERS = {
    # name: (PyPI sdist, version, path of ggml in the sdist, extra cmake flags)
    "ik_llama.cpp": ("ik-llama-cpp-python", "0.1.5", "vendor/ik_llama.cpp/ggml",
                     ["-DGGML_IQK_FA_ALL_QUANTS=ON", "-DGGML_IQK_FLASH_ATTENTION=ON"]),
    "llama.cpp": ("llama-cpp-python", None, "vendor/llama.cpp/ggml", []),
}


def log(msg):
    print(f"[peers] {msg}", file=sys.stderr, flush=True)


def _compiler(name):
    path = os.path.join(LLVM_BIN, name)
    return path if os.access(path, os.X_OK) else shutil.which(name)


def _fetch_sdist(package, version):
    """Downloads (once) and unpacks the sdist; returns its directory."""
    src = os.path.join(CACHE, "src")
    os.makedirs(src, exist_ok=True)
    pattern = package.replace("-", "_") + "-" + (version or "*") + ".tar.gz"
    found = sorted(glob.glob(os.path.join(src, pattern)))
    if not found:
        spec = f"{package}=={version}" if version else package
        log(f"downloading the sdist of {spec}")
        # Only this package as an sdist: pip still prepares its metadata,
        # and with ":all:" it would build every build dependency from
        # source first (many minutes).
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                        "--no-binary", package, spec, "-d", src],
                       check=True, stdout=subprocess.DEVNULL)
        found = sorted(glob.glob(os.path.join(src, pattern)))
    archive = found[-1]
    root = archive[:-len(".tar.gz")]
    if not os.path.isdir(root):
        with tarfile.open(archive) as tar:
            tar.extractall(src, filter="data")
    return root


def ggml_peer(name, rebuild=False):
    """Builds (once) the ggml CPU backend of peer `name` and the harness
    against it; returns the harness path, or None with a reason logged."""
    package, version, ggml_dir, flags = GGML_PEERS[name]
    build = os.path.join(CACHE, name.replace(".", "_") + "-build")
    harness = os.path.join(build, "ggml_fa_bench")
    # Rebuilt when the harness source changed (ggml itself rebuilds
    # incrementally, in seconds).
    if (os.access(harness, os.X_OK) and not rebuild and os.path.getmtime(harness)
            >= os.path.getmtime(os.path.join(HERE, "ggml_fa_bench.c"))):
        return harness
    try:
        root = _fetch_sdist(package, version)
    except (subprocess.CalledProcessError, OSError) as e:
        log(f"{name}: cannot fetch {package}: {e}")
        return None
    source = os.path.join(root, ggml_dir)
    if not os.path.isdir(source):
        log(f"{name}: no ggml in {root}")
        return None
    cc, cxx = _compiler("clang"), _compiler("clang++")
    # The whole project configures (ggml alone lacks files in the sdists);
    # only the ggml target is built.
    configure = ["cmake", "-S", os.path.dirname(source), "-B", build, "-G", "Ninja",
                 "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF",
                 "-DLLAMA_BUILD_SERVER=OFF", "-DLLAMA_CURL=OFF",
                 "-DCMAKE_BUILD_TYPE=Release", "-DBUILD_SHARED_LIBS=ON",
                 "-DGGML_NATIVE=ON", "-DGGML_OPENMP=ON", "-DGGML_CUDA=OFF",
                 "-DGGML_METAL=OFF", "-DGGML_VULKAN=OFF", "-DGGML_BLAS=OFF",
                 "-DGGML_BUILD_TESTS=OFF", "-DGGML_BUILD_EXAMPLES=OFF",
                 f"-DCMAKE_C_COMPILER={cc}", f"-DCMAKE_CXX_COMPILER={cxx}"] + flags
    log(f"{name}: building ggml's CPU backend in {build} (minutes, once)")
    try:
        subprocess.run(configure, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", build, "--target", "ggml", "-j",
                        str(os.cpu_count() or 2)],
                       check=True, stdout=subprocess.DEVNULL)
    except (subprocess.CalledProcessError, OSError) as e:
        log(f"{name}: build failed: {e}")
        return None
    libs = sorted(set(os.path.dirname(p) for p in
                      glob.glob(os.path.join(build, "**", "libggml*.so"), recursive=True)))
    if not libs:
        log(f"{name}: no libggml built")
        return None
    link = []
    for d in libs:
        link += [f"-L{d}", f"-Wl,-rpath,{d}"]
    # Mainline splits ggml into libggml, libggml-base and libggml-cpu.
    link += ["-lggml"] + [f"-l{name}" for name in ("ggml-base", "ggml-cpu")
                          if glob.glob(os.path.join(build, "**", f"lib{name}.so"),
                                       recursive=True)]
    cmd = [cc, "-O2", "-std=c11", "-march=native", "-fopenmp",
           f"-I{os.path.join(source, 'include')}", os.path.join(HERE, "ggml_fa_bench.c"),
           "-o", harness] + link + ["-lm"]
    try:
        subprocess.run(cmd, check=True)
    except (subprocess.CalledProcessError, OSError) as e:
        log(f"{name}: harness build failed: {e}")
        return None
    return harness


def run_ggml(harness, cases, threads, reps):
    """Runs the harness on `cases` (dicts: b hq hkv sq skv d type causal);
    returns one dict per case with the median seconds (or an error)."""
    results = []
    for case in cases:
        args = [harness, str(case["b"]), str(case["hq"]), str(case["hkv"]), str(case["sq"]),
                str(case["skv"]), str(case["d"]), case["type"], str(int(case.get("causal", 0))),
                str(threads), str(reps)]
        out = subprocess.run(args, capture_output=True, text=True)
        line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
        try:
            results.append(json.loads(line))
        except json.JSONDecodeError:
            text = (out.stderr or out.stdout).strip()
            # ggml's abort prints a debugger backtrace after its message:
            # the reason is the first line that says what went wrong.
            lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
            reason = next((ln for ln in lines if re.search(
                r"not a supported|error|failed|abort", ln, re.I)),
                lines[-1] if lines else f"exit status {out.returncode}")
            results.append({"error": reason[-300:]})
    return results


def iree_attention(hq, s, d, causal):
    """IREE's llvm-cpu attention (`iree_linalg_ext.attention` with IREE's
    default lowering configuration, for the host CPU), compiled through the
    iree-base-compiler / iree-base-runtime packages from PyPI: a callable
    f(q, k, v) on f32 arrays [hq, s, d] (K and V with one head per query
    head), or None when they are not installed. Causal attention passes the
    lower-triangular boolean mask, as a frontend does."""
    try:
        import iree.compiler as ic
        import iree.runtime as rt
    except ImportError:
        return None
    t = f"tensor<{hq}x{s}x{d}xf32>"
    dims = "(d0, d1, d2, d3, d4)"
    maps = [f"affine_map<{dims} -> (d0, d1, d3)>", f"affine_map<{dims} -> (d0, d4, d3)>",
            f"affine_map<{dims} -> (d0, d4, d2)>", f"affine_map<{dims} -> ()>"]
    args, types, operands = f"%q: {t}, %k: {t}, %v: {t}", [t, t, t, "f32"], "%q, %k, %v, %scale"
    if causal:
        mask = f"tensor<{s}x{s}xi1>"
        maps.append(f"affine_map<{dims} -> (d1, d4)>")
        args += f", %mask: {mask}"
        types.append(mask)
        operands += ", %mask"
    maps.append(f"affine_map<{dims} -> (d0, d1, d2)>")
    text = f"""func.func @attention({args}) -> {t} {{
  %scale = arith.constant {1.0 / d ** 0.5:.10f} : f32
  %init = tensor.empty() : {t}
  %out = "iree_linalg_ext.attention"({operands}, %init) <{{indexing_maps = [{", ".join(maps)}]}}> ({{
    ^bb0(%score: f32):
      "iree_linalg_ext.yield"(%score) : (f32) -> ()
  }}) : ({", ".join(types + [t])}) -> {t}
  return %out : {t}
}}
"""
    vmfb = ic.compile_str(text, target_backends=["llvm-cpu"],
                          extra_args=["--iree-llvmcpu-target-cpu=host"])
    module = rt.load_vm_flatbuffer(vmfb, driver="local-task")
    if causal:
        tril = np.tril(np.ones((s, s), bool))
        return lambda q, k, v: module.attention(q, k, v, tril).to_host()
    return lambda q, k, v: module.attention(q, k, v).to_host()


def torch_sdpa():
    try:
        import torch  # noqa: F401
        return torch
    except ImportError:
        return None


if __name__ == "__main__":
    for peer in sys.argv[1:] or list(GGML_PEERS):
        print(peer, ggml_peer(peer))
