#!/usr/bin/env bash
# Checks kvq as a user installs it, away from the source and build trees:
#
#  1. `cmake --install` into a fresh prefix: the installed tools start and
#     refer to nothing in the build tree (RUNPATH, embedded paths);
#  2. the Python package in fresh virtual environments, each finding
#     kvq-compile its own way with no environment variable set:
#       wheel    `pip install ./python` of a built tree: a platform wheel
#                that carries the tools;
#       prefix   kvq installed (`cmake --install`) into the environment's
#                own prefix, next to a pure wheel;
#       path     a pure wheel, the install prefix's bin/ on PATH;
#       recorded a pure wheel built with --config-settings=kvq-prefix=P;
#       none     a pure wheel and no kvq anywhere: the error lists where it
#                looked;
#     each compiles a kernel and runs it against NumPy.
#
# Step 2 runs under `env -i` with the source and build trees hidden (an
# empty tmpfs over them in a private mount namespace) where the system
# allows that (`unshare -rm`); it says which. Everything happens in a
# temporary directory, removed at the end.
#
#   scripts/install-check.sh [BUILD_DIR]        (default: build)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$(cd "${1:-${KVQ_BUILD_DIR:-$root/build}}" && pwd)"
python="${PYTHON:-$(cat "$build/kvq-python" 2>/dev/null || command -v python3)}"
work="$(mktemp -d "${TMPDIR:-/tmp}/kvq-install-check.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cmake="$(command -v cmake)"
readelf="$(command -v readelf || echo /usr/lib/llvm-22/bin/llvm-readelf)"
flow="$root/test/Unit/Inputs/install_flow.py"
cp "$flow" "$work/install_flow.py"
cp "$root/test/harness/kvq_testing.py" "$work/"  # its test harness, next to it

echo "install-check: cmake --install into a fresh prefix"
"$cmake" --install "$build" --prefix "$work/prefix" > "$work/install.log"
for tool in kvq-compile kvq-opt; do
  runpath=$("$readelf" -d "$work/prefix/bin/$tool" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
  echo "install-check: $tool RUNPATH $runpath"
done
# Nothing installed may point into the build tree.
if grep -rlF "$build" "$work/prefix/bin" "$work/prefix/lib"/*.so* 2>/dev/null; then
  echo "install-check: FAIL: installed files refer to the build tree $build"
  exit 1
fi
echo "install-check: no installed binary refers to the build tree"

# Fresh environments. NumPy and ml_dtypes come from where the test
# interpreter has them (its site-packages, which may be a virtual
# environment's), through a .pth file; pip is the test interpreter's,
# pointed at the environment (no ensurepip or network needed).
deps="$("$python" -c 'import os, numpy, ml_dtypes
print("\n".join(sorted({os.path.dirname(os.path.dirname(m.__file__)) for m in (numpy, ml_dtypes)})))')"
venv() {
  "$python" -m venv --without-pip "$1"
  local site
  site="$("$1/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  printf '%s\n' "$deps" > "$site/kvq-check-deps.pth"
}
pip_install() {
  local env="$1"; shift
  "$python" -m pip --python "$env/bin/python" install -q --no-deps --no-build-isolation \
    --disable-pip-version-check "$@" "$root/python"
}
echo "install-check: building the environments"
venv "$work/wheel" && pip_install "$work/wheel"
ls "$work/wheel"/lib/python*/site-packages/kvq/_tools/bin
venv "$work/prefix-env"
"$cmake" --install "$build" --prefix "$work/prefix-env" > /dev/null
pip_install "$work/prefix-env" --config-settings=kvq-tools=none
venv "$work/path" && pip_install "$work/path" --config-settings=kvq-tools=none
venv "$work/recorded" && pip_install "$work/recorded" --config-settings=kvq-tools=none \
  --config-settings=kvq-prefix="$work/prefix"

# Runs "$@" with an empty environment (but PATH), from $work, with the
# source and build trees hidden where possible.
outside() {
  local path="$1"; shift
  if unshare -rm true 2>/dev/null; then
    env -i PATH="$path" unshare -rm sh -c \
      'mount -t tmpfs none "$0" && mount -t tmpfs none "$1" && cd "$2" && shift 2 && exec "$@"' \
      "$build" "$root" "$work" "$@"
  else
    (cd "$work" && env -i PATH="$path" "$@")
  fi
}
if unshare -rm true 2>/dev/null; then
  echo "install-check: source and build trees hidden"
else
  echo "install-check: source and build trees visible (no mount namespace here)"
fi
base=/usr/local/bin:/usr/bin:/bin
outside "$base" "$work/prefix/bin/kvq-compile" --version
outside "$base" "$work/prefix/bin/kvq-opt" --version
# A GPU library links the CUDA runtime installed next to kvq-compile.
if [[ -f "$work/prefix/lib/libkvq_cuda_runtime.so" ]]; then
  cp "$root/test/Integration/CPU/Inputs/driver_add.mlir" "$work/add.mlir"
  outside "$base" "$work/prefix/bin/kvq-compile" "$work/add.mlir" --target=nvvm \
    --format=isa --chip=sm_90 -o "$work/gpu/"
  echo "install-check: GPU library RUNPATH" \
    "$("$readelf" -d "$work/gpu/add.so" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')"
else
  echo "install-check: no CUDA runtime installed (built without CUDA); GPU library not checked"
fi
# An emulated GPU library links the GPU emulator installed next to
# kvq-compile (no CUDA needed).
cp "$root/test/Integration/CPU/Inputs/driver_add.mlir" "$work/add.mlir"
outside "$base" "$work/prefix/bin/kvq-compile" "$work/add.mlir" --target=nvvm-emulated \
  -o "$work/emulated/"
echo "install-check: emulated GPU library RUNPATH" \
  "$("$readelf" -d "$work/emulated/add.so" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')"
outside "$base" "$work/wheel/bin/python" "$work/install_flow.py" wheel
outside "$base" "$work/prefix-env/bin/python" "$work/install_flow.py" prefix
outside "$work/prefix/bin:$base" "$work/path/bin/python" "$work/install_flow.py" path
outside "$base" "$work/recorded/bin/python" "$work/install_flow.py" recorded
outside "$base" "$work/path/bin/python" "$work/install_flow.py" none
echo "install-check: passed"
