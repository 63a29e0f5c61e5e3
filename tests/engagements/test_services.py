"""The engagement services: the one path every write takes (pages, API, imports, tasks)."""

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from engagements import services
from engagements.models import AfterActionReport, Engagement, Participation, PartnerChange
from engagements.signals import engagement_data_changed
from tests.engagements.factories import approve

pytestmark = pytest.mark.django_db

D = datetime.date


def base(**overrides):
    values = {
        "title": "Flintlock 2025",
        "engagement_type": "exercise",
        "domain": "land",
        "start_date": D(2025, 2, 10),
        "end_date": D(2025, 2, 28),
        "host_country": "CIV",
        "participants": [
            {"partner": "CIV", "role": "host", "personnel": 400},
            {"partner": "USA", "role": "lead", "personnel": 600},
            {"partner": "SEN", "role": "participant", "personnel": 120},
        ],
        "organizations": ["ECOWAS"],
        "threat_focus": ["terrorism", "insurgency"],
    }
    values.update(overrides)
    return values


def create(user, **overrides):
    return services.engagement_create(created_by=user, **base(**overrides)).engagement


def errors_of(excinfo):
    return excinfo.value.message_dict


def test_create_writes_everything_and_records_who(planner, reference_data):
    engagement = create(planner)
    assert engagement.reference == "ENG-2025-000001"
    assert engagement.created_by == planner
    assert [p.partner.iso3 for p in engagement.participations.order_by("partner__iso3")] == ["CIV", "SEN", "USA"]
    assert list(engagement.organizations.values_list("acronym", flat=True)) == ["ECOWAS"]
    assert engagement.history.filter(history_type="+").get().history_user == planner
    assert {h.history_user for h in engagement.history.all()} == {planner}
    assert Participation.history.filter(engagement_id=engagement.pk).count() == 3
    assert set(PartnerChange.objects.values_list("partner__iso3", flat=True)) == {"CIV", "USA", "SEN"}
    assert create(planner, start_date=D(2025, 3, 1), end_date=D(2025, 3, 2)).reference == "ENG-2025-000002"
    assert create(planner, start_date=D(2019, 3, 1), end_date=D(2019, 3, 2)).reference == "ENG-2019-000001"


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"end_date": D(2025, 2, 1)}, "end_date", "cannot be before the start date"),
        ({"participants": [{"partner": "USA"}, {"partner": "usa"}]}, "participants", "listed twice"),
        ({"participants": [{"partner": "USA", "personnel": -5}]}, "participants", "cannot be negative"),
        ({"participants": [{"partner": "ZZZ"}]}, "participants", "Unknown country code"),
        ({"participants": [{"partner": "USA", "role": "boss"}]}, "participants", "not a valid choice"),
        ({"budget_usd": "-1"}, "budget_usd", "cannot be negative"),
        ({"latitude": 91, "longitude": 10}, "latitude", "between -90 and 90"),
        ({"latitude": 10, "longitude": -181}, "longitude", "between -180 and 180"),
        ({"latitude": 10}, "longitude", "both latitude and longitude"),
        ({"title": "   "}, "title", "required"),
        ({"engagement_type": "party"}, "engagement_type", "not a valid choice"),
        ({"host_country": "XX"}, "host_country", "Unknown country code"),
        ({"organizations": ["NOPE"]}, "organizations", "Unknown organization"),
        ({"series": "no-such-series"}, "series", "Unknown exercise series"),
        ({"threat_focus": ["piracy"]}, "threat_focus", "not a valid threat focus"),
        ({"start_date": "2025-02-30"}, "start_date", "valid date"),
        ({"start_date": D(1850, 1, 1)}, "start_date", "between 1900 and 2100"),
        (
            {
                "status": "planned",
                "after_action": {"summary": "x", "interoperability_rating": 3, "capacity_rating": 3, "trust_rating": 3},
            },
            "after_action",
            "in progress or completed",
        ),
        (
            {
                "status": "completed",
                "after_action": {"summary": "x", "interoperability_rating": 6, "capacity_rating": 3, "trust_rating": 3},
            },
            "after_action.interoperability_rating",
            "1 (poor) to 5",
        ),
        (
            {
                "status": "completed",
                "after_action": {"summary": "x", "interoperability_rating": 3, "capacity_rating": 0, "trust_rating": 3},
            },
            "after_action.capacity_rating",
            "1 (poor) to 5",
        ),
    ],
)
def test_bad_input_is_refused_with_a_field_message_and_nothing_saved(
    planner, reference_data, overrides, field, message
):
    with pytest.raises(ValidationError) as excinfo:
        create(planner, **overrides)
    assert field in errors_of(excinfo)
    assert any(message in text for text in errors_of(excinfo)[field]), errors_of(excinfo)
    assert not Engagement.objects.exists()
    assert not Participation.objects.exists()
    assert not PartnerChange.objects.exists()


