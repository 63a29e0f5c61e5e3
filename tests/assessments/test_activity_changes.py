"""A run recounts a quarter's activity and pairs only when a write may have changed them since its last count
(``QuarterActivityChange``, written by the database's triggers): never a stale count after a write of any
kind, and no count at all when nothing changed."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assessments.models import AssessmentRun, PairQuarter, QuarterActivity, QuarterActivityChange, QuarterActivityDelta
from assessments.periods import Quarter, quarter_range
from assessments.services import assessment_run_execute, assessment_run_request
from assessments.services.activity import activity_count_by_scope, changed_quarters_take, quarters_to_count
from assessments.services.pairs import pair_rows
from engagements.models import Engagement, Participation
from organizations.models import Membership, Organization
from partners.models import PartnerNation
from tests.assessments.factories import make_engagement
from tests.assessments.test_activity_one_pass import stored

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the database marks the changes"),
]

D = datetime.date
Q3, Q4 = Quarter(2024, 3), Quarter(2024, 4)
COUNT = "WITH counted AS MATERIALIZED"


def run(quarters) -> tuple[AssessmentRun, int]:
    """Execute a run of ``quarters``; with the number of counting statements it issued."""
    with CaptureQueriesContext(connection) as queries:
        done = assessment_run_execute(
            run_id=assessment_run_request(periods=[str(q) for q in quarters], enqueue=False).pk
        )
    assert done.status == "succeeded", done.error
    return done, sum(COUNT in query["sql"] for query in queries.captured_queries)


def pairs(quarter) -> set:
    return set(
        PairQuarter.objects.filter(period=quarter.start).values_list("partner", "other", "restricted", "engagements")
    )


def live_pairs(quarter) -> set:
    return {
        (row["partner_id"], row["other"], row["restricted"], row["engagements"])
        for row in pair_rows(first_day=quarter.start, last_day=quarter.end)
    }


def test_a_quarter_nothing_changed_is_not_counted_again(world):
    first, counting = run([Q4])
    assert counting == 1
    assert not QuarterActivityChange.objects.filter(period=Q4.start).exists()  # taken by the count
    before = stored([Q4])
    again, counting = run([Q4])
    assert counting == 0
    assert stored([Q4]) == before == activity_count_by_scope([Q4])
    # The snapshot is still the first run's: it counted what is still there.
    assert set(QuarterActivity.objects.filter(period=Q4.start).values_list("run", flat=True)) == {first.pk}


def test_a_write_in_another_quarter_leaves_this_one_alone(world):
    run([Q3, Q4])
    make_engagement(["GHA", "SEN"], D(2023, 5, 1), D(2024, 11, 30))  # starts in 2023: counted there only
    _run, counting = run([Q3, Q4])
    assert counting == 0
    _run, counting = run([Quarter(2023, 2)])
    assert counting == 1


def _engagement(start):
    return Engagement.objects.filter(start_date=start).exclude(status="cancelled").get()


def _membership(iso3, acronym):
    return Membership.objects.filter(partner__iso3=iso3, organization__acronym=acronym)


# Writes of every kind the counts read, each made as directly as the database allows (the services end in
# the same statements; the import and the services' paths are in test_activity_one_pass.py).
WRITES = {
    "engagement created": lambda: make_engagement(["KEN"], D(2024, 10, 20), D(2024, 10, 21)),
    "engagement cancelled": lambda: Engagement.objects.filter(pk=_engagement(D(2024, 10, 1)).pk).update(
        status="cancelled"
    ),
    "engagement deleted (kept)": lambda: Engagement.objects.filter(pk=_engagement(D(2024, 10, 1)).pk).update(
        deleted_at=timezone.now()
    ),
    "engagement removed": lambda: _engagement(D(2024, 11, 1)).delete(),
    "engagement moved to another quarter": lambda: Engagement.objects.filter(pk=_engagement(D(2024, 10, 1)).pk).update(
        start_date=D(2024, 9, 20)
    ),
    "engagement restricted": lambda: Engagement.objects.filter(pk=_engagement(D(2024, 10, 1)).pk).update(
        sensitivity="restricted"
    ),
    "engagement retyped": lambda: Engagement.objects.filter(pk=_engagement(D(2024, 10, 1)).pk).update(
        engagement_type="exercise"
    ),
    "participant added": lambda: Participation.objects.create(
        engagement=_engagement(D(2024, 11, 1)), partner=PartnerNation.objects.get(iso3="FRA")
    ),
    "participant replaced": lambda: Participation.objects.filter(
        engagement=_engagement(D(2024, 10, 1)), partner__iso3="GHA"
    ).update(partner=PartnerNation.objects.get(iso3="USA")),
    "participant removed": lambda: Participation.objects.filter(
        engagement=_engagement(D(2024, 10, 1)), partner__iso3="SEN"
    ).delete(),
    "membership joined earlier": lambda: _membership("GHA", "ECOWAS").update(joined=D(2024, 1, 1)),
    "membership ended": lambda: _membership("GHA", "ECOWAS").delete(),
    "membership suspended to withdrawn": lambda: _membership("NGA", "ECOWAS").update(status="withdrawn"),
    "membership added": lambda: Membership.objects.create(
        partner=PartnerNation.objects.get(iso3="KEN"), organization=Organization.objects.get(acronym="ECOWAS")
    ),
    "partner's region": lambda: PartnerNation.objects.filter(iso3="SEN").update(subregion="Somewhere else"),
    "organization renamed": lambda: Organization.objects.filter(acronym="ECOWAS").update(acronym="CEDEAO"),
}


# Writes that change which partners are in which scope: the quarters are counted again from scratch. The others
# leave deltas, which the next run adds to the snapshots without counting.
RECOUNTED = {
    "membership joined earlier",
    "membership ended",
    "membership suspended to withdrawn",
    "membership added",
    "partner's region",
    "organization renamed",
}


@pytest.mark.parametrize("write", list(WRITES))
def test_a_run_after_any_write_counts_what_is_there(world, write):
    """After the write, a run (not the one the write may queue) gives the counts and pairs of a count from
    scratch, and they differ from before: no stale snapshot survives a write of any kind, whether the run
    counted again or added the write's deltas."""
    quarters = [Q3, Q4]
    run(quarters)
    before = stored(quarters), {q: pairs(q) for q in quarters}
    WRITES[write]()
    in_run = QuarterActivityDelta.objects.filter(period__in=[q.start for q in quarters])
    assert in_run.exists() == (write not in RECOUNTED)
    _run, counting = run(quarters)
    assert counting == (1 if write in RECOUNTED else 0)
    assert not in_run.exists()
    after = stored(quarters), {q: pairs(q) for q in quarters}
    assert after[0] == activity_count_by_scope(quarters)
    assert after[1] == {q: live_pairs(q) for q in quarters}
    assert after != before  # the write moved the counts


