"""Where a one-quarter scoring run spends its time, statement by statement, on the benchmark database.

    BENCH_DATABASE_URL=postgres://.../db .venv/bin/python bench/breakdown.py [--repeat 3] [--quarter 2026-Q3]
    BENCH_DATABASE_URL=... BENCH_BROKER_URL=redis://... .venv/bin/python bench/breakdown.py --served

With ``--served``: the run through gunicorn and a real worker, split into the POST, the wait for the worker,
the work and the time until the poller sees it finished. With ``--changed``: as after a write in the quarter
(a run recounts a quarter's activity only then; by default the runs after the warm-up one do not).

Executes the run as the worker does (``assessment_run_execute`` in this process, after one warm-up run) and
prints, for the median run: each SQL statement with its wall time in the database (time from sending it to
having its rows in Python), grouped by what it is for, the time spent in Python between statements, and the
total. Runs the floor query (bench/run.py, ``floor_query``) before and after, in the same minutes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # noqa: E402  (sets up Django on the benchmark database)
from django.db import connection  # noqa: E402


def label(sql: str) -> str:
    """A short name for a statement of the run."""
    text = " ".join(sql.split())
    head = text[:60]
    rules = [
        ("AS rated_weight_sum", "partner sums (one pass)"),
        ("WITH counted AS MATERIALIZED", "activity count, every scope"),
        ("assessments_quarteractivitychange", "activity: the quarter's changes taken"),
        ("assessments_quarteractivitydelta", "activity: deltas taken, touched partners counted"),
        ('INSERT INTO "assessments_quarteractivity', "activity snapshots: insert"),
        ("assessments_quarteractivity", "activity snapshots: deltas added, or deleted"),
        ("assessments_pairquarter", "pairs: deltas added"),
        ('INSERT INTO "assessments_pairquarter"', "pairs: INSERT ... SELECT"),
        ('DELETE FROM "assessments_pairquarter"', "pairs: delete the quarter"),
        ("assessments_measurement", "objectives' progress"),
        ('INSERT INTO "assessments_partnerscore"', "scores: upsert"),
        ("assessments_partnerscore", "scores: other statements"),
        ("assessments_alert", "alerts"),
        ("engagements_partnerchange", "changes marked processed"),
        ("pg_advisory", "scoring lock"),
        ("set_config", "SET LOCAL (jit, work_mem)"),
        ("assessments_assessmentrun", "the run's row"),
        ("assessments_scoringmodel", "scoring model"),
    ]
    for needle, name in rules:
        if needle in text:
            return name
    return head


def one_run(quarter: str, *, changed: bool = False) -> tuple[float, list[tuple[str, float]]]:
    """The run of ``quarter``; with ``changed``, as after a write in the quarter (``bench.write_in``)."""
    from assessments.services import assessment_run_execute, assessment_run_request

    if changed:
        bench.write_in(quarter)

    statements: list[tuple[str, float]] = []

    def timer(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append((sql, time.perf_counter() - started))

    commit = connection._commit

    def timed_commit():  # the COMMIT of each transaction goes past execute_wrapper
        started = time.perf_counter()
        try:
            return commit()
        finally:
            statements.append(("COMMIT", time.perf_counter() - started))

    run = assessment_run_request(trigger="api", periods=[quarter], enqueue=False)
    started = time.perf_counter()
    connection._commit = timed_commit
    try:
        with connection.execute_wrapper(timer):
            run = assessment_run_execute(run_id=run.pk, lock_wait=60)
    finally:
        del connection._commit
    total = time.perf_counter() - started
    assert run.status == "succeeded", run.error
    return total, statements


def served_runs(quarter: str, repeat: int, *, changed: bool = False) -> None:
    """The run as users ask for it (bench/served.py): where the time between the POST and the answer that
    says the run has finished goes, from the client's clock and the run's own timestamps (same machine)."""
    import datetime

    from served import served

    from assessments.models import AssessmentRun

    with served(os.environ["DATABASE_URL"], os.environ.get("BENCH_BROKER_URL", bench.DEFAULT_BROKER)) as app:
        app.run_through_api([quarter])  # warm-up
        for _ in range(repeat):
            if changed:
                bench.write_in(quarter)
            posted = datetime.datetime.now(datetime.UTC)
            seconds, answer = app.run_through_api([quarter])
            seen = datetime.datetime.now(datetime.UTC)
            run = AssessmentRun.objects.get(pk=answer["id"])
            print(
                f"POST to finished {seconds:.3f} s: created {(run.created_at - posted).total_seconds():.3f} s "
                f"after the POST was sent, picked up and started {(run.started_at - run.created_at).total_seconds():.3f} s "
                f"later, worked {(run.finished_at - run.started_at).total_seconds():.3f} s, "
                f"seen finished {(seen - run.finished_at).total_seconds():.3f} s after (commit, poll, GET)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quarter", default=None, help="default: the previous quarter")
    parser.add_argument("--served", action="store_true", help="through gunicorn and a worker (bench/served.py)")
    parser.add_argument(
        "--changed",
        action="store_true",
        help="as after a write in the quarter: its activity and pairs recounted by every run (by default, "
        "only the warm-up run counts them, as a quarter nothing was written in since its last run)",
    )
    args = parser.parse_args()
    from assessments.periods import Quarter
    from assessments.services.runs import scoring_model_active

    model = scoring_model_active()
    quarter = Quarter.parse(args.quarter) if args.quarter else Quarter.current().shift(-1)
    print(f"load average {os.getloadavg()[0]:.2f}; quarter {quarter}")
    if args.served:
        served_runs(str(quarter), args.repeat, changed=args.changed)
        print(f"load average {os.getloadavg()[0]:.2f}")
        return
    floor_before, _ = bench.timed(lambda: bench.floor_query(quarter, model), args.repeat)
    one_run(str(quarter), changed=args.changed)  # warm-up
    runs = [one_run(str(quarter), changed=args.changed) for _ in range(args.repeat)]
    floor_after, _ = bench.timed(lambda: bench.floor_query(quarter, model), args.repeat)
    totals = [total for total, _ in runs]
    total, statements = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
    grouped: dict[str, list[float]] = {}
    for sql, seconds in statements:
        grouped.setdefault(label(sql), []).append(seconds)
    in_sql = sum(seconds for _sql, seconds in statements)
    print(f"runs: {', '.join(f'{t:.3f}' for t in totals)} s; median {statistics.median(totals):.3f} s")
    print(f"floor query: before {statistics.median(floor_before):.3f} s, after {statistics.median(floor_after):.3f} s")
    print(
        f"median run {total:.3f} s: {len(statements)} statements, {in_sql:.3f} s in SQL, {total - in_sql:.3f} s in Python"
    )
    for name, times in sorted(grouped.items(), key=lambda item: -sum(item[1])):
        print(f"  {sum(times) * 1000:8.1f} ms  {len(times):3d} x  {name}")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
