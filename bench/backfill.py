"""The 40-quarter backfill through real Celery workers: in one piece, then fanned out over 1 and 2 processes.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/engagement_tracker_bench \\
    BENCH_BROKER_URL=redis://127.0.0.1:6379/5 .venv/bin/python bench/backfill.py --engagements 1000000 --seed 7

Generates the users' data set once (`generate_demo_data --engagements N --years 10 --seed S`, reused when
the database already holds N engagements), then for each configuration starts a real worker
(`celery -A config worker --pool=prefork --concurrency=P`), requests a run of the 40 quarters ending with
the current one (as `POST /api/v1/assessments/runs/` does: the run goes through the broker), and times it
from the request to the run's `finished_at`. Configurations:

- `one piece, 1 process`: `ASSESSMENT_FANOUT_MIN_QUARTERS` set above 40, the run is one task (before);
- `fanned out, 1 process` and `fanned out, 2 processes`: one task per quarter and the chord's callback.

The result is also checked: every configuration must write the same scores. Timings mean something only on
an idle machine; `--engagements 2000` proves the script works in under a minute.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/engagement_tracker_bench"
DEFAULT_BROKER = "redis://127.0.0.1:6379/5"
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
os.environ["CELERY_BROKER_URL"] = os.environ.get("BENCH_BROKER_URL", DEFAULT_BROKER)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

CONFIGURATIONS = [
    # (label, worker processes, fanned out)
    ("one piece, 1 process", 1, False),
    ("fanned out, 1 process", 1, True),
    ("fanned out, 2 processes", 2, True),
]


def ensure_data(engagements: int, years: int, seed: int) -> int:
    from engagements.models import Engagement

    call_command("migrate", verbosity=0)
    call_command("bootstrap_demo", "--no-demo", verbosity=0)
    count = Engagement.objects.count()
    if count < engagements:
        print(f"generating {engagements - count:,} engagements (once) ...", flush=True)
        started = time.perf_counter()
        call_command(
            "generate_demo_data",
            "--engagements",
            str(engagements - count),
            "--years",
            str(years),
            "--seed",
            str(seed),
            verbosity=0,
        )
        print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")
    return Engagement.objects.count()


def start_worker(processes: int, fanned_out: bool) -> subprocess.Popen:
    from config.celery import app

    env = {**os.environ, "ASSESSMENT_FANOUT_MIN_QUARTERS": "8" if fanned_out else "1000"}
    app.control.purge()
    worker = subprocess.Popen(  # noqa: S603
        [
            str(Path(sys.executable).with_name("celery")),
            "-A",
            "config",
            "worker",
            "--pool=prefork",
            f"--concurrency={processes}",
            "--loglevel=WARNING",
            f"--hostname=bench-backfill-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while not app.control.ping(destination=[f"bench-backfill-{os.getpid()}@{os.uname().nodename}"], timeout=1):
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            raise SystemExit("the Celery worker did not start")
    return worker


def stop_worker(worker: subprocess.Popen) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=60)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def scores_now() -> dict:
    from assessments.models import PartnerScore

    return {
        (row[0], row[1]): row[2:]
        for row in PartnerScore.objects.values_list("partner_id", "period", "overall", "delta_overall", "activity")
    }


def same_scores(first: dict, second: dict) -> bool:
    """The same partners and quarters scored, each figure equal up to a relative 1e-9: PostgreSQL's parallel
    sums add the same rows in a different order from one execution to the next, which moves the last bits of
    a double (up to 2.6e-15 relative on the million, the code before and after alike: bench/README.md)."""
    if first.keys() != second.keys():
        return False
    for key, values in first.items():
        for one, other in zip(values, second[key], strict=True):
            if one is None or other is None:
                if one is not other:
                    return False
            elif not math.isclose(float(one), float(other), rel_tol=1e-9, abs_tol=1e-9):
                return False
    return True


def timed_backfill(quarters: int, timeout: float) -> tuple[float, object]:
    from django.db import transaction
    from run import mark_written

    from assessments.choices import RunStatus, RunTrigger
    from assessments.models import AssessmentRun
    from assessments.periods import Quarter, quarter_range
    from assessments.services import assessment_run_request

    last = Quarter.current()
    periods = [str(q) for q in quarter_range(last.shift(-(quarters - 1)), last)]
    # Every quarter recounts its activity too, as after writes everywhere (and as before runs skipped unchanged
    # quarters): otherwise the first configuration measured would count and the next ones not.
    mark_written(periods)
    started = time.perf_counter()
    with transaction.atomic():
        run = assessment_run_request(trigger=RunTrigger.MANUAL, periods=periods)
    deadline = time.monotonic() + timeout
    while True:
        run = AssessmentRun.objects.get(pk=run.pk)
        if run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"the run did not finish within {timeout:.0f} s")
        time.sleep(0.1)
    wall = time.perf_counter() - started
    if run.status != RunStatus.SUCCEEDED:
        raise SystemExit(f"the run failed: {run.error}")
    return wall, run


def measure(processes: int, fanned_out: bool, quarters: int, timeout: float) -> tuple[float, object]:
    """A real worker of ``processes`` processes started, a ``quarters``-quarter backfill requested and timed to
    its end, the worker stopped: the seconds and the finished run."""
    worker = start_worker(processes, fanned_out)
    try:
        return timed_backfill(quarters, timeout)
    finally:
        stop_worker(worker)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engagements", type=int, default=1_000_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quarters", type=int, default=40)
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()

    count = ensure_data(args.engagements, args.years, args.seed)
    print(f"database {connection.settings_dict['NAME']}: {count:,} engagements; {os.cpu_count()} CPUs", flush=True)
    rows, results = [], []
    for label, processes, fanned_out in CONFIGURATIONS:
        wall, run = measure(processes, fanned_out, args.quarters, args.timeout)
        parts = run.parts.count()
        rows.append((label, wall, parts, run.scores_written))
        results.append(scores_now())
        print(f"  {label}: {wall:.1f} s ({parts} parts, {run.scores_written:,} scores)", flush=True)
    same = all(same_scores(result, results[0]) for result in results)
    base = rows[0][1]
    print()
    print(f"| {args.quarters}-quarter backfill, {count:,} engagements | wall | speed-up | parts | scores |")
    print("| --- | --- | --- | --- | --- |")
    for label, wall, parts, written in rows:
        print(f"| {label} | {wall:.1f} s | {base / wall:.2f}x | {parts} | {written:,} |")
    verdict = "yes" if same else "NO"
    print(f"\nthe same scores in every configuration (to 1e-9): {verdict}; target: under 60 s with 2 processes")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
