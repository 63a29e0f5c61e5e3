"""History records written in SQL for bulk inserts: the same records simple_history writes, only for the
rows named, on either SQL path."""

from __future__ import annotations

import contextlib
import datetime
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from core import history
from core.history import history_record_created
from engagements.models import Engagement, Participation
from tests.assessments.factories import make_engagement

pytestmark = pytest.mark.django_db

D = datetime.date


def _fields(row, model):
    return {f.attname: getattr(row, f.attname) for f in model._meta.concrete_fields}


@pytest.mark.parametrize("path", ["native", "in-lists"])
def test_created_records_copy_the_rows_with_who_and_when(reference_data, make_user, path):
    planner = make_user("planner-h", "planner")
    first = make_engagement(["GHA", "SEN"], D(2024, 1, 1), D(2024, 1, 5), title="Obangame Express", budget_usd=12.5)
    second = make_engagement(["FRA"], D(2024, 2, 1), D(2024, 2, 2), latitude=5.5, threat_focus=["piracy"])
    untouched = make_engagement(["KEN"], D(2024, 3, 1), D(2024, 3, 2))
    Engagement.history.all().delete()
    Participation.history.all().delete()
    when = timezone.now() - datetime.timedelta(days=1)
    # "in-lists" is the path of databases without arrays, one id per statement here to cross chunks.
    generic = mock.patch.object(connection, "vendor", "other") if path == "in-lists" else contextlib.nullcontext()
    with generic, mock.patch.object(history, "CHUNK", 1):
        history_record_created(Engagement, where_field="id", values=[first.pk, second.pk], user=planner, date=when)
        history_record_created(
            Participation, where_field="engagement", values=[first.pk, second.pk], user=planner, date=when
        )
    assert sorted(Engagement.history.values_list("id", flat=True)) == sorted([first.pk, second.pk])
    for engagement in (first, second):
        engagement.refresh_from_db()
        record = Engagement.history.get(id=engagement.pk)
        assert (record.history_type, record.history_user, record.history_date) == ("+", planner, when)
        assert record.history_change_reason is None
        copied = _fields(record.instance, Engagement)
        assert copied == _fields(engagement, Engagement)
    assert not Engagement.history.filter(id=untouched.pk).exists()
    assert Participation.history.count() == 3 and set(Participation.history.values_list("history_type", flat=True)) == {
        "+"
    }
    assert {r.partner.iso3 for r in Participation.history.filter(engagement_id=first.pk)} == {"GHA", "SEN"}


def test_nothing_named_writes_nothing(reference_data):
    history_record_created(Engagement, where_field="id", values=[], date=timezone.now())
    assert not Engagement.history.exists()


def test_engagement_history_is_indexed_only_by_what_its_queries_read():
    from engagements.models import HISTORY_UNINDEXED

    history = Engagement.history.model
    with connection.cursor() as cursor:
        indexed = {
            column
            for constraint in connection.introspection.get_constraints(cursor, history._meta.db_table).values()
            if constraint["index"] or constraint["primary_key"]
            for column in constraint["columns"]
        }
    assert {"history_id", "id", "history_date", "history_user_id"} <= indexed
    assert not indexed & {history._meta.get_field(name).column for name in HISTORY_UNINDEXED}
