"""Time a full score recompute (one quarter, then 40 quarters) on generated data, and count its SQL queries.

    DJANGO_DEBUG=1 .venv/bin/python bench/assessments.py --sizes 1000 10000
    DJANGO_DEBUG=1 DATABASE_URL=postgres://... .venv/bin/python bench/assessments.py --sizes 1000 10000

For each size it creates a throwaway test database (the configured one is never touched), loads the
reference data, bulk-creates that many engagements (2-5 partners each, most completed with an
after-action report, some under an organization, dates 2014-2025) plus objectives with measured
indicators, and executes two runs through the normal path (``assessment_run_execute``): 2025-Q4 alone,
then the 40 quarters 2016-Q1..2025-Q4. The query count must not grow with the number of engagements.
"""

import argparse
import datetime
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

FIRST_DAY = datetime.date(2014, 1, 1)
SPAN_DAYS = (datetime.date(2025, 12, 31) - FIRST_DAY).days


def generate(engagements: int, seed: int = 7) -> None:
    from assessments.models import Indicator, Measurement, Objective
    from engagements.models import AfterActionReport, Engagement, Participation
    from engagements.services.shape import engagement_shape_refresh
    from organizations.models import Organization
    from partners.models import PartnerNation

    rng = random.Random(seed)
    partners = list(PartnerNation.objects.order_by("iso3").values_list("pk", flat=True))[:150]
    organizations = list(Organization.objects.values_list("pk", flat=True))
    now = timezone.now()
    rows = []
    for n in range(engagements):
        start = FIRST_DAY + datetime.timedelta(days=rng.randrange(SPAN_DAYS))
        status = rng.choices(["completed", "in_progress", "planned", "cancelled"], [85, 5, 5, 5])[0]
        rows.append(
            Engagement(
                reference=f"BENCH-{n:07d}",
                title=f"Generated engagement {n}",
                engagement_type="exercise",
                domain="joint",
                status=status,
                start_date=start,
                end_date=start + datetime.timedelta(days=rng.randrange(30)),
                host_country_id=rng.choice(partners),
            )
        )
    Engagement.objects.bulk_create(rows, batch_size=2000)
    created = list(Engagement.objects.filter(reference__startswith="BENCH-").values_list("pk", "status"))
    participations, reports, frameworks = [], [], []
    through = Engagement.organizations.through
    for pk, status in created:
        for partner_id in rng.sample(partners, rng.randint(2, 5)):
            participations.append(Participation(engagement_id=pk, partner_id=partner_id))
        if status in ("completed", "in_progress") and rng.random() < 0.7:
            reports.append(
                AfterActionReport(
                    engagement_id=pk,
                    summary="Generated.",
                    interoperability_rating=rng.randint(1, 5),
                    capacity_rating=rng.randint(1, 5),
                    trust_rating=rng.randint(1, 5),
                    submitted_at=now,
                )
            )
        if rng.random() < 0.3:
            frameworks.append(through(engagement_id=pk, organization_id=rng.choice(organizations)))
    Participation.objects.bulk_create(participations, batch_size=5000)
    AfterActionReport.objects.bulk_create(reports, batch_size=5000)
    through.objects.bulk_create(frameworks, batch_size=5000)
    engagement_shape_refresh()  # the stored partner count, framework flag and ratings (engagements.services.shape)
    objectives = Objective.objects.bulk_create(
        [
            Objective(partner_id=pid, line_of_effort="interoperability", title=f"Objective {pid}")
            for pid in partners[:60]
        ]
    )
    indicators = Indicator.objects.bulk_create(
        [Indicator(objective=o, name="Indicator", baseline_value=0, target_value=100) for o in objectives]
    )
    Measurement.objects.bulk_create(
        [
            Measurement(indicator=i, date=datetime.date(year, 6, 30), value=rng.uniform(0, 120))
            for i in indicators
            for year in range(2015, 2026)
        ]
    )
    print(
        f"  data: {len(created)} engagements, {len(participations)} participations, {len(reports)} reports, "
        f"{len(frameworks)} framework links, {len(indicators)} indicators"
    )


def timed_run(periods: list[str]) -> tuple[float, int, int]:
    from assessments.services import assessment_run_execute, assessment_run_request

    run = assessment_run_request(periods=periods, enqueue=False)
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        run = assessment_run_execute(run_id=run.pk)
        elapsed = time.perf_counter() - start
    assert run.status == "succeeded", run.error
    return elapsed, len(queries.captured_queries), run.scores_written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000], help="numbers of engagements")
    args = parser.parse_args()
    from assessments.periods import Quarter, quarter_range

    one = ["2025-Q4"]
    forty = [str(q) for q in quarter_range(Quarter(2016, 1), Quarter(2025, 4))]
    print(f"database: {connection.vendor}")
    for size in args.sizes:
        old_name = connection.settings_dict["NAME"]
        test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
        try:
            call_command("load_reference_data", verbosity=0)
            print(f"{size} engagements (test database {test_name})")
            generate(size)
            for label, periods in (("1 quarter", one), ("40 quarters", forty)):
                elapsed, query_count, written = timed_run(periods)
                print(f"  {label:>11}: {elapsed:7.2f} s, {query_count:4d} SQL queries, {written} scores written")
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
