"""Peer driver: the `companies-house` PyPI client (RegistrumUK/companies-house-python).

The job, as a user of this library would write it: read a CSV of company names
(`company_name` column), search each name, take the top hit, fetch every officer page,
write one JSON line per input row.

The library is synchronous and used as documented: one `CompaniesHouse` client, one
call after another. Its own rate-limit handling is left on (it reads X-Ratelimit-Remain
and X-Ratelimit-Reset and sleeps until the window resets when 5 or fewer requests remain;
it retries a 429 after the reset); this driver adds no sleeps or limits of its own.

Pointing it at the fake: the library has no base-URL option. `CompaniesHouse.__init__`
reads the module constant `companies_house.companies_house.BASE_URL`, so the driver
assigns that constant before constructing the client. Auth is the library's own
(httpx.BasicAuth(api_key, "")), as the real API expects.

    python companies_house_driver.py --base-url URL --api-key KEY in.csv out.jsonl
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys

import httpx

import companies_house.companies_house as ch_module
from companies_house import APIError, CompaniesHouse


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base-url", default=os.environ.get("CH_BASE_URL"), required=False)
    ap.add_argument("--api-key", default=os.environ.get("COMPANIES_HOUSE_API_KEY"))
    ap.add_argument("input")
    ap.add_argument("output")
    args = ap.parse_args()
    if not args.base_url or not args.api_key:
        ap.error("--base-url and --api-key (or COMPANIES_HOUSE_API_KEY) are required")

    # The one change needed to reach the fake: the library hard-codes the base URL.
    ch_module.BASE_URL = args.base_url.rstrip("/")

    errors = 0
    with CompaniesHouse(args.api_key) as ch, \
            open(args.input, newline="", encoding="utf-8") as src, \
            open(args.output, "w", encoding="utf-8") as out:
        for row_no, row in enumerate(csv.DictReader(src), start=1):
            name = row["company_name"]
            record: dict = {"row": row_no, "input": {"company_name": name}}
            try:
                hits = ch.search(name).get("items") or []
                if not hits:
                    record["status"] = "not_found"
                else:
                    top = hits[0]
                    number = top["company_number"]
                    officers = list(ch.iter_officers(number))
                    record.update(
                        status="matched",
                        company={"company_number": number, "company_name": top.get("title")},
                        officers=officers,
                    )
            except (APIError, httpx.HTTPError) as e:
                errors += 1
                record.update(status="error", error=f"{type(e).__name__}: {e}")
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    if errors:
        print(f"companies_house_driver: {errors} rows ended in error", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
