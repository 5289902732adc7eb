#!/usr/bin/env bash
# Runs the libFuzzer targets (Sources/Fuzz) for a bounded time each, with the address sanitizer:
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      (default 60)
# Corpora persist under .fuzz/<target>/corpus; a crash leaves its input in .fuzz/<target>/ and
# the script exits non-zero. Turn any crash into a regression test before fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds="${1:-60}"
targets=(FuzzObjectKey FuzzS3XML FuzzPartLedger)

echo "==> building the fuzz targets with -sanitize=fuzzer,address (first build: several minutes)"
for target in "${targets[@]}"; do
  swift build --scratch-path .build-fuzz --product "$target" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING
done
bin="$(swift build --scratch-path .build-fuzz --show-bin-path)"

status=0
for target in "${targets[@]}"; do
  work=".fuzz/$target"
  mkdir -p "$work/corpus"
  echo "==> $target for ${seconds}s"
  if ! (cd "$work" && SWIFT_BACKTRACE=enable=no LSAN_OPTIONS="suppressions=$root/scripts/fuzz-lsan.supp" "$bin/$target" -max_total_time="$seconds" -print_final_stats=1 corpus 2> run.log); then
    echo "    CRASH: see $work/run.log and the crash-* input in $work" >&2
    status=1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/run.log" | grep -o '[0-9]*$' || echo "?")
  echo "    $runs executions in ${seconds}s, corpus $(ls "$work/corpus" | wc -l) inputs"
done
exit $status
