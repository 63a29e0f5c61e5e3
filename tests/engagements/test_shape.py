"""Each engagement's stored number of partners and framework flag (``Engagement.partner_count`` and
``under_framework``, read by the scoring runs) equal a recount from its participations and frameworks after
every kind of write: creates, edits of participants and frameworks, status changes, deletes, imports, the
bulk create, the demo generator and an organization deleted."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
from django.core.management import call_command
from django.db.models import Count, Exists, OuterRef

from engagements import services
from engagements.models import Engagement
from engagements.services.shape import engagement_shape_refresh
from organizations.models import Organization
from tests.assessments.test_activity_one_pass import _bulk_create as bulk_create
from tests.engagements.test_imports import csv_file, run

pytestmark = pytest.mark.django_db

D = datetime.date
FIELDS = {"engagement_type": "exercise", "domain": "joint", "host_country": "GHA", "status": "completed"}


def stored() -> dict[int, tuple[int, bool]]:
    return {
        pk: (count, framework)
        for pk, count, framework in Engagement.objects.values_list("pk", "partner_count", "under_framework")
    }


def recounted() -> dict[int, tuple[int, bool]]:
    frameworks = Engagement.organizations.through.objects.filter(engagement=OuterRef("pk"))
    rows = Engagement.objects.order_by().annotate(n=Count("participations"), framework=Exists(frameworks))
    return {pk: (n, framework) for pk, n, framework in rows.values_list("pk", "n", "framework")}


def _create(planner, partners=("GHA", "KEN"), organizations=(), status="completed"):
    return services.engagement_create(
        created_by=planner,
        title="Coastal exercise",
        start_date=D(2024, 10, 7),
        end_date=D(2024, 10, 9),
        participants=[{"partner": code} for code in partners],
        organizations=list(organizations),
        **{**FIELDS, "status": status},
    ).engagement


def _import(planner, rows):
    report = run(csv_file(rows), user=planner, dry_run=False, name="shape.csv")
    assert report.applied, report.as_dict()


def _reference(subject) -> str:
    return Engagement.objects.get(pk=subject.pk).reference


CHANGES = {
    "create with a framework": lambda planner, subject: _create(planner, ("NGA", "CIV", "SEN"), ["ECOWAS"]),
    "participants added": lambda planner, subject: services.engagement_update(
        engagement=subject,
        updated_by=planner,
        participants=[{"partner": "GHA"}, {"partner": "KEN"}, {"partner": "SEN"}, {"partner": "FRA"}],
    ),
    "participants removed": lambda planner, subject: services.engagement_update(
        engagement=subject, updated_by=planner, participants=[{"partner": "GHA"}]
    ),
    "framework removed": lambda planner, subject: services.engagement_update(
        engagement=subject, updated_by=planner, organizations=[]
    ),
    "framework added": lambda planner, subject: services.engagement_update(
        engagement=Engagement.objects.exclude(pk=subject.pk).get(), updated_by=planner, organizations=["ECOWAS"]
    ),
    "other fields only": lambda planner, subject: services.engagement_update(
        engagement=subject, updated_by=planner, title="Renamed", end_date=D(2024, 10, 12)
    ),
    "status changed": lambda planner, subject: services.engagement_change_status(
        engagement=subject, status="cancelled", user=planner, reason="Called off"
    ),
    "deleted": lambda planner, subject: services.engagement_delete(engagement=subject, user=planner, reason="Twice"),
    "import": lambda planner, subject: _import(
        planner,
        [
            {
                **FIELDS,
                "title": "Imported drill",
                "start_date": "2024-10-20",
                "end_date": "2024-10-21",
                "participants": "NGA:participant:10;SEN:participant:5;GHA:participant:1",
                "organizations": "ECOWAS",
            },
            {**FIELDS, "title": "Imported talks", "start_date": "2024-07-20", "end_date": "2024-07-21"},
            {  # a change of the subject: one partner fewer
                **FIELDS,
                "reference": _reference(subject),
                "title": "Coastal exercise",
                "start_date": "2024-10-07",
                "end_date": "2024-10-09",
                "status": "in_progress",
                "participants": "GHA:participant:0",
            },
        ],
    ),
    "bulk create": lambda planner, subject: bulk_create(planner),  # frameworks in bulk: the import's new rows
    "demo generator": lambda planner, subject: call_command(
        "generate_demo_data", "--engagements", "40", "--years", "2", "--seed", "3", verbosity=0
    ),
    "organization deleted": lambda planner, subject: Organization.objects.get(acronym="ECOWAS").delete(),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_stored_shape_equals_a_recount_after_each_write(reference_data, planner, change):
    with mock.patch("assessments.tasks.run_assessment.delay"):
        subject = _create(planner, organizations=["ECOWAS"], status="in_progress")
        _create(planner, ("NGA", "CIV", "SEN"))
        before = stored()
        assert before == recounted()
        assert before[subject.pk] == (2, True)
        CHANGES[change](planner, subject)
    after = stored()
    assert after == recounted()
    if change not in ("other fields only", "status changed", "deleted"):
        assert after != before  # the change moved a count or a flag


def test_refresh_repairs_every_row(reference_data, planner):
    with mock.patch("assessments.tasks.run_assessment.delay"):
        subject = _create(planner, ("NGA", "CIV", "SEN"), ["ECOWAS"])
    Engagement.objects.filter(pk=subject.pk).update(partner_count=0, under_framework=False)
    assert engagement_shape_refresh() == 1
    assert stored() == recounted() == {subject.pk: (3, True)}
    assert engagement_shape_refresh(engagement_ids=[subject.pk]) == 0  # nothing changes: nothing written
