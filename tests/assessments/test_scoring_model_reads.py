"""Reads never write the active scoring model: `migrate` (and a flush) makes version 1, pages and the API
only read it, and with every model deactivated they say so with a 503 instead of inventing one."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from assessments.models import ScoringModel
from assessments.services.runs import NoActiveScoringModel, scoring_model_active, scoring_model_ensure

pytestmark = pytest.mark.django_db


def test_the_migrations_leave_version_one_active():
    assert scoring_model_active().version == 1


def test_reading_the_active_model_is_one_select(django_assert_num_queries):
    with django_assert_num_queries(1) as captured:
        scoring_model_active()
    assert captured.captured_queries[0]["sql"].lstrip().upper().startswith("SELECT")


def test_an_empty_table_is_filled_by_migrate_only():
    ScoringModel.objects.all().delete()
    with pytest.raises(NoActiveScoringModel):
        scoring_model_active()
    assert not ScoringModel.objects.exists()  # the read created nothing
    created = scoring_model_ensure()
    assert created.version == 1 and created.is_active
    assert scoring_model_ensure() is None  # a table with models is left alone


@pytest.mark.parametrize(
    "path",
    ["/assessments/", "/assessments/partners/SEN/", "/assessments/methodology/", "/assessments/regions/africa/"],
)
def test_pages_say_no_model_is_active_and_create_none(client_for, analyst, path):
    ScoringModel.objects.update(is_active=False)
    response = client_for(analyst).get(path)
    assert response.status_code == 503
    assert "No scoring model is active" in response.content.decode()
    assert not ScoringModel.objects.filter(is_active=True).exists()


@pytest.mark.parametrize("path", ["/api/v1/assessments/scores/", "/api/v1/assessments/alerts/"])
def test_the_api_answers_503_in_its_error_format(api_for, analyst, path):
    ScoringModel.objects.update(is_active=False)
    response = api_for(analyst).get(path)
    assert response.status_code == 503
    assert response.json()["code"] == "unavailable"
    assert "No scoring model is active" in response.json()["detail"]


def test_the_command_reports_it_without_a_traceback():
    ScoringModel.objects.update(is_active=False)
    with pytest.raises(CommandError, match="No scoring model is active"):
        call_command("compute_scores")