def test_all_errors_are_reported_at_once(planner, reference_data):
    with pytest.raises(ValidationError) as excinfo:
        create(planner, title="", end_date=D(2020, 1, 1), budget_usd=-3, participants=[{"partner": "QQQ"}])
    assert set(errors_of(excinfo)) >= {"title", "end_date", "budget_usd", "participants"}


def test_the_database_refuses_what_must_never_be_stored(planner, reference_data):
    engagement = create(planner)
    for update in ({"end_date": D(2020, 1, 1)}, {"budget_usd": -1}, {"latitude": 95}, {"longitude": 200}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Engagement.objects.filter(pk=engagement.pk).update(**update)
    with pytest.raises(IntegrityError), transaction.atomic():
        Participation.objects.create(engagement=engagement, partner=engagement.host_country)
    with pytest.raises(IntegrityError), transaction.atomic():
        AfterActionReport.objects.create(
            engagement=engagement,
            summary="x",
            interoperability_rating=6,
            capacity_rating=3,
            trust_rating=3,
            submitted_at=datetime.datetime(2025, 3, 1, tzinfo=datetime.UTC),
        )


@pytest.mark.parametrize(
    "start, target, allowed",
    [
        ("planned", "approved", False),  # four-eyes: only engagement_approve, by an approver
        ("planned", "completed", True),
        ("approved", "in_progress", True),
        ("in_progress", "completed", True),
        ("in_progress", "cancelled", True),
        ("approved", "planned", False),
        ("in_progress", "approved", False),
        ("completed", "cancelled", False),
        ("completed", "in_progress", False),
        ("cancelled", "planned", False),
    ],
)
def test_the_status_machine(planner, reference_data, start, target, allowed):
    engagement = create(planner, status=start) if start != "approved" else approve(create(planner))
    if allowed:
        services.engagement_change_status(engagement=engagement, status=target, user=planner, reason="Host withdrew")
        engagement.refresh_from_db()
        assert engagement.status == target
    else:
        with pytest.raises(ValidationError) as excinfo:
            services.engagement_change_status(engagement=engagement, status=target, user=planner)
        assert "status" in errors_of(excinfo)
        engagement.refresh_from_db()
        assert engagement.status == start


def test_an_engagement_with_an_after_action_report_cannot_be_cancelled(planner, reference_data):
    """The report says it took place (as for a completed one); it would otherwise be a report on a
    cancelled engagement, which no other path allows."""
    engagement = create(planner, status="in_progress")
    services.after_action_submit(
        engagement=engagement,
        user=planner,
        summary="Cut short",
        interoperability_rating=2,
        capacity_rating=2,
        trust_rating=3,
    )
    with pytest.raises(ValidationError) as excinfo:
        services.engagement_change_status(engagement=engagement, status="cancelled", user=planner)
    assert "after-action report" in errors_of(excinfo)["status"][0]
    engagement.refresh_from_db()
    assert engagement.status == "in_progress"
    services.engagement_change_status(engagement=engagement, status="completed", user=planner)


def test_update_replaces_participants_and_keeps_history(planner, make_user, reference_data):
    engagement = create(planner)
    other = make_user("planner2", "planner")
    services.engagement_update(
        engagement=engagement,
        updated_by=other,
        title="Flintlock 2025 (main phase)",
        participants=[
            {"partner": "CIV", "role": "host", "personnel": 450},
            {"partner": "GHA", "role": "participant", "personnel": 50},
        ],
    )
    engagement.refresh_from_db()
    assert engagement.version == 2
    assert engagement.updated_by == other
    assert sorted(engagement.participations.values_list("partner__iso3", "personnel")) == [("CIV", 450), ("GHA", 50)]
    latest = engagement.history.first()
    assert latest.history_user == other
    assert [c.field for c in latest.diff_against(latest.prev_record).changes if c.field == "title"] == ["title"]
    # USA and SEN were removed: their scores are stale too.
    stale = set(
        PartnerChange.objects.filter(changed_at__gte=latest.history_date).values_list("partner__iso3", flat=True)
    )
    assert stale == {"CIV", "USA", "SEN", "GHA"}


def test_a_stale_version_is_refused(planner, reference_data):
    engagement = create(planner)
    services.engagement_update(engagement=engagement, updated_by=planner, expected_version=1, title="First edit")
    with pytest.raises(services.StaleVersionError):
        services.engagement_update(engagement=engagement, updated_by=planner, expected_version=1, title="Second edit")
    engagement.refresh_from_db()
    assert engagement.title == "First edit"


def test_after_action_report_submit_and_edit(planner, reference_data):
    engagement = create(planner, status="completed")
    report = services.after_action_submit(
        engagement=engagement,
        user=planner,
        summary="Good",
        interoperability_rating=4,
        capacity_rating=3,
        trust_rating=5,
    )
    assert (report.submitted_by, report.trust_rating) == (planner, 5)
    services.after_action_submit(engagement=engagement, user=planner, trust_rating=2)
    report.refresh_from_db()
    assert (report.summary, report.trust_rating) == ("Good", 2)
    assert report.history.count() == 2
    planned = create(planner, start_date=D(2026, 1, 1), end_date=D(2026, 1, 5))
    with pytest.raises(ValidationError):
        services.after_action_submit(
            engagement=planned, user=planner, summary="x", interoperability_rating=3, capacity_rating=3, trust_rating=3
        )


def test_delete_needs_a_reason_and_hides_the_engagement(planner, reference_data):
    engagement = create(planner)
    with pytest.raises(ValidationError):
        services.engagement_delete(engagement=engagement, user=planner, reason=" ")
    services.engagement_delete(engagement=engagement, user=planner, reason="Entered twice")
    engagement.refresh_from_db()
    assert engagement.deleted_by == planner and engagement.deletion_reason == "Entered twice"
    assert not Engagement.objects.visible_to(planner).exists()
    assert Engagement.objects.count() == 1


def test_restricted_engagements_are_invisible_to_viewers(planner, viewer, analyst, reference_data):
    create(planner, sensitivity="restricted")
    create(planner, title="Open exercise", start_date=D(2025, 6, 1), end_date=D(2025, 6, 2))
    assert list(Engagement.objects.visible_to(viewer).values_list("title", flat=True)) == ["Open exercise"]
    assert Engagement.objects.visible_to(analyst).count() == 2
    assert Engagement.objects.visible_to(planner).count() == 2


def test_the_change_signal_is_sent_after_commit_only(planner, reference_data, django_capture_on_commit_callbacks):
    received = []

    def listener(sender, **kwargs):
        received.append(kwargs)

    engagement_data_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            create(planner)
        assert received == []
        for callback in callbacks:
            callback()
    finally:
        engagement_data_changed.disconnect(listener)
    assert len(received) == 1
    assert received[0]["first_day"] == D(2025, 2, 10) and received[0]["last_day"] == D(2025, 2, 28)
    assert len(received[0]["partner_ids"]) == 3


def test_deconfliction_warns_for_each_overlap_kind(planner, reference_data):
    create(planner, series=None)
    partner_overlap = services.engagement_create(
        created_by=planner,
        **base(
            title="Sahel advisory team",
            engagement_type="advisory_mission",
            host_country="MLI",
            start_date=D(2025, 2, 20),
            end_date=D(2025, 3, 20),
            participants=[{"partner": "SEN"}],
            organizations=[],
        ),
    )
    assert [w["kind"] for w in partner_overlap.warnings] == ["partner_overlap"]
    assert "Senegal" in partner_overlap.warnings[0]["message"]
    host_overlap = services.engagement_create(
        created_by=planner,
        **base(
            title="Port security course",
            engagement_type="training_exchange",
            start_date=D(2025, 2, 27),
            end_date=D(2025, 3, 5),
            participants=[{"partner": "FRA"}],
        ),
    )
    assert [w["kind"] for w in host_overlap.warnings] == ["host_overlap"]
    duplicate = services.engagement_create(
        created_by=planner,
        **base(title="FLINTLOCK 2025!", start_date=D(2025, 2, 14), end_date=D(2025, 2, 26), participants=[]),
    )
    # One finding per other engagement, of its strongest kind: the first is a likely duplicate, not also a
    # same-host overlap.
    assert [w["kind"] for w in duplicate.warnings] == ["likely_duplicate"]
    duplicate_of = duplicate.warnings[0]
    assert duplicate_of["reference"] == "ENG-2025-000001" and "similar title" in duplicate_of["message"]
    different = services.engagement_create(
        created_by=planner,
        **base(title="Medical readiness seminar", start_date=D(2025, 2, 14), end_date=D(2025, 2, 15), participants=[]),
    )
    assert "likely_duplicate" not in {w["kind"] for w in different.warnings}
    clear = services.engagement_create(
        created_by=planner,
        **base(
            title="Cyber tabletop", start_date=D(2025, 9, 1), end_date=D(2025, 9, 3), participants=[{"partner": "USA"}]
        ),
    )
    assert clear.warnings == []


def test_cancelled_and_deleted_engagements_never_conflict(planner, reference_data):
    first = create(planner)
    services.engagement_change_status(engagement=first, status="cancelled", user=planner, reason="Host withdrew")
    second = services.engagement_create(created_by=planner, **base(title="Flintlock 2025 rerun"))
    assert second.warnings == []


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_references_stay_unique_under_concurrent_creation(make_user, reference_data):
    user = make_user("planner-threads", "planner")
    references, failures = [], []
    barrier = threading.Barrier(6)

    def worker():
        try:
            barrier.wait(timeout=10)
            for _ in range(5):
                references.append(create(user, title="Parallel", participants=[]).reference)
        except Exception as exc:  # reported below
            failures.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert len(references) == 30
    assert len(set(references)) == 30
    assert sorted(references) == [f"ENG-2025-{n:06d}" for n in range(1, 31)]
