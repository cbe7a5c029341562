#!/usr/bin/env bash
# Shared-quota benchmark (issue 14): 1, 2 and 4 leadgen processes on ONE API
# key against the fake Companies House with a fixed quota window, every
# process configured for the whole quota and sharing it through a real
# redis-server. Reports combined requests per second against the quota,
# 429s, and wall time over the quota-bound minimum (requests / quota rate),
# and appends the table to bench/RESULTS-shared-quota.md.
#
#   bench/shared-quota.sh                 # N=96 companies, QUOTA=60/5s
#   N=192 QUOTA=120/5s bench/shared-quota.sh
#
# Targets: zero 429s, and 4 processes within 1.10x the quota-bound minimum.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-96}
QUOTA=${QUOTA:-60/5s}
LATENCY=${LATENCY:-20ms}
command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server; }

cargo build --release --quiet --bins
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --dir "$work" >/dev/null &
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
redis="redis://127.0.0.1:$port/0"

target/release/leadgen-fakes generate --companies "$N" --seed 3 --csv > "$work/all.csv"

run() { # processes
  local p=$1
  redis-cli -p "$port" flushall >/dev/null
  target/release/leadgen-fakes serve --synthetic "$N" --synthetic-seed 3 --api-key bench-key \
    --quota "$QUOTA" --latency "$LATENCY" > "$work/url" &
  local fake=$!
  for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.05; done
  local url; url=$(head -1 "$work/url")
  # Split the companies between the processes (the header on each part).
  local rows=$((N / p))
  for i in $(seq 0 $((p - 1))); do
    { head -1 "$work/all.csv"; tail -n +2 "$work/all.csv" | tail -n +$((i * rows + 1)) | head -n "$rows"; } > "$work/in-$p-$i.csv"
  done
  local start end
  start=$(date +%s.%N)
  local pids=()
  for i in $(seq 0 $((p - 1))); do
    COMPANIES_HOUSE_API_KEY=bench-key LEADGEN_COMPANIES_HOUSE_URL="$url" \
      LEADGEN_CACHE_DIR="$work/cache-$p-$i" LEADGEN_REDIS_URL="$redis" \
      target/release/leadgen -q discover "$work/in-$p-$i.csv" --sources ch -f jsonl \
      -o "$work/out-$p-$i.jsonl" --companies-house-rate-limit "$QUOTA" &
    pids+=($!)
  done
  # Exit 3 (some rows in error) would show in the table as fewer requests.
  wait "${pids[@]}" || true
  end=$(date +%s.%N)
  curl -s "$url/__fake/stats" > "$work/stats-$p"
  kill "$fake"; wait "$fake" 2>/dev/null || true
  python3 - "$p" "$QUOTA" "$start" "$end" "$work/stats-$p" <<'PY'
import json, re, sys
p, q, start, end, stats_path = sys.argv[1:]
stats = json.load(open(stats_path))
limit, window = q.split("/")
m = re.fullmatch(r"(\d+)(ms|s|m|h)", window)
secs = int(m[1]) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m[2]]
rate = int(limit) / secs
wall = float(end) - float(start)
requests = stats["requests"]
minimum = requests / rate
print(f"| {p} | {q} | {requests} | {requests / wall:.2f} | {rate:.2f} | "
      f"{stats['served_429']} | {wall:.1f} | {minimum:.1f} | {wall / minimum:.3f} |")
PY
}

{
  echo
  echo "## $(date -u +%Y-%m-%dT%H:%MZ) on $(uname -m), $(nproc) cores; $N companies, latency $LATENCY, redis $(redis-server --version | awk '{print $3}')"
  echo
  echo "| processes | quota (each process configured for all of it) | requests | combined req/s | quota req/s | 429s | wall s | quota-bound min s | ratio |"
  echo "|---|---|---|---|---|---|---|---|---|"
  run 1
  run 2
  run 4
} | tee -a bench/RESULTS-shared-quota.md
