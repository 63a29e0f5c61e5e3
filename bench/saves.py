"""One API save, in-process, on the million-engagement data set: its queries, their times, and the
deconfliction findings it answers (issue 22, "Saves under the mixed load").

    BENCH_DATABASE_URL=... BENCH_BROKER_URL=... BENCH_REDIS_URL=... .venv/bin/python bench/saves.py \
        [--saves 10] [--explain 2] [--profile FILE] [--findings FILE]

The engagements saved are the ones `bench/load.py`'s planners save (recent completed engagements with
partners), by a planner of their unit, through `PATCH /api/v1/engagements/<id>/` with the version read, as
the load's planners do: title and end date (a day earlier and back, so every save makes scores stale). The
saves commit, as in production: after commit they queue (or join) a data-change run on BENCH_BROKER_URL,
which the load's worker executes later. Prints per save the wall time, the process CPU time, the number of
queries and their total time, then the queries grouped by kind (slowest first), and with ``--explain N``
EXPLAIN (ANALYZE, BUFFERS) of the N slowest SELECTs.

``--findings FILE`` writes the deconfliction findings of a fixed sample of engagements (every kind of
overlap, busy partners, long missions, hosts) as JSON, to compare two versions of the code: the same file
before and after a change means the same findings.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/engagement_tracker_bench"
)
os.environ["CELERY_BROKER_URL"] = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/8")
os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from actors import bench_user, planners_for  # noqa: E402

PLANNERS = 2


def _planners() -> list[tuple[Client, int]]:
    """The engagements bench/load.py's planners save, each with a client of a planner of its unit."""
    from core.models import ApiToken
    from core.services import api_token_create

    found = []
    for planner, engagement in planners_for(PLANNERS):
        ApiToken.objects.filter(user=planner, name="bench-saves").delete()
        client = Client(HTTP_AUTHORIZATION=f"Token {api_token_create(user=planner, name='bench-saves')[1]}")
        found.append((client, engagement.pk))
    return found


def _kind(sql: str) -> str:
    """A query's kind: its first words and the tables it names, without values."""
    head = re.sub(r"\s+", " ", sql.strip())
    verb = head.split(" ", 1)[0].upper()
    tables = sorted(set(re.findall(r'(?:FROM|INTO|UPDATE|JOIN) "?([a-z_]+)"?', head)))
    return f"{verb} {', '.join(tables)}"[:110]


def _explain(sql: str, lines: int = 30) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return [row[0] for row in cursor.fetchall()][:lines]


