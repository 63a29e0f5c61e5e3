"""core/copy.py: rows written by COPY come back exactly as given, with their ids and defaults."""

import pytest
from django.db import IntegrityError, transaction

from core.copy import copy_columns, copy_new, copy_values, in_background, wait_for_background
from core.hostile import NullCharacterError
from engagements.models import ExerciseSeries

pytestmark = pytest.mark.django_db

AWKWARD = 'tab\there, \\N, back\\slash, "quoted", a\nnew line and a\rreturn'


def test_values_come_back_exactly_and_ids_are_the_tables():
    created = copy_new(ExerciseSeries, [{"slug": "first", "name": AWKWARD}, {"slug": "second", "name": "\\N"}])
    assert all(s.pk and not s._state.adding for s in created)
    stored = {s.pk: s for s in ExerciseSeries.objects.filter(pk__in=[s.pk for s in created])}
    assert [stored[s.pk].name for s in created] == [AWKWARD, "\\N"]
    assert stored[created[0].pk].description == ""  # a value left out takes the field's default
    later = ExerciseSeries.objects.create(slug="third", name="Third")
    assert later.pk > max(s.pk for s in created)  # the sequence moved past the drawn ids
    copy_values(ExerciseSeries, [{"slug": "fourth", "name": "Fourth"}])
    assert ExerciseSeries.objects.filter(slug="fourth", lead_organization=None).exists()


def test_a_null_character_is_refused_and_nothing_written():
    with pytest.raises(NullCharacterError):
        copy_values(ExerciseSeries, [{"slug": "ok", "name": "fine"}, {"slug": "bad", "name": "a\x00b"}])
    assert not ExerciseSeries.objects.filter(slug__in=["ok", "bad"]).exists()


def test_in_background_sends_in_order_while_this_thread_queries():
    with transaction.atomic(), in_background() as writer:
        assert writer is not None  # PostgreSQL, in a transaction: a second thread sends
        copy_values(ExerciseSeries, [{"slug": "bg-1", "name": "One"}])
        assert not ExerciseSeries.objects.filter(slug="nothing").exists()  # this thread's query, meanwhile
        copy_values(ExerciseSeries, [{"slug": "bg-2", "name": "Two"}])
        wait_for_background()
        assert ExerciseSeries.objects.filter(slug__in=["bg-1", "bg-2"]).count() == 2
        copy_values(ExerciseSeries, [{"slug": "bg-3", "name": "Three"}])
    assert ExerciseSeries.objects.filter(slug__startswith="bg-").count() == 3  # the block waited for the rest


def test_a_failure_in_the_background_is_raised_and_everything_rolls_back():
    with pytest.raises(IntegrityError), transaction.atomic(), in_background():
        copy_values(ExerciseSeries, [{"slug": "first", "name": "First"}])
        copy_values(ExerciseSeries, [{"slug": "twice", "name": "A"}, {"slug": "twice", "name": "B"}])
    assert not ExerciseSeries.objects.filter(slug__in=["first", "twice"]).exists()


def test_columns_come_back_as_given_with_defaults_and_refuse_ragged_input():
    copy_columns(ExerciseSeries, {"slug": ["col-1", "col-2"], "name": [AWKWARD, "\\N"]})
    stored = dict(ExerciseSeries.objects.filter(slug__in=["col-1", "col-2"]).values_list("slug", "name"))
    assert stored == {"col-1": AWKWARD, "col-2": "\\N"}
    assert ExerciseSeries.objects.filter(slug="col-1", description="", lead_organization=None).exists()
    with pytest.raises(ValueError):
        copy_columns(ExerciseSeries, {"slug": ["a", "b"], "name": ["only one"]})
    with pytest.raises(ValueError):
        copy_columns(ExerciseSeries, {"slug": ["a"], "no_such_column": ["x"]})
    copy_columns(ExerciseSeries, {"slug": [], "name": []})  # nothing to write
    assert ExerciseSeries.objects.filter(slug__startswith="col-").count() == 2
