"""Where an import's time goes: the main thread's cProfile and every statement's PostgreSQL backend CPU.

    BENCH_DATABASE_URL=... bench/import_profile.py --rows 100000 [--profile out.prof] [--top 30] [--constraints]

Imports ``--rows`` rows made as ``bench/run.py --only import`` makes them, by the same administrator, in a
transaction rolled back at the end (nothing stays). Prints wall, this process's CPU and the backend's CPU,
how long the checking thread waited for the connection (the writer's statement under way), what the commit's
deferred foreign-key checks would add, then the backend CPU by kind of statement (the COPY of each table,
each history insert, the checker's own queries), read from ``/proc`` before and after each statement (the
writer thread's statements run one at a time, as do the checker's).
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import io
import os
import pstats
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
if os.environ.get("BENCH_DATABASE_URL"):
    os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from run import _cpu_seconds, _import_file, _importer  # noqa: E402

import core.copy  # noqa: E402
import core.history  # noqa: E402


def _kind(sql: str) -> str:
    sql = " ".join(sql.split())
    match = re.match(r'(COPY|INSERT INTO|SELECT|UPDATE|ANALYZE|SAVEPOINT|RELEASE|DELETE)\s*"?(\w*)', sql, re.I)
    return f"{match.group(1)} {match.group(2)}" if match else sql[:40]


class _Rollback(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--profile", default="")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--constraints", action="store_true", help="the commit's checks constraint by constraint")
    args = parser.parse_args()
    from engagements.imports import engagements_import

    content = _import_file(args.rows)
    user = _importer()
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    spent: dict[str, float] = collections.defaultdict(float)
    counts: collections.Counter = collections.Counter()

    def timed(kind, run):
        before = _cpu_seconds(backend)
        try:
            return run()
        finally:
            spent[kind] += _cpu_seconds(backend) - before
            counts[kind] += 1

    original_send = core.copy.send

    def send(statement):
        sql_seen = []

        class Spy:
            def __init__(self, cursor):
                self.cursor = cursor

            def copy_expert(self, sql, *rest):
                sql_seen.append(sql)
                return self.cursor.copy_expert(sql, *rest)

            def execute(self, sql, *rest):
                sql_seen.append(sql)
                return self.cursor.execute(sql, *rest)

            def __getattr__(self, name):
                return getattr(self.cursor, name)

        def wrapped(cursor):
            before = _cpu_seconds(backend)
            try:
                statement(Spy(cursor))
            finally:
                kind = "writer: " + _kind(sql_seen[0] if sql_seen else "?")
                spent[kind] += _cpu_seconds(backend) - before
                counts[kind] += 1

        original_send(wrapped)

    def checker(execute, sql, params, many, context):
        if getattr(core.copy._current, "writer", None) is not None:  # timed once its turn came (below)
            return execute(sql, params, many, context)
        return timed("checker: " + _kind(sql), lambda: execute(sql, params, many, context))

    taking_turns = core.copy._Writer.taking_turns

    waited = [0.0, 0]  # the checking thread's wall time waiting for the writer's statement under way, and how often

    def timed_turn(self, execute, sql, params, many, context):
        asked = time.perf_counter()

        def run(*arguments):
            waited[0] += time.perf_counter() - asked
            waited[1] += 1
            return timed("checker: " + _kind(sql), lambda: execute(*arguments))

        return taking_turns(self, run, sql, params, many, context)

    core.copy._Writer.taking_turns = timed_turn

    core.copy.send = send
    core.history.send = send
    profiler = cProfile.Profile() if args.profile else None
    server_before, python_before, started = _cpu_seconds(backend), time.process_time(), time.perf_counter()
    thread_before = time.thread_time()
    try:
        with transaction.atomic(), connection.execute_wrapper(checker):
            if profiler:
                profiler.enable()
            report = engagements_import(handle=io.BytesIO(content), name="bench.csv", user=user, dry_run=False)
            if profiler:
                profiler.disable()
            assert report.applied and report.to_create == args.rows, report.as_dict()
            elapsed = time.perf_counter() - started
            python, thread = time.process_time() - python_before, time.thread_time() - thread_before
            server = _cpu_seconds(backend) - server_before
            # What the commit would add: the deferred foreign-key checks of every row written, run now (with
            # --constraints each constraint on its own first: each such statement also walks the whole queue).
            checks_before, checks_started = _cpu_seconds(backend), time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'f' AND condeferred "
                    "ORDER BY 1, 2"
                )
                for table, name in cursor.fetchall() if args.constraints else []:
                    before = _cpu_seconds(backend)
                    cursor.execute(f'SET CONSTRAINTS "{name}" IMMEDIATE')
                    spent[f"commit: {table} {name}"] += _cpu_seconds(backend) - before
                    counts[f"commit: {table} {name}"] += 1
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            checks, checks_wall = _cpu_seconds(backend) - checks_before, time.perf_counter() - checks_started
            raise _Rollback
    except _Rollback:
        pass
    print(
        f"{args.rows:,} rows: {elapsed:.1f} s wall, {args.rows / elapsed:,.0f} rows/s; CPU Python {python:.1f} s "
        f"(main thread {thread:.1f} s) + PostgreSQL {server:.1f} s; load {os.getloadavg()[0]:.1f}"
    )
    print(f"  the checking thread waited {waited[0]:.2f} s for the connection, over {waited[1]} queries")
    print(
        f"  the commit's deferred foreign-key checks (not in the figures above): {checks_wall:.2f} s, CPU {checks:.2f} s"
    )
    for kind, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"  {seconds:7.2f} s  {counts[kind]:5d}  {kind}")
    if profiler:
        profiler.dump_stats(args.profile)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
