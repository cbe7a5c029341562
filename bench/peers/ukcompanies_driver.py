"""Peer driver: the `ukcompanies` PyPI client (async, httpx + pydantic).

The job, as a user of this library would write it: read a CSV of company names
(`company_name` column), search each name, take the top hit, fetch every officer page,
write one JSON line per input row.

Used as its README shows: one `AsyncClient` in an `async with` block. Its docs give no
concurrency recipe, so rows are looked up with the usual asyncio pattern, `gather` over
all rows behind an `asyncio.Semaphore(--concurrency)` (default 8, leadgen's default).
Its own rate-limit handling is left on: it does not pace requests; on a 429 it sleeps
until X-Ratelimit-Reset (or backs off exponentially) and retries up to `max_retries`
(default 3). This driver adds no sleeps or limits of its own. Officer pages are fetched
with `get_officers(items_per_page=50)` (the library caps a page at 50) and followed with
the library's `has_more_pages` / `next_start_index`.

Pointing it at the fake: the library supports it, `AsyncClient(base_url=URL)` (also the
COMPANIES_HOUSE_BASE_URL environment variable). Auth is its own Basic header (key as
username, empty password).

Logging: the library logs every request through structlog, whose default configuration
prints every level to stdout. The driver raises the threshold to WARNING (structlog's
documented `make_filtering_bound_logger`), as a user running a batch would; the
library's own rate-limit warnings still appear (on the driver's stdout, which the bench
sends to a log file).

    python ukcompanies_driver.py --base-url URL --api-key KEY [--concurrency 8] in.csv out.jsonl
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import os
import sys

import httpx
import pydantic
import structlog

structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

from ukcompanies import AsyncClient  # noqa: E402  (after the logging configuration)
from ukcompanies.exceptions import CompaniesHouseError  # noqa: E402


async def lookup(client: AsyncClient, gate: asyncio.Semaphore, row_no: int, name: str) -> dict:
    record: dict = {"row": row_no, "input": {"company_name": name}}
    async with gate:
        try:
            result = await client.search_companies(name)
            if not result.items:
                record["status"] = "not_found"
                return record
            top = result.items[0]
            officers: list = []
            start = 0
            while True:
                page = await client.get_officers(top.company_number, items_per_page=50,
                                                 start_index=start)
                officers.extend(o.model_dump(mode="json", exclude_none=True) for o in page.items)
                if not page.items or not page.has_more_pages:
                    break
                start = page.next_start_index
            record.update(
                status="matched",
                company={"company_number": top.company_number, "company_name": top.title},
                officers=officers,
            )
        except (CompaniesHouseError, httpx.HTTPError, pydantic.ValidationError) as e:
            record.update(status="error", error=f"{type(e).__name__}: {e}")
    return record


async def run(args: argparse.Namespace) -> int:
    with open(args.input, newline="", encoding="utf-8") as src:
        names = [row["company_name"] for row in csv.DictReader(src)]
    gate = asyncio.Semaphore(args.concurrency)
    async with AsyncClient(api_key=args.api_key, base_url=args.base_url.rstrip("/")) as client:
        records = await asyncio.gather(
            *(lookup(client, gate, i, name) for i, name in enumerate(names, start=1)))
    errors = 0
    with open(args.output, "w", encoding="utf-8") as out:
        for record in records:
            errors += record["status"] == "error"
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    if errors:
        print(f"ukcompanies_driver: {errors} rows ended in error", file=sys.stderr)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base-url", default=os.environ.get("COMPANIES_HOUSE_BASE_URL"))
    ap.add_argument("--api-key", default=os.environ.get("COMPANIES_HOUSE_API_KEY"))
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("input")
    ap.add_argument("output")
    args = ap.parse_args()
    if not args.base_url or not args.api_key:
        ap.error("--base-url and --api-key (or COMPANIES_HOUSE_API_KEY) are required")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
