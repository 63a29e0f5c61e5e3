"""The overview's activity snapshots counted in one pass (one statement for every scope, on PostgreSQL) give
exactly what the grouped queries per scope give, and after every kind of change to engagements the snapshots
a run leaves equal a count from scratch."""

from __future__ import annotations

import csv
import datetime
import io
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessments.models import AssessmentRun, QuarterActivity, QuarterActivityCount
from assessments.periods import Quarter, quarter_range
from assessments.services import assessment_run_execute, assessment_run_request
from assessments.services.activity import (
    QuarterCounts,
    activity_count,
    activity_count_by_scope,
)
from engagements import exchange, imports, services
from engagements.services.engagements import with_owner_unit
from engagements.services.inputs import engagement_bulk_create_clean
from partners.models import PartnerNation
from tests.assessments.factories import make_engagement

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the single pass is PostgreSQL's"),
]

D = datetime.date
Q3, Q4 = Quarter(2024, 3), Quarter(2024, 4)


@pytest.mark.parametrize(
    "quarters",
    [
        [Q3],
        [Q4],
        [Q3, Q4],
        [Q3, Quarter(2025, 1)],  # apart: the quarter between is not counted
        quarter_range(Quarter(2022, 1), Quarter(2025, 4)),  # sixteen quarters: a backfill's block
    ],
    ids=str,
)
def test_one_pass_counts_what_the_grouped_queries_count(world, quarters):
    with CaptureQueriesContext(connection) as queries:
        counts = activity_count(quarters)
    reading = [q for q in queries.captured_queries if "engagements_engagement" in q["sql"]]
    assert len(reading) == 1  # every scope from one statement
    assert counts == activity_count_by_scope(quarters)
    assert {quarter for _kind, _name, quarter in counts} <= set(quarters)


def test_the_edges_of_memberships_are_counted(world):
    counts = activity_count([Q3, Q4])
    ecowas = {q: counts.get(("organization", "ECOWAS", q), QuarterCounts()) for q in (Q3, Q4)}
    # Q3: Senegal only (Ghana joins after 1 September). Q4: the training (Ghana, Senegal; Nigeria is
    # suspended, which still counts as a member), not Senegal's 1 November engagement (it left that day).
    assert ecowas[Q3].partners_engaged == 1 and sum(ecowas[Q3].engagements.values()) == 1
    assert ecowas[Q4].partners_engaged == 3 and sum(ecowas[Q4].engagements.values()) == 1
    everything = counts[("", "", Q4)]
    # The training, Senegal's, two restricted, the planned French one, the advisory mission without partners.
    assert sum(everything.engagements.values()) == 6
    assert everything.engagements[("advisory_mission", False)] == 1
    assert (everything.partners_engaged, everything.partners_engaged_unrestricted) == (7, 4)


def test_a_partner_that_leaves_and_rejoins_counts_on_the_days_it_is_in(world):
    """A partner's scopes change on the days it joins or leaves (the statement cuts its history there):
    Kenya leaves the AU on 10 October and rejoins on 20 November, and joins ECOWAS (which has it as no
    member) from 1 November to 1 December; engagements on each side of every edge."""
    from organizations.models import Membership, Organization

    kenya = Membership.objects.get(partner__iso3="KEN", organization__acronym="AU")
    kenya.joined, kenya.left = None, D(2024, 10, 10)
    kenya.save()
    Membership.objects.create(partner=kenya.partner, organization=kenya.organization, joined=D(2024, 11, 20))
    Membership.objects.create(
        partner=kenya.partner,
        organization=Organization.objects.get(acronym="ECOWAS"),
        joined=D(2024, 11, 1),
        left=D(2024, 12, 1),
    )
    for day in (D(2024, 10, 9), D(2024, 10, 10), D(2024, 11, 1), D(2024, 11, 19), D(2024, 11, 20), D(2024, 12, 1)):
        make_engagement(["KEN"], day, day)
    counts = activity_count([Q4])
    assert counts == activity_count_by_scope([Q4])
    au = counts[("organization", "AU", Q4)]
    ecowas = counts[("organization", "ECOWAS", Q4)]
    # AU: the world's training, Senegal's and Kenya and Tanzania's (through Tanzania), then Kenya's on
    # 9 October, 20 November and 1 December (not 10 October, the day it left, nor 1 or 19 November).
    assert (sum(au.engagements.values()), au.partners_engaged) == (6, 5)
    # ECOWAS: the world's training (Ghana joined in September), Kenya and Tanzania's of 5 November, then
    # Kenya's on 1, 19 and 20 November (not 1 December, the day it left); partners: Ghana, Senegal (before
    # leaving), Nigeria (suspended), Kenya.
    assert (sum(ecowas.engagements.values()), ecowas.partners_engaged) == (5, 4)


