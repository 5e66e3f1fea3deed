#!/usr/bin/env bash
# The hardening checks, run by scripts/test.sh after the main suite
# (KVQ_SANITIZE=0 skips them):
#
#  1. an AddressSanitizer + UndefinedBehaviorSanitizer build of kvq
#     (build-asan/, LLVM_USE_SANITIZER="Address;Undefined", with libFuzzer
#     coverage) whose whole lit suite runs with halt-on-error;
#  2. kvq-fuzz, the libFuzzer target over kvq-opt's parse -> verify ->
#     kvq-cpu-pipeline path and the KV policy parser, for
#     KVQ_FUZZ_SECONDS (150) from the seed corpus of test/ (scripts/fuzz.sh).
#
# Libraries that load into uninstrumented processes (the CUDA runtime in
# Python, libKVQ-C.so in a C program) are built without sanitizers, and
# the out-of-tree embedding test is skipped in this build.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${KVQ_ASAN_BUILD_DIR:-$root/build-asan}"
main_build="${KVQ_BUILD_DIR:-$root/build}"
llvm=/usr/lib/llvm-22

if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$root" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER="$llvm/bin/clang" \
    -DCMAKE_CXX_COMPILER="$llvm/bin/clang++" \
    -DLLVM_USE_LINKER=lld \
    -DLLVM_USE_SANITIZER="Address;Undefined" \
    -DLLVM_USE_SANITIZE_COVERAGE=ON \
    -DKVQ_BUILD_FUZZER=ON \
    -DMLIR_DIR="$llvm/lib/cmake/mlir" \
    -DLLVM_EXTERNAL_LIT="$llvm/bin/lit" \
    -DPython3_EXECUTABLE="$(cat "$main_build/kvq-python" 2>/dev/null || command -v python3)" \
    $([[ -d /usr/local/cuda ]] && echo -DCUDAToolkit_ROOT=/usr/local/cuda) \
    >/dev/null
fi
stages=${KVQ_TEST_STAGES:-4}
echo "== test: stage 3/$stages: the ASan + UBSan build ($build; [done/total] per step)"
stage=$SECONDS
cmake --build "$build"
echo "sanitize: build done in $((SECONDS - stage)) s"

# Findings stop the run. LLVM's uninstrumented libMLIR.so / libLLVM.so make
# container-overflow and leak reports unreliable, so those are off.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=0:detect_container_overflow=0:allow_user_poisoning=0:abort_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

echo "sanitize: lit suite on the ASan + UBSan build (one line per test)"
stage=$SECONDS
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
"$llvm/bin/lit" -v --show-pass --show-unsupported "$build/test" 2>&1 | tee "$log" |
  grep -aE "^(PASS|FAIL|UNRESOLVED|TIMEOUT|UNSUPPORTED|XFAIL|XPASS): "
status=${PIPESTATUS[0]}
set -e
passed=$(grep -caE '^PASS: ' "$log" || true)
failed=$(grep -caE '^(FAIL|XPASS|UNRESOLVED|TIMEOUT): ' "$log" || true)
skipped=$(grep -caE '^(UNSUPPORTED|XFAIL): ' "$log" || true)
echo "sanitize: $passed passed, $failed failed, $skipped skipped ($((SECONDS - stage)) s)"
# On failure: every failed test's whole report (its commands and their
# output, where the seed of a random test is), not its first lines.
[[ $status -eq 0 ]] || {
  echo "sanitize: lit failed"
  awk '/^\*+ TEST .* FAILED \*+$/ {show = 1} show {print} $0 == "********************" {show = 0}' "$log" |
    head -600
  exit "$status"
}

echo "== test: stage 4/$stages: fuzzing kvq-fuzz for ${KVQ_FUZZ_SECONDS:-150} s"
"$root/scripts/fuzz.sh" "$build/bin/kvq-fuzz" "${KVQ_FUZZ_SECONDS:-150}"
