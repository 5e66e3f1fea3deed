#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs the main job on the
# example attention graph examples/decode_int4.mlir.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${KVQ_BUILD_DIR:-$root/build}"
"$root/scripts/setup.sh"
echo "== kvq-fuse: the attention consumes the INT4 cache directly"
"$build/bin/kvq-opt" --kvq-fuse "$root/examples/decode_int4.mlir"
