#!/usr/bin/env bash
# Peer benchmark: leadgen against the Python clients a user would pick instead,
# side by side in one run against the same fake Companies House.
#
#   bash bench/run.sh                              # defaults below, a few minutes
#   N=500 QUOTA=600/10s LATENCY=40ms bash bench/run.sh
#   SCALE=0 bash bench/run.sh                      # contest only
#   SCALE_100K=1 bash bench/run.sh                 # add the 100k-row warm size
#
# Contestants, all on the same N synthetic companies, each against a freshly
# started fake (same port, same register, quota QUOTA, LATENCY per answer):
#   leadgen cold (fresh LEADGEN_CACHE_DIR), leadgen warm (same cache dir again),
#   bench/peers/companies_house_driver.py (PyPI `companies-house`, synchronous),
#   bench/peers/ukcompanies_driver.py     (PyPI `ukcompanies`, async).
# Then, unless SCALE=0, leadgen alone: cold throughput at concurrency 1, 4, 16,
# 64 (LATENCY, unbounded quota) and 1k/10k(/100k) rows on a warm cache.
#
# The 100k size is off by default: the fake's name search scores every company
# sharing a token with the query, so its cost per search grows with the register
# and at 100k rows the fake, not leadgen, sets the pace (a trial 100k run without
# a cache had not finished after 15 minutes, the fake at 80% of a core and ~6 GB
# RSS). With a cache, only the fill run pays for that; the warm run does not.
#
# Writes bench/RESULTS.md (overwritten; RESULTS to change the path). Exits
# non-zero when a contestant is broken (bad exit code, missing rows, nothing
# matched). Not part of CI. Needs a Rust toolchain, python3 (with venv) and,
# if /usr/bin/time is missing, apt-get (it installs `time` itself).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-200}                        # companies in the contest
SEED=${SEED:-1}                    # synthetic register seed
QUOTA=${QUOTA:-300/5s}             # fake's quota per key (and leadgen's configured quota)
LATENCY=${LATENCY:-80ms}           # added to every fake answer
CONCURRENCY=${CONCURRENCY:-8}      # leadgen --concurrency (its default) and the async peer's
SCALE=${SCALE:-1}                  # 0 skips the scaling tables
SWEEP_N=${SWEEP_N:-100}            # companies per concurrency-sweep run
SWEEP=${SWEEP:-"1 4 16 64"}        # concurrency levels of the sweep
SCALE_SIZES=${SCALE_SIZES:-"1000 10000"}
SCALE_100K=${SCALE_100K:-0}        # 1 adds 100000 to SCALE_SIZES; see the note below
FILL_CONCURRENCY=${FILL_CONCURRENCY:-64}
RESULTS=${RESULTS:-bench/RESULTS.md}
UNBOUNDED=1000000/1s               # "no quota": far above what 2 cores can send
API_KEY=bench-key-0000-0000-0000-000000000000   # >= 20 chars: ukcompanies warns on shorter keys
[ "$SCALE_100K" = 1 ] && SCALE_SIZES="$SCALE_SIZES 100000"
COMMAND="N=$N QUOTA=$QUOTA LATENCY=$LATENCY CONCURRENCY=$CONCURRENCY SCALE=$SCALE SWEEP_N=$SWEEP_N SCALE_100K=$SCALE_100K bash bench/run.sh"

say() { printf '\n== %s\n' "$*" >&2; }

# --- tools -------------------------------------------------------------------
if [ ! -x /usr/bin/time ]; then
  say "installing GNU time (for peak RSS)"
  apt-get update -qq && apt-get install -y -qq time >/dev/null
fi
VENV=bench/.venv
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import companies_house, ukcompanies' 2>/dev/null; then
  say "creating $VENV and installing the peers (bench/requirements.txt)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r bench/requirements.txt
fi
say "building leadgen (release)"
cargo build --release --quiet --bins
LEADGEN=${CARGO_TARGET_DIR:-target}/release/leadgen
FAKES=${CARGO_TARGET_DIR:-target}/release/leadgen-fakes

if "$LEADGEN" discover --help 2>&1 | grep -q -e '--cache-dir' -e 'LEADGEN_CACHE_DIR'; then
  CACHE=yes
else
  CACHE=no
fi

