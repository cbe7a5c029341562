#!/usr/bin/env bash
# Quota benchmark (issue: gateway): N companies against the fake Companies
# House with a scaled quota window. Reports, per scenario, wall time divided
# by the quota-bound minimum (requests made x window / limit), requests per
# company and 429s received, and appends them to bench/RESULTS-quota.md.
#
#   bench/quota.sh                      # defaults below
#   N=500 QUOTA=100/2s LATENCY=20ms bench/quota.sh
#
# Scenarios: the client's quota equals the server's (target: ratio <= 1.10,
# zero 429s), and the server's quota is lower than configured (target: every
# row completes, few 429s).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-300}
QUOTA=${QUOTA:-100/2s}
LOW_QUOTA=${LOW_QUOTA:-80/2s}
LATENCY=${LATENCY:-20ms}
CONCURRENCY=${CONCURRENCY:-8}

cargo build --release --quiet --bins
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

target/release/leadgen-fakes generate --companies "$N" --seed 1 --csv > "$work/in.csv"

run() { # name server_quota client_quota
  local name=$1 server_quota=$2 client_quota=$3
  target/release/leadgen-fakes serve --synthetic "$N" --synthetic-seed 1 --api-key bench-key \
    --quota "$server_quota" --latency "$LATENCY" > "$work/url" &
  local fake=$!
  for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.05; done
  local url; url=$(head -1 "$work/url")
  local start end
  start=$(date +%s.%N)
  # Exit 3 (some rows in error) is reported below, not fatal here.
  COMPANIES_HOUSE_API_KEY=bench-key LEADGEN_COMPANIES_HOUSE_URL="$url" LEADGEN_CACHE_DIR="$work/cache-$name" \
    target/release/leadgen discover "$work/in.csv" -f jsonl -o "$work/$name.jsonl" -q \
    --concurrency "$CONCURRENCY" --companies-house-rate-limit "$client_quota" || true
  end=$(date +%s.%N)
  curl -s "$url/__fake/stats" > "$work/$name.stats"
  kill "$fake"; wait "$fake" 2>/dev/null || true
  python3 - "$name" "$server_quota" "$client_quota" "$start" "$end" "$work/$name.stats" "$work/$name.jsonl" "$N" <<'PY'
import json, re, sys
name, server_q, client_q, start, end, stats_path, out_path, n = sys.argv[1:]
stats = json.load(open(stats_path))
rows = [json.loads(l) for l in open(out_path)]
def quota(q):
    limit, window = q.split("/")
    m = re.fullmatch(r"(\d+)(ms|s|m|h)", window)
    secs = int(m[1]) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m[2]]
    return int(limit), secs
limit, window = quota(server_q)
wall = float(end) - float(start)
requests = stats["requests"]
minimum = requests * window / limit
statuses = {}
for r in rows:
    statuses[r["status"]] = statuses.get(r["status"], 0) + 1
print(f"| {name} | {server_q} | {client_q} | {n} | {len(rows)} | {requests} | {requests/int(n):.2f} | "
      f"{stats['served_429']} | {wall:.1f} | {minimum:.1f} | {wall/minimum:.3f} | "
      + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())) + " |")
PY
}

header="| scenario | server quota | client quota | companies | rows out | requests | requests/company | 429s | wall s | quota-bound min s | ratio | statuses |
|---|---|---|---|---|---|---|---|---|---|---|---|"
{
  echo
  echo "## $(date -u +%Y-%m-%dT%H:%MZ) on $(uname -m), $(nproc) cores; latency $LATENCY, concurrency $CONCURRENCY"
  echo
  echo "$header"
  run matched "$QUOTA" "$QUOTA"
  run server-lower "$LOW_QUOTA" "$QUOTA"
} | tee -a bench/RESULTS-quota.md
