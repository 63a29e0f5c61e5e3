"""A run after writes adds their deltas (``QuarterActivityDelta``, written by the database's triggers) to the
activity snapshots and partner pairs instead of counting the quarter again: the result must be the count
from scratch, after any sequence of writes, and a count from scratch must remove exactly the deltas it saw."""

from __future__ import annotations

import datetime
import logging
import random

import pytest
from django.db import connection
from django.utils import timezone

from assessments.models import QuarterActivityChange, QuarterActivityCount, QuarterActivityDelta
from assessments.periods import Quarter
from assessments.services.activity import activity_count_by_scope, deltas_settle
from engagements.models import Engagement, Participation
from partners.models import PartnerNation
from tests.assessments.factories import make_engagement
from tests.assessments.test_activity_changes import live_pairs, pairs, run
from tests.assessments.test_activity_one_pass import stored

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the database writes the deltas"),
]

D = datetime.date
Q3, Q4 = Quarter(2024, 3), Quarter(2024, 4)
CODES = ["GHA", "SEN", "NGA", "KEN", "TZA", "FRA", "DEU", "USA", "MAR"]
TYPES = ["exercise", "training_exchange", "advisory_mission"]


def _day(rng) -> datetime.date:
    return D(2024, 7, 1) + datetime.timedelta(days=rng.randrange(184))  # Q3 and Q4 of 2024


def _random_write(rng) -> None:
    """One write of a kind planners make, on a random engagement of Q3 or Q4 2024."""
    engagements = list(Engagement.objects.filter(start_date__gte=Q3.start, start_date__lte=Q4.end).order_by("pk"))
    subject = rng.choice(engagements)
    same = Engagement.objects.filter(pk=subject.pk)
    kind = rng.randrange(9)
    if kind == 0:
        start = _day(rng)
        make_engagement(
            rng.sample(CODES, rng.randrange(4)),
            start,
            start + datetime.timedelta(days=2),
            status=rng.choice(["completed", "in_progress", "planned", "cancelled"]),
            sensitivity=rng.choice(["unclassified", "restricted"]),
            engagement_type=rng.choice(TYPES),
        )
    elif kind == 1:
        same.update(status=rng.choice(["completed", "in_progress", "planned", "cancelled"]))
    elif kind == 2:
        same.update(deleted_at=None if subject.deleted_at else timezone.now())
    elif kind == 3:
        start = _day(rng)
        same.update(start_date=start, end_date=start + datetime.timedelta(days=1))
    elif kind == 4:
        same.update(sensitivity="unclassified" if subject.sensitivity == "restricted" else "restricted")
    elif kind == 5:
        same.update(engagement_type=rng.choice(TYPES))
    elif kind == 6:
        taken = set(subject.participations.values_list("partner__iso3", flat=True))
        free = [code for code in CODES if code not in taken]
        if free:
            Participation.objects.create(engagement=subject, partner=PartnerNation.objects.get(iso3=rng.choice(free)))
    elif kind == 7:
        one = subject.participations.order_by("?").first()
        if one is not None:
            one.delete()
    else:
        subject.delete()


@pytest.mark.parametrize("seed", range(6))
def test_any_sequence_of_writes_ends_in_the_count_from_scratch(world, seed):
    rng = random.Random(seed)
    quarters = [Q3, Q4]
    run(quarters)
    for _round in range(4):
        for _write in range(rng.randrange(1, 6)):
            _random_write(rng)
        _run, counting = run(quarters)
        assert counting == 0  # the deltas were added, nothing counted again
        assert stored(quarters) == activity_count_by_scope(quarters)
        assert {q: pairs(q) for q in quarters} == {q: live_pairs(q) for q in quarters}
    assert not QuarterActivityDelta.objects.filter(period__in=[Q3.start, Q4.start]).exists()


def test_a_write_that_changes_nothing_counted_writes_no_delta(world):
    run([Q4])
    subject = Engagement.objects.filter(start_date=D(2024, 10, 1)).get()
    Engagement.objects.filter(pk=subject.pk).update(title="Renamed", end_date=D(2024, 10, 5))
    assert not QuarterActivityDelta.objects.filter(period=Q4.start).exists()


