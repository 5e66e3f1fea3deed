"""What the benchmarks share about their results: where they go (build/bench
unless --out says otherwise; --out bench/results records them with the
sources) and the commit they were measured at."""

import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def add_out_argument(parser):
    """--out DIR, by default build/bench of the build (KVQ_BUILD_DIR) or of
    the source tree."""
    build = os.environ.get("KVQ_BUILD_DIR") or os.path.join(ROOT, "build")
    parser.add_argument("--out", default=os.path.join(build, "bench"),
                        help="where the results go (default: build/bench; "
                             "--out bench/results records them with the sources)")


def cpu_description():
    """The CPU's model name and its widest x86 vector extension (from
    /proc/cpuinfo): the kernels kvq generates, and so the numbers, depend
    on it."""
    model, flags = "", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and not model:
                    model = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    isa = ("AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags
           else "AVX" if "avx" in flags else "")
    extras = [name for flag, name in (("avx512_vnni", "VNNI"), ("avx512_bf16", "BF16"))
              if flag in flags]
    return ", ".join(x for x in [model, " + ".join([isa] + extras) if isa else ""] if x)


def commit():
    """The short commit of the source tree the benchmark runs from."""
    return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip()