def test_a_write_that_changes_nothing_counted_marks_nothing(world):
    run([Q4])
    QuarterActivityChange.objects.all().delete()
    subject = _engagement(D(2024, 10, 1))
    Engagement.objects.filter(pk=subject.pk).update(title="Renamed", end_date=D(2024, 10, 5))
    _membership("GHA", "ECOWAS").update(notes="Checked")
    PartnerNation.objects.filter(iso3="SEN").update(name="Senegal again")
    assert not QuarterActivityChange.objects.exists()
    assert run([Q4])[1] == 0


def test_scope_changes_mark_every_quarter_with_engagements(world):
    QuarterActivityChange.objects.all().delete()
    _membership("GHA", "ECOWAS").update(joined=D(2024, 1, 1))
    periods = set(QuarterActivityChange.objects.values_list("period", flat=True))
    # The world's engagements start from 2023-Q1 to 2025-Q1.
    assert periods == {q.start for q in quarter_range(Quarter(2023, 1), Quarter(2025, 1))}


def test_taking_the_changes_takes_only_the_quarters_asked(world):
    QuarterActivityChange.objects.all().delete()
    QuarterActivityChange.objects.bulk_create(
        [QuarterActivityChange(period=q.start) for q in (Q3, Q3, Q4, Quarter(2025, 1))]
    )
    assert changed_quarters_take([Q3, Q4, Quarter(2023, 1)]) == {Q3, Q4}
    assert list(QuarterActivityChange.objects.values_list("period", flat=True)) == [Quarter(2025, 1).start]


def test_a_quarter_never_counted_is_counted_without_a_change(world):
    QuarterActivityChange.objects.all().delete()
    assert quarters_to_count([Q3, Q4]) == [Q3, Q4]


def test_a_failed_run_keeps_the_changes_for_the_next(world):
    from unittest import mock

    run([Q4])
    make_engagement(["KEN"], D(2024, 10, 20), D(2024, 10, 21))
    failing = mock.patch("assessments.services.activity._deltas_add", side_effect=RuntimeError("disk full"))
    with failing, pytest.raises(RuntimeError):
        run([Q4])
    assert QuarterActivityDelta.objects.filter(period=Q4.start).exists()
    _run, counting = run([Q4])
    assert counting == 0 and stored([Q4]) == activity_count_by_scope([Q4])


def test_a_failed_count_keeps_the_marks_for_the_next(world):
    from unittest import mock

    run([Q4])
    _membership("GHA", "ECOWAS").update(joined=D(2024, 1, 1))
    failing = mock.patch("assessments.services.activity.activity_rows", side_effect=RuntimeError("disk full"))
    with failing, pytest.raises(RuntimeError):
        run([Q4])
    assert QuarterActivityChange.objects.filter(period=Q4.start).exists()
    _run, counting = run([Q4])
    assert counting == 1 and stored([Q4]) == activity_count_by_scope([Q4])
