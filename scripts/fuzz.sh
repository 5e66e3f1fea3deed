#!/usr/bin/env bash
# Runs kvq-fuzz (built by scripts/sanitize.sh) for SECONDS from a seed
# corpus of every test input (the .mlir files of test/, split at
# `// -----`, and the KV policies of test/ and examples/), and reports the
# number of inputs run. A crash, sanitizer report, leak of time (> 20 s on
# one input) or memory (> 4 GB) is a finding: the reproducer is saved under
# fuzz-findings/ and the script fails.
#
#   scripts/fuzz.sh build-asan/bin/kvq-fuzz 150
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fuzzer="$1"
seconds="${2:-150}"
work="${KVQ_FUZZ_DIR:-$root/build-asan/fuzz}"
mkdir -p "$work/corpus" "$work/seeds" "$root/fuzz-findings"

python3 - "$root" "$work/seeds" <<'PY'
import hashlib, os, pathlib, re, sys
root, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
n = 0
def add(text):
    global n
    data = text.encode()
    if data.strip():
        (out / hashlib.sha1(data).hexdigest()).write_bytes(data)
        n += 1
for path in sorted((root / "test").rglob("*.mlir")):
    for part in re.split(r"^// -----\s*$", path.read_text(errors="replace"), flags=re.M):
        # Drop RUN / CHECK lines: the fuzzer needs the IR.
        add("\n".join(l for l in part.splitlines()
                      if not re.match(r"\s*//\s*(RUN|CHECK|[A-Z]+(-[A-Z]+)*:|expected-)", l)))
for path in list((root / "test").rglob("*.json")) + list((root / "examples").glob("*.json")):
    add(path.read_text())
add('{"default": {"k": "#kvq.quant<i8, symmetric, token>", "v": null}, "layers": {"0": {"k": null}}}')
print(f"fuzz: {n} seed inputs")
PY

export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=0:detect_container_overflow=0:allow_user_poisoning=0:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
log="$work/fuzz.log"
set +e
"$fuzzer" "$work/corpus" "$work/seeds" -max_total_time="$seconds" -timeout=20 \
  -rss_limit_mb=4096 -max_len=8192 -print_final_stats=1 \
  -artifact_prefix="$root/fuzz-findings/" >"$log" 2>&1 &
pid=$!
# Progress every KVQ_PROGRESS_SECONDS (30): the inputs run so far
# (libFuzzer's "#N" lines).
started=$SECONDS
while kill -0 "$pid" 2>/dev/null; do
  for _ in $(seq "${KVQ_PROGRESS_SECONDS:-30}"); do
    kill -0 "$pid" 2>/dev/null && sleep 1
  done
  if kill -0 "$pid" 2>/dev/null; then
    runs=$(grep -aoE "^#[0-9]+" "$log" | tail -1 | tr -d '#')
    echo "fuzz: $((SECONDS - started)) / $seconds s, ${runs:-0} inputs"
  fi
done
wait "$pid"
status=$?
set -e
runs=$(grep -E "^stat::number_of_executed_units" "$log" | awk '{print $2}')
echo "fuzz: ${runs:-?} inputs in ${seconds} s, exit $status"
if [[ $status -ne 0 ]]; then
  grep -B5 -A40 -E "ERROR: (AddressSanitizer|libFuzzer|UndefinedBehavior)|runtime error|deadly signal" "$log" | head -80
  echo "fuzz: finding saved in fuzz-findings/"
  exit 1
fi
