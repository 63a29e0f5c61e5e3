"""`make bench-growth`: how cost grows with the data (issue 22): the one-quarter run, the 40-quarter backfill
fanned out over 1 and 2 worker processes, and the page medians, at several sizes of the users' data set.

    BENCH_GROWTH_DATABASE=postgres://postgres@127.0.0.1:5432/engagement_tracker_growth \\
    BENCH_BROKER_URL=redis://127.0.0.1:6379/5 BENCH_REDIS_URL=redis://127.0.0.1:6379/9 \\
    .venv/bin/python bench/growth.py --sizes 250000 500000 1000000

Each size N has its own database, named after ``BENCH_GROWTH_DATABASE`` with the size appended
(``..._250k``, ``..._500k``, ``..._1m``), or given with ``--database N=URL`` (an existing copy of the data
set). A missing database is created; a database that already holds N engagements is reused as it is, so a
rerun does not generate again. Otherwise it is migrated, given its reference data
(``bootstrap_demo --no-demo``) and filled with ``generate_demo_data --engagements N --years 10 --seed 7``.
Then, after ``VACUUM (ANALYZE)``, one process per size measures with the other benchmarks' own code:

1. the 40-quarter backfill through real workers, fanned out, with 1 and with 2 worker processes
   (bench/backfill.py; every quarter is computed again, its activity counted too, even when the database
   already holds scores);
2. the floor query and the one-quarter run requested through the API of gunicorn and executed by a real
   worker after a write in the quarter, median of ``--repeat`` (bench/run.py, bench/served.py);
3. the median of each page of bench/load.py at 1 client, in production mode, ``--seconds`` each.

Every figure is written with the load average (1 minute) before and after it into ``bench/growth.csv``;
then the table is printed with each measure's growth exponent (the least-squares slope of log(time) against
log(engagements), and the slope between each pair of neighbouring sizes) and its extrapolation to 10M, and
``bench/growth.png`` is drawn (log-log). ``--report`` redraws the table and the plot from the CSV alone.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/engagement_tracker_growth"
CSV_PATH = BENCH / "growth.csv"
PNG_PATH = BENCH / "growth.png"
PREDICT_AT = 10_000_000
RESULT_MARK = "growth-result: "
sys.path.insert(0, str(BENCH))
from load import PATHS  # noqa: E402  (the pages of bench/load.py; it sets no Django up)

PAGES = list(PATHS)
# Measure key -> label, in the table's order.
MEASURES = {
    "backfill_1": "backfill, 40 quarters, fanned out, 1 worker process",
    "backfill_2": "backfill, 40 quarters, fanned out, 2 worker processes",
    "run": "one-quarter run after a write in it, API to finished (gunicorn + worker)",
    "floor": "floor query of the one-quarter run",
    **{f"page {name}": f"page p50 at 1 client: {name}" for name in PAGES},
}
BACKFILL_TARGET = 60.0  # seconds, with 2 worker processes (issue 22)
CSV_FIELDS = ["engagements", "measure", "seconds", "load_before", "load_after", "detail", "database", "measured_at"]


# Pure functions (tests/core/test_bench_growth.py) ---------------------------------------------------------


def size_label(engagements: int) -> str:
    """250000 -> '250k', 1000000 -> '1m', 2500000 -> '2.5m', 1234 -> '1234'."""
    for unit, suffix in ((1_000_000, "m"), (1_000, "k")):
        if engagements >= unit and engagements % (unit // 10) == 0:
            return f"{engagements / unit:g}{suffix}"
    return str(engagements)


def display_label(engagements: int) -> str:
    """As ``size_label``, millions with a capital M: '250k', '1M', '10M'."""
    label = size_label(engagements)
    return label[:-1] + "M" if label.endswith("m") else label


def growth_exponent(points: list[tuple[float, float]]) -> float | None:
    """The least-squares slope of log(time) against log(size) over ``(size, time)`` points: 1 means time
    grows in proportion to the data, 2 with its square, 0 not at all. None under two distinct sizes."""
    usable = [(math.log(size), math.log(value)) for size, value in points if size > 0 and value and value > 0]
    if len({x for x, _ in usable}) < 2:
        return None
    mean_x = sum(x for x, _ in usable) / len(usable)
    mean_y = sum(y for _, y in usable) / len(usable)
    return sum((x - mean_x) * (y - mean_y) for x, y in usable) / sum((x - mean_x) ** 2 for x, _ in usable)


def pairwise_exponents(points: list[tuple[float, float]]) -> list[float | None]:
    """The slope between each pair of neighbouring sizes (sorted by size)."""
    ordered = sorted(points)
    return [growth_exponent([a, b]) for a, b in zip(ordered, ordered[1:], strict=False)]


def extrapolate(points: list[tuple[float, float]], size: float) -> float | None:
    """The time at ``size`` from the largest measured point, growing with the fitted exponent."""
    exponent = growth_exponent(points)
    if exponent is None:
        return None
    largest, value = max((p for p in points if p[1]), key=lambda p: p[0])
    return value * (size / largest) ** exponent


def database_for(engagements: int, base_url: str, given: dict[int, str]) -> str:
    """The database URL of one size: the one given, or ``base_url`` with the size label appended."""
    if engagements in given:
        return given[engagements]
    return f"{base_url.rstrip('/')}_{size_label(engagements)}"


def parse_given(values: list[str]) -> dict[int, str]:
    """``["1000000=postgres://..."]`` -> ``{1000000: "postgres://..."}``."""
    given = {}
    for value in values:
        size, sep, url = value.partition("=")
        if not sep or not size.isdigit() or not url:
            raise argparse.ArgumentTypeError(f"--database takes SIZE=URL, not {value!r}")
        given[int(size)] = url
    return given


def human(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 100:
        return f"{seconds:.1f} s"
    if seconds < 600:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def table(rows: list[dict], sizes: list[int]) -> list[str]:
    """The growth table (markdown) from CSV rows: one line per measure, one column per size (with the 1-minute
    load average before/after it), then the exponent overall and per interval, and the 10M prediction."""
    found = {(int(row["engagements"]), row["measure"]): row for row in rows}
    head = [f"{display_label(size)} (load)" for size in sizes]
    lines = [
        "| measure | " + " | ".join(head) + " | exponent (per interval) | at 10M, predicted |",
        "| --- | " + " | ".join("---" for _ in sizes) + " | --- | --- |",
    ]
    for key, label in MEASURES.items():
        cells, points = [], []
        for size in sizes:
            row = found.get((size, key))
            if row is None or not row["seconds"]:
                cells.append("-")
                continue
            seconds = float(row["seconds"])
            points.append((size, seconds))
            cells.append(f"{human(seconds)} ({float(row['load_before']):.1f}/{float(row['load_after']):.1f})")
        if not points:
            continue
        exponent = growth_exponent(points)
        pairs = ", ".join("-" if e is None else f"{e:.2f}" for e in pairwise_exponents(points))
        shown = "-" if exponent is None else f"{exponent:.2f} ({pairs})"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {shown} | {human(extrapolate(points, PREDICT_AT))} |")
    return lines


# The CSV, the plot --------------------------------------------------------------------------------------


def read_rows(path: Path = CSV_PATH) -> list[dict]:
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def write_rows(rows: list[dict], path: Path = CSV_PATH) -> None:
    rows = sorted(rows, key=lambda r: (int(r["engagements"]), list(MEASURES).index(r["measure"])))
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def plot(rows: list[dict], sizes: list[int], path: Path = PNG_PATH) -> None:
    """Each measure against engagements, log-log, with its extrapolation to 10M dashed: the runs in seconds on
    the left, the pages in milliseconds on the right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    found = {(int(row["engagements"]), row["measure"]): float(row["seconds"]) for row in rows if row["seconds"]}
    figure, panels = plt.subplots(1, 2, figsize=(13, 7.2), dpi=110)
    colours = plt.get_cmap("tab10").colors
    markers = "osD^v<>ph*"
    groups = [
        (panels[0], [key for key in MEASURES if not key.startswith("page ")], 1, "seconds"),
        (panels[1], [key for key in MEASURES if key.startswith("page ")], 1000, "milliseconds, median at 1 client"),
    ]
    for axes, keys, scale, unit in groups:
        for number, key in enumerate(keys):
            points = [(size, found[size, key]) for size in sizes if (size, key) in found]
            if not points:
                continue
            exponent = growth_exponent(points)
            colour, marker = colours[number % len(colours)], markers[number % len(markers)]
            xs, ys = zip(*points, strict=True)
            label = MEASURES[key].removeprefix("page p50 at 1 client: ")
            slope = "" if exponent is None else f", slope {exponent:.2f}"
            axes.plot(xs, [y * scale for y in ys], marker=marker, color=colour, linewidth=1.8, label=label + slope)
            predicted = extrapolate(points, PREDICT_AT)
            if predicted is not None:
                axes.plot([xs[-1], PREDICT_AT], [ys[-1] * scale, predicted * scale], linestyle="--", color=colour,
                          linewidth=1, alpha=0.7)  # fmt: skip
        axes.set_xscale("log")
        axes.set_yscale("log")
        ticks = [*sizes, PREDICT_AT]
        axes.set_xticks(ticks, [display_label(t) for t in ticks])
        axes.minorticks_off()
        axes.axvline(PREDICT_AT, color="lightgrey", linewidth=1)
        axes.set_xlabel("engagements (log); dashed: extrapolated to 10M")
        axes.set_ylabel(f"{unit} (log)")
        axes.grid(True, which="major", alpha=0.3)
        axes.legend(fontsize=8.5, loc="upper center", bbox_to_anchor=(0.5, -0.13), frameon=False)
    panels[0].axhline(BACKFILL_TARGET, color="grey", linestyle=":", linewidth=1)
    panels[0].annotate("backfill target with 2 processes: 60 s", (sizes[0], BACKFILL_TARGET), xytext=(4, -11),
                       textcoords="offset points", fontsize=8, color="grey", ha="left")  # fmt: skip
    panels[0].set_title("Scoring: 40-quarter backfill, one-quarter run, floor query")
    panels[1].set_title("Pages in production mode (gunicorn, debug off)")
    loads = [float(row[k]) for row in rows if int(row["engagements"]) in sizes for k in ("load_before", "load_after")]
    load = f"; load average {min(loads):.1f} to {max(loads):.1f} on {os.cpu_count()} cores" if loads else ""
    figure.suptitle(f"How cost grows with the data (generate_demo_data --years 10 --seed 7){load}")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


