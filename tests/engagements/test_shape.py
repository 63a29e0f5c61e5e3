"""Each engagement's stored number of partners and framework flag (``Engagement.partner_count`` and
``under_framework``, read by the scoring runs) equal a recount from its participations and frameworks after
every kind of write: creates, edits of participants and frameworks, status changes, deletes, imports, the
bulk create, the demo generator and an organization deleted. Its stored report ratings
(``Engagement.report_*``) equal its after-action report's after every kind of report write."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
from django.core.management import call_command
from django.db.models import Count, Exists, OuterRef
from rest_framework.test import APIClient

from engagements import services
from engagements.models import AfterActionReport, Engagement, Participation
from engagements.services.engagements import with_owner_unit
from engagements.services.inputs import engagement_bulk_create_clean
from engagements.services.shape import REPORT_FACTS, engagement_shape_refresh
from organizations.models import Organization
from partners.models import PartnerNation
from tests.assessments.test_activity_one_pass import _bulk_create as bulk_create
from tests.engagements.test_imports import csv_file, run

pytestmark = pytest.mark.django_db

D = datetime.date
FIELDS = {"engagement_type": "exercise", "domain": "joint", "host_country": "GHA", "status": "completed"}


def stored() -> dict[int, tuple[int, list[int], bool]]:
    return {
        pk: (count, ids, framework)
        for pk, count, ids, framework in Engagement.objects.values_list(
            "pk", "partner_count", "partner_ids", "under_framework"
        )
    }


def recounted() -> dict[int, tuple[int, list[int], bool]]:
    frameworks = Engagement.organizations.through.objects.filter(engagement=OuterRef("pk"))
    rows = Engagement.objects.order_by().annotate(n=Count("participations"), framework=Exists(frameworks))
    partners: dict[int, list[int]] = {}
    for engagement_id, partner_id in Participation.objects.order_by("partner_id").values_list(
        "engagement_id", "partner_id"
    ):
        partners.setdefault(engagement_id, []).append(partner_id)
    return {pk: (n, partners.get(pk, []), framework) for pk, n, framework in rows.values_list("pk", "n", "framework")}


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
    # Participations written past the services (the admin's raw forms, QuerySet.update, SQL): the database's
    # triggers keep the partners on the row (migration engagements.0022).
    "participation inserted directly": lambda planner, subject: Participation.objects.create(
        engagement=subject, partner=PartnerNation.objects.get(iso3="CIV")
    ),
    "participation moved directly": lambda planner, subject: Participation.objects.filter(
        engagement=subject, partner__iso3="GHA"
    ).update(partner=PartnerNation.objects.get(iso3="SEN")),
    "participations deleted directly": lambda planner, subject: Participation.objects.filter(
        engagement=subject
    ).delete(),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_stored_shape_equals_a_recount_after_each_write(reference_data, planner, change):
    with mock.patch("assessments.tasks.run_assessment.delay"):
        subject = _create(planner, organizations=["ECOWAS"], status="in_progress")
        _create(planner, ("NGA", "CIV", "SEN"))
        before = stored()
        assert before == recounted()
        ghana, kenya = (PartnerNation.objects.get(iso3=code).pk for code in ("GHA", "KEN"))
        assert before[subject.pk] == (2, sorted([ghana, kenya]), True)
        CHANGES[change](planner, subject)
    after = stored()
    assert after == recounted()
    if change not in ("other fields only", "status changed", "deleted"):
        assert after != before  # the change moved a count or a flag


# --- the after-action report's ratings kept on the row (Engagement.report_*) --------------------------------

REPORT = {"summary": "Went well.", "interoperability_rating": 4, "capacity_rating": 2, "trust_rating": 5}
AAR_CSV = {
    "aar_summary": "Imported report",
    "interoperability_rating": "1",
    "capacity_rating": "5",
    "trust_rating": "3",
}


def stored_ratings() -> dict[int, tuple]:
    return {row[0]: row[1:] for row in Engagement.objects.values_list("pk", *REPORT_FACTS)}


def recounted_ratings() -> dict[int, tuple]:
    reports = {
        row[0]: row[1:] for row in AfterActionReport.objects.values_list("engagement_id", *REPORT_FACTS.values())
    }
    return {pk: reports.get(pk, (None, None, None)) for pk in Engagement.objects.values_list("pk", flat=True)}


def _bulk_with_reports(planner, subject):
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
                    "participants": [{"partner": "MAR"}],
                    "after_action": {**REPORT, "trust_rating": 1 + index} if index % 2 else None,
                },
            ),
        )
        for index in range(4)
    ]
    checked, problems = engagement_bulk_create_clean(rows=rows)
    assert not problems and len(checked) == 4
    services.engagements_bulk_create(engagements=list(checked.values()), created_by=planner)


def _api_report(planner, subject):
    api = APIClient()
    api.force_authenticate(planner)
    url = f"/api/v1/engagements/{subject.pk}/after-action/"
    assert api.post(url, REPORT, format="json").status_code == 201
    assert api.put(url, {"trust_rating": 1}, format="json").status_code == 200


REPORT_CHANGES = {
    "create with a report": lambda planner, subject: services.engagement_create(
        created_by=planner,
        title="Reported drill",
        start_date=D(2024, 9, 1),
        end_date=D(2024, 9, 3),
        participants=[{"partner": "GHA"}],
        after_action=REPORT,
        **FIELDS,
    ),
    "update adds a report": lambda planner, subject: services.engagement_update(
        engagement=subject, updated_by=planner, after_action=REPORT
    ),
    "report submitted, then edited": lambda planner, subject: (
        services.after_action_submit(engagement=subject, user=planner, **REPORT),
        services.after_action_submit(engagement=subject, user=planner, capacity_rating=5),
    ),
    "update edits the report": lambda planner, subject: (
        services.after_action_submit(engagement=subject, user=planner, **REPORT),
        services.engagement_update(engagement=subject, updated_by=planner, after_action={"interoperability_rating": 1}),
    ),
    "API: report posted, then put": _api_report,
    "import: new rows and a change": lambda planner, subject: _import(
        planner,
        [
            {**FIELDS, "title": "Imported drill", "start_date": "2024-10-20", "end_date": "2024-10-21", **AAR_CSV},
            {  # the subject gets a report
                **FIELDS,
                "reference": _reference(subject),
                "title": "Coastal exercise",
                "start_date": "2024-10-07",
                "end_date": "2024-10-09",
                "status": "in_progress",
                "participants": "GHA:participant:0;KEN:participant:0",
                "organizations": "ECOWAS",
                **AAR_CSV,
            },
        ],
    ),
    "bulk create with reports": _bulk_with_reports,
    "demo generator": lambda planner, subject: call_command(
        "generate_demo_data", "--engagements", "40", "--years", "2", "--seed", "3", verbosity=0
    ),
    "reported engagement deleted for good": lambda planner, subject: (
        services.after_action_submit(engagement=subject, user=planner, **REPORT),
        Engagement.objects.filter(pk=subject.pk).delete(),
    ),
}


@pytest.mark.parametrize("change", list(REPORT_CHANGES))
def test_stored_ratings_equal_the_reports_after_each_write(reference_data, planner, change):
    with mock.patch("assessments.tasks.run_assessment.delay"):
        subject = _create(planner, organizations=["ECOWAS"], status="in_progress")
        other = _create(planner, ("NGA", "CIV", "SEN"))
        services.after_action_submit(engagement=other, user=planner, **REPORT)
        assert stored_ratings() == recounted_ratings()
        assert stored_ratings()[other.pk] == (4, 2, 5)
        before = stored_ratings()
        REPORT_CHANGES[change](planner, subject)
    after = stored_ratings()
    assert after == recounted_ratings()
    assert after != before  # a report was written (or its engagement removed)
    assert stored() == recounted()  # and the other facts still hold


def test_refresh_repairs_every_row(reference_data, planner):
    with mock.patch("assessments.tasks.run_assessment.delay"):
        subject = _create(planner, ("NGA", "CIV", "SEN"), ["ECOWAS"])
    Engagement.objects.filter(pk=subject.pk).update(partner_count=0, partner_ids=[], under_framework=False)
    assert engagement_shape_refresh() == 1
    partners = sorted(PartnerNation.objects.filter(iso3__in=["NGA", "CIV", "SEN"]).values_list("pk", flat=True))
    assert stored() == recounted() == {subject.pk: (3, partners, True)}
    assert engagement_shape_refresh(engagement_ids=[subject.pk]) == 0  # nothing changes: nothing written
