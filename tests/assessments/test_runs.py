"""Runs: idempotence, failure leaving earlier scores, deltas and alerts, coalesced recomputes on change."""

import datetime
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from assessments.choices import RunStatus, RunTrigger
from assessments.models import Alert, AssessmentRun, PartnerScore
from assessments.periods import Quarter
from assessments.services import (
    alert_acknowledge,
    assessment_run_execute,
    assessment_run_nightly,
    assessment_run_request,
    scores_mark_stale,
    stale_quarters,
)
from engagements.models import PartnerChange
from engagements.services.shape import engagement_shape_write
from tests.assessments.factories import make_engagement, partner

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def no_enqueue():
    """Runs are executed by the test itself; nothing is sent to a broker."""
    with mock.patch("assessments.tasks.run_assessment.delay") as delay:
        yield delay


def run(periods, **kwargs):
    created = assessment_run_request(trigger=RunTrigger.MANUAL, periods=periods, enqueue=False, **kwargs)
    return assessment_run_execute(run_id=created.pk)


def rows():
    return sorted(
        PartnerScore.objects.values_list(
            "partner__iso3",
            "period",
            "overall",
            "activity",
            "trust",
            "multilateral",
            "delta_overall",
            "engagement_count",
        )
    )


def test_same_run_twice_gives_the_same_rows(reference_data, no_enqueue):
    make_engagement(["KEN", "TZA", "UGA"], D(2024, 10, 1), D(2024, 10, 10), ratings=(5, 3, 4))
    make_engagement(["KEN", "ETH"], D(2023, 6, 1), D(2023, 6, 30), ratings=(2, 4, 1))
    first = run(["2024-Q3", "2024-Q4"])
    assert first.status == RunStatus.SUCCEEDED and first.partners_scored == 4
    # 2024-Q4: ETH, KEN, TZA, UGA; 2024-Q3 (before the October engagement): ETH and KEN only.
    assert first.scores_written == 6
    before = rows()
    second = run(["2024-Q4", "2024-Q3"])
    assert rows() == before
    assert PartnerScore.objects.count() == 6  # upserted, no duplicates
    assert set(PartnerScore.objects.values_list("run", flat=True)) == {second.pk}
    # Executing an already succeeded run again changes nothing (a redelivered task).
    assert assessment_run_execute(run_id=second.pk).status == RunStatus.SUCCEEDED
    assert rows() == before


def test_failed_run_leaves_earlier_scores_and_is_marked_failed(reference_data, no_enqueue):
    make_engagement(["KEN", "TZA"], D(2024, 10, 1), D(2024, 10, 10), ratings=(5, 5, 5))
    run(["2024-Q4"])
    before = rows()
    make_engagement(["KEN", "TZA"], D(2024, 11, 1), D(2024, 11, 10), ratings=(1, 1, 1))
    with mock.patch("assessments.services.runs._alerts_sync", side_effect=RuntimeError("disk full")):
        failing = assessment_run_request(periods=["2024-Q4"], enqueue=False)
        with pytest.raises(RuntimeError):
            assessment_run_execute(run_id=failing.pk)
    failing.refresh_from_db()
    assert failing.status == RunStatus.FAILED
    assert failing.error == "RuntimeError: disk full"
    assert failing.finished_at is not None
    # The scores had been upserted when the error came: all of it was rolled back.
    assert rows() == before
    # A retry of the same run succeeds and writes the new figures.
    assert assessment_run_execute(run_id=failing.pk).status == RunStatus.SUCCEEDED
    assert PartnerScore.objects.get(partner__iso3="KEN").engagement_count == 2


