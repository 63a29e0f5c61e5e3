"""Quarters on pages follow the language ("T4 2024" in French, "2024-Q4" in English) through one function,
``periods.quarter_display``; the API, CSV exports, links and form values keep 2024-Q4."""

import csv
import datetime
import io

import pytest
from django.conf import settings
from django.test import Client

from assessments.periods import Quarter, quarter_display

D = datetime.date


@pytest.mark.parametrize(
    ("value", "language", "shown"),
    [
        (Quarter(2026, 4), "fr", "T4 2026"),
        (Quarter(2026, 4), "fr-ca", "T4 2026"),
        (Quarter(2026, 4), "en", "2026-Q4"),
        (D(2025, 8, 14), "fr", "T3 2025"),
        ("2025-Q1", "fr", "T1 2025"),
        ("2025-Q1", "en", "2025-Q1"),
        ("not a quarter", "fr", "not a quarter"),
        (None, "fr", ""),
    ],
)
def test_one_function_writes_a_quarter_for_a_language(value, language, shown):
    assert quarter_display(value, language) == shown


def french(user) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_french_pages_say_t4_and_keep_iso_in_links_api_and_csv(ghana_senegal_drop, analyst, api_for):
    client = french(analyst)
    overview = client.get("/assessments/", {"period": "2024-Q4"}).content.decode()
    assert "T4 2024" in overview and "T3 2024" in overview  # headings, the quarter picker, the previous quarter
    assert 'value="2024-Q4"' in overview and "period=2024-Q3" in overview  # form values and links keep ISO
    assert ">2024-Q4<" not in overview
    partner = client.get("/assessments/partners/GHA/", {"period": "2024-Q4"}).content.decode()
    assert "T4 2024" in partner and "?period=2024-Q4" in partner
    alerts = client.get("/assessments/alerts/").content.decode()
    assert "<td>T4 2024 " in alerts and "?period=2024-Q4#explanation" in alerts
    region = client.get("/assessments/regions/africa/", {"period": "2024-Q4"}).content.decode()
    assert "T4 2024" in region

    response = client.get("/assessments/", {"period": "2024-Q4", "export": "csv", "table": "scores"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff"))))
    assert rows and {row["period"] for row in rows} == {"2024-Q4"}
    api = api_for(analyst)
    api.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    body = api.get("/api/v1/assessments/scores/", {"period": "2024-Q4"}, HTTP_ACCEPT_LANGUAGE="fr").json()
    assert {row["period"] for row in body["results"]} == {"2024-Q4"}


@pytest.mark.django_db
def test_english_pages_say_2024_q4(ghana_senegal_drop, analyst, client_for):
    overview = client_for(analyst).get("/assessments/", {"period": "2024-Q4"}).content.decode()
    assert "Assessment overview, 2024-Q4" in overview and "T4 2024" not in overview