def test_a_delta_holds_the_part_before_and_after(world):
    run([Q4])
    subject = Engagement.objects.filter(start_date=D(2024, 10, 1)).get()
    Engagement.objects.filter(pk=subject.pk).update(sensitivity="restricted")
    parts = {
        (row.sign, row.restricted, row.engagement_type, tuple(row.partner_ids))
        for row in QuarterActivityDelta.objects.filter(period=Q4.start)
    }
    assert parts == {
        (-1, False, "training_exchange", tuple(subject.partner_ids)),
        (1, True, "training_exchange", tuple(subject.partner_ids)),
    }


def test_a_cancelled_engagement_changed_writes_no_delta(world):
    run([Q4])
    cancelled = Engagement.objects.filter(status="cancelled").get()
    Engagement.objects.filter(pk=cancelled.pk).update(engagement_type="exercise")
    assert not QuarterActivityDelta.objects.filter(period=Q4.start).exists()


def test_a_statement_of_many_engagements_marks_its_quarters_instead(world):
    run([Q3, Q4])
    QuarterActivityChange.objects.all().delete()
    QuarterActivityDelta.objects.all().delete()
    Engagement.objects.bulk_create(
        [Engagement(**_copy(world[0]), reference=f"ENG-2098-{n:06d}") for n in range(1001)], batch_size=2000
    )
    assert not QuarterActivityDelta.objects.exists()
    assert set(QuarterActivityChange.objects.values_list("period", flat=True)) == {Q3.start}
    _run, counting = run([Q3, Q4])
    assert counting == 1 and stored([Q3, Q4]) == activity_count_by_scope([Q3, Q4])


def _copy(engagement: Engagement) -> dict:
    """The engagement's fields, without participants (a copy has none)."""
    skip = {"id", "reference", "search_document"}
    fields = {
        field.attname: getattr(engagement, field.attname)
        for field in Engagement._meta.concrete_fields
        if field.attname not in skip and not field.primary_key
    }
    return {**fields, "partner_ids": [], "partner_count": 0}


def test_a_snapshot_that_disagrees_with_its_deltas_is_counted_again(world, caplog):
    run([Q4])
    # Something other than a run took a count from the snapshot: a delta now takes it below zero.
    QuarterActivityCount.objects.filter(period=Q4.start, engagement_type="training_exchange").delete()
    subject = Engagement.objects.filter(start_date=D(2024, 10, 1)).get()
    Engagement.objects.filter(pk=subject.pk).update(engagement_type="exercise")
    with caplog.at_level(logging.WARNING, logger="assessments.services.activity"):
        run([Q4])
    assert "disagrees with its deltas" in caplog.text
    assert stored([Q4]) == activity_count_by_scope([Q4])
    assert pairs(Q4) == live_pairs(Q4)


def test_a_count_from_scratch_removes_the_deltas_it_saw_and_keeps_the_others():
    """Deltas of transactions committed before the count's first snapshot are removed; those committed
    while it ran are removed and their quarter marked to be counted again; later ones are kept."""
    QuarterActivityChange.objects.all().delete()
    table = QuarterActivityDelta._meta.db_table
    with connection.cursor() as cursor:
        for xid, period in ((50, Q4.start), (150, Q4.start), (250, Q4.start), (50, Q3.start)):
            cursor.execute(
                f"INSERT INTO {table} (period, sign, engagement_type, restricted, scored, start_date, partner_ids, xid) "  # noqa: S608
                "VALUES (%s, 1, 'exercise', FALSE, TRUE, %s, '{}', %s::text::xid8)",
                [period, period, xid],
            )
    deltas_settle([Q4], ("100:100:", "200:200:"))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT xid::text, period FROM {table} ORDER BY 1, 2")  # noqa: S608
        kept = cursor.fetchall()
    assert kept == [("250", Q4.start), ("50", Q3.start)]
    assert list(QuarterActivityChange.objects.values_list("period", flat=True)) == [Q4.start]
