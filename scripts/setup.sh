#!/usr/bin/env bash
# Installs everything kvq needs on a Debian 12 machine (idempotent), then
# configures and builds the project into ./build.
#
#   scripts/setup.sh            install dependencies + build
#   KVQ_SKIP_INSTALL=1 ...      build only
#   KVQ_BUILD_DIR=dir ...       build elsewhere (default: build)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${KVQ_BUILD_DIR:-$root/build}"
llvm=/usr/lib/llvm-22

need_apt=()
for pkg in llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools clang-22 \
           lld-22 libomp-22-dev ninja-build cmake libgtest-dev python3; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" ||
    need_apt+=("$pkg")
done
if [[ -z "${KVQ_SKIP_INSTALL:-}" && ${#need_apt[@]} -gt 0 ]]; then
  echo "setup: installing ${need_apt[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

# Python: numpy, ml_dtypes and pytest for the golden model and the tests.
# Use the interpreter at hand when it has them or pip can add them; on a
# system Python that refuses pip installs (PEP 668), use a virtual
# environment in the build directory instead.
PY="${PYTHON:-python3}"
has_python_deps() { "$1" -c "import numpy, ml_dtypes, pytest" 2>/dev/null; }
venv="$build/venv"
if ! has_python_deps "$PY" && [[ -x "$venv/bin/python" ]] &&
   has_python_deps "$venv/bin/python"; then
  PY="$venv/bin/python"
fi
if ! has_python_deps "$PY"; then
  if [[ -n "${KVQ_SKIP_INSTALL:-}" ]]; then
    :
  elif "$PY" -m pip install -q numpy ml_dtypes pytest 2>/dev/null; then
    echo "setup: installed Python packages for $PY"
  else
    if [[ ! -x "$venv/bin/python" ]]; then
      "$PY" -m venv "$venv" 2>/dev/null || {
        SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv
        "$PY" -m venv "$venv"
      }
    fi
    "$venv/bin/python" -m pip install -q numpy ml_dtypes pytest
    echo "setup: Python packages in $venv"
    PY="$venv/bin/python"
  fi
fi
mkdir -p "$build"
command -v "$PY" > "$build/kvq-python"

cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER="$llvm/bin/clang" \
  -DCMAKE_CXX_COMPILER="$llvm/bin/clang++" \
  -DLLVM_USE_LINKER=lld \
  -DMLIR_DIR="$llvm/lib/cmake/mlir" \
  -DLLVM_EXTERNAL_LIT="$llvm/bin/lit" \
  -DPython3_EXECUTABLE="$(cat "$build/kvq-python")" \
  ${CUDA_HOME:+-DCUDAToolkit_ROOT="$CUDA_HOME"} \
  $([[ -z "${CUDA_HOME:-}" && -d /usr/local/cuda ]] && echo -DCUDAToolkit_ROOT=/usr/local/cuda) \
  >/dev/null
# kvq builds without a warning (compiler or TableGen): a warning fails the
# build here, after the build finishes (KVQ_ALLOW_WARNINGS=1 lets it pass).
# Only what is rebuilt is seen, so a fresh clone checks every file.
log="$build/build.log"
cmake --build "$build" 2>&1 | tee "$log"
if grep -q "warning:" "$log"; then
  echo "setup: the build printed $(grep -c "warning:" "$log") warning(s); kvq builds warning-free:"
  grep -A3 "warning:" "$log" | head -60
  [[ -n "${KVQ_ALLOW_WARNINGS:-}" ]] || exit 1
fi
