"""Search and list views at scale: the searched list page and API, the default order and the views, on the
million-engagement data set (the issue-18 figures in bench/README.md).

    BENCH_DATABASE_URL=postgres://... .venv/bin/python bench/search.py [--repeat 10]

Uses bench/run.py's database and clients (it must hold the generated data set). Prints, per request, the
median and p95 over ``--repeat`` requests through Django's test client (middleware, auth, templates
included; no network) and the SQL queries per request. `python bench/plans.py PATH` prints the plans.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # noqa: E402  (sets up Django on the benchmark database)

SEARCHES = ["flint 2025", "senegal naval port", "lion", "ivory coast training", "senegal", "training"]
LIST_PATHS = [
    "/api/v1/engagements/?page_size=100&status=completed&partner=NGA",  # issue 8's reference request
    *[f"/engagements/?q={q.replace(' ', '+')}" for q in SEARCHES],
    *[f"/api/v1/engagements/?page_size=100&q={q.replace(' ', '+')}" for q in SEARCHES],
    "/engagements/",
    "/engagements/?page=500",
    "/engagements/?view=current",
    "/engagements/?view=upcoming",
    "/engagements/?view=recent",
    "/engagements/?view=mine",
    "/api/v1/engagements/?page_size=100",
    "/api/v1/engagements/?page_size=100&page=250",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("paths", nargs="*")
    args = parser.parse_args()
    client = bench._client("bench-planner")
    print("| request | median | p95 | SQL queries |\n| --- | --- | --- | --- |")
    for path in args.paths or LIST_PATHS:
        seconds, queries = bench._request(client, path, args.repeat)
        print(
            f"| `{path}` | {bench.median(seconds) * 1000:.0f} ms | {bench.p95(seconds) * 1000:.0f} ms | {queries} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
