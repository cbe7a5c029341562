#!/usr/bin/env bash
# The register import benchmark (issue 11): `leadgen register import` of a
# BasicCompanyData CSV in the real format against the sqlite3 shell's own
# `.import` of the same file, measured in the same run, with peak RSS.
#
#   N=5700000 bash bench/register.sh     # the real register's size (default)
#   N=200000 bash bench/register.sh      # a quick look
#   WORK=/tmp/reg bash bench/register.sh # keep the files there (and reuse the CSV)
#
# The file is written by `leadgen-fakes export-bulk --no-bundled --synthetic N`
# (streamed, so N can be millions). Writes bench/RESULTS-register.md.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-5700000}
if [ -n "${WORK:-}" ]; then
  work=$WORK
  mkdir -p "$work"
  rm -rf "$work/cache" "$work/ref.sqlite"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
cargo build --release --quiet --bins
if ! command -v sqlite3 >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null
fi
if [ ! -x /usr/bin/time ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq time >/dev/null
fi
bin=${CARGO_TARGET_DIR:-target}/release

echo "bench: writing $N companies in the bulk format" >&2
start=$(date +%s.%N)
csv=$(ls "$work"/bulk/*.csv 2>/dev/null | head -1 || true)
if [ -z "$csv" ] || [ "$(cat "$work/bulk.n" 2>/dev/null)" != "$N" ]; then
  rm -rf "$work/bulk"
  csv=$("$bin/leadgen-fakes" export-bulk --no-bundled --synthetic "$N" --out "$work/bulk" 2>/dev/null)
  echo "$N" > "$work/bulk.n"
fi
gen_s=$(echo "$(date +%s.%N) - $start" | bc)
bytes=$(stat -c %s "$csv")

measure() { # label, command...: prints "seconds peak_kib"
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/$label.time" "$@" >/dev/null 2>"$work/$label.err" || {
    cat "$work/$label.err" >&2; exit 1; }
  cat "$work/$label.time"
}
echo "bench: sqlite3 .import (reference)" >&2
read -r ref_s ref_kib < <(measure sqlite3 sqlite3 "$work/ref.sqlite" ".mode csv" ".import $csv companies")
echo "bench: leadgen register import" >&2
read -r lg_s lg_kib < <(measure leadgen "$bin/leadgen" -q register import "$csv" --cache-dir "$work/cache")
rows=$(sqlite3 "$work/cache/register/companies.sqlite" "select count(*) from companies")
ref_rows=$(sqlite3 "$work/ref.sqlite" "select count(*) from companies")
speed=$(echo "scale=3; $ref_s / $lg_s" | bc)
reg_bytes=$(stat -c %s "$work/cache/register/companies.sqlite")

echo "bench: offline resolution of sampled names against the imported register" >&2
# Every 500th company's number and name, a third of the names with a letter
# dropped (typed names).
awk -F'","' 'NR > 1 && NR % 500 == 0 { n = substr($1, 2); if (NR % 1500 == 0) n = substr(n, 1, 3) substr(n, 5); print $2 "\t" n }' "$csv" > "$work/names.txt"
resolve_json=$(LEADGEN_BENCH_CACHE_DIR="$work/cache" LEADGEN_BENCH_NAMES="$work/names.txt" \
  cargo bench --quiet --bench register_resolve 2>/dev/null | tail -1)
names_n=$(echo "$resolve_json" | sed -E 's/.*"names": ([0-9]+).*/\1/')
resolve_rate=$(echo "$resolve_json" | sed -E 's/.*"rows_per_second": ([0-9]+).*/\1/')
resolve_matched=$(echo "$resolve_json" | sed -E 's/.*"matched": ([0-9]+).*/\1/')
resolve_right=$(echo "$resolve_json" | sed -E 's/.*"matched_right": ([0-9]+).*/\1/')

out=bench/RESULTS-register.md
{
  echo "# Register import benchmark"
  echo
  echo "\`N=$N bash bench/register.sh\`, $(date -u +%Y-%m-%d), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)."
  echo "Input: \`leadgen-fakes export-bulk --no-bundled --synthetic $N\` (real BasicCompanyData format, 55 columns),"
  echo "$rows rows, $(echo "scale=2; $bytes/1073741824" | bc) GiB of CSV (written in ${gen_s%.*} s)."
  echo
  echo "| | wall | rows/s | peak RSS | result |"
  echo "|---|---|---|---|---|"
  echo "| sqlite3 \`.import\` (55 text columns, no index) | ${ref_s} s | $(echo "$ref_rows / $ref_s" | bc) | $((ref_kib / 1024)) MiB | $ref_rows rows |"
  echo "| leadgen register import (parsed, mapped, SIC table, FTS5 name index) | ${lg_s} s | $(echo "$rows / $lg_s" | bc) | $((lg_kib / 1024)) MiB | $rows rows, $((reg_bytes / 1048576)) MiB |"
  echo
  echo "Offline resolution (\`cargo bench --bench register_resolve\`): $names_n names sampled from the file (a third with a letter dropped),"
  echo "8 at a time through the register's name index and the matcher: **$resolve_rate name rows/s** (goal 2,000);"
  echo "$resolve_matched matched, $resolve_right of them to the company the name was taken from (a dropped letter can"
  echo "turn one company's name into another's)."
  echo
  echo "leadgen imports at **${speed}x** the speed of sqlite3's own \`.import\` (target: at least 0.333x), peak RSS $((lg_kib / 1024)) MiB (target: at most 1024 MiB)."
} > "$out"
cat "$out"
