"""Explanations, organization and region means, objective progress."""

import datetime

import pytest

from assessments import selectors
from assessments.periods import Quarter
from assessments.services import assessment_run_execute, assessment_run_request
from tests.assessments.factories import IndicatorFactory, MeasurementFactory, ObjectiveFactory, make_engagement, partner

pytestmark = pytest.mark.django_db

D = datetime.date
Q4 = Quarter(2024, 4)


def store(periods):
    assessment_run_execute(run_id=assessment_run_request(periods=periods, enqueue=False).pk)


@pytest.fixture
def two_engagements(reference_data):
    a = make_engagement(["KEN", "TZA", "UGA"], D(2024, 10, 1), D(2024, 10, 10), ratings=(5, 3, 4))
    b = make_engagement(["KEN", "ETH"], D(2023, 6, 1), D(2023, 6, 30), ratings=(2, 4, 1), sensitivity="restricted")
    return a, b


def test_explanation_lists_contributions_and_inputs(two_engagements, analyst):
    a, b = two_engagements
    e = selectors.score_explanation(partner=partner("KEN"), quarter=Q4, user=analyst)
    wa, wb = 0.5 ** (82 / 365), 0.5 ** (550 / 365)
    assert e["has_data"] and e["period"] == "2024-Q4"
    assert e["window"]["first_day"] == D(2023, 1, 1) and e["window"]["last_day"] == D(2024, 12, 31)
    first, second = e["engagements"]
    assert (first["reference"], first["age_days"], first["participant_count"], first["multilateral"]) == (
        a.reference,
        82,
        3,
        True,
    )
    assert first["weight"] == pytest.approx(wa) and first["share_of_weight"] == pytest.approx(wa / (wa + wb))
    assert first["ratings"] == {"interoperability": 5, "capacity": 3, "trust": 4}
    assert (second["reference"], second["age_days"], second["multilateral"]) == (b.reference, 550, False)
    assert second["weight"] == pytest.approx(wb) and second["quarters"] == ["2023-Q2"]
    inputs = e["inputs"]
    assert inputs["activity"]["weight_sum"] == pytest.approx(wa + wb)
    assert inputs["interoperability"]["weighted_points"] == pytest.approx(wa * 100 + wb * 25)
    assert inputs["continuity"] == {
        "quarters_overlapped": 2,
        "lookback_quarters": 8,
        "quarters": ["2023-Q2", "2024-Q4"],
    }
    assert inputs["multilateral"]["multilateral_weight_sum"] == pytest.approx(wa)
    assert e["weights_used"]["activity"] == pytest.approx(0.15 / 0.85) and "objectives" not in e["weights_used"]
    assert round(e["overall"], 2) == 50.63
    assert e["stored"] is None and e["stored_matches"] is False
    store(["2024-Q4"])
    e = selectors.score_explanation(partner=partner("KEN"), quarter=Q4, user=analyst)
    assert e["stored"].overall == pytest.approx(e["overall"]) and e["stored_matches"] is True
    make_engagement(["KEN"], D(2024, 12, 1), D(2024, 12, 2))  # changed after the run
    assert selectors.score_explanation(partner=partner("KEN"), quarter=Q4, user=analyst)["stored_matches"] is False


def test_explanation_gives_viewers_one_line_per_component_instead_of_restricted_rows(two_engagements, viewer, analyst):
    a, b = two_engagements
    wb = 0.5 ** (550 / 365)
    e = selectors.score_explanation(partner=partner("KEN"), quarter=Q4, user=viewer)
    assert [g["id"] for g in e["engagements"]] == [a.pk]  # the restricted row is gone, not blanked
    # b has a report (so it enters the three ratings) and two partners, no organization (not multilateral).
    assert e["restricted"] == [
        {"component": name, "engagement_count": 1, "weight": pytest.approx(wb)}
        for name in ["activity", "interoperability", "capacity", "trust", "continuity"]
    ]
    assert round(e["overall"], 2) == 50.63  # the same score for everyone, restricted engagement included
    assert e["engagement_count"] == 2 and e["inputs"]["multilateral"]["engagement_count"] == 2
    # Its quarter is counted, never named: the list would date it.
    assert e["inputs"]["continuity"]["quarters_overlapped"] == 2 and e["inputs"]["continuity"]["quarters"] == [
        "2024-Q4"
    ]

    readable = selectors.score_explanation(partner=partner("KEN"), quarter=Q4, user=analyst)
    assert readable["restricted"] == [] and readable["engagement_count"] == 2
    assert [(g["id"], g["restricted"]) for g in readable["engagements"]] == [(a.pk, False), (b.pk, True)]
    assert readable["overall"] == pytest.approx(e["overall"]) and readable["components"] == e["components"]


