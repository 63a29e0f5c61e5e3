"""core.paging.RowsFirstPaginator: the same pages as Django's paginator, with the rows loaded by id."""

import datetime

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.paging import RowsFirstPaginator
from engagements.models import Engagement
from tests.engagements.factories import EngagementFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def engagements():
    start = datetime.date(2024, 1, 1)
    rows = []
    for n in range(11):
        # Several engagements share a start date, so the id must break ties the same way on every page.
        rows.append(
            EngagementFactory(
                start_date=start + datetime.timedelta(days=n // 3),
                status="completed" if n % 4 else "planned",
                title=f"Exercise {10 - n:02d}",
            )
        )
    return rows


def _load(ids):
    return Engagement.objects.select_related("host_country").filter(pk__in=ids)


@pytest.mark.parametrize(
    "ordering", [("-start_date", "-id"), ("title", "-id"), ("host_country__name", "start_date", "id")]
)
@pytest.mark.parametrize("orphans", [0, 1])
def test_pages_match_djangos_paginator(engagements, ordering, orphans):
    rows = Engagement.objects.filter(status="completed").order_by(*ordering)
    expected = Paginator(rows, 3, orphans=orphans)
    found = RowsFirstPaginator(rows, 3, orphans=orphans, load=_load)
    assert found.count == expected.count == 8
    assert found.num_pages == expected.num_pages
    for number in expected.page_range:
        assert [e.pk for e in found.page(number)] == [e.pk for e in expected.page(number)]


def test_filters_run_in_the_id_subquery_only(engagements):
    rows = Engagement.objects.filter(status="completed").order_by("-start_date", "-id")
    page = RowsFirstPaginator(rows, 3, load=_load).page(2)
    with CaptureQueriesContext(connection) as queries:
        shown = list(page)
    assert len(shown) == 3 and all(e.status == "completed" for e in shown)
    (sql,) = [q["sql"] for q in queries.captured_queries]
    outer, _, inner = sql.partition(" IN (SELECT")
    assert "completed" not in outer and "completed" in inner
    assert "LIMIT 3 OFFSET 3" in inner


def test_without_load_or_order_it_pages_as_django_does(engagements):
    rows = Engagement.objects.order_by("-start_date", "-id")
    assert [e.pk for e in RowsFirstPaginator(rows, 4).page(3)] == [e.pk for e in Paginator(rows, 4).page(3)]
    unordered = list(Engagement.objects.all())
    assert list(RowsFirstPaginator(unordered, 4, load=_load).page(1)) == unordered[:4]


@pytest.mark.parametrize(
    "count, shown", [(10_001, 10_000), (36_388, 36_000), (429_909, 430_000), (999_949, 1_000_000), (42, 42)]
)
def test_an_estimated_count_is_shown_with_two_significant_digits(count, shown):
    paginator = RowsFirstPaginator([], 10)
    paginator.__dict__["count"] = count
    assert paginator.rounded_count == shown


def test_the_head_of_a_split_order_is_counted_only_as_far_as_the_page(engagements):
    """Pages of a SplitOrder past the head, and the head counted capped, give the one-statement order."""
    from django.db.models import Case, F, IntegerField, Q, Value, When

    from core.paging import SplitOrder

    split = SplitOrder(
        head=Q(status="planned"),
        head_order=["start_date", "-id"],
        tail=~Q(status="planned"),
        tail_order=["-start_date", "-id"],
        bucket=Case(When(status="planned", then=Value(0)), default=Value(1), output_field=IntegerField()),
    )
    then = Case(When(status="planned", then=F("start_date"))).asc()
    rows = Engagement.objects.order_by(split, then, F("start_date").desc(), F("id").desc())
    expected = [
        e.pk
        for e in sorted(
            engagements,
            key=lambda e: (
                e.status != "planned",
                e.start_date if e.status == "planned" else -e.start_date.toordinal(),
                -e.pk,
            ),
        )
    ]
    for size in (1, 2, 4):
        for limit in (None, 3):
            seen = []
            paginator = RowsFirstPaginator(rows, size, load=_load, exact_count_limit=limit)
            number = 1
            while True:
                page = paginator.page(number)
                seen += [e.pk for e in page]
                if not page.has_next():
                    break
                number += 1
                paginator = RowsFirstPaginator(rows, size, load=_load, exact_count_limit=limit)
            assert seen == expected, (size, limit)
