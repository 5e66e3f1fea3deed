#!/usr/bin/env bash
# Runs every GPU test and the GPU benchmark from artifacts built by
# scripts/gpu-artifacts.sh, on any machine with an NVIDIA GPU (no LLVM
# needed), and prints a short table:
#
#   scripts/gpu-check.sh [artifacts_dir] [results_dir]
#   KVQ_SANITIZE=1 ...   # also run each test under compute-sanitizer
#                        # (memcheck, racecheck, initcheck)
#   KVQ_BENCH=0 ...      # skip the benchmark; KVQ_BENCH=quick: fewer sizes
#
# Results (a log per step, summary.txt, benchmark JSON / Markdown) go to
# results_dir (default: $OUT when set, else ./gpu-results). Exits non-zero
# when a test fails. With the device tool:
#   run(command="bash scripts/gpu-check.sh gpu-artifacts $OUT",
#       carry=["gpu-artifacts"])
set -uo pipefail
art="$(realpath "${1:-gpu-artifacts}")"
res="$(realpath -m "${2:-${OUT:-gpu-results}}")"
mkdir -p "$res"
export LD_LIBRARY_PATH="$art/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export KVQ_RUNTIME_DIR="$art/lib"
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
report() { # name status log
  local line
  line="$(printf '%-34s %s  %s' "$1" "$2" "$(grep -v '^\s*$' "$3" | tail -1 | cut -c1-90)")"
  echo "$line" | tee -a "$res/summary.txt"
}
sanitize() { # name command...
  local name="$1"; shift
  [[ -n "${KVQ_SANITIZE:-}" ]] && command -v compute-sanitizer >/dev/null || return 0
  for tool in memcheck racecheck initcheck; do
    compute-sanitizer --tool "$tool" "$@" > "$res/$name.$tool.log" 2>&1
    echo "  $tool: $(grep -Eo 'ERROR SUMMARY: [0-9]+ errors?|RACECHECK SUMMARY: [0-9]+ hazards?[^$]*' \
      "$res/$name.$tool.log" | tail -1)" | tee -a "$res/summary.txt"
  done
}
step() { # name command...
  local name="$1"; shift
  if "$@" > "$res/$name.log" 2>&1; then report "$name" PASS "$res/$name.log"
  else report "$name" FAIL "$res/$name.log"; failed=1; fi
}

for test in "$art"/bin/*; do
  step "$(basename "$test")" "$test"
  sanitize "$(basename "$test")" "$test"
done
for schedule in "$art"/attention/*; do
  name="attention-$(basename "$schedule")"
  step "$name" "$py" "$art/test/Integration/CPU/Inputs/attention.py" --target=nvvm \
    --prebuilt "$schedule"
  grep -E "^(ok|FAIL)" "$res/$name.log" | sed 's/^/  /' | tee -a "$res/summary.txt" >/dev/null
  sanitize "$name" "$py" "$art/test/Integration/CPU/Inputs/attention.py" --target=nvvm \
    --prebuilt "$schedule"
done
for lib in "$art"/methods/*; do
  [[ -d "$lib" ]] || continue
  name="method-$(basename "$lib")"
  script="$art/test/Integration/CPU/Inputs/$(basename "$lib").py"
  [[ -f "$script" ]] || script="$art/test/Integration/GPU/Inputs/$(basename "$lib").py"
  step "$name" "$py" "$script" --target=nvvm --prebuilt "$lib"
  grep -E "^(ok|FAIL)" "$res/$name.log" | sed 's/^/  /' | tee -a "$res/summary.txt" >/dev/null
  sanitize "$name" "$py" "$script" --target=nvvm --prebuilt "$lib"
done
if [[ "${KVQ_BENCH:-1}" != 0 ]]; then
  quick=(); [[ "${KVQ_BENCH:-1}" == quick ]] && quick=(--quick)
  step "bench-gpu-attention" "$py" "$art/bench/gpu_attention.py" run "$art/bench/libs" \
    --out "$res" "${quick[@]}"
  cat "$res"/gpu_attention-*.md 2>/dev/null | tail -n +5
fi
exit "$failed"