def test_delta_and_one_alert_per_drop(reference_data, no_enqueue, analyst):
    # 2024-Q3: an excellent engagement ending on E (2024-09-30).
    make_engagement(["GHA", "SEN"], D(2024, 9, 1), D(2024, 9, 30), ratings=(5, 5, 5))
    # 2024-Q4: a terrible one ending on its E (2024-12-31).
    make_engagement(["GHA", "SEN"], D(2024, 12, 1), D(2024, 12, 31), ratings=(1, 1, 1))
    run(["2024-Q3", "2024-Q4"])
    q3 = PartnerScore.objects.get(partner__iso3="GHA", period=D(2024, 7, 1))
    q4 = PartnerScore.objects.get(partner__iso3="GHA", period=D(2024, 10, 1))
    assert q3.delta_overall is None  # no 2024-Q2 score
    assert q4.delta_overall == pytest.approx(q4.overall - q3.overall)
    assert q4.delta_overall <= -10
    alert = Alert.objects.get(partner__iso3="GHA")
    assert alert.period == D(2024, 10, 1) and alert.delta_overall == pytest.approx(q4.delta_overall)
    run(["2024-Q3", "2024-Q4"])
    assert Alert.objects.filter(partner__iso3="GHA").count() == 1  # idempotent
    alert_acknowledge(alert=alert, user=analyst, note="Known: exercise cut short.")
    run(["2024-Q4"])
    alert.refresh_from_db()
    assert alert.acknowledged_by == analyst and alert.note == "Known: exercise cut short."


def test_corrected_data_clears_an_unacknowledged_alert(reference_data, no_enqueue):
    make_engagement(["GHA", "SEN"], D(2024, 9, 1), D(2024, 9, 30), ratings=(5, 5, 5))
    bad = make_engagement(["GHA", "SEN"], D(2024, 12, 1), D(2024, 12, 31), ratings=(1, 1, 1))
    run(["2024-Q3", "2024-Q4"])
    assert Alert.objects.filter(partner__iso3="SEN").exists()
    bad.after_action.interoperability_rating = bad.after_action.capacity_rating = bad.after_action.trust_rating = 5
    bad.after_action.save()
    engagement_shape_write(bad)  # the ratings on the row, as the services keep them (engagements.services.shape)
    run(["2024-Q4"])
    assert not Alert.objects.exists()


def test_partner_whose_data_vanished_loses_its_row(reference_data, no_enqueue):
    engagement = make_engagement(["MLI", "NER"], D(2024, 10, 1), D(2024, 10, 2))
    run(["2024-Q4"])
    assert PartnerScore.objects.filter(partner__iso3="MLI").exists()
    engagement.deleted_at = timezone.now()
    engagement.save()
    run(["2024-Q4"])
    assert not PartnerScore.objects.filter(partner__iso3__in=["MLI", "NER"]).exists()


def test_recomputing_a_quarter_refreshes_the_next_quarters_delta(reference_data, no_enqueue):
    make_engagement(["KEN", "UGA"], D(2024, 9, 1), D(2024, 9, 30), ratings=(3, 3, 3))
    run(["2024-Q3", "2024-Q4"])
    old = PartnerScore.objects.get(partner__iso3="KEN", period=D(2024, 10, 1)).delta_overall
    make_engagement(["KEN", "UGA"], D(2024, 8, 1), D(2024, 8, 2), ratings=(5, 5, 5))  # raises 2024-Q3 (and Q4)
    run(["2024-Q3"])  # only Q3: Q4's stored overall stays, its change from Q3 must follow
    q3 = PartnerScore.objects.get(partner__iso3="KEN", period=D(2024, 7, 1))
    q4 = PartnerScore.objects.get(partner__iso3="KEN", period=D(2024, 10, 1))
    assert q4.delta_overall == pytest.approx(q4.overall - q3.overall)
    assert q4.delta_overall != pytest.approx(old)


def test_bad_periods_are_refused(reference_data):
    for periods, message in (
        (["2025-13"], "is not a quarter"),
        (["2025-Q5"], "is not a quarter"),
        ([], "at least one quarter"),
        ([str(Quarter.current().shift(1))], "cannot be scored yet"),
        (["1800-Q1"], "out of range"),
    ):
        with pytest.raises(ValidationError) as error:
            assessment_run_request(periods=periods, enqueue=False)
        assert message in str(error.value.message_dict["periods"])
    assert not AssessmentRun.objects.exists()


def test_default_periods_are_the_current_and_previous_quarter(reference_data, no_enqueue):
    current = Quarter.current()
    created = assessment_run_request(trigger=RunTrigger.API)
    assert created.periods == [str(current.shift(-1)), str(current)]
    assert created.status == RunStatus.QUEUED and created.scoring_model.version == 1


