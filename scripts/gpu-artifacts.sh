#!/usr/bin/env bash
# Builds, on a CPU machine of this kind (LLVM 22 + CUDA toolkit headers),
# everything the GPU checks need, into one folder that can be carried to a
# machine with an NVIDIA GPU (which has no LLVM 22) and run there with
# scripts/gpu-check.sh:
#
#   scripts/gpu-artifacts.sh [out_dir]        # default: gpu-artifacts/
#
# Contents: lib/libkvq_cuda_runtime.so and one executable per GPU test
# (bin/<test>), each built exactly as its lit test builds it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${KVQ_BUILD_DIR:-$root/build}"
out="$(realpath -m "${1:-$root/gpu-artifacts}")"
llvm=/usr/lib/llvm-22

KVQ_SKIP_INSTALL="${KVQ_SKIP_INSTALL:-}" "$root/scripts/setup.sh" >/dev/null
[[ -f "$build/lib/libkvq_cuda_runtime.so" ]] ||
  { echo "gpu-artifacts: the CUDA runtime was not built (no CUDA toolkit?)" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out/lib" "$out/bin"
cp "$build/lib/libkvq_cuda_runtime.so" "$out/lib/"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# test/Runtime/cuda-launch.mlir: a gpu.launch_func through the runtime.
"$build/bin/kvq-opt" "$root/test/Runtime/cuda-launch.mlir" \
  --gpu-lower-to-nvvm-pipeline="cubin-chip=sm_80 cubin-features=+ptx80 cubin-format=isa" \
  | "$llvm/bin/mlir-translate" --mlir-to-llvmir -o "$tmp/cuda_launch.ll"
"$llvm/bin/clang" -O2 -Wno-override-module "$tmp/cuda_launch.ll" \
  "$root/test/Runtime/Inputs/cuda_launch_main.c" -I"$root/include" \
  -L"$out/lib" -lkvq_cuda_runtime -Wl,-rpath,'$ORIGIN/../lib' -lm \
  -o "$out/bin/cuda_launch"

cp "$root/scripts/gpu-check.sh" "$out/"
git -C "$root" rev-parse --short HEAD > "$out/COMMIT" 2>/dev/null || true
echo "gpu-artifacts: $(ls "$out/bin" | wc -l) test(s) in $out"
