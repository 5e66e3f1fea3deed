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


def commit():
    """The short commit of the source tree the benchmark runs from."""
    return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip()
