"""The lists' cost per request, in-process, with debug off: where Python and SQL time go (issue 22).

    BENCH_DATABASE_URL=postgres://... .venv/bin/python bench/lists.py [--repeat 15] [--cached]
        [--profile PATH] [--dump DIR] [PATH ...]

Each request goes through Django's test client (middleware, session, templates; no network) as a planner.
Prints, per path, the queries and the medians of the SQL time (inside the database calls), the process's
CPU time and the wall time, after one warm request. Without ``--cached`` the page cache is off
(``DASHBOARD_CACHE_SECONDS=0``): the figures are a list's own cost; with it, ``BENCH_REDIS_URL`` holds the
cache and the figures are a cached hit's. ``--profile PATH``: cProfile of ten requests, by own time.
``--dump DIR``: each response's body, to compare the output of two versions of the code byte for byte.
"""

import argparse
import cProfile
import hashlib
import io
import os
import pstats
import re
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-lists-only-not-a-secret-" + "x" * 30)
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
CACHED = "--cached" in sys.argv
if CACHED:
    os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
else:
    os.environ["DASHBOARD_CACHE_SECONDS"] = "0"
sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # noqa: E402  (sets up Django on the benchmark database)
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

# Plain static file names (production's hashed names need collectstatic; they cost the same to render).
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

PATHS = [
    "/engagements/?partner=USA",
    "/engagements/?q=training",
    "/api/v1/engagements/?page_size=100&status=completed&partner=USA",
    "/api/v1/engagements/?q=training",
    "/api/v1/engagements/?q=ivory+coast+training",
]


def measure(client, path: str, repeat: int):
    sql, cpu, wall, queries = [], [], [], 0
    client.get(path, secure=True)
    for _ in range(repeat):
        spent = [0.0, 0]

        def timed(execute, sql_text, params, many, context):
            started = time.perf_counter()
            try:
                return execute(sql_text, params, many, context)
            finally:
                spent[0] += time.perf_counter() - started  # noqa: B023 (called inside this iteration only)
                spent[1] += 1  # noqa: B023

        with connection.execute_wrapper(timed):
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get(path, secure=True)
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
        assert response.status_code == 200, (path, response.status_code)
        sql.append(spent[0])
        queries = spent[1]
    return queries, sql, cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--cached", action="store_true")
    parser.add_argument("--profile")
    parser.add_argument("--dump")
    parser.add_argument("paths", nargs="*")
    args = parser.parse_args()
    client = bench._client("bench-planner")
    if args.profile:
        client.get(args.profile, secure=True)
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(10):
            client.get(args.profile, secure=True)
        profile.disable()
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out).sort_stats("tottime")
        stats.print_stats(30)
        stats.sort_stats("cumulative").print_stats(40)
        print(out.getvalue())
        return
    if args.dump:
        Path(args.dump).mkdir(parents=True, exist_ok=True)
        for path in args.paths or PATHS:
            # A form's CSRF token is masked anew for each response: the one part that may differ.
            body = re.sub(rb'(name="csrfmiddlewaretoken" value=")[^"]*', rb"\1-", client.get(path, secure=True).content)
            name = hashlib.sha256(path.encode()).hexdigest()[:12]
            (Path(args.dump) / f"{name}.out").write_bytes(body)
            print(name, path, len(body))
        return
    ms = lambda values: f"{statistics.median(values) * 1000:.0f}"  # noqa: E731
    print(f"load average {os.getloadavg()}")
    print("| request | queries | SQL p50 (min) | CPU p50 (min) | total p50 (min) |\n| --- | --- | --- | --- | --- |")
    for path in args.paths or PATHS:
        queries, sql, cpu, wall = measure(client, path, args.repeat)
        print(
            f"| `{path}` | {queries} | {ms(sql)} ({min(sql) * 1000:.0f}) ms | {ms(cpu)} ({min(cpu) * 1000:.0f}) ms "
            f"| {ms(wall)} ({min(wall) * 1000:.0f}) ms |",
            flush=True,
        )
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
