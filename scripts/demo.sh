#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs the main job: compiles the
# example attention graph examples/decode_int4.mlir (GQA decode over a
# KIVI-style INT4 KV cache) with kvq-compile and runs the kernel on random
# data, printing its error against the NumPy golden model and its time.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${KVQ_BUILD_DIR:-$root/build}"
"$root/scripts/setup.sh"
echo "== kvq-fuse: the attention consumes the INT4 cache directly"
"$build/bin/kvq-opt" --kvq-fuse "$root/examples/decode_int4.mlir" | grep kvq.attention
echo "== compile (kvq-compile, --kvq-cpu-pipeline) and run"
KVQ_COMPILE="$build/bin/kvq-compile" "$(cat "$build/kvq-python")" \
  "$root/examples/run_decode_int4.py"