def test_more_scopes_than_one_word_of_bits_holds(world):
    """Past 63 scopes a partner's scopes take a second bigint of bits: 80 more organizations, Kenya in
    every other one, Ghana in the last, and the counts still equal the grouped queries'."""
    from organizations.models import Membership, Organization

    kenya, ghana = (PartnerNation.objects.get(iso3=code) for code in ("KEN", "GHA"))
    kind = Organization._meta.get_field("kind").choices[0][0]
    created = Organization.objects.bulk_create(
        [Organization(acronym=f"ORG{n:02}", name=f"Organization {n}", kind=kind) for n in range(80)]
    )
    Membership.objects.bulk_create(
        [Membership(partner=kenya, organization=o, joined=D(2024, 11, 1)) for o in created[::2]]
        + [Membership(partner=ghana, organization=created[-1])]
    )
    counts = activity_count([Q3, Q4])
    assert counts == activity_count_by_scope([Q3, Q4])
    last = counts[("organization", "ORG79", Q4)]
    assert (sum(last.engagements.values()), last.partners_engaged) == (1, 1)  # Ghana's training
    assert counts[("organization", "ORG78", Q4)].partners_engaged == 1  # Kenya, from 1 November
    assert ("organization", "ORG78", Q3) not in counts


def stored(quarters) -> dict:
    """The snapshots of ``quarters`` as ``activity_count`` returns counts."""
    periods = [q.start for q in quarters]
    counts = {}
    for row in QuarterActivity.objects.filter(period__in=periods):
        found = counts.setdefault((row.scope_kind, row.scope_name, Quarter.of(row.period)), QuarterCounts())
        found.partners_engaged = row.partners_engaged
        found.partners_engaged_unrestricted = row.partners_engaged_unrestricted
    for row in QuarterActivityCount.objects.filter(period__in=periods):
        found = counts.setdefault((row.scope_kind, row.scope_name, Quarter.of(row.period)), QuarterCounts())
        found.engagements[(row.engagement_type, row.restricted)] = row.engagements
    return counts


def execute_queued():
    for run in AssessmentRun.objects.filter(status="queued").order_by("created_at"):
        assert assessment_run_execute(run_id=run.pk).status == "succeeded"


def _import(planner, rows):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=exchange.COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    report = imports.engagements_import(
        handle=io.BytesIO(buffer.getvalue().encode()), name="changes.csv", user=planner, dry_run=False
    )
    assert report.applied, report.as_dict()


FIELDS = {"engagement_type": "exercise", "domain": "joint", "host_country": "GHA", "status": "completed"}


def _create(planner, start, end, partners=("GHA", "KEN"), status="completed"):
    return services.engagement_create(
        created_by=planner,
        title="Coastal exercise",
        start_date=start,
        end_date=end,
        participants=[{"partner": code} for code in partners],
        **{**FIELDS, "status": status},
    ).engagement


def _bulk_create(planner):
    rows = [
        (
            index,
            with_owner_unit(
                planner,
                {
                    **FIELDS,
                    "title": f"Bulk {index}",
                    "start_date": D(2024, 7 + index, 10),
                    "end_date": D(2024, 7 + index, 11),
                    "participants": [{"partner": "MAR"}, {"partner": "ESP"}][: index % 2 + 1],
                },
            ),
        )
        for index in range(5)
    ]
    checked, problems = engagement_bulk_create_clean(rows=rows)
    assert not problems and len(checked) == 5
    services.engagements_bulk_create(engagements=list(checked.values()), created_by=planner)


CHANGES = {
    "create": lambda planner, subject: _create(planner, D(2024, 11, 12), D(2024, 11, 14), ("NGA", "CIV")),
    "update": lambda planner, subject: services.engagement_update(
        engagement=subject,
        updated_by=planner,
        start_date=D(2024, 8, 5),  # moves to Q3, with other partners
        end_date=D(2024, 8, 6),
        participants=[{"partner": "SEN"}, {"partner": "FRA"}],
    ),
    "restrict": lambda planner, subject: services.engagement_update(
        engagement=subject, updated_by=planner, sensitivity="restricted"
    ),
    "delete": lambda planner, subject: services.engagement_delete(
        engagement=subject, user=planner, reason="Entered twice"
    ),
    "cancel": lambda planner, subject: services.engagement_change_status(
        engagement=subject, status="cancelled", user=planner, reason="Called off"
    ),
    "import": lambda planner, subject: _import(
        planner,
        [
            {
                **FIELDS,
                "title": "Imported drill",
                "start_date": "2024-10-20",
                "end_date": "2024-10-21",
                "participants": "NGA:participant:10;SEN:participant:5",
            },
            {**FIELDS, "title": "Imported talks", "start_date": "2024-07-20", "end_date": "2024-07-21"},
        ],
    ),
    "bulk create": lambda planner, subject: _bulk_create(planner),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_snapshots_after_a_change_equal_a_count_from_scratch(
    world, planner, change, django_capture_on_commit_callbacks
):
    quarters = [Q3, Q4]
    with mock.patch("assessments.tasks.run_assessment.delay"), django_capture_on_commit_callbacks(execute=True):
        subject = _create(planner, D(2024, 10, 7), D(2024, 10, 9), status="in_progress")  # may still be cancelled
        assessment_run_execute(run_id=assessment_run_request(periods=[str(q) for q in quarters], enqueue=False).pk)
    execute_queued()
    before = stored(quarters)
    assert before == activity_count_by_scope(quarters)
    with mock.patch("assessments.tasks.run_assessment.delay"), django_capture_on_commit_callbacks(execute=True):
        CHANGES[change](planner, subject)
    assert AssessmentRun.objects.filter(status="queued", trigger="data_change").exists()  # the change queued one
    execute_queued()
    after = stored(quarters)
    assert after == activity_count_by_scope(quarters)
    assert after != before  # the change moved the counts
