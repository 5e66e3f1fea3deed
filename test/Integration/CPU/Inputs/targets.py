"""Where a method test's kernel library comes from, and the tolerance of
attention results on its target.

Every method test script takes the same options:

    script.py                                  # host CPU (the default)
    script.py --target=nvvm                    # compile and run on an NVIDIA GPU
    script.py --target=nvvm --build-only DIR   # compile only (no GPU needed)
    script.py --target=nvvm --prebuilt DIR     # run a library built elsewhere
    script.py --target=nvvm --options="--chip=sm_90 --split-kv=1"
    script.py --target=nvvm-emulated           # the GPU kernels, run on the host
                                               # by the GPU emulator (no GPU)

--build-only / --prebuilt let a machine without LLVM run libraries built on
one that has it (scripts/gpu-artifacts.sh builds, scripts/gpu-check.sh
runs). On the GPU, attention multiplies f16 tensor-core operands (bf16 in
thread blocks that recompute after an f16 overflow) with f32 accumulation:
attention results are compared at 1e-2 relative to the largest reference
value instead of the CPU's f32 tolerances; everything else (encoders,
element-wise kernels) keeps its CPU tolerance. --target=nvvm-emulated
builds the same GPU code and runs its kernels with CUDA semantics on the
host: results are the GPU's (same tolerances), with no GPU needed.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), *[".."] * 4, "python"))

import kvq  # noqa: E402
import kvq.runtime  # noqa: E402

GPU_ATTENTION_TOL = 1e-2


def parse(doc=None, extra=None):
    """The command line; `extra(parser)` may add script options."""
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", default="cpu", choices=["cpu", "nvvm", "nvvm-emulated"])
    ap.add_argument("--options", default="", help="kvq-compile options, e.g. '--chip=sm_90'")
    ap.add_argument("--build-only", metavar="DIR", help="compile the library into DIR and exit")
    ap.add_argument("--prebuilt", metavar="DIR",
                    help="run the library in DIR (from --build-only) instead of compiling")
    if extra:
        extra(ap)
    opts = ap.parse_args()
    if opts.prebuilt and opts.build_only:
        ap.error("--build-only and --prebuilt exclude each other")
    return opts


def library(opts, text, name):
    """The kernel library of `text` for the target; None (after printing
    where it went) with --build-only."""
    if opts.prebuilt:
        return kvq.runtime.load(opts.prebuilt)
    mod = kvq.compile(text, target=opts.target, name=name, options=opts.options.split(),
                      build_dir=opts.build_only)
    if opts.build_only:
        print(f"built {mod.path}")
        return None
    return mod


def on_gpu(opts):
    """Whether the GPU's kernels compute the results (on a GPU or emulated)."""
    return opts.target in ("nvvm", "nvvm-emulated")


def attention_tol(opts, cpu_tol):
    """The tolerance of attention results: `cpu_tol` on the CPU."""
    return max(cpu_tol, GPU_ATTENTION_TOL) if on_gpu(opts) else cpu_tol
