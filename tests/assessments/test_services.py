"""Objectives, indicators and measurements: bad input refused with field messages, recomputes requested."""

import datetime
import math

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from assessments.choices import RunTrigger
from assessments.models import AssessmentRun, Indicator
from assessments.periods import Quarter, quarter_range
from assessments.services import (
    indicator_create,
    indicator_update,
    measurement_create,
    objective_create,
    objective_delete,
)
from tests.assessments.factories import IndicatorFactory, ObjectiveFactory, partner

pytestmark = pytest.mark.django_db

D = datetime.date


def test_objective_create_resolves_the_partner_code(reference_data, analyst):
    objective = objective_create(
        created_by=analyst, partner="ken", line_of_effort="maritime_security", title="Coastal patrols"
    )
    assert objective.partner.iso3 == "KEN" and objective.created_by == analyst
    with pytest.raises(ValidationError) as error:
        objective_create(partner="XXX", line_of_effort="maritime_security", title="t")
    assert "Unknown country code" in error.value.message_dict["partner"][0]
    with pytest.raises(ValidationError) as error:
        objective_create(partner="KEN", line_of_effort="space_race", title="")
    assert set(error.value.message_dict) == {"line_of_effort", "title"}


def test_indicator_with_target_equal_to_baseline_is_refused_everywhere(reference_data):
    objective = ObjectiveFactory()
    with pytest.raises(ValidationError) as error:
        indicator_create(objective=objective, name="Patrols", baseline_value=5, target_value=5)
    assert "must differ from the baseline" in error.value.message_dict["target_value"][0]
    indicator = indicator_create(objective=objective, name="Patrols", baseline_value=5, target_value=9)
    with pytest.raises(ValidationError):
        indicator_update(indicator=indicator, target_value=5)
    with pytest.raises(ValidationError) as error:
        indicator_update(indicator=indicator, baseline_value=math.inf)
    assert "finite" in error.value.message_dict["baseline_value"][0]
    indicator.refresh_from_db()
    assert indicator.target_value == 9
    # The database refuses it too, whatever path a write takes.
    with pytest.raises(IntegrityError), transaction.atomic():
        Indicator.objects.bulk_create([Indicator(objective=objective, name="x", baseline_value=1, target_value=1)])


def test_measurements_are_validated(reference_data, analyst):
    indicator = IndicatorFactory()
    measurement_create(indicator=indicator, date=D(2024, 5, 1), value=3, recorded_by=analyst)
    with pytest.raises(ValidationError) as error:
        measurement_create(indicator=indicator, date=D(2024, 5, 1), value=4)
    assert "already has a measurement on this date" in error.value.message_dict["date"][0]
    with pytest.raises(ValidationError) as error:
        measurement_create(indicator=indicator, date=timezone.localdate() + datetime.timedelta(days=1), value=4)
    assert "future" in error.value.message_dict["date"][0]
    with pytest.raises(ValidationError) as error:
        measurement_create(indicator=indicator, date=D(2024, 5, 2), value=math.nan)
    assert "value" in error.value.message_dict
    assert indicator.measurements.count() == 1


def test_a_measurement_queues_the_partners_quarters_from_its_date(reference_data, django_capture_on_commit_callbacks):
    from unittest import mock

    indicator = IndicatorFactory(objective=ObjectiveFactory(partner=partner("SOM")))
    day = Quarter.current().shift(-3).start
    with mock.patch("assessments.tasks.run_assessment.delay"), django_capture_on_commit_callbacks(execute=True):
        measurement_create(indicator=indicator, date=day, value=10)
    run = AssessmentRun.objects.get()
    assert run.trigger == RunTrigger.DATA_CHANGE and run.partner_ids == [partner("SOM").pk]
    assert run.periods == [str(q) for q in quarter_range(Quarter.of(day), Quarter.current())]
    with mock.patch("assessments.tasks.run_assessment.delay"), django_capture_on_commit_callbacks(execute=True):
        objective_delete(objective=indicator.objective)
    assert AssessmentRun.objects.count() == 1  # coalesced into the queued run
