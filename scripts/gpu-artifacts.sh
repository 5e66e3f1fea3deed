#!/usr/bin/env bash
# Builds, on a CPU machine of this kind (LLVM 22 + CUDA toolkit), everything
# the GPU checks need, into one folder that can be carried to a machine with
# an NVIDIA GPU (which has no LLVM 22) and run there with
# scripts/gpu-check.sh:
#
#   scripts/gpu-artifacts.sh [out_dir]        # default: gpu-artifacts/
#   KVQ_GPU_CHIP=sm_90 (default) picks the cubin's architecture; the
#   libraries are fatbins with PTX too, so other GPUs JIT-compile it.
#
# Contents:
#   lib/libkvq_cuda_runtime.so    the mgpu* runtime
#   bin/<test>                    C test executables (test/Runtime)
#   attention/<schedule>/         kernel libraries of the GPU attention test
#                                 (test/Integration/GPU/attention.test)
#   methods/<script>/             kernel libraries of the method tests and the
#                                 edge cases (test/Integration/CPU/Inputs/*.py)
#   bench/<variant>/              kernel libraries of bench/gpu_attention.py
#   python/, test/, bench/        the Python package, the test scripts and
#                                 their harness (test/harness), the benchmark
#   wheels/                       ml_dtypes wheels (the GPU machine is offline)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${KVQ_BUILD_DIR:-$root/build}"
out="$(realpath -m "${1:-$root/gpu-artifacts}")"
chip="${KVQ_GPU_CHIP:-sm_90}"
llvm=/usr/lib/llvm-22
export CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"  # ptxas for the cubins

# The commit the artifacts are built from ("-dirty" with local changes).
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ "$commit" != unknown ]] &&
   [[ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
  commit="$commit-dirty"
fi

KVQ_SKIP_INSTALL="${KVQ_SKIP_INSTALL:-}" "$root/scripts/setup.sh" >/dev/null
[[ -f "$build/lib/libkvq_cuda_runtime.so" ]] ||
  { echo "gpu-artifacts: the CUDA runtime was not built (no CUDA toolkit?)" >&2; exit 1; }
py="$(cat "$build/kvq-python" 2>/dev/null || echo python3)"
export KVQ_COMPILE="$build/bin/kvq-compile"
# The test scripts import the package and their harness (test/harness).
export PYTHONPATH="$root/python:$root/test/harness${PYTHONPATH:+:$PYTHONPATH}"

rm -rf "$out"
mkdir -p "$out/lib" "$out/bin" "$out/wheels"
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

# The Python side: package, test inputs, benchmark.
mkdir -p "$out/python" "$out/test/Integration/CPU" "$out/test/Integration/GPU" "$out/bench"
cp -r "$root/python/kvq" "$out/python/"
cp -r "$root/test/harness" "$out/test/"
cp -r "$root/test/Integration/CPU/Inputs" "$out/test/Integration/CPU/"
cp -r "$root/test/Integration/GPU/Inputs" "$out/test/Integration/GPU/"
cp "$root/bench/gpu_attention.py" "$out/bench/"

# GPU attention test libraries, one per schedule of attention.test.
declare -A schedules=(
  [default]=""
  [split1]="--split-kv=1 --warps=2 --block-kv=32"
  [split3]="--split-kv=3 --block-kv=16 --warps=1"
)
for name in "${!schedules[@]}"; do
  "$py" "$root/test/Integration/CPU/Inputs/attention.py" --target=nvvm \
    --options="--chip=$chip --format=fatbin ${schedules[$name]}" \
    --build-only "$out/attention/$name" >/dev/null
done
# Every method whose attention runs on the GPU, and the numerical edge
# cases: the test scripts of the CPU suite, built for the GPU (gpu-check.sh
# runs each against the NumPy reference at the GPU's tolerances).
for method in kivi polar gear vidkv lowrank sage levattention polysketch edge_cases; do
  "$py" "$root/test/Integration/CPU/Inputs/$method.py" --target=nvvm \
    --options="--chip=$chip --format=fatbin" --build-only "$out/methods/$method" >/dev/null
done
# The prefill-side method ops' element-wise kernels (and the CPU kernels
# they are compared with).
"$py" "$root/test/Integration/GPU/Inputs/emulated_methods.py" --target=nvvm \
  --build-only "$out/methods/emulated_methods" >/dev/null

# Benchmark libraries.
"$py" "$root/bench/gpu_attention.py" build "$out/bench/libs" --chip "$chip" >/dev/null

# ml_dtypes for the Python versions a GPU machine may have (it is offline).
for v in 3.10 3.11 3.12 3.13; do
  "$py" -m pip download -q --only-binary=:all: --no-deps --python-version "$v" \
    --platform manylinux2014_x86_64 -d "$out/wheels" ml_dtypes 2>/dev/null || true
done

cp "$root/scripts/gpu-check.sh" "$out/"
echo "$commit" > "$out/COMMIT"
echo "gpu-artifacts: $(ls "$out/bin" | wc -l) executable(s), $(ls "$out/attention" | wc -l) attention schedule(s), $(ls "$out/methods" | wc -l) method test libraries, $(ls -d "$out/bench/libs"/*/ | wc -l) benchmark libraries in $out ($(du -sh "$out" | cut -f1)), commit $commit"
