"""A run counts the activity of its quarters beside its scores, on a connection of its own
(``activity_count_start``), when its transaction is the outermost one: these tests commit for real
(``transaction=True``) so that the counting thread sees the engagements, and compare what the run stored with
a count from scratch and with the pairs counted live."""

from __future__ import annotations

import datetime
import threading
from unittest import mock

import pytest
from django.db import connection

from assessments.models import AssessmentRun, QuarterActivity, QuarterActivityDelta
from assessments.periods import Quarter
from assessments.services import activity, assessment_run_execute, assessment_run_request
from assessments.services.activity import activity_count_by_scope
from organizations.models import Membership
from tests.assessments.factories import make_engagement
from tests.assessments.test_activity_changes import live_pairs, pairs
from tests.assessments.test_activity_one_pass import stored

pytestmark = [
    pytest.mark.requires_postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the counting thread is PostgreSQL's"),
]

D = datetime.date
Q4 = Quarter(2024, 4)


def _run(quarters):
    return assessment_run_execute(run_id=assessment_run_request(periods=[str(q) for q in quarters], enqueue=False).pk)


def test_the_count_beside_the_scores_equals_a_count_from_scratch(reference_data):
    make_engagement(["GHA", "SEN", "NGA"], D(2024, 10, 1), D(2024, 10, 3))
    make_engagement(["KEN", "TZA"], D(2024, 11, 5), D(2024, 11, 9), sensitivity="restricted")
    make_engagement([], D(2024, 12, 5), D(2024, 12, 6), engagement_type="advisory_mission")
    started = []
    real_start = activity.ActivityCounting.start.__func__

    def spy(cls, quarters, **kwargs):
        counting = real_start(cls, quarters, **kwargs)
        started.append(counting._thread)
        return counting

    with mock.patch.object(activity.ActivityCounting, "start", classmethod(spy)):
        done = _run([Q4])
        assert done.status == "succeeded", done.error
        assert len(started) == 1 and started[0] is not threading.current_thread()  # counted in a thread
        assert stored([Q4]) == activity_count_by_scope([Q4])
        assert pairs(Q4) == live_pairs(Q4) and len(pairs(Q4)) == 4  # GHA-SEN, GHA-NGA, NGA-SEN, KEN-TZA
        make_engagement(["GHA", "SEN"], D(2024, 12, 1), D(2024, 12, 2))  # a write: its deltas added
        assert _run([Q4]).status == "succeeded"
        assert len(started) == 1
        assert stored([Q4]) == activity_count_by_scope([Q4])
        assert pairs(Q4) == live_pairs(Q4)
        assert ("", "", Q4) in stored([Q4]) and sum(stored([Q4])[("", "", Q4)].engagements.values()) == 4
        # Who is in a scope changed: the quarter is counted from scratch again, and the deltas of the write
        # committed before (none left) and of this one are not added on top.
        make_engagement(["KEN"], D(2024, 12, 3), D(2024, 12, 4))
        Membership.objects.filter(partner__iso3="SEN", organization__acronym="ECOWAS").update(joined=D(2024, 11, 20))
        assert _run([Q4]).status == "succeeded"
    assert len(started) == 2
    assert not QuarterActivityDelta.objects.filter(period=Q4.start).exists()
    assert stored([Q4]) == activity_count_by_scope([Q4])
    assert pairs(Q4) == live_pairs(Q4)
    assert sum(stored([Q4])[("", "", Q4)].engagements.values()) == 5


def test_a_failed_count_fails_the_run_and_keeps_the_earlier_snapshots(reference_data):
    make_engagement(["GHA", "SEN"], D(2024, 10, 1), D(2024, 10, 3))
    assert _run([Q4]).status == "succeeded"
    before = stored([Q4])
    make_engagement(["FRA", "DEU"], D(2024, 11, 1), D(2024, 11, 2))
    Membership.objects.filter(partner__iso3="SEN", organization__acronym="ECOWAS").update(joined=D(2024, 9, 1))
    failing = mock.patch.object(activity, "_count_in_one_pass", side_effect=RuntimeError("disk full"))
    with failing, pytest.raises(RuntimeError, match="disk full"):  # raised in the thread, handed to the run
        _run([Q4])
    failed = AssessmentRun.objects.order_by("-created_at").first()
    assert failed.status == "failed" and "disk full" in failed.error
    assert stored([Q4]) == before  # the earlier counts stay
    assert QuarterActivity.objects.filter(period=Q4.start).exists()
    assert _run([Q4]).status == "succeeded"  # the failed run's marks came back: the next run recounts
    assert stored([Q4]) == activity_count_by_scope([Q4]) != before


@pytest.mark.parametrize("workers, in_a_thread", [(0, False), (-1, True)])
def test_a_run_queued_by_saves_and_kept_to_one_process_counts_after_its_scores_not_beside_them(
    reference_data, settings, workers, in_a_thread
):
    """A data-change run with ``ASSESSMENT_DATA_CHANGE_PARALLEL_WORKERS`` at 0 leaves the other cores to the
    pages and the saves: the count's thread would take one of them. With the server's setting (-1) it counts
    beside its scores again. Either way the same counts."""
    from assessments.choices import RunTrigger

    settings.ASSESSMENT_DATA_CHANGE_PARALLEL_WORKERS = workers
    make_engagement(["GHA", "SEN", "NGA"], D(2024, 10, 1), D(2024, 10, 3))
    started = []
    real_start = activity.ActivityCounting.start.__func__

    def spy(cls, quarters, **kwargs):
        started.append(quarters)
        return real_start(cls, quarters, **kwargs)

    with mock.patch.object(activity.ActivityCounting, "start", classmethod(spy)):
        run = assessment_run_request(trigger=RunTrigger.DATA_CHANGE, periods=[str(Q4)], enqueue=False)
        done = assessment_run_execute(run_id=run.pk)
    assert done.status == "succeeded", done.error
    assert bool(started) is in_a_thread
    assert stored([Q4]) == activity_count_by_scope([Q4])
    assert pairs(Q4) == live_pairs(Q4) and len(pairs(Q4)) == 3
