#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh: dependencies + build) and runs every
# test: lit tests (dialect, passes, pipelines, execution), the GoogleTest
# unit tests and the Python (pytest) tests, all driven by lit; then the
# hardening checks (scripts/sanitize.sh: the suite again on an ASan + UBSan
# build, and kvq-fuzz for KVQ_FUZZ_SECONDS; KVQ_SANITIZE=0 skips them).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${KVQ_BUILD_DIR:-$root/build}"

stages=2; [[ "${KVQ_SANITIZE:-1}" != 0 ]] && stages=4
start=$SECONDS
echo "== test: stage 1/$stages: setup and build (scripts/setup.sh)"
"$root/scripts/setup.sh"
echo "test: stage 1/$stages done in $((SECONDS - start)) s"

echo "== test: stage 2/$stages: the lit suite (one line per test)"
stage=$SECONDS
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
/usr/lib/llvm-22/bin/lit -v --show-pass --show-unsupported --show-xfail "$build/test" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -cE '^PASS: ' "$log" || true)
failed=$(grep -cE '^(FAIL|XPASS|UNRESOLVED|TIMEOUT): ' "$log" || true)
skipped=$(grep -cE '^(UNSUPPORTED|XFAIL): ' "$log" || true)
echo "kvq: $passed passed, $failed failed, $skipped skipped ($((SECONDS - stage)) s)"
[[ $status -eq 0 ]] || exit "$status"
if [[ "${KVQ_SANITIZE:-1}" != 0 ]]; then
  # Stages 3 (the ASan + UBSan build and its lit suite) and 4 (fuzzing).
  KVQ_TEST_STAGES=$stages "$root/scripts/sanitize.sh"
fi
echo "test: all $stages stages passed in $((SECONDS - start)) s"
