"""The Celery side: the task's options, the beat schedule, the lock and the backfill command."""

import datetime
from io import StringIO
from unittest import mock

import pytest
from celery.exceptions import Retry
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import OperationalError

from assessments.choices import RunStatus, RunTrigger
from assessments.locks import ScoringBusy, scoring_lock
from assessments.models import AssessmentRun, PartnerScore
from assessments.services import assessment_run_request
from assessments.tasks import run_assessment, run_nightly_assessment
from tests.assessments.factories import make_engagement

pytestmark = pytest.mark.django_db

D = datetime.date


def test_task_options():
    assert run_assessment.acks_late is True
    assert OperationalError in run_assessment.autoretry_for and ScoringBusy in run_assessment.autoretry_for
    assert run_assessment.retry_backoff and run_assessment.max_retries
    assert run_assessment.soft_time_limit < run_assessment.time_limit


def test_beat_runs_nightly_at_two_utc():
    entry = settings.CELERY_BEAT_SCHEDULE["assessments-nightly"]
    assert entry["task"] == run_nightly_assessment.name == "assessments.tasks.run_nightly_assessment"
    assert entry["schedule"].hour == {2} and entry["schedule"].minute == {0}
    assert settings.CELERY_TIMEZONE == "UTC"


def test_task_executes_the_run(reference_data):
    make_engagement(["KEN", "TZA"], D(2024, 10, 1), D(2024, 10, 10))
    run = assessment_run_request(trigger=RunTrigger.API, periods=["2024-Q4"], enqueue=False)
    run_assessment.apply(args=[str(run.pk)])
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.partners_scored == 2


def test_task_retries_database_errors_only(reference_data):
    run = assessment_run_request(periods=["2024-Q4"], enqueue=False)
    lost = OperationalError("connection lost")
    with mock.patch("assessments.services.assessment_run_execute", side_effect=lost), pytest.raises(Retry):
        run_assessment.apply(args=[str(run.pk)])
    bug = ValueError("a bug")
    with mock.patch("assessments.services.assessment_run_execute", side_effect=bug), pytest.raises(ValueError):
        run_assessment.apply(args=[str(run.pk)])


def test_database_lock_is_exclusive_and_released(settings, reference_data):
    settings.REDIS_URL = ""
    with scoring_lock(wait=0), pytest.raises(ScoringBusy), scoring_lock(wait=0):
        pass
    with scoring_lock(wait=0):
        pass  # released after the block


def test_compute_scores_command_backfills_a_range(reference_data):
    make_engagement(["KEN", "TZA"], D(2024, 2, 1), D(2024, 2, 10))
    out = StringIO()
    call_command("compute_scores", "--from", "2024-Q1", "--to", "2024-Q4", stdout=out)
    run = AssessmentRun.objects.get()
    assert run.periods == ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"] and run.status == RunStatus.SUCCEEDED
    assert PartnerScore.objects.count() == 8
    assert "4 quarter(s)" in out.getvalue() and "2 partner(s) scored" in out.getvalue()
    call_command("compute_scores", "--periods", "2024-Q2", stdout=StringIO())
    assert AssessmentRun.objects.count() == 2 and PartnerScore.objects.count() == 8


@pytest.mark.parametrize(
    "args, message",
    [
        (["--from", "2024-13"], "is not a quarter"),
        (["--from", "2024-Q4", "--to", "2024-Q1"], "before --from"),
        (["--to", "2024-Q1"], "needs --from"),
        (["--periods", "2024-Q1", "--from", "2024-Q1"], "not both"),
        (["--from", "1500-Q1"], "out of range"),
    ],
)
def test_compute_scores_command_refuses_bad_input(reference_data, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("compute_scores", *args, stdout=StringIO())
    assert not AssessmentRun.objects.exists()
