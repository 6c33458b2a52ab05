#!/usr/bin/env bash
# Bounded fuzzing, part of the test command: each cargo-fuzz target runs for
# FUZZ_SECONDS (default 20) under a 256 MiB memory limit, from the seeds in
# fuzz/seeds/ plus what earlier local runs found. A crash fails the run; its
# input is copied to fuzz/regressions/<target>/, which tests/properties.rs
# replays on every `cargo test` once committed.
#
# Where cargo-fuzz cannot be installed, this says so and exits 0:
# tests/properties.rs has already run the same checks on stable.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-20}

# cargo-fuzz needs nightly features (sanitizers); a stable toolchain allows
# them with RUSTC_BOOTSTRAP=1 where no nightly is installed.
if cargo +nightly --version > /dev/null 2>&1; then
  fuzz=(cargo +nightly fuzz)
else
  echo "fuzz: no nightly toolchain here; using the stable one with RUSTC_BOOTSTRAP=1"
  fuzz=(env RUSTC_BOOTSTRAP=1 cargo fuzz)
fi
if ! cargo fuzz --version > /dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  if ! cargo install cargo-fuzz --locked --quiet; then
    echo "fuzz: SKIPPED: cargo-fuzz could not be installed; the same decoders ran under tests/properties.rs (stable proptest)"
    exit 0
  fi
fi

status=0
for target in framing params; do
  corpus=fuzz/corpus/$target
  mkdir -p "$corpus" "fuzz/regressions/$target"
  log=$(mktemp)
  if "${fuzz[@]}" run "$target" "$corpus" "fuzz/seeds/$target" -- \
      -dict="fuzz/$target.dict" -max_total_time="$seconds" -rss_limit_mb=256 -max_len=4096 \
      -print_final_stats=1 > "$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    echo "fuzz $target: $runs inputs in ${seconds}s, no crash"
  else
    status=1
    tail -40 "$log"
    for crash in fuzz/artifacts/"$target"/*; do
      [ -f "$crash" ] && cp "$crash" "fuzz/regressions/$target/" && echo "fuzz $target: CRASH, input kept as fuzz/regressions/$target/$(basename "$crash")"
    done
  fi
  rm -f "$log"
done
exit $status
