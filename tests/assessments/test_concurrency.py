"""Two runs for the same quarters at the same time, on PostgreSQL: the lock serialises them."""

import datetime
import threading

import pytest
from django.db import connection

from assessments.choices import RunStatus, RunTrigger
from assessments.models import AssessmentRun, PartnerScore
from assessments.periods import Quarter
from assessments.services import assessment_run_execute, assessment_run_request, scores_compute, scoring_model_active
from tests.assessments.factories import make_engagement

pytestmark = [pytest.mark.requires_postgres, pytest.mark.django_db(transaction=True)]

D = datetime.date


@pytest.mark.parametrize("lock", ["redis-when-configured", "database"])
def test_two_concurrent_runs_give_one_consistent_result(reference_data, settings, lock):
    if lock == "database":
        settings.REDIS_URL = ""  # the lease row in the database instead of Redis
    for day in range(1, 21):
        make_engagement(["KEN", "TZA", "UGA"][: 2 + day % 2], D(2024, 3, day), D(2024, 3, day), ratings=(3, 4, 5))
    make_engagement(["GHA", "SEN"], D(2023, 5, 1), D(2023, 5, 9), organizations=["ECOWAS"])
    periods = [str(q) for q in Quarter(2024, 4).window(8)]
    runs = [assessment_run_request(trigger=RunTrigger.MANUAL, periods=periods, enqueue=False).pk for _ in range(2)]
    barrier, errors = threading.Barrier(2), []

    def execute(run_id):
        try:
            barrier.wait(timeout=10)
            assessment_run_execute(run_id=run_id, lock_wait=120)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=execute, args=(run_id,)) for run_id in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert errors == []
    first, second = sorted(AssessmentRun.objects.filter(pk__in=runs), key=lambda r: r.started_at)
    assert first.status == second.status == RunStatus.SUCCEEDED
    # They never interleaved: the second started after the first had finished.
    assert first.finished_at <= second.started_at
    # One consistent result: one row per partner and quarter, all from the last run, equal to a fresh computation.
    model = scoring_model_active()
    expected = {
        (pid, q.start): score.overall
        for q in Quarter(2024, 4).window(8)
        for pid, score in scores_compute(quarter=q, model=model).items()
    }
    stored = {(s.partner_id, s.period): s.overall for s in PartnerScore.objects.all()}
    # KEN, TZA, UGA: 2024-Q1..Q4 (4 quarters each); GHA, SEN: 2023-Q2..2024-Q4 (7 each): 26 rows.
    assert len(stored) == 3 * 4 + 2 * 7 and stored.keys() == expected.keys()
    assert all(stored[key] == pytest.approx(expected[key]) for key in expected)
    assert set(PartnerScore.objects.values_list("run", flat=True)) == {second.pk}
