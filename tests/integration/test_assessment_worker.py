"""A real Celery worker on Redis recomputes a partner's score after an engagement is created through
the engagement service, without anyone asking: service -> signal after commit -> coalesced run ->
broker -> worker -> scores in PostgreSQL."""

import datetime
import time

import pytest
from django.utils import timezone

from assessments.choices import RunStatus, RunTrigger
from assessments.models import AssessmentRun, PartnerScore
from assessments.periods import Quarter
from engagements.models import PartnerChange
from engagements.services import engagement_create

pytestmark = [pytest.mark.requires_postgres, pytest.mark.requires_redis, pytest.mark.django_db(transaction=True)]


def test_engagement_created_through_the_service_is_scored_by_the_worker(reference_data, worker):
    today = timezone.localdate()
    engagement_create(
        created_by=None,
        title="Lake patrol exchange",
        engagement_type="training_exchange",
        domain="maritime",
        status="completed",
        start_date=today - datetime.timedelta(days=3),
        end_date=today - datetime.timedelta(days=1) if today.day > 1 else today,
        host_country="UGA",
        participants=[{"partner": "UGA"}, {"partner": "KEN"}, {"partner": "TZA"}],
        organizations=["EAC"],
        after_action={
            "summary": "Joint boarding drills.",
            "interoperability_rating": 4,
            "capacity_rating": 3,
            "trust_rating": 5,
        },
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run = AssessmentRun.objects.filter(trigger=RunTrigger.DATA_CHANGE).first()
        if run is not None and run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
            break
        time.sleep(0.3)
    run = AssessmentRun.objects.get(trigger=RunTrigger.DATA_CHANGE)
    assert run.status == RunStatus.SUCCEEDED, run.error
    quarters = sorted({Quarter.of(today - datetime.timedelta(days=3)), Quarter.of(today)})
    assert run.periods == [str(q) for q in quarters]
    score = PartnerScore.objects.get(partner__iso3="UGA", period=Quarter.current().start)
    assert score.run_id == run.pk and score.engagement_count == 1
    assert score.multilateral == pytest.approx(100.0) and score.trust == pytest.approx(100.0)
    assert score.interoperability == pytest.approx(75.0)
    assert set(PartnerScore.objects.filter(period=Quarter.current().start).values_list("partner__iso3", flat=True)) == {
        "KEN",
        "TZA",
        "UGA",
    }
    assert not PartnerChange.objects.filter(processed_at__isnull=True).exists()
