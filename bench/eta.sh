#!/usr/bin/env bash
# How good the progress bar's ETA is (issue 17): a discover run under a real
# pseudo-terminal (util-linux `script`), N synthetic companies against the
# fake at QUOTA; the bar's ETA at moments through the run against the time
# the run really took. Appends the table to bench/RESULTS-eta.md.
#
#   bench/eta.sh              # N=150, QUOTA=100/10s (about a minute)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-150}
QUOTA=${QUOTA:-100/10s}
cargo build --release --quiet --bins
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$(pwd)
target/release/leadgen-fakes generate --companies "$N" --seed 21 --csv > "$work/in.csv"
LEADGEN_CACHE_DIR="$work/cache" script -qfec "$root/target/release/leadgen-fakes exec --synthetic $N \
  --synthetic-seed 21 --quota $QUOTA -- $root/target/release/leadgen discover $work/in.csv --sources ch \
  -o $work/out.csv --companies-house-rate-limit $QUOTA" "$work/typescript" > /dev/null 2>&1 || true
tr '\r' '\n' < "$work/typescript" | sed 's/\x1b\[2K//g' | grep -E '^[0-9]{2}:[0-9]{2}:[0-9]{2}' > "$work/lines"
python3 - "$work/lines" "$N" "$QUOTA" <<'PY' | tee -a bench/RESULTS-eta.md
import re, sys, datetime
lines = open(sys.argv[1]).read().splitlines()
def secs(t):
    h, m, s = map(int, t.split(":")); return h * 3600 + m * 60 + s
def eta(l):
    m = re.search(r"ETA (?:(\d+)h (\d+)m|(\d+)m (\d+)s|(\d+)s|<1s)", l)
    if not m: return None
    if m.group(1): return int(m.group(1)) * 3600 + int(m.group(2)) * 60
    if m.group(3): return int(m.group(3)) * 60 + int(m.group(4))
    if m.group(5): return int(m.group(5))
    return 0
end = secs(lines[-1][:8])
print(f"\n## {datetime.datetime.utcnow():%Y-%m-%dT%H:%MZ}: {sys.argv[2]} companies at {sys.argv[3]}, run took {end} s\n")
print("| at s | bar's ETA s | really left s | predicted end / real end | calls done/expected |")
print("|---|---|---|---|---|")
for frac in (0.02, 0.1, 0.25, 0.5, 0.75, 0.9):
    l = min(lines, key=lambda l: abs(secs(l[:8]) - end * frac))
    t, e = secs(l[:8]), eta(l)
    calls = re.search(r"([\d,]+/[\d,]+) calls", l)
    if e is None:
        print(f"| {t} | (none) | {end - t} | | {calls.group(1) if calls else ''} |"); continue
    print(f"| {t} | {e} | {end - t} | {(t + e) / end:.3f} | {calls.group(1) if calls else ''} |")
PY
