#!/usr/bin/env bash
# Builds a generated workspace and compares it with `tar | zstd -3` on the
# same files, in one run. Prints assets/s and MB/s for each.
#   bash benches/build.sh [N]        (default N = 10000)
# Timings are wall-clock on whatever else the machine is doing: read the
# ratios, not the absolute numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
cargo build --release --quiet --bin studio-packer --example gen_workspace
bin=target/release/studio-packer
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ws="$work/ws"
target/release/examples/gen_workspace "$ws" "$N" 42
"$bin" call packer/applyMutation '{"mutation":{"kind":"reconcile"}}' --root "$ws" > /dev/null
bytes=$(du -sb "$ws/assets" | cut -f1)
now() { date +%s.%N; }
time_it() { local t0 t1; t0=$(now); "$@" > /dev/null; t1=$(now); echo "$t1 - $t0" | bc -l; }

cold=$(time_it "$bin" build "$ws" --clean --json)
rm -rf "$ws/build"
warm=$(time_it "$bin" build "$ws" --json)
noop=$(time_it "$bin" build "$ws" --json)
tarz=$(time_it bash -c "tar -cf - -C '$ws' assets | zstd -3 -q -c")
tarzt=$(time_it bash -c "tar -cf - -C '$ws' assets | zstd -3 -T0 -q -c")

row() { printf "%-44s %8.3f s %10.0f assets/s %8.1f MB/s\n" "$1" "$2" "$(echo "$N / $2" | bc -l)" "$(echo "$bytes / $2 / 1000000" | bc -l)"; }
echo "workspace: $N assets, $((bytes / 1000000)) MB, $(nproc) cores"
row "studio-packer build --clean (cold cache)" "$cold"
row "studio-packer build, warm cache, no output" "$warm"
row "studio-packer build, nothing changed" "$noop"
row "tar -cf - | zstd -3" "$tarz"
row "tar -cf - | zstd -3 -T0" "$tarzt"
printf "ratio cold build / (tar | zstd -3):      %.2f\n" "$(echo "$cold / $tarz" | bc -l)"
printf "ratio cold build / (tar | zstd -3 -T0):  %.2f\n" "$(echo "$cold / $tarzt" | bc -l)"
printf "ratio warm rebuild / (tar | zstd -3 -T0): %.2f\n" "$(echo "$warm / $tarzt" | bc -l)"
