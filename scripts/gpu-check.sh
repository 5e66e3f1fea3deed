#!/usr/bin/env bash
# Runs every GPU test and the GPU benchmark from artifacts built by
# scripts/gpu-artifacts.sh, on any machine with an NVIDIA GPU, its driver
# and Python 3 with NumPy (no LLVM needed), and prints a short table:
#
#   bash scripts/gpu-check.sh [artifacts_dir] [results_dir]
#   KVQ_SANITIZE=1 ...   # also run every test under compute-sanitizer
#                        # memcheck, racecheck and initcheck (each schedule
#                        # and method library); errors and hazards are
#                        # counted in the summary and fail the run
#   KVQ_BENCH=0 ...      # skip the benchmark; KVQ_BENCH=quick: fewer sizes
#
# Results (a log per step, summary.txt, benchmark JSON / Markdown) go to
# results_dir (default: $OUT when set, else ./gpu-results). Exits non-zero
# when a test fails, when the CUDA runtime printed an error (at exit too),
# or, with KVQ_SANITIZE=1, on any sanitizer error or hazard.
set -uo pipefail
art="$(realpath "${1:-gpu-artifacts}")"
res="$(realpath -m "${2:-${OUT:-gpu-results}}")"
mkdir -p "$res"
export LD_LIBRARY_PATH="$art/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export KVQ_RUNTIME_DIR="$art/lib"
# The test scripts import the package and their harness (test/harness).
export PYTHONPATH="$art/python:$art/test/harness${PYTHONPATH:+:$PYTHONPATH}"
py=python3
{
  echo "commit $(cat "$art/COMMIT" 2>/dev/null || echo '?')  date $(date -u +%F)"
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null ||
    echo "no nvidia-smi"
} | tee "$res/summary.txt"

# ml_dtypes (bf16 / fp8 NumPy types) from the carried wheels when missing.
if ! "$py" -c "import ml_dtypes" 2>/dev/null; then
  "$py" -m pip install -q --no-index --find-links "$art/wheels" \
    --target "$res/site" ml_dtypes >/dev/null 2>&1
  export PYTHONPATH="$res/site${PYTHONPATH:+:$PYTHONPATH}"
fi

failed=0
runtime_messages=0
declare -A found=([memcheck]=0 [racecheck]=0 [initcheck]=0)
sanitized=0
if [[ -n "${KVQ_SANITIZE:-}" ]] && ! command -v compute-sanitizer >/dev/null; then
  echo "KVQ_SANITIZE is set but compute-sanitizer is not on PATH" | tee -a "$res/summary.txt"
  failed=1
fi

report() { # name status log
  local line
  line="$(printf '%-34s %s  %s' "$1" "$2" "$(grep -v '^\s*$' "$3" | tail -1 | cut -c1-90)")"
  echo "$line" | tee -a "$res/summary.txt"
}
# Errors the CUDA runtime printed (a failed driver call, at exit too): no
# test expects one.
runtime_errors() { # name log
  local n
  n="$(grep -c '^kvq cuda runtime:' "$2")"
  if [[ "$n" != 0 ]]; then
    echo "  $n CUDA runtime error message(s): $(grep -m1 '^kvq cuda runtime:' "$2" | cut -c1-100)" |
      tee -a "$res/summary.txt"
    runtime_messages=$((runtime_messages + n))
    failed=1
  fi
}
# Runs a command under memcheck, racecheck and initcheck; counts what each
# reports (a missing summary counts as an error: the tool did not finish).
sanitize() { # name command...
  local name="$1"; shift
  [[ -n "${KVQ_SANITIZE:-}" ]] && command -v compute-sanitizer >/dev/null || return 0
  sanitized=1
  local tool log n status
  for tool in memcheck racecheck initcheck; do
    log="$res/$name.$tool.log"
    compute-sanitizer --tool "$tool" --print-limit 100 "$@" > "$log" 2>&1
    status=$?
    if [[ "$tool" == racecheck ]]; then
      n="$(grep -Eo 'RACECHECK SUMMARY: [0-9]+ hazard' "$log" | grep -Eo '[0-9]+' | tail -1)"
      what=hazards
    else
      n="$(grep -Eo 'ERROR SUMMARY: [0-9]+ error' "$log" | grep -Eo '[0-9]+' | tail -1)"
      what=errors
    fi
    if [[ -z "$n" ]]; then
      echo "  $tool: no summary (exit code $status), see $log" | tee -a "$res/summary.txt"
      n=1
    else
      echo "  $tool: $n $what$([[ $status != 0 ]] && echo " (test exit code $status)")" |
        tee -a "$res/summary.txt"
      [[ $status != 0 ]] && failed=1
    fi
    found[$tool]=$((found[$tool] + n))
    [[ "$n" != 0 ]] && failed=1
  done
}
step() { # name command...
  local name="$1"; shift
  if "$@" > "$res/$name.log" 2>&1; then report "$name" PASS "$res/$name.log"
  else report "$name" FAIL "$res/$name.log"; failed=1; fi
  runtime_errors "$name" "$res/$name.log"
}
checks() { # log: the test's check lines, indented, into the summary
  grep -E "^(ok|FAIL)" "$1" | sed 's/^/  /' | tee -a "$res/summary.txt" >/dev/null
}

for test in "$art"/bin/*; do
  [[ -x "$test" ]] || continue
  step "$(basename "$test")" "$test"
  sanitize "$(basename "$test")" "$test"
done
for schedule in "$art"/attention/*; do
  [[ -d "$schedule" ]] || continue
  name="attention-$(basename "$schedule")"
  run=("$py" "$art/test/Integration/CPU/Inputs/attention.py" --target=nvvm --prebuilt "$schedule")
  step "$name" "${run[@]}"
  checks "$res/$name.log"
  sanitize "$name" "${run[@]}"
done
for lib in "$art"/methods/*; do
  [[ -d "$lib" ]] || continue
  name="method-$(basename "$lib")"
  script="$art/test/Integration/CPU/Inputs/$(basename "$lib").py"
  [[ -f "$script" ]] || script="$art/test/Integration/GPU/Inputs/$(basename "$lib").py"
  run=("$py" "$script" --target=nvvm --prebuilt "$lib")
  step "$name" "${run[@]}"
  checks "$res/$name.log"
  sanitize "$name" "${run[@]}"
done
if [[ "${KVQ_BENCH:-1}" != 0 ]]; then
  quick=(); [[ "${KVQ_BENCH:-1}" == quick ]] && quick=(--quick)
  step "bench-gpu-attention" "$py" "$art/bench/gpu_attention.py" run "$art/bench/libs" \
    --out "$res" "${quick[@]}"
  cat "$res"/gpu_attention-*.md 2>/dev/null | tail -n +5
fi

{
  echo "CUDA runtime error messages: $runtime_messages"
  if [[ "$sanitized" == 1 ]]; then
    echo "compute-sanitizer: memcheck ${found[memcheck]} errors, racecheck" \
      "${found[racecheck]} hazards, initcheck ${found[initcheck]} errors"
  fi
  [[ "$failed" == 0 ]] && echo "gpu-check: PASS" || echo "gpu-check: FAIL"
} | tee -a "$res/summary.txt"
exit "$failed"
