"""`make bench`: the issue-8 benchmark table on a million-engagement PostgreSQL database.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/engagement_tracker_bench .venv/bin/python bench/run.py

Generates the data set once (`generate_demo_data --engagements 1000000 --years 10 --seed 7`, the users' data
of issue 22, reused when the database already holds it), then prints each figure as the median of several runs:
1. one quarter's scoring run as users request it (API to gunicorn, debug off, executed by a real Celery
   worker; bench/served.py), next to its floor (the single aggregate over the same rows, `floor_query`):
   with nothing written in the quarter since its last run, and after a write there (its activity recounted);
2. a 40-quarter backfill, every quarter's activity recounted;
3. GET /api/v1/engagements/?page_size=100 with two filters: median and p95 latency, SQL queries;
4. the overview dashboard and a partner page: median latency, SQL queries;
5. importing 100,000 rows as an administrator (every row checked against their rights, as the import page and
   the API do), the commit's deferred checks included (then rolled back): rows per second, next to
   PostgreSQL COPY of the same rows.
Timings are wall-clock on whatever machine runs it; bench/README.md records one run with the machine.
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/engagement_tracker_bench"
DEFAULT_BROKER = "redis://127.0.0.1:6379/5"  # BENCH_BROKER_URL: the served run's broker (bench/served.py)
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ.pop("CELERY_BROKER_URL", None)  # runs execute in-process: the benchmark measures the work itself

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

TARGET_ENGAGEMENTS = 1_000_000


def median(values):
    return statistics.median(values)


def p95(values):
    ordered = sorted(values)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def timed(function, repeat: int):
    seconds = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - started)
    return seconds, result


def ensure_database(engagements: int) -> None:
    from django.db.utils import OperationalError

    try:
        connection.ensure_connection()
    except OperationalError:
        import subprocess

        name = settings.DATABASES["default"]["NAME"]
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    call_command("migrate", verbosity=0)
    call_command("bootstrap_demo", "--no-demo", verbosity=0)
    from engagements.models import Engagement

    count = Engagement.objects.count()
    if count < engagements:
        print(f"generating {engagements - count:,} engagements (once) ...", flush=True)
        started = time.perf_counter()
        call_command(
            "generate_demo_data", "--engagements", str(engagements - count), "--years", "10", "--seed", "7", verbosity=0
        )
        print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)
        like_autovacuum("VACUUM (ANALYZE)")


def like_autovacuum(command: str) -> None:
    """What autovacuum does within minutes of a bulk write, done at once (this benchmark's server may run
    with autovacuum off): statistics for the planner on every table, and after a load the visibility map
    that lets list and count queries answer from indexes alone (index-only scans), as they would in service.
    """
    with connection.cursor() as cursor:
        cursor.execute(command)


def floor_query(quarter, model):
    """The single aggregate a one-quarter run cannot beat: participations joined to engagements (completed
    or in progress, live, overlapping the quarter's look-back window), grouped by partner, summing the
    recency weight. No number of partners, framework, after-action report or activity count."""
    from django.db.models import Sum

    from assessments.services.scoring import counted_participations

    return list(counted_participations(quarter=quarter, model=model).values("partner_id").annotate(w=Sum("weight")))


def floor_seconds(quarter, repeat: int) -> list[float]:
    """Seconds of ``floor_query`` for ``quarter`` under the active scoring model, ``repeat`` times."""
    from assessments.services.runs import scoring_model_active

    model = scoring_model_active()
    seconds, _ = timed(lambda: floor_query(quarter, model), repeat)
    return seconds


def mark_written(periods) -> None:
    """What the database's triggers write after a write in each of ``periods`` (quarters or their names): the
    next run of each recounts its activity and pairs (assessments.services.activity), as it does after users
    have written there. Without it, a benchmark's repeated runs of unchanged data skip the count."""
    from assessments.models import QuarterActivityChange
    from assessments.periods import Quarter

    QuarterActivityChange.objects.bulk_create(
        [QuarterActivityChange(period=(q if isinstance(q, Quarter) else Quarter.parse(q)).start) for q in periods]
    )


def write_in(quarter) -> None:
    """A planner's write in ``quarter`` (a Quarter or its name): one engagement's type changed, and back at
    the next call, by an UPDATE the database's triggers see as they see any save. The next run of the quarter
    adds the write's deltas to its activity snapshots (assessments.services.activity)."""
    from assessments.periods import Quarter
    from engagements.models import Engagement

    quarter = quarter if isinstance(quarter, Quarter) else Quarter.parse(quarter)
    subject = (
        Engagement.objects.filter(
            start_date__gte=quarter.start, start_date__lte=quarter.end, deleted_at__isnull=True, status="completed"
        )
        .order_by("start_date", "pk")
        .values("pk", "engagement_type")
        .first()
    )
    retyped = "training_exchange" if subject["engagement_type"] == "exercise" else "exercise"
    Engagement.objects.filter(pk=subject["pk"]).update(engagement_type=retyped)


def served_run_seconds(quarter, repeat: int, *, written: bool = False) -> tuple[list[float], list[float]]:
    """One quarter scored the way users ask for it: ``POST /api/v1/assessments/runs/`` to gunicorn with
    debug off, executed by a real Celery worker, timed from the POST until the run's API says it has finished
    (bench/served.py), ``repeat`` times after one warming run: the seconds of each, and the seconds each
    spent in the worker (its ``started_at`` to ``finished_at``). With ``written``, each run comes after a
    write in the quarter (``write_in``): it adds the write's deltas to the quarter's activity."""
    from served import served

    database_url = os.environ["DATABASE_URL"]
    broker_url = os.environ.get("BENCH_BROKER_URL", DEFAULT_BROKER)
    run_seconds, worker_seconds = [], []
    with served(database_url, broker_url) as app:
        app.run_through_api([str(quarter)])  # warm: connections, the worker's imports, the planner's caches
        for _ in range(repeat):
            if written:
                write_in(quarter)
            seconds, run = app.run_through_api([str(quarter)])
            run_seconds.append(seconds)
            if run.get("started_at") and run.get("finished_at"):
                started, finished = (datetime.datetime.fromisoformat(run[k]) for k in ("started_at", "finished_at"))
                worker_seconds.append((finished - started).total_seconds())
    return run_seconds, worker_seconds


def bench_scoring(repeat: int, *, backfill: bool = True) -> list[tuple]:
    """One quarter (the previous one) scored the way users ask for it (``served_run_seconds``), next to its
    floor. Then the 40-quarter backfill, executed in this process."""
    from assessments.periods import Quarter, quarter_range
    from assessments.services import assessment_run_execute, assessment_run_request

    quarter = Quarter.current().shift(-1)
    floor = floor_seconds(quarter, repeat)
    rows = []
    for written, when in ((False, "nothing written since its last run"), (True, "after a write in the quarter")):
        run_seconds, in_worker = served_run_seconds(quarter, repeat, written=written)
        run_median, floor_median = median(run_seconds), median(floor)
        ratio = run_median / floor_median
        met = "met" if ratio <= 1.5 and run_median < 3 else "NOT met"
        rows.append(
            (
                f"scoring run, 1 quarter ({quarter}), {when}, POST to finished via gunicorn + worker",
                f"{run_median:.2f} s",
                f"floor query {floor_median:.2f} s, ratio {ratio:.2f}x"
                + (f", {median(in_worker):.2f} s in the worker" if in_worker else "")
                + f"; target {met}",
                "<= 1.5x floor and < 3 s",
            )
        )
    first = Quarter(quarter.year - 9, 1)
    periods = [str(q) for q in quarter_range(first, quarter)][-40:]

    def backfill_once():
        mark_written(periods)  # every quarter computed again, its activity counted too, as before any skipping
        run = assessment_run_request(trigger="manual", periods=periods, enqueue=False)
        with CaptureQueriesContext(connection) as queries:
            run = assessment_run_execute(run_id=run.pk, lock_wait=600)
        assert run.status == "succeeded", run.error
        return len(queries)

    if backfill:
        backfill_seconds, backfill_queries = timed(backfill_once, max(1, repeat // 2))
        rows.append(
            ("backfill, 40 quarters", f"{median(backfill_seconds):.1f} s", f"{backfill_queries} queries", "< 120 s")
        )
    return rows


def _client(username: str) -> Client:
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username=username)
    from core.services import roles_sync

    roles_sync()
    from django.contrib.auth.models import Group

    user.groups.add(Group.objects.get(name="analyst" if "analyst" in username else "planner"))
    client = Client()
    client.force_login(user)
    return client


def _request(client: Client, path: str, repeat: int):
    seconds, queries = [], 0
    client.get(path)  # warm caches and connections
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path)
            seconds.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
        queries = len(captured)
    return seconds, queries


def bench_http(repeat: int) -> list[tuple]:
    rows = []
    client = _client("bench-planner")
    path = "/api/v1/engagements/?page_size=100&status=completed&partner=NGA"
    try:
        seconds, queries = _request(client, path, repeat)
        rows.append(
            (
                f"GET {path}",
                f"median {median(seconds) * 1000:.0f} ms, p95 {p95(seconds) * 1000:.0f} ms",
                f"{queries} queries",
                "median < 100 ms, <= 8 queries",
            )
        )
    except AssertionError as exc:
        rows.append((f"GET {path}", "not available", str(exc), "median < 100 ms, <= 8 queries"))
    analyst = _client("bench-analyst")
    for label, page in (("overview dashboard", "/assessments/"), ("partner page", "/assessments/partners/NGA/")):
        seconds, queries = _request(analyst, page, repeat)
        rows.append(
            (f"{label} {page}", f"median {median(seconds) * 1000:.0f} ms", f"{queries} queries", "median < 150 ms")
        )
    return rows


def _import_file(rows: int) -> bytes:
    import csv

    from engagements import demo, exchange

    planned, world = demo.plan(engagements=rows, years=3, seed=99)
    by_engagement: dict[int, list] = {}
    for index, partner_id, role, personnel in planned.participations:
        by_engagement.setdefault(index, []).append(f"{world.by_id[partner_id].iso3}:{role}:{personnel}")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(exchange.COLUMNS)
    for index, row in enumerate(planned.engagements):
        values = {
            "title": row["title"],
            "engagement_type": row["engagement_type"],
            "domain": row["domain"],
            "status": row["status"],
            "start_date": row["start_date"].isoformat(),
            "end_date": row["end_date"].isoformat(),
            "host_country": world.by_id[row["host_country_id"]].iso3,
            "threat_focus": ";".join(row["threat_focus"]),
            "sensitivity": row["sensitivity"],
            "series": row["series"] or "",
            "participants": ";".join(by_engagement.get(index, [])),
            "budget_usd": row["budget_usd"] or "",
        }
        writer.writerow([values.get(column, "") for column in exchange.COLUMNS])
    return buffer.getvalue().encode()


class _Rollback(Exception):
    pass


def _cpu_seconds(pid: int | None = None) -> float | None:
    """CPU seconds used so far by this process, or by the PostgreSQL backend ``pid`` when the server runs on
    this machine (None otherwise): on a machine shared with other work, wall time says little, while the
    CPU time of the two processes an import runs in adds up to what it takes on an idle machine."""
    if pid is None:
        return time.process_time()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _importer():
    """An administrator, as users import a backlog (the file holds approved engagements, which only an
    administrator may create: approval is four-eyes): every row is checked against their rights and the
    history records them, as through the import page or the API."""
    from actors import bench_user

    return bench_user("bench-importer", "admin")


def bench_import(rows: int) -> list[tuple]:
    from engagements.imports import engagements_import

    content = _import_file(rows)
    user = _importer()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), inet_server_addr() IS NULL OR host(inet_server_addr()) = '127.0.0.1'")
        backend, local = cursor.fetchone()
    server_before = _cpu_seconds(backend) if local else None
    python_before = _cpu_seconds()
    started = time.perf_counter()
    try:
        with transaction.atomic():
            report = engagements_import(handle=io.BytesIO(content), name="bench.csv", user=user, dry_run=False)
            assert report.applied and report.to_create == rows, report.as_dict()
            # What the commit does before it returns, the import's only write left: the deferred checks of the
            # rows' references (rolled back after, so the data set stays as it was).
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            elapsed = time.perf_counter() - started
            python_cpu = _cpu_seconds() - python_before
            server_cpu = _cpu_seconds(backend) - server_before if server_before is not None else None
            raise _Rollback
    except _Rollback:
        pass
    cpu = f"CPU: Python {python_cpu:.1f} s" + (f" + PostgreSQL {server_cpu:.1f} s" if server_cpu is not None else "")
    # The floor: COPY of the same engagement rows straight into a scratch copy of the table.
    import csv

    reader = csv.DictReader(io.StringIO(content.decode()))
    copy_rows = [
        [r["title"], r["engagement_type"], r["domain"], r["status"], r["start_date"], r["end_date"]] for r in reader
    ]
    started = time.perf_counter()
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "CREATE TEMP TABLE bench_copy (title text, engagement_type text, domain text, status text, start_date date, end_date date)"
                )
            buffer = io.StringIO()
            csv.writer(buffer).writerows(copy_rows)
            buffer.seek(0)
            with connection.cursor() as cursor:
                cursor.cursor.copy_expert("COPY bench_copy FROM STDIN WITH (FORMAT csv)", buffer)
            copy_seconds = time.perf_counter() - started
            raise _Rollback
    except _Rollback:
        pass
    return [
        (
            f"import {rows:,} rows (CSV, by an administrator: check, write, the commit's checks)",
            f"{rows / elapsed:,.0f} rows/s ({elapsed:.1f} s)",
            f"{cpu}; COPY of the same rows {rows / copy_seconds:,.0f} rows/s, ratio {elapsed / copy_seconds:.0f}x",
            ">= 10,000 rows/s",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engagements", type=int, default=TARGET_ENGAGEMENTS)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--only", choices=["scoring", "http", "import"], action="append")
    parser.add_argument("--no-backfill", action="store_true", help="scoring: the one-quarter run only")
    options = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("make bench needs PostgreSQL: set BENCH_DATABASE_URL=postgres://...")
    ensure_database(options.engagements)
    # An earlier run's rolled-back imports leave dead rows at the newest end of the date indexes, which the
    # planner then walks on every plan (13 ms of planning per dashboard query); autovacuum would have
    # removed them long before.
    like_autovacuum("VACUUM (ANALYZE)")
    from engagements.models import Engagement, Participation

    print(f"data: {Engagement.objects.count():,} engagements, {Participation.objects.count():,} participations")
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"PostgreSQL {connection.cursor().connection.server_version}"
    )
    rows = []
    sections = options.only or ["scoring", "http", "import"]
    if "scoring" in sections:
        rows += bench_scoring(options.repeat, backfill=not options.no_backfill)
        like_autovacuum("ANALYZE")  # the score and snapshot tables have just grown from nothing
    if "http" in sections:
        rows += bench_http(max(options.repeat, 20))
    if "import" in sections:
        rows += bench_import(options.import_rows)
        # The rolled-back import left 100,000 dead engagements and twice as many dead participations and
        # pending changes; autovacuum removes them within minutes, and the pages' freshness line (pending
        # changes, read for every request) walked them all until then: 18 to 29 ms a request in the load
        # benchmark that follows (bench/README.md).
        like_autovacuum("VACUUM (ANALYZE)")
    width = max(len(r[0]) for r in rows)
    print()
    print(f"| {'measure'.ljust(width)} | figure | detail | target |")
    print(f"| {'-' * width} | --- | --- | --- |")
    for name, figure, detail, target in rows:
        print(f"| {name.ljust(width)} | {figure} | {detail} | {target} |")


if __name__ == "__main__":
    main()