def test_stale_quarters_reach_seven_quarters_past_the_change_up_to_now():
    current = Quarter.current()
    old = current.shift(-20)
    assert stale_quarters(first_day=old.start, last_day=old.start + datetime.timedelta(days=3), lookback=8) == [
        old.shift(n) for n in range(8)
    ]
    recent = current.shift(-1)
    assert stale_quarters(first_day=recent.start, last_day=recent.end, lookback=8) == [recent, current]
    assert stale_quarters(first_day=current.shift(2).start, last_day=current.shift(2).end, lookback=8) == []


def test_changes_coalesce_into_one_queued_run(reference_data, django_capture_on_commit_callbacks, no_enqueue):
    current = Quarter.current()
    ken, gha = partner("KEN"), partner("GHA")
    with django_capture_on_commit_callbacks(execute=True):
        first = scores_mark_stale(partner_ids={ken.pk}, first_day=current.start, last_day=current.start)
        second = scores_mark_stale(
            partner_ids={gha.pk}, first_day=current.shift(-1).start, last_day=current.shift(-1).end
        )
    assert first.pk == second.pk
    run_ = AssessmentRun.objects.get()
    assert run_.trigger == RunTrigger.DATA_CHANGE and run_.status == RunStatus.QUEUED
    assert run_.periods == [str(current.shift(-1)), str(current)]
    assert run_.partner_ids == sorted([ken.pk, gha.pk])
    assert no_enqueue.call_count == 1  # one task for many edits
    # Once it has started, a new change queues a new run.
    assessment_run_execute(run_id=run_.pk)
    with django_capture_on_commit_callbacks(execute=True):
        third = scores_mark_stale(partner_ids={ken.pk}, first_day=current.start, last_day=current.start)
    assert third.pk != run_.pk and no_enqueue.call_count == 2


def test_engagement_service_change_queues_a_recompute_that_marks_changes_processed(
    reference_data, django_capture_on_commit_callbacks, no_enqueue
):
    from engagements.services import engagement_create

    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        engagement_create(
            created_by=None,
            title="Coastal patrol drill",
            engagement_type="bilateral_drill",
            domain="maritime",
            status="in_progress",
            start_date=today - datetime.timedelta(days=2),
            end_date=today + datetime.timedelta(days=5),
            host_country="KEN",
            participants=[{"partner": "KEN"}, {"partner": "TZA"}],
        )
    queued = AssessmentRun.objects.get(trigger=RunTrigger.DATA_CHANGE)
    assert queued.periods == [str(Quarter.current())]
    assert queued.partner_ids == sorted([partner("KEN").pk, partner("TZA").pk])
    no_enqueue.assert_called_once_with(str(queued.pk))
    assert PartnerChange.objects.filter(processed_at__isnull=True).count() == 2
    assessment_run_execute(run_id=queued.pk)
    assert not PartnerChange.objects.filter(processed_at__isnull=True).exists()
    assert set(PartnerScore.objects.values_list("partner__iso3", flat=True)) == {"KEN", "TZA"}


