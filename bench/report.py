"""Bookkeeping for bench/run.sh: record one contestant's run, render RESULTS.md.

    report.py stats URL FILE                  save GET URL/__fake/stats to FILE
    report.py record RECORDS key=value...     append one run's measurements to RECORDS
    report.py render RECORDS META             print the Markdown report; exit 3 if a
                                              contestant was broken

Standard library only (runs under the system python3, not the bench venv).
"""
from __future__ import annotations

import collections
import json
import os
import re
import sys
import urllib.request


def parse_quota(text: str) -> tuple[int, float]:
    limit, window = text.split("/")
    m = re.fullmatch(r"(\d+)(ms|s|m|h)", window)
    if not m:
        raise SystemExit(f"cannot read the quota window {window!r}")
    return int(limit), int(m[1]) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m[2]]


def parse_ms(text: str) -> float:
    m = re.fullmatch(r"(\d+)(ms|s)", text)
    if not m:
        raise SystemExit(f"cannot read the latency {text!r}")
    return int(m[1]) * (1 if m[2] == "ms" else 1000)


def peak_rss_kb(time_file: str) -> int | None:
    try:
        for line in open(time_file, encoding="utf-8", errors="replace"):
            if "Maximum resident set size" in line:
                return int(line.rsplit(":", 1)[1])
    except FileNotFoundError:
        pass
    return None


def cpu_seconds(time_file: str) -> float | None:
    total, seen = 0.0, 0
    try:
        for line in open(time_file, encoding="utf-8", errors="replace"):
            if "User time (seconds)" in line or "System time (seconds)" in line:
                total += float(line.rsplit(":", 1)[1])
                seen += 1
    except FileNotFoundError:
        pass
    return total if seen == 2 else None


def cmd_stats(url: str, path: str, pid: str | None = None) -> None:
    with urllib.request.urlopen(url.rstrip("/") + "/__fake/stats", timeout=10) as r:
        stats = json.loads(r.read())
    if pid:
        # The fake's own CPU time (utime + stime), to tell its work from the contestant's.
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            ticks = int(fields[11]) + int(fields[12])
            stats["fake_cpu_seconds"] = ticks / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            pass
    with open(path, "w", encoding="utf-8") as f:
        json.dump(stats, f)


def cmd_record(records: str, pairs: list[str]) -> None:
    a = dict(p.split("=", 1) for p in pairs)
    n = int(a["n"])
    try:
        stats = json.load(open(a["stats"]))
    except (OSError, ValueError):
        stats = {"requests": 0, "served_429": 0, "by_endpoint": {}}
    statuses: collections.Counter = collections.Counter()
    rows = 0
    try:
        for line in open(a["output"], encoding="utf-8"):
            if line.strip():
                rows += 1
                statuses[json.loads(line).get("status", "?")] += 1
    except (OSError, ValueError):
        pass
    wall = float(a["end"]) - float(a["start"])
    limit, window = parse_quota(a["quota"])
    requests = int(stats.get("requests", 0))
    minimum = requests * window / limit
    rc = int(a["rc"])
    allowed = {int(x) for x in a.get("allowed_rc", "0").split(",")}
    problems = []
    if rc not in allowed:
        problems.append(f"exit code {rc}")
    if rows != n:
        problems.append(f"{rows} rows out of {n}")
    if statuses.get("matched", 0) == 0:
        problems.append("no row matched")
    by = stats.get("by_endpoint", {})
    rec = {
        "group": a["group"], "name": a["name"], "label": a.get("label", a["name"]),
        "work": a.get("work", ""), "cache": a.get("cache", ""),
        "n": n, "quota": a["quota"], "latency": a["latency"],
        "concurrency": a.get("concurrency", ""),
        "fake_cpu": stats.get("fake_cpu_seconds"), "rc": rc, "wall": wall, "rss_kb": peak_rss_kb(a["time"]), "cpu": cpu_seconds(a["time"]),
        "requests": requests, "served_429": int(stats.get("served_429", 0)),
        "by_endpoint": by, "search_officers": int(by.get("search", 0)) + int(by.get("officers", 0)),
        "minimum": minimum, "rows": rows, "statuses": dict(statuses),
        "broken": "; ".join(problems),
    }
    with open(records, "a", encoding="utf-8") as f:
        f.write(json.dumps(rec) + "\n")
    status = ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
    ratio = f"{wall / minimum:.3f}" if minimum > 0 and limit < 100000 else "n/a"
    print(f"  {rec['label']}: {wall:.1f} s, {requests} requests ({requests / n:.2f}/company), "
          f"{rec['served_429']} 429s, min {minimum:.1f} s, ratio {ratio}, "
          f"peak RSS {fmt_mib(rec['rss_kb'])} MiB, rows {rows} ({status})"
          + (f"  BROKEN: {rec['broken']}" if rec["broken"] else ""), file=sys.stderr)