work=$(mktemp -d)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
FAKE_PID=
cleanup() {
  if [ -n "$FAKE_PID" ]; then kill "$FAKE_PID" 2>/dev/null || true; wait "$FAKE_PID" 2>/dev/null || true; fi
  if [ "${KEEP:-0}" = 1 ]; then echo "work files kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
RECORDS=$work/records.jsonl
: > "$RECORDS"

# One port for every fake, so a cache keyed on the URL still hits on the warm run.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT

start_fake() { # quota latency synthetic
  local tries
  for tries in 1 2 3 4 5; do
    # Remove the last fake's URL first: `> file &` truncates it only once the child runs.
    rm -f "$work/fake.url"
    "$FAKES" serve --addr "127.0.0.1:$PORT" --synthetic "$3" --synthetic-seed "$SEED" \
      --api-key "$API_KEY" --quota "$1" --latency "$2" > "$work/fake.url" 2>> "$work/fake.log" &
    FAKE_PID=$!
    for _ in $(seq 600); do
      [ -s "$work/fake.url" ] && return 0
      kill -0 "$FAKE_PID" 2>/dev/null || break
      sleep 0.05
    done
    wait "$FAKE_PID" 2>/dev/null || true
    FAKE_PID=
    sleep 0.5
  done
  echo "the fake server did not start on port $PORT; see below" >&2
  cat "$work/fake.log" >&2
  exit 1
}
stop_fake() {
  python3 bench/report.py stats "$URL" "$1" "$FAKE_PID"
  kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null || true
  FAKE_PID=
}

# measure GROUP NAME QUOTA LATENCY N SYNTHETIC ALLOWED_RC OUTPUT [key=value...] -- CMD...
# Starts a fresh fake, runs CMD under /usr/bin/time -v, records the fake's counters.
measure() {
  local group=$1 name=$2 quota=$3 latency=$4 n=$5 synthetic=$6 allowed=$7 output=$8
  shift 8
  local extra=()
  while [ "$1" != "--" ]; do extra+=("$1"); shift; done
  shift
  start_fake "$quota" "$latency" "$synthetic"
  local start end rc=0
  start=$(date +%s.%N)
  /usr/bin/time -v -o "$work/$name.time" "$@" > "$work/$name.log" 2>&1 || rc=$?
  end=$(date +%s.%N)
  stop_fake "$work/$name.stats"
  if [ "$rc" -ne 0 ] && ! [[ ",$allowed," == *",$rc,"* ]]; then
    echo "  $name exited $rc; last lines of its log:" >&2
    tail -5 "$work/$name.log" >&2
  fi
  python3 bench/report.py record "$RECORDS" group="$group" name="$name" n="$n" quota="$quota" \
    latency="$latency" rc="$rc" allowed_rc="$allowed" start="$start" end="$end" \
    time="$work/$name.time" stats="$work/$name.stats" output="$output" "${extra[@]}"
}

leadgen_env() { # cache_dir -> env assignments for `env`
  echo "COMPANIES_HOUSE_API_KEY=$API_KEY LEADGEN_COMPANIES_HOUSE_URL=$URL LEADGEN_CACHE_DIR=$1"
}

# --- contest -----------------------------------------------------------------
"$FAKES" generate --companies "$N" --seed "$SEED" --csv > "$work/in.csv"
say "contest: $N companies, quota $QUOTA, latency $LATENCY, cache in this build: $CACHE"
LEADGEN_WORK="search, profile, officers, PSCs; match scoring, merge"
PEER_WORK="search, officer pages"
cache_dir=$work/cache-contest
mkdir -p "$cache_dir"
# Exit 3 (some rows in error) is reported in the table, not fatal.
measure contest leadgen-cold "$QUOTA" "$LATENCY" "$N" "$N" 0,3 "$work/leadgen-cold.jsonl" \
  label="leadgen cold (concurrency $CONCURRENCY)" work="$LEADGEN_WORK" cache=cold -- \
  env $(leadgen_env "$cache_dir") "$LEADGEN" discover "$work/in.csv" -f jsonl -o "$work/leadgen-cold.jsonl" -q \
    --concurrency "$CONCURRENCY" --companies-house-rate-limit "$QUOTA"
measure contest leadgen-warm "$QUOTA" "$LATENCY" "$N" "$N" 0,3 "$work/leadgen-warm.jsonl" \
  label="leadgen warm (concurrency $CONCURRENCY)" work="$LEADGEN_WORK" cache=warm -- \
  env $(leadgen_env "$cache_dir") "$LEADGEN" discover "$work/in.csv" -f jsonl -o "$work/leadgen-warm.jsonl" -q \
    --concurrency "$CONCURRENCY" --companies-house-rate-limit "$QUOTA"
measure contest companies-house "$QUOTA" "$LATENCY" "$N" "$N" 0 "$work/companies-house.jsonl" \
  label="companies-house (sync)" work="$PEER_WORK" cache=none -- \
  "$VENV/bin/python" bench/peers/companies_house_driver.py --base-url "$URL" --api-key "$API_KEY" \
    "$work/in.csv" "$work/companies-house.jsonl"
measure contest ukcompanies "$QUOTA" "$LATENCY" "$N" "$N" 0 "$work/ukcompanies.jsonl" \
  label="ukcompanies (async, concurrency $CONCURRENCY)" work="$PEER_WORK" cache=none -- \
  "$VENV/bin/python" bench/peers/ukcompanies_driver.py --base-url "$URL" --api-key "$API_KEY" \
    --concurrency "$CONCURRENCY" "$work/in.csv" "$work/ukcompanies.jsonl"

# --- scaling (leadgen alone) -------------------------------------------------
if [ "$SCALE" = 1 ]; then
  "$FAKES" generate --companies "$SWEEP_N" --seed "$SEED" --csv > "$work/sweep.csv"
  say "scaling: cold throughput by concurrency ($SWEEP_N companies, $LATENCY, unbounded quota)"
  for c in $SWEEP; do
    d=$work/cache-sweep-$c; mkdir -p "$d"
    measure sweep "sweep-$c" "$UNBOUNDED" "$LATENCY" "$SWEEP_N" "$SWEEP_N" 0,3 "$work/sweep-$c.jsonl" \
      concurrency="$c" cache=cold -- \
      env $(leadgen_env "$d") "$LEADGEN" discover "$work/sweep.csv" -f jsonl -o "$work/sweep-$c.jsonl" -q \
        --concurrency "$c" --companies-house-rate-limit "$UNBOUNDED"
  done
  for size in $SCALE_SIZES; do
    "$FAKES" generate --companies "$size" --seed "$SEED" --csv > "$work/scale-$size.csv"
    d=$work/cache-scale-$size; mkdir -p "$d"
    if [ "$CACHE" = yes ]; then
      say "scaling: $size rows, cold fill then warm"
      measure fill "fill-$size" "$UNBOUNDED" 0ms "$size" "$size" 0,3 "$work/scale-$size.jsonl" \
        label="cold fill (0 ms latency)" concurrency="$FILL_CONCURRENCY" -- \
        env $(leadgen_env "$d") "$LEADGEN" discover "$work/scale-$size.csv" -f jsonl -o "$work/scale-$size.jsonl" -q \
          --concurrency "$FILL_CONCURRENCY" --companies-house-rate-limit "$UNBOUNDED"
      measure warm "warm-$size" "$UNBOUNDED" "$LATENCY" "$size" "$size" 0,3 "$work/scale-$size.jsonl" \
        label="warm ($LATENCY fake)" concurrency="$CONCURRENCY" -- \
        env $(leadgen_env "$d") "$LEADGEN" discover "$work/scale-$size.csv" -f jsonl -o "$work/scale-$size.jsonl" -q \
          --concurrency "$CONCURRENCY" --companies-house-rate-limit "$UNBOUNDED"
    else
      say "scaling: $size rows (no cache in this build: 0 ms fake, unbounded quota)"
      measure local "local-$size" "$UNBOUNDED" 0ms "$size" "$size" 0,3 "$work/scale-$size.jsonl" \
        label="no cache: 0 ms fake" concurrency="$CONCURRENCY" -- \
        env $(leadgen_env "$d") "$LEADGEN" discover "$work/scale-$size.csv" -f jsonl -o "$work/scale-$size.jsonl" -q \
          --concurrency "$CONCURRENCY" --companies-house-rate-limit "$UNBOUNDED"
    fi
    rm -f "$work/scale-$size.jsonl"
  done
fi

# --- report ------------------------------------------------------------------
# leadgen's in-memory cache bound, to explain peak RSS (empty if the constant moved).
MEM_ENTRIES=$(sed -n 's/^const MEMORY_CACHE_ENTRIES: u64 = \([0-9_]*\);/\1/p' src/pipeline.rs 2>/dev/null | tr -d _)
python3 - "$work/meta.json" <<PY
import json, platform, subprocess, sys
def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"
cpu = sh("lscpu | sed -n 's/^Model name: *//p' | head -1") or platform.processor() or "?"
mem_kb = int(sh("awk '/MemTotal/ {print \$2}' /proc/meminfo") or 0)
commit = sh("git rev-parse --short HEAD") + (" (with uncommitted changes)" if sh("git status --porcelain -- src Cargo.toml Cargo.lock") else "")
peers = sh("$VENV/bin/pip freeze | grep -i -E '^(companies-house|ukcompanies|httpx|pydantic)=='").replace("\n", ", ")
json.dump({
    "date": sh("date -u"), "uname": sh("uname -a"), "nproc": sh("nproc"), "cpu": cpu,
    "mem": f"{mem_kb / 1048576:.1f} GiB", "command": """$COMMAND""", "commit": commit,
    "cache": "$CACHE", "peers": peers, "python": sh("$VENV/bin/python -c 'import platform; print(platform.python_version())'"),
    "quota": "$QUOTA", "latency": "$LATENCY", "n": $N, "seed": $SEED,
    "scale_100k": "$SCALE_100K" == "1",
    "memory_cache_entries": "$MEM_ENTRIES",
    "load": "$LOAD_START (start), " + sh("cut -d' ' -f1-3 /proc/loadavg") + " (end)",
}, open(sys.argv[1], "w"))
PY
rc=0
python3 bench/report.py render "$RECORDS" "$work/meta.json" > "$work/RESULTS.md" || rc=$?
cp "$work/RESULTS.md" "$RESULTS"
cat "$RESULTS"
if [ "$rc" -ne 0 ]; then
  echo "bench: a contestant is broken (see BROKEN above)" >&2
  exit 1
fi
