"""A 400 on engagement create or update lists every problem at once: the serializer's (shapes, types,
limits) and the one validator's (engagements/services/inputs.py: codes, dates, duplicates, status rules)."""

import pytest

from engagements import services

pytestmark = pytest.mark.django_db

URL = "/api/v1/engagements/"

BAD = {
    "title": "Everything wrong",
    "engagement_type": "exercise",
    "domain": "land",
    "start_date": "2025-03-10",
    "end_date": "2025-03-01",  # before the start
    "host_country": "XXX",  # no such country
    "series": "no-such-series",
    "organizations": ["NOPE"],
    "budget_usd": "-5",  # below the minimum
    "participants": [
        {"partner": "GHA", "role": "lead"},
        {"partner": "GHA", "role": "bogus", "personnel": -3},  # listed twice, bad role, negative personnel
        {"partner": "ZZZZZ"},  # not even a code's length
        {"partner": "ZZZ"},  # unknown code
    ],
}


def test_create_reports_every_error_in_one_answer(api_for, planner):
    response = api_for(planner).post(URL, BAD, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {
        "end_date",
        "host_country",
        "series",
        "organizations",
        "budget_usd",
        "participants[1].partner",
        "participants[1].role",
        "participants[1].personnel",
        "participants[2].partner",
        "participants[3].partner",
    }, errors
    assert "XXX" in errors["host_country"][0] and "NOPE" in errors["organizations"][0]
    assert "ZZZ" in errors["participants[3].partner"][0]
    assert "twice" in errors["participants[1].partner"][0]
    assert len(errors["participants[2].partner"]) == 1  # the serializer's message, not the validator's again


def test_a_malformed_date_does_not_hide_the_other_errors(api_for, planner):
    body = {**BAD, "start_date": "someday", "participants": [{"partner": "ZZZ"}]}
    errors = api_for(planner).post(URL, body, format="json").json()["errors"]
    assert {"start_date", "host_country", "series", "organizations", "participants[0].partner"} <= set(errors)
    assert "end_date" not in errors  # compared with a start that could not be read: nothing to say


def test_update_reports_every_error_in_one_answer(api_for, planner):
    engagement = services.engagement_create(
        created_by=planner,
        title="To break",
        engagement_type="exercise",
        domain="land",
        start_date="2025-02-10",
        end_date="2025-02-20",
        host_country="GHA",
        participants=[{"partner": "GHA"}],
    ).engagement
    body = {
        "end_date": "2025-01-01",
        "host_country": "XXX",
        "latitude": 200,
        "participants": [{"partner": "SEN", "personnel": -1}, {"partner": "QQQ"}],
    }
    response = api_for(planner).patch(f"{URL}{engagement.pk}/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {
        "end_date",
        "host_country",
        "latitude",
        "participants[0].personnel",
        "participants[1].partner",
    }
    engagement.refresh_from_db()
    assert engagement.host_country.iso3 == "GHA" and engagement.version == 1  # nothing written


def test_nothing_is_written_by_checking(api_for, planner):
    from engagements.models import Engagement

    before = Engagement.objects.count()
    assert api_for(planner).post(URL, BAD, format="json").status_code == 400
    assert Engagement.objects.count() == before