def test_nightly_requests_the_two_latest_quarters_and_resends_lost_runs(
    reference_data, no_enqueue, django_capture_on_commit_callbacks
):
    lost = assessment_run_request(periods=["2024-Q1"], enqueue=False)
    AssessmentRun.objects.filter(pk=lost.pk).update(created_at=timezone.now() - datetime.timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        nightly = assessment_run_nightly()
    current = Quarter.current()
    assert nightly.trigger == RunTrigger.SCHEDULE
    assert nightly.periods == [str(current.shift(-1)), str(current)]
    sent = {call.args[0] for call in no_enqueue.call_args_list}
    assert sent == {str(nightly.pk), str(lost.pk)}


@pytest.mark.parametrize("seed", range(6))
def test_covered_changes_match_stale_quarters(reference_data, seed):
    """The day conditions select exactly the changes whose stale quarters all lie in the run's quarters."""
    import random

    from assessments.periods import Quarter
    from assessments.services.runs import covered_changes, stale_quarters
    from engagements.models import PartnerChange
    from partners.models import PartnerNation

    rng = random.Random(seed)
    ghana = PartnerNation.objects.get(iso3="GHA")
    current = Quarter.current()
    lookback = rng.choice([1, 4, 8])
    quarters = {current.shift(-rng.randrange(0, 30)) for _ in range(rng.randrange(1, 25))}
    spans = []
    for _ in range(300):
        first = current.shift(-rng.randrange(-3, 32)).start + datetime.timedelta(days=rng.randrange(0, 90))
        spans.append((first, first + datetime.timedelta(days=rng.choice([0, 3, 40, 200, 700]))))
    PartnerChange.objects.bulk_create(PartnerChange(partner=ghana, first_day=f, last_day=last) for f, last in spans)
    expected = sorted(
        (f, last) for f, last in spans if set(stale_quarters(first_day=f, last_day=last, lookback=lookback)) <= quarters
    )
    found = sorted(
        PartnerChange.objects.filter(covered_changes(quarters, lookback=lookback)).values_list("first_day", "last_day")
    )
    assert found == expected
    assert 0 < len(expected) < len(spans) or seed  # the first draw has both kinds


def test_a_data_change_run_is_sent_after_the_delay_and_takes_in_the_changes_of_those_seconds(
    reference_data, django_capture_on_commit_callbacks, settings
):
    """Saves back to back make one run: the first change's run is sent ``ASSESSMENT_DATA_CHANGE_DELAY``
    seconds later (the broker holds it), the next changes join it meanwhile, and the run, once executed,
    scores every one of them. Runs asked for by people are sent at once."""
    settings.ASSESSMENT_DATA_CHANGE_DELAY = 7
    today = timezone.localdate()
    with (
        mock.patch("assessments.tasks.run_assessment.apply_async") as later,
        mock.patch("assessments.tasks.run_assessment.delay") as now,
    ):
        for codes in (["KEN"], ["TZA", "KEN"], ["UGA"]):
            with django_capture_on_commit_callbacks(execute=True):
                engagement = make_engagement(
                    codes, today - datetime.timedelta(days=3), today - datetime.timedelta(days=1)
                )
                from engagements.services.changes import engagement_changed

                engagement_changed(engagement)
        queued = AssessmentRun.objects.get(trigger=RunTrigger.DATA_CHANGE)
        later.assert_called_once_with((str(queued.pk),), countdown=7)
        assert now.call_count == 0
        assert queued.partner_ids == sorted(partner(code).pk for code in ("KEN", "TZA", "UGA"))
        with django_capture_on_commit_callbacks(execute=True):
            asked = assessment_run_request(trigger=RunTrigger.MANUAL)
        now.assert_called_once_with(str(asked.pk))
    assert PartnerChange.objects.filter(processed_at__isnull=True).count() == 4
    assessment_run_execute(run_id=queued.pk)  # what the worker does once the delay has passed
    assert not PartnerChange.objects.filter(processed_at__isnull=True).exists()
    assert set(PartnerScore.objects.values_list("partner__iso3", flat=True)) == {"KEN", "TZA", "UGA"}


def test_a_data_change_run_computes_without_parallel_workers_and_leaves_the_session_as_it_was(
    reference_data, no_enqueue, settings
):
    """A run started by saves asks PostgreSQL for no parallel workers while it computes (so it keeps to one
    core), and puts the session's setting back after; a run asked for by people keeps the server's."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL setting")
    settings.ASSESSMENT_DATA_CHANGE_PARALLEL_WORKERS = 0

    def setting():
        with connection.cursor() as cursor:
            cursor.execute("SHOW max_parallel_workers_per_gather")
            return cursor.fetchone()[0]

    server = setting()
    assert server != "0"  # the server's default (2) allows them
    seen = []
    from assessments.services import runs as runs_module

    real = runs_module.scores_compute

    def compute(**kwargs):
        seen.append(setting())
        return real(**kwargs)

    make_engagement(["KEN"], Quarter.current().start, Quarter.current().start)
    with mock.patch.object(runs_module, "scores_compute", compute):
        changed = AssessmentRun.objects.create(
            trigger=RunTrigger.DATA_CHANGE,
            scoring_model=runs_module.scoring_model_active(),
            periods=[str(Quarter.current())],
        )
        assessment_run_execute(run_id=changed.pk)
        run([str(Quarter.current())])
    assert seen == ["0", server]
    assert setting() == server
    assert AssessmentRun.objects.get(pk=changed.pk).status == RunStatus.SUCCEEDED