# Measuring one size (in a process of its own: Django is set up on that size's database) --------------------


def ensure_database(url: str) -> None:
    """Create the database of ``url`` when it does not exist (connecting to the server's ``postgres``)."""
    import dj_database_url
    import psycopg2

    settings = dj_database_url.parse(url)
    server = psycopg2.connect(
        dbname="postgres",
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
    )
    server.autocommit = True
    try:
        with server.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [settings["NAME"]])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{settings["NAME"]}"')
    finally:
        server.close()


def measure_size(engagements: int, options) -> dict:
    """Every measure on the database of ``BENCH_DATABASE_URL`` (holding ``engagements`` engagements)."""
    broker = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/5")
    os.environ["BENCH_BROKER_URL"] = broker
    import backfill  # sets Django up on BENCH_DATABASE_URL, its tasks sent to BENCH_BROKER_URL's workers
    import load
    import run

    os.environ["CELERY_BROKER_URL"] = broker  # run.py takes it out for its in-process runs; the workers need it
    from django.db import connection

    from assessments.periods import Quarter
    from engagements.models import Participation

    count = backfill.ensure_data(engagements, 10, 7)
    run.like_autovacuum("VACUUM (ANALYZE)")
    results: dict[str, dict] = {}

    def record(key: str, seconds: float, before: float, detail: str = "") -> None:
        results[key] = {"seconds": seconds, "load_before": before, "load_after": os.getloadavg()[0], "detail": detail}
        print(f"  {MEASURES[key]}: {human(seconds)} (load {before:.2f} -> {results[key]['load_after']:.2f}) {detail}")

    scores = []
    for processes in (1, 2):
        before = os.getloadavg()[0]
        wall, finished = backfill.measure(processes, True, options.quarters, options.timeout)
        parts = finished.parts.count()
        record(f"backfill_{processes}", wall, before, f"{parts} parts, {finished.scores_written} scores")
        scores.append(backfill.scores_now())
    if not backfill.same_scores(scores[0], scores[1]):  # to rounding: parallel sums add in any order
        raise SystemExit("the backfill wrote different scores with 1 and with 2 worker processes")
    run.like_autovacuum("ANALYZE")  # the score and snapshot tables have just been rewritten

    quarter = Quarter.current().shift(-1)
    before = os.getloadavg()[0]
    floor = run.floor_seconds(quarter, options.repeat)
    record("floor", run.median(floor), before, f"{quarter}, median of {options.repeat}")
    before = os.getloadavg()[0]
    served, in_worker = run.served_run_seconds(quarter, options.repeat, written=True)
    detail = f"{quarter}, median of {options.repeat}"
    if in_worker:
        detail += f"; {run.median(in_worker):.2f} s in the worker"
    record("run", run.median(served), before, detail)

    import redis

    # The cache of bench/load.py's server starts empty: no page rendered on another size's database.
    redis.Redis.from_url(os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")).flushdb()
    with load.serving(os.environ["BENCH_DATABASE_URL"]) as (env, workdir, port):
        setup = load.manage_shell(env, load.SETUP.replace("PLANNERS", "0"))
        common = {"LOAD_SESSION": setup["session"], "LOAD_TOKEN": setup["token"]}
        load.warm(env, workdir, port, common)
        for name in PAGES:
            before = os.getloadavg()[0]
            row = load.read_path(env, workdir, port, common, name, clients=1, seconds=options.seconds)
            if row["failures"]:
                raise SystemExit(f"{row['failures']} of {row['count']} requests for {name} failed")
            detail = f"p95 {row['p95']:.0f} ms, {row['count']} requests"
            record(f"page {name}", row["p50"] / 1000, before, detail)
    return {
        "engagements": count,
        "participations": Participation.objects.count(),
        "database": connection.settings_dict["NAME"],
        "measures": results,
    }


# The driver ---------------------------------------------------------------------------------------------


def measure_in_child(engagements: int, url: str, options) -> dict:
    command = [sys.executable, __file__, "--measure", str(engagements), "--repeat", str(options.repeat)]
    command += [
        "--seconds",
        str(options.seconds),
        "--quarters",
        str(options.quarters),
        "--timeout",
        str(options.timeout),
    ]
    env = {**os.environ, "BENCH_DATABASE_URL": url, "DJANGO_DEBUG": "1"}
    env.pop("DATABASE_URL", None)
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)  # noqa: S603
    result = None
    for line in child.stdout:
        if line.startswith(RESULT_MARK):
            result = json.loads(line[len(RESULT_MARK) :])
        else:
            print(line, end="", flush=True)
    if child.wait() != 0 or result is None:
        raise SystemExit(f"measuring {size_label(engagements)} failed (exit {child.returncode})")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[250_000, 500_000, 1_000_000])
    parser.add_argument("--database", action="append", default=[], metavar="SIZE=URL", help="an existing copy")
    parser.add_argument("--repeat", type=int, default=3, help="one-quarter runs per size (median)")
    parser.add_argument("--seconds", type=int, default=10, help="each page at 1 client (locust)")
    parser.add_argument("--quarters", type=int, default=40)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--report", action="store_true", help="only the table and the plot, from the CSV")
    parser.add_argument("--csv", type=Path, default=CSV_PATH)
    parser.add_argument("--png", type=Path, default=PNG_PATH)
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)  # one size, in the child process
    options = parser.parse_args()

    if options.measure:
        result = measure_size(options.measure, options)
        print(RESULT_MARK + json.dumps(result), flush=True)
        return
    sizes = sorted(options.sizes)
    rows = read_rows(options.csv)
    if not options.report:
        base = os.environ.get("BENCH_GROWTH_DATABASE", DEFAULT_DB)
        given = parse_given(options.database)
        for size in sizes:
            url = database_for(size, base, given)
            print(f"{size_label(size)}: {url.rsplit('/', 1)[-1]}; load {os.getloadavg()[0]:.2f}", flush=True)
            ensure_database(url)
            started = time.monotonic()
            result = measure_in_child(size, url, options)
            print(f"  {result['engagements']:,} engagements, {result['participations']:,} participations; "
                  f"measured in {time.monotonic() - started:.0f} s", flush=True)  # fmt: skip
            if result["engagements"] != size:
                print(f"  note: the database holds {result['engagements']:,} engagements, not {size:,}")
            now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
            rows = [row for row in rows if int(row["engagements"]) != size]
            for key, figure in result["measures"].items():
                rows.append(
                    {
                        "engagements": size,
                        "measure": key,
                        "seconds": f"{figure['seconds']:.4f}",
                        "load_before": f"{figure['load_before']:.2f}",
                        "load_after": f"{figure['load_after']:.2f}",
                        "detail": figure["detail"],
                        "database": result["database"],
                        "measured_at": now,
                    }
                )
            write_rows(rows, options.csv)  # after each size: a failure later keeps what was measured
    print()
    for line in table(rows, sizes):
        print(line)
    plot(rows, sizes, options.png)
    print(f"\n{options.csv.relative_to(ROOT) if options.csv.is_relative_to(ROOT) else options.csv}, "
          f"{options.png.relative_to(ROOT) if options.png.is_relative_to(ROOT) else options.png}; "
          f"exponent: slope of log(time) against log(engagements); 10M: from the largest size at that slope")  # fmt: skip


if __name__ == "__main__":
    main()
