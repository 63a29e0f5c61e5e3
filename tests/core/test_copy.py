"""core/copy.py: rows written by COPY come back exactly as given, with their ids and defaults."""

import pytest

from core.copy import copy_new, copy_values
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
