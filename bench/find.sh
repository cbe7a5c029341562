#!/usr/bin/env bash
# Offline `leadgen find` over a register the size of the real one (issue 12).
# Uses the synthetic bulk file bench/register.sh writes (WORK/bulk/*.csv),
# imports it if the register there is missing or of an older format, then
# times each query three times and reports the rows found and the best and
# worst wall time. Usage: WORK=/tmp/reg5m bash bench/find.sh
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/reg5m}
cargo build --release --quiet --bins
leadgen=target/release/leadgen
cache="$WORK/cache"
if ! "$leadgen" find --cache-dir "$cache" --sic 43210 --limit 1 >/dev/null 2>&1; then
  echo "importing $(ls "$WORK"/bulk/*.csv) (the register there is missing or outdated)" >&2
  /usr/bin/time -f "import: %e s, %M KiB max RSS" "$leadgen" -q register import --cache-dir "$cache" "$WORK"/bulk/*.csv
fi
"$leadgen" register status --cache-dir "$cache" | head -3
run() {
  local best= worst= rows=
  for _ in 1 2 3; do
    local t0 t1
    t0=$(date +%s.%N)
    rows=$("$leadgen" -q find --cache-dir "$cache" "$@" | tail -n +2 | wc -l)
    t1=$(date +%s.%N)
    local s; s=$(echo "$t1 - $t0" | bc)
    if [ -z "$worst" ] || (( $(echo "$s > $worst" | bc) )); then worst=$s; fi
    if [ -z "$best" ] || (( $(echo "$s < $best" | bc) )); then best=$s; fi
  done
  printf '| `find %s` | %s | %.3f | %.3f |\n' "$*" "$rows" "$best" "$worst"
}
echo "| query | rows | best s | worst s |"
echo "|---|---|---|---|"
run --sic 43210 --postcode 'LS*'
run --sic-section F --postcode 'LS1*'
run --sic 43210,43220 --postcode 'BN1,BN2' --incorporated-from 2015-01-01
run --postcode 'YO1'
run --sic 43210 --limit 100
