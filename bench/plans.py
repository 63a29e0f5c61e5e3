"""Print the query plans behind the `make bench` figures: EXPLAIN (ANALYZE, BUFFERS) of the slowest SQL of
each benchmarked request, and of a one-quarter scoring run's statements next to its floor query (``--run``:
those only), on the million-engagement data set.

    python bench/plans.py [--lines 25] [--run] [PATH ...]

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
    parser.add_argument("--run", action="store_true", help="only the one-quarter scoring run's statements")
    parser.add_argument("paths", nargs="*", help="request paths (as the planner user); default: the benchmarked ones")
    args = parser.parse_args()
    paths = [] if args.run else [("bench-planner", p) for p in args.paths] or PATHS
    clients = {}
    for user, path in paths:
        client = clients.setdefault(user, bench._client(user))
        # The SQL text as logged has its parameters inlined, so it is explained as it stands.
        for query in slowest(client, path, args.queries):
            print(f"\n### {path}  ({float(query['time']) * 1000:.0f} ms as logged)\n{query['sql'][:300]} ...")
            print("\n".join(explain(query["sql"], None, args.lines)))
    explain_run(args.lines)


def explain_run(lines: int) -> None:
    """The plans of a one-quarter run's heavy statements, as the run executes them (in its transactions,
    with its settings: ``SET LOCAL jit = off`` and ``work_mem``): the floor query for comparison, the
    partners' sums, the activity count of every scope."""
    from assessments.periods import Quarter
    from assessments.services.activity import activity_count
    from assessments.services.runs import scoring_model_active
    from assessments.services.scoring import _engagement_sums

    quarter = Quarter.current().shift(-1)
    model = scoring_model_active()

    def explainer(label):
        def wrapper(execute, sql, params, many, context):
            if sql.lstrip().upper().startswith(("SELECT", "WITH")) and "engagements_engagement" in sql:
                cursor = context["cursor"]
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                plan = [row[0] for row in cursor.fetchall() if "Buffers:" not in row[0]]
                print(f"\n### {label}, {quarter}\n{' '.join(sql.split())[:300]} ...")
                print("\n".join(plan[: lines + 30] + [line for line in plan[lines + 30 :] if "Time:" in line]))
            return execute(sql, params, many, context)

        return wrapper

    with connection.execute_wrapper(explainer("scoring floor query")):
        bench.floor_query(quarter, model)
    with connection.execute_wrapper(explainer("a run's partner sums")):
        _engagement_sums(quarter=quarter, model=model, partner_ids=None)
    with connection.execute_wrapper(explainer("a run's activity count, every scope")):
        activity_count([quarter])


if __name__ == "__main__":
    main()
