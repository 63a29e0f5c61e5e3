"""Compare partners: the selector, the page and the API on a small known data set.

Ghana, Senegal and Côte d'Ivoire meet in September 2024 (all-5 ratings); Ghana and Senegal again in
December (all-1 ratings); Ghana and Côte d'Ivoire in a restricted November exercise. Engagements that are
cancelled, planned, with only one of the chosen partners, or outside the look-back window are not shared.
"""

from __future__ import annotations

import csv
import datetime
import io

import pytest

from assessments import dashboard_selectors as dash
from assessments.models import PartnerScore
from assessments.periods import Quarter
from assessments.services import assessment_run_execute, assessment_run_request
from assessments.services.runs import scoring_model_active
from tests.assessments.factories import make_engagement

pytestmark = pytest.mark.django_db

D = datetime.date
PAGE = "/assessments/compare/"
API = "/api/v1/assessments/compare/"


def store(periods):
    return assessment_run_execute(run_id=assessment_run_request(periods=periods, enqueue=False).pk)


@pytest.fixture
def trio(reference_data):
    engagements = {
        "sep": make_engagement(["GHA", "SEN", "CIV"], D(2024, 9, 1), D(2024, 9, 30), ratings=(5, 5, 5)),
        "dec": make_engagement(["GHA", "SEN"], D(2024, 12, 1), D(2024, 12, 31), ratings=(1, 1, 1)),
        "restricted": make_engagement(["GHA", "CIV"], D(2024, 11, 1), D(2024, 11, 5), sensitivity="restricted"),
        "cancelled": make_engagement(["GHA", "SEN"], D(2024, 10, 1), D(2024, 10, 2), status="cancelled"),
        "planned": make_engagement(["GHA", "SEN"], D(2024, 10, 10), D(2024, 10, 12), status="planned"),
        "one_chosen": make_engagement(["GHA", "FRA"], D(2024, 10, 20), D(2024, 10, 22)),
        "long_ago": make_engagement(["GHA", "SEN"], D(2015, 1, 10), D(2015, 1, 12)),
    }
    store(["2024-Q3", "2024-Q4"])
    return engagements


def _chosen(*codes):
    return dash.comparison_request_clean(codes=list(codes), period="2024-Q4")[0]


# --- the selector -------------------------------------------------------------------------------------------


def test_selector_gives_scores_trends_and_shared_engagements(trio, analyst):
    comparison = dash.partner_comparison(user=analyst, partners=_chosen("GHA", "SEN", "CIV"), quarter=Quarter(2024, 4))
    assert [row["partner"].iso3 for row in comparison["partners"]] == ["GHA", "SEN", "CIV"]
    for row in comparison["partners"]:
        stored = PartnerScore.objects.get(partner=row["partner"], period=D(2024, 10, 1))
        assert row["score"].pk == stored.pk
        # Eight quarters, 2023-Q1 .. 2024-Q4: only the last two were scored.
        q3 = PartnerScore.objects.get(partner=row["partner"], period=D(2024, 7, 1))
        assert row["trend"] == [None] * 6 + [q3.overall, stored.overall]
    assert [str(q) for q in comparison["trend_quarters"]] == [
        "2023-Q1",
        "2023-Q2",
        "2023-Q3",
        "2023-Q4",
        "2024-Q1",
        "2024-Q2",
        "2024-Q3",
        "2024-Q4",
    ]
    shared = [(item["engagement"].pk, [p.iso3 for p in item["partners"]]) for item in comparison["shared"]]
    # Newest first; partners in the order chosen; only chosen partners (never FRA).
    assert shared == [
        (trio["dec"].pk, ["GHA", "SEN"]),
        (trio["restricted"].pk, ["GHA", "CIV"]),
        (trio["sep"].pk, ["GHA", "SEN", "CIV"]),
    ]


def test_viewer_does_not_see_a_restricted_shared_engagement(trio, viewer):
    comparison = dash.partner_comparison(user=viewer, partners=_chosen("GHA", "CIV"), quarter=Quarter(2024, 4))
    assert [item["engagement"].pk for item in comparison["shared"]] == [trio["sep"].pk]
    # Scores are the same for everyone and include the restricted engagement.
    assert comparison["partners"][1]["score"].engagement_count == 2


def test_shared_engagements_stay_in_the_look_back_window(trio, analyst):
    comparison = dash.partner_comparison(user=analyst, partners=_chosen("GHA", "SEN"), quarter=Quarter(2024, 3))
    # In 2024-Q3 the December and November engagements have not started yet; 2015 is out of the window.
    assert [item["engagement"].pk for item in comparison["shared"]] == [trio["sep"].pk]


def test_the_quarter_defaults_to_the_latest_scored_one(trio):
    partners, quarter = dash.comparison_request_clean(codes=["gha", " sen "], period=None)
    assert quarter == Quarter(2024, 4)
    assert [p.iso3 for p in partners] == ["GHA", "SEN"]


@pytest.mark.parametrize(
    ("codes", "period", "field"),
    [
        (["GHA"], None, "partners"),
        (["GHA", "GHA"], None, "partners"),
        (["GHA", "SEN", "CIV", "FRA", "DEU", "ITA", "KEN"], None, "partners"),
        (["GHA", "XXX"], None, "partners"),
        (["GHA", "SEN"], "2024-Q5", "period"),
    ],
)
def test_bad_input_names_its_field(reference_data, codes, period, field):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        dash.comparison_request_clean(codes=codes, period=period)
    assert list(caught.value.error_dict) == [field]