def test_restricted_lines_add_up_per_component(reference_data, viewer):
    # Two restricted engagements, one rated and multilateral (under an organization), one neither.
    make_engagement(
        ["KEN"], D(2024, 12, 1), D(2024, 12, 31), ratings=(3, 3, 3), organizations=["EAC"], sensitivity="restricted"
    )
    make_engagement(["KEN"], D(2024, 3, 1), D(2024, 3, 31), sensitivity="restricted")
    make_engagement(["KEN"], D(2024, 6, 1), D(2024, 6, 30))
    e = selectors.score_explanation(partner=partner("KEN"), quarter=Q4, user=viewer)
    w_dec, w_mar = 1.0, 0.5 ** (275 / 365)
    lines = {line["component"]: (line["engagement_count"], line["weight"]) for line in e["restricted"]}
    assert lines == {
        "activity": (2, pytest.approx(w_dec + w_mar)),
        "interoperability": (1, pytest.approx(w_dec)),
        "capacity": (1, pytest.approx(w_dec)),
        "trust": (1, pytest.approx(w_dec)),
        "continuity": (2, pytest.approx(w_dec + w_mar)),
        "multilateral": (1, pytest.approx(w_dec)),
    }
    assert len(e["engagements"]) == 1 and e["engagement_count"] == 3


def test_explanation_queries_do_not_grow_with_engagements(reference_data, analyst, django_assert_max_num_queries):
    make_engagement(["KEN", "TZA"], D(2024, 10, 1), D(2024, 10, 10), ratings=(5, 3, 4), organizations=["EAC"])
    with django_assert_max_num_queries(13) as small:  # the sums' savepoint and planner options: 3 of them
        selectors.score_explanation(partner=partner("KEN"), quarter=Q4, user=analyst)
    for day in range(1, 21):
        make_engagement(["KEN", "UGA"], D(2024, 5, day), D(2024, 5, day), ratings=(3, 3, 3), organizations=["EAC"])
    with django_assert_max_num_queries(len(small.captured_queries)):
        e = selectors.score_explanation(partner=partner("KEN"), quarter=Q4, user=analyst)
    assert len(e["engagements"]) == 21 and e["engagements"][0]["organizations"] == ["EAC"]


def test_explanation_of_a_partner_without_data(reference_data, viewer):
    e = selectors.score_explanation(partner=partner("ISL"), quarter=Q4, user=viewer)
    assert e["has_data"] is False and e["overall"] is None and e["engagements"] == []


def test_organization_and_region_scores_are_member_means(reference_data):
    make_engagement(["KEN", "TZA"], D(2024, 12, 1), D(2024, 12, 31), ratings=(5, 5, 5))
    make_engagement(["UGA"], D(2024, 12, 1), D(2024, 12, 31), ratings=(1, 1, 1))
    make_engagement(["FRA"], D(2024, 12, 1), D(2024, 12, 31))
    store(["2024-Q4"])
    scores = {s.partner.iso3: s for s in selectors.score_list().filter(period=Q4.start)}
    eac = selectors.organization_scores(quarter=Q4, acronym="EAC").get()
    # Members of the EAC on 2024-12-31 with a score: KEN, TZA, UGA.
    assert eac["partners_scored"] == 3
    assert eac["overall"] == pytest.approx((scores["KEN"].overall + scores["TZA"].overall + scores["UGA"].overall) / 3)
    assert eac["trust"] == pytest.approx((100 + 100 + 0) / 3)
    regions = {row["partner__region"]: row for row in selectors.region_scores(quarter=Q4)}
    assert regions["Africa"]["partners_scored"] == 3 and regions["Europe"]["partners_scored"] == 1
    assert regions["Europe"]["overall"] == pytest.approx(scores["FRA"].overall)
    assert regions["Europe"]["trust"] is None  # FRA has no report: a null component stays out of the mean
    nato = {row["organization__acronym"] for row in selectors.organization_scores(quarter=Q4)}
    assert "NATO" in nato and "EAC" in nato and "ASEAN" not in nato


def test_objective_list_progress(reference_data):
    objective = ObjectiveFactory(partner=partner("KEN"))
    up = IndicatorFactory(objective=objective, baseline_value=0, target_value=10)
    down = IndicatorFactory(objective=objective, baseline_value=100, target_value=20)
    IndicatorFactory(objective=objective)  # never measured
    MeasurementFactory(indicator=up, date=D(2024, 1, 1), value=5)
    MeasurementFactory(indicator=down, date=D(2024, 1, 1), value=40)  # (40-100)/(20-100) = 0.75
    row = selectors.objective_list().get(pk=objective.pk)
    assert row.indicator_count == 3 and row.measured_count == 2
    assert row.progress == pytest.approx((0.5 + 0.75) / 2)
    indicators = {i.pk: i for i in selectors.indicator_list().filter(objective=objective)}
    assert indicators[down.pk].progress == pytest.approx(0.75) and indicators[down.pk].latest_value == 40
    unmeasured = [i for i in indicators.values() if i.latest_value is None]
    assert len(unmeasured) == 1 and unmeasured[0].progress is None and unmeasured[0].measurement_count == 0