def profile(saves: int, explain: int, listed: bool = False, profile_to: str = "") -> None:
    import cProfile

    profiler = cProfile.Profile() if profile_to else None
    planners = _planners()
    state = {}
    for client, pk in planners:
        body = client.get(f"/api/v1/engagements/{pk}/").json()
        state[pk] = {"version": body["version"], "end": body["end_date"], "start": body["start_date"], "n": 0}
        print(
            f"engagement {pk}: {body['start_date']}..{body['end_date']}, host {body['host_country']}, partners "
            f"{[p['partner'] for p in body['participants']]}"
        )
    rows, kinds, slow = [], defaultdict(list), []
    for number in range(saves + 2):  # two warm-up saves
        client, pk = planners[number % len(planners)]
        wanted = state[pk]
        wanted["n"] += 1
        import datetime

        end = datetime.date.fromisoformat(wanted["end"])
        if wanted["n"] % 2 and end > datetime.date.fromisoformat(wanted["start"]):
            end -= datetime.timedelta(days=1)
        body = {"title": f"Load test save {wanted['n']}", "end_date": end.isoformat(), "version": wanted["version"]}
        with CaptureQueriesContext(connection) as captured:
            if profiler and number >= 2:
                profiler.enable()
            cpu, wall = time.process_time(), time.perf_counter()
            response = client.patch(
                f"/api/v1/engagements/{pk}/", data=json.dumps(body), content_type="application/json"
            )
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if profiler:
                profiler.disable()
        assert response.status_code == 200, (response.status_code, response.content[:300])
        wanted["version"] = response.json()["version"]
        if number < 2:
            continue
        sql_ms = sum(float(q["time"]) for q in captured.captured_queries) * 1000
        rows.append((wall * 1000, cpu * 1000, len(captured), sql_ms, len(response.json()["warnings"])))
        for query in captured.captured_queries:
            kinds[_kind(query["sql"])].append(float(query["time"]) * 1000)
            slow.append((float(query["time"]), query["sql"]))
        print(
            f"save {number - 1}: {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU (this process), "
            f"{len(captured)} queries, {sql_ms:.0f} ms SQL, {rows[-1][4]} findings"
        )
    if profiler:
        profiler.dump_stats(profile_to)
        print(f"\ncProfile of the measured saves written to {profile_to} (python -m pstats)")
    if listed:
        print("\nthe last save's queries, in order:")
        for query in captured.captured_queries:
            print(f"  {float(query['time']) * 1000:6.1f} ms  {' '.join(query['sql'].split())[:230]}")
    print(
        f"\n{len(rows)} saves: median wall {statistics.median(r[0] for r in rows):.0f} ms, "
        f"CPU {statistics.median(r[1] for r in rows):.0f} ms, queries {statistics.median(r[2] for r in rows):.0f}, "
        f"SQL {statistics.median(r[3] for r in rows):.0f} ms; load average {os.getloadavg()}"
    )
    print("\nqueries per save by kind (count per save, median ms, total ms per save):")
    for kind, times in sorted(kinds.items(), key=lambda item: -sum(item[1])):
        print(
            f"  {len(times) / len(rows):4.1f} x {statistics.median(times):7.1f} ms  "
            f"{sum(times) / len(rows):7.1f} ms  {kind}"
        )
    slow.sort(key=lambda q: -q[0])
    explained = 0
    for seconds, sql in slow:
        if explained >= explain:
            break
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        explained += 1
        print(f"\n-- {seconds * 1000:.0f} ms: {sql[:1500]}")
        print("\n".join(_explain(sql)))


def findings_sample(path: str) -> None:
    """The findings of a fixed sample of engagements (by id), as a user who sees everything would get them
    after a save, and as a viewer: written as JSON."""
    from django.db.models import Q

    from engagements import deconfliction
    from engagements.models import Engagement

    live = Engagement.objects.live()
    ids = set(live.filter(pk__in=[pk for _c, pk in _planners()]).values_list("pk", flat=True))
    top = live.order_by("-pk").values_list("pk", flat=True).first() or 0
    ids.update(range(1, top + 1, max(1, top // 60)))  # ids spread over the whole table
    ids.update(
        live.filter(Q(end_date__gte="2026-01-01"), host_country__iso3="USA")
        .order_by("pk")
        .values_list("pk", flat=True)[:20]
    )
    viewer = bench_user("bench-saves-viewer", "viewer")
    out = {}
    started = time.perf_counter()
    for engagement in live.filter(pk__in=ids).order_by("pk"):
        out[str(engagement.pk)] = {
            "all": deconfliction.engagement_findings(engagement),
            "viewer": deconfliction.engagement_findings(engagement, user=viewer),
        }
    print(
        f"{len(out)} engagements' findings in {time.perf_counter() - started:.1f} s "
        f"({sum(len(v['all']) for v in out.values())} findings); load average {os.getloadavg()}"
    )
    Path(path).write_text(json.dumps(out, indent=1, sort_keys=True, default=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--saves", type=int, default=10)
    parser.add_argument("--explain", type=int, default=0, help="EXPLAIN (ANALYZE, BUFFERS) the N slowest SELECTs")
    parser.add_argument("--list", action="store_true", help="list the last save's queries in order")
    parser.add_argument("--profile", metavar="FILE", default="", help="cProfile the measured saves into FILE")
    parser.add_argument("--findings", metavar="FILE", help="write a sample's findings as JSON, and save nothing")
    args = parser.parse_args()
    if args.findings:
        findings_sample(args.findings)
        return
    profile(args.saves, args.explain, args.list, args.profile)


if __name__ == "__main__":
    main()