def fmt_mib(kb: int | None) -> str:
    return "?" if kb is None else f"{kb / 1024:.1f}"


def fmt_cpu(rec: dict) -> str:
    return "?" if rec.get("cpu") is None else f"{rec['cpu']:.1f}"


def fmt_wall(seconds: float) -> str:
    return f"{seconds:.2f}" if seconds < 10 else f"{seconds:.1f}"


def rate(rec: dict) -> float:
    return rec["rows"] / rec["wall"] if rec["wall"] > 0 else 0.0


def cmd_render(records_path: str, meta_path: str) -> int:
    recs = [json.loads(line) for line in open(records_path, encoding="utf-8") if line.strip()]
    meta = json.load(open(meta_path, encoding="utf-8"))
    out: list[str] = []
    w = out.append
    contest = [r for r in recs if r["group"] == "contest"]
    sweep = [r for r in recs if r["group"] == "sweep"]
    scale = [r for r in recs if r["group"] in ("fill", "warm", "local")]
    cache_ok = meta["cache"] == "yes"

    w("# Peer benchmark results")
    w("")
    w("Produced by `bench/run.sh` (see its header). Every contestant runs on the same input against")
    w("its own freshly started fake Companies House (`leadgen-fakes serve`, same port, same synthetic")
    w("register), so counters and quota windows never carry over from one contestant to the next.")
    w("")
    w(f"- Date: {meta['date']}")
    w(f"- Machine: `{meta['uname']}`; {meta['nproc']} cores ({meta['cpu']}); memory {meta['mem']}")
    w(f"- Load average (1/5/15 min): {meta.get('load', '?')} (above the core count means other work shared the machine)")
    w(f"- Command: `{meta['command']}`")
    w(f"- leadgen: commit {meta['commit']}; cache in this build: **{meta['cache']}**"
      + ("" if cache_ok else " (no `--cache-dir`/`LEADGEN_CACHE_DIR` support, so the \"warm\" run"
                             " repeats the cold one)"))
    w(f"- Peers: {meta['peers']}; Python {meta['python']}")
    w(f"- Fake: quota {meta['quota']} per key, {meta['latency']} added to every answer; "
      f"{meta['n']} synthetic companies (`leadgen-fakes generate --companies {meta['n']} --seed {meta['seed']} --csv`)")
    w("")
    w("## Contest")
    w("")
    w("Quota-bound minimum = requests made x window / limit (the fake's counters, the server's quota);")
    w("\"wall/min\" is wall time over that minimum. Peak RSS is `/usr/bin/time -v`'s maximum resident set")
    w("size of the contestant's process.")
    w("")
    w("| contestant | work per company | rows | statuses | requests | req/company | search+officers req/company | 429s | wall s | quota-bound min s | wall/min | CPU s | peak RSS MiB | rows/s |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in contest:
        st = ", ".join(f"{k} {v}" for k, v in sorted(r["statuses"].items()))
        ratio = f"{r['wall'] / r['minimum']:.3f}" if r["minimum"] > 0 else "n/a (no requests)"
        broken = f" **BROKEN: {r['broken']}**" if r["broken"] else ""
        w(f"| {r['label']}{broken} | {r['work']} | {r['rows']} | {st} | {r['requests']} | "
          f"{r['requests'] / r['n']:.2f} | {r['search_officers'] / r['n']:.2f} | {r['served_429']} | "
          f"{fmt_wall(r['wall'])} | {r['minimum']:.1f} | {ratio} | {fmt_cpu(r)} | {fmt_mib(r['rss_kb'])} | {rate(r):.1f} |")
    w("")
    by_name = {r["name"]: r for r in contest}
    cold, warm = by_name.get("leadgen-cold"), by_name.get("leadgen-warm")
    peers = [r for r in contest if not r["name"].startswith("leadgen")]
    w("Rows per second on a warm cache: "
      + (f"leadgen {rate(warm):.1f} rows/s" + ("" if cache_ok else " (no cache in this build: a repeat of the cold run)")
         if warm else "leadgen not measured")
      + "; the peers have no cache, so every run of theirs is cold and their rows/s above is the"
        " only figure.")
    w("")
    if cold and peers:
        w("### leadgen relative to each peer")
        w("")
        w("| peer | peer wall s | leadgen cold wall s | leadgen cold / peer | leadgen warm wall s | leadgen warm / peer | peer requests/company | leadgen requests/company | peer wall/min | leadgen cold wall/min |")
        w("|---|---|---|---|---|---|---|---|---|---|")
        def ratio_of(r):
            return f"{r['wall'] / r['minimum']:.2f}" if r["minimum"] > 0 else "n/a"
        for p in peers:
            warm_cells = (f"{fmt_wall(warm['wall'])} | {warm['wall'] / p['wall']:.3f}x" if warm else "- | -")
            w(f"| {p['label']} | {p['wall']:.1f} | {cold['wall']:.1f} | {cold['wall'] / p['wall']:.2f}x | "
              f"{warm_cells} | {p['requests'] / p['n']:.2f} | {cold['requests'] / cold['n']:.2f} | "
              f"{ratio_of(p)} | {ratio_of(cold)} |")
        w("")
        w("Below 1.00x means leadgen took less time. leadgen does more per company than the peers'")
        w("job (see \"work per company\"), so its requests per company are higher; the")
        w("\"search+officers\" column counts only the requests that both jobs make. The wall/min columns")
        w("judge each contestant against its own quota-bound minimum, the fairer measure when the jobs")
        w("differ in size (1.00 = as fast as the quota allows).")
        w("")

    if sweep:
        w("## Scaling: cold throughput as concurrency grows (latency hiding)")
        w("")
        s0 = sweep[0]
        w(f"leadgen alone, {s0['n']} companies, a fresh cache each run, fake at {s0['latency']} per answer with an")
        w(f"unbounded quota ({s0['quota']} on both sides). \"in flight\" is requests x latency / wall time: how")
        w("many answers' latency overlapped on average (1.0 = one request at a time, nothing hidden).")
        w("")
        w("| concurrency | wall s | rows/s | requests | requests/s | speed-up vs first | in flight | peak RSS MiB |")
        w("|---|---|---|---|---|---|---|---|")
        base = sweep[0]["wall"]
        for r in sweep:
            in_flight = r["requests"] * parse_ms(r["latency"]) / 1000 / r["wall"]
            broken = f" **BROKEN: {r['broken']}**" if r["broken"] else ""
            w(f"| {r['concurrency']}{broken} | {r['wall']:.2f} | {rate(r):.1f} | {r['requests']} | "
              f"{r['requests'] / r['wall']:.0f} | {base / r['wall']:.1f}x | {in_flight:.1f} | {fmt_mib(r['rss_kb'])} |")
        w("")

    if scale:
        w("## Scaling: rows on a warm cache (throughput and peak RSS)")
        w("")
        if cache_ok:
            w("Each size: a cold run fills a fresh cache (fake at 0 ms, unbounded quota), then the warm run")
            w(f"reads it against a fake at {meta['latency']} (unbounded quota); \"requests\" is what the warm run")
            w("still sent to the fake.")
        else:
            w("**This build has no cache**, so there is no warm run to measure. As the nearest honest")
            w("stand-in for \"limited by local work\", each size runs cold against a fake with **0 ms latency**")
            w("and an unbounded quota: the figures are leadgen's local work plus loopback HTTP, not a cache.")
        w("")
        w("| rows | run | concurrency | wall s | rows/s | requests | leadgen CPU s | fake CPU s | peak RSS MiB |")
        w("|---|---|---|---|---|---|---|---|---|")
        for r in scale:
            broken = f" **BROKEN: {r['broken']}**" if r["broken"] else ""
            w(f"| {r['n']} | {r['label']}{broken} | {r['concurrency']} | {fmt_wall(r['wall'])} | {rate(r):.0f} | "
              f"{r['requests']} | {fmt_cpu(r)} | {fmt_cpu({'cpu': r.get('fake_cpu')})} | {fmt_mib(r['rss_kb'])} |")
        w("")
        w("\"fake CPU s\" is the fake server's own CPU time during the run (from /proc): when it")
        w("approaches the wall time, the fake, not leadgen, is what limits the run.")
        w("")
        if not meta.get("scale_100k"):
            w("The 100k row is skipped by default (set `SCALE_100K=1`; see bench/run.sh).")
            w("")

    w("## How each contestant was run")
    w("")
    w("- **leadgen**: `leadgen discover in.csv -f jsonl -o out.jsonl -q --concurrency C "
      "--companies-house-rate-limit QUOTA` with `LEADGEN_COMPANIES_HOUSE_URL` and "
      "`COMPANIES_HOUSE_API_KEY` set; `LEADGEN_CACHE_DIR` is a fresh directory for the cold run and "
      "the same directory again for the warm run. Per company it searches, fetches the profile, "
      "the officers and the PSCs, scores the match and merges officers and PSCs into people.")
    w("- **companies-house** (`bench/peers/companies_house_driver.py`): synchronous, one call after "
      "another, as its README shows. It has no base-URL option (the URL is the module constant "
      "`companies_house.companies_house.BASE_URL`, read when the client is built), so the driver "
      "assigns that constant before `CompaniesHouse(key)`. Its own rate limiting is left on: it "
      "sleeps until `X-Ratelimit-Reset` (+1 s) when `X-Ratelimit-Remain` is 5 or less, and waits "
      "out a 429. Job: `search(name)`, top hit, `iter_officers(number)` (100 per page).")
    w("- **ukcompanies** (`bench/peers/ukcompanies_driver.py`): `async with AsyncClient(api_key=..., "
      "base_url=URL)` (a supported option), rows gathered behind an `asyncio.Semaphore(C)`; the "
      "library does not pace requests, it retries a 429 after `X-Ratelimit-Reset` (up to 3 times). "
      "Job: `search_companies(name)`, top hit, `get_officers(number, items_per_page=50)` (its cap) "
      "following `has_more_pages`. structlog, which it logs every request through, is set to "
      "WARNING.")
    w("- Neither driver adds sleeps or limits of its own. Each writes one JSON line per input row "
      "(status matched / not_found / error, the top hit, the raw officer items).")
    w("")
    w("## Targets")
    w("")
    if cold:
        ratio = cold["wall"] / cold["minimum"] if cold["minimum"] > 0 else float("inf")
        ok = ratio <= 1.10 and cold["served_429"] == 0
        w(f"- Cold run within 1.10x of the quota-bound minimum with zero 429s: **{'met' if ok else 'not met'}** "
          f"({ratio:.3f}x, {cold['served_429']} 429s).")
        for p in peers:
            lr, pr = cold["requests"] / cold["n"], p["requests"] / p["n"]
            ls, ps = cold["search_officers"] / cold["n"], p["search_officers"] / p["n"]
            w(f"- Fewer requests per company than {p['label']}: **{'met' if lr < pr else 'not met'}** "
              f"({lr:.2f} vs {pr:.2f}; counting only search+officers, {ls:.2f} vs {ps:.2f}).")
    if warm:
        if cache_ok:
            ok = warm["requests"] == 0
            w(f"- Warm run limited by local work, not the network: **{'met' if ok else 'not met'}** "
              f"({warm['requests']} requests sent, {rate(warm):.0f} rows/s).")
        else:
            w("- Warm run limited by local work: **not measured**; this build has no cache (the warm run sent "
              f"{warm['requests']} requests, as many as the cold one).")
    sized = [r for r in scale if r["group"] in ("warm", "local")]
    if len(sized) >= 2 and all(r["rss_kb"] for r in sized):
        lo, hi = sized[0], sized[-1]
        growth = hi["rss_kb"] / lo["rss_kb"]
        w(f"- Flat memory: peak RSS {fmt_mib(lo['rss_kb'])} MiB at {lo['n']} rows, {fmt_mib(hi['rss_kb'])} MiB at "
          f"{hi['n']} rows ({growth:.2f}x for {hi['n'] // lo['n']}x the rows): "
          f"**{'met' if growth < 1.5 else 'not met'}** (threshold used here: under 1.5x).")
        entries = meta.get("memory_cache_entries")
        if entries and growth >= 1.5:
            w(f"  Likely reason: this build keeps up to {entries} answers in an in-memory LRU cache "
              f"(`MEMORY_CACHE_ENTRIES` in src/pipeline.rs), about 4 per company, so peak RSS should grow "
              f"with the rows until about {int(entries) // 4} companies and stop at that cap; the sizes "
              f"run here stay below it, so the plateau is not measured.")
    w("")
    if meta.get("notes"):
        w("## Notes")
        w("")
        for note in meta["notes"]:
            w(f"- {note}")
        w("")
    print("\n".join(out))
    return 3 if any(r["broken"] for r in recs) else 0


def main() -> int:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "stats":
        cmd_stats(*args)
        return 0
    if cmd == "record":
        cmd_record(args[0], args[1:])
        return 0
    if cmd == "render":
        return cmd_render(*args)
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