# --- the page and the API -----------------------------------------------------------------------------------


def _csv(response):
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_page_and_api_agree(trio, analyst, client_for, api_for):
    page = client_for(analyst).get(PAGE, {"partners": "GHA,SEN,CIV", "period": "2024-Q4"})
    assert page.status_code == 200
    body = page.content.decode()
    assert trio["restricted"].reference in body and trio["cancelled"].reference not in body
    api = api_for(analyst).get(API + "?partners=GHA&partners=SEN&partners=CIV&period=2024-Q4")
    assert api.status_code == 200
    data = api.json()
    assert data["period"] == "2024-Q4"
    assert data["window"]["last"] == "2024-Q4"
    assert [p["partner"] for p in data["partners"]] == ["GHA", "SEN", "CIV"]
    assert [e["reference"] for e in data["shared_engagements"]] == [
        trio["dec"].reference,
        trio["restricted"].reference,
        trio["sep"].reference,
    ]
    assert data["shared_engagements"][1]["partners"] == ["GHA", "CIV"]
    # The page's components table as CSV holds the API's numbers.
    rows = _csv(
        client_for(analyst).get(
            PAGE, {"partners": "GHA,SEN,CIV", "period": "2024-Q4", "export": "csv", "table": "components"}
        )
    )
    assert rows[0] == ["measure", "GHA", "SEN", "CIV"]
    by_measure = {row[0]: row[1:] for row in rows[1:]}
    for i, partner in enumerate(data["partners"]):
        assert float(by_measure["overall"][i]) == pytest.approx(partner["score"]["overall"], abs=1e-4)
        assert float(by_measure["trust"][i]) == pytest.approx(partner["score"]["trust"], abs=1e-4)
        assert by_measure["confidence"][i] == partner["score"]["confidence"]
        assert int(by_measure["report_count"][i]) == partner["score"]["report_count"]
        assert partner["trend"][-1] == {"period": "2024-Q4", "overall": partner["score"]["overall"]}
    stored = PartnerScore.objects.get(partner__iso3="GHA", period=D(2024, 10, 1), scoring_model=scoring_model_active())
    assert data["partners"][0]["score"]["overall"] == pytest.approx(stored.overall)


def test_viewer_page_api_and_csv_leave_out_the_restricted_engagement(trio, viewer, client_for, api_for):
    query = {"partners": "GHA,CIV", "period": "2024-Q4"}
    body = client_for(viewer).get(PAGE, query).content.decode()
    assert trio["sep"].reference in body
    assert trio["restricted"].reference not in body and trio["restricted"].title not in body
    data = api_for(viewer).get(API, query).json()
    assert [e["reference"] for e in data["shared_engagements"]] == [trio["sep"].reference]
    rows = _csv(client_for(viewer).get(PAGE, {**query, "export": "csv", "table": "shared"}))
    assert [row[0] for row in rows[1:]] == [trio["sep"].reference]


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ({"partners": "GHA"}, "partners", "1 given"),
        ({"partners": "GHA,SEN,CIV,FRA,DEU,ITA,KEN"}, "partners", "7 given"),
        ({"partners": "GHA,QQQ"}, "partners", "QQQ"),
        ({"partners": "GHA,SEN", "period": "2024-Q9"}, "period", "2024-Q9"),
    ],
)
def test_bad_input_is_a_400_with_the_fields_message(trio, analyst, client_for, api_for, query, field, words):
    page = client_for(analyst).get(PAGE, query)
    assert page.status_code == 400
    body = page.content.decode()
    assert f'id="{field}-error"' in body and words in body
    api = api_for(analyst).get(API, query)
    assert api.status_code == 400
    assert words in " ".join(api.json()["errors"][field])


def test_page_without_partners_shows_the_form_filled_from_the_partner_link(trio, viewer, client_for):
    response = client_for(viewer).get(PAGE, {"with": "GHA", "period": "2024-Q4"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'value="GHA"' in body and 'id="partners-error"' not in body


def test_partner_page_and_overview_link_to_the_comparison(trio, viewer, client_for):
    client = client_for(viewer)
    assert f"{PAGE}?with=GHA" in client.get("/assessments/partners/GHA/").content.decode()
    assert PAGE in client.get("/assessments/").content.decode()


def test_query_counts_do_not_grow_with_partners_or_engagements(
    trio, analyst, client_for, api_for, django_assert_max_num_queries
):
    def counts():
        found = {}
        for url in (
            PAGE + "?partners=GHA,SEN&period=2024-Q4",
            PAGE + "?partners=GHA,SEN,CIV,FRA,DEU,ITA&period=2024-Q4",
            API + "?partners=GHA,SEN,CIV,FRA,DEU,ITA&period=2024-Q4",
        ):
            client = api_for(analyst) if url.startswith(API) else client_for(analyst)
            client.get(url)
            with django_assert_max_num_queries(15) as captured:
                assert client.get(url).status_code == 200
            found[url] = len(captured.captured_queries)
        return found

    small = counts()
    for day in range(1, 25):
        make_engagement(["GHA", "SEN", "FRA", "DEU"], D(2024, 8, day), D(2024, 8, day), ratings=(3, 3, 3))
    store(["2024-Q3", "2024-Q4"])
    large = counts()
    assert large == small
    page_counts = list(large.values())[:2]
    assert page_counts[0] == page_counts[1]
