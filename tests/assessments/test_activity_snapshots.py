"""The overview's engagement counts as run snapshots: the same figures as counting live, for every role,
recounted by every run, left in place by a failed one, and counted live where no run has counted."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assessments import dashboard_selectors as dash
from assessments.models import AssessmentRun, QuarterActivity, QuarterActivityCount
from assessments.periods import Quarter
from assessments.services import assessment_run_execute, assessment_run_request
from assessments.services.activity import activity_count
from tests.assessments.factories import make_engagement

pytestmark = pytest.mark.django_db

D = datetime.date
Q3, Q4 = Quarter(2024, 3), Quarter(2024, 4)
EVERYTHING = dash.Scope()


def django_queries():
    return CaptureQueriesContext(connection)


def run(periods):
    return assessment_run_execute(run_id=assessment_run_request(periods=periods, enqueue=False).pk)


@pytest.fixture
def engagements(reference_data):
    made = {
        "sep": make_engagement(["GHA", "SEN"], D(2024, 9, 1), D(2024, 9, 30)),
        "oct": make_engagement(
            ["FRA", "DEU", "ITA"], D(2024, 10, 1), D(2024, 10, 3), engagement_type="training_exchange"
        ),
        "restricted": make_engagement(["KEN", "TZA"], D(2024, 11, 5), D(2024, 11, 9), sensitivity="restricted"),
        "restricted_fr": make_engagement(["FRA"], D(2024, 11, 6), D(2024, 11, 7), sensitivity="restricted"),
        "cancelled": make_engagement(["NGA"], D(2024, 12, 1), D(2024, 12, 2), status="cancelled"),
        "deleted": make_engagement(["MLI"], D(2024, 12, 3), D(2024, 12, 4)),
        "no_partner": make_engagement([], D(2024, 12, 5), D(2024, 12, 6), engagement_type="advisory_mission"),
    }
    made["deleted"].deleted_at = timezone.now()
    made["deleted"].save(update_fields=["deleted_at"])
    return made


def counted(activity):
    """The figures of ``engagement_activity``, without ``live`` (whether some were read from today's data)."""
    return {name: value for name, value in activity.items() if name != "live"}


def figures(user, quarters=(Q3, Q4)):
    activity = counted(dash.engagement_activity(user=user, scope=EVERYTHING, first=quarters[0], last=quarters[-1]))
    engaged = [dash.partners_engaged(user=user, scope=EVERYTHING, quarter=q) for q in quarters]
    return activity, engaged


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_snapshots_give_the_live_figures_for_each_role(engagements, make_user, role):
    user = make_user(f"{role}-s", role)
    live = figures(user)
    assert not QuarterActivity.objects.exists()
    run(["2024-Q3", "2024-Q4"])
    assert QuarterActivity.objects.filter(scope_kind="").count() == 2
    assert figures(user) == live
    activity, engaged = live
    if role == "analyst":
        # Q4: oct (training), both restricted exercises, the advisory mission without partners.
        assert activity["totals"] == [1, 4] and engaged == [2, 5]  # FRA DEU ITA KEN TZA, France once
    else:
        assert activity["totals"] == [1, 2] and engaged == [2, 3]
    by_type = {s["type"]: s["counts"] for s in activity["series"]}
    assert by_type["training_exchange"] == [0, 1] and by_type["advisory_mission"] == [0, 1]


def test_pages_read_the_snapshot_not_the_engagements(engagements, analyst, client_for):
    run(["2024-Q4"])
    QuarterActivityCount.objects.filter(period=Q4.start, engagement_type="training_exchange", scope_kind="").update(
        engagements=40
    )
    QuarterActivity.objects.filter(period=Q4.start, scope_kind="").update(partners_engaged=77)
    context = client_for(analyst).get("/assessments/", {"period": "2024-Q4"}).context
    assert context["tiles"]["engagements"] == 43 and context["tiles"]["partners_engaged"] == 77


def test_quarters_no_run_counted_are_counted_live(engagements, analyst):
    run(["2024-Q4"])  # Q3 is not counted: its figure comes from the engagements themselves
    everyone = QuarterActivityCount.objects.filter(period=Q4.start, scope_kind="")
    everyone.update(engagements=10)
    activity, engaged = figures(analyst)
    assert activity["totals"][0] == 1  # live
    assert activity["totals"][1] == 10 * everyone.count()  # stored
    assert engaged[0] == 2


SCOPES = [
    dash.Scope(region="Europe"),
    dash.Scope(region="africa"),  # any case, as the filter form allows
    dash.Scope(subregion="Sub-Saharan Africa"),
    dash.Scope(subregion="Northern Africa"),  # no engagement there
    dash.Scope(intermediate_region="Western Africa"),  # Ghana, Senegal, Nigeria
    dash.Scope(intermediate_region="eastern africa"),  # Kenya, Tanzania (restricted)
    dash.Scope(organization="ECOWAS"),
    dash.Scope(organization="NATO"),
    dash.Scope(organization="EU"),
]


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_scoped_snapshots_give_the_live_figures(engagements, make_user, role):
    user = make_user(f"{role}-scope", role)
    make_engagement(["GHA", "NGA", "FRA"], D(2024, 12, 10), D(2024, 12, 12))  # two ECOWAS members, once
    live = {}
    for scope in SCOPES:
        live[scope] = (
            counted(dash.engagement_activity(user=user, scope=scope, first=Q3, last=Q4)),
            [dash.partners_engaged(user=user, scope=scope, quarter=q) for q in (Q3, Q4)],
        )
    run(["2024-Q3", "2024-Q4"])
    with django_queries() as queries:
        for scope in SCOPES:
            stored = (
                counted(dash.engagement_activity(user=user, scope=scope, first=Q3, last=Q4)),
                [dash.partners_engaged(user=user, scope=scope, quarter=q) for q in (Q3, Q4)],
            )
            assert stored == live[scope], scope
    assert not any("engagements_engagement" in q["sql"] for q in queries.captured_queries)
    ecowas_activity, ecowas_engaged = live[dash.Scope(organization="ECOWAS")]
    assert ecowas_activity["totals"] == [1, 1] and ecowas_engaged == [2, 2]  # GHA+SEN, then GHA+NGA
    europe_activity, _ = live[dash.Scope(region="Europe")]
    assert europe_activity["totals"] == ([0, 3] if role == "analyst" else [0, 2])
    west_activity, west_engaged = live[dash.Scope(intermediate_region="Western Africa")]
    assert west_activity["totals"] == [1, 1] and west_engaged == [2, 2]
    east_activity, _ = live[dash.Scope(intermediate_region="eastern africa")]
    assert east_activity["totals"] == ([0, 1] if role == "analyst" else [0, 0])


def test_the_migration_counts_intermediate_regions_of_quarters_already_counted(engagements, analyst):
    """Quarters counted before intermediate regions had snapshots get them from the migration, with the run
    that counted them; the other scopes' rows stay as they were."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("assessments.migrations.0005_activity_intermediate_region")
    done = run(["2024-Q3", "2024-Q4"])
    west = dash.Scope(intermediate_region="Western Africa")
    expected = dash.engagement_activity(user=analyst, scope=west, first=Q3, last=Q4)
    QuarterActivity.objects.filter(scope_kind="intermediate_region").delete()
    QuarterActivityCount.objects.filter(scope_kind="intermediate_region").delete()
    others = sorted(QuarterActivity.objects.values_list("scope_kind", "scope_name", "period", "computed_at"))
    assert dash.engagement_activity(user=analyst, scope=west, first=Q3, last=Q4)["totals"] == [0, 0]
    migration.count_intermediate_regions(apps, None)
    assert dash.engagement_activity(user=analyst, scope=west, first=Q3, last=Q4) == expected
    assert expected["totals"] == [1, 0]
    stored = QuarterActivity.objects.filter(scope_kind="intermediate_region")
    assert {row.run_id for row in stored} == {done.pk}
    # Europe's M49 subregions have no intermediate regions below them.
    assert {(row.scope_name, Quarter.of(row.period)) for row in stored} == {
        ("Western Africa", Q3),
        ("Eastern Africa", Q4),
    }
    rest = QuarterActivity.objects.exclude(scope_kind="intermediate_region")
    assert sorted(rest.values_list("scope_kind", "scope_name", "period", "computed_at")) == others


def test_a_mix_of_scopes_is_counted_live(engagements, analyst):
    run(["2024-Q3", "2024-Q4"])
    QuarterActivityCount.objects.update(engagements=99)
    mixed = dash.Scope(region="Europe", organization="NATO")
    activity = dash.engagement_activity(user=analyst, scope=mixed, first=Q3, last=Q4)
    assert activity["totals"] == [0, 2]  # oct and the restricted French one (France, Germany, Italy in NATO)
    assert dash.Scope(region="Europe").snapshot == ("region", "Europe") and mixed.snapshot is None


def test_every_run_recounts_its_quarters(engagements, analyst):
    run(["2024-Q4"])
    make_engagement(["GHA"], D(2024, 10, 20), D(2024, 10, 21), engagement_type="training_exchange")
    engagements["oct"].status = "cancelled"
    engagements["oct"].save(update_fields=["status"])
    run(["2024-Q4"])
    activity, engaged = figures(analyst, quarters=(Q4,))
    assert activity["totals"] == [4] and engaged == [4]  # GHA, KEN, TZA, FRA
    latest = AssessmentRun.objects.order_by("-created_at").first()
    assert set(QuarterActivity.objects.values_list("run", flat=True)) == {latest.pk}


def test_a_failed_run_leaves_the_earlier_counts(engagements, analyst):
    run(["2024-Q4"])
    before = list(QuarterActivityCount.objects.order_by("engagement_type", "restricted").values())
    make_engagement(["GHA"], D(2024, 10, 20), D(2024, 10, 21))
    failing = mock.patch("assessments.services.runs.activity_store", side_effect=RuntimeError("disk full"))
    with failing, pytest.raises(RuntimeError):
        run(["2024-Q4"])
    assert list(QuarterActivityCount.objects.order_by("engagement_type", "restricted").values()) == before
    assert AssessmentRun.objects.order_by("-created_at").first().status == "failed"


def test_counting_quarters_apart_keeps_the_others_out(engagements):
    counts = activity_count([Q3, Quarter(2025, 1)])
    assert {key for key in counts if key[0] == ""} == {("", "", Q3), ("", "", Quarter(2025, 1))}
    assert all(quarter == Q3 for kind, _name, quarter in counts if kind)  # no scope had engagements in 2025-Q1
    assert sum(counts[("", "", Q3)].engagements.values()) == 1 and counts[("", "", Quarter(2025, 1))].engagements == {}
    assert counts[("", "", Q3)].partners_engaged == 2 and counts[("", "", Q3)].partners_engaged_unrestricted == 2
    assert counts[("organization", "ECOWAS", Q3)].partners_engaged == 2


def test_an_engagement_without_partners_queues_a_recount_of_the_counted_quarters(
    engagements, planner, analyst, django_capture_on_commit_callbacks
):
    """No score moves, but the overview's counts do: the quarters it spans that a run has counted are
    recounted by a queued run (the ones no run has counted are counted live anyway)."""
    from engagements import services

    run(["2024-Q4"])
    before = dash.engagement_activity(user=analyst, scope=EVERYTHING, first=Q4, last=Q4)["totals"]

    def create(start, end):
        return services.engagement_create(
            created_by=planner,
            title="Staff talks, partners to be confirmed",
            engagement_type="key_leader_engagement",
            host_country="GHA",
            domain="joint",
            status="planned",
            start_date=start,
            end_date=end,
        ).engagement

    with (
        mock.patch("assessments.tasks.run_assessment.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        create(D(2024, 11, 20), D(2024, 11, 21))
    queued = AssessmentRun.objects.get(status="queued")
    assert (queued.trigger, queued.periods, queued.partner_ids) == ("data_change", ["2024-Q4"], [])
    assert delay.call_count == 1
    assert dash.engagement_activity(user=analyst, scope=EVERYTHING, first=Q4, last=Q4)["totals"] == before
    assessment_run_execute(run_id=queued.pk)
    after = dash.engagement_activity(user=analyst, scope=EVERYTHING, first=Q4, last=Q4)["totals"]
    assert after == [before[0] + 1]

    # A quarter no run has counted is counted live: nothing to queue.
    with (
        mock.patch("assessments.tasks.run_assessment.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        create(D(2023, 2, 1), D(2023, 2, 2))
    assert not AssessmentRun.objects.filter(status="queued").exists() and delay.call_count == 0

    # A queued run for partners takes the quarter along, for the same partners.
    pending = assessment_run_request(periods=["2024-Q3"], enqueue=False)
    AssessmentRun.objects.filter(pk=pending.pk).update(trigger="data_change", partner_ids=[7])
    with mock.patch("assessments.tasks.run_assessment.delay"), django_capture_on_commit_callbacks(execute=True):
        create(D(2024, 12, 1), D(2024, 12, 2))
    pending.refresh_from_db()
    assert (pending.periods, pending.partner_ids) == (["2024-Q3", "2024-Q4"], [7])


def test_an_imported_engagement_without_partners_recounts_its_counted_quarter(
    engagements, planner, analyst, django_capture_on_commit_callbacks
):
    """The import writes new engagements in bulk: those without partners are announced too."""
    import csv
    import io

    from engagements import exchange, imports

    run(["2024-Q4"])
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=exchange.COLUMNS)
    writer.writeheader()
    writer.writerow(
        {
            "title": "Staff talks, partners to be confirmed",
            "engagement_type": "key_leader_engagement",
            "domain": "joint",
            "status": "planned",
            "start_date": "2024-11-20",
            "end_date": "2024-11-21",
            "host_country": "GHA",
        }
    )
    with (
        mock.patch("assessments.tasks.run_assessment.delay"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        report = imports.engagements_import(
            handle=io.BytesIO(buffer.getvalue().encode()), name="talks.csv", user=planner, dry_run=False
        )
    assert report.applied and report.to_create == 1
    queued = AssessmentRun.objects.get(status="queued")
    assert (queued.periods, queued.partner_ids) == (["2024-Q4"], [])
