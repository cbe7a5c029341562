#!/usr/bin/env bash
# Streaming benchmark (issue 13), against the fake Companies House and its
# streaming API, counted by the fake:
#
# 1. Nightly refresh: N companies are cached while the streams are followed;
#    CHANGED of them change (a mixed burst: officers, PSCs, statements,
#    profiles); time passes beyond every normal TTL (the config sets them to
#    1 s, as 24 h would have passed overnight); `leadgen stream
#    --until-caught-up` applies the changes; discover runs again. Target: its
#    requests are at most 1.05 x (changed companies x calls per company).
# 2. Events per second: BURSTS bursts of N changes each wait in the backlog;
#    `leadgen stream --until-caught-up` applies them to the SQLite cache
#    holding the N companies. Target: at least 2,000 events per second.
#
#   bash bench/stream.sh                     # N=10000 CHANGED=100 BURSTS=5
#   N=2000 CHANGED=20 BURSTS=2 bash bench/stream.sh
#
# Appends its table to bench/RESULTS-stream.md.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-10000}
CHANGED=${CHANGED:-100}
BURSTS=${BURSTS:-5}

cargo build --release --quiet --bins
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -m 700 "$work/cache"

target/release/leadgen-fakes serve --synthetic "$N" --synthetic-seed 5 --api-key bench-key \
  --stream-key bench-stream-key --quota 10000000/5m --stream-ambient 50ms \
  --stream-heartbeat 1s --stream-backlog 1000000 > "$work/url" &
for _ in $(seq 200); do [ -s "$work/url" ] && break; sleep 0.05; done
url=$(head -1 "$work/url")
export COMPANIES_HOUSE_API_KEY=bench-key COMPANIES_HOUSE_STREAM_KEY=bench-stream-key \
  LEADGEN_COMPANIES_HOUSE_URL="$url" LEADGEN_COMPANIES_HOUSE_STREAM_URL="$url" \
  LEADGEN_CACHE_DIR="$work/cache" LEADGEN_COMPANIES_HOUSE_RATE_LIMIT=10000000/5m
printf '[cache]\nttl_search = "1s"\nttl_profile = "1s"\nttl_officers = "1s"\nttl_psc = "1s"\nttl_not_found = "1s"\n' > "$work/nightly.toml"

python3 - "$N" > "$work/all.csv" <<'PY'
import sys
n = int(sys.argv[1])
print("company_name,company_number")
for i in range(n):
    print(f",{20000000 + i}")
PY

stats() { curl -s "$url/__fake/stats"; }
reset() { curl -s -X POST "$url/__fake/stats/reset" >/dev/null; }
leadgen() { target/release/leadgen -q --config "$work/nightly.toml" "$@"; }

leadgen stream --until-caught-up -o "$work/changes-0.jsonl"
reset
start=$(date +%s.%N)
leadgen discover "$work/all.csv" --sources ch -f jsonl -o "$work/cold.jsonl" || true
cold_wall=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
stats > "$work/cold.json"

curl -s -X POST "$url/__fake/stream/burst?kind=mixed&companies=$CHANGED&seed=11" > "$work/burst.json"
sleep 2 # past every 1 s TTL: without the stream, everything would be fetched again
leadgen stream --until-caught-up -o "$work/changes-1.jsonl"
reset
leadgen discover "$work/all.csv" --sources ch -f jsonl -o "$work/refresh.jsonl" || true
stats > "$work/refresh.json"

for i in $(seq "$BURSTS"); do
  curl -s -X POST "$url/__fake/stream/burst?kind=mixed&companies=$N&seed=$((100 + i))" > /dev/null
done
start=$(date +%s.%N)
target/release/leadgen --config "$work/nightly.toml" stream --until-caught-up -o "$work/changes-2.jsonl" 2> "$work/apply.err"
end=$(date +%s.%N)
changes2=$(wc -l < "$work/changes-2.jsonl")

python3 - "$N" "$CHANGED" "$work" "$start" "$end" "$cold_wall" "$changes2" <<'PY' | tee -a bench/RESULTS-stream.md
import json, re, sys, datetime, os, platform
n, changed, work, start, end, cold_wall, changes2 = sys.argv[1:]
n, changed = int(n), int(changed)
cold = json.load(open(f"{work}/cold.json"))
refresh = json.load(open(f"{work}/refresh.json"))
burst = json.load(open(f"{work}/burst.json"))
changes1 = [json.loads(l) for l in open(f"{work}/changes-1.jsonl")]
per_company = cold["requests"] / n
bound = 1.05 * len(burst["companies"]) * per_company
err = open(f"{work}/apply.err").read()
events = sum(int(m.replace(",", "")) for m in re.findall(r": ([\d,]+) events", err))
rates = re.findall(r"(\S+): [\d,]+ events, applied at (\d+) events/s", err)
wall = float(end) - float(start)
print()
print(f"## {datetime.datetime.utcnow():%Y-%m-%dT%H:%MZ} on {platform.machine()}, {os.cpu_count()} cores; "
      f"{n} companies, {changed} changed")
print()
print("| measure | value |")
print("|---|---|")
print(f"| cold discover: requests (per company) | {cold['requests']} ({per_company:.2f}), {cold_wall} s |")
print(f"| changed companies (events) | {len(burst['companies'])} ({burst['events']}) |")
print(f"| change lines written by `stream` | {len(changes1)} |")
by = refresh["by_endpoint"]
print(f"| refresh discover: requests | **{refresh['requests']}** ({', '.join(f'{k} {v}' for k, v in sorted(by.items()))}) |")
print(f"| bound: 1.05 x changed x per company | {bound:.0f} |")
print(f"| refresh / (changed x per company) | **{refresh['requests'] / (len(burst['companies']) * per_company):.3f}x** (target 1.05x) |")
print(f"| backlog applied: events, wall | {events} in {wall:.2f} s: **{events / wall:.0f} events/s** (target 2,000) |")
print(f"| applying alone, by stream | {', '.join(f'{s} {r}/s' for s, r in rates)} |")
print(f"| change lines for the backlog | {changes2} |")
PY
