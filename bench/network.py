"""The cooperation network at scale (issue 19): the page and the API for one region, subregion or
organization over the default eight quarters, on the million-engagement data set, and what counting the
pairs adds to a run.

    BENCH_DATABASE_URL=postgres://... .venv/bin/python bench/network.py [--repeat 20]

Uses bench/run.py's database and clients; the database must hold the generated data set and a backfill of
its quarters (``manage.py compute_scores --from ... --to ...``), which counts the pairs. Prints:
1. the pair snapshot's size, and the time of ``pairs_store`` for one quarter and for every counted quarter
   (inside a transaction rolled back, so the data set is left as it was);
2. per request, the median and p95 over ``--repeat`` requests through Django's test client (middleware,
   auth, templates, serialisation included; no network), the median CPU time of this process (the Python
   part, which waiting for a core on a loaded machine does not inflate) and the SQL queries per request, for
   an analyst and for a viewer (who sees no restricted engagement), beside two pages for scale;
3. the same network read live, as if no run had counted the window (the snapshot's rows of the window
   hidden inside a rolled-back transaction): what the snapshot saves.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # noqa: E402  (sets up Django on the benchmark database)

SCOPES = [
    "region=Africa",
    "intermediate_region=Western+Africa",
    "region=Europe",
    "organization=ECOWAS",
    "organization=NATO",
]

# Measured beside them for scale: pages whose figures bench/README.md records on an idle machine.
REFERENCES = ["/assessments/?region=Africa", "/assessments/regions/africa/"]


class _Rollback(Exception):
    pass


def _rolled_back(function):
    """Time ``function`` inside a transaction that is rolled back."""
    from django.db import transaction

    started = time.perf_counter()
    try:
        with transaction.atomic():
            function()
            elapsed = time.perf_counter() - started
            raise _Rollback
    except _Rollback:
        return elapsed


def _request(client, path: str, repeat: int):
    """Wall-clock seconds, this process's CPU seconds (Python: views, templates, serialisation; not the
    database's work, nor time spent waiting for a core on a loaded machine) and SQL queries per request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path)  # warm caches and connections
    wall, cpu, queries = [], [], 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(path)
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        assert response.status_code == 200, (path, response.status_code)
        queries = len(captured)
    return wall, cpu, queries


def _viewer_client():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(username="bench-viewer")
    user.groups.add(Group.objects.get(name="viewer"))
    client = Client()
    client.force_login(user)
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--skip-store", action="store_true", help="Leave out the timing of pairs_store")
    args = parser.parse_args()

    from assessments.models import ActivityScope, PairQuarter, QuarterActivity
    from assessments.network import cooperation_network, network_request_clean
    from assessments.periods import Quarter
    from assessments.services.pairs import pairs_store
    from engagements.models import Engagement, Participation

    counted = sorted(
        Quarter.of(p)
        for p in QuarterActivity.objects.filter(scope_kind=ActivityScope.EVERYTHING).values_list("period", flat=True)
    )
    print(
        f"data: {Engagement.objects.count():,} engagements, {Participation.objects.count():,} participations; "
        f"{len(counted)} quarters counted, {PairQuarter.objects.count():,} pair rows"
    )
    if not args.skip_store and counted:
        latest = counted[-1]
        one = [_rolled_back(lambda: pairs_store(quarters=[latest])) for _ in range(3)]
        print(f"pairs_store, 1 quarter ({latest}): median {bench.median(one):.2f} s of 3")
        every = _rolled_back(lambda: pairs_store(quarters=counted))
        print(f"pairs_store, all {len(counted)} counted quarters: {every:.2f} s")

    clients = {"analyst": bench._client("bench-analyst"), "viewer": _viewer_client()}
    print(
        "\n| request | role | median | p95 | median CPU (Python) | SQL queries |\n| --- | --- | --- | --- | --- | --- |"
    )
    requests = [
        *[(path, "analyst") for path in REFERENCES],
        *[
            (path, role)
            for scope in SCOPES
            for path in (f"/assessments/network/?{scope}", f"/api/v1/assessments/network/?{scope}")
            for role in clients
        ],
    ]
    for path, role in requests:
        seconds, cpu, queries = _request(clients[role], path, args.repeat)
        print(
            f"| `{path}` | {role} | {bench.median(seconds) * 1000:.0f} ms | {bench.p95(seconds) * 1000:.0f} ms | "
            f"{bench.median(cpu) * 1000:.0f} ms | {queries} |",
            flush=True,
        )

    from django.contrib.auth import get_user_model

    analyst = get_user_model().objects.get(username="bench-analyst")
    request = network_request_clean(region="Africa")
    window = [q.start for q in request.quarters]

    def live():
        QuarterActivity.objects.filter(scope_kind=ActivityScope.EVERYTHING, period__in=window).update(
            scope_kind="hidden-by-bench"
        )
        started = time.perf_counter()
        network = cooperation_network(user=analyst, request=request)
        print(
            f"\nlive (window not counted), region=Africa {request.first}..{request.last}: "
            f"{(time.perf_counter() - started) * 1000:.0f} ms, {len(network['edges'])} pairs"
        )

    _rolled_back(live)

    from django.db.models import Min, Sum

    from partners.models import PartnerNation

    ids = list(PartnerNation.objects.filter(region="Africa").values_list("pk", flat=True))
    pairs = PairQuarter.objects.filter(partner__in=ids, other__in=ids)
    for name, queryset in (
        (
            "window",
            pairs.filter(period__gte=request.first.start, period__lte=request.last.start)
            .values_list("partner_id", "other_id", "period")
            .annotate(n=Sum("engagements"))
            .order_by(),
        ),
        (
            "history",
            pairs.filter(period__lt=request.first.start)
            .values_list("partner_id", "other_id")
            .annotate(first=Min("period"))
            .order_by(),
        ),
    ):
        plan = queryset.explain(analyze=True).splitlines()
        print(f"region=Africa, the {name} query: {plan[0]} ... {plan[-1]}")


if __name__ == "__main__":
    main()
