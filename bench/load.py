"""`make bench-load`: pages and the API in production mode, under 1 and 8 concurrent clients, and a mixed
read/write load with a real worker (issue 22). `make bench` runs it after its table.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/engagement_tracker_bench .venv/bin/python bench/load.py

It serves the database as production does, through `scripts/serve.sh` (the entry point of the compose file
and of `make production-check`): debug off, the read pool (gunicorn, 3 workers) and the write pool (gunicorn,
2 workers) behind nginx routing by method, Redis as cache and broker, one Celery worker; every request goes
through nginx. Then it drives it with locust, headless (bench/locustfile.py), each client sending requests back to
back:

1. for 1 and for 8 clients, each path alone for ``--seconds``: the overview, a partner's assessment, the
   engagement list filtered by partner, the list with a search, the API list: p50 and p95;
2. mixed: 8 readers on those paths while planners save engagements through the API, and the worker scores
   the changes. It checks that no request failed, that every save is there afterwards (each planner client
   saves its own engagement: the version grew by at least the number of saves answered 200; by more when a
   save sent as locust stopped was applied and not counted) and that the
   saves did not wait for scoring (their p95, while the runs the saves queued are executed by the worker).

The database must hold scores (`make bench` computes them; otherwise `manage.py compute_scores`). The
benchmark adds users named ``bench-load-*``, renames the planners' engagements, and queues scoring runs.
Redis databases: ``BENCH_BROKER_URL`` and ``BENCH_REDIS_URL`` (default 8 and 9 on the local Redis). locust:
``BENCH_LOCUST`` or the one in the virtual environment (requirements-dev.txt).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import production_check  # noqa: E402  (how production starts: serve.sh, process groups)

python_bin = production_check.python_bin
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/engagement_tracker_bench"
HOST = "127.0.0.1"
PARTNER = "USA"
PATHS = {
    "overview": "/assessments/",
    "partner page": f"/assessments/partners/{PARTNER}/",
    "list, partner filter": f"/engagements/?partner={PARTNER}",
    "list, search": "/engagements/?q=training",
    "API list": f"/api/v1/engagements/?page_size=100&status=completed&partner={PARTNER}",
}
# Targets (issue 22): pages at 8 clients, the API list's median, no error.
PAGE_P50, PAGE_P95, API_P50, WRITE_P95 = 100, 250, 50, 250

SETUP = """
import json, sys
from django.conf import settings
from django.test import Client
from core.services import api_token_create
sys.path.insert(0, "bench")
from actors import bench_user, planners_for

analyst = bench_user("bench-load-analyst", "analyst")
client = Client()
client.force_login(analyst, backend="django.contrib.auth.backends.ModelBackend")
planners = [[api_token_create(user=planner)[1], engagement.pk] for planner, engagement in planners_for(PLANNERS)]
print(json.dumps({
    "session": client.cookies[settings.SESSION_COOKIE_NAME].value,
    "token": api_token_create(user=analyst)[1],
    "planners": planners,
}))
"""

RUNS = """
import json
from django.db.models import Q
from django.utils.dateparse import parse_datetime
from assessments.models import AssessmentRun
from engagements.models import Engagement
since = parse_datetime(SINCE)
# Runs the saves queued, or joined (a queued data-change run takes later changes in), and those the worker
# started or finished meanwhile.
runs = AssessmentRun.objects.filter(Q(created_at__gte=since) | Q(started_at__gte=since) | Q(finished_at__gte=since))
print(json.dumps({
    "runs": {status: runs.filter(status=status).count() for status in ("queued", "running", "succeeded", "failed")},
    "versions": {str(e.pk): e.version for e in Engagement.objects.filter(pk__in=IDS)},
    "titles": {str(e.pk): e.title for e in Engagement.objects.filter(pk__in=IDS)},
}))
"""

# How long after the load's last save its change shows in the scores: the saves' pending changes are marked
# processed by the run that scored them (assessments/services/runs.py).
FRESH = """
import json, time
from engagements.models import PartnerChange
pending = PartnerChange.objects.filter(engagement_id__in=IDS, processed_at__isnull=True)
while pending.exists() and time.time() < ENDED + 180:
    time.sleep(0.2)
