"""Print the query plans behind the `make bench` figures: EXPLAIN (ANALYZE, BUFFERS) of the slowest SQL of
each benchmarked request, and of one quarter's scoring floor query, on the million-engagement data set.

    python bench/plans.py [--lines 25] [PATH ...]

Uses the same database as bench/run.py (BENCH_DATABASE_URL) and expects it generated (run `make bench`
once). Read-only: EXPLAIN ANALYZE runs each statement, here only SELECTs.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # noqa: E402  (sets up Django on the benchmark database)
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

PATHS = [
    ("bench-planner", "/api/v1/engagements/?page_size=100&status=completed&partner=NGA"),
    ("bench-planner", "/api/v1/engagements/?page_size=100&status=completed&partner=SYC"),
    ("bench-planner", "/api/v1/engagements/?page_size=100&organization=ECOWAS"),
    ("bench-planner", "/api/v1/engagements/?page_size=100&q=lion"),
    ("bench-planner", "/api/v1/engagements/?page_size=100&q=senegal"),
    ("bench-planner", "/api/v1/engagements/?page_size=100"),
    ("bench-analyst", "/assessments/"),
    ("bench-analyst", "/assessments/?region=Africa"),
    ("bench-analyst", "/assessments/partners/NGA/"),
]


def explain(sql: str, params, lines: int) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = [row[0] for row in cursor.fetchall()]
    keep = [line for line in plan if "Buffers:" not in line]
    return keep[:lines] + [line for line in keep[lines:] if "Execution Time" in line]


def slowest(client, path: str, count: int):
    client.get(path)
    with CaptureQueriesContext(connection) as captured:
        client.get(path)
    return sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=25, help="plan lines shown per query")
    parser.add_argument("--queries", type=int, default=2, help="slowest queries explained per request")
    parser.add_argument("paths", nargs="*", help="request paths (as the planner user); default: the benchmarked ones")
    args = parser.parse_args()
    paths = [("bench-planner", p) for p in args.paths] or PATHS
    clients = {}
    for user, path in paths:
        client = clients.setdefault(user, bench._client(user))
        # The SQL text as logged has its parameters inlined, so it is explained as it stands.
        for query in slowest(client, path, args.queries):
            print(f"\n### {path}  ({float(query['time']) * 1000:.0f} ms as logged)\n{query['sql'][:300]} ...")
            print("\n".join(explain(query["sql"], None, args.lines)))
    from assessments.periods import Quarter
    from assessments.services.runs import scoring_model_active
    from assessments.services.scoring import _engagement_sums

    quarter = Quarter.current().previous() if hasattr(Quarter.current(), "previous") else Quarter.current()
    with CaptureQueriesContext(connection) as captured:
        _engagement_sums(quarter=quarter, model=scoring_model_active(), partner_ids=None)
    print(f"\n### scoring floor query, {quarter}")
    print("\n".join(explain(captured.captured_queries[-1]["sql"], None, args.lines + 15)))
    from assessments.services.activity import activity_count

    with CaptureQueriesContext(connection) as captured:
        activity_count([quarter])
    for query in captured.captured_queries[1:2]:
        print(f"\n### a run's activity count, {quarter} (partners engaged)\n{query['sql'][:300]} ...")
        print("\n".join(explain(query["sql"], None, args.lines)))


if __name__ == "__main__":
    main()
