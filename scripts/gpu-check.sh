#!/usr/bin/env bash
# Runs every GPU test built by scripts/gpu-artifacts.sh on a machine with an
# NVIDIA GPU, optionally under compute-sanitizer, and prints a table.
#
#   scripts/gpu-check.sh [artifacts_dir] [results_dir]
#   KVQ_SANITIZE=1 scripts/gpu-check.sh ...   # also memcheck each test
#
# Results (one log per test, summary.txt) go to results_dir (default:
# $OUT when set, else ./gpu-results). Exits non-zero when a test fails.
set -uo pipefail
art="${1:-gpu-artifacts}"
res="${2:-${OUT:-gpu-results}}"
mkdir -p "$res"
{
  echo "commit $(cat "$art/COMMIT" 2>/dev/null || echo '?')  date $(date -u +%F)"
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null ||
    echo "no nvidia-smi"
} | tee "$res/summary.txt"
failed=0
for test in "$art"/bin/*; do
  name="$(basename "$test")"
  if "$test" > "$res/$name.log" 2>&1; then status=PASS; else status=FAIL; failed=1; fi
  line="$(printf '%-28s %s  %s' "$name" "$status" "$(tail -1 "$res/$name.log")")"
  if [[ -n "${KVQ_SANITIZE:-}" ]] && command -v compute-sanitizer >/dev/null; then
    compute-sanitizer --tool memcheck "$test" > "$res/$name.memcheck.log" 2>&1
    line="$line  memcheck: $(grep -Eo 'ERROR SUMMARY: [0-9]+ errors?' "$res/$name.memcheck.log" | tail -1)"
  fi
  echo "$line" | tee -a "$res/summary.txt"
done
exit "$failed"
