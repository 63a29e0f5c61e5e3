"""Time exports in the import format on the million-engagement data set: rows per second, SQL queries and
peak memory of `GET /api/v1/engagements/export/` through Django's test client (the whole file is read).

    python bench/export.py [--repeat 3] [QUERY ...]     e.g. "organization=ECOWAS" "file=xlsx&partner=NGA"

Uses the same database as bench/run.py (BENCH_DATABASE_URL) and expects it generated (run `make bench`
once). Read-only.
"""

import argparse
import resource
import sys
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # noqa: E402  (sets up Django on the benchmark database)
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

QUERIES = ["partner=NGA", "organization=ECOWAS", "file=xlsx&organization=ECOWAS"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("queries", nargs="*", default=QUERIES)
    options = parser.parse_args()
    client = bench._client("bench-analyst")
    print("| export | rows | size | median | rows/s | SQL queries | peak RSS so far |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for query in options.queries:
        seconds = []
        for _ in range(options.repeat):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(f"/api/v1/engagements/export/?{query}")
                body = b"".join(response.streaming_content) if response.streaming else response.content
                seconds.append(time.perf_counter() - started)
            assert response.status_code == 200, body[:300]
        if response.streaming:
            rows = body.count(b"\n") - 1
        else:
            from io import BytesIO

            from openpyxl import load_workbook

            rows = sum(1 for _ in load_workbook(BytesIO(body), read_only=True).active.iter_rows()) - 1
        took = median(seconds)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"| `{query}` | {rows:,} | {len(body) / 1e6:.1f} MB | {took:.2f} s | {rows / took:,.0f} | "
            f"{len(queries.captured_queries)} | {peak:.0f} MB |"
        )


if __name__ == "__main__":
    main()