print(json.dumps({"seconds": time.time() - ENDED, "pending": pending.count()}))
"""


def log(message: str) -> None:
    print(f"bench-load: {message}", flush=True)


def free_port() -> int:
    wanted = os.environ.get("BENCH_LOAD_PORT")
    return int(wanted) if wanted else production_check.free_port()


def locust_bin() -> str:
    found = os.environ.get("BENCH_LOCUST") or shutil.which("locust", path=str(python_bin())) or shutil.which("locust")
    if not found:
        sys.exit("bench-load needs locust (requirements-dev.txt), or BENCH_LOCUST=/path/to/locust")
    return found


def environment(port: int, workdir: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "PYTEST", "LOAD_"))}
    bindir = python_bin()
    env.update(
        {
            "PATH": f"{bindir}{os.pathsep}{env.get('PATH', '')}",
            "PYTHON": str(bindir / "python"),
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/8"),
            "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": HOST,
            "DJANGO_TRUSTED_PROXIES": "1",
            "DJANGO_STATIC_ROOT": str(workdir / "staticfiles"),
            **production_check.pools(port, workdir),
            "GUNICORN_WORKERS": "3",
            "GUNICORN_WRITE_WORKERS": "2",
            "CELERY_CONCURRENCY": "1",
            # One token sends thousands of requests a minute here; the production limit would answer 429.
            "API_THROTTLE_USER": "10000000/hour",
        }
    )
    env.pop("REQUIRE_SERVICES", None)
    env.pop("DATABASE_REPLICA_URL", None)
    return env


def manage_shell(env: dict, code: str) -> dict:
    done = subprocess.run(
        [env["PYTHON"], "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"bench-load: setup failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def wait_healthy(port: int, processes: dict, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"the {name} process exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=5) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise RuntimeError("gunicorn did not answer /healthz")


def drive(env: dict, workdir: Path, port: int, *, clients: int, seconds: int, extra: dict, users: list[str]) -> dict:
    """One headless locust run; its rows by request name: count, failures, p50, p95, requests per second."""
    prefix = workdir / f"run-{time.monotonic_ns()}"
    run_env = {**env, **extra}
    command = [
        locust_bin(),
        "-f",
        str(ROOT / "bench" / "locustfile.py"),
        "--headless",
        "--users",
        str(clients),
        "--spawn-rate",
        str(clients),
        "--run-time",
        f"{seconds}s",
        "--host",
        f"http://{HOST}:{port}",
        "--csv",
        str(prefix),
        "--only-summary",
        "--stop-timeout",  # a client stopping finishes its request: every save answered is counted
        "30",
        "--loglevel",
        "WARNING",
        *users,
    ]
    subprocess.run(command, env=run_env, cwd=ROOT, check=False, capture_output=True)
    rows = {}
    with open(f"{prefix}_stats.csv", newline="") as stats:
        for row in csv.DictReader(stats):
            if row["Name"] == "Aggregated":
                continue
            rows[row["Name"]] = {
                "count": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "p50": float(row["50%"]),
                "p95": float(row["95%"]),
                "rps": float(row["Requests/s"]),
            }
    return rows


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


@contextlib.contextmanager
def serving(database_url: str, *, threads: int = 1):
    """The application served as production serves it (the read pool, gunicorn x3 with ``threads`` threads
    each, and the write pool, gunicorn x2, behind nginx; debug off; one worker) on ``database_url``; yields
    ``(env, workdir, port)``, nginx's port, and stops every process after."""
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    workdir.chmod(0o711)  # nginx's workers (another user when it runs as root) reach its temporary files
    env = {**environment(port, workdir, database_url), "GUNICORN_THREADS": str(threads)}
    processes: dict[str, subprocess.Popen] = {}
    logs: dict[str, Path] = {}
    try:
        processes, logs = production_check.start(("web", "worker"), env, workdir)
        production_check.start_pools(env, workdir, processes, logs, timeout=600)
        wait_healthy(port, processes)
        log(
            f"nginx on port {port}, the read pool (3 workers x {threads} threads) and the write pool (2 workers),"
            " debug off, and one worker are up"
        )
        yield env, workdir, port
    finally:
        production_check.stop(processes)
        if os.environ.get("BENCH_LOAD_KEEP_LOGS"):
            log(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def warm(env: dict, workdir: Path, port: int, common: dict, paths: dict | None = None) -> None:
    """First requests on every path of ``paths`` (default ``PATHS``): connections, templates, the snapshot of
    each page."""
    for name, path in (PATHS if paths is None else paths).items():
        drive(
            env,
            workdir,
            port,
            clients=1,
            seconds=3,
            users=["Reader"],
            extra={**common, "LOAD_SCENARIO": "read", "LOAD_NAME": name, "LOAD_PATH": path},
        )


def read_path(env: dict, workdir: Path, port: int, common: dict, name: str, *, clients: int, seconds: int) -> dict:
    """One path of ``PATHS`` alone, ``clients`` clients back to back for ``seconds``: its locust row."""
    extra = {**common, "LOAD_SCENARIO": "read", "LOAD_NAME": name, "LOAD_PATH": PATHS[name]}
    rows = drive(env, workdir, port, clients=clients, seconds=seconds, users=["Reader"], extra=extra)
    # No row: not one request was answered within the run (locust writes none for that name).
    return rows.get(name) or {"count": 0, "failures": 1, "p50": float("nan"), "p95": float("nan"), "rps": 0.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=20, help="each measured run (default 20)")
    parser.add_argument("--mixed-seconds", type=int, default=60)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--planners", type=int, default=2, help="planner clients in the mixed load")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per gunicorn worker (GUNICORN_THREADS; default 1: three requests at once, in processes)",
    )
    parser.add_argument(
        "--client",
        choices=["fast", "requests"],
        default="fast",
        help="locust's client: geventhttpclient (FastHttpUser, default) or python-requests (HttpUser, the client"
        " of the figures before the fourth dashboards pass: it takes several times the CPU per request from the"
        " cores the server runs on)",
    )
    parser.add_argument("--mixed-only", action="store_true", help="only the mixed load")
    parser.add_argument(
        "--paths",
        nargs="+",
        choices=list(PATHS),
        metavar="NAME",
        help=f"only these paths, measured alone, and no mixed load (names: {', '.join(map(repr, PATHS))})",
    )
    parser.add_argument(
        "--mixed-paths",
        nargs="+",
        choices=list(PATHS),
        default=list(PATHS),
        metavar="NAME",
        help="what the readers of the mixed load read (default: all five paths; e.g. 'overview' 'partner page'"
        " for the cached dashboards alone)",
    )
    options = parser.parse_args()
    paths = {name: PATHS[name] for name in options.paths} if options.paths else PATHS
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    table: list[tuple[str, str, str, str]] = []
    failures = 0
    with serving(database_url, threads=options.threads) as (env, workdir, port):
        setup = manage_shell(env, SETUP.replace("PLANNERS", str(options.planners)))
        common = {"LOAD_SESSION": setup["session"], "LOAD_TOKEN": setup["token"], "LOAD_CLIENT": options.client}
        if options.mixed_only:
            options.clients = [8]
        warmed = {name: PATHS[name] for name in options.mixed_paths} if options.mixed_only else paths
        warm(env, workdir, port, common, warmed)
        for clients in [] if options.mixed_only else options.clients:
            for name, path in paths.items():
                row = read_path(env, workdir, port, common, name, clients=clients, seconds=options.seconds)
                failures += row["failures"]
                is_api = path.startswith("/api/")
                if clients == max(options.clients):
                    ok = row["p50"] < API_P50 if is_api else row["p50"] < PAGE_P50 and row["p95"] < PAGE_P95
                    target = f"p50 < {API_P50} ms" if is_api else f"p50 < {PAGE_P50} ms, p95 < {PAGE_P95} ms"
                    target = f"{target}: {verdict(ok)}"
                elif is_api:
                    target = f"p50 < {API_P50} ms: {verdict(row['p50'] < API_P50)}"
                else:
                    target = "(targets at 8 clients)"
                table.append(
                    (
                        f"{name}, {clients} client{'s' if clients > 1 else ''}",
                        f"p50 {row['p50']:.0f} ms, p95 {row['p95']:.0f} ms",
                        f"{row['rps']:.1f} req/s, {row['count']} requests, {row['failures']} failed",
                        target,
                    )
                )
                log(f"{table[-1][0]}: {table[-1][1]} ({table[-1][2]})")
        if not options.paths:  # --paths: the paths alone
            # The mixed load: readers on every path, planners saving, the worker scoring what they change.
            ids = [engagement for _token, engagement in setup["planners"]]
            before = manage_shell(env, RUNS.replace("SINCE", "'2000-01-01T00:00:00Z'").replace("IDS", repr(ids)))
            since = datetime.datetime.now(datetime.UTC).isoformat()
            readers = max(options.clients)
            mixed = drive(
                env,
                workdir,
                port,
                clients=readers + options.planners,
                seconds=options.mixed_seconds,
                users=["Reader", "Planner"],
                extra={
                    **common,
                    "LOAD_SCENARIO": "mixed",
                    "LOAD_PATHS": json.dumps({name: PATHS[name] for name in options.mixed_paths}),
                    "LOAD_PLANNERS": json.dumps(setup["planners"]),
                    "LOAD_PLANNER_CLIENTS": str(options.planners),
                },
            )
            ended = time.time()
            fresh = manage_shell(env, FRESH.replace("ENDED", repr(ended)).replace("IDS", repr(ids)))
            after = manage_shell(env, RUNS.replace("SINCE", repr(since)).replace("IDS", repr(ids)))
            saves = mixed.get("write engagement", {"count": 0, "failures": 0, "p50": 0, "p95": 0, "rps": 0})
            answered = saves["count"] - saves["failures"]
            grown = sum(after["versions"][str(pk)] - before["versions"][str(pk)] for pk in ids)
            mixed_failures = sum(row["failures"] for row in mixed.values())
            failures += mixed_failures
            reads = [row for name, row in mixed.items() if name.startswith("read ")]
            for name, row in sorted(mixed.items()):
                if name.startswith("read "):
                    table.append(
                        (
                            f"mixed: {name[5:]}",
                            f"p50 {row['p50']:.0f} ms, p95 {row['p95']:.0f} ms",
                            f"{row['count']} requests, {row['failures']} failed",
                            "(while planners save and the worker scores)",
                        )
                    )
            table.append(
                (
                    f"mixed: saves ({options.planners} planners)",
                    f"p50 {saves['p50']:.0f} ms, p95 {saves['p95']:.0f} ms",
                    f"{answered} saved, versions grew by {grown}; runs queued, started or finished meanwhile, as they"
                    f" are now: {after['runs']}; the last save in the scores {fresh['seconds']:.1f} s after the"
                    f" load ended ({fresh['pending']} changes still pending)",
                    # Lost: answered 200 and not in the data. A save the server applied while locust was
                    # stopping and never counted as answered makes the versions grow by more (each carries the
                    # version it read, so none is applied twice).
                    f"p95 < {WRITE_P95} ms, none lost: {verdict(saves['p95'] < WRITE_P95 and grown >= answered)}",
                )
            )
            table.append(
                (
                    "errors, all runs",
                    str(failures),
                    f"{sum(r['count'] for r in reads)} mixed reads",
                    f"no error: {verdict(failures == 0)}",
                )
            )
    width = max(len(row[0]) for row in table)
    print()
    title = "production mode (nginx, gunicorn x3 reads + x2 writes, debug off, a worker)"
    print(f"| {title.ljust(width)} | figure | detail | target |")
    print(f"| {'-' * width} | --- | --- | --- |")
    for name, figure, detail, target in table:
        print(f"| {name.ljust(width)} | {figure} | {detail} | {target} |")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
